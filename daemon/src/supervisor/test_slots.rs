//! TestSlots: the four checks of the Windows HLK TestSlot suite (seed 004),
//! run against the live modem.
//!
//! | Check | Passes when |
//! | --- | --- |
//! | QuerySlotMapping | DEVICE_SLOT_MAPPINGS query answers with a valid mapping (one slot per executor, each below NumberOfSlots, none twice) |
//! | SetSlotMapping | a SET to each usable slot, and back, answers success with the mapping asked for |
//! | QuerySlotInfo | SLOT_INFO_STATUS answers a state for every slot |
//! | ValidateSlotInfoState | the mapped slot's state agrees with the executor's SUBSCRIBER_READY_STATUS ([`slot_state_agrees`]) |
//!
//! The checks run in a task of their own (see the supervisor's module doc):
//! the mapping, the slot states and the ready state are read first, while
//! the modem is as the user left it; then the SETs. The mapping found is
//! restored at the end, also after a failed check.

use crate::executor::ExecutorStatus;
use crate::executor::{CommandFailure, ExecutorCommand, ExecutorEvent, ExecutorReport};
use crate::modem::{RequestError, SlotCheck};
use mbim_protocol::services::basic_connect::SubscriberReadyState;
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_transport::FunctionTransport;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::slots::check_mapping;
use super::Supervisor;

/// The checks' names, in the order TestSlots reports them (the HLK's).
pub const TEST_NAMES: [&str; 4] = [
    "QuerySlotMapping",
    "SetSlotMapping",
    "QuerySlotInfo",
    "ValidateSlotInfoState",
];

/// How long one step may take: longer than the executor's command timeout
/// (30 s) and a BUSY retry (10 s) together.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// After QuerySlots is done, how long slot answers still may trickle in.
const SLOT_ANSWERS_GRACE: Duration = Duration::from_secs(5);

/// Whether a slot's state (SLOT_INFO_STATUS) agrees with the ready state of
/// the executor mapped to it (SUBSCRIBER_READY_STATUS), the HLK's
/// ValidateSlotInfoState:
///
/// | Slot state | Ready states that agree |
/// | --- | --- |
/// | Empty, OffEmpty | SimNotInserted |
/// | ActiveEsimNoProfiles | NoEsimProfile (MBIMEx's ReadyState for it) |
/// | Active, ActiveEsim | Initialized, DeviceLocked, NotActivated |
/// | Error | BadSim, Failure |
/// | Undetermined, Off, NotReady | NotInitialized |
///
/// A value the specification does not define agrees with nothing.
pub fn slot_state_agrees(slot: UiccSlotState, ready: SubscriberReadyState) -> bool {
    use SubscriberReadyState as Ready;
    use UiccSlotState as Slot;
    match slot {
        Slot::Empty | Slot::OffEmpty => ready == Ready::SimNotInserted,
        Slot::ActiveEsimNoProfiles => ready == Ready::NoEsimProfile,
        Slot::Active | Slot::ActiveEsim => matches!(
            ready,
            Ready::Initialized | Ready::DeviceLocked | Ready::NotActivated
        ),
        Slot::Error => matches!(ready, Ready::BadSim | Ready::Failure),
        Slot::Undetermined | Slot::Off | Slot::NotReady => ready == Ready::NotInitialized,
        Slot::Unknown(_) => false,
    }
}

/// A slot a SET may move the executor to: a card is in it and ready.
fn usable(state: Option<UiccSlotState>) -> bool {
    matches!(
        state,
        Some(
            UiccSlotState::Active | UiccSlotState::ActiveEsim | UiccSlotState::ActiveEsimNoProfiles
        )
    )
}

