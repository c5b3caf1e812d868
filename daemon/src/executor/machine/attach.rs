//! The LTE attach APN (MBIM_CID_MS_LTE_ATTACH_CONFIG): set before
//! connecting when the profile (or the APN source's entry) names one, and
//! set when the network refuses the registration or the attach for a cause
//! that says the attach APN is missing or wrong, then registration is asked
//! again.
//!
//! An LTE attach sets up the first PDN connection with the attach APN; a
//! network that does not know it rejects the attach with an ESM cause
//! (3GPP TS 24.301 §6.5.1.4: 27 missing or unknown APN, 33 requested
//! service option not subscribed, 66 APN not supported in this RAT and
//! PLMN), which MBIM reports as REGISTER_STATE's or PACKET_SERVICE's
//! NwError. The APNs tried then, in order: the profile's attach APN, the
//! profile's own APN (most networks take their internet APN for the attach),
//! and with no profile each automatic candidate's the same way; each once
//! per SIM.

use super::step::Step;
use super::{ExecutorMachine, Request};
use crate::apn::ApnSource;
use crate::executor::api::ExecutorState;
use crate::executor::profile::{IpType, Profile};
use mbim_protocol::codec::Empty;
use mbim_protocol::services::basic_connect::{AuthProtocol, Compression, ContextIpType, NwError};
use mbim_protocol::services::ms_basic_connect_extensions::{
    self as ms, ContextSource, LteAttachContextOperation, LteAttachContextRoamingControl,
};
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{self, Break, Continue};
use std::time::Instant;

/// What is known of one SIM's LTE attach APN.
#[derive(Debug, Clone, Default)]
pub(super) struct AttachApn {
    /// The LTE attach APN set in the modem (or tried).
    set: Option<String>,
    /// The modem has no LTE_ATTACH_CONFIGURATION.
    unsupported: bool,
    /// The attach APN a query found not set: to be set next.
    missing: Option<String>,
    /// The network's cause of the last refusal that asks for another
    /// attach APN, until the next registration or attach.
    refusal: Option<NwError>,
    /// The attach APNs set after such refusals, in order.
    tried: Vec<String>,
}

/// Why an attach APN is being set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttachReason {
    /// The profile (or the APN source's entry) names it.
    Named,
    /// The network refused the registration or the attach with this cause.
    Refused(NwError),
}

/// Whether the network's `cause` for refusing a registration or an attach
/// says the LTE attach APN is missing or not one it takes.
pub(crate) fn asks_for_attach_apn(cause: NwError) -> bool {
    matches!(
        cause,
        NwError::MissingOrUnknownApn
            | NwError::RequestedServiceOptionNotSubscribed
            | NwError::RequestedApnNotSupportedInCurrentRatAndPlmn
    )
}

impl ExecutorMachine {
    /// LTE_ATTACH_CONFIGURATION to query (or set) before connecting with
    /// `profile`, if it names an attach APN not set yet, and the network's
    /// refusals did not pick one for this SIM (what they picked was taken:
    /// the profile's may be the one refused).
    pub(super) fn attach_request(&mut self, profile: &Profile) -> Option<(Step, Request)> {
        self.auto_for_this_sim();
        let attach = profile.attach_apn.as_ref()?;
        let state = &self.auto.attach;
        if state.unsupported
            || !state.tried.is_empty()
            || state
                .set
                .as_ref()
                .is_some_and(|set| set.eq_ignore_ascii_case(attach))
        {
            return None;
        }
        if state.missing.as_ref() == Some(attach) {
            return Some(set_request(profile, attach, AttachReason::Named));
        }
        Some((
            Step::LteAttachQuery {
                profile: Box::new(profile.clone()),
            },
            Request::query::<ms::cid::LteAttachConfiguration>(&Empty),
        ))
    }

    /// The network refused the registration or the attach with `cause`:
    /// remembered when it asks for another attach APN, forgotten otherwise.
    pub(super) fn attach_refused(&mut self, cause: NwError) {
        self.auto_for_this_sim();
        self.auto.attach.refusal = asks_for_attach_apn(cause).then_some(cause);
    }

