//! Per-executor data-path counters, shared with whoever reports them (D-Bus,
//! logs, tests) without a lock: the pump bumps relaxed atomics, readers take
//! a [`CounterSnapshot`].
//!
//! "rx" is modem → host (bulk IN → TUN writes), "tx" is host → modem (TUN
//! reads → bulk OUT), as in the kernel's interface statistics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Live counters of one pump: "rx" is modem → host (bulk IN → TUN
/// writes), "tx" is host → modem (TUN reads → bulk OUT), as in the
/// kernel's interface statistics.
///
/// Relaxed ordering is enough: every field is a monotonic total read for
/// reporting, and no reader infers one field's value from another's.
#[derive(Debug, Default)]
pub struct Counters {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    rx_errors: AtomicU64,
    rx_dropped: AtomicU64,
    rx_ntbs: AtomicU64,
    rx_malformed_ntbs: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
    tx_errors: AtomicU64,
    tx_dropped: AtomicU64,
    tx_ntbs: AtomicU64,
    /// Whether a reader waits for the next NTB ([`Counters::watch`]).
    watched: AtomicBool,
    /// Told once when an NTB passes while `watched`.
    activity: tokio::sync::Notify,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CounterSnapshot {
    /// IP packets written to the TUN device.
    pub rx_packets: u64,
    /// Bytes of those packets.
    pub rx_bytes: u64,
    /// Failed bulk IN transfers and failed TUN writes.
    pub rx_errors: u64,
    /// Datagrams received for another IP session or a device service
    /// stream (or an unknown NDP signature), dropped.
    pub rx_dropped: u64,
    /// NTBs received.
    pub rx_ntbs: u64,
    /// NTBs received malformed (wholly or after some good datagrams).
    pub rx_malformed_ntbs: u64,
    /// IP packets read from the TUN device and put into an NTB.
    pub tx_packets: u64,
    /// Bytes of those packets.
    pub tx_bytes: u64,
    /// Failed bulk OUT transfers and failed TUN reads.
    pub tx_errors: u64,
    /// Packets read from the TUN device that no NTB can carry (too long,
    /// empty), dropped.
    pub tx_dropped: u64,
    /// NTBs submitted on bulk OUT.
    pub tx_ntbs: u64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

pub(crate) fn len64(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

impl Counters {
    /// Fresh counters, all zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current values.
    pub fn snapshot(&self) -> CounterSnapshot {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CounterSnapshot {
            rx_packets: get(&self.rx_packets),
            rx_bytes: get(&self.rx_bytes),
            rx_errors: get(&self.rx_errors),
            rx_dropped: get(&self.rx_dropped),
            rx_ntbs: get(&self.rx_ntbs),
            rx_malformed_ntbs: get(&self.rx_malformed_ntbs),
            tx_packets: get(&self.tx_packets),
            tx_bytes: get(&self.tx_bytes),
            tx_errors: get(&self.tx_errors),
            tx_dropped: get(&self.tx_dropped),
            tx_ntbs: get(&self.tx_ntbs),
        }
    }

    /// `packets` written, `bytes` in all: bumped once per NTB, not per
    /// datagram, so the counters cost nothing per packet.
    pub(crate) fn rx_packets(&self, packets: u64, bytes: u64) {
        if packets != 0 {
            bump(&self.rx_packets, packets);
            bump(&self.rx_bytes, bytes);
        }
    }

    pub(crate) fn rx_dropped_many(&self, dropped: u64) {
        if dropped != 0 {
            bump(&self.rx_dropped, dropped);
        }
    }

    pub(crate) fn rx_error(&self) {
        bump(&self.rx_errors, 1);
    }

    pub(crate) fn rx_ntb(&self) {
        bump(&self.rx_ntbs, 1);
        self.noticed();
    }

    /// Asks to be told of the next NTB either way ([`Counters::activity`]):
    /// a reader that stopped polling idle counters learns that traffic
    /// started without waking up meanwhile.
    pub fn watch(&self) {
        self.watched.store(true, Ordering::Relaxed);
    }

    /// Resolves once an NTB passed after [`Counters::watch`] (at once if
    /// one already did).
    pub async fn activity(&self) {
        self.activity.notified().await;
    }

    /// One relaxed load per NTB while nobody watches.
    fn noticed(&self) {
        if self.watched.load(Ordering::Relaxed) && self.watched.swap(false, Ordering::Relaxed) {
            self.activity.notify_one();
        }
    }

    pub(crate) fn rx_malformed_ntb(&self) {
        bump(&self.rx_malformed_ntbs, 1);
    }

    /// `packets` put into NTBs, `bytes` in all: bumped once per block.
    pub(crate) fn tx_packets(&self, packets: u64, bytes: u64) {
        if packets != 0 {
            bump(&self.tx_packets, packets);
            bump(&self.tx_bytes, bytes);
        }
    }

    pub(crate) fn tx_error(&self) {
        bump(&self.tx_errors, 1);
    }

    pub(crate) fn tx_dropped(&self) {
        bump(&self.tx_dropped, 1);
    }

    pub(crate) fn tx_ntb(&self) {
        bump(&self.tx_ntbs, 1);
        self.noticed();
    }
}

/// Lets a warning through at most once per interval, and says how many were
/// held back: a modem that sends nothing but garbage must not flood the
/// journal, but the first occurrence must be seen.
#[derive(Debug)]
pub(crate) struct RateLimit {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimit {
    pub(crate) const fn new(interval: Duration) -> Self {
        RateLimit {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(held back since the last one)` if this occurrence may be logged.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_watcher_is_told_of_the_next_ntb_once() {
        let counters = Counters::new();
        // Not watched: no word.
        counters.rx_ntb();
        let quiet = tokio::time::timeout(Duration::from_millis(20), counters.activity()).await;
        assert!(quiet.is_err(), "told without watching");
        counters.watch();
        counters.tx_ntb();
        counters.rx_ntb();
        tokio::time::timeout(Duration::from_secs(5), counters.activity())
            .await
            .expect("told of the NTB");
        // Told once: the second NTB came after the watch was spent.
        let again = tokio::time::timeout(Duration::from_millis(20), counters.activity()).await;
        assert!(again.is_err(), "told twice for one watch");
    }

    #[test]
    fn rate_limit_lets_one_through_per_interval_and_counts_the_rest() {
        let mut limit = RateLimit::new(Duration::from_secs(1));
        let start = Instant::now();
        assert_eq!(limit.allow(start), Some(0));
        assert_eq!(limit.allow(start + Duration::from_millis(10)), None);
        assert_eq!(limit.allow(start + Duration::from_millis(20)), None);
        assert_eq!(limit.allow(start + Duration::from_secs(1)), Some(2));
    }

    #[test]
    fn snapshot_reads_every_counter() {
        let counters = Counters::new();
        counters.rx_packets(1, 100);
        counters.tx_packets(1, 60);
        counters.tx_packets(1, 40);
        counters.rx_malformed_ntb();
        let snapshot = counters.snapshot();
        assert_eq!(
            (snapshot.rx_packets, snapshot.rx_bytes),
            (1, 100),
            "{snapshot:?}"
        );
        assert_eq!((snapshot.tx_packets, snapshot.tx_bytes), (2, 100));
        assert_eq!(snapshot.rx_malformed_ntbs, 1);
    }
}
