//! Protocol configuration options (3GPP TS 24.008 §10.5.6.3) as the network
//! sends them in CONNECT's PCO element and MBIM_CID_MS_PCO: containers from
//! labelled bytes, the session's DNS, P-CSCF and MTU, and arbitrary input.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::pco::{self, container, Container, PcoError, SessionOptions};
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};
use support::*;

/// What a network answers an IMS and internet PDN with.
fn network_answer() -> Vec<u8> {
    labelled(
        "
        80          # 0x00 configuration protocol: PPP (bit 8 set)
        000d 04     # 0x01 DNS server IPv4, 4 bytes
        0a400001    # 0x04 10.64.0.1
        000d 04     # 0x08 DNS server IPv4, 4 bytes
        0a400002    # 0x0b 10.64.0.2
        0003 10     # 0x0f DNS server IPv6, 16 bytes
        20010db8000000000000000000000053 # 0x12 2001:db8::53
        000c 04     # 0x22 P-CSCF IPv4
        0a400003    # 0x25 10.64.0.3
        0001 10     # 0x29 P-CSCF IPv6
        20010db8000000000000000000000005 # 0x2c 2001:db8::5
        0010 02     # 0x3c IPv4 link MTU, 2 bytes
        0578        # 0x3f 1400
        ff00 03     # 0x41 an operator's container (0xff00)
        010203      # 0x44 its contents
        ",
    )
}

#[test]
fn containers_come_in_order_with_their_ids() {
    let bytes = network_answer();
    let (protocol, containers) = pco::parse(&bytes).unwrap();
    assert_eq!(protocol, 0);
    let containers: Vec<Container<'_>> = containers.collect::<Result<_, _>>().unwrap();
    let ids: Vec<u16> = containers.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [
            container::DNS_IPV4,
            container::DNS_IPV4,
            container::DNS_IPV6,
            container::PCSCF_IPV4,
            container::PCSCF_IPV6,
            container::IPV4_LINK_MTU,
            0xff00
        ]
    );
    assert_eq!(containers[6].contents, [1, 2, 3]);
}

#[test]
fn the_session_options_are_the_dns_pcscf_and_mtu_containers() {
    assert_eq!(
        SessionOptions::from_pco(&network_answer()).unwrap(),
        SessionOptions {
            dns_ipv4: vec![Ipv4Addr::new(10, 64, 0, 1), Ipv4Addr::new(10, 64, 0, 2)],
            dns_ipv6: vec![Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53)],
            pcscf_ipv4: vec![Ipv4Addr::new(10, 64, 0, 3)],
            pcscf_ipv6: vec![Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5)],
            ipv4_link_mtu: Some(1400),
        }
    );
}

#[test]
fn dns_servers_inside_ipcp_are_read_too() {
    let bytes = labelled(
        "
        80          # 0x00 configuration protocol: PPP
        8021 10     # 0x01 IPCP, 16 bytes
        03 00 0010  # 0x04 Configure-Nak, id 0, length 16
        81 06 08080808 # 0x08 primary DNS 8.8.8.8
        83 06 08080404 # 0x0e secondary DNS 8.8.4.4
        000d 04     # 0x14 DNS server IPv4: 8.8.8.8 again
        08080808    # 0x17
        000d 00     # 0x1b DNS server IPv4, empty: declined
        ",
    );
    let options = SessionOptions::from_pco(&bytes).unwrap();
    assert_eq!(
        options.dns_ipv4,
        [Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(8, 8, 4, 4)]
    );
    assert_eq!(options.ipv4_link_mtu, None);
}

#[test]
fn a_container_past_the_end_is_refused_with_its_offset() {
    let mut bytes = network_answer();
    bytes.truncate(0x46);
    let error = SessionOptions::from_pco(&bytes).unwrap_err();
    assert_eq!(
        error,
        PcoError::Truncated {
            offset: 0x41,
            needed: 6,
            available: 5
        }
    );
    assert_eq!(
        error.to_string(),
        "PCO container at offset 65 needs 6 bytes but only 5 remain"
    );
    assert_eq!(SessionOptions::from_pco(&[]), Err(PcoError::Empty));
    assert_eq!(
        SessionOptions::from_pco(&[0x80]).unwrap(),
        SessionOptions::default()
    );
}

#[test]
fn the_options_are_written_as_a_network_sends_them() {
    // The network answer above without its operator container: what the
    // simulated modem sends.
    let options = SessionOptions::from_pco(&network_answer()).unwrap();
    let expected = labelled(
        "
        80          # 0x00 configuration protocol: PPP
        000d 04     # 0x01 DNS server IPv4
        0a400001    # 0x04 10.64.0.1
        000d 04     # 0x08 DNS server IPv4
        0a400002    # 0x0b 10.64.0.2
        0003 10     # 0x0f DNS server IPv6
        20010db8000000000000000000000053 # 0x12 2001:db8::53
        000c 04     # 0x22 P-CSCF IPv4
        0a400003    # 0x25 10.64.0.3
        0001 10     # 0x29 P-CSCF IPv6
        20010db8000000000000000000000005 # 0x2c 2001:db8::5
        0010 02     # 0x3c IPv4 link MTU
        0578        # 0x3f 1400
        ",
    );
    assert_eq!(options.to_pco(), expected);
    assert_eq!(SessionOptions::default().to_pco(), [0x80]);
}

/// Each server once: they are read back once (networks repeat them).
fn unique<T: PartialEq>(list: Vec<T>) -> Vec<T> {
    let mut seen = Vec::new();
    for item in list {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn addresses<T: std::fmt::Debug>(
    address: impl Strategy<Value = T>,
) -> impl Strategy<Value = Vec<T>> {
    proptest::collection::vec(address, 0..4)
}

proptest! {
    #[test]
    fn written_options_read_back_the_same(
        dns_ipv4 in addresses(any::<[u8; 4]>().prop_map(Ipv4Addr::from)),
        dns_ipv6 in addresses(any::<[u8; 16]>().prop_map(Ipv6Addr::from)),
        pcscf_ipv4 in addresses(any::<[u8; 4]>().prop_map(Ipv4Addr::from)),
        pcscf_ipv6 in addresses(any::<[u8; 16]>().prop_map(Ipv6Addr::from)),
        ipv4_link_mtu in proptest::option::of(any::<u16>()),
    ) {
        let options = SessionOptions {
            dns_ipv4: unique(dns_ipv4),
            dns_ipv6: unique(dns_ipv6),
            pcscf_ipv4: unique(pcscf_ipv4),
            pcscf_ipv6: unique(pcscf_ipv6),
            ipv4_link_mtu,
        };
        prop_assert_eq!(SessionOptions::from_pco(&options.to_pco()).unwrap(), options);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = SessionOptions::from_pco(&bytes);
        if let Ok((_, containers)) = pco::parse(&bytes) {
            let mut total = 1;
            for container in containers.flatten() {
                total += 3 + container.contents.len();
            }
            prop_assert!(total <= bytes.len().max(1));
        }
    }
}
