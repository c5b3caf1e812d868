//! Basic Connect (MBIM 1.0 §10.5): the CIDs every MBIM function implements,
//! with the layouts the MBIM extensions give some of them (`v2.rs`: MBIMEx
//! 2.0, `v3.rs`: MBIMEx 3.0 and 4.0), declared in each CID's one entry.

mod v2;
mod v3;

pub use v2::*;
pub use v3::*;

use crate::codec::{DecodeBudget, Empty, Payload, PayloadError, StructReader, StructWriter};
use crate::describe::{Describe, Value};
use crate::uuid::Uuid;
use crate::{mbim_enum, mbim_flags, mbim_service, mbim_struct};
use std::net::{Ipv4Addr, Ipv6Addr};

mbim_service! {
    /// Basic Connect's CID table.
    service "basic-connect" = "a289cc33-bcbb-8b4f-b6b0-133ec2aae6df";
    /// MBIM_CID_DEVICE_CAPS (§10.5.1).
    DeviceCaps = 1, "device-caps", executor { query: Empty, response: DeviceCapsInfo, }
    /// MBIM_CID_SUBSCRIBER_READY_STATUS (§10.5.2).
    SubscriberReadyStatus = 2, "subscriber-ready-status", executor {
        query: Empty, response: SubscriberReadyInfo, notification: SubscriberReadyInfo,
        /// MBIMEx 3.0: eSIM and SIM removability flags.
        >= v3 SubscriberReadyStatusV3 {
            query: Empty, response: SubscriberReadyInfoV3, notification: SubscriberReadyInfoV3,
        }
    }
    /// MBIM_CID_RADIO_STATE (§10.5.3).
    RadioState = 3, "radio-state", executor {
        query: Empty, set: RadioStateSet, response: RadioStateInfo, notification: RadioStateInfo,
    }
    /// MBIM_CID_PIN (§10.5.4).
    Pin = 4, "pin", executor { query: Empty, set: PinSet, response: PinInfo, }
    /// MBIM_CID_PIN_LIST (§10.5.5).
    PinList = 5, "pin-list", executor { query: Empty, response: PinListInfo, }
    /// MBIM_CID_HOME_PROVIDER (§10.5.6).
    HomeProvider = 6, "home-provider", executor { query: Empty, set: Provider, response: Provider, }
    /// MBIM_CID_PREFERRED_PROVIDERS (§10.5.7).
    PreferredProviders = 7, "preferred-providers", executor {
        query: Empty, set: Providers, response: Providers, notification: Providers,
    }
    /// MBIM_CID_VISIBLE_PROVIDERS (§10.5.8).
    VisibleProviders = 8, "visible-providers", executor {
        query: VisibleProvidersQuery, response: Providers,
    }
    /// MBIM_CID_REGISTER_STATE (§10.5.9).
    RegisterState = 9, "register-state", executor {
        query: Empty, set: RegisterStateSet, response: RegistrationStateInfo,
        notification: RegistrationStateInfo,
        /// MBIMEx 2.0: the preferred data classes.
        >= v2 RegisterStateV2 {
            query: Empty, set: RegisterStateSet, response: RegistrationStateInfoV2,
            notification: RegistrationStateInfoV2,
        }
    }
    /// MBIM_CID_PACKET_SERVICE (§10.5.10).
    PacketService = 10, "packet-service", executor {
        query: Empty, set: PacketServiceSet, response: PacketServiceInfo,
        notification: PacketServiceInfo,
        /// MBIMEx 2.0: the current data class and the 5G frequency range.
        >= v2 PacketServiceV2 {
            query: Empty, set: PacketServiceSet, response: PacketServiceInfoV2,
            notification: PacketServiceInfoV2,
        }
        /// MBIMEx 3.0: the data subclass and the tracking area.
        >= v3 PacketServiceV3 {
            query: Empty, set: PacketServiceSet, response: PacketServiceInfoV3,
            notification: PacketServiceInfoV3,
        }
    }
    /// MBIM_CID_SIGNAL_STATE (§10.5.11).
    SignalState = 11, "signal-state", executor {
        query: Empty, set: SignalStateSet, response: SignalStateInfo, notification: SignalStateInfo,
        /// MBIMEx 2.0: RSRP and SNR per radio technology (LTE, 5G NR).
        >= v2 SignalStateV2 {
            query: Empty, set: SignalStateSet, response: SignalStateInfoV2,
            notification: SignalStateInfoV2,
        }
    }
    /// MBIM_CID_CONNECT (§10.5.12).
    Connect = 12, "connect", executor {
        query: ConnectInfo, set: ConnectSet, response: ConnectInfo, notification: ConnectInfo,
        /// MBIMEx 3.0: media preference, TLV strings, unnamed IEs (PCO…); the
        /// query carries the session id alone.
        >= v3 ConnectV3 {
            query: ConnectQueryV3, set: ConnectSetV3, response: ConnectInfoV3,
            notification: ConnectInfoV3,
        }
        /// MBIMEx 4.0: the activation option and the network slice (S-NSSAI).
        >= v4 ConnectV4 {
            query: ConnectQueryV3, set: ConnectSetV4, response: ConnectInfoV4,
            notification: ConnectInfoV4,
        }
    }
    /// MBIM_CID_PROVISIONED_CONTEXTS (§10.5.13).
    ProvisionedContexts = 13, "provisioned-contexts", executor {
        query: Empty, set: ProvisionedContextSet, response: ProvisionedContexts,
        notification: ProvisionedContexts,
    }
    /// MBIM_CID_SERVICE_ACTIVATION (§10.5.14).
    ServiceActivation = 14, "service-activation", executor {
        set: ServiceActivationSet, response: ServiceActivationInfo,
    }
    /// MBIM_CID_IP_CONFIGURATION (§10.5.20).
    IpConfiguration = 15, "ip-configuration", executor {
        query: IpConfigurationInfo, response: IpConfigurationInfo,
        notification: IpConfigurationInfo,
    }
    /// MBIM_CID_DEVICE_SERVICES (§10.5.21).
    DeviceServices = 16, "device-services", executor { query: Empty, response: DeviceServicesInfo, }
    /// MBIM_CID_DEVICE_SERVICE_SUBSCRIBE_LIST (§10.5.22; MBIM errata renumbered it 19).
    DeviceServiceSubscribeList = 19, "device-service-subscribe-list", executor {
        set: EventEntries, response: EventEntries,
    }
    /// MBIM_CID_PACKET_STATISTICS (§10.5.23).
    PacketStatistics = 20, "packet-statistics", executor { query: Empty, response: PacketStatisticsInfo, }
    /// MBIM_CID_NETWORK_IDLE_HINT (§10.5.24).
    NetworkIdleHint = 21, "network-idle-hint", executor {
        query: Empty, set: NetworkIdleHintInfo, response: NetworkIdleHintInfo,
    }
    /// MBIM_CID_EMERGENCY_MODE (§10.5.25); device-wide per seed 004's non-NDIS table.
    EmergencyMode = 22, "emergency-mode", device {
        query: Empty, set: EmergencyModeInfo, response: EmergencyModeInfo,
        notification: EmergencyModeInfo,
    }
    /// MBIM_CID_IP_PACKET_FILTERS (§10.5.26).
    IpPacketFilters = 23, "ip-packet-filters", executor {
        query: PacketFilters, set: PacketFilters, response: PacketFilters,
        /// MBIMEx 3.0: each filter with its id.
        >= v3 IpPacketFiltersV3 {
            query: PacketFiltersV3, set: PacketFiltersV3, response: PacketFiltersV3,
        }
    }
    /// MBIM_CID_MULTICARRIER_PROVIDERS (§10.5.27).
    MulticarrierProviders = 24, "multicarrier-providers", executor {
        query: Empty, set: Providers, response: Providers, notification: Providers,
    }
}

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
    /// MBIM_SUBSCRIBER_READY_STATE.
    pub enum SubscriberReadyState {
        /// The SIM is still initializing.
        NotInitialized = 0 => "not-initialized",
        /// Ready.
        Initialized = 1 => "initialized",
        /// No SIM.
        SimNotInserted = 2 => "sim-not-inserted",
        /// The SIM is unusable (for example its PUK is blocked).
        BadSim = 3 => "bad-sim",
        /// A generic failure.
        Failure = 4 => "failure",
        /// The subscription is not activated.
        NotActivated = 5 => "not-activated",
        /// Locked: a PIN or PUK must be entered.
        DeviceLocked = 6 => "device-locked",
        /// An eSIM without an active profile (MBIMEx).
        NoEsimProfile = 7 => "no-esim-profile",
    }
}

