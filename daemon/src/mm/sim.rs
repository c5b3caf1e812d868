//! `org.freedesktop.ModemManager1.Sim` at `/org/freedesktop/ModemManager1/SIM/N`:
//! the card in one slot. A slot's card is readable while an executor is
//! mapped to the slot (`Active`); the others show what the slot says.
//!
//! The PIN methods go to the executor the slot is mapped to, as mbimd's
//! own `EnterPin` and friends: a wrong PIN is
//! `MobileEquipment.IncorrectPassword` with the attempts left in the
//! message (and in the modem's `UnlockRetries`), a PIN that blocked the SIM
//! `MobileEquipment.SimPuk`. PINs never reach a log or a message.

use super::bus::Call;
use super::connect::{self, wait_until, UNLOCK_WAIT};
use super::enums::Lock;
use super::errors::{MmError, MobileEquipment};
use super::mapping;
use super::view::{personal_value, Props, SimView};
use crate::executor::{ExecutorCommand, Secret};
use crate::modem::{ModemSnapshot, RequestError};
use mbim_protocol::status::Status;
use std::time::Duration;
use zbus::zvariant::Value;
use zbus::Message;

/// How long a refused PIN waits for the status that carries the attempts
/// left (it follows the refusal closely).
const RETRIES_WAIT: Duration = Duration::from_secs(2);

/// The SIM interface's properties.
pub(crate) fn properties(view: &SimView<'_>) -> Props {
    let status = view.status();
    let iccid = if view.slot.iccid.is_empty() {
        status
            .map(|status| status.iccid.clone())
            .unwrap_or_default()
    } else {
        view.slot.iccid.clone()
    };
    let imsi = status.map(|status| status.imsi.clone()).unwrap_or_default();
    let home = status
        .map(|status| status.home_provider.clone())
        .unwrap_or_default();
    // The SIM's operator name, where the network it is registered on is
    // its home network (MBIM gives no service provider name of its own).
    let operator_name = status
        .filter(|status| !home.is_empty() && status.provider_id == home)
        .map(|status| status.provider_name.clone())
        .unwrap_or_default();
    vec![
        ("Active", Value::from(view.slot.executor.is_some())),
        (
            "SimIdentifier",
            Value::from(personal_value(&iccid, view.personal)),
        ),
        ("Imsi", Value::from(personal_value(&imsi, view.personal))),
        ("Eid", Value::from("")),
        ("OperatorIdentifier", Value::from(home)),
        ("OperatorName", Value::from(operator_name)),
        ("EmergencyNumbers", Value::from(Vec::<String>::new())),
        (
            "PreferredNetworks",
            Value::from(Vec::<(String, u32)>::new()),
        ),
        ("Gid1", Value::from(Vec::<u8>::new())),
        ("Gid2", Value::from(Vec::<u8>::new())),
        ("SimType", Value::from(mapping::sim_type(view.slot.kind))),
        (
            "EsimStatus",
            Value::from(mapping::esim_status(view.slot.kind, view.slot.state)),
        ),
        (
            "Removability",
            Value::from(mapping::removability(view.slot.kind)),
        ),
    ]
}

/// A PIN or PUK argument: digits only, of a length a SIM takes.
fn code(
    value: String,
    what: &str,
    name: &str,
    lengths: std::ops::RangeInclusive<usize>,
) -> Result<Secret, MmError> {
    if lengths.contains(&value.len()) && value.bytes().all(|byte| byte.is_ascii_digit()) {
        return Ok(Secret::new(value));
    }
    let digits = if lengths.start() == lengths.end() {
        lengths.start().to_string()
    } else {
        format!("{} to {}", lengths.start(), lengths.end())
    };
    Err(MmError::invalid(format!(
        "{what}: the {name} is {digits} digits"
    )))
}

