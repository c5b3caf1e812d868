//! One modem's supervisor: runs an executor task per MBIM function, turns
//! what the executors report into network devices and data paths, publishes
//! the modem's state ([`ModemSnapshot`]), serves [`ModemRequest`]s, and runs
//! the slot policy of dual-SIM single-active modems.
//!
//! An executor reports *connected* with its IP configuration: the supervisor
//! sets the function's NTB format and input size (allowed only while the data
//! interface is at alternate setting 0; NTB32 only where the function offers
//! blocks NTB16 cannot address, see [`choose_ntb_format`]), selects alternate setting 1, creates
//! and configures the TUN device, and starts the pump between the bulk pipes
//! and the device. *IP updated* is applied as a difference (a DNS-only update
//! keeps the addresses); *link down*, *gone* and shutdown stop the pump,
//! return the data interface to alternate setting 0 and tear the device down,
//! so nothing of a session outlives it.
//!
//! Without the privileges to create a TUN device (not root, no
//! CAP_NET_ADMIN) the control plane still runs and the supervisor says what it
//! skipped.
//!
//! # Which executor is which
//!
//! An executor's number is its identity everywhere outside the supervisor:
//! its place in the snapshot (and so its D-Bus object and the
//! `ModemRequest::Executor` it takes), the `e` of its netdev name
//! (`mbim{modem}e{executor}`), the executor an `[[interfaces]]` entry names,
//! and its place in a slot mapping (DEVICE_SLOT_MAPPINGS lists slots by
//! executor). It is the ExecutorIndex the function reports in
//! DEVICE_CAPS_V2 where it has one, so it names the same cellular stack
//! whatever order the device lists its functions in; a function that reports
//! none (no multi-SIM extensions, capabilities not read yet), or an index
//! out of range or taken by an earlier function, gets the lowest number left,
//! in function order ([`executor_numbers`]). Without the extensions the
//! numbers are therefore the function order. Inside, executors are kept in
//! function order, and the numbers are worked out from their statuses when
//! needed. The executor tasks' own log lines use the same number once
//! DEVICE_CAPS_V2 has been read (`ExecutorMachine::log_number`; before that,
//! and for a device that repeats an index, the function's position). The modem's
//! identity is SYS_CAPS ModemId where the device has one (`slots.rs`,
//! `modem_id`), else vendor, product and serial number or USB path.
//!
//! # One loop, nothing waited for in it
//!
//! Everything the supervisor does happens in one `select!` loop over the
//! executors' events, their status watches, the requests, a one-second tick
//! while packets flow or a configuration retry waits (`refresh.rs`; none
//! when idle), the slot policy's retry timer and shutdown. No
//! branch waits for a device: a request becomes a [`ExecutorCommand::Tracked`]
//! command with a fresh id, and its reply is sent when the executor's
//! matching [`ExecutorEvent::Done`] comes through the loop. Commands go to
//! the executors with `try_send`, so a full command queue refuses the
//! request instead of stalling the loop.
//!
//! TestSlots is the one long operation (several SETs, each with its slot
//! power cycles): it runs in a spawned task that sends its own tracked
//! commands straight to executor 0 and sees every executor event, forwarded
//! by the loop while it runs. The loop meanwhile handles links as usual,
//! keeps the slot policy suspended (its switches are not SIM changes) and
//! refuses other slot requests; when the task ends, the policy is seeded
//! again with the mapping and slot states found then.
//!
//! The slot policy itself ([`crate::policy::SlotPolicy`]) is fed from the
//! events and its actions carried out here (`slots.rs`): mapping SETs as
//! tracked commands to executor 0, signals on the modem's broadcast channel,
//! remembered choices written to the [`SlotStore`] by a writer task off the
//! loop (the store syncs to disk).

mod configure;
mod fcc;
mod power;
mod refresh;
mod sessions;
mod simulated;
mod slots;
mod snapshot;
mod test_slots;

pub use test_slots::{slot_state_agrees, TEST_NAMES};

use crate::config::{Config, DeviceIdentity, SessionManager};
use crate::datapath::{self, PumpConfig, PumpHandle, SessionTable};
use crate::executor::{
    self, CommandFailure, Connection, ExecutorCommand, ExecutorConfig, ExecutorEvent,
    ExecutorReport, ExecutorStatus, Secret,
};
use crate::logging::chain;
use crate::modem::{ModemEndpoint, ModemRequest, ModemSnapshot, RequestError, SlotSignal};
use crate::netdev::{
    Addressing, ConfigPart, ConfigReport, InterfaceName, KernelCounters, KernelTraffic, Netdev,
    NetdevOptions, PartOutcome, TunOptions,
};
use crate::policy::store::SlotStore;
use crate::service::Pulse;
use crate::types::{link_mtu, IpSettings};
use configure::{Configuration, Subject};
use mbim_protocol::ntb::{NtbFormat, NtbParameters};
use mbim_protocol::usb::{ClassRequest, NtbInputSize};
use mbim_transport::FunctionTransport;
pub use simulated::simulated_modem;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Mutex};

/// How long shutdown waits for the executors to disconnect and CLOSE.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// One MBIM function of the modem, as the supervisor needs it.
#[derive(Debug)]
pub struct FunctionSpec<T> {
    /// How to reach it.
    pub transport: Arc<T>,
    /// Its wMaxControlMessage.
    pub max_control_message: u16,
    /// Its wMaxSegmentSize (caps the link MTU).
    pub max_segment_size: u16,
    /// Set when a kernel driver carries the function's data (cdc_mbim, a
    /// WWAN driver): its network device is the session's link, no pump.
    pub kernel: Option<KernelData>,
}

/// The data path of a function behind a kernel driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelData {
    /// The control port's node under /dev (`cdc-wdm0`, `wwan0mbim0`).
    pub port: String,
    /// The driver's network device (`wwan0`): session 0's link.
    pub netdev: InterfaceName,
    /// How the driver carries further sessions.
    pub links: SessionLinks,
}

/// How a kernel driver carries the sessions beyond session 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionLinks {
    /// 802.1Q VLAN links on the netdev: cdc_mbim carries IP session N
    /// (1-255) on VLAN N (drivers/net/usb/cdc_mbim.c).
    Vlan,
    /// WWAN links (`ip link add … parentdev DEVICE type wwan linkid N`),
    /// link id N for session N.
    Wwan {
        /// The WWAN device (`wwan0` in /sys/class/wwan).
        device: String,
    },
}

