//! [`KernelPort`]: one MBIM function reached through the character device of
//! a kernel driver — cdc-wdm (`/dev/cdc-wdmN`, USB functions bound by
//! cdc_mbim) or a WWAN port (`/dev/wwanNmbim0`, PCIe modems on MHI, t7xx,
//! IOSM) — as the same [`FunctionTransport`] the executor drives over
//! usbfs.
//!
//! The device carries whole control messages: a `write` is one
//! SEND_ENCAPSULATED_COMMAND (the session fragments to the maximum first),
//! and what the device answers or indicates is read back, the kernel having
//! done GET_ENCAPSULATED_RESPONSE on RESPONSE_AVAILABLE itself. So the
//! transport turns each message read into a RESPONSE_AVAILABLE notification
//! followed by the message as that notification's response, and the
//! driver's loop stays the one it runs on USB. There are no other class
//! requests and no data channel: the kernel driver runs NCM (or the PCIe
//! data path) and offers it as a network device.
//!
//! Opening follows the kernel's rules. cdc-wdm says its wMaxCommand (the
//! function's wMaxControlMessage, the largest message either way) through
//! `IOCTL_WDM_MAX_COMMAND`; a WWAN port has no such call (the IOSM driver,
//! which had one, limited messages to 4096 bytes, and libmbim assumes the
//! same), so 4096 unless the port answers the call. The port is opened
//! non-blocking: cdc-wdm allows one write in flight and says so through
//! poll, which the writer waits on.

use super::stream::{MessageStream, StreamError};
use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_transport::{Completion, FunctionTransport, InPipe, OutPipe, Pipe, TransportError};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The largest message of a WWAN port, which has no call to ask it.
pub const WWAN_MAX_MESSAGE: u16 = 4096;

/// The smallest wMaxControlMessage MBIM allows (MBIM 1.0 §6.4).
pub const MIN_MAX_MESSAGE: u16 = 64;

/// How long the rest of a message begun may take to arrive. The kernel
/// hands over a response whole, so a message still incomplete after this
/// announced a length the device never sent, and every message after it
/// would be swallowed into it: the bytes are dropped and reading starts
/// afresh at the next read.
pub const PARTIAL_MESSAGE_TIMEOUT: Duration = Duration::from_secs(2);

/// Which kernel driver offers the character device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// cdc-wdm, under cdc_mbim (`/dev/cdc-wdmN`).
    CdcWdm,
    /// A WWAN port of type MBIM (`/dev/wwanNmbim0`).
    Wwan,
}

impl PortKind {
    /// How logs and D-Bus name it.
    pub fn name(self) -> &'static str {
        match self {
            PortKind::CdcWdm => "cdc-wdm",
            PortKind::Wwan => "wwan",
        }
    }
}

