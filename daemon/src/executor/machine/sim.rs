//! The SIM and its PINs: SUBSCRIBER_READY_STATUS, the PIN CID (query, PIN1
//! and PUK1 entry, change, enabling and disabling), and the configured
//! PIN's one try per SIM.

use super::step::Step;
use super::{ExecutorMachine, Next, Request};
use crate::executor::api::{CommandFailure, ExecutorState, PinStatus};
use crate::executor::policy::mask_personal;
use crate::executor::profile::Secret;
use mbim_protocol::codec::Empty;
use mbim_protocol::services::basic_connect::{
    self as bc, PinOperation, PinState, PinType, SubscriberReadyState,
};
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{Break, Continue};
use std::time::Instant;

/// A PIN1 operation other than entering it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PinChange {
    Change { old: Secret, new: Secret },
    Enabled { pin: Secret, enabled: bool },
}

impl PinChange {
    pub(super) fn name(&self) -> &'static str {
        match self {
            PinChange::Change { .. } => "PIN change",
            PinChange::Enabled { enabled: true, .. } => "enabling PIN1",
            PinChange::Enabled { enabled: false, .. } => "disabling PIN1",
        }
    }

    pub(super) fn request(&self) -> Request {
        let set = match self {
            PinChange::Change { old, new } => bc::PinSet {
                pin_type: PinType::Pin1,
                pin_operation: PinOperation::Change,
                pin: old.expose().to_owned(),
                new_pin: new.expose().to_owned(),
            },
            PinChange::Enabled { pin, enabled } => bc::PinSet {
                pin_type: PinType::Pin1,
                pin_operation: if *enabled {
                    PinOperation::Enable
                } else {
                    PinOperation::Disable
                },
                pin: pin.expose().to_owned(),
                new_pin: String::new(),
            },
        };
        Request::set::<bc::cid::Pin>(&set)
    }
}

impl ExecutorMachine {
    /// The SIM once the radio is on: its ready state, unlocking it when it
    /// asks for a PIN; a SIM not ready is waited for.
    pub(super) fn next_sim_request(&mut self, now: Instant) -> Next {
        match self.status.ready_state {
            None => {
                return Break(Some((
                    Step::ReadyQuery,
                    Request::query::<bc::cid::SubscriberReadyStatus>(&Empty),
                )));
            }
            Some(SubscriberReadyState::Initialized) => {
                self.fail_pending_entries(true, false, "PIN1 is not required");
                self.fail_pending_entries(false, true, "PUK1 is not required");
            }
            Some(SubscriberReadyState::DeviceLocked) => return Break(self.unlock()),
            Some(other) => {
                if other != SubscriberReadyState::NotInitialized {
                    self.fail_pending_entries(true, true, &format!("SIM {other}"));
                }
                if other == SubscriberReadyState::NotInitialized && self.ready_requery_at.is_none()
                {
                    // Not every device notifies the end of SIM initialization.
                    self.ready_requery_at = now.checked_add(self.config.command_timeout);
                }
                self.wait(ExecutorState::WaitingForSim, Some(format!("SIM {other}")));
                return Break(None);
            }
        }
        Continue(())
    }

    /// The configured PIN for the SIM present: by its ICCID, else the
    /// executor-wide one.
    pub(super) fn configured_pin(&self) -> Option<&Secret> {
        self.config
            .pins
            .iter()
            .find(|(iccid, _)| !iccid.is_empty() && *iccid == self.status.iccid)
            .map(|(_, pin)| pin)
            .or(self.config.pin.as_ref())
    }

