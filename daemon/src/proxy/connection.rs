//! One libmbim client of mbimd's proxy, without I/O: bytes in, messages
//! and requests out (quinn's style: the server task moves bytes and
//! answers, this decides).
//!
//! What a client sees is what libmbim's own `mbim-proxy` shows it
//! (`src/libmbim-glib/mbim-proxy.c`): PROXY_CONTROL CONFIGURATION first,
//! naming the device; its OPEN and CLOSE answered by the proxy (the device
//! stays open, it is mbimd's); commands forwarded with their transaction
//! ids kept apart; DEVICE_SERVICE_SUBSCRIBE_LIST kept as this client's
//! filter of the indications; MBIM_CID_VERSION answered, never sent on, so
//! a client cannot change the layouts under mbimd.
//!
//! The version a client is told is the one mbimd agreed with the device,
//! but never more than the client reads: libmbim reads every CID by the
//! version its proxy tells it (PROXY_CONTROL VERSION, or the answer to its
//! own MBIM_CID_VERSION), whatever it offered, and knows the layouts up to
//! 3.0 in every release that speaks MBIMEx at all (1.28 on; none has 4.0).
//! So a client reads up to 3.0, or up to what it offers when that is more
//! (a libmbim that knows 4.0 offers it): with a 4.0 device a libmbim 1.28
//! client is told 3.0, and `layouts.rs` carries the two CIDs 4.0 reshapes.
//! Telling a client less than 3.0 (what `--device-open-ms-mbimex-v2`
//! offers) would mean carrying every CID that 2.0 and 3.0 reshape, for a
//! reader that reads 3.0 anyway; it is told 3.0 instead.

use super::layouts;
use crate::executor::{DeviceIndication, PassthroughAnswer};
use mbim_protocol::codec::Payload;
use mbim_protocol::fragment::{Reassembler, ReassemblerConfig};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::Message;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_basic_connect_extensions as ext;
use mbim_protocol::services::proxy_control::{self as pc, ProxyConfiguration, ProxyVersion};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::Uuid;
use std::collections::HashSet;
use std::time::Instant;

/// The largest message a client may send (as the daemon's own session).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Commands one client may have in flight; more are answered BUSY.
pub const MAX_CLIENT_IN_FLIGHT: usize = 16;

/// The highest MBIMEx version every libmbim that speaks MBIMEx reads the
/// layouts of (1.28 through 1.34: MBIMEX_V2 and MBIMEX_V3, no 4.0).
pub const LIBMBIM_READS: MbimExVersion = MbimExVersion::V3;

/// The MessageLength field's offset and the smallest message (the header).
const LENGTH_OFFSET: usize = 4;
const HEADER_LEN: usize = 12;

/// What the server task must do for the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Write these bytes (one whole message) to the client.
    Send(Vec<u8>),
    /// Find the executor named by `path` and answer with
    /// [`ProxyConnection::configured`].
    Configure {
        /// The client's transaction id.
        transaction_id: u32,
        /// The device path as the client gave it.
        path: String,
    },
    /// Send this command to the device and answer with
    /// [`ProxyConnection::answered`].
    Forward {
        /// The client's transaction id.
        transaction_id: u32,
        /// Service.
        service: Uuid,
        /// CID.
        cid: u32,
        /// Query or set.
        command_type: CommandType,
        /// The information buffer.
        payload: Vec<u8>,
    },
    /// The client broke the protocol: close the connection.
    Disconnect(String),
}

/// Which indications a client wants, by service (an empty CID set: all).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    /// No DEVICE_SERVICE_SUBSCRIBE_LIST yet: everything.
    Everything,
    /// The client's last list.
    List(Vec<(Uuid, HashSet<u32>)>),
}

impl Filter {
    fn wants(&self, service: Uuid, cid: u32) -> bool {
        match self {
            Filter::Everything => true,
            Filter::List(entries) => entries
                .iter()
                .any(|(each, cids)| *each == service && (cids.is_empty() || cids.contains(&cid))),
        }
    }
}

