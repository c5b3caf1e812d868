//! Default-route metrics unique per device, as NetworkManager reserves them:
//! the kernel keeps one IPv4 default route per metric in a network
//! namespace (a second one at the same metric through another device is
//! refused with EEXIST), so with
//! two modems both at the configured 700 the second would have none. Each
//! device takes the lowest free metric from its configured one up (700,
//! 701, …) and keeps it while it lives; the route of the first device up
//! wins ties, as the order of plugging decides in NetworkManager.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// How far above its configured metric a device may go: beyond that the
/// configured one is used and the kernel says whether it fits.
const MAX_OFFSET: u32 = 255;

/// The metrics in use, by network namespace (its inode) and metric, with
/// the device holding each.
static RESERVED: Mutex<BTreeMap<(u64, u32), String>> = Mutex::new(BTreeMap::new());

fn reserved() -> MutexGuard<'static, BTreeMap<(u64, u32), String>> {
    // Every change is one insert or remove: a panic elsewhere leaves the
    // map whole.
    RESERVED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The network namespace of the calling thread, as its inode number (0 if
/// /proc cannot tell: every device then counts as in one namespace, which
/// is only ever too careful).
pub(super) fn current_namespace() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net").map_or(0, |meta| meta.ino())
}

/// One device's default-route metric, free for others again when dropped.
#[derive(Debug)]
pub(super) struct MetricReservation {
    /// The network namespace of the device.
    namespace: u64,
    /// The metric configured for the device.
    configured: u32,
    /// The metric it got.
    metric: u32,
    /// Whether it holds `metric` in the table (not when every metric in
    /// reach was taken).
    held: bool,
}

impl MetricReservation {
    /// The lowest free metric from `configured` up for `device` of the
    /// network namespace `namespace` (see [`current_namespace`]).
    pub(super) fn reserve(namespace: u64, configured: u32, device: &str) -> MetricReservation {
        let mut reserved = reserved();
        let free = (0..=MAX_OFFSET)
            .filter_map(|offset| configured.checked_add(offset))
            .find(|metric| !reserved.contains_key(&(namespace, *metric)));
        match free {
            Some(metric) => {
                reserved.insert((namespace, metric), device.to_owned());
                if metric != configured {
                    let holder = reserved
                        .get(&(namespace, configured))
                        .cloned()
                        .unwrap_or_default();
                    tracing::info!(
                        "{device}: default routes at metric {metric}: {configured} is {holder}'s"
                    );
                }
                MetricReservation {
                    namespace,
                    configured,
                    metric,
                    held: true,
                }
            }
            None => MetricReservation {
                namespace,
                configured,
                metric: configured,
                held: false,
            },
        }
    }

    /// The metric configured for the device.
    pub(super) fn configured(&self) -> u32 {
        self.configured
    }

    /// The metric its default routes take.
    pub(super) fn metric(&self) -> u32 {
        self.metric
    }
}

impl Drop for MetricReservation {
    fn drop(&mut self) {
        if self.held {
            reserved().remove(&(self.namespace, self.metric));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_take_the_lowest_free_metric_from_theirs_up() {
        // A namespace number no other test of this process uses.
        let ns = 1;
        let first = MetricReservation::reserve(ns, 700, "mbim0e0");
        let second = MetricReservation::reserve(ns, 700, "mbim1e0");
        let third = MetricReservation::reserve(ns, 701, "mbim2e0");
        assert_eq!(
            (first.metric(), second.metric(), third.metric()),
            (700, 701, 702)
        );
        assert_eq!(second.configured(), 700);
        // Another namespace has its own routes, so its own metrics.
        let elsewhere = MetricReservation::reserve(2, 700, "mbim0e0");
        assert_eq!(elsewhere.metric(), 700);
        // A freed metric is taken again by the next device.
        drop(first);
        let fourth = MetricReservation::reserve(ns, 700, "mbim3e0");
        assert_eq!(fourth.metric(), 700);
        drop((second, third, fourth, elsewhere));
        assert!(!reserved().keys().any(|(namespace, _)| *namespace <= 2));
    }

    #[test]
    fn the_top_of_the_range_keeps_its_configured_metric() {
        let ns = 3;
        let top = MetricReservation::reserve(ns, u32::MAX, "mbim0e0");
        let next = MetricReservation::reserve(ns, u32::MAX, "mbim1e0");
        assert_eq!((top.metric(), next.metric()), (u32::MAX, u32::MAX));
        drop(next);
        // The unheld one frees nothing: the first still holds it.
        assert!(reserved().contains_key(&(ns, u32::MAX)));
        drop(top);
        assert!(!reserved().contains_key(&(ns, u32::MAX)));
    }
}
