//! The data connection: CONNECT (activation and deactivation), the IP
//! configuration and its updates, and the link's loss and reconnection after
//! back-off.

use super::step::Step;
use super::{Active, ExecutorMachine, Request};
use crate::apn::{ApnCandidate, ApnSource};
use crate::executor::api::{Connection, ExecutorEvent, ExecutorState};
use crate::executor::policy::{merge_ip_configuration, reconnect_delay};
use crate::executor::profile::{select_profile, Auth, IpType, Profile};
use crate::types::IpSettings;
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationCommand, ActivationState, AuthProtocol, Compression, ContextIpType,
    ContextType,
};
use mbim_protocol::status::Status;
use std::time::Instant;

impl ExecutorMachine {
    /// The context once the network is there: deactivated when no longer
    /// wanted or when a Connect asked for other settings (to be activated
    /// again with them), its IP configuration asked for, or activated with
    /// the profile chosen (after the reconnection back-off).
    pub(super) fn next_connect_request(&mut self, now: Instant) -> Option<(Step, Request)> {
        if self.active.is_some() {
            let other_settings =
                std::mem::take(&mut self.connect_requested) && self.follow_connect();
            if other_settings {
                tracing::info!(
                    executor = self.log_number(),
                    "connect requested with other settings: reconnecting"
                );
                self.reconnecting = true;
            }
            if !self.want_connect
                || other_settings
                || self.reconnecting
                || self.deactivation_unconfirmed
            {
                return Some(self.deactivation());
            }
            if self.status.ip.is_none() {
                if let Some(pco) = self.next_pco_query() {
                    return Some(pco);
                }
                let query = bc::IpConfigurationInfo {
                    session_id: self.config.session_id,
                    ..bc::IpConfigurationInfo::default()
                };
                return Some((
                    Step::IpQuery,
                    Request::query::<bc::cid::IpConfiguration>(&query),
                ));
            }
            if let Some(next) = self.next_session_request(now) {
                return Some(next);
            }
            self.wait(ExecutorState::Connected, None);
            return None;
        }
        if self.activation_unconfirmed {
            tracing::info!(
                executor = self.log_number(),
                "the last activation went unanswered: deactivating before activating again"
            );
            return Some((Step::Deactivate, self.deactivate_request()));
        }
        if self.connect_at.is_some_and(|at| now < at) {
            let reason = self.status.reason.take();
            self.wait(ExecutorState::WaitingToReconnect, reason);
            return None;
        }
        self.connect_at = None;
        // Activating now takes in whatever Connect asked for.
        self.connect_requested = false;
        let (profile, candidate) = match self.wanted_profile().cloned() {
            Some(profile) => (profile, None),
            None => match self.automatic_candidate() {
                std::ops::ControlFlow::Continue(candidate) => {
                    (candidate.profile(), Some(candidate))
                }
                std::ops::ControlFlow::Break(next) => return next,
            },
        };
        if let Some(attach) = self.attach_request(&profile) {
            return Some(attach);
        }
        self.status.profile = Some(profile.name.clone());
        self.status.profile_settings = Some(profile.clone());
        let set = connect_set(self.config.session_id, &profile, ContextType::Internet);
        Some((
            Step::Connect {
                profile: Box::new(profile),
                candidate: candidate.map(Box::new),
            },
            self.connect_request(set),
        ))
    }

    /// A Connect (or a reload) while session 0 is up: with other settings
    /// for session 0 it is taken down to come back with them; with the
    /// same, the further sessions become the ones now wanted (those no
    /// longer named go down, new ones come up) and session 0 stays.
    /// Whether session 0 is to be taken down for other settings.
    fn follow_connect(&mut self) -> bool {
        let Some(wanted) = self.wanted_profile().cloned() else {
            return false;
        };
        let executor = self.log_number();
        let Some(active) = self.active.as_mut() else {
            return false;
        };
        if !same_connection(&wanted, &active.profile) {
            return true;
        }
        if active.profile.sessions != wanted.sessions {
            tracing::info!(
                executor,
                "connect requested with other further sessions ({} now)",
                wanted.sessions.len()
            );
            active.profile.sessions.clone_from(&wanted.sessions);
            if let Some(settings) = self.status.profile_settings.as_mut() {
                settings.sessions = wanted.sessions;
            }
        }
        false
    }

