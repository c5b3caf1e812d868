//! The modem's provisioned contexts as APNs to try: PROVISIONED_CONTEXTS
//! of MBIM 1.0, or the MBIMEx 2.0 (and 4.0) form of the Basic Connect
//! Extensions, which adds each context's IP type, state and roaming rule.
//! Only internet contexts (or contexts of no type) that are enabled and
//! apply on the network the SIM is registered on are kept, in the modem's
//! order.

use super::{ApnCandidate, ApnSource};
use crate::executor::{Auth, IpType, Secret};
use mbim_protocol::services::basic_connect::{
    self as bc, AuthProtocol, ContextIpType, ContextType,
};
use mbim_protocol::services::ms_basic_connect_extensions::{
    self as ms, ContextMediaType, ContextRoamingControl, ContextState,
};
use mbim_protocol::Uuid;

/// Where the executor is registered, for the roaming rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// On the home network.
    Home,
    /// On a partner's network.
    Partner,
    /// Roaming on another network.
    Roaming,
}

fn is_internet(context_type: Uuid) -> bool {
    context_type == ContextType::Internet.uuid()
        || context_type == ContextType::None.uuid()
        || context_type == Uuid::NIL
}

fn auth(protocol: AuthProtocol) -> Auth {
    match protocol {
        AuthProtocol::Pap => Auth::Pap,
        AuthProtocol::Chap => Auth::Chap,
        AuthProtocol::MsChapV2 => Auth::MsChapV2,
        _ => Auth::None,
    }
}

fn ip_type(ip_type: ContextIpType) -> IpType {
    match ip_type {
        ContextIpType::Ipv4 => IpType::Ipv4,
        ContextIpType::Ipv6 => IpType::Ipv6,
        // Default, dual stack, IPv4AndIPv6 or unknown: ask for both.
        _ => IpType::Ipv4v6,
    }
}

fn applies(rule: ContextRoamingControl, network: Network) -> bool {
    use ContextRoamingControl as R;
    matches!(
        (rule, network),
        (R::AllowAll | R::Unknown(_), _)
            | (
                R::HomeOnly | R::HomeAndPartner | R::HomeAndNonPartner,
                Network::Home
            )
            | (
                R::PartnerOnly | R::HomeAndPartner | R::PartnerAndNonPartner,
                Network::Partner
            )
            | (
                R::NonPartnerOnly | R::HomeAndNonPartner | R::PartnerAndNonPartner,
                Network::Roaming
            )
    )
}

fn candidate(
    apn: &str,
    ip: IpType,
    protocol: AuthProtocol,
    user: &str,
    password: &str,
) -> Option<ApnCandidate> {
    let candidate = ApnCandidate {
        source: ApnSource::Provisioned,
        apn: apn.to_owned(),
        ip_type: ip,
        auth: auth(protocol),
        user: user.to_owned(),
        password: Secret::new(password),
        attach_apn: None,
    };
    // What MBIM cannot carry back is not tried.
    candidate
        .profile()
        .problems()
        .is_empty()
        .then_some(candidate)
}

/// The usable contexts of MBIM 1.0's PROVISIONED_CONTEXTS.
pub fn from_basic_connect(contexts: &[bc::ProvisionedContextElement]) -> Vec<ApnCandidate> {
    contexts
        .iter()
        .filter(|context| is_internet(context.context_type))
        .filter_map(|context| {
            candidate(
                &context.access_string,
                IpType::Ipv4v6,
                context.auth_protocol,
                &context.user_name,
                context.password.as_str(),
            )
        })
        .collect()
}

/// The usable contexts of the MBIMEx 2.0 PROVISIONED_CONTEXTS on `network`.
pub fn from_extensions(
    contexts: &[ms::ProvisionedContextElementV2],
    network: Network,
) -> Vec<ApnCandidate> {
    contexts
        .iter()
        .filter(|context| {
            is_internet(context.context_type)
                && context.state != ContextState::Disabled
                && context.media_type != ContextMediaType::WifiOnly
                && applies(context.roaming, network)
        })
        .filter_map(|context| {
            candidate(
                &context.access_string,
                ip_type(context.ip_type),
                context.auth_protocol,
                &context.user_name,
                context.password.as_str(),
            )
        })
        .collect()
}

