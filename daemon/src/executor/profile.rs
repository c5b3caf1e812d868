//! Connection profiles (APN and credentials) and which one a SIM uses.

use super::session_profile::SessionProfile;
use serde::{Deserialize, Serialize};

/// A secret (PIN, PUK, password): never printed, not even by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that puts it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Length would leak a PIN's size; print nothing of it.
        f.write_str("Secret(***)")
    }
}

/// The authentication protocol of a profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// No authentication.
    #[default]
    None,
    /// PAP.
    Pap,
    /// CHAP.
    Chap,
    /// MS-CHAPv2.
    #[serde(rename = "mschapv2")]
    MsChapV2,
}

/// The IP type a profile asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IpType {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
    /// Dual stack in one context (what most networks give).
    #[default]
    Ipv4v6,
}

/// One connection profile, as `/etc/mbimd/mbimd.toml` declares it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    /// Its name (reported in the status).
    pub name: String,
    /// The access point name.
    pub apn: String,
    /// Authentication protocol.
    #[serde(default)]
    pub auth: Auth,
    /// User name, if the APN needs one.
    #[serde(default)]
    pub user: String,
    /// Password, if the APN needs one.
    #[serde(default)]
    pub password: Secret,
    /// IP type.
    #[serde(default)]
    pub ip_type: IpType,
    /// Metric of the routes through this connection (`None`: the netdev's default).
    #[serde(default)]
    pub route_metric: Option<u32>,
    /// The APN the modem attaches to LTE with (LTE_ATTACH_CONFIGURATION),
    /// for networks that want a particular one; `None` leaves the modem's.
    #[serde(default)]
    pub attach_apn: Option<String>,
    /// Used for the SIM with exactly this ICCID.
    #[serde(default)]
    pub match_iccid: Option<String>,
    /// Used for SIMs whose IMSI starts with this.
    #[serde(default)]
    pub match_imsi_prefix: Option<String>,
    /// Used for SIMs whose home provider has this MCC+MNC (`"00101"`).
    #[serde(default)]
    pub match_provider: Option<String>,
    /// `[[profiles.sessions]]`: further PDN sessions (IMS, MMS, a second
    /// internet APN) brought up beside this one, which is session 0.
    #[serde(default)]
    pub sessions: Vec<SessionProfile>,
}

impl Profile {
    /// A profile for `apn` with no criteria: the default.
    pub fn new(name: impl Into<String>, apn: impl Into<String>) -> Self {
        Profile {
            name: name.into(),
            apn: apn.into(),
            auth: Auth::None,
            user: String::new(),
            password: Secret::default(),
            ip_type: IpType::Ipv4v6,
            route_metric: None,
            attach_apn: None,
            match_iccid: None,
            match_imsi_prefix: None,
            match_provider: None,
            sessions: Vec::new(),
        }
    }

    /// How specifically this profile names the SIM, or `None` when one of its
    /// criteria does not hold. A profile with no criteria is the default (rank 0).
    fn rank(&self, iccid: &str, imsi: &str, home_provider: &str) -> Option<(u8, usize)> {
        let iccid_ok = self
            .match_iccid
            .as_deref()
            .map(|want| !iccid.is_empty() && want.eq_ignore_ascii_case(iccid));
        let imsi_ok = self
            .match_imsi_prefix
            .as_deref()
            .map(|prefix| !imsi.is_empty() && imsi.starts_with(prefix));
        let provider_ok = self
            .match_provider
            .as_deref()
            .map(|want| !home_provider.is_empty() && want == home_provider);
        if [iccid_ok, imsi_ok, provider_ok].contains(&Some(false)) {
            return None;
        }
        let rank = if iccid_ok.is_some() {
            3
        } else if imsi_ok.is_some() {
            2
        } else if provider_ok.is_some() {
            1
        } else {
            0
        };
        // Among IMSI prefixes the longer one is the more specific.
        let length = self.match_imsi_prefix.as_deref().map_or(0, str::len);
        Some((rank, length))
    }
}

/// The longest APN MBIM carries (MBIM_SET_CONNECT's AccessString; Windows'
/// MBN_ACCESSSTRING_LEN), in UTF-16 code units as on the wire.
pub const MAX_APN_LEN: usize = 100;

/// The longest user name or password MBIM carries (MBN_USERNAME_LEN,
/// MBN_PASSWORD_LEN), in UTF-16 code units.
pub const MAX_CREDENTIAL_LEN: usize = 255;

