//! One executor (an MBIM function): the network it registers on and the
//! contexts the modem has provisioned for it.

use super::{Ipv4Config, Ipv6Config};
use serde::{Deserialize, Serialize};

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
pub(super) fn default_ipv4() -> Option<Ipv4Config> {
    Some(Ipv4Config::default())
}

#[allow(clippy::unnecessary_wraps)] // serde's `default =` wants the field's type.
pub(super) fn default_ipv6() -> Option<Ipv6Config> {
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
