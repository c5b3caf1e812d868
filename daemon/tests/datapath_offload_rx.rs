//! Offloads through a real TUN device (root, in a network namespace of the
//! test's own), receive side: NTBs from a scripted modem, the pump
//! coalescing their datagrams per flow into super-packets (GRO) written to
//! `mbim0` as mbimd opens it (`IFF_VNET_HDR`), and the kernel's own sockets
//! as the judges. The kernel trusts a super-packet's checksum
//! (`NEEDS_CSUM`) but checks a datagram written alone, and a TCP socket
//! only hands over a byte stream whose segments it accepted in order; the
//! device's receive counter says how many writes there were.
//!
//! * UDP over IPv4 and IPv6 interleaved, with a datagram of another flow
//!   in the middle, to sockets without `UDP_GRO`: each datagram arrives
//!   intact and in order, the kernel cutting the super-packets up again;
//! * UDP to sockets with `UDP_GRO`: the super-packets arrive whole with
//!   their segment size, odd sizes and a short last segment included; a
//!   datagram with a bad checksum is not merged but written alone, and the
//!   kernel drops it;
//! * TCP over IPv4 and IPv6 (a handshake with the host's listening socket
//!   first), interleaved, with a segment of another ToS or traffic class
//!   in the middle and a short last one with PSH: the stream arrives whole.

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
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt::UdpGroSegment, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use offload::{parse_checked, payload, refresh_checksums, Spec, TCP, UDP};
use std::io::{IoSliceMut, Read};
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use tun::{in_namespace, offload_device, runtime, rx_packets, Running, HOST4, HOST6, PEER4, PEER6};

fn spec(from: &str, from_port: u16, to: &str, to_port: u16, protocol: u8) -> Spec {
    Spec {
        source: from.parse().unwrap(),
        destination: to.parse().unwrap(),
        protocol,
        source_port: from_port,
        destination_port: to_port,
        id: 7,
        sequence: 0,
        ack: 0,
        flags: 0,
        tcp_options: Vec::new(),
    }
}

/// `spec`'s packet of `data`, then the spec moved on to the next one
/// (IPv4 ID up by one, TCP sequence number past the data).
fn next(spec: &mut Spec, data: &[u8]) -> Vec<u8> {
    let packet = spec.packet(data, false);
    spec.id = spec.id.wrapping_add(1);
    spec.sequence = spec.sequence.wrapping_add(data.len() as u32);
    packet
}

fn bound(address: &str, port: u16) -> UdpSocket {
    let socket = UdpSocket::bind((address.parse::<IpAddr>().unwrap(), port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
}

#[test]
fn udp_datagrams_reach_plain_sockets_one_by_one_and_in_order() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    in_namespace("mbimd-offload-rx", || {
        runtime().block_on(async {
            let netdev = offload_device().await;
            let socket4 = bound(HOST4, 6001);
            let socket6 = bound(HOST6, 6002);
            // Flow A (IPv4, 7 datagrams, the last shorter), flow B (IPv6, 4
            // datagrams), interleaved, and in the middle of A one datagram
            // of another flow (another source port) to the same socket.
            let mut flow_a = spec(PEER4, 9, HOST4, 6001, UDP);
            let mut flow_b = spec(PEER6, 9, HOST6, 6002, UDP);
            let mut intruder = spec(PEER4, 10, HOST4, 6001, UDP);
            let (mut expected4, mut expected6, mut datagrams) =
                (Vec::new(), Vec::new(), Vec::new());
            for index in 0..7u8 {
                let data = vec![index; if index == 6 { 300 } else { 1000 }];
                datagrams.push(next(&mut flow_a, &data));
                expected4.push(data);
                if index < 4 {
                    let data = vec![0x60 + index; 800];
                    datagrams.push(next(&mut flow_b, &data));
                    expected6.push(data);
                }
                if index == 3 {
                    let data = vec![0xee; 1000];
                    datagrams.push(next(&mut intruder, &data));
                    expected4.push(data);
                }
            }
            let pump = Running::start(&netdev);
            let before = rx_packets();
            pump.receive(&datagrams);

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
            // The pump counts an NTB's datagrams once it has written them,
            // on its own thread: final once it has stopped.
            let counters = pump.handle.counters();
            pump.handle.stop().await.unwrap();
            let counters = counters.snapshot();
            assert_eq!(counters.rx_packets, 12, "{counters:?}");
            if netdev.udp_offload() {
                assert_eq!(writes, 3, "one write per flow");
            } else {
                println!("the kernel has no USO: UDP is written datagram by datagram");
                assert_eq!(writes, 12);
            }
        });
    });
}

/// One read of a `UDP_GRO` socket: the data and its segment size (`None`
/// for a datagram the kernel did not coalesce).
fn recv_gro(socket: &UdpSocket) -> (Vec<u8>, Option<usize>) {
    let mut buffer = vec![0u8; 65536];
    let mut space = nix::cmsg_space!(i32);
    let (len, segment) = {
        let mut iov = [IoSliceMut::new(&mut buffer)];
        let message = recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .unwrap();
        let segment = message.cmsgs().unwrap().find_map(|cmsg| match cmsg {
            ControlMessageOwned::UdpGroSegments(size) => Some(size as usize),
            _ => None,
        });
        (message.bytes, segment)
    };
    buffer.truncate(len);
    (buffer, segment)
}

#[test]
fn udp_gro_sockets_get_the_super_packets_whole_and_a_bad_datagram_is_dropped() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    in_namespace("mbimd-offload-gro", || {
        runtime().block_on(async {
            let netdev = offload_device().await;
            if !netdev.udp_offload() {
                println!("SKIP: the kernel has no USO, UDP is never coalesced");
                return;
            }
            let socket4 = bound(HOST4, 6003);
            let socket6 = bound(HOST6, 6004);
            for socket in [&socket4, &socket6] {
                setsockopt(socket, UdpGroSegment, &true).unwrap();
            }
            // A: IPv4, 3 x 1201 bytes, one with a bad checksum, 2 x 1201
            // and 77. B: IPv6, 5 x 999 and 1. Interleaved.
            let mut flow_a = spec(PEER4, 9, HOST4, 6003, UDP);
            let mut flow_b = spec(PEER6, 9, HOST6, 6004, UDP);
            let sizes_a = [1201, 1201, 1201, 1201, 1201, 1201, 77];
            let sizes_b = [999, 999, 999, 999, 999, 1];
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut datagrams = Vec::new();
            for (index, &size) in sizes_a.iter().enumerate() {
                let data = payload(size + index)[index..].to_vec();
                let mut packet = next(&mut flow_a, &data);
                if index == 3 {
                    *packet.last_mut().unwrap() ^= 0x5a;
                } else {
                    a.push(data);
                }
                datagrams.push(packet);
                if let Some(&size) = sizes_b.get(index) {
                    let data = payload(size + 3 * index)[3 * index..].to_vec();
                    datagrams.push(next(&mut flow_b, &data));
                    b.push(data);
                }
            }
            let pump = Running::start(&netdev);
            let before = rx_packets();
            pump.receive(&datagrams);

            assert_eq!(recv_gro(&socket4), (a[..3].concat(), Some(1201)));
            assert_eq!(recv_gro(&socket4), (a[3..].concat(), Some(1201)));
            assert_eq!(recv_gro(&socket6), (b.concat(), Some(999)));
            socket4
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            assert!(
                socket4.recv(&mut [0u8; 2048]).is_err(),
                "the datagram with the bad checksum is dropped"
            );
            assert_eq!(rx_packets() - before, 4, "A in 3 writes, B in 1");
            let counters = pump.handle.counters();
            pump.handle.stop().await.unwrap();
            let counters = counters.snapshot();
            assert_eq!(counters.rx_packets, 13, "{counters:?}");
        });
    });
}

