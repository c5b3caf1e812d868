//! Every USB modem mbimd takes, supervised while it is present.
//!
//! One task per modem: opened and claimed when the [`DeviceWatcher`] reports
//! it, then [`supervise`]d; the task ends when the device is gone (its
//! executors see the disconnect and stop) or at shutdown (disconnect and
//! CLOSE first). A modem keeps its number — the `N` of `mbimNeM` — while its
//! task runs; the lowest free number goes to the next one, so a replugged
//! modem gets its old names back.
//!
//! A task that ends while its device is still listed (a USB reset the
//! executors did not survive, functions that vanished and came back, an
//! open that failed) is not the end of that modem: the device is taken
//! again, after a back-off that grows while it keeps failing
//! ([`retake_delay`]), as if it had just been plugged in.

use super::discovery::{candidate, open_modem};
use super::watch::{DeviceEvent, DeviceWatcher, POLL_INTERVAL};
use crate::config::Config;
use crate::logging::chain;
use crate::modem::{modem_channel, ModemSnapshot, Registry};
use crate::service::Pulse;
use crate::supervisor::supervise;
use nusb::DeviceId;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long the manager waits after the device list could not be read.
const LIST_ERROR_PAUSE: Duration = Duration::from_secs(5);

/// One modem's task.
struct Running {
    device: DeviceId,
    /// What the `[devices]` rules judge it by.
    identity: super::discovery::UsbIdentity,
    index: u32,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    present: bool,
    started: tokio::time::Instant,
}

/// A task that ran at least this long worked: its device's back-off starts
/// over.
const WORKED: Duration = Duration::from_secs(60);

/// How long to wait before taking a device again whose task ended `failures`
/// times in a row while it stayed present: 1 s, 2 s, 4 s… at most a minute,
/// so a device that cannot be opened is neither given up nor hammered.
pub fn retake_delay(failures: u32) -> Duration {
    let seconds = 1u64
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u64::MAX)
        .min(60);
    Duration::from_secs(seconds)
}

/// Devices to take again, and how often each failed in a row.
#[derive(Default)]
struct Retakes {
    failures: std::collections::HashMap<DeviceId, u32>,
    due: Vec<(tokio::time::Instant, DeviceId)>,
}

impl Retakes {
    /// `modem`'s task ended while its device is present: schedule it.
    fn ended(&mut self, modem: &Running, now: tokio::time::Instant) {
        let failures = self.failures.entry(modem.device).or_insert(0);
        if now.duration_since(modem.started) >= WORKED {
            *failures = 0;
        }
        *failures = failures.saturating_add(1);
        let delay = retake_delay(*failures);
        tracing::info!(
            modem = modem.index,
            "the modem's supervision ended with its device still listed: taking it again in {delay:?} if it stays"
        );
        self.due.push((now + delay, modem.device));
    }

