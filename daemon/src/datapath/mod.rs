//! The data path: the pump that carries IP packets between an executor's
//! bulk pipes (NTBs) and its network device (one packet per read/write).
//!
//! ```text
//!  bulk IN ─┬─ N transfers in flight, buffers reused ─▶ Ntb::new_checked
//!           │     ─▶ datagrams of IPS<session>: one device write each, or
//!           │        with offloads one gathered write per flow's run (gro)
//!           │     ─▶ other sessions, DSS: counted, dropped; bad NTB: counted
//!  device ──┴─ read ─▶ Segmenter ─▶ NtbBuilder ─▶ flush when full, when the
//!                device has nothing more queued, or after `flush_delay`
//!                ─▶ bulk OUT, M transfers in flight, buffers recycled
//! ```
//!
//! The executor builds a [`PumpConfig`] once connected (session id, NTB
//! format and parameters), takes the transport's data pipes and hands them
//! with the netdev's device to [`Pump::new`], then either awaits
//! [`Pump::run`] in its own task or [`spawn`]s it on a thread of its own
//! (`thread.rs`) and keeps a [`PumpHandle`]. The pump stops when told to,
//! when the transport reports [`TransportError::Disconnected`], or on a
//! persistent failure; a malformed NTB or a failed write is counted
//! ([`Counters`]), never fatal.
//!
//! Zero-length packets: the [`OutPipe`] terminates
//! a transfer that is a multiple of the endpoint's packet size, so the pump
//! submits blocks as they are.
//!
//! Offloads (virtio-net framing): reads are cut up by mbim-offload's
//! [`Segmenter`], writes coalesced by its [`gro`](mbim_offload::gro).

mod counters;
mod device;
mod rx;
mod sessions;
mod thread;
mod tun;
mod tx;

pub use counters::{CounterSnapshot, Counters};
pub use device::{MemoryDevice, MemoryPeer, PacketDevice};
pub use mbim_offload::{ReadFraming, Segmenter};
pub use sessions::{SessionReader, SessionTable, SessionTraffic};
pub use thread::{spawn, spawn_on, PumpDevice, PumpHandle};
pub use tun::TunDevice;

use mbim_protocol::ntb::{BuildLimits, LimitsError, NtbBuilder, NtbFormat, NtbParameters};
use mbim_transport::{InPipe, OutPipe, TransportError};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// How long cancelled transfers may take to come back when the pump stops,
/// before it gives up on them (the pipes' drop cancels whatever is left).
const DRAIN_TIMEOUT: Duration = Duration::from_millis(200);

/// Consecutive failures of one kind (transfer or device) after which the
/// pump gives up: one failure is counted and skipped, but a pipe that fails
/// every transfer would otherwise spin.
const MAX_CONSECUTIVE_FAILURES: u32 = 64;

/// How the pump runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PumpConfig {
    /// The IP session whose datagrams this pump carries (`IPS<n>`).
    pub session_id: u8,
    /// The NTB format selected with SET_NTB_FORMAT.
    pub format: NtbFormat,
    /// The function's GET_NTB_PARAMETERS answer (the OUT limits build NTBs).
    pub parameters: NtbParameters,
    /// Bytes per bulk IN transfer: the NTB input size the host set (or
    /// `dwNtbInMaxSize`).
    pub in_transfer_size: usize,
    /// Bulk IN transfers kept in flight, so the modem never waits for the
    /// host to resubmit.
    pub in_transfers: usize,
    /// Bulk OUT transfers in flight at most (their buffers are recycled).
    pub out_transfers: usize,
    /// The longest a datagram waits in a partly filled NTB while more are
    /// being read.
    pub flush_delay: Duration,
    /// Sends a partly filled NTB as soon as the device has nothing more
    /// queued, so a lone packet (a ping, a TCP ACK) is not delayed. Off, the
    /// pump waits up to `flush_delay` for more to aggregate.
    pub flush_when_idle: bool,
    /// How the device frames its reads.
    pub framing: ReadFraming,
}

impl PumpConfig {
    /// The defaults for a session of a function with these NTB settings:
    /// transfers of `dwNtbInMaxSize`, 4 IN and 4 OUT in flight, 1 ms flush
    /// delay, flush when idle.
    pub fn new(session_id: u8, format: NtbFormat, parameters: NtbParameters) -> Self {
        PumpConfig {
            session_id,
            format,
            parameters,
            in_transfer_size: usize::try_from(parameters.in_max_size).unwrap_or(usize::MAX),
            in_transfers: 4,
            out_transfers: 4,
            flush_delay: Duration::from_millis(1),
            flush_when_idle: true,
            framing: ReadFraming::PlainPacket,
        }
    }
}

/// Why a pump that ran without failing returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// It was told to stop.
    Stopped,
    /// The transport reported the device gone.
    Disconnected,
}