/// The modem being supervised.
#[derive(Debug, Clone, Default)]
pub struct ModemSpec {
    /// mbimd's number for it (interface names).
    pub index: u32,
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// USB port path.
    pub usb_path: String,
    /// iSerialNumber.
    pub serial: Option<String>,
    /// iManufacturer (empty if none).
    pub manufacturer: String,
    /// iProduct (empty if none).
    pub model: String,
    /// How mbimd reaches it, as D-Bus names it: `usbfs` (its own USB
    /// driver), `kernel` (a kernel driver's character device and network
    /// device) or `simulated` (`--simulate`).
    pub transport: &'static str,
}

impl ModemSpec {
    /// As the configuration's device rules take it.
    pub fn identity(&self) -> DeviceIdentity<'_> {
        DeviceIdentity {
            vid: self.vid,
            pid: self.pid,
            usb_path: &self.usb_path,
            serial: self.serial.as_deref(),
        }
    }
}

/// The live part of one connected session.
struct Link {
    netdev: Netdev,
    pump: Option<PumpHandle>,
    /// The session as the executor reported it (its IP settings as they
    /// came then; `ip` has the current ones), to bring the link up again
    /// when a reload changes what its device must be.
    connection: Connection,
    /// The settings and link MTU the device is brought to (again, on a
    /// retry).
    ip: IpSettings,
    mtu: u16,
    /// The further sessions the pump carries beside session 0.
    sessions: SessionTable,
    /// Their links, by session id.
    extras: std::collections::BTreeMap<u32, sessions::SessionLink>,
    /// Session 0's IPv6 interface identifier (further sessions derive theirs).
    interface_id: [u8; 8],
    /// Behind a kernel driver (no pump): what the driver's device carried
    /// since the session came up, as last read.
    kernel_traffic: Option<KernelTraffic>,
}

struct Executor<T> {
    spec: FunctionSpec<T>,
    /// For proxy clients (crate::proxy).
    passthrough: executor::PassthroughPort,
    commands: mpsc::Sender<ExecutorCommand>,
    status: watch::Receiver<ExecutorStatus>,
    link: Option<Link>,
    /// How the network device's configuration went, while connected, and
    /// when to apply it again.
    configuration: Configuration,
    running: bool,
}

/// A tracked command whose [`ExecutorEvent::Done`] someone waits for.
struct Pending {
    executor: usize,
    kind: PendingKind,
}

enum PendingKind {
    /// A [`ModemRequest::Executor`].
    Reply(oneshot::Sender<Result<(), RequestError>>),
    /// A [`ModemRequest::SetSlotMapping`].
    UserSet(oneshot::Sender<Result<Vec<u32>, RequestError>>),
    /// A SET the slot policy asked for.
    PolicySet,
    /// One executor's part of a Suspend or Resume ([`power::Gather`]).
    Gather(u64),
}

struct Supervisor<T> {
    modem: ModemSpec,
    config: Arc<Config>,
    executors: Vec<Executor<T>>,
    snapshot: watch::Sender<ModemSnapshot>,
    signals: broadcast::Sender<SlotSignal>,
    pending: HashMap<u64, Pending>,
    /// Tracked command ids, shared with a TestSlots task.
    ids: Arc<AtomicU64>,
    slots: slots::SlotControl,
    test: Option<test_slots::TestRun>,
    /// Suspends and Resumes waiting for their executors, by gather id.
    gathers: HashMap<u64, power::Gather>,
    /// Who managed sessions when this modem last looked (see
    /// [`Supervisor::follow_sessions`]).
    sessions: SessionManager,
}

