//! The TOML scenario: what modem to simulate.
//!
//! A scenario describes one USB composite device: its USB identity, the MBIM
//! functional-descriptor values every function announces, its executors (one
//! MBIM function each, with the network it registers on and the IP
//! configuration it hands out) and its UICC slots with their cards. Every
//! table refuses unknown keys, so a typo is an error with its line, not a
//! silently ignored setting.
//!
//! `simulator/scenarios/dssa.toml` is the built-in dual-SIM single-active
//! modem ([`Scenario::default_dssa`]); `two-executors.toml` a dual-active one.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// The built-in DSSA scenario's text, so the daemon's `--simulate` and the
/// file in `scenarios/` can never disagree.
const DSSA_TOML: &str = include_str!("../scenarios/dssa.toml");

/// Why a scenario was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The TOML does not parse or does not fit the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file (or `<string>`).
        path: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The values parse but describe no possible modem.
    #[error("{path}: {message}")]
    Invalid {
        /// The file (or `<string>`).
        path: String,
        /// What is inconsistent.
        message: String,
    },
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for logs.
    #[serde(default = "default_name")]
    pub name: String,
    /// Modem-wide identity and timing.
    #[serde(default)]
    pub modem: ModemConfig,
    /// USB device identity.
    #[serde(default)]
    pub usb: UsbIdentity,
    /// What every MBIM function's descriptors announce.
    #[serde(default)]
    pub function: FunctionSettings,
    /// NTB parameters (GET_NTB_PARAMETERS).
    #[serde(default)]
    pub ntb: NtbSettings,
    /// The executors, by index.
    pub executors: Vec<ExecutorConfig>,
    /// The UICC slots, by index.
    pub slots: Vec<SlotConfig>,
}

fn default_name() -> String {
    "simulated modem".to_owned()
}

/// Modem-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemConfig {
    /// MBIM_MS_SYS_CAPS_INFO.ModemId.
    pub modem_id: u64,
    /// Executors that may be active at once (1 for DSSA).
    pub concurrency: u32,
    /// How long OPEN takes before OPEN_DONE (seed 000: wait, never BUSY).
    pub open_delay_ms: u64,
    /// How long a device-wide SET (DEVICE_SLOT_MAPPINGS, EMERGENCY_MODE)
    /// takes; a second one arriving meanwhile on any function waits.
    pub device_set_delay_ms: u64,
    /// DEVICE_CAPS.DeviceId (IMEI).
    pub device_id: String,
    /// DEVICE_CAPS.FirmwareInfo.
    pub firmware_info: String,
    /// DEVICE_CAPS.HardwareInfo.
    pub hardware_info: String,
    /// DEVICE_CAPS.MaxSessions: IP sessions per executor.
    pub max_sessions: u32,
    /// DEVICE_CAPS.DataClass, by libmbim nickname (`lte`, `umts`, …).
    pub data_classes: Vec<String>,
    /// Whether the modem has the Microsoft Host Shutdown service (listed in
    /// DEVICE_SERVICES, MS_HOST_SHUTDOWN answered).
    pub host_shutdown: bool,
    /// Whether the modem takes DEVICE_RESET (MS Basic Connect Extensions):
    /// it answers, leaves the bus and enumerates again; without it the CID
    /// is not listed and answers NO_DEVICE_SUPPORT.
    pub device_reset: bool,
    /// The highest MBIM extensions version the modem offers (1 to 4): with
    /// 1 it does not know MBIM_CID_VERSION and speaks MBIM 1.0; with 2 to 4
    /// each function answers it and then speaks the agreed version's
    /// layouts (REGISTER_STATE, PACKET_SERVICE, SIGNAL_STATE from 2.0;
    /// SUBSCRIBER_READY_STATUS, CONNECT, DEVICE_CAPS_V2 from 3.0; CONNECT
    /// with the network slice, which must be the default one, and
    /// PROVISIONED_CONTEXTS from 4.0).
    pub mbimex: u8,
    /// The FCC lock the modem ships with: its radio stays off (RADIO_STATE
    /// set on fails) until the host lifts it.
    pub fcc_lock: FccLockKind,
    /// The vendor key the `intel` lock's response is keyed with, eight hex
    /// digits (ModemManager's `3df8c719`).
    pub fcc_key: String,
}

