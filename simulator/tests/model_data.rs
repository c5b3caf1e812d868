//! The data plane: ICMP and ICMPv6 echo through NTBs built by NtbBuilder,
//! NTB32 after SET_NTB_FORMAT, the host's NTB input size, traffic counters
//! (each session's sink and generator its own).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod data_support;

use data_support::{connected, datagrams, generator, next_block, ntb, set_traffic, GW4, HOST4};
use mbim_protocol::ntb::{NdpSignature, NtbFormat};
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::usb::{ClassRequest, NtbInputSize, SetupPacket};
use mbim_sim::control::ControlCommand;
use mbim_sim::model::host::Host;
use mbim_sim::model::net;
use mbim_sim::scenario::Scenario;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

fn gw6() -> Ipv6Addr {
    "fd00:6d62::1".parse().unwrap()
}

fn host6() -> Ipv6Addr {
    "fd00:6d62::2".parse().unwrap()
}

fn class(
    host: &mut Host,
    request: ClassRequest,
    value: u16,
    data: &[u8],
    length: u16,
    input: bool,
) -> Result<Vec<u8>, mbim_sim::model::EndpointError> {
    let setup = SetupPacket::class(request, 1, value, length, input);
    host.modem.handle_class_request(host.now, 0, setup, data)
}

#[test]
fn icmp_and_icmpv6_echo_to_the_gateway() {
    let mut host = connected(&[0]);
    let request4 = net::icmpv4_echo_request(HOST4, GW4, 0x77, 1, b"ping four");
    let request6 = net::icmpv6_echo_request(host6(), gw6(), 0x66, 2, b"ping six");
    host.modem
        .handle_bulk_out(
            host.now,
            0,
            &ntb(NtbFormat::Ntb16, &[(0, request4), (0, request6)]),
        )
        .unwrap();
    let block = next_block(&mut host).unwrap();
    assert_eq!(&block[..4], b"NCMH");
    let replies = datagrams(&block);
    assert_eq!(replies.len(), 2);
    let (signature, reply4) = &replies[0];
    assert_eq!(*signature, NdpSignature::Ips(0));
    assert!(net::ipv4_checksums_ok(reply4));
    assert_eq!(&reply4[12..16], &GW4.octets());
    assert_eq!(&reply4[16..20], &HOST4.octets());
    assert_eq!(reply4[20], 0, "echo reply");
    assert_eq!(&reply4[28..], b"ping four");
    let (_, reply6) = &replies[1];
    assert!(net::ipv6_checksum_ok(reply6));
    assert_eq!(reply6[40], 129);
    assert_eq!(&reply6[8..24], &gw6().octets());
    assert_eq!(&reply6[48..], b"ping six");
    assert!(next_block(&mut host).is_none());
}

#[test]
fn inactive_sessions_and_other_destinations_are_dropped() {
    let mut host = connected(&[0]);
    let to_gw = net::icmpv4_echo_request(HOST4, GW4, 1, 1, b"x");
    let elsewhere = net::icmpv4_echo_request(HOST4, Ipv4Addr::new(8, 8, 8, 8), 1, 1, b"x");
    let mut bad_sum = to_gw.clone();
    bad_sum[28] ^= 0xFF;
    host.modem
        .handle_bulk_out(
            host.now,
            0,
            &ntb(
                NtbFormat::Ntb16,
                &[(1, to_gw), (0, elsewhere), (0, bad_sum)],
            ),
        )
        .unwrap();
    assert!(next_block(&mut host).is_none());
}

#[test]
fn ntb32_after_set_ntb_format() {
    let mut host = connected(&[0]);
    // Only while the data interface is off.
    assert!(class(&mut host, ClassRequest::SetNtbFormat, 1, &[], 0, false).is_err());
    host.modem.set_data_alt_setting(0, 0);
    class(&mut host, ClassRequest::SetNtbFormat, 1, &[], 0, false).unwrap();
    assert_eq!(
        class(&mut host, ClassRequest::GetNtbFormat, 0, &[], 2, true).unwrap(),
        vec![1, 0]
    );
    host.modem.set_data_alt_setting(0, 1);
    let request = net::icmpv4_echo_request(HOST4, GW4, 3, 3, b"thirty-two");
    // An NTB16 is refused now.
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &[(0, request.clone())]))
        .unwrap();
    assert!(next_block(&mut host).is_none());
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb32, &[(0, request)]))
        .unwrap();
    let block = next_block(&mut host).unwrap();
    assert_eq!(&block[..4], b"ncmh");
    let replies = datagrams(&block);
    assert!(net::ipv4_checksums_ok(&replies[0].1));
}

