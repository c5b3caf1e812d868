//! Control messages: captured bytes from libmbim's test suite, parse → value →
//! emit round trips, fragmentation and every reassembly error, and properties.

// Helpers outside `#[test]` functions are still test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::fragment::{
    split, split_to_bytes, Reassembler, ReassemblerConfig, ReassemblyError, SplitError,
};
use mbim_protocol::message::{
    CommandDoneHead, CommandHead, Fragment, FragmentHeader, IndicateStatusHead, Message,
    MessageErrorKind, MessageType, Packet,
};
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::Uuid;
use proptest::prelude::*;
use std::time::{Duration, Instant};

const BASIC_CONNECT: Uuid = Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");
const STK: Uuid = Uuid::from_str_const("d8f20131-fcb5-4e17-8602-d6ed3816164c");

// Test data: real message bytes from libmbim's test suite
// (https://gitlab.freedesktop.org/mobile-broadband/libmbim, mirrored at
// freedesktop/libmbim). Only the byte arrays are taken.

/// libmbim src/libmbim-glib/test/test-message-parser.c, `test_message_parser_basic_connect_visible_providers`.
const VISIBLE_PROVIDERS_DONE: [u8; 180] = [
    0x03, 0x00, 0x00, 0x80, 0xB4, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xA2, 0x89, 0xCC, 0x33, 0xBC, 0xBB, 0x8B, 0x4F, 0xB6, 0xB0, 0x13, 0x3E,
    0xC2, 0xAA, 0xE6, 0xDF, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x84, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x4C, 0x00, 0x00, 0x00,
    0x38, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00,
    0x2C, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x31, 0x00, 0x34, 0x00, 0x30, 0x00, 0x33, 0x00, 0x00, 0x00,
    0x4F, 0x00, 0x72, 0x00, 0x61, 0x00, 0x6E, 0x00, 0x67, 0x00, 0x65, 0x00, 0x20, 0x00, 0x00, 0x00,
    0x0A, 0x00, 0x00, 0x00, 0x19, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x32, 0x00, 0x31, 0x00,
    0x34, 0x00, 0x30, 0x00, 0x33, 0x00, 0x00, 0x00, 0x4F, 0x00, 0x72, 0x00, 0x61, 0x00, 0x6E, 0x00,
    0x67, 0x00, 0x65, 0x00,
];

/// libmbim src/libmbim-glib/test/test-message-parser.c, `test_message_parser_stk_pac_notification`.
const STK_PAC_INDICATION: [u8; 84] = [
    0x07, 0x00, 0x00, 0x80, 0x54, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xD8, 0xF2, 0x01, 0x31, 0xFC, 0xB5, 0x4E, 0x17, 0x86, 0x02, 0xD6, 0xED,
    0x38, 0x16, 0x16, 0x4C, 0x01, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x04, 0x05, 0x06, 0x07, 0xAF, 0xAE, 0xAD, 0xAC, 0xAB, 0xAA, 0xA9, 0xA8, 0xA7, 0xA6, 0xA5, 0xA4,
    0xA3, 0xA2, 0xA1, 0xA0, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x7A, 0x79, 0x78, 0x77, 0x76, 0x75, 0x74,
    0x73, 0x72, 0x00, 0x00,
];

