//! The entry logic of every fuzz target, in one place.
//!
//! Included with `#[path]` by each `fuzz/fuzz_targets/*.rs` (under cargo-fuzz)
//! and by `protocol/tests/fuzz_corpus.rs` (under plain `cargo test`, which
//! replays the seed corpus), so both run exactly the same code. Each function
//! takes arbitrary bytes, must never panic on them, and panics (an invariant
//! violation, reported as a crash by libFuzzer and as a failure by the test)
//! when the protocol crate contradicts itself: a parsed value that does not
//! survive emit → parse, a split message that does not reassemble, a block
//! the NTB builder produces that the NTB parser refuses, and so on.

// Each fuzz target uses one function of this file; the rest is unused there.
#![allow(dead_code)]
// The entry points are `pub` for readers; the module that includes this file
// is private in both crates, which is what `unreachable_pub` would flag.
#![allow(unreachable_pub)]

use mbim_protocol::descriptors::{find_mbim_functions, Descriptors, FunctionalDescriptor};
use mbim_protocol::fragment::{split, Reassembler, ReassemblerConfig};
use mbim_protocol::message::Message;
use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat, NtbParameters};
use mbim_protocol::services::{self, CidInfo, DescribeFn, Operation, ServiceInfo, SERVICES};
use mbim_protocol::session::{Session, SessionConfig, SessionError, SessionEvent, SessionState};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::{MbimExVersion, Uuid};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Basic Connect, the service of the commands the `session` target sends.
pub(crate) const BASIC_CONNECT: Uuid = Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");

/// The commands the `session` target sends once open: (CID, type, payload length).
/// TransactionIds are allocated in order: OPEN gets 1, these 2, 3, 4, 5.
pub(crate) const SESSION_COMMANDS: [(u32, CommandType, usize); 4] = [
    (1, CommandType::Query, 0),  // device-caps
    (9, CommandType::Query, 0),  // register-state
    (8, CommandType::Query, 4),  // visible-providers
    (13, CommandType::Set, 300), // provisioned-contexts: fragmented below 348-byte transfers
];

/// Splits `data` at `at`, or returns all of it and nothing.
fn split_at_most(data: &[u8], at: usize) -> (&[u8], &[u8]) {
    data.split_at(at.min(data.len()))
}

/// Reads a little-endian `u16` length, then that many bytes (fewer at the end).
fn take_chunk(data: &[u8]) -> (&[u8], &[u8]) {
    let (length, rest) = split_at_most(data, 2);
    let length = match *length {
        [low, high] => usize::from(u16::from_le_bytes([low, high])),
        [low] => usize::from(low),
        _ => 0,
    };
    split_at_most(rest, length)
}

// ---------------------------------------------------------------------------
// control_message
// ---------------------------------------------------------------------------

/// Checks a parsed message: emit → parse gives it back, and the bytes emitted
/// are the ones parsed when the lengths agree.
fn check_message_round_trip(message: &Message, wire: &[u8]) {
    let bytes = match message.to_bytes() {
        Ok(bytes) => bytes,
        Err(error) => panic!("parsed {message:?} does not emit: {error}"),
    };
    assert_eq!(Some(bytes.len()), message.wire_len());
    match Message::parse(&bytes) {
        Ok(again) => assert_eq!(&again, message, "emit → parse changed the message"),
        Err(error) => panic!("emitted {message:?} does not parse: {error}"),
    }
    if bytes.len() == wire.len() {
        assert_eq!(bytes, wire, "{message:?} re-emits differently");
    }
}

/// Decodes a whole message's information buffer with the service table, as
/// `mbimctl decode` and the daemon's logs do.
fn describe_buffer(message: &Message) {
    let (service, cid, operation) = match message {
        Message::Command(command) => match &command.head {
            Some(head) => {
                let operation = match head.command_type {
                    CommandType::Set => Operation::Set,
                    _ => Operation::Query,
                };
                (head.service, head.cid, operation)
            }
            None => return,
        },
        Message::CommandDone(done) => match &done.head {
            Some(head) => (head.service, head.cid, Operation::Response),
            None => return,
        },
        Message::IndicateStatus(indication) => match &indication.head {
            Some(head) => (head.service, head.cid, Operation::Notification),
            None => return,
        },
        _ => return,
    };
    let decoder = services::service(&service)
        .and_then(|service| service.cid(cid))
        .and_then(|cid| cid.decoder(operation));
    if let Some(decoder) = decoder {
        check_decoder(decoder, message.fragment_data());
    }
}

