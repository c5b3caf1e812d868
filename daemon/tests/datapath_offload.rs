//! Offloads through a real TUN device (root, in a network namespace of the
//! test's own), transmit side: the device opened as mbimd opens it, with
//! `IFF_VNET_HDR`, and the pump between it and scripted pipes. A UDP
//! socket with `UDP_SEGMENT` sends one super-packet (IPv4 and IPv6); what
//! reaches bulk OUT must be the separate datagrams, each whole and with
//! right checksums, the payload in order. The receive side is
//! datapath_offload_rx.rs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[path = "netns_support/mod.rs"]
mod netns_support;
#[path = "../../offload/tests/packets/mod.rs"]
mod offload;
#[path = "datapath_support.rs"]
mod support;
#[path = "datapath_tun_support/mod.rs"]
mod tun;

use netns_support::privileged;
use nix::sys::socket::{setsockopt, sockopt::UdpGsoSegment};
use offload::{parse_checked, payload, UDP};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use tun::{in_namespace, offload_device, runtime, Running, HOST4, HOST6, PEER4, PEER6};

/// The source port of a UDP packet, `None` for anything else.
fn udp_source_port(packet: &[u8]) -> Option<u16> {
    let at = match packet.first()? >> 4 {
        4 if *packet.get(9)? == UDP => usize::from(packet[0] & 0x0f) * 4,
        6 if *packet.get(6)? == UDP => 40,
        _ => return None,
    };
    Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]))
}

#[test]
fn udp_super_packets_leave_as_separate_checked_datagrams() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    in_namespace("mbimd-offload-tx", || {
        let runtime = runtime();
        runtime.block_on(async {
            let netdev = offload_device().await;
            let pump = Running::start(&netdev);
            for (from, to) in [(HOST4, PEER4), (HOST6, PEER6)] {
                pump.sent.lock().unwrap().clear();
                let socket = UdpSocket::bind(SocketAddr::new(from.parse().unwrap(), 0)).unwrap();
                let port = socket.local_addr().unwrap().port();
                socket
                    .connect(SocketAddr::new(to.parse().unwrap(), 5001))
                    .unwrap();
                setsockopt(&socket, UdpGsoSegment, &1000).unwrap();
                let data = payload(4321);
                socket.send(&data).unwrap();
                // Wait for the 5 datagrams (the kernel may also send IPv6
                // router solicitations and such: those are skipped).
                let deadline = Instant::now() + Duration::from_secs(5);
                let datagrams = loop {
                    let ours: Vec<Vec<u8>> = pump
                        .sent_datagrams()
                        .into_iter()
                        .filter(|packet| udp_source_port(packet) == Some(port))
                        .collect();
                    if ours.len() >= 5 || Instant::now() > deadline {
                        break ours;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                };
                assert_eq!(datagrams.len(), 5, "{from} → {to}");
                let mut joined = Vec::new();
                for (index, packet) in datagrams.iter().enumerate() {
                    let parsed = parse_checked(packet);
                    assert_eq!(parsed.destination, to.parse::<IpAddr>().unwrap());
                    let expected = if index < 4 { 1000 } else { 321 };
                    assert_eq!(parsed.payload.len(), expected);
                    joined.extend_from_slice(&parsed.payload);
                }
                assert_eq!(joined, data, "{from} → {to}: payload in order");
            }
            // Final once the pump (on its own thread) has stopped.
            let counters = pump.handle.counters();
            pump.handle.stop().await.unwrap();
            let counters = counters.snapshot();
            assert_eq!(counters.tx_dropped, 0, "{counters:?}");
        });
    });
}
