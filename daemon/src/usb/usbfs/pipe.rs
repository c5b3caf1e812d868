//! The bulk pipes of the data interface on mbimd's own usbfs descriptor.
//!
//! Both pipes of one [`take`](super::DataInterface::take_pipes) share the
//! descriptor, whose URBs are reaped together: whichever pipe is polled
//! reaps every completed URB (until EAGAIN), files each under its endpoint,
//! and wakes the other pipe's waiter if it got one. The descriptor is
//! registered lazily, on the first wait, with the reactor of the runtime
//! that polls the pipes (the pump's thread), for WRITABLE: usbfs reports
//! POLLOUT while completed URBs wait and wakes its waitqueue on every
//! completion, so edge-triggered epoll sees each one. A completion thus
//! wakes the pump's thread directly, with no event thread in between.
//!
//! Dropping a pipe discards its URBs and reaps them (for a bounded time)
//! before their buffers are freed; what the kernel does not hand back in
//! that time is leaked, never freed under it.

use super::block::UsbfsBuffer;
use super::urb::Urbs;
use super::{ioctl, DataInterface};
use crate::usb::function::{in_request_length, needs_zlp};
use mbim_transport::{Completion, InPipe, OutPipe, Pipe, TransportError};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use rustix::io::Errno;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// How long a dropped pipe waits for its discarded URBs to be handed back
/// before leaking them: a host controller ends a discarded URB at once,
/// vhci-hcd once its USB/IP server answers the unlink.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(1);

/// Which pipe: an index into [`State`]'s arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    In,
    Out,
}

impl Direction {
    fn other(self) -> Direction {
        match self {
            Direction::In => Direction::Out,
            Direction::Out => Direction::In,
        }
    }

    /// This direction's entry of a per-direction pair.
    fn of<T>(self, pair: &mut [T; 2]) -> &mut T {
        let [bulk_in, bulk_out] = pair;
        match self {
            Direction::In => bulk_in,
            Direction::Out => bulk_out,
        }
    }
}

/// The descriptor as the reactor registers it: holding the interface keeps
/// it open for as long as the registration lives.
struct Registered(Arc<DataInterface>);

impl AsRawFd for Registered {
    fn as_raw_fd(&self) -> RawFd {
        self.0.fd.as_raw_fd()
    }
}

/// Both endpoints' transfers and who waits for them.
struct State {
    urbs: [Urbs; 2],
    /// Per direction, the waker of a pipe waiting for its oldest transfer.
    wakers: [Option<Waker>; 2],
}

impl State {
    fn urbs(&mut self, direction: Direction) -> &mut Urbs {
        direction.of(&mut self.urbs)
    }

    fn waker(&mut self, direction: Direction) -> &mut Option<Waker> {
        direction.of(&mut self.wakers)
    }

    /// Reaps every completed URB, until EAGAIN (`Ok`) or an error; returns
    /// the directions that got completions.
    fn reap(&mut self, fd: BorrowedFd<'_>) -> (Result<(), Errno>, [bool; 2]) {
        let mut got = [false; 2];
        loop {
            match ioctl::reap_nonblocking(fd) {
                Ok(urb) => {
                    if self.urbs(Direction::In).reaped(urb) {
                        got[0] = true;
                    } else if self.urbs(Direction::Out).reaped(urb) {
                        got[1] = true;
                    } else {
                        // One abandoned by an earlier pair: leaked then,
                        // and no one's now.
                        tracing::debug!("usbfs: reaped a URB no pipe is waiting for");
                    }
                }
                Err(Errno::INTR) => {}
                Err(Errno::NODEV) => {
                    // The kernel ends and hands back every URB before it
                    // reports the device gone, so none should be left;
                    // if one is, it is leaked rather than freed.
                    for direction in [Direction::In, Direction::Out] {
                        if self.urbs(direction).abandon(&TransportError::Disconnected) > 0 {
                            *direction.of(&mut got) = true;
                        }
                    }
                    return (Err(Errno::NODEV), got);
                }
                Err(errno) => return (Err(errno), got),
            }
        }
    }