    /// Registered and attached: the refusal is over.
    pub(super) fn attach_accepted(&mut self) {
        if self.auto.attach.refusal.take().is_some() {
            if let Some(apn) = &self.auto.attach.set {
                tracing::info!(
                    executor = self.log_number(),
                    "the network took the LTE attach APN {apn:?}"
                );
            }
        }
    }

    /// After a refusal that asks for another attach APN (`state`: the
    /// registration or packet service it left): the next attach APN to
    /// set, or a wait saying why when every one was tried; `Continue` when
    /// there was no such refusal.
    pub(super) fn next_attach_after_refusal(
        &mut self,
        state: &str,
    ) -> ControlFlow<Option<(Step, Request)>> {
        let Some(cause) = self.auto.attach.refusal else {
            return Continue(());
        };
        if self.auto.attach.unsupported {
            self.wait(
                ExecutorState::Registering,
                Some(format!(
                    "{state} ({cause}): the network asks for another LTE attach APN, \
                     and the modem has no LTE_ATTACH_CONFIGURATION"
                )),
            );
            return Break(None);
        }
        let choices: Vec<(Profile, String)> = match self.wanted_profile().cloned() {
            Some(profile) => attach_choices(&profile),
            None => self
                .automatic_candidates()?
                .iter()
                .flat_map(|candidate| attach_choices(&candidate.profile()))
                .collect(),
        };
        let tried = &self.auto.attach.tried;
        let next = choices
            .into_iter()
            .find(|(_, apn)| !tried.iter().any(|done| done.eq_ignore_ascii_case(apn)));
        let Some((profile, apn)) = next else {
            let tried = self.auto.attach.tried.join("\", \"");
            self.wait(
                ExecutorState::Registering,
                Some(if tried.is_empty() {
                    format!(
                        "{state} ({cause}): the network asks for an LTE attach APN; \
                         name one with attach-apn in the profile"
                    )
                } else {
                    format!(
                        "{state} ({cause}): the network refused the LTE attach APNs \
                         \"{tried}\"; name the right one with attach-apn in the profile"
                    )
                }),
            );
            return Break(None);
        };
        tracing::warn!(
            executor = self.log_number(),
            "{state} ({cause}): the network asks for another LTE attach APN; setting {apn:?}"
        );
        self.auto.attach.tried.push(apn.clone());
        self.wait(
            ExecutorState::Registering,
            Some(format!(
                "{state} ({cause}): setting the LTE attach APN \"{apn}\""
            )),
        );
        Break(Some(set_request(
            &profile,
            &apn,
            AttachReason::Refused(cause),
        )))
    }

    /// LTE_ATTACH_CONFIGURATION answered a query: set it when its home
    /// entry is not `profile`'s attach APN.
    pub(super) fn attach_query_answer(
        &mut self,
        now: Instant,
        profile: Profile,
        status: Status,
        buffer: &[u8],
    ) {
        let Some(attach) = profile.attach_apn.clone() else {
            return;
        };
        if !status.is_success() {
            tracing::warn!(
                executor = self.log_number(),
                "LTE_ATTACH_CONFIGURATION: {status}; the attach APN {attach:?} is not applied"
            );
            self.auto.attach.unsupported = true;
            return;
        }
        let Some(current) =
            self.decode::<ms::LteAttachConfigurations>(now, "LTE_ATTACH_CONFIGURATION", buffer)
        else {
            self.auto.attach.unsupported = true;
            return;
        };
        let home_is_set = current.configurations.iter().any(|configuration| {
            configuration.roaming == LteAttachContextRoamingControl::Home
                && configuration.access_string.eq_ignore_ascii_case(&attach)
        });
        if home_is_set {
            self.auto.attach.set = Some(attach);
            return;
        }
        self.auto.attach.missing = Some(attach);
    }

