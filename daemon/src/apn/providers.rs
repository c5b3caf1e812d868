//! The distribution's mobile-broadband-provider-info database
//! (`serviceproviders.xml`, format 2.0): the internet APNs of the providers
//! a SIM belongs to. Read at run time from the installed package (the
//! packages depend on it), never copied into mbimd.
//!
//! A provider lists the MCC/MNC pairs of its networks (`<network-id>`); a
//! SIM belongs to it when its home provider's MCC+MNC is one of them, or
//! its IMSI starts with one (a three-digit MNC is the closer match). The
//! database has no IMSI ranges or SPN elements of its own, so among the
//! providers of one MCC/MNC (an operator and its MVNOs) the one whose name
//! is the SIM's service provider name comes first, then the one marked
//! primary, then the file's order. An APN is an internet APN when its
//! `<usage>` says internet (or says nothing); a provider's `ia` APN is the
//! LTE initial attach APN its internet APNs are tried with.

use super::{ApnCandidate, ApnSource};
use crate::executor::{Auth, IpType, Secret};
use std::path::{Path, PathBuf};

/// A database larger than this is refused rather than parsed (the real one
/// is under half a megabyte).
pub const MAX_DATABASE_SIZE: u64 = 16 << 20;

/// Why the database gave nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProviderDatabaseError {
    /// The file could not be read (not installed, no permission…).
    #[error("reading the provider database {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_DATABASE_SIZE`].
    #[error("the provider database {} is {size} bytes, more than {MAX_DATABASE_SIZE}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The file is not well-formed XML.
    #[error("the provider database {} is not well-formed XML", path.display())]
    Xml {
        /// The file.
        path: PathBuf,
        /// What the parser found.
        source: roxmltree::Error,
    },
    /// The document is not a `serviceproviders` database.
    #[error("{} is not a serviceproviders database (its root is <{root}>)", path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// The root element found.
        root: String,
    },
}

/// What identifies a SIM's provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimIdentity<'a> {
    /// HOME_PROVIDER's MCC+MNC (empty if unknown).
    pub home_provider_id: &'a str,
    /// The IMSI (empty if unknown).
    pub imsi: &'a str,
    /// The service provider name (HOME_PROVIDER's name; empty if unknown).
    pub spn: &'a str,
}

