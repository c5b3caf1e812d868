//! Offloads through a real TUN device (root, in a network namespace of the
//! test's own): the device opened as mbimd opens it, with `IFF_VNET_HDR`,
//! and the pump between it and scripted pipes.
//!
//! * TX: a UDP socket with `UDP_SEGMENT` sends one super-packet (IPv4 and
//!   IPv6); what reaches bulk OUT must be the separate datagrams, each
//!   whole and with right checksums, the payload in order.
//! * RX: an NTB whose datagrams interleave flows (UDP over IPv4 and IPv6,
//!   and one datagram of another flow that must not be merged) is written
//!   coalesced: the kernel accepts every datagram (it drops any whose
//!   checksum is wrong), the sockets get them in order, and with USO the
//!   device counts one write per flow.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[path = "netns_support/mod.rs"]
mod netns_support;
#[path = "datapath_offload_support.rs"]
mod offload;
#[path = "datapath_support.rs"]
mod support;

use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat, NtbParameters};
use mbimd::datapath::{self, Pump, PumpConfig, ReadFraming};
use mbimd::netdev::{DnsBackend, InterfaceName, Netdev, NetdevOptions, TunOptions};
use mbimd_test_support::tools::IP;
use netns_support::{privileged, Namespace};
use nix::sys::socket::{setsockopt, sockopt::UdpGsoSegment};
use offload::{parse_checked, payload, Spec, UDP};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use support::{RecordingOut, ScriptedIn};

const HOST4: &str = "10.64.0.2";
const PEER4: &str = "10.64.0.1";
const HOST6: &str = "fd00::2";
const PEER6: &str = "fd00::1";

fn ip(args: &[&str]) {
    let status = IP.command().args(args).status().unwrap();
    assert!(status.success(), "ip {args:?}");
}

fn parameters() -> NtbParameters {
    mbim_sim::scenario::Scenario::default_dssa()
        .ntb
        .parameters()
}

/// Runs `test` on a thread inside a fresh namespace, with a current-thread
/// runtime: the TUN device, its addresses and the sockets live there.
fn in_namespace(prefix: &str, test: impl FnOnce() + Send + 'static) {
    let namespace = Namespace::create(prefix);
    let path = format!("/run/netns/{}", namespace.0);
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).unwrap();
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        test();
    })
    .join()
    .unwrap();
}

/// A runtime whose workers start on the calling thread, so they share its
/// namespace; blocking socket reads on the test's thread leave the pump
/// running.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The source port of a UDP packet, `None` for anything else.
fn udp_source_port(packet: &[u8]) -> Option<u16> {
    let at = match packet.first()? >> 4 {
        4 if *packet.get(9)? == UDP => usize::from(packet[0] & 0x0f) * 4,
        6 if *packet.get(6)? == UDP => 40,
        _ => return None,
    };
    Some(u16::from_be_bytes([*packet.get(at)?, *packet.get(at + 1)?]))
}

/// `mbim0` opened as mbimd opens it with offloads on, addressed, up.
async fn offload_device() -> Netdev {
    let options = NetdevOptions {
        dns: DnsBackend::None,
        tun: TunOptions {
            offload: true,
            ..TunOptions::default()
        },
        ..NetdevOptions::default()
    };
    let netdev = Netdev::create(InterfaceName::new("mbim0").unwrap(), options)
        .await
        .unwrap();
    assert_eq!(
        netdev.framing(),
        ReadFraming::VirtioNet,
        "the kernel took TSO offloads"
    );
    ip(&["addr", "add", &format!("{HOST4}/30"), "dev", "mbim0"]);
    ip(&[
        "addr",
        "add",
        &format!("{HOST6}/64"),
        "dev",
        "mbim0",
        "nodad",
    ]);
    ip(&["link", "set", "mbim0", "up"]);
    netdev
}

/// Packets the kernel received on `mbim0` (one per write, a super-packet
/// counting once), from `ip -s`: /sys shows the host's namespace.
fn rx_packets() -> u64 {
    let output = IP
        .command()
        .args(["-j", "-s", "link", "show", "dev", "mbim0"])
        .output()
        .unwrap();
    let links: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    links[0]["stats64"]["rx"]["packets"].as_u64().unwrap()
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
            let (bulk_in, _, _) = ScriptedIn::new();
            let (bulk_out, sent) = RecordingOut::new();
            let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
            config.framing = netdev.framing();
            let handle = datapath::spawn(
                Pump::new(bulk_in, bulk_out, config).unwrap(),
                netdev.device().unwrap(),
            );
            for (from, to) in [(HOST4, PEER4), (HOST6, PEER6)] {
                sent.lock().unwrap().clear();
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
                    let ours: Vec<Vec<u8>> = sent
                        .lock()
                        .unwrap()
                        .iter()
                        .flat_map(|(_, block)| {
                            Ntb::new_checked(block)
                                .unwrap()
                                .datagrams()
                                .map(|d| d.unwrap().data.to_vec())
                                .collect::<Vec<_>>()
                        })
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
            let counters = handle.counters().snapshot();
            assert_eq!(counters.tx_dropped, 0, "{counters:?}");
            handle.stop().await.unwrap();
        });
    });
}