/// One control message, or several concatenated: parse, check, re-emit.
pub fn control_message(data: &[u8]) {
    let mut rest = data;
    // A control transfer may hold several messages; each takes >= 12 bytes,
    // so this ends.
    while !rest.is_empty() {
        match Message::parse_prefix(rest) {
            Ok((message, used)) => {
                assert!(used >= message.message_type().fixed_len() && used <= rest.len());
                let (wire, tail) = rest.split_at(used);
                check_message_round_trip(&message, wire);
                assert_eq!(
                    Message::parse(rest).as_ref().ok(),
                    Some(&message),
                    "parse and parse_prefix disagree"
                );
                let _ = format!("{message:?}");
                describe_buffer(&message);
                rest = tail;
            }
            Err(error) => {
                // The error renders: logs print it.
                let _ = error.to_string();
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// reassembly
// ---------------------------------------------------------------------------

/// Reassembler limits chosen by the first input byte.
fn reassembler_config(byte: u8) -> ReassemblerConfig {
    ReassemblerConfig {
        max_message_size: 256usize << (byte & 0x07),
        fragment_timeout: Duration::from_millis(100 * u64::from((byte >> 3) & 0x0F) + 100),
    }
}

/// Splits a whole message and reassembles it with a fresh reassembler.
fn check_split_reassemble(message: &Message, max_fragment: usize, now: Instant) {
    let Ok(fragments) = split(message, max_fragment) else {
        return;
    };
    let mut reassembler = Reassembler::new(ReassemblerConfig {
        max_message_size: usize::MAX,
        fragment_timeout: Duration::from_secs(1),
    });
    let count = fragments.len();
    for (index, fragment) in fragments.into_iter().enumerate() {
        if let Some(length) = fragment.wire_len() {
            assert!(count == 1 || length <= max_fragment, "fragment too long");
        }
        match reassembler.handle(now, fragment) {
            Ok(Some(whole)) => {
                assert_eq!(
                    index + 1,
                    count,
                    "message complete before its last fragment"
                );
                assert_eq!(&whole, message, "split → reassemble changed the message");
            }
            Ok(None) => assert!(index + 1 < count, "last fragment did not complete"),
            Err(error) => panic!("fragment {index} of {count} refused: {error}"),
        }
    }
    assert_eq!(reassembler.pending_transaction(), None);
}

/// `[config] ([time step] [message])*`: each message is parsed from the bytes
/// after its time step (its MessageLength says where the next step is) and
/// fed to one reassembler, time advancing `step × 50 ms`. Whole messages are
/// also split and reassembled on their own.
pub fn reassembly(data: &[u8]) {
    let Some((&config_byte, mut rest)) = data.split_first() else {
        return;
    };
    let config = reassembler_config(config_byte);
    let max_fragment = 64 + usize::from(config_byte >> 2);
    let mut reassembler = Reassembler::new(config);
    let start = Instant::now();
    let mut now = start;
    while let Some((&step, tail)) = rest.split_first() {
        now += Duration::from_millis(50 * u64::from(step));
        let Ok((message, used)) = Message::parse_prefix(tail) else {
            break;
        };
        rest = tail.get(used..).unwrap_or_default();

        let single = message.fragment().is_none_or(|header| header.is_single());
        if single && message.information_buffer_length().is_some() {
            check_split_reassemble(&message, max_fragment, now);
        }
        if reassembler
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            while let Some(error) = reassembler.handle_timeout(now) {
                let _ = (
                    error.to_string(),
                    error.protocol_error(),
                    error.transaction_id(),
                );
            }
        }
        match reassembler.handle(now, message.clone()) {
            Ok(Some(whole)) => {
                if single {
                    assert_eq!(whole, message, "a whole message did not pass through");
                } else {
                    // Completed from fragments: whole, within the limit, consistent.
                    let header = whole.fragment();
                    assert!(header.is_some_and(|h| h.is_single()), "{header:?}");
                    let length = whole.information_buffer_length().map(usize::try_from);
                    assert_eq!(length, Some(Ok(whole.fragment_data().len())));
                    let wire_len = whole.wire_len().unwrap_or(usize::MAX);
                    assert!(wire_len <= config.max_message_size, "{wire_len} bytes");
                    let bytes = match whole.to_bytes() {
                        Ok(bytes) => bytes,
                        Err(error) => panic!("reassembled message does not emit: {error}"),
                    };
                    check_message_round_trip(&whole, &bytes);
                }
            }
            Ok(None) => assert!(!single, "a whole message was held back"),
            Err(error) => {
                let _ = (
                    error.to_string(),
                    error.protocol_error(),
                    error.transaction_id(),
                );
            }
        }
        if reassembler.pending_transaction().is_some() {
            assert!(
                reassembler.poll_timeout().is_some(),
                "pending without a deadline"
            );
        }
    }
    // Everything pending expires eventually.
    let later = now + config.fragment_timeout * 2 + Duration::from_secs(1);
    while reassembler.handle_timeout(later).is_some() {}
    assert_eq!(reassembler.pending_transaction(), None);
    assert_eq!(reassembler.poll_timeout(), None);
}

// ---------------------------------------------------------------------------
// payloads
// ---------------------------------------------------------------------------

/// A payload decoder picked by the first three bytes of `data`, and the rest.
///
/// Byte 0 picks the service (index into [`SERVICES`], modulo its length),
/// byte 1 the CID (by number if the service has it, else by index modulo the
/// CID count), byte 2 the operation (query, set, response, notification,
/// modulo 4) in its low two bits and the MBIMEx version whose layout is used
/// in the next two (0 = 1.0 … 3 = 4.0, so older seeds stay 1.0). `None` when
/// the input is shorter or the layout lacks the operation.
pub fn select_payload(
    data: &[u8],
) -> Option<(
    &'static ServiceInfo,
    &'static CidInfo,
    Operation,
    DescribeFn,
    &[u8],
)> {
    let (selector, payload) = split_at_most(data, 3);
    let &[service, cid, operation] = selector else {
        return None;
    };
    let service = SERVICES.get(usize::from(service) % SERVICES.len().max(1))?;
    let cid = match service.cid(u32::from(cid)) {
        Some(found) => found,
        None => service
            .cids
            .get(usize::from(cid) % service.cids.len().max(1))?,
    };
    let version = MbimExVersion::ALL
        .get(usize::from((operation >> 2) % 4))
        .copied()
        .unwrap_or_default();
    let operation = match operation % 4 {
        0 => Operation::Query,
        1 => Operation::Set,
        2 => Operation::Response,
        _ => Operation::Notification,
    };
    let decoder = cid.decoder_at(operation, version)?;
    Some((service, cid, operation, decoder, payload))
}

/// Decodes `payload`; a success is deterministic and its value tree masks.
fn check_decoder(decoder: DescribeFn, payload: &[u8]) {
    match decoder(payload) {
        Ok(value) => {
            let again = decoder(payload).ok();
            assert_eq!(
                again.as_ref(),
                Some(&value),
                "decoding is not deterministic"
            );
            let _ = format!("{:?}", value.clone().masked());
            let _ = format!("{:?}", value.revealed());
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
}

/// `[service] [cid] [operation] payload…`: one CID payload through the table's decoder.
pub fn payloads(data: &[u8]) {
    if let Some((_, _, _, decoder, payload)) = select_payload(data) {
        check_decoder(decoder, payload);
    }
}

// ---------------------------------------------------------------------------
// ntb
// ---------------------------------------------------------------------------

/// Whether `inner` lies within `outer` (same allocation).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let outer = outer.as_ptr_range();
    let inner = inner.as_ptr_range();
    outer.start <= inner.start && inner.end <= outer.end
}

/// Datagrams per session, in order, of a parsed block; `None` if an entry is bad.
fn datagrams_by_session(ntb: &Ntb<'_>) -> Option<BTreeMap<u32, Vec<Vec<u8>>>> {
    let mut sessions: BTreeMap<u32, Vec<Vec<u8>>> = BTreeMap::new();
    for datagram in ntb.datagrams() {
        let datagram = datagram.ok()?;
        sessions
            .entry(datagram.signature.to_raw(ntb.format()))
            .or_default()
            .push(datagram.data.to_vec());
    }
    Some(sessions)
}

/// Builds a block from `sessions` with `builder`, parses it, and checks that
/// the same datagrams come back, each session's in order.
fn check_build_parse(
    builder: &mut NtbBuilder,
    datagrams: &[(NdpSignature, &[u8])],
) -> Option<usize> {
    let mut expected: BTreeMap<u32, Vec<Vec<u8>>> = BTreeMap::new();
    for (signature, data) in datagrams {
        if builder.push(*signature, data).is_err() {
            break;
        }
        expected
            .entry(signature.to_raw(builder.format()))
            .or_default()
            .push(data.to_vec());
    }
    let max_block_len = builder.max_block_len();
    let format = builder.format();
    let block = builder.finish()?;
    assert!(block.len() <= max_block_len, "block longer than the limit");
    let ntb = match Ntb::new_checked(block) {
        Ok(ntb) => ntb,
        Err(error) => panic!("built block does not parse: {error}"),
    };
    assert_eq!(ntb.format(), format);
    let found = match datagrams_by_session(&ntb) {
        Some(found) => found,
        None => panic!("built block has a bad entry: {:?}", ntb.validate()),
    };
    assert_eq!(found, expected, "build → parse changed the datagrams");
    Some(block.len())
}

/// A received NTB: the header and NDP chain checked, every datagram read;
/// the good datagrams rebuilt into a block that must parse to the same.
/// The same bytes are also read as NTB parameters (GET_NTB_PARAMETERS): the
/// 28-byte structure survives emit → parse, and a builder made from its OUT
/// limits lays out the bytes after it as datagrams that parse back.
pub fn ntb(data: &[u8]) {
    if let Ok(ntb) = Ntb::new_checked(data) {
        assert!(within(data, ntb.block()));
        assert!(ntb.block().len() >= ntb.format().nth_len());
        assert!((1..=mbim_protocol::ntb::MAX_NDPS).contains(&ntb.ndp_count()));
        let mut good = Vec::new();
        let mut failed = false;
        let mut iterator = ntb.datagrams();
        for datagram in iterator.by_ref() {
            match datagram {
                Ok(datagram) => {
                    assert!(!datagram.data.is_empty());
                    assert!(
                        within(ntb.block(), datagram.data),
                        "datagram outside the block"
                    );
                    good.push((datagram.signature, datagram.data));
                }
                Err(error) => {
                    let _ = error.to_string();
                    failed = true;
                }
            }
        }
        assert!(iterator.next().is_none(), "iterator not fused");
        match ntb.validate() {
            Ok(count) => assert!(!failed && count == good.len()),
            Err(_) => assert!(failed),
        }
        if let Ok(mut builder) = NtbBuilder::new(
            ntb.format(),
            BuildLimits {
                max_size: u32::MAX,
                max_datagrams: 0,
                divisor: 4,
                remainder: 0,
                ndp_alignment: 4,
            },
        ) {
            let fits = good
                .iter()
                .all(|(_, d)| d.len() <= builder.max_datagram_len());
            if fits && good.len() <= builder.max_datagrams() {
                let _ = check_build_parse(&mut builder, &good);
            }
        }
    } else if let Err(error) = Ntb::new_checked(data) {
        let _ = error.to_string();
    }

    if let Ok(parameters) = NtbParameters::parse(data) {
        let emitted = parameters.emit();
        assert_eq!(NtbParameters::parse(&emitted).ok(), Some(parameters));
        let _ = parameters.validate().map_err(|error| error.to_string());
        let rest = data.get(emitted.len()..).unwrap_or_default();
        for format in [NtbFormat::Ntb16, NtbFormat::Ntb32] {
            if !parameters.supports(format) {
                continue;
            }
            let limits = BuildLimits::from_parameters(&parameters);
            // Refused limits are fine (even some that `validate` accepts, such
            // as a divisor larger than the block); only a builder made is used.
            let Ok(mut builder) = NtbBuilder::new(format, limits) else {
                continue;
            };
            // The remaining bytes as `[session] [length] datagram…` records.
            let mut datagrams = Vec::new();
            let mut input = rest;
            while let Some((&session, tail)) = input.split_first() {
                let (length, tail) = split_at_most(tail, 1);
                let length = length.first().map_or(0, |l| usize::from(*l) * 8 + 1);
                let (datagram, tail) = split_at_most(tail, length);
                let signature = match session & 0x80 {
                    0 => NdpSignature::Ips(session & 0x03),
                    _ => NdpSignature::Dss(session & 0x03),
                };
                if !datagram.is_empty() {
                    datagrams.push((signature, datagram));
                }
                input = tail;
            }
            if let Some(length) = check_build_parse(&mut builder, &datagrams) {
                let max = usize::try_from(parameters.out_max_size).unwrap_or(usize::MAX);
                assert!(
                    length <= max,
                    "{length}-byte block over dwNtbOutMaxSize {max}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// descriptors
// ---------------------------------------------------------------------------

/// Emits a functional descriptor and parses it back.
fn check_functional_round_trip(descriptor: &FunctionalDescriptor) {
    let mut out = Vec::new();
    if descriptor.emit(&mut out).is_ok() {
        match FunctionalDescriptor::parse(&out) {
            Ok(again) => assert_eq!(&again, descriptor, "emit → parse changed it"),
            Err(error) => panic!("emitted {descriptor:?} does not parse: {error}"),
        }
    }
}

/// A configuration descriptor: the MBIM functions found in it, every
/// derived value read, every functional descriptor round-tripped. The same
/// bytes are also read as one functional descriptor and walked as a list.
pub fn descriptors(data: &[u8]) {
    match find_mbim_functions(data) {
        Ok(functions) => {
            for function in &functions {
                let _ = (
                    function.comm_interface(),
                    function.header(),
                    function.union(),
                    function.mbim(),
                    function.mbim_extended(),
                    function.ncm(),
                    function.network_capabilities(),
                    function.link_mtu(),
                    function.is_usable(),
                );
                if let Some(mbim) = function.mbim() {
                    let _ = (mbim.max_control_message(), mbim.link_mtu());
                }
                if let Some(setting) = function.mbim_data_setting() {
                    assert!(setting.is_mbim());
                }
                for descriptor in &function.functional {
                    check_functional_round_trip(descriptor);
                }
            }
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
    if let Ok(descriptor) = FunctionalDescriptor::parse(data) {
        check_functional_round_trip(&descriptor);
    }
    let mut previous_end = 0;
    for item in Descriptors::new(data, 0) {
        match item {
            Ok((offset, bytes)) => {
                assert_eq!(offset, previous_end, "descriptors skipped bytes");
                assert!(bytes.len() >= 2 && within(data, bytes));
                previous_end = offset + bytes.len();
            }
            Err(error) => {
                let _ = error.to_string();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// session
// ---------------------------------------------------------------------------

/// Session limits chosen by the first input byte.
pub(crate) fn session_config(byte: u8) -> SessionConfig {
    SessionConfig {
        max_control_transfer: 64u32 << (byte & 0x03),
        open_timeout: Duration::from_secs(10),
        command_timeout: Duration::from_secs(5),
        fragment_timeout: Duration::from_secs(1),
        max_message_size: 1024usize << ((byte >> 2) & 0x03),
        max_outstanding_commands: 1 + usize::from((byte >> 4) & 0x03),
    }
}

/// What the `session` target has seen of each command.
#[derive(Default)]
struct Ledger {
    /// Commands sent, by TransactionId, with whether they are over
    /// (answered, timed out or cancelled).
    commands: BTreeMap<u32, bool>,
}

impl Ledger {
    fn finish(&mut self, transaction_id: u32, what: &str) {
        match self.commands.get_mut(&transaction_id) {
            Some(over) => {
                assert!(!*over, "command {transaction_id} ended twice ({what})");
                *over = true;
            }
            None => panic!("{what} for command {transaction_id}, which was never sent"),
        }
    }
}

/// Polls every transmit and event, checking each.
fn drain(session: &mut Session, ledger: &mut Ledger) {
    let config = *session.config();
    let max_fragment = usize::try_from(config.max_control_transfer)
        .unwrap_or(usize::MAX)
        .max(64);
    while let Some(bytes) = session.poll_transmit() {
        assert!(bytes.len() <= max_fragment, "{}-byte transfer", bytes.len());
        match Message::parse(&bytes) {
            Ok(message) => check_message_round_trip(&message, &bytes),
            Err(error) => panic!("the session sent an invalid message: {error}"),
        }
    }
    let mut events = 0usize;
    while let Some(event) = session.poll_event() {
        events += 1;
        assert!(events <= 1025, "event queue unbounded");
        match event {
            SessionEvent::Response { transaction_id, .. } => {
                ledger.finish(transaction_id, "response");
            }
            SessionEvent::CommandTimedOut { transaction_id } => {
                ledger.finish(transaction_id, "timeout");
            }
            SessionEvent::CommandCancelled { transaction_id } => {
                ledger.finish(transaction_id, "cancel");
            }
            SessionEvent::Malformed(error) => {
                let _ = error.to_string();
            }
            SessionEvent::FragmentError(error) => {
                let _ = error.to_string();
            }
            _ => {}
        }
    }
    assert!(session.outstanding_commands() <= config.max_outstanding_commands);
}

/// `[config] ([time step] [length u16 LE] [transfer])*`: a session is opened
/// (answered unless config bit 6 is set, so the input may answer or let it
/// time out), sends [`SESSION_COMMANDS`], then takes each transfer as
/// received bytes, time advancing `step × 50 ms`; a step of 0xFF closes the
/// session first when config bit 7 is set. Afterwards time runs on until
/// every timer has fired: nothing may stay pending forever.
pub fn session(data: &[u8]) {
    let Some((&config_byte, mut rest)) = data.split_first() else {
        return;
    };
    let mut session = Session::new(session_config(config_byte));
    let mut ledger = Ledger::default();
    let mut now = Instant::now();
    let open = match session.open(now) {
        Ok(transaction_id) => transaction_id,
        Err(error) => panic!("a new session does not open: {error}"),
    };
    drain(&mut session, &mut ledger);
    if config_byte & 0x40 == 0 {
        let done = Message::OpenDone {
            transaction_id: open,
            status: Status::Success,
        };
        if let Ok(bytes) = done.to_bytes() {
            session.handle_message(now, &bytes);
        }
        assert_eq!(session.state(), SessionState::Open);
    }
    for (cid, command_type, length) in SESSION_COMMANDS {
        let payload = vec![0xA5; length];
        match session.command(now, BASIC_CONNECT, cid, command_type, payload) {
            Ok(transaction_id) => {
                assert!(ledger.commands.insert(transaction_id, false).is_none());
            }
            Err(SessionError::NotOpen) => assert_ne!(session.state(), SessionState::Open),
            Err(error) => panic!("command refused: {error}"),
        }
    }
    drain(&mut session, &mut ledger);

    while let Some((&step, tail)) = rest.split_first() {
        let (transfer, tail) = take_chunk(tail);
        rest = tail;
        now += Duration::from_millis(50 * u64::from(step));
        if step == 0xFF && config_byte & 0x80 != 0 {
            let closable = matches!(session.state(), SessionState::Open | SessionState::Opening);
            assert_eq!(session.close(now).is_ok(), closable);
        }
        session.handle_message(now, transfer);
        if session
            .poll_timeout()
            .is_some_and(|deadline| deadline <= now)
        {
            session.handle_timeout(now);
        }
        drain(&mut session, &mut ledger);
    }

    // Every timer fires in the end; queued commands get sent and time out in turn.
    for _ in 0..=SESSION_COMMANDS.len() + 2 {
        now += Duration::from_secs(60);
        session.handle_timeout(now);
        drain(&mut session, &mut ledger);
    }
    assert_eq!(session.poll_timeout(), None, "a timer never fires");
    assert_eq!(session.outstanding_commands(), 0);
    assert_eq!(session.queued_commands(), 0);
}