/// How a simulated modem's FCC lock is lifted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FccLockKind {
    /// No lock.
    #[default]
    None,
    /// Quectel's RADIO_STATE set on (vendor service `quectel`).
    Quectel,
    /// Intel's mutual-authentication challenge and response.
    Intel,
}

impl Default for ModemConfig {
    fn default() -> Self {
        ModemConfig {
            modem_id: 0x6d62_696d_6400_0001,
            concurrency: 1,
            open_delay_ms: 0,
            device_set_delay_ms: 0,
            device_id: "350000000000001".to_owned(),
            firmware_info: "mbim-sim 0.1".to_owned(),
            hardware_info: "simulated".to_owned(),
            max_sessions: 4,
            data_classes: vec!["umts".to_owned(), "lte".to_owned()],
            host_shutdown: true,
            device_reset: true,
            mbimex: 1,
            fcc_lock: FccLockKind::None,
            fcc_key: "3df8c719".to_owned(),
        }
    }
}

impl ModemConfig {
    /// `fcc_key`'s bytes, in the order written.
    pub fn fcc_key_bytes(&self) -> Option<[u8; 4]> {
        let key = &self.fcc_key;
        if key.len() != 8 || !key.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(key, 16).ok().map(u32::to_be_bytes)
    }

    /// The highest MBIM extensions version offered (1.0 for a value the
    /// scenario's check refuses).
    pub fn mbimex_version(&self) -> mbim_protocol::mbimex::MbimExVersion {
        mbim_protocol::mbimex::MbimExVersion::from_major(self.mbimex).unwrap_or_default()
    }
}

/// USB device identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsbIdentity {
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// iSerialNumber's string.
    pub serial: String,
    /// iManufacturer's string.
    pub manufacturer: String,
    /// iProduct's string.
    pub product: String,
}

impl Default for UsbIdentity {
    fn default() -> Self {
        UsbIdentity {
            vid: 0x1d6b,
            pid: 0x0104,
            serial: "MBIMSIM0001".to_owned(),
            manufacturer: "mbimd".to_owned(),
            product: "Simulated multi-SIM MBIM modem".to_owned(),
        }
    }
}

/// The MBIM functional descriptor values of every function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FunctionSettings {
    /// wMaxControlMessage.
    pub max_control_message: u16,
    /// wMaxSegmentSize.
    pub max_segment_size: u16,
    /// bcdMBIMExtendedVersion (0 = no extended functional descriptor).
    pub extended_version: u16,
    /// bMaxOutstandingCommandMessages.
    pub max_outstanding_commands: u8,
    /// wMTU of the extended functional descriptor.
    pub mtu: u16,
    /// bmNetworkCapabilities.
    pub network_capabilities: u8,
    /// bNumberFilters.
    pub number_filters: u8,
    /// bMaxFilterSize.
    pub max_filter_size: u8,
}

impl Default for FunctionSettings {
    fn default() -> Self {
        FunctionSettings {
            max_control_message: 4096,
            max_segment_size: 1500,
            extended_version: 0x0100,
            max_outstanding_commands: 64,
            mtu: 1500,
            // Bit 3 (SET_MAX_DATAGRAM_SIZE) and bit 5 (8-byte NTB input size).
            network_capabilities: 0x28,
            number_filters: 16,
            max_filter_size: 128,
        }
    }
}

