//! What the host stores in the modem for an executor: the home, preferred
//! and multicarrier providers, the provisioned contexts and the IP packet
//! filters, each bounded (`MAX_PROVIDERS`, `MAX_PROVISIONED_CONTEXTS`,
//! `MAX_PACKET_FILTERS`).

use super::{first_u32, reply, status_only};
use crate::model::{Modem, Outcome, MAX_PACKET_FILTERS, MAX_PROVIDERS, MAX_PROVISIONED_CONTEXTS};
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{self as bc, ContextIpType};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;

impl Modem {
    /// Basic Connect's provider, provisioned context and packet filter CIDs.
    #[allow(clippy::too_many_lines)] // One arm per CID reads as the CID table.
    pub(super) fn provisioning_cids(
        &mut self,
        index: usize,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use CommandType::{Query, Set};
        match (head.cid, head.command_type) {
            (bc::cid::HomeProvider::ID, Query) => match self.sim_status(index) {
                Some(status) => status_only(status),
                None => reply(Status::Success, &self.home_provider(index)),
            },
            (bc::cid::HomeProvider::ID, Set) => {
                // Seed 000: a SET never fails with SIM_NOT_INSERTED, BAD_SIM
                // or PIN_REQUIRED, whatever the old or new SIM's state.
                let Ok(provider) = bc::Provider::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.home_override = Some(provider.clone());
                }
                reply(Status::Success, &provider)
            }
            (bc::cid::PreferredProviders::ID, Query) => match self.sim_status(index) {
                Some(status) => status_only(status),
                None => reply(
                    Status::Success,
                    &bc::Providers {
                        providers: self
                            .executors
                            .get(index)
                            .map(|e| e.preferred.clone())
                            .unwrap_or_default(),
                    },
                ),
            },
            (bc::cid::PreferredProviders::ID, Set) => {
                let Ok(list) = bc::Providers::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if list.providers.len() > MAX_PROVIDERS {
                    return status_only(Status::InvalidParameters);
                }
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.preferred.clone_from(&list.providers);
                }
                reply(Status::Success, &list)
            }
            (bc::cid::ProvisionedContexts::ID, Query) => reply(
                Status::Success,
                &bc::ProvisionedContexts {
                    contexts: self.provisioned_v1(index),
                },
            ),
            (bc::cid::ProvisionedContexts::ID, Set) => {
                let Ok(request) = bc::ProvisionedContextSet::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                let Some(executor) = self.executors.get_mut(index) else {
                    return status_only(Status::Failure);
                };
                let context_id = if request.context_id == u32::MAX {
                    executor
                        .provisioned
                        .iter()
                        .map(|c| c.context_id.saturating_add(1))
                        .max()
                        .unwrap_or(1)
                } else {
                    request.context_id
                };
                let element = ms::ProvisionedContextElementV2 {
                    context_id,
                    context_type: request.context_type,
                    ip_type: ContextIpType::Default,
                    state: ms::ContextState::Enabled,
                    roaming: ms::ContextRoamingControl::AllowAll,
                    media_type: ms::ContextMediaType::CellularOnly,
                    source: ms::ContextSource::User,
                    access_string: request.access_string,
                    user_name: request.user_name,
                    password: request.password,
                    compression: request.compression,
                    auth_protocol: request.auth_protocol,
                };
                if let Some(existing) = executor
                    .provisioned
                    .iter_mut()
                    .find(|c| c.context_id == context_id)
                {
                    *existing = element;
                } else if executor.provisioned.len() >= MAX_PROVISIONED_CONTEXTS {
                    return status_only(Status::MemoryFull);
                } else {
                    executor.provisioned.push(element);
                }
                reply(
                    Status::Success,
                    &bc::ProvisionedContexts {
                        contexts: self.provisioned_v1(index),
                    },
                )
            }
            (bc::cid::IpPacketFilters::ID, Query) => {
                let session = bc::PacketFilters::decode(data)
                    .map_or_else(|_| first_u32(data), |filters| filters.session_id);
                let filters = self
                    .executors
                    .get(index)
                    .and_then(|e| e.filters.get(&session).cloned())
                    .unwrap_or(bc::PacketFilters {
                        session_id: session,
                        packet_filters: Vec::new(),
                    });
                reply(Status::Success, &filters)
            }
            (bc::cid::IpPacketFilters::ID, Set) => {
                let Ok(filters) = bc::PacketFilters::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                let max_size = usize::from(self.scenario.function.max_filter_size);
                if filters.packet_filters.len() > MAX_PACKET_FILTERS
                    || filters
                        .packet_filters
                        .iter()
                        .any(|filter| filter.filter().len() > max_size)
                {
                    return status_only(Status::FilterNotSupported);
                }
                if let Some(executor) = self.executors.get_mut(index) {
                    if filters.packet_filters.is_empty() {
                        executor.filters.remove(&filters.session_id);
                    } else {
                        executor.filters.insert(filters.session_id, filters.clone());
                    }
                }
                reply(Status::Success, &filters)
            }
            (bc::cid::MulticarrierProviders::ID, Query) => reply(
                Status::Success,
                &bc::Providers {
                    providers: self
                        .executors
                        .get(index)
                        .map(|e| e.multicarrier.clone())
                        .unwrap_or_default(),
                },
            ),
            (bc::cid::MulticarrierProviders::ID, Set) => {
                let Ok(list) = bc::Providers::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if list.providers.len() > MAX_PROVIDERS {
                    return status_only(Status::InvalidParameters);
                }
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.multicarrier.clone_from(&list.providers);
                }
                reply(Status::Success, &list)
            }
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    /// The provisioned contexts in MBIM 1.0's form.
    fn provisioned_v1(&self, index: usize) -> Vec<bc::ProvisionedContextElement> {
        self.executors
            .get(index)
            .map(|e| {
                e.provisioned
                    .iter()
                    .map(|c| bc::ProvisionedContextElement {
                        context_id: c.context_id,
                        context_type: c.context_type,
                        access_string: c.access_string.clone(),
                        user_name: c.user_name.clone(),
                        password: c.password.clone(),
                        compression: c.compression,
                        auth_protocol: c.auth_protocol,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
