//! `org.freedesktop.ModemManager1.Modem.Modem3gpp`: registration, the
//! operator, the IMEI.
//!
//! mbimd registers automatically (MBIM's automatic register mode); a
//! `Register` with an empty operator asks for exactly that and succeeds,
//! any other is refused. The rest of the interface's methods steer things
//! mbimd leaves to the modem and are refused with `Core.Unsupported`.

use super::bus::Call;
use super::errors::MmError;
use super::mapping;
use super::view::{no_object, personal_value, ModemView, Props};
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
    _modem: u32,
    _executor: u32,
    member: &str,
) -> Result<Message, MmError> {
    call.authorize().await?;
    match member {
        "Register" => {
            let (operator,): (String,) = call.args()?;
            if operator.is_empty() {
                return call.done();
            }
            Err(MmError::unsupported(format!(
                "Register: mbimd registers automatically; manual registration with {operator} \
                 is not supported"
            )))
        }
        "Scan" => Err(MmError::unsupported(
            "Scan: mbimd does not scan for networks",
        )),
        other => Err(MmError::unsupported(format!(
            "{other}: mbimd leaves this to the modem"
        ))),
    }
}
