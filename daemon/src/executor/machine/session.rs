//! The session's life and the bookkeeping every phase shares: OPEN refused,
//! CLOSE, resets; events and tracked outcomes; what an ending session
//! abandons; device anomalies, undecodable answers, failed or BUSY commands
//! and their retries.

use super::step::Step;
use super::{Action, ExecutorMachine, Link, RequestFailure};
use crate::executor::api::{CommandFailure, ExecutorEvent, ExecutorState};
use crate::executor::policy::reconnect_delay;
use crate::logging::chain;
use mbim_protocol::codec::Payload;
use mbim_protocol::status::{ProtocolError, Status};
use std::time::Instant;

impl ExecutorMachine {
    pub(super) fn open(&mut self) {
        self.link = Link::Opening;
        self.status.state = ExecutorState::Opening;
        self.actions.push_back(Action::Open);
    }

    pub(super) fn open_refused(&mut self, now: Instant, reason: &str) {
        self.open_refusals = self.open_refusals.saturating_add(1);
        tracing::warn!(executor = self.log_number(), "{reason}");
        if self.link != Link::Closed && self.open_refusals <= 2 {
            // A device that still believes in an earlier session refuses
            // OPEN; CLOSE ends that session, then OPEN again.
            self.link = Link::Closing;
            self.actions.push_back(Action::Close);
            return;
        }
        self.link = Link::Closed;
        self.status.state = ExecutorState::Failed;
        self.status.reason = Some(reason.to_owned());
        let delay = reconnect_delay(
            self.open_refusals.saturating_sub(1),
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.reopen_at = Some(now.checked_add(delay).unwrap_or(now));
    }

    pub(super) fn closed(&mut self) {
        self.link = Link::Closed;
        self.abandon("the session closed");
        if self.shutting_down {
            self.status.state = ExecutorState::Stopped;
            self.status.reason = None;
            self.report(ExecutorEvent::Stopped);
            self.finish();
        } else if self.suspending.is_some() {
            self.asleep();
        } else if self.reopen_at.is_none() && !self.suspended {
            self.open();
        }
    }

    /// Forgets what the session knew and starts a new one (CLOSE, OPEN).
    pub(super) fn reset(&mut self, reason: &str) {
        tracing::warn!(
            executor = self.log_number(),
            "resetting the session: {reason}"
        );
        self.abandon(reason);
        self.lost(reason);
        self.forget_device();
        self.status.resets = self.status.resets.saturating_add(1);
        self.status.state = ExecutorState::Resetting;
        self.status.reason = Some(reason.to_owned());
        self.retry_at = None;
        self.busy_until = None;
        match self.link {
            Link::Open | Link::Opening => {
                self.link = Link::Closing;
                self.actions.push_back(Action::Close);
            }
            Link::Closed => self.open(),
            Link::Closing => {}
        }
    }

    pub(super) fn forget_device(&mut self) {
        self.step = None;
        // A new session agrees on its version anew.
        self.version_asked = false;
        self.mbimex = mbim_protocol::mbimex::MbimExVersion::V1;
        self.status.mbimex = self.mbimex;
        self.status.radio = Default::default();
        self.caps = false;
        self.multi_sim = None;
        self.sys_caps = false;
        self.slot_mapping = false;
        self.subscribed = false;
        self.radio_sw = None;
        self.radio_hw = None;
        // A new session may find the lock lifted, or back (a reset).
        self.fcc = super::fcc::FccPhase::default();
        self.pin_known = false;
        self.home_provider = false;
        self.signal_known = false;
        self.register_requested = false;
        self.status.ready_state = None;
        self.status.register_state = None;
        self.status.packet_service = None;
    }

    pub(super) fn finish(&mut self) {
        self.finished = true;
        self.actions.push_back(Action::Finish);
    }

    pub(super) fn report(&mut self, event: ExecutorEvent) {
        self.actions.push_back(Action::Report(event));
    }

    /// Reports a tracked command's outcome (nothing for an untracked one).
    pub(super) fn done(&mut self, tracked: Option<u64>, result: Result<(), CommandFailure>) {
        if let Some(id) = tracked {
            self.report(ExecutorEvent::Done { id, result });
        }
    }

    pub(super) fn fail(&mut self, id: u64, status: Option<Status>, message: &str) {
        self.done(
            Some(id),
            Err(CommandFailure {
                status,
                message: message.to_owned(),
                timed_out: false,
            }),
        );
    }

    pub(super) fn fail_all(&mut self, ids: Vec<u64>, status: Option<Status>, message: &str) {
        for id in ids {
            self.fail(id, status, message);
        }
    }

    /// The session (or the task) ends under whatever was asked of it: every
    /// tracked command in flight or waiting fails, so that nobody waits for
    /// an answer that cannot come. Untracked requests stay wanted and go to
    /// the next session.
    pub(super) fn abandon(&mut self, reason: &str) {
        if let Some(id) = self.step.take().and_then(|step| step.tracked()) {
            self.fail(id, None, reason);
        }
        self.abandon_pending(reason);
    }

    pub(super) fn abandon_pending(&mut self, reason: &str) {
        if let Some((_, Some(id))) = self.pending_pin {
            self.pending_pin = None;
            self.fail(id, None, reason);
        }
        if let Some((_, _, Some(id))) = self.pending_puk {
            self.pending_puk = None;
            self.fail(id, None, reason);
        }
        let (tracked, untracked): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_pin_changes)
            .into_iter()
            .partition(|(_, tracked)| tracked.is_some());
        self.pending_pin_changes = untracked.into();
        self.fail_all(
            tracked.into_iter().filter_map(|(_, id)| id).collect(),
            None,
            reason,
        );
        if let Some((_, Some(id))) = self.pending_slot_mapping {
            self.pending_slot_mapping = None;
            self.fail(id, None, reason);
        }
        if let Some(Some(id)) = self.pending_scan.take() {
            self.fail(id, None, reason);
        }
        if let Some((_, Some(id))) = self.pending_register.take() {
            self.fail(id, None, reason);
        }
        if let Some(Some(id)) = self.pending_reset.take() {
            self.fail(id, None, reason);
        }
        self.slots_to_query.clear();
        self.slot_query_failure = None;
        let waiters = std::mem::take(&mut self.radio_waiters);
        self.fail_all(waiters, None, reason);
        let waiters = std::mem::take(&mut self.slot_query_waiters);
        self.fail_all(waiters, None, reason);
        let waiters = std::mem::take(&mut self.mapping_waiters);
        self.fail_all(waiters, None, reason);
    }

