//! The host's side of an MBIM control session, without I/O.
//!
//! [`Session`] turns calls ([`open`](Session::open), [`command`](Session::command),
//! [`close`](Session::close)) into wire messages ([`poll_transmit`](Session::poll_transmit)),
//! and received bytes ([`handle_message`](Session::handle_message)) into
//! [`SessionEvent`]s. Time comes in as `Instant` arguments; the caller sleeps
//! until [`poll_timeout`](Session::poll_timeout) and then calls
//! [`handle_timeout`](Session::handle_timeout).
//!
//! Two rules from Microsoft's MBIM device guidelines shape it: OPEN is sent
//! once and answered whenever the device is ready (a device may take long to
//! open and must not be polled with repeated OPENs), and responses are matched
//! to commands only by TransactionId, with indications kept apart.

use crate::fragment::{
    split_to_bytes, Reassembler, ReassemblerConfig, ReassemblyError, SplitError,
    MIN_CONTROL_TRANSFER,
};
use crate::message::{Message, MessageError, MessageType};
use crate::status::{CommandType, ProtocolError, Status};
use crate::uuid::Uuid;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// A TransactionId.
pub type TransactionId = u32;

/// Events kept for the caller before further ones are counted and dropped,
/// so a caller that stops polling cannot make a chatty device grow memory.
const MAX_QUEUED_EVENTS: usize = 1024;
/// HOST_ERRORs waiting to be sent; further ones are dropped for the same reason.
const MAX_QUEUED_HOST_ERRORS: usize = 8;

/// Limits and timeouts of a [`Session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// MaxControlTransfer sent in OPEN, and the size commands are fragmented
    /// to: the function's wMaxControlMessage. Values below MBIM's minimum (64)
    /// are raised to it.
    pub max_control_transfer: u32,
    /// How long to wait for OPEN_DONE.
    pub open_timeout: Duration,
    /// How long to wait for COMMAND_DONE (and CLOSE_DONE).
    pub command_timeout: Duration,
    /// How long a partly received message may wait for its next fragment.
    pub fragment_timeout: Duration,
    /// The largest message, sent or received, in bytes.
    pub max_message_size: usize,
    /// Commands in flight at once; later ones wait in a queue.
    pub max_outstanding_commands: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_control_transfer: 4096,
            open_timeout: Duration::from_secs(60),
            command_timeout: Duration::from_secs(30),
            fragment_timeout: Duration::from_secs(5),
            max_message_size: 64 * 1024,
            max_outstanding_commands: 8,
        }
    }
}

/// Where the session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionState {
    /// Not open; [`Session::open`] may be called.
    Closed,
    /// OPEN sent, OPEN_DONE awaited.
    Opening,
    /// Open: commands may be sent.
    Open,
    /// CLOSE sent, CLOSE_DONE awaited.
    Closing,
}

impl std::fmt::Display for SessionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SessionState::Closed => "closed",
            SessionState::Opening => "opening",
            SessionState::Open => "open",
            SessionState::Closing => "closing",
        })
    }
}

/// Why a session call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Commands need an open session.
    #[error("the session is not open")]
    NotOpen,
    /// `open` or `close` called in a state that does not allow it.
    #[error("not possible while the session is {0}")]
    WrongState(SessionState),
    /// The command would exceed [`SessionConfig::max_message_size`].
    #[error("a {length}-byte message exceeds the {limit}-byte limit")]
    TooLarge {
        /// The size of the whole message.
        length: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The command could not be fragmented.
    #[error("could not fragment the command")]
    Split(#[source] SplitError),
}

/// Something the device sent that fits no request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anomaly {
    /// A COMMAND_DONE whose TransactionId matches no command in flight
    /// (never sent, timed out or cancelled).
    UnsolicitedResponse {
        /// Its TransactionId.
        transaction_id: TransactionId,
        /// Its service.
        service: Uuid,
        /// Its CID.
        cid: u32,
        /// Its status.
        status: Status,
    },
    /// A COMMAND_DONE for a command in flight, but naming another service or
    /// CID; the command stays in flight.
    MismatchedResponse {
        /// Its TransactionId.
        transaction_id: TransactionId,
        /// Service of the command.
        expected_service: Uuid,
        /// CID of the command.
        expected_cid: u32,
        /// Service of the response.
        service: Uuid,
        /// CID of the response.
        cid: u32,
    },
    /// A message that answers nothing pending (a late OPEN_DONE, a
    /// CLOSE_DONE with no CLOSE, a host-to-device type, an unknown type).
    UnexpectedMessage {
        /// Its type.
        message_type: MessageType,
        /// Its TransactionId.
        transaction_id: TransactionId,
    },
}

