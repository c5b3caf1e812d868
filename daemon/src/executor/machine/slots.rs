//! The multi-SIM extensions: SYS_CAPS (the modem's executors and slots),
//! DEVICE_SLOT_MAPPINGS (asked and set) and SLOT_INFO_STATUS (asked and
//! notified).

use super::step::Step;
use super::{ExecutorMachine, Next, Request};
use crate::executor::api::{CommandFailure, ExecutorEvent, SystemCaps};
use mbim_protocol::codec::Empty;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{Break, Continue};
use std::time::Instant;

/// More slots than any modem has: a device claiming more is not believed
/// (the status keeps one entry per slot).
const MAX_SLOTS: u32 = 16;

impl ExecutorMachine {
    /// With the multi-SIM extensions: SYS_CAPS, the slot mapping, then every
    /// slot waiting to be asked about; tracked slot queries are answered once
    /// none is left.
    pub(super) fn next_slot_request(&mut self) -> Next {
        // Known by now: DEVICE_CAPS_V2 is asked for first.
        let multi_sim = self.multi_sim == Some(true);
        if !multi_sim {
            let waiters = std::mem::take(&mut self.slot_query_waiters);
            self.fail_all(waiters, None, "the device has no multi-SIM extensions");
            let waiters = std::mem::take(&mut self.mapping_waiters);
            self.fail_all(waiters, None, "the device has no multi-SIM extensions");
        }
        if multi_sim && !self.sys_caps {
            return Break(Some((
                Step::SysCaps,
                Request::query::<ms::cid::SysCaps>(&Empty),
            )));
        }
        if multi_sim && !self.slot_mapping {
            return Break(Some((
                Step::SlotMappings,
                Request::query::<ms::cid::DeviceSlotMappings>(&Empty),
            )));
        }
        if let Some(&slot) = self.slots_to_query.front() {
            let query = ms::SlotInfoRequest { slot_index: slot };
            return Break(Some((
                Step::SlotInfoQuery(slot),
                Request::query::<ms::cid::SlotInfoStatus>(&query),
            )));
        }
        if !self.slot_query_waiters.is_empty() {
            let result = self.slot_query_failure.take().map_or(Ok(()), Err);
            for id in std::mem::take(&mut self.slot_query_waiters) {
                self.done(Some(id), result.clone());
            }
        }
        Continue(())
    }

    /// Every slot the modem has (as far as known) is asked about again.
    pub(super) fn queue_slot_queries(&mut self) {
        let known = self.status.sys_caps.map_or(0, |caps| caps.slots);
        let seen = u32::try_from(self.status.slots.len()).unwrap_or(MAX_SLOTS);
        for slot in 0..known.max(seen).min(MAX_SLOTS) {
            if !self.slots_to_query.contains(&slot) {
                self.slots_to_query.push_back(slot);
            }
        }
    }

