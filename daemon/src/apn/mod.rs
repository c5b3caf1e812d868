//! The APN of a SIM no profile names: what mbimd connects with out of the
//! box, as NetworkManager and Windows do.
//!
//! The sources, tried in this order (each entry with its own IP type and
//! authentication): the APN that worked last time for this SIM (remembered
//! per ICCID, [`store`]), the modem's own provisioned contexts
//! (PROVISIONED_CONTEXTS, [`provisioned`]), the distribution's
//! mobile-broadband-provider-info database ([`providers`]), and last the
//! empty APN, with which the network picks its default. [`candidates`] puts
//! them in that order, a pure function; the executor tries each in turn
//! until the network accepts one.

pub mod providers;
pub mod provisioned;
pub mod store;

use crate::executor::{Auth, IpType, Profile, Secret};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Where mobile-broadband-provider-info installs its database.
pub const DEFAULT_PROVIDER_DATABASE: &str =
    "/usr/share/mobile-broadband-provider-info/serviceproviders.xml";

/// The file the APN that worked is remembered in, per ICCID: beside the
/// slot policy's store.
pub const STORE_FILE_NAME: &str = "apns.toml";

/// Where an APN came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApnSource {
    /// A `[[profiles]]` entry of the configuration (or Connect's overrides).
    Profile,
    /// The modem's provisioned contexts.
    Provisioned,
    /// mobile-broadband-provider-info's database.
    ProviderDatabase,
    /// The empty APN: the network's default.
    NetworkDefault,
}

impl ApnSource {
    /// As D-Bus and the state file spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApnSource::Profile => "profile",
            ApnSource::Provisioned => "provisioned",
            ApnSource::ProviderDatabase => "provider-database",
            ApnSource::NetworkDefault => "network-default",
        }
    }

    /// As the log says it.
    pub fn describe(self) -> &'static str {
        match self {
            ApnSource::Profile => "the configured profile",
            ApnSource::Provisioned => "the modem's provisioned contexts",
            ApnSource::ProviderDatabase => "the provider database",
            ApnSource::NetworkDefault => "the network's default (empty APN)",
        }
    }
}

impl fmt::Display for ApnSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One way to connect found without a profile: an APN with its IP type and
/// authentication, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApnCandidate {
    /// Where it came from.
    pub source: ApnSource,
    /// The APN (empty: the network's default).
    pub apn: String,
    /// IP type.
    #[serde(default)]
    pub ip_type: IpType,
    /// Authentication protocol.
    #[serde(default)]
    pub auth: Auth,
    /// User name.
    #[serde(default)]
    pub user: String,
    /// Password.
    #[serde(default)]
    pub password: Secret,
    /// The APN the modem attaches to LTE with, when the entry names one
    /// (the provider database's `ia` APN): set with LTE_ATTACH_CONFIGURATION
    /// before connecting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_apn: Option<String>,
}

impl ApnCandidate {
    /// The empty APN with the IP type most networks give.
    pub fn network_default() -> Self {
        ApnCandidate {
            source: ApnSource::NetworkDefault,
            apn: String::new(),
            ip_type: IpType::Ipv4v6,
            auth: Auth::None,
            user: String::new(),
            password: Secret::default(),
            attach_apn: None,
        }
    }

    /// The profile the executor connects with: named after the source.
    pub fn profile(&self) -> Profile {
        Profile {
            auth: self.auth,
            user: self.user.clone(),
            password: self.password.clone(),
            ip_type: self.ip_type,
            attach_apn: self.attach_apn.clone(),
            ..Profile::new(self.source.as_str(), self.apn.clone())
        }
    }

    /// Whether `other` connects the same way (the source aside).
    fn same_settings(&self, other: &ApnCandidate) -> bool {
        self.apn.eq_ignore_ascii_case(&other.apn)
            && self.ip_type == other.ip_type
            && self.auth == other.auth
            && self.user == other.user
            && self.password == other.password
    }

