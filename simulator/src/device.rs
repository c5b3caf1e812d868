//! Thread-safe handles on a simulated modem, shaped like its USB interfaces.
//!
//! [`SimModem`] owns the sans-IO [`Modem`] behind a mutex and is the only
//! place that reads the clock; [`SimFunction`] is one MBIM function as the
//! USB/IP server (or an in-process test host) sees it: class requests on
//! endpoint 0, notifications on interrupt IN, NTBs on bulk IN/OUT. Waiters
//! are woken through `tokio::sync::Notify` whenever the model may have
//! something new for them, and sleep until the model's next timer
//! otherwise, so delayed OPENs and traffic generation advance even without
//! [`SimModem::run`]. A change to the data pipes alone wakes only the
//! waiters it concerns: what is queued for the host (an NTB taken on bulk
//! OUT, the real network's datagrams) bulk IN's, a block taken on bulk IN
//! the network reader's wait for room, once there is the room it asked
//! for: at line rate there are thousands a second, and waking the control side's
//! waiters for each (both functions' notification readers, the unplug
//! watcher, the timer driver: each a wake-up of a runtime worker that finds
//! nothing to do) cost `mbimd --simulate` a quarter of its CPU per byte
//! on TCP with offloads towards the network (docs/performance.md, "The
//! floor with offloads").

use crate::control::{ControlCommand, ControlError, ControlReply};
use crate::model::Modem;
pub use crate::model::{EndpointError, FunctionConfig};
use crate::scenario::{Scenario, ScenarioError};
use mbim_protocol::usb::{Notification, SetupPacket};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// The shortest sleep of a waiter whose deadline has passed.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// Which waiters a model access concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// Anything: control requests, notifications, plugging, timers, and
    /// the data pipes too. Wakes every waiter.
    Control,
    /// Something queued for the host on the data pipes alone (an NTB
    /// taken on bulk OUT, the real network's datagrams queued), which
    /// changes nothing but what bulk IN's waiters wait for. A timer such an
    /// access happens to fire is no change the others miss: each sleeps no
    /// later than until the model's next timer, so it looks again by then.
    Data,
    /// Room made in the queues of the real network's datagrams (a block
    /// taken on bulk IN), which only the network's reader waits for, and
    /// then only for as much room as it asked for (see
    /// [`SimModem::wait_for_network_room`]).
    Room,
}

/// Waits for `changed`, for `data` if given (both enabled before the model
/// was looked at, so no change is missed), or `deadline`, the model's next
/// timer. Without a timer only a change wakes the waiter: an idle modem
/// costs no wake-ups.
async fn wait(
    changed: Pin<&mut Notified<'_>>,
    data: Option<Pin<&mut Notified<'_>>>,
    deadline: Option<Instant>,
) {
    let data = async {
        match data {
            Some(data) => data.await,
            None => std::future::pending().await,
        }
    };
    let timer = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = changed => {}
        () = data => {}
        () = timer => {}
    }
}

struct Shared {
    scenario: Arc<Scenario>,
    modem: Mutex<Modem>,
    /// Woken on every change to the model but those of [`Side::Data`] and
    /// [`Side::Room`].
    changed: Notify,
    /// Woken on the changes of [`Side::Data`], which only bulk IN's
    /// waiters listen for.
    data: Notify,
    /// Woken on the changes of [`Side::Room`] once there is as much room
    /// as `room_wanted`; only the network's reader listens.
    room: Notify,
    /// The room in the queues of the real network's datagrams the reader
    /// waits for, 0 while it waits for none.
    room_wanted: AtomicUsize,
    /// The real network behind the modem, once [`SimModem::forward`] opened it.
    uplink: std::sync::OnceLock<crate::forward::Uplink>,
    /// The thread that reads [`Shared::uplink`], set with it.
    data_thread: std::sync::OnceLock<Arc<dyn mbim_transport::DataThread>>,
    /// What the host sends to it, gathered per NTB. Only bulk OUT takes
    /// it, before the model's lock, and keeps it for the writes after
    /// releasing that: two functions' bulk OUT may wait here for each
    /// other's writes, the model's other users never do.
    writer: Mutex<crate::forward::Writer>,
}

