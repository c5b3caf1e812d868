//! The MBIMEx 2.0 layouts of Basic Connect (5G non-standalone): the
//! preferred data classes in REGISTER_STATE, the frequency range in
//! PACKET_SERVICE, and RSRP/SNR per radio technology in SIGNAL_STATE.
//! Layouts as libmbim's `mbim-service-ms-basic-connect-v2.json`.

use super::{
    CellularClass, DataClass, NwError, PacketServiceState, RegisterMode, RegisterState,
    RegistrationFlags,
};
use crate::{mbim_flags, mbim_struct};

/// MBIM_REGISTRATION_STATE_INFO_V2: MBIM_REGISTRATION_STATE_INFO and the
/// data classes the device prefers.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RegistrationStateInfoV2 {
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Registration state.
    pub register_state: RegisterState,
    /// Automatic or manual.
    pub register_mode: RegisterMode,
    /// Data classes available.
    pub available_data_classes: DataClass,
    /// The current cellular class.
    pub current_cellular_class: CellularClass,
    /// The provider registered with.
    pub provider_id: String,
    /// Its name.
    pub provider_name: String,
    /// Roaming text from the network.
    pub roaming_text: String,
    /// Flags.
    pub registration_flag: RegistrationFlags,
    /// The data classes the device prefers.
    pub preferred_data_classes: DataClass,
}

mbim_flags! {
    /// MBIM_FREQUENCY_RANGE: the 5G NR frequency ranges in use (libmbim's
    /// nicknames, "1" and "2").
    pub struct FrequencyRange: u32 {
        /// FR1, 3GPP TS 38.101-1 (below 6 GHz).
        const RANGE_1 = 0x1 => "1";
        /// FR2, 3GPP TS 38.101-2 (millimetre wave).
        const RANGE_2 = 0x2 => "2";
    }
}

/// MBIM_PACKET_SERVICE_INFO_V2: the current (not the highest available)
/// data class, and the 5G frequency range.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketServiceInfoV2 {
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Attach state.
    pub packet_service_state: PacketServiceState,
    /// The data class in use.
    pub current_data_class: DataClass,
    /// Uplink speed, bits per second.
    pub uplink_speed: u64,
    /// Downlink speed, bits per second.
    pub downlink_speed: u64,
    /// The 5G frequency ranges in use.
    pub frequency_range: FrequencyRange,
}

/// MBIM_RSRP_SNR_INFO: the signal of one radio technology (LTE or 5G NR).
#[mbim_struct(inline)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RsrpSnrInfo {
    /// RSRP: 0 is -156 dBm or less, each step 1 dB, 126 is -31 dBm or more;
    /// 127 and above unknown.
    pub rsrp: u32,
    /// SNR: 0 is -23 dB or less, each step 0.5 dB, 127 is 40 dB or more;
    /// 128 and above unknown.
    pub snr: u32,
    /// RSRP change that triggers a report (0 device default, 0xFFFFFFFF none).
    pub rsrp_threshold: u32,
    /// SNR change that triggers a report (0 device default, 0xFFFFFFFF none).
    pub snr_threshold: u32,
    /// The radio technology measured (LTE, 5G NSA or 5G SA).
    pub system_type: DataClass,
}

impl RsrpSnrInfo {
    /// RSRP in dBm, `None` when unknown.
    pub fn rsrp_dbm(&self) -> Option<i32> {
        i32::try_from(self.rsrp)
            .ok()
            .filter(|rsrp| *rsrp < 127)
            .map(|rsrp| rsrp - 157)
    }

    /// SNR in dB, `None` when unknown.
    pub fn snr_db(&self) -> Option<f64> {
        (self.snr < 128).then(|| -23.5 + f64::from(self.snr) * 0.5)
    }
}

/// MBIM_SIGNAL_STATE_INFO_V2: MBIM_SIGNAL_STATE_INFO and RSRP/SNR per radio
/// technology.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SignalStateInfoV2 {
    /// 0-31 (-113 dBm to -51 dBm in 2 dB steps), 99 = unknown.
    pub rssi: u32,
    /// 0-7, 99 = unknown.
    pub error_rate: u32,
    /// Seconds between reports.
    pub signal_strength_interval: u32,
    /// RSSI change that triggers a report.
    pub rssi_threshold: u32,
    /// Error-rate change that triggers a report.
    pub error_rate_threshold: u32,
    /// RSRP and SNR of each radio technology the device measures.
    #[mbim(nested_list)]
    pub rsrp_snr: Vec<RsrpSnrInfo>,
}
