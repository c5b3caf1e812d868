//! The objects of the ModemManager face and what it keeps beyond the
//! modems' snapshots: which number each object has, and the bearers.
//!
//! A modem object per executor (`/org/freedesktop/ModemManager1/Modem/N`),
//! a SIM object per slot with a card in it (`…/SIM/N`), and at most one
//! bearer per session (`…/Bearer/N`): the modem object's first bearer is the
//! executor's session 0, and each further bearer a client creates is a
//! further PDN session beside it (ids 1 and up, as many as the modem's
//! MaxSessions allows), connected as a `[[profiles.sessions]]` entry named
//! after the bearer (`bearerN`). The further sessions of mbimd's own
//! profile are bearers too, one per `[[profiles.sessions]]` entry the
//! executor reports, made when it first does: a client sees every session
//! the modem carries, and may take one down and up again (its `wanted`).
//! Numbers are handed out in order and never reused
//! while mbimd runs, as ModemManager does: a client that still holds the
//! path of a modem that went away cannot mistake a new one for it.
//!
//! A slot switch (`SetPrimarySimSlot`) re-probes the modem as ModemManager
//! does: its modem objects are withdrawn while the switch runs and come
//! back under new numbers. NetworkManager relies on that: it drops the
//! device of the old object and autoconnects the new one, whereas a modem
//! object it saw connected going back to INITIALIZING reads to it as a
//! user disabling the modem, and it blocks the connection's autoconnect.

use crate::config::Config;
use crate::executor::{Auth, IpType, Profile, Secret, SessionProfile};
use crate::modem::ModemSnapshot;
use std::collections::{BTreeMap, BTreeSet};

/// The manager object's path.
pub(crate) const MANAGER_PATH: &str = "/org/freedesktop/ModemManager1";

/// The path of modem object `number`.
pub(crate) fn modem_path(number: u32) -> String {
    format!("{MANAGER_PATH}/Modem/{number}")
}

/// The path of SIM object `number`.
pub(crate) fn sim_path(number: u32) -> String {
    format!("{MANAGER_PATH}/SIM/{number}")
}

/// The path of bearer object `number`.
pub(crate) fn bearer_path(number: u32) -> String {
    format!("{MANAGER_PATH}/Bearer/{number}")
}

/// The name of the `[[profiles.sessions]]` entry further bearer `number`
/// connects as: how its session is found in the executor's status.
pub(crate) fn extra_session_name(number: u32) -> String {
    format!("bearer{number}")
}

/// What a bearer connects with: the `Simple.Connect` or `CreateBearer`
/// properties that mbimd honours (ModemManager's `MMBearerProperties`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BearerSettings {
    /// The APN (empty: the one of the profile the configuration selects).
    pub(crate) apn: String,
    /// `MMBearerIpFamily` asked for (NONE: the profile's).
    pub(crate) ip_type: u32,
    /// `MMBearerAllowedAuth` mask (UNKNOWN: by whether a user is given).
    pub(crate) allowed_auth: u32,
    /// The user name.
    pub(crate) user: String,
    /// The password (never shown in properties or errors).
    pub(crate) password: Secret,
    /// Whether connecting while roaming is allowed, if said.
    pub(crate) allow_roaming: Option<bool>,
}

impl BearerSettings {
    /// The settings of a session mbimd brought up from a profile (one a
    /// client did not ask for through this face, such as `mbimctl
    /// connect`).
    pub(crate) fn of_profile(profile: &Profile) -> Self {
        Self::of_parts(&profile.apn, profile.ip_type, profile.auth, &profile.user)
    }

    /// The settings of a further session of mbimd's own profile.
    pub(crate) fn of_session(session: &SessionProfile) -> Self {
        Self::of_parts(&session.apn, session.ip_type, session.auth, &session.user)
    }

