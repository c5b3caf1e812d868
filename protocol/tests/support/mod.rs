//! Helpers shared by the payload tests: labelled bytes, hex dumps, the
//! decode-then-encode check, and libmbim's captures in tests/captures.

// Each test binary uses some of these helpers; the rest are unused there.
#![allow(dead_code)]

mod values;
// Like the helpers, each test binary uses some of the values.
#[allow(unused_imports)]
pub(crate) use values::*;

use mbim_protocol::codec::Payload;
use mbim_protocol::describe::{Describe, Value};
use mbim_protocol::message::{FragmentHeader, Message, MessageType};
use mbim_protocol::services::{Cid, NotApplicable, Operation};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::{MbimExVersion, Uuid};
use std::any::TypeId;
use std::fmt::Debug;

/// Bytes written as hex, one field per line, `#` starting a comment.
///
/// A comment that starts with `0x<hex>` states the offset of the line's first
/// byte; it is checked, so the labels stay true.
pub(crate) fn labelled(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let (code, comment) = match line.split_once('#') {
            Some((code, comment)) => (code, Some(comment.trim())),
            None => (line, None),
        };
        let start = out.len();
        for token in code.split_whitespace() {
            assert!(
                token.len() % 2 == 0,
                "line {number}: `{token}` is not a whole number of bytes"
            );
            for pair in token.as_bytes().chunks(2) {
                let pair = std::str::from_utf8(pair).unwrap();
                out.push(
                    u8::from_str_radix(pair, 16)
                        .unwrap_or_else(|_| panic!("line {number}: `{pair}` is not hex")),
                );
            }
        }
        if let Some(label) = comment.and_then(|comment| comment.strip_prefix("0x")) {
            if out.len() > start {
                let digits: String = label.chars().take_while(char::is_ascii_hexdigit).collect();
                let stated = usize::from_str_radix(&digits, 16).unwrap();
                assert_eq!(
                    stated, start,
                    "line {number} is labelled 0x{digits} but sits at 0x{start:02x}: {line}"
                );
            }
        }
    }
    out
}

/// A hex dump, four bytes a line with offsets, so a failed comparison shows where.
pub(crate) fn dump(bytes: &[u8]) -> String {
    bytes
        .chunks(4)
        .enumerate()
        .map(|(index, chunk)| {
            let hex: Vec<String> = chunk.iter().map(|byte| format!("{byte:02x}")).collect();
            format!("0x{:02x}: {}\n", index * 4, hex.join(" "))
        })
        .collect()
}

/// `wire` decodes to `expected`, and `expected` encodes to `wire`.
#[track_caller]
pub(crate) fn check<T: Payload + Describe + PartialEq + Debug>(wire: &[u8], expected: &T) {
    let decoded =
        T::decode(wire).unwrap_or_else(|error| panic!("{} does not decode: {error}", T::NAME));
    assert!(
        decoded == *expected,
        "{} decoded to\n{:#?}\nexpected\n{:#?}",
        T::NAME,
        decoded.describe().revealed(),
        expected.describe().revealed()
    );
    assert_eq!(
        dump(&expected.encode()),
        dump(wire),
        "{} encodes differently",
        T::NAME
    );
}

pub(crate) fn text(value: &str) -> String {
    value.to_owned()
}

/// One capture: a whole COMMAND, COMMAND_DONE or INDICATE_STATUS, parsed.
#[derive(Debug)]
pub(crate) struct Capture {
    pub(crate) message_type: MessageType,
    pub(crate) transaction_id: u32,
    pub(crate) service: Uuid,
    pub(crate) cid: u32,
    /// Of a COMMAND.
    pub(crate) command_type: Option<CommandType>,
    /// Of a COMMAND_DONE.
    pub(crate) status: Option<Status>,
    pub(crate) info: Vec<u8>,
}

pub(crate) fn capture_bytes(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/captures/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .flat_map(|line| line.split(|c: char| c == ':' || c.is_whitespace()))
        .filter(|token| !token.is_empty())
        .map(|token| u8::from_str_radix(token, 16).unwrap_or_else(|_| panic!("{name}: `{token}`")))
        .collect()
}

pub(crate) fn capture(name: &str) -> Capture {
    let bytes = capture_bytes(name);
    let (message, consumed) =
        Message::parse_prefix(&bytes).unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_eq!(
        consumed,
        bytes.len(),
        "{name}: MessageLength disagrees with the capture"
    );
    let transaction_id = message.transaction_id();
    match message {
        Message::Command(command) => {
            assert_eq!(command.fragment, FragmentHeader::SINGLE);
            let head = command.head.expect("a whole message has its fixed fields");
            assert_eq!(head.information_buffer_length as usize, command.data.len());
            Capture {
                message_type: MessageType::Command,
                transaction_id,
                service: head.service,
                cid: head.cid,
                command_type: Some(head.command_type),
                status: None,
                info: command.data,
            }
        }
        Message::CommandDone(done) => {
            assert_eq!(done.fragment, FragmentHeader::SINGLE);
            let head = done.head.expect("a whole message has its fixed fields");
            assert_eq!(head.information_buffer_length as usize, done.data.len());
            Capture {
                message_type: MessageType::CommandDone,
                transaction_id,
                service: head.service,
                cid: head.cid,
                command_type: None,
                status: Some(head.status),
                info: done.data,
            }
        }
        Message::IndicateStatus(indication) => {
            assert_eq!(indication.fragment, FragmentHeader::SINGLE);
            let head = indication
                .head
                .expect("a whole message has its fixed fields");
            assert_eq!(
                head.information_buffer_length as usize,
                indication.data.len()
            );
            Capture {
                message_type: MessageType::IndicateStatus,
                transaction_id,
                service: head.service,
                cid: head.cid,
                command_type: None,
                status: None,
                info: indication.data,
            }
        }
        other => panic!("{name}: not a COMMAND, COMMAND_DONE or INDICATE_STATUS: {other:?}"),
    }
}

