//! Bytes to value trees: control messages (with their typed payloads) and NTBs.
//!
//! Decoding stops at the first error, keeping everything decoded before it,
//! so the user sees both what the bytes said and where they stopped making sense.

use mbim_protocol::describe::{Describe, Value};
use mbim_protocol::fragment::{Reassembler, ReassemblerConfig};
use mbim_protocol::message::Message;
use mbim_protocol::ntb::{NdpSignature, Ntb};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms_bce, VersionInfo};
use mbim_protocol::services::{self, Cid, Operation};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;
use mbim_protocol::{MbimExVersion, Uuid};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Instant;

/// What the bytes decoded to, and the error that stopped decoding, if any.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// One value tree per message (or one for the NTB).
    pub(crate) items: Vec<Value>,
    /// Why decoding stopped early.
    pub(crate) error: Option<String>,
}

fn enum_value(name: Option<&'static str>, value: u32) -> Value {
    Value::Enum { name, value }
}

fn uuid_value(uuid: &Uuid) -> Value {
    uuid.describe()
}

/// Which MBIM extensions version's layouts payloads are read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layouts {
    /// The version the user named, for every message.
    Fixed(MbimExVersion),
    /// 1.0 until an MBIM_CID_VERSION exchange in the input agrees on another
    /// (the lower of the host's query and the device's answer), as Wireshark
    /// follows it.
    Negotiated,
}

/// What MBIM_CID_VERSION messages have said so far.
#[derive(Debug, Default)]
struct Negotiation {
    /// The host's version, from its query.
    host: Option<MbimExVersion>,
    /// The version agreed, from the device's answer.
    agreed: Option<MbimExVersion>,
}

impl Negotiation {
    /// Notes a VERSION query or response; returns the version it agrees on.
    fn observe(&mut self, message: &Message) -> Option<MbimExVersion> {
        let (head_service, head_cid, data, is_response) = match message {
            Message::Command(command) => {
                let head = command.head.as_ref()?;
                (head.service, head.cid, &command.data, false)
            }
            Message::CommandDone(done) => {
                let head = done.head.as_ref()?;
                if head.status != Status::Success {
                    return None;
                }
                (head.service, head.cid, &done.data, true)
            }
            _ => return None,
        };
        if head_service != ms_bce::UUID || head_cid != <ms_bce::cid::Version as Cid>::ID {
            return None;
        }
        let announced = VersionInfo::decode(data).ok()?.extended_version();
        if !is_response {
            self.host = Some(announced);
            return None;
        }
        let agreed = self
            .host
            .map_or(announced, |host| MbimExVersion::negotiated(host, announced));
        self.agreed = Some(agreed);
        Some(agreed)
    }
}

/// Decodes one or more control messages laid end to end, payloads in the
/// layouts `layouts` says.
pub(crate) fn decode_messages(bytes: &[u8], layouts: Layouts) -> Report {
    let mut report = Report::default();
    if bytes.is_empty() {
        report.error = Some("no bytes to decode".to_owned());
        return report;
    }
    let mut reassembler = Reassembler::new(ReassemblerConfig::default());
    // One instant for the whole input: a capture is decoded as if its
    // fragments arrived together, so no fragment timer can fire.
    let now = Instant::now();
    let mut negotiation = Negotiation::default();
    let mut rest = bytes;
    let mut offset = 0usize;
    while !rest.is_empty() {
        let (message, consumed) = match Message::parse_prefix(rest) {
            Ok(parsed) => parsed,
            Err(error) => {
                report.error = Some(if offset == 0 {
                    error.to_string()
                } else {
                    format!("message at byte 0x{offset:X}: {error}")
                });
                return report;
            }
        };
        let mut fields = header_fields(&message);
        let mut failed = None;
        match reassembler.handle(now, message) {
            Ok(Some(whole)) => {
                if whole.is_fragment() || whole.fragment().is_some_and(|f| f.total > 1) {
                    fields.push(("reassembled", Value::Text("all fragments".to_owned())));
                }
                let version = match layouts {
                    Layouts::Fixed(version) => version,
                    Layouts::Negotiated => negotiation.agreed.unwrap_or_default(),
                };
                if let Err(error) = payload_fields(&whole, version, &mut fields) {
                    failed = Some(error);
                }
                if let (Layouts::Negotiated, Some(agreed)) = (layouts, negotiation.observe(&whole))
                {
                    fields.push((
                        "negotiated",
                        Value::Text(format!(
                            "MBIMEx {agreed}: the messages after this one are read in its layouts"
                        )),
                    ));
                }
            }
            Ok(None) => {
                fields.push((
                    "payload",
                    Value::Text("(fragment; decoded when the last one arrives)".to_owned()),
                ));
            }
            Err(error) => failed = Some(error.to_string()),
        }
        report.items.push(Value::Struct(fields));
        if let Some(error) = failed {
            report.error = Some(error);
            return report;
        }
        rest = rest.get(consumed..).unwrap_or_default();
        offset = offset.saturating_add(consumed);
    }
    if let Some(transaction_id) = reassembler.pending_transaction() {
        report.error = Some(format!(
            "the input ends before the last fragment of transaction {transaction_id}"
        ));
    }
    report
}