/// What happened, for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// OPEN_DONE with success: commands may be sent.
    Opened,
    /// OPEN_DONE with a failure status; the session is closed. A device that
    /// thinks it is still open may answer so: CLOSE then OPEN again.
    OpenFailed(Status),
    /// No OPEN_DONE within [`SessionConfig::open_timeout`]; the session is closed.
    OpenTimedOut,
    /// The session is closed: with CLOSE_DONE's status, or `None` when the
    /// device did not answer CLOSE in time or answered with FUNCTION_ERROR.
    Closed {
        /// CLOSE_DONE's status, if it came.
        status: Option<Status>,
    },
    /// A COMMAND_DONE answering a command.
    Response {
        /// The command's TransactionId.
        transaction_id: TransactionId,
        /// Service.
        service: Uuid,
        /// CID.
        cid: u32,
        /// Status.
        status: Status,
        /// The whole (reassembled) information buffer.
        information_buffer: Vec<u8>,
    },
    /// No answer to a command within [`SessionConfig::command_timeout`].
    CommandTimedOut {
        /// The command's TransactionId.
        transaction_id: TransactionId,
    },
    /// A command dropped unanswered because the session was closed.
    CommandCancelled {
        /// The command's TransactionId.
        transaction_id: TransactionId,
    },
    /// An INDICATE_STATUS.
    Indication {
        /// Service.
        service: Uuid,
        /// CID.
        cid: u32,
        /// The whole (reassembled) information buffer.
        information_buffer: Vec<u8>,
    },
    /// A FUNCTION_ERROR. When it answers the OPEN or CLOSE the session is
    /// closed; when it answers a command, that command is over. NotOpened
    /// means the device has no session: CLOSE then OPEN again.
    FunctionError {
        /// TransactionId it names.
        transaction_id: TransactionId,
        /// The error.
        error: ProtocolError,
    },
    /// Received bytes that are not a valid control message.
    Malformed(MessageError),
    /// A fragment broke reassembly; a HOST_ERROR reporting it has been queued.
    FragmentError(ReassemblyError),
    /// A valid message that fits no request.
    Anomaly(Anomaly),
    /// Events were dropped because the caller did not poll them.
    EventsDropped {
        /// How many.
        count: u64,
    },
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed,
    Opening {
        transaction_id: TransactionId,
        deadline: Instant,
    },
    Open,
    Closing {
        transaction_id: TransactionId,
        deadline: Instant,
    },
}

#[derive(Debug)]
struct InFlight {
    service: Uuid,
    cid: u32,
    deadline: Instant,
}

#[derive(Debug)]
struct Queued {
    transaction_id: TransactionId,
    service: Uuid,
    cid: u32,
    fragments: Vec<Vec<u8>>,
}

#[derive(Debug)]
struct Transmit {
    bytes: Vec<u8>,
    host_error: bool,
}

/// The host's control session with one MBIM function.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    max_fragment: usize,
    state: State,
    next_transaction_id: TransactionId,
    in_flight: BTreeMap<TransactionId, InFlight>,
    queued: VecDeque<Queued>,
    transmit: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    dropped_events: u64,
    reassembler: Reassembler,
}

