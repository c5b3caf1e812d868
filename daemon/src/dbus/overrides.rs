//! `Connect(a{sv} overrides)`: a profile made of the executor's own profile
//! with some of its fields replaced.

use super::errors::{echoed, MethodError};
use crate::executor::{select_profile, Auth, ExecutorStatus, IpType, Profile, Secret};
use std::collections::HashMap;
use zbus::zvariant::{OwnedValue, Value};

/// The keys `Connect` takes, with their D-Bus types.
const KEYS: &str = "apn (s), auth (s), user (s), password (s), ip-type (s), route-metric (u)";

/// The profile the executor uses without overrides: the one it connected
/// (or last tried) with, else the one the configuration selects for its SIM,
/// else (no profile names the SIM) the settings it last tried: an APN
/// source's or earlier overrides'.
pub(crate) fn base_profile(profiles: &[Profile], status: &ExecutorStatus) -> Option<Profile> {
    status
        .profile
        .as_deref()
        .and_then(|name| profiles.iter().find(|profile| profile.name == name))
        .or_else(|| select_profile(profiles, &status.iccid, &status.imsi, &status.home_provider))
        .or(status.profile_settings.as_ref())
        .cloned()
}

fn string(key: &str, value: &OwnedValue) -> Result<String, MethodError> {
    match &**value {
        Value::Str(text) => Ok(text.to_string()),
        other => Err(MethodError::InvalidArgs(format!(
            "Connect: \"{key}\" must be a string (s), not {}",
            other.value_signature()
        ))),
    }
}

