//! The multi-SIM payloads of seed 004 ("MB Multi-SIM Operations"): SYS_CAPS,
//! DEVICE_CAPS_V2, DEVICE_SLOT_MAPPINGS and SLOT_INFO_STATUS, laid out
//! exactly as its tables give them. All offsets count from the start of the
//! information buffer, as the seed says.

use crate::services::basic_connect::{
    CellularClass, ControlCaps, DataClass, DeviceType, SimClass, SmsCaps, VoiceClass,
};
use crate::{mbim_enum, mbim_struct};

/// MBIM_MS_SYS_CAPS_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SysCapsInfo {
    /// Executors (MBB instances) of the modem.
    pub number_of_executors: u32,
    /// UICC slots of the modem (≥ executors).
    pub number_of_slots: u32,
    /// Executors that may be active at once (1 for dual-SIM single-active).
    pub concurrency: u32,
    /// A 64-bit identifier of the modem that persists across reboots and SIM changes.
    pub modem_id: u64,
}

/// MBIM_MS_DEVICE_CAPS_INFO_V2.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DeviceCapsInfoV2 {
    /// Embedded, removable or remote.
    pub device_type: DeviceType,
    /// GSM and/or CDMA.
    pub cellular_class: CellularClass,
    /// Voice support.
    pub voice_class: VoiceClass,
    /// Always "removable" on multi-SIM modems.
    pub sim_class: SimClass,
    /// Radio technologies supported.
    pub data_class: DataClass,
    /// SMS support.
    pub sms_caps: SmsCaps,
    /// Control capabilities.
    pub control_caps: ControlCaps,
    /// Maximum simultaneous IP sessions.
    pub max_sessions: u32,
    /// Name of the custom data class, if any.
    pub custom_data_class: String,
    /// IMEI (GSM) or ESN/MEID (CDMA).
    #[mbim(personal)]
    pub device_id: String,
    /// Firmware version.
    pub firmware_info: String,
    /// Hardware version.
    pub hardware_info: String,
    /// This executor's index, 0..n-1, independent of enumeration order.
    pub executor_index: u32,
}

/// One slot index of a slot mapping (the element an OL pair of the list points at).
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SlotIndex {
    /// The slot.
    pub slot: u32,
}

/// MBIM_MS_DEVICE_SLOT_MAPPING_INFO: element *i* is the slot of executor *i*.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DeviceSlotMappingInfo {
    #[mbim(count_of = slot_map)]
    map_count: u32,
    /// The slot of each executor, by executor index.
    #[mbim(struct_list)]
    pub slot_map: Vec<SlotIndex>,
}

impl DeviceSlotMappingInfo {
    /// A mapping from the slot of each executor.
    pub fn from_slots(slots: &[u32]) -> Self {
        DeviceSlotMappingInfo {
            slot_map: slots.iter().map(|&slot| SlotIndex { slot }).collect(),
        }
    }

    /// The slot of each executor.
    pub fn slots(&self) -> Vec<u32> {
        self.slot_map.iter().map(|entry| entry.slot).collect()
    }
}

/// MBIM_MS_SLOT_INFO_REQ.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SlotInfoRequest {
    /// The slot asked about.
    pub slot_index: u32,
}

mbim_enum! {
    /// MBIM_MS_UICC_SLOT_STATE: the nine slot states of seed 004.
    pub enum UiccSlotState {
        /// The modem is still initializing; the state is not determined.
        Undetermined = 0 => "unknown",
        /// Powered off and no card present.
        OffEmpty = 1 => "off-empty",
        /// Powered off.
        Off = 2 => "off",
        /// No card in the slot.
        Empty = 3 => "empty",
        /// Occupied and powered, the card not yet ready.
        NotReady = 4 => "not-ready",
        /// Occupied, the card ready.
        Active = 5 => "active",
        /// Occupied and powered, the card in an error state until reset.
        Error = 6 => "error",
        /// An eSIM with an active profile, ready.
        ActiveEsim = 7 => "active-esim",
        /// An eSIM with no (active) profile, ready.
        ActiveEsimNoProfiles = 8 => "active-esim-no-profiles",
    }
}

/// MBIM_MS_SLOT_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SlotInfo {
    /// The slot.
    pub slot_index: u32,
    /// Its state.
    pub state: UiccSlotState,
}