/// Reads the database at `path` and returns the internet APNs for `sim`,
/// best first.
pub fn lookup_file(
    path: &Path,
    sim: &SimIdentity<'_>,
) -> Result<Vec<ApnCandidate>, ProviderDatabaseError> {
    let read = |source| ProviderDatabaseError::Read {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_DATABASE_SIZE {
        return Err(ProviderDatabaseError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    lookup(&text, sim).map_err(|error| match error {
        LookupError::Xml(source) => ProviderDatabaseError::Xml {
            path: path.to_owned(),
            source,
        },
        LookupError::NotADatabase(root) => ProviderDatabaseError::NotADatabase {
            path: path.to_owned(),
            root,
        },
    })
}

/// Why a text is not a database.
#[derive(Debug)]
pub enum LookupError {
    /// Not well-formed XML.
    Xml(roxmltree::Error),
    /// Another root element.
    NotADatabase(String),
}

/// One provider of the database that the SIM may belong to.
struct Match<'a, 'input> {
    provider: roxmltree::Node<'a, 'input>,
    /// Its name is the SIM's SPN.
    spn: bool,
    /// Length of the MCC+MNC that matched (6 beats 5).
    closeness: usize,
    primary: bool,
    order: usize,
}

/// The internet APNs for `sim` in the database `text`, best first.
pub fn lookup(text: &str, sim: &SimIdentity<'_>) -> Result<Vec<ApnCandidate>, LookupError> {
    let options = roxmltree::ParsingOptions {
        // The file names its DTD; nothing in it needs expanding.
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let document =
        roxmltree::Document::parse_with_options(text, options).map_err(LookupError::Xml)?;
    let root = document.root_element();
    if root.tag_name().name() != "serviceproviders" {
        return Err(LookupError::NotADatabase(root.tag_name().name().to_owned()));
    }
    let mut matches: Vec<Match<'_, '_>> = Vec::new();
    let providers = root
        .children()
        .filter(|node| node.has_tag_name("country"))
        .flat_map(|country| {
            country
                .children()
                .filter(|node| node.has_tag_name("provider"))
        });
    for (order, provider) in providers.enumerate() {
        let Some(closeness) = closeness(provider, sim) else {
            continue;
        };
        let spn = !sim.spn.trim().is_empty()
            && children(provider, "name")
                .any(|name| name_text(name).eq_ignore_ascii_case(sim.spn.trim()));
        matches.push(Match {
            provider,
            spn,
            closeness,
            primary: provider.attribute("primary") == Some("true"),
            order,
        });
    }
    matches.sort_by_key(|found| {
        (
            std::cmp::Reverse(found.spn),
            std::cmp::Reverse(found.closeness),
            std::cmp::Reverse(found.primary),
            found.order,
        )
    });
    Ok(matches
        .iter()
        .flat_map(|found| internet_apns(found.provider))
        .collect())
}

/// How closely one of the provider's network ids matches the SIM: the
/// length of the MCC+MNC matched, or `None` when none does.
fn closeness(provider: roxmltree::Node<'_, '_>, sim: &SimIdentity<'_>) -> Option<usize> {
    children(provider, "gsm")
        .flat_map(|gsm| children(gsm, "network-id"))
        .filter_map(|id| {
            let mcc = id.attribute("mcc")?.trim();
            let mnc = id.attribute("mnc")?.trim();
            let plmn = format!("{mcc}{mnc}");
            let valid = (3..=3).contains(&mcc.len())
                && (2..=3).contains(&mnc.len())
                && plmn.bytes().all(|byte| byte.is_ascii_digit());
            if !valid {
                return None;
            }
            let home = !sim.home_provider_id.is_empty() && sim.home_provider_id == plmn;
            let imsi = sim.imsi.len() > plmn.len() && sim.imsi.starts_with(&plmn);
            (home || imsi).then_some(plmn.len())
        })
        .max()
}

fn children<'a, 'input: 'a>(
    node: roxmltree::Node<'a, 'input>,
    tag: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'input>> {
    node.children().filter(move |child| child.has_tag_name(tag))
}

fn name_text<'a>(node: roxmltree::Node<'a, '_>) -> &'a str {
    node.text().unwrap_or_default().trim()
}

/// The provider's internet APNs in the file's order, each with the
/// provider's initial attach APN.
fn internet_apns(provider: roxmltree::Node<'_, '_>) -> Vec<ApnCandidate> {
    let apns: Vec<_> = children(provider, "gsm")
        .flat_map(|gsm| children(gsm, "apn"))
        .collect();
    fn usage<'a>(apn: roxmltree::Node<'a, '_>) -> &'a str {
        children(apn, "usage")
            .find_map(|usage| usage.attribute("type"))
            .unwrap_or("internet")
    }
    let attach = apns
        .iter()
        .find(|apn| usage(**apn) == "ia")
        .and_then(|apn| apn.attribute("value"))
        .map(|value| value.trim().to_owned());
    apns.iter()
        .filter(|apn| usage(**apn).split('-').any(|part| part == "internet"))
        .filter_map(|apn| {
            let value = apn.attribute("value")?.trim().to_owned();
            let text_of = |tag| {
                children(*apn, tag)
                    .next()
                    .map(|node| name_text(node).to_owned())
                    .unwrap_or_default()
            };
            let user = text_of("username");
            let password = text_of("password");
            let method = children(*apn, "authentication").find_map(|node| node.attribute("method"));
            let auth = match method {
                Some("pap") => Auth::Pap,
                Some("chap") => Auth::Chap,
                // Credentials without a method: CHAP, as ModemManager
                // assumes for MBIM, since PAP sends the password in clear.
                _ if !user.is_empty() || !password.is_empty() => Auth::Chap,
                _ => Auth::None,
            };
            let candidate = ApnCandidate {
                source: ApnSource::ProviderDatabase,
                apn: value,
                ip_type: IpType::Ipv4v6,
                auth,
                user,
                password: Secret::new(password),
                attach_apn: attach.clone(),
            };
            // What MBIM cannot carry (too long, control characters) is skipped.
            candidate
                .profile()
                .problems()
                .is_empty()
                .then_some(candidate)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database's format with made-up providers on the test network
    /// 001/01 the simulated modem uses, and a second network.
    const DATABASE: &str = include_str!("../../tests/data/serviceproviders.xml");

    fn apns(sim: SimIdentity<'_>) -> Vec<String> {
        lookup(DATABASE, &sim)
            .unwrap()
            .into_iter()
            .map(|candidate| candidate.apn)
            .collect()
    }

    #[test]
    fn providers_are_found_by_mcc_mnc_and_ordered_by_spn_closeness_and_primary() {
        let simulated = [
            "internet.sim.example",
            "fast.sim.example",
            "old.sim.example",
        ];
        // (home provider, IMSI, SPN) -> APNs in order
        let table: [(SimIdentity<'_>, Vec<&str>); 7] = [
            // The primary provider of 001/01 first, then the MVNO.
            (
                SimIdentity {
                    home_provider_id: "00101",
                    ..SimIdentity::default()
                },
                [&simulated[..], &["virtual.example"]].concat(),
            ),
            // The MVNO's SIM says its name.
            (
                SimIdentity {
                    home_provider_id: "00101",
                    imsi: "001010000000001",
                    spn: "virtual mobile",
                },
                [&["virtual.example"][..], &simulated[..]].concat(),
            ),
            // Any of a provider's names.
            (
                SimIdentity {
                    home_provider_id: "00101",
                    spn: "Simulado",
                    ..SimIdentity::default()
                },
                [&simulated[..], &["virtual.example"]].concat(),
            ),
            // From the IMSI alone; a three-digit MNC is the closer match.
            (
                SimIdentity {
                    imsi: "001010123456789",
                    ..SimIdentity::default()
                },
                [&simulated[..], &["virtual.example"]].concat(),
            ),
            (
                SimIdentity {
                    imsi: "001020000000001",
                    ..SimIdentity::default()
                },
                vec!["other.example"],
            ),
            (
                SimIdentity {
                    home_provider_id: "99999",
                    imsi: "999990000000001",
                    spn: "Simulated",
                },
                vec![],
            ),
            (SimIdentity::default(), vec![]),
        ];
        for (sim, expected) in table {
            assert_eq!(apns(sim), expected, "{sim:?}");
        }
    }

    #[test]
    fn each_apn_has_its_authentication_and_the_providers_attach_apn() {
        let sim = SimIdentity {
            home_provider_id: "00101",
            ..SimIdentity::default()
        };
        let found = lookup(DATABASE, &sim).unwrap();
        let internet = &found[0];
        assert_eq!(internet.source, ApnSource::ProviderDatabase);
        assert_eq!(internet.auth, Auth::Pap);
        assert_eq!(internet.ip_type, IpType::Ipv4v6);
        assert_eq!(internet.attach_apn.as_deref(), Some("ia.sim.example"));
        let virtual_ = found.last().unwrap();
        assert_eq!(virtual_.apn, "virtual.example");
        assert_eq!(virtual_.auth, Auth::Chap, "credentials without a method");
        assert_eq!(virtual_.user, "v");
        assert_eq!(virtual_.password.expose(), "pw");
        assert_eq!(virtual_.attach_apn, None);
    }

    #[test]
    fn bad_databases_are_errors_not_panics() {
        let sim = SimIdentity {
            home_provider_id: "00101",
            ..SimIdentity::default()
        };
        assert!(matches!(
            lookup("<serviceproviders", &sim),
            Err(LookupError::Xml(_))
        ));
        assert!(matches!(
            lookup("<providers/>", &sim),
            Err(LookupError::NotADatabase(root)) if root == "providers"
        ));
        // Odd contents are skipped, not trusted.
        let odd = r#"<serviceproviders format="2.0"><country code="zz"><provider>
            <name>X</name><gsm><network-id mcc="1" mnc="01"/><network-id mcc="001" mnc="01"/>
            <apn value="a&#10;b"/><apn value="fine"/><apn/></gsm></provider></country>
            </serviceproviders>"#;
        let found: Vec<_> = lookup(odd, &sim)
            .unwrap()
            .into_iter()
            .map(|c| c.apn)
            .collect();
        assert_eq!(found, ["fine"]);
        let missing = lookup_file(Path::new("/nonexistent/serviceproviders.xml"), &sim);
        assert!(matches!(missing, Err(ProviderDatabaseError::Read { .. })));
    }
}
