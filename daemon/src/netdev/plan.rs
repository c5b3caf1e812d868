//! What a device should look like for a given [`IpSettings`]: computed
//! without touching the kernel, so the rules are unit-tested and `apply`
//! only has to reconcile.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::IpSettings;

/// When the device learns its IPv6 prefix by router advertisement (SLAAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Slaac {
    /// When IP_CONFIGURATION gives no IPv6 address but shows IPv6 is there
    /// (an IPv6 gateway or DNS server): many networks announce the prefix
    /// only by RA.
    #[default]
    Auto,
    /// Whenever IP_CONFIGURATION gives no IPv6 address: for sessions the
    /// executor knows to be IPv6-capable even with an empty IPv6 part.
    WithoutAddress,
    /// Never: IPv6 only as IP_CONFIGURATION gives it.
    Never,
}

/// One address to hold on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AddressSpec {
    pub(crate) address: IpAddr,
    pub(crate) prefix: u8,
}

/// One route the netdev owns on the device (protocol `static`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RouteSpec {
    /// The destination network (the unspecified address for a default route).
    pub(crate) destination: IpAddr,
    pub(crate) prefix: u8,
    pub(crate) gateway: Option<IpAddr>,
    pub(crate) metric: u32,
}

/// IPv6 settings of the device that are sysctls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv6Sysctls {
    /// `accept_ra`: 2 (even if forwarding) for SLAAC, 0 otherwise.
    pub(crate) accept_ra: u8,
    /// `accept_ra_defrtr`: whether the RA's router becomes a default route.
    pub(crate) accept_ra_defrtr: bool,
    /// `ra_defrtr_metric`: that route's metric.
    pub(crate) ra_defrtr_metric: u32,
}

/// The whole desired state of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) addresses: Vec<AddressSpec>,
    pub(crate) routes: Vec<RouteSpec>,
    pub(crate) ipv6: Ipv6Sysctls,
    pub(crate) dns: Vec<IpAddr>,
}

/// The identifier used when the one given is all zeros: locally
/// administered (the universal/local bit set), so it claims no vendor's.
const FALLBACK_IID: [u8; 8] = [0x02, 0, 0, 0, 0, 0, 0, 0x01];

/// The metric of an RA default route when no default route is wanted: the
/// sysctl needs a value, and `accept_ra_defrtr = 0` keeps the route out.
const UNUSED_RA_METRIC: u32 = 1024;