/// Supervises one modem until `shutdown` resolves (then disconnects and
/// cleans up) or every executor is gone, publishing its state and serving
/// requests through `endpoint`.
pub async fn supervise<T>(
    modem: ModemSpec,
    functions: Vec<FunctionSpec<T>>,
    config: Arc<Config>,
    endpoint: ModemEndpoint,
    shutdown: impl std::future::Future<Output = ()>,
) where
    T: FunctionTransport + 'static,
{
    let ModemEndpoint {
        snapshot,
        requests: mut requests_rx,
        signals,
    } = endpoint;
    let (events_tx, mut events) = mpsc::channel::<ExecutorReport>(64);
    // Coalesced: one pending wake-up covers any number of status changes.
    let (changed_tx, mut changed) = mpsc::channel::<()>(1);
    let device_lock = Arc::new(Mutex::new(()));
    let mut executors: Vec<Executor<T>> = Vec::new();
    for (index, spec) in functions.into_iter().enumerate() {
        let (commands_tx, commands_rx) = mpsc::channel(16);
        let (status_tx, status_rx) = watch::channel(ExecutorStatus {
            executor: index,
            ..ExecutorStatus::default()
        });
        let executor_config = ExecutorConfig {
            index,
            modem: modem.index,
            profiles: config.profiles.clone(),
            pins: configured_pins(&config),
            show_personal_info: config.logging.show_personal_info,
            max_control_message: spec.max_control_message,
            // A ModemManager client asks for sessions itself.
            autoconnect: config.sessions.get() == SessionManager::Mbimd,
            apn_sources: config.apn_sources(),
            fcc_unlock: fcc::fcc_unlock_for(&config, &modem, index, &spec),
            ..ExecutorConfig::default()
        };
        let (passthrough_end, passthrough) = executor::passthrough_channel();
        tokio::spawn(executor::run_executor_shared(
            Arc::clone(&spec.transport),
            executor_config,
            events_tx.clone(),
            commands_rx,
            status_tx,
            Arc::clone(&device_lock),
            Some(passthrough_end),
        ));
        let mut watcher = status_rx.clone();
        let changed_tx = changed_tx.clone();
        tokio::spawn(async move {
            while watcher.changed().await.is_ok() {
                if let Err(mpsc::error::TrySendError::Closed(())) = changed_tx.try_send(()) {
                    break;
                }
            }
        });
        executors.push(Executor {
            spec,
            passthrough,
            commands: commands_tx,
            status: status_rx,
            link: None,
            configuration: Configuration::default(),
            running: true,
        });
    }
    drop(events_tx);
    drop(changed_tx);

    let slots = slots::SlotControl::new(&modem, &config);
    let mut sessions = config.sessions.watch();
    let mut supervisor = Supervisor {
        sessions: *sessions.borrow_and_update(),
        modem,
        config,
        executors,
        snapshot,
        signals,
        pending: HashMap::new(),
        ids: Arc::new(AtomicU64::new(1)),
        slots,
        test: None,
        gathers: HashMap::new(),
    };
    supervisor.publish();

    tokio::pin!(shutdown);
    let mut shutting_down = false;
    let mut requests_open = true;
    let mut grace = Box::pin(tokio::time::sleep(Duration::MAX / 4));
    let mut refresh = refresh::Refresh::new();
    // The watchdog pings only while this loop turns (crate::service).
    let pulse = Pulse::register(format!("modem {}", supervisor.modem.index));
    loop {
        // Idle: no timer; the first NTB through a pump starts it again.
        let watched = if refresh.is_running() {
            Vec::new()
        } else {
            supervisor.pump_counters()
        };
        tokio::select! {
            report = events.recv() => {
                let Some(report) = report else { break };
                supervisor.report(report).await;
                if supervisor.executors.iter().all(|executor| !executor.running) {
                    if !shutting_down {
                        tracing::info!(
                            modem = supervisor.modem.index,
                            "every executor has ended: the modem is gone (unplugged or reset)"
                        );
                    }
                    break;
                }
            }
            Some(()) = changed.recv() => supervisor.statuses_changed(),
            request = requests_rx.recv(), if requests_open => match request {
                Some(ModemRequest::Reconfigure { config }) => supervisor.reconfigure(config).await,
                Some(request) => {
                    // A client's call may have taken the sessions over just
                    // before it asked: mbimd's own session goes first.
                    supervisor.follow_sessions().await;
                    supervisor.request(request);
                }
                // Every handle is gone; the modem runs on unobserved.
                None => requests_open = false,
            },
            Ok(()) = sessions.changed() => supervisor.follow_sessions().await,
            () = refresh.due() => {
                supervisor.retry_configurations().await;
                supervisor.read_kernel_counters().await;
                refresh.ticked(
                    supervisor.ntbs().wrapping_add(supervisor.kernel_packets()),
                    supervisor.retry_pending(),
                    supervisor.has_kernel_links(),
                );
            }
            () = refresh::activity(watched) => refresh.wake(),
            () = pulse.poked() => pulse.answer(),
            () = slots::fire(&mut supervisor.slots.timer) => supervisor.policy_timer(),
            checks = test_slots::finished(&mut supervisor.test) => supervisor.test_finished(checks),
            () = &mut shutdown, if !shutting_down => {
                tracing::info!(modem = supervisor.modem.index, "shutting down: disconnecting");
                shutting_down = true;
                grace.as_mut().reset(tokio::time::Instant::now() + SHUTDOWN_GRACE);
                for executor in &supervisor.executors {
                    let _ = executor.commands.send(ExecutorCommand::Shutdown).await;
                }
            }
            () = &mut grace, if shutting_down => {
                tracing::warn!(modem = supervisor.modem.index, "executors did not stop in time");
                break;
            }
        }
        // A retry to make, or a kernel driver's device to read (a session
        // that came up after the ticks stopped): ticking again.
        if supervisor.retry_pending() || supervisor.has_kernel_links() {
            refresh.wake();
        }
        supervisor.publish();
    }
    let modem = supervisor.modem.clone();
    let numbers = supervisor.numbers();
    for (index, executor) in supervisor.executors.iter_mut().enumerate() {
        let number = numbers.get(index).copied().unwrap_or(index);
        take_link_down(&modem, number, executor).await;
    }
    supervisor.publish();
}

