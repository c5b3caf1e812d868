//! USB devices arriving and leaving.
//!
//! The watcher rescans the device list (sysfs, a few dozen directory reads)
//! when the kernel says a USB device or interface came, went or changed
//! ([`crate::uevent`], heard whether or not udevd runs), a short moment
//! after the first such event so that a modem's device and its interfaces
//! are seen in one scan, and otherwise sleeps: an idle mbimd wakes up for
//! nothing. Where the kernel's events cannot be heard (a sandbox without
//! netlink) or were lost (the queue overflowed), it rescans then, and
//! without them every poll interval; udev's messages (nusb's hotplug
//! watch) make a rescan happen at once too. Events are the difference
//! between two scans, so a device is reported exactly once whichever way it
//! was seen.

use super::UsbError;
use crate::logging::chain;
use crate::uevent::{Uevent, UeventError, UeventSocket};
use futures_util::StreamExt as _;
use nusb::{DeviceId, DeviceInfo};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::Duration;

/// How often the device list is rescanned where the kernel's device events
/// cannot be heard.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long after the first event of a burst the rescan waits: a modem
/// plugged in sends its device's event, then one per interface as the
/// configuration is set and the drivers bind, within a few milliseconds.
const SETTLE: Duration = Duration::from_millis(100);

/// A device arriving or leaving.
#[derive(Debug, Clone)]
pub enum DeviceEvent {
    /// A device is present (every device already present is reported once
    /// at the start).
    Added(DeviceInfo),
    /// A device reported before is gone.
    Removed(DeviceId),
}

/// What changed between two scans: the keys only in `now` (added, in `now`'s
/// order) and the keys only in `before` (removed).
pub fn difference<K: Eq + Hash + Clone>(before: &HashSet<K>, now: &[K]) -> (Vec<K>, Vec<K>) {
    let present: HashSet<&K> = now.iter().collect();
    let added = now
        .iter()
        .filter(|key| !before.contains(*key))
        .cloned()
        .collect();
    let removed = before
        .iter()
        .filter(|key| !present.contains(key))
        .cloned()
        .collect();
    (added, removed)
}

/// A device as a scan sees it: its id and its active configuration's
/// interfaces (number, class, subclass, protocol). A device whose
/// configuration changes (usb_modeswitch, `bConfigurationValue` written, a
/// reset into another one) is a new sighting: reported Removed and Added,
/// so a modem whose MBIM functions appear late is still taken.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sighting {
    /// The device.
    pub id: DeviceId,
    /// Its active configuration's interfaces.
    pub interfaces: Vec<(u8, u8, u8, u8)>,
}

impl Sighting {
    fn of(info: &DeviceInfo) -> Sighting {
        Sighting {
            id: info.id(),
            interfaces: info
                .interfaces()
                .map(|each| {
                    (
                        each.interface_number(),
                        each.class(),
                        each.subclass(),
                        each.protocol(),
                    )
                })
                .collect(),
        }
    }
}

/// A stream of [`DeviceEvent`]s.
pub struct DeviceWatcher {
    hotplug: Option<nusb::hotplug::HotplugWatch>,
    /// The kernel's device events, while they can be heard.
    uevents: Option<UeventSocket>,
    /// The rescans when they cannot.
    tick: tokio::time::Interval,
    poll: Duration,
    /// When the rescan an event asked for is due.
    rescan_at: Option<tokio::time::Instant>,
    known: HashSet<Sighting>,
    queue: VecDeque<DeviceEvent>,
}

impl std::fmt::Debug for DeviceWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceWatcher")
            .field("hotplug", &self.hotplug.is_some())
            .field("uevents", &self.uevents.is_some())
            .field("known", &self.known.len())
            .finish_non_exhaustive()
    }
}

impl DeviceWatcher {
    /// A watcher rescanning when the kernel says a USB device changed, or
    /// every `poll` where its events cannot be heard (and at once on a udev
    /// hotplug message). Must be created inside a tokio runtime.
    pub fn new(poll: Duration) -> Self {
        let uevents = match UeventSocket::open() {
            Ok(socket) => Some(socket),
            Err(error) => {
                tracing::info!(
                    "{}; rescanning the USB devices every {poll:?}",
                    chain(&error)
                );
                None
            }
        };
        let hotplug = match nusb::watch_devices() {
            Ok(watch) => Some(watch),
            Err(error) => {
                tracing::info!(
                    "no USB hotplug messages ({}); polling every {poll:?}",
                    chain(&error)
                );
                None
            }
        };
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        DeviceWatcher {
            hotplug,
            uevents,
            tick,
            poll,
            // The initial scan.
            rescan_at: Some(tokio::time::Instant::now()),
            known: HashSet::new(),
            queue: VecDeque::new(),
        }
    }

