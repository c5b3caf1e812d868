//! # mbim-transport
//!
//! How a host reaches one MBIM function, independent of what carries it:
//! real USB (the daemon's nusb backend), or the simulated modem in the same
//! process (`mbim-sim`'s in-process transport, so daemon tests run without a
//! kernel). The shape follows the USB function itself, so the nusb backend is
//! a thin mapping and nothing here hides a cost the real device would have:
//!
//! * class requests on the communication interface — MBIM control messages
//!   travel in SEND_ENCAPSULATED_COMMAND / GET_ENCAPSULATED_RESPONSE, the NTB
//!   setup in GET_NTB_PARAMETERS, SET_NTB_INPUT_SIZE, …;
//! * the interrupt endpoint's notifications (RESPONSE_AVAILABLE …);
//! * selecting the data interface's alternate setting;
//! * the bulk pipes as transfer queues — submit buffers, await completions in
//!   order — which lets the data path keep several transfers in flight and
//!   reuse their buffers, as nusb does. Each pipe names its buffer type: a
//!   `Vec<u8>` for most, a block of memory the kernel transfers into and
//!   out of directly for the daemon's usbfs pipes, so the data path parses
//!   a received NTB where the device put it, and builds an outgoing one
//!   where the device will take it from, instead of copying either.
//!
//! The crate only defines the interface: no runtime, no I/O. The futures it
//! returns are `Send`, so a tokio task can own a transport.

use mbim_protocol::ntb::BlockBuffer;
use mbim_protocol::usb::{ClassRequest, Notification};
use std::future::Future;
use std::sync::Arc;

/// Why a transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The device is gone (unplugged, or the function was released).
    #[error("the device is disconnected")]
    Disconnected,
    /// The endpoint stalled (for a control request: the function refused it).
    #[error("the endpoint stalled")]
    Stall,
    /// The transfer did not complete in time.
    #[error("the transfer timed out")]
    Timeout,
    /// The transfer was cancelled by the host.
    #[error("the transfer was cancelled")]
    Cancelled,
    /// The pipe or notification stream was already taken.
    #[error("{0} was already taken")]
    AlreadyTaken(&'static str),
    /// Anything else the backend reports.
    #[error("transfer failed: {0}")]
    Other(String),
}

/// A finished transfer: the buffer comes back to be reused.
#[derive(Debug)]
pub struct Completion<B = Vec<u8>> {
    /// For IN transfers, the received bytes (`as_ref()` is exactly them);
    /// for OUT transfers, the buffer that was sent.
    pub buffer: B,
    /// Whether the transfer succeeded.
    pub status: Result<(), TransportError>,
}

/// A queue of transfers on one bulk (or interrupt) endpoint.
///
/// Transfers complete in submission order. Dropping the pipe cancels what is
/// still pending.
pub trait Pipe: Send {
    /// The buffers this pipe transfers into or from: read as bytes, and
    /// written as an NTB is built in them ([`BlockBuffer`]). A buffer made
    /// from a `Vec<u8>` is always accepted; a pipe may lend buffers of its
    /// own ([`buffer`](Self::buffer)), which come back in its completions
    /// and are best submitted again as they are.
    type Buffer: BlockBuffer + From<Vec<u8>> + std::fmt::Debug + Send + 'static;

    /// A new buffer of at least `capacity` bytes for this pipe: by default
    /// an empty `Vec`; a pipe whose device can transfer straight into
    /// memory of its own lends such a block.
    fn buffer(&mut self, capacity: usize) -> Self::Buffer {
        Vec::with_capacity(capacity).into()
    }

    /// The oldest pending transfer, once it completes. Never resolves while
    /// nothing is pending.
    fn next_complete(&mut self) -> impl Future<Output = Completion<Self::Buffer>> + Send;

    /// How many transfers are pending.
    fn pending(&self) -> usize;

    /// Cancels every pending transfer; each still completes, with
    /// [`TransportError::Cancelled`].
    fn cancel_all(&mut self);