/// One client's protocol state.
#[derive(Debug)]
pub struct ProxyConnection {
    buffer: Vec<u8>,
    reassembler: Reassembler,
    /// The path the client configured, once the executor was found.
    device: Option<String>,
    /// A CONFIGURATION waiting for the server task.
    configuring: bool,
    filter: Filter,
    in_flight: HashSet<u32>,
    /// The version mbimd agreed with the device.
    agreed: MbimExVersion,
    /// The highest version the client reads the layouts of.
    reads: MbimExVersion,
}

impl Default for ProxyConnection {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyConnection {
    /// A client that has just connected.
    pub fn new() -> Self {
        ProxyConnection {
            buffer: Vec::new(),
            reassembler: Reassembler::new(ReassemblerConfig {
                max_message_size: MAX_CLIENT_MESSAGE,
                ..ReassemblerConfig::default()
            }),
            device: None,
            configuring: false,
            filter: Filter::Everything,
            in_flight: HashSet::new(),
            agreed: MbimExVersion::V1,
            reads: LIBMBIM_READS,
        }
    }

    /// The version the client is told and spoken to in: the agreed one,
    /// at most what the client reads.
    pub fn told(&self) -> MbimExVersion {
        self.agreed.min(self.reads)
    }

    /// The device path configured, once it is.
    pub fn device(&self) -> Option<&str> {
        self.device.as_deref()
    }

    /// Bytes read from the client.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) -> Vec<Output> {
        let mut outputs = Vec::new();
        self.buffer.extend_from_slice(bytes);
        loop {
            if self.buffer.len() < HEADER_LEN {
                break;
            }
            let Some(&[a, b, c, d]) = self.buffer.get(LENGTH_OFFSET..LENGTH_OFFSET + 4) else {
                break;
            };
            let length = u32::from_le_bytes([a, b, c, d]) as usize;
            if !(HEADER_LEN..=MAX_CLIENT_MESSAGE).contains(&length) {
                outputs.push(Output::Disconnect(format!(
                    "a message of {length} bytes (expected {HEADER_LEN} to {MAX_CLIENT_MESSAGE})"
                )));
                self.buffer.clear();
                break;
            }
            if self.buffer.len() < length {
                break;
            }
            let rest = self.buffer.split_off(length);
            let message = std::mem::replace(&mut self.buffer, rest);
            match Message::parse(&message) {
                Ok(message) => match self.reassembler.handle(now, message) {
                    Ok(Some(whole)) => self.message(whole, &mut outputs),
                    Ok(None) => {}
                    Err(error) => outputs.push(Output::Disconnect(format!(
                        "fragments: {}",
                        crate::logging::chain(&error)
                    ))),
                },
                Err(error) => outputs.push(Output::Disconnect(format!(
                    "not an MBIM message: {}",
                    crate::logging::chain(&error)
                ))),
            }
        }
        outputs
    }

    fn message(&mut self, message: Message, outputs: &mut Vec<Output>) {
        match message {
            Message::Open { transaction_id, .. } => {
                // The device is mbimd's and open already; libmbim's proxy
                // answers OPEN itself too.
                let status = if self.device.is_some() {
                    Status::Success
                } else {
                    Status::Failure
                };
                outputs.push(send(&Message::OpenDone {
                    transaction_id,
                    status,
                }));
            }
            Message::Close { transaction_id } => {
                outputs.push(send(&Message::CloseDone {
                    transaction_id,
                    status: Status::Success,
                }));
            }
            Message::Command(command) => {
                let transaction_id = command.transaction_id;
                let Some(head) = command.head else {
                    outputs.push(function_error(
                        transaction_id,
                        ProtocolError::LengthMismatch,
                    ));
                    return;
                };
                self.command(
                    transaction_id,
                    head.service,
                    head.cid,
                    head.command_type,
                    command.data,
                    outputs,
                );
            }
            other => {
                outputs.push(Output::Disconnect(format!(
                    "a client sent {} (only OPEN, CLOSE and COMMAND go to a device)",
                    other.message_type()
                )));
            }
        }
    }

