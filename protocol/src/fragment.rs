//! Fragmentation of COMMAND, COMMAND_DONE and INDICATE_STATUS (MBIM 1.0 §9.2).
//!
//! A message longer than the peer's maximum control transfer goes out as
//! several messages sharing its TransactionId, numbered 0..TotalFragments.
//! The first carries the fixed fields (service, CID, status or command type,
//! and InformationBufferLength counting the *whole* buffer) and the start of
//! the information buffer; the others carry only header, fragment header and
//! the next slice of the buffer. This is the layout libmbim produces and
//! expects (`_mbim_message_split_fragments`).
//!
//! [`split`] produces the fragments; [`Reassembler`] collects them, with a
//! bound on the size it will buffer and a timeout for abandoned partials.

use crate::message::{
    EmitError, Fragment, FragmentHead, FragmentHeader, Message, MessageType, FRAGMENT_HEADER_END,
};
use crate::status::ProtocolError;
use std::time::{Duration, Instant};

/// The smallest wMaxControlMessage MBIM allows (MBIM 1.0 §6.4).
pub const MIN_CONTROL_TRANSFER: usize = 64;

/// Why a message could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The fragment size cannot hold the fixed part plus a byte of data.
    #[error("fragments of at most {max} bytes cannot hold the {needed}-byte first fragment")]
    FragmentTooSmall {
        /// The maximum fragment size asked for.
        max: usize,
        /// The smallest first fragment that would make progress.
        needed: usize,
    },
    /// Only a whole message (TotalFragments 1, with its fixed fields) can be split.
    #[error("only a whole message can be split, not fragment {current} of {total}")]
    NotWhole {
        /// TotalFragments of the message given.
        total: u32,
        /// CurrentFragment of the message given.
        current: u32,
    },
    /// The message needs more fragments than a `u32` can count, or more
    /// bytes than a length field can express.
    #[error("message is too long to fragment")]
    TooLong,
    /// A fragment could not be written.
    #[error("could not write a fragment")]
    Emit(#[source] EmitError),
}

/// Splits `message` into messages of at most `max_fragment_size` bytes.
///
/// A message that fits, and any message type without a fragment header, is
/// returned as is (one element).
pub fn split(message: &Message, max_fragment_size: usize) -> Result<Vec<Message>, SplitError> {
    if message
        .wire_len()
        .is_some_and(|len| len <= max_fragment_size)
    {
        return Ok(vec![message.clone()]);
    }
    match message {
        Message::Command(whole) => split_kind(whole, max_fragment_size)
            .map(|v| v.into_iter().map(Message::Command).collect()),
        Message::CommandDone(whole) => split_kind(whole, max_fragment_size)
            .map(|v| v.into_iter().map(Message::CommandDone).collect()),
        Message::IndicateStatus(whole) => split_kind(whole, max_fragment_size)
            .map(|v| v.into_iter().map(Message::IndicateStatus).collect()),
        _ if message.wire_len().is_none() => Err(SplitError::TooLong),
        _ => Ok(vec![message.clone()]),
    }
}

/// Splits `message` like [`split`] and emits each fragment.
pub fn split_to_bytes(
    message: &Message,
    max_fragment_size: usize,
) -> Result<Vec<Vec<u8>>, SplitError> {
    split(message, max_fragment_size)?
        .iter()
        .map(|fragment| fragment.to_bytes().map_err(SplitError::Emit))
        .collect()
}