/// libmbim src/libmbim-glib/test/test-message-parser.c, `test_message_parser_basic_connect_device_caps`.
const DEVICE_CAPS_DONE: [u8; 208] = [
    0x03, 0x00, 0x00, 0x80, 0xD0, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xA2, 0x89, 0xCC, 0x33, 0xBC, 0xBB, 0x8B, 0x4F, 0xB6, 0xB0, 0x13, 0x3E,
    0xC2, 0xAA, 0xE6, 0xDF, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xA0, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x1F, 0x00, 0x00, 0x80, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x40, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x4C, 0x00, 0x00, 0x00, 0x1E, 0x00, 0x00, 0x00,
    0x6C, 0x00, 0x00, 0x00, 0x1E, 0x00, 0x00, 0x00, 0x8C, 0x00, 0x00, 0x00, 0x12, 0x00, 0x00, 0x00,
    0x48, 0x00, 0x53, 0x00, 0x50, 0x00, 0x41, 0x00, 0x2B, 0x00, 0x00, 0x00, 0x33, 0x00, 0x35, 0x00,
    0x33, 0x00, 0x36, 0x00, 0x31, 0x00, 0x33, 0x00, 0x30, 0x00, 0x34, 0x00, 0x38, 0x00, 0x38, 0x00,
    0x30, 0x00, 0x34, 0x00, 0x36, 0x00, 0x32, 0x00, 0x32, 0x00, 0x00, 0x00, 0x31, 0x00, 0x31, 0x00,
    0x2E, 0x00, 0x38, 0x00, 0x31, 0x00, 0x30, 0x00, 0x2E, 0x00, 0x30, 0x00, 0x39, 0x00, 0x2E, 0x00,
    0x30, 0x00, 0x30, 0x00, 0x2E, 0x00, 0x30, 0x00, 0x30, 0x00, 0x00, 0x00, 0x43, 0x00, 0x50, 0x00,
    0x31, 0x00, 0x45, 0x00, 0x33, 0x00, 0x36, 0x00, 0x37, 0x00, 0x55, 0x00, 0x4D, 0x00, 0x00, 0x00,
];

