//! The host's sleep. Suspend takes the context down, tells the device the
//! host is going away (MS_HOST_SHUTDOWN, from the executor that speaks for
//! the device and only when DEVICE_SERVICES lists the service: seed 004
//! makes it per-device), CLOSEs, and stays closed. Resume opens again and
//! finds everything out anew: the device may have been reset while the host
//! slept (its SIM locked again, its registration gone) or may be as it was.
//! What was wanted (connected, the profile a Connect asked for) is kept, so
//! the same profile connects again.

use super::request::Request;
use super::step::Step;
use super::{Action, ExecutorMachine, Link};
use crate::executor::api::ExecutorState;
use mbim_protocol::codec::Empty;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_host_shutdown;
use mbim_protocol::status::Status;
use std::time::Instant;

/// A Suspend under way.
#[derive(Debug, Default)]
pub(super) struct Suspending {
    /// This executor tells the device (MS_HOST_SHUTDOWN is per-device).
    device_wide: bool,
    /// MS_HOST_SHUTDOWN answered or refused, or found not to be there.
    told: bool,
    /// Tracked Suspends, done once the session is closed.
    waiters: Vec<u64>,
}

impl ExecutorMachine {
    /// Suspend: what the session still needs to do is sent by
    /// [`next_suspend_step`](Self::next_suspend_step) as the session allows.
    pub(super) fn suspend(&mut self, device_wide: bool, tracked: Option<u64>) {
        if self.suspended {
            self.done(tracked, Ok(()));
            return;
        }
        tracing::info!(executor = self.log_number(), "the host goes to sleep");
        let suspending = self.suspending.get_or_insert_with(Suspending::default);
        suspending.device_wide |= device_wide;
        suspending.waiters.extend(tracked);
        self.abandon_pending("the host sleeps");
        // Nothing is retried or reopened while the host sleeps; after it,
        // everything starts at once.
        self.reopen_at = None;
        self.retry_at = None;
        self.connect_at = None;
        match self.link {
            Link::Closed => self.asleep(),
            Link::Opening => {
                self.link = Link::Closing;
                self.actions.push_back(Action::Close);
            }
            // Open: reconciling sends what is next once nothing is in
            // flight. Closing: `closed` follows.
            Link::Open | Link::Closing => {}
        }
    }

    /// On an open session with nothing in flight, while suspending: the
    /// context down, then (device-wide) DEVICE_SERVICES and MS_HOST_SHUTDOWN,
    /// then CLOSE.
    pub(super) fn next_suspend_step(&mut self) {
        let Some(suspending) = &self.suspending else {
            return;
        };
        let tell = suspending.device_wide && !suspending.told;
        if self.active.is_some() {
            let (step, request) = self.deactivation();
            self.send(step, request);
        } else if tell && self.host_shutdown_listed.is_none() {
            self.send(
                Step::DeviceServices,
                Request::query::<bc::cid::DeviceServices>(&Empty),
            );
        } else if tell && self.host_shutdown_listed == Some(true) {
            tracing::info!(
                executor = self.log_number(),
                "telling the device the host sleeps (MS_HOST_SHUTDOWN)"
            );
            self.send(
                Step::HostShutdown,
                Request::set::<ms_host_shutdown::cid::HostShutdown>(&Empty),
            );
        } else {
            self.status.state = ExecutorState::Disconnecting;
            self.link = Link::Closing;
            self.actions.push_back(Action::Close);
        }
    }

