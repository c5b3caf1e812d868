//! The SIM as an executor sees it: SUBSCRIBER_READY_STATUS, PIN and
//! PIN_LIST, and the check every SIM-dependent CID makes first.

use super::{reply, status_only};
use crate::model::pin::LockState;
use crate::model::{Modem, Outcome};
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{self as bc, SubscriberReadyState};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Payload;
use std::time::Instant;

impl Modem {
    /// Basic Connect's SIM and PIN CIDs.
    pub(super) fn subscriber_cids(
        &mut self,
        now: Instant,
        index: usize,
        transaction_id: u32,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use CommandType::{Query, Set};
        match (head.cid, head.command_type) {
            (bc::cid::SubscriberReadyStatus::ID, Query) => {
                reply(Status::Success, &self.subscriber_ready_info(index))
            }
            (bc::cid::Pin::ID, Query) => match self.card(index) {
                None => status_only(Status::SimNotInserted),
                Some(card) => {
                    let status = if card.lock.state() == LockState::PukBlocked {
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
            _ => status_only(Status::NoDeviceSupport),
        }
    }

    /// Why a SIM-dependent operation cannot proceed, if it cannot.
    pub(super) fn sim_status(&self, index: usize) -> Option<Status> {
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
}
