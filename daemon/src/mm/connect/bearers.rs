//! `CreateBearer` and `DeleteBearer`: the first bearer, or a further one
//! while the modem has room, and removing either (after taking its session
//! down).

use super::extra::{disconnect_extra, new_extra};
use super::session::disconnect;
use super::{handle, Busy};
use crate::mm::bus::Call;
use crate::mm::errors::{Core, MmError};
use crate::mm::model::{Bearer, BearerSettings, Target};

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
        .map(|bearer| crate::mm::model::bearer_path(bearer.number))
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
