//! dev.mbimd.Manager1 at /dev/mbimd/Mbimd1.

use super::access::authorize;
use super::errors::MethodError;
use super::view::object_path;
use super::Shared;
use std::sync::Arc;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath};
use zbus::Connection;

/// The manager object.
pub(crate) struct Manager {
    shared: Arc<Shared>,
}

impl Manager {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Manager { shared }
    }
}

/// The modem paths of a registry listing.
pub(crate) fn modem_paths(indexes: impl Iterator<Item = u32>) -> Vec<OwnedObjectPath> {
    indexes
        .map(|index| object_path(super::modem_path(index)))
        .collect()
}

/// mbimd: the modems it drives and what applies to all of them.
#[zbus::interface(name = "dev.mbimd.Manager1")]
impl Manager {
    /// mbimd's version.
    #[zbus(property(emits_changed_signal = "const"))]
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// The modems present (dev.mbimd.Modem1 objects).
    #[zbus(property)]
    fn modems(&self) -> Vec<OwnedObjectPath> {
        modem_paths(self.shared.registry.modems().into_keys())
    }

    /// Whether mbimd serves the ModemManager API
    /// (org.freedesktop.ModemManager1), by `[modemmanager] api`: serving;
    /// waiting (api "on", another process owns the name); name-taken (api
    /// "auto", another process, ModemManager itself, owns the name: mbimd
    /// connects and configures its modems itself); off; unavailable (no
    /// bus for it).
    #[zbus(property)]
    fn modem_manager_api(&self) -> String {
        self.shared.modemmanager.borrow().as_str().to_owned()
    }

    /// Re-reads the configuration file and hands it to every modem. A bad
    /// file is refused with dev.mbimd.Error.Config (file:line:column and
    /// what was expected) and nothing changes. Root or mbimd's group only.
    async fn reload(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        authorize(connection, &self.shared, &header, "Reload").await?;
        let config = (self.shared.reload)().await.map_err(MethodError::Config)?;
        self.shared.set_config(config);
        Ok(())
    }

    /// The slot policy suggests switching modem's executor from slot from
    /// to slot to, for reason (first-sight, remembered, sim-removed,
    /// sim-inserted, user); nothing happens until SwitchToSlot.
    #[zbus(signal)]
    pub(crate) async fn slot_switch_suggested(
        emitter: &SignalEmitter<'_>,
        modem: ObjectPath<'_>,
        from: u32,
        to: u32,
        reason: &str,
    ) -> zbus::Result<()>;

    /// modem switched from slot from to slot to, for reason (first-sight,
    /// remembered, sim-removed, sim-inserted, user); the device confirmed it.
    #[zbus(signal)]
    pub(crate) async fn slot_switched(
        emitter: &SignalEmitter<'_>,
        modem: ObjectPath<'_>,
        from: u32,
        to: u32,
        reason: &str,
    ) -> zbus::Result<()>;
}

/// Announces a new `ModemManagerApi`.
pub(crate) async fn modemmanager_api_changed(
    connection: &Connection,
    status: crate::mm::ApiStatus,
) -> zbus::Result<()> {
    let emitter = SignalEmitter::new(connection, super::MANAGER_PATH)?;
    zbus::fdo::Properties::properties_changed(
        &emitter,
        zbus::names::InterfaceName::from_static_str_unchecked("dev.mbimd.Manager1"),
        std::collections::HashMap::from([(
            "ModemManagerApi",
            zbus::zvariant::Value::from(status.as_str()),
        )]),
        std::borrow::Cow::Borrowed(&[]),
    )
    .await
}
