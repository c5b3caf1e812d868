//! What the tests of the `SimModem`/`SimFunction` handles share (on top of
//! `data_support`, which the test must declare too): the host's side of
//! the control channel (a message on SEND_ENCAPSULATED_COMMAND, the
//! answer after RESPONSE_AVAILABLE), a connected session, and an ICMP echo
//! to the simulated gateway in an NTB.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::data_support::{connect_set, ntb, GW4, HOST4};
use mbim_protocol::message::Message;
use mbim_protocol::ntb::NtbFormat;
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::{ClassRequest, Notification, SetupPacket};
use mbim_protocol::Payload;
use mbim_sim::device::SimFunction;
use mbim_sim::model::net;
use std::time::Duration;

/// Sends `message` on SEND_ENCAPSULATED_COMMAND.
pub(crate) async fn send(function: &SimFunction, message: &Message) {
    let bytes = message.to_bytes().unwrap();
    let setup = SetupPacket::class(
        ClassRequest::SendEncapsulatedCommand,
        function.comm_interface(),
        0,
        u16::try_from(bytes.len()).unwrap(),
        false,
    );
    function.class_request(setup, &bytes).unwrap();
}

/// Waits for RESPONSE_AVAILABLE and reads one message.
pub(crate) async fn receive(function: &SimFunction) -> Message {
    loop {
        let notification =
            tokio::time::timeout(Duration::from_secs(5), function.next_notification())
                .await
                .expect("a notification")
                .unwrap();
        if let Notification::ResponseAvailable { interface } = notification {
            assert_eq!(interface, u16::from(function.comm_interface()));
            return read_response(function);
        }
    }
}

/// GET_ENCAPSULATED_RESPONSE: the message RESPONSE_AVAILABLE announced.
pub(crate) fn read_response(function: &SimFunction) -> Message {
    let setup = SetupPacket::class(
        ClassRequest::GetEncapsulatedResponse,
        function.comm_interface(),
        0,
        4096,
        true,
    );
    let bytes = function.class_request(setup, &[]).unwrap();
    Message::parse(&bytes).unwrap()
}

/// Sends a basic-connect COMMAND and waits for its COMMAND_DONE.
pub(crate) async fn command(
    function: &SimFunction,
    tid: u32,
    cid: u32,
    command_type: CommandType,
    buffer: Vec<u8>,
) -> (Status, Vec<u8>) {
    send(
        function,
        &Message::command(tid, bc::SERVICE.uuid, cid, command_type, buffer),
    )
    .await;
    loop {
        if let Message::CommandDone(done) = receive(function).await {
            if done.transaction_id == tid {
                return (done.head.unwrap().status, done.data);
            }
        }
    }
}

/// Opens `function` (transaction 1), which must succeed.
pub(crate) async fn open(function: &SimFunction) {
    send(
        function,
        &Message::Open {
            transaction_id: 1,
            max_control_transfer: 4096,
        },
    )
    .await;
    assert!(matches!(
        receive(function).await,
        Message::OpenDone {
            transaction_id: 1,
            status: Status::Success
        }
    ));
}

/// Activates session 0 (APN "internet", IPv4) with transaction `tid`,
/// which must succeed, and puts the data interface at alternate setting 1.
pub(crate) async fn connect(function: &SimFunction, tid: u32) {
    let connect = connect_set(0, bc::ActivationCommand::Activate, bc::ContextIpType::Ipv4);
    let (status, _) = command(
        function,
        tid,
        bcc::Connect::ID,
        CommandType::Set,
        connect.encode(),
    )
    .await;
    assert_eq!(status, Status::Success);
    function.set_data_alt_setting(1);
}

/// An NTB16 with one ICMP echo request (`sequence`) from the default
/// scenario's host to its gateway on session 0.
pub(crate) fn echo_ntb(sequence: u16) -> Vec<u8> {
    let request = net::icmpv4_echo_request(HOST4, GW4, 1, sequence, b"hi");
    ntb(NtbFormat::Ntb16, &[(0, request)])
}
