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
use mbim_protocol::session::{Session, SessionConfig, SessionEvent};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbim_transport::{FunctionTransport, InPipe, OutPipe, Pipe, TransportError};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

struct Host {
    transport: InProcessFunction,
    session: Session,
}

impl Host {
    async fn flush(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            self.transport
                .control_out(ClassRequest::SendEncapsulatedCommand, 0, bytes)
                .await
                .unwrap();
        }
    }

    /// Reads responses until an event `keep` accepts arrives.
    async fn wait_for<T>(&mut self, mut keep: impl FnMut(SessionEvent) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            while let Some(event) = self.session.poll_event() {
                if let Some(found) = keep(event) {
                    return found;
                }
            }
            let notification =
                tokio::time::timeout_at(deadline.into(), self.transport.next_notification())
                    .await
                    .expect("the modem answers in time")
                    .unwrap();
            if let Notification::ResponseAvailable { .. } = notification {
                let bytes = self
                    .transport
                    .control_in(ClassRequest::GetEncapsulatedResponse, 0, 4096)
                    .await
                    .unwrap();
                self.session.handle_message(Instant::now(), &bytes);
                self.flush().await;
            }
        }
    }

    async fn request<C: Cid>(
        &mut self,
        command_type: CommandType,
        payload: Vec<u8>,
    ) -> (Status, Vec<u8>) {
        let id = self
            .session
            .command(Instant::now(), C::SERVICE, C::ID, command_type, payload)
            .unwrap();
        self.flush().await;
        self.wait_for(|event| match event {
            SessionEvent::Response {
                transaction_id,
                status,
                information_buffer,
                ..
            } if transaction_id == id => Some((status, information_buffer)),
            _ => None,
        })
        .await
    }

    async fn query<C: Cid>(&mut self, payload: impl Payload) -> C::Response {
        let (status, buffer) = self
            .request::<C>(CommandType::Query, payload.encode())
            .await;
        assert_eq!(status, Status::Success, "{}", C::NAME);
        C::Response::decode(&buffer).unwrap()
    }
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

    let mut host = Host {
        transport,
        session: Session::new(SessionConfig {
            max_control_transfer: 4096,
            ..SessionConfig::default()
        }),
    };
    host.session.open(Instant::now()).unwrap();
    host.flush().await;
    host.wait_for(|event| matches!(event, SessionEvent::Opened).then_some(()))
        .await;

    let caps: DeviceCapsInfo = host.query::<basic_connect::cid::DeviceCaps>(Empty).await;
    assert_eq!(caps.firmware_info, "mbim-sim 0.1");
    let ready: SubscriberReadyInfo = host
        .query::<basic_connect::cid::SubscriberReadyStatus>(Empty)
        .await;
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
        .await;
    assert_eq!(status, Status::Success);
    let connected = ConnectInfo::decode(&buffer).unwrap();
    assert_eq!(connected.activation_state, ActivationState::Activated);

    let ip: IpConfigurationInfo = host
        .query::<basic_connect::cid::IpConfiguration>(IpConfigurationInfo::default())
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
