//! dev.mbimd.Slot1 at `/dev/mbimd/Mbimd1/Modem<m>/Slot<s>`.

use super::access::may_see_personal;
use super::view::SlotView;
use super::Shared;
use crate::logging::personal;
use crate::modem::ModemSnapshot;
use std::sync::Arc;
use tokio::sync::watch;
use zbus::message::Header;
use zbus::zvariant::OwnedObjectPath;
use zbus::Connection;

/// One slot's object.
pub(crate) struct SlotObject {
    shared: Arc<Shared>,
    snapshot: watch::Receiver<ModemSnapshot>,
    modem: u32,
    index: u32,
}

impl SlotObject {
    pub(crate) fn new(
        shared: Arc<Shared>,
        snapshot: watch::Receiver<ModemSnapshot>,
        modem: u32,
        index: u32,
    ) -> Self {
        SlotObject {
            shared,
            snapshot,
            modem,
            index,
        }
    }

    fn view(&self) -> SlotView {
        SlotView::new(&self.snapshot.borrow(), self.modem, self.index)
    }
}

/// One UICC slot of a modem.
#[zbus::interface(name = "dev.mbimd.Slot1")]
impl SlotObject {
    /// The slot's index (as in the modem's SlotMapping).
    #[zbus(property(emits_changed_signal = "const"))]
    fn index(&self) -> u32 {
        self.index
    }

    /// physical (a removable card) or embedded (eSIM).
    #[zbus(property)]
    fn kind(&self) -> String {
        self.view().kind
    }

    /// SLOT_INFO_STATUS: undetermined, off-empty, off, empty, not-ready,
    /// active, error, active-esim, active-esim-no-profiles; unknown before
    /// the first report.
    #[zbus(property)]
    fn state(&self) -> String {
        self.view().state
    }

    /// The ICCID of the card in it, once an executor mapped to it has read
    /// it: in full for root and mbimd's group, masked for everyone else.
    /// Changes are signalled as invalidated.
    #[zbus(property(emits_changed_signal = "invalidates"))]
    async fn iccid(
        &self,
        #[zbus(connection)] connection: &Connection,
        #[zbus(header)] header: Option<Header<'_>>,
    ) -> String {
        let value = self.view().iccid;
        let show = may_see_personal(connection, &self.shared, header.as_ref()).await;
        personal(&value, show).to_string()
    }

    /// The executor mapped to it (`/` if none).
    #[zbus(property)]
    fn executor(&self) -> OwnedObjectPath {
        self.view().executor
    }
}