    /// For logs: the APN in quotes and where it came from, nothing secret.
    pub fn summary(&self) -> String {
        format!(
            "APN {:?} ({}, {:?}, auth {:?}) from {}",
            self.apn,
            self.source,
            self.ip_type,
            self.auth,
            self.source.describe()
        )
    }
}

/// Which sources are tried when no profile matches (`[apn-sources]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnSources {
    /// Ask the modem for its provisioned contexts.
    pub provisioned_contexts: bool,
    /// The provider database to read (`None`: not used).
    pub provider_database: Option<PathBuf>,
    /// Try the empty APN last.
    pub network_default: bool,
    /// Where the APN that worked is remembered (`None`: not remembered).
    pub store: Option<PathBuf>,
}

impl Default for ApnSources {
    fn default() -> Self {
        ApnSources {
            provisioned_contexts: true,
            provider_database: Some(PathBuf::from(DEFAULT_PROVIDER_DATABASE)),
            network_default: true,
            store: None,
        }
    }
}

/// What the executor asks the driver to look up for a SIM no profile
/// names: the remembered APN and the provider database's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApnLookup {
    /// The SIM's ICCID (the store's key).
    pub iccid: String,
    /// Its IMSI.
    pub imsi: String,
    /// HOME_PROVIDER's MCC+MNC.
    pub home_provider_id: String,
    /// HOME_PROVIDER's name: the service provider name.
    pub spn: String,
    /// The provider database to read, if any.
    pub provider_database: Option<PathBuf>,
    /// The store of remembered APNs, if any.
    pub store: Option<PathBuf>,
}

/// What was found for an [`ApnLookup`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApnsFound {
    /// The ICCID looked up for (an answer for another SIM is dropped).
    pub iccid: String,
    /// What worked last time.
    pub remembered: Option<ApnCandidate>,
    /// The provider database's internet APNs, best first.
    pub database: Vec<ApnCandidate>,
}

/// Carries out `lookup` (reads files: call it off the event loop). What
/// cannot be read is logged and counts as nothing found; a database that
/// is not installed is said once at info level.
pub fn look_up(lookup: &ApnLookup, executor: usize) -> ApnsFound {
    let remembered = lookup.store.as_ref().and_then(|path| {
        store::ApnStore::new(path)
            .get(&lookup.iccid)
            .unwrap_or_else(|error| {
                tracing::warn!(executor, "{}", crate::logging::chain(&error));
                None
            })
    });
    let sim = providers::SimIdentity {
        home_provider_id: &lookup.home_provider_id,
        imsi: &lookup.imsi,
        spn: &lookup.spn,
    };
    let database = match lookup.provider_database.as_deref() {
        None => Vec::new(),
        Some(path) => match providers::lookup_file(path, &sim) {
            Ok(found) => found,
            Err(providers::ProviderDatabaseError::Read { path, source })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                tracing::info!(
                    executor,
                    "no provider database at {} (package mobile-broadband-provider-info)",
                    path.display()
                );
                Vec::new()
            }
            Err(error) => {
                tracing::warn!(executor, "{}", crate::logging::chain(&error));
                Vec::new()
            }
        },
    };
    ApnsFound {
        iccid: lookup.iccid.clone(),
        remembered,
        database,
    }
}

/// Remembers that `candidate` connected the SIM with `iccid` (writes the
/// file: call it off the event loop); a failure is logged.
pub fn remember(store: &std::path::Path, iccid: &str, candidate: &ApnCandidate, executor: usize) {
    if let Err(error) = store::ApnStore::new(store).remember(iccid, candidate) {
        tracing::warn!(
            executor,
            "the APN that connected is not remembered: {}",
            crate::logging::chain(&error)
        );
    }
}

/// What is known of a SIM's APNs, for [`candidates`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Found<'a> {
    /// What worked last time for this SIM.
    pub remembered: Option<&'a ApnCandidate>,
    /// The modem's usable provisioned contexts, in its order.
    pub provisioned: &'a [ApnCandidate],
    /// The provider database's internet APNs for the SIM, best first.
    pub database: &'a [ApnCandidate],
    /// Whether the empty APN is tried last.
    pub network_default: bool,
}

