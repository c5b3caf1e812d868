//! Further PDN sessions of a profile (`[[profiles.sessions]]`): an IMS, MMS
//! or second internet context beside the profile's own, which is session 0.

use super::profile::{Auth, FieldProblem, IpType, Profile, Secret};
use mbim_protocol::services::basic_connect::ContextType;
use serde::Deserialize;

/// The most further sessions a profile may name: session ids 1 to 8. The
/// netdev names them `<name>s<id>`, and MBIM devices offer a handful of
/// sessions at most (DEVICE_CAPS MaxSessions).
pub const MAX_EXTRA_SESSIONS: usize = 8;

/// The context type a session asks for (CONNECT's ContextType).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionKind {
    /// Internet access.
    #[default]
    Internet,
    /// IMS (voice and SMS over IP).
    Ims,
    /// MMS.
    Mms,
    /// A VPN context.
    Vpn,
    /// A local context (no network).
    Local,
}

impl SessionKind {
    /// The context type CONNECT names.
    pub fn context_type(self) -> ContextType {
        match self {
            SessionKind::Internet => ContextType::Internet,
            SessionKind::Ims => ContextType::Ims,
            SessionKind::Mms => ContextType::Mms,
            SessionKind::Vpn => ContextType::Vpn,
            SessionKind::Local => ContextType::Local,
        }
    }

    /// As the configuration spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Internet => "internet",
            SessionKind::Ims => "ims",
            SessionKind::Mms => "mms",
            SessionKind::Vpn => "vpn",
            SessionKind::Local => "local",
        }
    }
}

/// One further session of a profile, as `[[profiles.sessions]]` declares
/// it. Its session id is its position among the profile's sessions plus
/// one (session 0 is the profile itself).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SessionProfile {
    /// Its name (reported in the status and on D-Bus).
    pub name: String,
    /// The access point name (empty: the network's default).
    pub apn: String,
    /// The context type.
    #[serde(default)]
    pub context_type: SessionKind,
    /// Authentication protocol.
    #[serde(default)]
    pub auth: Auth,
    /// User name, if the APN needs one.
    #[serde(default)]
    pub user: String,
    /// Password, if the APN needs one.
    #[serde(default)]
    pub password: Secret,
    /// IP type.
    #[serde(default)]
    pub ip_type: IpType,
    /// Metric of the session's routes (`None`: `[routes] metric`).
    #[serde(default)]
    pub route_metric: Option<u32>,
    /// Whether the session's device gets default routes (an IMS or MMS
    /// context usually must not take the host's traffic).
    #[serde(default)]
    pub default_route: bool,
    /// Whether the session's DNS servers are handed to the DNS backend.
    #[serde(default)]
    pub dns: bool,
}

impl SessionProfile {
    /// A session for `apn` of kind `kind`, without default route or DNS.
    pub fn new(name: impl Into<String>, apn: impl Into<String>, kind: SessionKind) -> Self {
        SessionProfile {
            name: name.into(),
            apn: apn.into(),
            context_type: kind,
            auth: Auth::None,
            user: String::new(),
            password: Secret::default(),
            ip_type: IpType::Ipv4v6,
            route_metric: None,
            default_route: false,
            dns: false,
        }
    }

    /// The same rules as a profile's (lengths, control characters, route
    /// metric), by the same code.
    pub fn problems(&self) -> Vec<FieldProblem> {
        self.as_profile().problems()
    }

    /// The connection settings as a [`Profile`] (no match criteria), for
    /// what both kinds share: CONNECT's fields and the rules.
    pub fn as_profile(&self) -> Profile {
        Profile {
            auth: self.auth,
            user: self.user.clone(),
            password: self.password.clone(),
            ip_type: self.ip_type,
            route_metric: self.route_metric,
            ..Profile::new(self.name.clone(), self.apn.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_their_context_types() {
        let table = [
            (SessionKind::Internet, ContextType::Internet, "internet"),
            (SessionKind::Ims, ContextType::Ims, "ims"),
            (SessionKind::Mms, ContextType::Mms, "mms"),
            (SessionKind::Vpn, ContextType::Vpn, "vpn"),
            (SessionKind::Local, ContextType::Local, "local"),
        ];
        for (kind, context, text) in table {
            assert_eq!(kind.context_type(), context);
            assert_eq!(kind.as_str(), text);
        }
    }

    #[test]
    fn a_session_keeps_the_profile_rules() {
        let session = SessionProfile {
            route_metric: Some(0),
            ..SessionProfile::new("ims", "ims\u{7}", SessionKind::Ims)
        };
        let fields: Vec<_> = session.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["apn", "route-metric"]);
    }
}
