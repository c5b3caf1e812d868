//! Packet service and sessions: PACKET_SERVICE, CONNECT and
//! IP_CONFIGURATION. A session's addresses and PCO are kept in
//! `model::sessions`; these handlers decide whether it may be up.

use super::{first_u32, reply, status_only};
use crate::model::{Context, Modem, Outcome};
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationState, ContextIpType, PacketServiceAction, PacketServiceState,
};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::{Payload, Uuid};
use std::time::Instant;

impl Modem {
    /// Basic Connect's packet service and session CIDs.
    pub(super) fn connection_cids(
        &mut self,
        now: Instant,
        index: usize,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use CommandType::{Query, Set};
        match (head.cid, head.command_type) {
            (bc::cid::PacketService::ID, Query) => {
                reply(Status::Success, &self.packet_service_info(index))
            }
            (bc::cid::PacketService::ID, Set) => self.packet_service_set(now, index, data),
            (bc::cid::Connect::ID, Query) => {
                let session = bc::ConnectInfo::decode(data)
                    .map_or_else(|_| first_u32(data), |info| info.session_id);
                reply(Status::Success, &self.connect_info(index, session))
            }
            (bc::cid::Connect::ID, Set) => self.connect_set(index, data),
            (bc::cid::IpConfiguration::ID, Query) => {
                let session = bc::IpConfigurationInfo::decode(data)
                    .map_or_else(|_| first_u32(data), |info| info.session_id);
                match self.ip_configuration(index, session) {
                    Some(info) => reply(Status::Success, &info),
                    None => status_only(Status::ContextNotActivated),
                }
            }
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    fn packet_service_set(&mut self, now: Instant, index: usize, data: &[u8]) -> Outcome {
        let Ok(request) = bc::PacketServiceSet::decode(data) else {
            return status_only(Status::InvalidParameters);
        };
        match request.packet_service_action {
            PacketServiceAction::Attach => {
                if !self.radio_on(index) {
                    return status_only(Status::RadioPowerOff);
                }
                if let Some(status) = self.sim_status(index) {
                    return status_only(status);
                }
                if !self.registered(index) {
                    return status_only(Status::NotRegistered);
                }
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.host_detached = false;
                    executor.host_attached = true;
                }
                // Seed 000: already attached (or auto-attached) → success.
                self.refresh_executor(now, index);
                let info = self.packet_service_info(index);
                let status = if info.packet_service_state == PacketServiceState::Attached {
                    Status::Success
                } else {
                    Status::Failure
                };
                reply(status, &info)
            }
            PacketServiceAction::Detach => {
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.host_detached = true;
                    executor.host_attached = false;
                }
                self.refresh_executor(now, index);
                reply(Status::Success, &self.packet_service_info(index))
            }
            PacketServiceAction::Unknown(_) => status_only(Status::InvalidParameters),
        }
    }

    fn connect_info(&self, index: usize, session: u32) -> bc::ConnectInfo {
        let context = self
            .executors
            .get(index)
            .and_then(|e| e.contexts.get(&session).copied());
        bc::ConnectInfo {
            session_id: session,
            activation_state: if context.is_some() {
                ActivationState::Activated
            } else {
                ActivationState::Deactivated
            },
            voice_call_state: bc::VoiceCallState::None,
            ip_type: context.map_or(ContextIpType::Default, |c| c.ip_type),
            context_type: context.map_or(Uuid::NIL, |c| c.context_type),
            nw_error: bc::NwError::None,
        }
    }

    fn connect_set(&mut self, index: usize, data: &[u8]) -> Outcome {
        let Ok(request) = bc::ConnectSet::decode(data) else {
            return status_only(Status::InvalidParameters);
        };
        let session = request.session_id;
        if session >= self.scenario.modem.max_sessions || session > u32::from(u8::MAX) {
            return status_only(Status::InvalidParameters);
        }
        match request.activation_command {
            bc::ActivationCommand::Activate => {
                if !self.radio_on(index) {
                    return status_only(Status::RadioPowerOff);
                }
                if let Some(status) = self.sim_status(index) {
                    return status_only(status);
                }
                if !self.registered(index) {
                    return status_only(Status::NotRegistered);
                }
                let Some(executor) = self.executors.get_mut(index) else {
                    return status_only(Status::Failure);
                };
                if executor.packet_state != PacketServiceState::Attached {
                    return status_only(Status::PacketServiceDetached);
                }
                if !executor.config.network.accepts(&request.access_string) {
                    // 3GPP TS 24.008 cause #27, as networks refuse an APN.
                    let mut info = self.connect_info(index, session);
                    info.nw_error = bc::NwError::MissingOrUnknownApn;
                    return reply(Status::Failure, &info);
                }
                let Some(executor) = self.executors.get_mut(index) else {
                    return status_only(Status::Failure);
                };
                if executor.contexts.contains_key(&session) {
                    return reply(Status::Success, &self.connect_info(index, session));
                }
                let (has_v4, has_v6) = (executor.ipv4.is_some(), executor.ipv6.is_some());
                let ip_type = match (request.ip_type, has_v4, has_v6) {
                    (ContextIpType::Ipv4, true, _) => ContextIpType::Ipv4,
                    (ContextIpType::Ipv6, _, true) => ContextIpType::Ipv6,
                    (ContextIpType::Ipv4 | ContextIpType::Ipv6, _, _) => {
                        return status_only(Status::Failure);
                    }
                    (_, true, true) => ContextIpType::Ipv4v6,
                    (_, true, false) => ContextIpType::Ipv4,
                    (_, false, true) => ContextIpType::Ipv6,
                    (_, false, false) => return status_only(Status::Failure),
                };
                let context_type = if request.context_type == Uuid::NIL {
                    bc::ContextType::Internet.uuid()
                } else {
                    request.context_type
                };
                let first = executor.contexts.is_empty();
                executor.contexts.insert(
                    session,
                    Context {
                        ip_type,
                        context_type,
                    },
                );
                if first {
                    self.link_notification(index, true);
                }
                reply(Status::Success, &self.connect_info(index, session))
            }
            bc::ActivationCommand::Deactivate => {
                let Some(executor) = self.executors.get_mut(index) else {
                    return status_only(Status::Failure);
                };
                let Some(context) = executor.contexts.remove(&session) else {
                    return reply(
                        Status::ContextNotActivated,
                        &self.connect_info(index, session),
                    );
                };
                let last = executor.contexts.is_empty();
                if let (Some(f), Ok(session)) =
                    (self.functions.get_mut(index), u8::try_from(session))
                {
                    f.data.drop_session(session);
                }
                if last {
                    self.link_notification(index, false);
                }
                let mut info = self.connect_info(index, session);
                info.ip_type = context.ip_type;
                info.context_type = context.context_type;
                reply(Status::Success, &info)
            }
            bc::ActivationCommand::Unknown(_) => status_only(Status::InvalidParameters),
        }
    }
}
