//! Which event loops are alive: each registers a [`Pulse`], selects on
//! [`Pulse::poked`] beside its other work, and answers with
//! [`Pulse::answer`]. The watchdog runs rounds ([`round`]): every pulse
//! that has not answered the previous poke is reported, and every pulse is
//! poked again. A loop that answers is scheduled and not blocked in one of
//! its branches; one that does not, for a whole round, is stuck.
//!
//! The registry is process-wide, as the service manager's watchdog is: a
//! loop registers where it starts, without a handle threaded through every
//! layer between `main` and it. A dropped pulse leaves it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;

/// One event loop's registration.
#[derive(Debug)]
pub struct Pulse {
    entry: Arc<Entry>,
}

#[derive(Debug)]
struct Entry {
    /// What the loop is, for the log: "modem 0 executor 1".
    name: String,
    /// Wakes the loop's `poked()` branch; a poke made while the loop is busy
    /// is kept as a permit and seen at its next turn.
    poke: Notify,
    /// The round of the last poke.
    asked: AtomicU64,
    /// The round the loop last answered.
    answered: AtomicU64,
}

/// The pulses of this process.
static PULSES: Mutex<Vec<Weak<Entry>>> = Mutex::new(Vec::new());

impl Pulse {
    /// Registers the loop called `name`.
    pub fn register(name: impl Into<String>) -> Pulse {
        let entry = Arc::new(Entry {
            name: name.into(),
            poke: Notify::new(),
            asked: AtomicU64::new(0),
            answered: AtomicU64::new(0),
        });
        let mut pulses = PULSES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pulses.retain(|pulse| pulse.strong_count() > 0);
        pulses.push(Arc::downgrade(&entry));
        Pulse { entry }
    }

    /// Resolves when the watchdog has poked this loop; select on it and
    /// call [`answer`](Self::answer).
    pub async fn poked(&self) {
        self.entry.poke.notified().await;
    }

    /// The loop is alive: answers the latest poke.
    pub fn answer(&self) {
        let asked = self.entry.asked.load(Ordering::Acquire);
        self.entry.answered.store(asked, Ordering::Release);
    }
}

/// One watchdog round: the names of the loops that did not answer the
/// previous poke (empty: all alive), then a new poke for every loop.
pub fn round() -> Vec<String> {
    let entries: Vec<Arc<Entry>> = {
        let mut pulses = PULSES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pulses.retain(|pulse| pulse.strong_count() > 0);
        pulses.iter().filter_map(Weak::upgrade).collect()
    };
    let mut silent = Vec::new();
    for entry in &entries {
        let asked = entry.asked.load(Ordering::Acquire);
        if entry.answered.load(Ordering::Acquire) < asked {
            silent.push(entry.name.clone());
        }
    }
    for entry in &entries {
        entry.asked.fetch_add(1, Ordering::AcqRel);
        entry.poke.notify_one();
    }
    silent
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Other tests in this binary register pulses too: only ours count.
    fn ours(silent: Vec<String>, prefix: &str) -> Vec<String> {
        silent
            .into_iter()
            .filter(|name| name.starts_with(prefix))
            .collect()
    }

    #[tokio::test]
    async fn a_loop_that_answers_is_alive_and_one_that_does_not_is_named() {
        let live = Pulse::register("liveness-test live");
        let stuck = Pulse::register("liveness-test stuck");
        // A freshly registered loop has not been asked anything yet.
        assert_eq!(ours(round(), "liveness-test"), Vec::<String>::new());
        // The live loop sees the poke and answers; the stuck one never turns.
        tokio::time::timeout(Duration::from_secs(5), live.poked())
            .await
            .unwrap();
        live.answer();
        assert_eq!(ours(round(), "liveness-test"), ["liveness-test stuck"]);
        // A poke made while the loop was busy waits for it as a permit.
        tokio::time::timeout(Duration::from_secs(5), stuck.poked())
            .await
            .unwrap();
        stuck.answer();
        assert_eq!(ours(round(), "liveness-test"), ["liveness-test live"]);
        drop(stuck);
        live.answer();
        assert_eq!(ours(round(), "liveness-test"), Vec::<String>::new());
    }

    #[tokio::test]
    async fn a_dropped_pulse_leaves_the_registry() {
        let pulse = Pulse::register("liveness-test-drop gone");
        round();
        drop(pulse);
        assert_eq!(ours(round(), "liveness-test-drop"), Vec::<String>::new());
    }
}
