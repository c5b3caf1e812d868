//! Further PDN sessions (session ids 1 and up): the `[[profiles.sessions]]`
//! of the profile session 0 is connected with, each activated with its own
//! CONNECT once session 0 is up, its IP configuration asked for, its CONNECT
//! and IP_CONFIGURATION indications taken by session id, and each lost,
//! refused or retried on its own. They live only while session 0 does: its
//! loss (the network, a slot switch, the SIM removed, a reset) takes them
//! down first, and taking session 0 down on purpose deactivates them first.
//! Session ids beyond the device's MaxSessions (DEVICE_CAPS) are never
//! tried; their status says why.

use super::step::Step;
use super::{ExecutorMachine, Request};
use crate::executor::api::{Connection, ExecutorEvent, SessionState, SessionStatus};
use crate::executor::policy::{merge_ip_configuration, reconnect_delay};
use crate::executor::session_profile::SessionProfile;
use crate::types::IpSettings;
use mbim_protocol::services::basic_connect::{self as bc, ActivationState};
use mbim_protocol::status::Status;
use std::time::Instant;

/// What the machine knows of one further session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Extra {
    profile: SessionProfile,
    status: SessionStatus,
    /// Activated on the device (CONNECT answered Activated).
    active: bool,
    /// No new attempt before this (after a refusal or a loss).
    retry_at: Option<Instant>,
}

impl Extra {
    fn new(session_id: u32, profile: SessionProfile) -> Self {
        let status = SessionStatus {
            session_id,
            name: profile.name.clone(),
            kind: profile.context_type,
            apn: profile.apn.clone(),
            state: SessionState::Disconnected,
            reason: None,
            ip: None,
            failures: 0,
        };
        Extra {
            profile,
            status,
            active: false,
            retry_at: None,
        }
    }

    fn id(&self) -> u32 {
        self.status.session_id
    }
}

impl ExecutorMachine {
    /// The further sessions the connected profile names, by session id.
    fn wanted_sessions(&self) -> Vec<(u32, SessionProfile)> {
        let Some(active) = &self.active else {
            return Vec::new();
        };
        (1u32..)
            .zip(active.profile.sessions.iter().cloned())
            .collect()
    }

    /// With session 0 connected: a further session to take down (no
    /// longer wanted, or wanted with other settings), one to activate, or
    /// one whose IP configuration is to be asked for; `None` when all are
    /// where they should be (or wait for their back-off).
    pub(super) fn next_session_request(&mut self, now: Instant) -> Option<(Step, Request)> {
        let wanted = self.wanted_sessions();
        // Sessions no longer wanted as they are: down first, then forgotten.
        for extra in &self.extras {
            let still = wanted
                .iter()
                .any(|(id, profile)| *id == extra.id() && *profile == extra.profile);
            if !still && extra.active {
                return Some(self.session_deactivation(extra.id()));
            }
        }
        self.extras.retain(|extra| {
            wanted
                .iter()
                .any(|(id, profile)| *id == extra.id() && *profile == extra.profile)
        });
        let max_sessions = self.status.max_sessions;
        let number = self.log_number();
        for (session_id, profile) in wanted {
            let index = match self.extras.iter().position(|e| e.id() == session_id) {
                Some(index) => index,
                None => {
                    self.extras.push(Extra::new(session_id, profile));
                    self.extras.sort_by_key(Extra::id);
                    self.extras.iter().position(|e| e.id() == session_id)?
                }
            };
            let extra = self.extras.get_mut(index)?;
            // MaxSessions counts session 0: ids 0 to MaxSessions - 1 exist.
            // A device that says 0 (or nothing) is not held to it.
            if let Some(max) = max_sessions.filter(|max| *max > 0 && session_id >= *max) {
                if extra.status.state != SessionState::Unsupported {
                    let reason = format!(
                        "the device offers {max} session(s) (DEVICE_CAPS MaxSessions): \
                         session {session_id} cannot be activated"
                    );
                    tracing::warn!(executor = number, session = session_id, "{reason}");
                    extra.status.state = SessionState::Unsupported;
                    extra.status.reason = Some(reason);
                }
                continue;
            }
            if extra.retry_at.is_some_and(|at| now < at) {
                continue;
            }
            extra.retry_at = None;
            if !extra.active {
                extra.status.state = SessionState::Connecting;
                let set = super::connect::connect_set(
                    session_id,
                    &extra.profile.as_profile(),
                    extra.profile.context_type.context_type(),
                );
                let request = self.connect_request(set);
                return Some((Step::SessionConnect { session_id }, request));
            }
            if extra.status.ip.is_none() {
                let query = bc::IpConfigurationInfo {
                    session_id,
                    ..bc::IpConfigurationInfo::default()
                };
                return Some((
                    Step::SessionIpQuery { session_id },
                    Request::query::<bc::cid::IpConfiguration>(&query),
                ));
            }
        }
        None
    }

