#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use super::*;
use mbim_protocol::services::proxy_control::cid::Configuration;
use std::sync::Arc;

/// What `mbimcli -p -d /tmp/fakewdm` (libmbim 1.28.2) sent first, captured
/// on the abstract socket (as in protocol/tests/proxy_control.rs).
const MBIMCLI_CONFIGURATION: &str = "0300000054000000010000000100000000000000838cf7fb8d0d4d7f871ed71dbefbb39b\
     0100000001000000240000000c000000180000001e0000002f0074006d0070002f00660061006b006500770064006d00";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

fn now() -> Instant {
    Instant::now()
}

fn sent(output: &Output) -> Message {
    match output {
        Output::Send(bytes) => Message::parse(bytes).unwrap(),
        other => panic!("expected a message to send, got {other:?}"),
    }
}

fn command(
    transaction_id: u32,
    service: Uuid,
    cid: u32,
    kind: CommandType,
    data: Vec<u8>,
) -> Vec<u8> {
    Message::command(transaction_id, service, cid, kind, data)
        .to_bytes()
        .unwrap()
}

fn done_of(message: &Message) -> (u32, Uuid, u32, Status, Vec<u8>) {
    let Message::CommandDone(done) = message else {
        panic!("not a COMMAND_DONE: {message:?}");
    };
    let head = done.head.unwrap();
    (
        done.transaction_id,
        head.service,
        head.cid,
        head.status,
        done.data.clone(),
    )
}

/// A connection configured for `/tmp/fakewdm` with the given version.
fn configured(version: MbimExVersion) -> ProxyConnection {
    let mut connection = ProxyConnection::new();
    let outputs = connection.handle_bytes(now(), &hex(MBIMCLI_CONFIGURATION));
    assert_eq!(
        outputs,
        [Output::Configure {
            transaction_id: 1,
            path: "/tmp/fakewdm".to_owned()
        }]
    );
    let outputs = connection.configured(1, "/tmp/fakewdm".to_owned(), Some(version));
    let (transaction_id, service, cid, status, data) = done_of(&sent(&outputs[0]));
    assert_eq!(
        (transaction_id, service, cid, status),
        (1, pc::SERVICE.uuid, Configuration::ID, Status::Success)
    );
    assert!(data.is_empty());
    connection
}

#[test]
fn a_configured_client_opens_sends_commands_and_closes() {
    let mut connection = configured(MbimExVersion::V1);
    let open = Message::Open {
        transaction_id: 2,
        max_control_transfer: 4096,
    };
    let outputs = connection.handle_bytes(now(), &open.to_bytes().unwrap());
    assert_eq!(
        sent(&outputs[0]),
        Message::OpenDone {
            transaction_id: 2,
            status: Status::Success
        }
    );

    let caps = command(
        3,
        bc::SERVICE.uuid,
        bc::cid::DeviceCaps::ID,
        CommandType::Query,
        Vec::new(),
    );
    let outputs = connection.handle_bytes(now(), &caps);
    assert_eq!(
        outputs,
        [Output::Forward {
            transaction_id: 3,
            service: bc::SERVICE.uuid,
            cid: bc::cid::DeviceCaps::ID,
            command_type: CommandType::Query,
            payload: Vec::new(),
        }]
    );
    let answer = PassthroughAnswer::Done {
        status: Status::Success,
        information_buffer: vec![1, 2, 3, 4],
    };
    let output = connection.answered(3, bc::SERVICE.uuid, bc::cid::DeviceCaps::ID, answer);
    assert_eq!(
        done_of(&sent(&output)),
        (
            3,
            bc::SERVICE.uuid,
            bc::cid::DeviceCaps::ID,
            Status::Success,
            vec![1, 2, 3, 4]
        )
    );

    let close = Message::Close { transaction_id: 4 }.to_bytes().unwrap();
    let outputs = connection.handle_bytes(now(), &close);
    assert_eq!(
        sent(&outputs[0]),
        Message::CloseDone {
            transaction_id: 4,
            status: Status::Success
        }
    );
}

