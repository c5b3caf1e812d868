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
//!
//! [`ExecutorEvent::Done`]: crate::executor::ExecutorEvent::Done
//! [`SlotStore`]: crate::policy::store::SlotStore
//!
//! # Where things are
//!
//! This file holds the types and the loop ([`supervise`]); its branches
//! call into one file per concern: `events.rs` (what the executors report,
//! turned into links), `requests.rs` (requests as tracked commands and
//! their replies), `numbering.rs` (executor numbers), `link.rs` and
//! `data_path.rs` (session 0's network device and its pump), `sessions.rs`
//! (the further sessions), `configure.rs` (applying a device's settings),
//! `activity.rs` (what the refresh tick, `refresh.rs`, watches), `reload.rs`
//! (a reloaded configuration, a change of who manages sessions),
//! `slots.rs`, `test_slots.rs`, `power.rs`, `fcc.rs` and `snapshot.rs`.

mod activity;
mod configure;
mod data_path;
mod events;
mod fcc;
mod link;
mod numbering;
mod power;
mod refresh;
mod reload;
mod requests;
mod sessions;
mod simulated;
mod slots;
mod snapshot;
mod test_slots;

pub use data_path::choose_ntb_format;
pub use link::netdev_name;
pub use numbering::executor_numbers;
pub use test_slots::{slot_state_agrees, TEST_NAMES};

use crate::config::{Config, DeviceIdentity, SessionManager};
use crate::datapath::{PumpHandle, SessionTable};
use crate::executor::{
    self, Connection, ExecutorCommand, ExecutorConfig, ExecutorReport, ExecutorStatus, Secret,
};
use crate::logging::chain;
use crate::modem::{ModemEndpoint, ModemRequest, ModemSnapshot, RequestError, SlotSignal};
use crate::netdev::{InterfaceName, KernelTraffic, Netdev};
use crate::service::Pulse;
use crate::types::IpSettings;
use configure::Configuration;
use link::{mtu_for, take_link_down};
use mbim_transport::FunctionTransport;
use requests::device_error;
pub use simulated::simulated_modem;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
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
///
/// [`ExecutorEvent::Done`]: crate::executor::ExecutorEvent::Done
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