    /// Whether the kernel's device events are heard (no periodic rescans).
    pub fn hears_kernel_events(&self) -> bool {
        self.uevents.is_some()
    }

    /// Waits for the next reason to rescan: a due rescan, a USB event from
    /// the kernel (which schedules one), a udev message, or, without the
    /// kernel's events, the poll interval.
    async fn wait_for_rescan(&mut self) {
        loop {
            let due = self.rescan_at;
            let polling = self.uevents.is_none();
            let uevent = async {
                match self.uevents.as_mut() {
                    Some(socket) => Some(socket.next().await),
                    None => std::future::pending().await,
                }
            };
            let hotplug = async {
                match self.hotplug.as_mut() {
                    Some(watch) => watch.next().await.map(|_| ()),
                    None => std::future::pending().await,
                }
            };
            let due_at = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let tick = async {
                if polling {
                    self.tick.tick().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = due_at => {
                    self.rescan_at = None;
                    return;
                }
                () = tick => return,
                event = hotplug => {
                    if event.is_none() {
                        self.hotplug = None;
                    }
                    return;
                }
                event = uevent => match event {
                    Some(Ok(event)) if is_usb(&event) && self.rescan_at.is_none() => {
                        self.rescan_at = Some(tokio::time::Instant::now() + SETTLE);
                    }
                    Some(Ok(_)) => {}
                    Some(Err(UeventError::Overrun)) => {
                        tracing::debug!("device events were lost: rescanning the USB devices");
                        return;
                    }
                    Some(Err(error)) => {
                        tracing::warn!(
                            "{}; rescanning the USB devices every {:?} from now on",
                            chain(&error),
                            self.poll
                        );
                        self.uevents = None;
                        return;
                    }
                    None => {}
                },
            }
        }
    }

    /// The next event. Cancel-safe: events found by a scan wait in the
    /// watcher until taken.
    pub async fn next(&mut self) -> Result<DeviceEvent, UsbError> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            self.wait_for_rescan().await;
            self.scan().await?;
        }
    }

    /// Forgets `id`: if it is still listed at the next scan, it is reported
    /// [`DeviceEvent::Added`] again (a modem whose supervisor ended while the
    /// device stayed, after a reset or a failed open, is taken again).
    pub fn forget(&mut self, id: DeviceId) {
        self.known.retain(|seen| seen.id != id);
    }

    /// Forgets every device `keep` does not name and rescans at once: each
    /// is reported [`DeviceEvent::Added`] again and judged by the
    /// configuration's rules as they are now (after a reload).
    pub fn reconsider(&mut self, keep: impl Fn(DeviceId) -> bool) {
        self.known.retain(|seen| keep(seen.id));
        self.rescan_at = Some(tokio::time::Instant::now());
    }

    async fn scan(&mut self) -> Result<(), UsbError> {
        let listed: Vec<DeviceInfo> = nusb::list_devices()
            .await
            .map_err(UsbError::List)?
            .collect();
        let sightings: Vec<Sighting> = listed.iter().map(Sighting::of).collect();
        let (added, removed) = difference(&self.known, &sightings);
        let mut infos: HashMap<Sighting, DeviceInfo> = listed
            .into_iter()
            .map(|info| (Sighting::of(&info), info))
            .collect();
        for seen in removed {
            self.known.remove(&seen);
            self.queue.push_back(DeviceEvent::Removed(seen.id));
        }
        for seen in added {
            if let Some(info) = infos.remove(&seen) {
                self.known.insert(seen);
                self.queue.push_back(DeviceEvent::Added(info));
            }
        }
        Ok(())
    }
}

/// Whether `event` is about a USB device or interface (the ones whose
/// coming, going or new configuration a scan sees).
fn is_usb(event: &Uevent) -> bool {
    event.subsystem == "usb"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_differ_by_what_came_and_went() {
        let before: HashSet<u32> = [1, 2, 3].into_iter().collect();
        let (added, mut removed) = difference(&before, &[2, 4, 3, 5]);
        removed.sort_unstable();
        assert_eq!(added, vec![4, 5]);
        assert_eq!(removed, vec![1]);
        let (added, removed) = difference(&before, &[1, 2, 3]);
        assert!(added.is_empty() && removed.is_empty());
        let (added, removed) = difference(&HashSet::new(), &[7]);
        assert_eq!((added, removed), (vec![7], vec![]));
    }
}