    fn of_parts(apn: &str, ip_type: IpType, auth: Auth, user: &str) -> Self {
        use super::enums::{allowed_auth, ip_family};
        BearerSettings {
            apn: apn.to_owned(),
            ip_type: match ip_type {
                IpType::Ipv4 => ip_family::IPV4,
                IpType::Ipv6 => ip_family::IPV6,
                IpType::Ipv4v6 => ip_family::IPV4V6,
            },
            allowed_auth: match auth {
                Auth::None => allowed_auth::NONE,
                Auth::Pap => allowed_auth::PAP,
                Auth::Chap => allowed_auth::CHAP,
                Auth::MsChapV2 => allowed_auth::MSCHAPV2,
            },
            user: user.to_owned(),
            password: Secret::default(),
            allow_roaming: None,
        }
    }
}

/// One bearer.
#[derive(Debug, Clone)]
pub(crate) struct Bearer {
    /// Its number (path).
    pub(crate) number: u32,
    /// What it connects with.
    pub(crate) settings: BearerSettings,
    /// Why its last connection attempt failed (error name, message).
    pub(crate) error: Option<(String, String)>,
    /// Connection attempts through this bearer.
    pub(crate) attempts: u32,
    /// A further bearer's session is wanted up (session 0's bearer follows
    /// the executor).
    pub(crate) wanted: bool,
    /// Of which failed.
    pub(crate) failed_attempts: u32,
    /// The further session of mbimd's own profile it shows (its
    /// `[[profiles.sessions]]` name); `None` for a bearer a client made.
    pub(crate) own_session: Option<String>,
}

impl Bearer {
    /// A bearer that has not connected yet.
    fn new(number: u32, settings: BearerSettings) -> Self {
        Bearer {
            number,
            settings,
            error: None,
            attempts: 0,
            failed_attempts: 0,
            wanted: false,
            own_session: None,
        }
    }

    /// The name of the session a further bearer stands for in the
    /// executor's status: its own profile's entry, or `bearerN`.
    pub(crate) fn session_name(&self) -> String {
        self.own_session
            .clone()
            .unwrap_or_else(|| extra_session_name(self.number))
    }
}

/// One modem object: an executor of a supervised modem.
#[derive(Debug, Clone)]
pub(crate) struct ModemEntry {
    /// Its number (path).
    pub(crate) number: u32,
    /// Its bearer, if one was created (or its executor connected).
    pub(crate) bearer: Option<Bearer>,
    /// The bearers of further sessions a client created, by number.
    pub(crate) extras: BTreeMap<u32, Bearer>,
    /// A Connect, Disconnect or slot switch is under way.
    pub(crate) busy: bool,
    /// What the client asked of `Modem.Signal` (`Setup`, `SetupThresholds`).
    pub(crate) signal: SignalSetup,
}

/// A modem object's `Modem.Signal` settings, as its clients set them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SignalSetup {
    /// `Rate`: seconds between refreshes a client asked for (0: none).
    pub(crate) rate: u32,
    /// `RssiThreshold`: dBm (0: none).
    pub(crate) rssi_threshold: u32,
    /// `ErrorRateThreshold`.
    pub(crate) error_rate_threshold: bool,
}

/// Which object a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// The manager.
    Manager,
    /// Executor `executor` of modem `modem` (registry index).
    Modem { modem: u32, executor: u32 },
    /// Slot `slot` of modem `modem`.
    Sim { modem: u32, slot: u32 },
    /// The bearer of executor `executor` of modem `modem`.
    Bearer { modem: u32, executor: u32 },
    /// Further bearer `number` (a further session) of that executor.
    ExtraBearer {
        modem: u32,
        executor: u32,
        number: u32,
    },
}

/// Every object, by the modem (registry index) it belongs to.
#[derive(Debug, Default)]
pub(crate) struct Table {
    next_modem: u32,
    next_sim: u32,
    next_bearer: u32,
    /// By (modem, executor).
    modems: BTreeMap<(u32, u32), ModemEntry>,
    /// SIM numbers by (modem, slot).
    sims: BTreeMap<(u32, u32), u32>,
    /// Modems whose modem and bearer objects are withdrawn (a slot switch
    /// re-probing them).
    withdrawn: BTreeSet<u32>,
}

