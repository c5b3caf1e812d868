//! The dual-SIM single-active slot policy (seed 004, "Dual SIM Single
//! Active"): which slot the modem's executor uses, decided from slot-state
//! transitions, configuration and the user's choice.
//!
//! [`SlotPolicy`] is pure: [`PolicyInput`]s in, [`PolicyAction`]s out, time
//! as an argument, so the rules are tested without a device or a clock. The
//! supervisor carries the actions out (a DEVICE_SLOT_MAPPINGS SET under the
//! modem's lock, a D-Bus signal, a write to the [`store`]).
//! docs/slot-policy.md states the rules with the seed's tables.

mod config;
mod slots;
pub mod store;

pub use config::{OnRemoval, SlotPolicyConfig};
pub use slots::{
    FailureReason, ModemId, PolicyAction, PolicyInput, SlotKind, SlotPolicy, SlotStatus,
    SwitchReason, AUTO_SWITCH_HOLD_DOWN, BUSY_RETRY_FALLBACK, EXECUTOR, SWITCH_SETTLE,
    VOICE_CALL_RETRY_CAP, VOICE_CALL_RETRY_FIRST,
};
