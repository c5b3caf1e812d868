//! The APN when no profile names the SIM (crate::apn): the modem's
//! provisioned contexts asked for, the provider database and the remembered
//! APN looked up by the driver, then each candidate tried in turn (the LTE
//! attach APN an entry names is attach.rs's).

use super::attach::AttachApn;
use super::step::Step;
use super::{Action, ExecutorMachine, Request};
use crate::apn::provisioned::{self, Network};
use crate::apn::{candidates, ApnCandidate, ApnLookup, ApnsFound, Found};
use crate::executor::api::ExecutorState;
use mbim_protocol::codec::Empty;
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::services::basic_connect::{self as bc, RegisterState};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::Status;
use std::ops::ControlFlow::{self, Break, Continue};
use std::time::Instant;

/// The lookup's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Lookup {
    #[default]
    NotAsked,
    Asked,
    Found {
        remembered: Option<ApnCandidate>,
        database: Vec<ApnCandidate>,
    },
}

/// What is known of one SIM's APNs; another SIM starts over.
#[derive(Debug, Clone, Default)]
pub(super) struct AutoApn {
    iccid: String,
    provisioned: Option<Vec<ApnCandidate>>,
    /// The MBIMEx form of PROVISIONED_CONTEXTS was refused: ask MBIM 1.0's.
    extended_refused: bool,
    lookup: Lookup,
    /// The candidate to try next.
    next: usize,
    /// The LTE attach APN (attach.rs), the SIM's like the rest.
    pub(super) attach: AttachApn,
}

impl ExecutorMachine {
    /// The candidate to connect with when no profile names the SIM, or
    /// (`Break`) what to send first, or `None` to wait.
    pub(super) fn automatic_candidate(
        &mut self,
    ) -> ControlFlow<Option<(Step, Request)>, ApnCandidate> {
        let list = self.automatic_candidates()?;
        let Some(last) = list.len().checked_sub(1) else {
            self.wait(
                ExecutorState::Failed,
                Some(
                    "no profile matches this SIM, and no APN source gave an APN \
                     ([apn-sources] in mbimd.toml)"
                        .to_owned(),
                ),
            );
            return Break(None);
        };
        let index = self.auto.next.min(last);
        self.auto.next = index;
        list.get(index).cloned().map_or(Break(None), Continue)
    }

    /// What is known of the APNs starts over when the SIM is another.
    pub(super) fn auto_for_this_sim(&mut self) {
        if self.auto.iccid != self.status.iccid {
            self.auto = AutoApn {
                iccid: self.status.iccid.clone(),
                ..AutoApn::default()
            };
        }
    }

    /// Every candidate for a SIM no profile names, in the order they are
    /// tried, or (`Break`) what to send first to find them, or `None` to
    /// wait.
    pub(super) fn automatic_candidates(
        &mut self,
    ) -> ControlFlow<Option<(Step, Request)>, Vec<ApnCandidate>> {
        self.auto_for_this_sim();
        if self.config.apn_sources.provisioned_contexts && self.auto.provisioned.is_none() {
            let extended = self.mbimex >= MbimExVersion::V2 && !self.auto.extended_refused;
            let request = if extended {
                Request::query::<ms::cid::ProvisionedContexts>(&Empty)
            } else {
                Request::query::<bc::cid::ProvisionedContexts>(&Empty)
            };
            return Break(Some((Step::ProvisionedQuery { extended }, request)));
        }
        let (remembered, database) = match &self.auto.lookup {
            Lookup::NotAsked => {
                self.auto.lookup = Lookup::Asked;
                self.actions.push_back(Action::LookupApns(ApnLookup {
                    iccid: self.status.iccid.clone(),
                    imsi: self.status.imsi.clone(),
                    home_provider_id: self.status.home_provider.clone(),
                    spn: self.home_provider_name.clone(),
                    provider_database: self.config.apn_sources.provider_database.clone(),
                    store: self.config.apn_sources.store.clone(),
                }));
                self.wait(
                    ExecutorState::Connecting,
                    Some("no profile matches this SIM: looking for an APN".to_owned()),
                );
                return Break(None);
            }
            Lookup::Asked => {
                self.wait(
                    ExecutorState::Connecting,
                    Some("no profile matches this SIM: looking for an APN".to_owned()),
                );
                return Break(None);
            }
            Lookup::Found {
                remembered,
                database,
            } => (remembered, database),
        };
        Continue(candidates(Found {
            remembered: remembered.as_ref(),
            provisioned: self.auto.provisioned.as_deref().unwrap_or_default(),
            database,
            network_default: self.config.apn_sources.network_default,
        }))
    }

