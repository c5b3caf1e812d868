//! Sessions through the ModemManager face: connecting, disconnecting and
//! the bearer's life (the calls' properties are read by
//! [`super::properties`]).
//!
//! `Simple.Connect` does what ModemManager's does, in its order: switch
//! the radio on, enter the PIN if the SIM asks and the call brings one,
//! wait for registration, find or create the bearer, connect it. The call
//! returns once the session is up and its network device exists (a client
//! configures that device next), or with the reason it is not: while the
//! face is served the executor does not retry by itself, so a failed
//! attempt is given up rather than left to back-off.
//!
//! The module map: `simple.rs` is `Simple.Connect`'s way from a
//! switched-off radio to a session (and the errors of a modem that cannot
//! get there); `session.rs` brings the first bearer's session (session 0)
//! up and down; `extra.rs` the further bearers, each a further session
//! beside session 0; `bearers.rs` creates and deletes bearers. This file
//! keeps what they share: the waits, the modem's handle, the busy guard
//! and the take-over of mbimd's own session.

mod bearers;
mod extra;
mod session;
mod simple;

pub(crate) use bearers::{create_bearer, delete_bearer};
pub(crate) use extra::{connect_extra, disconnect_extra, max_bearers};
pub(crate) use session::{connect_bearer, disconnect, simple_disconnect};
pub(crate) use simple::simple_connect;

use super::bus::Call;
use super::errors::{Core, MmError};
use crate::modem::{ModemHandle, ModemSnapshot};
use std::time::Duration;

/// How long the radio may take to switch.
pub(crate) const RADIO_WAIT: Duration = Duration::from_secs(30);
/// How long a slot switch may take (the device powers slots off and on).
pub(crate) const SWITCH_WAIT: Duration = Duration::from_secs(60);
/// How long a SIM may take to unlock after its PIN was accepted.
pub(crate) const UNLOCK_WAIT: Duration = Duration::from_secs(30);
/// How long Simple.Connect waits for registration.
const REGISTER_WAIT: Duration = Duration::from_secs(60);
/// How long a connection attempt may take (NetworkManager waits 200 s).
const CONNECT_WAIT: Duration = Duration::from_secs(120);
/// How long a session may take to end.
const DISCONNECT_WAIT: Duration = Duration::from_secs(30);

/// Modem `modem`'s handle, or `Core.Aborted` if it went away.
pub(crate) fn handle(call: &Call<'_>, modem: u32) -> Result<ModemHandle, MmError> {
    call.face
        .handle(modem)
        .ok_or_else(|| MmError::core(Core::Aborted, format!("{}: the modem is gone", call.what)))
}

/// Waits until `done` holds for the modem's state (checking at once),
/// for at most `limit`; the state it saw then, or `Err` on timeout or when
/// the modem went away.
pub(crate) async fn wait_until(
    handle: &ModemHandle,
    limit: Duration,
    mut done: impl FnMut(&ModemSnapshot) -> bool,
) -> Result<ModemSnapshot, ()> {
    let mut watch = handle.watch();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        {
            let snapshot = watch.borrow_and_update();
            if done(&snapshot) {
                return Ok(snapshot.clone());
            }
        }
        match tokio::time::timeout_at(deadline, watch.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(()),
        }
    }
}

fn status_of(snapshot: &ModemSnapshot, executor: usize) -> crate::executor::ExecutorStatus {
    snapshot
        .executors
        .get(executor)
        .map(|executor| executor.status.clone())
        .unwrap_or_default()
}

/// Marks the modem object busy for the life of the guard (one Connect,
/// Disconnect or bearer change at a time, as ModemManager allows).
struct Busy<'a> {
    call: &'a Call<'a>,
    modem: u32,
    executor: u32,
}

impl<'a> Busy<'a> {
    fn take(call: &'a Call<'a>, modem: u32, executor: u32) -> Result<Self, MmError> {
        let mut table = call.face.table();
        let entry = table.modem_mut(modem, executor).ok_or_else(|| {
            MmError::core(Core::Aborted, format!("{}: the modem is gone", call.what))
        })?;
        if entry.busy {
            return Err(MmError::core(
                Core::InProgress,
                format!(
                    "{}: another connection request for this modem is under way",
                    call.what
                ),
            ));
        }
        entry.busy = true;
        Ok(Busy {
            call,
            modem,
            executor,
        })
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.call.face.table().modem_mut(self.modem, self.executor) {
            entry.busy = false;
        }
    }
}

fn index(call: &Call<'_>, executor: u32) -> Result<usize, MmError> {
    usize::try_from(executor)
        .map_err(|_| MmError::core(Core::NotFound, format!("{}: no such executor", call.what)))
}

/// A client's session call (connect, disconnect, bearers, the radio) takes
/// the sessions over from mbimd (`api = "auto"`, see
/// [`crate::config::Sessions`]). The call that does so first takes down
/// this executor's session of mbimd's own and waits for it: what the client
/// then connects, it configures alone.
pub(crate) async fn take_over(call: &Call<'_>, modem: u32, executor: u32) -> Result<(), MmError> {
    let sessions = call.face.config().sessions.clone();
    if sessions.hand_to_clients(&format!("{} from a ModemManager client", call.what)) {
        disconnect(call, modem, executor).await?;
    }
    Ok(())
}
