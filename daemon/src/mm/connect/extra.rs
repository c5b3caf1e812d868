//! The further bearers: each is a further session beside session 0 (a
//! `[[profiles.sessions]]` entry named after its bearer), asked of the
//! executor together with session 0's profile, so bringing one up or down
//! asks again for the whole set and waits for that session alone.

use super::{handle, index, status_of, wait_until, Busy, CONNECT_WAIT, DISCONNECT_WAIT};
use crate::executor::{ExecutorCommand, ExecutorState, SessionState};
use crate::mm::bus::Call;
use crate::mm::errors::{Core, MmError};
use crate::mm::model::{is_extra_session_name, Bearer, BearerSettings};
use crate::mm::properties::profile_for;
use crate::modem::{ModemHandle, ModemSnapshot};

/// How many bearers a modem object has room for: one per session the
/// modem carries (its MaxSessions, DEVICE_CAPS), at least one.
pub(crate) fn max_bearers(status: &crate::executor::ExecutorStatus) -> u32 {
    status.max_sessions.unwrap_or(1).clamp(1, 255)
}

/// A new further bearer with `settings`, if the modem has room for it
/// (`Core.TooMany` otherwise); its number.
pub(super) fn new_extra(
    call: &Call<'_>,
    handle: &ModemHandle,
    modem: u32,
    executor: u32,
    settings: BearerSettings,
) -> Result<u32, MmError> {
    let index = index(call, executor)?;
    let room = max_bearers(&status_of(&handle.snapshot(), index));
    let mut table = call.face.table();
    let entry = table
        .modem(modem, executor)
        .ok_or_else(|| MmError::core(Core::Aborted, format!("{}: the modem is gone", call.what)))?;
    let count = u32::from(entry.bearer.is_some())
        .saturating_add(u32::try_from(entry.extras.len()).unwrap_or(u32::MAX));
    if count >= room {
        return Err(MmError::core(
            Core::TooMany,
            format!(
                "{}: the modem has room for {room} bearer(s) (MaxBearers, one per session \
                 it carries) and has {count}; delete one first (DeleteBearer)",
                call.what
            ),
        ));
    }
    table
        .create_extra(modem, executor, settings)
        .ok_or_else(|| MmError::core(Core::Aborted, format!("{}: the modem is gone", call.what)))
}

/// Asks the executor for session 0 as it is with the further sessions of
/// the wanted further bearers (each a `[[profiles.sessions]]` entry named
/// after its bearer) and of its own profile not taken down by a client.
async fn apply_extras(
    call: &Call<'_>,
    handle: &ModemHandle,
    modem: u32,
    executor: u32,
) -> Result<(), MmError> {
    let index = index(call, executor)?;
    let status = status_of(&handle.snapshot(), index);
    let Some(profile) = status.profile_settings.clone() else {
        return Err(MmError::wrong_state(format!(
            "{}: the modem's first bearer is not connected",
            call.what
        )));
    };
    let profile = with_further_bearers(call, modem, executor, &status, profile);
    handle
        .executor_command(index, ExecutorCommand::Connect(Some(profile)))
        .await
        .map_err(|error| MmError::from_request(&call.what, error))
}

/// `profile` (for session 0) with the further sessions the modem object's
/// bearers want: the configured profile's own further sessions but those a
/// client took down (first, in their order), then each wanted client
/// bearer's.
pub(super) fn with_further_bearers(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    status: &crate::executor::ExecutorStatus,
    mut profile: crate::executor::Profile,
) -> crate::executor::Profile {
    let config = call.face.config();
    let base = crate::dbus::base_profile(&config.profiles, status);
    let (wanted, down): (Vec<(u32, BearerSettings)>, Vec<String>) = call
        .face
        .table()
        .modem(modem, executor)
        .map(|entry| {
            let wanted = entry
                .extras
                .values()
                .filter(|extra| extra.wanted && extra.own_session.is_none())
                .map(|extra| (extra.number, extra.settings.clone()))
                .collect();
            let down = entry
                .extras
                .values()
                .filter(|extra| !extra.wanted)
                .filter_map(|extra| extra.own_session.clone())
                .collect();
            (wanted, down)
        })
        .unwrap_or_default();
    // The own sessions as the configuration has them (one a client took
    // down and up again is back in its place), but those it took down.
    let own = base
        .as_ref()
        .map_or(&profile.sessions, |base| &base.sessions);
    profile.sessions = own
        .iter()
        .filter(|session| !is_extra_session_name(&session.name) && !down.contains(&session.name))
        .cloned()
        .collect();
    profile
        .sessions
        .extend(wanted.into_iter().map(|(number, settings)| {
            let asked = profile_for(base.as_ref(), &settings);
            crate::executor::SessionProfile {
                auth: asked.auth,
                user: asked.user,
                password: asked.password,
                ip_type: asked.ip_type,
                ..crate::executor::SessionProfile::new(
                    crate::mm::model::extra_session_name(number),
                    &asked.apn,
                    crate::executor::SessionKind::Internet,
                )
            }
        }));
    profile
}

