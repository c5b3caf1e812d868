//! The D-Bus service `dev.mbimd.Mbimd1` (the API is dbus-interfaces/README.md).
//!
//! [`serve`] connects to the bus, exports the manager (with
//! `org.freedesktop.DBus.ObjectManager`) and then follows the [`Registry`]:
//! every modem present gets its modem, executor and slot objects, kept in
//! step with its [`ModemSnapshot`](crate::modem::ModemSnapshot) by one task
//! per modem that emits `PropertiesChanged` for exactly what changed.
//!
//! Changing methods are checked against the caller's credentials as the bus
//! daemon reports them (`GetConnectionCredentials`), never against anything
//! the caller says about itself; ICCID and IMSI are masked for callers that
//! are not privileged (see `access`).

pub(crate) mod access;
mod arguments;
mod errors;
mod executor;
mod manager;
mod modem;
mod names;
mod overrides;
mod read_only;
mod slot;
mod tracker;
mod view;

pub use access::AccessPolicy;
pub use errors::MethodError;
pub(crate) use overrides::base_profile;

use crate::config::Config;
use crate::modem::Registry;
use futures_util::future::BoxFuture;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;
use zbus::fdo::{ObjectManager, RequestNameFlags, RequestNameReply};
use zbus::Connection;

/// The well-known name mbimd owns.
pub const BUS_NAME: &str = "dev.mbimd.Mbimd1";

/// The manager object's path.
pub const MANAGER_PATH: &str = "/dev/mbimd/Mbimd1";

/// The path of modem `modem`.
pub fn modem_path(modem: u32) -> String {
    format!("{MANAGER_PATH}/Modem{modem}")
}

/// The path of executor `executor` of modem `modem`.
pub fn executor_path(modem: u32, executor: u32) -> String {
    format!("{MANAGER_PATH}/Modem{modem}/Executor{executor}")
}

/// The path of slot `slot` of modem `modem`.
pub fn slot_path(modem: u32, slot: u32) -> String {
    format!("{MANAGER_PATH}/Modem{modem}/Slot{slot}")
}

/// Which bus to serve on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bus {
    /// The system bus (`DBUS_SYSTEM_BUS_ADDRESS` when set, as for every
    /// D-Bus program).
    System,
    /// A bus at this address (`unix:path=…`), for tests and private buses.
    Address(String),
}

impl Bus {
    /// Opens a connection of its own to this bus (mbimd's API and its
    /// ModemManager face each have one, so that each owns its name alone).
    pub async fn connect(&self) -> Result<zbus::Connection, BusConnectError> {
        let error = |source| BusConnectError {
            bus: match self {
                Bus::System => "system bus".to_owned(),
                Bus::Address(address) => format!("bus at {address}"),
            },
            source,
        };
        let builder = match self {
            Bus::System => zbus::connection::Builder::system(),
            Bus::Address(address) => zbus::connection::Builder::address(address.as_str()),
        };
        builder.map_err(error)?.build().await.map_err(error)
    }
}

/// A bus that could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the D-Bus {bus}")]
pub struct BusConnectError {
    /// Which bus ("system bus" or "bus at ADDRESS").
    pub bus: String,
    /// Why.
    #[source]
    pub source: zbus::Error,
}

/// Re-reads the configuration and hands it to every modem; returns the new
/// configuration, or why the file was refused (file:line: what was
/// expected), in which case nothing may have changed.
pub type Reloader = Arc<dyn Fn() -> BoxFuture<'static, Result<Arc<Config>, String>> + Send + Sync>;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    /// The bus could not be reached.
    #[error(transparent)]
    Connect(#[from] BusConnectError),
    /// Another process owns the name.
    #[error(
        "the D-Bus name {BUS_NAME} is already owned by another process (is another mbimd running?)"
    )]
    NameTaken,
    /// Requesting the name or exporting an object failed.
    #[error("cannot export the D-Bus service")]
    Export(#[from] zbus::Error),
}

/// What every object of the service shares. No connection: the objects
/// live in the connection's object server, and holding it would keep the
/// connection (and the name) alive after the [`DbusService`] is dropped;
/// methods get it from zbus instead.
pub(crate) struct Shared {
    /// Who may change things and see personal data (`[dbus] admin-group`,
    /// replaced by Reload).
    pub(crate) access: RwLock<AccessPolicy>,
    /// The configuration in force (Connect builds on its profiles).
    pub(crate) config: RwLock<Arc<Config>>,
    /// Reload's work.
    pub(crate) reload: Reloader,
    /// The modems present.
    pub(crate) registry: Registry,
    /// Where the ModemManager face stands (`ModemManagerApi`).
    pub(crate) modemmanager: watch::Sender<crate::mm::ApiStatus>,
}