    fn unlock(&mut self) -> Option<(Step, Request)> {
        if !self.pin_known {
            return Some((Step::PinQuery, Request::query::<bc::cid::Pin>(&Empty)));
        }
        let pin = self.status.pin;
        match pin.pin_type {
            Some(PinType::Pin1) => {
                self.fail_pending_entries(false, true, "PUK1 is not required");
                let (secret, configured, tracked) =
                    if let Some((pin, tracked)) = self.pending_pin.take() {
                        (pin, false, tracked)
                    } else if let (Some(pin), false) =
                        (self.configured_pin().cloned(), self.configured_pin_tried)
                    {
                        self.configured_pin_tried = true;
                        (pin, true, None)
                    } else {
                        let reason = if pin.configured_pin_refused {
                            "PIN1 required; the configured PIN was refused"
                        } else {
                            "PIN1 required"
                        };
                        self.wait(ExecutorState::Locked, Some(reason.to_owned()));
                        return None;
                    };
                tracing::info!(executor = self.log_number(), configured, "entering PIN1");
                let set = bc::PinSet {
                    pin_type: PinType::Pin1,
                    pin_operation: PinOperation::Enter,
                    pin: secret.expose().to_owned(),
                    new_pin: String::new(),
                };
                Some((
                    Step::PinEnter {
                        configured,
                        tracked,
                    },
                    Request::set::<bc::cid::Pin>(&set),
                ))
            }
            Some(PinType::Puk1) => {
                self.fail_pending_entries(true, false, "PIN1 is blocked; PUK1 required");
                let Some((puk, new_pin, tracked)) = self.pending_puk.take() else {
                    self.wait(ExecutorState::Locked, Some("PUK1 required".to_owned()));
                    return None;
                };
                tracing::info!(executor = self.log_number(), "entering PUK1");
                let set = bc::PinSet {
                    pin_type: PinType::Puk1,
                    pin_operation: PinOperation::Enter,
                    pin: puk.expose().to_owned(),
                    new_pin: new_pin.expose().to_owned(),
                };
                Some((
                    Step::PukEnter { tracked },
                    Request::set::<bc::cid::Pin>(&set),
                ))
            }
            other => {
                let reason = match other {
                    Some(PinType::None) | None => "the SIM is blocked".to_owned(),
                    Some(other) => format!("{other} required"),
                };
                self.fail_pending_entries(true, true, &reason);
                self.wait(ExecutorState::Locked, Some(reason));
                None
            }
        }
    }

    /// Fails the tracked PIN or PUK entries waiting for the SIM to ask.
    pub(super) fn fail_pending_entries(&mut self, pin: bool, puk: bool, message: &str) {
        if let (true, Some((_, Some(id)))) = (pin, &self.pending_pin) {
            let id = *id;
            self.pending_pin = None;
            self.fail(id, None, message);
        }
        if let (true, Some((_, _, Some(id)))) = (puk, &self.pending_puk) {
            let id = *id;
            self.pending_puk = None;
            self.fail(id, None, message);
        }
    }

