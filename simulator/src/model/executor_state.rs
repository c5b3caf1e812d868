//! Keeping each executor's state in line with its SIM, radio and network:
//! the card in its slot, the ready state, registration and packet service,
//! tearing contexts down, and the indications and notifications each change
//! sends in the order seed 000 asks.
//!
//! The CID handlers, the control commands and the timers all change what
//! an executor depends on, then call [`Modem::refresh_executor`] here.

use super::{register_state_from_name, Card, Modem, Slot};
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationState, PacketServiceState, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::usb::Notification;
use std::time::Instant;

impl Modem {
    /// The card in the slot mapped to `executor`.
    pub(crate) fn card(&self, executor: usize) -> Option<&Card> {
        let slot = self.executors.get(executor)?.slot;
        self.slots.get(usize::try_from(slot).ok()?)?.card.as_ref()
    }

    pub(crate) fn card_mut(&mut self, executor: usize) -> Option<&mut Card> {
        let slot = self.executors.get(executor)?.slot;
        self.slots
            .get_mut(usize::try_from(slot).ok()?)?
            .card
            .as_mut()
    }

    /// The ready state `executor` should report now.
    pub(crate) fn ready_state(&self, executor: usize) -> SubscriberReadyState {
        self.card(executor)
            .map_or(SubscriberReadyState::SimNotInserted, Card::ready_state)
    }

    /// Brings `executor`'s reported states in line with its SIM, radio and
    /// network, sending indications for each change in the order seed 000
    /// asks: CONNECT Deactivated, PACKET_SERVICE Detached, REGISTER_STATE
    /// Deregistered when going down; ready state, registered, attached when
    /// coming up.
    pub(crate) fn refresh_executor(&mut self, now: Instant, index: usize) {
        let ready = self.ready_state(index);
        let Some(executor) = self.executors.get(index) else {
            return;
        };
        let register_target =
            if executor.radio_on && executor.signal && ready == SubscriberReadyState::Initialized {
                match executor.manual_provider.as_deref() {
                    // Another network chosen by hand: a visiting one.
                    Some(id) if id != executor.config.network.provider_id => RegisterState::Roaming,
                    _ if !executor.attach_taken() => RegisterState::Denied,
                    _ => register_state_from_name(&executor.config.network.register_state),
                }
            } else {
                RegisterState::Deregistered
            };
        let registered = matches!(
            register_target,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        let attach_target = registered
            && executor.packet_available
            && !executor.host_detached
            && (executor.config.network.auto_attach || executor.host_attached);
        let ready_changed = executor.ready != ready;
        // Down: contexts first, then packet service, then registration.
        if !attach_target {
            self.deactivate_all(now, index);
            self.set_packet_state(now, index, PacketServiceState::Detached);
        }
        if !registered {
            self.set_register_state(now, index, register_target);
        }
        if ready_changed {
            if let Some(executor) = self.executors.get_mut(index) {
                executor.ready = ready;
            }
            let info = self.subscriber_ready_info(index);
            self.indicate::<bc::cid::SubscriberReadyStatus>(now, index, &info);
        }
        // Up: registration, then packet service.
        if registered {
            self.set_register_state(now, index, register_target);
        }
        if attach_target {
            self.set_packet_state(now, index, PacketServiceState::Attached);
        }
    }

    pub(crate) fn set_register_state(&mut self, now: Instant, index: usize, state: RegisterState) {
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        if executor.register_state == state {
            return;
        }
        executor.register_state = state;
        let info = self.registration_info(index);
        self.indicate::<bc::cid::RegisterState>(now, index, &info);
    }

    pub(crate) fn set_packet_state(
        &mut self,
        now: Instant,
        index: usize,
        state: PacketServiceState,
    ) {
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        if executor.packet_state == state {
            return;
        }
        executor.packet_state = state;
        let info = self.packet_service_info(index);
        self.indicate::<bc::cid::PacketService>(now, index, &info);
    }

    /// Tears down every context of `index` with a CONNECT indication each.
    pub(crate) fn deactivate_all(&mut self, now: Instant, index: usize) {
        let Some(executor) = self.executors.get_mut(index) else {
            return;
        };
        let contexts = std::mem::take(&mut executor.contexts);
        let had_any = !contexts.is_empty();
        for (session, context) in contexts {
            if let (Some(f), Ok(session)) = (self.functions.get_mut(index), u8::try_from(session)) {
                f.data.drop_session(session);
            }
            let info = bc::ConnectInfo {
                session_id: session,
                activation_state: ActivationState::Deactivated,
                voice_call_state: bc::VoiceCallState::None,
                ip_type: context.ip_type,
                context_type: context.context_type,
                nw_error: bc::NwError::None,
            };
            self.indicate::<bc::cid::Connect>(now, index, &info);
        }
        if had_any {
            self.link_notification(index, false);
        }
    }

    /// NETWORK_CONNECTION on the interrupt pipe when the first context comes
    /// up or the last goes down.
    /// CDC NCM's CONNECTION_SPEED_CHANGE follows a connect with the link's
    /// speeds (saturated to the notification's 32-bit fields).
    pub(crate) fn link_notification(&mut self, index: usize, connected: bool) {
        let speeds = self.executors.get(index).map_or((0, 0), |executor| {
            let network = &executor.config.network;
            (
                u32::try_from(network.downlink_speed).unwrap_or(u32::MAX),
                u32::try_from(network.uplink_speed).unwrap_or(u32::MAX),
            )
        });
        if let Some(f) = self.functions.get_mut(index) {
            if f.channel.is_open() {
                let interface = f.channel.comm_interface();
                f.channel.notify(Notification::NetworkConnection {
                    interface,
                    connected,
                });
                if connected {
                    f.channel.notify(Notification::ConnectionSpeedChange {
                        interface,
                        downlink: speeds.0,
                        uplink: speeds.1,
                    });
                }
            }
        }
    }

    pub(crate) fn notify_slot(&mut self, now: Instant, slot: u32) {
        let Some(state) = usize::try_from(slot)
            .ok()
            .and_then(|index| self.slots.get(index))
            .map(Slot::state)
        else {
            return;
        };
        let info = ms::SlotInfo {
            slot_index: slot,
            state,
        };
        // A slot's state is modem-wide (seed 004 lets modem-level
        // notifications come from any function): every open function hears it.
        for index in 0..self.functions.len() {
            self.indicate::<ms::cid::SlotInfoStatus>(now, index, &info);
        }
    }

    /// The executors mapped to `slot`.
    pub(super) fn executors_on(&self, slot: u32) -> Vec<usize> {
        self.executors
            .iter()
            .enumerate()
            .filter(|(_, executor)| executor.slot == slot)
            .map(|(index, _)| index)
            .collect()
    }
}