    fn command(
        &mut self,
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        command_type: CommandType,
        payload: Vec<u8>,
        outputs: &mut Vec<Output>,
    ) {
        if service == pc::SERVICE.uuid && cid == pc::cid::Configuration::ID {
            self.configuration(transaction_id, command_type, &payload, outputs);
            return;
        }
        if self.device.is_none() {
            outputs.push(function_error(transaction_id, ProtocolError::NotOpened));
            return;
        }
        if service == bc::SERVICE.uuid && cid == bc::cid::DeviceServiceSubscribeList::ID {
            self.subscribe_list(transaction_id, command_type, payload, outputs);
            return;
        }
        if service == ext::SERVICE.uuid && cid == ext::cid::Version::ID {
            // Agreeing on another version would change every versioned
            // CID's layout under mbimd: the client learns the one in force,
            // as far as it reads it. What it offers is what it reads at
            // least (never less than every libmbim reads).
            if let Ok(offered) = ext::VersionInfo::decode(&payload) {
                self.reads = offered.extended_version().max(LIBMBIM_READS);
            }
            let info = ext::VersionInfo::host(self.told());
            outputs.push(done(
                transaction_id,
                service,
                cid,
                Status::Success,
                info.encode(),
            ));
            return;
        }
        if self.in_flight.len() >= MAX_CLIENT_IN_FLIGHT || !self.in_flight.insert(transaction_id) {
            outputs.push(refused(transaction_id, service, cid, Status::Busy));
            return;
        }
        let Some(payload) = layouts::to_device(
            self.told(),
            self.agreed,
            (service, cid),
            command_type,
            payload,
        ) else {
            self.in_flight.remove(&transaction_id);
            outputs.push(refused(
                transaction_id,
                service,
                cid,
                Status::InvalidParameters,
            ));
            return;
        };
        outputs.push(Output::Forward {
            transaction_id,
            service,
            cid,
            command_type,
            payload,
        });
    }

    fn configuration(
        &mut self,
        transaction_id: u32,
        command_type: CommandType,
        payload: &[u8],
        outputs: &mut Vec<Output>,
    ) {
        let service = pc::SERVICE.uuid;
        let cid = pc::cid::Configuration::ID;
        let refuse = |status| refused(transaction_id, service, cid, status);
        if command_type != CommandType::Set {
            outputs.push(refuse(Status::InvalidParameters));
            return;
        }
        if self.configuring {
            outputs.push(refuse(Status::Busy));
            return;
        }
        let Ok(configuration) = ProxyConfiguration::decode(payload) else {
            outputs.push(refuse(Status::InvalidParameters));
            return;
        };
        if let Some(device) = &self.device {
            // libmbim: the same path again is fine, another one is not.
            let status = if *device == configuration.device_path {
                Status::Success
            } else {
                Status::Failure
            };
            outputs.push(refuse(status));
            return;
        }
        self.configuring = true;
        outputs.push(Output::Configure {
            transaction_id,
            path: configuration.device_path,
        });
    }

    /// The server task found (`Some`, with the version agreed with the
    /// device) or did not find the executor a CONFIGURATION named.
    pub fn configured(
        &mut self,
        transaction_id: u32,
        path: String,
        found: Option<MbimExVersion>,
    ) -> Vec<Output> {
        self.configuring = false;
        let status = match found {
            Some(version) => {
                self.device = Some(path);
                self.agreed = version;
                Status::Success
            }
            None => Status::Failure,
        };
        let mut outputs = vec![done(
            transaction_id,
            pc::SERVICE.uuid,
            pc::cid::Configuration::ID,
            status,
            Vec::new(),
        )];
        if found.is_some() && self.told() != MbimExVersion::V1 {
            outputs.extend(self.version_changed(self.agreed));
        }
        outputs
    }