mbim_flags! {
    /// MBIM_READY_INFO_FLAGS.
    pub struct ReadyInfoFlags: u32 {
        /// The host must not display the subscriber id.
        const PROTECT_UNIQUE_ID = 0x1 => "protect-unique-id";
    }
}

/// MBIM_SUBSCRIBER_READY_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SubscriberReadyInfo {
    /// Whether the SIM is usable.
    pub ready_state: SubscriberReadyState,
    /// IMSI (GSM) or MIN/IRM (CDMA).
    #[mbim(personal)]
    pub subscriber_id: String,
    /// The SIM's ICCID.
    #[mbim(personal)]
    pub sim_iccid: String,
    /// Flags.
    pub ready_info: ReadyInfoFlags,
    #[mbim(count_of = telephone_numbers)]
    telephone_numbers_count: u32,
    /// The subscription's telephone numbers.
    #[mbim(personal)]
    pub telephone_numbers: Vec<String>,
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

mbim_enum! {
    /// MBIM_PIN_TYPE.
    pub enum PinType {
        /// No PIN is pending (also "not expected").
        None = 0 => "unknown",
        /// A custom PIN.
        Custom = 1 => "custom",
        /// The SIM's PIN1.
        Pin1 = 2 => "pin1",
        /// PIN2.
        Pin2 = 3 => "pin2",
        /// Device-to-SIM PIN.
        DeviceSimPin = 4 => "device-sim-pin",
        /// Device-to-very-first-SIM PIN.
        DeviceFirstSimPin = 5 => "device-first-sim-pin",
        /// Network personalization.
        NetworkPin = 6 => "network-pin",
        /// Network subset personalization.
        NetworkSubsetPin = 7 => "network-subset-pin",
        /// Service provider personalization.
        ServiceProviderPin = 8 => "service-provider-pin",
        /// Corporate personalization.
        CorporatePin = 9 => "corporate-pin",
        /// Subsidy lock.
        SubsidyPin = 10 => "subsidy-pin",
        /// PUK1.
        Puk1 = 11 => "puk1",
        /// PUK2.
        Puk2 = 12 => "puk2",
        /// Device-to-very-first-SIM PUK.
        DeviceFirstSimPuk = 13 => "device-first-sim-puk",
        /// Network personalization PUK.
        NetworkPuk = 14 => "network-puk",
        /// Network subset personalization PUK.
        NetworkSubsetPuk = 15 => "network-subset-puk",
        /// Service provider personalization PUK.
        ServiceProviderPuk = 16 => "service-provider-puk",
        /// Corporate personalization PUK.
        CorporatePuk = 17 => "corporate-puk",
    }
}

