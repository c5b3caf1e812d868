//! One handler per CID: Basic Connect and the multi-SIM CIDs of Microsoft's
//! Basic Connect Extensions. Anything else answers NO_DEVICE_SUPPORT.

use super::{
    DeviceSet, Modem, Outcome, MAX_PACKET_FILTERS, MAX_PROVIDERS, MAX_PROVISIONED_CONTEXTS,
    MAX_QUEUED_DEVICE_SETS,
};
use crate::control::SlotMappingFault;
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationState, ContextIpType, PacketServiceAction, PacketServiceState,
    RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::ms_host_shutdown as host_shutdown;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::{Payload, Uuid};
use std::time::Instant;

/// CIDs of Basic Connect this modem implements (all declared but SERVICE_ACTIVATION).
const BASIC_CONNECT_CIDS: &[u32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 19, 20, 21, 22, 23, 24,
];
/// CIDs of Basic Connect Extensions this modem implements (VERSION too
/// when it offers MBIMEx 2.0 or later).
const MS_EXTENSIONS_CIDS: &[u32] = &[1, 3, 5, 6, 7, 8, 10];

/// How long after answering DEVICE_RESET the modem restarts: long enough
/// for the answer to reach the host.
const DEVICE_RESET_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

pub(super) fn reply<P: Payload>(status: Status, payload: &P) -> Outcome {
    Outcome::Reply(status, payload.encode())
}

pub(super) fn status_only(status: Status) -> Outcome {
    Outcome::Reply(status, Vec::new())
}

fn first_u32(data: &[u8]) -> u32 {
    data.get(..4)
        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
        .map_or(0, u32::from_le_bytes)
}

impl Modem {
    /// A whole COMMAND from the host.
    pub(crate) fn dispatch(
        &mut self,
        now: Instant,
        function: usize,
        transaction_id: u32,
        head: CommandHead,
        data: Vec<u8>,
    ) {
        if let Some(f) = self.functions.get_mut(function) {
            f.channel.counters.commands = f.channel.counters.commands.saturating_add(1);
        }
        let version = self
            .functions
            .get(function)
            .map_or(MbimExVersion::V1, |f| f.mbimex);
        let data = super::layouts::incoming(version, &head, data);
        let outcome = if head.service == bc::SERVICE.uuid {
            self.basic_connect(now, function, transaction_id, &head, &data)
        } else if head.service == ms::SERVICE.uuid {
            self.ms_extensions(now, function, transaction_id, &head, &data)
        } else if head.service == host_shutdown::SERVICE.uuid && self.scenario.modem.host_shutdown {
            self.host_shutdown(&head)
        } else if let Some(outcome) = self.fcc_service(now, function, &head, &data) {
            outcome
        } else {
            status_only(Status::NoDeviceSupport)
        };
        if let Outcome::Reply(status, buffer) = outcome {
            self.command_done(
                now,
                function,
                transaction_id,
                head.service,
                head.cid,
                status,
                buffer,
            );
        }
    }

    fn ms_extensions_cids(&self) -> Vec<u32> {
        let mut cids = MS_EXTENSIONS_CIDS.to_vec();
        if !self.scenario.modem.device_reset {
            cids.retain(|cid| *cid != ms::cid::DeviceReset::ID);
        }
        if self.scenario.modem.mbimex_version() > MbimExVersion::V1 {
            cids.push(ms::cid::Version::ID);
        }
        cids
    }

    /// MBIM_CID_VERSION: the lower of the host's version and the highest
    /// the modem offers is this function's from now until the next OPEN.
    fn version(&mut self, function: usize, data: &[u8]) -> Outcome {
        let Ok(host) = ms::VersionInfo::decode(data) else {
            return status_only(Status::InvalidParameters);
        };
        let agreed = MbimExVersion::negotiated(
            host.extended_version(),
            self.scenario.modem.mbimex_version(),
        );
        let Some(f) = self.functions.get_mut(function) else {
            return status_only(Status::Failure);
        };
        // The answer is in the layouts agreed: the conversion of what
        // follows starts with it.
        f.mbimex = agreed;
        reply(Status::Success, &ms::VersionInfo::host(agreed))
    }