    /// How many candidates there are to try (once found).
    fn automatic_count(&self) -> usize {
        let Lookup::Found {
            remembered,
            database,
        } = &self.auto.lookup
        else {
            return 0;
        };
        candidates(Found {
            remembered: remembered.as_ref(),
            provisioned: self.auto.provisioned.as_deref().unwrap_or_default(),
            database,
            network_default: self.config.apn_sources.network_default,
        })
        .len()
    }

    /// The driver's answer to [`Action::LookupApns`].
    pub(super) fn apns_found(&mut self, found: ApnsFound) {
        if found.iccid != self.auto.iccid || self.auto.lookup != Lookup::Asked {
            return;
        }
        tracing::info!(
            executor = self.log_number(),
            remembered = found.remembered.is_some(),
            provider_database = found.database.len(),
            provisioned = self.auto.provisioned.as_ref().map_or(0, Vec::len),
            "APNs found for a SIM without a profile"
        );
        self.auto.lookup = Lookup::Found {
            remembered: found.remembered,
            database: found.database,
        };
    }

    /// PROVISIONED_CONTEXTS answered (either form).
    pub(super) fn provisioned_answer(
        &mut self,
        now: Instant,
        extended: bool,
        status: Status,
        buffer: &[u8],
    ) {
        let network = match self.status.register_state {
            Some(RegisterState::Roaming) => Network::Roaming,
            Some(RegisterState::Partner) => Network::Partner,
            _ => Network::Home,
        };
        let found = match (status.is_success(), extended) {
            (false, _) => None,
            (true, true) if self.mbimex >= MbimExVersion::V4 => self
                .decode::<ms::ProvisionedContextsV4>(now, "PROVISIONED_CONTEXTS", buffer)
                .map(|info| provisioned::from_extensions_v4(&info.contexts, network)),
            (true, true) => self
                .decode::<ms::ProvisionedContextsV2>(now, "PROVISIONED_CONTEXTS", buffer)
                .map(|info| provisioned::from_extensions(&info.contexts, network)),
            (true, false) => self
                .decode::<bc::ProvisionedContexts>(now, "PROVISIONED_CONTEXTS", buffer)
                .map(|info| provisioned::from_basic_connect(&info.contexts)),
        };
        match found {
            Some(contexts) => {
                tracing::info!(
                    executor = self.log_number(),
                    usable = contexts.len(),
                    "provisioned contexts"
                );
                self.auto.provisioned = Some(contexts);
            }
            None if extended => {
                // The MBIM 1.0 form is asked next.
                self.auto.extended_refused = true;
            }
            None => {
                tracing::info!(
                    executor = self.log_number(),
                    "PROVISIONED_CONTEXTS: {status}; no provisioned contexts to try"
                );
                self.auto.provisioned = Some(Vec::new());
            }
        }
    }

    /// An automatic candidate connected: tried first from now on, and
    /// remembered for the SIM.
    pub(super) fn automatic_connected(&mut self, candidate: ApnCandidate) {
        self.auto.next = 0;
        if let Lookup::Found { remembered, .. } = &mut self.auto.lookup {
            if remembered.as_ref() != Some(&candidate) {
                *remembered = Some(candidate.clone());
                if let (Some(store), false) = (
                    self.config.apn_sources.store.clone(),
                    self.status.iccid.is_empty(),
                ) {
                    self.actions.push_back(Action::RememberApn {
                        store,
                        iccid: self.status.iccid.clone(),
                        candidate,
                    });
                }
            }
        }
    }