mbim_enum! {
    /// MBIM_PIN_STATE.
    pub enum PinState {
        /// Unlocked.
        Unlocked = 0 => "unlocked",
        /// Locked: the PIN must be entered.
        Locked = 1 => "locked",
    }
}

mbim_enum! {
    /// MBIM_PIN_OPERATION.
    pub enum PinOperation {
        /// Enter the PIN (or a PUK with a new PIN).
        Enter = 0 => "enter",
        /// Enable the PIN.
        Enable = 1 => "enable",
        /// Disable the PIN.
        Disable = 2 => "disable",
        /// Change the PIN.
        Change = 3 => "change",
    }
}

/// MBIM_SET_PIN.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct PinSet {
    /// Which PIN.
    pub pin_type: PinType,
    /// What to do.
    pub pin_operation: PinOperation,
    /// The PIN (or PUK).
    #[mbim(secret)]
    pub pin: String,
    /// The new PIN, for change and for PUK entry.
    #[mbim(secret)]
    pub new_pin: String,
}

/// MBIM_PIN_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinInfo {
    /// The PIN that is pending, or none.
    pub pin_type: PinType,
    /// Whether it is locked.
    pub pin_state: PinState,
    /// Attempts left before it blocks.
    pub remaining_attempts: u32,
}

mbim_enum! {
    /// MBIM_PIN_MODE.
    pub enum PinMode {
        /// This PIN is not supported.
        NotSupported = 0 => "not-supported",
        /// Enabled.
        Enabled = 1 => "enabled",
        /// Disabled.
        Disabled = 2 => "disabled",
    }
}

mbim_enum! {
    /// MBIM_PIN_FORMAT.
    pub enum PinFormat {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// Digits only.
        Numeric = 1 => "numeric",
        /// Letters and digits.
        Alphanumeric = 2 => "alphanumeric",
    }
}

/// MBIM_PIN_DESC.
#[mbim_struct(inline)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinDesc {
    /// Whether the PIN is supported and enabled.
    pub pin_mode: PinMode,
    /// Its format.
    pub pin_format: PinFormat,
    /// Minimum length.
    pub pin_length_min: u32,
    /// Maximum length.
    pub pin_length_max: u32,
}

/// MBIM_PIN_LIST_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinListInfo {
    /// PIN1.
    pub pin1: PinDesc,
    /// PIN2.
    pub pin2: PinDesc,
    /// Device-to-SIM PIN.
    pub device_sim_pin: PinDesc,
    /// Device-to-very-first-SIM PIN.
    pub device_first_sim_pin: PinDesc,
    /// Network personalization.
    pub network_pin: PinDesc,
    /// Network subset personalization.
    pub network_subset_pin: PinDesc,
    /// Service provider personalization.
    pub service_provider_pin: PinDesc,
    /// Corporate personalization.
    pub corporate_pin: PinDesc,
    /// Subsidy lock.
    pub subsidy_lock: PinDesc,
    /// Custom.
    pub custom: PinDesc,
}

