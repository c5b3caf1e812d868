//! The SimModem / SimFunction handles end to end, as the USB/IP server and
//! in-process tests use them: class requests, RESPONSE_AVAILABLE on the
//! interrupt pipe, NTBs on bulk IN/OUT, timers driven by `run`, unplug.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod data_support;
mod device_support;

use mbim_protocol::message::Message;
use mbim_protocol::ntb::Ntb;
use mbim_protocol::services::basic_connect::{self as bc, cid as bcc};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::{ClassRequest, SetupPacket};
use mbim_protocol::Payload;
use mbim_sim::control::{ControlCommand, ControlReply};
use mbim_sim::device::{EndpointError, SimFunction, SimModem};
use mbim_sim::model::net;
use mbim_sim::scenario::Scenario;

use device_support::{command, connect, echo_ntb, open, receive, send};
use std::time::Duration;

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
    open(&function).await;
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

    connect(&function, 3).await;
    function.bulk_out(&echo_ntb(1)).unwrap();
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
        open(function).await;
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
    open(&function).await;
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
    open(&function).await;
    connect(&function, 2).await;
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