/// `mapping` with executor 0 on `slot`; an executor that held it takes
/// executor 0's old slot (a slot twice is refused).
fn mapping_with(mapping: &[u32], slot: u32) -> Vec<u32> {
    let old = mapping.first().copied();
    mapping
        .iter()
        .enumerate()
        .map(|(executor, &current)| {
            if executor == 0 {
                slot
            } else if current == slot {
                old.unwrap_or(current)
            } else {
                current
            }
        })
        .collect()
}

/// A TestSlots run, as the supervisor's loop sees it.
pub(super) struct TestRun {
    events: mpsc::UnboundedSender<ExecutorReport>,
    done: oneshot::Receiver<Vec<SlotCheck>>,
    reply: oneshot::Sender<Result<Vec<SlotCheck>, RequestError>>,
}

impl TestRun {
    /// Hands the task an event the loop received.
    pub(super) fn forward(&self, report: &ExecutorReport) {
        let _ = self.events.send(report.clone());
    }
}

/// Resolves when the running TestSlots task ends; never without one.
pub(super) async fn finished(test: &mut Option<TestRun>) -> Option<Vec<SlotCheck>> {
    match test {
        Some(run) => (&mut run.done).await.ok(),
        None => std::future::pending().await,
    }
}

impl<T: FunctionTransport + 'static> Supervisor<T> {
    pub(super) fn test_slots(
        &mut self,
        reply: oneshot::Sender<Result<Vec<SlotCheck>, RequestError>>,
    ) {
        if let Some(error) = self.refuse_test_reason() {
            let _ = reply.send(Err(error));
            return;
        }
        // Executor 0 by number: the one a mapping's first slot belongs to.
        let Some(first) = self
            .function_of(0)
            .and_then(|function| self.executors.get(function))
            .filter(|first| first.running)
        else {
            let _ = reply.send(Err(RequestError::Gone));
            return;
        };
        if !first.status.borrow().multi_sim {
            let _ = reply.send(Err(RequestError::NotPossible(
                "the modem has no multi-SIM extensions: no slots to test".to_owned(),
            )));
            return;
        }
        let Some(slots) = self.slot_count() else {
            let _ = reply.send(Err(RequestError::NotPossible(
                "the modem has not reported its slots yet; try again".to_owned(),
            )));
            return;
        };
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = oneshot::channel();
        let tester = Tester {
            commands: first.commands.clone(),
            status: first.status.clone(),
            events: events_rx,
            ids: Arc::clone(&self.ids),
            slots,
            executors: self.mapping_length(),
            known_mapping: self.current_mapping(),
        };
        tracing::info!(modem = self.modem.index, "TestSlots: running");
        // The switches the checks make are not the user's or the SIM's doing.
        self.slots.suspended = true;
        self.slots.timer = None;
        tokio::spawn(async move {
            let checks = tester.run().await;
            let _ = done_tx.send(checks);
        });
        self.test = Some(TestRun {
            events: events_tx,
            done: done_rx,
            reply,
        });
    }

    /// The checks are done: the policy sees the modem afresh (as it is now),
    /// then the asker gets the checks.
    pub(super) fn test_finished(&mut self, checks: Option<Vec<SlotCheck>>) {
        let Some(run) = self.test.take() else {
            return;
        };
        self.slots.suspended = false;
        self.slots.seen = false;
        self.slots.set_answer = None;
        self.statuses_changed();
        let outcome = match checks {
            Some(checks) => {
                for check in &checks {
                    tracing::info!(
                        modem = self.modem.index,
                        passed = check.passed,
                        "TestSlots {}: {}",
                        check.name,
                        check.details
                    );
                }
                Ok(checks)
            }
            None => Err(RequestError::Gone),
        };
        let _ = run.reply.send(outcome);
    }
}

/// The TestSlots task: its own tracked commands to executor 0, every
/// executor event forwarded by the loop.
struct Tester {
    commands: mpsc::Sender<ExecutorCommand>,
    status: watch::Receiver<ExecutorStatus>,
    events: mpsc::UnboundedReceiver<ExecutorReport>,
    ids: Arc<AtomicU64>,
    slots: u32,
    executors: usize,
    known_mapping: Vec<u32>,
}