/// A simulated modem; clones are handles to the same modem.
#[derive(Clone)]
pub struct SimModem {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimModem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimModem")
            .field("scenario", &self.shared.scenario.name)
            .finish_non_exhaustive()
    }
}

impl SimModem {
    /// A modem in its power-on state.
    pub fn new(scenario: Scenario) -> Result<SimModem, ScenarioError> {
        let scenario = Arc::new(scenario);
        let modem = Modem::new(scenario.clone(), Instant::now())?;
        Ok(SimModem {
            shared: Arc::new(Shared {
                scenario,
                modem: Mutex::new(modem),
                changed: Notify::new(),
                data: Notify::new(),
                room: Notify::new(),
                room_wanted: AtomicUsize::new(0),
                uplink: std::sync::OnceLock::new(),
                data_thread: std::sync::OnceLock::new(),
                writer: Mutex::new(crate::forward::Writer::default()),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Modem> {
        // A panic while holding the lock leaves a model that is still
        // memory-safe; keep serving rather than poisoning every handle.
        self.shared
            .modem
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` on the model with the current time, then wakes every
    /// waiter (an access of [`Side::Control`]).
    fn with<T>(&self, f: impl FnOnce(&mut Modem, Instant) -> T) -> T {
        let result = {
            let mut modem = self.lock();
            let now = Instant::now();
            modem.handle_timeout(now);
            f(&mut modem, now)
        };
        self.notify(Side::Control);
        result
    }

    fn notify(&self, side: Side) {
        match side {
            Side::Control => self.shared.changed.notify_waiters(),
            Side::Data => self.shared.data.notify_waiters(),
            Side::Room => self.shared.room.notify_waiters(),
        }
    }

    /// Waits until `poll` gives a value, re-polling on every change of
    /// [`Side::Control`], on those of `side` too, and at the model's next
    /// timer. Taking the value wakes the waiters of `side` unless `looks`
    /// (it changed nothing, or the caller wakes whom it concerns).
    /// `bulk_in` names the function whose traffic generator's timer counts.
    async fn wait_for<T>(
        &self,
        side: Side,
        looks: bool,
        bulk_in: Option<usize>,
        mut poll: impl FnMut(&mut Modem, Instant) -> Option<T>,
    ) -> T {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let side_notify = match side {
                Side::Control => None,
                Side::Data => Some(&self.shared.data),
                Side::Room => Some(&self.shared.room),
            };
            let data = side_notify.map(Notify::notified);
            tokio::pin!(data);
            if let Some(data) = data.as_mut().as_pin_mut() {
                data.enable();
            }
            let deadline = {
                let mut modem = self.lock();
                let now = Instant::now();
                modem.handle_timeout(now);
                if let Some(value) = poll(&mut modem, now) {
                    drop(modem);
                    if !looks {
                        self.notify(side);
                    }
                    return value;
                }
                let bulk = bulk_in.and_then(|function| modem.poll_bulk_timeout(function));
                [modem.poll_timeout(), bulk].into_iter().flatten().min()
            };
            // At least a millisecond: a deadline that stays in the past
            // must not turn this into a busy loop.
            let deadline = deadline.map(|at| at.max(Instant::now() + MIN_WAIT));
            wait(changed, data.as_mut().as_pin_mut(), deadline).await;
        }
    }

    /// Drives the model's timers (delayed OPEN, queued device-wide SETs,
    /// traffic); run it on a tokio runtime until unplug. Returns when unplugged.
    pub async fn run(&self) {
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let deadline = {
                let mut modem = self.lock();
                if modem.is_unplugged() {
                    return;
                }
                let now = Instant::now();
                let due = modem.poll_timeout().is_some_and(|at| at <= now);
                if due {
                    modem.handle_timeout(now);
                    drop(modem);
                    // Whatever came due may be what a waiter waits for.
                    self.shared.changed.notify_waiters();
                    continue;
                }
                modem.poll_timeout()
            };
            wait(notified, None, deadline).await;
        }
    }

    /// The scenario it was built from.
    pub fn scenario(&self) -> Arc<Scenario> {
        self.shared.scenario.clone()
    }

    /// Number of MBIM functions (executors).
    pub fn function_count(&self) -> usize {
        self.shared.scenario.executors.len()
    }

    /// Function `index`, if it exists.
    pub fn function(&self, index: usize) -> Option<SimFunction> {
        (index < self.function_count()).then(|| SimFunction {
            modem: self.clone(),
            index,
        })
    }

    /// Applies a control command.
    pub fn control(&self, command: ControlCommand) -> Result<ControlReply, ControlError> {
        self.with(|modem, now| modem.control(now, command))
    }

    /// Resolves once the modem is unplugged (control command `unplug`).
    pub async fn unplugged(&self) {
        self.wait_for(Side::Control, false, None, |modem, _| {
            modem.is_unplugged().then_some(())
        })
        .await;
    }

    /// Resolves once the modem is plugged in (at once if it is; after
    /// control command `replug` if it was unplugged).
    pub async fn replugged(&self) {
        self.wait_for(Side::Control, false, None, |modem, _| {
            (!modem.is_unplugged()).then_some(())
        })
        .await;
    }

    /// Whether the modem is unplugged.
    pub fn is_unplugged(&self) -> bool {
        self.lock().is_unplugged()
    }

    /// Puts a real network behind the modem: opens `target`'s TUN device
    /// (see [`crate::forward`]; with `offload`, with TSO/USO offloads where
    /// the kernel has them) and from then on writes the sessions' datagrams
    /// that are not for the simulated gateway to it, and reads what the
    /// network sends back into the sessions on a thread of its own, until
    /// the device fails or the returned handle is dropped. Resolves once
    /// the device is open.
    pub async fn forward(
        &self,
        target: &crate::forward::ForwardTarget,
        offload: bool,
    ) -> Result<crate::forward::Forwarder, crate::forward::ForwardError> {
        if self.shared.uplink.get().is_some() {
            return Err(crate::forward::ForwardError::AlreadyForwarding);
        }
        crate::forward::Forwarder::start(self.clone(), target.clone(), offload).await
    }

    /// Makes `device` the real network the sessions' datagrams go to, read
    /// on `thread`, which takes the host's data-plane work too
    /// ([`FunctionTransport::data_thread`](mbim_transport::FunctionTransport::data_thread)).
    pub(crate) fn set_uplink(
        &self,
        device: crate::forward::Uplink,
        thread: Arc<dyn mbim_transport::DataThread>,
    ) -> Result<(), crate::forward::ForwardError> {
        self.shared
            .uplink
            .set(device)
            .map_err(|_| crate::forward::ForwardError::AlreadyForwarding)?;
        // Set once, with the uplink: the OnceLock above lets one caller by.
        let _ = self.shared.data_thread.set(thread);
        Ok(())
    }

    /// The thread the real network's reader runs on, once forwarding
    /// started: the host's pumps are best run there.
    pub(crate) fn data_thread(&self) -> Option<Arc<dyn mbim_transport::DataThread>> {
        self.shared.data_thread.get().cloned()
    }

    /// Resolves once every function's queue of datagrams from the real
    /// network has room for `count` more. Bulk IN wakes it only once there
    /// is (see [`Side::Room`]), not on every block it takes: a reader that
    /// waits for much more room than one read needs is woken once per
    /// several blocks rather than per block. Finding it wakes no one.
    pub(crate) async fn wait_for_network_room(&self, count: usize) {
        /// Says again, however the wait ends (found, or dropped at a
        /// timeout), that the reader waits for no room.
        struct Wanted<'a>(&'a AtomicUsize);
        impl Drop for Wanted<'_> {
            fn drop(&mut self) {
                self.0.store(0, Ordering::SeqCst);
            }
        }
        // Stored before the model is looked at under its lock, so a block
        // taken after that look sees it (the lock orders the two).
        self.shared
            .room_wanted
            .store(count.max(1), Ordering::SeqCst);
        let _wanted = Wanted(&self.shared.room_wanted);
        self.wait_for(Side::Room, true, None, |modem, _| {
            (modem.network_room() >= count).then_some(())
        })
        .await;
    }

    /// After bulk IN took a block, `room` (the model's
    /// [`network_room`](Modem::network_room) then): wakes the network's
    /// reader if that is the room it waits for.
    fn network_taken(&self, room: usize) {
        let wanted = self.shared.room_wanted.load(Ordering::SeqCst);
        if wanted != 0 && room >= wanted {
            self.notify(Side::Room);
        }
    }

    /// Runs `f` on the sans-IO model (for tests and the status report).
    pub fn with_model<T>(&self, f: impl FnOnce(&mut Modem, Instant) -> T) -> T {
        self.with(f)
    }

    /// Runs `f`, which only queues the real network's datagrams for the
    /// host, on the model, waking no one: the reader calls this per read
    /// and [`network_queued`](Self::network_queued) once per batch.
    pub(crate) fn with_network<T>(&self, f: impl FnOnce(&mut Modem, Instant) -> T) -> T {
        let mut modem = self.lock();
        let now = Instant::now();
        modem.handle_timeout(now);
        f(&mut modem, now)
    }

    /// Wakes the data side's waiters after datagrams from the real network
    /// were queued for the host ([`with_network`](Self::with_network)).
    pub(crate) fn network_queued(&self) {
        self.notify(Side::Data);
    }
}

/// One MBIM function (executor) as its USB interfaces see it.
#[derive(Clone)]
pub struct SimFunction {
    modem: SimModem,
    index: usize,
}

impl std::fmt::Debug for SimFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimFunction")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl SimFunction {
    /// Its index (= executor index).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The thread of the modem's real-network reader, once it forwards to
    /// one (see [`SimModem::forward`]): where the host's pump is best run.
    pub fn data_thread(&self) -> Option<Arc<dyn mbim_transport::DataThread>> {
        self.modem.data_thread()
    }

    /// Its communication interface number (`2 * index`); the data interface is the next one.
    pub fn comm_interface(&self) -> u8 {
        u8::try_from(self.index.saturating_mul(2)).unwrap_or(u8::MAX)
    }

    /// What this function's descriptors must announce.
    pub fn config(&self) -> FunctionConfig {
        self.modem.lock().function_config()
    }

    /// A class request (SEND_ENCAPSULATED_COMMAND, GET_ENCAPSULATED_RESPONSE
    /// (empty when nothing is queued), GET_NTB_PARAMETERS, SET/GET_NTB_INPUT_SIZE,
    /// SET/GET_NTB_FORMAT, SET/GET_MAX_DATAGRAM_SIZE, RESET_FUNCTION, …) to this
    /// function's communication or data interface. `data` is the OUT data
    /// stage; the Ok value the IN data stage, truncated to `setup.length`.
    /// Unsupported → `Err(Stall)`.
    pub fn class_request(&self, setup: SetupPacket, data: &[u8]) -> Result<Vec<u8>, EndpointError> {
        self.modem
            .with(|modem, now| modem.handle_class_request(now, self.index, setup, data))
    }

    /// SET_INTERFACE on the data interface (alt 0 = no data pipes;
    /// selecting 0 drops queued NTBs).
    pub fn set_data_alt_setting(&self, alt: u8) {
        self.modem
            .with(|modem, _| modem.set_data_alt_setting(self.index, alt));
    }

    /// Waits for the next interrupt-IN notification (RESPONSE_AVAILABLE one
    /// per queued response, NETWORK_CONNECTION, CONNECTION_SPEED_CHANGE).
    pub async fn next_notification(&self) -> Result<Notification, EndpointError> {
        let index = self.index;
        self.modem
            .wait_for(Side::Control, false, None, |modem, _| {
                match modem.poll_notification(index) {
                    Ok(Some(notification)) => Some(Ok(notification)),
                    Ok(None) => None,
                    Err(error) => Some(Err(error)),
                }
            })
            .await
    }

    /// The next notification if one is queued now (no waiting).
    pub fn try_notification(&self) -> Result<Option<Notification>, EndpointError> {
        self.modem
            .with(|modem, _| modem.poll_notification(self.index))
    }

    /// Waits for the next NTB for bulk IN, at most `max_len` bytes.
    pub async fn next_bulk_in(&self, max_len: usize) -> Result<Vec<u8>, EndpointError> {
        let mut block = Vec::new();
        self.next_bulk_in_into(max_len, &mut block).await?;
        Ok(block)
    }

    /// Waits for the next NTB for bulk IN, at most `max_len` bytes, and
    /// puts it in `buffer` (see [`Modem::poll_bulk_in_into`]: a block built
    /// ahead trades places with it, so the host's buffers circulate
    /// through the modem instead of blocks being copied into them).
    pub async fn next_bulk_in_into(
        &self,
        max_len: usize,
        buffer: &mut Vec<u8>,
    ) -> Result<(), EndpointError> {
        let index = self.index;
        // Taking a block makes nothing for bulk IN's other waiters (one
        // per function, each waiting for its own); only the network's
        // reader may wait for the room it makes.
        let room = self
            .modem
            .wait_for(Side::Data, true, Some(index), |modem, now| {
                match modem.poll_bulk_in_into(now, index, max_len, buffer) {
                    Ok(true) => Some(Ok(modem.network_room())),
                    Ok(false) => None,
                    Err(error) => Some(Err(error)),
                }
            })
            .await?;
        self.modem.network_taken(room);
        Ok(())
    }

    /// An NTB the host wrote on bulk OUT.
    ///
    /// With a real network behind the modem, the model only routes the
    /// block's datagrams under its lock; the coalesced writes to the
    /// network's device (each a `writev` that runs the peer's receive path
    /// in the call) happen after it is released, under the writer's lock
    /// alone, so the network's reader and bulk IN do not wait for them
    /// (docs/performance.md, "Where TX+o spends beyond its floor").
    pub fn bulk_out(&self, ntb: &[u8]) -> Result<(), EndpointError> {
        // The model runs its due timers itself (`handle_bulk_out_to`).
        let now = Instant::now();
        let result = match self.modem.shared.uplink.get() {
            Some(device) => {
                // The writer's lock before the model's, here and nowhere
                // else: what the block planned is written before the next
                // block (of any function) plans its own.
                let mut writer = self
                    .modem
                    .shared
                    .writer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let result = self.modem.lock().handle_bulk_out_to(
                    now,
                    self.index,
                    ntb,
                    Some(&mut |datagram| writer.send(device, ntb, datagram)),
                );
                writer.flush(device, ntb);
                result
            }
            None => self.modem.lock().handle_bulk_out(now, self.index, ntb),
        };
        // Bulk IN's waiters look again even when the block queued nothing
        // for them: on TCP towards the host the pump's own bulk IN, woken
        // by the ACKs it sends, then takes what the network's reader queued
        // since it last woke the pump, and waking it only for the gateway's
        // replies cost RX+o CPU per byte (the same notes).
        self.modem.notify(Side::Data);
        result
    }

    /// CLEAR_FEATURE(ENDPOINT_HALT) from the host: a stalled endpoint
    /// (the `stall-endpoint` fault) works again.
    pub fn clear_halt(&self, endpoint: crate::control::Endpoint) {
        self.modem
            .with(|modem, _| modem.clear_halt(self.index, endpoint));
    }

    /// Back to the state after SET_CONFIGURATION (USB reset, re-attach).
    pub fn reset(&self) {
        self.modem.with(|modem, _| modem.reset_function(self.index));
    }
}