    /// What takes the context down on purpose: a further session's
    /// deactivation while one is active, else session 0's.
    pub(super) fn deactivation(&self) -> (Step, Request) {
        match self.extras.iter().find(|extra| extra.active) {
            Some(extra) => self.session_deactivation(extra.id()),
            None => (Step::Deactivate, self.deactivate_request()),
        }
    }

    fn session_deactivation(&self, session_id: u32) -> (Step, Request) {
        let mut set = super::connect::deactivate_set(session_id);
        if let Some(extra) = self.extras.iter().find(|e| e.id() == session_id) {
            set.context_type = extra.profile.context_type.context_type().uuid();
        }
        (
            Step::SessionDeactivate { session_id },
            self.connect_request(set),
        )
    }

    /// The earliest back-off of a further session, for `poll_timeout`.
    pub(super) fn sessions_timeout(&self) -> Option<Instant> {
        self.active.as_ref()?;
        self.extras.iter().filter_map(|extra| extra.retry_at).min()
    }

    /// CONNECT (activation) of a further session answered.
    pub(super) fn session_connect_answer(
        &mut self,
        now: Instant,
        session_id: u32,
        status: Status,
        buffer: &[u8],
    ) {
        let info = if status.is_success() {
            self.decode_connect(now, "CONNECT", buffer)
        } else {
            self.decode_connect_refusal(buffer)
        };
        let activated = status.is_success()
            && info
                .as_ref()
                .is_some_and(|info| info.activation_state == ActivationState::Activated);
        let detail = match &info {
            _ if activated => String::new(),
            Some(info) if info.nw_error != bc::NwError::None => format!(
                "CONNECT: {status}, {} (network error {})",
                info.activation_state, info.nw_error
            ),
            Some(info) if status.is_success() => format!("CONNECT: {}", info.activation_state),
            _ => format!("CONNECT failed: {status}"),
        };
        let number = self.log_number();
        let (base, cap) = (self.config.backoff_base, self.config.backoff_cap);
        let Some(extra) = self.extras.iter_mut().find(|e| e.id() == session_id) else {
            return;
        };
        if activated {
            tracing::info!(
                executor = number,
                session = session_id,
                "session {:?} activated with APN {:?}",
                extra.profile.name,
                extra.profile.apn
            );
            extra.active = true;
            extra.status.ip = None;
            extra.status.reason = None;
        } else {
            tracing::warn!(executor = number, session = session_id, "{detail}");
            let delay = reconnect_delay(extra.status.failures, base, cap);
            extra.status.failures = extra.status.failures.saturating_add(1);
            extra.retry_at = Some(now.checked_add(delay).unwrap_or(now));
            extra.status.state = SessionState::WaitingToReconnect;
            extra.status.reason = Some(detail);
        }
    }

    /// IP_CONFIGURATION of a further session answered: it is up.
    pub(super) fn session_ip_answer(
        &mut self,
        now: Instant,
        session_id: u32,
        status: Status,
        buffer: &[u8],
    ) {
        let info = if status.is_success() {
            self.decode::<bc::IpConfigurationInfo>(now, "IP_CONFIGURATION", buffer)
        } else {
            None
        };
        let ntb = self.ntb;
        let number = self.log_number();
        let (base, cap) = (self.config.backoff_base, self.config.backoff_cap);
        let Some(extra) = self
            .extras
            .iter_mut()
            .find(|e| e.id() == session_id && e.active)
        else {
            return;
        };
        let Some(info) = info else {
            // Asked again after the back-off; the context stays active.
            let delay = reconnect_delay(extra.status.failures, base, cap);
            extra.status.failures = extra.status.failures.saturating_add(1);
            extra.retry_at = Some(now.checked_add(delay).unwrap_or(now));
            extra.status.reason = Some(format!("IP_CONFIGURATION failed: {status}"));
            return;
        };
        let ip = merge_ip_configuration(&IpSettings::default(), &info);
        tracing::info!(
            executor = number,
            session = session_id,
            ?ip,
            "session connected"
        );
        extra.status.ip = Some(ip.clone());
        extra.status.state = SessionState::Connected;
        extra.status.failures = 0;
        extra.status.reason = None;
        let connection = Connection {
            session_id,
            profile: extra.profile.name.clone(),
            route_metric: extra.profile.route_metric,
            ip,
            ntb,
            default_route: extra.profile.default_route,
            dns: extra.profile.dns,
        };
        self.report(ExecutorEvent::SessionUp(connection));
    }

