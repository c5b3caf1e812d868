//! A minimal MBIM host for driving a [`Modem`] directly: OPEN, COMMANDs,
//! reading back every queued message (reassembled), with a clock the caller
//! moves. The model's own tests and the daemon's quick tests use it; nothing
//! here does I/O.

use super::{EndpointError, Modem};
use crate::scenario::{Scenario, ScenarioError};
use mbim_protocol::fragment::{Reassembler, ReassemblerConfig};
use mbim_protocol::message::Message;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::{ClassRequest, SetupPacket};
use mbim_protocol::{Payload, PayloadError, Uuid};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An unsolicited INDICATE_STATUS, reassembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indication {
    /// The function it came from.
    pub function: usize,
    /// Its service.
    pub service: Uuid,
    /// Its CID.
    pub cid: u32,
    /// Its information buffer.
    pub buffer: Vec<u8>,
}

impl Indication {
    /// Whether it is a notification of `C`.
    pub fn is<C: Cid>(&self) -> bool {
        self.service == C::SERVICE && self.cid == C::ID
    }

    /// Decodes it as a notification of `C`, if it is one.
    pub fn decode<C: Cid>(&self) -> Option<Result<C::Notification, PayloadError>> {
        self.is::<C>()
            .then(|| C::Notification::decode(&self.buffer))
    }
}

/// The answer to one COMMAND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Its status.
    pub status: Status,
    /// Its information buffer.
    pub buffer: Vec<u8>,
}

/// A host on top of a [`Modem`].
#[derive(Debug)]
pub struct Host {
    /// The modem.
    pub modem: Modem,
    /// The host's idea of now; [`Host::advance`] moves it.
    pub now: Instant,
    /// MaxControlTransfer sent in OPEN.
    pub max_transfer: u32,
    next_tid: u32,
    reassemblers: Vec<Reassembler>,
    /// Every whole message received, per function, in order.
    pub received: Vec<Vec<Message>>,
    /// Indications received and not yet taken.
    pub indications: Vec<Indication>,
}

impl Host {
    /// A host on a fresh modem of `scenario`, its clock at `now`.
    pub fn new(scenario: Scenario, now: Instant) -> Result<Host, ScenarioError> {
        let modem = Modem::new(Arc::new(scenario), now)?;
        let count = modem.function_count();
        Ok(Host {
            modem,
            now,
            max_transfer: 4096,
            next_tid: 1,
            reassemblers: (0..count)
                .map(|_| Reassembler::new(ReassemblerConfig::default()))
                .collect(),
            received: vec![Vec::new(); count],
            indications: Vec::new(),
        })
    }

    /// Moves the clock and runs the modem's timers.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.checked_add(by).unwrap_or(self.now);
        self.modem.handle_timeout(self.now);
    }

    /// A fresh transaction id.
    pub fn tid(&mut self) -> u32 {
        let tid = self.next_tid;
        self.next_tid = self.next_tid.wrapping_add(1).max(1);
        tid
    }

    /// SEND_ENCAPSULATED_COMMAND with raw bytes.
    pub fn send_raw(&mut self, function: usize, bytes: &[u8]) -> Result<(), EndpointError> {
        let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        let setup = SetupPacket::class(ClassRequest::SendEncapsulatedCommand, 0, 0, length, false);
        self.modem
            .handle_class_request(self.now, function, setup, bytes)
            .map(|_| ())
    }

    /// Sends a message whole.
    pub fn send(&mut self, function: usize, message: &Message) -> Result<(), EndpointError> {
        let bytes = message.to_bytes().map_err(|_| EndpointError::Stall)?;
        self.send_raw(function, &bytes)
    }

    /// Reads every queued response and notification of `function`,
    /// reassembling fragments; returns the whole messages (indications are
    /// also kept in [`Host::indications`]).
    pub fn drain(&mut self, function: usize) -> Vec<Message> {
        let mut whole = Vec::new();
        // Notifications are consumed too, so their queue is not left full.
        while let Ok(Some(_)) = self.modem.poll_notification(function) {}
        loop {
            let setup = SetupPacket::class(ClassRequest::GetEncapsulatedResponse, 0, 0, 4096, true);
            let Ok(bytes) = self
                .modem
                .handle_class_request(self.now, function, setup, &[])
            else {
                break;
            };
            if bytes.is_empty() {
                break;
            }
            let Ok(message) = Message::parse(&bytes) else {
                continue;
            };
            let Some(reassembler) = self.reassemblers.get_mut(function) else {
                break;
            };
            if let Ok(Some(message)) = reassembler.handle(self.now, message) {
                if let Message::IndicateStatus(fragment) = &message {
                    if let Some(head) = fragment.head {
                        self.indications.push(Indication {
                            function,
                            service: head.service,
                            cid: head.cid,
                            buffer: fragment.data.clone(),
                        });
                    }
                }
                if let Some(log) = self.received.get_mut(function) {
                    log.push(message.clone());
                }
                whole.push(message);
            }
        }
        whole
    }

    /// Takes the indications received so far (draining every function first).
    pub fn take_indications(&mut self) -> Vec<Indication> {
        for function in 0..self.modem.function_count() {
            self.drain(function);
        }
        std::mem::take(&mut self.indications)
    }

    /// OPENs `function`; the OPEN_DONE status if it came at once.
    pub fn open(&mut self, function: usize) -> Option<Status> {
        let tid = self.tid();
        let open = Message::Open {
            transaction_id: tid,
            max_control_transfer: self.max_transfer,
        };
        self.send(function, &open).ok()?;
        self.drain(function)
            .into_iter()
            .find_map(|message| match message {
                Message::OpenDone {
                    transaction_id,
                    status,
                } if transaction_id == tid => Some(status),
                _ => None,
            })
    }

    /// Sends a COMMAND and returns its COMMAND_DONE if it came at once.
    pub fn command(
        &mut self,
        function: usize,
        service: Uuid,
        cid: u32,
        command_type: CommandType,
        buffer: Vec<u8>,
    ) -> Option<Done> {
        let tid = self.tid();
        let message = Message::command(tid, service, cid, command_type, buffer);
        self.send(function, &message).ok()?;
        self.done_for(function, tid)
    }

    /// The COMMAND_DONE of `tid`, among what `function` has queued.
    pub fn done_for(&mut self, function: usize, tid: u32) -> Option<Done> {
        self.drain(function)
            .into_iter()
            .find_map(|message| match message {
                Message::CommandDone(fragment) if fragment.transaction_id == tid => {
                    fragment.head.map(|head| Done {
                        status: head.status,
                        buffer: fragment.data,
                    })
                }
                _ => None,
            })
    }

    /// A typed query of `C`.
    pub fn query<C: Cid>(&mut self, function: usize, query: &C::Query) -> Option<Done> {
        self.command(
            function,
            C::SERVICE,
            C::ID,
            CommandType::Query,
            query.encode(),
        )
    }

    /// A typed set of `C`.
    pub fn set<C: Cid>(&mut self, function: usize, set: &C::Set) -> Option<Done> {
        self.command(function, C::SERVICE, C::ID, CommandType::Set, set.encode())
    }
}

impl Done {
    /// Decodes the buffer as `C`'s response.
    pub fn decode<C: Cid>(&self) -> Result<C::Response, PayloadError> {
        C::Response::decode(&self.buffer)
    }
}
