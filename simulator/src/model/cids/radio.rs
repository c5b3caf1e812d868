//! Radio and registration: RADIO_STATE, VISIBLE_PROVIDERS, REGISTER_STATE
//! and SIGNAL_STATE, and whether an executor's radio is on and registered
//! (which packet service and CONNECT ask too).

use super::{reply, status_only};
use crate::model::{Modem, Outcome};
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{self as bc, RegisterState};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;
use std::time::Instant;

impl Modem {
    /// Basic Connect's radio and registration CIDs.
    pub(super) fn radio_cids(
        &mut self,
        now: Instant,
        index: usize,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use CommandType::{Query, Set};
        match (head.cid, head.command_type) {
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
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    pub(super) fn radio_on(&self, index: usize) -> bool {
        self.executors.get(index).is_some_and(|e| e.radio_on)
    }

    pub(super) fn registered(&self, index: usize) -> bool {
        self.executors.get(index).is_some_and(|e| {
            matches!(
                e.register_state,
                RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
            )
        })
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
}
