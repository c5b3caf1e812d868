//! MBIM_CID_MS_DEVICE_CAPS_V2 in its MBIMEx 3.0 layout: the data subclass
//! (how 5G is reached), the WCDMA, LTE and NR bands, and the strings as TLV
//! information elements.

use crate::mbim_struct;
use crate::services::basic_connect::{
    CellularClass, ControlCaps, DataClassV3, DeviceType, SimClass, SmsCaps, VoiceClass,
    WideDataSubclass,
};

/// MBIM_MS_DEVICE_CAPS_INFO_V3.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DeviceCapsInfoV3 {
    /// Embedded, removable or remote.
    pub device_type: DeviceType,
    /// GSM and/or CDMA.
    pub cellular_class: CellularClass,
    /// Voice support.
    pub voice_class: VoiceClass,
    /// SIM kinds.
    pub sim_class: SimClass,
    /// Radio technologies supported.
    pub data_class: DataClassV3,
    /// SMS support.
    pub sms_caps: SmsCaps,
    /// Control capabilities.
    pub control_caps: ControlCaps,
    /// How 5G is reached (NSA, SA…).
    pub data_subclass: WideDataSubclass,
    /// Maximum simultaneous IP sessions.
    pub max_sessions: u32,
    /// This executor's index, 0..n-1, independent of enumeration order.
    pub executor_index: u32,
    /// WCDMA bands, bit n-1 for band n.
    pub wcdma_band_class: u32,
    /// LTE bands supported.
    #[mbim(tlv_u16_table)]
    pub lte_band_class: Vec<u16>,
    /// NR bands supported.
    #[mbim(tlv_u16_table)]
    pub nr_band_class: Vec<u16>,
    /// Name of the custom data class, if any.
    #[mbim(tlv_string)]
    pub custom_data_class: String,
    /// IMEI (GSM) or ESN/MEID (CDMA).
    #[mbim(tlv_string, personal)]
    pub device_id: String,
    /// Firmware version.
    #[mbim(tlv_string)]
    pub firmware_info: String,
    /// Hardware version.
    #[mbim(tlv_string)]
    pub hardware_info: String,
}