    /// The version agreed with the device changed: told to the client (as
    /// far as it reads it) as libmbim's proxy tells it (PROXY_CONTROL
    /// VERSION).
    pub fn version_changed(&mut self, version: MbimExVersion) -> Option<Output> {
        self.agreed = version;
        self.device.as_ref()?;
        let notification = ProxyVersion {
            mbim_version: ext::MBIM_VERSION_1_0,
            mbim_extended_version: self.told().to_bcd(),
        };
        Some(send(&Message::indicate_status(
            0,
            pc::SERVICE.uuid,
            pc::cid::Version::ID,
            notification.encode(),
        )))
    }

    fn subscribe_list(
        &mut self,
        transaction_id: u32,
        command_type: CommandType,
        payload: Vec<u8>,
        outputs: &mut Vec<Output>,
    ) {
        let service = bc::SERVICE.uuid;
        let cid = bc::cid::DeviceServiceSubscribeList::ID;
        if command_type != CommandType::Set {
            outputs.push(refused(
                transaction_id,
                service,
                cid,
                Status::InvalidParameters,
            ));
            return;
        }
        match bc::EventEntries::decode(&payload) {
            Ok(entries) => {
                self.filter = Filter::List(
                    entries
                        .events
                        .iter()
                        .map(|entry| {
                            (
                                entry.device_service_id,
                                entry.cids.iter().copied().collect(),
                            )
                        })
                        .collect(),
                );
                // The device's own list stays mbimd's; the client's is the
                // filter of what it is sent. The answer echoes its list.
                outputs.push(done(transaction_id, service, cid, Status::Success, payload));
            }
            Err(_) => outputs.push(refused(
                transaction_id,
                service,
                cid,
                Status::InvalidParameters,
            )),
        }
    }

    /// The device answered a forwarded command.
    pub fn answered(
        &mut self,
        transaction_id: u32,
        service: Uuid,
        cid: u32,
        answer: PassthroughAnswer,
    ) -> Output {
        self.in_flight.remove(&transaction_id);
        match answer {
            PassthroughAnswer::Done {
                status,
                information_buffer,
            } => {
                let buffer = layouts::to_client(
                    self.told(),
                    self.agreed,
                    (service, cid),
                    information_buffer,
                );
                done(transaction_id, service, cid, status, buffer)
            }
            PassthroughAnswer::FunctionError(error) => function_error(transaction_id, error),
            // libmbim's client times out by itself; a FUNCTION_ERROR
            // tells it at once.
            PassthroughAnswer::NoAnswer(_) => function_error(transaction_id, ProtocolError::Cancel),
        }
    }

    /// The device notified: sent on when the client wants it.
    pub fn indication(&self, indication: &DeviceIndication) -> Option<Output> {
        self.device.as_ref()?;
        if !self.filter.wants(indication.service, indication.cid) {
            return None;
        }
        Some(send(&Message::indicate_status(
            0,
            indication.service,
            indication.cid,
            layouts::to_client(
                self.told(),
                self.agreed,
                (indication.service, indication.cid),
                indication.information_buffer.to_vec(),
            ),
        )))
    }
}

fn send(message: &Message) -> Output {
    match message.to_bytes() {
        Ok(bytes) => Output::Send(bytes),
        // Only a message over 4 GiB cannot be emitted; none is built here.
        Err(error) => Output::Disconnect(format!("cannot build an answer: {error}")),
    }
}

fn done(transaction_id: u32, service: Uuid, cid: u32, status: Status, buffer: Vec<u8>) -> Output {
    send(&Message::command_done(
        transaction_id,
        service,
        cid,
        status,
        buffer,
    ))
}

/// A COMMAND_DONE with no information buffer: a refusal (or a plain
/// success) answered here.
fn refused(transaction_id: u32, service: Uuid, cid: u32, status: Status) -> Output {
    done(transaction_id, service, cid, status, Vec::new())
}

fn function_error(transaction_id: u32, error: ProtocolError) -> Output {
    send(&Message::FunctionError {
        transaction_id,
        error,
    })
}

#[cfg(test)]
mod tests;
