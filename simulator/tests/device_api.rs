//! The SimModem / SimFunction handles end to end, as the USB/IP server and
//! in-process tests use them: class requests, RESPONSE_AVAILABLE on the
//! interrupt pipe, NTBs on bulk IN/OUT, timers driven by `run`, unplug.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::message::Message;
use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat};
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::{ClassRequest, Notification, SetupPacket};
use mbim_protocol::Payload;
use mbim_sim::control::{ControlCommand, ControlReply};
use mbim_sim::device::{EndpointError, SimFunction, SimModem};
use mbim_sim::model::net;
use mbim_sim::scenario::Scenario;
use std::time::Duration;

async fn send(function: &SimFunction, message: &Message) {
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
async fn receive(function: &SimFunction) -> Message {
    loop {
        let notification =
            tokio::time::timeout(Duration::from_secs(5), function.next_notification())
                .await
                .expect("a notification")
                .unwrap();
        if let Notification::ResponseAvailable { interface } = notification {
            assert_eq!(interface, u16::from(function.comm_interface()));
            let setup = SetupPacket::class(
                ClassRequest::GetEncapsulatedResponse,
                function.comm_interface(),
                0,
                4096,
                true,
            );
            let bytes = function.class_request(setup, &[]).unwrap();
            return Message::parse(&bytes).unwrap();
        }
    }
}

async fn command(
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

#[tokio::test]
async fn open_caps_connect_and_ping() {
    let mut scenario = Scenario::default_dssa();
    scenario.modem.open_delay_ms = 50;
    let modem = SimModem::new(scenario).unwrap();
    let runner = tokio::spawn({
        let modem = modem.clone();
        async move { modem.run().await }
    });
    assert_eq!(modem.function_count(), 1);
    assert!(modem.function(1).is_none());
    let function = modem.function(0).unwrap();
    let config = function.config();
    assert_eq!(config.mbim_version, 0x0100);
    assert_eq!(config.max_control_message, 4096);
    assert_eq!(config.ntb_parameters, modem.scenario().ntb.parameters());

    // Nothing queued yet: an empty response.
    let setup = SetupPacket::class(ClassRequest::GetEncapsulatedResponse, 0, 0, 4096, true);
    assert!(function.class_request(setup, &[]).unwrap().is_empty());
    // An unknown request stalls.
    let bogus = SetupPacket {
        request_type: 0x21,
        request: 0x42,
        value: 0,
        index: 0,
        length: 0,
    };
    assert_eq!(
        function.class_request(bogus, &[]),
        Err(EndpointError::Stall)
    );

    let started = std::time::Instant::now();
    send(
        &function,
        &Message::Open {
            transaction_id: 1,
            max_control_transfer: 4096,
        },
    )
    .await;
    let open = receive(&function).await;
    assert!(matches!(
        open,
        Message::OpenDone {
            transaction_id: 1,
            status: Status::Success
        }
    ));
    assert!(started.elapsed() >= Duration::from_millis(50));

    let (status, caps) = command(
        &function,
        2,
        bcc::DeviceCaps::ID,
        CommandType::Query,
        vec![],
    )
    .await;
    assert_eq!(status, Status::Success);
    assert_eq!(
        <bcc::DeviceCaps as Cid>::Response::decode(&caps)
            .unwrap()
            .device_id,
        "350000000000001"
    );

    let connect = bc::ConnectSet {
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
    let (status, _) = command(
        &function,
        3,
        bcc::Connect::ID,
        CommandType::Set,
        connect.encode(),
    )
    .await;
    assert_eq!(status, Status::Success);

    function.set_data_alt_setting(1);
    let limits = BuildLimits {
        max_size: 16384,
        max_datagrams: 0,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 4,
    };
    let mut builder = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let request = net::icmpv4_echo_request(
        "10.64.0.2".parse().unwrap(),
        "10.64.0.1".parse().unwrap(),
        1,
        1,
        b"hi",
    );
    builder.push(NdpSignature::Ips(0), &request).unwrap();
    function.bulk_out(builder.finish().unwrap()).unwrap();
    let block = tokio::time::timeout(Duration::from_secs(5), function.next_bulk_in(16384))
        .await
        .unwrap()
        .unwrap();
    let ntb = Ntb::new_checked(&block).unwrap();
    let reply = ntb.datagrams().next().unwrap().unwrap();
    assert!(net::ipv4_checksums_ok(reply.data));
    assert_eq!(reply.data[20], 0);

    // Status report through the handle.
    let ControlReply::Status { status } = modem.control(ControlCommand::Status).unwrap() else {
        panic!()
    };
    assert_eq!(status["executors"][0]["data"]["echo_replies"], 1);

    // Unplug: every endpoint fails, run and unplugged return.
    assert!(!modem.is_unplugged());
    modem.control(ControlCommand::Unplug).unwrap();
    assert!(modem.is_unplugged());
    tokio::time::timeout(Duration::from_secs(5), modem.unplugged())
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), runner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        function.next_notification().await,
        Err(EndpointError::Unplugged)
    );
    assert_eq!(
        function.next_bulk_in(100).await,
        Err(EndpointError::Unplugged)
    );
    assert_eq!(function.bulk_out(&[]), Err(EndpointError::Unplugged));
    assert_eq!(
        modem.control(ControlCommand::RemoveSim { slot: 0 }),
        Err(mbim_sim::control::ControlError::Unplugged)
    );
}

#[tokio::test]
async fn queued_device_wide_sets_complete_under_run() {
    let scenario = Scenario::from_toml_str(
        include_str!("../scenarios/two-executors.toml"),
        "two-executors.toml",
    )
    .unwrap();
    let modem = SimModem::new(scenario).unwrap();
    tokio::spawn({
        let modem = modem.clone();
        async move { modem.run().await }
    });
    let f0 = modem.function(0).unwrap();
    let f1 = modem.function(1).unwrap();
    for function in [&f0, &f1] {
        send(
            function,
            &Message::Open {
                transaction_id: 1,
                max_control_transfer: 4096,
            },
        )
        .await;
        assert!(matches!(receive(function).await, Message::OpenDone { .. }));
    }
    assert_eq!(f1.comm_interface(), 2);
    let ms = mbim_protocol::services::ms_basic_connect_extensions::SERVICE.uuid;
    let mapping = |slots: &[u32]| {
        mbim_protocol::services::ms_basic_connect_extensions::DeviceSlotMappingInfo::from_slots(
            slots,
        )
        .encode()
    };
    send(
        &f0,
        &Message::command(10, ms, 7, CommandType::Set, mapping(&[1, 0])),
    )
    .await;
    send(
        &f1,
        &Message::command(11, ms, 7, CommandType::Set, mapping(&[0, 1])),
    )
    .await;
    let wait_done = |function: SimFunction, tid: u32| async move {
        loop {
            if let Message::CommandDone(done) = receive(&function).await {
                if done.transaction_id == tid {
                    return (std::time::Instant::now(), done.data);
                }
            }
        }
    };
    let (first_at, first) = wait_done(f0.clone(), 10).await;
    let (second_at, second) = wait_done(f1.clone(), 11).await;
    assert!(second_at >= first_at);
    assert_eq!(first, mapping(&[1, 0]));
    assert_eq!(second, mapping(&[0, 1]));
    modem.control(ControlCommand::Unplug).unwrap();
}

#[tokio::test]
async fn reset_closes_the_function() {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let function = modem.function(0).unwrap();
    send(
        &function,
        &Message::Open {
            transaction_id: 1,
            max_control_transfer: 4096,
        },
    )
    .await;
    assert!(matches!(receive(&function).await, Message::OpenDone { .. }));
    function.reset();
    send(
        &function,
        &Message::command(2, bc::SERVICE.uuid, 1, CommandType::Query, vec![]),
    )
    .await;
    assert!(matches!(
        receive(&function).await,
        Message::FunctionError {
            error: mbim_protocol::status::ProtocolError::NotOpened,
            ..
        }
    ));
}

#[tokio::test]
async fn traffic_generator_feeds_bulk_in() {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let function = modem.function(0).unwrap();
    send(
        &function,
        &Message::Open {
            transaction_id: 1,
            max_control_transfer: 4096,
        },
    )
    .await;
    assert!(matches!(receive(&function).await, Message::OpenDone { .. }));
    let connect = bc::ConnectSet {
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
    let (status, _) = command(
        &function,
        2,
        bcc::Connect::ID,
        CommandType::Set,
        connect.encode(),
    )
    .await;
    assert_eq!(status, Status::Success);
    function.set_data_alt_setting(1);
    let command: ControlCommand = serde_json::from_str(
        r#"{"command":"traffic","executor":0,"source":{"address":"10.64.0.2","port":5000,"rate":200,"size":100}}"#,
    )
    .unwrap();
    modem.control(command).unwrap();
    let mut received = 0;
    while received < 5 {
        let block = tokio::time::timeout(Duration::from_secs(5), function.next_bulk_in(16384))
            .await
            .unwrap()
            .unwrap();
        for datagram in Ntb::new_checked(&block).unwrap().datagrams() {
            let datagram = datagram.unwrap();
            assert!(net::ipv4_checksums_ok(datagram.data));
            received += 1;
        }
    }
    let ControlReply::Status { status } = modem.control(ControlCommand::Status).unwrap() else {
        panic!()
    };
    assert_eq!(status["executors"][0]["data"]["source_packets"], received);
}