impl Plan {
    /// The plan for `settings`. `default_route_metric` is `None` when the
    /// device must carry no default route; `interface_id` is the IPv6
    /// interface identifier to use when no IPv6 address gives one.
    pub(crate) fn new(
        settings: &IpSettings,
        default_route_metric: Option<u32>,
        interface_id: [u8; 8],
        slaac: Slaac,
    ) -> Plan {
        let mut addresses = Vec::new();
        let mut routes = Vec::new();

        for a in &settings.ipv4_addresses {
            push_unique(
                &mut addresses,
                AddressSpec {
                    address: IpAddr::V4(a.address),
                    prefix: a.prefix.min(32),
                },
            );
        }
        let has_ipv4 = !settings.ipv4_addresses.is_empty();
        if let (true, Some(metric)) = (has_ipv4, default_route_metric) {
            routes.push(RouteSpec {
                destination: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                prefix: 0,
                gateway: settings
                    .ipv4_gateway
                    .filter(|g| !g.is_unspecified())
                    .map(IpAddr::V4),
                metric,
            });
        }

        let global_v6: Vec<_> = settings
            .ipv6_addresses
            .iter()
            .filter(|a| !is_link_local(a.address))
            .collect();
        let ipv6_signalled = settings.ipv6_gateway.is_some() || !settings.ipv6_dns.is_empty();
        let slaac_wanted = global_v6.is_empty()
            && match slaac {
                Slaac::Auto => ipv6_signalled,
                Slaac::WithoutAddress => true,
                Slaac::Never => false,
            };
        let ipv6_in_use = !global_v6.is_empty() || slaac_wanted;

        if ipv6_in_use {
            // IPv6 needs a link-local address (neighbour discovery, router
            // solicitations), and with addr_gen_mode none the kernel makes
            // none. Its identifier is the network's when it gave one, so the
            // address SLAAC derives from the link-local (the kernel inherits
            // its IID on an ARPHRD_NONE device) is the one the network expects.
            let network_link_local = settings
                .ipv6_addresses
                .iter()
                .find(|a| is_link_local(a.address));
            let iid = global_v6
                .first()
                .map(|a| iid_of(a.address))
                .filter(|iid| *iid != [0; 8])
                // A 3GPP network gives the identifier of the device's
                // link-local address this way (TS 23.060 §9.2.1.1).
                .or_else(|| {
                    network_link_local
                        .map(|a| iid_of(a.address))
                        .filter(|iid| *iid != [0; 8])
                })
                .unwrap_or(if interface_id == [0; 8] {
                    // fe80:: is the subnet-router anycast address, not a
                    // host's: never use an all-zero identifier.
                    FALLBACK_IID
                } else {
                    interface_id
                });
            push_unique(
                &mut addresses,
                AddressSpec {
                    address: IpAddr::V6(link_local(iid)),
                    prefix: 64,
                },
            );
        }
        for a in &settings.ipv6_addresses {
            push_unique(
                &mut addresses,
                AddressSpec {
                    address: IpAddr::V6(a.address),
                    prefix: a.prefix.min(128),
                },
            );
        }
        if let (false, Some(metric)) = (global_v6.is_empty(), default_route_metric) {
            routes.push(RouteSpec {
                destination: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                prefix: 0,
                gateway: settings
                    .ipv6_gateway
                    .filter(|g| !g.is_unspecified())
                    .map(IpAddr::V6),
                // The kernel stores an IPv6 metric of 0 as 1024; planning
                // what it will report keeps the reconciliation idempotent.
                metric: if metric == 0 { 1024 } else { metric },
            });
        }

        let ipv6 = Ipv6Sysctls {
            accept_ra: if slaac_wanted { 2 } else { 0 },
            accept_ra_defrtr: slaac_wanted && default_route_metric.is_some(),
            ra_defrtr_metric: default_route_metric.unwrap_or(UNUSED_RA_METRIC),
        };

        let mut dns = Vec::new();
        for server in settings
            .ipv4_dns
            .iter()
            .copied()
            .map(IpAddr::V4)
            .chain(settings.ipv6_dns.iter().copied().map(IpAddr::V6))
        {
            if !server.is_unspecified() && !dns.contains(&server) {
                dns.push(server);
            }
        }

        Plan {
            addresses,
            routes,
            ipv6,
            dns,
        }
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// Whether `address` is in fe80::/10.
pub(crate) fn is_link_local(address: Ipv6Addr) -> bool {
    address
        .segments()
        .first()
        .is_some_and(|s| s & 0xffc0 == 0xfe80)
}

/// The interface identifier (low 64 bits) of an IPv6 address.
pub(crate) fn iid_of(address: Ipv6Addr) -> [u8; 8] {
    let [_, _, _, _, _, _, _, _, a, b, c, d, e, f, g, h] = address.octets();
    [a, b, c, d, e, f, g, h]
}

/// fe80::`iid`.
pub(crate) fn link_local(iid: [u8; 8]) -> Ipv6Addr {
    let low = u64::from_be_bytes(iid);
    Ipv6Addr::from((0xfe80_u128 << 112) | u128::from(low))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Ipv4Prefix, Ipv6Prefix};

    const IID: [u8; 8] = [0x02, 0, 0, 0, 0, 0, 0, 0x42];

    fn v4_settings() -> IpSettings {
        IpSettings {
            ipv4_addresses: vec![Ipv4Prefix {
                address: "10.64.0.2".parse().unwrap(),
                prefix: 30,
            }],
            ipv4_gateway: Some("10.64.0.1".parse().unwrap()),
            ipv4_dns: vec!["10.64.0.10".parse().unwrap(), "10.64.0.10".parse().unwrap()],
            ..IpSettings::default()
        }
    }

    #[test]
    fn ipv4_only_has_no_ipv6_at_all() {
        let plan = Plan::new(&v4_settings(), Some(700), IID, Slaac::Auto);
        assert_eq!(
            plan.addresses,
            vec![AddressSpec {
                address: "10.64.0.2".parse().unwrap(),
                prefix: 30
            }]
        );
        assert_eq!(
            plan.routes,
            vec![RouteSpec {
                destination: "0.0.0.0".parse().unwrap(),
                prefix: 0,
                gateway: Some("10.64.0.1".parse().unwrap()),
                metric: 700
            }]
        );
        assert_eq!(plan.ipv6.accept_ra, 0);
        assert_eq!(plan.dns, vec!["10.64.0.10".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn no_default_route_when_not_wanted() {
        let plan = Plan::new(&v4_settings(), None, IID, Slaac::Auto);
        assert!(plan.routes.is_empty());
        assert!(!plan.ipv6.accept_ra_defrtr);
    }

    #[test]
    fn ipv6_address_gives_the_link_local_identifier() {
        let settings = IpSettings {
            ipv6_addresses: vec![Ipv6Prefix {
                address: "2001:db8:1::1234:5678".parse().unwrap(),
                prefix: 64,
            }],
            ..IpSettings::default()
        };
        let plan = Plan::new(&settings, Some(700), IID, Slaac::Auto);
        assert!(plan.addresses.contains(&AddressSpec {
            address: "fe80::1234:5678".parse().unwrap(),
            prefix: 64
        }));
        assert_eq!(plan.ipv6.accept_ra, 0);
        // No gateway given: a default route through the device itself.
        assert_eq!(plan.routes.len(), 1);
        assert_eq!(plan.routes[0].gateway, None);
    }

    #[test]
    fn router_advertisement_case_uses_the_given_identifier() {
        let settings = IpSettings {
            ipv6_dns: vec!["2001:db8::53".parse().unwrap()],
            ..IpSettings::default()
        };
        let plan = Plan::new(&settings, Some(700), IID, Slaac::Auto);
        assert_eq!(
            plan.addresses,
            vec![AddressSpec {
                address: "fe80::200:0:0:42".parse().unwrap(),
                prefix: 64
            }]
        );
        assert!(plan.routes.is_empty(), "the RA brings the default route");
        assert_eq!(
            plan.ipv6,
            Ipv6Sysctls {
                accept_ra: 2,
                accept_ra_defrtr: true,
                ra_defrtr_metric: 700
            }
        );
        assert_eq!(
            Plan::new(&settings, Some(700), IID, Slaac::Never)
                .ipv6
                .accept_ra,
            0
        );
        let empty = IpSettings::default();
        assert_eq!(
            Plan::new(&empty, Some(700), IID, Slaac::Auto)
                .ipv6
                .accept_ra,
            0
        );
        assert_eq!(
            Plan::new(&empty, Some(700), IID, Slaac::WithoutAddress)
                .ipv6
                .accept_ra,
            2
        );
    }

    #[test]
    fn all_zero_identifier_is_replaced() {
        let settings = IpSettings {
            ipv6_dns: vec!["2001:db8::53".parse().unwrap()],
            ..IpSettings::default()
        };
        let plan = Plan::new(&settings, Some(700), [0; 8], Slaac::Auto);
        assert_eq!(
            plan.addresses[0].address,
            "fe80::200:0:0:1".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn identifier_helpers() {
        let a: Ipv6Addr = "2001:db8::a:b:c:d".parse().unwrap();
        assert_eq!(iid_of(a), [0, 0xa, 0, 0xb, 0, 0xc, 0, 0xd]);
        assert_eq!(
            link_local(iid_of(a)),
            "fe80::a:b:c:d".parse::<Ipv6Addr>().unwrap()
        );
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(is_link_local("febf::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
    }
}
