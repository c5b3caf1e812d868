//! What the function is and what it offers: its capabilities (DEVICE_CAPS),
//! the radio's power (RADIO_STATE), the device services it implements
//! (DEVICE_SERVICES) and the notifications a host subscribes to.

use crate::uuid::Uuid;
use crate::{mbim_enum, mbim_flags, mbim_struct};

mbim_enum! {
    /// MBIM_DEVICE_TYPE.
    pub enum DeviceType {
        /// The device type is not known.
        Unspecified = 0 => "unknown",
        /// Built into the host.
        Embedded = 1 => "embedded",
        /// Attached and removable (a USB stick).
        Removable = 2 => "removable",
        /// A remote device (a phone tethered over USB).
        Remote = 3 => "remote",
    }
}

mbim_flags! {
    /// MBIM_CELLULAR_CLASS.
    pub struct CellularClass: u32 {
        /// GSM family (GSM, UMTS, LTE).
        const GSM = 0x1 => "gsm";
        /// CDMA family.
        const CDMA = 0x2 => "cdma";
    }
}

mbim_enum! {
    /// MBIM_VOICE_CLASS.
    pub enum VoiceClass {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// No voice.
        NoVoice = 1 => "no-voice",
        /// Voice and data separated.
        SeparatedVoiceData = 2 => "separated-voice-data",
        /// Voice and data simultaneously.
        SimultaneousVoiceData = 3 => "simultaneous-voice-data",
    }
}

mbim_flags! {
    /// MBIM_SIM_CLASS.
    pub struct SimClass: u32 {
        /// A logical (embedded) SIM.
        const LOGICAL = 0x1 => "logical";
        /// A removable SIM. Multi-SIM modems always report this (seed 004).
        const REMOVABLE = 0x2 => "removable";
    }
}

mbim_flags! {
    /// MBIM_DATA_CLASS.
    pub struct DataClass: u32 {
        /// GPRS.
        const GPRS = 0x1 => "gprs";
        /// EDGE.
        const EDGE = 0x2 => "edge";
        /// UMTS.
        const UMTS = 0x4 => "umts";
        /// HSDPA.
        const HSDPA = 0x8 => "hsdpa";
        /// HSUPA.
        const HSUPA = 0x10 => "hsupa";
        /// LTE.
        const LTE = 0x20 => "lte";
        /// 5G non-standalone (MBIMEx 2.0).
        const NR5G_NSA = 0x40 => "5g-nsa";
        /// 5G standalone (MBIMEx 2.0).
        const NR5G_SA = 0x80 => "5g-sa";
        /// CDMA 1xRTT.
        const CDMA_1XRTT = 0x10000 => "1xrtt";
        /// CDMA 1xEV-DO.
        const CDMA_1XEVDO = 0x20000 => "1xevdo";
        /// CDMA 1xEV-DO Rev. A.
        const CDMA_1XEVDO_REVA = 0x40000 => "1xevdo-reva";
        /// CDMA 1xEV-DV.
        const CDMA_1XEVDV = 0x80000 => "1xevdv";
        /// CDMA 3xRTT.
        const CDMA_3XRTT = 0x100000 => "3xrtt";
        /// CDMA 1xEV-DO Rev. B.
        const CDMA_1XEVDO_REVB = 0x200000 => "1xevdo-revb";
        /// UMB.
        const UMB = 0x400000 => "umb";
        /// A custom class, named in CustomDataClass.
        const CUSTOM = 0x80000000 => "custom";
    }
}

mbim_flags! {
    /// MBIM_SMS_CAPS.
    pub struct SmsCaps: u32 {
        /// Receives PDU-mode SMS.
        const PDU_RECEIVE = 0x1 => "pdu-receive";
        /// Sends PDU-mode SMS.
        const PDU_SEND = 0x2 => "pdu-send";
        /// Receives text-mode SMS.
        const TEXT_RECEIVE = 0x4 => "text-receive";
        /// Sends text-mode SMS.
        const TEXT_SEND = 0x8 => "text-send";
    }
}

