//! One modem's supervisor: runs an executor task per MBIM function, turns
//! what the executors report into network devices and data paths, publishes
//! the modem's state ([`ModemSnapshot`]), serves [`ModemRequest`]s, and runs
//! the slot policy of dual-SIM single-active modems.
//!
//! An executor reports *connected* with its IP configuration: the supervisor
//! sets the function's NTB format and input size (allowed only while the data
//! interface is at alternate setting 0), selects alternate setting 1, creates
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
//! # One loop, nothing waited for in it
//!
//! Everything the supervisor does happens in one `select!` loop over the
//! executors' events, their status watches, the requests, a one-second tick
//! (data-path counters), the slot policy's retry timer and shutdown. No
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

mod slots;
mod snapshot;
mod test_slots;

pub use test_slots::{slot_state_agrees, TEST_NAMES};

use crate::config::{Config, DeviceIdentity};
use crate::datapath::{self, PumpConfig, PumpHandle};
use crate::executor::{
    self, CommandFailure, Connection, ExecutorCommand, ExecutorConfig, ExecutorEvent,
    ExecutorReport, ExecutorStatus, Secret,
};
use crate::modem::{ModemEndpoint, ModemRequest, ModemSnapshot, RequestError, SlotSignal};
use crate::netdev::{InterfaceName, Netdev, NetdevOptions};
use crate::policy::store::SlotStore;
use crate::types::{link_mtu, IpSettings};
use mbim_protocol::ntb::{NtbFormat, NtbParameters};
use mbim_protocol::usb::{ClassRequest, NtbInputSize};
use mbim_transport::FunctionTransport;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch, Mutex};

/// How long shutdown waits for the executors to disconnect and CLOSE.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often the data-path counters are read into the snapshot.
const COUNTER_REFRESH: Duration = Duration::from_secs(1);

/// One MBIM function of the modem, as the supervisor needs it.
#[derive(Debug)]
pub struct FunctionSpec<T> {
    /// How to reach it.
    pub transport: Arc<T>,
    /// Its wMaxControlMessage.
    pub max_control_message: u16,
    /// Its wMaxSegmentSize (caps the link MTU).
    pub max_segment_size: u16,
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
}

struct Executor<T> {
    spec: FunctionSpec<T>,
    commands: mpsc::Sender<ExecutorCommand>,
    status: watch::Receiver<ExecutorStatus>,
    link: Option<Link>,
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
            profiles: config.profiles.clone(),
            pins: configured_pins(&config),
            show_personal_info: config.logging.show_personal_info,
            max_control_message: spec.max_control_message,
            ..ExecutorConfig::default()
        };
        tokio::spawn(executor::run_executor(
            Arc::clone(&spec.transport),
            executor_config,
            events_tx.clone(),
            commands_rx,
            status_tx,
            Arc::clone(&device_lock),
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
            commands: commands_tx,
            status: status_rx,
            link: None,
            running: true,
        });
    }
    drop(events_tx);
    drop(changed_tx);

    let slots = slots::SlotControl::new(&modem, &config);
    let mut supervisor = Supervisor {
        modem,
        config,
        executors,
        snapshot,
        signals,
        pending: HashMap::new(),
        ids: Arc::new(AtomicU64::new(1)),
        slots,
        test: None,
    };
    supervisor.publish();

    tokio::pin!(shutdown);
    let mut shutting_down = false;
    let mut requests_open = true;
    let mut grace = Box::pin(tokio::time::sleep(Duration::MAX / 4));
    let mut tick = tokio::time::interval(COUNTER_REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            report = events.recv() => {
                let Some(report) = report else { break };
                supervisor.report(report).await;
                if supervisor.executors.iter().all(|executor| !executor.running) {
                    break;
                }
            }
            Some(()) = changed.recv() => supervisor.statuses_changed(),
            request = requests_rx.recv(), if requests_open => match request {
                Some(request) => supervisor.request(request),
                // Every handle is gone; the modem runs on unobserved.
                None => requests_open = false,
            },
            _ = tick.tick() => {}
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
        supervisor.publish();
    }
    let modem = supervisor.modem.clone();
    for (index, executor) in supervisor.executors.iter_mut().enumerate() {
        take_link_down(&modem, index, executor).await;
    }
    supervisor.publish();
}