    /// The profile to connect with: Connect's, else the configuration's
    /// for this SIM.
    pub(super) fn wanted_profile(&self) -> Option<&Profile> {
        self.profile_override.as_ref().or_else(|| {
            select_profile(
                &self.config.profiles,
                &self.status.iccid,
                &self.status.imsi,
                &self.status.home_provider,
            )
        })
    }

    pub(super) fn deactivate_request(&self) -> Request {
        self.connect_request(deactivate_set(self.config.session_id))
    }

    /// CONNECT (activation) answered.
    pub(super) fn connect_answer(
        &mut self,
        now: Instant,
        profile: Profile,
        candidate: Option<ApnCandidate>,
        status: Status,
        buffer: &[u8],
    ) {
        let info = if status.is_success() {
            self.decode_connect(now, "CONNECT", buffer)
        } else {
            // A refusal may carry the network's cause; without it the
            // status says enough, so an odd buffer is no anomaly here.
            self.decode_connect_refusal(buffer)
        };
        match info {
            Some(info)
                if status.is_success() && info.activation_state == ActivationState::Activated =>
            {
                let source = candidate.as_ref().map_or(ApnSource::Profile, |c| c.source);
                tracing::info!(
                    executor = self.log_number(),
                    profile = profile.name,
                    "context activated with APN {:?} from {}",
                    profile.apn,
                    source.describe()
                );
                self.status.apn_source = Some(source);
                self.status.apn = Some(profile.apn.clone());
                self.status.network_error = None;
                if let Some(candidate) = candidate {
                    self.automatic_connected(candidate);
                }
                self.active = Some(Active { profile });
                self.status.ip = None;
            }
            other => {
                self.status.network_error = other
                    .as_ref()
                    .map(|info| info.nw_error)
                    .filter(|error| *error != bc::NwError::None);
                let detail = match other {
                    Some(info) if info.nw_error != bc::NwError::None => format!(
                        "CONNECT: {status}, {} (network error {})",
                        info.activation_state, info.nw_error
                    ),
                    Some(info) if status.is_success() => {
                        format!("CONNECT: {}", info.activation_state)
                    }
                    _ => format!("CONNECT failed: {status}"),
                };
                if let Some(candidate) = &candidate {
                    if self.automatic_refused(candidate, &detail) {
                        self.status.reason = Some(format!("{detail}; trying the next APN"));
                        return;
                    }
                }
                self.connect_failed(now, detail);
            }
        }
    }

