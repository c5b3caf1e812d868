//! The MBIM extensions version (MBIMEx) a host and a device agree on.
//!
//! Microsoft's MBIM extensions change the layout of some CIDs from one release
//! to the next: MBIMEx 2.0 adds 5G NSA fields (REGISTER_STATE, PACKET_SERVICE,
//! SIGNAL_STATE), 3.0 adds 5G SA and the TLV-based layouts (CONNECT,
//! DEVICE_CAPS_V2, SUBSCRIBER_READY_STATUS…), 4.0 network slicing. The host
//! learns the device's version from the MBIM extended functional descriptor
//! and from MBIM_CID_VERSION of the Basic Connect Extensions service; a device
//! that answers neither speaks plain MBIM 1.0. Every decoder that depends on
//! the version takes it as a value ([`MbimExVersion`], 1.0 unless told
//! otherwise); see `services::CidInfo::decoder_at`.

use std::fmt;
use std::str::FromStr;

/// An MBIM extensions release. Ordered: a later release is a superset of the
/// earlier ones, so "this layout applies from 3.0 on" is a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum MbimExVersion {
    /// Plain MBIM 1.0 (no extended version negotiated).
    #[default]
    V1,
    /// MBIMEx 2.0: 5G non-standalone.
    V2,
    /// MBIMEx 3.0: 5G standalone phase 1, TLV information elements.
    V3,
    /// MBIMEx 4.0: 5G standalone phase 2 (URSP, network slices).
    V4,
}

impl MbimExVersion {
    /// Every release, oldest first.
    pub const ALL: [MbimExVersion; 4] = [
        MbimExVersion::V1,
        MbimExVersion::V2,
        MbimExVersion::V3,
        MbimExVersion::V4,
    ];

    /// The newest release this crate knows the layouts of.
    pub const LATEST: MbimExVersion = MbimExVersion::V4;

    /// The major version number (1 to 4).
    pub const fn major(self) -> u8 {
        match self {
            MbimExVersion::V1 => 1,
            MbimExVersion::V2 => 2,
            MbimExVersion::V3 => 3,
            MbimExVersion::V4 => 4,
        }
    }

    /// The release with major version `major`, if it is one this crate knows.
    pub const fn from_major(major: u8) -> Option<MbimExVersion> {
        match major {
            1 => Some(MbimExVersion::V1),
            2 => Some(MbimExVersion::V2),
            3 => Some(MbimExVersion::V3),
            4 => Some(MbimExVersion::V4),
            _ => None,
        }
    }

    /// As the BCD `bcdMbimExtendedVersion` of MBIM_CID_VERSION and the
    /// extended functional descriptor: major in the high byte (3.0 is 0x0300).
    pub const fn to_bcd(self) -> u16 {
        (self.major() as u16) << 8
    }

    /// The release a BCD version announces. The minor byte is ignored (no
    /// minor release changes a layout); a major beyond the newest known one
    /// means at least the newest ([`LATEST`](Self::LATEST)), 0 means 1.0.
    pub const fn from_bcd(bcd: u16) -> MbimExVersion {
        let [major, _minor] = bcd.to_be_bytes();
        match MbimExVersion::from_major(major) {
            Some(version) => version,
            None if major == 0 => MbimExVersion::V1,
            None => MbimExVersion::LATEST,
        }
    }

    /// The version host and device use: the lower of the two, as the MBIMEx
    /// 2.0 versioning rules say (the device answers MBIM_CID_VERSION with at
    /// most the host's version, but a device that answers higher is still only
    /// spoken to in the host's).
    pub fn negotiated(host: MbimExVersion, device: MbimExVersion) -> MbimExVersion {
        host.min(device)
    }
}

impl fmt::Display for MbimExVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.0", self.major())
    }
}

/// A text that names no MBIMEx release this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown MBIM extensions version '{0}': expected 1, 2, 3 or 4 (or 1.0 … 4.0)")]
pub struct UnknownMbimExVersion(pub String);

impl FromStr for MbimExVersion {
    type Err = UnknownMbimExVersion;

    /// Reads `3`, `3.0` or `0x0300`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownMbimExVersion(text.to_owned());
        let trimmed = text.trim();
        if let Some(hex) = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
        {
            let bcd = u16::from_str_radix(hex, 16).map_err(|_| unknown())?;
            let [major, _minor] = bcd.to_be_bytes();
            return MbimExVersion::from_major(major).ok_or_else(unknown);
        }
        let major = trimmed.strip_suffix(".0").unwrap_or(trimmed);
        major
            .parse::<u8>()
            .ok()
            .and_then(MbimExVersion::from_major)
            .ok_or_else(unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_and_print_as_users_write_them() {
        for (text, version) in [
            ("1", MbimExVersion::V1),
            ("2.0", MbimExVersion::V2),
            (" 3 ", MbimExVersion::V3),
            ("0x0400", MbimExVersion::V4),
        ] {
            assert_eq!(text.parse::<MbimExVersion>(), Ok(version), "{text}");
        }
        for bad in ["", "0", "5", "3.1", "x", "0x0500"] {
            assert!(bad.parse::<MbimExVersion>().is_err(), "{bad}");
        }
        assert_eq!(MbimExVersion::V3.to_string(), "3.0");
        assert_eq!(MbimExVersion::default(), MbimExVersion::V1);
    }

    #[test]
    fn bcd_follows_mbim_cid_version() {
        assert_eq!(MbimExVersion::V2.to_bcd(), 0x0200);
        assert_eq!(MbimExVersion::from_bcd(0x0300), MbimExVersion::V3);
        assert_eq!(MbimExVersion::from_bcd(0x0310), MbimExVersion::V3);
        assert_eq!(MbimExVersion::from_bcd(0x0000), MbimExVersion::V1);
        assert_eq!(MbimExVersion::from_bcd(0x0900), MbimExVersion::LATEST);
        assert_eq!(
            MbimExVersion::negotiated(MbimExVersion::V3, MbimExVersion::V4),
            MbimExVersion::V3
        );
        assert!(MbimExVersion::V2 < MbimExVersion::V3);
    }
}