    /// Clears the endpoint's halt after a [`TransportError::Stall`]:
    /// CLEAR_FEATURE(ENDPOINT_HALT), which also resets the data toggle on
    /// both sides (USB 2.0 §9.4.5). Until then a halted endpoint fails every
    /// transfer. Call it with nothing pending: cancel and collect first.
    fn clear_halt(&mut self) -> impl Future<Output = Result<(), TransportError>> + Send;
}

/// A device-to-host pipe.
pub trait InPipe: Pipe {
    /// Queues a transfer of at most `length` bytes into `buffer` (cleared
    /// first; its memory is reused, so a pump can cycle a fixed set of
    /// buffers without allocating).
    fn submit(&mut self, buffer: Self::Buffer, length: usize);
}

/// A host-to-device pipe.
pub trait OutPipe: Pipe {
    /// Queues `data` (its bytes, `as_ref()`) to be sent. A transfer whose length is a multiple of the
    /// endpoint's packet size is terminated by a zero-length packet, as NCM
    /// requires, unless it is exactly the largest NTB the function accepts.
    fn submit(&mut self, data: Self::Buffer);
}

/// One MBIM function as the host reaches it.
pub trait FunctionTransport: Send + Sync {
    /// The bulk IN pipe's type.
    type BulkIn: InPipe + 'static;
    /// The bulk OUT pipe's type.
    type BulkOut: OutPipe + 'static;

    /// A class request with an OUT data stage to the communication interface
    /// (SEND_ENCAPSULATED_COMMAND, SET_NTB_INPUT_SIZE, SET_NTB_FORMAT,
    /// RESET_FUNCTION…).
    fn control_out(
        &self,
        request: ClassRequest,
        value: u16,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// A class request with an IN data stage of at most `length` bytes
    /// (GET_ENCAPSULATED_RESPONSE, GET_NTB_PARAMETERS…).
    fn control_in(
        &self,
        request: ClassRequest,
        value: u16,
        length: u16,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send;

    /// The next notification of the interrupt endpoint.
    fn next_notification(
        &self,
    ) -> impl Future<Output = Result<Notification, TransportError>> + Send;

    /// Selects the data interface's alternate setting (1 opens the data
    /// pipes, 0 closes them).
    fn set_data_alt_setting(
        &self,
        alt: u8,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Takes the bulk pipes of the data interface (after selecting alternate
    /// setting 1). They can be taken once per selection.
    fn take_data_pipes(&self) -> Result<(Self::BulkIn, Self::BulkOut), TransportError>;

    /// Whether the host drives the function's NCM data channel through this
    /// transport (GET_NTB_PARAMETERS, the data interface, the bulk pipes).
    /// A character device of a kernel driver (cdc-wdm, a WWAN port) carries
    /// control messages only: the driver owns the data path and offers it
    /// as a network device, so nobody asks for NTB parameters or pipes.
    fn carries_ncm_data(&self) -> bool {
        true
    }

    /// The thread the far end of the bulk pipes does its data-plane work
    /// on, when that far end is in this process (the simulated modem
    /// forwarding to a real network). A pump run there hands each NTB
    /// across by a function call instead of waking another thread, as a
    /// real modem's DMA wakes no thread of the host's. `None` (every real
    /// transport): the pump gets a thread of its own.
    fn data_thread(&self) -> Option<Arc<dyn DataThread>> {
        None
    }
}

/// Work handed to a [`DataThread`].
pub type DataJob = Box<dyn FnOnce() + Send>;

/// The thread an in-process device runs its data plane on, taking work:
/// see [`FunctionTransport::data_thread`].
pub trait DataThread: Send + Sync + std::fmt::Debug {
    /// Runs `job` on that thread, inside its tokio runtime and a
    /// `LocalSet`, so the job may start tasks there with
    /// `tokio::task::spawn_local`; they run until they end or the thread
    /// does (then they are dropped). Gives `job` back if the thread has
    /// ended.
    fn run(&self, job: DataJob) -> Result<(), DataJob>;
}