mbim_flags! {
    /// MBIM_PROVIDER_STATE.
    pub struct ProviderState: u32 {
        /// The home network.
        const HOME = 0x1 => "home";
        /// Forbidden.
        const FORBIDDEN = 0x2 => "forbidden";
        /// Preferred.
        const PREFERRED = 0x4 => "preferred";
        /// Visible.
        const VISIBLE = 0x8 => "visible";
        /// Registered.
        const REGISTERED = 0x10 => "registered";
        /// A preferred multicarrier provider.
        const PREFERRED_MULTICARRIER = 0x20 => "preferred-multicarrier";
    }
}

/// MBIM_PROVIDER.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Provider {
    /// MCC+MNC (GSM) or SID (CDMA).
    pub provider_id: String,
    /// State flags.
    pub provider_state: ProviderState,
    /// Operator name.
    pub provider_name: String,
    /// GSM or CDMA.
    pub cellular_class: CellularClass,
    /// Signal (0-31, 99 = unknown).
    pub rssi: u32,
    /// Error rate (0-7, 99 = unknown).
    pub error_rate: u32,
}

/// MBIM_PROVIDERS.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Providers {
    #[mbim(count_of = providers)]
    providers_count: u32,
    /// The providers.
    #[mbim(struct_list)]
    pub providers: Vec<Provider>,
}

mbim_enum! {
    /// MBIM_VISIBLE_PROVIDERS_ACTION.
    pub enum VisibleProvidersAction {
        /// A full network scan.
        FullScan = 0 => "full-scan",
        /// Only multicarrier providers.
        RestrictedScan = 1 => "restricted-scan",
    }
}

/// MBIM_VISIBLE_PROVIDERS_REQ.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VisibleProvidersQuery {
    /// Full or restricted scan.
    pub action: VisibleProvidersAction,
}

mbim_enum! {
    /// MBIM_NW_ERROR: 3GPP TS 24.008 cause codes.
    pub enum NwError {
        /// No error.
        None = 0 => "none",
        /// IMSI unknown in HLR.
        ImsiUnknownInHlr = 2 => "imsi-unknown-in-hlr",
        /// Illegal MS.
        IllegalMs = 3 => "illegal-ms",
        /// IMSI unknown in VLR.
        ImsiUnknownInVlr = 4 => "imsi-unknown-in-vlr",
        /// IMEI not accepted.
        ImeiNotAccepted = 5 => "imei-not-accepted",
        /// Illegal ME.
        IllegalMe = 6 => "illegal-me",
        /// GPRS not allowed.
        GprsNotAllowed = 7 => "gprs-not-allowed",
        /// GPRS and non-GPRS not allowed.
        GprsAndNonGprsNotAllowed = 8 => "gprs-and-non-gprs-not-allowed",
        /// MS identity not derived by network.
        MsIdentityNotDerivedByNetwork = 9 => "ms-identity-not-derived-by-network",
        /// Implicitly detached.
        ImplicitlyDetached = 10 => "implicitly-detached",
        /// PLMN not allowed.
        PlmnNotAllowed = 11 => "plmn-not-allowed",
        /// Location area not allowed.
        LocationAreaNotAllowed = 12 => "location-area-not-allowed",
        /// Roaming not allowed in location area.
        RoamingNotAllowedInLocationArea = 13 => "roaming-not-allowed-in-location-area",
        /// GPRS not allowed in PLMN.
        GprsNotAllowedInPlmn = 14 => "gprs-not-allowed-in-plmn",
        /// No cells in location area.
        NoCellsInLocationArea = 15 => "no-cells-in-location-area",
        /// MSC temporarily not reachable.
        MscTemporarilyNotReachable = 16 => "msc-temporarily-not-reachable",
        /// Network failure.
        NetworkFailure = 17 => "network-failure",
        /// MAC failure.
        MacFailure = 20 => "mac-failure",
        /// Synch failure.
        SynchFailure = 21 => "synch-failure",
        /// Congestion.
        Congestion = 22 => "congestion",
        /// GSM authentication unacceptable.
        GsmAuthenticationUnacceptable = 23 => "gsm-authentication-unacceptable",
        /// Not authorized for this CSG.
        NotAuthorizedForCsg = 25 => "not-authorized-for-csg",
        /// Insufficient resources.
        InsufficientResources = 26 => "insufficient-resources",
        /// Missing or unknown APN.
        MissingOrUnknownApn = 27 => "missing-or-unknown-apn",
        /// Unknown PDP address or type.
        UnknownPdpAddressOrType = 28 => "unknown-pdp-address-or-type",
        /// User authentication failed.
        UserAuthenticationFailed = 29 => "user-authentication-failed",
        /// Activation rejected by GGSN or gateway.
        ActivationRejectedByGgsnOrGw = 30 => "activation-rejected-by-ggsn-or-gw",
        /// Activation rejected, unspecified.
        ActivationRejectedUnspecified = 31 => "activation-rejected-unspecified",
        /// Service option not supported.
        ServiceOptionNotSupported = 32 => "service-option-not-supported",
        /// Requested service option not subscribed.
        RequestedServiceOptionNotSubscribed = 33 => "requested-service-option-not-subscribed",
        /// Service option temporarily out of order.
        ServiceOptionTemporarilyOutOfOrder = 34 => "service-option-temporarily-out-of-order",
        /// No PDP context activated.
        NoPdpContextActivated = 40 => "no-pdp-context-activated",
        /// Only IPv4 allowed.
        PdpTypeIpv4OnlyAllowed = 50 => "pdp-type-ipv4-only-allowed",
        /// Only IPv6 allowed.
        PdpTypeIpv6OnlyAllowed = 51 => "pdp-type-ipv6-only-allowed",
        /// Maximum number of PDP contexts reached.
        MaximumNumberOfPdpContextsReached = 65 => "maximum-number-of-pdp-contexts-reached",
        /// APN not supported in current RAT and PLMN.
        RequestedApnNotSupportedInCurrentRatAndPlmn = 66 => "requested-apn-not-supported-in-current-rat-and-plmn",
        /// Semantically incorrect message.
        SemanticallyIncorrectMessage = 95 => "semantically-incorrect-message",
        /// Invalid mandatory information.
        InvalidMandatoryInformation = 96 => "invalid-mandatory-information",
        /// Message type non-existent or not implemented.
        MessageTypeNonExistentOrNotImplemented = 97 => "message-type-non-existent-or-not-implemented",
        /// Message type not compatible with protocol state.
        MessageTypeNotCompatibleWithProtocolState = 98 => "message-type-not-compatible-with-protocol-state",
        /// Information element non-existent or not implemented.
        InformationElementNonExistentOrNotImplemented = 99 => "information-element-non-existent-or-not-implemented",
        /// Conditional IE error.
        ConditionalIeError = 100 => "conditional-ie-error",
        /// Message not compatible with protocol state.
        MessageNotCompatibleWithProtocolState = 101 => "message-not-compatible-with-protocol-state",
        /// Protocol error, unspecified.
        ProtocolErrorUnspecified = 111 => "protocol-error-unspecified",
        /// APN restriction incompatible with active PDP context.
        ApnRestrictionValueIncompatibleWithActivePdpContext = 112 => "apn-restriction-value-incompatible-with-active-pdp-context",
        /// Multiple accesses to a PDN connection not allowed.
        MultipleAccessesToAPdnConnectionNotAllowed = 113 => "multiple-accesses-to-a-pdn-connection-not-allowed",
    }
}