/// NTB parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NtbSettings {
    /// bmNtbFormatsSupported: 1 = NTB16, 3 = NTB16 and NTB32.
    pub formats_supported: u16,
    /// dwNtbInMaxSize.
    pub in_max_size: u32,
    /// wNdpInDivisor.
    pub in_divisor: u16,
    /// wNdpInPayloadRemainder.
    pub in_payload_remainder: u16,
    /// wNdpInAlignment.
    pub in_alignment: u16,
    /// dwNtbOutMaxSize.
    pub out_max_size: u32,
    /// wNdpOutDivisor.
    pub out_divisor: u16,
    /// wNdpOutPayloadRemainder.
    pub out_payload_remainder: u16,
    /// wNdpOutAlignment.
    pub out_alignment: u16,
    /// wNtbOutMaxDatagrams.
    pub out_max_datagrams: u16,
}

impl Default for NtbSettings {
    fn default() -> Self {
        NtbSettings {
            formats_supported: 3,
            in_max_size: 65535,
            in_divisor: 4,
            in_payload_remainder: 0,
            in_alignment: 4,
            out_max_size: 65535,
            out_divisor: 4,
            out_payload_remainder: 0,
            out_alignment: 4,
            out_max_datagrams: 64,
        }
    }
}

impl NtbSettings {
    /// As the protocol crate's parameter block.
    pub fn parameters(&self) -> mbim_protocol::ntb::NtbParameters {
        mbim_protocol::ntb::NtbParameters {
            formats_supported: self.formats_supported,
            in_max_size: self.in_max_size,
            in_divisor: self.in_divisor,
            in_payload_remainder: self.in_payload_remainder,
            in_alignment: self.in_alignment,
            out_max_size: self.out_max_size,
            out_divisor: self.out_divisor,
            out_payload_remainder: self.out_payload_remainder,
            out_alignment: self.out_alignment,
            out_max_datagrams: self.out_max_datagrams,
        }
    }
}

/// One executor: one MBIM function, in the order the USB configuration
/// lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorConfig {
    /// The ExecutorIndex its function reports in DEVICE_CAPS_V2, and its
    /// place in DEVICE_SLOT_MAPPINGS; its position in `executors` (the
    /// function order) when not given. Given for one executor, it must be
    /// given so that the indexes are 0..n, each once: a device whose
    /// function order differs from its executor order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_index: Option<u32>,
    /// The slot mapped to it at power-on.
    pub slot: u32,
    /// The network it registers on.
    #[serde(default)]
    pub network: NetworkConfig,
    /// The IPv4 configuration handed out on CONNECT (none: IPv6 only).
    #[serde(default = "default_ipv4")]
    pub ipv4: Option<Ipv4Config>,
    /// The IPv6 configuration handed out on CONNECT (none: IPv4 only).
    #[serde(default = "default_ipv6")]
    pub ipv6: Option<Ipv6Config>,
    /// The contexts the modem has provisioned at power-on
    /// (PROVISIONED_CONTEXTS, both forms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provisioned: Vec<ProvisionedConfig>,
}

/// A provisioned context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisionedConfig {
    /// The APN.
    pub apn: String,
    /// libmbim's context type nickname (`internet`, `ims`, `mms`, …).
    pub context_type: String,
    /// `default`, `ipv4`, `ipv6`, `ipv4v6` (the MBIMEx 2.0 form's IP type).
    pub ip_type: String,
    /// `none`, `pap`, `chap` or `mschapv2`.
    pub auth: String,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
    /// Whether the context is enabled (the MBIMEx 2.0 form's state).
    pub enabled: bool,
}

impl Default for ProvisionedConfig {
    fn default() -> Self {
        ProvisionedConfig {
            apn: String::new(),
            context_type: "internet".to_owned(),
            ip_type: "default".to_owned(),
            auth: "none".to_owned(),
            user: String::new(),
            password: String::new(),
            enabled: true,
        }
    }
}

