//! `org.freedesktop.ModemManager1.Bearer` at
//! `/org/freedesktop/ModemManager1/Bearer/N`: the executor's session.
//!
//! While connected, `Interface` names the TUN device mbimd made and
//! raised, and `Ip4Config`/`Ip6Config` carry the network's configuration
//! (method static: address, prefix, gateway, DNS, and the link MTU mbimd
//! set) for the client to apply. `Properties` shows what the bearer
//! connects with, without the password.

use super::bus::Call;
use super::connect;
use super::enums::bearer_type;
use super::errors::{Core, MmError};
use super::mapping::{self, Family};
use super::model::Bearer;
use super::view::{ModemView, Props};
use crate::executor::{ExecutorState, SessionState};
use std::collections::HashMap;
use zbus::zvariant::Value;
use zbus::Message;

/// How long a client may wait for the IP configuration after connecting
/// (it is there when Connect answers).
const IP_TIMEOUT: u32 = 20;

/// `MM_3GPP_PROFILE_ID_UNKNOWN`: mbimd does not use the modem's stored
/// profiles.
const PROFILE_ID_UNKNOWN: i32 = -1;

fn dict(entries: Vec<(&'static str, Value<'static>)>) -> Value<'static> {
    Value::from(entries.into_iter().collect::<HashMap<&str, Value<'_>>>())
}

/// The bearer interface's properties of the executor's session 0.
pub(crate) fn properties(view: &ModemView<'_>, bearer: &Bearer) -> Props {
    let executor = view.executor_snapshot();
    let status = &executor.status;
    let connected = status.state == ExecutorState::Connected;
    let ip = status.ip.clone().filter(|_| connected).unwrap_or_default();
    // Session 0's own share: the further sessions' bearers count theirs.
    let traffic = executor.traffic_of(0).unwrap_or_default();
    build(
        bearer,
        connected,
        executor.netdev.clone().filter(|_| connected),
        &ip,
        executor.mtu,
        (traffic.rx_bytes, traffic.tx_bytes),
    )
}

/// The bearer interface's properties of a further bearer: its session's
/// (found by its name) device, IP configuration and traffic.
pub(crate) fn extra_properties(view: &ModemView<'_>, bearer: &Bearer) -> Props {
    let executor = view.executor_snapshot();
    let name = bearer.session_name();
    let session = executor
        .status
        .sessions
        .iter()
        .find(|session| session.name == name);
    let netdev = session.and_then(|session| {
        executor
            .session_netdevs
            .iter()
            .find(|(id, _)| *id == session.session_id)
            .map(|(_, netdev)| netdev.clone())
    });
    let connected =
        session.is_some_and(|session| session.state == SessionState::Connected) && netdev.is_some();
    let ip = session
        .and_then(|session| session.ip.clone())
        .filter(|_| connected)
        .unwrap_or_default();
    let traffic = session
        .and_then(|session| executor.traffic_of(session.session_id))
        .unwrap_or_default();
    build(
        bearer,
        connected,
        netdev.filter(|_| connected),
        &ip,
        executor.mtu,
        (traffic.rx_bytes, traffic.tx_bytes),
    )
}

/// The properties of a bearer in the state given.
fn build(
    bearer: &Bearer,
    connected: bool,
    interface: Option<String>,
    ip: &crate::types::IpSettings,
    mtu: u16,
    (rx_bytes, tx_bytes): (u64, u64),
) -> Props {
    let (ipv4, ipv6) = if connected {
        (
            mapping::ip_config(ip, Family::V4, mtu),
            mapping::ip_config(ip, Family::V6, mtu),
        )
    } else {
        (mapping::unconfigured(), mapping::unconfigured())
    };
    let settings = &bearer.settings;
    let mut asked = vec![
        ("apn", Value::from(settings.apn.clone())),
        ("ip-type", Value::from(settings.ip_type)),
        ("allowed-auth", Value::from(settings.allowed_auth)),
    ];
    if !settings.user.is_empty() {
        asked.push(("user", Value::from(settings.user.clone())));
    }
    if let Some(roaming) = settings.allow_roaming {
        asked.push(("allow-roaming", Value::from(roaming)));
    }
    let stats = vec![
        ("rx-bytes", Value::from(rx_bytes)),
        ("tx-bytes", Value::from(tx_bytes)),
        ("attempts", Value::from(bearer.attempts)),
        ("failed-attempts", Value::from(bearer.failed_attempts)),
    ];
    let error = bearer.error.clone().unwrap_or_default();
    vec![
        ("Interface", Value::from(interface.unwrap_or_default())),
        ("Connected", Value::from(connected)),
        ("ConnectionError", Value::from(error)),
        ("Suspended", Value::from(false)),
        ("Multiplexed", Value::from(false)),
        ("Ip4Config", dict(ipv4)),
        ("Ip6Config", dict(ipv6)),
        ("Stats", dict(stats)),
        ("ReloadStatsSupported", Value::from(false)),
        ("IpTimeout", Value::from(IP_TIMEOUT)),
        ("BearerType", Value::from(bearer_type::DEFAULT)),
        ("ProfileId", Value::from(PROFILE_ID_UNKNOWN)),
        ("Properties", dict(asked)),
    ]
}

/// Answers a method of a further bearer: its session up or down.
pub(crate) async fn call_extra(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    number: u32,
    member: &str,
) -> Result<Message, MmError> {
    call.authorize().await?;
    connect::take_over(call, modem, executor).await?;
    match member {
        "Connect" => connect::connect_extra(call, modem, executor, number).await?,
        _ => connect::disconnect_extra(call, modem, executor, number).await?,
    }
    call.done()
}

/// Answers a method of the bearer interface.
pub(crate) async fn call(
    call: &Call<'_>,
    modem: u32,
    executor: u32,
    member: &str,
) -> Result<Message, MmError> {
    call.authorize().await?;
    connect::take_over(call, modem, executor).await?;
    let bearer = call
        .face
        .table()
        .modem(modem, executor)
        .and_then(|entry| entry.bearer.clone())
        .ok_or_else(|| {
            MmError::core(Core::NotFound, format!("{}: the bearer is gone", call.what))
        })?;
    let path = super::model::bearer_path(bearer.number);
    match member {
        "Connect" => {
            let handle = connect::handle(call, modem)?;
            let connected = usize::try_from(executor)
                .ok()
                .and_then(|index| handle.snapshot().executors.get(index).cloned())
                .is_some_and(|executor| executor.status.state == ExecutorState::Connected);
            if !connected {
                connect::connect_bearer(call, &handle, modem, executor, &bearer.settings).await?;
            }
            call.done()
        }
        _ => {
            connect::simple_disconnect(call, modem, executor, &path).await?;
            call.done()
        }
    }
}
