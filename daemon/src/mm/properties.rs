//! The properties of `Simple.Connect` and `CreateBearer`
//! (ModemManager's `MMSimpleConnectProperties` and `MMBearerProperties`):
//! each key read with its type and checked, an unknown key or a value
//! mbimd cannot honour refusing the whole call before anything is sent, and
//! the profile a bearer connects with. The password and PIN never appear
//! in an error.

use super::enums::{allowed_auth, ip_family, multiplex};
use super::errors::MmError;
use super::model::BearerSettings;
use crate::executor::{Auth, IpType, Profile, Secret};
use std::collections::HashMap;
use zbus::zvariant::{OwnedValue, Value};

/// The keys `Simple.Connect` takes, with their D-Bus types.
const CONNECT_KEYS: &str = "apn (s), ip-type (u), allowed-auth (u), user (s), password (s), \
     allow-roaming (b), pin (s), operator-id (s), apn-type (u), profile-id (i), \
     profile-name (s), access-type-preference (u), profile-enabled (b), profile-source (u), \
     multiplex (u), rm-protocol (u)";

/// What a `Simple.Connect` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConnectRequest {
    /// The PIN to unlock the SIM with, if it asks.
    pub(crate) pin: Option<Secret>,
    /// The operator to be registered with (only the one mbimd is on).
    pub(crate) operator_id: Option<String>,
    /// The bearer's settings.
    pub(crate) settings: BearerSettings,
}

fn wrong_type(what: &str, key: &str, wanted: &str, value: &Value<'_>) -> MmError {
    MmError::invalid(format!(
        "{what}: '{key}' must be {wanted}, not {}",
        value.value_signature()
    ))
}

fn string(what: &str, key: &str, value: &Value<'_>) -> Result<String, MmError> {
    match value {
        Value::Str(text) => Ok(text.to_string()),
        other => Err(wrong_type(what, key, "a string (s)", other)),
    }
}

fn uint(what: &str, key: &str, value: &Value<'_>) -> Result<u32, MmError> {
    match value {
        Value::U32(number) => Ok(*number),
        other => Err(wrong_type(what, key, "a uint32 (u)", other)),
    }
}

fn boolean(what: &str, key: &str, value: &Value<'_>) -> Result<bool, MmError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        other => Err(wrong_type(what, key, "a boolean (b)", other)),
    }
}

/// Reads the properties of `Simple.Connect`; every key and value is
/// checked, an unknown key or a value mbimd cannot honour refuses the
/// whole call. The password and PIN never appear in an error.
pub(crate) fn parse_connect(
    properties: &HashMap<String, OwnedValue>,
) -> Result<ConnectRequest, MmError> {
    parse(properties, "Simple.Connect", true)
}

/// Reads the properties of `CreateBearer` (those of `Simple.Connect` but
/// `pin` and `operator-id`).
pub(crate) fn bearer_settings(
    properties: &HashMap<String, OwnedValue>,
    what: &str,
) -> Result<BearerSettings, MmError> {
    parse(properties, what, false).map(|request| request.settings)
}

