//! The watchdog task: every third of `WatchdogSec=` a liveness
//! [`round`](super::liveness::round); `WATCHDOG=1` only when every loop
//! answered the previous one. A loop silent for a round is logged by name;
//! silent for about a whole `WatchdogSec=`, systemd restarts mbimd.

use super::liveness;
use super::Notifier;
use std::time::Duration;

/// The watchdog interval systemd asks for (`$WATCHDOG_USEC`, for this
/// process if `$WATCHDOG_PID` says so), or `None`.
pub fn interval_from_env() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok()?.parse::<u64>().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Pings `notifier` while every registered loop answers; runs forever.
/// `interval` is the service manager's timeout: rounds run at a third of it,
/// so one missed round still leaves a ping in time, two do not.
pub async fn run(notifier: Notifier, interval: Duration) {
    let period = (interval / 3).max(Duration::from_millis(50));
    tracing::info!(
        "watchdog: pinging every {} ms while every modem and executor loop answers",
        period.as_millis()
    );
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Said once per change, not every round.
    let mut silent_before: Vec<String> = Vec::new();
    loop {
        ticks.tick().await;
        let silent = liveness::round();
        if silent.is_empty() {
            if !silent_before.is_empty() {
                tracing::info!("watchdog: every loop answers again");
            }
            notifier.watchdog();
        } else if silent != silent_before {
            tracing::warn!(
                "watchdog: no ping while {} did not answer within {} ms",
                silent.join(", "),
                period.as_millis()
            );
        }
        silent_before = silent;
    }
}
