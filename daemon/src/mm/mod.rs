//! The ModemManager face: mbimd's modems on ModemManager's D-Bus API
//! (`org.freedesktop.ModemManager1`), so NetworkManager, GNOME Settings,
//! plasma-nm and mmcli manage them unchanged.
//!
//! It is a second face of the same daemon beside `dev.mbimd.Mbimd1`
//! ([`crate::dbus`]), over the same [`Registry`], snapshots and
//! [`ModemHandle`] requests: a modem object per
//! executor (`modem`, `modem_3gpp`, `signal`, `simple`), a SIM object per slot
//! with a card (`sim`), a bearer per connected or asked-for session
//! (`bearer`), and the manager with its ObjectManager (`manager`).
//! Names, types, enumeration values and error names are ModemManager's
//! (`spec`, `enums`, `errors`); how mbimd's state reads in those
//! terms is `mapping`, pure and tested on tables.
//!
//! The face answers its method calls itself (`bus`) instead of through
//! zbus's object server: ModemManager's clients need an object's
//! interfaces announced together (zbus announces them one by one, and
//! NetworkManager decides on the first `InterfacesAdded` of a modem
//! whether it is one), and the object list of `GetManagedObjects` must
//! depend on the caller (zbus's carries no caller), since personal data is
//! shown in full only to root and mbimd's group.
//!
//! While the face is served, sessions are the clients' (see
//! [`crate::config::Sessions`]) from the start with `api = "on"`, and with
//! `api = "auto"` once a client takes over (`takeover`: NetworkManager on
//! the bus, or a client's connect): a modem connects on `Simple.Connect`
//! or `Bearer.Connect`, mbimd creates and raises the network device and
//! reports the session in the bearer, and the client configures addresses,
//! routes and DNS. Until then mbimd connects and configures by itself, as
//! without the face.

mod bearer;
mod bus;
mod connect;
mod enums;
mod errors;
mod manager;
mod mapping;
mod model;
mod modem;
mod modem_3gpp;
mod properties;
mod signal;
mod sim;
mod simple;
mod spec;
mod takeover;
mod view;

pub(crate) use modem::device_path;
pub use takeover::{at_start as sessions_at_start, NETWORK_MANAGER};

use crate::config::{Config, ModemManagerApi};
use crate::dbus::{AccessPolicy, Bus, BusConnectError};
use crate::logging::chain;
use crate::modem::{ModemHandle, ModemSnapshot, Registry};
use model::{Table, Target, MANAGER_PATH};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use tokio::sync::{mpsc, watch};
use view::Props;
use zbus::fdo::{RequestNameFlags, RequestNameReply};
use zbus::zvariant::{ObjectPath, Value};
use zbus::Connection;

/// ModemManager's well-known name.
pub const BUS_NAME: &str = "org.freedesktop.ModemManager1";

/// The version the face reports as ModemManager's: the interfaces it
/// serves are those of ModemManager 1.20 (mbimd's own version follows).
pub const VERSION: &str = concat!("1.20.0-mbimd-", env!("CARGO_PKG_VERSION"));

/// Where the face stands, as mbimd's own API reports it
/// (`dev.mbimd.Manager1.ModemManagerApi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStatus {
    /// `[modemmanager] api = "off"`.
    Off,
    /// mbimd owns the name and serves the API.
    Serving,
    /// `api = "on"`, and another process (ModemManager) owns the name:
    /// mbimd takes it when that process gives it up.
    Waiting,
    /// `api = "auto"`, and another process (ModemManager) owns the name:
    /// mbimd leaves it and drives its modems itself.
    NameTaken,
    /// The bus could not be reached.
    Unavailable,
}

impl ApiStatus {
    /// The word mbimd's API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiStatus::Off => "off",
            ApiStatus::Serving => "serving",
            ApiStatus::Waiting => "waiting",
            ApiStatus::NameTaken => "name-taken",
            ApiStatus::Unavailable => "unavailable",
        }
    }
}

/// Why the face could not start.
#[derive(Debug, thiserror::Error)]
pub enum MmServeError {
    /// The bus could not be reached.
    #[error(transparent)]
    Connect(#[from] BusConnectError),
    /// Requesting the name or listening for calls failed.
    #[error("cannot serve {BUS_NAME}")]
    Serve(#[from] zbus::Error),
}

/// The running face. Dropping it gives the name up and stops its tasks.
pub struct MmService {
    face: Arc<Face>,
    status: watch::Receiver<ApiStatus>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for MmService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MmService")
            .field("unique_name", &self.face.connection.unique_name())
            .field("status", &*self.status.borrow())
            .finish()
    }
}

impl MmService {
    /// Where the face stands now, and as it changes (`Waiting` becomes
    /// `Serving` when the name comes to mbimd).
    pub fn status(&self) -> watch::Receiver<ApiStatus> {
        self.status.clone()
    }