fn split_kind<H: FragmentHead>(
    whole: &Fragment<H>,
    max: usize,
) -> Result<Vec<Fragment<H>>, SplitError> {
    let not_whole = SplitError::NotWhole {
        total: whole.fragment.total,
        current: whole.fragment.current,
    };
    if !whole.fragment.is_single() {
        return Err(not_whole);
    }
    let Some(mut head) = whole.head.clone() else {
        return Err(not_whole);
    };
    head.set_information_buffer_length(
        u32::try_from(whole.data.len()).map_err(|_| SplitError::TooLong)?,
    );
    let first_fixed = FRAGMENT_HEADER_END.saturating_add(H::LEN);
    let first_room = max.saturating_sub(first_fixed);
    let room = max.saturating_sub(FRAGMENT_HEADER_END);
    if first_room == 0 {
        return Err(SplitError::FragmentTooSmall {
            max,
            needed: first_fixed.saturating_add(1),
        });
    }
    let (first, rest) = whole.data.split_at(first_room.min(whole.data.len()));
    let chunks = rest.chunks(room);
    let total = u32::try_from(chunks.len())
        .ok()
        .and_then(|count| count.checked_add(1))
        .ok_or(SplitError::TooLong)?;
    let mut fragments = Vec::with_capacity(chunks.len().saturating_add(1));
    fragments.push(Fragment {
        transaction_id: whole.transaction_id,
        fragment: FragmentHeader { total, current: 0 },
        head: Some(head),
        data: first.to_vec(),
    });
    for (current, chunk) in (1..total).zip(chunks) {
        fragments.push(Fragment {
            transaction_id: whole.transaction_id,
            fragment: FragmentHeader { total, current },
            head: None,
            data: chunk.to_vec(),
        });
    }
    Ok(fragments)
}

/// Limits of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReassemblerConfig {
    /// The largest reassembled message (header and fixed fields included)
    /// that will be buffered; a first fragment declaring more is refused
    /// before anything is allocated for it.
    pub max_message_size: usize,
    /// How long a partial message may wait for its next fragment.
    pub fragment_timeout: Duration,
}

impl Default for ReassemblerConfig {
    fn default() -> Self {
        ReassemblerConfig {
            max_message_size: 64 * 1024,
            // Fragments of one message are sent back to back; the timer only
            // exists to reclaim a partial a device abandoned.
            fragment_timeout: Duration::from_secs(5),
        }
    }
}

/// A rule of fragment reassembly that a received fragment broke.
///
/// The partial message is dropped in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReassemblyError {
    /// A fragment of another message arrived while one was being collected.
    #[error(
        "fragment of transaction {received} arrived while transaction {pending} was incomplete"
    )]
    WrongTransaction {
        /// The transaction being collected.
        pending: u32,
        /// The transaction of the fragment received.
        received: u32,
    },
    /// A fragment arrived out of order (or a continuation with no first fragment).
    #[error("transaction {transaction_id}: expected fragment {expected}, got {received}")]
    OutOfOrder {
        /// The transaction.
        transaction_id: u32,
        /// The fragment number expected next.
        expected: u32,
        /// The fragment number received.
        received: u32,
    },
    /// TotalFragments changed between fragments.
    #[error("transaction {transaction_id}: TotalFragments changed from {expected} to {received}")]
    InconsistentTotal {
        /// The transaction.
        transaction_id: u32,
        /// TotalFragments of the first fragment.
        expected: u32,
        /// TotalFragments of this fragment.
        received: u32,
    },
    /// MessageType changed between fragments.
    #[error("transaction {transaction_id}: a {received} fragment continued a {expected} message")]
    MixedTypes {
        /// The transaction.
        transaction_id: u32,
        /// The type of the first fragment.
        expected: MessageType,
        /// The type of this fragment.
        received: MessageType,
    },
    /// The whole message would exceed the configured bound.
    #[error("transaction {transaction_id}: {length}-byte message exceeds the {limit}-byte limit")]
    TooLarge {
        /// The transaction.
        transaction_id: u32,
        /// The size the first fragment announced.
        length: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The fragments carried more or fewer bytes than InformationBufferLength.
    #[error("transaction {transaction_id}: InformationBufferLength {declared} but fragments carried {received} bytes")]
    LengthMismatch {
        /// The transaction.
        transaction_id: u32,
        /// InformationBufferLength of the first fragment.
        declared: u32,
        /// Bytes carried so far.
        received: usize,
    },
    /// The next fragment did not arrive in time.
    #[error("transaction {transaction_id}: timed out after fragment {received} of {total}")]
    TimedOut {
        /// The transaction.
        transaction_id: u32,
        /// Fragments received.
        received: u32,
        /// TotalFragments.
        total: u32,
    },
}

