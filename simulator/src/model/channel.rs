//! One function's control channel: OPEN/CLOSE, reassembly of COMMANDs,
//! fragmentation of what goes back, the response and notification queues,
//! and the faults a test injects into them.

use crate::control::{Endpoint, Fault};
use mbim_protocol::fragment::{self, Reassembler, ReassemblerConfig, MIN_CONTROL_TRANSFER};
use mbim_protocol::message::Message;
use mbim_protocol::services::basic_connect::EventEntry;
use mbim_protocol::usb::Notification;
use mbim_protocol::Uuid;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Most control messages (fragments) waiting for GET_ENCAPSULATED_RESPONSE.
/// A host that stops reading loses the oldest: a real device's buffer is
/// finite too, and the queue must not grow with what a host fails to do.
pub const MAX_QUEUED_RESPONSES: usize = 256;
/// Most interrupt notifications waiting to be read; the oldest go first.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 256;
/// Most responses held back by `delay-next-response` at once.
pub const MAX_DELAYED_RESPONSES: usize = 16;
/// The largest reassembled COMMAND accepted: far above any payload of the
/// implemented CIDs, and the bound on what a host can make the model buffer.
pub const MAX_COMMAND_SIZE: usize = 64 * 1024;
/// Longest garbage response `send-garbage {len}` produces.
pub const MAX_GARBAGE_LEN: usize = 64 * 1024;

/// Where OPEN stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenState {
    /// Not opened (or closed).
    Closed,
    /// OPEN received; OPEN_DONE goes out at `deadline`.
    Opening {
        /// TransactionId of the OPEN.
        transaction_id: u32,
        /// When OPEN_DONE is sent.
        deadline: Instant,
        /// The host's MaxControlTransfer.
        max_transfer: usize,
    },
    /// Open.
    Open {
        /// The host's MaxControlTransfer: responses are fragmented to it.
        max_transfer: usize,
    },
}

/// Faults armed for the next response.
#[derive(Debug, Clone, Default)]
struct PendingFaults {
    drop: bool,
    delay: Option<Duration>,
    fragment: Option<usize>,
    corrupt: bool,
}

/// Whether a message answers the host or is unsolicited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// OPEN_DONE, CLOSE_DONE, COMMAND_DONE, FUNCTION_ERROR.
    Response,
    /// INDICATE_STATUS.
    Indication,
}

/// Counters of one channel.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ChannelCounters {
    /// Control messages received (fragments counted one by one).
    pub messages_in: u64,
    /// Whole COMMANDs dispatched.
    pub commands: u64,
    /// Responses queued (whole messages).
    pub responses: u64,
    /// Indications queued.
    pub indications: u64,
    /// Indications not sent because the host did not subscribe.
    pub indications_filtered: u64,
    /// Messages lost to a full queue or to `drop-next-response`.
    pub dropped: u64,
    /// FUNCTION_ERRORs sent.
    pub function_errors: u64,
}

/// One function's control channel.
#[derive(Debug)]
pub(crate) struct Channel {
    comm_interface: u16,
    pub(crate) state: OpenState,
    reassembler: Reassembler,
    responses: VecDeque<Vec<u8>>,
    notifications: VecDeque<Notification>,
    delayed: VecDeque<(Instant, Vec<Vec<u8>>)>,
    faults: PendingFaults,
    stall_interrupt: bool,
    /// `hang-control`: class requests go unanswered.
    hang_control: bool,
    pub(crate) stall_bulk_in: bool,
    pub(crate) stall_bulk_out: bool,
    /// `None`: the host never set DEVICE_SERVICE_SUBSCRIBE_LIST, so the
    /// standard notifications are all on.
    pub(crate) subscriptions: Option<Vec<EventEntry>>,
    garbage_state: u32,
    pub(crate) counters: ChannelCounters,
}

fn reassembler() -> Reassembler {
    Reassembler::new(ReassemblerConfig {
        max_message_size: MAX_COMMAND_SIZE,
        ..ReassemblerConfig::default()
    })
}

impl Channel {
    pub(crate) fn new(comm_interface: u16) -> Self {
        Channel {
            comm_interface,
            state: OpenState::Closed,
            reassembler: reassembler(),
            responses: VecDeque::new(),
            notifications: VecDeque::new(),
            delayed: VecDeque::new(),
            faults: PendingFaults::default(),
            stall_interrupt: false,
            hang_control: false,
            stall_bulk_in: false,
            stall_bulk_out: false,
            subscriptions: None,
            garbage_state: 0x1234_5678,
            counters: ChannelCounters::default(),
        }
    }