    /// SUBSCRIBER_READY_STATUS answered (a SIM missing or bad may say so by
    /// its status alone).
    pub(super) fn ready_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        let info = if status.is_success() {
            self.decode_ready(now, "SUBSCRIBER_READY_STATUS", buffer)
        } else {
            None
        };
        match (info, status) {
            (Some(info), _) => self.apply_ready(&info),
            (None, Status::SimNotInserted | Status::BadSim | Status::NotInitialized) => {
                let state = match status {
                    Status::SimNotInserted => SubscriberReadyState::SimNotInserted,
                    Status::BadSim => SubscriberReadyState::BadSim,
                    _ => SubscriberReadyState::NotInitialized,
                };
                self.status.ready_state = Some(state);
            }
            (None, _) => {
                self.retry_later(now, format!("SUBSCRIBER_READY_STATUS failed: {status}"));
            }
        }
    }

    /// The PIN query answered.
    pub(super) fn pin_query_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        let info = self.decode::<bc::PinInfo>(now, "PIN", buffer);
        self.pin_known = true;
        match info {
            Some(info) if status.is_success() => self.apply_pin(&info),
            _ => {
                self.status.pin.pin_type = None;
                if status != Status::BadSim {
                    self.retry_later(now, format!("PIN query failed: {status}"));
                    self.pin_known = false;
                }
            }
        }
    }

    /// A PIN1 entry answered.
    pub(super) fn pin_entry_answer(
        &mut self,
        now: Instant,
        configured: bool,
        tracked: Option<u64>,
        status: Status,
        buffer: &[u8],
    ) {
        if status.is_success() {
            tracing::info!(executor = self.log_number(), "PIN1 accepted");
            self.unlocked();
            self.done(tracked, Ok(()));
        } else {
            let info = self.decode::<bc::PinInfo>(now, "PIN", buffer);
            if configured {
                self.status.pin.configured_pin_refused = true;
            }
            if let Some(info) = &info {
                self.apply_pin(info);
            }
            let message = pin_failure("PIN entry", status, info.as_ref());
            self.done(
                tracked,
                Err(CommandFailure {
                    status: Some(status),
                    message,
                    timed_out: false,
                }),
            );
            let left = self.status.pin.remaining_attempts.unwrap_or(0);
            tracing::warn!(
                executor = self.log_number(),
                configured,
                "PIN1 refused ({status}); {left} attempts left"
            );
            self.status.reason = Some(format!("PIN1 refused; {left} attempts left"));
            self.status.state = ExecutorState::Locked;
        }
    }

    /// A PUK1 entry answered.
    pub(super) fn puk_entry_answer(
        &mut self,
        now: Instant,
        tracked: Option<u64>,
        status: Status,
        buffer: &[u8],
    ) {
        if status.is_success() {
            tracing::info!(executor = self.log_number(), "PUK1 accepted");
            self.unlocked();
            self.done(tracked, Ok(()));
        } else {
            let info = self.decode::<bc::PinInfo>(now, "PIN", buffer);
            if let Some(info) = &info {
                self.apply_pin(info);
            }
            let message = pin_failure("PUK entry", status, info.as_ref());
            self.done(
                tracked,
                Err(CommandFailure {
                    status: Some(status),
                    message,
                    timed_out: false,
                }),
            );
            let left = self.status.pin.remaining_attempts.unwrap_or(0);
            tracing::warn!(
                executor = self.log_number(),
                "PUK1 refused ({status}); {left} attempts left"
            );
            self.status.state = ExecutorState::Locked;
        }
    }

    /// A PIN change, or PIN1 enabled or disabled, answered.
    pub(super) fn pin_change_answer(
        &mut self,
        now: Instant,
        op: PinChange,
        tracked: Option<u64>,
        status: Status,
        buffer: &[u8],
    ) {
        let info = if buffer.is_empty() {
            None
        } else {
            self.decode::<bc::PinInfo>(now, "PIN", buffer)
        };
        if status.is_success() {
            tracing::info!(executor = self.log_number(), "{} done", op.name());
            self.done(tracked, Ok(()));
        } else {
            if let Some(info) = &info {
                if info.pin_state == PinState::Locked {
                    // Blocked by the wrong PIN: the SIM now waits for the PUK.
                    self.apply_pin(info);
                    self.pin_known = true;
                } else if info.pin_type == PinType::Pin1 {
                    self.status.pin.remaining_attempts = Some(info.remaining_attempts);
                }
            }
            let message = pin_failure(op.name(), status, info.as_ref());
            tracing::warn!(executor = self.log_number(), "{message}");
            self.done(
                tracked,
                Err(CommandFailure {
                    status: Some(status),
                    message,
                    timed_out: false,
                }),
            );
        }
    }

    fn unlocked(&mut self) {
        self.status.pin.pin_type = None;
        self.status.pin.state = Some(PinState::Unlocked);
        self.status.pin.remaining_attempts = None;
        self.status.reason = None;
        self.pin_known = false;
        // The ready state moves on; the indication may come, the query will.
        self.status.ready_state = None;
    }

    fn apply_pin(&mut self, info: &bc::PinInfo) {
        self.status.pin.pin_type = Some(info.pin_type).filter(|t| *t != PinType::None);
        self.status.pin.state = Some(info.pin_state);
        self.status.pin.remaining_attempts = Some(info.remaining_attempts);
        if info.pin_type == PinType::None && info.pin_state == PinState::Locked {
            self.status.pin.remaining_attempts = Some(0);
        }
    }

    /// Records the ICCID of the SIM present; another SIM than before gets
    /// its provider and profile chosen afresh.
    fn note_iccid(&mut self, iccid: &str) {
        if iccid != self.status.iccid {
            self.home_provider = false;
            self.status.home_provider.clear();
            self.status.iccid = iccid.to_owned();
        }
    }

    pub(super) fn apply_ready(&mut self, info: &bc::SubscriberReadyInfo) {
        let previous = self.status.ready_state;
        let state = info.ready_state;
        self.status.ready_state = Some(state);
        self.ready_requery_at = None;
        if state == SubscriberReadyState::Initialized {
            if info.sim_iccid != self.status.iccid || previous != Some(state) {
                tracing::info!(
                    executor = self.log_number(),
                    iccid = mask_personal(&info.sim_iccid, self.config.show_personal_info),
                    imsi = mask_personal(&info.subscriber_id, self.config.show_personal_info),
                    "SIM ready"
                );
            }
            self.note_iccid(&info.sim_iccid);
            self.status.imsi.clone_from(&info.subscriber_id);
        } else {
            if previous != Some(state) {
                tracing::info!(executor = self.log_number(), "SIM {state}");
            }
            self.register_requested = false;
            self.pin_known = false;
            if state == SubscriberReadyState::DeviceLocked && !info.sim_iccid.is_empty() {
                // A locked card's ICCID is readable without its PIN; it
                // picks the PIN configured for this SIM.
                self.note_iccid(&info.sim_iccid);
            }
            if state != SubscriberReadyState::DeviceLocked {
                // A removed or swapped card: the next one gets the configured PIN once.
                self.configured_pin_tried = false;
                self.status.pin = PinStatus::default();
            }
            // The context goes with the card. Connecting again waits for a
            // ready SIM, not for a back-off: a pause scheduled a moment ago
            // for the network's deactivation (a slot switch deactivates
            // the context just before the card goes) is dropped too, so the
            // next SIM connects as soon as it is registered.
            let reason = format!("SIM {state}");
            if self.active.is_some() {
                self.lost(&reason);
                self.status.reason = Some(reason);
            }
            self.connect_at = None;
        }
    }
}