impl Table {
    /// Brings modem `modem`'s objects in line with `snapshot`: a modem
    /// object per executor, a SIM object per slot with a card, and a bearer
    /// for an executor that is connected without one.
    pub(crate) fn sync(&mut self, modem: u32, snapshot: &ModemSnapshot, config: &Config) {
        let executors = u32::try_from(snapshot.executors.len()).unwrap_or(u32::MAX);
        self.modems
            .retain(|(owner, executor), _| *owner != modem || *executor < executors);
        for (executor, state) in (0..executors).zip(&snapshot.executors) {
            let entry = match self.modems.get_mut(&(modem, executor)) {
                Some(entry) => entry,
                None => {
                    let number = take(&mut self.next_modem);
                    self.modems.entry((modem, executor)).or_insert(ModemEntry {
                        number,
                        bearer: None,
                        extras: BTreeMap::new(),
                        busy: false,
                        signal: SignalSetup::default(),
                    })
                }
            };
            if entry.bearer.is_none() && state.netdev.is_some() {
                let profile = state
                    .status
                    .profile
                    .as_deref()
                    .and_then(|name| config.profiles.iter().find(|p| p.name == name));
                let settings = profile.map(BearerSettings::of_profile).unwrap_or_default();
                entry.bearer = Some(Bearer {
                    attempts: 1,
                    ..Bearer::new(take(&mut self.next_bearer), settings)
                });
            }
            let configured = state
                .status
                .profile
                .as_deref()
                .and_then(|name| config.profiles.iter().find(|p| p.name == name));
            own_session_bearers(entry, &state.status, configured, &mut self.next_bearer);
        }
        for slot in &snapshot.slots {
            let card = super::mapping::slot_has_card(slot.state, &slot.iccid);
            let key = (modem, slot.index);
            if !card {
                self.sims.remove(&key);
            } else if !self.sims.contains_key(&key) {
                let number = take(&mut self.next_sim);
                self.sims.insert(key, number);
            }
        }
        let slots = u32::try_from(snapshot.slots.len()).unwrap_or(u32::MAX);
        self.sims
            .retain(|(owner, slot), _| *owner != modem || *slot < slots);
    }

    /// Forgets the modems not in `present`.
    pub(crate) fn retain(&mut self, present: &[u32]) {
        self.modems.retain(|(owner, _), _| present.contains(owner));
        self.sims.retain(|(owner, _), _| present.contains(owner));
        self.withdrawn.retain(|owner| present.contains(owner));
    }

    /// Withdraws modem `modem`'s modem and bearer objects (its SIM objects
    /// stay): a re-probe begins.
    pub(crate) fn withdraw(&mut self, modem: u32) {
        self.withdrawn.insert(modem);
    }

    /// Ends modem `modem`'s re-probe. `renew`: its objects come back under
    /// new numbers, bearers gone (the modem changed under them); otherwise
    /// (nothing was done) the same objects come back.
    pub(crate) fn restore(&mut self, modem: u32, renew: bool) {
        self.withdrawn.remove(&modem);
        if renew {
            self.modems.retain(|(owner, _), _| *owner != modem);
        }
    }

    /// The modem objects of modem `modem` on the bus, by executor (none
    /// while it is withdrawn).
    pub(crate) fn modem_entries(&self, modem: u32) -> impl Iterator<Item = (u32, &ModemEntry)> {
        let shown = !self.withdrawn.contains(&modem);
        self.modems
            .range((modem, 0)..=(modem, u32::MAX))
            .filter(move |_| shown)
            .map(|((_, executor), entry)| (*executor, entry))
    }

    /// The modem object of executor `executor` of modem `modem`.
    pub(crate) fn modem(&self, modem: u32, executor: u32) -> Option<&ModemEntry> {
        self.modems.get(&(modem, executor))
    }

    /// The same, to change.
    pub(crate) fn modem_mut(&mut self, modem: u32, executor: u32) -> Option<&mut ModemEntry> {
        self.modems.get_mut(&(modem, executor))
    }

