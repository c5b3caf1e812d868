//! `org.freedesktop.ModemManager1.Modem.Simple`: what NetworkManager
//! and `mmcli --simple-connect` use. `Connect` brings the session up
//! (see [`super::connect`]) and answers with the bearer, whose `Interface`
//! and `Ip4Config`/`Ip6Config` the client then configures; `Disconnect`
//! ends it and waits until the network device is gone.

use super::bus::Call;
use super::connect;
use super::enums::ModemState;
use super::errors::MmError;
use super::mapping;
use super::model::bearer_path;
use super::properties;
use super::view::object_path;
use std::collections::HashMap;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zbus::Message;

/// Answers a method of the simple interface.
pub(crate) async fn call(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    member: &str,
) -> Result<Message, MmError> {
    if member == "GetStatus" {
        return call.reply(&(status(call, modem, executor)?,));
    }
    call.authorize().await?;
    // The arguments are read and checked before a client takes the
    // sessions over: a call refused for them changes nothing at all.
    match member {
        "Connect" => {
            let (properties,): (HashMap<String, OwnedValue>,) = call.args()?;
            let request = properties::parse_connect(&properties)?;
            connect::take_over(call, modem, executor).await?;
            let number = connect::simple_connect(call, modem, executor, request).await?;
            call.reply(&(object_path(bearer_path(number)),))
        }
        _ => {
            let (bearer,): (OwnedObjectPath,) = call.args()?;
            connect::take_over(call, modem, executor).await?;
            connect::simple_disconnect(call, modem, executor, bearer.as_str()).await?;
            call.done()
        }
    }
}

/// GetStatus: the state, and once registered the signal, access
/// technologies and 3GPP registration (ModemManager's MMSimpleStatus keys).
fn status(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
) -> Result<HashMap<&'static str, Value<'static>>, MmError> {
    let handle = connect::handle(call, modem)?;
    let snapshot = handle.snapshot();
    let status = usize::try_from(executor)
        .ok()
        .and_then(|index| snapshot.executors.get(index))
        .map(|executor| executor.status.clone())
        .unwrap_or_default();
    let state = mapping::modem_state(&status);
    // The state travels as a uint32 here (FAILED, -1, as 0xffffffff).
    let mut entries = HashMap::from([("state", Value::from(state.value() as u32))]);
    if state >= ModemState::Registered {
        entries.insert(
            "signal-quality",
            Value::from(mapping::signal_quality(status.rssi)),
        );
        entries.insert("current-bands", Value::from(Vec::<u32>::new()));
        entries.insert(
            "access-technologies",
            Value::from(mapping::access_technologies(&status)),
        );
        entries.insert(
            "m3gpp-registration-state",
            Value::from(mapping::registration_state(status.register_state).value()),
        );
        entries.insert("m3gpp-operator-code", Value::from(status.provider_id));
        entries.insert("m3gpp-operator-name", Value::from(status.provider_name));
    }
    Ok(entries)
}
