//! Stand-in for the executor's `Profile` until `crate::executor` exports it;
//! the same keys, so the example file and the tests do not change when the
//! real one replaces it.

use serde::Deserialize;

/// A password: never printed, not even by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The authentication protocol of a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// No authentication.
    #[default]
    None,
    /// PAP.
    Pap,
    /// CHAP.
    Chap,
    /// MS-CHAPv2.
    #[serde(rename = "mschapv2")]
    MsChapV2,
}

/// The IP type a profile asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpType {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
    /// Dual stack.
    #[default]
    Ipv4v6,
}

/// One connection profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// The access point name.
    pub apn: String,
    /// Authentication protocol.
    #[serde(default)]
    pub auth: Auth,
    /// User name.
    #[serde(default)]
    pub user: String,
    /// Password.
    #[serde(default)]
    pub password: Secret,
    /// IP type.
    #[serde(default)]
    pub ip_type: IpType,
    /// Route metric.
    #[serde(default)]
    pub route_metric: Option<u32>,
    /// ICCID criterion.
    #[serde(default)]
    pub match_iccid: Option<String>,
    /// IMSI prefix criterion.
    #[serde(default)]
    pub match_imsi_prefix: Option<String>,
    /// MCC+MNC criterion.
    #[serde(default)]
    pub match_provider: Option<String>,
}
