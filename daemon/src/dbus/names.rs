//! The strings D-Bus shows for executor, slot and MBIM states: kebab-case,
//! the MBIM names' nicknames (as mbimcli prints them), `unknown` while not
//! yet known and `unknown-<n>` for a value mbimd has no name for.

use crate::executor::ExecutorState;
use crate::netdev::{ConfigPart, ConfigReport, PartOutcome};
use crate::policy::{OnRemoval, SlotKind};
use mbim_protocol::services::basic_connect::{
    PacketServiceState, PinState, PinType, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;

/// The executor's state.
pub(crate) fn executor_state(state: ExecutorState) -> &'static str {
    match state {
        ExecutorState::Opening => "opening",
        ExecutorState::Initializing => "initializing",
        ExecutorState::RadioOff => "radio-off",
        ExecutorState::WaitingForSim => "waiting-for-sim",
        ExecutorState::Locked => "locked",
        ExecutorState::Registering => "registering",
        ExecutorState::Attaching => "attaching",
        ExecutorState::Idle => "idle",
        ExecutorState::Connecting => "connecting",
        ExecutorState::WaitingToReconnect => "waiting-to-reconnect",
        ExecutorState::Connected => "connected",
        ExecutorState::Disconnecting => "disconnecting",
        ExecutorState::Resetting => "resetting",
        ExecutorState::Failed => "failed",
        ExecutorState::Suspended => "suspended",
        ExecutorState::Gone => "gone",
        ExecutorState::Stopped => "stopped",
    }
}

/// A name, or `unknown-<n>` for a value without one.
fn named(name: Option<&'static str>, value: u32) -> String {
    name.map_or_else(|| format!("unknown-{value}"), str::to_owned)
}

/// SUBSCRIBER_READY_STATUS's ReadyState.
pub(crate) fn ready_state(state: Option<SubscriberReadyState>) -> String {
    state.map_or_else(|| "unknown".to_owned(), |s| named(s.name(), s.value()))
}

/// The PIN type pending: `none` when nothing is (MBIMPinTypeNone, which
/// the protocol crate calls "unknown" after libmbim).
pub(crate) fn pin_type(pin_type: Option<PinType>) -> String {
    match pin_type {
        None | Some(PinType::None) => "none".to_owned(),
        Some(other) => named(other.name(), other.value()),
    }
}

/// PIN1's state (`unlocked`, `locked`).
pub(crate) fn pin_state(state: Option<PinState>) -> String {
    state.map_or_else(|| "unknown".to_owned(), |s| named(s.name(), s.value()))
}

/// The registration state.
pub(crate) fn register_state(state: Option<RegisterState>) -> String {
    state.map_or_else(|| "unknown".to_owned(), |s| named(s.name(), s.value()))
}

/// The packet service state.
pub(crate) fn packet_service(state: Option<PacketServiceState>) -> String {
    state.map_or_else(|| "unknown".to_owned(), |s| named(s.name(), s.value()))
}

/// A slot's state: the nine states of seed 004 (the first is
/// `undetermined`, as the seed names it), `unknown` before the first report.
pub(crate) fn slot_state(state: Option<UiccSlotState>) -> String {
    match state {
        None => "unknown".to_owned(),
        Some(UiccSlotState::Undetermined) => "undetermined".to_owned(),
        Some(other) => named(other.name(), other.value()),
    }
}

/// A slot's kind.
pub(crate) fn slot_kind(kind: SlotKind) -> &'static str {
    match kind {
        SlotKind::Physical => "physical",
        SlotKind::Embedded => "embedded",
    }
}

/// The slot policy's on-removal setting.
pub(crate) fn on_removal(value: OnRemoval) -> &'static str {
    match value {
        OnRemoval::Suggest => "suggest",
        OnRemoval::Switch => "switch",
        OnRemoval::Stay => "stay",
    }
}

/// `NetdevState`: how the network device's configuration went.
pub(crate) fn netdev_state(report: Option<&ConfigReport>) -> &'static str {
    match report {
        None => "none",
        Some(report) if report.is_complete() => "configured",
        Some(report) if report.nothing_applied() => "failed",
        Some(_) => "partial",
    }
}

/// One `NetdevParts` entry: (part, outcome, detail).
pub(crate) fn netdev_part(part: &ConfigPart) -> (String, String, String) {
    let (outcome, detail) = match &part.outcome {
        PartOutcome::Applied => ("applied", String::new()),
        PartOutcome::Refused { reason } => ("refused", reason.clone()),
        PartOutcome::Failed {
            error,
            transient: true,
        } => ("retrying", error.clone()),
        PartOutcome::Failed {
            error,
            transient: false,
        } => ("failed", error.clone()),
    };
    (part.part.clone(), outcome.to_owned(), detail)
}

/// The on-removal setting named `name`.
pub(crate) fn parse_on_removal(name: &str) -> Option<OnRemoval> {
    [OnRemoval::Suggest, OnRemoval::Switch, OnRemoval::Stay]
        .into_iter()
        .find(|value| on_removal(*value) == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_keep_their_number() {
        assert_eq!(
            register_state(Some(RegisterState::Unknown(77))),
            "unknown-77"
        );
        assert_eq!(register_state(Some(RegisterState::Home)), "home");
        assert_eq!(register_state(None), "unknown");
        assert_eq!(
            slot_state(Some(UiccSlotState::Undetermined)),
            "undetermined"
        );
        assert_eq!(
            slot_state(Some(UiccSlotState::ActiveEsimNoProfiles)),
            "active-esim-no-profiles"
        );
        assert_eq!(slot_state(Some(UiccSlotState::Unknown(9))), "unknown-9");
        assert_eq!(pin_type(Some(PinType::None)), "none");
        assert_eq!(pin_type(Some(PinType::Puk1)), "puk1");
        assert_eq!(
            ready_state(Some(SubscriberReadyState::SimNotInserted)),
            "sim-not-inserted"
        );
        assert_eq!(
            executor_state(ExecutorState::WaitingToReconnect),
            "waiting-to-reconnect"
        );
    }

    #[test]
    fn the_netdev_state_says_how_much_was_applied() {
        let part = |name: &str, outcome: PartOutcome| ConfigPart {
            part: name.to_owned(),
            outcome,
        };
        let applied = part("link up", PartOutcome::Applied);
        let refused = part(
            "address ff02::1/64",
            PartOutcome::Refused {
                reason: "a multicast address".to_owned(),
            },
        );
        let retrying = part(
            "dns",
            PartOutcome::Failed {
                error: "no resolver".to_owned(),
                transient: true,
            },
        );
        let report = |parts: &[&ConfigPart]| ConfigReport {
            parts: parts.iter().map(|part| (*part).clone()).collect(),
        };
        // (report, NetdevState)
        let table = [
            (None, "none"),
            (Some(report(&[&applied])), "configured"),
            (Some(report(&[&applied, &refused])), "partial"),
            (Some(report(&[&refused, &retrying])), "failed"),
        ];
        for (report, state) in table {
            assert_eq!(netdev_state(report.as_ref()), state, "{report:?}");
        }
        assert_eq!(
            netdev_part(&retrying),
            (
                "dns".to_owned(),
                "retrying".to_owned(),
                "no resolver".to_owned()
            )
        );
        assert_eq!(netdev_part(&refused).1, "refused",);
    }

    #[test]
    fn on_removal_round_trips() {
        for value in [OnRemoval::Suggest, OnRemoval::Switch, OnRemoval::Stay] {
            assert_eq!(parse_on_removal(on_removal(value)), Some(value));
        }
        assert_eq!(parse_on_removal("ask"), None);
    }
}
