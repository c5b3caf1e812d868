//! dev.mbimd.Modem1 at `/dev/mbimd/Mbimd1/Modem<m>`.

use super::access::authorize;
use super::errors::{echoed, within_deadline, MethodError};
use super::names;
use super::view::ModemView;
use super::Shared;
use crate::modem::{ModemHandle, ModemSnapshot};
use crate::policy::SlotPolicyConfig;
use std::sync::Arc;
use tokio::sync::watch;
use zbus::message::Header;
use zbus::zvariant::OwnedObjectPath;
use zbus::Connection;

/// One modem's object.
pub(crate) struct ModemObject {
    shared: Arc<Shared>,
    handle: ModemHandle,
    snapshot: watch::Receiver<ModemSnapshot>,
    index: u32,
}

impl ModemObject {
    pub(crate) fn new(shared: Arc<Shared>, handle: ModemHandle, index: u32) -> Self {
        let snapshot = handle.watch();
        ModemObject {
            shared,
            handle,
            snapshot,
            index,
        }
    }

    fn view(&self) -> ModemView {
        ModemView::new(&self.snapshot.borrow(), self.index)
    }

    async fn authorize(
        &self,
        connection: &Connection,
        header: &Header<'_>,
        what: &str,
    ) -> Result<(), MethodError> {
        authorize(connection, &self.shared, header, what).await
    }
}

/// Checks a slot index against the modem's slots.
fn check_slot(snapshot: &ModemSnapshot, slot: u32, what: &str) -> Result<(), MethodError> {
    let slots = snapshot.slots.len();
    if usize::try_from(slot).is_ok_and(|slot| slot < slots) {
        return Ok(());
    }
    Err(MethodError::InvalidArgs(if slots == 0 {
        format!("{what}: no slot {slot}: the modem reports no slots")
    } else {
        format!(
            "{what}: no slot {slot}: the modem's slots are 0 to {}",
            slots - 1
        )
    }))
}

/// One USB modem: its identity, slots and executors, and the slot policy.
#[zbus::interface(name = "dev.mbimd.Modem1")]
impl ModemObject {
    /// The identity remembered slot choices are stored under: SYS_CAPS
    /// ModemId where the device has it, else vid:pid:serial or the USB path.
    #[zbus(property)]
    fn modem_id(&self) -> String {
        self.view().modem_id
    }

    /// The USB idVendor.
    #[zbus(property)]
    fn usb_vendor_id(&self) -> u16 {
        self.view().vid
    }

    /// The USB idProduct.
    #[zbus(property)]
    fn usb_product_id(&self) -> u16 {
        self.view().pid
    }

    /// The USB iSerialNumber (empty if none).
    #[zbus(property)]
    fn usb_serial(&self) -> String {
        self.view().serial
    }

    /// The USB port path ("simulated" for the simulated modem).
    #[zbus(property)]
    fn usb_path(&self) -> String {
        self.view().usb_path
    }

    /// The USB iManufacturer.
    #[zbus(property)]
    fn manufacturer(&self) -> String {
        self.view().manufacturer
    }

    /// The USB iProduct.
    #[zbus(property)]
    fn model(&self) -> String {
        self.view().model
    }

    /// DEVICE_CAPS FirmwareInfo.
    #[zbus(property)]
    fn firmware(&self) -> String {
        self.view().firmware
    }

    /// How many executors (MBIM functions) the modem has.
    #[zbus(property)]
    fn number_of_executors(&self) -> u32 {
        self.view().number_of_executors
    }

    /// How many UICC slots the modem has.
    #[zbus(property)]
    fn number_of_slots(&self) -> u32 {
        self.view().number_of_slots
    }

    /// SYS_CAPS Concurrency: how many slots can be active at once (0 when
    /// the device has no SYS_CAPS).
    #[zbus(property)]
    fn concurrency(&self) -> u32 {
        self.view().concurrency
    }

    /// The executors (dev.mbimd.Executor1 objects), in executor order.
    #[zbus(property)]
    fn executors(&self) -> Vec<OwnedObjectPath> {
        self.view().executors
    }