    pub(super) fn misbehaved(&mut self, now: Instant, what: &str) {
        let verdict = self.anomalies.record(now);
        if verdict.suppressed_before > 0 {
            tracing::warn!(
                executor = self.log_number(),
                "{} more device anomalies were not logged",
                verdict.suppressed_before
            );
        }
        if verdict.log {
            tracing::warn!(executor = self.log_number(), "device anomaly: {what}");
        }
        if verdict.reset {
            self.reset("too many device anomalies");
        }
    }

    pub(super) fn decode<T: Payload>(
        &mut self,
        now: Instant,
        what: &str,
        bytes: &[u8],
    ) -> Option<T> {
        match T::decode(bytes) {
            Ok(value) => Some(value),
            Err(error) => {
                self.misbehaved(now, &format!("undecodable {what}: {}", chain(&error)));
                None
            }
        }
    }

    /// A lifecycle command failed: retry it after a growing pause.
    pub(super) fn retry_later(&mut self, now: Instant, reason: String) {
        let delay = reconnect_delay(
            self.step_failures,
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.step_failures = self.step_failures.saturating_add(1);
        self.retry_at = Some(now.checked_add(delay).unwrap_or(now));
        self.retry_kind = self.handling;
        self.status.reason = Some(reason);
    }

    pub(super) fn request_failed(&mut self, now: Instant, step: &Step, failure: &RequestFailure) {
        self.handling = Some(std::mem::discriminant(step));
        let message = match failure {
            RequestFailure::TimedOut => format!(
                "the device did not answer within {} s",
                self.config.command_timeout.as_secs_f32()
            ),
            RequestFailure::FunctionError(error) => format!("the device failed it ({error})"),
            RequestFailure::Cancelled => "the session ended".to_owned(),
            RequestFailure::Refused(why) => why.clone(),
        };
        let command_failure = CommandFailure {
            status: None,
            message,
            timed_out: matches!(failure, RequestFailure::TimedOut),
        };
        // Waiters fail too: the step is retried, but maybe not soon.
        let waiters = match step {
            Step::RadioQuery | Step::RadioSet => std::mem::take(&mut self.radio_waiters),
            Step::SlotMappings => std::mem::take(&mut self.mapping_waiters),
            Step::SlotInfoQuery(_) => std::mem::take(&mut self.slot_query_waiters),
            _ => Vec::new(),
        };
        for id in step.tracked().into_iter().chain(waiters) {
            self.done(Some(id), Err(command_failure.clone()));
        }
        match failure {
            RequestFailure::FunctionError(ProtocolError::NotOpened) => {
                self.reset("the device has no session (NOT_OPENED)");
            }
            RequestFailure::Cancelled => {}
            // Not answering the version is how a 1.0 function may say it.
            _ if *step == Step::Version => self.version_unanswered(),
            other => {
                match step {
                    Step::Deactivate => self.deactivation_unconfirmed = true,
                    Step::Connect { .. } => self.activation_unconfirmed = true,
                    _ => {}
                }
                // A further session whose deactivation went unanswered no
                // longer counts as up: session 0's own deactivation (or
                // loss) follows, and the device drops it with session 0.
                if let Step::SessionDeactivate { session_id } = step {
                    self.session_deactivate_answer(*session_id);
                }
                self.misbehaved(now, &format!("{step:?} failed: {other:?}"));
                if self.step.is_none() && self.link == Link::Open {
                    self.retry_later(now, format!("{step:?} failed: {other:?}"));
                }
            }
        }
    }

    /// A BUSY answer: a tracked command fails (its owner retries), an untracked
    /// one stays wanted, and nothing is sent until the device notifies (or
    /// `busy_retry` passes).
    pub(super) fn busy(&mut self, now: Instant, step: &Step, status: Status, buffer: &[u8]) {
        match step {
            Step::SlotMappingSet { slots, tracked } => {
                self.slot_mapping_answer(now, true, status, buffer);
                match tracked {
                    // Its owner retries (on the next notification).
                    Some(id) => self.fail(*id, Some(status), "the device is busy"),
                    // Asked for once by the supervisor: it stays asked for.
                    None => {
                        self.pending_slot_mapping
                            .get_or_insert_with(|| (slots.clone(), None));
                    }
                }
            }
            Step::PinChange { op, tracked: None } => {
                self.pending_pin_changes.push_front((op.clone(), None))
            }
            other => {
                if let Some(id) = other.tracked() {
                    self.fail(id, Some(status), "the device is busy");
                }
            }
        }
        // Retried on the device's next notification (or after busy_retry).
        tracing::info!(executor = self.log_number(), "device busy; {step:?} waits");
        self.busy_until = now.checked_add(self.config.busy_retry);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent, ExecutorState};
    use mbim_protocol::codec::Payload;
    use mbim_protocol::services::basic_connect::{self as bc};
    use mbim_protocol::status::Status;
    use std::time::{Duration, Instant};

    #[test]
    fn session_troubles_reopen() {
        let now = Instant::now();
        // (input while connected) -> actions it leads to before the reopen
        let table = [
            (Input::NotOpened, vec!["link-down", "close", "open"]),
            (Input::OpenFailed(Status::Failure), vec![]),
            (Input::TransportGone, vec!["link-down", "gone", "finish"]),
            (
                Input::Command(ExecutorCommand::Shutdown),
                vec!["send connect", "link-down", "close", "stopped", "finish"],
            ),
        ];
        for (input, expected) in table {
            let mut machine = ExecutorMachine::new(test_config());
            let mut device = FakeDevice::default();
            run(&mut machine, &mut device, now);
            machine.handle(now, input.clone());
            let mut seen = Vec::new();
            while let Some(action) = machine.poll_action() {
                seen.push(match action {
                    Action::Open => "open",
                    Action::Close => {
                        machine.handle(now, Input::Closed);
                        "close"
                    }
                    Action::Send(request) => {
                        let (status, information_buffer) = device.answer(&request);
                        machine.handle(
                            now,
                            Input::Response {
                                status,
                                information_buffer,
                            },
                        );
                        if request.name == "connect" {
                            "send connect"
                        } else {
                            "send"
                        }
                    }
                    Action::Report(ExecutorEvent::LinkDown { .. }) => "link-down",
                    Action::Report(ExecutorEvent::Gone) => "gone",
                    Action::Report(ExecutorEvent::Stopped) => "stopped",
                    Action::Report(_) => "report",
                    Action::LookupApns(_) | Action::RememberApn { .. } => "apn",
                    Action::Finish => "finish",
                    Action::RunFccHook(_) => "fcc-hook",
                });
                if seen.last() == Some(&"open") {
                    break;
                }
            }
            assert_eq!(seen, expected, "{input:?}");
        }
    }

    #[test]
    fn a_refused_open_is_closed_and_opened_again_then_backed_off() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        assert_eq!(machine.poll_action(), Some(Action::Open));
        let mut seen = Vec::new();
        for _ in 0..3 {
            machine.handle(now, Input::OpenFailed(Status::Failure));
            while let Some(action) = machine.poll_action() {
                if action == Action::Close {
                    machine.handle(now, Input::Closed);
                }
                seen.push(action);
            }
        }
        assert_eq!(
            seen,
            [Action::Close, Action::Open, Action::Close, Action::Open]
        );
        assert_eq!(machine.status().state, ExecutorState::Failed);
        let due = machine.poll_timeout().unwrap();
        assert_eq!(due, now + Duration::from_secs(4));
        machine.handle_timeout(due);
        assert_eq!(machine.poll_action(), Some(Action::Open));
    }

    #[test]
    fn busy_waits_for_the_next_notification() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice {
            busy_connects: 1,
            ..FakeDevice::default()
        };
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent.last(), Some(&("connect", true)));
        assert!(events.is_empty());
        assert_eq!(machine.poll_timeout(), Some(now + Duration::from_secs(10)));
        // Any indication is the device saying it can take commands again.
        indicate(
            &mut machine,
            now,
            bc::cid::SignalState::ID,
            bc::SignalStateInfo {
                rssi: 20,
                error_rate: 0,
                signal_strength_interval: 0,
                rssi_threshold: 0,
                error_rate_threshold: 0,
            }
            .encode(),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        assert_eq!(machine.status().rssi, Some(20));
    }
}