    /// SYS_CAPS answered: the modem's executors and slots.
    pub(super) fn sys_caps_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        self.sys_caps = true;
        if status.is_success() {
            if let Some(caps) = self.decode::<ms::SysCapsInfo>(now, "SYS_CAPS", buffer) {
                tracing::info!(
                    executor = self.log_number(),
                    executors = caps.number_of_executors,
                    slots = caps.number_of_slots,
                    concurrency = caps.concurrency,
                    "modem capabilities"
                );
                self.status.sys_caps = Some(SystemCaps {
                    executors: caps.number_of_executors,
                    slots: caps.number_of_slots,
                    concurrency: caps.concurrency,
                    modem_id: caps.modem_id,
                });
                let slots = caps.number_of_slots.min(MAX_SLOTS);
                if let Ok(slots) = usize::try_from(slots) {
                    if self.status.slots.len() < slots {
                        self.status.slots.resize(slots, None);
                    }
                }
                self.queue_slot_queries();
            }
        }
    }

    /// The query of DEVICE_SLOT_MAPPINGS answered.
    pub(super) fn slot_mapping_query_answer(
        &mut self,
        now: Instant,
        status: Status,
        buffer: &[u8],
    ) {
        self.slot_mapping = true;
        let mapping = if status.is_success() {
            self.slot_mapping_answer(now, false, status, buffer)
        } else {
            self.slot_mapping_answer(now, false, status, &[])
        };
        let result = match mapping {
            Some(_) => Ok(()),
            None => Err(CommandFailure {
                status: Some(status),
                message: format!("DEVICE_SLOT_MAPPINGS query failed: {status}"),
                timed_out: false,
            }),
        };
        for id in std::mem::take(&mut self.mapping_waiters) {
            self.done(Some(id), result.clone());
        }
    }

    /// SLOT_INFO_STATUS of `slot` answered.
    pub(super) fn slot_info_answer(
        &mut self,
        now: Instant,
        slot: u32,
        status: Status,
        buffer: &[u8],
    ) {
        if self.slots_to_query.front() == Some(&slot) {
            self.slots_to_query.pop_front();
        }
        let info = if status.is_success() {
            self.decode::<ms::SlotInfo>(now, "SLOT_INFO_STATUS", buffer)
        } else {
            None
        };
        match info {
            Some(info) => self.slot_info(now, info),
            None => {
                tracing::warn!(
                    executor = self.log_number(),
                    slot,
                    "SLOT_INFO_STATUS failed: {status}"
                );
                self.slot_query_failure.get_or_insert(CommandFailure {
                    status: Some(status),
                    message: format!("SLOT_INFO_STATUS of slot {slot} failed: {status}"),
                    timed_out: false,
                });
            }
        }
    }

    /// A set of DEVICE_SLOT_MAPPINGS answered: done only if the mapping asked
    /// for is the one in force.
    pub(super) fn slot_mapping_set_answer(
        &mut self,
        now: Instant,
        slots: Vec<u32>,
        tracked: Option<u64>,
        status: Status,
        buffer: &[u8],
    ) {
        // The response carries the mapping in force, success or not (seed 004).
        let mapping = self.slot_mapping_answer(now, true, status, buffer);
        let applied = mapping.as_ref() == Some(&slots);
        let result = if status.is_success() && applied {
            Ok(())
        } else if status.is_success() {
            let message = match &mapping {
                Some(mapping) => format!("the device kept the mapping {mapping:?}"),
                None => "the device did not say which mapping is in force".to_owned(),
            };
            Err(CommandFailure {
                status: Some(status),
                message,
                timed_out: false,
            })
        } else {
            Err(CommandFailure {
                status: Some(status),
                message: format!("slot mapping refused: {status}"),
                timed_out: false,
            })
        };
        self.done(tracked, result);
        if status.is_success() {
            tracing::info!(executor = self.log_number(), ?slots, "slot mapping set");
        } else {
            tracing::warn!(
                executor = self.log_number(),
                ?slots,
                "slot mapping refused: {status}"
            );
            self.status.reason = Some(format!("slot mapping refused: {status}"));
        }
    }

    /// A DEVICE_SLOT_MAPPINGS answer: kept, reported, and its mapping (if
    /// it carried one) returned.
    pub(super) fn slot_mapping_answer(
        &mut self,
        now: Instant,
        set: bool,
        status: Status,
        buffer: &[u8],
    ) -> Option<Vec<u32>> {
        let mapping = if buffer.is_empty() {
            None
        } else {
            self.decode::<ms::DeviceSlotMappingInfo>(now, "DEVICE_SLOT_MAPPINGS", buffer)
                .map(|mapping| mapping.slots())
        };
        if let Some(mapping) = &mapping {
            let index = self.status.device_executor_index.unwrap_or(0);
            self.status.slot = usize::try_from(index)
                .ok()
                .and_then(|index| mapping.get(index).copied());
            self.status.mapping.clone_from(mapping);
        }
        self.report(ExecutorEvent::SlotMapping {
            set,
            status,
            mapping: mapping.clone(),
        });
        mapping
    }

    /// A slot's state, answered or notified.
    pub(super) fn slot_info(&mut self, now: Instant, info: ms::SlotInfo) {
        let slot = info.slot_index;
        let Some(index) = usize::try_from(slot).ok().filter(|_| slot < MAX_SLOTS) else {
            self.misbehaved(
                now,
                &format!("SLOT_INFO_STATUS of slot {slot}, beyond any modem"),
            );
            return;
        };
        if self.status.slots.len() <= index {
            self.status.slots.resize(index.saturating_add(1), None);
        }
        if let Some(entry) = self.status.slots.get_mut(index) {
            *entry = Some(info.state);
        }
        tracing::info!(executor = self.log_number(), slot, state = %info.state, "slot state");
        self.report(ExecutorEvent::SlotInfo {
            slot,
            state: info.state,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent, ExecutorState};
    use mbim_protocol::codec::Payload;
    use mbim_protocol::services::basic_connect::{self as bc};
    use mbim_protocol::services::ms_basic_connect_extensions as ms;
    use mbim_protocol::status::Status;
    use std::time::Instant;

    #[test]
    fn slot_notifications_are_kept_and_reported_and_other_notifications_reported() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        // (service is ms?, cid, buffer) -> events
        let table: Vec<(bool, u32, Vec<u8>, Vec<ExecutorEvent>)> = vec![
            (
                true,
                ms::cid::SlotInfoStatus::ID,
                ms::SlotInfo {
                    slot_index: 0,
                    state: ms::UiccSlotState::Empty,
                }
                .encode(),
                vec![ExecutorEvent::SlotInfo {
                    slot: 0,
                    state: ms::UiccSlotState::Empty,
                }],
            ),
            // A slot beyond those SYS_CAPS named grows the list.
            (
                true,
                ms::cid::SlotInfoStatus::ID,
                ms::SlotInfo {
                    slot_index: 3,
                    state: ms::UiccSlotState::OffEmpty,
                }
                .encode(),
                vec![ExecutorEvent::SlotInfo {
                    slot: 3,
                    state: ms::UiccSlotState::OffEmpty,
                }],
            ),
            // No modem has that many slots: not believed, not reported.
            (
                true,
                ms::cid::SlotInfoStatus::ID,
                ms::SlotInfo {
                    slot_index: 4000,
                    state: ms::UiccSlotState::Active,
                }
                .encode(),
                vec![],
            ),
            (
                false,
                bc::cid::SignalState::ID,
                bc::SignalStateInfo {
                    rssi: 7,
                    error_rate: 0,
                    signal_strength_interval: 0,
                    rssi_threshold: 0,
                    error_rate_threshold: 0,
                }
                .encode(),
                vec![ExecutorEvent::Notification],
            ),
            (true, 42, vec![1, 2, 3], vec![ExecutorEvent::Notification]),
        ];
        for (ms_service, cid, buffer, expected) in table {
            if ms_service {
                indicate_ms(&mut machine, now, cid, buffer);
            } else {
                indicate(&mut machine, now, cid, buffer);
            }
            let (_, events) = run_all(&mut machine, &mut device, now);
            assert_eq!(events, expected, "{cid}");
        }
        let status = machine.status();
        assert_eq!(
            status.slots,
            [
                Some(ms::UiccSlotState::Empty),
                Some(ms::UiccSlotState::ActiveEsim),
                None,
                Some(ms::UiccSlotState::OffEmpty),
            ]
        );
        assert_eq!(status.rssi, Some(7));
        assert_eq!(status.state, ExecutorState::Connected);
    }

    #[test]
    fn a_tracked_slot_mapping_is_done_only_when_applied() {
        let now = Instant::now();
        // (device, expected SlotMapping event, expected outcome, mapping after)
        let table = [
            (
                FakeDevice::default(),
                (Status::Success, Some(vec![0])),
                Ok(()),
                vec![0],
            ),
            (
                FakeDevice {
                    refuse_mappings: true,
                    ..FakeDevice::default()
                },
                (Status::Failure, Some(vec![1])),
                failure(Some(Status::Failure), "slot mapping refused: failure"),
                vec![1],
            ),
            // BUSY: its owner (the slot policy) retries on the next
            // notification; the machine does not send it again itself.
            (
                FakeDevice {
                    busy_mappings: 1,
                    ..FakeDevice::default()
                },
                (Status::Busy, Some(vec![1])),
                failure(Some(Status::Busy), "the device is busy"),
                vec![1],
            ),
        ];
        for (mut device, (status, mapping), outcome, after) in table {
            let mut machine = ExecutorMachine::new(test_config());
            run(&mut machine, &mut device, now);
            machine.handle(now, tracked(7, ExecutorCommand::SetSlotMapping(vec![0])));
            let (sent, events) = run_all(&mut machine, &mut device, now);
            assert_eq!(sent, [("device-slot-mappings", true)]);
            assert_eq!(
                events,
                [
                    ExecutorEvent::SlotMapping {
                        set: true,
                        status,
                        mapping,
                    },
                    done(7, outcome),
                ]
            );
            assert_eq!(machine.status().mapping, after);
            indicate(
                &mut machine,
                now,
                bc::cid::SignalState::ID,
                bc::SignalStateInfo::default().encode(),
            );
            let (sent, events) = run_all(&mut machine, &mut device, now);
            assert!(sent.is_empty(), "{sent:?}");
            assert_eq!(events, [ExecutorEvent::Notification]);
        }
    }

    #[test]
    fn an_untracked_busy_slot_mapping_is_sent_again_on_the_next_notification() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice {
            busy_mappings: 1,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        machine.handle(
            now,
            Input::Command(ExecutorCommand::SetSlotMapping(vec![0])),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("device-slot-mappings", true)]);
        indicate_ms(
            &mut machine,
            now,
            ms::cid::SlotInfoStatus::ID,
            ms::SlotInfo {
                slot_index: 1,
                state: ms::UiccSlotState::ActiveEsim,
            }
            .encode(),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("device-slot-mappings", true)]);
        assert_eq!(machine.status().mapping, [0]);
    }
}
