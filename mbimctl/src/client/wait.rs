//! `--wait`: a command's call, then the object's properties watched until
//! what it asked for holds or the timeout passes.

use super::bus::properties_proxy;
use super::proxy::{Executor1Proxy, Modem1Proxy};
use super::target::{self, Target};
use super::ClientError;
use std::time::Duration;
use zbus::Connection;

/// Waits (at most `timeout` seconds) for the executor's State to become
/// `wanted` after `action`.
pub(super) async fn wait_for_state(
    executor: &Executor1Proxy<'_>,
    target: &Target,
    wanted: &str,
    timeout: u64,
    action: impl std::future::Future<Output = Result<(), ClientError>>,
) -> Result<(), ClientError> {
    act_and_wait(
        executor.inner().connection(),
        target,
        timeout,
        action,
        async || Ok(executor.state().await? == wanted),
        || format!("{} is not {wanted}", target::short(&target.path)),
    )
    .await
}

/// Asks for `slot` and waits (at most `timeout` seconds) until the modem's
/// mapping has its first executor on it.
pub(super) async fn wait_for_mapping(
    modem: &Modem1Proxy<'_>,
    target: &Target,
    slot: u32,
    timeout: u64,
) -> Result<(), ClientError> {
    act_and_wait(
        modem.inner().connection(),
        target,
        timeout,
        async { Ok(modem.switch_to_slot(slot).await?) },
        async || Ok(modem.slot_mapping().await?.first() == Some(&slot)),
        || {
            format!(
                "modem {} does not use slot {slot}",
                target::short(&target.path)
            )
        },
    )
    .await
}

/// Runs `action`, then waits (at most `timeout` seconds) until `done` holds,
/// looking again at each change of the target's properties. The changes are
/// watched from before the action, so a quick one is not missed; `what`
/// words the timeout.
async fn act_and_wait(
    conn: &Connection,
    target: &Target,
    timeout: u64,
    action: impl std::future::Future<Output = Result<(), ClientError>>,
    mut done: impl AsyncFnMut() -> Result<bool, ClientError>,
    what: impl FnOnce() -> String,
) -> Result<(), ClientError> {
    use futures_util::StreamExt as _;
    let properties = properties_proxy(conn, &target.path).await?;
    let mut changes = properties.receive_properties_changed().await?;
    action.await?;
    let wait = async {
        loop {
            if done().await? {
                return Ok::<(), ClientError>(());
            }
            if changes.next().await.is_none() {
                return Err(ClientError::NotRunning);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(timeout), wait)
        .await
        .map_err(|_| ClientError::Timeout(format!("{} after {timeout} s", what())))?
}
