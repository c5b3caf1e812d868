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

use super::bus::Call;
use super::enums::{Lock, ModemState};
use super::errors::{Core, MmError, MobileEquipment};
use super::mapping;
use super::model::{is_extra_session_name, Bearer, BearerSettings, Target};
use super::properties::{profile_for, ConnectRequest};
use crate::executor::{ExecutorCommand, ExecutorState, SessionState};
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

/// `Simple.Connect`: everything from a switched-off radio to a session;
/// the bearer's number.
pub(crate) async fn simple_connect(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    request: ConnectRequest,
) -> Result<u32, MmError> {
    let handle = handle(call, modem)?;
    let _busy = Busy::take(call, modem, executor)?;
    let index = index(call, executor)?;
    let what = call.what.clone();

    let status = status_of(&handle.snapshot(), index);
    if mapping::power_state(&status) == super::enums::PowerState::Low {
        handle
            .executor_command(index, ExecutorCommand::SetRadio(true))
            .await
            .map_err(|error| MmError::from_request(&what, error))?;
    }
    // The SIM first: a locked SIM never registers.
    let settled = wait_until(&handle, UNLOCK_WAIT, |snapshot| {
        let status = status_of(snapshot, index);
        !matches!(
            mapping::modem_state(&status),
            ModemState::Initializing | ModemState::Disabled
        )
    })
    .await
    .unwrap_or_else(|_| handle.snapshot());
    let status = status_of(&settled, index);
    match mapping::unlock_required(&status) {
        Lock::SimPin => {
            let Some(pin) = request.pin.clone() else {
                return Err(MmError::equipment(
                    MobileEquipment::SimPin,
                    format!("{what}: the SIM needs its PIN"),
                ));
            };
            if let Err(error) = handle
                .executor_command(index, ExecutorCommand::EnterPin(pin))
                .await
            {
                let snapshot = wait_until(&handle, Duration::from_secs(2), |snapshot| {
                    !mapping::unlock_retries(&status_of(snapshot, index)).is_empty()
                })
                .await
                .unwrap_or_else(|_| handle.snapshot());
                call.face.refresh().await;
                let left = mapping::unlock_retries(&status_of(&snapshot, index))
                    .first()
                    .map(|(_, left)| format!("{left} attempt(s) left"))
                    .unwrap_or_else(|| error.to_string());
                return Err(
                    match mapping::unlock_required(&status_of(&snapshot, index)) {
                        Lock::SimPuk => MmError::equipment(
                            MobileEquipment::SimPuk,
                            format!(
                                "{what}: wrong PIN; the SIM is blocked and needs its PUK ({left})"
                            ),
                        ),
                        _ => MmError::equipment(
                            MobileEquipment::IncorrectPassword,
                            format!("{what}: incorrect PIN; {left}"),
                        ),
                    },
                );
            }
        }
        Lock::SimPuk => {
            return Err(MmError::equipment(
                MobileEquipment::SimPuk,
                format!("{what}: the SIM is blocked and needs its PUK (Sim.SendPuk)"),
            ))
        }
        Lock::None | Lock::Unknown => {}
        other => {
            return Err(MmError::wrong_state(format!(
                "{what}: the modem is locked ({other:?}); mbimd can unlock the SIM PIN only"
            )))
        }
    }
    // Registered, and with packet service on its way.
    let registered = wait_until(&handle, REGISTER_WAIT, |snapshot| {
        let status = status_of(snapshot, index);
        let state = mapping::modem_state(&status);
        state >= ModemState::Registered || state == ModemState::Failed
    })
    .await;
    let snapshot = match registered {
        Ok(snapshot) => snapshot,
        Err(()) => {
            let status = status_of(&handle.snapshot(), index);
            return Err(not_registered(&what, &status));
        }
    };
    let status = status_of(&snapshot, index);
    if mapping::modem_state(&status) == ModemState::Failed {
        return Err(failed(&what, &status));
    }
    // An operator asked for: registered by hand with it first
    // (Modem3gpp.Register), as ModemManager's Simple.Connect does.
    let status = match &request.operator_id {
        Some(operator) if *operator != status.provider_id => {
            super::modem_3gpp::register(call, modem, executor, operator.clone()).await?;
            status_of(&handle.snapshot(), index)
        }
        _ => status,
    };
    // The bearer: the one there is, if it has these settings.
    let existing = call
        .face
        .table()
        .modem(modem, executor)
        .and_then(|entry| entry.bearer.clone());
    let connected = status.state == ExecutorState::Connected;
    let number = match existing {
        Some(bearer) if bearer.settings == request.settings => {
            if connected {
                return Ok(bearer.number);
            }
            bearer.number
        }
        Some(_) if connected => {
            // A further session beside the connected one: the bearer with
            // these settings, or a new one if there is room.
            drop(_busy);
            let found = call.face.table().modem(modem, executor).and_then(|entry| {
                entry
                    .extras
                    .values()
                    .find(|extra| extra.settings == request.settings)
                    .map(|extra| extra.number)
            });
            let number = match found {
                Some(number) => number,
                None => new_extra(call, &handle, modem, executor, request.settings.clone())?,
            };
            connect_extra(call, modem, executor, number).await?;
            return Ok(number);
        }
        _ => call
            .face
            .table()
            .create_bearer(modem, executor, request.settings.clone())
            .ok_or_else(|| MmError::core(Core::Aborted, format!("{what}: the modem is gone")))?,
    };
    call.face.refresh().await;
    connect_bearer(call, &handle, modem, executor, &request.settings).await?;
    Ok(number)
}

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
            .map(super::model::bearer_path);
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

