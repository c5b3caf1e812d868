//! Commands that are not the executor's own: a libmbim client's, sent
//! through mbimd's `mbim-proxy` (crate::proxy), and the device's indications
//! copied out to such clients.
//!
//! The driver sends a passthrough command on the same control session as
//! the machine's commands, under a transaction id of the session's own
//! choosing, so the two never collide; the answer goes back to the client
//! alone. A SET a client made successfully changes the device under mbimd
//! (a CONNECT, the radio): its answer, which has the layout of the matching
//! indication, is also handed to the machine as if the device had notified
//! it, so mbimd's view follows (libmbim's own proxy watches answers the
//! same way for the MBIM extensions version).

use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::Uuid;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// How many passthrough commands one executor keeps in flight; more are
/// answered BUSY, so a client cannot fill the session's queue.
pub const MAX_PASSTHROUGH_IN_FLIGHT: usize = 16;

/// Indications kept for a proxy client that has not read them yet; one
/// that falls further behind loses the oldest (and is told so in the log).
pub const INDICATION_BACKLOG: usize = 64;

/// A command a proxy client sends to the device.
#[derive(Debug)]
pub struct Passthrough {
    /// Service.
    pub service: Uuid,
    /// CID.
    pub cid: u32,
    /// Query or set.
    pub command_type: CommandType,
    /// The information buffer, as the client built it.
    pub payload: Vec<u8>,
    /// Where the device's answer goes.
    pub reply: oneshot::Sender<PassthroughAnswer>,
}

/// How a passthrough command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassthroughAnswer {
    /// COMMAND_DONE: the device's status and information buffer.
    Done {
        /// Status.
        status: Status,
        /// The whole information buffer.
        information_buffer: Vec<u8>,
    },
    /// FUNCTION_ERROR, or NotOpened while the executor has no session.
    FunctionError(ProtocolError),
    /// No answer: the device did not answer in time, or the session was
    /// closed under the command.
    NoAnswer(String),
}

/// An INDICATE_STATUS as the device sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIndication {
    /// Service.
    pub service: Uuid,
    /// CID.
    pub cid: u32,
    /// The whole (reassembled) information buffer.
    pub information_buffer: Arc<[u8]>,
}

/// The executor's end of its passthrough: commands in, indications and the
/// agreed MBIM extensions version out.
#[derive(Debug)]
pub struct PassthroughEnd {
    /// Commands from proxy clients.
    pub commands: mpsc::Receiver<Passthrough>,
    /// Every indication the device sends (no receiver: dropped).
    pub indications: broadcast::Sender<DeviceIndication>,
    /// The MBIM extensions version the executor agreed with the device.
    pub version: watch::Sender<MbimExVersion>,
}

/// The proxy's end of one executor's passthrough. Cloneable: each proxy
/// client holds one.
#[derive(Debug, Clone)]
pub struct PassthroughPort {
    /// Where commands go.
    pub commands: mpsc::Sender<Passthrough>,
    /// Subscribe here for indications.
    pub indications: broadcast::Sender<DeviceIndication>,
    /// The MBIM extensions version agreed with the device.
    pub version: watch::Receiver<MbimExVersion>,
}

/// A connected pair: the executor's end and the proxy's.
pub fn passthrough_channel() -> (PassthroughEnd, PassthroughPort) {
    let (commands_tx, commands_rx) = mpsc::channel(MAX_PASSTHROUGH_IN_FLIGHT);
    let (indications, _) = broadcast::channel(INDICATION_BACKLOG);
    let (version_tx, version_rx) = watch::channel(MbimExVersion::V1);
    (
        PassthroughEnd {
            commands: commands_rx,
            indications: indications.clone(),
            version: version_tx,
        },
        PassthroughPort {
            commands: commands_tx,
            indications,
            version: version_rx,
        },
    )
}
