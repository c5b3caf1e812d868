//! What an executor reports: the data classes it has, prefers and uses,
//! the home provider, SUBSCRIBER_READY_STATUS, REGISTER_STATE and
//! PACKET_SERVICE as MBIM 1.0 payloads, and the extra fields the MBIMEx
//! layouts carry.
//!
//! Built from the executor's state on demand, by the CID handlers' queries
//! and by the indications its changes send, so both always agree.

use super::{layouts, Modem};
use mbim_protocol::services::basic_connect::{
    self as bc, PacketServiceState, RegisterState, SubscriberReadyState,
};

impl Modem {
    /// The data classes the modem has (DEVICE_CAPS).
    pub(crate) fn device_data_classes(&self) -> bc::DataClass {
        self.scenario
            .modem
            .data_classes
            .iter()
            .filter_map(|name| crate::scenario::data_class_from_name(name))
            .fold(bc::DataClass::empty(), |all, class| all | class)
    }

    /// The data classes executor `index` prefers: those the host asked for
    /// (REGISTER_STATE set), else all the modem has.
    pub fn preferred_data_classes(&self, index: usize) -> bc::DataClass {
        self.executors
            .get(index)
            .and_then(|executor| executor.preferred_data_classes)
            .unwrap_or_else(|| self.device_data_classes())
    }

    /// The data class executor `index` uses while registered: the
    /// network's, unless the host's preference leaves it out; then the
    /// best one preferred.
    pub(crate) fn class_in_use(&self, index: usize) -> bc::DataClass {
        let network = self
            .executors
            .get(index)
            .and_then(|executor| {
                crate::scenario::data_class_from_name(&executor.config.network.data_class)
            })
            .unwrap_or(bc::DataClass::LTE);
        let preferred = self.preferred_data_classes(index);
        if preferred.is_empty() || preferred.contains(network) {
            return network;
        }
        // The highest bit preferred is the newest technology.
        let best = 1u32 << (31 - preferred.bits().leading_zeros());
        bc::DataClass::from_bits(best)
    }

    /// What the MBIMEx layouts carry for executor `index` beyond 1.0's.
    pub(super) fn layout_extras(&self, index: usize) -> layouts::Extras {
        let device_data_classes = self.device_data_classes();
        let preferred_data_classes = self.preferred_data_classes(index);
        let Some(executor) = self.executors.get(index) else {
            return layouts::Extras::default();
        };
        let network = &executor.config.network;
        let registered = matches!(
            executor.register_state,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        let digits = |range: std::ops::Range<usize>| {
            network
                .provider_id
                .get(range)
                .and_then(|text| text.parse::<u16>().ok())
                .unwrap_or(0)
        };
        layouts::Extras {
            data_class: if registered {
                self.class_in_use(index)
            } else {
                bc::DataClass::empty()
            },
            device_data_classes,
            preferred_data_classes,
            rsrp: registered.then(|| layouts::rsrp_code(network.rsrp_dbm)),
            snr: layouts::snr_code(network.snr_db),
            plmn: (digits(0..3), digits(3..network.provider_id.len())),
            session_pco: executor
                .contexts
                .keys()
                .filter_map(|&session| Some((session, self.session_pco(index, session)?)))
                .collect(),
        }
    }

    pub(crate) fn home_provider(&self, index: usize) -> bc::Provider {
        let Some(executor) = self.executors.get(index) else {
            return bc::Provider::default();
        };
        if let Some(provider) = &executor.home_override {
            return provider.clone();
        }
        bc::Provider {
            provider_id: executor.config.network.provider_id.clone(),
            provider_state: bc::ProviderState::HOME,
            provider_name: executor.config.network.provider_name.clone(),
            cellular_class: bc::CellularClass::GSM,
            rssi: 99,
            error_rate: 99,
        }
    }

    pub(crate) fn subscriber_ready_info(&self, index: usize) -> bc::SubscriberReadyInfo {
        let ready = self.ready_state(index);
        let card = self.card(index);
        let (subscriber_id, sim_iccid, telephone_numbers) = match (ready, card) {
            (SubscriberReadyState::Initialized, Some(card)) => (
                card.config.imsi.clone(),
                card.config.iccid.clone(),
                card.config.telephone_numbers.clone(),
            ),
            (SubscriberReadyState::SimNotInserted, _) | (_, None) => {
                (String::new(), String::new(), Vec::new())
            }
            (_, Some(card)) => (String::new(), card.config.iccid.clone(), Vec::new()),
        };
        bc::SubscriberReadyInfo {
            ready_state: ready,
            subscriber_id,
            sim_iccid,
            ready_info: bc::ReadyInfoFlags::empty(),
            telephone_numbers,
        }
    }

    pub(crate) fn registration_info(&self, index: usize) -> bc::RegistrationStateInfo {
        let Some(executor) = self.executors.get(index) else {
            return bc::RegistrationStateInfo::default();
        };
        let registered = matches!(
            executor.register_state,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        let network = &executor.config.network;
        // Manual selection is offered: REGISTER_STATE set takes the home
        // network and the visible ones.
        let mut flags = bc::RegistrationFlags::empty();
        if network.auto_attach {
            flags |= bc::RegistrationFlags::PACKET_SERVICE_AUTOMATIC_ATTACH;
        }
        let (provider_id, provider_name) = match executor.manual_provider.as_deref() {
            Some(id) if id != network.provider_id => network
                .visible
                .iter()
                .find(|(visible, _)| visible == id)
                .map_or((id.to_owned(), String::new()), |(id, name)| {
                    (id.clone(), name.clone())
                }),
            _ => (network.provider_id.clone(), network.provider_name.clone()),
        };
        // An attach refused for its APN says why (3GPP TS 24.301: ESM
        // cause 27 in the attach reject).
        let attach_refused =
            executor.register_state == RegisterState::Denied && !executor.attach_taken();
        bc::RegistrationStateInfo {
            nw_error: if attach_refused {
                bc::NwError::MissingOrUnknownApn
            } else {
                bc::NwError::None
            },
            register_state: executor.register_state,
            register_mode: if executor.manual_provider.is_some() {
                bc::RegisterMode::Manual
            } else {
                bc::RegisterMode::Automatic
            },
            available_data_classes: if registered {
                self.class_in_use(index)
            } else {
                bc::DataClass::empty()
            },
            current_cellular_class: bc::CellularClass::GSM,
            provider_id: if registered {
                provider_id
            } else {
                String::new()
            },
            provider_name: if registered {
                provider_name
            } else {
                String::new()
            },
            roaming_text: String::new(),
            registration_flag: flags,
        }
    }

    pub(crate) fn packet_service_info(&self, index: usize) -> bc::PacketServiceInfo {
        let Some(executor) = self.executors.get(index) else {
            return bc::PacketServiceInfo::default();
        };
        let attached = executor.packet_state == PacketServiceState::Attached;
        let network = &executor.config.network;
        bc::PacketServiceInfo {
            nw_error: bc::NwError::None,
            packet_service_state: executor.packet_state,
            highest_available_data_class: if attached {
                self.class_in_use(index)
            } else {
                bc::DataClass::empty()
            },
            uplink_speed: if attached { network.uplink_speed } else { 0 },
            downlink_speed: if attached { network.downlink_speed } else { 0 },
        }
    }
}