impl<T: FunctionTransport + 'static> Supervisor<T> {
    async fn report(&mut self, report: ExecutorReport) {
        let index = report.executor;
        let number = self.number_of(index);
        if let Some(test) = &self.test {
            test.forward(&ExecutorReport {
                executor: number,
                event: report.event.clone(),
            });
        }
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        match report.event {
            ExecutorEvent::Connected(connection) => {
                take_link_down(&self.modem, number, executor).await;
                bring_link_up(&self.modem, &self.config, number, executor, connection).await;
            }
            ExecutorEvent::IpUpdated(ip) => {
                let mtu = mtu_for(&ip, executor.spec.max_segment_size);
                if let Some(link) = executor.link.as_mut() {
                    link.ip = ip;
                    link.mtu = mtu;
                    // New settings: a back-off for the old ones means nothing.
                    executor.configuration.stop_retrying();
                    configure(&self.modem, number, executor).await;
                }
            }
            ExecutorEvent::LinkDown { .. } => take_link_down(&self.modem, number, executor).await,
            ExecutorEvent::SessionUp(connection) => {
                sessions::bring_session_up(&self.modem, &self.config, number, executor, connection)
                    .await;
            }
            ExecutorEvent::SessionIpUpdated { session_id, ip } => {
                sessions::update_session(&self.modem, number, executor, session_id, ip).await;
            }
            ExecutorEvent::SessionDown { session_id, .. } => {
                sessions::take_session_down(&self.modem, number, executor, session_id).await;
            }
            ExecutorEvent::Gone | ExecutorEvent::Stopped => {
                take_link_down(&self.modem, number, executor).await;
                executor.running = false;
                // Dropping the reply senders tells their askers the modem is
                // gone; a Suspend or Resume counts the executor as done.
                let mut gathers = Vec::new();
                self.pending.retain(|_, pending| {
                    if pending.executor != index {
                        return true;
                    }
                    if let PendingKind::Gather(gather) = pending.kind {
                        gathers.push(gather);
                    }
                    false
                });
                for gather in gathers {
                    self.gather_done(
                        gather,
                        index,
                        Err(CommandFailure {
                            status: None,
                            message: "the executor ended".to_owned(),
                            timed_out: false,
                        }),
                    );
                }
            }
            ExecutorEvent::SlotInfo { slot, state } => self.slot_info(slot, state),
            ExecutorEvent::SlotMapping {
                set,
                status,
                mapping,
            } => self.slot_mapping(set, status, mapping),
            ExecutorEvent::Notification => self.notification(),
            ExecutorEvent::Done { id, result } => self.done(id, result),
        }
        self.statuses_changed();
    }

    fn request(&mut self, request: ModemRequest) {
        match request {
            ModemRequest::Executor {
                executor,
                command,
                reply,
            } => {
                if let Err(error) = self.executor_request(executor, *command, reply) {
                    // The reply sender went into the error path already.
                    tracing::debug!(modem = self.modem.index, "request refused: {error}");
                }
            }
            ModemRequest::SetSlotMapping { mapping, reply } => {
                self.set_slot_mapping(mapping, reply)
            }
            ModemRequest::SwitchToSlot { slot, reply } => {
                let _ = reply.send(self.switch_to_slot(slot));
            }
            ModemRequest::TestSlots { reply } => self.test_slots(reply),
            ModemRequest::SetPolicy { policy, reply } => {
                self.set_policy(policy, false);
                let _ = reply.send(Ok(()));
            }
            ModemRequest::Suspend { reply } => self.suspend(reply),
            ModemRequest::Resume { reply } => self.resume(reply),
            ModemRequest::Passthrough { executor, reply } => {
                let port = match self.function_of(executor) {
                    Some(function) => self
                        .executors
                        .get(function)
                        .filter(|each| each.running)
                        .map(|each| each.passthrough.clone())
                        .ok_or_else(|| {
                            RequestError::NotPossible(format!("executor {executor} has ended"))
                        }),
                    None => Err(RequestError::InvalidArgument(format!(
                        "no executor {executor} (the modem has {})",
                        self.executors.len()
                    ))),
                };
                let _ = reply.send(port);
            }
            // Needs the network devices: handled by the loop (`reconfigure`).
            ModemRequest::Reconfigure { .. } => {}
        }
    }

    /// `number` is the executor's number (see the module doc), not its
    /// function's position.
    fn executor_request(
        &mut self,
        number: usize,
        command: ExecutorCommand,
        reply: oneshot::Sender<Result<(), RequestError>>,
    ) -> Result<(), RequestError> {
        let function = self.function_of(number);
        let refused = match (&command, function) {
            (_, None) => Some(RequestError::InvalidArgument(format!(
                "no executor {number} (the modem has {})",
                self.executors.len()
            ))),
            // Ending an executor or nesting ids is the supervisor's business.
            (
                ExecutorCommand::Shutdown
                | ExecutorCommand::Suspend { .. }
                | ExecutorCommand::Resume
                | ExecutorCommand::Tracked { .. },
                _,
            ) => Some(RequestError::InvalidArgument(
                "not a command for requests".to_owned(),
            )),
            (ExecutorCommand::SetSlotMapping(_), _) => Some(RequestError::InvalidArgument(
                "slot mappings go through SetSlotMapping".to_owned(),
            )),
            _ => None,
        };
        let executor = match (function, refused) {
            (Some(executor), None) => executor,
            (_, refused) => {
                let error = refused.unwrap_or(RequestError::Gone);
                let _ = reply.send(Err(error.clone()));
                return Err(error);
            }
        };
        match self.send_tracked(executor, command) {
            Ok(id) => {
                self.pending.insert(
                    id,
                    Pending {
                        executor,
                        kind: PendingKind::Reply(reply),
                    },
                );
                Ok(())
            }
            Err(error) => {
                let _ = reply.send(Err(error.clone()));
                Err(error)
            }
        }
    }

    /// Sends `command` to `executor` as a tracked command; its id.
    fn send_tracked(
        &mut self,
        executor: usize,
        command: ExecutorCommand,
    ) -> Result<u64, RequestError> {
        let Some(target) = self.executors.get(executor).filter(|target| target.running) else {
            return Err(RequestError::Gone);
        };
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let tracked = ExecutorCommand::Tracked {
            id,
            command: Box::new(command),
        };
        match target.commands.try_send(tracked) {
            Ok(()) => Ok(id),
            Err(mpsc::error::TrySendError::Full(_)) => Err(RequestError::NotPossible(format!(
                "executor {executor} has too many commands queued; try again"
            ))),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(RequestError::Gone),
        }
    }

    fn done(&mut self, id: u64, result: Result<(), CommandFailure>) {
        let Some(pending) = self.pending.remove(&id) else {
            // A TestSlots command, or one whose asker is gone.
            return;
        };
        // The snapshot first: an asker reads what its command produced
        // (a network scan's answer) as soon as it has the reply.
        self.publish();
        match pending.kind {
            PendingKind::Reply(reply) => {
                let _ = reply.send(result.map_err(device_error));
            }
            PendingKind::UserSet(reply) => self.user_set_done(result, reply),
            PendingKind::PolicySet => self.policy_set_done(result),
            PendingKind::Gather(gather) => self.gather_done(gather, pending.executor, result),
        }
    }

    /// Each function's executor number, by function position.
    pub(super) fn numbers(&self) -> Vec<usize> {
        let reported: Vec<Option<u32>> = self
            .executors
            .iter()
            .map(|executor| executor.status.borrow().device_executor_index)
            .collect();
        executor_numbers(&reported)
    }

    /// The executor number of the function at `function`.
    pub(super) fn number_of(&self, function: usize) -> usize {
        self.numbers().get(function).copied().unwrap_or(function)
    }

    /// The position of the function whose executor number is `number`.
    pub(super) fn function_of(&self, number: usize) -> Option<usize> {
        self.numbers().iter().position(|&each| each == number)
    }

    /// Applies again each configuration whose retry is due.
    /// The counters of every running pump.
    fn pump_counters(&self) -> Vec<Arc<datapath::Counters>> {
        self.executors
            .iter()
            .filter_map(|executor| executor.link.as_ref()?.pump.as_ref())
            .map(PumpHandle::counters)
            .collect()
    }

    /// NTBs through every running pump, both ways: whether packets moved.
    fn ntbs(&self) -> u64 {
        self.pump_counters()
            .iter()
            .map(|counters| {
                let now = counters.snapshot();
                now.rx_ntbs.wrapping_add(now.tx_ntbs)
            })
            .fold(0, u64::wrapping_add)
    }

    /// Packets through the kernel drivers' devices of the sessions up (no
    /// pump counts them): whether they moved.
    fn kernel_packets(&self) -> u64 {
        self.executors
            .iter()
            .filter_map(|executor| executor.link.as_ref())
            .filter_map(Link::kernel_traffic)
            .map(|(counters, _)| counters.packets())
            .fold(0, u64::wrapping_add)
    }

    /// Reads the counters of the kernel drivers' devices of the sessions up
    /// (a failed reading keeps the last).
    async fn read_kernel_counters(&mut self) {
        for link in self.executors.iter_mut().filter_map(|e| e.link.as_mut()) {
            if let Some(traffic) = link.kernel_traffic.as_mut() {
                if let Ok(now) = link.netdev.kernel_counters().await {
                    traffic.update(now);
                }
            }
            for extra in link.extras.values_mut() {
                extra.read_kernel_counters().await;
            }
        }
    }

    /// Whether a session is up on a kernel driver's device, whose counters
    /// cannot be watched, only read.
    fn has_kernel_links(&self) -> bool {
        self.executors.iter().any(|executor| {
            executor
                .link
                .as_ref()
                .is_some_and(|link| link.kernel_traffic.is_some())
        })
    }

    /// Whether a partly applied configuration (session 0's or a further
    /// session's) waits for its retry.
    fn retry_pending(&self) -> bool {
        self.executors.iter().any(|executor| {
            executor.link.as_ref().is_some_and(|link| {
                executor.configuration.retry_pending() || sessions::retry_pending(&link.extras)
            })
        })
    }

    /// Applies again each device configuration whose retry is due.
    async fn retry_configurations(&mut self) {
        let now = tokio::time::Instant::now();
        let numbers = self.numbers();
        for (index, executor) in self.executors.iter_mut().enumerate() {
            let number = numbers.get(index).copied().unwrap_or(index);
            if executor.link.is_some() && executor.configuration.retry_due(now) {
                configure(&self.modem, number, executor).await;
            }
            sessions::retry_due(&self.modem, number, executor, now).await;
        }
    }

    /// Hands mbimd's own sessions over once the sessions are the clients'
    /// ([`crate::config::Sessions`]): each network device keeps its link
    /// and MTU but loses the addresses, routes and DNS mbimd gave it, and
    /// each executor is asked to disconnect (or not to connect by itself),
    /// so a client that connects finds a device it configures alone.
    async fn follow_sessions(&mut self) {
        let now = self.config.sessions.get();
        if now == self.sessions {
            return;
        }
        self.sessions = now;
        if now != SessionManager::Client {
            return;
        }
        let numbers = self.numbers();
        for (index, executor) in self.executors.iter_mut().enumerate() {
            let number = numbers.get(index).copied().unwrap_or(index);
            if let Some(link) = executor.link.as_mut() {
                let name = link.netdev.name().as_str().to_owned();
                match link.netdev.leave_addressing_to_client().await {
                    Ok(()) => tracing::info!(
                        modem = self.modem.index,
                        executor = number,
                        "{name}: mbimd's addresses, routes and DNS removed, for the client"
                    ),
                    Err(error) => tracing::warn!(
                        modem = self.modem.index,
                        executor = number,
                        "{name}: removing mbimd's configuration for the client: {}",
                        chain(&error)
                    ),
                }
                executor.configuration.stop_retrying();
                sessions::stop_retrying(&mut link.extras);
            }
            if !executor.running {
                continue;
            }
            if let Err(error) = executor.commands.try_send(ExecutorCommand::Disconnect) {
                tracing::warn!(
                    modem = self.modem.index,
                    executor = number,
                    "mbimd's own session was not handed over: {error}"
                );
            }
        }
    }

    /// A reloaded configuration: to every executor (profiles, PINs, APN
    /// sources), to the slot policy, and to each connected device (routes,
    /// DNS, names, offloads) without dropping the sessions.
    async fn reconfigure(&mut self, config: Arc<Config>) {
        let pins = configured_pins(&config);
        let numbers = self.numbers();
        for (index, executor) in self.executors.iter().enumerate() {
            let command = ExecutorCommand::Reconfigure {
                profiles: config.profiles.clone(),
                pins: pins.clone(),
                apn_sources: config.apn_sources(),
            };
            if let Err(error) = executor.commands.try_send(command) {
                tracing::warn!(
                    modem = self.modem.index,
                    executor = numbers.get(index).copied().unwrap_or(index),
                    "the new configuration did not reach the executor: {error}"
                );
            }
        }
        self.config = config;
        for (index, executor) in self.executors.iter_mut().enumerate() {
            let number = numbers.get(index).copied().unwrap_or(index);
            follow_reload(&self.modem, &self.config, number, executor).await;
        }
        self.slots.store = SlotStore::new(self.config.slot_policy.state_file.clone());
        let policy = self.config.slot_policy_for(&self.modem.identity());
        self.set_policy(policy, true);
        tracing::info!(modem = self.modem.index, "configuration reloaded");
    }
}

