//! The FCC lock of a laptop module, as the scenario's `fcc_lock` asks: the
//! radio stays off (RADIO_STATE set on fails) until the host lifts the lock
//! through the vendor's service: Quectel's RADIO_STATE set on, or Intel's
//! mutual-authentication challenge answered with the keyed SHA-256
//! response. A wrong response is refused and a new challenge drawn.

use super::cids::{reply, status_only};
use super::{Modem, Outcome};
use crate::scenario::FccLockKind;
use mbim_protocol::codec::Payload;
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::intel_mutual_authentication as intel;
use mbim_protocol::services::quectel;
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use std::time::Instant;

/// The lock's state.
#[derive(Debug, Clone, Default)]
pub(crate) struct FccLock {
    /// The radio stays off while set.
    pub(crate) locked: bool,
    /// The challenge to be answered (Intel).
    challenge: u32,
    /// Challenges drawn, so each is new.
    drawn: u32,
}

impl Modem {
    /// Power-on: a locked modem starts with every radio off.
    pub(super) fn fcc_power_on(&mut self) {
        if self.scenario.modem.fcc_lock == FccLockKind::None {
            return;
        }
        self.fcc.locked = true;
        self.draw_challenge();
        for executor in &mut self.executors {
            executor.radio_on = false;
        }
    }

    /// The vendor service the lock is lifted through, as DEVICE_SERVICES
    /// lists it.
    pub(super) fn fcc_service_element(&self) -> Option<bc::DeviceServiceElement> {
        let (service, cid) = match self.scenario.modem.fcc_lock {
            FccLockKind::None => return None,
            FccLockKind::Quectel => (quectel::SERVICE.uuid, quectel::cid::RadioState::ID),
            FccLockKind::Intel => (intel::SERVICE.uuid, intel::cid::FccLock::ID),
        };
        Some(bc::DeviceServiceElement {
            device_service_id: service,
            dss_payload: 0,
            max_dss_instances: 0,
            cids: vec![cid],
        })
    }

    /// A command of the lock's vendor service; `None` for any other service.
    pub(super) fn fcc_service(
        &mut self,
        now: Instant,
        function: usize,
        head: &CommandHead,
        data: &[u8],
    ) -> Option<Outcome> {
        match self.scenario.modem.fcc_lock {
            FccLockKind::Quectel if head.service == quectel::SERVICE.uuid => {
                Some(self.quectel_radio_state(now, function, head, data))
            }
            FccLockKind::Intel if head.service == intel::SERVICE.uuid => {
                Some(self.intel_fcc_lock(head, data))
            }
            _ => None,
        }
    }

    fn quectel_radio_state(
        &mut self,
        now: Instant,
        function: usize,
        head: &CommandHead,
        data: &[u8],
    ) -> Outcome {
        use quectel::QuectelRadioSwitchState as State;
        if head.cid != quectel::cid::RadioState::ID {
            return status_only(Status::NoDeviceSupport);
        }
        if head.command_type == CommandType::Set {
            let Ok(set) = quectel::QuectelRadioState::decode(data) else {
                return status_only(Status::InvalidParameters);
            };
            match set.radio_state {
                State::On => {
                    self.fcc.locked = false;
                    if let Some(executor) = self.executors.get_mut(function) {
                        executor.radio_on = true;
                    }
                    self.refresh_executor(now, function);
                }
                State::Off | State::FccLocked | State::Unknown(_) => {
                    return status_only(Status::InvalidParameters)
                }
            }
        }
        let radio_state = if self.fcc.locked {
            State::FccLocked
        } else if self.executors.get(function).is_some_and(|e| e.radio_on) {
            State::On
        } else {
            State::Off
        };
        reply(Status::Success, &quectel::QuectelRadioState { radio_state })
    }

    fn intel_fcc_lock(&mut self, head: &CommandHead, data: &[u8]) -> Outcome {
        if head.cid != intel::cid::FccLock::ID {
            return status_only(Status::NoDeviceSupport);
        }
        if head.command_type == CommandType::Set {
            let Ok(set) = intel::FccLockSet::decode(data) else {
                return status_only(Status::InvalidParameters);
            };
            if !self.fcc.locked {
                // Nothing to answer.
            } else if set.response_present == 0 {
                self.draw_challenge();
            } else {
                let key = self
                    .scenario
                    .modem
                    .fcc_key_bytes()
                    .unwrap_or(intel::DEFAULT_VENDOR_KEY);
                if set.response != intel::fcc_response(self.fcc.challenge, key) {
                    // A wrong answer is refused; the next one answers a
                    // new challenge.
                    self.draw_challenge();
                    return status_only(Status::Failure);
                }
                self.fcc.locked = false;
            }
        }
        reply(
            Status::Success,
            &intel::FccLockInfo {
                challenge_present: u32::from(self.fcc.locked),
                challenge: if self.fcc.locked {
                    self.fcc.challenge
                } else {
                    0
                },
            },
        )
    }

    /// A new challenge, different each time and from modem to modem.
    fn draw_challenge(&mut self) {
        self.fcc.drawn = self.fcc.drawn.wrapping_add(1);
        let seed = self.scenario.modem.modem_id ^ u64::from(self.fcc.drawn);
        // SplitMix64's finalizer: well spread, no state beyond the count.
        let mut mixed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        mixed ^= mixed >> 31;
        self.fcc.challenge = u32::try_from(mixed >> 32).unwrap_or(u32::MAX);
    }
}