impl ProvisionedConfig {
    /// As the MBIMEx 2.0 element (the richer form; the MBIM 1.0 one is cut
    /// from it), with `context_id`; `None` for a name that is not known.
    pub fn element(
        &self,
        context_id: u32,
    ) -> Option<mbim_protocol::services::ms_basic_connect_extensions::ProvisionedContextElementV2>
    {
        use mbim_protocol::services::basic_connect::{
            AuthProtocol, Compression, ContextIpType, ContextType,
        };
        use mbim_protocol::services::ms_basic_connect_extensions as ms;
        let ip_type = match self.ip_type.as_str() {
            "default" => ContextIpType::Default,
            "ipv4" => ContextIpType::Ipv4,
            "ipv6" => ContextIpType::Ipv6,
            "ipv4v6" => ContextIpType::Ipv4v6,
            _ => return None,
        };
        let auth_protocol = match self.auth.as_str() {
            "none" => AuthProtocol::None,
            "pap" => AuthProtocol::Pap,
            "chap" => AuthProtocol::Chap,
            "mschapv2" => AuthProtocol::MsChapV2,
            _ => return None,
        };
        Some(ms::ProvisionedContextElementV2 {
            context_id,
            context_type: ContextType::from_name(&self.context_type)?.uuid(),
            ip_type,
            state: if self.enabled {
                ms::ContextState::Enabled
            } else {
                ms::ContextState::Disabled
            },
            roaming: ms::ContextRoamingControl::AllowAll,
            media_type: ms::ContextMediaType::CellularOnly,
            source: ms::ContextSource::Operator,
            access_string: self.apn.clone(),
            user_name: self.user.clone(),
            password: self.password.clone(),
            compression: Compression::None,
            auth_protocol,
        })
    }
}

#[allow(clippy::unnecessary_wraps)] // serde's `default =` wants the field's type.
fn default_ipv4() -> Option<Ipv4Config> {
    Some(Ipv4Config::default())
}

#[allow(clippy::unnecessary_wraps)] // serde's `default =` wants the field's type.
fn default_ipv6() -> Option<Ipv6Config> {
    Some(Ipv6Config::default())
}

/// The operator and the registration an executor gets with a usable SIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkConfig {
    /// MCC+MNC.
    pub provider_id: String,
    /// Operator name.
    pub provider_name: String,
    /// `home`, `roaming`, `partner`, `denied`, `searching` or `deregistered`.
    pub register_state: String,
    /// The data class in use (libmbim nickname).
    pub data_class: String,
    /// Whether packet service attaches on its own after registration.
    pub auto_attach: bool,
    /// SIGNAL_STATE rssi (0-31) while registered.
    pub rssi: u32,
    /// RSRP in dBm while registered (-156 to -31), reported from MBIMEx 2.0
    /// on for LTE, and for 5G NR when the data class is 5G.
    pub rsrp_dbm: i32,
    /// SNR in dB while registered (-23 to 40), reported with the RSRP.
    pub snr_db: i32,
    /// Uplink speed reported in PACKET_SERVICE, bit/s.
    pub uplink_speed: u64,
    /// Downlink speed reported in PACKET_SERVICE, bit/s.
    pub downlink_speed: u64,
    /// Further providers VISIBLE_PROVIDERS lists: `[id, name]` pairs.
    pub visible: Vec<(String, String)>,
    /// The APNs the network accepts on CONNECT (compared without case; ""
    /// is the network's default APN). Absent: every APN. Another APN is
    /// refused with FAILURE and the network error missing-or-unknown-apn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apns: Option<Vec<String>>,
    /// The LTE attach APN the network requires: until the modem's home LTE
    /// attach configuration (LTE_ATTACH_CONFIGURATION) names it (compared
    /// without case), the registration is denied with the network error
    /// missing-or-unknown-apn, as an attach rejected for its initial PDN
    /// connection. Absent: any attach APN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attach_apn: Option<String>,
    /// The DNS servers (the sessions' `dns`) come only in the network's
    /// protocol configuration options (3GPP TS 24.008 containers 0x000D
    /// and 0x0003): in CONNECT's PCO element from MBIMEx 3.0 on and in
    /// MBIM_CID_MS_PCO, never in IP_CONFIGURATION, as some networks do.
    pub dns_in_pco: bool,
}