    /// Resolves at the earliest due retake (never while none is due).
    async fn next_due(&self) {
        match self.due.iter().map(|(at, _)| *at).min() {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    }

    /// The devices due by `now`.
    fn take_due(&mut self, now: tokio::time::Instant) -> Vec<DeviceId> {
        let (due, later): (Vec<_>, Vec<_>) = self.due.drain(..).partition(|(at, _)| *at <= now);
        self.due = later;
        due.into_iter().map(|(_, id)| id).collect()
    }
}

/// The lowest modem number no running task holds.
pub fn lowest_free_index(used: impl IntoIterator<Item = u32>) -> u32 {
    let mut used: Vec<u32> = used.into_iter().collect();
    used.sort_unstable();
    used.dedup();
    let mut free = 0;
    for index in used {
        if index == free {
            free = free.saturating_add(1);
        } else if index > free {
            break;
        }
    }
    free
}

/// Supervises every USB modem that `config` takes, as they come and go,
/// until `shutdown` resolves; then shuts each down (disconnect, CLOSE,
/// network devices removed) and returns. Each modem's handle is in
/// `registry` while its supervisor runs.
pub async fn run(
    mut configs: watch::Receiver<Arc<Config>>,
    registry: Registry,
    shutdown: impl Future<Output = ()>,
) {
    let mut config = Arc::clone(&configs.borrow_and_update());
    let mut reloads = true;
    let mut watcher = DeviceWatcher::new(POLL_INTERVAL);
    let mut running: Vec<Running> = Vec::new();
    let mut retakes = Retakes::default();
    // A task that ends wakes the loop, which prunes it (and may retake its
    // device); nothing else would wake it while the USB bus is quiet.
    let (ended_tx, mut ended) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    // The watchdog pings only while this loop turns (crate::service).
    let pulse = Pulse::register("USB device watcher");
    loop {
        prune(&mut running, &mut retakes);
        tokio::select! {
            () = &mut shutdown => break,
            () = pulse.poked() => pulse.answer(),
            changed = configs.changed(), if reloads => {
                if changed.is_err() {
                    reloads = false;
                    continue;
                }
                let new = Arc::clone(&configs.borrow_and_update());
                let devices_changed = new.devices != config.devices;
                config = new;
                if devices_changed {
                    release_unwanted(&mut running, &config);
                    watcher.reconsider(|id| {
                        running.iter().any(|modem| modem.device == id && modem.present)
                    });
                }
            }
            Some(()) = ended.recv() => {
                // The wake is sent as the task ends: give it the moment to
                // be finished, so the prune at the loop's top sees it.
                for _ in 0..20 {
                    if running.iter().any(|modem| modem.task.is_finished()) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            () = retakes.next_due() => {
                for id in retakes.take_due(tokio::time::Instant::now()) {
                    // Listed at the next scan: Added again.
                    watcher.forget(id);
                }
            }
            event = watcher.next() => match event {
                Ok(DeviceEvent::Added(info)) => {
                    let Some(device) = candidate(info, &config.devices) else {
                        continue;
                    };
                    let id = device.info.id();
                    let identity = device.identity.clone();
                    // Prune here, not only before waiting: a modem unplugged
                    // while we waited may have finished since, and its
                    // number belongs to the replugged one.
                    prune(&mut running, &mut retakes);
                    if let Some(old) = running.iter_mut().find(|modem| modem.device == id) {
                        // The same device seen anew (its configuration
                        // changed): the old task lets its number go first,
                        // then the device is taken again under it.
                        let _ = old.stop.send(true);
                        old.present = false;
                        retakes.due.push((tokio::time::Instant::now() + retake_delay(1), id));
                        continue;
                    }
                    // Held by the task until it ends: shared with the
                    // modems behind kernel drivers (crate::kernel::manager).
                    let number = registry.hold_number();
                    let index = number.get();
                    let (stop, mut stopped) = watch::channel(false);
                    let config = Arc::clone(&config);
                    let registry = registry.clone();
                    let ended_tx = ended_tx.clone();
                    let task = tokio::spawn(async move {
                        // Dropped when the task ends, however it ends (the
                        // number first, so the wake finds it free).
                        let _wake = EndWake(ended_tx);
                        let _number = number;
                        let path = device.identity.usb_path.clone();
                        let modem = match open_modem(&device, index).await {
                            Ok(modem) => modem,
                            Err(error) => {
                                tracing::error!("{}", chain(&error));
                                return;
                            }
                        };
                        tracing::info!(
                            modem = index,
                            "USB modem {path} ({:04x}:{:04x}): {} executor(s)",
                            modem.spec.vid,
                            modem.spec.pid,
                            modem.functions.len()
                        );
                        let shutdown = async move {
                            // A dropped sender also means stop.
                            let _ = stopped.wait_for(|stop| *stop).await;
                        };
                        let (handle, endpoint) = modem_channel(ModemSnapshot {
                            index,
                            vid: modem.spec.vid,
                            pid: modem.spec.pid,
                            usb_path: modem.spec.usb_path.clone(),
                            ..ModemSnapshot::default()
                        });
                        registry.insert(index, handle);
                        supervise(modem.spec, modem.functions, config, endpoint, shutdown).await;
                        registry.remove(index);
                        tracing::info!(modem = index, "USB modem {path} released");
                    });
                    running.push(Running {
                        device: id,
                        identity,
                        index,
                        stop,
                        task,
                        present: true,
                        started: tokio::time::Instant::now(),
                    });
                }
                Ok(DeviceEvent::Removed(id)) => {
                    // Its executors see the disconnect themselves; the task
                    // ends when they have.
                    retakes.failures.remove(&id);
                    retakes.due.retain(|(_, each)| *each != id);
                    for modem in running.iter_mut().filter(|modem| modem.device == id) {
                        modem.present = false;
                        tracing::info!(modem = modem.index, "USB modem unplugged");
                    }
                }
                Err(error) => {
                    tracing::warn!("{}", chain(&error));
                    tokio::time::sleep(LIST_ERROR_PAUSE).await;
                }
            },
        }
    }
    for modem in &running {
        let _ = modem.stop.send(true);
    }
    for modem in running {
        if let Err(error) = modem.task.await {
            tracing::warn!(
                modem = modem.index,
                present = modem.present,
                "modem task: {}",
                chain(&error)
            );
        }
    }
}

/// Wakes the manager's loop when dropped (a full channel already will).
struct EndWake(tokio::sync::mpsc::Sender<()>);

impl Drop for EndWake {
    fn drop(&mut self) {
        let _ = self.0.try_send(());
    }
}

/// After a reload: releases the modems the `[devices]` rules no longer give
/// to usbfs (denied, no longer allowed, or `transport = "kernel"`, which
/// hands them back to cdc_mbim and the kernel manager).
fn release_unwanted(running: &mut [Running], config: &Config) {
    for modem in running.iter_mut().filter(|modem| modem.present) {
        let Some(why) = release_reason(&config.devices, &modem.identity.as_identity()) else {
            continue;
        };
        tracing::info!(
            modem = modem.index,
            "USB modem {} released after the reload: {why}",
            modem.identity.usb_path
        );
        let _ = modem.stop.send(true);
        // Not taken again when its task ends, unless the rules say so.
        modem.present = false;
    }
}

/// Why the usbfs manager lets `identity` go under `devices`, if it does.
fn release_reason(
    devices: &crate::config::Devices,
    identity: &crate::config::DeviceIdentity<'_>,
) -> Option<&'static str> {
    if !devices.takes(identity) {
        Some("the [devices] rules no longer take it")
    } else if devices.transport_of(identity) == crate::config::Transport::Kernel {
        Some("its rule now says transport = \"kernel\"")
    } else {
        None
    }
}

/// Drops the finished tasks; those whose device is still present are
/// scheduled to be taken again.
fn prune(running: &mut Vec<Running>, retakes: &mut Retakes) {
    let now = tokio::time::Instant::now();
    running.retain(|modem| {
        if !modem.task.is_finished() {
            return true;
        }
        if modem.present {
            retakes.ended(modem, now);
        }
        false
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_that_keeps_failing_is_retaken_ever_more_slowly() {
        let table = [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 4),
            (6, 32),
            (7, 60),
            (40, 60),
            (u32::MAX, 60),
        ];
        for (failures, seconds) in table {
            assert_eq!(
                retake_delay(failures),
                Duration::from_secs(seconds),
                "{failures} failures"
            );
        }
    }

    #[test]
    fn a_reload_releases_the_modems_its_rules_no_longer_give_to_usbfs() {
        let config = |text: &str| {
            crate::config::Config::parse(text, std::path::Path::new("reload.toml")).unwrap()
        };
        let modem = crate::config::DeviceIdentity {
            vid: 0x2c7c,
            pid: 0x0801,
            usb_path: "1-1",
            serial: None,
        };
        let other = crate::config::DeviceIdentity {
            usb_path: "1-2",
            pid: 0x0125,
            ..modem
        };
        let all = config("");
        assert_eq!(release_reason(&all.devices, &modem), None);
        let denied = config("[devices]\ndeny = [\"usb:1-1\"]\n");
        assert_eq!(
            release_reason(&denied.devices, &modem),
            Some("the [devices] rules no longer take it")
        );
        assert_eq!(release_reason(&denied.devices, &other), None);
        let kernel = config("[[devices.rules]]\ndevice = \"2c7c:0801\"\ntransport = \"kernel\"\n");
        assert_eq!(
            release_reason(&kernel.devices, &modem),
            Some("its rule now says transport = \"kernel\"")
        );
        assert_eq!(release_reason(&kernel.devices, &other), None);
    }

    #[test]
    fn modems_get_the_lowest_free_number() {
        assert_eq!(lowest_free_index([]), 0);
        assert_eq!(lowest_free_index([0, 1, 2]), 3);
        assert_eq!(lowest_free_index([1, 2]), 0);
        assert_eq!(lowest_free_index([0, 2, 3]), 1);
        assert_eq!(lowest_free_index([2, 0, 0, 1]), 3);
    }
}