impl Session {
    /// A closed session.
    pub fn new(config: SessionConfig) -> Self {
        let max_fragment = usize::try_from(config.max_control_transfer)
            .unwrap_or(usize::MAX)
            .max(MIN_CONTROL_TRANSFER);
        Session {
            config,
            max_fragment,
            state: State::Closed,
            next_transaction_id: 1,
            in_flight: BTreeMap::new(),
            queued: VecDeque::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            dropped_events: 0,
            reassembler: Reassembler::new(ReassemblerConfig {
                max_message_size: config.max_message_size,
                fragment_timeout: config.fragment_timeout,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Where the session is.
    pub fn state(&self) -> SessionState {
        match self.state {
            State::Closed => SessionState::Closed,
            State::Opening { .. } => SessionState::Opening,
            State::Open => SessionState::Open,
            State::Closing { .. } => SessionState::Closing,
        }
    }

    /// Commands sent and not yet answered.
    pub fn outstanding_commands(&self) -> usize {
        self.in_flight.len()
    }

    /// Commands waiting for a free slot.
    pub fn queued_commands(&self) -> usize {
        self.queued.len()
    }

    /// Sets the next TransactionId to try (0 is skipped), e.g. to continue
    /// past the ids of an earlier run whose late answers may still arrive.
    pub fn set_next_transaction_id(&mut self, transaction_id: TransactionId) {
        self.next_transaction_id = transaction_id;
    }

    fn in_use(&self, transaction_id: TransactionId) -> bool {
        let control = match self.state {
            State::Opening { transaction_id, .. } | State::Closing { transaction_id, .. } => {
                Some(transaction_id)
            }
            State::Closed | State::Open => None,
        };
        control == Some(transaction_id)
            || self.in_flight.contains_key(&transaction_id)
            || self
                .queued
                .iter()
                .any(|queued| queued.transaction_id == transaction_id)
    }

    fn allocate_transaction_id(&mut self) -> TransactionId {
        // Fewer ids are in use than there are ids, so this ends within
        // `in_use + 2` steps; the bound only keeps the loop visibly finite.
        let attempts = self
            .in_flight
            .len()
            .saturating_add(self.queued.len())
            .saturating_add(3);
        let mut candidate = self.next_transaction_id;
        for _ in 0..attempts {
            candidate = self.next_transaction_id;
            self.next_transaction_id = candidate.checked_add(1).unwrap_or(1);
            if candidate != 0 && !self.in_use(candidate) {
                break;
            }
        }
        candidate
    }

    fn push_event(&mut self, event: SessionEvent) {
        if self.events.len() < MAX_QUEUED_EVENTS {
            self.events.push_back(event);
        } else {
            self.dropped_events = self.dropped_events.saturating_add(1);
        }
    }

    fn queue_message(&mut self, message: &Message) {
        // Control messages built here are a few bytes long and always emit.
        if let Ok(bytes) = message.to_bytes() {
            self.transmit.push_back(Transmit {
                bytes,
                host_error: false,
            });
        }
    }

    fn queue_host_error(&mut self, transaction_id: TransactionId, error: ProtocolError) {
        let pending = self.transmit.iter().filter(|t| t.host_error).count();
        if pending >= MAX_QUEUED_HOST_ERRORS {
            return;
        }
        let message = Message::HostError {
            transaction_id,
            error,
        };
        if let Ok(bytes) = message.to_bytes() {
            self.transmit.push_back(Transmit {
                bytes,
                host_error: true,
            });
        }
    }

    fn deadline(now: Instant, after: Duration) -> Instant {
        // An Instant that far out cannot be represented; "never" is close enough.
        now.checked_add(after).unwrap_or(now)
    }

    /// Queues one OPEN. It is never re-sent: the answer is awaited up to
    /// [`SessionConfig::open_timeout`].
    pub fn open(&mut self, now: Instant) -> Result<TransactionId, SessionError> {
        if !matches!(self.state, State::Closed) {
            return Err(SessionError::WrongState(self.state()));
        }
        let transaction_id = self.allocate_transaction_id();
        self.queue_message(&Message::Open {
            transaction_id,
            max_control_transfer: u32::try_from(self.max_fragment).unwrap_or(u32::MAX),
        });
        self.state = State::Opening {
            transaction_id,
            deadline: Self::deadline(now, self.config.open_timeout),
        };
        Ok(transaction_id)
    }

    /// Queues a CLOSE (also while opening). Commands in flight or queued are
    /// cancelled.
    pub fn close(&mut self, now: Instant) -> Result<TransactionId, SessionError> {
        if matches!(self.state, State::Closed | State::Closing { .. }) {
            return Err(SessionError::WrongState(self.state()));
        }
        let in_flight = std::mem::take(&mut self.in_flight);
        let queued = std::mem::take(&mut self.queued);
        for transaction_id in in_flight
            .into_keys()
            .chain(queued.into_iter().map(|q| q.transaction_id))
        {
            self.push_event(SessionEvent::CommandCancelled { transaction_id });
        }
        let transaction_id = self.allocate_transaction_id();
        self.queue_message(&Message::Close { transaction_id });
        self.state = State::Closing {
            transaction_id,
            deadline: Self::deadline(now, self.config.command_timeout),
        };
        Ok(transaction_id)
    }

    /// Sends a command, or queues it while
    /// [`SessionConfig::max_outstanding_commands`] are in flight.
    pub fn command(
        &mut self,
        now: Instant,
        service: Uuid,
        cid: u32,
        command_type: CommandType,
        payload: Vec<u8>,
    ) -> Result<TransactionId, SessionError> {
        if !matches!(self.state, State::Open) {
            return Err(SessionError::NotOpen);
        }
        let length = payload
            .len()
            .saturating_add(crate::message::COMMAND_FIXED_LEN);
        let limit = self.config.max_message_size;
        if length > limit {
            return Err(SessionError::TooLarge { length, limit });
        }
        let transaction_id = self.allocate_transaction_id();
        let message = Message::command(transaction_id, service, cid, command_type, payload);
        let fragments = split_to_bytes(&message, self.max_fragment).map_err(SessionError::Split)?;
        self.queued.push_back(Queued {
            transaction_id,
            service,
            cid,
            fragments,
        });
        self.pump(now);
        Ok(transaction_id)
    }

    fn pump(&mut self, now: Instant) {
        if !matches!(self.state, State::Open) {
            return;
        }
        while self.in_flight.len() < self.config.max_outstanding_commands {
            let Some(queued) = self.queued.pop_front() else {
                break;
            };
            self.transmit
                .extend(queued.fragments.into_iter().map(|bytes| Transmit {
                    bytes,
                    host_error: false,
                }));
            self.in_flight.insert(
                queued.transaction_id,
                InFlight {
                    service: queued.service,
                    cid: queued.cid,
                    deadline: Self::deadline(now, self.config.command_timeout),
                },
            );
        }
    }

    /// Takes the bytes of one received control transfer: one message, a
    /// fragment, or several concatenated. Trailing zero padding is ignored.
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() && rest.iter().any(|byte| *byte != 0) {
            match Message::parse_prefix(rest) {
                Ok((message, used)) => {
                    rest = rest.get(used..).unwrap_or_default();
                    self.handle_parsed(now, message);
                }
                Err(error) => {
                    self.push_event(SessionEvent::Malformed(error));
                    break;
                }
            }
        }
    }

    fn fragment_error(&mut self, error: ReassemblyError) {
        self.queue_host_error(error.transaction_id(), error.protocol_error());
        self.push_event(SessionEvent::FragmentError(error));
    }

    fn handle_parsed(&mut self, now: Instant, message: Message) {
        match self.reassembler.handle(now, message) {
            Ok(Some(message)) => self.dispatch(now, message),
            Ok(None) => {}
            Err(error) => self.fragment_error(error),
        }
    }

    fn unexpected(&mut self, message: &Message) {
        self.push_event(SessionEvent::Anomaly(Anomaly::UnexpectedMessage {
            message_type: message.message_type(),
            transaction_id: message.transaction_id(),
        }));
    }

    fn dispatch(&mut self, now: Instant, message: Message) {
        match message {
            Message::OpenDone {
                transaction_id,
                status,
            } => match self.state {
                State::Opening {
                    transaction_id: expected,
                    ..
                } if expected == transaction_id => {
                    if status.is_success() {
                        self.state = State::Open;
                        self.push_event(SessionEvent::Opened);
                    } else {
                        self.state = State::Closed;
                        self.push_event(SessionEvent::OpenFailed(status));
                    }
                }
                _ => self.unexpected(&message),
            },
            Message::CloseDone {
                transaction_id,
                status,
            } => match self.state {
                State::Closing {
                    transaction_id: expected,
                    ..
                } if expected == transaction_id => {
                    self.state = State::Closed;
                    self.push_event(SessionEvent::Closed {
                        status: Some(status),
                    });
                }
                _ => self.unexpected(&message),
            },
            Message::CommandDone(done) => {
                let Some(head) = done.head else {
                    // The reassembler only yields whole messages, which have fixed fields.
                    return;
                };
                let transaction_id = done.transaction_id;
                let Some(command) = self.in_flight.get(&transaction_id) else {
                    self.push_event(SessionEvent::Anomaly(Anomaly::UnsolicitedResponse {
                        transaction_id,
                        service: head.service,
                        cid: head.cid,
                        status: head.status,
                    }));
                    return;
                };
                if command.service != head.service || command.cid != head.cid {
                    let anomaly = Anomaly::MismatchedResponse {
                        transaction_id,
                        expected_service: command.service,
                        expected_cid: command.cid,
                        service: head.service,
                        cid: head.cid,
                    };
                    self.push_event(SessionEvent::Anomaly(anomaly));
                    return;
                }
                self.in_flight.remove(&transaction_id);
                self.push_event(SessionEvent::Response {
                    transaction_id,
                    service: head.service,
                    cid: head.cid,
                    status: head.status,
                    information_buffer: done.data,
                });
                self.pump(now);
            }
            Message::IndicateStatus(indication) => {
                if let Some(head) = indication.head {
                    self.push_event(SessionEvent::Indication {
                        service: head.service,
                        cid: head.cid,
                        information_buffer: indication.data,
                    });
                }
            }
            Message::FunctionError {
                transaction_id,
                error,
            } => {
                match self.state {
                    State::Opening {
                        transaction_id: expected,
                        ..
                    } if expected == transaction_id => self.state = State::Closed,
                    State::Closing {
                        transaction_id: expected,
                        ..
                    } if expected == transaction_id => {
                        self.state = State::Closed;
                        self.push_event(SessionEvent::Closed { status: None });
                    }
                    _ => {
                        if self.in_flight.remove(&transaction_id).is_some() {
                            self.pump(now);
                        }
                    }
                }
                self.push_event(SessionEvent::FunctionError {
                    transaction_id,
                    error,
                });
            }
            Message::Open { .. }
            | Message::Close { .. }
            | Message::Command(_)
            | Message::HostError { .. }
            | Message::Unknown { .. } => self.unexpected(&message),
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let control = match self.state {
            State::Opening { deadline, .. } | State::Closing { deadline, .. } => Some(deadline),
            State::Closed | State::Open => None,
        };
        control
            .into_iter()
            .chain(self.in_flight.values().map(|command| command.deadline))
            .chain(self.reassembler.poll_timeout())
            .min()
    }

    /// Expires whatever is overdue at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(error) = self.reassembler.handle_timeout(now) {
            self.fragment_error(error);
        }
        match self.state {
            State::Opening { deadline, .. } if deadline <= now => {
                self.state = State::Closed;
                self.push_event(SessionEvent::OpenTimedOut);
            }
            State::Closing { deadline, .. } if deadline <= now => {
                self.state = State::Closed;
                self.push_event(SessionEvent::Closed { status: None });
            }
            _ => {}
        }
        let expired: Vec<TransactionId> = self
            .in_flight
            .iter()
            .filter(|(_, command)| command.deadline <= now)
            .map(|(transaction_id, _)| *transaction_id)
            .collect();
        for transaction_id in expired {
            self.in_flight.remove(&transaction_id);
            self.push_event(SessionEvent::CommandTimedOut { transaction_id });
        }
        self.pump(now);
    }

    /// The next wire message to send (fragments already split).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.pop_front().map(|transmit| transmit.bytes)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        if let Some(event) = self.events.pop_front() {
            return Some(event);
        }
        if self.dropped_events > 0 {
            let count = std::mem::take(&mut self.dropped_events);
            return Some(SessionEvent::EventsDropped { count });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICE: Uuid = Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");

    fn open_session(now: Instant, config: SessionConfig) -> Session {
        let mut session = Session::new(config);
        let tid = session.open(now).unwrap();
        session.poll_transmit().unwrap();
        let done = Message::OpenDone {
            transaction_id: tid,
            status: Status::Success,
        };
        session.handle_message(now, &done.to_bytes().unwrap());
        assert_eq!(session.poll_event(), Some(SessionEvent::Opened));
        session
    }

    #[test]
    fn transaction_ids_wrap_and_skip_zero_and_pending() {
        let now = Instant::now();
        let mut session = open_session(now, SessionConfig::default());
        session.set_next_transaction_id(u32::MAX);
        let a = session
            .command(now, SERVICE, 1, CommandType::Query, vec![])
            .unwrap();
        let b = session
            .command(now, SERVICE, 1, CommandType::Query, vec![])
            .unwrap();
        assert_eq!((a, b), (u32::MAX, 1));
        session.set_next_transaction_id(u32::MAX);
        let c = session
            .command(now, SERVICE, 1, CommandType::Query, vec![])
            .unwrap();
        assert_eq!(c, 2);
    }

    #[test]
    fn event_queue_is_bounded() {
        let now = Instant::now();
        let mut session = Session::new(SessionConfig::default());
        let indication = Message::indicate_status(0, SERVICE, 1, vec![1])
            .to_bytes()
            .unwrap();
        for _ in 0..(MAX_QUEUED_EVENTS + 10) {
            session.handle_message(now, &indication);
        }
        let mut count = 0;
        let mut last = None;
        while let Some(event) = session.poll_event() {
            count += 1;
            last = Some(event);
        }
        assert_eq!(count, MAX_QUEUED_EVENTS + 1);
        assert_eq!(last, Some(SessionEvent::EventsDropped { count: 10 }));
    }
}
