//! The first bearer's session (session 0): connecting it and waiting for
//! its network device, recording each attempt in the bearer, and taking it
//! down again (`Simple.Disconnect`, `Bearer.Disconnect`).

use super::extra::{disconnect_extra, with_further_bearers};
use super::simple::not_registered;
use super::{handle, index, status_of, wait_until, Busy, CONNECT_WAIT, DISCONNECT_WAIT};
use crate::executor::{ExecutorCommand, ExecutorState};
use crate::mm::bus::Call;
use crate::mm::enums::ModemState;
use crate::mm::errors::{Core, MmError};
use crate::mm::mapping;
use crate::mm::model::{BearerSettings, Target};
use crate::mm::properties::profile_for;
use crate::modem::ModemHandle;

/// Connects executor `executor` with `settings` and waits for the session
/// and its network device; a failed attempt is given up (Disconnect), and
/// recorded in the bearer.
pub(crate) async fn connect_bearer(
    call: &Call<'_>,
    handle: &ModemHandle,
    modem: u32,
    executor: u32,
    settings: &BearerSettings,
) -> Result<(), MmError> {
    let index = index(call, executor)?;
    let what = call.what.clone();
    let before = handle.snapshot();
    let status = status_of(&before, index);
    if mapping::modem_state(&status) < ModemState::Registered {
        return Err(not_registered(&what, &status));
    }
    let config = call.face.config();
    let base = crate::dbus::base_profile(&config.profiles, &status);
    let profile = with_further_bearers(
        call,
        modem,
        executor,
        &status,
        profile_for(base.as_ref(), settings),
    );
    note_attempt(call, modem, executor, None);
    handle
        .executor_command(index, ExecutorCommand::Connect(Some(profile)))
        .await
        .map_err(|error| MmError::from_request(&what, error))?;
    let outcome = wait_until(handle, CONNECT_WAIT, |snapshot| {
        let executor = snapshot.executors.get(index);
        let status = executor.map(|executor| &executor.status);
        let up = executor.is_some_and(|executor| {
            executor.status.state == ExecutorState::Connected && executor.netdev.is_some()
        });
        // A failed attempt waits to be retried; the others cannot connect.
        let gave_up = status.is_some_and(|status| {
            matches!(
                status.state,
                ExecutorState::WaitingToReconnect
                    | ExecutorState::Failed
                    | ExecutorState::Locked
                    | ExecutorState::RadioOff
                    | ExecutorState::WaitingForSim
                    | ExecutorState::Gone
                    | ExecutorState::Stopped
            )
        });
        up || gave_up
    })
    .await;
    let error = match outcome {
        Ok(snapshot) => {
            let status = status_of(&snapshot, index);
            let up = snapshot
                .executors
                .get(index)
                .is_some_and(|executor| executor.netdev.is_some());
            if status.state == ExecutorState::Connected && up {
                call.face.refresh().await;
                return Ok(());
            }
            MmError::core(
                Core::Failed,
                format!(
                    "{what}: the connection failed: {}",
                    status.reason.as_deref().unwrap_or("no reason given")
                ),
            )
        }
        Err(()) => {
            let snapshot = handle.snapshot();
            let connected = status_of(&snapshot, index).state == ExecutorState::Connected;
            MmError::core(
                Core::Failed,
                if connected {
                    format!(
                        "{what}: connected, but mbimd has no network device for the session \
                         (it needs CAP_NET_ADMIN; see its log)"
                    )
                } else {
                    format!("{what}: the connection did not come up in time")
                },
            )
        }
    };
    // While the face is served nothing retries by itself: the client
    // decides whether to try again.
    let _ = handle
        .executor_command(index, ExecutorCommand::Disconnect)
        .await;
    note_attempt(call, modem, executor, Some(&error));
    call.face.refresh().await;
    Err(error)
}

/// Counts an attempt on the bearer (and its failure, which the bearer's
/// ConnectionError then shows).
fn note_attempt(call: &Call<'_>, modem: u32, executor: u32, failure: Option<&MmError>) {
    let mut table = call.face.table();
    let Some(bearer) = table
        .modem_mut(modem, executor)
        .and_then(|entry| entry.bearer.as_mut())
    else {
        return;
    };
    match failure {
        None => {
            bearer.attempts = bearer.attempts.saturating_add(1);
            bearer.error = None;
        }
        Some(error) => {
            bearer.failed_attempts = bearer.failed_attempts.saturating_add(1);
            bearer.error = Some((error.name(), error.message().to_owned()));
        }
    }
}

/// Ends executor `executor`'s session (if any) and waits until its network
/// device is gone.
pub(crate) async fn disconnect(call: &Call<'_>, modem: u32, executor: u32) -> Result<(), MmError> {
    let handle = handle(call, modem)?;
    let index = index(call, executor)?;
    handle
        .executor_command(index, ExecutorCommand::Disconnect)
        .await
        .map_err(|error| MmError::from_request(&call.what, error))?;
    wait_until(&handle, DISCONNECT_WAIT, |snapshot| {
        snapshot.executors.get(index).is_none_or(|executor| {
            executor.netdev.is_none()
                && !matches!(
                    executor.status.state,
                    ExecutorState::Connected
                        | ExecutorState::Connecting
                        | ExecutorState::Disconnecting
                )
        })
    })
    .await
    .map_err(|_| MmError::not_in_time(&call.what, "the session did not end"))?;
    call.face.refresh().await;
    Ok(())
}

/// `Simple.Disconnect` and `Bearer.Disconnect`: `bearer` is `/` (every
/// bearer of the modem) or the modem's bearer.
pub(crate) async fn simple_disconnect(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    bearer: &str,
) -> Result<(), MmError> {
    if bearer != "/" {
        let extra = call.face.find(bearer).and_then(|target| match target {
            Target::ExtraBearer {
                modem: owner,
                executor: of,
                number,
            } if owner == modem && of == executor => Some(number),
            _ => None,
        });
        if let Some(number) = extra {
            return disconnect_extra(call, modem, executor, number).await;
        }
        let ours = call
            .face
            .table()
            .modem(modem, executor)
            .and_then(|entry| entry.bearer.as_ref().map(|bearer| bearer.number))
            .map(crate::mm::model::bearer_path);
        if ours.as_deref() != Some(bearer) {
            return Err(MmError::core(
                Core::NotFound,
                format!("{}: {bearer} is not a bearer of this modem", call.what),
            ));
        }
    }
    let _busy = Busy::take(call, modem, executor)?;
    // The further sessions go down with session 0 (its pump carries
    // them). Asked for every bearer (`/`), they stay down; asked for the
    // first bearer alone, the others come back with it when it is
    // connected again, as a ModemManager modem's other bearers would
    // have stayed up.
    if bearer == "/" {
        if let Some(entry) = call.face.table().modem_mut(modem, executor) {
            for extra in entry.extras.values_mut() {
                extra.wanted = false;
            }
        }
    }
    disconnect(call, modem, executor).await
}