    /// Wakes the other pipe if this reap gave it completions and it waits.
    /// Even in the same task (the pump's, whose select polls both): it may
    /// have been polled before this reap in the same round, and the epoll
    /// event of what was reaped here is gone (epoll reports a descriptor
    /// only while usbfs still has completed URBs), so no other wake comes.
    fn wake_other(&mut self, direction: Direction, mut got: [bool; 2]) {
        let other = direction.other();
        if *other.of(&mut got) {
            if let Some(waker) = self.waker(other).take() {
                waker.wake();
            }
        }
    }
}

/// What both pipes of one take share.
pub(super) struct Shared {
    interface: Arc<DataInterface>,
    /// The descriptor's registration with the polling runtime's reactor,
    /// made on the first wait (on the pump's thread, not where the pipes
    /// were taken).
    reactor: OnceLock<Result<AsyncFd<Registered>, String>>,
    state: Mutex<State>,
}

impl Shared {
    pub(super) fn new(interface: Arc<DataInterface>, bulk_in: u8, bulk_out: u8) -> Self {
        Shared {
            interface,
            reactor: OnceLock::new(),
            state: Mutex::new(State {
                urbs: [Urbs::new(bulk_in), Urbs::new(bulk_out)],
                wakers: [None, None],
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the queues consistent (no
        // step of theirs panics half-way), so a poisoned lock is used on.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.interface.fd.as_fd()
    }

    fn reactor(&self) -> Result<&AsyncFd<Registered>, TransportError> {
        let registered = self.reactor.get_or_init(|| {
            if tokio::runtime::Handle::try_current().is_err() {
                return Err("the pipes are polled outside a tokio runtime".to_owned());
            }
            #[allow(unsafe_code)]
            // SAFETY: `Registered` owns a reference to the interface, whose
            // descriptor stays open (and the same) until it is dropped,
            // which is after the AsyncFd deregisters it.
            let registered = unsafe {
                AsyncFd::register_with_interest(
                    Registered(self.interface.clone()),
                    Interest::WRITABLE,
                )
            };
            registered.map_err(|error| format!("registering the usbfs descriptor: {error}"))
        });
        registered
            .as_ref()
            .map_err(|reason| TransportError::Other(reason.clone()))
    }

    /// The oldest transfer of `direction` once it is done; never resolves
    /// while none is pending.
    fn poll_next(
        &self,
        direction: Direction,
        cx: &mut Context<'_>,
    ) -> Poll<Completion<UsbfsBuffer>> {
        let mut state = self.lock();
        if let Some(done) = state.urbs(direction).pop_done() {
            *state.waker(direction) = None;
            return Poll::Ready(done);
        }
        if state.urbs(direction).pending() == 0 {
            return Poll::Pending;
        }
        let reactor = match self.reactor() {
            Ok(reactor) => reactor,
            Err(error) => return Poll::Ready(self.fail(&mut state, direction, &error)),
        };
        loop {
            let mut guard = match reactor.poll_write_ready(cx) {
                Poll::Ready(Ok(guard)) => guard,
                Poll::Ready(Err(error)) => {
                    let error = TransportError::Other(format!("waiting on usbfs: {error}"));
                    return Poll::Ready(self.fail(&mut state, direction, &error));
                }
                Poll::Pending => {
                    let slot = state.waker(direction);
                    if !slot
                        .as_ref()
                        .is_some_and(|waker| waker.will_wake(cx.waker()))
                    {
                        *slot = Some(cx.waker().clone());
                    }
                    return Poll::Pending;
                }
            };
            let (reaped, got) = state.reap(self.fd());
            state.wake_other(direction, got);
            match reaped {
                // Drained: readiness is cleared unless a completion came
                // after it was seen (tokio keeps that one).
                Err(Errno::AGAIN) => guard.clear_ready(),
                // Gone: every URB was handed back or abandoned above, and
                // the next submission fails with the reason.
                Err(Errno::NODEV) => {}
                Err(errno) => {
                    let error = TransportError::Other(format!("reaping usbfs URBs: {errno}"));
                    return Poll::Ready(self.fail(&mut state, direction, &error));
                }
                Ok(()) => {}
            }
            if let Some(done) = state.urbs(direction).pop_done() {
                *state.waker(direction) = None;
                return Poll::Ready(done);
            }
        }
    }

    /// When the pipe cannot wait for the kernel: its URBs are discarded
    /// and settled, and whatever is left fails with `error`.
    fn fail(
        &self,
        state: &mut State,
        direction: Direction,
        error: &TransportError,
    ) -> Completion<UsbfsBuffer> {
        tracing::warn!("usbfs data pipe: {error}");
        self.settle(state, direction);
        state.urbs(direction).abandon(error);
        state.urbs(direction).pop_done().unwrap_or(Completion {
            buffer: Vec::new().into(),
            status: Err(error.clone()),
        })
    }

    /// Discards `direction`'s URBs and reaps until none of them is the
    /// kernel's any more, for at most [`SETTLE_TIMEOUT`], waiting with
    /// poll(2) (this runs in drops and failures, outside the reactor).
    fn settle(&self, state: &mut State, direction: Direction) {
        let fd = self.fd();
        state.urbs(direction).discard_all(fd);
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        let mut got_any = [false; 2];
        while state.urbs(direction).has_flying() {
            let (reaped, got) = state.reap(fd);
            got_any = [got_any[0] || got[0], got_any[1] || got[1]];
            match reaped {
                Err(Errno::AGAIN) => {}
                _ => break,
            }
            if !state.urbs(direction).has_flying() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let timeout = Timespec::try_from(left).unwrap_or(Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            });
            let mut fds = [PollFd::new(&fd, PollFlags::OUT)];
            if let Err(errno) = rustix::event::poll(&mut fds, Some(&timeout)) {
                if errno != Errno::INTR {
                    break;
                }
            }
        }
        let other = direction.other();
        if *other.of(&mut got_any) {
            if let Some(waker) = state.waker(other).take() {
                waker.wake();
            }
        }
        let leaked = state.urbs(direction).abandon(&TransportError::Cancelled);
        if leaked > 0 {
            tracing::warn!(
                interface = self.interface.number,
                "usbfs: {leaked} cancelled transfers did not come back in {SETTLE_TIMEOUT:?}; \
                 their buffers are leaked, not freed under the kernel"
            );
        }
    }

    fn pending(&self, direction: Direction) -> usize {
        self.lock().urbs(direction).pending()
    }

    fn cancel_all(&self, direction: Direction) {
        self.lock().urbs(direction).discard_all(self.fd());
    }

    /// A new buffer for `direction`'s transfers: a mapped block if the
    /// descriptor maps.
    fn lend(&self, direction: Direction, capacity: usize) -> UsbfsBuffer {
        let fd = self.fd();
        self.lock().urbs(direction).lend(fd, capacity)
    }

    fn submit(&self, direction: Direction, buffer: UsbfsBuffer, length: usize, flags: u32) {
        let fd = self.fd();
        self.lock()
            .urbs(direction)
            .submit(fd, buffer, length, flags);
    }

    async fn clear_halt(&self, endpoint: u8) -> Result<(), TransportError> {
        let interface = self.interface.clone();
        // A control transfer: the blocking pool waits for it, not the
        // pump's thread.
        tokio::task::spawn_blocking(move || ioctl::clear_halt(interface.fd.as_fd(), endpoint))
            .await
            .map_err(|error| TransportError::Other(format!("clearing the halt: {error}")))?
            .map_err(super::urb::errno_error)
    }

    /// A pipe's drop: its URBs discarded and reaped, the rest leaked; the
    /// other pipe's waiter, if another task, woken so it waits on.
    fn drop_pipe(&self, direction: Direction) {
        let mut state = self.lock();
        self.settle(&mut state, direction);
        while state.urbs(direction).pop_done().is_some() {}
        *state.waker(direction) = None;
        if let Some(waker) = state.waker(direction.other()).take() {
            waker.wake();
        }
    }
}

/// Forgets a waiter whose future was dropped, and hands the reactor's
/// wake-up to the other pipe if it waits in another task: the reactor
/// keeps one waker, the last poller's.
struct Waiting<'a> {
    shared: &'a Shared,
    direction: Direction,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        let Some(ours) = state.waker(self.direction).take() else {
            return;
        };
        if let Some(other) = state.waker(self.direction.other()).as_ref() {
            if !other.will_wake(&ours) {
                other.wake_by_ref();
            }
        }
    }
}

async fn next(shared: &Shared, direction: Direction) -> Completion<UsbfsBuffer> {
    let _waiting = Waiting { shared, direction };
    poll_fn(|cx| shared.poll_next(direction, cx)).await
}

/// What both pipes do alike, `$direction` being theirs and `$buffer`
/// their buffer type (made from and into a [`UsbfsBuffer`]): the [`Pipe`]
/// methods over the shared state, a `Debug` that names the interface, and
/// a drop that settles the pipe's URBs.
macro_rules! usbfs_pipe {
    ($name:ident, $direction:expr, $buffer:ty) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("interface", &self.shared.interface.number)
                    .finish_non_exhaustive()
            }
        }

        impl Pipe for $name {
            type Buffer = $buffer;

            fn buffer(&mut self, capacity: usize) -> $buffer {
                self.lend(capacity).into()
            }

            async fn next_complete(&mut self) -> Completion<$buffer> {
                let done = next(&self.shared, $direction).await;
                Completion {
                    buffer: done.buffer.into(),
                    status: done.status,
                }
            }

            fn pending(&self) -> usize {
                self.shared.pending($direction)
            }

            fn cancel_all(&mut self) {
                self.shared.cancel_all($direction);
            }

            async fn clear_halt(&mut self) -> Result<(), TransportError> {
                let endpoint = self.shared.lock().urbs($direction).endpoint();
                self.shared.clear_halt(endpoint).await
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                self.shared.drop_pipe($direction);
            }
        }
    };
}

