//! Each pump on an OS thread of its own, with a current-thread tokio
//! runtime: the pump never sleeps while traffic flows, and on mbimd's
//! multi-thread runtime tokio moved it between workers (work stealing)
//! while the sender or receiver on the other side needed the other CPU; a
//! pump on a thread of its own stays where the scheduler puts it, and the
//! control plane and the other modems' pumps never queue behind it.
//!
//! The device is registered with the pump thread's own reactor
//! ([`PumpDevice::bind`] runs there), so its readiness wakes that thread
//! directly rather than a worker of the main runtime that would then wake
//! the pump's. A USB modem's data interface is on a usbfs descriptor that
//! is registered with the same reactor (`usb::usbfs`), so bulk completions
//! are reaped on this thread too; only where that interface fell back to
//! nusb does a completion come from nusb's event thread, which calls the
//! waker: one wake-up of the pump's thread per batch of completions.
//!
//! The thread ends with the pump: a stop, a drop of the [`PumpHandle`], a
//! disconnect or a failure. A panic on it is caught there and reported
//! through the handle as [`DatapathError::Panicked`]; it never reaches the
//! daemon's runtime or another modem's pump.

use super::{Counters, DatapathError, Exit, PacketDevice, Pump};
use mbim_transport::{InPipe, OutPipe};
use std::any::Any;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// What [`spawn`] hands to the pump's thread: turned there into the
/// [`PacketDevice`] the pump drives, so that a device whose readiness comes
/// from a reactor is registered with the pump thread's (a TUN device, see
/// [`TunDevice`](super::TunDevice)). Every `PacketDevice` is one as it is.
pub trait PumpDevice: Send + 'static {
    /// The device the pump drives.
    type Device: PacketDevice;

    /// Makes the device, on the pump's thread and inside its runtime.
    fn bind(self) -> io::Result<Self::Device>;

    /// The network device's name, for the thread's (`pump-<name>`).
    fn name(&self) -> Option<String> {
        None
    }
}

impl<D: PacketDevice + 'static> PumpDevice for D {
    type Device = D;

    fn bind(self) -> io::Result<D> {
        Ok(self)
    }
}

/// A pump running on its own thread; dropping the handle stops it.
#[derive(Debug)]
pub struct PumpHandle {
    stop: Option<oneshot::Sender<()>>,
    /// How the pump ended, sent by its thread once the pump, its device
    /// and its runtime are gone.
    exit: oneshot::Receiver<Exit>,
    /// `None` when the thread could not be started (`exit` says why).
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl PumpHandle {
    /// The pump's counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Whether the pump has returned (stopped, disconnected or failed).
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Tells the pump to stop and waits until it has: it cancels its
    /// transfers and collects them for at most `DRAIN_TIMEOUT`.
    pub async fn stop(mut self) -> Exit {
        if let Some(stop) = self.stop.take() {
            // An Err means the pump already returned; join reports how.
            let _ = stop.send(());
        }
        self.join_inner().await
    }

    /// Waits until the pump returns by itself (disconnect or failure).
    pub async fn join(mut self) -> Exit {
        self.join_inner().await
    }

    async fn join_inner(&mut self) -> Exit {
        let exit = (&mut self.exit).await.unwrap_or_else(|_| {
            // The thread sends before it returns, even after a panic; a
            // closed channel means it died some other way.
            Err(DatapathError::Panicked(
                "the pump thread ended without a word".to_owned(),
            ))
        });
        // The thread has sent its last word and only returns now: joining
        // it does not hold up this runtime.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        exit
    }
}

impl Drop for PumpHandle {
    fn drop(&mut self) {
        // Dropping the sender resolves the pump's stop future: the thread
        // cancels its transfers and ends on its own (detached).
        self.stop.take();
    }
}

/// Runs `pump` on `device` on a new thread named `pump-<device>`, with a
/// current-thread runtime of its own (see the `datapath::thread` module).
pub fn spawn<I, O, D>(pump: Pump<I, O>, device: D) -> PumpHandle
where
    I: InPipe + 'static,
    O: OutPipe + 'static,
    D: PumpDevice,
{
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (exit_tx, exit_rx) = oneshot::channel::<Exit>();
    let counters = pump.counters();
    let name = match device.name() {
        // Linux keeps 15 bytes of a thread's name; std cuts it there.
        Some(name) => format!("pump-{name}"),
        None => "pump".to_owned(),
    };
    let started = std::thread::Builder::new().name(name).spawn(move || {
        let exit = run_here(pump, device, stop_rx);
        // The handle may be gone (a dropped handle detaches the thread).
        let _ = exit_tx.send(exit);
    });
    let thread = match started {
        Ok(thread) => Some(thread),
        Err(error) => {
            // The closure, with the exit sender, is gone: a fresh channel
            // carries the reason to the handle.
            let (failed_tx, failed_rx) = oneshot::channel();
            let _ = failed_tx.send(Err(DatapathError::Start(error)));
            return PumpHandle {
                stop: Some(stop_tx),
                exit: failed_rx,
                thread: None,
                counters,
            };
        }
    };
    PumpHandle {
        stop: Some(stop_tx),
        exit: exit_rx,
        thread,
        counters,
    }
}

/// The pump thread's body: a runtime, the device bound to it, the pump run
/// until it ends; a panic is caught and becomes the exit.
fn run_here<I, O, D>(mut pump: Pump<I, O>, device: D, stop: oneshot::Receiver<()>) -> Exit
where
    I: InPipe,
    O: OutPipe,
    D: PumpDevice,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DatapathError::Start)?;
    let ran = panic::catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async move {
            let device = device.bind().map_err(|error| DatapathError::Device {
                operation: "registration",
                error,
            })?;
            // Either a stop message or the handle's drop ends the pump.
            let stop = async move {
                let _ = stop.await;
            };
            pump.run(&device, stop).await
        })
    }));
    // The pump, its pipes and its device were dropped inside the future
    // (or while unwinding out of it); the runtime goes before the exit is
    // sent, so nothing of the pump outlives the handle's join.
    drop(runtime);
    ran.unwrap_or_else(|panic| Err(DatapathError::Panicked(panic_message(&*panic))))
}

/// What a panic said, as far as it said it in words.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic without a message".to_owned()
    }
}
