//! What follows OPEN: DEVICE_CAPS, DEVICE_CAPS_V2 (whether the multi-SIM
//! extensions are there), the subscription list, and the radio.

use super::step::Step;
use super::{ExecutorMachine, Next, Request};
use crate::executor::api::{DeviceInfo, ExecutorState};
use mbim_protocol::codec::Empty;
use mbim_protocol::services::basic_connect::{self as bc, RadioSwitchState};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::Cid;
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{Break, Continue};
use std::time::Instant;

impl ExecutorMachine {
    /// DEVICE_CAPS, then DEVICE_CAPS_V2, which says whether the multi-SIM
    /// extensions (and their CIDs) are there.
    pub(super) fn next_capability_query(&mut self) -> Next {
        if !self.caps {
            return Break(Some((
                Step::DeviceCaps,
                Request::query::<bc::cid::DeviceCaps>(&Empty),
            )));
        }
        if self.multi_sim.is_none() {
            return Break(Some((
                Step::DeviceCapsV2,
                Request::query::<ms::cid::DeviceCapsV2>(&Empty),
            )));
        }
        Continue(())
    }

    /// The subscription list, then the radio as wanted; with the radio off (by
    /// request or by its hardware switch) nothing further is asked.
    pub(super) fn next_subscription_or_radio(&mut self) -> Next {
        if !self.subscribed {
            return Break(Some((
                Step::Subscribe,
                self.subscribe_request(self.multi_sim == Some(true)),
            )));
        }
        if let Break(next) = self.next_fcc_step() {
            return Break(next);
        }
        let want_radio = if self.want_radio {
            RadioSwitchState::On
        } else {
            RadioSwitchState::Off
        };
        match self.radio_sw {
            None => {
                return Break(Some((
                    Step::RadioQuery,
                    Request::query::<bc::cid::RadioState>(&Empty),
                )));
            }
            Some(state) if state != want_radio => {
                let set = bc::RadioStateSet {
                    radio_state: want_radio,
                };
                return Break(Some((
                    Step::RadioSet,
                    Request::set::<bc::cid::RadioState>(&set),
                )));
            }
            Some(_) => {
                for id in std::mem::take(&mut self.radio_waiters) {
                    self.done(Some(id), Ok(()));
                }
            }
        }
        if !self.want_radio || self.radio_hw == Some(RadioSwitchState::Off) {
            self.fail_pending_entries(true, true, "the radio is off");
        }
        if !self.want_radio {
            self.wait(
                ExecutorState::RadioOff,
                Some("radio switched off by request".to_owned()),
            );
            return Break(None);
        }
        if self.radio_hw == Some(RadioSwitchState::Off) {
            self.wait(
                ExecutorState::RadioOff,
                Some("the hardware radio switch is off".to_owned()),
            );
            return Break(None);
        }
        Continue(())
    }

    fn subscribe_request(&self, multi_sim: bool) -> Request {
        let mut events = vec![bc::EventEntry {
            device_service_id: bc::SERVICE.uuid,
            cids: vec![
                bc::cid::SubscriberReadyStatus::ID,
                bc::cid::RadioState::ID,
                bc::cid::RegisterState::ID,
                bc::cid::PacketService::ID,
                bc::cid::SignalState::ID,
                bc::cid::Connect::ID,
                bc::cid::IpConfiguration::ID,
            ],
        }];
        if multi_sim {
            events.push(bc::EventEntry {
                device_service_id: ms::SERVICE.uuid,
                cids: vec![ms::cid::SlotInfoStatus::ID],
            });
        }
        Request::set::<bc::cid::DeviceServiceSubscribeList>(&bc::EventEntries { events })
    }