mbim_flags! {
    /// MBIM_CTRL_CAPS.
    pub struct ControlCaps: u32 {
        /// Manual network selection.
        const REG_MANUAL = 0x1 => "reg-manual";
        /// A hardware radio switch.
        const HW_RADIO_SWITCH = 0x2 => "hw-radio-switch";
        /// CDMA mobile IP.
        const CDMA_MOBILE_IP = 0x4 => "cdma-mobile-ip";
        /// CDMA simple IP.
        const CDMA_SIMPLE_IP = 0x8 => "cdma-simple-ip";
        /// Multiple carriers.
        const MULTI_CARRIER = 0x10 => "multi-carrier";
        /// eSIM (MBIMEx).
        const ESIM = 0x20 => "esim";
        /// UE policy route selection (MBIMEx 3.0).
        const UE_POLICY_ROUTE_SELECTION = 0x40 => "ue-policy-route-selection";
        /// SIM hot-swap (MBIMEx 3.0).
        const SIM_HOT_SWAP_CAPABLE = 0x80 => "sim-hot-swap-capable";
        /// URSP rules applied on the LTE core too (MBIMEx 4.0).
        const USE_URSP_RULE_ON_EPC_CAPABLE = 0x100 => "use-ursp-rule-on-epc-capable";
    }
}

/// MBIM_DEVICE_CAPS_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct DeviceCapsInfo {
    /// Embedded, removable or remote.
    pub device_type: DeviceType,
    /// GSM and/or CDMA.
    pub cellular_class: CellularClass,
    /// Voice support.
    pub voice_class: VoiceClass,
    /// SIM kinds.
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
}

mbim_enum! {
    /// MBIM_RADIO_SWITCH_STATE.
    pub enum RadioSwitchState {
        /// Radio off.
        Off = 0 => "off",
        /// Radio on.
        On = 1 => "on",
    }
}

/// MBIM_SET_RADIO_STATE.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RadioStateSet {
    /// The software radio state wanted.
    pub radio_state: RadioSwitchState,
}

/// MBIM_RADIO_STATE_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RadioStateInfo {
    /// The hardware switch.
    pub hw_radio_state: RadioSwitchState,
    /// The software switch.
    pub sw_radio_state: RadioSwitchState,
}

/// MBIM_DEVICE_SERVICE_ELEMENT.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceServiceElement {
    /// The service UUID.
    pub device_service_id: Uuid,
    /// Device service stream support (bit 0 host-to-device, bit 1 device-to-host).
    pub dss_payload: u32,
    /// Maximum simultaneous DSS instances.
    pub max_dss_instances: u32,
    #[mbim(count_of = cids)]
    cids_count: u32,
    /// The CIDs the device supports in this service.
    #[mbim(inline_array)]
    pub cids: Vec<u32>,
}

/// MBIM_DEVICE_SERVICES_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceServicesInfo {
    #[mbim(count_of = device_services)]
    device_services_count: u32,
    /// Maximum simultaneous DSS sessions.
    pub max_dss_sessions: u32,
    /// The services.
    #[mbim(struct_list)]
    pub device_services: Vec<DeviceServiceElement>,
}

/// MBIM_EVENT_ENTRY.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct EventEntry {
    /// The service.
    pub device_service_id: Uuid,
    #[mbim(count_of = cids)]
    cids_count: u32,
    /// The CIDs whose notifications are wanted (none = all).
    #[mbim(inline_array)]
    pub cids: Vec<u32>,
}

/// MBIM_DEVICE_SERVICE_SUBSCRIBE_LIST.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct EventEntries {
    #[mbim(count_of = events)]
    events_count: u32,
    /// Subscriptions per service.
    #[mbim(struct_list)]
    pub events: Vec<EventEntry>,
}
