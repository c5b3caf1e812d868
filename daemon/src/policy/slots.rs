//! The slot policy's state machine.

use std::fmt;
use std::time::{Duration, Instant};

use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_protocol::status::Status;

use super::config::{OnRemoval, SlotPolicyConfig};

/// The executor whose slot the policy chooses. Dual SIM single active has one
/// executor; a modem with more keeps the others where they are.
pub const EXECUTOR: usize = 0;

/// How long after a mapping SET completes slot-state changes are taken as
/// the switch's own doing: the slots power down and up, and some modems
/// report that as removal or insertion.
pub const SWITCH_SETTLE: Duration = Duration::from_secs(10);

/// How long after a switch (automatic or the user's) another automatic
/// switch only becomes a suggestion, so a flapping SIM cannot make the modem
/// switch back and forth.
pub const AUTO_SWITCH_HOLD_DOWN: Duration = Duration::from_secs(60);

/// The first wait before a SET refused with VOICE_CALL_IN_PROGRESS is sent again.
pub const VOICE_CALL_RETRY_FIRST: Duration = Duration::from_secs(5);

/// How long after a BUSY answer the SET is sent again when the device has
/// sent no notification meanwhile: seed 000 makes notifications *and*
/// command completions the hints to retry, and a device that notifies
/// nothing must not hold the switch back for ever.
pub const BUSY_RETRY_FALLBACK: Duration = Duration::from_secs(10);

/// The longest wait between retries while a voice call goes on.
pub const VOICE_CALL_RETRY_CAP: Duration = Duration::from_secs(120);

/// A modem's identity across plug-ins and restarts: the key remembered
/// choices are stored under.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModemId(String);

impl ModemId {
    /// An identity from its text (as stored).
    pub fn new(id: impl Into<String>) -> Self {
        ModemId(id.into())
    }

    /// The identity of a USB modem: vendor, product and serial number; without
    /// a serial number, the USB port stands in for it (the same modem is
    /// then recognised only in the same port).
    pub fn from_usb(vid: u16, pid: u16, serial: Option<&str>, usb_path: &str) -> Self {
        match serial {
            Some(serial) if !serial.is_empty() => ModemId(format!("{vid:04x}:{pid:04x}:{serial}")),
            _ => ModemId(format!("{vid:04x}:{pid:04x}@{usb_path}")),
        }
    }

    /// The identity as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a slot takes a removable card or holds the soldered eSIM.
/// Seed 004 calls slot 0 the physical slot (SIM1) and slot 1 the embedded
/// one (SIM2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// A slot for a removable card.
    Physical,
    /// The embedded (eSIM) slot.
    Embedded,
}

/// One slot as the modem reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotStatus {
    /// Its index (as in the slot mapping).
    pub index: u32,
    /// Physical or embedded.
    pub kind: SlotKind,
    /// Its state from MS_SLOT_INFO_STATUS.
    pub state: UiccSlotState,
}

/// What the policy learns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyInput {
    /// The modem was taken (first time, or back after an unplug or a
    /// restart): its slots, the mapping in force, and the slot remembered for
    /// it, if any. Forgets everything known about an earlier appearance.
    ModemSeen {
        /// Its identity.
        modem_id: ModemId,
        /// Every slot with its kind and state.
        slots: Vec<SlotStatus>,
        /// The slot of each executor (DEVICE_SLOT_MAPPINGS query).
        mapping: Vec<u32>,
        /// The slot remembered from an earlier run.
        remembered: Option<u32>,
    },
    /// A slot's state (MS_SLOT_INFO_STATUS response or notification). It
    /// also counts as a device notification for a BUSY retry.
    SlotInfo {
        /// The slot.
        slot: u32,
        /// Its new state.
        state: UiccSlotState,
    },
    /// The mapping from a DEVICE_SLOT_MAPPINGS query.
    MappingReported {
        /// The slot of each executor.
        mapping: Vec<u32>,
    },
    /// The response to the SET the policy asked for.
    MappingResult {
        /// Its status.
        status: Status,
        /// The mapping it carried (the one in force, success or not), if the
        /// response had one.
        mapping: Option<Vec<u32>>,
    },
    /// The user asks for a slot.
    SwitchToSlot {
        /// The slot wanted.
        slot: u32,
    },
    /// The policy's configuration changed.
    ConfigChanged(SlotPolicyConfig),
    /// Any other notification from the device (the hint to retry after BUSY).
    Notification,
    /// The delay of the last [`PolicyAction::RetryAfter`] has passed.
    Timer,
}