    /// Back to the state after SET_CONFIGURATION; faults and stalls clear too.
    pub(crate) fn reset(&mut self) {
        let counters = self.counters;
        *self = Channel::new(self.comm_interface);
        self.counters = counters;
    }

    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, OpenState::Open { .. })
    }

    /// Forgets a partial COMMAND and the subscriptions (a new OPEN).
    pub(crate) fn restart_session(&mut self) {
        self.reassembler = reassembler();
        self.subscriptions = None;
    }

    pub(crate) fn reassemble(
        &mut self,
        now: Instant,
        message: Message,
    ) -> Result<Option<Message>, fragment::ReassemblyError> {
        self.reassembler.handle(now, message)
    }

    fn max_transfer(&self) -> usize {
        match self.state {
            OpenState::Open { max_transfer } | OpenState::Opening { max_transfer, .. } => {
                max_transfer
            }
            OpenState::Closed => MIN_CONTROL_TRANSFER,
        }
    }

    /// Whether the host wants notifications of `service`/`cid`.
    pub(crate) fn subscribed(&self, service: Uuid, cid: u32) -> bool {
        match &self.subscriptions {
            None => true,
            Some(entries) => entries.iter().any(|entry| {
                entry.device_service_id == service
                    && (entry.cids.is_empty() || entry.cids.contains(&cid))
            }),
        }
    }

    /// Fragments `message` to the host's MaxControlTransfer and queues it,
    /// applying an armed fault if it is a response.
    pub(crate) fn send(&mut self, now: Instant, message: &Message, kind: Kind) {
        if kind == Kind::Indication && !self.is_open() {
            // No indications before OPEN_DONE or after CLOSE (MBIM 1.0 §9.3.1).
            return;
        }
        let mut max = self.max_transfer();
        if kind == Kind::Response {
            if let Some(size) = self.faults.fragment.take() {
                max = size.max(MIN_CONTROL_TRANSFER);
            }
        }
        let fragments = match fragment::split_to_bytes(message, max) {
            Ok(fragments) => fragments,
            Err(_) => match message.to_bytes() {
                Ok(bytes) => vec![bytes],
                Err(_) => return,
            },
        };
        match kind {
            Kind::Response => self.counters.responses = self.counters.responses.saturating_add(1),
            Kind::Indication => {
                self.counters.indications = self.counters.indications.saturating_add(1);
            }
        }
        if kind == Kind::Response {
            if std::mem::take(&mut self.faults.drop) {
                self.counters.dropped = self.counters.dropped.saturating_add(1);
                return;
            }
            let mut fragments = fragments;
            if std::mem::take(&mut self.faults.corrupt) {
                if let Some(first) = fragments.first_mut() {
                    corrupt(first);
                }
            }
            if let Some(delay) = self.faults.delay.take() {
                if self.delayed.len() >= MAX_DELAYED_RESPONSES {
                    self.delayed.pop_front();
                    self.counters.dropped = self.counters.dropped.saturating_add(1);
                }
                self.delayed
                    .push_back((now.checked_add(delay).unwrap_or(now), fragments));
                return;
            }
            self.enqueue(fragments);
        } else {
            self.enqueue(fragments);
        }
    }

    fn enqueue(&mut self, fragments: Vec<Vec<u8>>) {
        for fragment in fragments {
            if self.responses.len() >= MAX_QUEUED_RESPONSES {
                self.responses.pop_front();
                self.counters.dropped = self.counters.dropped.saturating_add(1);
            }
            self.responses.push_back(fragment);
            self.notify(Notification::ResponseAvailable {
                interface: self.comm_interface,
            });
        }
    }

    /// Queues an interrupt notification.
    pub(crate) fn notify(&mut self, notification: Notification) {
        if self.notifications.len() >= MAX_QUEUED_NOTIFICATIONS {
            self.notifications.pop_front();
        }
        self.notifications.push_back(notification);
    }

    pub(crate) fn comm_interface(&self) -> u16 {
        self.comm_interface
    }

    /// GET_ENCAPSULATED_RESPONSE: the next queued message, or empty.
    pub(crate) fn poll_response(&mut self) -> Vec<u8> {
        self.responses.pop_front().unwrap_or_default()
    }

    pub(crate) fn poll_notification(&mut self) -> Option<Notification> {
        self.notifications.pop_front()
    }

    /// Bytes and entries held in the queues (for the memory-bound tests).
    pub(crate) fn queued(&self) -> (usize, usize) {
        let bytes = self.responses.iter().map(Vec::len).sum::<usize>()
            + self
                .delayed
                .iter()
                .flat_map(|(_, fragments)| fragments.iter().map(Vec::len))
                .sum::<usize>();
        let entries = self.responses.len() + self.notifications.len() + self.delayed.len();
        (bytes, entries)
    }

    pub(crate) fn interrupt_stalled(&self) -> bool {
        self.stall_interrupt
    }

    pub(crate) fn has_queued(&self) -> bool {
        !self.responses.is_empty() || !self.notifications.is_empty()
    }

    /// The earliest instant something here is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        let opening = match self.state {
            OpenState::Opening { deadline, .. } => Some(deadline),
            _ => None,
        };
        let delayed = self.delayed.iter().map(|(at, _)| *at).min();
        [opening, delayed, self.reassembler.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Releases delayed responses and expires partial COMMANDs. Returns the
    /// OPEN that completed, if one did (the caller answers it).
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Option<u32> {
        while let Some(position) = self.delayed.iter().position(|(at, _)| *at <= now) {
            if let Some((_, fragments)) = self.delayed.remove(position) {
                self.enqueue(fragments);
            }
        }
        if let Some(error) = self.reassembler.handle_timeout(now) {
            let reply = Message::FunctionError {
                transaction_id: error.transaction_id(),
                error: error.protocol_error(),
            };
            self.counters.function_errors = self.counters.function_errors.saturating_add(1);
            self.send(now, &reply, Kind::Response);
        }
        if let OpenState::Opening {
            transaction_id,
            deadline,
            max_transfer,
        } = self.state
        {
            if deadline <= now {
                self.state = OpenState::Open { max_transfer };
                return Some(transaction_id);
            }
        }
        None
    }

    /// The host cleared the endpoint's halt (CLEAR_FEATURE ENDPOINT_HALT), as
    /// a real device takes it: the endpoint works again.
    pub(crate) fn clear_halt(&mut self, endpoint: Endpoint) {
        match endpoint {
            Endpoint::Interrupt => self.stall_interrupt = false,
            Endpoint::BulkIn => self.stall_bulk_in = false,
            Endpoint::BulkOut => self.stall_bulk_out = false,
        }
    }

    /// Whether class requests go unanswered (`hang-control`).
    pub(crate) fn control_hangs(&self) -> bool {
        self.hang_control
    }

    /// Arms or applies a fault.
    pub(crate) fn fault(&mut self, fault: &Fault) -> Result<(), String> {
        match fault {
            Fault::DropNextResponse => self.faults.drop = true,
            Fault::DelayNextResponse { ms } => {
                self.faults.delay = Some(Duration::from_millis(*ms));
            }
            Fault::FragmentNextResponse { max_fragment } => {
                self.faults.fragment = Some(*max_fragment);
            }
            Fault::CorruptNextResponse => self.faults.corrupt = true,
            Fault::SendGarbage { hex, len } => {
                let bytes = match (hex, len) {
                    (Some(hex), _) => parse_hex(hex)?,
                    (None, Some(len)) => self.garbage((*len).min(MAX_GARBAGE_LEN)),
                    (None, None) => self.garbage(32),
                };
                self.enqueue(vec![bytes]);
            }
            Fault::StallEndpoint { endpoint } => match endpoint {
                Endpoint::Interrupt => self.stall_interrupt = true,
                Endpoint::BulkIn => self.stall_bulk_in = true,
                Endpoint::BulkOut => self.stall_bulk_out = true,
            },
            Fault::HangControl => self.hang_control = true,
            // The model hands this one to the function's data plane.
            Fault::SendGarbageNtbs { .. } => {
                return Err("garbage NTBs go out on bulk IN, not the control channel".to_owned())
            }
            Fault::ClearStall => {
                self.hang_control = false;
                self.stall_interrupt = false;
                self.stall_bulk_in = false;
                self.stall_bulk_out = false;
            }
        }
        Ok(())
    }

    /// Deterministic pseudo-random bytes (xorshift), so a failing test
    /// replays the same garbage.
    fn garbage(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        let mut state = self.garbage_state;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            out.push(state.to_le_bytes()[0]);
        }
        self.garbage_state = state;
        out
    }
}

/// Breaks MessageLength so the host's parser must refuse the message.
fn corrupt(bytes: &mut [u8]) {
    if let Some(length) = bytes.get_mut(4..8) {
        length.copy_from_slice(&0xFFFF_FF00u32.to_le_bytes());
    } else if let Some(first) = bytes.first_mut() {
        *first ^= 0xFF;
    }
}

/// Hex with optional whitespace, `:` and `0x`.
pub(crate) fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text
        .replace("0x", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err("hex needs an even number of digits".to_owned());
    }
    if digits.len() / 2 > MAX_GARBAGE_LEN {
        return Err(format!("at most {MAX_GARBAGE_LEN} bytes of garbage"));
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("not hex: {text:?}"))
        })
        .collect()
}
