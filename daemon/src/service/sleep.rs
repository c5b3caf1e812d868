//! The host's sleep as systemd-logind announces it. mbimd holds a delay
//! inhibitor lock (`Inhibit("sleep", …, "delay")`) so that logind waits for
//! it; on `PrepareForSleep(true)` it suspends every modem (each executor
//! takes its session down and closes; one per modem tells the device,
//! MS_HOST_SHUTDOWN) and then releases the lock, letting the host sleep; on
//! `PrepareForSleep(false)` it resumes them (open, SIM, registration and
//! the same profile again, whether the modem was reset, kept, or replaced by
//! a re-enumerated one that the USB watcher takes as new) and takes a new
//! lock for the next sleep.

use crate::logging::chain;
use crate::modem::Registry;
use futures_util::future::join_all;
use futures_util::StreamExt as _;
use std::time::{Duration, Instant};
use zbus::zvariant::OwnedFd;

/// How long the modems get to close: less than logind's default
/// InhibitDelayMaxSec (5 s), after which it sleeps anyway.
pub const SUSPEND_BUDGET: Duration = Duration::from_millis(4500);

/// How long a resume may take to be handed out (the reconnection itself
/// goes on afterwards, as after any loss).
const RESUME_BUDGET: Duration = Duration::from_secs(10);

/// What this module asks of logind.
#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait Login1Manager {
    /// Takes an inhibitor lock; it lasts as long as the returned descriptor
    /// stays open.
    fn inhibit(&self, what: &str, who: &str, why: &str, mode: &str) -> zbus::Result<OwnedFd>;

    /// Sent before the host sleeps (`true`) and after it woke (`false`).
    #[zbus(signal)]
    fn prepare_for_sleep(&self, start: bool) -> zbus::Result<()>;
}

/// Why the sleep of the host cannot be followed.
#[derive(Debug, thiserror::Error)]
pub enum SleepError {
    /// logind's signals could not be subscribed to.
    #[error("cannot follow systemd-logind's PrepareForSleep")]
    Subscribe(#[source] zbus::Error),
}

/// Follows the host's sleep on `connection` (the system bus) for the modems
/// of `registry`, until the connection ends.
pub async fn run(connection: zbus::Connection, registry: Registry) -> Result<(), SleepError> {
    let manager = Login1ManagerProxy::builder(&connection)
        .cache_properties(zbus::proxy::CacheProperties::No)
        .build()
        .await
        .map_err(SleepError::Subscribe)?;
    let mut announcements = manager
        .receive_prepare_for_sleep()
        .await
        .map_err(SleepError::Subscribe)?;
    let mut lock = take_lock(&manager).await;
    while let Some(announcement) = announcements.next().await {
        let Ok(args) = announcement.args() else {
            tracing::warn!("a PrepareForSleep without its argument: ignored");
            continue;
        };
        if args.start {
            let started = Instant::now();
            tracing::info!("the host is about to sleep: closing the modems");
            let done = for_each_modem(&registry, SUSPEND_BUDGET, "suspend", |modem| async move {
                modem.suspend().await
            })
            .await;
            // Released: logind may let the host sleep now.
            drop(lock.take());
            tracing::info!(
                "modems closed for the sleep in {} ms{}",
                started.elapsed().as_millis(),
                if done { "" } else { " (not all in time)" }
            );
        } else {
            tracing::info!("the host woke: opening the modems again");
            for_each_modem(&registry, RESUME_BUDGET, "resume", |modem| async move {
                modem.resume().await
            })
            .await;
            if lock.is_none() {
                lock = take_lock(&manager).await;
            }
        }
    }
    Ok(())
}

/// A delay inhibitor lock, or `None` (said once in the log) when logind
/// refuses or is not there: mbimd then closes the modems as fast as it can
/// after the announcement, without the host waiting for it.
async fn take_lock(manager: &Login1ManagerProxy<'_>) -> Option<OwnedFd> {
    match manager
        .inhibit(
            "sleep",
            "mbimd",
            "Closing the mobile broadband modems before sleep",
            "delay",
        )
        .await
    {
        Ok(fd) => {
            tracing::debug!("holding a sleep delay lock");
            Some(fd)
        }
        Err(error) => {
            tracing::warn!(
                "no sleep delay lock from systemd-logind ({}): the host will not wait for the modems to close",
                chain(&error)
            );
            None
        }
    }
}

/// Runs `action` on every modem at once; whether all finished within
/// `budget` (failures and stragglers are logged).
async fn for_each_modem<F, Fut>(
    registry: &Registry,
    budget: Duration,
    what: &str,
    action: F,
) -> bool
where
    F: Fn(crate::modem::ModemHandle) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::modem::RequestError>>,
{
    let modems = registry.modems();
    let all = join_all(modems.into_iter().map(|(index, modem)| {
        let run = action(modem);
        async move { (index, run.await) }
    }));
    match tokio::time::timeout(budget, all).await {
        Ok(results) => {
            for (index, result) in results {
                if let Err(error) = result {
                    tracing::warn!(modem = index, "{what}: {error}");
                }
            }
            true
        }
        Err(_) => {
            tracing::warn!(
                "{what}: not every modem finished within {} ms",
                budget.as_millis()
            );
            false
        }
    }
}
