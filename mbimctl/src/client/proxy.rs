//! Proxies for mbimd's four interfaces (dbus-interfaces/README.md).
//!
//! Properties are read uncached: a command-line client asks once and exits,
//! so subscribing to PropertiesChanged for a cache would only cost a round
//! trip per proxy. `show` and `list` read whole objects with GetAll instead
//! of one property at a time.

use std::collections::HashMap;
use zbus::proxy;
use zbus::zvariant::{OwnedObjectPath, Value};

/// The bus name mbimd owns.
pub(crate) const BUS_NAME: &str = "dev.mbimd.Mbimd1";
/// The manager object (also the ObjectManager root).
pub(crate) const MANAGER_PATH: &str = "/dev/mbimd/Mbimd1";

/// `dev.mbimd.Manager1`: the daemon as a whole.
#[proxy(
    interface = "dev.mbimd.Manager1",
    default_service = "dev.mbimd.Mbimd1",
    default_path = "/dev/mbimd/Mbimd1"
)]
pub(crate) trait Manager1 {
    /// Re-reads the configuration file.
    fn reload(&self) -> zbus::Result<()>;

    /// The policy suggests a slot switch.
    #[zbus(signal)]
    fn slot_switch_suggested(
        &self,
        modem: OwnedObjectPath,
        from: u32,
        to: u32,
        reason: String,
    ) -> zbus::Result<()>;

    /// The device switched slots.
    #[zbus(signal)]
    fn slot_switched(
        &self,
        modem: OwnedObjectPath,
        from: u32,
        to: u32,
        reason: String,
    ) -> zbus::Result<()>;

    /// The daemon's version.
    #[zbus(property)]
    fn version(&self) -> zbus::Result<String>;

    /// The modems present.
    #[zbus(property)]
    fn modems(&self) -> zbus::Result<Vec<OwnedObjectPath>>;
}

/// `dev.mbimd.Modem1`: one USB modem and its slot policy.
#[proxy(interface = "dev.mbimd.Modem1", default_service = "dev.mbimd.Mbimd1")]
pub(crate) trait Modem1 {
    /// DEVICE_SLOT_MAPPINGS set; returns the mapping in force afterwards.
    fn set_slot_mapping(&self, slots: &[u32]) -> zbus::Result<Vec<u32>>;

    /// The user's slot choice, through the slot policy.
    fn switch_to_slot(&self, slot: u32) -> zbus::Result<()>;

    /// The HLK TestSlot checks: (name, passed, details) each.
    fn test_slots(&self) -> zbus::Result<Vec<(String, bool, String)>>;

    /// Overrides the slot policy until the next reload.
    fn set_slot_policy(&self, on_removal: &str, auto_switch: bool) -> zbus::Result<()>;

    /// The executors.
    #[zbus(property)]
    fn executors(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// The slots.
    #[zbus(property)]
    fn slots(&self) -> zbus::Result<Vec<OwnedObjectPath>>;

    /// The slot of each executor.
    #[zbus(property)]
    fn slot_mapping(&self) -> zbus::Result<Vec<u32>>;

    /// Whether the slot policy runs for this modem.
    #[zbus(property)]
    fn slot_policy_active(&self) -> zbus::Result<bool>;

    /// What the policy does when the active slot's SIM goes.
    #[zbus(property)]
    fn on_removal(&self) -> zbus::Result<String>;

    /// Whether the policy switches by itself.
    #[zbus(property)]
    fn auto_switch(&self) -> zbus::Result<bool>;
}

/// `dev.mbimd.Executor1`: one cellular stack.
#[proxy(
    interface = "dev.mbimd.Executor1",
    default_service = "dev.mbimd.Mbimd1"
)]
pub(crate) trait Executor1 {
    /// Connects, with these overrides of the configured profile.
    fn connect(&self, overrides: HashMap<&str, Value<'_>>) -> zbus::Result<()>;

    /// Disconnects and stays disconnected.
    fn disconnect(&self) -> zbus::Result<()>;

    /// Enters PIN1.
    fn enter_pin(&self, pin: &str) -> zbus::Result<()>;

    /// Enters PUK1 and a new PIN1.
    fn enter_puk(&self, puk: &str, new_pin: &str) -> zbus::Result<()>;

    /// Changes PIN1.
    fn change_pin(&self, old: &str, new: &str) -> zbus::Result<()>;

    /// Enables or disables the PIN1 check.
    fn set_pin_enabled(&self, pin: &str, enabled: bool) -> zbus::Result<()>;

    /// Switches the radio on or off.
    fn set_radio(&self, on: bool) -> zbus::Result<()>;

    /// Where the executor is in its life.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;
}

/// `dev.mbimd.Slot1`: one UICC slot.
#[proxy(interface = "dev.mbimd.Slot1", default_service = "dev.mbimd.Mbimd1")]
pub(crate) trait Slot1 {
    /// The slot's state.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;
}