/// What a route metric must be (a profile's `route-metric`, the `[routes]`
/// metric, Connect's `route-metric` override).
pub const ROUTE_METRIC_EXPECTED: &str = "a route metric must be 1 to 4294967295 \
     (0 is refused: IPv4 and IPv6 would treat it differently)";

/// A profile field that breaks a rule: its key (as the configuration file
/// and Connect's overrides spell it) and what was expected. Never contains
/// the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// `apn`, `user`, `password`, `attach-apn` or `route-metric`.
    pub field: &'static str,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Profile {
    /// The fields that break the rules both the configuration file and
    /// D-Bus's Connect apply (one set of rules, here): APN at most
    /// [`MAX_APN_LEN`], user name and password at most
    /// [`MAX_CREDENTIAL_LEN`] UTF-16 code units, none with a control
    /// character, and a route metric other than 0. An empty APN is allowed
    /// (the network's default APN).
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let texts = [
            ("apn", "the APN", self.apn.as_str(), MAX_APN_LEN, true),
            (
                "user",
                "the user name",
                self.user.as_str(),
                MAX_CREDENTIAL_LEN,
                true,
            ),
            (
                "password",
                "the password",
                self.password.expose(),
                MAX_CREDENTIAL_LEN,
                false,
            ),
        ];
        let attach = self
            .attach_apn
            .as_deref()
            .map(|apn| ("attach-apn", "the attach APN", apn, MAX_APN_LEN, true));
        for (field, what, text, limit, show_where) in texts.into_iter().chain(attach) {
            if let Some(message) = text_problem(what, text, limit, show_where) {
                problems.push(FieldProblem { field, message });
            }
        }
        if self.route_metric == Some(0) {
            problems.push(FieldProblem {
                field: "route-metric",
                message: ROUTE_METRIC_EXPECTED.to_owned(),
            });
        }
        problems
    }
}

/// What is wrong with `text` as `what`, if anything. `show_where`: whether
/// the message may say which character is wrong (not for a password).
fn text_problem(what: &str, text: &str, limit: usize, show_where: bool) -> Option<String> {
    let length = text.encode_utf16().count();
    if length > limit {
        return Some(format!(
            "{what} is {length} characters long; MBIM carries at most {limit}"
        ));
    }
    let (position, control) = text.chars().enumerate().find(|(_, c)| c.is_control())?;
    Some(if show_where {
        format!(
            "{what} has a control character (U+{:04X}) at character {}; expected printable \
             characters only",
            u32::from(control),
            position + 1
        )
    } else {
        format!("{what} has a control character; expected printable characters only")
    })
}