/// Applies `overrides` to `base` (or to an empty profile when there is no
/// base, which then needs an `apn`). Every key is checked before anything
/// is used, and the result by the rules the configuration file's profiles
/// follow ([`Profile::problems`]); the password is never put into an error.
pub(crate) fn apply(
    base: Option<&Profile>,
    overrides: &HashMap<String, OwnedValue>,
) -> Result<Profile, MethodError> {
    let mut profile = base
        .cloned()
        .unwrap_or_else(|| Profile::new("dbus", String::new()));
    // An automatic APN may be the empty one (the network's default).
    let apn_needed = base.is_none();
    let mut keys: Vec<&String> = overrides.keys().collect();
    keys.sort();
    for key in keys {
        let Some(value) = overrides.get(key) else {
            continue;
        };
        match key.as_str() {
            "apn" => profile.apn = string(key, value)?,
            "user" => profile.user = string(key, value)?,
            "password" => profile.password = Secret::new(string(key, value)?),
            "auth" => {
                profile.auth = match string(key, value)?.as_str() {
                    "none" => Auth::None,
                    "pap" => Auth::Pap,
                    "chap" => Auth::Chap,
                    "mschapv2" => Auth::MsChapV2,
                    other => {
                        return Err(MethodError::InvalidArgs(format!(
                            "Connect: \"auth\" is none, pap, chap or mschapv2, not \"{}\"",
                            echoed(other)
                        )))
                    }
                }
            }
            "ip-type" => {
                profile.ip_type = match string(key, value)?.as_str() {
                    "ipv4" => IpType::Ipv4,
                    "ipv6" => IpType::Ipv6,
                    "ipv4v6" => IpType::Ipv4v6,
                    other => {
                        return Err(MethodError::InvalidArgs(format!(
                            "Connect: \"ip-type\" is ipv4, ipv6 or ipv4v6, not \"{}\"",
                            echoed(other)
                        )))
                    }
                }
            }
            "route-metric" => match &**value {
                Value::U32(metric) => profile.route_metric = Some(*metric),
                other => {
                    return Err(MethodError::InvalidArgs(format!(
                        "Connect: \"route-metric\" must be a uint32 (u), not {}",
                        other.value_signature()
                    )))
                }
            },
            other => {
                return Err(MethodError::InvalidArgs(format!(
                    "Connect: unknown key \"{}\"; the keys are {KEYS}",
                    echoed(other)
                )))
            }
        }
    }
    if apn_needed && profile.apn.is_empty() {
        return Err(MethodError::InvalidArgs(
            "Connect: no configured profile for this SIM, so \"apn\" must be given".to_owned(),
        ));
    }
    if let Some(problem) = profile.problems().into_iter().next() {
        return Err(MethodError::InvalidArgs(format!(
            "Connect: \"{}\": {}",
            problem.field, problem.message
        )));
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(value: Value<'static>) -> OwnedValue {
        OwnedValue::try_from(value).unwrap()
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let mut base = Profile::new("work", "corp.example");
        base.user = "alice".to_owned();
        let overrides = HashMap::from([
            ("apn".to_owned(), value(Value::from("other"))),
            ("route-metric".to_owned(), value(Value::from(50u32))),
            ("ip-type".to_owned(), value(Value::from("ipv4"))),
        ]);
        let profile = apply(Some(&base), &overrides).unwrap();
        assert_eq!(profile.name, "work");
        assert_eq!(profile.apn, "other");
        assert_eq!(profile.user, "alice");
        assert_eq!(profile.route_metric, Some(50));
        assert_eq!(profile.ip_type, IpType::Ipv4);
    }

    #[test]
    fn bad_keys_types_and_values_are_refused_by_name() {
        let base = Profile::new("p", "internet");
        for (key, bad, expected) in [
            ("colour", Value::from("red"), "unknown key \"colour\""),
            ("route-metric", Value::from("5"), "uint32"),
            ("apn", Value::from(5u32), "string"),
            ("auth", Value::from("kerberos"), "\"kerberos\""),
            ("ip-type", Value::from("ipv5"), "\"ipv5\""),
        ] {
            let overrides = HashMap::from([(key.to_owned(), value(bad))]);
            let error = apply(Some(&base), &overrides).unwrap_err();
            assert!(
                matches!(&error, MethodError::InvalidArgs(m) if m.contains(expected)),
                "{key}: {error:?}"
            );
        }
    }

    #[test]
    fn values_are_held_to_the_configuration_files_rules() {
        let base = Profile::new("p", "internet");
        for (key, bad, expected) in [
            (
                "apn",
                Value::from("x".repeat(100_000)),
                "\"apn\": the APN is 100000 characters",
            ),
            (
                "apn",
                Value::from("inter\u{1b}net"),
                "\"apn\": the APN has a control character",
            ),
            (
                "user",
                Value::from("a\nb"),
                "\"user\": the user name has a control",
            ),
            (
                "password",
                Value::from("pw\r"),
                "\"password\": the password has a control",
            ),
            (
                "route-metric",
                Value::from(0u32),
                "\"route-metric\": a route metric must be 1",
            ),
        ] {
            let overrides = HashMap::from([(key.to_owned(), value(bad))]);
            let error = apply(Some(&base), &overrides).unwrap_err();
            assert!(
                matches!(&error, MethodError::InvalidArgs(m) if m.contains(expected)),
                "{key}: {error:?}"
            );
            assert!(!error.to_string().contains("pw\r"));
        }
        let fine = HashMap::from([("apn".to_owned(), value(Value::from("x".repeat(100))))]);
        assert!(apply(Some(&base), &fine).is_ok());
    }

    #[test]
    fn without_a_base_the_apn_is_needed_and_a_password_never_shows() {
        let overrides = HashMap::from([("password".to_owned(), value(Value::from("hunter22")))]);
        let error = apply(None, &overrides).unwrap_err();
        assert!(!error.to_string().contains("hunter22"));
        let overrides = HashMap::from([("password".to_owned(), value(Value::from(7u32)))]);
        assert!(apply(None, &overrides).is_err());
    }

    #[test]
    fn without_a_configured_profile_the_last_settings_are_the_base() {
        let mut tried = Profile::new("provider-database", "web.example");
        tried.user = "web".to_owned();
        tried.password = Secret::new("web");
        let status = ExecutorStatus {
            profile: Some(tried.name.clone()),
            profile_settings: Some(tried.clone()),
            ..ExecutorStatus::default()
        };
        assert_eq!(base_profile(&[], &status), Some(tried.clone()));
        // The network's default APN with a new route metric: no APN needed,
        // and nothing but the metric changes.
        let default = Profile::new("network-default", "");
        let status = ExecutorStatus {
            profile: Some(default.name.clone()),
            profile_settings: Some(default.clone()),
            ..ExecutorStatus::default()
        };
        let base = base_profile(&[], &status);
        let overrides = HashMap::from([("route-metric".to_owned(), value(Value::from(50u32)))]);
        let profile = apply(base.as_ref(), &overrides).unwrap();
        assert_eq!(
            profile,
            Profile {
                route_metric: Some(50),
                ..default
            }
        );
        // A configured profile by that name wins: the file may have changed.
        let configured = Profile::new("provider-database", "corp.example");
        let status = ExecutorStatus {
            profile: Some(tried.name.clone()),
            profile_settings: Some(tried),
            ..ExecutorStatus::default()
        };
        assert_eq!(
            base_profile(std::slice::from_ref(&configured), &status),
            Some(configured)
        );
    }
}