/// Why a switch is made or suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchReason {
    /// The modem was seen for the first time: the physical slot if it holds
    /// a SIM, else the embedded one.
    FirstSight,
    /// The modem came back with another mapping than the one remembered.
    Remembered,
    /// The SIM was removed from the selected physical slot.
    SimRemoved,
    /// A SIM was inserted into the physical slot while the embedded one was selected.
    SimInserted,
    /// The user asked for it.
    User,
}

impl fmt::Display for SwitchReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SwitchReason::FirstSight => "first-sight",
            SwitchReason::Remembered => "remembered",
            SwitchReason::SimRemoved => "sim-removed",
            SwitchReason::SimInserted => "sim-inserted",
            SwitchReason::User => "user",
        })
    }
}

/// Why a switch did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The device refused the SET (INVALID_PARAMETERS, FAILURE, …).
    Refused(Status),
    /// The device said success but its mapping does not have the slot.
    NotApplied {
        /// The executor's slot in the mapping the device returned.
        kept: Option<u32>,
    },
    /// The modem has no such slot.
    NoSuchSlot,
    /// No modem has been seen yet.
    NoModem,
    /// The SIM change that called for an automatic switch was undone (the
    /// card came back, or left again) while the switch waited to be retried.
    Withdrawn,
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureReason::Refused(status) => write!(f, "refused by the device: {status}"),
            FailureReason::NotApplied { kept: Some(slot) } => {
                write!(f, "the device kept slot {slot}")
            }
            FailureReason::NotApplied { kept: None } => f.write_str("the device kept no slot"),
            FailureReason::NoSuchSlot => f.write_str("no such slot"),
            FailureReason::NoModem => f.write_str("no modem"),
            FailureReason::Withdrawn => f.write_str("the SIM change was undone"),
        }
    }
}

/// What the policy asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyAction {
    /// Send DEVICE_SLOT_MAPPINGS SET with this mapping (slot of each
    /// executor) and report the response as [`PolicyInput::MappingResult`].
    SetSlotMapping(Vec<u32>),
    /// Tell the user a switch would make sense; nothing happens until a
    /// [`PolicyInput::SwitchToSlot`].
    SlotSwitchSuggested {
        /// The slot selected now.
        from: u32,
        /// The slot suggested.
        to: u32,
        /// Why.
        reason: SwitchReason,
    },
    /// The executor now uses another slot (the device confirmed it).
    SlotSwitched {
        /// The slot it used.
        from: u32,
        /// The slot it uses.
        to: u32,
        /// Why.
        reason: SwitchReason,
    },
    /// A switch failed and will not be retried.
    SlotSwitchFailed {
        /// The slot that was wanted.
        to: u32,
        /// Why it failed.
        reason: FailureReason,
    },
    /// Store this slot as the modem's choice (see [`super::store`]).
    Remember {
        /// The modem.
        modem_id: ModemId,
        /// Its slot.
        slot: u32,
    },
    /// The device was busy: the SET is sent again on its next notification
    /// (pass it in as [`PolicyInput::Notification`] or `SlotInfo`).
    RetryOnNextNotification,
    /// Send [`PolicyInput::Timer`] after this long (replacing an earlier
    /// such timer): a SET refused with VOICE_CALL_IN_PROGRESS is retried
    /// then, and the end of a switch's settle window is checked then.
    RetryAfter(Duration),
}

/// Whether the policy's wanted switch is on the wire or waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    InFlight,
    /// Answered BUSY: sent again on the next notification, or at
    /// `fallback_at` if none comes.
    WaitingForNotification {
        fallback_at: Instant,
    },
    WaitingForTimer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Switch {
    from: u32,
    to: u32,
    reason: SwitchReason,
    phase: Phase,
    voice_call_retries: u32,
}

#[derive(Debug, Clone, Copy)]
struct SlotView {
    index: u32,
    kind: SlotKind,
    /// The last state that says whether a card is there; the transitions of
    /// the seed's tables are between such states.
    settled: Option<UiccSlotState>,
    /// Whether a card is there, by the last state that says so (NotReady
    /// does: occupied, not yet ready).
    presence: Option<Presence>,
}

