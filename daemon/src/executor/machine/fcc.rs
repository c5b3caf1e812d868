//! FCC unlock: a modem whose radio will not come on (RADIO_STATE set on
//! refused, or answered with the radio still off) may be FCC locked. With
//! an unlock configured ([`crate::executor::FccUnlock`]) the executor runs
//! it once per session (a native procedure's commands, or the hook through
//! the driver) and then asks for the radio again; without one, or when the
//! unlock fails, the executor stays radio-off and says why.

use super::step::Step;
use super::{Action, ExecutorMachine, Next, Request};
use crate::executor::api::ExecutorState;
use crate::executor::fcc::{FccProcedure, FccUnlock};
use mbim_protocol::codec::Empty;
use mbim_protocol::services::intel_mutual_authentication as intel;
use mbim_protocol::services::quectel;
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{Break, Continue};
use std::time::Instant;

/// Where the FCC unlock is, since the last OPEN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) enum FccPhase {
    /// No lock seen.
    #[default]
    Idle,
    /// The radio would not come on: unlock before asking again.
    Due,
    /// Intel's challenge came: answer it.
    Challenge(u32),
    /// The hook runs.
    HookRunning,
    /// Unlocked (or tried) once this session: the radio is asked again,
    /// and a radio that still stays off is not unlocked a second time.
    Tried,
    /// Failed: the radio stays off until the next OPEN or radio request.
    Failed(String),
}

impl ExecutorMachine {
    /// The radio would not come on (`why`): unlock if configured and not
    /// tried yet this session; `false` leaves it to the caller's retry.
    pub(super) fn radio_refused(&mut self, why: &str) -> bool {
        let Some(unlock) = &self.config.fcc_unlock else {
            return false;
        };
        let unlock = unlock.describe();
        match self.fcc {
            FccPhase::Idle => {
                tracing::warn!(
                    executor = self.log_number(),
                    "the radio stays off ({why}): the modem may be FCC locked; unlocking with {unlock}"
                );
                self.status.fcc_lock = "locked".to_owned();
                self.fcc = FccPhase::Due;
            }
            FccPhase::Tried => {
                self.fcc_failed(format!(
                    "the radio stays off after unlocking with {unlock} ({why})"
                ));
            }
            _ => {}
        }
        true
    }

    /// The unlock's next command, or its wait; `Continue` when there is
    /// nothing to unlock.
    pub(super) fn next_fcc_step(&mut self) -> Next {
        if !self.want_radio {
            return Continue(());
        }
        match &self.fcc {
            FccPhase::Idle | FccPhase::Tried => Continue(()),
            FccPhase::Failed(reason) => {
                let reason = format!("FCC unlock failed: {reason}");
                self.wait(ExecutorState::RadioOff, Some(reason));
                Break(None)
            }
            FccPhase::HookRunning => Break(None),
            FccPhase::Challenge(challenge) => {
                let Some(FccUnlock::Native(FccProcedure::IntelMutualAuthentication { key })) =
                    &self.config.fcc_unlock
                else {
                    return Continue(());
                };
                let set = intel::FccLockSet {
                    response_present: 1,
                    response: intel::fcc_response(*challenge, *key),
                };
                Break(Some((
                    Step::FccResponse,
                    Request::set::<intel::cid::FccLock>(&set),
                )))
            }
            FccPhase::Due => match self.config.fcc_unlock.clone() {
                None => Continue(()),
                Some(FccUnlock::Native(FccProcedure::QuectelRadioState)) => {
                    let set = quectel::QuectelRadioState {
                        radio_state: quectel::QuectelRadioSwitchState::On,
                    };
                    Break(Some((
                        Step::FccQuectel,
                        Request::set::<quectel::cid::RadioState>(&set),
                    )))
                }
                Some(FccUnlock::Native(FccProcedure::IntelMutualAuthentication { .. })) => {
                    Break(Some((
                        Step::FccChallenge,
                        Request::query::<intel::cid::FccLock>(&Empty),
                    )))
                }
                Some(FccUnlock::Hook(hook)) => {
                    self.fcc = FccPhase::HookRunning;
                    self.wait(
                        ExecutorState::Initializing,
                        Some(format!(
                            "FCC locked: the hook {} unlocks it",
                            hook.path.display()
                        )),
                    );
                    self.actions.push_back(Action::RunFccHook(hook));
                    Break(None)
                }
            },
        }
    }

