//! Finding the network: HOME_PROVIDER, SIGNAL_STATE, REGISTER_STATE, and the
//! packet service (the device's own attach waited for, then asked for).

use super::step::Step;
use super::{ExecutorMachine, Next, Request};
use crate::executor::api::ExecutorState;
use mbim_protocol::codec::Empty;
use mbim_protocol::services::basic_connect::{
    self as bc, PacketServiceAction, PacketServiceState, RegisterAction, RegisterState,
};
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{Break, Continue};
use std::time::Instant;

/// The REGISTER_STATE set for a registration with `provider` (MCC+MNC)
/// by hand, or automatic (`None`), preferring `data_classes` (0: the
/// device's choice).
pub(super) fn register_set(provider: Option<&str>, data_classes: u32) -> bc::RegisterStateSet {
    bc::RegisterStateSet {
        provider_id: provider.unwrap_or_default().to_owned(),
        register_action: if provider.is_some() {
            RegisterAction::Manual
        } else {
            RegisterAction::Automatic
        },
        data_class: bc::DataClass::from_bits(data_classes),
    }
}

impl ExecutorMachine {
    /// The network once the SIM is ready: home provider, signal, automatic
    /// registration, then (when a connection is wanted) the packet service,
    /// the device's own attach waited for before asking for it.
    pub(super) fn next_registration_request(&mut self, now: Instant) -> Next {
        if !self.home_provider {
            return Break(Some((
                Step::HomeProvider,
                Request::query::<bc::cid::HomeProvider>(&Empty),
            )));
        }
        if !self.signal_known {
            return Break(Some((
                Step::SignalQuery,
                Request::query::<bc::cid::SignalState>(&Empty),
            )));
        }
        if !self.register_requested {
            let set = register_set(self.register_choice.as_deref(), self.register_data_classes);
            return Break(Some((
                Step::RegisterSet,
                Request::set::<bc::cid::RegisterState>(&set),
            )));
        }
        match self.status.register_state {
            None => {
                return Break(Some((
                    Step::RegisterQuery,
                    Request::query::<bc::cid::RegisterState>(&Empty),
                )));
            }
            Some(RegisterState::Home | RegisterState::Roaming | RegisterState::Partner) => {}
            Some(other) => {
                self.next_attach_after_refusal(&format!("registration {other}"))?;
                self.wait(
                    ExecutorState::Registering,
                    Some(format!("registration {other}")),
                );
                return Break(None);
            }
        }
        if self.active.is_none() && !self.want_connect {
            self.wait(
                ExecutorState::Idle,
                Some("not connected by request".to_owned()),
            );
            return Break(None);
        }
        match self.status.packet_service {
            None => {
                return Break(Some((
                    Step::PacketQuery,
                    Request::query::<bc::cid::PacketService>(&Empty),
                )));
            }
            Some(PacketServiceState::Attached) => {
                self.auto_attach_until = None;
                self.auto_attach_expired = false;
            }
            Some(PacketServiceState::Attaching) if !self.auto_attach_expired => {
                // Seed 000: the device attaches by itself; wait for it. An
                // attach request now would complete with the auto attach's
                // status anyway; it is sent only if the wait runs long.
                if self.auto_attach_until.is_none() {
                    self.auto_attach_until = now.checked_add(self.config.command_timeout);
                }
                self.wait(
                    ExecutorState::Attaching,
                    Some("the device is attaching".to_owned()),
                );
                return Break(None);
            }
            Some(other) => {
                self.next_attach_after_refusal(&format!("packet service {other}"))?;
                self.auto_attach_until = None;
                self.auto_attach_expired = false;
                let set = bc::PacketServiceSet {
                    packet_service_action: PacketServiceAction::Attach,
                };
                return Break(Some((
                    Step::Attach,
                    Request::set::<bc::cid::PacketService>(&set),
                )));
            }
        }
        Continue(())
    }

