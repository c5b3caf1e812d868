//! Microsoft Basic Connect Extensions: the multi-SIM CIDs of seed 004 and the
//! CIDs of the MBIM extensions (MBIMEx 2.0 to 4.0) a connection manager needs.
//!
//! The payloads live in one module per subject and are re-exported here;
//! the CID table below is the one place that says which CID carries which,
//! in which MBIMEx version's layout. Layouts follow libmbim's
//! `mbim-service-ms-basic-connect-extensions*.json` and seed 004 where it has
//! them. CIDs not declared here (NETWORK_DENYLIST, 2) decode as raw bytes.
//!
//! Scope: every CID here concerns the executor behind the function it is
//! sent on (the version, each function's; the attach APN, each SIM's),
//! except SYS_CAPS, DEVICE_SLOT_MAPPINGS (seed 004) and DEVICE_RESET, which
//! concern the whole modem.

mod base_stations;
mod device_caps;
mod lte_attach;
mod multi_sim;
mod pco;
mod provisioned_contexts;
mod registration;
mod version;

pub use base_stations::*;
pub use device_caps::*;
pub use lte_attach::*;
pub use multi_sim::*;
pub use pco::*;
pub use provisioned_contexts::*;
pub use registration::*;
pub use version::*;

use crate::codec::Empty;
use crate::mbim_service;

mbim_service! {
    /// Basic Connect Extensions' CID table.
    service "ms-basic-connect-extensions" = "3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf";
    /// MBIM_CID_MS_PROVISIONED_CONTEXT_V2 (MBIMEx 2.0): the modem's contexts
    /// with IP type, state, roaming rule, media and source.
    ProvisionedContexts = 1, "provisioned-contexts", executor {
        query: Empty, set: ProvisionedContextSetV2, response: ProvisionedContextsV2,
        notification: ProvisionedContextsV2,
        /// MBIMEx 4.0: each context with its network slice.
        >= v4 ProvisionedContextsV4 {
            query: Empty, set: ProvisionedContextSetV4, response: ProvisionedContextsV4,
            notification: ProvisionedContextsV4,
        }
    }
    /// MBIM_CID_MS_LTE_ATTACH_CONFIG: the APNs the modem attaches to LTE with.
    LteAttachConfiguration = 3, "lte-attach-configuration", executor {
        query: Empty, set: LteAttachConfigurationSet, response: LteAttachConfigurations,
        notification: LteAttachConfigurations,
    }
    /// MBIM_CID_MS_LTE_ATTACH_STATUS: the LTE attach state and its APN.
    LteAttachInfo = 4, "lte-attach-info", executor {
        query: Empty, response: LteAttachInfo, notification: LteAttachInfo,
        /// MBIMEx 3.0: with the network's cause of a failed attach.
        >= v3 LteAttachInfoV3 {
            query: Empty, response: LteAttachInfoV3, notification: LteAttachInfoV3,
        }
    }
    /// MBIM_CID_MS_SYS_CAPS: the modem's executors, slots and concurrency.
    SysCaps = 5, "sys-caps", device { query: Empty, response: SysCapsInfo, }
    /// MBIM_CID_MS_DEVICE_CAPS_V2: DEVICE_CAPS plus the executor index.
    DeviceCapsV2 = 6, "device-caps-v2", executor {
        query: Empty, response: DeviceCapsInfoV2,
        /// MBIMEx 3.0: data subclass, bands, and TLV strings.
        >= v3 DeviceCapsV3 { query: Empty, response: DeviceCapsInfoV3, }
    }
    /// MBIM_CID_MS_DEVICE_SLOT_MAPPINGS: which slot each executor uses.
    DeviceSlotMappings = 7, "device-slot-mappings", device {
        query: Empty, set: DeviceSlotMappingInfo, response: DeviceSlotMappingInfo,
    }
    /// MBIM_CID_MS_SLOT_INFO_STATUS: one slot's state.
    SlotInfoStatus = 8, "slot-info-status", executor {
        query: SlotInfoRequest, response: SlotInfo, notification: SlotInfo,
    }
    /// MBIM_CID_MS_PCO: protocol configuration options from the network.
    Pco = 9, "pco", executor { query: PcoValue, response: PcoValue, notification: PcoValue, }
    /// MBIM_CID_MS_DEVICE_RESET: reset the modem (its response is empty).
    DeviceReset = 10, "device-reset", device { set: Empty, response: Empty, }
    /// MBIM_CID_MS_BASE_STATIONS_INFO: serving and neighbouring cells.
    BaseStationsInfo = 11, "base-stations-info", executor {
        query: BaseStationsInfoQuery, response: BaseStationsInfo,
        /// MBIMEx 3.0: with the data subclass and 5G NR cells.
        >= v3 BaseStationsInfoV3 {
            query: BaseStationsInfoQueryV3, response: BaseStationsInfoV3,
        }
    }
    /// MBIM_CID_MS_LOCATION_INFO_STATUS: location area, tracking area, cell.
    LocationInfoStatus = 12, "location-info-status", executor {
        query: Empty, response: LocationInfo, notification: LocationInfo,
    }
    /// MBIM_CID_VERSION (MBIMEx 2.0): the host's MBIM and MBIMEx versions out,
    /// the device's back. Per function: each function negotiates its own.
    Version = 15, "version", executor { query: VersionInfo, response: VersionInfo, }
    /// MBIM_CID_MS_MODEM_CONFIG (MBIMEx 3.0): the carrier configuration's state.
    ModemConfiguration = 16, "modem-configuration", executor {
        query: Empty, response: ModemConfigurationInfo, notification: ModemConfigurationInfo,
    }
    /// MBIM_CID_MS_REGISTRATION_PARAMS (MBIMEx 3.0): 5G registration options.
    RegistrationParameters = 17, "registration-parameters", executor {
        query: Empty, set: RegistrationParameters, response: RegistrationParameters,
    }
    /// MBIM_CID_MS_WAKE_REASON (MBIMEx 3.0): what woke the host.
    WakeReason = 19, "wake-reason", executor { query: Empty, response: WakeReason, }
}