/// The executor number of each function, by function position, from the
/// ExecutorIndex each reported (DEVICE_CAPS_V2), if any: its own index where
/// it is below the number of functions and no earlier function has it; the
/// lowest number left, in function order, otherwise. Always each of
/// `0..reported.len()` once, so the snapshot, D-Bus and slot mappings have
/// one executor per number and no gaps.
pub fn executor_numbers(reported: &[Option<u32>]) -> Vec<usize> {
    let count = reported.len();
    let mut taken = vec![false; count];
    let claimed: Vec<Option<usize>> = reported
        .iter()
        .map(|index| {
            let index = index.and_then(|index| usize::try_from(index).ok())?;
            let entry = taken.get_mut(index).filter(|taken| !**taken)?;
            *entry = true;
            Some(index)
        })
        .collect();
    let mut left = taken
        .iter()
        .enumerate()
        .filter(|(_, taken)| !**taken)
        .map(|(number, _)| number);
    claimed
        .into_iter()
        .enumerate()
        .map(|(function, number)| number.or_else(|| left.next()).unwrap_or(function))
        .collect()
}

fn device_error(failure: CommandFailure) -> RequestError {
    if failure.timed_out {
        return RequestError::Timeout(failure.message);
    }
    RequestError::Device {
        status: failure.status,
        message: failure.message,
    }
}

