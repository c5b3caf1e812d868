//! USB devices arriving and leaving.
//!
//! nusb's hotplug watch listens to udev's netlink group, whose messages
//! udevd sends only after it has processed the kernel's event. Where no
//! udevd runs — containers, an initramfs, the test VM — that socket stays
//! silent, and nothing tells the two situations apart. So the watcher does
//! not trust it alone: it rescans the device list (sysfs, a few dozen
//! directory reads) every poll interval, and a hotplug message only makes
//! the rescan happen at once. Events are the difference between two scans,
//! so a device is reported exactly once whichever way it was seen.

use super::UsbError;
use crate::logging::chain;
use futures_util::StreamExt as _;
use nusb::{DeviceId, DeviceInfo};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::time::Duration;

/// How often the device list is rescanned when no hotplug message arrives.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

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
    tick: tokio::time::Interval,
    known: HashSet<Sighting>,
    queue: VecDeque<DeviceEvent>,
}

impl std::fmt::Debug for DeviceWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceWatcher")
            .field("hotplug", &self.hotplug.is_some())
            .field("known", &self.known.len())
            .finish_non_exhaustive()
    }
}

impl DeviceWatcher {
    /// A watcher rescanning every `poll` (and at once on a hotplug message).
    /// Must be created inside a tokio runtime.
    pub fn new(poll: Duration) -> Self {
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
            tick,
            known: HashSet::new(),
            queue: VecDeque::new(),
        }
    }

    /// The next event. Cancel-safe: events found by a scan wait in the
    /// watcher until taken.
    pub async fn next(&mut self) -> Result<DeviceEvent, UsbError> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(event);
            }
            // The first tick completes at once: the initial scan.
            match self.hotplug.as_mut() {
                Some(hotplug) => {
                    tokio::select! {
                        _ = self.tick.tick() => {}
                        event = hotplug.next() => {
                            if event.is_none() {
                                self.hotplug = None;
                            }
                        }
                    }
                }
                None => {
                    self.tick.tick().await;
                }
            }
            self.scan().await?;
        }
    }

    /// Forgets `id`: if it is still listed at the next scan, it is reported
    /// [`DeviceEvent::Added`] again (a modem whose supervisor ended while the
    /// device stayed, after a reset or a failed open, is taken again).
    pub fn forget(&mut self, id: DeviceId) {
        self.known.retain(|seen| seen.id != id);
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