fn udp(from: &str, from_port: u16, to: &str, to_port: u16) -> Spec {
    Spec {
        source: from.parse().unwrap(),
        destination: to.parse().unwrap(),
        protocol: UDP,
        source_port: from_port,
        destination_port: to_port,
        id: 7,
        sequence: 0,
        flags: 0,
        tcp_options: Vec::new(),
    }
}

#[test]
fn an_ntbs_datagrams_are_coalesced_per_flow_and_arrive_intact() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    in_namespace("mbimd-offload-rx", || {
        let runtime = runtime();
        runtime.block_on(async {
            let netdev = offload_device().await;
            let socket4 = UdpSocket::bind((HOST4, 6001)).unwrap();
            let socket6 = UdpSocket::bind((HOST6, 6002)).unwrap();
            for socket in [&socket4, &socket6] {
                socket
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
            }
            // Flow A (IPv4, 7 datagrams, the last shorter), flow B (IPv6, 4
            // datagrams), interleaved, and in the middle of A one datagram
            // of another flow (another source port) to the same socket.
            let flow_a = udp(PEER4, 9, HOST4, 6001);
            let flow_b = udp(PEER6, 9, HOST6, 6002);
            let intruder = udp(PEER4, 10, HOST4, 6001);
            let mut expected4 = Vec::new();
            let mut expected6 = Vec::new();
            let mut builder = NtbBuilder::new(
                NtbFormat::Ntb16,
                BuildLimits {
                    max_size: 32768,
                    max_datagrams: 0,
                    divisor: 4,
                    remainder: 0,
                    ndp_alignment: 4,
                },
            )
            .unwrap();
            for index in 0..7u8 {
                let data = vec![index; if index == 6 { 300 } else { 1000 }];
                builder
                    .push(NdpSignature::Ips(0), &flow_a.packet(&data, false))
                    .unwrap();
                expected4.push(data);
                if index < 4 {
                    let data = vec![0x60 + index; 800];
                    builder
                        .push(NdpSignature::Ips(0), &flow_b.packet(&data, false))
                        .unwrap();
                    expected6.push(data);
                }
                if index == 3 {
                    let data = vec![0xee; 1000];
                    builder
                        .push(NdpSignature::Ips(0), &intruder.packet(&data, false))
                        .unwrap();
                    expected4.push(data);
                }
            }
            let block = builder.finish().unwrap().to_vec();

            let (bulk_in, script, changed) = ScriptedIn::new();
            let (bulk_out, _) = RecordingOut::new();
            let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
            config.framing = netdev.framing();
            let handle = datapath::spawn(
                Pump::new(bulk_in, bulk_out, config).unwrap(),
                netdev.device().unwrap(),
            );
            let before = rx_packets();
            script.lock().unwrap().blocks.push_back(Ok(block));
            changed.notify_one();

            let mut buffer = vec![0u8; 2048];
            let mut received4 = Vec::new();
            for _ in 0..expected4.len() {
                let len = socket4.recv(&mut buffer).unwrap();
                received4.push(buffer[..len].to_vec());
            }
            let mut received6 = Vec::new();
            for _ in 0..expected6.len() {
                let len = socket6.recv(&mut buffer).unwrap();
                received6.push(buffer[..len].to_vec());
            }
            // One socket, two flows: each flow's order is kept; the
            // intruder may come before or after flow A's coalesced write.
            let intruder_data = expected4.remove(4);
            let at = received4
                .iter()
                .position(|data| *data == intruder_data)
                .expect("the other flow's datagram arrived");
            received4.remove(at);
            assert_eq!(received4, expected4, "flow A, in order, intact");
            assert_eq!(received6, expected6, "flow B, in order, intact");

            let writes = rx_packets() - before;
            let counters = handle.counters().snapshot();
            assert_eq!(counters.rx_packets, 12, "{counters:?}");
            if netdev.udp_offload() {
                assert_eq!(writes, 3, "one write per flow");
            } else {
                println!("the kernel has no USO: UDP is written datagram by datagram");
                assert_eq!(writes, 12);
            }
            handle.stop().await.unwrap();
        });
    });
}
