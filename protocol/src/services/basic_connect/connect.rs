//! Data sessions: the contexts (CONNECT, PROVISIONED_CONTEXTS,
//! SERVICE_ACTIVATION) and the IP configuration a session gets
//! (IP_CONFIGURATION).

use super::NwError;
use crate::uuid::Uuid;
use crate::{mbim_enum, mbim_flags, mbim_struct};
use std::net::{Ipv4Addr, Ipv6Addr};

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