mbim_enum! {
    /// MBIM_REGISTER_ACTION.
    pub enum RegisterAction {
        /// Register automatically.
        Automatic = 0 => "automatic",
        /// Register with the given provider.
        Manual = 1 => "manual",
    }
}

mbim_enum! {
    /// MBIM_REGISTER_STATE.
    pub enum RegisterState {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// Not registered.
        Deregistered = 1 => "deregistered",
        /// Searching.
        Searching = 2 => "searching",
        /// On the home network.
        Home = 3 => "home",
        /// Roaming.
        Roaming = 4 => "roaming",
        /// On a partner network.
        Partner = 5 => "partner",
        /// Registration denied.
        Denied = 6 => "denied",
    }
}

mbim_enum! {
    /// MBIM_REGISTER_MODE.
    pub enum RegisterMode {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// Automatic.
        Automatic = 1 => "automatic",
        /// Manual.
        Manual = 2 => "manual",
    }
}

mbim_flags! {
    /// MBIM_REGISTRATION_FLAGS.
    pub struct RegistrationFlags: u32 {
        /// Manual selection is not available.
        const MANUAL_SELECTION_NOT_AVAILABLE = 0x1 => "manual-selection-not-available";
        /// The device attaches packet service by itself.
        const PACKET_SERVICE_AUTOMATIC_ATTACH = 0x2 => "packet-service-automatic-attach";
    }
}

/// MBIM_SET_REGISTRATION_STATE.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct RegisterStateSet {
    /// The provider, for manual registration.
    pub provider_id: String,
    /// Automatic or manual.
    pub register_action: RegisterAction,
    /// Preferred data classes.
    pub data_class: DataClass,
}

/// MBIM_REGISTRATION_STATE_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RegistrationStateInfo {
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
}

mbim_enum! {
    /// MBIM_PACKET_SERVICE_ACTION.
    pub enum PacketServiceAction {
        /// Attach.
        Attach = 0 => "attach",
        /// Detach.
        Detach = 1 => "detach",
    }
}

mbim_enum! {
    /// MBIM_PACKET_SERVICE_STATE.
    pub enum PacketServiceState {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// Attaching.
        Attaching = 1 => "attaching",
        /// Attached.
        Attached = 2 => "attached",
        /// Detaching.
        Detaching = 3 => "detaching",
        /// Detached.
        Detached = 4 => "detached",
    }
}