    /// Quectel's RADIO_STATE set on answered.
    pub(super) fn fcc_quectel_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        if !status.is_success() {
            self.fcc_failed(format!(
                "the modem refused Quectel's RADIO_STATE set on: {status}"
            ));
            return;
        }
        match self.decode::<quectel::QuectelRadioState>(now, "QUECTEL_RADIO_STATE", buffer) {
            Some(state) if state.radio_state == quectel::QuectelRadioSwitchState::FccLocked => {
                self.fcc_failed("the modem is still FCC locked (Quectel RADIO_STATE)".to_owned());
            }
            // An empty or odd answer to a set that succeeded: the radio
            // query that follows tells.
            _ => self.fcc_unlocked(),
        }
    }

    /// Intel's FCC_LOCK query answered: a challenge, or no lock.
    pub(super) fn fcc_challenge_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        if !status.is_success() {
            self.fcc_failed(format!(
                "the modem refused the FCC lock challenge query: {status}"
            ));
            return;
        }
        match self
            .decode::<intel::FccLockInfo>(now, "INTEL_FCC_LOCK", buffer)
            .map(|info| info.challenge())
        {
            Some(Some(challenge)) => {
                tracing::info!(executor = self.log_number(), "FCC lock challenge received");
                self.fcc = FccPhase::Challenge(challenge);
            }
            Some(None) => {
                tracing::info!(
                    executor = self.log_number(),
                    "the modem reports no FCC lock (Intel FCC_LOCK)"
                );
                self.fcc = FccPhase::Tried;
                self.radio_sw = None;
            }
            None => self.fcc_failed("the FCC lock challenge did not decode".to_owned()),
        }
    }

    /// Intel's FCC_LOCK set with the response answered.
    pub(super) fn fcc_response_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        if !status.is_success() {
            self.fcc_failed(format!(
                "the modem refused the response to its challenge: {status}"
            ));
            return;
        }
        match self.decode::<intel::FccLockInfo>(now, "INTEL_FCC_LOCK", buffer) {
            Some(info) if info.challenge().is_some() => {
                self.fcc_failed("the modem is still locked after the response".to_owned());
            }
            _ => self.fcc_unlocked(),
        }
    }

    /// The hook ended.
    pub(super) fn fcc_hook_done(&mut self, result: Result<(), String>) {
        if self.fcc != FccPhase::HookRunning {
            return;
        }
        match result {
            Ok(()) => self.fcc_unlocked(),
            Err(why) => self.fcc_failed(why),
        }
    }

    /// A radio request from a client tries the unlock again.
    pub(super) fn fcc_retry(&mut self) {
        if matches!(self.fcc, FccPhase::Failed(_) | FccPhase::Tried) {
            self.fcc = FccPhase::Idle;
        }
    }

    fn fcc_unlocked(&mut self) {
        let by = self
            .config
            .fcc_unlock
            .as_ref()
            .map(FccUnlock::describe)
            .unwrap_or_default();
        tracing::info!(executor = self.log_number(), "FCC unlocked by {by}");
        self.status.fcc_lock = format!("unlocked by {by}");
        self.fcc = FccPhase::Tried;
        // Ask the radio anew: it comes on now.
        self.radio_sw = None;
    }

    fn fcc_failed(&mut self, why: String) {
        tracing::warn!(executor = self.log_number(), "FCC unlock failed: {why}");
        self.status.fcc_lock = format!("unlock failed: {why}");
        let waiters = std::mem::take(&mut self.radio_waiters);
        self.fail_all(waiters, None, &format!("FCC unlock failed: {why}"));
        self.fcc = FccPhase::Failed(why);
    }
}
