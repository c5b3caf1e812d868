//! What the network hands out, screened before anything reaches the kernel:
//! an address, gateway or DNS server no network may assign (multicast,
//! loopback, unspecified…) is refused on its own, with the reason, and the
//! rest is applied. A pure function, so the rules are a table in the tests.
//!
//! Two choices the rules make on purpose:
//!
//! * An IPv6 link-local *gateway* is accepted: IPv6 routers are reached by
//!   their link-local addresses (RFC 4861 §4.2), so it is the normal case.
//!   An IPv4 one (169.254.0.0/16) is refused: no cellular network routes
//!   through an autoconfigured address.
//! * An IPv6 link-local *address* is accepted: it is how a 3GPP network
//!   gives the interface identifier the device's own link-local address must
//!   use (TS 23.060 §9.2.1.1), and the plan makes exactly that address. An
//!   IPv4 one is refused.
//!
//! An unspecified gateway means "none given" (many devices fill the field
//! with zeros) and is not a refusal; the IP merge already drops it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::types::{IpSettings, Ipv4Prefix, Ipv6Prefix};

/// One item of the network's configuration that is not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The item as the device's configuration parts name it
    /// (`address ff02::1/64`, `ipv4 gateway 224.0.0.1`, `dns server ::1`).
    pub part: String,
    /// Why it is refused (`a multicast address`).
    pub reason: &'static str,
}

/// `settings` without what no network may assign, and what was taken out.
pub fn screen(settings: &IpSettings) -> (IpSettings, Vec<Refusal>) {
    let mut refusals = Vec::new();
    let mut refuse = |part: String, reason: &'static str| {
        refusals.push(Refusal { part, reason });
    };
    let mut kept = settings.clone();

    kept.ipv4_addresses = Vec::new();
    for address in &settings.ipv4_addresses {
        let problem = ipv4_host_problem(address.address, Use::Address)
            .or((address.prefix > 32).then_some("a prefix length above 32"));
        match problem {
            Some(reason) => refuse(ipv4_part(address), reason),
            None => kept.ipv4_addresses.push(*address),
        }
    }
    kept.ipv4_gateway =
        settings
            .ipv4_gateway
            .filter(|gateway| match ipv4_host_problem(*gateway, Use::Gateway) {
                Some(reason) => {
                    refuse(format!("ipv4 gateway {gateway}"), reason);
                    false
                }
                None => true,
            });
    kept.ipv4_dns = settings
        .ipv4_dns
        .iter()
        .copied()
        .filter(|server| match ipv4_host_problem(*server, Use::Dns) {
            Some(reason) => {
                refuse(format!("dns server {server}"), reason);
                false
            }
            None => true,
        })
        .collect();

    kept.ipv6_addresses = Vec::new();
    for address in &settings.ipv6_addresses {
        let problem = ipv6_host_problem(address.address, Use::Address)
            .or((address.prefix > 128).then_some("a prefix length above 128"));
        match problem {
            Some(reason) => refuse(ipv6_part(address), reason),
            None => kept.ipv6_addresses.push(*address),
        }
    }
    kept.ipv6_gateway =
        settings
            .ipv6_gateway
            .filter(|gateway| match ipv6_host_problem(*gateway, Use::Gateway) {
                Some(reason) => {
                    refuse(format!("ipv6 gateway {gateway}"), reason);
                    false
                }
                None => true,
            });
    kept.ipv6_dns = settings
        .ipv6_dns
        .iter()
        .copied()
        .filter(|server| match ipv6_host_problem(*server, Use::Dns) {
            Some(reason) => {
                refuse(format!("dns server {server}"), reason);
                false
            }
            None => true,
        })
        .collect();
    (kept, refusals)
}

/// The name of an address part (shared with the netdev's report).
pub(crate) fn address_part(address: IpAddr, prefix: u8) -> String {
    format!("address {address}/{prefix}")
}

fn ipv4_part(address: &Ipv4Prefix) -> String {
    address_part(IpAddr::V4(address.address), address.prefix)
}

