//! Microsoft's Basic Connect Extensions: VERSION (the MBIMEx version
//! agreed), PCO, the provisioned contexts in their version 2 form, LTE
//! attach configuration, DEVICE_RESET, and the multi-SIM CIDs (SYS_CAPS,
//! DEVICE_CAPS_V2, DEVICE_SLOT_MAPPINGS, SLOT_INFO_STATUS) whose
//! machinery is in `device_wide`.

use super::{reply, status_only};
use crate::model::{Modem, Outcome};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;
use std::time::Instant;

/// CIDs of Basic Connect Extensions this modem implements (VERSION too
/// when it offers MBIMEx 2.0 or later).
const MS_EXTENSIONS_CIDS: &[u32] = &[1, 3, 5, 6, 7, 8, 10];

/// How long after answering DEVICE_RESET the modem restarts: long enough
/// for the answer to reach the host.
const DEVICE_RESET_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

impl Modem {
    pub(super) fn ms_extensions_cids(&self) -> Vec<u32> {
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

    pub(super) fn ms_extensions(
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
}