    /// The SIM objects of modem `modem`: (slot, number).
    pub(crate) fn sims_of(&self, modem: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.sims
            .range((modem, 0)..=(modem, u32::MAX))
            .map(|((_, slot), number)| (*slot, *number))
    }

    /// Gives executor `executor` of modem `modem` a new bearer with
    /// `settings` (replacing a disconnected one); its number.
    pub(crate) fn create_bearer(
        &mut self,
        modem: u32,
        executor: u32,
        settings: BearerSettings,
    ) -> Option<u32> {
        let number = take(&mut self.next_bearer);
        let entry = self.modems.get_mut(&(modem, executor))?;
        entry.bearer = Some(Bearer::new(number, settings));
        Some(number)
    }

    /// Gives executor `executor` of modem `modem` a further bearer with
    /// `settings`; its number.
    pub(crate) fn create_extra(
        &mut self,
        modem: u32,
        executor: u32,
        settings: BearerSettings,
    ) -> Option<u32> {
        let entry = self.modems.get_mut(&(modem, executor))?;
        let number = take(&mut self.next_bearer);
        entry.extras.insert(number, Bearer::new(number, settings));
        Some(number)
    }

    /// The object `path` names.
    pub(crate) fn find(&self, path: &str) -> Option<Target> {
        if path == MANAGER_PATH {
            return Some(Target::Manager);
        }
        let rest = path.strip_prefix(MANAGER_PATH)?.strip_prefix('/')?;
        let (kind, number) = rest.split_once('/')?;
        let number: u32 = number.parse().ok()?;
        match kind {
            "Modem" => self
                .modems
                .iter()
                .filter(|((modem, _), _)| !self.withdrawn.contains(modem))
                .find(|(_, entry)| entry.number == number)
                .map(|((modem, executor), _)| Target::Modem {
                    modem: *modem,
                    executor: *executor,
                }),
            "SIM" => self
                .sims
                .iter()
                .find(|(_, sim)| **sim == number)
                .map(|((modem, slot), _)| Target::Sim {
                    modem: *modem,
                    slot: *slot,
                }),
            "Bearer" => self
                .modems
                .iter()
                .filter(|((modem, _), _)| !self.withdrawn.contains(modem))
                .find(|(_, entry)| entry.bearer.as_ref().is_some_and(|b| b.number == number))
                .map(|((modem, executor), _)| Target::Bearer {
                    modem: *modem,
                    executor: *executor,
                })
                .or_else(|| {
                    self.modems
                        .iter()
                        .filter(|((modem, _), _)| !self.withdrawn.contains(modem))
                        .find(|(_, entry)| entry.extras.contains_key(&number))
                        .map(|((modem, executor), _)| Target::ExtraBearer {
                            modem: *modem,
                            executor: *executor,
                            number,
                        })
                }),
            _ => None,
        }
    }
}

/// Gives `entry` a bearer for each further session of mbimd's own profile
/// that `status` reports and none shows yet (wanted up, as the profile
/// says), and drops those whose session the profile in the configuration
/// (`configured`, when session 0 connected with one) no longer has (a
/// reload took it away).
fn own_session_bearers(
    entry: &mut ModemEntry,
    status: &crate::executor::ExecutorStatus,
    configured: Option<&Profile>,
    next_bearer: &mut u32,
) {
    let own = |name: &str| !is_extra_session_name(name);
    if let Some(profile) = configured {
        entry.extras.retain(|_, bearer| {
            bearer
                .own_session
                .as_ref()
                .is_none_or(|name| profile.sessions.iter().any(|session| session.name == *name))
        });
    }
    for session in status.sessions.iter().filter(|session| own(&session.name)) {
        let shown = entry
            .extras
            .values()
            .any(|bearer| bearer.own_session.as_deref() == Some(session.name.as_str()));
        if shown {
            continue;
        }
        let settings = configured
            .into_iter()
            .chain(status.profile_settings.as_ref())
            .flat_map(|profile| &profile.sessions)
            .find(|each| each.name == session.name)
            .map(BearerSettings::of_session)
            .unwrap_or_else(|| BearerSettings {
                apn: session.apn.clone(),
                ..BearerSettings::default()
            });
        let number = take(next_bearer);
        entry.extras.insert(
            number,
            Bearer {
                wanted: true,
                attempts: 1,
                own_session: Some(session.name.clone()),
                ..Bearer::new(number, settings)
            },
        );
    }
}