/// A successful COMMAND_DONE of CID `C`.
pub(crate) fn response_of<C: Cid>(name: &str) -> Capture {
    let capture = capture(name);
    assert_eq!(capture.message_type, MessageType::CommandDone, "{name}");
    assert_eq!(capture.service, C::SERVICE, "{name}");
    assert_eq!(capture.cid, C::ID, "{name}");
    assert_eq!(capture.status, Some(Status::Success), "{name}");
    capture
}

/// The names of every capture in tests/captures.
pub(crate) fn capture_names() -> Vec<String> {
    let directory = format!("{}/../tests/captures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{directory}: {error}"))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|file| file.strip_suffix(".hex").map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// A COMMAND that libmbim builds for CID `C` decodes to `expected`, and
/// encoding `expected` gives back the information buffer and the whole message.
#[track_caller]
pub(crate) fn built_by_libmbim<C: Cid, P>(name: &str, command_type: CommandType, expected: &P)
where
    P: Payload + Describe + PartialEq + Debug,
{
    let capture = capture(name);
    assert_eq!(capture.message_type, MessageType::Command, "{name}");
    assert_eq!(capture.service, C::SERVICE, "{name}");
    assert_eq!(capture.cid, C::ID, "{name}");
    assert_eq!(capture.command_type, Some(command_type), "{name}");
    check(&capture.info, expected);
    let message = Message::command(
        capture.transaction_id,
        C::SERVICE,
        C::ID,
        command_type,
        expected.encode(),
    );
    assert_eq!(
        dump(&message.to_bytes().unwrap()),
        dump(&capture_bytes(name)),
        "{name}"
    );
}

/// The value of field `name` in a described structure.
pub(crate) fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    let Value::Struct(fields) = value else {
        panic!("not a structure: {value:?}");
    };
    fields
        .iter()
        .find(|(field, _)| *field == name)
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("no field {name}"))
}

/// The MBIMEx version a capture's layouts belong to, from its
/// `# mbimex-version: N` comment line (1.0 when it has none).
pub(crate) fn capture_mbimex_version(name: &str) -> MbimExVersion {
    let path = format!(
        "{}/../tests/captures/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    text.lines()
        .find_map(|line| line.trim().strip_prefix("# mbimex-version:"))
        .map_or(MbimExVersion::V1, |version| {
            version
                .parse()
                .unwrap_or_else(|error| panic!("{name}: {error}"))
        })
}

/// `TypeId` of the payload type of one operation of a CID.
pub(crate) fn payload_of<C: Cid>(operation: Operation) -> TypeId
where
    C::Query: 'static,
    C::Set: 'static,
    C::Response: 'static,
    C::Notification: 'static,
{
    match operation {
        Operation::Query => TypeId::of::<C::Query>(),
        Operation::Set => TypeId::of::<C::Set>(),
        Operation::Response => TypeId::of::<C::Response>(),
        Operation::Notification => TypeId::of::<C::Notification>(),
    }
}

/// Asserts the payload types of a CID, in the order query, set, response, notification.
#[track_caller]
pub(crate) fn assert_payloads<C: Cid>(types: [TypeId; 4])
where
    C::Query: 'static,
    C::Set: 'static,
    C::Response: 'static,
    C::Notification: 'static,
{
    let operations = [
        Operation::Query,
        Operation::Set,
        Operation::Response,
        Operation::Notification,
    ];
    for (operation, expected) in operations.into_iter().zip(types) {
        assert!(
            payload_of::<C>(operation) == expected,
            "{} {}: unexpected payload type",
            C::NAME,
            operation.name()
        );
    }
}

pub(crate) fn ty<T: 'static>() -> TypeId {
    TypeId::of::<T>()
}

pub(crate) fn none() -> TypeId {
    TypeId::of::<NotApplicable>()
}

/// UTF-16LE hex of `text`, padded with zero bytes to a multiple of 4: a
/// string item as it lies in a data buffer, for `labelled` texts.
pub(crate) fn utf16_padded(text: &str) -> String {
    let mut bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    bytes.resize(bytes.len().div_ceil(4) * 4, 0);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The internet context type's UUID.
pub(crate) fn internet() -> Uuid {
    mbim_protocol::services::basic_connect::ContextType::Internet.uuid()
}