/// libmbim src/libmbim-glib/test/test-message.c, `test_message_open_done`.
const OPEN_DONE: [u8; 16] = [
    0x01, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// libmbim src/libmbim-glib/test/test-message.c, `test_message_close_done`.
const CLOSE_DONE: [u8; 16] = [
    0x02, 0x00, 0x00, 0x80, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// libmbim src/libmbim-glib/test/test-message.c, `test_message_command_done`.
const PIN_DONE: [u8; 60] = [
    0x03, 0x00, 0x00, 0x80, 0x3C, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xA2, 0x89, 0xCC, 0x33, 0xBC, 0xBB, 0x8B, 0x4F, 0xB6, 0xB0, 0x13, 0x3E,
    0xC2, 0xAA, 0xE6, 0xDF, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

fn round_trip(bytes: &[u8]) -> Message {
    let message = Message::parse(bytes).unwrap();
    assert_eq!(message.to_bytes().unwrap(), bytes, "{message:?}");
    message
}

#[test]
fn captured_command_done_parses_and_re_emits() {
    let message = round_trip(&VISIBLE_PROVIDERS_DONE);
    let Message::CommandDone(done) = &message else {
        panic!("{message:?}")
    };
    assert_eq!(done.transaction_id, 2);
    assert_eq!(done.fragment, FragmentHeader::SINGLE);
    let head = done.head.unwrap();
    assert_eq!(head.service, BASIC_CONNECT);
    assert_eq!(head.cid, 8);
    assert_eq!(head.status, Status::Success);
    assert_eq!(head.information_buffer_length, 0x84);
    assert_eq!(done.data.len(), 0x84);
    assert_eq!(&done.data[..4], &[2, 0, 0, 0]);
    assert!(!message.is_fragment());

    let message = round_trip(&DEVICE_CAPS_DONE);
    assert_eq!(message.information_buffer_length(), Some(0xA0));

    let message = round_trip(&PIN_DONE);
    assert_eq!(message.transaction_id(), 1);
    assert_eq!(message.fragment_data(), &[0; 12]);
}

#[test]
fn captured_indication_parses_and_re_emits() {
    let message = round_trip(&STK_PAC_INDICATION);
    let Message::IndicateStatus(indication) = &message else {
        panic!("{message:?}")
    };
    let head = indication.head.unwrap();
    assert_eq!(head.service, STK);
    assert_eq!(head.cid, 1);
    assert_eq!(indication.data.len(), 0x28);
}

#[test]
fn captured_open_and_close_done() {
    assert_eq!(
        round_trip(&OPEN_DONE),
        Message::OpenDone {
            transaction_id: 1,
            status: Status::Success
        }
    );
    assert_eq!(
        round_trip(&CLOSE_DONE),
        Message::CloseDone {
            transaction_id: 1,
            status: Status::Success
        }
    );
}

#[test]
fn packet_view_reads_captured_fields() {
    let packet = Packet::new_checked(&VISIBLE_PROVIDERS_DONE[..]).unwrap();
    assert_eq!(packet.message_type(), MessageType::CommandDone);
    assert_eq!(packet.message_length(), 0xB4);
    assert_eq!(packet.cid(), 8);
    assert_eq!(packet.status(), Status::Success);
    assert_eq!(packet.information_buffer().len(), 0x84);
}

#[test]
fn truncating_a_capture_is_reported_with_its_offset() {
    let error = Message::parse(&VISIBLE_PROVIDERS_DONE[..0xB0]).unwrap_err();
    assert_eq!(error.offset, 4);
    assert!(matches!(
        error.kind,
        MessageErrorKind::LengthPastBuffer { .. }
    ));
    let mut bytes = VISIBLE_PROVIDERS_DONE;
    bytes[0x2C] = 0x90;
    assert_eq!(
        Message::parse(&bytes).unwrap_err().to_string(),
        "COMMAND_DONE at 0x2C: InformationBufferLength 0x90 runs past MessageLength 0xB4"
    );
}

#[test]
fn trailing_bytes_after_message_length_are_not_part_of_it() {
    let mut bytes = OPEN_DONE.to_vec();
    bytes.extend_from_slice(&CLOSE_DONE);
    let (first, used) = Message::parse_prefix(&bytes).unwrap();
    assert_eq!(used, 16);
    assert_eq!(first.message_type(), MessageType::OpenDone);
    assert_eq!(
        Message::parse(&bytes[used..]).unwrap().message_type(),
        MessageType::CloseDone
    );
}

fn reassembler() -> Reassembler {
    Reassembler::new(ReassemblerConfig {
        max_message_size: 1024,
        fragment_timeout: Duration::from_secs(2),
    })
}

#[test]
fn captured_message_split_and_reassembled() {
    let message = Message::parse(&VISIBLE_PROVIDERS_DONE).unwrap();
    for max in [64, 65, 100, 128, 179] {
        let wire = split_to_bytes(&message, max).unwrap();
        assert!(wire.len() > 1);
        assert!(wire.iter().all(|fragment| fragment.len() <= max));
        // Continuation fragments carry header, fragment header and data only.
        let total: usize = wire.iter().map(|f| f.len() - 20).sum();
        assert_eq!(total, VISIBLE_PROVIDERS_DONE.len() - 20);
        let mut reassembler = reassembler();
        let now = Instant::now();
        let mut out = None;
        for fragment in &wire {
            let parsed = Message::parse(fragment).unwrap();
            assert!(parsed.is_fragment());
            assert!(out.is_none());
            out = reassembler.handle(now, parsed).unwrap();
        }
        assert_eq!(out.unwrap().to_bytes().unwrap(), VISIBLE_PROVIDERS_DONE);
    }
    assert_eq!(split(&message, 180).unwrap(), vec![message]);
}

fn fragments_of(tid: u32, len: usize) -> Vec<Message> {
    let message = Message::command_done(tid, BASIC_CONNECT, 1, Status::Success, vec![7; len]);
    split(&message, 64).unwrap()
}

#[test]
fn reassembly_error_wrong_transaction() {
    let a = fragments_of(1, 100);
    let b = fragments_of(2, 100);
    let mut r = reassembler();
    let now = Instant::now();
    r.handle(now, a[0].clone()).unwrap();
    let error = r.handle(now, b[0].clone()).unwrap_err();
    assert_eq!(
        error,
        ReassemblyError::WrongTransaction {
            pending: 1,
            received: 2
        }
    );
    assert_eq!(error.protocol_error(), ProtocolError::FragmentOutOfSequence);
    assert_eq!(error.transaction_id(), 1);
    // The new message's first fragment was kept.
    assert_eq!(r.pending_transaction(), Some(2));
    r.handle(now, b[1].clone()).unwrap();
    assert!(r.handle(now, b[2].clone()).unwrap().is_some());
}

#[test]
fn reassembly_error_out_of_order() {
    let a = fragments_of(1, 100);
    let mut r = reassembler();
    let now = Instant::now();
    r.handle(now, a[0].clone()).unwrap();
    assert_eq!(
        r.handle(now, a[2].clone()),
        Err(ReassemblyError::OutOfOrder {
            transaction_id: 1,
            expected: 1,
            received: 2
        })
    );
    assert_eq!(r.pending_transaction(), None);
    // A continuation with nothing pending is out of order too.
    assert!(matches!(
        r.handle(now, a[1].clone()),
        Err(ReassemblyError::OutOfOrder { expected: 0, .. })
    ));
}

#[test]
fn reassembly_error_inconsistent_total() {
    let a = fragments_of(1, 100);
    let mut r = reassembler();
    let now = Instant::now();
    r.handle(now, a[0].clone()).unwrap();
    let mut second = a[1].clone();
    if let Message::CommandDone(fragment) = &mut second {
        fragment.fragment.total = 4;
    }
    assert_eq!(
        r.handle(now, second),
        Err(ReassemblyError::InconsistentTotal {
            transaction_id: 1,
            expected: 3,
            received: 4
        })
    );
}

#[test]
fn reassembly_error_mixed_types() {
    let a = fragments_of(1, 100);
    let mut r = reassembler();
    let now = Instant::now();
    r.handle(now, a[0].clone()).unwrap();
    let Message::CommandDone(second) = a[1].clone() else {
        unreachable!()
    };
    let impostor = Message::IndicateStatus(Fragment {
        transaction_id: 1,
        fragment: second.fragment,
        head: None,
        data: second.data,
    });
    assert!(matches!(
        r.handle(now, impostor),
        Err(ReassemblyError::MixedTypes { .. })
    ));
}

#[test]
fn reassembly_error_too_large_refused_up_front() {
    let mut r = Reassembler::new(ReassemblerConfig {
        max_message_size: 100,
        fragment_timeout: Duration::from_secs(1),
    });
    // A first fragment that announces 4 GiB must not make us allocate it.
    let first = Message::CommandDone(Fragment {
        transaction_id: 9,
        fragment: FragmentHeader {
            total: 1000,
            current: 0,
        },
        head: Some(CommandDoneHead {
            service: BASIC_CONNECT,
            cid: 1,
            status: Status::Success,
            information_buffer_length: u32::MAX,
        }),
        data: vec![0; 16],
    });
    let error = r.handle(Instant::now(), first).unwrap_err();
    assert!(matches!(
        error,
        ReassemblyError::TooLarge { limit: 100, .. }
    ));
    assert_eq!(error.protocol_error(), ProtocolError::LengthMismatch);
    assert_eq!(r.pending_transaction(), None);
}

#[test]
fn reassembly_error_length_mismatch() {
    let now = Instant::now();
    // More data than announced.
    let mut a = fragments_of(1, 100);
    if let Message::CommandDone(fragment) = &mut a[2] {
        fragment.data.push(0);
    }
    let mut r = reassembler();
    r.handle(now, a[0].clone()).unwrap();
    r.handle(now, a[1].clone()).unwrap();
    assert_eq!(
        r.handle(now, a[2].clone()),
        Err(ReassemblyError::LengthMismatch {
            transaction_id: 1,
            declared: 100,
            received: 101
        })
    );
    // Fewer.
    let mut a = fragments_of(1, 100);
    if let Message::CommandDone(fragment) = &mut a[2] {
        fragment.data.pop();
    }
    r.handle(now, a[0].clone()).unwrap();
    r.handle(now, a[1].clone()).unwrap();
    assert!(matches!(
        r.handle(now, a[2].clone()),
        Err(ReassemblyError::LengthMismatch { received: 99, .. })
    ));
}

#[test]
fn reassembly_error_timed_out() {
    let a = fragments_of(1, 100);
    let mut r = reassembler();
    let start = Instant::now();
    r.handle(start, a[0].clone()).unwrap();
    // A fragment within the timeout moves the deadline on.
    r.handle(start + Duration::from_millis(1500), a[1].clone())
        .unwrap();
    assert_eq!(r.handle_timeout(start + Duration::from_millis(3000)), None);
    assert_eq!(r.poll_timeout(), Some(start + Duration::from_millis(3500)));
    // The last fragment comes too late.
    let error = r
        .handle(start + Duration::from_millis(3500), a[2].clone())
        .unwrap_err();
    assert_eq!(
        error,
        ReassemblyError::TimedOut {
            transaction_id: 1,
            received: 2,
            total: 3
        }
    );
    assert_eq!(error.protocol_error(), ProtocolError::TimeoutFragment);
}

#[test]
fn stale_partial_is_reported_when_another_message_arrives() {
    let a = fragments_of(1, 100);
    let mut r = reassembler();
    let start = Instant::now();
    r.handle(start, a[0].clone()).unwrap();
    let later = start + Duration::from_secs(10);
    let indication = Message::indicate_status(0, STK, 1, vec![]);
    assert_eq!(r.handle(later, indication.clone()), Ok(Some(indication)));
    assert!(r.poll_timeout().is_some_and(|at| at <= later));
    assert!(matches!(
        r.handle_timeout(later),
        Some(ReassemblyError::TimedOut {
            transaction_id: 1,
            ..
        })
    ));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn split_refuses_fragments_and_tiny_sizes() {
    let a = fragments_of(1, 100);
    // A fragment that fits is passed on as is; one that does not cannot be split again.
    assert_eq!(split(&a[1], 64).unwrap(), vec![a[1].clone()]);
    assert!(matches!(
        split(&a[1], 30),
        Err(SplitError::NotWhole {
            total: 3,
            current: 1
        })
    ));
    let big = Message::command(1, BASIC_CONNECT, 1, CommandType::Set, vec![0; 100]);
    assert!(matches!(
        split(&big, 40),
        Err(SplitError::FragmentTooSmall { .. })
    ));
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<[u8; 16]>().prop_map(Uuid)
}

/// The fixed fields and data of a fragment-carrying message, whole or a
/// fragment, consistent as a device would send them.
fn fragment_parts() -> impl Strategy<Value = (u32, FragmentHeader, Vec<u8>, u32)> {
    (
        any::<u32>(),
        1u32..5,
        any::<u32>(),
        prop::collection::vec(any::<u8>(), 0..200),
        0u32..1000,
    )
        .prop_map(|(tid, total, current, data, extra)| {
            let current = if total == 1 { 0 } else { current % total };
            let length = u32::try_from(data.len()).unwrap();
            let declared = if total == 1 { length } else { length + extra };
            (tid, FragmentHeader { total, current }, data, declared)
        })
}

fn arb_message() -> impl Strategy<Value = Message> {
    let known = [
        1u32,
        2,
        3,
        4,
        0x8000_0001,
        0x8000_0002,
        0x8000_0003,
        0x8000_0004,
        0x8000_0007,
    ];
    prop_oneof![
        (any::<u32>(), any::<u32>()).prop_map(|(transaction_id, max_control_transfer)| {
            Message::Open {
                transaction_id,
                max_control_transfer,
            }
        }),
        any::<u32>().prop_map(|transaction_id| Message::Close { transaction_id }),
        (any::<u32>(), any::<u32>()).prop_map(|(transaction_id, e)| Message::HostError {
            transaction_id,
            error: ProtocolError::from(e)
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(transaction_id, s)| Message::OpenDone {
            transaction_id,
            status: Status::from(s)
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(transaction_id, s)| Message::CloseDone {
            transaction_id,
            status: Status::from(s)
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(transaction_id, e)| Message::FunctionError {
            transaction_id,
            error: ProtocolError::from(e)
        }),
        (fragment_parts(), uuid(), any::<u32>(), any::<u32>()).prop_map(
            |((transaction_id, fragment, data, declared), service, cid, kind)| {
                Message::Command(Fragment {
                    transaction_id,
                    fragment,
                    head: fragment.is_first().then_some(CommandHead {
                        service,
                        cid,
                        command_type: CommandType::from(kind),
                        information_buffer_length: declared,
                    }),
                    data,
                })
            }
        ),
        (fragment_parts(), uuid(), any::<u32>(), any::<u32>()).prop_map(
            |((transaction_id, fragment, data, declared), service, cid, status)| {
                Message::CommandDone(Fragment {
                    transaction_id,
                    fragment,
                    head: fragment.is_first().then_some(CommandDoneHead {
                        service,
                        cid,
                        status: Status::from(status),
                        information_buffer_length: declared,
                    }),
                    data,
                })
            }
        ),
        (fragment_parts(), uuid(), any::<u32>()).prop_map(
            |((transaction_id, fragment, data, declared), service, cid)| {
                Message::IndicateStatus(Fragment {
                    transaction_id,
                    fragment,
                    head: fragment.is_first().then_some(IndicateStatusHead {
                        service,
                        cid,
                        information_buffer_length: declared,
                    }),
                    data,
                })
            }
        ),
        (
            any::<u32>().prop_filter("unknown type", move |t| !known.contains(t)),
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(message_type, transaction_id, body)| Message::Unknown {
                message_type,
                transaction_id,
                body
            }),
    ]
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(message in arb_message()) {
        let bytes = message.to_bytes().unwrap();
        prop_assert_eq!(bytes.len(), message.buffer_len());
        let (parsed, used) = Message::parse_prefix(&bytes).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(&parsed, &message);
        prop_assert_eq!(parsed.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn split_then_reassemble_is_identity(
        (tid, service, cid, data) in (any::<u32>(), uuid(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..600)),
        max in 49usize..300,
    ) {
        let message = Message::indicate_status(tid, service, cid, data);
        let wire = split_to_bytes(&message, max).unwrap();
        let mut r = Reassembler::new(ReassemblerConfig { max_message_size: 1024, fragment_timeout: Duration::from_secs(1) });
        let now = Instant::now();
        let mut out = None;
        for fragment in &wire {
            prop_assert!(fragment.len() <= max);
            prop_assert!(out.is_none());
            out = r.handle(now, Message::parse(fragment).unwrap()).unwrap();
        }
        prop_assert_eq!(out, Some(message));
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        if let Ok((message, used)) = Message::parse_prefix(&bytes) {
            prop_assert!(used <= bytes.len());
            // Fixed-size kinds tolerate padding inside MessageLength, so the
            // re-emitted form may be shorter, never longer.
            prop_assert!(message.to_bytes().unwrap().len() <= used);
        }
        let packet = Packet::new_unchecked(&bytes[..]);
        let _ = (packet.information_buffer(), packet.fragment_payload(), packet.status(), packet.device_service_id());
    }

    #[test]
    fn arbitrary_fragments_never_panic_or_grow_the_reassembler(
        messages in prop::collection::vec(arb_message(), 0..40),
        steps in prop::collection::vec(0u64..3000, 0..40),
    ) {
        let mut r = Reassembler::new(ReassemblerConfig { max_message_size: 512, fragment_timeout: Duration::from_secs(1) });
        let mut now = Instant::now();
        for (index, message) in messages.into_iter().enumerate() {
            now += Duration::from_millis(steps.get(index).copied().unwrap_or(0));
            let _ = r.handle_timeout(now);
            if let Ok(Some(whole)) = r.handle(now, message) {
                if let Some(header) = whole.fragment() {
                    prop_assert!(header.is_single());
                }
            }
        }
    }
}