#[derive(Debug)]
struct ModemState {
    modem_id: ModemId,
    slots: Vec<SlotView>,
    mapping: Vec<u32>,
    first_sight_pending: bool,
    switch: Option<Switch>,
    /// A switch asked for while another SET is on the wire.
    queued: Option<(u32, SwitchReason)>,
    quiet_until: Option<Instant>,
    /// The physical slot's settled state when the last SET was sent: what a
    /// card change while it was on the wire or settling is judged against
    /// once the settle window is over (see `settle_over`).
    settle_baseline: Option<UiccSlotState>,
    held_until: Option<Instant>,
}

/// What a slot's state says about a card in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    Card,
    NoUsableCard,
    /// Powering, initialising, or off without knowing: what a switch passes
    /// through. Never a transition of its own.
    Transient,
}

fn presence(state: UiccSlotState) -> Presence {
    match state {
        UiccSlotState::Active
        | UiccSlotState::ActiveEsim
        | UiccSlotState::ActiveEsimNoProfiles
        | UiccSlotState::NotReady => Presence::Card,
        UiccSlotState::Empty | UiccSlotState::OffEmpty | UiccSlotState::Error => {
            Presence::NoUsableCard
        }
        UiccSlotState::Undetermined | UiccSlotState::Off | UiccSlotState::Unknown(_) => {
            Presence::Transient
        }
    }
}

/// What a state says about a card, if it says anything.
fn known_presence(state: UiccSlotState) -> Option<Presence> {
    Some(presence(state)).filter(|known| *known != Presence::Transient)
}