/// The usable contexts of the MBIMEx 4.0 form (the slice is not used).
pub fn from_extensions_v4(
    contexts: &[ms::ProvisionedContextElementV4],
    network: Network,
) -> Vec<ApnCandidate> {
    let v2: Vec<ms::ProvisionedContextElementV2> = contexts
        .iter()
        .cloned()
        .map(ms::ProvisionedContextElementV2::from)
        .collect();
    from_extensions(&v2, network)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbim_protocol::services::basic_connect::Compression;
    use ms::ContextSource;

    fn v2(
        apn: &str,
        context_type: ContextType,
        state: ContextState,
        roaming: ContextRoamingControl,
        ip: ContextIpType,
    ) -> ms::ProvisionedContextElementV2 {
        ms::ProvisionedContextElementV2 {
            context_id: 1,
            context_type: context_type.uuid(),
            ip_type: ip,
            state,
            roaming,
            media_type: ContextMediaType::CellularOnly,
            source: ContextSource::Operator,
            access_string: apn.to_owned(),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        }
    }

    #[test]
    fn enabled_internet_contexts_for_the_network_are_kept_in_order() {
        use ContextRoamingControl as R;
        use ContextState::{Disabled, Enabled};
        let contexts = [
            v2(
                "home",
                ContextType::Internet,
                Enabled,
                R::HomeOnly,
                ContextIpType::Ipv4,
            ),
            v2(
                "ims",
                ContextType::Ims,
                Enabled,
                R::AllowAll,
                ContextIpType::Ipv6,
            ),
            v2(
                "off",
                ContextType::Internet,
                Disabled,
                R::AllowAll,
                ContextIpType::Default,
            ),
            v2(
                "away",
                ContextType::Internet,
                Enabled,
                R::NonPartnerOnly,
                ContextIpType::Ipv4v6,
            ),
            v2(
                "partner",
                ContextType::Internet,
                Enabled,
                R::PartnerOnly,
                ContextIpType::Ipv6,
            ),
            v2(
                "all",
                ContextType::None,
                Enabled,
                R::AllowAll,
                ContextIpType::Default,
            ),
        ];
        // network -> (APN, IP type) kept
        let table = [
            (
                Network::Home,
                vec![("home", IpType::Ipv4), ("all", IpType::Ipv4v6)],
            ),
            (
                Network::Roaming,
                vec![("away", IpType::Ipv4v6), ("all", IpType::Ipv4v6)],
            ),
            (
                Network::Partner,
                vec![("partner", IpType::Ipv6), ("all", IpType::Ipv4v6)],
            ),
        ];
        for (network, expected) in table {
            let kept: Vec<_> = from_extensions(&contexts, network)
                .into_iter()
                .map(|candidate| (candidate.apn, candidate.ip_type))
                .collect();
            let expected: Vec<_> = expected
                .into_iter()
                .map(|(apn, ip)| (apn.to_owned(), ip))
                .collect();
            assert_eq!(kept, expected, "{network:?}");
        }
    }

    #[test]
    fn mbim_1_0_contexts_keep_their_credentials() {
        let contexts = [
            bc::ProvisionedContextElement {
                context_id: 1,
                context_type: ContextType::Internet.uuid(),
                access_string: "web".to_owned(),
                user_name: "u".to_owned(),
                password: "p".to_owned(),
                compression: Compression::None,
                auth_protocol: AuthProtocol::Chap,
            },
            bc::ProvisionedContextElement {
                context_id: 2,
                context_type: ContextType::Mms.uuid(),
                access_string: "mms".to_owned(),
                user_name: String::new(),
                password: String::new(),
                compression: Compression::None,
                auth_protocol: AuthProtocol::None,
            },
        ];
        let kept = from_basic_connect(&contexts);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].apn, "web");
        assert_eq!(kept[0].auth, Auth::Chap);
        assert_eq!(kept[0].password.expose(), "p");
        assert_eq!(kept[0].source, ApnSource::Provisioned);
    }
}