/// Answers a method of the SIM interface.
pub(crate) async fn call(
    call: &Call<'_>,
    modem: u32,
    slot: u32,
    member: &str,
) -> Result<Message, MmError> {
    call.authorize().await?;
    let what = call.what.clone();
    let (command, expect) = match member {
        "SendPin" => {
            let (pin,): (String,) = call.args()?;
            (
                ExecutorCommand::EnterPin(code(pin, &what, "PIN", 4..=8)?),
                Some(Lock::SimPin),
            )
        }
        "SendPuk" => {
            let (puk, pin): (String, String) = call.args()?;
            (
                ExecutorCommand::EnterPuk {
                    puk: code(puk, &what, "PUK", 8..=8)?,
                    new_pin: code(pin, &what, "new PIN", 4..=8)?,
                },
                Some(Lock::SimPuk),
            )
        }
        "EnablePin" => {
            let (pin, enabled): (String, bool) = call.args()?;
            (
                ExecutorCommand::SetPinEnabled {
                    pin: code(pin, &what, "PIN", 4..=8)?,
                    enabled,
                },
                None,
            )
        }
        "ChangePin" => {
            let (old, new): (String, String) = call.args()?;
            (
                ExecutorCommand::ChangePin {
                    old: code(old, &what, "old PIN", 4..=8)?,
                    new: code(new, &what, "new PIN", 4..=8)?,
                },
                None,
            )
        }
        _ => {
            return Err(MmError::unsupported(
                "SetPreferredNetworks: mbimd leaves the preferred networks to the SIM",
            ))
        }
    };
    let handle = connect::handle(call, modem)?;
    let snapshot = handle.snapshot();
    let Some(executor) = mapped_executor(&snapshot, slot) else {
        return Err(MmError::wrong_state(format!(
            "{what}: the SIM in slot {} is not active (SetPrimarySimSlot selects it)",
            slot.saturating_add(1)
        )));
    };
    let lock = executor_lock(&snapshot, executor);
    if let Some(expected) = expect {
        if lock != expected {
            return Err(MmError::wrong_state(format!(
                "{what}: the SIM does not ask for its {}",
                if expected == Lock::SimPuk {
                    "PUK"
                } else {
                    "PIN"
                }
            )));
        }
    }
    let result = handle.executor_command(executor, command).await;
    match result {
        Ok(()) => {
            if expect.is_some() {
                // Entered: wait until the modem leaves LOCKED, as
                // ModemManager answers once the SIM is unlocked.
                let _ = wait_until(&handle, UNLOCK_WAIT, |snapshot| {
                    executor_lock(snapshot, executor) != lock
                })
                .await;
            }
            call.face.refresh().await;
            call.done()
        }
        Err(RequestError::Device {
            status: Some(Status::Failure),
            message,
        }) => {
            // The status with the attempts left follows the refusal.
            let settled = wait_until(&handle, RETRIES_WAIT, |snapshot| {
                attempts_left(snapshot, executor).is_some()
            })
            .await
            .unwrap_or_else(|_| handle.snapshot());
            call.face.refresh().await;
            Err(refused(&what, &settled, executor, &message))
        }
        Err(error) => Err(MmError::from_request(&what, error)),
    }
}

/// The error of a refused PIN or PUK.
fn refused(what: &str, snapshot: &ModemSnapshot, executor: usize, message: &str) -> MmError {
    let left = attempts_left(snapshot, executor)
        .map(|left| format!("{left} attempt(s) left"))
        .unwrap_or_else(|| message.to_owned());
    match executor_lock(snapshot, executor) {
        Lock::SimPuk if !what.ends_with("SendPuk") => MmError::equipment(
            MobileEquipment::SimPuk,
            format!("{what}: wrong PIN; the SIM is blocked and needs its PUK ({left})"),
        ),
        _ => MmError::equipment(
            MobileEquipment::IncorrectPassword,
            format!(
                "{what}: incorrect {}; {left}",
                if what.ends_with("SendPuk") {
                    "PUK"
                } else {
                    "PIN"
                }
            ),
        ),
    }
}

/// The executor slot `slot` is mapped to.
pub(crate) fn mapped_executor(snapshot: &ModemSnapshot, slot: u32) -> Option<usize> {
    let executor = snapshot
        .slots
        .iter()
        .find(|each| each.index == slot)?
        .executor?;
    usize::try_from(executor).ok()
}

fn executor_lock(snapshot: &ModemSnapshot, executor: usize) -> Lock {
    snapshot
        .executors
        .get(executor)
        .map_or(Lock::Unknown, |executor| {
            mapping::unlock_required(&executor.status)
        })
}

fn attempts_left(snapshot: &ModemSnapshot, executor: usize) -> Option<u32> {
    let status = &snapshot.executors.get(executor)?.status;
    mapping::unlock_retries(status)
        .first()
        .map(|(_, left)| *left)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_a_sim_length_and_never_echoed() {
        assert!(code("1234".to_owned(), "Sim.SendPin", "PIN", 4..=8).is_ok());
        for bad in ["123", "123456789", "12a4", ""] {
            let error = code(bad.to_owned(), "Sim.SendPin", "PIN", 4..=8).unwrap_err();
            assert_eq!(
                error.name(),
                "org.freedesktop.ModemManager1.Error.Core.InvalidArgs"
            );
            assert!(bad.is_empty() || !error.message().contains(bad), "{error}");
        }
    }
}