/// The first TCP segment the pump sent from `port` with all of `flags`.
async fn wait_sent(pump: &Running, port: u16, flags: u8) -> offload::Parsed {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = pump.sent_datagrams().into_iter().find_map(|packet| {
            let version = packet[0] >> 4;
            let protocol = if version == 6 { packet[6] } else { packet[9] };
            let parsed = (protocol == TCP).then(|| parse_checked(&packet))?;
            (parsed.source_port == port && parsed.flags & flags == flags).then_some(parsed)
        });
        if let Some(parsed) = found {
            return parsed;
        }
        assert!(Instant::now() < deadline, "no segment from port {port}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn tcp_segments_coalesced_per_flow_make_a_whole_stream() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    in_namespace("mbimd-offload-tcp", || {
        runtime().block_on(async {
            let netdev = offload_device().await;
            let pump = Running::start(&netdev);
            let flows = [(PEER4, HOST4, 7004u16), (PEER6, HOST6, 7006u16)];
            let mut listeners = Vec::new();
            let mut specs = Vec::new();
            for &(peer, host, port) in &flows {
                listeners.push(TcpListener::bind((host.parse::<IpAddr>().unwrap(), port)).unwrap());
                // The handshake: a SYN from the modem's side, the host's
                // SYN-ACK read from bulk OUT, then our ACK with the data.
                let mut client = spec(peer, 40000, host, port, TCP);
                client.sequence = 0xffff_fc00;
                client.flags = 0x02;
                pump.receive(&[next(&mut client, &[])]);
                client.sequence = client.sequence.wrapping_add(1);
                let syn_ack = wait_sent(&pump, port, 0x12).await;
                client.ack = syn_ack.sequence.wrapping_add(1);
                client.flags = 0x10;
                specs.push(client);
            }
            // Per flow: a bare ACK, 8 segments of 1000 bytes (the fourth of
            // another ToS or traffic class), 333 more with PSH; the
            // sequence numbers wrap.
            let mut datagrams = Vec::new();
            let mut streams = vec![Vec::new(); flows.len()];
            for (client, _) in specs.iter_mut().zip(&flows) {
                datagrams.push(next(client, &[]));
            }
            for index in 0..9 {
                for (client, stream) in specs.iter_mut().zip(&mut streams) {
                    let len = if index == 8 { 333 } else { 1000 };
                    let data = payload(len + index)[index..].to_vec();
                    client.flags = if index == 8 { 0x18 } else { 0x10 };
                    let mut packet = next(client, &data);
                    if index == 3 {
                        packet[1] |= 0x40;
                        refresh_checksums(&mut packet);
                    }
                    datagrams.push(packet);
                    stream.extend_from_slice(&data);
                }
            }
            let before = rx_packets();
            pump.receive(&datagrams);
            for (listener, stream) in listeners.iter().zip(&streams) {
                let (mut connection, _) = listener.accept().unwrap();
                connection
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut received = vec![0u8; stream.len()];
                connection.read_exact(&mut received).unwrap();
                assert_eq!(&received, stream, "the stream, whole and in order");
            }
            // Per flow: the ACK, segments 0-2, segment 3, segments 4-8.
            assert_eq!(rx_packets() - before, 8);
            pump.handle.stop().await.unwrap();
        });
    });
}