/// MBIM_SET_PACKET_SERVICE.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PacketServiceSet {
    /// Attach or detach.
    pub packet_service_action: PacketServiceAction,
}

/// MBIM_PACKET_SERVICE_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketServiceInfo {
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Attach state.
    pub packet_service_state: PacketServiceState,
    /// The best data class available.
    pub highest_available_data_class: DataClass,
    /// Uplink speed, bits per second.
    pub uplink_speed: u64,
    /// Downlink speed, bits per second.
    pub downlink_speed: u64,
}

/// MBIM_SET_SIGNAL_STATE.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignalStateSet {
    /// Seconds between reports (0 = device default).
    pub signal_strength_interval: u32,
    /// RSSI change that triggers a report.
    pub rssi_threshold: u32,
    /// Error-rate change that triggers a report.
    pub error_rate_threshold: u32,
}

/// MBIM_SIGNAL_STATE_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct SignalStateInfo {
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
}

mbim_enum! {
    /// MBIM_ACTIVATION_COMMAND.
    pub enum ActivationCommand {
        /// Deactivate.
        Deactivate = 0 => "deactivate",
        /// Activate.
        Activate = 1 => "activate",
    }
}

mbim_enum! {
    /// MBIM_COMPRESSION.
    pub enum Compression {
        /// No compression.
        None = 0 => "none",
        /// Header compression.
        Enable = 1 => "enable",
    }
}

mbim_enum! {
    /// MBIM_AUTH_PROTOCOL.
    pub enum AuthProtocol {
        /// None.
        None = 0 => "none",
        /// PAP.
        Pap = 1 => "pap",
        /// CHAP.
        Chap = 2 => "chap",
        /// MS-CHAPv2.
        MsChapV2 = 3 => "mschapv2",
    }
}

mbim_enum! {
    /// MBIM_CONTEXT_IP_TYPE.
    pub enum ContextIpType {
        /// The device's default.
        Default = 0 => "default",
        /// IPv4 only.
        Ipv4 = 1 => "ipv4",
        /// IPv6 only.
        Ipv6 = 2 => "ipv6",
        /// Dual stack in one context.
        Ipv4v6 = 3 => "ipv4v6",
        /// Dual stack in two contexts.
        Ipv4AndIpv6 = 4 => "ipv4-and-ipv6",
    }
}

mbim_enum! {
    /// MBIM_ACTIVATION_STATE.
    pub enum ActivationState {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// Activated.
        Activated = 1 => "activated",
        /// Activating.
        Activating = 2 => "activating",
        /// Deactivated.
        Deactivated = 3 => "deactivated",
        /// Deactivating.
        Deactivating = 4 => "deactivating",
    }
}

mbim_enum! {
    /// MBIM_VOICE_CALL_STATE.
    pub enum VoiceCallState {
        /// No call.
        None = 0 => "none",
        /// A call is in progress.
        InProgress = 1 => "in-progress",
        /// A call was hung up.
        HangUp = 2 => "hang-up",
    }
}

/// MBIM_CONTEXT_TYPES: the well-known context-type UUIDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextType {
    /// No context type.
    None,
    /// Internet.
    Internet,
    /// VPN.
    Vpn,
    /// Voice over IP.
    Voice,
    /// Video sharing.
    VideoShare,
    /// Purchase.
    Purchase,
    /// IMS.
    Ims,
    /// MMS.
    Mms,
    /// Local (no network).
    Local,
}

impl ContextType {
    const TABLE: [(ContextType, Uuid, &'static str); 9] = [
        (
            ContextType::None,
            Uuid::from_str_const("b43f758c-a560-4b46-b35e-c5869641fb54"),
            "none",
        ),
        (
            ContextType::Internet,
            Uuid::from_str_const("7e5e2a7e-4e6f-7272-736b-656e7e5e2a7e"),
            "internet",
        ),
        (
            ContextType::Vpn,
            Uuid::from_str_const("9b9f7bbe-8952-44b7-83ac-ca41318df7a0"),
            "vpn",
        ),
        (
            ContextType::Voice,
            Uuid::from_str_const("88918294-0ef4-4396-8cca-a8588fbc02b2"),
            "voice",
        ),
        (
            ContextType::VideoShare,
            Uuid::from_str_const("05a2a716-7c34-4b4d-9a91-c5ef0c7aaacc"),
            "video-share",
        ),
        (
            ContextType::Purchase,
            Uuid::from_str_const("b3272496-ac6c-422b-a8c0-acf687a27217"),
            "purchase",
        ),
        (
            ContextType::Ims,
            Uuid::from_str_const("21610d01-3074-4bce-9425-b53a07d697d6"),
            "ims",
        ),
        (
            ContextType::Mms,
            Uuid::from_str_const("46726664-7269-6bc6-9624-d1d35389aca9"),
            "mms",
        ),
        (
            ContextType::Local,
            Uuid::from_str_const("a57a9afc-b09f-45d7-bb40-033c39f60db9"),
            "local",
        ),
    ];

    /// The context type with this UUID.
    pub fn from_uuid(uuid: &Uuid) -> Option<Self> {
        Self::TABLE
            .iter()
            .find(|(_, known, _)| known == uuid)
            .map(|(kind, _, _)| *kind)
    }

    /// Its UUID.
    pub fn uuid(self) -> Uuid {
        Self::TABLE
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .map_or(Uuid::NIL, |(_, uuid, _)| *uuid)
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        Self::TABLE
            .iter()
            .find(|(kind, _, _)| *kind == self)
            .map_or("none", |(_, _, name)| name)
    }

    /// The context type with this name (libmbim's nickname).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::TABLE
            .iter()
            .find(|(_, _, known)| *known == name)
            .map(|(kind, _, _)| *kind)
    }
}

