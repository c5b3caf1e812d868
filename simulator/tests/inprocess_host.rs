//! A host built from the protocol crate's session and NTB code, talking to the
//! simulated modem through the in-process `FunctionTransport` — the path the
//! daemon's fast tests take, end to end: NTB parameters, OPEN, CIDs, CONNECT,
//! and an ICMP echo through the bulk pipes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::codec::{Empty, Payload};
use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat, NtbParameters};
use mbim_protocol::services::basic_connect::{
    self, ActivationCommand, ActivationState, AuthProtocol, Compression, ConnectInfo, ConnectSet,
    ContextIpType, ContextType, DeviceCapsInfo, IpConfigurationInfo, SubscriberReadyInfo,
    SubscriberReadyState,
};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::ClassRequest;
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::{InProcessFunction, InProcessHost};
use mbim_sim::scenario::Scenario;
use mbim_transport::{FunctionTransport, InPipe, OutPipe, Pipe, TransportError};
use std::net::Ipv4Addr;
use std::time::Duration;

/// Queries `C` and decodes its response, which must succeed.
async fn query<C: Cid>(host: &mut InProcessHost, payload: impl Payload) -> C::Response {
    let (status, buffer) = host
        .request::<C>(CommandType::Query, payload.encode())
        .await
        .unwrap();
    assert_eq!(status, Status::Success, "{}", C::NAME);
    C::Response::decode(&buffer).unwrap()
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap()
}

fn icmp_echo_request(source: Ipv4Addr, destination: Ipv4Addr, id: u16) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&1u16.to_be_bytes());
    icmp.extend_from_slice(b"mbimd in-process ping");
    let sum = checksum(&icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let total = u16::try_from(20 + icmp.len()).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&source.octets());
    ip.extend_from_slice(&destination.octets());
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend(icmp);
    ip
}

#[tokio::test]
async fn a_host_reaches_the_gateway_through_the_in_process_transport() {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let transport = InProcessFunction::new(modem.function(0).unwrap());

    let parameters = transport
        .control_in(ClassRequest::GetNtbParameters, 0, 28)
        .await
        .unwrap();
    let parameters = NtbParameters::parse(&parameters).unwrap();
    transport.set_data_alt_setting(1).await.unwrap();
    let (mut bulk_in, mut bulk_out) = transport.take_data_pipes().unwrap();

    let mut host = InProcessHost::new(transport, Duration::from_secs(5));
    host.open().await.unwrap();

    let caps: DeviceCapsInfo = query::<basic_connect::cid::DeviceCaps>(&mut host, Empty).await;
    assert_eq!(caps.firmware_info, "mbim-sim 0.1");
    let ready: SubscriberReadyInfo =
        query::<basic_connect::cid::SubscriberReadyStatus>(&mut host, Empty).await;
    assert_eq!(ready.ready_state, SubscriberReadyState::Initialized);
    assert_eq!(ready.sim_iccid, "8988200000000000001");

    let connect = ConnectSet {
        session_id: 0,
        activation_command: ActivationCommand::Activate,
        access_string: "internet".to_owned(),
        user_name: String::new(),
        password: String::new(),
        compression: Compression::None,
        auth_protocol: AuthProtocol::None,
        ip_type: ContextIpType::Ipv4v6,
        context_type: ContextType::Internet.uuid(),
    };
    let (status, buffer) = host
        .request::<basic_connect::cid::Connect>(CommandType::Set, connect.encode())
        .await
        .unwrap();
    assert_eq!(status, Status::Success);
    let connected = ConnectInfo::decode(&buffer).unwrap();
    assert_eq!(connected.activation_state, ActivationState::Activated);

    let ip: IpConfigurationInfo =
        query::<basic_connect::cid::IpConfiguration>(&mut host, IpConfigurationInfo::default())
            .await;
    let address = ip.ipv4_addresses[0].ipv4_address;
    let gateway = ip.ipv4_gateway.unwrap();
    assert_eq!(
        (address, gateway),
        (Ipv4Addr::new(10, 64, 0, 2), Ipv4Addr::new(10, 64, 0, 1))
    );

    // One ping through the data pipes, as the daemon's pump will send it.
    let mut builder =
        NtbBuilder::new(NtbFormat::Ntb16, BuildLimits::from_parameters(&parameters)).unwrap();
    let request = icmp_echo_request(address, gateway, 0x4d42);
    builder.push(NdpSignature::Ips(0), &request).unwrap();
    bulk_out.submit(builder.finish().unwrap().to_vec());
    let sent = bulk_out.next_complete().await;
    assert_eq!(sent.status, Ok(()));

    bulk_in.submit(Vec::with_capacity(16384), 16384);
    let received = tokio::time::timeout(Duration::from_secs(5), bulk_in.next_complete())
        .await
        .expect("the echo reply arrives");
    assert_eq!(received.status, Ok(()));
    let ntb = Ntb::new_checked(&received.buffer).unwrap();
    let datagrams: Vec<_> = ntb.datagrams().map(Result::unwrap).collect();
    assert_eq!(datagrams.len(), 1);
    assert_eq!(datagrams[0].signature, NdpSignature::Ips(0));
    let reply = datagrams[0].data;
    assert_eq!(&reply[12..16], &gateway.octets());
    assert_eq!(&reply[16..20], &address.octets());
    assert_eq!(reply[20], 0, "ICMP echo reply");
    assert_eq!(checksum(&reply[20..]), 0, "ICMP checksum");
    assert_eq!(checksum(&reply[..20]), 0, "IPv4 header checksum");

    // Cancelled transfers still complete, marked as such.
    bulk_in.submit(Vec::new(), 16384);
    bulk_in.cancel_all();
    assert_eq!(
        bulk_in.next_complete().await.status,
        Err(TransportError::Cancelled)
    );
}

#[tokio::test]
async fn unplug_is_seen_as_a_disconnected_transport() {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let transport = InProcessFunction::new(modem.function(0).unwrap());
    modem
        .control(serde_json::from_str(r#"{"command": "unplug"}"#).unwrap())
        .unwrap();
    assert_eq!(
        transport.next_notification().await,
        Err(TransportError::Disconnected)
    );
    assert_eq!(
        transport
            .control_in(ClassRequest::GetNtbParameters, 0, 28)
            .await,
        Err(TransportError::Disconnected)
    );
}