    /// Takes a reloaded configuration (interface names, profiles).
    pub fn set_config(&self, config: Arc<Config>) {
        self.face.set_config(config);
    }

    /// The face's bus connection.
    pub fn connection(&self) -> &Connection {
        &self.face.connection
    }
}

impl Drop for MmService {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Connects to `bus` and serves the face for the modems of `registry`:
/// with `api = "auto"` only if the name is free now (else
/// `Ok((None, NameTaken))`, and nothing stays connected), with `api =
/// "on"` also by waiting for it. `api = "off"` serves nothing. Sets who
/// manages sessions (`config.sessions`, shared with the modems) as
/// [`sessions_at_start`] says, before it returns.
pub async fn serve(
    bus: Bus,
    api: ModemManagerApi,
    registry: Registry,
    config: Arc<Config>,
    access: AccessPolicy,
) -> Result<(Option<MmService>, ApiStatus), MmServeError> {
    if api == ModemManagerApi::Off {
        return Ok((None, ApiStatus::Off));
    }
    let connection = bus.connect().await?;
    let face = Arc::new(Face {
        connection: connection.clone(),
        access: RwLock::new(access),
        registry,
        config: RwLock::new(Arc::clone(&config)),
        table: Mutex::new(Table::default()),
        published: tokio::sync::Mutex::new(BTreeMap::new()),
        calls: Arc::new(tokio::sync::Semaphore::new(bus::MAX_CALLS)),
        quiet_until: Mutex::new(None),
    });
    // Calls are answered and the objects are in place before the name is
    // taken, so a client that waits for the name finds every modem.
    let calls = bus::listen(Arc::clone(&face)).await?;
    face.refresh().await;
    // Through the bus's own interface: zbus's request_name expects its
    // object server, which the face does not use.
    let proxy = zbus::fdo::DBusProxy::new(&connection).await?;
    // Before the request, so that a grant after it is not missed.
    let acquired = proxy.receive_name_acquired().await?;
    let flags = match api {
        // No flags: queued, the name comes to mbimd when its owner leaves.
        ModemManagerApi::On => Default::default(),
        _ => RequestNameFlags::DoNotQueue.into(),
    };
    let name = zbus::names::WellKnownName::from_static_str_unchecked(BUS_NAME);
    let reply = proxy
        .request_name(name, flags)
        .await
        .map_err(zbus::Error::from)?;
    let status = match reply {
        RequestNameReply::PrimaryOwner | RequestNameReply::AlreadyOwner => {
            face.name_taken();
            ApiStatus::Serving
        }
        RequestNameReply::InQueue => ApiStatus::Waiting,
        RequestNameReply::Exists => {
            calls.abort();
            return Ok((None, ApiStatus::NameTaken));
        }
    };
    config.sessions.start_with(takeover::at_start(api, status));
    let (status_tx, status_rx) = watch::channel(status);
    let mut tasks = vec![calls, tokio::spawn(track(Arc::clone(&face)))];
    if api == ModemManagerApi::Auto {
        tasks.push(tokio::spawn(takeover::follow_network_manager(
            connection.clone(),
            config.sessions.clone(),
        )));
    }
    if status == ApiStatus::Waiting {
        tasks.push(tokio::spawn(await_name(
            acquired,
            status_tx,
            Arc::clone(&face),
        )));
    }
    Ok((
        Some(MmService {
            face,
            status: status_rx,
            tasks,
        }),
        status,
    ))
}

/// Waits for the bus to hand the queued name over.
async fn await_name(
    mut acquired: zbus::fdo::NameAcquiredStream,
    status: watch::Sender<ApiStatus>,
    face: Arc<Face>,
) {
    use futures_util::StreamExt;
    while let Some(signal) = acquired.next().await {
        if signal.args().is_ok_and(|args| args.name() == BUS_NAME) {
            face.name_taken();
            tracing::info!("ModemManager API: {BUS_NAME} is now mbimd's");
            let _ = status.send(ApiStatus::Serving);
            return;
        }
    }
}

/// Each object's interfaces and properties as last announced (masked).
type Published = BTreeMap<String, Rendered>;

/// One object as announced.
#[derive(Debug)]
struct Rendered {
    /// Whether the ObjectManager lists it: modems only, as ModemManager's
    /// does (SIMs and bearers are reached through a modem's `Sim`,
    /// `SimSlots` and `Bearers`; clients such as mmcli take every object
    /// the manager lists for a modem).
    managed: bool,
    interfaces: Vec<(&'static str, Props)>,
    /// A modem's State, for StateChanged.
    state: Option<i32>,
}

/// What the face's tasks and calls share.
pub(crate) struct Face {
    pub(crate) connection: Connection,
    /// Who may change things: `[dbus] admin-group`, replaced on reload.
    access: RwLock<AccessPolicy>,
    pub(crate) registry: Registry,
    config: RwLock<Arc<Config>>,
    table: Mutex<Table>,
    published: tokio::sync::Mutex<Published>,
    /// Calls in progress (each may wait for a modem); bounded.
    calls: Arc<tokio::sync::Semaphore>,
    /// Until when modems that appear are not announced: [`QUIET_AFTER_NAME`]
    /// from when the name became mbimd's.
    quiet_until: Mutex<Option<tokio::time::Instant>>,
}

/// How long after the name becomes mbimd's the objects of modems that
/// appear meanwhile wait to be announced (and listed by
/// `GetManagedObjects`).
///
/// GLib's object manager client (libmm-glib's, so NetworkManager's and
/// mmcli's) mishandles an `InterfacesAdded` that arrives after the name's
/// new owner is known to it but before the answer to its
/// `GetManagedObjects`: it builds the object's proxies with no destination,
/// and every call on them is answered by the bus itself ("Method "Connect"
/// ... doesn't exist"), so NetworkManager's connection fails for good.
/// ModemManager never meets it, as its modems appear seconds after its
/// name (probing); mbimd's simulated or already-open modems appear within
/// milliseconds, inside that window, when mbimd restarts under a running
/// NetworkManager. Modems present before the name is taken are announced
/// at once; calls a client makes announce what changed at once too.
const QUIET_AFTER_NAME: std::time::Duration = std::time::Duration::from_secs(1);

impl Face {
    /// The configuration in force.
    pub(crate) fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Who may change things now.
    pub(crate) fn access(&self) -> AccessPolicy {
        *self.access.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the configuration, and with it who may change things (its
    /// `[dbus] admin-group`), as mbimd's own API does on reload.
    fn set_config(&self, config: Arc<Config>) {
        *self.access.write().unwrap_or_else(PoisonError::into_inner) = AccessPolicy {
            admin_group: config.dbus.admin_gid,
        };
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    /// The name just became mbimd's: new modems wait [`QUIET_AFTER_NAME`].
    fn name_taken(&self) {
        *self
            .quiet_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some(tokio::time::Instant::now() + QUIET_AFTER_NAME);
    }

    /// Until when announcing waits, if it does now.
    fn quiet_until(&self) -> Option<tokio::time::Instant> {
        let until = *self
            .quiet_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        until.filter(|until| *until > tokio::time::Instant::now())
    }

    /// The table (a short lock: nothing awaits while holding it).
    pub(crate) fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The object `path` names.
    pub(crate) fn find(&self, path: &str) -> Option<Target> {
        self.table().find(path)
    }

    /// Modem `modem`'s handle, if it is still present.
    pub(crate) fn handle(&self, modem: u32) -> Option<ModemHandle> {
        self.registry.get(modem)
    }

    /// Every object's interfaces and properties now, personal data in
    /// full if `personal`.
    fn render_all(&self, personal: bool) -> BTreeMap<String, Rendered> {
        let snapshots: BTreeMap<u32, ModemSnapshot> = self
            .registry
            .modems()
            .into_iter()
            .map(|(index, handle)| (index, handle.snapshot()))
            .collect();
        let config = self.config();
        let table = self.table();
        render(&table, &snapshots, &config, personal)
    }

    /// The interfaces and properties of the object at `path` (personal
    /// data in full if `personal`); `None` if there is no such object.
    pub(crate) fn render_object(
        &self,
        path: &str,
        personal: bool,
    ) -> Option<Vec<(&'static str, Props)>> {
        let target = self.find(path)?;
        if target == Target::Manager {
            return Some(vec![(spec::MANAGER.name, manager::properties())]);
        }
        let modem = match target {
            Target::Manager => return None,
            Target::Modem { modem, .. }
            | Target::Sim { modem, .. }
            | Target::Bearer { modem, .. }
            | Target::ExtraBearer { modem, .. } => modem,
        };
        let snapshot = self.handle(modem)?.snapshot();
        let config = self.config();
        let table = self.table();
        let snapshots = BTreeMap::from([(modem, snapshot)]);
        let mut all = render(&table, &snapshots, &config, personal);
        all.remove(path).map(|rendered| rendered.interfaces)
    }

    /// The paths of every object, the manager's included.
    pub(crate) fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.render_all(false).into_keys().collect();
        paths.push(MANAGER_PATH.to_owned());
        paths
    }

    /// `GetManagedObjects`: every object, as the caller may see it.
    pub(crate) fn managed_objects(
        &self,
        personal: bool,
    ) -> HashMap<ObjectPath<'static>, HashMap<&'static str, HashMap<&'static str, Value<'static>>>>
    {
        self.render_all(personal)
            .into_iter()
            .filter(|(_, rendered)| rendered.managed)
            .map(|(path, rendered)| {
                let interfaces = rendered
                    .interfaces
                    .into_iter()
                    .map(|(name, props)| (name, props.into_iter().collect()))
                    .collect();
                (ObjectPath::from_string_unchecked(path), interfaces)
            })
            .collect()
    }

    /// Brings the table in line with the modems present and announces
    /// what changed: objects added and removed, properties changed, modem
    /// states. Calls that change the table call it before they answer.
    pub(crate) async fn refresh(&self) {
        let mut published = self.published.lock().await;
        let modems = self.registry.modems();
        let snapshots: BTreeMap<u32, ModemSnapshot> = modems
            .iter()
            .map(|(index, handle)| (*index, handle.snapshot()))
            .collect();
        let config = self.config();
        let current = {
            let mut table = self.table();
            let present: Vec<u32> = snapshots.keys().copied().collect();
            table.retain(&present);
            for (index, snapshot) in &snapshots {
                table.sync(*index, snapshot, &config);
            }
            render(&table, &snapshots, &config, false)
        };
        if let Err(error) = announce(&self.connection, &published, &current).await {
            tracing::warn!(
                "ModemManager API: cannot announce a change: {}",
                chain(&error)
            );
        }
        *published = current;
    }
}

/// Every object of the modems in `snapshots`.
fn render(
    table: &Table,
    snapshots: &BTreeMap<u32, ModemSnapshot>,
    config: &Config,
    personal: bool,
) -> BTreeMap<String, Rendered> {
    let mut objects = BTreeMap::new();
    for (modem, snapshot) in snapshots {
        for (slot, number) in table.sims_of(*modem) {
            if let Some(view) = view::SimView::new(snapshot, slot, personal) {
                objects.insert(
                    model::sim_path(number),
                    Rendered {
                        managed: false,
                        interfaces: vec![(spec::SIM.name, sim::properties(&view))],
                        state: None,
                    },
                );
            }
        }
        for (executor, _) in table.modem_entries(*modem) {
            let Some(view) =
                view::ModemView::new(table, *modem, executor, snapshot, config, personal)
            else {
                continue;
            };
            if let Some(bearer) = &view.entry.bearer {
                objects.insert(
                    model::bearer_path(bearer.number),
                    Rendered {
                        managed: false,
                        interfaces: vec![(spec::BEARER.name, bearer::properties(&view, bearer))],
                        state: None,
                    },
                );
            }
            for extra in view.entry.extras.values() {
                objects.insert(
                    model::bearer_path(extra.number),
                    Rendered {
                        managed: false,
                        interfaces: vec![(
                            spec::BEARER.name,
                            bearer::extra_properties(&view, extra),
                        )],
                        state: None,
                    },
                );
            }
            let properties = modem::properties(&view);
            let state = mapping::modem_state(view.status()).value();
            objects.insert(
                model::modem_path(view.entry.number),
                Rendered {
                    managed: true,
                    interfaces: vec![
                        (spec::MODEM.name, properties),
                        (spec::MODEM_3GPP.name, modem_3gpp::properties(&view)),
                        (spec::SIGNAL.name, signal::properties(&view)),
                        (spec::SIMPLE.name, Vec::new()),
                    ],
                    state: Some(state),
                },
            );
        }
    }
    objects
}

/// Emits what turns `before` into `after`.
async fn announce(
    connection: &Connection,
    before: &Published,
    after: &Published,
) -> zbus::Result<()> {
    let removed = before
        .iter()
        .filter(|(path, rendered)| rendered.managed && !after.contains_key(*path));
    for (path, rendered) in removed {
        let names: Vec<&str> = rendered.interfaces.iter().map(|(name, _)| *name).collect();
        emit(
            connection,
            MANAGER_PATH,
            "org.freedesktop.DBus.ObjectManager",
            "InterfacesRemoved",
            &(ObjectPath::from_str_unchecked(path), names),
        )
        .await?;
    }
    let added = after
        .iter()
        .filter(|(path, rendered)| rendered.managed && !before.contains_key(*path));
    for (path, rendered) in added {
        let interfaces: HashMap<&str, HashMap<&str, &Value<'_>>> = rendered
            .interfaces
            .iter()
            .map(|(name, props)| {
                (
                    *name,
                    props.iter().map(|(key, value)| (*key, value)).collect(),
                )
            })
            .collect();
        emit(
            connection,
            MANAGER_PATH,
            "org.freedesktop.DBus.ObjectManager",
            "InterfacesAdded",
            &(ObjectPath::from_str_unchecked(path), interfaces),
        )
        .await?;
    }
    for (path, rendered) in after {
        let Some(old) = before.get(path) else {
            continue;
        };
        for (name, props) in &rendered.interfaces {
            let old_props = old
                .interfaces
                .iter()
                .find(|(old_name, _)| old_name == name)
                .map(|(_, props)| props);
            let changed: HashMap<&str, &Value<'_>> = props
                .iter()
                .filter(|(key, value)| {
                    old_props
                        .and_then(|old| old.iter().find(|(old_key, _)| old_key == key))
                        .is_none_or(|(_, old_value)| old_value != value)
                })
                .map(|(key, value)| (*key, value))
                .collect();
            if changed.is_empty() {
                continue;
            }
            emit(
                connection,
                path,
                "org.freedesktop.DBus.Properties",
                "PropertiesChanged",
                &(*name, changed, Vec::<&str>::new()),
            )
            .await?;
        }
        // After the properties: a client reading State on StateChanged
        // finds the new value.
        if let (Some(old), Some(new)) = (old.state, rendered.state) {
            if old != new {
                let reason = if new == enums::ModemState::Failed.value() {
                    enums::StateChangeReason::Failure
                } else {
                    enums::StateChangeReason::Unknown
                };
                emit(
                    connection,
                    path,
                    spec::MODEM.name,
                    "StateChanged",
                    &(old, new, reason.value()),
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// Emits one signal to everyone.
async fn emit<B>(
    connection: &Connection,
    path: &str,
    interface: &str,
    member: &str,
    body: &B,
) -> zbus::Result<()>
where
    B: serde::Serialize + zbus::zvariant::DynamicType,
{
    connection
        .emit_signal(
            None::<zbus::names::BusName<'_>>,
            ObjectPath::from_str_unchecked(path),
            interface,
            member,
            body,
        )
        .await
}

/// Follows the registry and every modem's snapshot, announcing changes.
async fn track(face: Arc<Face>) {
    let mut registry = face.registry.watch();
    // Coalesced: one pending wake-up covers any number of changes.
    let (nudge_tx, mut nudges) = mpsc::channel::<()>(1);
    let mut followers: BTreeMap<
        u32,
        (watch::Receiver<ModemSnapshot>, tokio::task::JoinHandle<()>),
    > = BTreeMap::new();
    loop {
        let current = registry.borrow_and_update().clone();
        followers.retain(|index, (snapshot, task)| {
            let same = current
                .get(index)
                .is_some_and(|handle| handle.watch().same_channel(snapshot));
            if !same {
                task.abort();
            }
            same
        });
        for (index, handle) in current {
            if followers.contains_key(&index) {
                continue;
            }
            let mut snapshot = handle.watch();
            let watched = snapshot.clone();
            let nudge = nudge_tx.clone();
            let task = tokio::spawn(async move {
                while snapshot.changed().await.is_ok() {
                    if let Err(mpsc::error::TrySendError::Closed(())) = nudge.try_send(()) {
                        break;
                    }
                }
            });
            followers.insert(index, (watched, task));
        }
        if let Some(until) = face.quiet_until() {
            tokio::time::sleep_until(until).await;
        }
        face.refresh().await;
        tokio::select! {
            changed = registry.changed() => if changed.is_err() { break },
            Some(()) = nudges.recv() => {}
        }
        // Drain what came meanwhile: one refresh covers it.
        while nudges.try_recv().is_ok() {}
    }
    for (_, (_, task)) in followers {
        task.abort();
    }
}