    /// Why a SIM-dependent operation cannot proceed, if it cannot.
    fn sim_status(&self, index: usize) -> Option<Status> {
        match self.ready_state(index) {
            SubscriberReadyState::Initialized => None,
            SubscriberReadyState::SimNotInserted | SubscriberReadyState::NoEsimProfile => {
                Some(Status::SimNotInserted)
            }
            SubscriberReadyState::DeviceLocked => Some(Status::PinRequired),
            SubscriberReadyState::BadSim => Some(Status::BadSim),
            SubscriberReadyState::NotActivated => Some(Status::ServiceNotActivated),
            SubscriberReadyState::Failure => Some(Status::Failure),
            SubscriberReadyState::NotInitialized | SubscriberReadyState::Unknown(_) => {
                Some(Status::NotInitialized)
            }
        }
    }

    fn radio_on(&self, index: usize) -> bool {
        self.executors.get(index).is_some_and(|e| e.radio_on)
    }

    fn registered(&self, index: usize) -> bool {
        self.executors.get(index).is_some_and(|e| {
            matches!(
                e.register_state,
                RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
            )
        })
    }

    fn data_classes(&self) -> bc::DataClass {
        self.scenario
            .modem
            .data_classes
            .iter()
            .filter_map(|name| crate::scenario::data_class_from_name(name))
            .fold(bc::DataClass::empty(), |all, class| all | class)
    }

    fn control_caps(&self) -> bc::ControlCaps {
        if self
            .scenario
            .slots
            .iter()
            .any(|slot| slot.kind == "embedded")
        {
            bc::ControlCaps::ESIM
        } else {
            bc::ControlCaps::empty()
        }
    }

    fn device_caps(&self) -> bc::DeviceCapsInfo {
        let modem = &self.scenario.modem;
        bc::DeviceCapsInfo {
            device_type: bc::DeviceType::Embedded,
            cellular_class: bc::CellularClass::GSM,
            voice_class: bc::VoiceClass::NoVoice,
            // Seed 004: multi-SIM modems report a removable SIM class.
            sim_class: bc::SimClass::REMOVABLE,
            data_class: self.data_classes(),
            sms_caps: bc::SmsCaps::empty(),
            control_caps: self.control_caps(),
            max_sessions: modem.max_sessions,
            custom_data_class: String::new(),
            device_id: modem.device_id.clone(),
            firmware_info: modem.firmware_info.clone(),
            hardware_info: modem.hardware_info.clone(),
        }
    }

    /// The slot of each executor, in ExecutorIndex order (which is not the
    /// function order when the scenario says so).
    fn slot_mapping(&self) -> ms::DeviceSlotMappingInfo {
        let mut slots = vec![0; self.executors.len()];
        for (function, executor) in self.executors.iter().enumerate() {
            let index = usize::try_from(self.scenario.executor_index(function)).ok();
            if let Some(entry) = index.and_then(|index| slots.get_mut(index)) {
                *entry = executor.slot;
            }
        }
        ms::DeviceSlotMappingInfo::from_slots(&slots)
    }

