//! MBIM control messages on a function: OPEN and CLOSE (the contexts die
//! with the host's session), COMMAND reassembly and dispatch to the CID
//! handlers, FUNCTION_ERROR, and sending COMMAND_DONEs and indications in
//! the layout the function agreed.
//!
//! The CID handlers themselves are in `cids` and the modules beside it;
//! this is the message layer between them and the control pipe.

use super::channel::{Kind, OpenState};
use super::{layouts, Modem};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::Message;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{ProtocolError, Status};
use mbim_protocol::{Payload, Uuid};
use std::time::{Duration, Instant};

impl Modem {
    pub(super) fn handle_control_message(&mut self, now: Instant, function: usize, bytes: &[u8]) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.counters.messages_in = f.channel.counters.messages_in.saturating_add(1);
        }
        let message = match Message::parse(bytes) {
            Ok(message) => message,
            Err(_) => {
                // A TransactionId can still be read from a broken message's
                // header; answer it so the host's transaction ends.
                let transaction_id = bytes
                    .get(8..12)
                    .and_then(|tid| <[u8; 4]>::try_from(tid).ok())
                    .map_or(0, u32::from_le_bytes);
                self.function_error(now, function, transaction_id, ProtocolError::LengthMismatch);
                return;
            }
        };
        match message {
            Message::Open {
                transaction_id,
                max_control_transfer,
            } => self.handle_open(now, function, transaction_id, max_control_transfer),
            Message::Close { transaction_id } => {
                let was_open = self
                    .functions
                    .get(function)
                    .is_some_and(|f| f.channel.state != OpenState::Closed);
                self.send(
                    now,
                    function,
                    &Message::CloseDone {
                        transaction_id,
                        status: Status::Success,
                    },
                    Kind::Response,
                );
                if let Some(f) = self.functions.get_mut(function) {
                    f.channel.state = OpenState::Closed;
                    f.channel.restart_session();
                    f.mbimex = MbimExVersion::V1;
                }
                if was_open {
                    self.close_contexts(function);
                }
            }
            Message::Command(_) => {
                let open = self
                    .functions
                    .get(function)
                    .is_some_and(|f| f.channel.is_open());
                if !open {
                    self.function_error(
                        now,
                        function,
                        message.transaction_id(),
                        ProtocolError::NotOpened,
                    );
                    return;
                }
                let result = match self.functions.get_mut(function) {
                    Some(f) => f.channel.reassemble(now, message),
                    None => return,
                };
                match result {
                    Ok(Some(Message::Command(whole))) => {
                        if let Some(head) = whole.head {
                            self.dispatch(now, function, whole.transaction_id, head, whole.data);
                        }
                    }
                    Ok(_) => {}
                    Err(error) => self.function_error(
                        now,
                        function,
                        error.transaction_id(),
                        error.protocol_error(),
                    ),
                }
            }
            // The host reports an error in something the function sent; a
            // device has nothing to undo.
            Message::HostError { .. } => {}
            other => self.function_error(
                now,
                function,
                other.transaction_id(),
                ProtocolError::Unspecified,
            ),
        }
    }

    fn handle_open(&mut self, now: Instant, function: usize, transaction_id: u32, mct: u32) {
        let max_transfer = usize::try_from(mct).unwrap_or(usize::MAX);
        if max_transfer < mbim_protocol::fragment::MIN_CONTROL_TRANSFER {
            self.function_error(now, function, transaction_id, ProtocolError::MaxTransfer);
            return;
        }
        let was_open = self
            .functions
            .get(function)
            .is_some_and(|f| f.channel.state != OpenState::Closed);
        if was_open {
            self.close_contexts(function);
        }
        let delay = Duration::from_millis(self.scenario.modem.open_delay_ms);
        let Some(f) = self.functions.get_mut(function) else {
            return;
        };
        f.channel.restart_session();
        // A new session speaks MBIM 1.0 until MBIM_CID_VERSION again.
        f.mbimex = MbimExVersion::V1;
        // Seed 000: answer OPEN only once initialized, never with BUSY.
        f.channel.state = OpenState::Opening {
            transaction_id,
            deadline: now.checked_add(delay).unwrap_or(now),
            max_transfer,
        };
        self.handle_timeout(now);
    }

    /// Contexts die with the host's session.
    fn close_contexts(&mut self, function: usize) {
        if let Some(executor) = self.executors.get_mut(function) {
            executor.contexts.clear();
        }
        if let Some(f) = self.functions.get_mut(function) {
            f.data.set_alt_setting(f.data.alt_setting);
        }
    }

    pub(crate) fn function_error(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        error: ProtocolError,
    ) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.counters.function_errors =
                f.channel.counters.function_errors.saturating_add(1);
        }
        self.send(
            now,
            function,
            &Message::FunctionError {
                transaction_id,
                error,
            },
            Kind::Response,
        );
    }

    pub(crate) fn send(&mut self, now: Instant, function: usize, message: &Message, kind: Kind) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.send(now, message, kind);
        }
    }

    /// Sends a COMMAND_DONE.
    #[allow(clippy::too_many_arguments)] // The message's fields plus where and when.
    pub(crate) fn command_done(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        status: Status,
        buffer: Vec<u8>,
    ) {
        let buffer = self.in_layout(function, service, cid, buffer);
        let message = Message::command_done(transaction_id, service, cid, status, buffer);
        self.send(now, function, &message, Kind::Response);
    }

    /// Sends an indication of `C` on `function` if the host subscribed to it.
    pub(crate) fn indicate<C: Cid>(
        &mut self,
        now: Instant,
        function: usize,
        payload: &C::Notification,
    ) {
        let Some(f) = self.functions.get_mut(function) else {
            return;
        };
        if !f.channel.is_open() {
            return;
        }
        if !f.channel.subscribed(C::SERVICE, C::ID) {
            f.channel.counters.indications_filtered =
                f.channel.counters.indications_filtered.saturating_add(1);
            return;
        }
        let buffer = self.in_layout(function, C::SERVICE, C::ID, payload.encode());
        let Some(f) = self.functions.get_mut(function) else {
            return;
        };
        let message = Message::indicate_status(0, C::SERVICE, C::ID, buffer);
        f.channel.send(now, &message, Kind::Indication);
    }

    /// `buffer` (MBIM 1.0's form) in the layout agreed on `function`.
    fn in_layout(&self, function: usize, service: Uuid, cid: u32, buffer: Vec<u8>) -> Vec<u8> {
        let version = self
            .functions
            .get(function)
            .map_or(MbimExVersion::V1, |f| f.mbimex);
        if version == MbimExVersion::V1 {
            return buffer;
        }
        layouts::outgoing(version, service, cid, &self.layout_extras(function), buffer)
    }
}
