//! When the sessions become the clients': who manages them at start-up for
//! each `[modemmanager] api` and outcome, and NetworkManager's arrival on
//! the bus, which hands them over (`api = "auto"`).

use super::ApiStatus;
use crate::config::{ModemManagerApi, SessionManager, Sessions};
use crate::logging::chain;
use futures_util::StreamExt as _;
use zbus::Connection;

/// NetworkManager's well-known name.
pub const NETWORK_MANAGER: &str = "org.freedesktop.NetworkManager";

/// Who manages sessions when the face starts: the clients when it is
/// served (or waited for) with `api = "on"`; mbimd otherwise, and with
/// `api = "auto"` until a client takes over (`follow_network_manager`,
/// or a client's session call).
pub fn at_start(api: ModemManagerApi, status: ApiStatus) -> SessionManager {
    match (api, status) {
        (ModemManagerApi::On, ApiStatus::Serving | ApiStatus::Waiting) => SessionManager::Client,
        _ => SessionManager::Mbimd,
    }
}

/// Hands the sessions to the clients as soon as NetworkManager is on the
/// bus, now or later: it manages the modems it sees, and a modem it finds
/// connected and configured by mbimd would be configured twice.
pub(crate) async fn follow_network_manager(connection: Connection, sessions: Sessions) {
    if let Err(error) = watch(&connection, &sessions).await {
        tracing::warn!(
            "ModemManager API: cannot follow {NETWORK_MANAGER} on the bus ({}); sessions \
             become the clients' when one connects through the API",
            chain(&error)
        );
    }
}

async fn watch(connection: &Connection, sessions: &Sessions) -> zbus::Result<()> {
    let proxy = zbus::fdo::DBusProxy::new(connection).await?;
    // Subscribed before asking, so an arrival in between is not missed.
    let mut changes = proxy
        .receive_name_owner_changed_with_args(&[(0, NETWORK_MANAGER)])
        .await?;
    let name = zbus::names::BusName::WellKnown(
        zbus::names::WellKnownName::from_static_str_unchecked(NETWORK_MANAGER),
    );
    if proxy.name_has_owner(name).await? {
        sessions.hand_to_clients(&format!("{NETWORK_MANAGER} is on the bus"));
        return Ok(());
    }
    while let Some(signal) = changes.next().await {
        let arrived = signal
            .args()
            .is_ok_and(|args| args.name() == NETWORK_MANAGER && args.new_owner().is_some());
        if arrived {
            sessions.hand_to_clients(&format!("{NETWORK_MANAGER} came onto the bus"));
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_on_gives_the_clients_the_sessions_from_the_start() {
        use ApiStatus::{NameTaken, Serving, Unavailable, Waiting};
        use ModemManagerApi::{Auto, On};
        use SessionManager::{Client, Mbimd};
        let table = [
            (On, Serving, Client),
            (On, Waiting, Client),
            (On, Unavailable, Mbimd),
            (Auto, Serving, Mbimd),
            (Auto, NameTaken, Mbimd),
            (Auto, Unavailable, Mbimd),
            (ModemManagerApi::Off, ApiStatus::Off, Mbimd),
        ];
        for (api, status, expected) in table {
            assert_eq!(at_start(api, status), expected, "{api:?} {status:?}");
        }
    }
}