    /// IP_CONFIGURATION answered: the link is up.
    pub(super) fn ip_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        let info = if status.is_success() {
            self.decode::<bc::IpConfigurationInfo>(now, "IP_CONFIGURATION", buffer)
        } else {
            None
        };
        match (info, self.active.clone()) {
            (Some(info), Some(active)) => {
                let ip = merge_ip_configuration(&IpSettings::default(), &info);
                let Some(ip) = self.dns_from_pco(ip) else {
                    // MS_PCO first, then IP_CONFIGURATION again.
                    return;
                };
                let connection = Connection {
                    session_id: self.config.session_id,
                    route_metric: active.profile.route_metric,
                    profile: active.profile.name,
                    ip: ip.clone(),
                    ntb: self.ntb,
                    default_route: true,
                    dns: true,
                };
                tracing::info!(executor = self.log_number(), ?ip, "connected");
                self.status.ip = Some(ip);
                self.status.connect_failures = 0;
                self.status.reason = None;
                self.report(ExecutorEvent::Connected(connection));
            }
            (None, Some(_)) => {
                self.retry_later(now, format!("IP_CONFIGURATION failed: {status}"));
            }
            (_, None) => {}
        }
    }

    /// CONNECT (deactivation) answered.
    pub(super) fn deactivate_answer(&mut self) {
        let reason = if self.shutting_down {
            "shutting down"
        } else if self.suspending.is_some() {
            "the host sleeps"
        } else if std::mem::take(&mut self.reconnecting) {
            "reconnecting with new settings"
        } else if self.deactivation_unconfirmed && self.want_connect {
            "deactivated again after an unanswered deactivation: reconnecting"
        } else if self.activation_unconfirmed {
            "deactivated after an unanswered activation"
        } else {
            "disconnected by request"
        };
        self.lost(reason);
        self.status.reason = Some(reason.to_owned());
    }

    fn connect_failed(&mut self, now: Instant, detail: String) {
        tracing::warn!(executor = self.log_number(), "{detail}");
        let delay = reconnect_delay(
            self.status.connect_failures,
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.status.connect_failures = self.status.connect_failures.saturating_add(1);
        self.connect_at = Some(now.checked_add(delay).unwrap_or(now));
        self.status.reason = Some(detail);
        // The network may have changed under the failure; look again.
        self.status.packet_service = None;
    }

    pub(super) fn ip_update(&mut self, info: &bc::IpConfigurationInfo) {
        if info.session_id != self.config.session_id || self.active.is_none() {
            return;
        }
        let Some(previous) = &self.status.ip else {
            return;
        };
        let merged = merge_ip_configuration(previous, info);
        if &merged != previous {
            tracing::info!(executor = self.log_number(), ip = ?merged, "IP configuration updated");
            self.status.ip = Some(merged.clone());
            self.report(ExecutorEvent::IpUpdated(merged));
        }
    }

    /// The context is gone (however): the supervisor takes the link down.
    pub(super) fn lost(&mut self, reason: &str) {
        self.sessions_lost(reason);
        self.reconnecting = false;
        self.deactivation_unconfirmed = false;
        self.activation_unconfirmed = false;
        if self.active.take().is_some() {
            tracing::info!(executor = self.log_number(), "link down: {reason}");
            self.status.ip = None;
            // The session's PCO went with it.
            self.status.pco = None;
            self.pco_asked = false;
            self.pco_wanted = false;
            self.report(ExecutorEvent::LinkDown {
                reason: reason.to_owned(),
            });
        }
    }

    /// Loss by the network: reconnect once it returns, after the back-off.
    pub(super) fn lost_to_network(&mut self, now: Instant, reason: &str) {
        if self.active.is_none() {
            return;
        }
        self.lost(reason);
        let delay = reconnect_delay(
            self.status.connect_failures,
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.connect_at = Some(now.checked_add(delay).unwrap_or(now));
        self.status.reason = Some(reason.to_owned());
    }
}

/// Whether a context activated with `active` is what `wanted` asks for:
/// the same profile, APN, credentials, IP type and route metric (the
/// profile's match criteria say which SIM it is for, not how to connect).
fn same_connection(wanted: &Profile, active: &Profile) -> bool {
    wanted.name == active.name
        && wanted.apn == active.apn
        && wanted.auth == active.auth
        && wanted.user == active.user
        && wanted.password == active.password
        && wanted.ip_type == active.ip_type
        && wanted.route_metric == active.route_metric
        && wanted.attach_apn == active.attach_apn
}

/// CONNECT's deactivation of `session_id`.
pub(super) fn deactivate_set(session_id: u32) -> bc::ConnectSet {
    bc::ConnectSet {
        session_id,
        activation_command: ActivationCommand::Deactivate,
        access_string: String::new(),
        user_name: String::new(),
        password: String::new(),
        compression: Compression::None,
        auth_protocol: AuthProtocol::None,
        ip_type: ContextIpType::Default,
        context_type: ContextType::Internet.uuid(),
    }
}

/// CONNECT's activation of `session_id` with `profile`'s settings.
pub(super) fn connect_set(
    session_id: u32,
    profile: &Profile,
    context_type: ContextType,
) -> bc::ConnectSet {
    bc::ConnectSet {
        session_id,
        activation_command: ActivationCommand::Activate,
        access_string: profile.apn.clone(),
        user_name: profile.user.clone(),
        password: profile.password.expose().to_owned(),
        compression: Compression::None,
        auth_protocol: match profile.auth {
            Auth::None => AuthProtocol::None,
            Auth::Pap => AuthProtocol::Pap,
            Auth::Chap => AuthProtocol::Chap,
            Auth::MsChapV2 => AuthProtocol::MsChapV2,
        },
        ip_type: match profile.ip_type {
            IpType::Ipv4 => ContextIpType::Ipv4,
            IpType::Ipv6 => ContextIpType::Ipv6,
            IpType::Ipv4v6 => ContextIpType::Ipv4v6,
        },
        context_type: context_type.uuid(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::executor::api::{ExecutorCommand, ExecutorEvent, ExecutorState};
    use crate::executor::profile::Profile;
    use crate::types::IpSettings;
    use mbim_protocol::codec::Payload;
    use mbim_protocol::services::basic_connect::{
        self as bc, ActivationState, PacketServiceState, RegisterState,
    };
    use mbim_protocol::status::Status;
    use std::time::{Duration, Instant};

    #[test]
    fn loss_in_the_guideline_order_takes_the_link_down_once_and_reconnects_after_back_off() {
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, start);
        // (cid, indication) -> (events, commands), all at `start`.
        let down = [
            (
                bc::cid::Connect::ID,
                connect_info(ActivationState::Deactivated),
            ),
            (
                bc::cid::PacketService::ID,
                packet(PacketServiceState::Detached),
            ),
            (
                bc::cid::RegisterState::ID,
                registration(RegisterState::Deregistered),
            ),
        ];
        let mut events = Vec::new();
        for (cid, buffer) in down {
            indicate(&mut machine, start, cid, buffer);
            let (sent, reported) = run(&mut machine, &mut device, start);
            assert!(
                sent.is_empty() || sent == [("packet-service", true)],
                "{sent:?}"
            );
            events.extend(reported);
        }
        assert_eq!(
            events,
            [ExecutorEvent::LinkDown {
                reason: "the network deactivated the context".to_owned()
            }]
        );
        assert_eq!(machine.status().state, ExecutorState::Registering);
        assert_eq!(machine.status().ip, None);

        // The network returns before the back-off has passed: wait for it.
        indicate(
            &mut machine,
            start,
            bc::cid::RegisterState::ID,
            registration(RegisterState::Home),
        );
        indicate(
            &mut machine,
            start,
            bc::cid::PacketService::ID,
            packet(PacketServiceState::Attached),
        );
        let (sent, _) = run(&mut machine, &mut device, start);
        assert!(!sent.contains(&("connect", true)), "{sent:?}");
        assert_eq!(machine.status().state, ExecutorState::WaitingToReconnect);
        let due = machine.poll_timeout().unwrap();
        assert_eq!(due, start + Duration::from_secs(1));
        machine.handle_timeout(due);
        let (sent, events) = run(&mut machine, &mut device, due);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
    }

    /// The audit's soak case: a Disconnect whose answer is lost (the
    /// device did deactivate), then a Connect before the timeout. The
    /// context's state is unknown: it is deactivated again and activated,
    /// never reported as still connected.
    #[test]
    fn an_unanswered_deactivation_is_repeated_before_connecting_again() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));

        machine.handle(now, Input::Command(ExecutorCommand::Disconnect));
        let Some(Action::Send(request)) = machine.poll_action() else {
            panic!("no deactivation sent");
        };
        assert_eq!(request.name, "connect");
        machine.handle(now, Input::Command(ExecutorCommand::Connect(None)));
        machine.handle(now, Input::RequestFailed(RequestFailure::TimedOut));
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert!(events.is_empty(), "{events:?}");
        assert_ne!(machine.status().state, ExecutorState::Connected);

        // After the back-off: deactivated again, then connected again.
        let due = machine.poll_timeout().unwrap();
        machine.handle_timeout(due);
        let (sent, events) = run(&mut machine, &mut device, due);
        assert_eq!(
            sent,
            [
                ("connect", true),
                ("connect", true),
                ("ip-configuration", false)
            ]
        );
        let [ExecutorEvent::LinkDown { reason }, ExecutorEvent::Connected(_)] = events.as_slice()
        else {
            panic!("{events:?}");
        };
        assert_eq!(
            reason,
            "deactivated again after an unanswered deactivation: reconnecting"
        );
        assert_eq!(machine.status().state, ExecutorState::Connected);
    }

    /// The audit's other soak case: an activation the device carried out
    /// but whose answer was lost. The context may be active: it is
    /// deactivated before the next activation, which then succeeds.
    #[test]
    fn an_unanswered_activation_is_undone_before_activating_again() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let mut answered = Vec::new();
        // Up to the activation, which the device carries out unheard.
        loop {
            match machine.poll_action() {
                Some(Action::Open) => machine.handle(now, Input::Opened),
                Some(Action::Send(request)) if request.name == "connect" => {
                    let _lost = device.answer(&request);
                    machine.handle(now, Input::RequestFailed(RequestFailure::TimedOut));
                    break;
                }
                Some(Action::Send(request)) => {
                    answered.push(request.name);
                    let (status, information_buffer) = device.answer(&request);
                    machine.handle(
                        now,
                        Input::Response {
                            status,
                            information_buffer,
                        },
                    );
                }
                Some(_) => {}
                None => panic!("no activation sent after {answered:?}"),
            }
        }
        assert_eq!(device.activated, ["internet"]);
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(
            sent,
            [
                ("connect", true),
                ("connect", true),
                ("ip-configuration", false)
            ]
        );
        // No link was up, so no LinkDown: connected once, with the context
        // activated afresh.
        assert!(
            matches!(events.as_slice(), [ExecutorEvent::Connected(_)]),
            "{events:?}"
        );
        assert_eq!(device.activated, ["internet", "internet"]);
        assert_eq!(machine.status().state, ExecutorState::Connected);
    }

    #[test]
    fn connect_with_other_settings_while_connected_connects_again_with_them() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(
            matches!(events.as_slice(), [ExecutorEvent::Connected(c)] if c.route_metric.is_none()),
            "{events:?}"
        );

        // The same settings: taken on, and nothing changes.
        machine.handle(now, tracked(1, ExecutorCommand::Connect(None)));
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(1, Ok(()))]);

        // Another APN and route metric (Connect's overrides keep the
        // profile's name): deactivated, then activated with them.
        let other = Profile {
            route_metric: Some(50),
            ..Profile::new("default", "other.example")
        };
        machine.handle(
            now,
            tracked(2, ExecutorCommand::Connect(Some(other.clone()))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(
            sent,
            [
                ("connect", true),
                ("connect", true),
                ("ip-configuration", false)
            ]
        );
        let [first, down, ExecutorEvent::Connected(connection)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(first, &done(2, Ok(())));
        assert_eq!(
            down,
            &ExecutorEvent::LinkDown {
                reason: "reconnecting with new settings".to_owned()
            }
        );
        assert_eq!(connection.route_metric, Some(50));
        assert_eq!(device.activated, ["internet", "other.example"]);
        assert_eq!(machine.status().state, ExecutorState::Connected);

        // The same overrides again: nothing; back to the configured
        // profile: connected again with it.
        machine.handle(now, Input::Command(ExecutorCommand::Connect(Some(other))));
        let (sent, _) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        machine.handle(now, Input::Command(ExecutorCommand::Connect(None)));
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(
            sent,
            [
                ("connect", true),
                ("connect", true),
                ("ip-configuration", false)
            ]
        );
        assert_eq!(device.activated, ["internet", "other.example", "internet"]);
    }

    #[test]
    fn failed_connects_back_off_exponentially_to_the_cap() {
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        // Every CONNECT fails: the device answers FAILURE.
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..6 {
            for _ in 0..100 {
                let Some(action) = machine.poll_action() else {
                    break;
                };
                match action {
                    Action::Open => machine.handle(now, Input::Opened),
                    Action::Send(request) if request.name == "connect" => machine.handle(
                        now,
                        Input::Response {
                            status: Status::Failure,
                            information_buffer: Vec::new(),
                        },
                    ),
                    Action::Send(request) => {
                        let (status, information_buffer) = device.answer(&request);
                        machine.handle(
                            now,
                            Input::Response {
                                status,
                                information_buffer,
                            },
                        );
                    }
                    _ => {}
                }
            }
            let due = machine.poll_timeout().unwrap();
            waits.push(due.duration_since(now).as_secs());
            now = due;
            machine.handle_timeout(now);
        }
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert_eq!(machine.status().connect_failures, 6);
    }

    #[test]
    fn dns_only_updates_keep_the_addresses() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        let before = machine.status().ip.clone().unwrap();
        let dns = std::net::Ipv4Addr::new(9, 9, 9, 9);
        // Flags say DNS only; the addresses in the buffer are ignored.
        let mut update =
            bc::IpConfigurationInfo::decode(&ip_info(dns, bc::IpConfigurationAvailable::DNS))
                .unwrap();
        update.ipv4_addresses.clear();
        indicate(
            &mut machine,
            now,
            bc::cid::IpConfiguration::ID,
            update.encode(),
        );
        let (_, events) = run(&mut machine, &mut device, now);
        let expected = IpSettings {
            ipv4_dns: vec![dns],
            ..before
        };
        assert_eq!(events, [ExecutorEvent::IpUpdated(expected.clone())]);
        assert_eq!(machine.status().ip, Some(expected));
        // The same again changes nothing and reports nothing.
        indicate(
            &mut machine,
            now,
            bc::cid::IpConfiguration::ID,
            update.encode(),
        );
        assert!(run(&mut machine, &mut device, now).1.is_empty());
    }
}
