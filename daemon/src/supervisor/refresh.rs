//! When the supervisor's loop wakes up on its own: every
//! [`COUNTER_REFRESH`] while packets flow (the data-path counters read into
//! the snapshot) or a partly applied configuration waits for its retry, and
//! not at all otherwise. An idle modem, connected or not, costs no wake-ups:
//! the pumps' counters are watched instead ([`Counters::watch`]), and the
//! first NTB through any of them starts the ticks again. A kernel driver's
//! device cannot be watched, only read: while a session is up on one, an
//! idle modem is looked at every [`KERNEL_POLL`] (ModemManager reads its
//! bearers' counters every 30 s).

use crate::datapath::Counters;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// How often the data-path counters are read into the snapshot (and due
/// configuration retries made) while anything moves.
pub(super) const COUNTER_REFRESH: Duration = Duration::from_secs(1);

/// How often the counters of kernel drivers' devices are read while
/// nothing moves through them.
pub(super) const KERNEL_POLL: Duration = Duration::from_secs(10);

/// The refresh timer and what it last saw.
#[derive(Debug)]
pub(super) struct Refresh {
    timer: Pin<Box<Sleep>>,
    running: bool,
    /// NTBs through every pump at the last tick.
    last_ntbs: u64,
}

impl Refresh {
    /// Ticking (the first tick looks whether anything moves).
    pub(super) fn new() -> Self {
        Refresh {
            timer: Box::pin(tokio::time::sleep(COUNTER_REFRESH)),
            running: true,
            last_ntbs: 0,
        }
    }

    /// Whether the timer runs (else the counters are to be watched).
    pub(super) fn is_running(&self) -> bool {
        self.running
    }

    /// Resolves when a tick is due; never while stopped.
    pub(super) async fn due(&mut self) {
        if self.running {
            self.timer.as_mut().await;
        } else {
            std::future::pending::<()>().await;
        }
    }

    /// After a tick: go on while packets moved since the last one
    /// (`ntbs`, the total through every pump and kernel device) or a retry
    /// is pending; else look again in [`KERNEL_POLL`] while a session is up
    /// on a kernel driver's device (`kernel_links`); stop otherwise.
    pub(super) fn ticked(&mut self, ntbs: u64, retry_pending: bool, kernel_links: bool) {
        let moved = ntbs != self.last_ntbs;
        self.last_ntbs = ntbs;
        self.running = moved || retry_pending || kernel_links;
        if moved || retry_pending {
            self.rearm();
        } else if kernel_links {
            self.timer.as_mut().reset(Instant::now() + KERNEL_POLL);
        }
    }

    /// Ticks again from now (traffic started, a retry was scheduled).
    pub(super) fn wake(&mut self) {
        if !self.running {
            self.running = true;
            self.rearm();
        }
    }

    fn rearm(&mut self) {
        self.timer.as_mut().reset(Instant::now() + COUNTER_REFRESH);
    }
}

/// Resolves once an NTB passes through any of `counters`, each watched
/// first; never if there are none.
pub(super) fn activity(counters: Vec<Arc<Counters>>) -> impl Future<Output = ()> {
    for each in &counters {
        each.watch();
    }
    async move {
        if counters.is_empty() {
            std::future::pending::<()>().await;
        }
        let waits = counters.iter().map(|each| Box::pin(each.activity()));
        futures_util::future::select_all(waits).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (packets at the tick, retry pending, kernel links) → running after
    /// it.
    #[test]
    fn ticks_go_on_only_while_something_moves_or_waits() {
        let cases = [
            (0, false, false, false),
            (5, false, false, true),
            (5, false, false, false),
            (5, true, false, true),
            (9, false, false, true),
            (9, false, false, false),
            // A kernel device is read slowly even while idle.
            (9, false, true, true),
        ];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut refresh = Refresh::new();
            for (ntbs, retry, kernel, running) in cases {
                refresh.ticked(ntbs, retry, kernel);
                assert_eq!(refresh.is_running(), running, "{ntbs} {retry} {kernel}");
            }
            refresh.wake();
            assert!(refresh.is_running());
        });
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_kernel_device_is_read_slowly_and_a_moving_one_every_second() {
        let mut refresh = Refresh::new();
        refresh.ticked(7, false, true);
        // Moved (from 0): the next tick in a second.
        let start = Instant::now();
        refresh.due().await;
        assert_eq!(start.elapsed(), COUNTER_REFRESH);
        refresh.ticked(7, false, true);
        // Idle: in KERNEL_POLL.
        let start = Instant::now();
        refresh.due().await;
        assert_eq!(start.elapsed(), KERNEL_POLL);
    }

    #[tokio::test]
    async fn activity_resolves_on_an_ntb_through_any_pump() {
        let quiet = Arc::new(Counters::new());
        let busy = Arc::new(Counters::new());
        let wait = activity(vec![quiet.clone(), busy.clone()]);
        busy.tx_ntb();
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("woken by the NTB");
        let none = tokio::time::timeout(Duration::from_millis(20), activity(Vec::new())).await;
        assert!(none.is_err(), "resolved with nothing to watch");
    }
}
