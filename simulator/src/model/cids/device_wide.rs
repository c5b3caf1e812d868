//! Seed 004's device-wide SETs (DEVICE_SLOT_MAPPINGS, EMERGENCY_MODE),
//! carried out one at a time whichever function sent them, and the slot
//! mapping they change: each executor's slot, its validation and what an
//! executor does when its card changes.

use super::status_only;
use crate::control::SlotMappingFault;
use crate::model::{DeviceSet, Modem, Outcome, MAX_QUEUED_DEVICE_SETS};
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{
    self as bc, PacketServiceState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::Cid;
use mbim_protocol::status::Status;
use mbim_protocol::Payload;
use std::time::Instant;

impl Modem {
    /// The slot of each executor, in ExecutorIndex order (which is not the
    /// function order when the scenario says so).
    pub(super) fn slot_mapping(&self) -> ms::DeviceSlotMappingInfo {
        let mut slots = vec![0; self.executors.len()];
        for (function, executor) in self.executors.iter().enumerate() {
            let index = usize::try_from(self.scenario.executor_index(function)).ok();
            if let Some(entry) = index.and_then(|index| slots.get_mut(index)) {
                *entry = executor.slot;
            }
        }
        ms::DeviceSlotMappingInfo::from_slots(&slots)
    }

    /// Seed 004: device-wide SETs from any function are processed one at a
    /// time; one arriving while another is in progress waits its turn.
    pub(super) fn device_wide_set(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        let set = DeviceSet {
            function,
            transaction_id,
            head: *head,
            data: data.to_vec(),
        };
        if self.device_set_running.is_some() {
            if self.device_set_queue.len() >= MAX_QUEUED_DEVICE_SETS {
                return status_only(Status::Busy);
            }
            self.device_set_queue.push_back(set);
            return Outcome::Deferred;
        }
        let delay = self.device_set_delay();
        if delay.is_zero() {
            self.execute_device_set(now, &set);
            return Outcome::Sent;
        }
        self.device_set_running = Some((now.checked_add(delay).unwrap_or(now), set));
        Outcome::Deferred
    }

    /// Carries out a device-wide SET whose turn has come.
    pub(crate) fn execute_device_set(&mut self, now: Instant, set: &DeviceSet) {
        let service = set.head.service;
        let cid = set.head.cid;
        if service == ms::SERVICE.uuid && cid == ms::cid::DeviceSlotMappings::ID {
            self.slot_mappings_set(now, set.function, set.transaction_id, &set.data);
        } else if service == bc::SERVICE.uuid && cid == bc::cid::EmergencyMode::ID {
            let (status, buffer) = match bc::EmergencyModeInfo::decode(&set.data) {
                Ok(info) => {
                    self.emergency = info.state;
                    (Status::Success, info.encode())
                }
                Err(_) => (Status::InvalidParameters, Vec::new()),
            };
            self.command_done(
                now,
                set.function,
                set.transaction_id,
                service,
                cid,
                status,
                buffer,
            );
        }
    }

    /// DEVICE_SLOT_MAPPINGS set. The response always carries the mapping in
    /// force afterwards (seed 004), success or not.
    fn slot_mappings_set(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        data: &[u8],
    ) {
        let service = ms::SERVICE.uuid;
        let cid = ms::cid::DeviceSlotMappings::ID;
        let fault = self
            .next_slot_mapping_fault
            .take()
            .map(|fault| match fault {
                SlotMappingFault::Busy => Status::Busy,
                SlotMappingFault::VoiceCallInProgress => Status::VoiceCallInProgress,
            });
        let requested = ms::DeviceSlotMappingInfo::decode(data)
            .ok()
            .map(|info| info.slots());
        let status = fault.or_else(|| match &requested {
            None => Some(Status::InvalidParameters),
            Some(slots) => self.mapping_error(slots),
        });
        let (Some(slots), None) = (requested, status) else {
            let mapping = self.slot_mapping().encode();
            self.command_done(
                now,
                function,
                transaction_id,
                service,
                cid,
                status.unwrap_or(Status::Failure),
                mapping,
            );
            return;
        };
        // The request lists slots by ExecutorIndex; `changes` is by function.
        let changes: Vec<(usize, u32, u32)> = self
            .executors
            .iter()
            .enumerate()
            .filter_map(|(index, executor)| {
                let position = usize::try_from(self.scenario.executor_index(index)).ok()?;
                let slot = *slots.get(position)?;
                (executor.slot != slot).then_some((index, executor.slot, slot))
            })
            .collect();
        // The executor lets go of its old card: contexts, packet service and
        // registration go down, then ReadyState passes through "off"
        // (NotInitialized), as the seed's log shows before the mapping info.
        for (index, _, new_slot) in &changes {
            self.deactivate_all(now, *index);
            self.set_packet_state(now, *index, PacketServiceState::Detached);
            self.set_register_state(now, *index, RegisterState::Deregistered);
            if let Some(executor) = self.executors.get_mut(*index) {
                executor.slot = *new_slot;
                executor.ready = SubscriberReadyState::NotInitialized;
                executor.host_detached = false;
            }
            let mut off = self.subscriber_ready_info(*index);
            off.ready_state = SubscriberReadyState::NotInitialized;
            off.subscriber_id = String::new();
            off.sim_iccid = String::new();
            off.telephone_numbers = Vec::new();
            self.indicate::<bc::cid::SubscriberReadyStatus>(now, *index, &off);
        }
        let mapping = self.slot_mapping().encode();
        self.command_done(
            now,
            function,
            transaction_id,
            service,
            cid,
            Status::Success,
            mapping,
        );
        let mut touched: Vec<u32> = changes
            .iter()
            .flat_map(|(_, old, new)| [*old, *new])
            .collect();
        touched.sort_unstable();
        touched.dedup();
        for (_, _, new_slot) in &changes {
            // The newly selected card is powered up: an enabled PIN1 locks again.
            if let Some(card) = usize::try_from(*new_slot)
                .ok()
                .and_then(|slot| self.slots.get_mut(slot))
                .and_then(|slot| slot.card.as_mut())
            {
                card.lock.power_cycle();
            }
        }
        for slot in touched {
            self.notify_slot(now, slot);
        }
        for (index, _, _) in changes {
            self.refresh_executor(now, index);
        }
    }

    /// INVALID_PARAMETERS for a wrong count, a slot out of range or a slot twice.
    fn mapping_error(&self, slots: &[u32]) -> Option<Status> {
        if slots.len() != self.executors.len() {
            return Some(Status::InvalidParameters);
        }
        let count = self.slots.len();
        if slots
            .iter()
            .any(|slot| usize::try_from(*slot).map_or(true, |slot| slot >= count))
        {
            return Some(Status::InvalidParameters);
        }
        let mut sorted = slots.to_vec();
        sorted.sort_unstable();
        if sorted
            .windows(2)
            .any(|pair| matches!(pair, [a, b] if a == b))
        {
            return Some(Status::InvalidParameters);
        }
        None
    }
}
