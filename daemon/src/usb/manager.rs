//! Every USB modem mbimd takes, supervised while it is present.
//!
//! One task per modem: opened and claimed when the [`DeviceWatcher`] reports
//! it, then [`supervise`]d; the task ends when the device is gone (its
//! executors see the disconnect and stop) or at shutdown (disconnect and
//! CLOSE first). A modem keeps its number — the `N` of `mbimNeM` — while its
//! task runs; the lowest free number goes to the next one, so a replugged
//! modem gets its old names back.

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
    index: u32,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    present: bool,
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
pub async fn run(config: Arc<Config>, registry: Registry, shutdown: impl Future<Output = ()>) {
    let mut watcher = DeviceWatcher::new(POLL_INTERVAL);
    let mut running: Vec<Running> = Vec::new();
    tokio::pin!(shutdown);
    // The watchdog pings only while this loop turns (crate::service).
    let pulse = Pulse::register("USB device watcher");
    loop {
        running.retain(|modem| !modem.task.is_finished());
        tokio::select! {
            () = &mut shutdown => break,
            () = pulse.poked() => pulse.answer(),
            event = watcher.next() => match event {
                Ok(DeviceEvent::Added(info)) => {
                    let Some(device) = candidate(info, &config.devices) else {
                        continue;
                    };
                    let id = device.info.id();
                    // Prune here, not only before waiting: a modem unplugged
                    // while we waited may have finished since, and its
                    // number belongs to the replugged one.
                    running.retain(|modem| !modem.task.is_finished());
                    let index = lowest_free_index(running.iter().map(|modem| modem.index));
                    let (stop, mut stopped) = watch::channel(false);
                    let config = Arc::clone(&config);
                    let registry = registry.clone();
                    let task = tokio::spawn(async move {
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
                        index,
                        stop,
                        task,
                        present: true,
                    });
                }
                Ok(DeviceEvent::Removed(id)) => {
                    // Its executors see the disconnect themselves; the task
                    // ends when they have.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modems_get_the_lowest_free_number() {
        assert_eq!(lowest_free_index([]), 0);
        assert_eq!(lowest_free_index([0, 1, 2]), 3);
        assert_eq!(lowest_free_index([1, 2]), 0);
        assert_eq!(lowest_free_index([0, 2, 3]), 1);
        assert_eq!(lowest_free_index([2, 0, 0, 1]), 3);
    }
}