fn failure(message: &str) -> CommandFailure {
    CommandFailure {
        status: None,
        message: message.to_owned(),
        timed_out: false,
    }
}

fn check(name: &str, passed: bool, details: String) -> SlotCheck {
    SlotCheck {
        name: name.to_owned(),
        passed,
        details,
    }
}

fn describe(failure: &CommandFailure) -> String {
    match failure.status {
        Some(status) => format!("{} ({status})", failure.message),
        None => failure.message.clone(),
    }
}

impl Tester {
    async fn run(mut self) -> Vec<SlotCheck> {
        let (query_mapping, found) = self.query_mapping().await;
        let original = found.unwrap_or_else(|| self.known_mapping.clone());
        let (query_info, states) = self.query_slot_info().await;
        let validate = self.validate(&original, &states).await;
        let set = self.set_mappings(&original, &states).await;
        vec![query_mapping, set, query_info, validate]
    }

    /// Sends `command` tracked and collects executor 0's events until its
    /// `Done`.
    async fn tracked(
        &mut self,
        command: ExecutorCommand,
    ) -> (Result<(), CommandFailure>, Vec<ExecutorEvent>) {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let tracked = ExecutorCommand::Tracked {
            id,
            command: Box::new(command),
        };
        let mut seen = Vec::new();
        if self.commands.send(tracked).await.is_err() {
            return (Err(failure("the executor has ended")), seen);
        }
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Err(_) => {
                    let message = format!("no answer within {} s", STEP_TIMEOUT.as_secs());
                    return (Err(failure(&message)), seen);
                }
                Ok(None) => return (Err(failure("the modem is gone")), seen),
                Ok(Some(report)) if report.executor != 0 => {}
                Ok(Some(ExecutorReport {
                    event: ExecutorEvent::Done { id: done, result },
                    ..
                })) if done == id => return (result, seen),
                Ok(Some(report)) => seen.push(report.event),
            }
        }
    }

    async fn query_mapping(&mut self) -> (SlotCheck, Option<Vec<u32>>) {
        let name = "QuerySlotMapping";
        let (result, events) = self.tracked(ExecutorCommand::QuerySlotMapping).await;
        let answer = events.into_iter().rev().find_map(|event| match event {
            ExecutorEvent::SlotMapping {
                set: false,
                status,
                mapping,
            } => Some((status, mapping)),
            _ => None,
        });
        let check = match (result, answer) {
            (Err(failure), _) => check(
                name,
                false,
                format!("the query failed: {}", describe(&failure)),
            ),
            (Ok(()), None) => check(name, false, "the query reported no answer".to_owned()),
            (Ok(()), Some((status, None))) => check(
                name,
                false,
                format!("the answer ({status}) carried no mapping"),
            ),
            (Ok(()), Some((status, Some(mapping)))) => {
                if !status.is_success() {
                    check(
                        name,
                        false,
                        format!("the device answered {status} with {mapping:?}"),
                    )
                } else {
                    match check_mapping(&mapping, self.executors, self.slots) {
                        Ok(()) => {
                            let details = format!("mapping {mapping:?} (slot of each executor)");
                            return (check(name, true, details), Some(mapping));
                        }
                        Err(why) => check(
                            name,
                            false,
                            format!("mapping {mapping:?} is invalid: {why}"),
                        ),
                    }
                }
            }
        };
        (check, None)
    }

    async fn query_slot_info(&mut self) -> (SlotCheck, Vec<Option<UiccSlotState>>) {
        let name = "QuerySlotInfo";
        let count = usize::try_from(self.slots).unwrap_or(0);
        let mut states: Vec<Option<UiccSlotState>> = vec![None; count];
        let record = |event: &ExecutorEvent, states: &mut Vec<Option<UiccSlotState>>| {
            if let ExecutorEvent::SlotInfo { slot, state } = event {
                if let Some(entry) = usize::try_from(*slot)
                    .ok()
                    .and_then(|slot| states.get_mut(slot))
                {
                    *entry = Some(*state);
                }
            }
        };
        let (result, events) = self.tracked(ExecutorCommand::QuerySlots).await;
        for event in &events {
            record(event, &mut states);
        }
        if let Err(failure) = result {
            let details = format!("the query failed: {}", describe(&failure));
            return (check(name, false, details), states);
        }
        let grace = Instant::now() + SLOT_ANSWERS_GRACE;
        while states.iter().any(Option::is_none) {
            match tokio::time::timeout_at(grace, self.events.recv()).await {
                Ok(Some(report)) if report.executor == 0 => record(&report.event, &mut states),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let listed: Vec<String> = states
            .iter()
            .enumerate()
            .map(|(slot, state)| match state {
                Some(state) => format!("slot {slot}: {state:?}"),
                None => format!("slot {slot}: no answer"),
            })
            .collect();
        let passed = states.iter().all(Option::is_some);
        (check(name, passed, listed.join(", ")), states)
    }

    async fn validate(&mut self, mapping: &[u32], states: &[Option<UiccSlotState>]) -> SlotCheck {
        let name = "ValidateSlotInfoState";
        let Some(&slot) = mapping.first() else {
            return check(
                name,
                false,
                "no mapping: the executor's slot is unknown".to_owned(),
            );
        };
        let Some(state) = usize::try_from(slot)
            .ok()
            .and_then(|index| states.get(index))
            .copied()
            .flatten()
        else {
            return check(name, false, format!("slot {slot} reported no state"));
        };
        // A SIM still initialising says nothing yet; wait for it to settle.
        let settled = |status: &ExecutorStatus| {
            status
                .ready_state
                .is_some_and(|ready| ready != SubscriberReadyState::NotInitialized)
        };
        let _ = tokio::time::timeout(STEP_TIMEOUT, self.status.wait_for(settled)).await;
        let ready = self.status.borrow().ready_state;
        match ready {
            None => check(
                name,
                false,
                format!("slot {slot} is {state:?}; the executor reported no ready state"),
            ),
            Some(ready) => {
                let passed = slot_state_agrees(state, ready);
                let verdict = if passed { "agree" } else { "disagree" };
                check(
                    name,
                    passed,
                    format!("slot {slot} is {state:?}, the executor's ready state is {ready:?}: they {verdict}"),
                )
            }
        }
    }

    /// One SET; the mapping the device answered, or why not.
    async fn set(&mut self, mapping: &[u32]) -> Result<Vec<u32>, (String, Option<Vec<u32>>)> {
        let (result, events) = self
            .tracked(ExecutorCommand::SetSlotMapping(mapping.to_vec()))
            .await;
        let answered = events.into_iter().rev().find_map(|event| match event {
            ExecutorEvent::SlotMapping {
                set: true, mapping, ..
            } => Some(mapping),
            _ => None,
        });
        match (result, answered) {
            (Ok(()), Some(Some(answered))) => Ok(answered),
            (Ok(()), _) => Err(("the answer carried no mapping".to_owned(), None)),
            (Err(failure), answered) => Err((describe(&failure), answered.flatten())),
        }
    }

    async fn set_mappings(
        &mut self,
        original: &[u32],
        states: &[Option<UiccSlotState>],
    ) -> SlotCheck {
        let name = "SetSlotMapping";
        if original.is_empty() {
            return check(name, false, "no mapping to start from".to_owned());
        }
        let selected = original.first().copied();
        let targets: Vec<u32> = (0..self.slots)
            .filter(|&slot| Some(slot) != selected)
            .filter(|&slot| {
                usable(
                    usize::try_from(slot)
                        .ok()
                        .and_then(|i| states.get(i))
                        .copied()
                        .flatten(),
                )
            })
            .collect();
        let mut steps = Vec::new();
        for &target in &targets {
            steps.push(mapping_with(original, target));
            steps.push(original.to_vec());
        }
        if steps.is_empty() {
            // One usable slot: the SET of the mapping in force still must work.
            steps.push(original.to_vec());
        }
        let mut details = Vec::new();
        let mut passed = true;
        let mut current = Some(original.to_vec());
        for wanted in steps {
            match self.set(&wanted).await {
                Ok(answered) if answered == wanted => {
                    details.push(format!("{wanted:?}: done"));
                    current = Some(answered);
                }
                Ok(answered) => {
                    details.push(format!(
                        "asked for {wanted:?}, the device answered {answered:?}"
                    ));
                    current = Some(answered);
                    passed = false;
                    break;
                }
                Err((why, answered)) => {
                    details.push(format!("{wanted:?}: {why}"));
                    current = answered;
                    passed = false;
                    break;
                }
            }
        }
        if current.as_deref() != Some(original) {
            match self.set(original).await {
                Ok(answered) if answered == original => {
                    details.push(format!("restored {original:?}"));
                }
                Ok(answered) => details.push(format!(
                    "restoring {original:?}: the device answered {answered:?}"
                )),
                Err((why, _)) => details.push(format!("restoring {original:?}: {why}")),
            }
        }
        if targets.is_empty() {
            details.push("no other usable slot".to_owned());
        }
        check(name, passed, details.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_states_and_ready_states_agree_per_the_table() {
        use SubscriberReadyState as Ready;
        use UiccSlotState as Slot;
        let agree = [
            (Slot::Empty, Ready::SimNotInserted),
            (Slot::OffEmpty, Ready::SimNotInserted),
            (Slot::ActiveEsimNoProfiles, Ready::NoEsimProfile),
            (Slot::Active, Ready::Initialized),
            (Slot::Active, Ready::DeviceLocked),
            (Slot::Active, Ready::NotActivated),
            (Slot::ActiveEsim, Ready::Initialized),
            (Slot::Error, Ready::BadSim),
            (Slot::Error, Ready::Failure),
            (Slot::NotReady, Ready::NotInitialized),
            (Slot::Undetermined, Ready::NotInitialized),
            (Slot::Off, Ready::NotInitialized),
        ];
        for (slot, ready) in agree {
            assert!(slot_state_agrees(slot, ready), "{slot:?} {ready:?}");
        }
        let disagree = [
            (Slot::Empty, Ready::Initialized),
            (Slot::OffEmpty, Ready::NoEsimProfile),
            (Slot::Active, Ready::SimNotInserted),
            (Slot::ActiveEsim, Ready::NoEsimProfile),
            (Slot::ActiveEsimNoProfiles, Ready::Initialized),
            (Slot::Error, Ready::Initialized),
            (Slot::Unknown(42), Ready::Initialized),
            (Slot::Active, Ready::Unknown(42)),
        ];
        for (slot, ready) in disagree {
            assert!(!slot_state_agrees(slot, ready), "{slot:?} {ready:?}");
        }
    }

    #[test]
    fn moving_executor_zero_swaps_with_the_executor_holding_the_slot() {
        assert_eq!(mapping_with(&[0], 1), vec![1]);
        assert_eq!(mapping_with(&[0, 1], 1), vec![1, 0]);
        assert_eq!(mapping_with(&[0, 1, 2], 2), vec![2, 1, 0]);
    }

    #[test]
    fn only_ready_cards_are_switched_to() {
        assert!(usable(Some(UiccSlotState::Active)));
        assert!(usable(Some(UiccSlotState::ActiveEsim)));
        assert!(!usable(Some(UiccSlotState::Empty)));
        assert!(!usable(Some(UiccSlotState::Error)));
        assert!(!usable(None));
    }
}