    /// An automatic candidate was refused: `true` when there is another to
    /// try now, `false` when the list starts over (after the back-off).
    pub(super) fn automatic_refused(&mut self, candidate: &ApnCandidate, detail: &str) -> bool {
        let next = self.auto.next.saturating_add(1);
        if next < self.automatic_count() {
            tracing::warn!(
                executor = self.log_number(),
                "{detail}: {} refused; trying the next APN",
                candidate.summary()
            );
            self.auto.next = next;
            true
        } else {
            self.auto.next = 0;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::apn::{ApnCandidate, ApnSource, ApnSources, ApnsFound};
    use crate::executor::api::{ExecutorEvent, ExecutorState};
    use crate::executor::profile::{Auth, Profile};
    use mbim_protocol::services::basic_connect::{self as bc, AuthProtocol, Compression};
    use std::time::{Duration, Instant};

    fn no_profile() -> ExecutorConfig {
        ExecutorConfig {
            profiles: Vec::new(),
            apn_sources: ApnSources {
                store: Some("/nonexistent/apns.toml".into()),
                ..ApnSources::default()
            },
            ..test_config()
        }
    }

    fn provisioned(apn: &str) -> bc::ProvisionedContextElement {
        bc::ProvisionedContextElement {
            context_id: 1,
            context_type: bc::ContextType::Internet.uuid(),
            access_string: apn.to_owned(),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        }
    }

    fn database(apn: &str, attach: Option<&str>) -> ApnCandidate {
        ApnCandidate {
            source: ApnSource::ProviderDatabase,
            apn: apn.to_owned(),
            auth: Auth::Pap,
            attach_apn: attach.map(str::to_owned),
            ..ApnCandidate::network_default()
        }
    }

    #[test]
    fn without_a_profile_the_first_source_that_has_an_apn_connects() {
        let now = Instant::now();
        // (provisioned, database, expected APN, source)
        let table = [
            (
                vec![provisioned("modem.apn")],
                vec![database("db.apn", None)],
                "modem.apn",
                ApnSource::Provisioned,
            ),
            (
                vec![],
                vec![database("db.apn", None)],
                "db.apn",
                ApnSource::ProviderDatabase,
            ),
            (vec![], vec![], "", ApnSource::NetworkDefault),
        ];
        for (contexts, found, apn, source) in table {
            let mut machine = ExecutorMachine::new(no_profile());
            let mut device = FakeDevice {
                provisioned: contexts,
                found: ApnsFound {
                    database: found,
                    ..ApnsFound::default()
                },
                ..FakeDevice::default()
            };
            let (sent, events) = run(&mut machine, &mut device, now);
            assert_eq!(
                sent[sent.len() - 3..],
                [
                    ("provisioned-contexts", false),
                    ("connect", true),
                    ("ip-configuration", false)
                ],
                "{apn}"
            );
            let [ExecutorEvent::Connected(connection)] = events.as_slice() else {
                panic!("{events:?}");
            };
            assert_eq!(connection.profile, source.as_str());
            assert_eq!(device.activated, [apn]);
            assert_eq!(machine.status().apn_source, Some(source));
            assert_eq!(machine.status().apn.as_deref(), Some(apn));
            assert_eq!(device.remembered.len(), 1);
            assert_eq!(device.remembered[0].apn, apn);
        }
    }

    #[test]
    fn a_refused_apn_is_followed_by_the_next_then_the_list_starts_over() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(no_profile());
        let mut device = FakeDevice {
            provisioned: vec![provisioned("modem.apn")],
            found: ApnsFound {
                database: vec![database("db.apn", None)],
                ..ApnsFound::default()
            },
            refused_apns: vec!["modem.apn".to_owned(), "db.apn".to_owned(), String::new()],
            ..FakeDevice::default()
        };
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(events.is_empty(), "{events:?}");
        // Each once, in order, without waiting between them.
        assert_eq!(device.activated, ["modem.apn", "db.apn", ""]);
        assert_eq!(machine.status().state, ExecutorState::WaitingToReconnect);
        let reason = machine.status().reason.clone().unwrap();
        assert!(reason.contains("missing-or-unknown-apn"), "{reason}");
        assert!(device.remembered.is_empty());
        // After the back-off the list starts over; now the network takes
        // the database's APN.
        device.refused_apns = vec!["modem.apn".to_owned()];
        let due = machine.poll_timeout().unwrap();
        assert_eq!(due, now + Duration::from_secs(1));
        machine.handle_timeout(due);
        let (_, events) = run(&mut machine, &mut device, due);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        assert_eq!(
            device.activated,
            ["modem.apn", "db.apn", "", "modem.apn", "db.apn"]
        );
        assert_eq!(
            machine.status().apn_source,
            Some(ApnSource::ProviderDatabase)
        );
        // What worked is tried first after a loss.
        indicate(
            &mut machine,
            due,
            bc::cid::Connect::ID,
            connect_info(bc::ActivationState::Deactivated),
        );
        run(&mut machine, &mut device, due);
        let later = machine.poll_timeout().unwrap();
        machine.handle_timeout(later);
        run(&mut machine, &mut device, later);
        assert_eq!(device.activated.last().map(String::as_str), Some("db.apn"));
        assert_eq!(device.activated.len(), 6);
    }

    #[test]
    fn the_remembered_apn_comes_first_and_is_not_remembered_again() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(no_profile());
        let mut device = FakeDevice {
            provisioned: vec![provisioned("modem.apn")],
            found: ApnsFound {
                remembered: Some(database("db.apn", None)),
                ..ApnsFound::default()
            },
            ..FakeDevice::default()
        };
        let (_, events) = run(&mut machine, &mut device, now);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        assert_eq!(device.activated, ["db.apn"]);
        assert!(device.remembered.is_empty());
    }

