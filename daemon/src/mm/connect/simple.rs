//! `Simple.Connect`: switch the radio on, enter the PIN if the SIM asks
//! and the call brings one, wait for registration, find or create the
//! bearer and connect it, in ModemManager's order; and the errors of a
//! modem that does not get as far as registering.

use super::extra::{connect_extra, new_extra};
use super::session::connect_bearer;
use super::{handle, index, status_of, wait_until, Busy, REGISTER_WAIT, UNLOCK_WAIT};
use crate::executor::{ExecutorCommand, ExecutorState};
use crate::mm::bus::Call;
use crate::mm::enums::{Lock, ModemState};
use crate::mm::errors::{Core, MmError, MobileEquipment};
use crate::mm::mapping;
use crate::mm::properties::ConnectRequest;
use std::time::Duration;

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
    if mapping::power_state(&status) == crate::mm::enums::PowerState::Low {
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
            crate::mm::modem_3gpp::register(call, modem, executor, operator.clone()).await?;
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

/// The error of a modem that did not register.
pub(super) fn not_registered(what: &str, status: &crate::executor::ExecutorStatus) -> MmError {
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
    use crate::mm::enums::FailedReason;
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