/// Why a PIN operation failed, in words, from the device's answer (never
/// the PIN itself).
fn pin_failure(what: &str, status: Status, info: Option<&bc::PinInfo>) -> String {
    match (status, info) {
        (Status::PinDisabled, _) => "PIN1 is disabled".to_owned(),
        (Status::PinRequired, Some(info)) if info.pin_type != PinType::None => {
            format!("{} must be entered first", info.pin_type)
        }
        (Status::Failure, Some(info)) if info.pin_type == PinType::Pin1 => {
            format!("wrong PIN, {} attempts left", info.remaining_attempts)
        }
        (Status::Failure, Some(info)) if info.pin_type == PinType::Puk1 => {
            if what == "PUK entry" {
                format!("wrong PUK, {} attempts left", info.remaining_attempts)
            } else {
                format!(
                    "wrong PIN; PIN1 is blocked, PUK1 required ({} attempts left)",
                    info.remaining_attempts
                )
            }
        }
        (Status::Failure, Some(info)) if info.pin_state == PinState::Locked => {
            "the SIM is blocked".to_owned()
        }
        _ => format!("{what} refused: {status}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent, ExecutorState};
    use crate::executor::profile::{Profile, Secret};
    use mbim_protocol::services::basic_connect::{self as bc, SubscriberReadyState};
    use mbim_protocol::status::Status;
    use std::time::Instant;

    /// A slot switch as the modem reports it: the context deactivated, then
    /// the card gone, then the other card ready. The new SIM connects as
    /// soon as it is registered, without the back-off a network's
    /// deactivation alone would get.
    #[test]
    fn a_new_card_connects_without_waiting_out_the_old_contexts_back_off() {
        use mbim_protocol::services::basic_connect::ActivationState;
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));

        indicate(
            &mut machine,
            now,
            bc::cid::Connect::ID,
            connect_info(ActivationState::Deactivated),
        );
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(
            matches!(events.as_slice(), [ExecutorEvent::LinkDown { .. }]),
            "{events:?}"
        );
        indicate(
            &mut machine,
            now,
            bc::cid::SubscriberReadyStatus::ID,
            ready(SubscriberReadyState::NotInitialized),
        );
        run(&mut machine, &mut device, now);
        indicate(
            &mut machine,
            now,
            bc::cid::SubscriberReadyStatus::ID,
            ready(SubscriberReadyState::Initialized),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.contains(&("connect", true)), "{sent:?}");
        assert!(
            matches!(events.as_slice(), [ExecutorEvent::Connected(_)]),
            "{events:?}"
        );
    }

    #[test]
    fn tracked_pin_changes_report_their_outcome_and_never_the_pin() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        // (command, expected outcome)
        let table = [
            (
                ExecutorCommand::ChangePin {
                    old: Secret::new("9999"),
                    new: Secret::new("4321"),
                },
                failure(Some(Status::Failure), "wrong PIN, 2 attempts left"),
            ),
            (
                ExecutorCommand::ChangePin {
                    old: Secret::new("1234"),
                    new: Secret::new("4321"),
                },
                Ok(()),
            ),
            (
                ExecutorCommand::SetPinEnabled {
                    pin: Secret::new("1234"),
                    enabled: false,
                },
                failure(Some(Status::Failure), "wrong PIN, 2 attempts left"),
            ),
            (
                ExecutorCommand::SetPinEnabled {
                    pin: Secret::new("4321"),
                    enabled: false,
                },
                Ok(()),
            ),
        ];
        for (id, (command, expected)) in (1..).zip(table) {
            machine.handle(now, tracked(id, command.clone()));
            let (sent, events) = run(&mut machine, &mut device, now);
            assert_eq!(sent, [("pin", true)], "{command:?}");
            assert_eq!(events, [done(id, expected)], "{command:?}");
            assert!(!format!("{events:?}").contains("4321"));
            assert!(!format!("{events:?}").contains("1234"));
        }
        assert_eq!(device.pin, "4321");
        // A refused change leaves the SIM unlocked and the session up.
        assert_eq!(machine.status().state, ExecutorState::Connected);
        assert_eq!(machine.status().pin.pin_type, None);
    }

    #[test]
    fn tracked_pin_entry_reports_its_outcome_or_that_no_pin_is_wanted() {
        let now = Instant::now();
        let mut config = test_config();
        config.pin = None;
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice {
            pin_locked: true,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        assert_eq!(machine.status().state, ExecutorState::Locked);
        machine.handle(
            now,
            tracked(1, ExecutorCommand::EnterPin(Secret::new("0000"))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("pin", true)]);
        assert_eq!(
            events,
            [done(
                1,
                failure(Some(Status::Failure), "wrong PIN, 2 attempts left")
            )]
        );
        // A PUK while the SIM wants PIN1 is refused without asking the SIM.
        machine.handle(
            now,
            tracked(
                2,
                ExecutorCommand::EnterPuk {
                    puk: Secret::new("12345678"),
                    new_pin: Secret::new("1111"),
                },
            ),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(2, failure(None, "PUK1 is not required"))]);

        machine.handle(
            now,
            tracked(3, ExecutorCommand::EnterPin(Secret::new("1234"))),
        );
        let (_, events) = run(&mut machine, &mut device, now);
        assert_eq!(events[0], done(3, Ok(())));
        assert!(matches!(events[1..], [ExecutorEvent::Connected(_)]));
        // Unlocked: a PIN is not wanted, and says so.
        machine.handle(
            now,
            tracked(4, ExecutorCommand::EnterPin(Secret::new("1234"))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(4, failure(None, "PIN1 is not required"))]);
    }

    #[test]
    fn reconfigure_takes_new_profiles_and_gives_a_new_pin_its_one_try() {
        let now = Instant::now();
        let mut config = test_config();
        config.pin = None;
        config.pins = vec![("8988200000000000001".to_owned(), Secret::new("0000"))];
        let mut machine = ExecutorMachine::new(config.clone());
        let mut device = FakeDevice {
            pin_locked: true,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        assert!(machine.status().pin.configured_pin_refused);
        // The same PIN again: not tried again.
        machine.handle(
            now,
            tracked(
                1,
                ExecutorCommand::Reconfigure {
                    profiles: config.profiles.clone(),
                    pins: config.pins.clone(),
                    apn_sources: config.apn_sources.clone(),
                },
            ),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(1, Ok(()))]);
        assert!(machine.status().pin.configured_pin_refused);
        // A new PIN for this SIM (and a new profile): tried once, and used.
        machine.handle(
            now,
            Input::Command(ExecutorCommand::Reconfigure {
                profiles: vec![Profile::new("new", "internet")],
                pins: vec![("8988200000000000001".to_owned(), Secret::new("1234"))],
                apn_sources: crate::apn::ApnSources::default(),
            }),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent.first(), Some(&("pin", true)));
        let [ExecutorEvent::Connected(connection)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(connection.profile, "new");
        assert!(!machine.status().pin.configured_pin_refused);
    }

    #[test]
    fn a_wrong_configured_pin_is_not_retried() {
        let now = Instant::now();
        let mut config = test_config();
        config.pin = Some(Secret::new("0000"));
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice {
            pin_locked: true,
            ..FakeDevice::default()
        };
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent.iter().filter(|s| **s == ("pin", true)).count(), 1);
        let status = machine.status();
        assert_eq!(status.state, ExecutorState::Locked);
        assert!(status.pin.configured_pin_refused);
        assert_eq!(status.pin.remaining_attempts, Some(2));
        // A ready indication (DeviceLocked again) does not bring it back.
        indicate(
            &mut machine,
            now,
            bc::cid::SubscriberReadyStatus::ID,
            ready(SubscriberReadyState::DeviceLocked),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("pin", false)]);
        // The user's PIN is tried once.
        machine.handle(
            now,
            Input::Command(ExecutorCommand::EnterPin(Secret::new("1234"))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent.first(), Some(&("pin", true)));
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
    }
}