    #[test]
    fn an_attach_apn_is_set_before_connecting_once() {
        let now = Instant::now();
        // From the provider database, and from a profile.
        let from_profile = ExecutorConfig {
            profiles: vec![Profile {
                attach_apn: Some("ia.apn".to_owned()),
                ..Profile::new("p", "internet")
            }],
            ..test_config()
        };
        for config in [no_profile(), from_profile] {
            let mut machine = ExecutorMachine::new(config);
            let mut device = FakeDevice {
                found: ApnsFound {
                    database: vec![database("db.apn", Some("ia.apn"))],
                    ..ApnsFound::default()
                },
                ..FakeDevice::default()
            };
            let (sent, events) = run(&mut machine, &mut device, now);
            let at = sent
                .iter()
                .position(|step| *step == ("lte-attach-configuration", false))
                .unwrap();
            assert_eq!(
                sent[at..],
                [
                    ("lte-attach-configuration", false),
                    ("lte-attach-configuration", true),
                    ("connect", true),
                    ("ip-configuration", false)
                ]
            );
            assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
            assert_eq!(device.attach_apn.as_deref(), Some("ia.apn"));
            // Reconnecting does not set it again.
            indicate(
                &mut machine,
                now,
                bc::cid::Connect::ID,
                connect_info(bc::ActivationState::Deactivated),
            );
            run(&mut machine, &mut device, now);
            let due = machine.poll_timeout().unwrap();
            machine.handle_timeout(due);
            let (sent, _) = run(&mut machine, &mut device, due);
            assert!(
                !sent
                    .iter()
                    .any(|(name, _)| *name == "lte-attach-configuration"),
                "{sent:?}"
            );
        }
    }
}