    #[allow(clippy::too_many_lines)] // One arm per CID reads as the CID table.
    fn basic_connect(
        &mut self,
        now: Instant,
        index: usize,
        transaction_id: u32,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use CommandType::{Query, Set};
        match (head.cid, head.command_type) {
            (bc::cid::DeviceCaps::ID, Query) => reply(Status::Success, &self.device_caps()),
            (bc::cid::SubscriberReadyStatus::ID, Query) => {
                reply(Status::Success, &self.subscriber_ready_info(index))
            }
            (bc::cid::RadioState::ID, Query) => reply(Status::Success, &self.radio_info(index)),
            (bc::cid::RadioState::ID, Set) => {
                let Ok(request) = bc::RadioStateSet::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if self.fcc.locked && request.radio_state == bc::RadioSwitchState::On {
                    // The radio stays off until the host lifts the lock.
                    return status_only(Status::Failure);
                }
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.radio_on = request.radio_state == bc::RadioSwitchState::On;
                }
                // Seed 000: never failed for a missing SIM; the radio just
                // goes off (deregistered) or on (registers if it can).
                self.refresh_executor(now, index);
                reply(Status::Success, &self.radio_info(index))
            }
            (bc::cid::Pin::ID, Query) => match self.card(index) {
                None => status_only(Status::SimNotInserted),
                Some(card) => {
                    let status = if card.lock.state() == super::pin::LockState::PukBlocked {
                        Status::BadSim
                    } else {
                        Status::Success
                    };
                    reply(status, &card.lock.query())
                }
            },
            (bc::cid::Pin::ID, Set) => {
                let Ok(request) = bc::PinSet::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                let Some(card) = self.card_mut(index) else {
                    return status_only(Status::SimNotInserted);
                };
                let outcome = card.lock.set(&request);
                self.command_done(
                    now,
                    index,
                    transaction_id,
                    head.service,
                    head.cid,
                    outcome.status,
                    outcome.info.encode(),
                );
                if outcome.event.is_some() {
                    // Unlocked → Initialized and registration; PIN blocked →
                    // contexts down, deregistered, DeviceLocked; PUK blocked → BadSim.
                    let slot = self.executors.get(index).map(|e| e.slot);
                    for executor in 0..self.executors.len() {
                        if self.executors.get(executor).map(|e| e.slot) == slot {
                            self.refresh_executor(now, executor);
                        }
                    }
                }
                Outcome::Sent
            }
            (bc::cid::PinList::ID, Query) => match self.card(index) {
                None => status_only(Status::SimNotInserted),
                Some(card) => {
                    let numeric = |mode| bc::PinDesc {
                        pin_mode: mode,
                        pin_format: bc::PinFormat::Numeric,
                        pin_length_min: 4,
                        pin_length_max: 8,
                    };
                    let unsupported = bc::PinDesc {
                        pin_mode: bc::PinMode::NotSupported,
                        pin_format: bc::PinFormat::Unspecified,
                        pin_length_min: 0,
                        pin_length_max: 0,
                    };
                    let pin1 = if card.lock.enabled() {
                        bc::PinMode::Enabled
                    } else {
                        bc::PinMode::Disabled
                    };
                    reply(
                        Status::Success,
                        &bc::PinListInfo {
                            pin1: numeric(pin1),
                            pin2: numeric(bc::PinMode::Enabled),
                            device_sim_pin: unsupported,
                            device_first_sim_pin: unsupported,
                            network_pin: unsupported,
                            network_subset_pin: unsupported,
                            service_provider_pin: unsupported,
                            corporate_pin: unsupported,
                            subsidy_lock: unsupported,
                            custom: unsupported,
                        },
                    )
                }
            },
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
            (bc::cid::VisibleProviders::ID, Query) => {
                let action = bc::VisibleProvidersQuery::decode(data)
                    .map_or(bc::VisibleProvidersAction::FullScan, |query| query.action);
                if !self.radio_on(index) {
                    return status_only(Status::RadioPowerOff);
                }
                // Seed 000: a restricted scan never fails for the home SIM's
                // absence or PIN lock; a full scan may.
                if action != bc::VisibleProvidersAction::RestrictedScan {
                    if let Some(status) = self.sim_status(index) {
                        if matches!(
                            status,
                            Status::SimNotInserted | Status::PinRequired | Status::BadSim
                        ) {
                            return status_only(status);
                        }
                    }
                }
                reply(Status::Success, &self.visible_providers(index, action))
            }
            (bc::cid::RegisterState::ID, Query) => {
                reply(Status::Success, &self.registration_info(index))
            }
            (bc::cid::RegisterState::ID, Set) => {
                let Ok(request) = bc::RegisterStateSet::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if !self.radio_on(index) {
                    return status_only(Status::RadioPowerOff);
                }
                if let Some(status) = self.sim_status(index) {
                    return status_only(status);
                }
                let device = self.device_data_classes();
                let Some(executor) = self.executors.get_mut(index) else {
                    return status_only(Status::Failure);
                };
                // The data classes to prefer: those of the modem's asked
                // for (none of them: refused); none asked: as they are.
                let preferred =
                    (!request.data_class.is_empty()).then_some(request.data_class & device);
                if preferred.is_some_and(|classes| classes.is_empty()) {
                    return status_only(Status::InvalidParameters);
                }
                executor.manual_provider = match request.register_action {
                    bc::RegisterAction::Automatic => None,
                    bc::RegisterAction::Unknown(_) => {
                        return status_only(Status::InvalidParameters)
                    }
                    bc::RegisterAction::Manual => {
                        let network = &executor.config.network;
                        let id = request.provider_id;
                        let known = id == network.provider_id
                            || network.visible.iter().any(|(visible, _)| *visible == id);
                        if !known || !executor.signal {
                            return status_only(Status::ProviderNotVisible);
                        }
                        Some(id)
                    }
                };
                if preferred.is_some() {
                    executor.preferred_data_classes = preferred;
                }
                self.refresh_executor(now, index);
                reply(Status::Success, &self.registration_info(index))
            }
            (bc::cid::PacketService::ID, Query) => {
                reply(Status::Success, &self.packet_service_info(index))
            }
            (bc::cid::PacketService::ID, Set) => self.packet_service_set(now, index, data),
            (bc::cid::SignalState::ID, Query) => reply(Status::Success, &self.signal_info(index)),
            (bc::cid::SignalState::ID, Set) => {
                let Ok(request) = bc::SignalStateSet::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.signal_settings = (
                        request.signal_strength_interval,
                        request.rssi_threshold,
                        request.error_rate_threshold,
                    );
                }
                reply(Status::Success, &self.signal_info(index))
            }
            (bc::cid::Connect::ID, Query) => {
                let session = bc::ConnectInfo::decode(data)
                    .map_or_else(|_| first_u32(data), |info| info.session_id);
                reply(Status::Success, &self.connect_info(index, session))
            }
            (bc::cid::Connect::ID, Set) => self.connect_set(index, data),
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
            (bc::cid::IpConfiguration::ID, Query) => {
                let session = bc::IpConfigurationInfo::decode(data)
                    .map_or_else(|_| first_u32(data), |info| info.session_id);
                match self.ip_configuration(index, session) {
                    Some(info) => reply(Status::Success, &info),
                    None => status_only(Status::ContextNotActivated),
                }
            }
            (bc::cid::DeviceServices::ID, Query) => {
                reply(
                    Status::Success,
                    &bc::DeviceServicesInfo {
                        max_dss_sessions: 0,
                        device_services: vec![
                            bc::DeviceServiceElement {
                                device_service_id: bc::SERVICE.uuid,
                                dss_payload: 0,
                                max_dss_instances: 0,
                                cids: BASIC_CONNECT_CIDS.to_vec(),
                            },
                            bc::DeviceServiceElement {
                                device_service_id: ms::SERVICE.uuid,
                                dss_payload: 0,
                                max_dss_instances: 0,
                                cids: self.ms_extensions_cids(),
                            },
                        ]
                        .into_iter()
                        .chain(self.fcc_service_element())
                        .chain(self.scenario.modem.host_shutdown.then(|| {
                            bc::DeviceServiceElement {
                                device_service_id: host_shutdown::SERVICE.uuid,
                                dss_payload: 0,
                                max_dss_instances: 0,
                                cids: vec![host_shutdown::cid::HostShutdown::ID],
                            }
                        }))
                        .collect(),
                    },
                )
            }
            (bc::cid::DeviceServiceSubscribeList::ID, Set) => {
                let Ok(list) = bc::EventEntries::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if let Some(f) = self.functions.get_mut(index) {
                    f.channel.subscriptions = Some(list.events.clone());
                }
                reply(Status::Success, &list)
            }
            (bc::cid::PacketStatistics::ID, Query) => {
                let counters = self
                    .functions
                    .get(index)
                    .map(|f| f.data.counters)
                    .unwrap_or_default();
                reply(
                    Status::Success,
                    &bc::PacketStatisticsInfo {
                        in_discards: u32::try_from(counters.datagrams_dropped).unwrap_or(u32::MAX),
                        in_errors: u32::try_from(counters.ntbs_bad).unwrap_or(u32::MAX),
                        in_octets: counters.bytes_in,
                        in_packets: counters.datagrams_in,
                        out_octets: counters.bytes_out,
                        out_packets: counters.datagrams_out,
                        out_errors: 0,
                        out_discards: 0,
                    },
                )
            }
            (bc::cid::NetworkIdleHint::ID, Query) => reply(
                Status::Success,
                &bc::NetworkIdleHintInfo {
                    state: self
                        .executors
                        .get(index)
                        .map_or(bc::NetworkIdleHintState::Disabled, |e| e.idle_hint),
                },
            ),
            (bc::cid::NetworkIdleHint::ID, Set) => {
                let Ok(hint) = bc::NetworkIdleHintInfo::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                if let Some(executor) = self.executors.get_mut(index) {
                    executor.idle_hint = hint.state;
                }
                reply(Status::Success, &hint)
            }
            (bc::cid::EmergencyMode::ID, Query) => reply(
                Status::Success,
                &bc::EmergencyModeInfo {
                    state: self.emergency,
                },
            ),
            (bc::cid::EmergencyMode::ID, Set) => {
                self.device_wide_set(now, index, transaction_id, head, data)
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

    /// MS_HOST_SHUTDOWN: counted (the tests read it in `status`), then
    /// answered; nothing else changes, the host closes the sessions itself.
    fn host_shutdown(&mut self, head: &CommandHead) -> Outcome {
        match (head.cid, head.command_type) {
            (host_shutdown::cid::HostShutdown::ID, CommandType::Set) => {
                self.host_shutdowns = self.host_shutdowns.saturating_add(1);
                status_only(Status::Success)
            }
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    fn ms_extensions(
        &mut self,
        now: Instant,
        index: usize,
        transaction_id: u32,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use CommandType::{Query, Set};
        match (head.cid, head.command_type) {
            (ms::cid::Version::ID, Query)
                if self.scenario.modem.mbimex_version() > MbimExVersion::V1 =>
            {
                self.version(index, data)
            }
            (ms::cid::Pco::ID, Query) => {
                let Ok(request) = ms::PcoValue::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                let session = request.session_id;
                if !self
                    .executors
                    .get(index)
                    .is_some_and(|e| e.contexts.contains_key(&session))
                {
                    return status_only(Status::ContextNotActivated);
                }
                // An active session without PCO from the network has an
                // empty one.
                reply(
                    Status::Success,
                    &ms::PcoValue {
                        session_id: session,
                        pco_data_type: ms::PcoType::Complete,
                        pco_data_buffer: self.session_pco(index, session).unwrap_or_default(),
                    },
                )
            }
            (ms::cid::ProvisionedContexts::ID, Query) => reply(
                Status::Success,
                &ms::ProvisionedContextsV2 {
                    contexts: self
                        .executors
                        .get(index)
                        .map(|e| e.provisioned.clone())
                        .unwrap_or_default(),
                },
            ),
            (ms::cid::LteAttachConfiguration::ID, Query) => reply(
                Status::Success,
                &ms::LteAttachConfigurations {
                    configurations: self
                        .executors
                        .get(index)
                        .map(|e| e.lte_attach.clone())
                        .unwrap_or_default(),
                },
            ),
            (ms::cid::LteAttachConfiguration::ID, Set) => {
                let Ok(request) = ms::LteAttachConfigurationSet::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                // One per roaming condition at most.
                if request.configurations.len() > 3 {
                    return status_only(Status::InvalidParameters);
                }
                let Some(executor) = self.executors.get_mut(index) else {
                    return status_only(Status::Failure);
                };
                executor.lte_attach = request.configurations;
                let configurations = executor.lte_attach.clone();
                // The modem attaches again with it (a denied registration
                // may now succeed).
                self.refresh_executor(now, index);
                reply(
                    Status::Success,
                    &ms::LteAttachConfigurations { configurations },
                )
            }
            (ms::cid::DeviceReset::ID, Set) if self.scenario.modem.device_reset => {
                // The answer first; the restart when its time comes.
                self.device_reset_at = Some(now.checked_add(DEVICE_RESET_DELAY).unwrap_or(now));
                status_only(Status::Success)
            }
            (ms::cid::SysCaps::ID, Query) => reply(
                Status::Success,
                &ms::SysCapsInfo {
                    number_of_executors: u32::try_from(self.executors.len()).unwrap_or(u32::MAX),
                    number_of_slots: u32::try_from(self.slots.len()).unwrap_or(u32::MAX),
                    concurrency: self.scenario.modem.concurrency,
                    modem_id: self.scenario.modem.modem_id,
                },
            ),
            (ms::cid::DeviceCapsV2::ID, Query) => {
                let caps = self.device_caps();
                reply(
                    Status::Success,
                    &ms::DeviceCapsInfoV2 {
                        device_type: caps.device_type,
                        cellular_class: caps.cellular_class,
                        voice_class: caps.voice_class,
                        sim_class: caps.sim_class,
                        data_class: caps.data_class,
                        sms_caps: caps.sms_caps,
                        control_caps: caps.control_caps,
                        max_sessions: caps.max_sessions,
                        custom_data_class: caps.custom_data_class,
                        device_id: caps.device_id,
                        firmware_info: caps.firmware_info,
                        hardware_info: caps.hardware_info,
                        executor_index: self.scenario.executor_index(index),
                    },
                )
            }
            (ms::cid::DeviceSlotMappings::ID, Query) => {
                reply(Status::Success, &self.slot_mapping())
            }
            (ms::cid::DeviceSlotMappings::ID, Set) => {
                self.device_wide_set(now, index, transaction_id, head, data)
            }
            (ms::cid::SlotInfoStatus::ID, Query) => {
                let Ok(request) = ms::SlotInfoRequest::decode(data) else {
                    return status_only(Status::InvalidParameters);
                };
                let Some(slot) = usize::try_from(request.slot_index)
                    .ok()
                    .and_then(|slot| self.slots.get(slot))
                else {
                    return status_only(Status::InvalidParameters);
                };
                reply(
                    Status::Success,
                    &ms::SlotInfo {
                        slot_index: request.slot_index,
                        state: slot.state(),
                    },
                )
            }
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    /// Seed 004: device-wide SETs from any function are processed one at a
    /// time; one arriving while another is in progress waits its turn.
    fn device_wide_set(
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

    fn radio_info(&self, index: usize) -> bc::RadioStateInfo {
        bc::RadioStateInfo {
            hw_radio_state: bc::RadioSwitchState::On,
            sw_radio_state: if self.radio_on(index) {
                bc::RadioSwitchState::On
            } else {
                bc::RadioSwitchState::Off
            },
        }
    }

    fn signal_info(&self, index: usize) -> bc::SignalStateInfo {
        let Some(executor) = self.executors.get(index) else {
            return bc::SignalStateInfo::default();
        };
        let (interval, rssi_threshold, error_rate_threshold) = executor.signal_settings;
        bc::SignalStateInfo {
            rssi: if self.registered(index) {
                executor.config.network.rssi.min(31)
            } else {
                99
            },
            error_rate: 99,
            signal_strength_interval: interval,
            rssi_threshold,
            error_rate_threshold,
        }
    }

    fn visible_providers(&self, index: usize, action: bc::VisibleProvidersAction) -> bc::Providers {
        let Some(executor) = self.executors.get(index) else {
            return bc::Providers::default();
        };
        if !executor.signal {
            return bc::Providers::default();
        }
        let network = &executor.config.network;
        let mut state = bc::ProviderState::HOME | bc::ProviderState::VISIBLE;
        if self.registered(index) {
            state |= bc::ProviderState::REGISTERED;
        }
        let rssi = network.rssi.min(31);
        let mut providers = vec![bc::Provider {
            provider_id: network.provider_id.clone(),
            provider_state: state,
            provider_name: network.provider_name.clone(),
            cellular_class: bc::CellularClass::GSM,
            rssi,
            error_rate: 99,
        }];
        if action == bc::VisibleProvidersAction::FullScan {
            providers.extend(network.visible.iter().map(|(id, name)| bc::Provider {
                provider_id: id.clone(),
                provider_state: bc::ProviderState::VISIBLE,
                provider_name: name.clone(),
                cellular_class: bc::CellularClass::GSM,
                rssi: rssi.saturating_sub(5),
                error_rate: 99,
            }));
        }
        bc::Providers { providers }
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
                    super::Context {
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
