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
//!
//! One exception: a modem whose data plane runs in this process (the
//! simulated modem forwarding to a real network) offers its thread
//! ([`DataThread`]), and [`spawn_on`] runs the pump there as a task beside
//! that modem's reader. Each NTB the reader builds then reaches the pump
//! without a thread being woken for it, as a real modem's DMA wakes no
//! thread of the host's: with a thread of its own the pump was woken per
//! block on the other CPU, and the two threads handing blocks to each
//! other cost more than the work itself (docs/performance.md, "The pump
//! on the simulated modem's thread").

use super::{Counters, DatapathError, Exit, PacketDevice, Pump, StopReason};
use mbim_transport::{DataJob, DataThread, InPipe, OutPipe};
use std::any::Any;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Where the pump runs.
    runner: Runner,
    counters: Arc<Counters>,
}

/// Where a pump runs.
#[derive(Debug)]
enum Runner {
    /// On a thread of its own ([`spawn`]); `None` when the thread could not
    /// be started (the exit says why) or has been joined.
    Thread(Option<JoinHandle<()>>),
    /// As a task on a device's data thread ([`spawn_on`]), which sets the
    /// flag when the task has ended.
    Task(Arc<AtomicBool>),
}

impl PumpHandle {
    /// The pump's counters.
    pub fn counters(&self) -> Arc<Counters> {
        self.counters.clone()
    }

    /// Whether the pump has returned (stopped, disconnected or failed).
    pub fn is_finished(&self) -> bool {
        match &self.runner {
            Runner::Thread(thread) => thread.as_ref().is_none_or(JoinHandle::is_finished),
            Runner::Task(finished) => finished.load(Ordering::Acquire),
        }
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
        if let Runner::Thread(thread) = &mut self.runner {
            if let Some(thread) = thread.take() {
                let _ = thread.join();
            }
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
    on_thread(started, stop_tx, exit_rx, counters)
}

/// The handle of a pump whose thread was `started`, or says why it was not.
fn on_thread(
    started: io::Result<JoinHandle<()>>,
    stop: oneshot::Sender<()>,
    exit: oneshot::Receiver<Exit>,
    counters: Arc<Counters>,
) -> PumpHandle {
    let (exit, thread) = match started {
        Ok(thread) => (exit, Some(thread)),
        Err(error) => {
            // The closure, with the exit sender, is gone: a fresh channel
            // carries the reason to the handle.
            let (failed_tx, failed_rx) = oneshot::channel();
            let _ = failed_tx.send(Err(DatapathError::Start(error)));
            (failed_rx, None)
        }
    };
    PumpHandle {
        stop: Some(stop),
        exit,
        runner: Runner::Thread(thread),
        counters,
    }
}

/// Runs `pump` on `device` as a task on `thread`, the data thread of the
/// device at the pipes' far end (see the `datapath::thread` module); on a
/// thread of its own as [`spawn`] does if that thread has ended.
pub fn spawn_on<I, O, D>(thread: &dyn DataThread, pump: Pump<I, O>, device: D) -> PumpHandle
where
    I: InPipe + 'static,
    O: OutPipe + 'static,
    D: PumpDevice,
{
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (exit_tx, exit_rx) = oneshot::channel::<Exit>();
    let counters = pump.counters();
    let finished = Arc::new(AtomicBool::new(false));
    let report = ExitReport {
        exit: Some(exit_tx),
        finished: finished.clone(),
    };
    let job: DataJob = Box::new(move || {
        let task = tokio::task::spawn_local(async move {
            let mut pump = pump;
            let device = device.bind().map_err(|error| DatapathError::Device {
                operation: "registration",
                error,
            })?;
            let stop = async move {
                let _ = stop_rx.await;
            };
            pump.run(&device, stop).await
        });
        // A second task waits for the first, so that a panic in the pump
        // (which tokio catches in its task) becomes its exit.
        tokio::task::spawn_local(async move {
            let mut report = report;
            let exit = match task.await {
                Ok(exit) => exit,
                Err(error) if error.is_panic() => {
                    Err(DatapathError::Panicked(panic_message(&*error.into_panic())))
                }
                Err(_) => Ok(StopReason::Disconnected),
            };
            report.send(exit);
        });
    });
    match thread.run(job) {
        Ok(()) => PumpHandle {
            stop: Some(stop_tx),
            exit: exit_rx,
            runner: Runner::Task(finished),
            counters,
        },
        Err(job) => {
            // The device's thread is gone; the pump still gets to run (its
            // pipes will say the device is gone) and to say how it ended.
            let started = std::thread::Builder::new()
                .name("pump".to_owned())
                .spawn(move || run_job_here(job));
            on_thread(started, stop_tx, exit_rx, counters)
        }
    }
}

/// Sends a task's exit to its handle once, and marks the task finished: on
/// [`ExitReport::send`], or when the task is dropped unfinished (its data
/// thread ended), as a disconnect.
struct ExitReport {
    exit: Option<oneshot::Sender<Exit>>,
    finished: Arc<AtomicBool>,
}

impl ExitReport {
    fn send(&mut self, exit: Exit) {
        self.finished.store(true, Ordering::Release);
        if let Some(sender) = self.exit.take() {
            // The handle may be gone (a dropped handle detaches the pump).
            let _ = sender.send(exit);
        }
    }
}

impl Drop for ExitReport {
    fn drop(&mut self) {
        self.send(Ok(StopReason::Disconnected));
    }
}

/// A job a data thread refused, run on this thread instead: a runtime and a
/// `LocalSet` of its own, driven until every task the job started ends.
fn run_job_here(job: DataJob) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        // Dropping the job drops its report, which says "disconnected".
        Err(_) => return,
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move { job() });
    runtime.block_on(local);
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