#[test]
fn ntb_parameters_and_input_size_are_honoured() {
    let mut host = connected(&[0]);
    let parameters = class(&mut host, ClassRequest::GetNtbParameters, 0, &[], 28, true).unwrap();
    let parameters = mbim_protocol::ntb::NtbParameters::parse(&parameters).unwrap();
    assert_eq!(parameters, Scenario::default_dssa().ntb.parameters());
    // Too small for NCM: stalled.
    let small = NtbInputSize {
        max_size: 1024,
        max_datagrams: None,
    };
    assert!(class(
        &mut host,
        ClassRequest::SetNtbInputSize,
        0,
        &small.emit(),
        4,
        false
    )
    .is_err());
    let size = NtbInputSize {
        max_size: 2048,
        max_datagrams: Some(2),
    };
    class(
        &mut host,
        ClassRequest::SetNtbInputSize,
        0,
        &size.emit(),
        8,
        false,
    )
    .unwrap();
    assert_eq!(
        NtbInputSize::parse(
            &class(&mut host, ClassRequest::GetNtbInputSize, 0, &[], 8, true).unwrap()
        ),
        Some(size)
    );
    let pings: Vec<(u8, Vec<u8>)> = (0..5)
        .map(|seq| {
            (
                0,
                net::icmpv4_echo_request(HOST4, GW4, 9, seq, &[0xAB; 500]),
            )
        })
        .collect();
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &pings))
        .unwrap();
    let mut total = 0;
    while let Some(block) = next_block(&mut host) {
        assert!(block.len() <= 2048);
        let count = datagrams(&block).len();
        assert!(count <= 2);
        total += count;
    }
    assert_eq!(total, 5);
    // Alt setting 0 drops what is queued.
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &pings))
        .unwrap();
    host.modem.set_data_alt_setting(0, 0);
    host.modem.set_data_alt_setting(0, 1);
    assert!(next_block(&mut host).is_none());
}

#[test]
fn traffic_mode_sinks_and_sources_udp() {
    let mut host = connected(&[0]);
    set_traffic(&mut host, 0, Some(5001), Some(generator(HOST4, 1000, 1000)));
    // Sink: three datagrams of 100 bytes to the gateway's port 5001.
    let sink: Vec<(u8, Vec<u8>)> = (0..3)
        .map(|_| {
            (
                0,
                net::udp_packet(HOST4.into(), 4000, GW4.into(), 5001, 100).unwrap(),
            )
        })
        .collect();
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &sink))
        .unwrap();
    // Source: 1000/s for 10 ms = 10 datagrams.
    host.advance(Duration::from_millis(10));
    let mut generated = Vec::new();
    while let Some(block) = host.modem.poll_bulk_in(host.now, 0, 32768).unwrap() {
        generated.extend(datagrams(&block));
    }
    assert_eq!(generated.len(), 10);
    for (_, packet) in &generated {
        assert!(net::ipv4_checksums_ok(packet));
        assert_eq!(packet.len(), 20 + 8 + 1000);
        assert_eq!(&packet[16..20], &HOST4.octets());
    }
    let status = match host
        .modem
        .control(host.now, ControlCommand::Status)
        .unwrap()
    {
        mbim_sim::control::ControlReply::Status { status } => status,
        other => panic!("{other:?}"),
    };
    let data = &status["executors"][0]["data"];
    assert_eq!(data["sink_packets"], 3);
    assert_eq!(data["sink_bytes"], 300);
    assert_eq!(data["source_packets"], 10);
    assert_eq!(data["source_bytes"], 10_000);
    // Its next datagram is due 1 ms later.
    assert!(host
        .modem
        .poll_bulk_timeout(0)
        .is_some_and(|at| at > host.now));
}