/// The configuration's PINs by ICCID, as the executors take them.
fn configured_pins(config: &Config) -> Vec<(String, Secret)> {
    config
        .sims
        .iter()
        .filter_map(|sim| {
            let pin = sim.pin.as_ref()?;
            Some((sim.iccid.as_str().to_owned(), pin.secret().clone()))
        })
        .collect()
}

fn mtu_for(ip: &IpSettings, max_segment_size: u16) -> u16 {
    let network = if ip.ipv4_mtu != 0 {
        ip.ipv4_mtu
    } else {
        ip.ipv6_mtu
    };
    link_mtu(network, max_segment_size)
}

/// A stable IPv6 interface identifier for a SIM: the same SIM gets the same
/// SLAAC address on every connection; different SIMs get unrelated ones.
fn interface_id(iccid: &str, modem: &ModemSpec, executor: usize) -> [u8; 8] {
    let mut hasher = DefaultHasher::new();
    (iccid, modem.vid, modem.pid, &modem.serial, executor).hash(&mut hasher);
    let mut id = hasher.finish().to_be_bytes();
    // RFC 4291: clear the universal/local bit of a locally made identifier.
    if let Some(first) = id.first_mut() {
        *first &= !0x02;
    }
    id
}

fn interface_name(config: &Config, modem: &ModemSpec, executor: usize) -> Option<InterfaceName> {
    let executor = u32::try_from(executor).ok()?;
    netdev_name(config, &modem.identity(), modem.index, executor)
}

/// The name the network device of executor `executor` of the modem
/// `identity`, numbered `modem`, gets when it connects: its fixed name from
/// `[[interfaces.names]]`, else the name scheme's (`None` if the scheme
/// makes no valid name of these numbers).
pub fn netdev_name(
    config: &Config,
    identity: &DeviceIdentity<'_>,
    modem: u32,
    executor: u32,
) -> Option<InterfaceName> {
    config
        .interfaces
        .fixed_name(identity, executor)
        .cloned()
        .or_else(|| config.interfaces.scheme.expand(modem, executor))
}

/// The name and options the network device of executor `index` gets for
/// `connection` under `config` (`None` without a valid name).
fn link_settings<T>(
    config: &Config,
    modem: &ModemSpec,
    index: usize,
    executor: &Executor<T>,
    connection: &Connection,
) -> Option<(InterfaceName, NetdevOptions)> {
    // A kernel driver's device keeps the driver's name.
    let name = match &executor.spec.kernel {
        Some(kernel) => kernel.netdev.clone(),
        None => interface_name(config, modem, index)?,
    };
    let iccid = executor.status.borrow().iccid.clone();
    let options = NetdevOptions {
        default_route_metric: config.routes.default_route.then(|| {
            connection
                .route_metric
                .unwrap_or(config.routes.metric.get())
        }),
        dns: config.dns.backend.clone(),
        interface_id: interface_id(&iccid, modem, index),
        addressing: match config.sessions.get() {
            SessionManager::Mbimd => Addressing::Full,
            SessionManager::Client => Addressing::LinkOnly,
        },
        tun: TunOptions {
            offload: config.datapath.offload,
            ..TunOptions::default()
        },
        ..NetdevOptions::default()
    };
    Some((name, options))
}

/// Brings a connected executor's device to a reloaded configuration
/// without dropping its session: in place (routes, DNS, IPv6 identifier)
/// where the device can take it, else with a new device (another name,
/// offloads, who configures it), as after a reconnection.
async fn follow_reload<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    index: usize,
    executor: &mut Executor<T>,
) {
    let Some(link) = executor.link.as_ref() else {
        return;
    };
    let mut connection = link.connection.clone();
    connection.ip = link.ip.clone();
    let Some((name, options)) = link_settings(config, modem, index, executor, &connection) else {
        return;
    };
    let current = link.netdev.name().clone();
    if name == current && link.netdev.options() == &options {
        return;
    }
    if name == current && link.netdev.can_retune_to(&options) {
        let Some(link) = executor.link.as_mut() else {
            return;
        };
        match link.netdev.retune(options).await {
            Ok(()) => {
                tracing::info!(
                    modem = modem.index,
                    executor = index,
                    "{}: taking the reloaded routes and DNS settings",
                    name.as_str()
                );
                executor.configuration.stop_retrying();
                configure(modem, index, executor).await;
            }
            Err(error) => tracing::warn!(
                modem = modem.index,
                executor = index,
                "{}: the reloaded settings are not applied, the previous ones stay: {}",
                name.as_str(),
                chain(&error)
            ),
        }
        return;
    }
    tracing::info!(
        modem = modem.index,
        executor = index,
        "{}: the reloaded configuration needs a new network device ({}); the session stays",
        current.as_str(),
        if name == current {
            "offloads or who configures it changed".to_owned()
        } else {
            format!("named {}", name.as_str())
        }
    );
    // The further sessions ride on session 0's pump: their devices are
    // made again on the new one.
    let further = executor
        .link
        .as_ref()
        .map(|link| sessions::connections(&link.extras))
        .unwrap_or_default();
    take_link_down(modem, index, executor).await;
    bring_link_up(modem, config, index, executor, connection).await;
    for session in further {
        sessions::bring_session_up(modem, config, index, executor, session).await;
    }
}

impl Link {
    /// Behind a kernel driver: what the executor's sessions carried since
    /// session 0 came up (every session's, as a pump counts them), and each
    /// further session's share. `None` over usbfs, where the pump counts.
    fn kernel_traffic(&self) -> Option<(KernelCounters, Vec<(u32, KernelCounters)>)> {
        let mut total = self.kernel_traffic?.carried();
        let mut further = Vec::new();
        for (id, extra) in &self.extras {
            let Some((counters, counted_by_base)) = extra.kernel_traffic() else {
                continue;
            };
            if !counted_by_base {
                total = total.plus(counters);
            }
            further.push((*id, counters));
        }
        Some((total, further))
    }
}