/// Whether a state is one the seed's transition tables start or end at.
fn settled(state: UiccSlotState) -> bool {
    !matches!(
        state,
        UiccSlotState::Undetermined
            | UiccSlotState::Off
            | UiccSlotState::NotReady
            | UiccSlotState::Unknown(_)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edge {
    Inserted,
    Removed,
}

/// The seed's "SIM inserted" and "SIM removed" tables.
fn edge(before: UiccSlotState, after: UiccSlotState) -> Option<Edge> {
    use UiccSlotState::{Active, ActiveEsim, ActiveEsimNoProfiles, Empty, OffEmpty};
    match (before, after) {
        (Empty, Active) | (OffEmpty, ActiveEsim | ActiveEsimNoProfiles) => Some(Edge::Inserted),
        (Active, Empty) | (ActiveEsim | ActiveEsimNoProfiles, OffEmpty) => Some(Edge::Removed),
        _ => None,
    }
}

/// The wait before the `retries`-th resend while a voice call goes on:
/// doubling from [`VOICE_CALL_RETRY_FIRST`], capped at [`VOICE_CALL_RETRY_CAP`].
fn voice_call_delay(retries: u32) -> Duration {
    let factor = 1u32.checked_shl(retries.min(16)).unwrap_or(u32::MAX);
    VOICE_CALL_RETRY_FIRST
        .checked_mul(factor)
        .unwrap_or(VOICE_CALL_RETRY_CAP)
        .min(VOICE_CALL_RETRY_CAP)
}

/// The slot policy of one modem: feed it [`PolicyInput`]s with the time they
/// happened, carry out the [`PolicyAction`]s it returns.
#[derive(Debug)]
pub struct SlotPolicy {
    config: SlotPolicyConfig,
    modem: Option<ModemState>,
}

impl SlotPolicy {
    /// A policy with this configuration, before the modem is seen.
    pub fn new(config: SlotPolicyConfig) -> Self {
        SlotPolicy {
            config,
            modem: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> SlotPolicyConfig {
        self.config
    }

    /// The executor's slot as the device last reported it.
    pub fn selected_slot(&self) -> Option<u32> {
        self.modem.as_ref().and_then(ModemState::selected)
    }

    /// The mapping as the device last reported it (slot of each executor).
    pub fn mapping(&self) -> &[u32] {
        self.modem.as_ref().map_or(&[], |modem| &modem.mapping)
    }

    /// Takes one input that happened at `now`; returns what to do.
    pub fn handle(&mut self, now: Instant, input: PolicyInput) -> Vec<PolicyAction> {
        let mut actions = Vec::new();
        match input {
            PolicyInput::ModemSeen {
                modem_id,
                slots,
                mapping,
                remembered,
            } => self.seen(modem_id, &slots, mapping, remembered, &mut actions),
            PolicyInput::ConfigChanged(config) => self.config = config,
            PolicyInput::SwitchToSlot { slot } => match self.modem.as_mut() {
                Some(modem) => {
                    if modem.slot(slot).is_none() {
                        actions.push(PolicyAction::SlotSwitchFailed {
                            to: slot,
                            reason: FailureReason::NoSuchSlot,
                        });
                    } else {
                        // The user's choice holds back the automatic rules
                        // for a while, so the switch is not undone by them.
                        modem.held_until = now.checked_add(AUTO_SWITCH_HOLD_DOWN);
                        modem.request(slot, SwitchReason::User, &mut actions);
                    }
                }
                None => actions.push(PolicyAction::SlotSwitchFailed {
                    to: slot,
                    reason: FailureReason::NoModem,
                }),
            },
            PolicyInput::SlotInfo { slot, state } => {
                let config = self.config;
                if let Some(modem) = self.modem.as_mut() {
                    modem.slot_info(now, config, slot, state, &mut actions);
                    modem.notified(&mut actions);
                }
            }
            PolicyInput::Notification => {
                if let Some(modem) = self.modem.as_mut() {
                    modem.notified(&mut actions);
                }
            }
            PolicyInput::Timer => {
                let config = self.config;
                if let Some(modem) = self.modem.as_mut() {
                    modem.timer(now, &mut actions);
                    modem.settle_over(now, config, &mut actions);
                }
            }
            PolicyInput::MappingReported { mapping } => {
                if let Some(modem) = self.modem.as_mut() {
                    modem.reported(mapping, &mut actions);
                }
            }
            PolicyInput::MappingResult { status, mapping } => {
                if let Some(modem) = self.modem.as_mut() {
                    modem.result(now, status, mapping, &mut actions);
                }
            }
        }
        actions
    }

    fn seen(
        &mut self,
        modem_id: ModemId,
        slots: &[SlotStatus],
        mapping: Vec<u32>,
        remembered: Option<u32>,
        actions: &mut Vec<PolicyAction>,
    ) {
        let mut modem = ModemState {
            modem_id,
            slots: slots
                .iter()
                .map(|slot| SlotView {
                    index: slot.index,
                    kind: slot.kind,
                    settled: settled(slot.state).then_some(slot.state),
                    presence: known_presence(slot.state),
                })
                .collect(),
            mapping,
            first_sight_pending: false,
            switch: None,
            queued: None,
            quiet_until: None,
            settle_baseline: None,
            held_until: None,
        };
        match remembered.filter(|&slot| modem.slot(slot).is_some()) {
            Some(slot) => modem.request(slot, SwitchReason::Remembered, actions),
            None => {
                modem.first_sight_pending = true;
                modem.first_sight(actions);
            }
        }
        self.modem = Some(modem);
    }
}

impl ModemState {
    fn selected(&self) -> Option<u32> {
        self.mapping.get(EXECUTOR).copied()
    }

    fn slot(&self, index: u32) -> Option<&SlotView> {
        self.slots.iter().find(|slot| slot.index == index)
    }

    fn slot_of_kind(&self, kind: SlotKind) -> Option<u32> {
        self.slots
            .iter()
            .find(|slot| slot.kind == kind)
            .map(|slot| slot.index)
    }

    /// Seed 004's OOBE rule: the physical slot if it holds a SIM, else the
    /// embedded slot; undecided while the physical slot's state is not known.
    fn first_sight(&mut self, actions: &mut Vec<PolicyAction>) {
        let physical = self
            .slots
            .iter()
            .find(|slot| slot.kind == SlotKind::Physical);
        let target = match physical {
            Some(slot) => match slot.presence {
                Some(Presence::Card) => Some(slot.index),
                Some(Presence::NoUsableCard) => self.slot_of_kind(SlotKind::Embedded),
                Some(Presence::Transient) | None => return,
            },
            None => self.slot_of_kind(SlotKind::Embedded),
        };
        self.first_sight_pending = false;
        if let Some(target) = target {
            self.request(target, SwitchReason::FirstSight, actions);
        }
    }

    /// Asks for the executor to use `to`: at once, or after the SET on the wire.
    fn request(&mut self, to: u32, reason: SwitchReason, actions: &mut Vec<PolicyAction>) {
        if self
            .switch
            .is_some_and(|switch| switch.phase == Phase::InFlight)
        {
            self.queued = Some((to, reason));
            return;
        }
        let Some(from) = self.selected() else {
            return;
        };
        if from == to {
            // Nothing to set, but the choice is the modem's from now on; a
            // retry still waiting for an older target is dropped.
            self.switch = None;
            actions.push(PolicyAction::Remember {
                modem_id: self.modem_id.clone(),
                slot: to,
            });
            return;
        }
        self.switch = Some(Switch {
            from,
            to,
            reason,
            phase: Phase::InFlight,
            voice_call_retries: 0,
        });
        self.settle_baseline = self.physical_settled();
        actions.push(PolicyAction::SetSlotMapping(self.mapping_with(to)));
    }

    /// The physical slot's last settled state.
    fn physical_settled(&self) -> Option<UiccSlotState> {
        self.slot_of_kind(SlotKind::Physical)
            .and_then(|physical| self.slot(physical))
            .and_then(|view| view.settled)
    }

    /// The current mapping with the executor on `to`; an executor that held
    /// `to` takes the executor's old slot, since a mapping with a slot twice
    /// is refused (INVALID_PARAMETERS).
    fn mapping_with(&self, to: u32) -> Vec<u32> {
        let from = self.selected();
        self.mapping
            .iter()
            .enumerate()
            .map(|(executor, &slot)| {
                if executor == EXECUTOR {
                    to
                } else if slot == to {
                    from.unwrap_or(slot)
                } else {
                    slot
                }
            })
            .collect()
    }

    fn resend(&mut self, actions: &mut Vec<PolicyAction>) {
        if let Some(switch) = self.switch.as_mut() {
            switch.phase = Phase::InFlight;
            let to = switch.to;
            self.settle_baseline = self.physical_settled();
            actions.push(PolicyAction::SetSlotMapping(self.mapping_with(to)));
        }
    }

    fn notified(&mut self, actions: &mut Vec<PolicyAction>) {
        if self
            .switch
            .is_some_and(|switch| matches!(switch.phase, Phase::WaitingForNotification { .. }))
        {
            self.resend(actions);
        }
    }

    fn timer(&mut self, now: Instant, actions: &mut Vec<PolicyAction>) {
        // A timer that was meant for a switch since replaced or sent finds
        // nothing waiting for it and does nothing.
        let due = self.switch.is_some_and(|switch| match switch.phase {
            Phase::WaitingForTimer => true,
            Phase::WaitingForNotification { fallback_at } => now >= fallback_at,
            Phase::InFlight => false,
        });
        if due {
            self.resend(actions);
        }
    }

    /// The settle window after a switch is over: a card inserted into or
    /// removed from the physical slot meanwhile was not taken as an edge
    /// then (it could have been the switch's own doing), so compare the
    /// slot's state now with its state when the switch completed.
    fn settle_over(
        &mut self,
        now: Instant,
        config: SlotPolicyConfig,
        actions: &mut Vec<PolicyAction>,
    ) {
        if self.quiet_until.is_some_and(|until| now < until) || self.switch.is_some() {
            return;
        }
        let Some(before) = self.settle_baseline.take() else {
            return;
        };
        let Some(physical) = self.slot_of_kind(SlotKind::Physical) else {
            return;
        };
        let Some(now_state) = self.slot(physical).and_then(|view| view.settled) else {
            return;
        };
        if let Some(edge) = edge(before, now_state) {
            self.on_edge(now, config, physical, edge, actions);
        }
    }

    fn slot_info(
        &mut self,
        now: Instant,
        config: SlotPolicyConfig,
        index: u32,
        state: UiccSlotState,
        actions: &mut Vec<PolicyAction>,
    ) {
        let Some(view) = self.slots.iter_mut().find(|slot| slot.index == index) else {
            return;
        };
        if let Some(known) = known_presence(state) {
            view.presence = Some(known);
        }
        let kind = view.kind;
        if self.first_sight_pending && kind == SlotKind::Physical {
            if settled(state) {
                view.settled = Some(state);
            }
            self.first_sight(actions);
            return;
        }
        if !settled(state) {
            return;
        }
        let before = view.settled.replace(state);
        let in_flight = self
            .switch
            .is_some_and(|switch| switch.phase == Phase::InFlight);
        let settling = self.quiet_until.is_some_and(|until| now < until);
        if kind != SlotKind::Physical || in_flight || settling {
            // The baseline moves, so the switch's own power cycle never
            // becomes an insertion or removal later.
            return;
        }
        let Some(edge) = before.and_then(|before| edge(before, state)) else {
            return;
        };
        self.on_edge(now, config, index, edge, actions);
    }

    /// A card was inserted into or removed from the physical slot `index`.
    fn on_edge(
        &mut self,
        now: Instant,
        config: SlotPolicyConfig,
        index: u32,
        edge: Edge,
        actions: &mut Vec<PolicyAction>,
    ) {
        if let Some(switch) = self.switch {
            // A retry must not carry out a switch whose cause is gone, such
            // as moving to a physical slot that is empty again.
            if matches!(
                (switch.reason, edge),
                (SwitchReason::SimInserted, Edge::Removed)
                    | (SwitchReason::SimRemoved, Edge::Inserted)
            ) {
                self.switch = None;
                actions.push(PolicyAction::SlotSwitchFailed {
                    to: switch.to,
                    reason: FailureReason::Withdrawn,
                });
                return;
            }
        }
        let (Some(selected), Some(embedded)) =
            (self.selected(), self.slot_of_kind(SlotKind::Embedded))
        else {
            return;
        };
        let held = self.held_until.is_some_and(|until| now < until);
        match edge {
            Edge::Inserted if selected == embedded => {
                if config.auto_switch && !held {
                    self.request(index, SwitchReason::SimInserted, actions);
                } else {
                    self.suggest(embedded, index, SwitchReason::SimInserted, actions);
                }
            }
            Edge::Removed if selected == index => match config.on_removal {
                OnRemoval::Switch if !held => {
                    self.request(embedded, SwitchReason::SimRemoved, actions);
                }
                OnRemoval::Suggest | OnRemoval::Switch => {
                    self.suggest(index, embedded, SwitchReason::SimRemoved, actions);
                }
                OnRemoval::Stay => {}
            },
            Edge::Inserted | Edge::Removed => {}
        }
    }

    fn suggest(&self, from: u32, to: u32, reason: SwitchReason, actions: &mut Vec<PolicyAction>) {
        actions.push(PolicyAction::SlotSwitchSuggested { from, to, reason });
    }

    fn reported(&mut self, mapping: Vec<u32>, actions: &mut Vec<PolicyAction>) {
        self.mapping = mapping;
        // A retry still waiting may find the device already where it was asked to go.
        if let Some(switch) = self.switch {
            if switch.phase != Phase::InFlight && self.selected() == Some(switch.to) {
                self.switch = None;
                self.switched(switch, actions);
            }
        }
    }

    fn switched(&self, switch: Switch, actions: &mut Vec<PolicyAction>) {
        actions.push(PolicyAction::SlotSwitched {
            from: switch.from,
            to: switch.to,
            reason: switch.reason,
        });
        actions.push(PolicyAction::Remember {
            modem_id: self.modem_id.clone(),
            slot: switch.to,
        });
    }

    fn result(
        &mut self,
        now: Instant,
        status: Status,
        mapping: Option<Vec<u32>>,
        actions: &mut Vec<PolicyAction>,
    ) {
        // The response's mapping is the one in force, success or not (seed 004).
        if let Some(mapping) = mapping {
            self.mapping = mapping;
        }
        let Some(mut switch) = self.switch.filter(|switch| switch.phase == Phase::InFlight) else {
            return;
        };
        self.switch = None;
        match status {
            Status::Success => {
                self.quiet_until = now.checked_add(SWITCH_SETTLE);
                // Woken when the window is over, to catch a card change that
                // the SET in flight and the window hid (`settle_baseline`,
                // taken when the SET was sent, is what it is judged against).
                actions.push(PolicyAction::RetryAfter(SWITCH_SETTLE));
                if self.selected() == Some(switch.to) {
                    if matches!(
                        switch.reason,
                        SwitchReason::SimInserted | SwitchReason::SimRemoved
                    ) {
                        self.held_until = now.checked_add(AUTO_SWITCH_HOLD_DOWN);
                    }
                    self.switched(switch, actions);
                } else {
                    actions.push(PolicyAction::SlotSwitchFailed {
                        to: switch.to,
                        reason: FailureReason::NotApplied {
                            kept: self.selected(),
                        },
                    });
                }
            }
            Status::Busy => {
                switch.phase = Phase::WaitingForNotification {
                    fallback_at: now.checked_add(BUSY_RETRY_FALLBACK).unwrap_or(now),
                };
                self.switch = Some(switch);
                actions.push(PolicyAction::RetryOnNextNotification);
                actions.push(PolicyAction::RetryAfter(BUSY_RETRY_FALLBACK));
            }
            Status::VoiceCallInProgress => {
                let delay = voice_call_delay(switch.voice_call_retries);
                switch.voice_call_retries = switch.voice_call_retries.saturating_add(1);
                switch.phase = Phase::WaitingForTimer;
                self.switch = Some(switch);
                actions.push(PolicyAction::RetryAfter(delay));
            }
            other => {
                self.settle_baseline = None;
                actions.push(PolicyAction::SlotSwitchFailed {
                    to: switch.to,
                    reason: FailureReason::Refused(other),
                });
            }
        }
        if let Some((to, reason)) = self.queued.take() {
            // Asked for while the SET was on the wire: it replaces whatever
            // is still wanted, now that the wire is free.
            self.switch = None;
            self.request(to, reason, actions);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_transition_tables() {
        use UiccSlotState::*;
        let cases = [
            (Empty, Active, Some(Edge::Inserted)),
            (OffEmpty, ActiveEsim, Some(Edge::Inserted)),
            (OffEmpty, ActiveEsimNoProfiles, Some(Edge::Inserted)),
            (Active, Empty, Some(Edge::Removed)),
            (ActiveEsim, OffEmpty, Some(Edge::Removed)),
            (ActiveEsimNoProfiles, OffEmpty, Some(Edge::Removed)),
            (Active, Active, None),
            (Empty, OffEmpty, None),
            (Active, Error, None),
            (Empty, ActiveEsim, None),
        ];
        for (before, after, expected) in cases {
            assert_eq!(edge(before, after), expected, "{before:?} -> {after:?}");
        }
    }

    #[test]
    fn transient_states_are_not_settled() {
        use UiccSlotState::*;
        for state in [Undetermined, Off, NotReady, Unknown(42)] {
            assert!(!settled(state), "{state:?}");
        }
        for state in [
            OffEmpty,
            Empty,
            Active,
            Error,
            ActiveEsim,
            ActiveEsimNoProfiles,
        ] {
            assert!(settled(state), "{state:?}");
        }
    }

    #[test]
    fn voice_call_delay_doubles_up_to_the_cap() {
        let cases = [
            (0, 5),
            (1, 10),
            (2, 20),
            (3, 40),
            (4, 80),
            (5, 120),
            (40, 120),
        ];
        for (retries, seconds) in cases {
            assert_eq!(
                voice_call_delay(retries),
                Duration::from_secs(seconds),
                "{retries}"
            );
        }
    }

    #[test]
    fn modem_ids() {
        let cases = [
            (Some("ABC"), "2c7c:0125:ABC"),
            (None, "2c7c:0125@1-2.3"),
            (Some(""), "2c7c:0125@1-2.3"),
        ];
        for (serial, expected) in cases {
            assert_eq!(
                ModemId::from_usb(0x2c7c, 0x0125, serial, "1-2.3").as_str(),
                expected
            );
        }
    }

    #[test]
    fn a_swap_keeps_the_mapping_free_of_duplicates() {
        let mut policy = SlotPolicy::new(SlotPolicyConfig::default());
        let now = Instant::now();
        let actions = policy.handle(
            now,
            PolicyInput::ModemSeen {
                modem_id: ModemId::new("m"),
                slots: vec![
                    SlotStatus {
                        index: 0,
                        kind: SlotKind::Physical,
                        state: UiccSlotState::Active,
                    },
                    SlotStatus {
                        index: 1,
                        kind: SlotKind::Embedded,
                        state: UiccSlotState::ActiveEsim,
                    },
                ],
                mapping: vec![1, 0],
                remembered: None,
            },
        );
        assert_eq!(actions, vec![PolicyAction::SetSlotMapping(vec![0, 1])]);
    }
}
