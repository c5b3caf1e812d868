//! Commands from the supervisor: each changes what is wanted (or fails at
//! once when it cannot run); reconciling then sends what it takes.

use super::sim::PinChange;
use super::{Action, ExecutorMachine, Link};
use crate::executor::api::ExecutorCommand;

impl ExecutorMachine {
    /// Why a command that needs the device cannot run now, if it cannot.
    fn cannot_run(&self) -> Option<&'static str> {
        if self.shutting_down {
            Some("the executor is shutting down")
        } else if self.suspended || self.suspending.is_some() {
            Some("the host sleeps (the executor is suspended)")
        } else if self.link != Link::Open {
            Some("the session is not open")
        } else {
            None
        }
    }

    #[allow(clippy::too_many_lines)] // One arm per command.
    pub(super) fn command(&mut self, command: ExecutorCommand, tracked: Option<u64>) {
        let needs_device = !matches!(
            command,
            ExecutorCommand::Connect(_)
                | ExecutorCommand::Disconnect
                | ExecutorCommand::Reconfigure { .. }
                | ExecutorCommand::Shutdown
                | ExecutorCommand::Suspend { .. }
                | ExecutorCommand::Resume
                | ExecutorCommand::Tracked { .. }
        );
        if let (Some(id), true) = (tracked, needs_device) {
            if let Some(reason) = self.cannot_run() {
                self.fail(id, None, reason);
                return;
            }
        }
        match command {
            ExecutorCommand::Tracked { id, command } => {
                if tracked.is_some() || matches!(*command, ExecutorCommand::Tracked { .. }) {
                    self.fail(id, None, "a tracked command cannot hold another");
                    return;
                }
                self.command(*command, Some(id));
            }
            ExecutorCommand::Connect(profile) => {
                tracing::info!(executor = self.log_number(), "connect requested");
                self.want_connect = true;
                self.connect_at = None;
                self.status.connect_failures = 0;
                self.profile_override = profile;
                self.connect_requested = true;
                self.done(tracked, Ok(()));
            }
            ExecutorCommand::Disconnect => {
                tracing::info!(executor = self.log_number(), "disconnect requested");
                self.want_connect = false;
                self.done(tracked, Ok(()));
            }
            ExecutorCommand::Reconfigure {
                profiles,
                pins,
                apn_sources,
            } => {
                tracing::info!(executor = self.log_number(), "new profiles and PINs");
                let before = self.configured_pin().cloned();
                self.config.profiles = profiles;
                self.config.pins = pins;
                self.config.apn_sources = apn_sources;
                if self.configured_pin() != before.as_ref() {
                    // Only the refusal of the old PIN is forgotten: a new PIN
                    // for this SIM gets its one try, the same one never twice.
                    self.configured_pin_tried = false;
                    self.status.pin.configured_pin_refused = false;
                }
                // A reload drops no session it does not change: the active
                // context is compared with the profile the new configuration
                // names for this SIM, as for a Connect, and activated again
                // only if that differs. A Connect's overrides stay in force.
                if self.profile_override.is_none() {
                    self.connect_requested = true;
                }
                self.done(tracked, Ok(()));
            }
            ExecutorCommand::EnterPin(pin) => {
                tracing::info!(executor = self.log_number(), "PIN entered by request");
                if let Some((_, Some(old))) = self.pending_pin.replace((pin, tracked)) {
                    self.fail(old, None, "superseded by another PIN");
                }
            }
            ExecutorCommand::EnterPuk { puk, new_pin } => {
                tracing::info!(executor = self.log_number(), "PUK entered by request");
                if let Some((_, _, Some(old))) = self.pending_puk.replace((puk, new_pin, tracked)) {
                    self.fail(old, None, "superseded by another PUK");
                }
            }
            ExecutorCommand::ChangePin { old, new } => {
                tracing::info!(executor = self.log_number(), "PIN change requested");
                self.pending_pin_changes
                    .push_back((PinChange::Change { old, new }, tracked));
            }
            ExecutorCommand::SetPinEnabled { pin, enabled } => {
                tracing::info!(
                    executor = self.log_number(),
                    enabled,
                    "PIN1 check switch requested"
                );
                self.pending_pin_changes
                    .push_back((PinChange::Enabled { pin, enabled }, tracked));
            }
            ExecutorCommand::SetSlotMapping(slots) => {
                tracing::info!(
                    executor = self.log_number(),
                    ?slots,
                    "slot mapping requested"
                );
                if let Some((_, Some(old))) = self.pending_slot_mapping.replace((slots, tracked)) {
                    self.fail(old, None, "superseded by another slot mapping");
                }
            }
            ExecutorCommand::QuerySlots => {
                if self.multi_sim == Some(false) {
                    if let Some(id) = tracked {
                        self.fail(id, None, "the device has no multi-SIM extensions");
                    }
                    return;
                }
                self.queue_slot_queries();
                if let Some(id) = tracked {
                    self.slot_query_waiters.push(id);
                }
            }
            ExecutorCommand::Register(provider) => {
                tracing::info!(
                    executor = self.log_number(),
                    "registration requested: {}",
                    provider.as_deref().map_or("automatic", |_| "manual")
                );
                let choice = (provider, self.register_data_classes);
                if let Some((_, Some(old))) = self.pending_register.replace((choice, tracked)) {
                    self.fail(old, None, "superseded by another registration");
                }
            }
            ExecutorCommand::SetDataClasses(data_classes) => {
                tracing::info!(
                    executor = self.log_number(),
                    "data classes requested: {data_classes:#x}"
                );
                let choice = (self.register_choice.clone(), data_classes);
                if let Some((_, Some(old))) = self.pending_register.replace((choice, tracked)) {
                    self.fail(old, None, "superseded by another registration");
                }
            }
            ExecutorCommand::ResetDevice => {
                tracing::info!(executor = self.log_number(), "device reset requested");
                if let Some(Some(old)) = self.pending_reset.replace(tracked) {
                    self.fail(old, None, "superseded by another reset");
                }
            }
            ExecutorCommand::ScanProviders => {
                tracing::info!(executor = self.log_number(), "network scan requested");
                if let Some(Some(old)) = self.pending_scan.replace(tracked) {
                    self.fail(old, None, "superseded by another scan");
                }
            }
            ExecutorCommand::QuerySlotMapping => {
                if self.multi_sim == Some(false) {
                    if let Some(id) = tracked {
                        self.fail(id, None, "the device has no multi-SIM extensions");
                    }
                    return;
                }
                self.slot_mapping = false;
                if let Some(id) = tracked {
                    self.mapping_waiters.push(id);
                }
            }
            ExecutorCommand::SetRadio(on) => {
                tracing::info!(executor = self.log_number(), on, "radio switch requested");
                self.want_radio = on;
                self.fcc_retry();
                if let Some(id) = tracked {
                    self.radio_waiters.push(id);
                }
            }
            ExecutorCommand::Suspend { device_wide } => self.suspend(device_wide, tracked),
            ExecutorCommand::Resume => self.resume(tracked),
            ExecutorCommand::Shutdown => {
                tracing::info!(executor = self.log_number(), "shutdown requested");
                self.done(tracked, Ok(()));
                self.shutting_down = true;
                self.abandon_pending("the executor is shutting down");
                match self.link {
                    Link::Closed => {
                        self.closed();
                    }
                    Link::Opening => {
                        self.link = Link::Closing;
                        self.actions.push_back(Action::Close);
                    }
                    Link::Open | Link::Closing => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent};
    use crate::executor::profile::{Profile, Secret};
    use mbim_protocol::services::ms_basic_connect_extensions as ms;
    use mbim_protocol::status::Status;
    use std::time::Instant;

    #[test]
    fn a_reload_reconnects_only_a_session_whose_profile_changed() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        assert_eq!(machine.status().state, ExecutorState::Connected);
        let reload = |profiles: Vec<Profile>| ExecutorCommand::Reconfigure {
            profiles,
            pins: Vec::new(),
            apn_sources: crate::apn::ApnSources::default(),
        };

        // The same profile (other SIMs' profiles added): nothing is sent.
        let mut unchanged = vec![Profile::new("default", "internet")];
        let mut elsewhere = Profile::new("other-sim", "elsewhere");
        elsewhere.match_iccid = Some("8900000000000000000".to_owned());
        unchanged.insert(0, elsewhere);
        machine.handle(now, tracked(1, reload(unchanged)));
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(1, Ok(()))]);

        // Another APN for this SIM: deactivated, activated with it.
        machine.handle(
            now,
            tracked(2, reload(vec![Profile::new("default", "new.apn")])),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(
            sent,
            [
                ("connect", true),
                ("connect", true),
                ("ip-configuration", false)
            ]
        );
        let [first, ExecutorEvent::LinkDown { reason }, ExecutorEvent::Connected(connection)] =
            events.as_slice()
        else {
            panic!("{events:?}");
        };
        assert_eq!(first, &done(2, Ok(())));
        assert_eq!(reason, "reconnecting with new settings");
        assert_eq!(connection.profile, "default");
        assert_eq!(device.activated, ["internet", "new.apn"]);

        // A Connect's overrides outlive a reload.
        let mut chosen = Profile::new("chosen", "chosen.apn");
        chosen.route_metric = Some(5);
        machine.handle(now, Input::Command(ExecutorCommand::Connect(Some(chosen))));
        run(&mut machine, &mut device, now);
        machine.handle(
            now,
            tracked(3, reload(vec![Profile::new("default", "third.apn")])),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(device.activated, ["internet", "new.apn", "chosen.apn"]);
    }

    #[test]
    fn tracked_commands_that_cannot_run_or_finish_get_a_failure() {
        let now = Instant::now();
        let pin = || ExecutorCommand::ChangePin {
            old: Secret::new("1234"),
            new: Secret::new("4321"),
        };
        // Before the session is open.
        let mut machine = ExecutorMachine::new(test_config());
        assert_eq!(machine.poll_action(), Some(Action::Open));
        machine.handle(now, tracked(1, pin()));
        machine.handle(now, tracked(2, ExecutorCommand::Disconnect));
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                1,
                failure(None, "the session is not open")
            )))
        );
        assert_eq!(machine.poll_action(), Some(Action::Report(done(2, Ok(())))));

        // In flight when the device goes away; waiting behind it too.
        let mut device = FakeDevice::default();
        machine.handle(now, Input::Opened);
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(3, pin()));
        machine.handle(now, tracked(4, ExecutorCommand::QuerySlotMapping));
        let Some(Action::Send(request)) = machine.poll_action() else {
            panic!("the PIN change is sent");
        };
        assert_eq!(request.name, "pin");
        machine.handle(now, Input::TransportGone);
        let mut events = Vec::new();
        while let Some(action) = machine.poll_action() {
            if let Action::Report(event) = action {
                events.push(event);
            }
        }
        assert_eq!(
            events,
            [
                done(3, failure(None, "the device is gone")),
                done(4, failure(None, "the device is gone")),
                ExecutorEvent::Gone,
            ]
        );
        // After the end.
        machine.handle(now, tracked(5, ExecutorCommand::QuerySlots));
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                5,
                failure(None, "the executor has ended")
            )))
        );

        // Unanswered, and a session reset.
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(6, pin()));
        assert!(matches!(machine.poll_action(), Some(Action::Send(_))));
        machine.handle(now, Input::RequestFailed(RequestFailure::TimedOut));
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                6,
                Err(CommandFailure {
                    status: None,
                    message: "the device did not answer within 20 s".to_owned(),
                    timed_out: true,
                })
            )))
        );
        machine.handle(now, tracked(7, pin()));
        assert!(matches!(machine.poll_action(), Some(Action::Send(_))));
        machine.handle(now, Input::NotOpened);
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                7,
                failure(None, "the device has no session (NOT_OPENED)")
            )))
        );

        // Shutdown is accepted at once; what waits behind it fails.
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(8, ExecutorCommand::Shutdown));
        machine.handle(now, tracked(9, ExecutorCommand::QuerySlots));
        let (_, events) = run_all(&mut machine, &mut device, now);
        assert_eq!(
            events,
            [
                done(8, Ok(())),
                done(9, failure(None, "the executor is shutting down")),
                ExecutorEvent::LinkDown {
                    reason: "shutting down".to_owned()
                },
                ExecutorEvent::Stopped,
            ]
        );

        // A device without the multi-SIM extensions has no slots to ask about.
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice {
            multi_sim: false,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(10, ExecutorCommand::QuerySlots));
        let (sent, events) = run_all(&mut machine, &mut device, now);
        assert!(sent.is_empty());
        assert_eq!(
            events,
            [done(
                10,
                failure(None, "the device has no multi-SIM extensions")
            )]
        );
    }

    #[test]
    fn tracked_queries_and_radio_are_done_when_answered() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        device.slots[0] = ms::UiccSlotState::Empty;
        device.mapping = vec![0];
        // (command, commands sent, events)
        let table = [
            (
                ExecutorCommand::QuerySlots,
                vec![("slot-info-status", false), ("slot-info-status", false)],
                vec![
                    ExecutorEvent::SlotInfo {
                        slot: 0,
                        state: ms::UiccSlotState::Empty,
                    },
                    ExecutorEvent::SlotInfo {
                        slot: 1,
                        state: ms::UiccSlotState::ActiveEsim,
                    },
                    done(1, Ok(())),
                ],
            ),
            (
                ExecutorCommand::QuerySlotMapping,
                vec![("device-slot-mappings", false)],
                vec![
                    ExecutorEvent::SlotMapping {
                        set: false,
                        status: Status::Success,
                        mapping: Some(vec![0]),
                    },
                    done(2, Ok(())),
                ],
            ),
            // Already on: nothing to set.
            (
                ExecutorCommand::SetRadio(true),
                vec![],
                vec![done(3, Ok(()))],
            ),
            (
                ExecutorCommand::Connect(None),
                vec![],
                vec![done(4, Ok(()))],
            ),
        ];
        for (id, (command, expected_sent, expected_events)) in (1..).zip(table) {
            machine.handle(now, tracked(id, command.clone()));
            let (sent, events) = run_all(&mut machine, &mut device, now);
            assert_eq!(sent, expected_sent, "{command:?}");
            assert_eq!(events, expected_events, "{command:?}");
        }
        assert_eq!(machine.status().slot, Some(0));
    }
}