async fn bring_link_up<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    index: usize,
    executor: &mut Executor<T>,
    connection: Connection,
) {
    let Some((name, options)) = link_settings(config, modem, index, executor, &connection) else {
        tracing::error!(
            modem = modem.index,
            executor = index,
            "no valid interface name"
        );
        return;
    };
    let mtu = mtu_for(&connection.ip, executor.spec.max_segment_size);
    let interface_id = options.interface_id;
    let kernel = executor.spec.kernel.is_some();
    let made = if kernel {
        Netdev::adopt(name.clone(), options).await
    } else {
        Netdev::create(name.clone(), options).await
    };
    let netdev = match made {
        Ok(netdev) => netdev,
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = index,
                "connected (profile {}), but cannot {} network device {}: {}. Without \
                 root or CAP_NET_ADMIN, mbimd skips the device, addresses, routes and DNS",
                connection.profile,
                if kernel {
                    "take the kernel's"
                } else {
                    "create"
                },
                name.as_str(),
                chain(&error)
            );
            let mut report = ConfigReport::default();
            report.parts.push(ConfigPart {
                part: format!("network device {}", name.as_str()),
                outcome: PartOutcome::Failed {
                    error: chain(&error).to_string(),
                    transient: false,
                },
            });
            executor.configuration.without_device(report);
            return;
        }
    };
    let session_table = SessionTable::new();
    let started = if kernel {
        // The driver moves the packets between its device and the modem.
        Ok(None)
    } else {
        start_data_path(
            &executor.spec.transport,
            &netdev,
            &connection,
            session_table.clone(),
        )
        .await
        .map(Some)
    };
    let (pump, format) = match started {
        Ok(Some((pump, format))) => (Some(pump), format_name(format)),
        Ok(None) => (None, "the kernel driver's data path"),
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = index,
                "data path: {error:#}"
            );
            (None, "no data path")
        }
    };
    let profile = connection.profile.clone();
    // The driver's device outlives sessions: count from here.
    let kernel_traffic = if kernel {
        Some(KernelTraffic::from(
            netdev.kernel_counters().await.unwrap_or_default(),
        ))
    } else {
        None
    };
    executor.link = Some(Link {
        kernel_traffic,
        netdev,
        pump,
        ip: connection.ip.clone(),
        mtu,
        connection,
        sessions: session_table,
        extras: std::collections::BTreeMap::new(),
        interface_id,
    });
    configure(modem, index, executor).await;
    let configured = executor.configuration.summary();
    tracing::info!(
        modem = modem.index,
        executor = index,
        "{} is up (MTU {mtu}, profile {profile}, {format}), {configured}",
        name.as_str(),
    );
}

/// Brings the executor's device to its link's settings (see
/// [`Configuration::apply`]).
async fn configure<T: FunctionTransport>(
    modem: &ModemSpec,
    number: usize,
    executor: &mut Executor<T>,
) {
    let Some(link) = executor.link.as_mut() else {
        return;
    };
    let who = Subject {
        modem: modem.index,
        executor: number,
    };
    executor
        .configuration
        .apply(who, &mut link.netdev, &link.ip, link.mtu)
        .await;
}

async fn start_data_path<T: FunctionTransport>(
    transport: &Arc<T>,
    netdev: &Netdev,
    connection: &Connection,
    sessions: SessionTable,
) -> anyhow::Result<(PumpHandle, NtbFormat)> {
    // The executor reads the NTB parameters when it starts; if that failed,
    // ask the function again rather than guess limits it may not accept.
    let parameters = match connection.ntb {
        Some(parameters) => parameters,
        None => {
            let bytes = transport
                .control_in(ClassRequest::GetNtbParameters, 0, 28)
                .await?;
            NtbParameters::parse(&bytes)?
        }
    };
    let format = choose_ntb_format(&parameters);
    let in_size = ntb_input_size(&parameters, format);
    // Format and input size may only change while the data interface is at
    // alternate setting 0 (NCM 1.0 §6.2).
    transport.set_data_alt_setting(0).await?;
    transport
        .control_out(
            ClassRequest::SetNtbFormat,
            ntb_format_value(format),
            Vec::new(),
        )
        .await?;
    let input = NtbInputSize {
        max_size: in_size,
        max_datagrams: None,
    };
    transport
        .control_out(ClassRequest::SetNtbInputSize, 0, input.emit())
        .await?;
    transport.set_data_alt_setting(1).await?;
    let (bulk_in, bulk_out) = transport.take_data_pipes()?;
    let session = u8::try_from(connection.session_id)?;
    let mut config = PumpConfig::new(session, format, parameters);
    config.in_transfer_size = usize::try_from(in_size)?;
    config.framing = netdev.framing();
    let pump = datapath::Pump::new(bulk_in, bulk_out, config)?.with_sessions(sessions);
    let device = netdev
        .device()
        .ok_or_else(|| anyhow::anyhow!("{} is not a TUN device", netdev.name().as_str()))?;
    Ok((datapath::spawn(pump, device), format))
}

/// The NTB format for a function with these parameters: NTB32 only when
/// the function offers it and needs it — a block larger than NTB16's 16-bit
/// lengths can address (dwNtbInMaxSize or dwNtbOutMaxSize above 65535).
/// Otherwise NTB16, which every function supports and every host uses (the
/// kernel's cdc_ncm and cdc_mbim never select NTB32), so it is the format
/// firmware is tested with.
pub fn choose_ntb_format(parameters: &NtbParameters) -> NtbFormat {
    let ntb16_limit = NtbFormat::Ntb16.max_block_len();
    let exceeds = |size: u32| usize::try_from(size).map_or(true, |size| size > ntb16_limit);
    if parameters.supports(NtbFormat::Ntb32)
        && (exceeds(parameters.in_max_size) || exceeds(parameters.out_max_size))
    {
        NtbFormat::Ntb32
    } else {
        NtbFormat::Ntb16
    }
}

fn format_name(format: NtbFormat) -> &'static str {
    match format {
        NtbFormat::Ntb16 => "NTB16",
        NtbFormat::Ntb32 => "NTB32",
    }
}

/// SET_NTB_FORMAT's wValue (NCM 1.0 §6.2.5).
fn ntb_format_value(format: NtbFormat) -> u16 {
    match format {
        NtbFormat::Ntb16 => 0,
        NtbFormat::Ntb32 => 1,
    }
}

/// The NTB input size to set: dwNtbInMaxSize, but no more than the format
/// can address (a function offering 128 KiB blocks without NTB32 gets
/// NTB16's 65535, as cdc_ncm does).
fn ntb_input_size(parameters: &NtbParameters, format: NtbFormat) -> u32 {
    let limit = u32::try_from(format.max_block_len()).unwrap_or(u32::MAX);
    parameters.in_max_size.min(limit)
}

