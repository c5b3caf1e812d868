//! The network: providers (HOME_PROVIDER, PREFERRED_PROVIDERS,
//! VISIBLE_PROVIDERS), registration (REGISTER_STATE), the packet service
//! (PACKET_SERVICE), signal reports (SIGNAL_STATE) and emergency mode.

use super::{CellularClass, DataClass};
use crate::{mbim_enum, mbim_flags, mbim_struct};

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