/// MBIM_SET_CONNECT.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectSet {
    /// The IP session (0 for the default).
    pub session_id: u32,
    /// Activate or deactivate.
    pub activation_command: ActivationCommand,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Context type (see [`ContextType`]).
    pub context_type: Uuid,
}

/// MBIM_CONNECT_INFO (also the query's payload, with the session id set).
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConnectInfo {
    /// The IP session.
    pub session_id: u32,
    /// Activation state.
    pub activation_state: ActivationState,
    /// Voice call state.
    pub voice_call_state: VoiceCallState,
    /// IP version(s) obtained.
    pub ip_type: ContextIpType,
    /// Context type.
    pub context_type: Uuid,
    /// Network cause of a failure.
    pub nw_error: NwError,
}

/// MBIM_SET_PROVISIONED_CONTEXT.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContextSet {
    /// Context id (0xFFFFFFFF to append).
    pub context_id: u32,
    /// Context type.
    pub context_type: Uuid,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
    /// The provider this context is for.
    pub provider_id: String,
}

/// MBIM_CONTEXT.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContextElement {
    /// Context id.
    pub context_id: u32,
    /// Context type.
    pub context_type: Uuid,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
}

/// MBIM_PROVISIONED_CONTEXTS_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContexts {
    #[mbim(count_of = contexts)]
    contexts_count: u32,
    /// The contexts.
    #[mbim(struct_list)]
    pub contexts: Vec<ProvisionedContextElement>,
}

/// MBIM_SET_SERVICE_ACTIVATION: an operator-specific blob.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceActivationSet {
    /// Operator-specific data.
    #[mbim(rest)]
    pub buffer: Vec<u8>,
}

/// MBIM_SERVICE_ACTIVATION_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceActivationInfo {
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Operator-specific data.
    #[mbim(rest)]
    pub buffer: Vec<u8>,
}

mbim_flags! {
    /// MBIM_IP_CONFIGURATION_AVAILABLE_FLAGS.
    pub struct IpConfigurationAvailable: u32 {
        /// Addresses are given.
        const ADDRESS = 0x1 => "address";
        /// A gateway is given.
        const GATEWAY = 0x2 => "gateway";
        /// DNS servers are given.
        const DNS = 0x4 => "dns";
        /// An MTU is given.
        const MTU = 0x8 => "mtu";
    }
}

/// MBIM_IPV4_ELEMENT.
#[mbim_struct(inline)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Element {
    /// Prefix length.
    pub on_link_prefix_length: u32,
    /// The address.
    pub ipv4_address: Ipv4Addr,
}

/// MBIM_IPV6_ELEMENT.
#[mbim_struct(inline)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Element {
    /// Prefix length.
    pub on_link_prefix_length: u32,
    /// The address.
    pub ipv6_address: Ipv6Addr,
}