#[test]
fn before_configuration_nothing_reaches_a_device() {
    let mut connection = ProxyConnection::new();
    let open = Message::Open {
        transaction_id: 1,
        max_control_transfer: 4096,
    };
    let outputs = connection.handle_bytes(now(), &open.to_bytes().unwrap());
    assert_eq!(
        sent(&outputs[0]),
        Message::OpenDone {
            transaction_id: 1,
            status: Status::Failure
        }
    );
    let caps = command(
        2,
        bc::SERVICE.uuid,
        bc::cid::DeviceCaps::ID,
        CommandType::Query,
        Vec::new(),
    );
    let outputs = connection.handle_bytes(now(), &caps);
    assert_eq!(
        sent(&outputs[0]),
        Message::FunctionError {
            transaction_id: 2,
            error: ProtocolError::NotOpened
        }
    );
    // A path no executor has: refused, and still unconfigured.
    connection.handle_bytes(now(), &hex(MBIMCLI_CONFIGURATION));
    let outputs = connection.configured(1, "/tmp/fakewdm".to_owned(), None);
    assert_eq!(done_of(&sent(&outputs[0])).3, Status::Failure);
    assert_eq!(connection.device(), None);
}

#[test]
fn messages_split_and_merged_across_reads_are_all_taken() {
    let mut connection = configured(MbimExVersion::V1);
    let mut bytes = Vec::new();
    for transaction_id in 10..13 {
        bytes.extend(command(
            transaction_id,
            bc::SERVICE.uuid,
            bc::cid::SignalState::ID,
            CommandType::Query,
            Vec::new(),
        ));
    }
    let mut forwarded = Vec::new();
    for piece in bytes.chunks(7) {
        for output in connection.handle_bytes(now(), piece) {
            let Output::Forward { transaction_id, .. } = output else {
                panic!("unexpected {output:?}");
            };
            forwarded.push(transaction_id);
        }
    }
    assert_eq!(forwarded, [10, 11, 12]);
}

#[test]
fn a_message_length_out_of_bounds_drops_the_client() {
    let table: [u32; 3] = [0, 11, (MAX_CLIENT_MESSAGE + 1) as u32];
    for length in table {
        let mut connection = ProxyConnection::new();
        let mut bytes = vec![3, 0, 0, 0];
        bytes.extend(length.to_le_bytes());
        bytes.extend([0; 4]);
        let outputs = connection.handle_bytes(now(), &bytes);
        assert!(
            matches!(outputs.as_slice(), [Output::Disconnect(_)]),
            "length {length}: {outputs:?}"
        );
    }
}

#[test]
fn the_subscribe_list_filters_indications_and_stays_off_the_device() {
    let mut connection = configured(MbimExVersion::V1);
    let indication = |cid| DeviceIndication {
        service: bc::SERVICE.uuid,
        cid,
        information_buffer: Arc::from(&[9u8, 9, 9, 9][..]),
    };
    assert!(connection
        .indication(&indication(bc::cid::SignalState::ID))
        .is_some());

    let list = bc::EventEntries {
        events: vec![bc::EventEntry {
            device_service_id: bc::SERVICE.uuid,
            cids: vec![bc::cid::Connect::ID],
        }],
    };
    let set = command(
        5,
        bc::SERVICE.uuid,
        bc::cid::DeviceServiceSubscribeList::ID,
        CommandType::Set,
        list.encode(),
    );
    let outputs = connection.handle_bytes(now(), &set);
    assert_eq!(
        outputs.len(),
        1,
        "answered here, not forwarded: {outputs:?}"
    );
    let (transaction_id, _, _, status, data) = done_of(&sent(&outputs[0]));
    assert_eq!((transaction_id, status), (5, Status::Success));
    assert_eq!(bc::EventEntries::decode(&data).unwrap(), list);

    assert!(connection
        .indication(&indication(bc::cid::SignalState::ID))
        .is_none());
    let Message::IndicateStatus(sent) = sent(
        &connection
            .indication(&indication(bc::cid::Connect::ID))
            .unwrap(),
    ) else {
        panic!("not an indication");
    };
    assert_eq!(sent.data, [9, 9, 9, 9]);
}