/// The APNs to try for a SIM no profile names, in order: what worked last
/// time, the provisioned contexts, the provider database, the empty APN.
/// An entry that connects the same way as an earlier one (same APN, IP
/// type and credentials) is left out: the network's answer would be the
/// same.
pub fn candidates(found: Found<'_>) -> Vec<ApnCandidate> {
    let default = ApnCandidate::network_default();
    let all = found
        .remembered
        .into_iter()
        .chain(found.provisioned)
        .chain(found.database)
        .chain(found.network_default.then_some(&default));
    let mut chosen: Vec<ApnCandidate> = Vec::new();
    for candidate in all {
        if !chosen.iter().any(|seen| seen.same_settings(candidate)) {
            chosen.push(candidate.clone());
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(source: ApnSource, apn: &str, auth: Auth) -> ApnCandidate {
        ApnCandidate {
            source,
            apn: apn.to_owned(),
            auth,
            ..ApnCandidate::network_default()
        }
    }

    #[test]
    fn sources_come_in_order_and_repeats_are_left_out() {
        use ApnSource::{NetworkDefault, ProviderDatabase, Provisioned};
        let modem = [
            candidate(Provisioned, "internet.op", Auth::None),
            candidate(Provisioned, "ims", Auth::None),
        ];
        let database = [
            candidate(ProviderDatabase, "INTERNET.OP", Auth::None),
            candidate(ProviderDatabase, "web.op", Auth::Pap),
        ];
        let remembered = candidate(ProviderDatabase, "web.op", Auth::Pap);
        let list = |found: Found<'_>| -> Vec<(ApnSource, String)> {
            candidates(found)
                .into_iter()
                .map(|candidate| (candidate.source, candidate.apn))
                .collect()
        };
        let names = |items: &[(ApnSource, &str)]| -> Vec<(ApnSource, String)> {
            items
                .iter()
                .map(|(source, apn)| (*source, (*apn).to_owned()))
                .collect()
        };
        // (found, expected order)
        let table = [
            (Found::default(), names(&[])),
            (
                Found {
                    network_default: true,
                    ..Found::default()
                },
                names(&[(NetworkDefault, "")]),
            ),
            (
                Found {
                    provisioned: &modem,
                    database: &database,
                    network_default: true,
                    ..Found::default()
                },
                names(&[
                    (Provisioned, "internet.op"),
                    (Provisioned, "ims"),
                    (ProviderDatabase, "web.op"),
                    (NetworkDefault, ""),
                ]),
            ),
            (
                Found {
                    remembered: Some(&remembered),
                    provisioned: &modem,
                    database: &database,
                    network_default: false,
                },
                names(&[
                    (ProviderDatabase, "web.op"),
                    (Provisioned, "internet.op"),
                    (Provisioned, "ims"),
                ]),
            ),
        ];
        for (found, expected) in table {
            assert_eq!(list(found), expected, "{found:?}");
        }
    }

    #[test]
    fn other_credentials_or_ip_type_make_another_candidate() {
        let a = candidate(ApnSource::Provisioned, "x", Auth::None);
        let b = ApnCandidate {
            ip_type: IpType::Ipv4,
            ..a.clone()
        };
        let c = ApnCandidate {
            user: "u".to_owned(),
            ..a.clone()
        };
        let d = ApnCandidate {
            source: ApnSource::ProviderDatabase,
            ..a.clone()
        };
        let found = [a, b, c, d];
        let list = candidates(Found {
            provisioned: &found,
            ..Found::default()
        });
        assert_eq!(list.len(), 3, "{list:?}");
    }

    #[test]
    fn the_profile_is_named_after_the_source() {
        let profile = ApnCandidate {
            attach_apn: Some("ia.op".to_owned()),
            ..candidate(ApnSource::ProviderDatabase, "web.op", Auth::Chap)
        }
        .profile();
        assert_eq!(profile.name, "provider-database");
        assert_eq!(profile.apn, "web.op");
        assert_eq!(profile.auth, Auth::Chap);
        assert_eq!(profile.attach_apn.as_deref(), Some("ia.op"));
    }
}