fn header_fields(message: &Message) -> Vec<(&'static str, Value)> {
    let message_type = message.message_type();
    let mut fields = vec![
        (
            "message_type",
            enum_value(message_type.name(), message_type.value()),
        ),
        ("transaction_id", Value::U32(message.transaction_id())),
    ];
    if let Some(fragment) = message.fragment() {
        fields.push(("total_fragments", Value::U32(fragment.total)));
        fields.push(("current_fragment", Value::U32(fragment.current)));
    }
    match message {
        Message::Open {
            max_control_transfer,
            ..
        } => fields.push(("max_control_transfer", Value::U32(*max_control_transfer))),
        Message::OpenDone { status, .. } | Message::CloseDone { status, .. } => {
            fields.push(("status", status.describe()));
        }
        Message::HostError { error, .. } | Message::FunctionError { error, .. } => {
            fields.push(("error_status_code", error.describe()));
        }
        Message::Unknown { body, .. } => fields.push(("body", Value::Bytes(body.clone()))),
        Message::Close { .. }
        | Message::Command(_)
        | Message::CommandDone(_)
        | Message::IndicateStatus(_) => {}
    }
    fields
}

/// The service, CID and typed payload of a whole COMMAND, COMMAND_DONE or
/// INDICATE_STATUS, the payload in its layout at `version`.
fn payload_fields(
    message: &Message,
    version: MbimExVersion,
    fields: &mut Vec<(&'static str, Value)>,
) -> Result<(), String> {
    let (service, cid, operation, status, buffer) = match message {
        Message::Command(command) => {
            let Some(head) = &command.head else {
                return Ok(());
            };
            fields.push(("command_type", head.command_type.describe()));
            let operation = match head.command_type {
                CommandType::Set => Operation::Set,
                // An unknown command type is shown as such; its buffer is decoded as a query's.
                _ => Operation::Query,
            };
            (head.service, head.cid, operation, None, &command.data)
        }
        Message::CommandDone(done) => {
            let Some(head) = &done.head else {
                return Ok(());
            };
            (
                head.service,
                head.cid,
                Operation::Response,
                Some(head.status),
                &done.data,
            )
        }
        Message::IndicateStatus(indication) => {
            let Some(head) = &indication.head else {
                return Ok(());
            };
            (
                head.service,
                head.cid,
                Operation::Notification,
                None,
                &indication.data,
            )
        }
        _ => return Ok(()),
    };
    let service_info = services::service(&service);
    fields.push(("service", uuid_value(&service)));
    let cid_info = service_info.and_then(|info| info.cid(cid));
    fields.push(("cid", enum_value(cid_info.map(|info| info.name), cid)));
    if let Some(status) = status {
        fields.push(("status", status.describe()));
    }
    fields.push((
        "information_buffer_length",
        Value::U32(u32::try_from(buffer.len()).unwrap_or(u32::MAX)),
    ));
    // A failed command usually carries no buffer; when it does (PIN retries
    // left, the current slot mapping) it is decoded like a success's.
    if buffer.is_empty() && status.is_some_and(|status| status != Status::Success) {
        return Ok(());
    }
    let form = cid_info.map(|info| info.form_at(version));
    // Said when a layout of the MBIM extensions was used, so a reader knows
    // the fields are not MBIM 1.0's.
    if let Some(form) = form.filter(|form| form.since > MbimExVersion::V1) {
        fields.push(("layout", Value::Text(format!("MBIMEx {}", form.since))));
    }
    let decoder = form.and_then(|form| form.decoder(operation));
    match decoder {
        Some(decode) => match decode(buffer) {
            Ok(value) => {
                fields.push(("payload", value));
                Ok(())
            }
            Err(error) => {
                fields.push(("payload_bytes", Value::Bytes(buffer.clone())));
                Err(format!(
                    "{} {}: {error}",
                    cid_info.map_or("payload", |info| info.name),
                    operation.name()
                ))
            }
        },
        None => {
            if !buffer.is_empty() {
                fields.push(("payload_bytes", Value::Bytes(buffer.clone())));
            }
            Ok(())
        }
    }
}

/// Decodes one NTB (NTB16 or NTB32).
pub(crate) fn decode_ntb(bytes: &[u8]) -> Report {
    let mut report = Report::default();
    let ntb = match Ntb::new_checked(bytes) {
        Ok(ntb) => ntb,
        Err(error) => {
            report.error = Some(error.to_string());
            return report;
        }
    };
    let mut datagrams = Vec::new();
    let mut error = None;
    for datagram in ntb.datagrams() {
        match datagram {
            Ok(datagram) => {
                let session = match datagram.signature {
                    NdpSignature::Ips(session) => format!("ips{session}"),
                    NdpSignature::Dss(session) => format!("dss{session}"),
                    NdpSignature::Unknown(signature) => format!("0x{signature:08x}"),
                };
                let mut fields = vec![
                    ("session", Value::Text(session)),
                    (
                        "length",
                        Value::U32(u32::try_from(datagram.data.len()).unwrap_or(u32::MAX)),
                    ),
                ];
                if let NdpSignature::Ips(_) = datagram.signature {
                    fields.extend(ip_summary(datagram.data));
                }
                fields.push(("data", Value::Bytes(datagram.data.to_vec())));
                datagrams.push(Value::Struct(fields));
            }
            Err(failure) => {
                error = Some(failure.to_string());
                break;
            }
        }
    }
    report.items.push(Value::Struct(vec![
        (
            "format",
            Value::Text(
                match ntb.format() {
                    mbim_protocol::ntb::NtbFormat::Ntb16 => "ntb16",
                    mbim_protocol::ntb::NtbFormat::Ntb32 => "ntb32",
                }
                .to_owned(),
            ),
        ),
        ("sequence", Value::U32(u32::from(ntb.sequence()))),
        (
            "block_length",
            Value::U32(u32::try_from(ntb.block().len()).unwrap_or(u32::MAX)),
        ),
        (
            "ndp_count",
            Value::U32(u32::try_from(ntb.ndp_count()).unwrap_or(u32::MAX)),
        ),
        ("datagrams", Value::List(datagrams)),
    ]));
    report.error = error;
    report
}

/// Source, destination and protocol of an IP packet, when its header is readable.
fn ip_summary(packet: &[u8]) -> Vec<(&'static str, Value)> {
    let protocol_name = |number: u8| match number {
        1 => "icmp".to_owned(),
        6 => "tcp".to_owned(),
        17 => "udp".to_owned(),
        58 => "icmpv6".to_owned(),
        other => other.to_string(),
    };
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => {
            let (Some(protocol), Some(source), Some(destination)) = (
                packet.get(9),
                packet.get(12..16).and_then(|b| <[u8; 4]>::try_from(b).ok()),
                packet.get(16..20).and_then(|b| <[u8; 4]>::try_from(b).ok()),
            ) else {
                return Vec::new();
            };
            vec![
                ("ip_version", Value::U32(4)),
                ("source", Value::Ipv4(Ipv4Addr::from(source))),
                ("destination", Value::Ipv4(Ipv4Addr::from(destination))),
                ("protocol", Value::Text(protocol_name(*protocol))),
            ]
        }
        Some(6) => {
            let (Some(next_header), Some(source), Some(destination)) = (
                packet.get(6),
                packet.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()),
                packet
                    .get(24..40)
                    .and_then(|b| <[u8; 16]>::try_from(b).ok()),
            ) else {
                return Vec::new();
            };
            vec![
                ("ip_version", Value::U32(6)),
                ("source", Value::Ipv6(Ipv6Addr::from(source))),
                ("destination", Value::Ipv6(Ipv6Addr::from(destination))),
                ("protocol", Value::Text(protocol_name(*next_header))),
            ]
        }
        _ => Vec::new(),
    }
}