    /// DEVICE_CAPS answered: the device's firmware, hardware and ID.
    pub(super) fn device_caps_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        self.caps = true;
        if status.is_success() {
            if let Some(caps) = self.decode::<bc::DeviceCapsInfo>(now, "DEVICE_CAPS", buffer) {
                self.status.max_sessions = Some(caps.max_sessions);
                self.status.device = DeviceInfo {
                    firmware: caps.firmware_info.clone(),
                    hardware: caps.hardware_info.clone(),
                    device_id: caps.device_id.clone(),
                    data_classes: caps.data_class.bits(),
                };
                tracing::info!(
                    executor = self.log_number(),
                    firmware = caps.firmware_info,
                    max_sessions = caps.max_sessions,
                    "device capabilities"
                );
            }
        } else {
            tracing::warn!(executor = self.log_number(), "DEVICE_CAPS failed: {status}");
        }
    }

    /// DEVICE_CAPS_V2 answered (or not: then the device has no multi-SIM
    /// extensions).
    pub(super) fn device_caps_v2_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        let caps = if status.is_success() {
            self.decode_device_caps_v2(now, "DEVICE_CAPS_V2", buffer)
        } else {
            None
        };
        // NO_DEVICE_SUPPORT: a single-executor device without the
        // multi-SIM extensions.
        self.multi_sim = Some(caps.is_some());
        self.status.multi_sim = caps.is_some();
        if let Some(caps) = &caps {
            // The same facts as DEVICE_CAPS; an empty one adds nothing.
            let device = &mut self.status.device;
            for (field, value) in [
                (&mut device.firmware, &caps.firmware_info),
                (&mut device.hardware, &caps.hardware_info),
                (&mut device.device_id, &caps.device_id),
            ] {
                if !value.is_empty() {
                    field.clone_from(value);
                }
            }
        }
        self.status.device_executor_index = caps.map(|caps| caps.executor_index);
    }

    /// The subscription list answered.
    pub(super) fn subscribe_answer(&mut self, status: Status) {
        // Without the list the device indicates everything; go on.
        self.subscribed = true;
        if !status.is_success() {
            tracing::warn!(executor = self.log_number(), "subscribing failed: {status}");
        }
    }

    /// RADIO_STATE answered, to a query or a `set` (on, or off). A set of
    /// on that is refused or leaves the radio off may mean an FCC lock.
    pub(super) fn radio_answer(&mut self, now: Instant, set: bool, status: Status, buffer: &[u8]) {
        let info = if status.is_success() {
            self.decode::<bc::RadioStateInfo>(now, "RADIO_STATE", buffer)
        } else {
            None
        };
        let switched_on = set && self.want_radio;
        match info {
            Some(info) if switched_on && info.sw_radio_state == RadioSwitchState::Off => {
                self.apply_radio(&info);
                let why = "RADIO_STATE set on answered with the radio off";
                if !self.radio_refused(why) {
                    self.retry_later(now, why.to_owned());
                }
            }
            Some(info) => self.apply_radio(&info),
            None if switched_on && self.radio_refused(&format!("RADIO_STATE set on: {status}")) => {
                self.radio_sw = Some(RadioSwitchState::Off);
            }
            None => {
                let waiters = std::mem::take(&mut self.radio_waiters);
                let mut message = format!("RADIO_STATE failed: {status}");
                if switched_on {
                    message.push_str(
                        " (a modem that keeps its radio off until unlocked needs fcc-unlock in \
                         its [[devices.rules]], mbimd.toml(5))",
                    );
                }
                self.fail_all(waiters, Some(status), &message);
                self.retry_later(now, message);
            }
        }
    }

    pub(super) fn apply_radio(&mut self, info: &bc::RadioStateInfo) {
        self.radio_sw = Some(info.sw_radio_state);
        self.radio_hw = Some(info.hw_radio_state);
        self.status.radio_software = Some(info.sw_radio_state);
        self.status.radio_hardware = Some(info.hw_radio_state);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{
        DeviceInfo, ExecutorCommand, ExecutorEvent, ExecutorState, SystemCaps,
    };
    use mbim_protocol::codec::Payload;
    use mbim_protocol::services::basic_connect::{self as bc, RadioSwitchState};
    use mbim_protocol::services::ms_basic_connect_extensions as ms;
    use mbim_protocol::status::{CommandType, Status};
    use std::time::Instant;

    #[test]
    fn the_status_holds_the_device_the_modem_its_slots_and_the_mapping() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let (_, events) = run_all(&mut machine, &mut device, now);
        assert_eq!(
            events[..3],
            [
                ExecutorEvent::SlotMapping {
                    set: false,
                    status: Status::Success,
                    mapping: Some(vec![1]),
                },
                ExecutorEvent::SlotInfo {
                    slot: 0,
                    state: ms::UiccSlotState::Active,
                },
                ExecutorEvent::SlotInfo {
                    slot: 1,
                    state: ms::UiccSlotState::ActiveEsim,
                },
            ]
        );
        assert!(matches!(events[3..], [ExecutorEvent::Connected(_)]));
        let status = machine.status();
        assert_eq!(
            status.device,
            DeviceInfo {
                firmware: "fw 1.0".to_owned(),
                hardware: "hw A".to_owned(),
                device_id: "350000000000009".to_owned(),
                data_classes: 0x24,
            }
        );
        assert_eq!(
            status.sys_caps,
            Some(SystemCaps {
                executors: 1,
                slots: 2,
                concurrency: 1,
                modem_id: 1,
            })
        );
        assert_eq!(
            status.slots,
            [
                Some(ms::UiccSlotState::Active),
                Some(ms::UiccSlotState::ActiveEsim)
            ]
        );
        assert_eq!(status.mapping, [1]);
        assert_eq!(status.slot, Some(1));
        assert_eq!(status.radio_software, Some(RadioSwitchState::On));
        assert_eq!(status.radio_hardware, Some(RadioSwitchState::On));
    }

    #[test]
    fn a_tracked_radio_switch_is_done_on_the_sets_answer() {
        let now = Instant::now();
        let mut config = test_config();
        config.autoconnect = false;
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice {
            radio_on: false,
            ..FakeDevice::default()
        };
        // The machine switches the radio on by itself; then off by request.
        run(&mut machine, &mut device, now);
        assert_eq!(machine.status().state, ExecutorState::Idle);
        machine.handle(now, tracked(1, ExecutorCommand::SetRadio(false)));
        let mut sent = Vec::new();
        let mut events = Vec::new();
        while let Some(action) = machine.poll_action() {
            match action {
                Action::Send(request) => {
                    sent.push((request.name, request.command_type == CommandType::Set));
                    let info = bc::RadioStateInfo {
                        hw_radio_state: RadioSwitchState::On,
                        sw_radio_state: RadioSwitchState::Off,
                    };
                    machine.handle(
                        now,
                        Input::Response {
                            status: Status::Success,
                            information_buffer: info.encode(),
                        },
                    );
                }
                Action::Report(event) => events.push(event),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sent, [("radio-state", true)]);
        assert_eq!(events, [done(1, Ok(()))]);
        assert_eq!(machine.status().state, ExecutorState::RadioOff);
        assert_eq!(machine.status().radio_software, Some(RadioSwitchState::Off));
    }
}
