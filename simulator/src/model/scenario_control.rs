//! The run-time control API (`mbim-sim ctl` over its JSON-lines socket,
//! the tests): SIM insertion and removal, signal and packet-service loss,
//! IP configuration and DNS changes, faults, traffic, a device reset,
//! unplug and replug, and the status report's entry point.
//!
//! This is the world acting on the modem, not the host: nothing here comes
//! through a USB endpoint.

use super::data::Traffic;
use super::{net, Card, Executor, Modem, Slot};
use crate::control::{ControlCommand, ControlError, ControlReply, Fault};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use std::sync::Arc;
use std::time::Instant;

impl Modem {
    /// Applies a control command.
    pub fn control(
        &mut self,
        now: Instant,
        command: ControlCommand,
    ) -> Result<ControlReply, ControlError> {
        if let ControlCommand::Replug = command {
            if !self.unplugged {
                return Err(ControlError::Invalid(
                    "the modem is plugged in; unplug it first".to_owned(),
                ));
            }
            // A modem pushed back in powers on afresh.
            *self = Modem::new(Arc::clone(&self.scenario), now)
                .map_err(|error| ControlError::Invalid(error.to_string()))?;
            return Ok(ControlReply::Ok);
        }
        if self.unplugged && !matches!(command, ControlCommand::Status) {
            return Err(ControlError::Unplugged);
        }
        self.handle_timeout(now);
        match command {
            ControlCommand::InsertSim { slot, card } => {
                card.validate().map_err(ControlError::Invalid)?;
                let entry = self.slot_mut(slot)?;
                if entry.card.is_some() {
                    return Err(ControlError::SlotOccupied(slot));
                }
                entry.card = Some(Card::new(card));
                self.notify_slot(now, slot);
                for index in self.executors_on(slot) {
                    self.refresh_executor(now, index);
                }
            }
            ControlCommand::RemoveSim { slot } => {
                let entry = self.slot_mut(slot)?;
                if entry.card.take().is_none() {
                    return Err(ControlError::SlotEmpty(slot));
                }
                self.notify_slot(now, slot);
                for index in self.executors_on(slot) {
                    self.refresh_executor(now, index);
                }
            }
            ControlCommand::BlockPin { slot } => {
                let entry = self.slot_mut(slot)?;
                let Some(card) = entry.card.as_mut() else {
                    return Err(ControlError::SlotEmpty(slot));
                };
                card.lock.block_pin();
                for index in self.executors_on(slot) {
                    self.refresh_executor(now, index);
                }
            }
            ControlCommand::LoseSignal { executor } => {
                self.executor_mut(executor)?.signal = false;
                self.refresh_executor(now, executor);
            }
            ControlCommand::RegainSignal { executor } => {
                let entry = self.executor_mut(executor)?;
                entry.signal = true;
                entry.packet_available = true;
                self.refresh_executor(now, executor);
            }
            ControlCommand::LosePacketService { executor } => {
                self.executor_mut(executor)?.packet_available = false;
                self.refresh_executor(now, executor);
            }
            ControlCommand::RegainPacketService { executor } => {
                self.executor_mut(executor)?.packet_available = true;
                self.refresh_executor(now, executor);
            }
            ControlCommand::SetIpConfig {
                executor,
                ipv4,
                ipv6,
            } => {
                let entry = self.executor_mut(executor)?;
                entry.ipv4 = ipv4;
                entry.ipv6 = ipv6;
                self.notify_ip_configuration(now, executor);
            }
            ControlCommand::SetDns {
                executor,
                ipv4_dns,
                ipv6_dns,
            } => {
                let entry = self.executor_mut(executor)?;
                if let Some(config) = &mut entry.ipv4 {
                    config.dns = ipv4_dns;
                }
                if let Some(config) = &mut entry.ipv6 {
                    config.dns = ipv6_dns;
                }
                self.notify_ip_configuration(now, executor);
            }
            ControlCommand::NextSlotMappingStatus { status } => {
                self.next_slot_mapping_fault = Some(status);
            }
            ControlCommand::Faults { function, fault } => {
                let f = self
                    .functions
                    .get_mut(function)
                    .ok_or(ControlError::NoSuchExecutor(function))?;
                match fault {
                    Fault::SendGarbageNtbs { count } => f.data.queue_garbage(count),
                    fault => f.channel.fault(&fault),
                }
                .map_err(ControlError::Invalid)?;
            }
            ControlCommand::Traffic { executor, settings } => {
                let gateways = self.gateways(executor);
                let session = u8::try_from(settings.session)
                    .map_err(|_| ControlError::Invalid("session must be below 256".to_owned()))?;
                let base = self
                    .executors
                    .get(executor)
                    .ok_or(ControlError::NoSuchExecutor(executor))?;
                // The generator may be set up before CONNECT: take the
                // configured gateways then.
                let gateway = gateways.get(&session).copied().unwrap_or(net::Gateway {
                    ipv4: base
                        .ipv4
                        .as_ref()
                        .map(|c| c.for_session(u32::from(session)).gateway),
                    ipv6: base
                        .ipv6
                        .as_ref()
                        .map(|c| c.for_session(u32::from(session)).gateway),
                    sink_port: None,
                });
                let traffic = if settings.sink_port.is_none() && settings.source.is_none() {
                    None
                } else {
                    Some(
                        Traffic::new(now, session, settings.sink_port, settings.source, &gateway)
                            .map_err(ControlError::Invalid)?,
                    )
                };
                let f = self
                    .functions
                    .get_mut(executor)
                    .ok_or(ControlError::NoSuchExecutor(executor))?;
                // Each session its own; the others' stay as they are.
                match traffic {
                    Some(traffic) => {
                        f.data.traffic.insert(session, traffic);
                    }
                    None => {
                        f.data.traffic.remove(&session);
                    }
                }
            }
            ControlCommand::MisreportSlot { slot, state } => {
                let state = match state {
                    None => None,
                    Some(name) => Some(UiccSlotState::from_name(&name).ok_or_else(|| {
                        ControlError::Invalid(format!("{name:?} is not a slot state"))
                    })?),
                };
                self.slot_mut(slot)?.misreport = state;
                self.notify_slot(now, slot);
            }
            ControlCommand::ResetDevice => self.reset_device(now)?,
            ControlCommand::Unplug => {
                self.unplugged = true;
            }
            // Handled above: it is the one command an unplugged modem takes.
            ControlCommand::Replug => {}
            ControlCommand::Status => {
                return Ok(ControlReply::Status {
                    status: self.status_report(),
                });
            }
        }
        Ok(ControlReply::Ok)
    }