fn parse(
    properties: &HashMap<String, OwnedValue>,
    what: &str,
    simple: bool,
) -> Result<ConnectRequest, MmError> {
    let mut request = ConnectRequest::default();
    let mut keys: Vec<&String> = properties.keys().collect();
    keys.sort();
    for key in keys {
        let Some(value) = properties.get(key) else {
            continue;
        };
        let value: &Value<'_> = value;
        let settings = &mut request.settings;
        match key.as_str() {
            "apn" => settings.apn = string(what, key, value)?,
            "user" => settings.user = string(what, key, value)?,
            "password" => settings.password = Secret::new(string(what, key, value)?),
            "allow-roaming" => settings.allow_roaming = Some(boolean(what, key, value)?),
            "ip-type" => {
                settings.ip_type = match uint(what, key, value)? {
                    family @ (ip_family::NONE
                    | ip_family::IPV4
                    | ip_family::IPV6
                    | ip_family::IPV4V6) => family,
                    ip_family::ANY => ip_family::NONE,
                    ip_family::NON_IP => {
                        return Err(MmError::unsupported(format!(
                            "{what}: mbimd connects IP sessions only (ip-type non-ip)"
                        )))
                    }
                    other => {
                        return Err(MmError::invalid(format!(
                        "{what}: 'ip-type' is one of 1 (ipv4), 2 (ipv6), 4 (ipv4v6), not {other}"
                    )))
                    }
                }
            }
            "allowed-auth" => {
                let mask = uint(what, key, value)?;
                if auth_of(mask).is_err() {
                    return Err(MmError::unsupported(format!(
                        "{what}: 'allowed-auth' {mask:#x} names no method mbimd can use \
                         (none, pap, chap, mschapv2)"
                    )));
                }
                settings.allowed_auth = mask;
            }
            "apn-type" => {
                // MM_BEARER_APN_TYPE_DEFAULT (internet), or unspecified.
                let apn_type = uint(what, key, value)?;
                if apn_type != 0 && apn_type & (1 << 1) == 0 {
                    return Err(MmError::unsupported(format!(
                        "{what}: mbimd connects internet (default) contexts only, not apn-type \
                         {apn_type:#x}"
                    )));
                }
            }
            "profile-id" => match value {
                Value::I32(-1) => {}
                Value::I32(id) => {
                    return Err(MmError::unsupported(format!(
                        "{what}: mbimd does not use the modem's stored profiles (profile-id {id})"
                    )))
                }
                other => return Err(wrong_type(what, key, "an int32 (i)", other)),
            },
            "profile-name" => {
                string(what, key, value)?;
            }
            "profile-enabled" => {
                boolean(what, key, value)?;
            }
            "profile-source" => {
                uint(what, key, value)?;
            }
            "access-type-preference" => {
                // NONE, 3GPP_ONLY, 3GPP_PREFERRED: all 3GPP, which is what
                // an MBIM modem gives.
                let preference = uint(what, key, value)?;
                if preference > 2 {
                    return Err(MmError::unsupported(format!(
                        "{what}: mbimd connects over 3GPP access only (access-type-preference \
                         {preference})"
                    )));
                }
            }
            "multiplex" => {
                let wanted = uint(what, key, value)?;
                if ![multiplex::UNKNOWN, multiplex::NONE, multiplex::REQUESTED].contains(&wanted) {
                    return Err(MmError::unsupported(format!(
                        "{what}: mbimd does not multiplex sessions (multiplex {wanted})"
                    )));
                }
            }
            "rm-protocol" => {
                if uint(what, key, value)? != 0 {
                    return Err(MmError::unsupported(format!(
                        "{what}: rm-protocol is for CDMA modems"
                    )));
                }
            }
            "pin" if simple => {
                let pin = string(what, key, value)?;
                if !(4..=8).contains(&pin.len()) || !pin.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(MmError::invalid(format!(
                        "{what}: the PIN is 4 to 8 digits"
                    )));
                }
                request.pin = Some(Secret::new(pin));
            }
            "operator-id" if simple => {
                let operator = string(what, key, value)?;
                request.operator_id = (!operator.is_empty()).then_some(operator);
            }
            other => {
                return Err(MmError::invalid(format!(
                    "{what}: unexpected key '{other}'; the keys are {}",
                    if simple {
                        CONNECT_KEYS.to_owned()
                    } else {
                        CONNECT_KEYS.replace("pin (s), operator-id (s), ", "")
                    }
                )))
            }
        }
    }
    // The rules every profile keeps (MBIM's lengths, no control
    // characters), on what was given.
    let given = Profile {
        user: request.settings.user.clone(),
        password: request.settings.password.clone(),
        ..Profile::new("modemmanager", request.settings.apn.clone())
    };
    if let Some(problem) = given.problems().into_iter().next() {
        return Err(MmError::invalid(format!(
            "{what}: '{}': {}",
            problem.field, problem.message
        )));
    }
    Ok(request)
}

/// The MBIM authentication an `allowed-auth` mask means (the best match, as
/// ModemManager's MBIM plugin picks it: CHAP, else PAP, else MS-CHAPv2,
/// else none); `Ok(None)` for UNKNOWN, which leaves the choice to whether
/// credentials are given.
fn auth_of(mask: u32) -> Result<Option<Auth>, ()> {
    if mask == allowed_auth::UNKNOWN {
        return Ok(None);
    }
    let known = allowed_auth::NONE
        | allowed_auth::PAP
        | allowed_auth::CHAP
        | allowed_auth::MSCHAP
        | allowed_auth::MSCHAPV2
        | allowed_auth::EAP;
    if mask & !known != 0 {
        return Err(());
    }
    if mask & allowed_auth::CHAP != 0 {
        Ok(Some(Auth::Chap))
    } else if mask & allowed_auth::PAP != 0 {
        Ok(Some(Auth::Pap))
    } else if mask & allowed_auth::MSCHAPV2 != 0 {
        Ok(Some(Auth::MsChapV2))
    } else if mask & allowed_auth::NONE != 0 {
        Ok(Some(Auth::None))
    } else {
        Err(())
    }
}