/// The profile for a SIM: the one naming its ICCID, else the longest matching
/// IMSI prefix, else its home provider's MCC+MNC, else the first profile
/// without criteria. A profile with several criteria needs all of them to
/// hold. Ties go to the earlier profile. Empty identifiers match nothing.
pub fn select_profile<'a>(
    profiles: &'a [Profile],
    iccid: &str,
    imsi: &str,
    home_provider: &str,
) -> Option<&'a Profile> {
    let mut best: Option<((u8, usize), &Profile)> = None;
    for profile in profiles {
        let Some(rank) = profile.rank(iccid, imsi, home_provider) else {
            continue;
        };
        if best.is_none_or(|(best_rank, _)| rank > best_rank) {
            best = Some((rank, profile));
        }
    }
    best.map(|(_, profile)| profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(
        name: &str,
        iccid: Option<&str>,
        imsi: Option<&str>,
        provider: Option<&str>,
    ) -> Profile {
        Profile {
            match_iccid: iccid.map(str::to_owned),
            match_imsi_prefix: imsi.map(str::to_owned),
            match_provider: provider.map(str::to_owned),
            ..Profile::new(name, "apn")
        }
    }

    #[test]
    fn selection_prefers_the_most_specific_profile() {
        let profiles = [
            profile("default", None, None, None),
            profile("provider", None, None, Some("00101")),
            profile("imsi-short", None, Some("0010"), None),
            profile("imsi-long", None, Some("001010"), None),
            profile("iccid", Some("8988200000000000001"), None, None),
            profile("both", Some("8988200000000000009"), Some("001"), None),
            profile("default-2", None, None, None),
        ];
        // (iccid, imsi, home provider) -> profile name
        let table = [
            (
                "8988200000000000001",
                "001010000000001",
                "00101",
                Some("iccid"),
            ),
            (
                "8988200000000000002",
                "001010000000002",
                "00101",
                Some("imsi-long"),
            ),
            (
                "8988200000000000002",
                "001020000000002",
                "00102",
                Some("imsi-short"),
            ),
            (
                "8988200000000000002",
                "999990000000002",
                "00101",
                Some("provider"),
            ),
            (
                "8988200000000000002",
                "999990000000002",
                "99999",
                Some("default"),
            ),
            ("8988200000000000009", "001990000000000", "", Some("both")),
            (
                "8988200000000000009",
                "999990000000000",
                "",
                Some("default"),
            ),
            ("", "", "", Some("default")),
        ];
        for (iccid, imsi, provider, expected) in table {
            let chosen = select_profile(&profiles, iccid, imsi, provider).map(|p| p.name.as_str());
            assert_eq!(chosen, expected, "{iccid} {imsi} {provider}");
        }
    }

    #[test]
    fn no_default_means_no_profile_for_an_unknown_sim() {
        let profiles = [profile("provider", None, None, Some("00101"))];
        let table = [("00101", Some("provider")), ("00102", None), ("", None)];
        for (provider, expected) in table {
            let chosen = select_profile(&profiles, "", "", provider).map(|p| p.name.as_str());
            assert_eq!(chosen, expected, "{provider}");
        }
        assert_eq!(select_profile(&[], "1", "2", "3"), None);
    }

    #[test]
    fn field_rules_are_mbims_limits_and_printable_text() {
        let long = |n: usize| "a".repeat(n);
        // (apn, user, password, route metric) -> problems (field, message part)
        type Row<'a> = (
            String,
            &'a str,
            &'a str,
            Option<u32>,
            &'a [(&'a str, &'a str)],
        );
        let table: [Row<'_>; 9] = [
            ("internet".into(), "", "", None, &[]),
            // The network's default APN.
            (String::new(), "", "", Some(1), &[]),
            (long(100), "", "", None, &[]),
            (
                long(101),
                "",
                "",
                None,
                &[("apn", "101 characters long; MBIM carries at most 100")],
            ),
            (
                long(100_000),
                "",
                "",
                None,
                &[("apn", "100000 characters long")],
            ),
            // UTF-16 code units, as on the wire: 50 emoji are 100.
            (
                "😀".repeat(51),
                "",
                "",
                None,
                &[("apn", "102 characters long")],
            ),
            (
                "inter\nnet".into(),
                "me\u{7}",
                "pass\tword",
                None,
                &[
                    ("apn", "control character (U+000A) at character 6"),
                    ("user", "control character (U+0007) at character 3"),
                    ("password", "the password has a control character;"),
                ],
            ),
            (
                "internet".into(),
                "",
                "",
                Some(0),
                &[("route-metric", "route metric must be 1 to")],
            ),
            (
                "internet".into(),
                &"u".repeat(256),
                "",
                None,
                &[("user", "256 characters long; MBIM carries at most 255")],
            ),
        ];
        for (apn, user, password, route_metric, expected) in table {
            let profile = Profile {
                user: user.to_owned(),
                password: Secret::new(password),
                route_metric,
                ..Profile::new("p", apn.clone())
            };
            let problems = profile.problems();
            assert_eq!(problems.len(), expected.len(), "{apn:.20}: {problems:?}");
            for (problem, (field, part)) in problems.iter().zip(expected) {
                assert_eq!(problem.field, *field);
                assert!(problem.message.contains(part), "{}", problem.message);
                assert!(
                    password.is_empty() || !problem.message.contains(password),
                    "{}",
                    problem.message
                );
            }
        }
    }

    #[test]
    fn profiles_deserialize_from_kebab_case_and_refuse_unknown_keys() {
        let text = r#"
            name = "work"
            apn = "corp.example"
            auth = "mschapv2"
            user = "me"
            password = "hunter2"
            ip-type = "ipv4"
            route-metric = 700
            match-iccid = "8988200000000000001"
            match-imsi-prefix = "00101"
            match-provider = "00101"
        "#;
        let parsed: Profile = toml::from_str(text).unwrap();
        assert_eq!(parsed.auth, Auth::MsChapV2);
        assert_eq!(parsed.ip_type, IpType::Ipv4);
        assert_eq!(parsed.route_metric, Some(700));
        assert_eq!(parsed.password.expose(), "hunter2");
        assert!(!format!("{parsed:?}").contains("hunter2"));

        let minimal: Profile = toml::from_str("name = \"d\"\napn = \"internet\"").unwrap();
        assert_eq!(minimal, Profile::new("d", "internet"));

        assert!(toml::from_str::<Profile>("name = \"d\"\napn = \"x\"\nusername = \"u\"").is_err());
        assert!(toml::from_str::<Profile>("name = \"d\"\napn = \"x\"\nauth = \"eap\"").is_err());
    }
}
