//! The real network behind the modem, as the model sees it: what the host
//! sends beyond the gateway goes to the uplink straight from the NTB, the
//! gateway's own echo stays; what the network sends for a session's address
//! goes to the host in NTBs on that session; the queue towards the host is
//! bounded and its buffers are reused.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod data_support;

use data_support::{connected, datagrams, next_block, ntb, GW4, HOST4};
use mbim_protocol::ntb::{NdpSignature, NtbFormat};
use mbim_sim::model::data::MAX_FORWARDED_DATAGRAMS;
use mbim_sim::model::net;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const FAR4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

#[test]
fn beyond_the_gateway_goes_to_the_uplink_and_the_gateway_still_answers() {
    let mut host = connected(&[0]);
    let to_gw = net::icmpv4_echo_request(HOST4, GW4, 1, 1, b"gw");
    let far = net::udp_packet(HOST4.into(), 4000, FAR4.into(), 53, 100).unwrap();
    let far6 = net::udp_packet(
        "fd00:6d62::2".parse::<Ipv6Addr>().unwrap().into(),
        4000,
        "2001:db8::1".parse::<Ipv6Addr>().unwrap().into(),
        53,
        10,
    )
    .unwrap();
    let mut uplinked = Vec::new();
    let mut uplink = |datagram: &[u8]| {
        uplinked.push(datagram.to_vec());
        true
    };
    host.modem
        .handle_bulk_out_to(
            host.now,
            0,
            // Session 3 is not active: dropped, never forwarded.
            &ntb(
                NtbFormat::Ntb16,
                &[
                    (0, to_gw),
                    (0, far.clone()),
                    (0, far6.clone()),
                    (3, far.clone()),
                ],
            ),
            Some(&mut uplink),
        )
        .unwrap();
    assert_eq!(uplinked, vec![far.clone(), far6]);
    let block = next_block(&mut host).unwrap();
    let replies = datagrams(&block);
    assert_eq!(replies.len(), 1, "the gateway's echo reply");
    assert_eq!(&replies[0].1[12..16], &GW4.octets());

    // An uplink that refuses (a full device) loses the datagram, counted.
    host.modem
        .handle_bulk_out_to(
            host.now,
            0,
            &ntb(NtbFormat::Ntb16, &[(0, far)]),
            Some(&mut |_: &[u8]| false),
        )
        .unwrap();
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_out, 2);
    assert_eq!(counters.forward_dropped, 1);
}

#[test]
fn from_the_network_to_the_session_with_that_address() {
    let mut host = connected(&[0, 1]);
    // Session 1 has the next subnet: 10.64.0.6.
    let to_session0 = net::udp_packet(FAR4.into(), 53, HOST4.into(), 4000, 20).unwrap();
    let to_session1 = net::udp_packet(
        FAR4.into(),
        53,
        Ipv4Addr::new(10, 64, 0, 6).into(),
        4000,
        30,
    )
    .unwrap();
    let to_nobody =
        net::udp_packet(FAR4.into(), 53, Ipv4Addr::new(10, 9, 9, 9).into(), 4000, 30).unwrap();
    let to_session0_v6 = net::udp_packet(
        IpAddr::V6("2001:db8::1".parse().unwrap()),
        53,
        IpAddr::V6("fd00:6d62::2".parse().unwrap()),
        4000,
        40,
    )
    .unwrap();
    assert!(host.modem.handle_network_in(&to_session0));
    assert!(host.modem.handle_network_in(&to_session1));
    assert!(!host.modem.handle_network_in(&to_nobody));
    assert!(!host.modem.handle_network_in(&[0x45, 0]), "too short");
    assert!(host.modem.handle_network_in(&to_session0_v6));
    // Another interface id in session 0's /64 is still session 0's; the
    // next /64 is session 1's.
    let elsewhere_in_prefix = net::udp_packet(
        IpAddr::V6("2001:db8::1".parse().unwrap()),
        53,
        IpAddr::V6("fd00:6d62::1234".parse().unwrap()),
        4000,
        8,
    )
    .unwrap();
    let session1_v6 = net::udp_packet(
        IpAddr::V6("2001:db8::1".parse().unwrap()),
        53,
        IpAddr::V6("fd00:6d62:0:1::99".parse().unwrap()),
        4000,
        8,
    )
    .unwrap();
    assert!(host.modem.handle_network_in(&elsewhere_in_prefix));
    assert!(host.modem.handle_network_in(&session1_v6));
    let block = next_block(&mut host).unwrap();
    // One NDP per session, each in arrival order.
    assert_eq!(
        datagrams(&block),
        vec![
            (NdpSignature::Ips(0), to_session0),
            (NdpSignature::Ips(0), to_session0_v6),
            (NdpSignature::Ips(0), elsewhere_in_prefix),
            (NdpSignature::Ips(1), to_session1),
            (NdpSignature::Ips(1), session1_v6),
        ]
    );
    assert!(next_block(&mut host).is_none());
}

#[test]
fn the_queue_towards_the_host_is_bounded() {
    let mut host = connected(&[0]);
    let packet = net::udp_packet(FAR4.into(), 53, HOST4.into(), 4000, 1000).unwrap();
    let accepted = (0..MAX_FORWARDED_DATAGRAMS + 100)
        .filter(|_| host.modem.handle_network_in(&packet))
        .count();
    assert_eq!(accepted, MAX_FORWARDED_DATAGRAMS);
    let (bytes, entries) = host.modem.queued();
    assert_eq!(entries, MAX_FORWARDED_DATAGRAMS);
    assert_eq!(bytes, MAX_FORWARDED_DATAGRAMS * packet.len());
    let mut sent = 0;
    while let Some(block) = next_block(&mut host) {
        sent += datagrams(&block).len();
    }
    assert_eq!(sent, MAX_FORWARDED_DATAGRAMS);
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, MAX_FORWARDED_DATAGRAMS as u64);
    assert_eq!(counters.forward_dropped, 100);
    // With the data interface off nothing is queued.
    host.modem.set_data_alt_setting(0, 0);
    assert!(!host.modem.handle_network_in(&packet));
}

#[test]
fn datagrams_written_in_place_share_one_route_and_a_failed_one_is_dropped() {
    let mut host = connected(&[0]);
    let packet = net::udp_packet(FAR4.into(), 53, HOST4.into(), 4000, 300).unwrap();
    let elsewhere = net::udp_packet(FAR4.into(), 53, FAR4.into(), 4000, 300).unwrap();
    assert_eq!(host.modem.network_route(&elsewhere), None);
    // The route of a super-packet's header serves every segment cut from it.
    let route = host.modem.network_route(&packet).unwrap();
    let shorter = net::udp_packet(FAR4.into(), 53, HOST4.into(), 4000, 100).unwrap();
    for datagram in [&packet, &shorter] {
        assert!(host.modem.push_network_in(route, datagram.len(), |buffer| {
            assert_eq!(buffer.len(), datagram.len());
            buffer.copy_from_slice(datagram);
            true
        }));
    }
    // A segment that could not be written is neither queued nor sent.
    assert!(!host.modem.push_network_in(route, packet.len(), |buffer| {
        buffer.fill(0xee);
        false
    }));
    let block = next_block(&mut host).unwrap();
    assert_eq!(
        datagrams(&block),
        vec![
            (NdpSignature::Ips(0), packet),
            (NdpSignature::Ips(0), shorter)
        ]
    );
    let counters = host.modem.data_counters(0).unwrap();
    assert_eq!(counters.forwarded_in, 2);
    assert_eq!(counters.forward_dropped, 1);
}