/// The profile a bearer connects with: the one the configuration selects
/// for the SIM (`base`), with what the bearer's settings say instead. A
/// different APN starts from nothing (the base's credentials are for its
/// own APN).
pub(crate) fn profile_for(base: Option<&Profile>, settings: &BearerSettings) -> Profile {
    let mut profile = match base {
        Some(base) if settings.apn.is_empty() || settings.apn == base.apn => base.clone(),
        _ => Profile::new("modemmanager", settings.apn.clone()),
    };
    let credentials = !settings.user.is_empty() || !settings.password.is_empty();
    if credentials {
        profile.user = settings.user.clone();
        profile.password = settings.password.clone();
    }
    // The mask was checked when the settings were read.
    match auth_of(settings.allowed_auth).ok().flatten() {
        Some(auth) => profile.auth = auth,
        // ModemManager's default with credentials is CHAP.
        None if credentials => profile.auth = Auth::Chap,
        None => {}
    }
    profile.ip_type = match settings.ip_type {
        ip_family::IPV4 => IpType::Ipv4,
        ip_family::IPV6 => IpType::Ipv6,
        ip_family::IPV4V6 => IpType::Ipv4v6,
        _ => profile.ip_type,
    };
    profile
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(value: Value<'static>) -> OwnedValue {
        OwnedValue::try_from(value).unwrap()
    }

    fn props(entries: Vec<(&str, Value<'static>)>) -> HashMap<String, OwnedValue> {
        entries
            .into_iter()
            .map(|(key, v)| (key.to_owned(), value(v)))
            .collect()
    }

    #[test]
    fn connect_properties_are_read_with_their_types() {
        let request = parse_connect(&props(vec![
            ("apn", Value::from("internet")),
            ("ip-type", Value::from(ip_family::IPV4V6)),
            (
                "allowed-auth",
                Value::from(allowed_auth::PAP | allowed_auth::CHAP),
            ),
            ("user", Value::from("alice")),
            ("password", Value::from("hunter22")),
            ("pin", Value::from("1234")),
            ("allow-roaming", Value::from(false)),
            ("operator-id", Value::from("")),
        ]))
        .unwrap();
        assert_eq!(request.settings.apn, "internet");
        assert_eq!(request.settings.ip_type, ip_family::IPV4V6);
        assert_eq!(request.settings.allow_roaming, Some(false));
        assert_eq!(request.pin, Some(Secret::new("1234")));
        assert_eq!(request.operator_id, None);
        // ANY means "the profile's".
        let request =
            parse_connect(&props(vec![("ip-type", Value::from(ip_family::ANY))])).unwrap();
        assert_eq!(request.settings.ip_type, ip_family::NONE);
    }

    #[test]
    fn bad_keys_types_and_values_are_refused_by_name_without_secrets() {
        // (key, value, error name, part of the message)
        let table = [
            (
                "apm",
                Value::from("internet"),
                "Core.InvalidArgs",
                "unexpected key 'apm'",
            ),
            (
                "apn",
                Value::from(5u32),
                "Core.InvalidArgs",
                "'apn' must be a string (s), not u",
            ),
            ("ip-type", Value::from("ipv4"), "Core.InvalidArgs", "uint32"),
            ("ip-type", Value::from(3u32), "Core.InvalidArgs", "not 3"),
            (
                "ip-type",
                Value::from(ip_family::NON_IP),
                "Core.Unsupported",
                "non-ip",
            ),
            (
                "allowed-auth",
                Value::from(allowed_auth::EAP),
                "Core.Unsupported",
                "0x20",
            ),
            (
                "allowed-auth",
                Value::from(1u32 << 9),
                "Core.Unsupported",
                "0x200",
            ),
            (
                "pin",
                Value::from("12"),
                "Core.InvalidArgs",
                "4 to 8 digits",
            ),
            ("pin", Value::from(1234u32), "Core.InvalidArgs", "string"),
            (
                "multiplex",
                Value::from(3u32),
                "Core.Unsupported",
                "multiplex",
            ),
            (
                "profile-id",
                Value::from(3i32),
                "Core.Unsupported",
                "profile-id 3",
            ),
            (
                "apn-type",
                Value::from(1u32 << 3),
                "Core.Unsupported",
                "apn-type",
            ),
            (
                "password",
                Value::from(7u32),
                "Core.InvalidArgs",
                "'password' must be",
            ),
        ];
        for (key, bad, name, message) in table {
            let error = parse_connect(&props(vec![(key, bad)])).unwrap_err();
            assert_eq!(
                error.name(),
                format!("org.freedesktop.ModemManager1.Error.{name}"),
                "{key}"
            );
            assert!(error.message().contains(message), "{key}: {error}");
            assert!(error.message().starts_with("Simple.Connect: "), "{error}");
        }
        // CreateBearer takes no PIN.
        let error = bearer_settings(
            &props(vec![("pin", Value::from("1234"))]),
            "Modem.CreateBearer",
        )
        .unwrap_err();
        assert!(error.message().contains("unexpected key 'pin'"), "{error}");
        assert!(!error.message().contains("1234"));
        let error = parse_connect(&props(vec![
            ("password", Value::from("hunter22")),
            ("colour", Value::from("red")),
        ]))
        .unwrap_err();
        assert!(!error.message().contains("hunter22"));
        // The profile rules: an APN too long, a password with a control
        // character (not shown).
        let error = parse_connect(&props(vec![("apn", Value::from("a".repeat(101)))])).unwrap_err();
        assert!(
            error.message().starts_with("Simple.Connect: 'apn': "),
            "{error}"
        );
        let error =
            parse_connect(&props(vec![("password", Value::from("pass\nword"))])).unwrap_err();
        assert!(
            error.message().starts_with("Simple.Connect: 'password': "),
            "{error}"
        );
        assert!(!error.message().contains("pass\nword"), "{error}");
    }

    #[test]
    fn allowed_auth_picks_as_modemmanager_does() {
        let table = [
            (allowed_auth::UNKNOWN, Ok(None)),
            (allowed_auth::NONE, Ok(Some(Auth::None))),
            (allowed_auth::PAP, Ok(Some(Auth::Pap))),
            (allowed_auth::PAP | allowed_auth::CHAP, Ok(Some(Auth::Chap))),
            (
                allowed_auth::MSCHAPV2 | allowed_auth::PAP,
                Ok(Some(Auth::Pap)),
            ),
            (allowed_auth::MSCHAPV2, Ok(Some(Auth::MsChapV2))),
            (
                allowed_auth::NONE | allowed_auth::MSCHAPV2,
                Ok(Some(Auth::MsChapV2)),
            ),
            (allowed_auth::MSCHAP, Err(())),
            (allowed_auth::EAP, Err(())),
        ];
        for (mask, expected) in table {
            assert_eq!(auth_of(mask), expected, "{mask:#x}");
        }
    }

    #[test]
    fn profiles_take_the_bearers_settings() {
        let mut base = Profile::new("work", "corp.example");
        base.user = "alice".to_owned();
        base.auth = Auth::Pap;
        // The same APN (or none): the configured profile, credentials kept.
        let settings = BearerSettings {
            ip_type: ip_family::IPV4,
            ..BearerSettings::default()
        };
        let profile = profile_for(Some(&base), &settings);
        assert_eq!(
            (profile.name.as_str(), profile.apn.as_str()),
            ("work", "corp.example")
        );
        assert_eq!((profile.user.as_str(), profile.auth), ("alice", Auth::Pap));
        assert_eq!(profile.ip_type, IpType::Ipv4);
        // Another APN: its own profile; credentials given mean CHAP.
        let settings = BearerSettings {
            apn: "internet".to_owned(),
            user: "bob".to_owned(),
            password: Secret::new("pw"),
            ..BearerSettings::default()
        };
        let profile = profile_for(Some(&base), &settings);
        assert_eq!(profile.apn, "internet");
        assert_eq!((profile.user.as_str(), profile.auth), ("bob", Auth::Chap));
        assert_eq!(profile.ip_type, IpType::Ipv4v6);
        // No configured profile and no APN: the network's default APN.
        let profile = profile_for(None, &BearerSettings::default());
        assert_eq!(profile.apn, "");
        assert_eq!(profile.auth, Auth::None);
    }
}