impl ReassemblyError {
    /// The transaction the error concerns (the one whose message is lost),
    /// for the HOST_ERROR reporting it.
    pub fn transaction_id(&self) -> u32 {
        match self {
            ReassemblyError::WrongTransaction { pending, .. } => *pending,
            ReassemblyError::OutOfOrder { transaction_id, .. }
            | ReassemblyError::InconsistentTotal { transaction_id, .. }
            | ReassemblyError::MixedTypes { transaction_id, .. }
            | ReassemblyError::TooLarge { transaction_id, .. }
            | ReassemblyError::LengthMismatch { transaction_id, .. }
            | ReassemblyError::TimedOut { transaction_id, .. } => *transaction_id,
        }
    }

    /// The MBIM protocol error code that reports it.
    pub fn protocol_error(&self) -> ProtocolError {
        match self {
            ReassemblyError::WrongTransaction { .. }
            | ReassemblyError::OutOfOrder { .. }
            | ReassemblyError::InconsistentTotal { .. }
            | ReassemblyError::MixedTypes { .. } => ProtocolError::FragmentOutOfSequence,
            ReassemblyError::TooLarge { .. } | ReassemblyError::LengthMismatch { .. } => {
                ProtocolError::LengthMismatch
            }
            ReassemblyError::TimedOut { .. } => ProtocolError::TimeoutFragment,
        }
    }
}

#[derive(Debug)]
struct Pending {
    /// The first fragment, its data growing as fragments arrive.
    message: Message,
    transaction_id: u32,
    total: u32,
    next: u32,
    declared: u32,
    deadline: Instant,
}

/// Collects fragments into whole messages, one message at a time.
///
/// Whole messages (TotalFragments 1) pass straight through, even while a
/// partial message is pending: an INDICATE_STATUS may arrive between the
/// fragments of a COMMAND_DONE. At most one partial message is held, never
/// larger than [`ReassemblerConfig::max_message_size`].
#[derive(Debug)]
pub struct Reassembler {
    config: ReassemblerConfig,
    pending: Option<Pending>,
    /// A partial found stale while handling a fragment, reported by the next
    /// `handle_timeout` so the fragment itself is still processed.
    expired: Option<(Instant, ReassemblyError)>,
}

fn parts_mut(message: &mut Message) -> Option<(&mut FragmentHeader, &mut Vec<u8>)> {
    match message {
        Message::Command(fragment) => Some((&mut fragment.fragment, &mut fragment.data)),
        Message::CommandDone(fragment) => Some((&mut fragment.fragment, &mut fragment.data)),
        Message::IndicateStatus(fragment) => Some((&mut fragment.fragment, &mut fragment.data)),
        _ => None,
    }
}

impl Reassembler {
    /// An idle reassembler.
    pub fn new(config: ReassemblerConfig) -> Self {
        Reassembler {
            config,
            pending: None,
            expired: None,
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &ReassemblerConfig {
        &self.config
    }

    /// The transaction being collected, if any.
    pub fn pending_transaction(&self) -> Option<u32> {
        self.pending.as_ref().map(|pending| pending.transaction_id)
    }

    /// When [`handle_timeout`](Self::handle_timeout) has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (&self.expired, &self.pending) {
            (Some((at, _)), _) => Some(*at),
            (None, Some(pending)) => Some(pending.deadline),
            (None, None) => None,
        }
    }