/// Why a pump could not start or gave up.
#[derive(Debug, thiserror::Error)]
pub enum DatapathError {
    /// The NTB parameters admit no block.
    #[error("unusable NTB parameters")]
    Limits(#[from] LimitsError),
    /// A bulk IN transfer size of 0, or larger than the format can address.
    #[error("bulk IN transfer size {0} is unusable")]
    InTransferSize(usize),
    /// Bulk transfers kept failing.
    #[error("bulk {direction} transfers keep failing")]
    Transport {
        /// `"IN"` or `"OUT"`.
        direction: &'static str,
        /// The last failure.
        #[source]
        error: TransportError,
    },
    /// The network device kept failing.
    #[error("network device {operation} keeps failing")]
    Device {
        /// `"read"` or `"write"`.
        operation: &'static str,
        /// The last failure.
        #[source]
        error: io::Error,
    },
    /// The pump's thread (or its runtime) could not be started.
    #[error("cannot start the pump's thread")]
    Start(#[source] io::Error),
    /// The pump's thread panicked (the panic's message).
    #[error("the pump's thread panicked: {0}")]
    Panicked(String),
}

/// How a pump's loop ended; `Ok` is a clean stop.
pub(crate) type Exit = Result<StopReason, DatapathError>;

/// The pump of one executor; see the [module documentation](self).
#[derive(Debug)]
pub struct Pump<I, O: OutPipe> {
    bulk_in: I,
    bulk_out: O,
    config: PumpConfig,
    /// Builds each NTB in a buffer of the OUT pipe's (on usbfs, the mapped
    /// block the device is sent from).
    builder: NtbBuilder<O::Buffer>,
    counters: Arc<Counters>,
    /// Further sessions carried beside `config.session_id`, if any.
    sessions: Option<SessionTable>,
}

impl<I: InPipe, O: OutPipe> Pump<I, O> {
    /// A pump over the data pipes of a connected function. Allocates every
    /// buffer it will use (transfers, NTB builder, read buffer) here or when
    /// it starts, none per packet.
    pub fn new(bulk_in: I, mut bulk_out: O, config: PumpConfig) -> Result<Self, DatapathError> {
        let limits = BuildLimits::from_parameters(&config.parameters);
        let first = bulk_out.buffer(limits.max_block_len(config.format));
        let builder = NtbBuilder::new_in(config.format, limits, first)?;
        if config.in_transfer_size == 0 || config.in_transfer_size > config.format.max_block_len() {
            return Err(DatapathError::InTransferSize(config.in_transfer_size));
        }
        Ok(Pump {
            bulk_in,
            bulk_out,
            config,
            builder,
            counters: Arc::new(Counters::new()),
            sessions: None,
        })
    }

    /// Carries the further sessions attached to `table` too (their NDPs
    /// signed with their own session ids); see the `sessions` module.
    pub fn with_sessions(mut self, table: SessionTable) -> Self {
        self.sessions = Some(table);
        self
    }

    /// The counters, readable while the pump runs and after.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &PumpConfig {
        &self.config
    }

    /// Pumps until `stop` resolves (`Ok(Stopped)`), the transport is
    /// disconnected (`Ok(Disconnected)`), or transfers or the device keep
    /// failing (`Err`). Either way, transfers still in flight are cancelled
    /// and their completions collected before it returns.
    ///
    /// `stop` is any future: `token.cancelled()`, a oneshot receiver, or
    /// `std::future::pending()` for "until disconnected".
    pub async fn run<D: PacketDevice>(
        &mut self,
        device: &D,
        stop: impl Future<Output = ()> + Send,
    ) -> Exit {
        let Pump {
            bulk_in,
            bulk_out,
            config,
            builder,
            counters,
            sessions,
        } = self;
        let sessions = sessions.as_ref();
        let mut uplink = sessions.and_then(SessionTable::take_uplink);
        let result = {
            let rx = rx::run(bulk_in, device, config, counters, sessions);
            let tx = tx::Tx::new(bulk_out, builder, config, counters, uplink.as_mut()).run(device);
            tokio::select! {
                exit = rx => exit,
                exit = tx => exit,
                () = stop => Ok(StopReason::Stopped),
            }
        };
        match &result {
            Ok(StopReason::Stopped) => tracing::debug!("data path stopped"),
            Ok(StopReason::Disconnected) => tracing::info!("data path: device disconnected"),
            Err(error) => tracing::warn!("data path failed: {}", crate::logging::chain(error)),
        }
        drain(bulk_in).await;
        drain(bulk_out).await;
        builder.reset();
        if let (Some(table), Some(uplink)) = (sessions, uplink) {
            table.return_uplink(uplink);
        }
        result
    }
}

/// Cancels a pipe's transfers and collects their completions, for a bounded
/// time: a backend that never completes a cancelled transfer must not hang
/// the executor's shutdown.
async fn drain<P: mbim_transport::Pipe>(pipe: &mut P) {
    pipe.cancel_all();
    let collect = async {
        while pipe.pending() > 0 {
            let _ = pipe.next_complete().await;
        }
    };
    if tokio::time::timeout(DRAIN_TIMEOUT, collect).await.is_err() {
        tracing::debug!("data path: cancelled transfers did not all complete");
    }
}