impl<T: FunctionTransport + 'static> Supervisor<T> {
    async fn report(&mut self, report: ExecutorReport) {
        if let Some(test) = &self.test {
            test.forward(&report);
        }
        let index = report.executor;
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        match report.event {
            ExecutorEvent::Connected(connection) => {
                take_link_down(&self.modem, index, executor).await;
                bring_link_up(&self.modem, &self.config, index, executor, connection).await;
            }
            ExecutorEvent::IpUpdated(ip) => {
                if let Some(link) = executor.link.as_mut() {
                    let mtu = mtu_for(&ip, executor.spec.max_segment_size);
                    if let Err(error) = link.netdev.update(&ip, mtu).await {
                        tracing::warn!(
                            modem = self.modem.index,
                            executor = index,
                            "IP update: {error}"
                        );
                    }
                }
            }
            ExecutorEvent::LinkDown { .. } => take_link_down(&self.modem, index, executor).await,
            ExecutorEvent::Gone | ExecutorEvent::Stopped => {
                take_link_down(&self.modem, index, executor).await;
                executor.running = false;
                // Dropping the reply senders tells their askers the modem is gone.
                self.pending.retain(|_, pending| pending.executor != index);
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
                if let Err(error) = self.executor_request(executor, command, reply) {
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
            ModemRequest::Reconfigure { config } => self.reconfigure(config),
        }
    }

    fn executor_request(
        &mut self,
        executor: usize,
        command: ExecutorCommand,
        reply: oneshot::Sender<Result<(), RequestError>>,
    ) -> Result<(), RequestError> {
        let refused = match (&command, self.executors.get(executor)) {
            (_, None) => Some(RequestError::InvalidArgument(format!(
                "no executor {executor} (the modem has {})",
                self.executors.len()
            ))),
            // Ending an executor or nesting ids is the supervisor's business.
            (ExecutorCommand::Shutdown | ExecutorCommand::Tracked { .. }, _) => Some(
                RequestError::InvalidArgument("not a command for requests".to_owned()),
            ),
            (ExecutorCommand::SetSlotMapping(_), _) => Some(RequestError::InvalidArgument(
                "slot mappings go through SetSlotMapping".to_owned(),
            )),
            _ => None,
        };
        if let Some(error) = refused {
            let _ = reply.send(Err(error.clone()));
            return Err(error);
        }
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
        match pending.kind {
            PendingKind::Reply(reply) => {
                let _ = reply.send(result.map_err(device_error));
            }
            PendingKind::UserSet(reply) => self.user_set_done(result, reply),
            PendingKind::PolicySet => self.policy_set_done(result),
        }
    }

    fn reconfigure(&mut self, config: Arc<Config>) {
        let pins = configured_pins(&config);
        for (index, executor) in self.executors.iter().enumerate() {
            let command = ExecutorCommand::Reconfigure {
                profiles: config.profiles.clone(),
                pins: pins.clone(),
            };
            if let Err(error) = executor.commands.try_send(command) {
                tracing::warn!(
                    modem = self.modem.index,
                    executor = index,
                    "the new configuration did not reach the executor: {error}"
                );
            }
        }
        self.config = config;
        self.slots.store = SlotStore::new(self.config.slot_policy.state_file.clone());
        let policy = self.config.slot_policy_for(&self.modem.identity());
        self.set_policy(policy, true);
        tracing::info!(modem = self.modem.index, "configuration reloaded");
    }
}

fn device_error(failure: CommandFailure) -> RequestError {
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
    let identity = modem.identity();
    let executor = u32::try_from(executor).ok()?;
    config
        .interfaces
        .fixed_name(&identity, executor)
        .cloned()
        .or_else(|| config.interfaces.scheme.expand(modem.index, executor))
}

async fn bring_link_up<T: FunctionTransport>(
    modem: &ModemSpec,
    config: &Config,
    index: usize,
    executor: &mut Executor<T>,
    connection: Connection,
) {
    let Some(name) = interface_name(config, modem, index) else {
        tracing::error!(
            modem = modem.index,
            executor = index,
            "no valid interface name"
        );
        return;
    };
    let mtu = mtu_for(&connection.ip, executor.spec.max_segment_size);
    let iccid = executor.status.borrow().iccid.clone();
    let options = NetdevOptions {
        default_route_metric: config.routes.default_route.then(|| {
            connection
                .route_metric
                .unwrap_or(config.routes.metric.get())
        }),
        dns: config.dns.backend.clone(),
        interface_id: interface_id(&iccid, modem, index),
        ..NetdevOptions::default()
    };
    let mut netdev = match Netdev::create(name.clone(), options).await {
        Ok(netdev) => netdev,
        Err(error) => {
            tracing::warn!(
                modem = modem.index,
                executor = index,
                "connected (profile {}), but cannot create network device {}: {error}. Without \
                 root or CAP_NET_ADMIN, mbimd skips the TUN device, addresses, routes and DNS",
                connection.profile,
                name.as_str()
            );
            return;
        }
    };
    if let Err(error) = netdev.apply(&connection.ip, mtu).await {
        tracing::warn!(
            modem = modem.index,
            executor = index,
            "configuring {}: {error}",
            name.as_str()
        );
    }
    let pump = match start_data_path(&executor.spec.transport, &netdev, &connection).await {
        Ok(pump) => Some(pump),
        Err(error) => {
            tracing::warn!(modem = modem.index, executor = index, "data path: {error}");
            None
        }
    };
    tracing::info!(
        modem = modem.index,
        executor = index,
        "{} is up (MTU {mtu}, profile {})",
        name.as_str(),
        connection.profile
    );
    executor.link = Some(Link { netdev, pump });
}

async fn start_data_path<T: FunctionTransport>(
    transport: &Arc<T>,
    netdev: &Netdev,
    connection: &Connection,
) -> anyhow::Result<PumpHandle> {
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
    // NTB16 is what every function supports; format and input size may only
    // change while the data interface is at alternate setting 0 (NCM 1.0 §6.2).
    transport.set_data_alt_setting(0).await?;
    transport
        .control_out(ClassRequest::SetNtbFormat, 0, Vec::new())
        .await?;
    let input = NtbInputSize {
        max_size: parameters.in_max_size,
        max_datagrams: None,
    };
    transport
        .control_out(ClassRequest::SetNtbInputSize, 0, input.emit())
        .await?;
    transport.set_data_alt_setting(1).await?;
    let (bulk_in, bulk_out) = transport.take_data_pipes()?;
    let session = u8::try_from(connection.session_id)?;
    let pump = datapath::Pump::new(
        bulk_in,
        bulk_out,
        PumpConfig::new(session, NtbFormat::Ntb16, parameters),
    )?;
    Ok(datapath::spawn(pump, netdev.device()))
}

async fn take_link_down<T: FunctionTransport>(
    modem: &ModemSpec,
    index: usize,
    executor: &mut Executor<T>,
) {
    let Some(mut link) = executor.link.take() else {
        return;
    };
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
    // device already gone cannot answer, which is fine.
    let _ = executor.spec.transport.set_data_alt_setting(0).await;
    let name = link.netdev.name().as_str().to_owned();
    match link.netdev.teardown().await {
        Ok(()) => tracing::info!(modem = modem.index, executor = index, "{name} removed"),
        Err(error) => tracing::warn!(
            modem = modem.index,
            executor = index,
            "removing {name}: {error}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