    /// Drops a partial message whose next fragment is overdue at `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<ReassemblyError> {
        if let Some((_, error)) = self.expired.take() {
            return Some(error);
        }
        self.expire(now)
    }

    fn expire(&mut self, now: Instant) -> Option<ReassemblyError> {
        if self.pending.as_ref().is_some_and(|p| p.deadline <= now) {
            return self.pending.take().map(|p| ReassemblyError::TimedOut {
                transaction_id: p.transaction_id,
                received: p.next,
                total: p.total,
            });
        }
        None
    }

    /// Takes one received message. Returns a whole message when one is
    /// complete (messages without fragments come back at once), `None` while
    /// fragments are missing, or the rule the fragment broke.
    pub fn handle(
        &mut self,
        now: Instant,
        message: Message,
    ) -> Result<Option<Message>, ReassemblyError> {
        let Some(header) = message.fragment() else {
            return Ok(Some(message));
        };
        if let Some(error) = self.expire(now) {
            if header.current != 0 && error.transaction_id() == message.transaction_id() {
                return Err(error);
            }
            if self.expired.is_none() {
                self.expired = Some((now, error));
            }
        }
        if header.is_single() {
            return Ok(Some(message));
        }
        let transaction_id = message.transaction_id();
        let Some(mut pending) = self.pending.take() else {
            return self.start(now, message, header);
        };
        if transaction_id != pending.transaction_id {
            let error = ReassemblyError::WrongTransaction {
                pending: pending.transaction_id,
                received: transaction_id,
            };
            // A device that gave up on a message and started the next one
            // should not lose that one too.
            if header.current == 0 {
                let _ = self.start(now, message, header);
            }
            return Err(error);
        }
        if message.message_type() != pending.message.message_type() {
            return Err(ReassemblyError::MixedTypes {
                transaction_id,
                expected: pending.message.message_type(),
                received: message.message_type(),
            });
        }
        if header.total != pending.total {
            return Err(ReassemblyError::InconsistentTotal {
                transaction_id,
                expected: pending.total,
                received: header.total,
            });
        }
        if header.current != pending.next {
            return Err(ReassemblyError::OutOfOrder {
                transaction_id,
                expected: pending.next,
                received: header.current,
            });
        }
        let declared = pending.declared;
        let Some((collected_header, collected)) = parts_mut(&mut pending.message) else {
            return Ok(None);
        };
        let incoming = message.fragment_data();
        let received = collected.len().saturating_add(incoming.len());
        if u32::try_from(received).map_or(true, |received| received > declared) {
            return Err(ReassemblyError::LengthMismatch {
                transaction_id,
                declared,
                received,
            });
        }
        collected.extend_from_slice(incoming);
        pending.next = pending.next.saturating_add(1);
        if pending.next < pending.total {
            pending.deadline = now.checked_add(self.config.fragment_timeout).unwrap_or(now);
            self.pending = Some(pending);
            return Ok(None);
        }
        if collected.len() != usize::try_from(declared).unwrap_or(usize::MAX) {
            return Err(ReassemblyError::LengthMismatch {
                transaction_id,
                declared,
                received: collected.len(),
            });
        }
        *collected_header = FragmentHeader::SINGLE;
        Ok(Some(pending.message))
    }

    fn start(
        &mut self,
        now: Instant,
        mut message: Message,
        header: FragmentHeader,
    ) -> Result<Option<Message>, ReassemblyError> {
        let transaction_id = message.transaction_id();
        let (Some(declared), 0) = (message.information_buffer_length(), header.current) else {
            return Err(ReassemblyError::OutOfOrder {
                transaction_id,
                expected: 0,
                received: header.current,
            });
        };
        let fixed = message
            .buffer_len()
            .saturating_sub(message.fragment_data().len());
        let whole = u64::from(declared).saturating_add(fixed as u64);
        let limit = self.config.max_message_size;
        if usize::try_from(whole).map_or(true, |whole| whole > limit) {
            return Err(ReassemblyError::TooLarge {
                transaction_id,
                length: whole,
                limit,
            });
        }
        if let Some((_, data)) = parts_mut(&mut message) {
            let present = data.len();
            let declared_len = usize::try_from(declared).unwrap_or(usize::MAX);
            if present > declared_len {
                return Err(ReassemblyError::LengthMismatch {
                    transaction_id,
                    declared,
                    received: present,
                });
            }
            // Bounded by `max_message_size` just above.
            data.reserve_exact(declared_len - present);
        }
        self.pending = Some(Pending {
            message,
            transaction_id,
            total: header.total,
            next: 1,
            declared,
            deadline: now.checked_add(self.config.fragment_timeout).unwrap_or(now),
        });
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{CommandType, Status};
    use crate::uuid::Uuid;

    const SERVICE: Uuid = Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");

    fn config() -> ReassemblerConfig {
        ReassemblerConfig {
            max_message_size: 4096,
            fragment_timeout: Duration::from_secs(1),
        }
    }

    fn done(tid: u32, len: usize) -> Message {
        let data = (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect();
        Message::command_done(tid, SERVICE, 7, Status::Success, data)
    }

    #[test]
    fn split_sizes_follow_libmbim() {
        let message = done(3, 100);
        let fragments = split(&message, 64).unwrap();
        // The 48-byte fixed part leaves 16 data bytes in the first fragment,
        // then 44 per fragment: 16 + 44 + 40.
        let sizes: Vec<usize> = fragments.iter().map(Message::buffer_len).collect();
        assert_eq!(sizes, vec![64, 64, 60]);
        for (index, fragment) in fragments.iter().enumerate() {
            assert_eq!(fragment.transaction_id(), 3);
            assert_eq!(
                fragment.fragment(),
                Some(FragmentHeader {
                    total: 3,
                    current: u32::try_from(index).unwrap()
                })
            );
        }
        assert_eq!(fragments[0].information_buffer_length(), Some(100));
        let mut reassembler = Reassembler::new(config());
        let now = Instant::now();
        let mut out = None;
        for fragment in fragments {
            out = reassembler.handle(now, fragment).unwrap();
        }
        assert_eq!(out, Some(message));
    }

    #[test]
    fn small_messages_and_other_types_are_not_split() {
        let message = Message::command(1, SERVICE, 1, CommandType::Query, vec![1; 16]);
        assert_eq!(split(&message, 64).unwrap(), vec![message]);
        let close = Message::Close { transaction_id: 1 };
        assert_eq!(split(&close, 1).unwrap(), vec![close]);
        assert!(matches!(
            split(&done(1, 100), 48),
            Err(SplitError::FragmentTooSmall { needed: 49, .. })
        ));
    }

    #[test]
    fn whole_messages_pass_while_partial_pending() {
        let fragments = split(&done(5, 60), 64).unwrap();
        let mut reassembler = Reassembler::new(config());
        let now = Instant::now();
        assert_eq!(reassembler.handle(now, fragments[0].clone()), Ok(None));
        let indication = Message::indicate_status(0, SERVICE, 2, vec![1]);
        assert_eq!(
            reassembler.handle(now, indication.clone()),
            Ok(Some(indication))
        );
        assert!(reassembler
            .handle(now, fragments[1].clone())
            .unwrap()
            .is_some());
    }

    #[test]
    fn timeout_reported_by_handle_timeout() {
        let fragments = split(&done(5, 60), 64).unwrap();
        let mut reassembler = Reassembler::new(config());
        let start = Instant::now();
        reassembler.handle(start, fragments[0].clone()).unwrap();
        assert_eq!(
            reassembler.poll_timeout(),
            Some(start + Duration::from_secs(1))
        );
        assert_eq!(reassembler.handle_timeout(start), None);
        let error = reassembler
            .handle_timeout(start + Duration::from_secs(1))
            .unwrap();
        assert_eq!(error.protocol_error(), ProtocolError::TimeoutFragment);
        assert_eq!(reassembler.poll_timeout(), None);
    }
}