    /// The slots (dev.mbimd.Slot1 objects), in slot order.
    #[zbus(property)]
    fn slots(&self) -> Vec<OwnedObjectPath> {
        self.view().slots
    }

    /// The slot of each executor (DEVICE_SLOT_MAPPINGS); empty if unknown.
    #[zbus(property)]
    fn slot_mapping(&self) -> Vec<u32> {
        self.view().slot_mapping
    }

    /// Whether the dual-SIM single-active slot policy runs for this modem.
    #[zbus(property)]
    fn slot_policy_active(&self) -> bool {
        self.view().slot_policy_active
    }

    /// What a SIM removal from the selected physical slot does: suggest,
    /// switch or stay.
    #[zbus(property)]
    fn on_removal(&self) -> String {
        self.view().on_removal
    }

    /// Whether a SIM inserted into the physical slot while the embedded one
    /// is selected is switched to at once (else only suggested).
    #[zbus(property)]
    fn auto_switch(&self) -> bool {
        self.view().auto_switch
    }

    /// Maps the executors to slots (one slot per executor, in executor
    /// order; DEVICE_SLOT_MAPPINGS set) and returns the mapping in force
    /// afterwards. Root or mbimd's group only.
    #[zbus(out_args("mapping"))]
    async fn set_slot_mapping(
        &self,
        slots: Vec<u32>,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Vec<u32>, MethodError> {
        self.authorize(connection, &header, "SetSlotMapping")
            .await?;
        {
            let snapshot = self.snapshot.borrow();
            let executors = snapshot.executors.len();
            if slots.len() != executors {
                return Err(MethodError::InvalidArgs(format!(
                    "SetSlotMapping: {} slot(s) given, the modem has {executors} executor(s)",
                    slots.len()
                )));
            }
            for slot in &slots {
                check_slot(&snapshot, *slot, "SetSlotMapping")?;
            }
        }
        within_deadline("SetSlotMapping", self.handle.set_slot_mapping(slots)).await
    }

    /// The user's slot choice: switches the executor to slot through the
    /// slot policy, which remembers it. The switch itself shows in
    /// SlotMapping and the manager's SlotSwitched. Root or mbimd's group only.
    async fn switch_to_slot(
        &self,
        slot: u32,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.authorize(connection, &header, "SwitchToSlot").await?;
        {
            let snapshot = self.snapshot.borrow();
            check_slot(&snapshot, slot, "SwitchToSlot")?;
            if !snapshot.policy_active {
                return Err(MethodError::NotPossible(
                    "SwitchToSlot: this modem has no slot policy (it is not a dual-SIM \
                     single-active modem); use SetSlotMapping"
                        .to_owned(),
                ));
            }
        }
        Ok(self.handle.switch_to_slot(slot).await?)
    }

    /// Runs the Windows HLK TestSlot checks (QuerySlotMapping,
    /// SetSlotMapping, QuerySlotInfo, ValidateSlotInfoState) and restores
    /// the mapping found: name, passed, details of each. Root or mbimd's
    /// group only.
    #[zbus(out_args("checks"))]
    async fn test_slots(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<Vec<(String, bool, String)>, MethodError> {
        self.authorize(connection, &header, "TestSlots").await?;
        let checks = self.handle.test_slots().await?;
        Ok(checks
            .into_iter()
            .map(|check| (check.name, check.passed, check.details))
            .collect())
    }

    /// Changes the slot policy of this modem until the next Reload or
    /// restart: on_removal is suggest, switch or stay. Root or mbimd's
    /// group only.
    async fn set_slot_policy(
        &self,
        on_removal: String,
        auto_switch: bool,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Header<'_>,
    ) -> Result<(), MethodError> {
        self.authorize(connection, &header, "SetSlotPolicy").await?;
        let Some(on_removal) = names::parse_on_removal(&on_removal) else {
            return Err(MethodError::InvalidArgs(format!(
                "SetSlotPolicy: on_removal is suggest, switch or stay, not \"{}\"",
                echoed(&on_removal)
            )));
        };
        Ok(self
            .handle
            .set_policy(SlotPolicyConfig {
                on_removal,
                auto_switch,
            })
            .await?)
    }
}