#[test]
fn version_is_answered_with_the_one_mbimd_agreed() {
    let mut connection = ProxyConnection::new();
    connection.handle_bytes(now(), &hex(MBIMCLI_CONFIGURATION));
    let outputs = connection.configured(1, "/tmp/fakewdm".to_owned(), Some(MbimExVersion::V3));
    // libmbim's proxy tells a new client the version at once.
    let Message::IndicateStatus(notification) = sent(&outputs[1]) else {
        panic!("no version notification: {outputs:?}");
    };
    assert_eq!(
        ProxyVersion::decode(&notification.data)
            .unwrap()
            .mbim_extended_version,
        0x0300
    );
    let asked = ext::VersionInfo::host(MbimExVersion::V4);
    let query = command(
        6,
        ext::SERVICE.uuid,
        ext::cid::Version::ID,
        CommandType::Query,
        asked.encode(),
    );
    let outputs = connection.handle_bytes(now(), &query);
    let (transaction_id, _, _, status, data) = done_of(&sent(&outputs[0]));
    assert_eq!((transaction_id, status), (6, Status::Success));
    assert_eq!(
        ext::VersionInfo::decode(&data).unwrap().extended_version(),
        MbimExVersion::V3
    );
}

/// The extended version of the PROXY_CONTROL VERSION notification among
/// `outputs`.
fn notified(outputs: &[Output]) -> Option<MbimExVersion> {
    outputs.iter().find_map(|output| match sent(output) {
        Message::IndicateStatus(notification) => Some(MbimExVersion::from_bcd(
            ProxyVersion::decode(&notification.data)
                .unwrap()
                .mbim_extended_version,
        )),
        _ => None,
    })
}

/// The extended version a VERSION query offering `offered` is answered.
fn version_answered(connection: &mut ProxyConnection, offered: MbimExVersion) -> MbimExVersion {
    let query = command(
        7,
        ext::SERVICE.uuid,
        ext::cid::Version::ID,
        CommandType::Query,
        ext::VersionInfo::host(offered).encode(),
    );
    let outputs = connection.handle_bytes(now(), &query);
    let (_, _, _, status, data) = done_of(&sent(&outputs[0]));
    assert_eq!(status, Status::Success);
    ext::VersionInfo::decode(&data).unwrap().extended_version()
}

fn connect_set_v3() -> bc::ConnectSetV3 {
    bc::ConnectSetV3 {
        session_id: 0,
        activation_command: bc::ActivationCommand::Deactivate,
        compression: bc::Compression::None,
        auth_protocol: bc::AuthProtocol::None,
        ip_type: bc::ContextIpType::Default,
        context_type: bc::ContextType::Internet.uuid(),
        media_preference: bc::AccessMediaType::ThreeGpp,
        access_string: String::new(),
        user_name: String::new(),
        password: String::new(),
        unnamed_ies: Vec::new(),
    }
}

/// The payload a client's CONNECT SET is forwarded with.
fn forwarded_connect(
    connection: &mut ProxyConnection,
    transaction_id: u32,
    set: Vec<u8>,
) -> Vec<u8> {
    let bytes = command(
        transaction_id,
        bc::SERVICE.uuid,
        bc::cid::Connect::ID,
        CommandType::Set,
        set,
    );
    match connection.handle_bytes(now(), &bytes).pop() {
        Some(Output::Forward { payload, .. }) => payload,
        other => panic!("not forwarded: {other:?}"),
    }
}