impl NetworkConfig {
    /// Whether the network accepts `apn`.
    pub fn accepts(&self, apn: &str) -> bool {
        self.apns.as_ref().is_none_or(|apns| {
            apns.iter()
                .any(|accepted| accepted.eq_ignore_ascii_case(apn))
        })
    }

    /// Whether the network takes an attach with the home LTE attach
    /// configuration `configured` (its APN, `None` when there is none).
    pub fn takes_attach(&self, configured: Option<&str>) -> bool {
        self.attach_apn
            .as_ref()
            .is_none_or(|required| configured.is_some_and(|apn| apn.eq_ignore_ascii_case(required)))
    }
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            provider_id: "00101".to_owned(),
            provider_name: "Simulated".to_owned(),
            register_state: "home".to_owned(),
            data_class: "lte".to_owned(),
            auto_attach: true,
            rssi: 20,
            rsrp_dbm: -95,
            snr_db: 12,
            uplink_speed: 50_000_000,
            downlink_speed: 150_000_000,
            visible: Vec::new(),
            apns: None,
            attach_apn: None,
            dns_in_pco: false,
        }
    }
}

/// IPv4 configuration of a connected session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ipv4Config {
    /// The host's address.
    pub address: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u32,
    /// The gateway (answers ICMP echo; the traffic sink listens here).
    pub gateway: Ipv4Addr,
    /// DNS servers.
    pub dns: Vec<Ipv4Addr>,
    /// MTU (0: not given).
    pub mtu: u32,
}

impl Default for Ipv4Config {
    fn default() -> Self {
        Ipv4Config {
            address: Ipv4Addr::new(10, 64, 0, 2),
            prefix: 30,
            gateway: Ipv4Addr::new(10, 64, 0, 1),
            dns: vec![Ipv4Addr::new(10, 64, 0, 1)],
            mtu: 1500,
        }
    }
}

impl Ipv4Config {
    /// The configuration of IP session `session`: session 0's as
    /// configured, each further session the same addresses moved `session`
    /// subnets up (10.64.0.2/30 via 10.64.0.1 becomes 10.64.0.6 via
    /// 10.64.0.5 for session 1), so every session has its own address and
    /// gateway. DNS and MTU stay.
    pub fn for_session(&self, session: u32) -> Ipv4Config {
        let (address, gateway) = self.session_addresses(session);
        Ipv4Config {
            address,
            gateway,
            ..self.clone()
        }
    }

    /// The host's address and the gateway of IP session `session`, as
    /// [`Self::for_session`] gives them, without copying the rest (the data
    /// path asks per NTB and per forwarded datagram).
    pub fn session_addresses(&self, session: u32) -> (Ipv4Addr, Ipv4Addr) {
        let shift = 32u32.saturating_sub(self.prefix.min(32));
        let step = u32::checked_shl(1, shift)
            .unwrap_or(0)
            .wrapping_mul(session);
        let moved = |address: Ipv4Addr| Ipv4Addr::from(u32::from(address).wrapping_add(step));
        (moved(self.address), moved(self.gateway))
    }
}

/// IPv6 configuration of a connected session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ipv6Config {
    /// The host's address.
    pub address: Ipv6Addr,
    /// Its prefix length.
    pub prefix: u32,
    /// The gateway.
    pub gateway: Ipv6Addr,
    /// DNS servers.
    pub dns: Vec<Ipv6Addr>,
    /// MTU (0: not given).
    pub mtu: u32,
}

impl Default for Ipv6Config {
    fn default() -> Self {
        Ipv6Config {
            address: Ipv6Addr::new(0xfd00, 0x6d62, 0, 0, 0, 0, 0, 2),
            prefix: 64,
            gateway: Ipv6Addr::new(0xfd00, 0x6d62, 0, 0, 0, 0, 0, 1),
            dns: vec![Ipv6Addr::new(0xfd00, 0x6d62, 0, 0, 0, 0, 0, 1)],
            mtu: 1500,
        }
    }
}