    /// DEVICE_SERVICES answered: whether MS Host Shutdown is there. A
    /// refusal or a bad answer counts as not there: CLOSE alone will do.
    pub(super) fn device_services_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        let listed = status.is_success()
            && self
                .decode::<bc::DeviceServicesInfo>(now, "DEVICE_SERVICES", buffer)
                .is_some_and(|info| {
                    info.device_services
                        .iter()
                        .any(|service| service.device_service_id == ms_host_shutdown::SERVICE.uuid)
                });
        if !listed {
            tracing::info!(
                executor = self.log_number(),
                "the device has no MS Host Shutdown service: CLOSE only"
            );
        }
        self.host_shutdown_listed = Some(listed);
    }

    /// DEVICE_RESET answered: the device restarts (the session ends as it
    /// goes, and the executor opens it again); a refusal changes nothing.
    pub(super) fn device_reset_answer(&mut self, tracked: Option<u64>, status: Status) {
        if status.is_success() {
            tracing::info!(executor = self.log_number(), "the device is resetting");
            self.done(tracked, Ok(()));
        } else {
            tracing::info!(
                executor = self.log_number(),
                "DEVICE_RESET refused: {status}"
            );
            if let Some(id) = tracked {
                self.fail(id, Some(status), "the device refused DEVICE_RESET");
            }
        }
    }

    /// MS_HOST_SHUTDOWN answered; a refusal changes nothing but the log.
    pub(super) fn host_shutdown_answer(&mut self, status: Status) {
        if !status.is_success() {
            tracing::warn!(
                executor = self.log_number(),
                "MS_HOST_SHUTDOWN refused: {status}"
            );
        }
        if let Some(suspending) = &mut self.suspending {
            suspending.told = true;
        }
    }

    /// The session closed for the sleep: suspended until Resume.
    pub(super) fn asleep(&mut self) {
        let waiters = self
            .suspending
            .take()
            .map(|suspending| suspending.waiters)
            .unwrap_or_default();
        self.suspended = true;
        self.link = Link::Closed;
        self.status.state = ExecutorState::Suspended;
        self.status.reason = Some("the host sleeps".to_owned());
        tracing::info!(executor = self.log_number(), "suspended");
        for id in waiters {
            self.done(Some(id), Ok(()));
        }
    }

    /// Resume: OPEN again, knowing nothing of the device.
    pub(super) fn resume(&mut self, tracked: Option<u64>) {
        if let Some(suspending) = self.suspending.take() {
            // Woken before the session was closed: carry on as if nothing
            // happened (a CLOSE already sent is followed by OPEN).
            for id in suspending.waiters {
                self.fail(id, None, "the host woke before the executor was suspended");
            }
        }
        if !self.suspended {
            self.done(tracked, Ok(()));
            return;
        }
        tracing::info!(
            executor = self.log_number(),
            "the host woke: opening the session again"
        );
        self.suspended = false;
        self.forget_device();
        self.host_shutdown_listed = None;
        self.status.connect_failures = 0;
        // A SIM power-cycled while the host slept asks for its PIN again:
        // the configured one gets its try again unless it was refused.
        if !self.status.pin.configured_pin_refused {
            self.configured_pin_tried = false;
        }
        self.open();
        self.done(tracked, Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent, ExecutorState};
    use std::time::Instant;

    /// Runs the machine, naming every action: "open", "close", a command's
    /// name ("connect" for (de)activation), "link-down", "done N", "suspended"
    /// when the state becomes so.
    fn trace(machine: &mut ExecutorMachine, device: &mut FakeDevice, now: Instant) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..200 {
            let Some(action) = machine.poll_action() else {
                break;
            };
            match action {
                Action::Open => {
                    seen.push("open".to_owned());
                    machine.handle(now, Input::Opened);
                }
                Action::Close => {
                    seen.push("close".to_owned());
                    machine.handle(now, Input::Closed);
                }
                Action::Send(request) => {
                    seen.push(request.name.to_owned());
                    let (status, information_buffer) = device.answer(&request);
                    machine.handle(
                        now,
                        Input::Response {
                            status,
                            information_buffer,
                        },
                    );
                }
                Action::Report(ExecutorEvent::LinkDown { reason }) => {
                    seen.push(format!("link-down: {reason}"));
                }
                Action::Report(ExecutorEvent::Connected(_)) => seen.push("link-up".to_owned()),
                Action::Report(ExecutorEvent::Done { id, result }) => {
                    seen.push(format!(
                        "done {id} {}",
                        if result.is_ok() { "ok" } else { "failed" }
                    ));
                }
                Action::Report(_) => {}
                // The tests' SIM has a profile: nothing to look up.
                Action::LookupApns(_) | Action::RememberApn { .. } => seen.push("apn".to_owned()),
                Action::Finish => seen.push("finish".to_owned()),
                Action::RunFccHook(_) => seen.push("fcc-hook".to_owned()),
            }
        }
        seen
    }

    fn connected(device: &mut FakeDevice, now: Instant) -> ExecutorMachine {
        let mut machine = ExecutorMachine::new(test_config());
        run(&mut machine, device, now);
        assert_eq!(machine.status().state, ExecutorState::Connected);
        machine
    }

    #[test]
    fn suspend_takes_the_context_down_tells_the_device_and_closes() {
        let now = Instant::now();
        // (device lists host shutdown, this executor speaks for the device) -> what is sent
        let table: [(bool, bool, &[&str]); 3] = [
            (
                true,
                true,
                &["connect", "device-services", "host-shutdown", "close"],
            ),
            (false, true, &["connect", "device-services", "close"]),
            (true, false, &["connect", "close"]),
        ];
        for (listed, device_wide, expected) in table {
            let mut device = FakeDevice {
                host_shutdown: listed,
                ..FakeDevice::default()
            };
            let mut machine = connected(&mut device, now);
            machine.handle(now, tracked(5, ExecutorCommand::Suspend { device_wide }));
            let seen = trace(&mut machine, &mut device, now);
            let sent: Vec<&str> = seen
                .iter()
                .map(String::as_str)
                .filter(|s| !s.starts_with("link-down") && !s.starts_with("done"))
                .collect();
            assert_eq!(sent, expected, "listed {listed}, device-wide {device_wide}");
            assert!(
                seen.contains(&"link-down: the host sleeps".to_owned()),
                "{seen:?}"
            );
            assert_eq!(
                seen.last().map(String::as_str),
                Some("done 5 ok"),
                "{seen:?}"
            );
            assert_eq!(device.host_shutdowns, u32::from(listed && device_wide));
            assert_eq!(machine.status().state, ExecutorState::Suspended);
            // Asleep means asleep: no timer opens the session again.
            assert_eq!(machine.poll_timeout(), None);
        }
    }

    #[test]
    fn resume_opens_again_and_connects_with_the_same_profile_after_a_reset() {
        let now = Instant::now();
        let mut device = FakeDevice::default();
        let mut machine = connected(&mut device, now);
        machine.handle(
            now,
            Input::Command(ExecutorCommand::Connect(Some(
                crate::executor::profile::Profile::new("chosen", "special.apn"),
            ))),
        );
        run(&mut machine, &mut device, now);
        assert_eq!(
            device.activated.last().map(String::as_str),
            Some("special.apn")
        );
        machine.handle(
            now,
            Input::Command(ExecutorCommand::Suspend { device_wide: true }),
        );
        trace(&mut machine, &mut device, now);
        // While it slept the device was reset: its SIM asks for the PIN again.
        device.pin_locked = true;
        machine.handle(now, tracked(6, ExecutorCommand::Resume));
        let seen = trace(&mut machine, &mut device, now);
        assert_eq!(
            seen.get(..2),
            Some(&["open".to_owned(), "done 6 ok".to_owned()][..])
        );
        // Everything is asked again: capabilities, the SIM (the configured
        // PIN entered once more), registration, and the same profile.
        for name in [
            "device-caps",
            "subscriber-ready-status",
            "pin",
            "register-state",
            "connect",
        ] {
            assert!(seen.iter().any(|s| s == name), "{name} not asked: {seen:?}");
        }
        assert!(seen.contains(&"link-up".to_owned()), "{seen:?}");
        assert!(
            !device.pin_locked,
            "the configured PIN was not entered again"
        );
        assert_eq!(
            device.activated.last().map(String::as_str),
            Some("special.apn")
        );
        assert_eq!(machine.status().state, ExecutorState::Connected);
    }

    #[test]
    fn while_suspended_device_commands_fail_and_wishes_wait_for_the_resume() {
        let now = Instant::now();
        let mut device = FakeDevice::default();
        let mut machine = connected(&mut device, now);
        machine.handle(
            now,
            Input::Command(ExecutorCommand::Suspend { device_wide: false }),
        );
        trace(&mut machine, &mut device, now);
        machine.handle(now, tracked(7, ExecutorCommand::QuerySlots));
        machine.handle(now, tracked(8, ExecutorCommand::Disconnect));
        let seen = trace(&mut machine, &mut device, now);
        assert_eq!(seen, ["done 7 failed", "done 8 ok"]);
        // A second Suspend is done at once; a Resume brings it back, idle as asked.
        machine.handle(
            now,
            tracked(9, ExecutorCommand::Suspend { device_wide: true }),
        );
        assert_eq!(trace(&mut machine, &mut device, now), ["done 9 ok"]);
        machine.handle(now, Input::Command(ExecutorCommand::Resume));
        let seen = trace(&mut machine, &mut device, now);
        assert!(!seen.iter().any(|s| s == "connect"), "{seen:?}");
        assert_eq!(machine.status().state, ExecutorState::Idle);
    }

    #[test]
    fn a_closed_session_sleeps_at_once_and_a_wake_before_the_close_carries_on() {
        let now = Instant::now();
        let mut device = FakeDevice::default();
        // Closed and waiting to reopen (the device refused OPEN): asleep at once.
        let mut machine = ExecutorMachine::new(test_config());
        assert_eq!(machine.poll_action(), Some(Action::Open));
        machine.handle(now, Input::OpenTimedOut);
        assert!(machine.poll_timeout().is_some());
        machine.handle(
            now,
            tracked(1, ExecutorCommand::Suspend { device_wide: true }),
        );
        assert_eq!(trace(&mut machine, &mut device, now), ["done 1 ok"]);
        assert_eq!(machine.status().state, ExecutorState::Suspended);
        assert_eq!(machine.poll_timeout(), None);

        // Woken while the context is still being taken down: the Suspend
        // fails, and the executor reconnects as before.
        let mut machine = connected(&mut device, now);
        machine.handle(
            now,
            tracked(2, ExecutorCommand::Suspend { device_wide: true }),
        );
        let Some(Action::Send(request)) = machine.poll_action() else {
            panic!("no deactivation");
        };
        assert_eq!(request.name, "connect");
        machine.handle(now, tracked(3, ExecutorCommand::Resume));
        let (status, information_buffer) = device.answer(&request);
        machine.handle(
            now,
            Input::Response {
                status,
                information_buffer,
            },
        );
        let seen = trace(&mut machine, &mut device, now);
        assert!(seen.contains(&"done 2 failed".to_owned()), "{seen:?}");
        assert!(seen.contains(&"done 3 ok".to_owned()), "{seen:?}");
        assert!(!seen.contains(&"close".to_owned()), "{seen:?}");
        assert_eq!(machine.status().state, ExecutorState::Connected);
    }
}