    /// HOME_PROVIDER answered.
    pub(super) fn home_provider_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        self.home_provider = true;
        if status.is_success() {
            if let Some(provider) = self.decode::<bc::Provider>(now, "HOME_PROVIDER", buffer) {
                self.status.home_provider = provider.provider_id;
                self.home_provider_name = provider.provider_name;
            }
        }
    }

    /// SIGNAL_STATE answered.
    pub(super) fn signal_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        self.signal_known = true;
        if status.is_success() {
            if let Some(info) = self.decode_signal(now, "SIGNAL_STATE", buffer) {
                self.status.rssi = Some(info.rssi);
                self.status.error_rate = Some(info.error_rate);
            }
        }
    }

    /// REGISTER_STATE answered, to the automatic registration `set` or to a
    /// query.
    pub(super) fn registration_answer(
        &mut self,
        now: Instant,
        set: bool,
        status: Status,
        buffer: &[u8],
    ) {
        self.register_requested = true;
        let info = if status.is_success() {
            self.decode_registration(now, "REGISTER_STATE", buffer)
        } else {
            None
        };
        match info {
            Some(info) => self.apply_registration(now, &info),
            None if set => {
                // Automatic registration may be the device's own
                // default already; ask where it is instead.
                tracing::info!(executor = self.log_number(), "REGISTER_STATE set: {status}");
                self.status.register_state = None;
            }
            None => self.retry_later(now, format!("REGISTER_STATE failed: {status}")),
        }
    }

    /// PACKET_SERVICE answered, to a query or an attach.
    pub(super) fn packet_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        // A failure may come without the state; only a buffer says it.
        if !buffer.is_empty() {
            if let Some(info) = self.decode_packet(now, "PACKET_SERVICE", buffer) {
                self.apply_packet(now, &info);
            }
        }
        if !status.is_success() {
            self.retry_later(now, format!("packet service: {status}"));
        }
    }

    /// REGISTER_STATE set with a client's choice answered: the choice holds
    /// from now on and the registration it gave is taken; a refusal
    /// changes nothing and fails the request.
    pub(super) fn register_choice_answer(
        &mut self,
        now: Instant,
        (provider, data_classes): (Option<String>, u32),
        tracked: Option<u64>,
        status: Status,
        buffer: &[u8],
    ) {
        if !status.is_success() {
            tracing::info!(
                executor = self.log_number(),
                "registration refused: {status}"
            );
            if let Some(id) = tracked {
                self.fail(id, Some(status), "the device refused the registration");
            }
            return;
        }
        self.register_choice = provider;
        self.register_data_classes = data_classes;
        match self.decode_registration(now, "REGISTER_STATE", buffer) {
            Some(info) => self.apply_registration(now, &info),
            // Ask where it is.
            None => self.status.register_state = None,
        }
        self.done(tracked, Ok(()));
    }

    pub(super) fn apply_registration(&mut self, now: Instant, info: &bc::RegistrationStateInfo) {
        let state = info.register_state;
        self.status.register_state = Some(state);
        if info.nw_error != bc::NwError::None {
            self.status.network_error = Some(info.nw_error);
        }
        self.status.available_data_classes = info.available_data_classes.bits();
        self.status.provider_id.clone_from(&info.provider_id);
        self.status.provider_name.clone_from(&info.provider_name);
        self.status.roaming = matches!(state, RegisterState::Roaming | RegisterState::Partner);
        let registered = matches!(
            state,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        if registered {
            self.attach_accepted();
        } else {
            self.attach_refused(info.nw_error);
            self.status.packet_service = None;
            self.lost_to_network(now, &format!("registration {state}"));
        }
    }

    pub(super) fn apply_packet(&mut self, now: Instant, info: &bc::PacketServiceInfo) {
        let state = info.packet_service_state;
        self.status.packet_service = Some(state);
        self.status.data_class = info.highest_available_data_class.bits();
        if info.nw_error != bc::NwError::None {
            self.status.network_error = Some(info.nw_error);
        }
        if state == PacketServiceState::Attached {
            self.attach_accepted();
        } else {
            self.attach_refused(info.nw_error);
            self.lost_to_network(now, &format!("packet service {state}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorEvent, ExecutorState};
    use mbim_protocol::services::basic_connect::{self as bc, PacketServiceState};
    use std::time::Instant;

    #[test]
    fn the_devices_own_attach_is_waited_for_then_asked_for() {
        let start = Instant::now();
        for indication_comes in [true, false] {
            let mut machine = ExecutorMachine::new(test_config());
            let mut device = FakeDevice {
                attached: false,
                attaching: true,
                ..FakeDevice::default()
            };
            let (sent, events) = run(&mut machine, &mut device, start);
            assert_eq!(sent.last(), Some(&("packet-service", false)));
            assert!(events.is_empty());
            assert_eq!(machine.status().state, ExecutorState::Attaching);
            let (sent, events) = if indication_comes {
                device.attaching = false;
                device.attached = true;
                indicate(
                    &mut machine,
                    start,
                    bc::cid::PacketService::ID,
                    packet(PacketServiceState::Attached),
                );
                run(&mut machine, &mut device, start)
            } else {
                let due = machine.poll_timeout().unwrap();
                // As long as a command may take.
                assert_eq!(due, start + test_config().command_timeout);
                machine.handle_timeout(due);
                run(&mut machine, &mut device, due)
            };
            let mut expected = vec![("connect", true), ("ip-configuration", false)];
            if !indication_comes {
                expected.insert(0, ("packet-service", true));
            }
            assert_eq!(sent, expected, "{indication_comes}");
            assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        }
    }

    #[test]
    fn a_clients_registration_is_sent_kept_and_a_missing_reset_refused() {
        use crate::executor::api::ExecutorCommand;
        use mbim_protocol::status::Status;
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, start);

        machine.handle(
            start,
            tracked(3, ExecutorCommand::Register(Some("00102".to_owned()))),
        );
        let (sent, events) = run(&mut machine, &mut device, start);
        assert_eq!(sent, [("register-state", true)]);
        assert_eq!(events, [done(3, Ok(()))]);
        assert_eq!(machine.register_choice.as_deref(), Some("00102"));
        let set = super::register_set(machine.register_choice.as_deref(), 0);
        assert_eq!(set.register_action, bc::RegisterAction::Manual);
        assert_eq!(set.provider_id, "00102");
        assert_eq!(
            super::register_set(None, 0).register_action,
            bc::RegisterAction::Automatic
        );

        // The fake device has no DEVICE_RESET.
        machine.handle(start, tracked(4, ExecutorCommand::ResetDevice));
        let (sent, events) = run(&mut machine, &mut device, start);
        assert_eq!(sent, [("device-reset", true)]);
        assert_eq!(
            events,
            [done(
                4,
                failure(
                    Some(Status::NoDeviceSupport),
                    "the device refused DEVICE_RESET"
                )
            )]
        );
    }
}