fn ipv6_part(address: &Ipv6Prefix) -> String {
    address_part(IpAddr::V6(address.address), address.prefix)
}

/// What an address is handed out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Address,
    Gateway,
    Dns,
}

fn ipv4_host_problem(address: Ipv4Addr, usage: Use) -> Option<&'static str> {
    let [first, ..] = address.octets();
    if address.is_unspecified() {
        Some("the unspecified address")
    } else if address.is_loopback() {
        Some("a loopback address")
    } else if address.is_broadcast() {
        Some("the broadcast address")
    } else if address.is_multicast() {
        Some("a multicast address")
    } else if first == 0 {
        Some("an address of 0.0.0.0/8 (this network)")
    } else if first >= 240 {
        Some("a reserved address (240.0.0.0/4)")
    } else if address.is_link_local() && usage != Use::Dns {
        Some("a link-local address")
    } else {
        None
    }
}

fn ipv6_host_problem(address: Ipv6Addr, _usage: Use) -> Option<&'static str> {
    if address.is_unspecified() {
        Some("the unspecified address")
    } else if address.is_loopback() {
        Some("a loopback address")
    } else if address.is_multicast() {
        Some("a multicast address")
    } else if address.to_ipv4_mapped().is_some() {
        Some("an IPv4-mapped address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str, prefix: u8) -> Ipv4Prefix {
        Ipv4Prefix {
            address: text.parse().unwrap(),
            prefix,
        }
    }

    fn v6(text: &str, prefix: u8) -> Ipv6Prefix {
        Ipv6Prefix {
            address: text.parse().unwrap(),
            prefix,
        }
    }

    #[test]
    fn each_address_is_judged_on_its_own() {
        // (what the network hands out, refused as) — None: kept.
        let table: Vec<(IpSettings, Option<(&str, &str)>)> = vec![
            (
                IpSettings {
                    ipv4_addresses: vec![v4("10.64.0.2", 30)],
                    ..IpSettings::default()
                },
                None,
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("0.0.0.0", 30)],
                    ..IpSettings::default()
                },
                Some(("address 0.0.0.0/30", "the unspecified address")),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("127.0.0.2", 8)],
                    ..IpSettings::default()
                },
                Some(("address 127.0.0.2/8", "a loopback address")),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("224.0.0.1", 24)],
                    ..IpSettings::default()
                },
                Some(("address 224.0.0.1/24", "a multicast address")),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("255.255.255.255", 32)],
                    ..IpSettings::default()
                },
                Some(("address 255.255.255.255/32", "the broadcast address")),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("169.254.1.1", 16)],
                    ..IpSettings::default()
                },
                Some(("address 169.254.1.1/16", "a link-local address")),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("0.1.2.3", 24)],
                    ..IpSettings::default()
                },
                Some((
                    "address 0.1.2.3/24",
                    "an address of 0.0.0.0/8 (this network)",
                )),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("240.0.0.1", 24)],
                    ..IpSettings::default()
                },
                Some(("address 240.0.0.1/24", "a reserved address (240.0.0.0/4)")),
            ),
            (
                IpSettings {
                    ipv4_addresses: vec![v4("10.0.0.1", 33)],
                    ..IpSettings::default()
                },
                Some(("address 10.0.0.1/33", "a prefix length above 32")),
            ),
            (
                IpSettings {
                    ipv4_gateway: Some("10.64.0.1".parse().unwrap()),
                    ..IpSettings::default()
                },
                None,
            ),
            (
                IpSettings {
                    ipv4_gateway: Some("239.1.1.1".parse().unwrap()),
                    ..IpSettings::default()
                },
                Some(("ipv4 gateway 239.1.1.1", "a multicast address")),
            ),
            (
                IpSettings {
                    ipv4_gateway: Some("169.254.0.1".parse().unwrap()),
                    ..IpSettings::default()
                },
                Some(("ipv4 gateway 169.254.0.1", "a link-local address")),
            ),
            (
                IpSettings {
                    ipv4_dns: vec!["127.0.0.53".parse().unwrap()],
                    ..IpSettings::default()
                },
                Some(("dns server 127.0.0.53", "a loopback address")),
            ),
            (
                IpSettings {
                    ipv6_addresses: vec![v6("2001:db8::2", 64)],
                    ..IpSettings::default()
                },
                None,
            ),
            (
                IpSettings {
                    ipv6_addresses: vec![v6("ff02::1", 64)],
                    ..IpSettings::default()
                },
                Some(("address ff02::1/64", "a multicast address")),
            ),
            (
                IpSettings {
                    ipv6_addresses: vec![v6("::1", 128)],
                    ..IpSettings::default()
                },
                Some(("address ::1/128", "a loopback address")),
            ),
            (
                IpSettings {
                    ipv6_addresses: vec![v6("::", 64)],
                    ..IpSettings::default()
                },
                Some(("address ::/64", "the unspecified address")),
            ),
            (
                IpSettings {
                    ipv6_addresses: vec![v6("::ffff:10.0.0.1", 96)],
                    ..IpSettings::default()
                },
                Some(("address ::ffff:10.0.0.1/96", "an IPv4-mapped address")),
            ),
            (
                IpSettings {
                    ipv6_addresses: vec![v6("2001:db8::2", 129)],
                    ..IpSettings::default()
                },
                Some(("address 2001:db8::2/129", "a prefix length above 128")),
            ),
            // The network's link-local address carries the identifier the
            // device must use: kept (see the module doc).
            (
                IpSettings {
                    ipv6_addresses: vec![v6("fe80::1234", 64)],
                    ..IpSettings::default()
                },
                None,
            ),
            // IPv6 routers are reached by link-local addresses: kept.
            (
                IpSettings {
                    ipv6_gateway: Some("fe80::1".parse().unwrap()),
                    ..IpSettings::default()
                },
                None,
            ),
            (
                IpSettings {
                    ipv6_gateway: Some("ff02::2".parse().unwrap()),
                    ..IpSettings::default()
                },
                Some(("ipv6 gateway ff02::2", "a multicast address")),
            ),
            (
                IpSettings {
                    ipv6_dns: vec!["ff05::1:3".parse().unwrap()],
                    ..IpSettings::default()
                },
                Some(("dns server ff05::1:3", "a multicast address")),
            ),
        ];
        for (settings, expected) in table {
            let (kept, refusals) = screen(&settings);
            match expected {
                None => {
                    assert_eq!(kept, settings);
                    assert!(refusals.is_empty(), "{refusals:?}");
                }
                Some((part, reason)) => {
                    assert_eq!(kept, IpSettings::default(), "{settings:?}");
                    assert_eq!(
                        refusals,
                        [Refusal {
                            part: part.to_owned(),
                            reason
                        }]
                    );
                }
            }
        }
    }

    #[test]
    fn a_bad_item_takes_nothing_else_with_it() {
        // The audit's case: an IPv6 address of ff02::1 beside a good IPv4
        // configuration.
        let settings = IpSettings {
            ipv4_addresses: vec![v4("10.64.0.2", 30)],
            ipv4_gateway: Some("10.64.0.1".parse().unwrap()),
            ipv4_dns: vec!["10.64.0.1".parse().unwrap(), "224.0.0.251".parse().unwrap()],
            ipv4_mtu: 1500,
            ipv6_addresses: vec![v6("ff02::1", 64), v6("2001:db8::2", 64)],
            ipv6_gateway: Some("2001:db8::1".parse().unwrap()),
            ipv6_dns: vec!["2001:db8::53".parse().unwrap()],
            ipv6_mtu: 1500,
        };
        let (kept, refusals) = screen(&settings);
        assert_eq!(
            kept,
            IpSettings {
                ipv4_dns: vec!["10.64.0.1".parse().unwrap()],
                ipv6_addresses: vec![v6("2001:db8::2", 64)],
                ..settings.clone()
            }
        );
        let parts: Vec<_> = refusals.iter().map(|r| r.part.as_str()).collect();
        assert_eq!(parts, ["dns server 224.0.0.251", "address ff02::1/64"]);
    }
}