    /// `reset-device`: the power-on state again, with what a reset leaves
    /// alone (the cards, PIN1's settings and attempts, the slot mapping).
    pub(super) fn reset_device(&mut self, now: Instant) -> Result<(), ControlError> {
        let mut fresh = Modem::new(Arc::clone(&self.scenario), now)
            .map_err(|error| ControlError::Invalid(error.to_string()))?;
        for (slot, old) in fresh.slots.iter_mut().zip(std::mem::take(&mut self.slots)) {
            slot.card = old.card.map(|mut card| {
                card.lock.power_cycle();
                card
            });
        }
        for (executor, old) in fresh.executors.iter_mut().zip(&self.executors) {
            executor.slot = old.slot;
        }
        fresh.host_shutdowns = self.host_shutdowns;
        fresh.resets = self.resets.saturating_add(1);
        *self = fresh;
        // Settled on the cards and mapping it kept, silently: no function is open.
        for index in 0..self.executors.len() {
            self.refresh_executor(now, index);
        }
        Ok(())
    }

    fn slot_mut(&mut self, slot: u32) -> Result<&mut Slot, ControlError> {
        usize::try_from(slot)
            .ok()
            .and_then(|index| self.slots.get_mut(index))
            .ok_or(ControlError::NoSuchSlot(slot))
    }

    fn executor_mut(&mut self, executor: usize) -> Result<&mut Executor, ControlError> {
        self.executors
            .get_mut(executor)
            .ok_or(ControlError::NoSuchExecutor(executor))
    }
}
