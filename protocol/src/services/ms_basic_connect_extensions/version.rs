//! MBIM_CID_VERSION (MBIMEx 2.0): how host and device agree on the MBIM
//! extensions version that picks every versioned CID's layout.

use crate::mbim_struct;
use crate::mbimex::MbimExVersion;

/// The BCD MBIM version every host and device speak: 1.0.
pub const MBIM_VERSION_1_0: u16 = 0x0100;

/// MBIM_MS_VERSION_INFO: the host's versions in the query, the device's in
/// the response. Both are BCD, major in the high byte (3.0 is 0x0300).
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VersionInfo {
    /// bcdMbimVersion: the MBIM specification release (0x0100).
    pub bcd_mbim_version: u16,
    /// bcdMbimExtendedVersion: the MBIM extensions release.
    pub bcd_mbim_extended_version: u16,
}

impl VersionInfo {
    /// What a host that speaks up to `version` sends.
    pub fn host(version: MbimExVersion) -> VersionInfo {
        VersionInfo {
            bcd_mbim_version: MBIM_VERSION_1_0,
            bcd_mbim_extended_version: version.to_bcd(),
        }
    }

    /// The extensions release these versions announce.
    pub fn extended_version(&self) -> MbimExVersion {
        MbimExVersion::from_bcd(self.bcd_mbim_extended_version)
    }
}