/// Why a port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// `open` failed (permissions, the node is gone, no such driver).
    #[error("cannot open {}", path.display())]
    Open {
        /// The device node.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `IOCTL_WDM_MAX_COMMAND` failed: not a cdc-wdm device.
    #[error("{} answers no IOCTL_WDM_MAX_COMMAND: not a cdc-wdm device", path.display())]
    MaxCommand {
        /// The device node.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The maximum message size is below what MBIM allows.
    #[error("{}: a maximum message of {max} bytes is less than MBIM's minimum of {MIN_MAX_MESSAGE}", path.display())]
    MaxTooSmall {
        /// The device node.
        path: PathBuf,
        /// What the driver said.
        max: u16,
    },
    /// The descriptor could not be registered with the runtime.
    #[error("cannot poll {}", path.display())]
    Register {
        /// The device node.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What has been read and not yet handed to the driver.
#[derive(Debug)]
struct Inbound {
    stream: MessageStream,
    /// Whole messages announced by a RESPONSE_AVAILABLE, waiting for their
    /// GET_ENCAPSULATED_RESPONSE.
    ready: VecDeque<Vec<u8>>,
    /// One read's worth, reused.
    scratch: Vec<u8>,
}

/// One MBIM function behind a kernel driver's character device.
#[derive(Debug)]
pub struct KernelPort {
    fd: AsyncFd<OwnedFd>,
    kind: PortKind,
    max_message: u16,
    inbound: Mutex<Inbound>,
}

impl KernelPort {
    /// Opens the device node `path` of a `kind` port and reads its maximum
    /// message size. Must run inside a tokio runtime.
    pub fn open(path: &Path, kind: PortKind) -> Result<KernelPort, PortError> {
        use rustix::fs::{Mode, OFlags};
        let fd = rustix::fs::open(
            path,
            OFlags::RDWR | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
        .map_err(|errno| PortError::Open {
            path: path.to_owned(),
            source: errno.into(),
        })?;
        let max_message = match (max_command(&fd), kind) {
            (Ok(max), _) => max,
            (Err(errno), PortKind::CdcWdm) => {
                return Err(PortError::MaxCommand {
                    path: path.to_owned(),
                    source: errno.into(),
                })
            }
            (Err(_), PortKind::Wwan) => WWAN_MAX_MESSAGE,
        };
        if max_message < MIN_MAX_MESSAGE {
            return Err(PortError::MaxTooSmall {
                path: path.to_owned(),
                max: max_message,
            });
        }
        KernelPort::from_fd(fd, kind, max_message).map_err(|source| PortError::Register {
            path: path.to_owned(),
            source,
        })
    }

    /// A port over an open, non-blocking descriptor whose messages are at
    /// most `max_message` bytes (a descriptor pair in tests). Must run inside
    /// a tokio runtime.
    pub fn from_fd(fd: OwnedFd, kind: PortKind, max_message: u16) -> std::io::Result<KernelPort> {
        // SAFETY: the AsyncFd owns the OwnedFd, which closes its descriptor
        // only when dropped with it and always returns the same descriptor,
        // which is all registration asks.
        #[allow(unsafe_code)]
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }
                .map_err(std::io::Error::from)?;
        let max = usize::from(max_message);
        Ok(KernelPort {
            fd,
            kind,
            max_message,
            inbound: Mutex::new(Inbound {
                stream: MessageStream::new(max),
                ready: VecDeque::new(),
                scratch: vec![0; max],
            }),
        })
    }

    /// The largest control message, either way (the session's
    /// MaxControlTransfer).
    pub fn max_message(&self) -> u16 {
        self.max_message
    }

    /// Which driver offers the port.
    pub fn kind(&self) -> PortKind {
        self.kind
    }

    fn inbound(&self) -> std::sync::MutexGuard<'_, Inbound> {
        // A panic elsewhere while holding it leaves nothing half-done that
        // matters more than reading on.
        self.inbound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A whole message buffered: queued for its GET_ENCAPSULATED_RESPONSE
    /// and announced. `None` when more bytes are needed.
    fn announce_buffered(&self) -> Option<Result<Notification, TransportError>> {
        let mut inbound = self.inbound();
        match inbound.stream.next_message()? {
            Ok(message) => {
                inbound.ready.push_back(message);
                Some(Ok(Notification::ResponseAvailable { interface: 0 }))
            }
            Err(error) => Some(Err(stream_error(&error))),
        }
    }

    /// One read into the stream. `Ok(false)`: nothing was there after all.
    fn read_once(&self, fd: &OwnedFd) -> std::io::Result<ReadOutcome> {
        let mut inbound = self.inbound();
        let Inbound {
            stream, scratch, ..
        } = &mut *inbound;
        match rustix::io::read(fd, &mut scratch[..]) {
            Ok(0) => Ok(ReadOutcome::Empty),
            Ok(length) => {
                let now = tokio::time::Instant::now().into_std();
                stream.push(scratch.get(..length).unwrap_or_default(), now);
                Ok(ReadOutcome::Bytes)
            }
            Err(errno) => Err(errno.into()),
        }
    }
}

/// What one read gave.
enum ReadOutcome {
    Bytes,
    /// No bytes: end of file for a socket or a vanished device, or cdc-wdm's
    /// empty response (a zero-length packet), which is no end.
    Empty,
}

fn stream_error(error: &StreamError) -> TransportError {
    TransportError::Other(format!("the bytes read are no message: {error}"))
}

/// `IOCTL_WDM_MAX_COMMAND`: `_IOR('H', 0xA0, __u16)` (linux/usb/cdc-wdm.h).
const WDM_MAX_COMMAND: rustix::ioctl::Opcode = rustix::ioctl::opcode::read::<u16>(b'H', 0xA0);

fn max_command(fd: &OwnedFd) -> Result<u16, Errno> {
    // SAFETY: IOCTL_WDM_MAX_COMMAND is a read of one __u16 (its opcode
    // encodes the size, `_IOR('H', 0xA0, __u16)`), which is exactly the
    // `u16` the getter provides; a descriptor that is not cdc-wdm answers
    // ENOTTY (or, for another driver that reused the number, writes at
    // most the two bytes the opcode's size field announces).
    #[allow(unsafe_code)]
    unsafe {
        let getter = rustix::ioctl::Getter::<WDM_MAX_COMMAND, u16>::new();
        rustix::ioctl::ioctl(fd, getter)
    }
}

/// Whether the device hung up (unplugged): poll says HUP or ERR.
fn hung_up(fd: &OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags};
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    let zero = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut fds, Some(&zero)) {
        Ok(_) => fds
            .first()
            .is_some_and(|fd| fd.revents().intersects(PollFlags::HUP | PollFlags::ERR)),
        Err(_) => true,
    }
}

/// A read or write error as the executor's driver takes it.
fn io_error(error: &std::io::Error, what: &str) -> TransportError {
    match Errno::from_io_error(error) {
        // The device is gone: cdc-wdm says ENODEV once disconnecting, a
        // WWAN port ENODEV once its driver let it go; a closed pair EPIPE.
        Some(Errno::NODEV | Errno::PIPE | Errno::SHUTDOWN | Errno::CONNRESET | Errno::BADF) => {
            TransportError::Disconnected
        }
        Some(Errno::TIMEDOUT) => TransportError::Timeout,
        _ => TransportError::Other(format!("{what}: {error}")),
    }
}

impl FunctionTransport for KernelPort {
    type BulkIn = NoPipe;
    type BulkOut = NoPipe;

    async fn control_out(
        &self,
        request: ClassRequest,
        _value: u16,
        data: Vec<u8>,
    ) -> Result<(), TransportError> {
        if request != ClassRequest::SendEncapsulatedCommand {
            return Err(no_class_requests(self.kind, request));
        }
        loop {
            let mut guard = self
                .fd
                .writable()
                .await
                .map_err(|error| io_error(&error, "waiting to write"))?;
            match guard
                .try_io(|fd| rustix::io::write(fd.get_ref(), &data).map_err(std::io::Error::from))
            {
                Ok(Ok(written)) if written == data.len() => return Ok(()),
                Ok(Ok(written)) => {
                    // cdc-wdm cuts a write at wMaxCommand: the session's
                    // fragments never reach it, so this is a driver that
                    // took less than it should.
                    return Err(TransportError::Other(format!(
                        "the {} device took {written} of {} bytes",
                        self.kind.name(),
                        data.len()
                    )));
                }
                Ok(Err(error)) => return Err(io_error(&error, "write")),
                // Another write is still in flight (cdc-wdm's one URB):
                // wait for poll to say writable again.
                Err(_would_block) => {}
            }
        }
    }

    async fn control_in(
        &self,
        request: ClassRequest,
        _value: u16,
        length: u16,
    ) -> Result<Vec<u8>, TransportError> {
        if request != ClassRequest::GetEncapsulatedResponse {
            return Err(no_class_requests(self.kind, request));
        }
        let message = self.inbound().ready.pop_front();
        match message {
            Some(mut message) => {
                // As a control transfer would: no more than asked for.
                message.truncate(usize::from(length));
                Ok(message)
            }
            // Nothing announced is waiting: an empty response, as a
            // function answers a GET_ENCAPSULATED_RESPONSE it has nothing for.
            None => Ok(Vec::new()),
        }
    }

    async fn next_notification(&self) -> Result<Notification, TransportError> {
        // Cancel-safe: bytes read go into the stream before any await, so a
        // caller that drops this future (the driver's select!) loses none.
        loop {
            if let Some(announced) = self.announce_buffered() {
                return announced;
            }
            let partial = self.inbound().stream.partial_since();
            let readable = self.fd.readable();
            let mut guard = match partial {
                Some(since) => {
                    let deadline = tokio::time::Instant::from_std(since + PARTIAL_MESSAGE_TIMEOUT);
                    match tokio::time::timeout_at(deadline, readable).await {
                        Ok(guard) => guard,
                        Err(_elapsed) => {
                            let dropped = self.inbound().stream.discard();
                            tracing::warn!(
                                "{}: a message begun did not end within {:?}: {dropped} bytes dropped",
                                self.kind.name(),
                                PARTIAL_MESSAGE_TIMEOUT
                            );
                            return Err(TransportError::Timeout);
                        }
                    }
                }
                None => readable.await,
            }
            .map_err(|error| io_error(&error, "waiting to read"))?;
            match guard.try_io(|fd| self.read_once(fd.get_ref())) {
                Ok(Ok(ReadOutcome::Bytes)) => {}
                Ok(Ok(ReadOutcome::Empty)) => {
                    if hung_up(self.fd.get_ref()) {
                        self.inbound().stream.discard();
                        return Err(TransportError::Disconnected);
                    }
                    // cdc-wdm's empty read (a zero-length response) leaves
                    // nothing to wait for until the device sends again.
                    guard.clear_ready();
                }
                Ok(Err(error)) => {
                    let error = io_error(&error, "read");
                    if error != TransportError::Disconnected {
                        // EIO (a failed response transfer) or ENOBUFS
                        // (cdc-wdm's buffer overflowed): bytes were lost,
                        // so the message boundary is too.
                        self.inbound().stream.discard();
                    }
                    return Err(error);
                }
                Err(_would_block) => {}
            }
        }
    }

    async fn set_data_alt_setting(&self, _alt: u8) -> Result<(), TransportError> {
        Err(no_data_channel(self.kind))
    }

    fn take_data_pipes(&self) -> Result<(NoPipe, NoPipe), TransportError> {
        Err(no_data_channel(self.kind))
    }

    fn carries_ncm_data(&self) -> bool {
        false
    }
}

fn no_class_requests(kind: PortKind, request: ClassRequest) -> TransportError {
    TransportError::Other(format!(
        "{request:?}: a {} device carries control messages only (its kernel driver owns the function)",
        kind.name()
    ))
}

fn no_data_channel(kind: PortKind) -> TransportError {
    TransportError::Other(format!(
        "a {} device has no data channel: the kernel driver offers it as a network device",
        kind.name()
    ))
}

/// The bulk pipe type of a port without pipes: it cannot be made.
#[derive(Debug)]
pub enum NoPipe {}

impl Pipe for NoPipe {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        match *self {}
    }

    fn pending(&self) -> usize {
        match *self {}
    }

    fn cancel_all(&mut self) {
        match *self {}
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        match *self {}
    }
}

impl InPipe for NoPipe {
    fn submit(&mut self, _buffer: Vec<u8>, _length: usize) {
        match *self {}
    }
}

impl OutPipe for NoPipe {
    fn submit(&mut self, _data: Vec<u8>) {
        match *self {}
    }
}
