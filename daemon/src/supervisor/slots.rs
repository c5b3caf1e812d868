//! The supervisor's side of the slot policy and of the slot requests: what
//! the executors report goes in as [`PolicyInput`]s once the modem has been
//! seen whole, and the [`PolicyAction`]s come out as tracked mapping SETs,
//! slot signals, log lines and remembered choices.

use super::{Pending, PendingKind, Supervisor};
use crate::config::Config;
use crate::executor::{CommandFailure, ExecutorCommand, SystemCaps};
use crate::logging::chain;
use crate::modem::{RequestError, SlotSignal};
use crate::policy::store::SlotStore;
use crate::policy::{
    ModemId, PolicyAction, PolicyInput, SlotKind, SlotPolicy, SlotPolicyConfig, SlotStatus,
};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_protocol::status::Status;
use mbim_transport::FunctionTransport;
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;

use super::ModemSpec;

/// Slot indexes above this are not believed: a device reporting slot 4
/// billion must not make the supervisor allocate for it.
const MAX_SLOTS: u32 = 64;

/// A choice for the store writer.
type Remembered = (SlotStore, ModemId, u32);

/// What the supervisor keeps for the slot policy and the slot snapshot.
pub(super) struct SlotControl {
    /// The policy configuration in force (configuration, or SetPolicy).
    pub(super) config: SlotPolicyConfig,
    /// Created once the modem shows it is dual-SIM single-active.
    pub(super) policy: Option<SlotPolicy>,
    /// Whether the policy has had its `ModemSeen`.
    pub(super) seen: bool,
    /// While TestSlots runs: its switches are not SIM changes.
    pub(super) suspended: bool,
    /// The policy's `RetryAfter`.
    pub(super) timer: Option<Pin<Box<Sleep>>>,
    /// Each slot's state, as the executors last reported it.
    pub(super) states: Vec<Option<UiccSlotState>>,
    /// The mapping, as the device last reported it.
    pub(super) mapping: Vec<u32>,
    /// The last answer to a mapping SET, for the `Done` that follows it.
    pub(super) set_answer: Option<(Status, Option<Vec<u32>>)>,
    /// Where choices are remembered.
    pub(super) store: SlotStore,
    remember: mpsc::UnboundedSender<Remembered>,
}

impl SlotControl {
    pub(super) fn new(modem: &ModemSpec, config: &Config) -> Self {
        SlotControl {
            config: config.slot_policy_for(&modem.identity()),
            policy: None,
            seen: false,
            suspended: false,
            timer: None,
            states: Vec::new(),
            mapping: Vec::new(),
            set_answer: None,
            store: SlotStore::new(config.slot_policy.state_file.clone()),
            remember: spawn_store_writer(modem.index),
        }
    }
}

/// The store syncs to disk on every write: done on the blocking pool, one
/// write at a time so a later choice never lands before an earlier one.
fn spawn_store_writer(modem: u32) -> mpsc::UnboundedSender<Remembered> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Remembered>();
    tokio::spawn(async move {
        while let Some((store, modem_id, slot)) = rx.recv().await {
            let path = store.path().to_path_buf();
            let written = tokio::task::spawn_blocking(move || {
                // /var/lib/mbimd exists once a package made it; a first run
                // from a build makes it here.
                if let Some(directory) = store.path().parent() {
                    let _ = std::fs::create_dir_all(directory);
                }
                store.remember(&modem_id, slot)
            })
            .await;
            match written {
                Ok(Ok(())) => tracing::debug!(modem, slot, "slot choice remembered"),
                Ok(Err(error)) => {
                    tracing::warn!(modem, "slot choice not remembered: {}", chain(&error));
                }
                Err(error) => tracing::warn!(
                    modem,
                    "slot choice not remembered in {}: {}",
                    path.display(),
                    chain(&error)
                ),
            }
        }
    });
    tx
}

/// Seed 004's convention: slot 0 takes the removable card, the others are
/// embedded.
pub(super) fn kind_of(slot: u32) -> SlotKind {
    if slot == 0 {
        SlotKind::Physical
    } else {
        SlotKind::Embedded
    }
}

