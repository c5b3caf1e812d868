//! Every modem behind a kernel driver that mbimd takes, supervised while it
//! is present: the kernel-port counterpart of [`crate::usb::manager`].
//!
//! sysfs is scanned ([`discovery::scan`]) at the start, shortly after the
//! kernel's device events (USB, usbmisc, wwan, net; heard without udevd,
//! [`crate::uevent`]) and when a retake is due; every [`POLL_INTERVAL`]
//! only where those events cannot be heard. Idle, the manager sleeps. The
//! ports of one device are one modem. A USB modem is taken here only when
//! a `[[devices.rules]]` entry gives it `transport = "kernel"` (otherwise
//! the usbfs manager takes it); a WWAN modem (PCIe) always is. The
//! `[devices]` allow and deny lists apply to both. A port another process
//! holds open (ModemManager, an mbim-proxy) is not opened: the log says
//! who holds it, and the modem is tried again later.
//!
//! A modem's task ends when its ports hang up (unplugged) or at shutdown;
//! one that ends while its device is still listed is taken again after
//! the same growing back-off as over usbfs ([`retake_delay`]).

use super::discovery::{self, KernelFunction, ModemIdentity};
use super::KernelPort;
use crate::config::{Config, Transport};
use crate::logging::chain;
use crate::modem::{modem_channel, ModemSnapshot, Registry};
use crate::netdev::InterfaceName;
use crate::supervisor::{supervise, FunctionSpec, KernelData, ModemSpec, SessionLinks};
use crate::uevent::{Uevent, UeventError, UeventSocket};
use crate::usb::manager::retake_delay;
use crate::usb::watch::POLL_INTERVAL;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where sysfs, procfs and the device nodes are.
#[derive(Debug, Clone)]
pub struct Roots {
    /// `/sys`.
    pub sys: PathBuf,
    /// `/proc`.
    pub proc: PathBuf,
    /// `/dev`.
    pub dev: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            sys: PathBuf::from("/sys"),
            proc: PathBuf::from("/proc"),
            dev: PathBuf::from("/dev"),
        }
    }
}

/// A modem as one scan sees it: its ports' names (a change is a new modem).
type Key = (PathBuf, Vec<String>);

struct Running {
    key: Key,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    started: tokio::time::Instant,
}

/// A task that ran at least this long worked: its modem's back-off starts
/// over (as over usbfs).
const WORKED: std::time::Duration = std::time::Duration::from_secs(60);

/// The modems of one scan that `config` takes, with their ports in order.
/// Modems not taken are logged once (`told`).
pub fn modems_taken(
    functions: Vec<KernelFunction>,
    config: &Config,
    told: &mut HashSet<Key>,
) -> BTreeMap<Key, (ModemIdentity, Vec<KernelFunction>)> {
    let mut modems: BTreeMap<PathBuf, Vec<KernelFunction>> = BTreeMap::new();
    for function in functions {
        modems
            .entry(function.modem.sysfs.clone())
            .or_default()
            .push(function);
    }
    let mut taken = BTreeMap::new();
    for (sysfs, functions) in modems {
        let Some(identity) = functions.first().map(|f| f.modem.clone()) else {
            continue;
        };
        let key = (sysfs, functions.iter().map(|f| f.name.clone()).collect());
        let device = identity.as_identity();
        if !config.devices.takes(&device) {
            if told.insert(key) {
                tracing::info!(
                    "{} ({:04x}:{:04x}, {}) is not taken (the [devices] rules)",
                    identity.path,
                    identity.vid,
                    identity.pid,
                    names(&functions)
                );
            }
            continue;
        }
        // A USB modem without transport = "kernel" is the usbfs manager's
        // (which detaches cdc_mbim).
        if identity.usb && config.devices.transport_of(&device) != Transport::Kernel {
            continue;
        }
        taken.insert(key, (identity, functions));
    }
    taken
}