    /// CONNECT (deactivation) of a further session answered (or failed:
    /// either way it no longer counts as up).
    pub(super) fn session_deactivate_answer(&mut self, session_id: u32) {
        let reason = if self.shutting_down {
            "shutting down"
        } else if self.suspending.is_some() {
            "the host sleeps"
        } else {
            "disconnected by request"
        };
        self.session_lost(session_id, reason, None);
    }

    /// A CONNECT indication for a further session.
    pub(super) fn session_connect_indication(&mut self, now: Instant, info: &bc::ConnectInfo) {
        if info.activation_state == ActivationState::Deactivated {
            self.session_lost(
                info.session_id,
                "the network deactivated the context",
                Some(now),
            );
        }
    }

    /// An IP_CONFIGURATION indication for a further session.
    pub(super) fn session_ip_update(&mut self, info: &bc::IpConfigurationInfo) {
        let Some(extra) = self
            .extras
            .iter_mut()
            .find(|e| e.id() == info.session_id && e.active)
        else {
            return;
        };
        let Some(previous) = &extra.status.ip else {
            return;
        };
        let merged = merge_ip_configuration(previous, info);
        if &merged != previous {
            extra.status.ip = Some(merged.clone());
            self.report(ExecutorEvent::SessionIpUpdated {
                session_id: info.session_id,
                ip: merged,
            });
        }
    }

    /// A further session is down; with `retry_from`, it is activated again
    /// after the back-off (a loss by the network).
    fn session_lost(&mut self, session_id: u32, reason: &str, retry_from: Option<Instant>) {
        let number = self.log_number();
        let (base, cap) = (self.config.backoff_base, self.config.backoff_cap);
        let Some(extra) = self.extras.iter_mut().find(|e| e.id() == session_id) else {
            return;
        };
        if !extra.active {
            return;
        }
        tracing::info!(
            executor = number,
            session = session_id,
            "session down: {reason}"
        );
        let was_up = extra.status.ip.is_some();
        extra.active = false;
        extra.status.ip = None;
        extra.status.reason = Some(reason.to_owned());
        extra.status.state = SessionState::Disconnected;
        if let Some(now) = retry_from {
            let delay = reconnect_delay(extra.status.failures, base, cap);
            extra.retry_at = Some(now.checked_add(delay).unwrap_or(now));
            extra.status.state = SessionState::WaitingToReconnect;
        }
        if was_up {
            self.report(ExecutorEvent::SessionDown {
                session_id,
                reason: reason.to_owned(),
            });
        }
    }

    /// Session 0 is gone: every further session with it (reported before
    /// session 0's own loss), and forgotten until session 0 is up again.
    pub(super) fn sessions_lost(&mut self, reason: &str) {
        let ids: Vec<u32> = self.extras.iter().map(Extra::id).collect();
        for session_id in ids {
            self.session_lost(session_id, reason, None);
        }
        self.extras.clear();
    }