    /// LTE_ATTACH_CONFIGURATION set answered. After a refusal, a success
    /// asks for the registration again: the modem attaches anew with it.
    pub(super) fn attach_set_answer(&mut self, attach: String, why: AttachReason, status: Status) {
        let because = match why {
            AttachReason::Named => "named by the profile".to_owned(),
            AttachReason::Refused(cause) => format!("the network refused the attach: {cause}"),
        };
        if status.is_success() {
            tracing::info!(
                executor = self.log_number(),
                "LTE attach APN set to {attach:?} ({because})"
            );
            self.status.attach_apn = Some((attach.clone(), because));
            if matches!(why, AttachReason::Refused(_)) {
                self.register_requested = false;
            }
        } else {
            tracing::warn!(
                executor = self.log_number(),
                "setting the LTE attach APN {attach:?}: {status}"
            );
            if status == Status::NoDeviceSupport {
                self.auto.attach.unsupported = true;
            }
        }
        // Tried once per SIM either way: a refusal is not asked again.
        self.auto.attach.missing = None;
        self.auto.attach.set = Some(attach);
    }
}

/// The attach APNs to try for `profile` after a refusal: its attach APN,
/// then its own APN (never the empty one: that is the network's default,
/// which was refused).
fn attach_choices(profile: &Profile) -> Vec<(Profile, String)> {
    [profile.attach_apn.as_deref(), Some(profile.apn.as_str())]
        .into_iter()
        .flatten()
        .filter(|apn| !apn.is_empty())
        .map(|apn| (profile.clone(), apn.to_owned()))
        .collect()
}

/// LTE_ATTACH_CONFIGURATION set naming `attach`.
fn set_request(profile: &Profile, attach: &str, why: AttachReason) -> (Step, Request) {
    let set = attach_set(profile, attach);
    (
        Step::LteAttachSet {
            attach: attach.to_owned(),
            why,
        },
        Request::set::<ms::cid::LteAttachConfiguration>(&set),
    )
}

/// The LTE attach configuration naming `attach` for every roaming
/// condition, with `profile`'s IP type (the attach APN has no credentials
/// of its own).
fn attach_set(profile: &Profile, attach: &str) -> ms::LteAttachConfigurationSet {
    let source = if profile.name == ApnSource::ProviderDatabase.as_str() {
        ContextSource::Device
    } else {
        ContextSource::User
    };
    let configuration = |roaming| ms::LteAttachConfiguration {
        ip_type: match profile.ip_type {
            IpType::Ipv4 => ContextIpType::Ipv4,
            IpType::Ipv6 => ContextIpType::Ipv6,
            IpType::Ipv4v6 => ContextIpType::Ipv4v6,
        },
        roaming,
        source,
        access_string: attach.to_owned(),
        user_name: String::new(),
        password: String::new(),
        compression: Compression::None,
        auth_protocol: AuthProtocol::None,
    };
    ms::LteAttachConfigurationSet {
        operation: LteAttachContextOperation::Default,
        configurations: vec![
            configuration(LteAttachContextRoamingControl::Home),
            configuration(LteAttachContextRoamingControl::Partner),
            configuration(LteAttachContextRoamingControl::NonPartner),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_causes_about_the_attach_apn_ask_for_another() {
        let table = [
            (NwError::MissingOrUnknownApn, true),
            (NwError::RequestedServiceOptionNotSubscribed, true),
            (NwError::RequestedApnNotSupportedInCurrentRatAndPlmn, true),
            (NwError::None, false),
            (NwError::PlmnNotAllowed, false),
            (NwError::RoamingNotAllowedInLocationArea, false),
            (NwError::Congestion, false),
            (NwError::UserAuthenticationFailed, false),
        ];
        for (cause, asks) in table {
            assert_eq!(asks_for_attach_apn(cause), asks, "{cause}");
        }
    }

    #[test]
    fn after_a_refusal_the_attach_apn_then_the_apn_are_tried_never_the_empty_one() {
        let profile = Profile {
            attach_apn: Some("ia.op".to_owned()),
            ..Profile::new("p", "internet.op")
        };
        let apns: Vec<String> = attach_choices(&profile)
            .into_iter()
            .map(|(_, apn)| apn)
            .collect();
        assert_eq!(apns, ["ia.op", "internet.op"]);
        assert!(attach_choices(&Profile::new("p", "")).is_empty());
    }
}