impl Ipv6Config {
    /// As [`Ipv4Config::for_session`]: further sessions move `session`
    /// prefixes up (fd00:6d62::2/64 becomes fd00:6d62:0:1::2 for session 1).
    pub fn for_session(&self, session: u32) -> Ipv6Config {
        let (address, gateway) = self.session_addresses(session);
        Ipv6Config {
            address,
            gateway,
            ..self.clone()
        }
    }

    /// The host's address and the gateway of IP session `session`, as
    /// [`Ipv4Config::session_addresses`].
    pub fn session_addresses(&self, session: u32) -> (Ipv6Addr, Ipv6Addr) {
        let shift = 128u32.saturating_sub(self.prefix.min(128));
        let step = u128::checked_shl(1, shift)
            .unwrap_or(0)
            .wrapping_mul(u128::from(session));
        let moved = |address: Ipv6Addr| Ipv6Addr::from(u128::from(address).wrapping_add(step));
        (moved(self.address), moved(self.gateway))
    }
}

/// A UICC slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// `physical` or `embedded` (informational; the card decides the state).
    #[serde(default = "default_slot_kind")]
    pub kind: String,
    /// Whether the slot reports OffEmpty rather than Empty when it holds no
    /// card (seed 004's second transition row: OffEmpty ↔ ActiveEsim…).
    #[serde(default)]
    pub off_when_empty: bool,
    /// The card in it at power-on.
    #[serde(default)]
    pub card: Option<CardConfig>,
}

fn default_slot_kind() -> String {
    "physical".to_owned()
}

/// A UICC card (also the `card` of the `insert-sim` control command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardConfig {
    /// ICCID.
    pub iccid: String,
    /// IMSI.
    pub imsi: String,
    /// Telephone numbers.
    pub telephone_numbers: Vec<String>,
    /// Whether it is an eUICC (eSIM).
    pub esim: bool,
    /// For an eSIM: whether a profile is active.
    pub active_profile: bool,
    /// PIN1.
    pub pin: String,
    /// PUK1.
    pub puk: String,
    /// Whether PIN1 is enabled (then the card starts locked).
    pub pin_enabled: bool,
    /// PIN1 attempts left.
    pub pin_attempts: u32,
    /// PUK1 attempts left.
    pub puk_attempts: u32,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            iccid: "8988200000000000001".to_owned(),
            imsi: "001010000000001".to_owned(),
            telephone_numbers: Vec::new(),
            esim: false,
            active_profile: true,
            pin: "1234".to_owned(),
            puk: "12345678".to_owned(),
            pin_enabled: false,
            pin_attempts: 3,
            puk_attempts: 10,
        }
    }
}

/// Register states a scenario may name.
pub const REGISTER_STATES: &[&str] = &[
    "home",
    "roaming",
    "partner",
    "denied",
    "searching",
    "deregistered",
];

impl Scenario {
    /// The built-in dual-SIM single-active modem (`scenarios/dssa.toml`).
    pub fn default_dssa() -> Scenario {
        match Scenario::from_toml_str(DSSA_TOML, "scenarios/dssa.toml") {
            Ok(scenario) => scenario,
            // The file is compiled in and checked by a unit test; this arm
            // only keeps the function total.
            Err(_) => Scenario::fallback_dssa(),
        }
    }