#[test]
fn a_client_is_told_no_more_than_it_reads_and_4_0_is_carried_to_3_0() {
    // A 4.0 device: libmbim (which reads up to 3.0) is told 3.0 at once.
    let mut connection = ProxyConnection::new();
    connection.handle_bytes(now(), &hex(MBIMCLI_CONFIGURATION));
    let outputs = connection.configured(1, "/tmp/fakewdm".to_owned(), Some(MbimExVersion::V4));
    assert_eq!(notified(&outputs), Some(MbimExVersion::V3));
    // Offering 2.0 (mbimcli --device-open-ms-mbimex-v2) still reads 3.0.
    assert_eq!(
        version_answered(&mut connection, MbimExVersion::V2),
        MbimExVersion::V3
    );

    // Its 3.0 CONNECT SET reaches the device in 4.0's layout, the answer
    // and the indications come back in 3.0's.
    let payload = forwarded_connect(&mut connection, 8, connect_set_v3().encode());
    let set = bc::ConnectSetV4::decode(&payload).unwrap();
    assert_eq!(set.snssai, bc::no_slice());
    let info_v4 = bc::ConnectInfoV4::from(bc::ConnectInfoV3 {
        session_id: 0,
        activation_state: bc::ActivationState::Deactivated,
        voice_call_state: bc::VoiceCallState::None,
        ip_type: bc::ContextIpType::Default,
        context_type: bc::ContextType::Internet.uuid(),
        nw_error: bc::NwError::None,
        media_preference: bc::AccessMediaType::ThreeGpp,
        access_string: "internet".to_owned(),
        unnamed_ies: Vec::new(),
    });
    let answer = PassthroughAnswer::Done {
        status: Status::Success,
        information_buffer: info_v4.encode(),
    };
    let output = connection.answered(8, bc::SERVICE.uuid, bc::cid::Connect::ID, answer);
    let (_, _, _, _, data) = done_of(&sent(&output));
    assert_eq!(
        bc::ConnectInfoV3::decode(&data).unwrap().access_string,
        "internet"
    );
    let indication = DeviceIndication {
        service: bc::SERVICE.uuid,
        cid: bc::cid::Connect::ID,
        information_buffer: Arc::from(info_v4.encode()),
    };
    let Message::IndicateStatus(status) = sent(&connection.indication(&indication).unwrap()) else {
        panic!("not an indication");
    };
    assert!(bc::ConnectInfoV3::decode(&status.data).is_ok());
    // A SET that is no 3.0 CONNECT is refused here, not sent on.
    let bytes = command(
        9,
        bc::SERVICE.uuid,
        bc::cid::Connect::ID,
        CommandType::Set,
        vec![1],
    );
    let outputs = connection.handle_bytes(now(), &bytes);
    assert_eq!(done_of(&sent(&outputs[0])).3, Status::InvalidParameters);

    // A client that offers 4.0 reads it: told 4.0, its bytes sent as they are.
    assert_eq!(
        version_answered(&mut connection, MbimExVersion::V4),
        MbimExVersion::V4
    );
    let v4 = bc::ConnectSetV4::from(connect_set_v3()).encode();
    assert_eq!(forwarded_connect(&mut connection, 10, v4.clone()), v4);
}

#[test]
fn a_version_change_is_told_as_far_as_the_client_reads_it() {
    let mut connection = configured(MbimExVersion::V1);
    let told = |output: Option<Output>| notified(&output.into_iter().collect::<Vec<_>>());
    assert_eq!(
        told(connection.version_changed(MbimExVersion::V2)),
        Some(MbimExVersion::V2)
    );
    assert_eq!(
        told(connection.version_changed(MbimExVersion::V4)),
        Some(MbimExVersion::V3)
    );
    assert_eq!(connection.told(), MbimExVersion::V3);
}

#[test]
fn too_many_commands_in_flight_are_answered_busy() {
    let mut connection = configured(MbimExVersion::V1);
    for transaction_id in 0..MAX_CLIENT_IN_FLIGHT as u32 {
        let bytes = command(
            100 + transaction_id,
            bc::SERVICE.uuid,
            1,
            CommandType::Query,
            Vec::new(),
        );
        assert!(matches!(
            connection.handle_bytes(now(), &bytes)[0],
            Output::Forward { .. }
        ));
    }
    let bytes = command(999, bc::SERVICE.uuid, 1, CommandType::Query, Vec::new());
    let outputs = connection.handle_bytes(now(), &bytes);
    assert_eq!(done_of(&sent(&outputs[0])).3, Status::Busy);
    // An answer frees a place.
    let answer = PassthroughAnswer::NoAnswer("gone".to_owned());
    let output = connection.answered(100, bc::SERVICE.uuid, 1, answer);
    assert_eq!(
        sent(&output),
        Message::FunctionError {
            transaction_id: 100,
            error: ProtocolError::Cancel
        }
    );
    assert!(matches!(
        connection.handle_bytes(now(), &bytes)[0],
        Output::Forward { .. }
    ));
}

proptest::proptest! {
    /// Nothing a client sends, however cut, panics the connection or makes
    /// it hold more than one message's worth of bytes.
    #[test]
    fn arbitrary_bytes_never_panic(pieces in proptest::collection::vec(
        proptest::collection::vec(proptest::num::u8::ANY, 0..200), 0..20)
    ) {
        let mut connection = configured(MbimExVersion::V1);
        for piece in &pieces {
            let _ = connection.handle_bytes(now(), piece);
            proptest::prop_assert!(connection.buffer.len() <= MAX_CLIENT_MESSAGE);
        }
    }
}
