//! What each object shows, computed from a modem's snapshot and the
//! face's table: the property getters and the signals both read these, so
//! a `Get` and a `PropertiesChanged` never disagree. Personal data (IMEI,
//! ICCID, IMSI) is in full only when the view is made for a caller who may
//! see it; signals go to everyone and get the masked view.

use super::model::{sim_path, ModemEntry, Table};
use crate::config::{Config, DeviceIdentity};
use crate::executor::ExecutorStatus;
use crate::logging::personal;
use crate::modem::{ExecutorSnapshot, ModemSnapshot, SlotSnapshot};
use zbus::zvariant::{ObjectPath, OwnedObjectPath, Value};

/// Property names and values of one interface, in declaration order.
pub(crate) type Props = Vec<(&'static str, Value<'static>)>;

/// An object path built from the face's own (valid) components.
pub(crate) fn object_path(path: String) -> OwnedObjectPath {
    OwnedObjectPath::from(ObjectPath::from_string_unchecked(path))
}

/// `/`: "no object" for `o` properties.
pub(crate) fn no_object() -> OwnedObjectPath {
    object_path("/".to_owned())
}

/// A personal value, masked unless `show`.
pub(crate) fn personal_value(value: &str, show: bool) -> String {
    personal(value, show).to_string()
}

/// Everything the views of one modem object need.
pub(crate) struct ModemView<'a> {
    /// The modem (registry index).
    pub(crate) modem: u32,
    /// The executor.
    pub(crate) executor: u32,
    /// The modem's state.
    pub(crate) snapshot: &'a ModemSnapshot,
    /// The face's record of the object.
    pub(crate) entry: &'a ModemEntry,
    /// The modem's SIM objects: (slot, number).
    pub(crate) sims: Vec<(u32, u32)>,
    /// The configuration (interface names).
    pub(crate) config: &'a Config,
    /// Whether personal data is shown in full.
    pub(crate) personal: bool,
}

impl<'a> ModemView<'a> {
    /// The view of executor `executor` of `modem`, if the table has it.
    pub(crate) fn new(
        table: &'a Table,
        modem: u32,
        executor: u32,
        snapshot: &'a ModemSnapshot,
        config: &'a Config,
        personal: bool,
    ) -> Option<Self> {
        Some(ModemView {
            modem,
            executor,
            snapshot,
            entry: table.modem(modem, executor)?,
            sims: table.sims_of(modem).collect(),
            config,
            personal,
        })
    }

    /// The executor's part of the snapshot (a default one if it is gone).
    pub(crate) fn executor_snapshot(&self) -> &'a ExecutorSnapshot {
        static GONE: std::sync::OnceLock<ExecutorSnapshot> = std::sync::OnceLock::new();
        usize::try_from(self.executor)
            .ok()
            .and_then(|executor| self.snapshot.executors.get(executor))
            .unwrap_or_else(|| GONE.get_or_init(ExecutorSnapshot::default))
    }

    /// The executor's status.
    pub(crate) fn status(&self) -> &'a ExecutorStatus {
        &self.executor_snapshot().status
    }

    /// The slot mapped to the executor.
    pub(crate) fn slot(&self) -> Option<u32> {
        let executor = usize::try_from(self.executor).ok()?;
        self.snapshot
            .mapping
            .get(executor)
            .copied()
            .or(self.status().slot)
    }

    /// The SIM object of slot `slot`.
    pub(crate) fn sim_of(&self, slot: u32) -> Option<OwnedObjectPath> {
        self.sims
            .iter()
            .find(|(each, _)| *each == slot)
            .map(|(_, number)| object_path(sim_path(*number)))
    }

    /// The name the executor's network device has (or will have).
    pub(crate) fn netdev_name(&self) -> String {
        // A kernel driver's device keeps the driver's name.
        if let Some(name) = &self.executor_snapshot().kernel_netdev {
            return name.clone();
        }
        let identity = DeviceIdentity {
            vid: self.snapshot.vid,
            pid: self.snapshot.pid,
            usb_path: &self.snapshot.usb_path,
            serial: (!self.snapshot.serial.is_empty()).then_some(self.snapshot.serial.as_str()),
        };
        crate::supervisor::netdev_name(self.config, &identity, self.modem, self.executor)
            .map(|name| name.as_str().to_owned())
            .unwrap_or_else(|| format!("mbim{}e{}", self.modem, self.executor))
    }

    /// The control port's name: the network device's, marked as the
    /// control channel (NetworkManager names the modem's device after it).
    pub(crate) fn control_port(&self) -> String {
        format!("{}-ctl", self.netdev_name())
    }
}

/// Everything the view of one SIM object needs.
pub(crate) struct SimView<'a> {
    /// The modem's state.
    pub(crate) snapshot: &'a ModemSnapshot,
    /// The slot.
    pub(crate) slot: &'a SlotSnapshot,
    /// Whether personal data is shown in full.
    pub(crate) personal: bool,
}

impl<'a> SimView<'a> {
    /// The view of slot `slot`, if the snapshot has it.
    pub(crate) fn new(snapshot: &'a ModemSnapshot, slot: u32, personal: bool) -> Option<Self> {
        let slot = snapshot.slots.iter().find(|each| each.index == slot)?;
        Some(SimView {
            snapshot,
            slot,
            personal,
        })
    }

    /// The status of the executor the slot is mapped to.
    pub(crate) fn status(&self) -> Option<&'a ExecutorStatus> {
        let executor = usize::try_from(self.slot.executor?).ok()?;
        self.snapshot
            .executors
            .get(executor)
            .map(|executor| &executor.status)
    }
}
