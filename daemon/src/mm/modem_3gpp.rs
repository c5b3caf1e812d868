//! `org.freedesktop.ModemManager1.Modem.Modem3gpp`: registration, the
//! operator, the IMEI.
//!
//! `Register` is MBIM's REGISTER_STATE set: an operator id (MCC+MNC)
//! registers by hand with that network, the empty string automatically
//! again (mbimd's default); the choice holds for the executor's later
//! registrations until the next `Register`. `Scan` runs the modem's network
//! scan. The rest of the interface's methods steer things mbimd leaves to
//! the modem and are refused with `Core.Unsupported`.

use super::bus::Call;
use super::connect;
use super::enums::ModemState;
use super::errors::{Core, MmError, MobileEquipment};
use super::mapping;
use super::view::{no_object, personal_value, ModemView, Props};
use crate::executor::ExecutorCommand;
use crate::modem::RequestError;
use mbim_protocol::status::Status;
use std::collections::HashMap;
use zbus::zvariant::Value;
use zbus::Message;

/// The 3GPP interface's properties.
pub(crate) fn properties(view: &ModemView<'_>) -> Props {
    let status = view.status();
    let empty = || Value::from(HashMap::<String, Value<'static>>::new());
    vec![
        (
            "Imei",
            Value::from(personal_value(&status.device.device_id, view.personal)),
        ),
        (
            "RegistrationState",
            Value::from(mapping::registration_state(status.register_state).value()),
        ),
        ("OperatorCode", Value::from(status.provider_id.clone())),
        ("OperatorName", Value::from(status.provider_name.clone())),
        (
            "EnabledFacilityLocks",
            Value::from(mapping::facility_locks(status)),
        ),
        // MM_MODEM_3GPP_SUBSCRIPTION_STATE_UNKNOWN (deprecated upstream).
        ("SubscriptionState", Value::from(0u32)),
        // MM_MODEM_3GPP_EPS_UE_MODE_OPERATION_UNKNOWN.
        ("EpsUeModeOperation", Value::from(0u32)),
        ("Pco", Value::from(Vec::<(u32, bool, Vec<u8>)>::new())),
        ("InitialEpsBearer", Value::from(no_object())),
        ("InitialEpsBearerSettings", empty()),
        (
            "PacketServiceState",
            Value::from(mapping::packet_service(status.packet_service).value()),
        ),
        ("Nr5gRegistrationSettings", empty()),
    ]
}

/// Answers a method of the 3GPP interface.
pub(crate) async fn call(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    member: &str,
) -> Result<Message, MmError> {
    call.authorize().await?;
    match member {
        "Register" => {
            let (operator,): (String,) = call.args()?;
            register(call, modem, executor, operator).await?;
            call.done()
        }
        "Scan" => {
            let networks = scan(call, modem, executor).await?;
            call.reply(&(networks,))
        }
        other => Err(MmError::unsupported(format!(
            "{other}: mbimd leaves this to the modem"
        ))),
    }
}

/// Whether `operator` is an operator id: MCC and MNC, 5 or 6 digits.
fn operator_id(operator: &str) -> bool {
    (5..=6).contains(&operator.len()) && operator.bytes().all(|byte| byte.is_ascii_digit())
}

/// `Register`: REGISTER_STATE set, by hand with `operator` or automatic
/// (empty), answered once the modem took it (its answer carries the
/// registration it gave). The modem must be enabled; a network it cannot
/// see is refused by the modem, and nothing changes.
pub(crate) async fn register(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    operator: String,
) -> Result<(), MmError> {
    if !operator.is_empty() && !operator_id(&operator) {
        return Err(MmError::invalid(format!(
            "{}: an operator id is its MCC and MNC, 5 or 6 digits (or empty for automatic \
             registration), not {:?}",
            call.what,
            operator.chars().take(40).collect::<String>()
        )));
    }
    let handle = connect::handle(call, modem)?;
    let index = usize::try_from(executor)
        .map_err(|_| MmError::invalid(format!("{}: no executor {executor}", call.what)))?;
    let status = handle
        .snapshot()
        .executors
        .get(index)
        .map(|executor| executor.status.clone())
        .unwrap_or_default();
    if mapping::modem_state(&status) < ModemState::Enabled {
        return Err(MmError::wrong_state(format!(
            "{}: the modem is not enabled (its radio is off, or it is locked or initializing)",
            call.what
        )));
    }
    let choice = (!operator.is_empty()).then_some(operator.clone());
    match handle
        .executor_command(index, ExecutorCommand::Register(choice))
        .await
    {
        Ok(()) => {}
        Err(RequestError::Device {
            status: Some(Status::ProviderNotVisible),
            ..
        }) => {
            return Err(MmError::equipment(
                MobileEquipment::NoNetwork,
                format!(
                    "{}: the modem sees no network {operator} (Modem3gpp.Scan lists those it \
                     sees)",
                    call.what
                ),
            ))
        }
        Err(RequestError::Device {
            status: Some(status),
            message,
        }) => {
            return Err(MmError::core(
                Core::Failed,
                format!("{}: {message} ({status})", call.what),
            ))
        }
        Err(error) => return Err(MmError::from_request(&call.what, error)),
    }
    call.face.refresh().await;
    Ok(())
}

/// `Scan`: a full network scan (VISIBLE_PROVIDERS); each network found with
/// its availability, `operator-long` and `operator-code`, as ModemManager
/// reports an MBIM modem's. The modem must be enabled (its radio on).
async fn scan(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
) -> Result<Vec<HashMap<&'static str, Value<'static>>>, MmError> {
    let handle = connect::handle(call, modem)?;
    let index = usize::try_from(executor)
        .map_err(|_| MmError::invalid(format!("{}: no executor {executor}", call.what)))?;
    let status = |snapshot: &crate::modem::ModemSnapshot| {
        snapshot
            .executors
            .get(index)
            .map(|executor| executor.status.clone())
            .unwrap_or_default()
    };
    let state = mapping::modem_state(&status(&handle.snapshot()));
    if state < ModemState::Enabled {
        return Err(MmError::wrong_state(format!(
            "{}: the modem is not enabled (its radio is off, or it is locked or initializing)",
            call.what
        )));
    }
    handle
        .executor_command(index, ExecutorCommand::ScanProviders)
        .await
        .map_err(|error| MmError::from_request(&call.what, error))?;
    Ok(status(&handle.snapshot())
        .visible_providers
        .iter()
        .map(|network| {
            HashMap::from([
                (
                    "status",
                    Value::from(mapping::network_availability(network.state)),
                ),
                ("operator-long", Value::from(network.name.clone())),
                ("operator-code", Value::from(network.id.clone())),
            ])
        })
        .collect())
}