/// MBIM_IP_CONFIGURATION_INFO (also the query's payload, with the session id set).
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct IpConfigurationInfo {
    /// The IP session.
    pub session_id: u32,
    /// Which IPv4 items are given.
    pub ipv4_configuration_available: IpConfigurationAvailable,
    /// Which IPv6 items are given.
    pub ipv6_configuration_available: IpConfigurationAvailable,
    #[mbim(count_of = ipv4_addresses)]
    ipv4_address_count: u32,
    /// IPv4 addresses with prefix lengths.
    #[mbim(array_at_offset)]
    pub ipv4_addresses: Vec<Ipv4Element>,
    #[mbim(count_of = ipv6_addresses)]
    ipv6_address_count: u32,
    /// IPv6 addresses with prefix lengths.
    #[mbim(array_at_offset)]
    pub ipv6_addresses: Vec<Ipv6Element>,
    /// IPv4 gateway.
    pub ipv4_gateway: Option<Ipv4Addr>,
    /// IPv6 gateway.
    pub ipv6_gateway: Option<Ipv6Addr>,
    #[mbim(count_of = ipv4_dns_servers)]
    ipv4_dns_server_count: u32,
    /// IPv4 DNS servers.
    #[mbim(array_at_offset)]
    pub ipv4_dns_servers: Vec<Ipv4Addr>,
    #[mbim(count_of = ipv6_dns_servers)]
    ipv6_dns_server_count: u32,
    /// IPv6 DNS servers.
    #[mbim(array_at_offset)]
    pub ipv6_dns_servers: Vec<Ipv6Addr>,
    /// IPv4 MTU.
    pub ipv4_mtu: u32,
    /// IPv6 MTU.
    pub ipv6_mtu: u32,
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

/// MBIM_PACKET_STATISTICS_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketStatisticsInfo {
    /// Inbound packets discarded.
    pub in_discards: u32,
    /// Inbound packets with errors.
    pub in_errors: u32,
    /// Inbound bytes.
    pub in_octets: u64,
    /// Inbound packets.
    pub in_packets: u64,
    /// Outbound bytes.
    pub out_octets: u64,
    /// Outbound packets.
    pub out_packets: u64,
    /// Outbound packets with errors.
    pub out_errors: u32,
    /// Outbound packets discarded.
    pub out_discards: u32,
}

mbim_enum! {
    /// MBIM_NETWORK_IDLE_HINT_STATE.
    pub enum NetworkIdleHintState {
        /// Disabled.
        Disabled = 0 => "disabled",
        /// Enabled.
        Enabled = 1 => "enabled",
    }
}

/// MBIM_NETWORK_IDLE_HINT.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NetworkIdleHintInfo {
    /// The hint.
    pub state: NetworkIdleHintState,
}

mbim_enum! {
    /// MBIM_EMERGENCY_MODE_STATE.
    pub enum EmergencyModeState {
        /// Off.
        Off = 0 => "off",
        /// On.
        On = 1 => "on",
    }
}

/// MBIM_EMERGENCY_MODE_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EmergencyModeInfo {
    /// The mode.
    pub state: EmergencyModeState,
}

/// MBIM_PACKET_FILTER: a filter and a mask of one shared size.
///
/// Written by hand: its one FilterSize gives the length of two byte arrays,
/// a layout no other CID uses, and the invariant (equal lengths) is kept by the
/// constructor rather than checked at every encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFilter {
    filter: Vec<u8>,
    mask: Vec<u8>,
}

impl PacketFilter {
    /// A filter; `None` unless the filter and the mask have the same length.
    pub fn new(filter: Vec<u8>, mask: Vec<u8>) -> Option<Self> {
        (filter.len() == mask.len()).then_some(PacketFilter { filter, mask })
    }

    /// The bytes to match.
    pub fn filter(&self) -> &[u8] {
        &self.filter
    }

    /// Which bits of the filter matter.
    pub fn mask(&self) -> &[u8] {
        &self.mask
    }
}

impl Payload for PacketFilter {
    const NAME: &'static str = "PacketFilter";

    fn decode_with(bytes: &[u8], budget: &DecodeBudget) -> Result<Self, PayloadError> {
        let mut reader = StructReader::with_budget(bytes, budget.clone());
        let decode = |reader: &mut StructReader<'_>| {
            let size = reader.count("filter_size")?;
            let filter = reader.bytes_at_offset("packet_filter", size)?;
            let mask = reader.bytes_at_offset("packet_mask", size)?;
            reader.finish()?;
            Ok(PacketFilter { filter, mask })
        };
        decode(&mut reader).map_err(|error: PayloadError| error.within(Self::NAME))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let mut writer = StructWriter::new();
        writer.count(self.filter.len());
        writer.bytes_at_offset(&self.filter);
        writer.bytes_at_offset(&self.mask);
        writer.finish(out);
    }
}

impl Describe for PacketFilter {
    fn describe(&self) -> Value {
        Value::Struct(vec![
            ("packet_filter", Value::Bytes(self.filter.clone())),
            ("packet_mask", Value::Bytes(self.mask.clone())),
        ])
    }
}

/// MBIM_PACKET_FILTERS.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct PacketFilters {
    /// The IP session.
    pub session_id: u32,
    #[mbim(count_of = packet_filters)]
    packet_filters_count: u32,
    /// The filters.
    #[mbim(struct_list)]
    pub packet_filters: Vec<PacketFilter>,
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for PacketFilter {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy as _;
        proptest::collection::vec(proptest::arbitrary::any::<(u8, u8)>(), 0..16)
            .prop_map(|pairs| PacketFilter {
                filter: pairs.iter().map(|(filter, _)| *filter).collect(),
                mask: pairs.iter().map(|(_, mask)| *mask).collect(),
            })
            .boxed()
    }
}