    /// The further sessions' state, for the status snapshot.
    pub(super) fn publish_sessions(&mut self) {
        let sessions: Vec<SessionStatus> = self.extras.iter().map(|e| e.status.clone()).collect();
        if self.status.sessions != sessions {
            self.status.sessions = sessions;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent, ExecutorState, SessionState};
    use crate::executor::profile::Profile;
    use crate::executor::session_profile::{SessionKind, SessionProfile};
    use mbim_protocol::codec::Payload;
    use mbim_protocol::services::basic_connect::{
        self as bc, ActivationState, ContextType, SubscriberReadyState,
    };
    use std::net::Ipv4Addr;
    use std::time::{Duration, Instant};

    /// A profile with an IMS session (1) and a second internet APN (2).
    fn two_session_config() -> ExecutorConfig {
        let mut config = test_config();
        config.profiles = vec![Profile {
            sessions: vec![
                SessionProfile::new("ims", "ims", SessionKind::Ims),
                SessionProfile {
                    route_metric: Some(700),
                    default_route: true,
                    dns: true,
                    ..SessionProfile::new("second", "internet2", SessionKind::Internet)
                },
            ],
            ..Profile::new("default", "internet")
        }];
        config
    }

    fn states(machine: &ExecutorMachine) -> Vec<(u32, SessionState)> {
        machine
            .status()
            .sessions
            .iter()
            .map(|session| (session.session_id, session.state))
            .collect()
    }

    fn up(events: &[ExecutorEvent]) -> Vec<(u32, Ipv4Addr)> {
        events
            .iter()
            .filter_map(|event| match event {
                ExecutorEvent::SessionUp(connection) => Some((
                    connection.session_id,
                    connection.ip.ipv4_addresses.first()?.address,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn two_sessions_connect_after_session_0_each_with_its_context_and_addresses() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(two_session_config());
        let mut device = FakeDevice::default();
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(
            sent.get(sent.len() - 6..).unwrap(),
            [
                ("connect", true),
                ("ip-configuration", false),
                ("connect", true),
                ("ip-configuration", false),
                ("connect", true),
                ("ip-configuration", false),
            ]
        );
        assert_eq!(
            device.sessions,
            [
                (0, Some(ContextType::Internet)),
                (1, Some(ContextType::Ims)),
                (2, Some(ContextType::Internet)),
            ]
        );
        assert_eq!(device.activated, ["internet", "ims", "internet2"]);
        assert!(matches!(events.first(), Some(ExecutorEvent::Connected(c)) if c.session_id == 0));
        assert_eq!(
            up(&events),
            [
                (1, Ipv4Addr::new(10, 64, 1, 2)),
                (2, Ipv4Addr::new(10, 64, 2, 2)),
            ]
        );
        let Some(ExecutorEvent::SessionUp(second)) = events.last() else {
            panic!("{events:?}");
        };
        assert_eq!(
            (second.route_metric, second.default_route, second.dns),
            (Some(700), true, true)
        );
        assert_eq!(machine.status().state, ExecutorState::Connected);
        assert_eq!(
            states(&machine),
            [(1, SessionState::Connected), (2, SessionState::Connected)]
        );
        assert_eq!(machine.status().max_sessions, Some(4));
    }

    #[test]
    fn a_refused_session_waits_for_its_back_off_while_the_others_stay_up() {
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(two_session_config());
        let mut device = FakeDevice {
            refused_apns: vec!["ims".to_owned()],
            ..FakeDevice::default()
        };
        let (_, events) = run(&mut machine, &mut device, start);
        assert_eq!(up(&events), [(2, Ipv4Addr::new(10, 64, 2, 2))]);
        assert_eq!(machine.status().state, ExecutorState::Connected);
        assert_eq!(
            states(&machine),
            [
                (1, SessionState::WaitingToReconnect),
                (2, SessionState::Connected)
            ]
        );
        let ims = &machine.status().sessions[0];
        assert_eq!(ims.failures, 1);
        assert!(
            ims.reason.as_deref().unwrap().contains("network error"),
            "{ims:?}"
        );
        // Session 0 stays as it was: no network error, no reason.
        assert_eq!(machine.status().network_error, None);

        // After the back-off it is tried again (and connects this time).
        let due = machine.poll_timeout().unwrap();
        assert_eq!(due, start + Duration::from_secs(1));
        device.refused_apns.clear();
        machine.handle_timeout(due);
        let (sent, events) = run(&mut machine, &mut device, due);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert_eq!(up(&events), [(1, Ipv4Addr::new(10, 64, 1, 2))]);
        assert_eq!(machine.status().sessions[0].failures, 0);
    }

    #[test]
    fn a_connect_with_the_same_session_0_changes_only_the_further_sessions() {
        use crate::executor::api::ExecutorCommand;
        let now = Instant::now();
        let mut config = test_config();
        config.profiles = vec![Profile::new("default", "internet")];
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        assert_eq!(device.activated, ["internet"]);
        let mut profile = machine.status().profile_settings.clone().unwrap();

        // A further session asked for: session 0 stays, session 1 comes up.
        profile.sessions = vec![SessionProfile::new("ims", "ims", SessionKind::Ims)];
        machine.handle(
            now,
            Input::Command(ExecutorCommand::Connect(Some(profile.clone()))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert_eq!(device.activated, ["internet", "ims"]);
        assert_eq!(up(&events), [(1, Ipv4Addr::new(10, 64, 1, 2))]);
        assert_eq!(states(&machine), [(1, SessionState::Connected)]);

        // No longer asked for: it goes down, session 0 still stays.
        profile.sessions.clear();
        machine.handle(now, Input::Command(ExecutorCommand::Connect(Some(profile))));
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("connect", true)]);
        assert_eq!(machine.status().state, ExecutorState::Connected);
        assert!(states(&machine).is_empty(), "{:?}", states(&machine));
    }

    #[test]
    fn sessions_beyond_the_devices_max_sessions_are_never_tried() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(two_session_config());
        // Sessions 0 and 1 exist; session 2 does not.
        let mut device = FakeDevice {
            max_sessions: 2,
            ..FakeDevice::default()
        };
        let (_, events) = run(&mut machine, &mut device, now);
        assert_eq!(up(&events), [(1, Ipv4Addr::new(10, 64, 1, 2))]);
        assert_eq!(device.activated, ["internet", "ims"]);
        assert_eq!(
            states(&machine),
            [(1, SessionState::Connected), (2, SessionState::Unsupported)]
        );
        let reason = machine.status().sessions[1].reason.clone().unwrap();
        assert_eq!(
            reason,
            "the device offers 2 session(s) (DEVICE_CAPS MaxSessions): session 2 cannot be \
             activated"
        );
        assert_eq!(machine.poll_timeout(), None, "nothing waits to retry it");
    }

    #[test]
    fn an_indication_for_session_1_takes_only_session_1_down_and_up_again() {
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(two_session_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, start);
        indicate(
            &mut machine,
            start,
            bc::cid::Connect::ID,
            connect_info_for(1, ActivationState::Deactivated),
        );
        let (sent, events) = run(&mut machine, &mut device, start);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(
            events,
            [ExecutorEvent::SessionDown {
                session_id: 1,
                reason: "the network deactivated the context".to_owned()
            }]
        );
        assert_eq!(machine.status().state, ExecutorState::Connected);
        assert!(machine.status().ip.is_some());
        assert_eq!(
            states(&machine),
            [
                (1, SessionState::WaitingToReconnect),
                (2, SessionState::Connected)
            ]
        );
        // An IP update for session 2 reaches session 2 only.
        let mut update = bc::IpConfigurationInfo::decode(&ip_info(
            Ipv4Addr::new(9, 9, 9, 9),
            bc::IpConfigurationAvailable::DNS,
        ))
        .unwrap();
        update.session_id = 2;
        indicate(
            &mut machine,
            start,
            bc::cid::IpConfiguration::ID,
            update.encode(),
        );
        let (_, events) = run(&mut machine, &mut device, start);
        let [ExecutorEvent::SessionIpUpdated { session_id: 2, ip }] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(ip.ipv4_dns, [Ipv4Addr::new(9, 9, 9, 9)]);
        assert_ne!(machine.status().ip.as_ref().unwrap().ipv4_dns, ip.ipv4_dns);

        let due = machine.poll_timeout().unwrap();
        machine.handle_timeout(due);
        let (sent, events) = run(&mut machine, &mut device, due);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert_eq!(up(&events), [(1, Ipv4Addr::new(10, 64, 1, 2))]);
    }

    #[test]
    fn a_slot_switch_drops_every_session_before_session_0() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(two_session_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(1, ExecutorCommand::SetSlotMapping(vec![0])));
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("device-slot-mappings", true)]);
        // The device drops the SIM of the old slot.
        indicate(
            &mut machine,
            now,
            bc::cid::SubscriberReadyStatus::ID,
            ready(SubscriberReadyState::NotInitialized),
        );
        let (_, events) = run(&mut machine, &mut device, now);
        let downs: Vec<_> = events
            .iter()
            .filter_map(|event| match event {
                ExecutorEvent::SessionDown { session_id, .. } => Some(*session_id),
                ExecutorEvent::LinkDown { .. } => Some(0),
                _ => None,
            })
            .collect();
        assert_eq!(downs, [1, 2, 0]);
        assert!(machine.status().sessions.is_empty());
    }

    #[test]
    fn a_disconnect_deactivates_the_further_sessions_before_session_0() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(two_session_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        machine.handle(now, Input::Command(ExecutorCommand::Disconnect));
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(
            sent,
            [("connect", true), ("connect", true), ("connect", true)]
        );
        let downs: Vec<_> = events
            .iter()
            .map(|event| match event {
                ExecutorEvent::SessionDown { session_id, .. } => *session_id,
                ExecutorEvent::LinkDown { .. } => 0,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(downs, [1, 2, 0]);
        assert_eq!(machine.status().state, ExecutorState::Idle);
    }

    #[test]
    fn without_further_sessions_nothing_changes() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        assert_eq!(device.sessions, [(0, Some(ContextType::Internet))]);
        assert!(machine.status().sessions.is_empty());
    }
}