impl Shared {
    /// The configuration in force.
    pub(crate) fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(config) => Arc::clone(&config),
            // A panic while holding the lock left a complete Arc behind.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Who may change things now.
    pub(crate) fn access(&self) -> AccessPolicy {
        match self.access.read() {
            Ok(access) => *access,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// Replaces the configuration in force, and with it who may change
    /// things (its `[dbus] admin-group`): a reload takes effect for the next
    /// call.
    pub(crate) fn set_config(&self, config: Arc<Config>) {
        let access = AccessPolicy {
            admin_group: config.dbus.admin_gid,
        };
        match self.access.write() {
            Ok(mut slot) => *slot = access,
            Err(poisoned) => *poisoned.into_inner() = access,
        }
        match self.config.write() {
            Ok(mut slot) => *slot = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }
}

/// The running service. Dropping it stops following the registry and
/// closes the connection (the name goes with it) once the follower tasks
/// have wound down.
pub struct DbusService {
    connection: Connection,
    shared: Arc<Shared>,
    tracker: tokio::task::JoinHandle<()>,
    reporter: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for DbusService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbusService")
            .field("unique_name", &self.connection.unique_name())
            .finish()
    }
}

impl DbusService {
    /// The service's bus connection.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Shows where the ModemManager face stands in the manager's
    /// `ModemManagerApi`, following `status` as it changes.
    pub fn report_modemmanager_api(&self, mut status: watch::Receiver<crate::mm::ApiStatus>) {
        let shared = Arc::clone(&self.shared);
        let connection = self.connection.clone();
        let task = tokio::spawn(async move {
            loop {
                let now = *status.borrow_and_update();
                if shared.modemmanager.send_replace(now) != now {
                    if let Err(error) = manager::modemmanager_api_changed(&connection, now).await {
                        tracing::warn!(
                            "D-Bus: cannot announce ModemManagerApi: {}",
                            crate::logging::chain(&error)
                        );
                    }
                }
                if status.changed().await.is_err() {
                    break;
                }
            }
        });
        let mut reporter = self
            .reporter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = reporter.replace(task) {
            old.abort();
        }
    }
}

impl Drop for DbusService {
    fn drop(&mut self) {
        self.tracker.abort();
        if let Some(reporter) = self
            .reporter
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            reporter.abort();
        }
    }
}

/// Connects to `bus`, exports the manager and every modem of `registry`
/// (and those that come later), and owns [`BUS_NAME`] once the objects are
/// in place. `config` is the configuration in force at start and `access`
/// who may change things; `reload` is what `Reload()` runs, and the
/// configuration it returns replaces both (its `[dbus] admin-group` applies
/// from the next call on).
pub async fn serve(
    bus: Bus,
    registry: Registry,
    config: Arc<Config>,
    access: AccessPolicy,
    reload: Reloader,
) -> Result<DbusService, DbusError> {
    let connection = bus.connect().await?;
    let shared = Arc::new(Shared {
        access: RwLock::new(access),
        config: RwLock::new(config),
        reload,
        registry: registry.clone(),
        modemmanager: watch::channel(crate::mm::ApiStatus::Off).0,
    });
    let server = connection.object_server();
    server
        .at(
            MANAGER_PATH,
            read_only::ReadOnly(manager::Manager::new(Arc::clone(&shared))),
        )
        .await?;
    server.at(MANAGER_PATH, ObjectManager).await?;
    // The modems present now are exported before the name is taken, so a
    // client that waits for the name finds them.
    let tracker = tracker::Tracker::start(connection.clone(), Arc::clone(&shared)).await?;
    let reply = connection
        .request_name_with_flags(BUS_NAME, RequestNameFlags::DoNotQueue.into())
        .await
        .map_err(|error| match error {
            zbus::Error::NameTaken => DbusError::NameTaken,
            other => DbusError::Export(other),
        })?;
    match reply {
        RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner => {}
        RequestNameReply::InQueue | RequestNameReply::Exists => return Err(DbusError::NameTaken),
    }
    let tracker = tokio::spawn(tracker.run());
    Ok(DbusService {
        connection,
        shared,
        tracker,
        reporter: std::sync::Mutex::new(None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[tokio::test]
    async fn an_unreachable_bus_is_named_with_the_cause() {
        let dir = std::env::temp_dir().join(format!("mbimd-no-bus-{}", std::process::id()));
        let address = format!("unix:path={}/bus", dir.display());
        let error = Bus::Address(address.clone())
            .connect()
            .await
            .expect_err("nothing listens there");
        assert_eq!(
            error.to_string(),
            format!("cannot connect to the D-Bus bus at {address}")
        );
        assert!(error.source().is_some(), "the cause is kept: {error:?}");
        let wrapped = DbusError::from(error);
        assert!(
            wrapped
                .to_string()
                .starts_with("cannot connect to the D-Bus bus at"),
            "{wrapped}"
        );
    }
}