/// The name of further bearer `number`'s session, or `Core.NotFound`.
fn extra_session(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    number: u32,
) -> Result<String, MmError> {
    call.face
        .table()
        .modem(modem, executor)
        .and_then(|entry| entry.extras.get(&number))
        .map(Bearer::session_name)
        .ok_or_else(|| MmError::core(Core::NotFound, format!("{}: the bearer is gone", call.what)))
}

/// The state of the session called `name` (a further bearer's), and its
/// device.
fn extra_state(
    snapshot: &ModemSnapshot,
    index: usize,
    name: &str,
) -> Option<(crate::executor::SessionStatus, Option<String>)> {
    let executor = snapshot.executors.get(index)?;
    let session = executor
        .status
        .sessions
        .iter()
        .find(|session| session.name == name)?
        .clone();
    let netdev = executor
        .session_netdevs
        .iter()
        .find(|(id, _)| *id == session.session_id)
        .map(|(_, netdev)| netdev.clone());
    Some((session, netdev))
}

/// Further bearer `number` up: its session beside session 0, answered once
/// the session's device is there (or the session failed, which is said).
pub(crate) async fn connect_extra(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    number: u32,
) -> Result<(), MmError> {
    let handle = handle(call, modem)?;
    let index = index(call, executor)?;
    let _busy = Busy::take(call, modem, executor)?;
    let what = call.what.clone();
    let name = extra_session(call, modem, executor, number)?;
    if status_of(&handle.snapshot(), index).state != ExecutorState::Connected {
        return Err(MmError::wrong_state(format!(
            "{what}: the modem's first bearer is not connected; further bearers are further \
             sessions beside it"
        )));
    }
    if let Some(extra) = call
        .face
        .table()
        .modem_mut(modem, executor)
        .and_then(|entry| entry.extras.get_mut(&number))
    {
        extra.wanted = true;
        extra.attempts = extra.attempts.saturating_add(1);
    }
    apply_extras(call, &handle, modem, executor).await?;
    let outcome = wait_until(&handle, CONNECT_WAIT, |snapshot| {
        extra_state(snapshot, index, &name).is_some_and(|(session, netdev)| {
            (session.state == SessionState::Connected && netdev.is_some())
                || matches!(
                    session.state,
                    SessionState::WaitingToReconnect | SessionState::Unsupported
                )
        })
    })
    .await;
    let up = outcome
        .as_ref()
        .ok()
        .and_then(|snapshot| extra_state(snapshot, index, &name))
        .filter(|(session, netdev)| session.state == SessionState::Connected && netdev.is_some());
    if up.is_some() {
        call.face.refresh().await;
        return Ok(());
    }
    let reason = outcome
        .ok()
        .and_then(|snapshot| extra_state(&snapshot, index, &name))
        .and_then(|(session, _)| session.reason)
        .unwrap_or_else(|| "it did not come up in time".to_owned());
    let error = MmError::core(
        Core::Failed,
        format!("{what}: the further session failed: {reason}"),
    );
    // Given up, not retried behind the client's back.
    if let Some(extra) = call
        .face
        .table()
        .modem_mut(modem, executor)
        .and_then(|entry| entry.extras.get_mut(&number))
    {
        extra.wanted = false;
        extra.failed_attempts = extra.failed_attempts.saturating_add(1);
        extra.error = Some((error.name(), error.message().to_owned()));
    }
    let _ = apply_extras(call, &handle, modem, executor).await;
    call.face.refresh().await;
    Err(error)
}

/// Further bearer `number` down (session 0 and the others stay), answered
/// once its session is gone.
pub(crate) async fn disconnect_extra(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    number: u32,
) -> Result<(), MmError> {
    let handle = handle(call, modem)?;
    let index = index(call, executor)?;
    let _busy = Busy::take(call, modem, executor)?;
    let name = extra_session(call, modem, executor, number)?;
    let was = call
        .face
        .table()
        .modem_mut(modem, executor)
        .and_then(|entry| entry.extras.get_mut(&number))
        .map(|extra| std::mem::replace(&mut extra.wanted, false));
    if was == Some(true) && status_of(&handle.snapshot(), index).state == ExecutorState::Connected {
        apply_extras(call, &handle, modem, executor).await?;
        wait_until(&handle, DISCONNECT_WAIT, |snapshot| {
            extra_state(snapshot, index, &name).is_none()
        })
        .await
        .map_err(|_| MmError::not_in_time(&call.what, "the further session did not end"))?;
    }
    call.face.refresh().await;
    Ok(())
}