/// Resolves when the policy's retry timer fires; never without one.
pub(super) async fn fire(timer: &mut Option<Pin<Box<Sleep>>>) {
    match timer {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Whether `mapping` is a valid mapping for `executors` executors and
/// `slots` slots; why not.
pub(super) fn check_mapping(mapping: &[u32], executors: usize, slots: u32) -> Result<(), String> {
    if mapping.len() != executors {
        return Err(format!(
            "{} slot(s) given for {executors} executor(s): give one slot per executor",
            mapping.len()
        ));
    }
    for (position, slot) in mapping.iter().enumerate() {
        if *slot >= slots {
            return Err(format!("no slot {slot}: the modem has {slots} slot(s)"));
        }
        if mapping
            .get(..position)
            .is_some_and(|before| before.contains(slot))
        {
            return Err(format!(
                "slot {slot} given twice: a slot serves one executor"
            ));
        }
    }
    Ok(())
}

impl<T: FunctionTransport + 'static> Supervisor<T> {
    /// SYS_CAPS, from whichever executor has read it.
    pub(super) fn sys_caps(&self) -> Option<SystemCaps> {
        self.executors
            .iter()
            .find_map(|executor| executor.status.borrow().sys_caps)
    }

    /// How many slots the modem has, once known.
    pub(super) fn slot_count(&self) -> Option<u32> {
        self.sys_caps()
            .map(|caps| caps.slots)
            .filter(|&slots| slots > 0)
            .map(|slots| slots.min(MAX_SLOTS))
    }

    /// How many executors a mapping has (SYS_CAPS, else the functions).
    pub(super) fn mapping_length(&self) -> usize {
        self.sys_caps()
            .and_then(|caps| usize::try_from(caps.executors).ok())
            .filter(|&executors| executors > 0)
            .unwrap_or(self.executors.len())
    }

    /// The mapping as last reported: by a SLOT_MAPPING event, else by the
    /// executors' statuses.
    pub(super) fn current_mapping(&self) -> Vec<u32> {
        if !self.slots.mapping.is_empty() {
            return self.slots.mapping.clone();
        }
        if let Some(first) = self.executors.first() {
            let mapping = first.status.borrow().mapping.clone();
            if !mapping.is_empty() {
                return mapping;
            }
        }
        // By executor number, as the device lists a mapping.
        (0..self.executors.len())
            .map(|number| {
                let executor = self.executors.get(self.function_of(number)?)?;
                executor.status.borrow().slot
            })
            .collect::<Option<Vec<u32>>>()
            .unwrap_or_default()
    }

    /// A slot's state as last reported.
    pub(super) fn slot_state(&self, slot: u32) -> Option<UiccSlotState> {
        let index = usize::try_from(slot).ok()?;
        self.slots.states.get(index).copied().flatten().or_else(|| {
            self.executors
                .iter()
                .find_map(|executor| executor.status.borrow().slots.get(index).copied().flatten())
        })
    }

    /// The key of remembered choices: SYS_CAPS ModemId where the device has
    /// one (it survives a change of USB port and a missing serial number),
    /// else vendor, product and serial or port.
    pub(super) fn modem_id(&self) -> ModemId {
        let modem = &self.modem;
        match self.sys_caps().map(|caps| caps.modem_id) {
            Some(id) if id != 0 => {
                ModemId::new(format!("{:04x}:{:04x}:{id:016x}", modem.vid, modem.pid))
            }
            _ => ModemId::from_usb(
                modem.vid,
                modem.pid,
                modem.serial.as_deref(),
                &modem.usb_path,
            ),
        }
    }

    /// Dual-SIM single-active: one executor with the multi-SIM extensions
    /// and more than one slot.
    fn policy_eligible(&self) -> bool {
        let Some(first) = self.executors.first() else {
            return false;
        };
        let status = first.status.borrow();
        status.multi_sim
            && status
                .sys_caps
                .is_some_and(|caps| caps.executors == 1 && caps.slots >= 2)
    }

    /// Whether policy inputs go to the policy now.
    fn policy_live(&self) -> bool {
        self.slots.policy.is_some() && self.slots.seen && !self.slots.suspended
    }

    /// The policy exists once the modem is known to be DSSA, and sees the
    /// modem once its mapping and every slot's state are known.
    pub(super) fn statuses_changed(&mut self) {
        if self.slots.policy.is_none() && self.policy_eligible() {
            tracing::info!(
                modem = self.modem.index,
                "dual-SIM single-active modem: the slot policy runs ({:?})",
                self.slots.config
            );
            self.slots.policy = Some(SlotPolicy::new(self.slots.config));
        }
        if self.slots.policy.is_none() || self.slots.seen || self.slots.suspended {
            return;
        }
        let Some(count) = self.slot_count() else {
            return;
        };
        let mapping = self.current_mapping();
        if mapping.is_empty() {
            return;
        }
        let mut slots = Vec::new();
        for index in 0..count {
            let Some(state) = self.slot_state(index) else {
                return;
            };
            slots.push(SlotStatus {
                index,
                kind: kind_of(index),
                state,
            });
        }
        let modem_id = self.modem_id();
        let remembered = match self.slots.store.get(&modem_id) {
            Ok(remembered) => remembered,
            Err(error) => {
                tracing::warn!(
                    modem = self.modem.index,
                    "no remembered slot choice: {}",
                    chain(&error)
                );
                None
            }
        };
        self.slots.seen = true;
        self.feed(PolicyInput::ModemSeen {
            modem_id,
            slots,
            mapping,
            remembered,
        });
    }

    /// Gives `input` to the policy and carries out what it asks for, with
    /// what that leads to.
    pub(super) fn feed(&mut self, input: PolicyInput) {
        let Some(policy) = self.slots.policy.as_mut() else {
            return;
        };
        let mut actions: VecDeque<PolicyAction> = policy.handle(Instant::now(), input).into();
        while let Some(action) = actions.pop_front() {
            if let Some(input) = self.carry_out(action) {
                if let Some(policy) = self.slots.policy.as_mut() {
                    actions.extend(policy.handle(Instant::now(), input));
                }
            }
        }
    }

    /// Carries out one action; an input for the policy if it failed at once.
    fn carry_out(&mut self, action: PolicyAction) -> Option<PolicyInput> {
        let modem = self.modem.index;
        match action {
            PolicyAction::SetSlotMapping(mapping) => {
                tracing::info!(modem, ?mapping, "slot policy: setting the slot mapping");
                match self.send_tracked(0, ExecutorCommand::SetSlotMapping(mapping)) {
                    Ok(id) => {
                        self.pending.insert(
                            id,
                            Pending {
                                executor: 0,
                                kind: PendingKind::PolicySet,
                            },
                        );
                        None
                    }
                    Err(error) => {
                        tracing::warn!(modem, "slot policy: the SET was not sent: {error}");
                        Some(PolicyInput::MappingResult {
                            status: Status::Failure,
                            mapping: None,
                        })
                    }
                }
            }
            PolicyAction::SlotSwitchSuggested { from, to, reason } => {
                tracing::info!(
                    modem,
                    "slot policy suggests switching from slot {from} to slot {to} ({reason})"
                );
                let _ = self.signals.send(SlotSignal::Suggested {
                    modem,
                    from,
                    to,
                    reason: reason.to_string(),
                });
                None
            }
            PolicyAction::SlotSwitched { from, to, reason } => {
                tracing::info!(modem, "switched from slot {from} to slot {to} ({reason})");
                let _ = self.signals.send(SlotSignal::Switched {
                    modem,
                    from,
                    to,
                    reason: reason.to_string(),
                });
                None
            }
            PolicyAction::SlotSwitchFailed { to, reason } => {
                tracing::warn!(modem, "switching to slot {to} failed: {reason}");
                None
            }
            PolicyAction::Remember { modem_id, slot } => {
                let _ = self
                    .slots
                    .remember
                    .send((self.slots.store.clone(), modem_id, slot));
                None
            }
            // The next Notification or SlotInfo input re-sends it.
            PolicyAction::RetryOnNextNotification => None,
            PolicyAction::RetryAfter(delay) => {
                tracing::debug!(modem, "slot policy: woken again in {delay:?}");
                self.slots.timer = Some(Box::pin(tokio::time::sleep(delay)));
                None
            }
        }
    }

    pub(super) fn slot_info(&mut self, slot: u32, state: UiccSlotState) {
        if slot >= MAX_SLOTS {
            return;
        }
        if let Ok(index) = usize::try_from(slot) {
            if self.slots.states.len() <= index {
                self.slots.states.resize(index + 1, None);
            }
            if let Some(entry) = self.slots.states.get_mut(index) {
                *entry = Some(state);
            }
        }
        if self.policy_live() {
            self.feed(PolicyInput::SlotInfo { slot, state });
        }
    }

    pub(super) fn slot_mapping(&mut self, set: bool, status: Status, mapping: Option<Vec<u32>>) {
        if let Some(mapping) = &mapping {
            // Success or not, the mapping in an answer is the one in force.
            self.slots.mapping.clone_from(mapping);
        }
        if set {
            self.slots.set_answer = Some((status, mapping));
        } else if let Some(mapping) = mapping {
            if self.policy_live() {
                self.feed(PolicyInput::MappingReported { mapping });
            }
        }
    }

    pub(super) fn notification(&mut self) {
        if self.policy_live() {
            self.feed(PolicyInput::Notification);
        }
    }

    pub(super) fn policy_timer(&mut self) {
        self.slots.timer = None;
        if self.policy_live() {
            self.feed(PolicyInput::Timer);
        }
    }

    pub(super) fn policy_set_done(&mut self, result: Result<(), CommandFailure>) {
        let answer = self.slots.set_answer.take();
        let status = match (&answer, &result) {
            (Some((status, _)), _) => *status,
            (None, Ok(())) => Status::Success,
            (None, Err(failure)) => failure.status.unwrap_or(Status::Failure),
        };
        let mapping = answer.and_then(|(_, mapping)| mapping);
        if self.policy_live() {
            self.feed(PolicyInput::MappingResult { status, mapping });
        }
    }

    pub(super) fn user_set_done(
        &mut self,
        result: Result<(), CommandFailure>,
        reply: oneshot::Sender<Result<Vec<u32>, RequestError>>,
    ) {
        let answered = self
            .slots
            .set_answer
            .take()
            .and_then(|(_, mapping)| mapping);
        if let Some(mapping) = &answered {
            if self.policy_live() {
                self.feed(PolicyInput::MappingReported {
                    mapping: mapping.clone(),
                });
            }
        }
        let outcome = match result {
            Ok(()) => Ok(answered.unwrap_or_else(|| self.current_mapping())),
            Err(failure) => Err(super::device_error(failure)),
        };
        let _ = reply.send(outcome);
    }

    fn slot_switch_under_way(&self) -> bool {
        self.pending.values().any(|pending| {
            matches!(
                pending.kind,
                PendingKind::PolicySet | PendingKind::UserSet(_)
            )
        })
    }

    pub(super) fn set_slot_mapping(
        &mut self,
        mapping: Vec<u32>,
        reply: oneshot::Sender<Result<Vec<u32>, RequestError>>,
    ) {
        let checked = if self.test.is_some() {
            Err(RequestError::NotPossible("TestSlots is running".to_owned()))
        } else if let Some(count) = self.slot_count() {
            check_mapping(&mapping, self.mapping_length(), count)
                .map_err(RequestError::InvalidArgument)
        } else {
            Err(RequestError::NotPossible(
                "the modem has not reported any slots (no SYS_CAPS)".to_owned(),
            ))
        };
        if let Err(error) = checked {
            let _ = reply.send(Err(error));
            return;
        }
        // Device-wide: any executor may send it; executor 0 always exists.
        match self.send_tracked(0, ExecutorCommand::SetSlotMapping(mapping)) {
            Ok(id) => {
                self.pending.insert(
                    id,
                    Pending {
                        executor: 0,
                        kind: PendingKind::UserSet(reply),
                    },
                );
            }
            Err(error) => {
                let _ = reply.send(Err(error));
            }
        }
    }

    pub(super) fn switch_to_slot(&mut self, slot: u32) -> Result<(), RequestError> {
        if self.test.is_some() {
            return Err(RequestError::NotPossible("TestSlots is running".to_owned()));
        }
        if self.slots.policy.is_none() {
            return Err(RequestError::NotPossible(
                "the modem has no slot policy (not a dual-SIM single-active modem)".to_owned(),
            ));
        }
        let count = self.slot_count().unwrap_or(0);
        if slot >= count {
            return Err(RequestError::InvalidArgument(format!(
                "no slot {slot}: the modem has {count} slot(s)"
            )));
        }
        if !self.slots.seen {
            return Err(RequestError::NotPossible(
                "the modem has not reported its slots yet; try again".to_owned(),
            ));
        }
        self.feed(PolicyInput::SwitchToSlot { slot });
        Ok(())
    }

    /// A new policy configuration, from SetPolicy or a reload.
    pub(super) fn set_policy(&mut self, policy: SlotPolicyConfig, reloaded: bool) {
        if self.slots.config != policy {
            tracing::info!(
                modem = self.modem.index,
                reloaded,
                "slot policy now {policy:?}"
            );
        }
        self.slots.config = policy;
        self.feed(PolicyInput::ConfigChanged(policy));
    }

    pub(super) fn refuse_test_reason(&self) -> Option<RequestError> {
        if self.test.is_some() {
            return Some(RequestError::NotPossible(
                "TestSlots is already running".to_owned(),
            ));
        }
        if self.slot_switch_under_way() {
            return Some(RequestError::NotPossible(
                "a slot switch is under way; try again".to_owned(),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_checked_against_executors_and_slots() {
        assert_eq!(check_mapping(&[1], 1, 2), Ok(()));
        assert_eq!(check_mapping(&[1, 0], 2, 2), Ok(()));
        for (mapping, executors, slots) in [
            (&[][..], 1, 2),
            (&[0, 1][..], 1, 2),
            (&[2][..], 1, 2),
            (&[1, 1][..], 2, 2),
        ] {
            assert!(
                check_mapping(mapping, executors, slots).is_err(),
                "{mapping:?}"
            );
        }
    }

    #[test]
    fn slot_zero_is_the_physical_one() {
        assert_eq!(kind_of(0), SlotKind::Physical);
        assert_eq!(kind_of(1), SlotKind::Embedded);
        assert_eq!(kind_of(2), SlotKind::Embedded);
    }
}