/// Supervises every modem behind a kernel driver that `config` takes, as
/// they come and go, until `shutdown` resolves; then shuts each down and
/// returns. Modem numbers are shared with the usbfs manager through
/// `registry`.
pub async fn run(
    mut configs: watch::Receiver<Arc<Config>>,
    registry: Registry,
    roots: Roots,
    shutdown: impl Future<Output = ()>,
) {
    let mut config = Arc::clone(&configs.borrow_and_update());
    let mut reloads = true;
    // Set by a reload that changed the [devices] rules: the next scan
    // releases the modems they no longer take.
    let mut reconsider = false;
    let mut running: Vec<Running> = Vec::new();
    let mut failures: HashMap<Key, u32> = HashMap::new();
    let mut not_before: HashMap<Key, tokio::time::Instant> = HashMap::new();
    let mut told = HashSet::new();
    // The kernel's device events wake the scan; polling only without them.
    let mut uevents = match UeventSocket::open() {
        Ok(socket) => Some(socket),
        Err(error) => {
            tracing::info!(
                "{}; rescanning for kernel MBIM ports every {POLL_INTERVAL:?}",
                chain(&error)
            );
            None
        }
    };
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A task that ends wakes the loop (its modem may be taken again).
    let (ended_tx, mut ended) = tokio::sync::mpsc::channel::<()>(1);
    let mut rescan_at = Some(tokio::time::Instant::now());
    tokio::pin!(shutdown);
    loop {
        let wake = rescan_at
            .into_iter()
            .chain(not_before.values().copied())
            .min();
        let polling = uevents.is_none();
        tokio::select! {
            () = &mut shutdown => break,
            () = sleep_until(wake) => {}
            changed = configs.changed(), if reloads => {
                if changed.is_err() {
                    reloads = false;
                    continue;
                }
                let new = Arc::clone(&configs.borrow_and_update());
                reconsider |= new.devices != config.devices;
                config = new;
            }
            _ = tick.tick(), if polling => {}
            Some(()) = ended.recv() => {
                // The wake is sent as the task ends: let it finish.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            event = next_uevent(&mut uevents) => match event {
                Ok(event) if is_relevant(&event) => {
                    rescan_at.get_or_insert(tokio::time::Instant::now() + SETTLE);
                    continue;
                }
                Ok(_) => continue,
                Err(UeventError::Overrun) => {
                    tracing::debug!("device events were lost: rescanning for kernel MBIM ports");
                }
                Err(error) => {
                    tracing::warn!(
                        "{}; rescanning for kernel MBIM ports every {POLL_INTERVAL:?} from now on",
                        chain(&error)
                    );
                    uevents = None;
                }
            },
        }
        rescan_at = None;
        let sys = roots.sys.clone();
        let functions = tokio::task::spawn_blocking(move || discovery::scan(&sys))
            .await
            .unwrap_or_default();
        if reconsider {
            // Logged anew under the new rules.
            told.clear();
        }
        let present = modems_taken(functions, &config, &mut told);
        let now = tokio::time::Instant::now();
        if std::mem::take(&mut reconsider) {
            for modem in &running {
                if !present.contains_key(&modem.key) && !modem.task.is_finished() {
                    tracing::info!(
                        "{}: released after the reload: the [devices] rules no longer give it to \
                         the kernel transport",
                        modem.key.1.join(", ")
                    );
                    let _ = modem.stop.send(true);
                }
            }
        }
        running.retain(|modem| {
            if !modem.task.is_finished() {
                return true;
            }
            if present.contains_key(&modem.key) {
                let count = failures.entry(modem.key.clone()).or_insert(0);
                if now.duration_since(modem.started) >= WORKED {
                    *count = 0;
                }
                *count = count.saturating_add(1);
                let delay = retake_delay(*count);
                tracing::info!(
                    "{}: supervision ended with the device still there: taking it again in {delay:?}",
                    modem.key.1.join(", ")
                );
                not_before.insert(modem.key.clone(), now + delay);
            }
            false
        });
        failures.retain(|key, _| present.contains_key(key));
        not_before.retain(|key, _| present.contains_key(key));
        for (key, (identity, functions)) in present {
            if running.iter().any(|modem| modem.key == key)
                || not_before.get(&key).is_some_and(|at| *at > now)
            {
                continue;
            }
            not_before.remove(&key);
            let (stop, stopped) = watch::channel(false);
            let ended_tx = ended_tx.clone();
            let modem = take_modem(
                identity,
                functions,
                Arc::clone(&config),
                registry.clone(),
                roots.clone(),
                stopped,
            );
            let task = tokio::spawn(async move {
                modem.await;
                let _ = ended_tx.try_send(());
            });
            running.push(Running {
                key,
                stop,
                task,
                started: now,
            });
        }
    }
    for modem in &running {
        let _ = modem.stop.send(true);
    }
    for modem in running {
        if let Err(error) = modem.task.await {
            tracing::warn!("kernel modem task: {}", chain(&error));
        }
    }
}

