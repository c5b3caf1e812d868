//! Basic Connect's CIDs about the device itself rather than an executor's
//! SIM or network: DEVICE_CAPS, DEVICE_SERVICES and the subscribe list,
//! PACKET_STATISTICS, NETWORK_IDLE_HINT and EMERGENCY_MODE (a device-wide
//! SET, queued in `device_wide`).

use super::{reply, status_only, BASIC_CONNECT_CIDS};
use crate::model::{Modem, Outcome};
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::ms_host_shutdown as host_shutdown;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;
use std::time::Instant;

impl Modem {
    /// Basic Connect's device CIDs.
    pub(super) fn device_cids(
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
            _ => status_only(Status::NoDeviceSupport),
        }
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

    pub(super) fn device_caps(&self) -> bc::DeviceCapsInfo {
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
}