    fn fallback_dssa() -> Scenario {
        Scenario {
            name: "dssa".to_owned(),
            modem: ModemConfig::default(),
            usb: UsbIdentity::default(),
            function: FunctionSettings::default(),
            ntb: NtbSettings::default(),
            executors: vec![ExecutorConfig {
                executor_index: None,
                slot: 0,
                network: NetworkConfig::default(),
                ipv4: default_ipv4(),
                ipv6: default_ipv6(),
                provisioned: Vec::new(),
            }],
            slots: vec![
                SlotConfig {
                    kind: "physical".to_owned(),
                    off_when_empty: false,
                    card: Some(CardConfig::default()),
                },
                SlotConfig {
                    kind: "embedded".to_owned(),
                    off_when_empty: true,
                    card: Some(CardConfig {
                        esim: true,
                        iccid: "8988200000000000002".to_owned(),
                        imsi: "001010000000002".to_owned(),
                        ..CardConfig::default()
                    }),
                },
            ],
        }
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Io {
            path: shown.clone(),
            message: error.to_string(),
        })?;
        Scenario::from_toml_str(&text, &shown)
    }

    /// Parses and checks a scenario; `path` only names it in errors.
    pub fn from_toml_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ScenarioError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: error.message().trim().to_owned(),
            }
        })?;
        scenario
            .validate()
            .map_err(|message| ScenarioError::Invalid {
                path: path.to_owned(),
                message,
            })?;
        Ok(scenario)
    }

    /// The ExecutorIndex of function `function` (see
    /// [`ExecutorConfig::executor_index`]).
    pub fn executor_index(&self, function: usize) -> u32 {
        let position = u32::try_from(function).unwrap_or(u32::MAX);
        self.executors
            .get(function)
            .and_then(|executor| executor.executor_index)
            .unwrap_or(position)
    }

    /// Checks what the schema cannot: counts, mapping, values.
    pub fn validate(&self) -> Result<(), String> {
        if self.modem.fcc_key_bytes().is_none() {
            return Err(format!(
                "modem.fcc_key must be eight hex digits, not {:?}",
                self.modem.fcc_key
            ));
        }
        if self.executors.is_empty() {
            return Err("a modem needs at least one executor".to_owned());
        }
        if self.executors.len() > 8 {
            return Err("at most 8 executors are simulated".to_owned());
        }
        if self.slots.len() < self.executors.len() {
            return Err(format!(
                "{} slots for {} executors: seed 004 requires slots >= executors",
                self.slots.len(),
                self.executors.len()
            ));
        }
        if self.slots.len() > 16 {
            return Err("at most 16 slots are simulated".to_owned());
        }
        let executors = u32::try_from(self.executors.len()).unwrap_or(u32::MAX);
        if self.modem.concurrency == 0 || self.modem.concurrency > executors {
            return Err(format!(
                "modem.concurrency {} must be 1..={executors}",
                self.modem.concurrency
            ));
        }
        let mut indexes: Vec<u32> = (0..self.executors.len())
            .map(|function| self.executor_index(function))
            .collect();
        indexes.sort_unstable();
        if indexes
            .iter()
            .zip(0..)
            .any(|(&index, expected)| index != expected)
        {
            return Err(format!(
                "executors[].executor_index must be 0..{} once each, not {indexes:?}",
                self.executors.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for (index, executor) in self.executors.iter().enumerate() {
            if usize::try_from(executor.slot).map_or(true, |slot| slot >= self.slots.len()) {
                return Err(format!(
                    "executors[{index}].slot {} is not a slot",
                    executor.slot
                ));
            }
            if !seen.insert(executor.slot) {
                return Err(format!(
                    "executors[{index}].slot {} is mapped twice",
                    executor.slot
                ));
            }
            if !REGISTER_STATES.contains(&executor.network.register_state.as_str()) {
                return Err(format!(
                    "executors[{index}].network.register_state {:?} is not one of {}",
                    executor.network.register_state,
                    REGISTER_STATES.join(", ")
                ));
            }
            for (context, provisioned) in executor.provisioned.iter().enumerate() {
                if provisioned.element(0).is_none() {
                    return Err(format!(
                        "executors[{index}].provisioned[{context}]: context_type, ip_type or \
                         auth is not a known name"
                    ));
                }
            }
            if executor.provisioned.len() > crate::model::MAX_PROVISIONED_CONTEXTS {
                return Err(format!(
                    "executors[{index}].provisioned: at most {} contexts",
                    crate::model::MAX_PROVISIONED_CONTEXTS
                ));
            }
            let network = &executor.network;
            if !(-156..=-31).contains(&network.rsrp_dbm) || !(-23..=40).contains(&network.snr_db) {
                return Err(format!(
                    "executors[{index}].network: rsrp_dbm is -156 to -31 and snr_db -23 to 40, \
                     not {} and {}",
                    network.rsrp_dbm, network.snr_db
                ));
            }
            if data_class_from_name(&executor.network.data_class).is_none() {
                return Err(format!(
                    "executors[{index}].network.data_class {:?} is not a data class",
                    executor.network.data_class
                ));
            }
        }
        if !(1..=4).contains(&self.modem.mbimex) {
            return Err(format!(
                "modem.mbimex {} is not an MBIM extensions version the simulator speaks (1 to 4)",
                self.modem.mbimex
            ));
        }
        for name in &self.modem.data_classes {
            if data_class_from_name(name).is_none() {
                return Err(format!("modem.data_classes: {name:?} is not a data class"));
            }
        }
        if usize::from(self.function.max_control_message)
            < mbim_protocol::fragment::MIN_CONTROL_TRANSFER
        {
            return Err(format!(
                "function.max_control_message {} is below MBIM's minimum 64",
                self.function.max_control_message
            ));
        }
        self.ntb
            .parameters()
            .validate()
            .map_err(|error| format!("ntb: {error}"))?;
        for (index, slot) in self.slots.iter().enumerate() {
            if !matches!(slot.kind.as_str(), "physical" | "embedded") {
                return Err(format!(
                    "slots[{index}].kind {:?} is not physical or embedded",
                    slot.kind
                ));
            }
            if let Some(card) = &slot.card {
                card.validate()
                    .map_err(|message| format!("slots[{index}].card: {message}"))?;
            }
        }
        Ok(())
    }
}

impl CardConfig {
    /// Checks the PIN and PUK are plausible.
    pub fn validate(&self) -> Result<(), String> {
        if !crate::model::pin::valid_pin(&self.pin) {
            return Err(format!(
                "pin must be 4-8 digits, not {} characters",
                self.pin.len()
            ));
        }
        if self.puk.len() != 8 || !self.puk.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err("puk must be 8 digits".to_owned());
        }
        Ok(())
    }
}

/// A data class by libmbim nickname.
pub fn data_class_from_name(
    name: &str,
) -> Option<mbim_protocol::services::basic_connect::DataClass> {
    mbim_protocol::services::basic_connect::DataClass::from_name(name)
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        .saturating_add(1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn further_sessions_get_the_next_subnets() {
        let v4 = Ipv4Config::default();
        assert_eq!(v4.for_session(0), v4);
        let one = v4.for_session(1);
        assert_eq!(
            (one.address, one.gateway, one.prefix),
            (Ipv4Addr::new(10, 64, 0, 6), Ipv4Addr::new(10, 64, 0, 5), 30)
        );
        assert_eq!(v4.for_session(2).gateway, Ipv4Addr::new(10, 64, 0, 9));
        let v6 = Ipv6Config::default();
        assert_eq!(v6.for_session(0), v6);
        assert_eq!(
            v6.for_session(1).address,
            Ipv6Addr::new(0xfd00, 0x6d62, 0, 1, 0, 0, 0, 2)
        );
    }

    #[test]
    fn builtin_dssa_parses() {
        let scenario = Scenario::from_toml_str(DSSA_TOML, "dssa.toml").unwrap();
        assert_eq!(scenario.executors.len(), 1);
        assert_eq!(scenario.slots.len(), 2);
        assert_eq!(Scenario::default_dssa(), scenario);
    }

    #[test]
    fn unknown_field_names_its_line() {
        let text = "[[executors]]\nslot = 0\n\n[[slots]]\nkidn = \"physical\"\n";
        let error = Scenario::from_toml_str(text, "x.toml").unwrap_err();
        match error {
            ScenarioError::Parse { line, .. } => assert_eq!(line, 5, "{error}"),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn inconsistent_mapping_is_refused() {
        let text = "[[executors]]\nslot = 3\n\n[[slots]]\n";
        let error = Scenario::from_toml_str(text, "x.toml").unwrap_err();
        assert!(error.to_string().contains("slot 3"), "{error}");
    }
}