#[test]
fn connect_raises_network_connection_and_speed() {
    use mbim_protocol::message::Message;
    use mbim_protocol::status::CommandType;
    use mbim_protocol::usb::Notification;
    use mbim_protocol::Payload;
    let mut host = Host::new(Scenario::default_dssa(), Instant::now()).unwrap();
    host.open(0);
    let mut set = bc::ConnectSet {
        session_id: 0,
        activation_command: bc::ActivationCommand::Activate,
        access_string: "internet".to_owned(),
        user_name: String::new(),
        password: String::new(),
        compression: bc::Compression::None,
        auth_protocol: bc::AuthProtocol::None,
        ip_type: bc::ContextIpType::Ipv4,
        context_type: bc::ContextType::Internet.uuid(),
    };
    let command = |tid, set: &bc::ConnectSet| {
        Message::command(tid, bc::SERVICE.uuid, 12, CommandType::Set, set.encode())
    };
    host.send(0, &command(50, &set)).unwrap();
    let mut notifications = Vec::new();
    while let Some(n) = host.modem.poll_notification(0).unwrap() {
        notifications.push(n);
    }
    assert!(notifications.contains(&Notification::NetworkConnection {
        interface: 0,
        connected: true
    }));
    assert!(
        notifications.contains(&Notification::ConnectionSpeedChange {
            interface: 0,
            downlink: 150_000_000,
            uplink: 50_000_000
        })
    );
    set.activation_command = bc::ActivationCommand::Deactivate;
    host.send(0, &command(51, &set)).unwrap();
    let mut notifications = Vec::new();
    while let Some(n) = host.modem.poll_notification(0).unwrap() {
        notifications.push(n);
    }
    assert!(notifications.contains(&Notification::NetworkConnection {
        interface: 0,
        connected: false
    }));
}

#[test]
fn each_session_has_its_own_sink_and_generator() {
    let mut host = connected(&[0, 1]);
    // Session 1's addresses (scenario/ip.rs: the next /30).
    let host4_1 = Ipv4Addr::new(10, 64, 0, 6);
    let gw4_1 = Ipv4Addr::new(10, 64, 0, 5);
    set_traffic(&mut host, 0, Some(5001), None);
    set_traffic(
        &mut host,
        1,
        Some(5001),
        Some(generator(host4_1, 1000, 100)),
    );
    // Two datagrams to session 0's sink, three to session 1's.
    let udp = |from: Ipv4Addr, to: Ipv4Addr, size| {
        net::udp_packet(from.into(), 4000, to.into(), 5001, size).unwrap()
    };
    let mut sent = vec![(0, udp(HOST4, GW4, 10)), (0, udp(HOST4, GW4, 10))];
    sent.extend((0..3).map(|_| (1, udp(host4_1, gw4_1, 50))));
    host.modem
        .handle_bulk_out(host.now, 0, &ntb(NtbFormat::Ntb16, &sent))
        .unwrap();
    let sink = |host: &Host, session| host.modem.sink_counters(0, session).unwrap();
    assert_eq!((sink(&host, 0).packets, sink(&host, 0).bytes), (2, 20));
    assert_eq!((sink(&host, 1).packets, sink(&host, 1).bytes), (3, 150));
    // Session 1's generator sends on session 1's NDP only.
    host.advance(Duration::from_millis(5));
    let mut generated = Vec::new();
    while let Some(block) = host.modem.poll_bulk_in(host.now, 0, 32768).unwrap() {
        generated.extend(datagrams(&block));
    }
    assert_eq!(generated.len(), 5);
    assert!(generated
        .iter()
        .all(|(signature, packet)| *signature == NdpSignature::Ips(1)
            && packet[16..20] == host4_1.octets()));
    // Stopping session 1's traffic leaves session 0's sink counting.
    set_traffic(&mut host, 1, None, None);
    host.modem
        .handle_bulk_out(
            host.now,
            0,
            &ntb(
                NtbFormat::Ntb16,
                &[(0, udp(HOST4, GW4, 10)), (1, udp(host4_1, gw4_1, 50))],
            ),
        )
        .unwrap();
    assert_eq!(sink(&host, 0).packets, 3);
    assert_eq!(sink(&host, 1).packets, 3);
    assert!(host.modem.poll_bulk_timeout(0).is_none());
}