/// Whether a session's name is one the face gives a client's further
/// bearer (`bearerN`).
pub(crate) fn is_extra_session_name(name: &str) -> bool {
    name.strip_prefix("bearer")
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

/// The next number of a counter (a counter that ran out stays at its end:
/// four billion objects in one run would be the least of the problems).
fn take(counter: &mut u32) -> u32 {
    let number = *counter;
    *counter = counter.saturating_add(1);
    number
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::{ExecutorSnapshot, SlotSnapshot};
    use crate::policy::SlotKind;
    use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;

    fn dssa(active: UiccSlotState, inactive: UiccSlotState) -> ModemSnapshot {
        ModemSnapshot {
            executors: vec![ExecutorSnapshot::default()],
            slots: vec![
                SlotSnapshot {
                    index: 0,
                    kind: SlotKind::Physical,
                    state: Some(active),
                    iccid: "8988200000000000001".to_owned(),
                    executor: Some(0),
                },
                SlotSnapshot {
                    index: 1,
                    kind: SlotKind::Embedded,
                    state: Some(inactive),
                    iccid: String::new(),
                    executor: None,
                },
            ],
            ..ModemSnapshot::default()
        }
    }

    fn sim(table: &Table, modem: u32, slot: u32) -> Option<u32> {
        table
            .sims_of(modem)
            .find(|(each, _)| *each == slot)
            .map(|(_, number)| number)
    }

    #[test]
    fn objects_follow_executors_and_cards_with_numbers_never_reused() {
        let config = Config::default();
        let mut table = Table::default();
        table.sync(0, &dssa(UiccSlotState::Active, UiccSlotState::Off), &config);
        assert_eq!(table.modem(0, 0).map(|m| m.number), Some(0));
        assert_eq!(sim(&table, 0, 0), Some(0));
        assert_eq!(sim(&table, 0, 1), Some(1));
        assert_eq!(
            table.find("/org/freedesktop/ModemManager1/SIM/1"),
            Some(Target::Sim { modem: 0, slot: 1 })
        );
        assert_eq!(
            table.find("/org/freedesktop/ModemManager1"),
            Some(Target::Manager)
        );
        assert_eq!(table.find("/org/freedesktop/ModemManager1/Modem/7"), None);
        assert_eq!(table.find("/org/freedesktop/ModemManager1/Modem/x"), None);

        // The card leaves slot 1 and comes back: a new SIM object.
        table.sync(
            0,
            &dssa(UiccSlotState::Active, UiccSlotState::Empty),
            &config,
        );
        assert_eq!(sim(&table, 0, 1), None);
        table.sync(0, &dssa(UiccSlotState::Active, UiccSlotState::Off), &config);
        assert_eq!(sim(&table, 0, 1), Some(2));

        // A second modem, then the first goes away and comes back.
        table.sync(
            1,
            &dssa(UiccSlotState::Active, UiccSlotState::Empty),
            &config,
        );
        assert_eq!(table.modem(1, 0).map(|m| m.number), Some(1));
        table.retain(&[1]);
        assert!(table.modem(0, 0).is_none());
        assert_eq!(sim(&table, 0, 0), None);
        assert_eq!(table.modem(1, 0).map(|m| m.number), Some(1));
        table.sync(
            0,
            &dssa(UiccSlotState::Active, UiccSlotState::Empty),
            &config,
        );
        assert_eq!(table.modem(0, 0).map(|m| m.number), Some(2));
    }

    #[test]
    fn a_reprobe_withdraws_the_modem_objects_and_brings_them_back_renumbered() {
        let mut config = Config::default();
        config.profiles.push(Profile::new("work", "corp.example"));
        let mut table = Table::default();
        let mut snapshot = dssa(UiccSlotState::Active, UiccSlotState::Off);
        snapshot.executors[0].netdev = Some("mbim0e0".to_owned());
        table.sync(0, &snapshot, &config);
        table.sync(1, &snapshot, &config);
        let modem = "/org/freedesktop/ModemManager1/Modem/0";
        let bearer = "/org/freedesktop/ModemManager1/Bearer/0";
        assert!(table.find(bearer).is_some());

        table.withdraw(0);
        table.sync(0, &snapshot, &config);
        assert_eq!(table.modem_entries(0).count(), 0);
        assert_eq!(table.find(modem), None);
        assert_eq!(table.find(bearer), None);
        // The other modem and the SIM objects stay.
        assert_eq!(table.modem_entries(1).count(), 1);
        assert_eq!(sim(&table, 0, 0), Some(0));

        // Nothing done: the same objects come back.
        table.restore(0, false);
        assert_eq!(
            table.find(modem),
            Some(Target::Modem {
                modem: 0,
                executor: 0
            })
        );

        // Switched: new numbers, and a bearer only for a session still up.
        table.withdraw(0);
        table.restore(0, true);
        snapshot.executors[0].netdev = None;
        table.sync(0, &snapshot, &config);
        assert_eq!(table.find(modem), None);
        assert_eq!(table.modem(0, 0).map(|m| m.number), Some(2));
        assert!(table.modem(0, 0).is_some_and(|m| m.bearer.is_none()));
        assert_eq!(sim(&table, 0, 0), Some(0));
    }

    #[test]
    fn further_bearers_are_found_by_number_and_named_for_their_session() {
        let config = Config::default();
        let mut table = Table::default();
        let snapshot = dssa(UiccSlotState::Active, UiccSlotState::Off);
        table.sync(0, &snapshot, &config);
        let first = table.create_bearer(0, 0, BearerSettings::default());
        let extra = table.create_extra(0, 0, BearerSettings::default());
        assert_eq!((first, extra), (Some(0), Some(1)));
        assert_eq!(
            table.find("/org/freedesktop/ModemManager1/Bearer/1"),
            Some(Target::ExtraBearer {
                modem: 0,
                executor: 0,
                number: 1
            })
        );
        assert_eq!(extra_session_name(1), "bearer1");
        // Withdrawn with the modem.
        table.withdraw(0);
        assert_eq!(table.find("/org/freedesktop/ModemManager1/Bearer/1"), None);
    }

    #[test]
    fn a_session_brought_up_elsewhere_gets_a_bearer_of_its_profile() {
        let mut config = Config::default();
        config.profiles.push(Profile::new("work", "corp.example"));
        let mut table = Table::default();
        let mut snapshot = dssa(UiccSlotState::Active, UiccSlotState::Off);
        table.sync(0, &snapshot, &config);
        assert!(table.modem(0, 0).unwrap().bearer.is_none());
        snapshot.executors[0].netdev = Some("mbim0e0".to_owned());
        snapshot.executors[0].status.profile = Some("work".to_owned());
        table.sync(0, &snapshot, &config);
        let bearer = table.modem(0, 0).unwrap().bearer.clone().unwrap();
        assert_eq!(bearer.number, 0);
        assert_eq!(bearer.settings.apn, "corp.example");
        assert_eq!(
            table.find("/org/freedesktop/ModemManager1/Bearer/0"),
            Some(Target::Bearer {
                modem: 0,
                executor: 0
            })
        );
        // A bearer asked for replaces it.
        let number = table.create_bearer(0, 0, BearerSettings::default());
        assert_eq!(number, Some(1));
        assert_eq!(table.find("/org/freedesktop/ModemManager1/Bearer/0"), None);
    }

    #[test]
    fn only_bearer_numbers_name_the_faces_sessions() {
        assert!(is_extra_session_name("bearer1"));
        assert!(is_extra_session_name("bearer42"));
        for other in ["bearer", "ims", "bearerx", "bearer1a", "Bearer1"] {
            assert!(!is_extra_session_name(other), "{other}");
        }
    }
}