/// Opens the modem's ports and supervises it until it is gone or `stopped`.
async fn take_modem(
    identity: ModemIdentity,
    functions: Vec<KernelFunction>,
    config: Arc<Config>,
    registry: Registry,
    roots: Roots,
    mut stopped: watch::Receiver<bool>,
) {
    let number = registry.hold_number();
    let index = number.get();
    let mut specs = Vec::new();
    for function in &functions {
        match open_function(function, &roots) {
            Ok(spec) => specs.push(spec),
            Err(why) => {
                tracing::error!(modem = index, "{why}");
                return;
            }
        }
    }
    let spec = ModemSpec {
        index,
        vid: identity.vid,
        pid: identity.pid,
        usb_path: identity.path.clone(),
        serial: identity.serial.clone(),
        manufacturer: identity.manufacturer.clone(),
        model: identity.model.clone(),
        transport: "kernel",
    };
    tracing::info!(
        modem = index,
        "{} modem {} ({:04x}:{:04x}) through the kernel's driver: {} executor(s) on {}",
        if identity.usb { "USB" } else { "WWAN" },
        identity.path,
        identity.vid,
        identity.pid,
        specs.len(),
        functions
            .iter()
            .map(|f| format!(
                "/dev/{} ({})",
                f.name,
                f.netdev.as_deref().unwrap_or("no netdev")
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (handle, endpoint) = modem_channel(ModemSnapshot {
        index,
        vid: identity.vid,
        pid: identity.pid,
        usb_path: identity.path.clone(),
        ..ModemSnapshot::default()
    });
    registry.insert(index, handle);
    let shutdown = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    supervise(spec, specs, config, endpoint, shutdown).await;
    registry.remove(index);
    tracing::info!(modem = index, "modem {} released", identity.path);
}

/// One port opened as an executor's transport, or why not.
fn open_function(
    function: &KernelFunction,
    roots: &Roots,
) -> Result<FunctionSpec<KernelPort>, String> {
    let node = roots.dev.join(&function.name);
    let holders = discovery::holders(&roots.proc, &node);
    if !holders.is_empty() {
        return Err(format!(
            "{} is held by {}: mbimd does not open a port another program uses (two hosts on one \
             MBIM function confuse both). Stop it, or deny this modem in one of their \
             configurations ([devices] deny here); mbimd tries again later",
            node.display(),
            holders
                .iter()
                .map(|(pid, name)| format!("{name} (pid {pid})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let netdev = function
        .netdev
        .as_deref()
        .ok_or_else(|| {
            format!(
                "{}: sysfs shows no network device of its driver",
                node.display()
            )
        })
        .and_then(|name| {
            InterfaceName::new(name.to_owned())
                .map_err(|error| format!("{}: network device {name}: {error}", node.display()))
        })?;
    let port = KernelPort::open(&node, function.kind).map_err(|error| chain(&error).to_string())?;
    Ok(FunctionSpec {
        max_control_message: port.max_message(),
        // The driver caps its device's MTU at the function's segment size;
        // where sysfs does not say it, Ethernet's.
        max_segment_size: function.max_segment_size.unwrap_or(1500),
        kernel: Some(KernelData {
            port: function.name.clone(),
            netdev,
            links: match function.kind {
                super::PortKind::CdcWdm => SessionLinks::Vlan,
                super::PortKind::Wwan => SessionLinks::Wwan {
                    device: function
                        .modem
                        .sysfs
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                },
            },
        }),
        transport: Arc::new(port),
    })
}

/// How long after the first device event of a burst the scan runs (a
/// modem's interfaces, nodes and network devices appear together).
const SETTLE: std::time::Duration = std::time::Duration::from_millis(100);

/// Events that may change which MBIM ports kernel drivers offer.
fn is_relevant(event: &Uevent) -> bool {
    matches!(event.subsystem.as_str(), "usb" | "usbmisc" | "wwan" | "net")
}

/// Sleeps until `at`; forever without one.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next device event; never without the socket.
async fn next_uevent(socket: &mut Option<UeventSocket>) -> Result<Uevent, UeventError> {
    match socket.as_mut() {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}

/// The ports' names, for logs.
fn names(functions: &[KernelFunction]) -> String {
    functions
        .iter()
        .map(|f| f.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