/// The data interface's bulk IN pipe on mbimd's usbfs descriptor.
pub struct UsbfsBulkIn {
    shared: Arc<Shared>,
    max_packet_size: usize,
}

usbfs_pipe!(UsbfsBulkIn, Direction::In, UsbfsBuffer);

impl UsbfsBulkIn {
    pub(super) fn new(shared: Arc<Shared>, max_packet_size: usize) -> Self {
        UsbfsBulkIn {
            shared,
            max_packet_size,
        }
    }

    /// A block for transfers of up to `capacity` bytes, lent to the pump:
    /// it gets it back, holding what the device sent, in the completion,
    /// and parses it there.
    fn lend(&self, capacity: usize) -> UsbfsBuffer {
        self.shared.lend(
            Direction::In,
            in_request_length(capacity, self.max_packet_size),
        )
    }
}

impl InPipe for UsbfsBulkIn {
    fn submit(&mut self, buffer: UsbfsBuffer, length: usize) {
        // Without USBDEVFS_URB_SHORT_NOT_OK: a short packet ends an NTB.
        let requested = in_request_length(length, self.max_packet_size);
        self.shared.submit(Direction::In, buffer, requested, 0);
    }
}

/// The data interface's bulk OUT pipe on mbimd's usbfs descriptor: a
/// transfer that needs a zero-length packet after it carries
/// USBDEVFS_URB_ZERO_PACKET, so one transfer is one URB.
pub struct UsbfsBulkOut {
    shared: Arc<Shared>,
    max_packet_size: usize,
    out_max_size: Option<usize>,
}

usbfs_pipe!(UsbfsBulkOut, Direction::Out, UsbfsBuffer);

impl UsbfsBulkOut {
    pub(super) fn new(
        shared: Arc<Shared>,
        max_packet_size: usize,
        out_max_size: Option<usize>,
    ) -> Self {
        UsbfsBulkOut {
            shared,
            max_packet_size,
            out_max_size,
        }
    }

    /// A block of `capacity` bytes lent to the pump, which builds an NTB
    /// in it and submits it to be sent from where it is.
    fn lend(&self, capacity: usize) -> UsbfsBuffer {
        self.shared.lend(Direction::Out, capacity)
    }
}

impl OutPipe for UsbfsBulkOut {
    fn submit(&mut self, data: UsbfsBuffer) {
        let length = data.as_ref().len();
        let flags = if needs_zlp(length, self.max_packet_size, self.out_max_size) {
            ioctl::URB_ZERO_PACKET
        } else {
            0
        };
        self.shared.submit(Direction::Out, data, length, flags);
    }
}
