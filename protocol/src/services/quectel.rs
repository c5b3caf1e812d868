//! Quectel's vendor service: the radio switch that also reports and lifts
//! the FCC lock of Quectel's laptop modules (EM05-G, RM520N, EM120…).
//! Layout as libmbim's `mbim-service-quectel.json`; ModemManager's FCC
//! unlock for these modules (`data/dispatcher-fcc-unlock/2c7c`) is this
//! CID's set with the radio on.

use crate::codec::Empty;
use crate::{mbim_enum, mbim_service, mbim_struct};

mbim_service! {
    /// The Quectel CID table.
    service "quectel" = "11223344-5566-7788-99aa-bbccddeeff11";
    /// MBIM_CID_QUECTEL_RADIO_STATE: the radio switch; a set of `on` lifts
    /// the FCC lock.
    RadioState = 1, "radio-state", device {
        query: Empty, set: QuectelRadioState, response: QuectelRadioState,
    }
}

mbim_enum! {
    /// MbimQuectelRadioSwitchState.
    pub enum QuectelRadioSwitchState {
        /// The radio is off.
        Off = 0 => "off",
        /// The radio is on.
        On = 1 => "on",
        /// The radio is off until the host lifts the FCC lock.
        FccLocked = 4 => "fcc-locked",
    }
}

/// The radio state wanted (set) or in force (response).
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QuectelRadioState {
    /// The switch.
    pub radio_state: QuectelRadioSwitchState,
}