async fn take_link_down<T: FunctionTransport>(
    modem: &ModemSpec,
    index: usize,
    executor: &mut Executor<T>,
) {
    executor.configuration.reset();
    let Some(mut link) = executor.link.take() else {
        return;
    };
    sessions::take_sessions_down(modem, index, &link.sessions, &mut link.extras).await;
    if let Some(pump) = link.pump.take() {
        let counters = pump.counters();
        let _ = pump.stop().await;
        tracing::info!(
            modem = modem.index,
            executor = index,
            "data path stopped: {counters:?}"
        );
    }
    // Alternate setting 0 releases the data pipes on the device side; a
    // device already gone cannot answer, which is fine. A kernel driver
    // keeps its own data interface.
    if executor.spec.kernel.is_none() {
        let _ = executor.spec.transport.set_data_alt_setting(0).await;
    }
    let name = link.netdev.name().as_str().to_owned();
    let origin = link.netdev.origin();
    match link.netdev.teardown().await {
        Ok(()) if origin == crate::netdev::Origin::Adopted => tracing::info!(
            modem = modem.index,
            executor = index,
            "{name}: mbimd's addresses, routes and DNS removed, link set down (the kernel's device stays)"
        ),
        Ok(()) => tracing::info!(modem = modem.index, executor = index, "{name} removed"),
        Err(error) => tracing::warn!(
            modem = modem.index,
            executor = index,
            "removing {name}: {}",
            chain(&error)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_are_numbered_by_their_executor_index() {
        // (ExecutorIndex reported by each function, in function order; numbers)
        let table: [(&[Option<u32>], &[usize]); 9] = [
            (&[], &[]),
            (&[None], &[0]),
            (&[Some(0)], &[0]),
            (&[None, None], &[0, 1]),
            (&[Some(0), Some(1)], &[0, 1]),
            // Function order differs from executor order.
            (&[Some(1), Some(0)], &[1, 0]),
            // One known, one not (yet): the other takes what is left.
            (&[Some(1), None], &[1, 0]),
            // Taken twice, or out of range: the later or the odd one falls
            // back to the numbers left, in function order.
            (&[Some(0), Some(0), None], &[0, 1, 2]),
            (&[Some(7), Some(0), None], &[1, 0, 2]),
        ];
        for (reported, numbers) in table {
            assert_eq!(executor_numbers(reported), numbers, "{reported:?}");
        }
    }

    #[test]
    fn an_unanswered_command_is_a_timeout_and_a_refusal_a_refusal() {
        let failure = |status, timed_out| CommandFailure {
            status,
            message: "m".to_owned(),
            timed_out,
        };
        assert_eq!(
            device_error(failure(None, true)),
            RequestError::Timeout("m".to_owned())
        );
        assert_eq!(
            device_error(failure(Some(mbim_protocol::status::Status::Failure), false)),
            RequestError::Device {
                status: Some(mbim_protocol::status::Status::Failure),
                message: "m".to_owned()
            }
        );
    }

    #[test]
    fn interface_ids_are_stable_per_sim_and_locally_administered() {
        let modem = ModemSpec {
            index: 0,
            vid: 1,
            pid: 2,
            usb_path: "1-1".into(),
            serial: None,
            ..ModemSpec::default()
        };
        let a = interface_id("8988200000000000001", &modem, 0);
        assert_eq!(a, interface_id("8988200000000000001", &modem, 0));
        assert_ne!(a, interface_id("8988200000000000002", &modem, 0));
        assert_eq!(a[0] & 0x02, 0);
    }

    fn parameters(formats_supported: u16, in_max_size: u32, out_max_size: u32) -> NtbParameters {
        NtbParameters {
            formats_supported,
            in_max_size,
            in_divisor: 4,
            in_payload_remainder: 0,
            in_alignment: 4,
            out_max_size,
            out_divisor: 4,
            out_payload_remainder: 0,
            out_alignment: 4,
            out_max_datagrams: 0,
        }
    }

    #[test]
    fn ntb32_only_when_offered_and_needed() {
        use NtbFormat::{Ntb16, Ntb32};
        // (bmNtbFormatsSupported, dwNtbInMaxSize, dwNtbOutMaxSize, chosen, input size)
        let table = [
            (1, 16384, 16384, Ntb16, 16384),
            (3, 16384, 16384, Ntb16, 16384),
            (3, 65535, 65535, Ntb16, 65535),
            (3, 65536, 16384, Ntb32, 65536),
            (3, 16384, 65536, Ntb32, 16384),
            (3, 131_072, 131_072, Ntb32, 131_072),
            (3, u32::MAX, 16384, Ntb32, u32::MAX),
            // Large blocks without NTB32: NTB16, its input size clamped.
            (1, 131_072, 131_072, Ntb16, 65535),
            // NTB32 alone is not a valid function (NTB16 is mandatory); the
            // need still decides.
            (2, 16384, 16384, Ntb16, 16384),
            (2, 131_072, 16384, Ntb32, 131_072),
        ];
        for (formats, in_max, out_max, format, input) in table {
            let parameters = parameters(formats, in_max, out_max);
            assert_eq!(
                choose_ntb_format(&parameters),
                format,
                "formats {formats:#x}, in {in_max}, out {out_max}"
            );
            assert_eq!(ntb_input_size(&parameters, format), input, "{parameters:?}");
        }
        assert_eq!(ntb_format_value(Ntb16), 0);
        assert_eq!(ntb_format_value(Ntb32), 1);
    }

    #[test]
    fn the_link_mtu_prefers_the_ipv4_mtu_and_respects_the_segment_size() {
        let ip = IpSettings {
            ipv4_mtu: 1400,
            ipv6_mtu: 1280,
            ..IpSettings::default()
        };
        assert_eq!(mtu_for(&ip, 1500), 1400);
        let ip = IpSettings {
            ipv6_mtu: 1300,
            ..IpSettings::default()
        };
        assert_eq!(mtu_for(&ip, 1500), 1300);
        assert_eq!(mtu_for(&IpSettings::default(), 1428), 1428);
    }
}