/// How many bearers a modem object has room for: one per session the
/// modem carries (its MaxSessions, DEVICE_CAPS), at least one.
pub(crate) fn max_bearers(status: &crate::executor::ExecutorStatus) -> u32 {
    status.max_sessions.unwrap_or(1).clamp(1, 255)
}

/// A new further bearer with `settings`, if the modem has room for it
/// (`Core.TooMany` otherwise); its number.
fn new_extra(
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
fn with_further_bearers(
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
                    super::model::extra_session_name(number),
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

/// `CreateBearer`: a bearer with `settings`; `Core.TooMany` while the
/// modem object has one (it has room for one, MaxBearers 1).
pub(crate) async fn create_bearer(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    settings: BearerSettings,
) -> Result<u32, MmError> {
    // The modem must still be there.
    handle(call, modem)?;
    let _busy = Busy::take(call, modem, executor)?;
    // As ModemManager's bearer list when full: one bearer per modem object
    // (MaxBearers 1), so a second is refused until the first is deleted.
    let existing = call
        .face
        .table()
        .modem(modem, executor)
        .and_then(|entry| entry.bearer.as_ref().map(|bearer| bearer.number));
    if existing.is_some() {
        // A further session's bearer, if the modem has room.
        let handle = handle(call, modem)?;
        let number = new_extra(call, &handle, modem, executor, settings)?;
        call.face.refresh().await;
        return Ok(number);
    }
    let number = call
        .face
        .table()
        .create_bearer(modem, executor, settings)
        .ok_or_else(|| MmError::core(Core::Aborted, format!("{}: the modem is gone", call.what)))?;
    call.face.refresh().await;
    Ok(number)
}

/// `DeleteBearer`: disconnects the bearer if it is connected, then removes
/// it.
pub(crate) async fn delete_bearer(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    path: &str,
) -> Result<(), MmError> {
    let extra = match call.face.find(path) {
        Some(Target::ExtraBearer {
            modem: owner,
            executor: of,
            number,
        }) if owner == modem && of == executor => Some(number),
        _ => None,
    };
    if let Some(number) = extra {
        let own = call
            .face
            .table()
            .modem(modem, executor)
            .and_then(|entry| entry.extras.get(&number))
            .and_then(|bearer| bearer.own_session.clone());
        if let Some(name) = own {
            return Err(MmError::core(
                Core::Unsupported,
                format!(
                    "{}: {path} is the further session {name:?} of mbimd's own profile \
                     ([[profiles.sessions]] in mbimd.toml): take it down with \
                     Bearer.Disconnect, or remove it from the configuration",
                    call.what
                ),
            ));
        }
        disconnect_extra(call, modem, executor, number).await?;
        if let Some(entry) = call.face.table().modem_mut(modem, executor) {
            entry.extras.remove(&number);
        }
        call.face.refresh().await;
        return Ok(());
    }
    let ours: Option<Bearer> = call
        .face
        .table()
        .modem(modem, executor)
        .and_then(|entry| entry.bearer.clone());
    if ours
        .as_ref()
        .map(|bearer| super::model::bearer_path(bearer.number))
        .as_deref()
        != Some(path)
    {
        return Err(MmError::core(
            Core::NotFound,
            format!("{}: {path} is not a bearer of this modem", call.what),
        ));
    }
    let _busy = Busy::take(call, modem, executor)?;
    disconnect(call, modem, executor).await?;
    if let Some(entry) = call.face.table().modem_mut(modem, executor) {
        entry.bearer = None;
    }
    call.face.refresh().await;
    Ok(())
}

/// The error of a modem that did not register.
fn not_registered(what: &str, status: &crate::executor::ExecutorStatus) -> MmError {
    use mbim_protocol::services::basic_connect::RegisterState;
    match mapping::modem_state(status) {
        ModemState::Failed => failed(what, status),
        ModemState::Locked => MmError::equipment(
            MobileEquipment::SimPin,
            format!("{what}: the SIM is locked"),
        ),
        _ if status.register_state == Some(RegisterState::Denied) => MmError::equipment(
            MobileEquipment::NetworkNotAllowed,
            format!("{what}: the network denied registration"),
        ),
        ModemState::Searching => MmError::equipment(
            MobileEquipment::NetworkTimeout,
            format!("{what}: no network found in time"),
        ),
        _ => MmError::equipment(
            MobileEquipment::NoNetwork,
            format!(
                "{what}: not registered with a network ({})",
                status.reason.as_deref().unwrap_or("no reason given")
            ),
        ),
    }
}

/// The error of a modem in the FAILED state.
fn failed(what: &str, status: &crate::executor::ExecutorStatus) -> MmError {
    use super::enums::FailedReason;
    match mapping::failed_reason(status) {
        FailedReason::SimMissing => MmError::equipment(
            MobileEquipment::SimNotInserted,
            format!("{what}: no SIM in the slot"),
        ),
        FailedReason::SimError | FailedReason::EsimWithoutProfiles => MmError::equipment(
            MobileEquipment::SimFailure,
            format!(
                "{what}: the SIM cannot be used ({})",
                status.reason.as_deref().unwrap_or("no reason given")
            ),
        ),
        _ => MmError::wrong_state(format!(
            "{what}: the modem failed ({})",
            status.reason.as_deref().unwrap_or("no reason given")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::is_extra_session_name;

    #[test]
    fn only_bearer_numbers_name_the_faces_sessions() {
        assert!(is_extra_session_name("bearer1"));
        assert!(is_extra_session_name("bearer42"));
        for other in ["bearer", "ims", "bearerx", "bearer1a", "Bearer1"] {
            assert!(!is_extra_session_name(other), "{other}");
        }
    }
}
