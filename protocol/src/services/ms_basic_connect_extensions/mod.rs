//! Microsoft Basic Connect Extensions: the multi-SIM CIDs of seed 004 and the
//! CIDs of the MBIM extensions (MBIMEx 2.0 to 4.0) a connection manager needs.
//!
//! The payloads live in one module per subject and are re-exported here;
//! the CID table below is the one place that says which CID carries which.
//! Layouts follow libmbim's `mbim-service-ms-basic-connect-extensions*.json`
//! and seed 004 where it has them. CIDs not declared here (NETWORK_DENYLIST,
//! LOCATION_INFO_STATUS…) decode as raw bytes.

mod multi_sim;
mod version;

pub use multi_sim::*;
pub use version::*;

use crate::codec::Empty;
use crate::mbim_service;

mbim_service! {
    /// Basic Connect Extensions' CID table.
    service "ms-basic-connect-extensions" = "3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf";
    /// MBIM_CID_MS_SYS_CAPS: the modem's executors, slots and concurrency.
    SysCaps = 5, "sys-caps", device { query: Empty, response: SysCapsInfo, }
    /// MBIM_CID_MS_DEVICE_CAPS_V2: DEVICE_CAPS plus the executor index.
    DeviceCapsV2 = 6, "device-caps-v2", executor { query: Empty, response: DeviceCapsInfoV2, }
    /// MBIM_CID_MS_DEVICE_SLOT_MAPPINGS: which slot each executor uses.
    DeviceSlotMappings = 7, "device-slot-mappings", device {
        query: Empty, set: DeviceSlotMappingInfo, response: DeviceSlotMappingInfo,
    }
    /// MBIM_CID_MS_SLOT_INFO_STATUS: one slot's state.
    SlotInfoStatus = 8, "slot-info-status", executor {
        query: SlotInfoRequest, response: SlotInfo, notification: SlotInfo,
    }
    /// MBIM_CID_VERSION (MBIMEx 2.0): the host's MBIM and MBIMEx versions out,
    /// the device's back. Per function: each function negotiates its own.
    Version = 15, "version", executor { query: VersionInfo, response: VersionInfo, }
}
