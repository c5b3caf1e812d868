//! `mbimctl monitor`: mbimd's signals as they come, one line each.

use super::proxy::{BUS_NAME, MANAGER_PATH};
use super::{print, target, value, ClientError};
use futures_util::StreamExt as _;
use std::collections::HashMap;
use zbus::message::Type;
use zbus::zvariant::{OwnedValue, Structure};
use zbus::{Connection, MatchRule, Message, MessageStream};

/// Prints every signal mbimd emits under its object tree until Ctrl-C (or
/// until the bus goes away).
pub(crate) async fn run(conn: &Connection, json: bool) -> Result<(), ClientError> {
    let rule = MatchRule::builder()
        .msg_type(Type::Signal)
        .sender(BUS_NAME)?
        .path_namespace(MANAGER_PATH)?
        .build();
    let mut signals = MessageStream::for_match_rule(rule, conn, Some(1024)).await?;
    let bus = zbus::fdo::DBusProxy::new(conn).await?;
    let mut owners = bus
        .receive_name_owner_changed_with_args(&[(0, BUS_NAME)])
        .await?;
    // The matches are in place: from here on nothing is missed. Said on
    // standard error so that standard output stays one event per line.
    let running = bus
        .name_has_owner(zbus::names::BusName::try_from(BUS_NAME).map_err(zbus::Error::from)?)
        .await?;
    eprintln!(
        "mbimctl: monitoring {BUS_NAME}{} (Ctrl-C to stop)",
        if running {
            ""
        } else {
            "; mbimd is not running yet"
        }
    );
    let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let line = tokio::select! {
            message = signals.next() => match message {
                Some(Ok(message)) => signal_line(&message, json),
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
            change = owners.next() => match change {
                Some(change) => {
                    let owner = change
                        .args()
                        .map(|args| args.new_owner().as_ref().map(ToString::to_string))
                        .unwrap_or_default();
                    owner_line(owner.as_deref(), json)
                }
                None => return Ok(()),
            },
            _ = &mut interrupted => return Ok(()),
        };
        print(&line)?;
    }
}

fn owner_line(owner: Option<&str>, json: bool) -> String {
    let time = now();
    if json {
        let event = serde_json::json!({
            "Time": time,
            "Signal": "NameOwnerChanged",
            "Name": BUS_NAME,
            "Owner": owner.unwrap_or(""),
        });
        return format!("{event}\n");
    }
    match owner {
        Some(owner) => format!("{time} mbimd started ({owner})\n"),
        None => format!("{time} mbimd stopped\n"),
    }
}

/// The argument names of the signals mbimd defines.
fn argument_names(member: &str) -> Option<&'static [&'static str]> {
    match member {
        "SlotSwitchSuggested" | "SlotSwitched" => Some(&["modem", "from", "to", "reason"]),
        _ => None,
    }
}

fn signal_line(message: &Message, json: bool) -> String {
    let header = message.header();
    let path = header
        .path()
        .map(|path| path.to_string())
        .unwrap_or_default();
    let interface = header
        .interface()
        .map(|interface| interface.to_string())
        .unwrap_or_default();
    let member = header
        .member()
        .map(|member| member.to_string())
        .unwrap_or_default();
    let time = now();
    let body = message.body();
    if interface == "org.freedesktop.DBus.Properties" && member == "PropertiesChanged" {
        if let Ok((changed_interface, changed, invalidated)) =
            body.deserialize::<(String, HashMap<String, OwnedValue>, Vec<String>)>()
        {
            let mut changed: Vec<(String, OwnedValue)> = changed.into_iter().collect();
            changed.sort_by(|(a, _), (b, _)| a.cmp(b));
            return properties_line(
                &time,
                &path,
                &changed_interface,
                &changed,
                &invalidated,
                json,
            );
        }
    }
    let arguments: Vec<OwnedValue> = if body.signature().to_string().is_empty() {
        Vec::new()
    } else {
        body.deserialize::<Structure<'_>>()
            .map(|structure| {
                structure
                    .into_fields()
                    .into_iter()
                    .filter_map(|field| OwnedValue::try_from(field).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let names = argument_names(&member).filter(|names| names.len() == arguments.len());
    if json {
        let args = match names {
            Some(names) => serde_json::Value::Object(
                names
                    .iter()
                    .zip(&arguments)
                    .map(|(name, value)| ((*name).to_owned(), value::to_json(value)))
                    .collect(),
            ),
            None => arguments
                .iter()
                .map(|value| value::to_json(value))
                .collect(),
        };
        let event = serde_json::json!({
            "Time": time,
            "Path": path,
            "Interface": interface,
            "Signal": member,
            "Args": args,
        });
        return format!("{event}\n");
    }
    let mut line = format!("{time} {} {member}", target::short(&path));
    for (index, argument) in arguments.iter().enumerate() {
        let text = quoted(value::to_text("", argument));
        match names.and_then(|names| names.get(index)) {
            Some(name) => line.push_str(&format!(" {name}={text}")),
            None => line.push_str(&format!(" {text}")),
        }
    }
    line.push('\n');
    line
}

fn properties_line(
    time: &str,
    path: &str,
    interface: &str,
    changed: &[(String, OwnedValue)],
    invalidated: &[String],
    json: bool,
) -> String {
    if json {
        let event = serde_json::json!({
            "Time": time,
            "Path": path,
            "Interface": interface,
            "Signal": "PropertiesChanged",
            "Changed": changed
                .iter()
                .map(|(name, value)| (name.clone(), value::to_json(value)))
                .collect::<serde_json::Map<_, _>>(),
            "Invalidated": invalidated,
        });
        return format!("{event}\n");
    }
    let mut line = format!("{time} {} PropertiesChanged", target::short(path));
    for (name, value) in changed {
        line.push_str(&format!(" {name}={}", quoted(value::to_text(name, value))));
    }
    if !invalidated.is_empty() {
        line.push_str(&format!(" invalidated: {}", invalidated.join(",")));
    }
    line.push('\n');
    line
}

/// Text with spaces in quotes, so that a line still splits into its fields.
fn quoted(text: String) -> String {
    if text.contains(char::is_whitespace) && !text.starts_with('[') {
        format!("{text:?}")
    } else {
        text
    }
}

/// Now in UTC, RFC 3339 with milliseconds.
fn now() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since_epoch.as_secs(), since_epoch.subsec_millis())
}

fn rfc3339(seconds: u64, millis: u32) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    // Howard Hinnant's days_from_civil, inverted (proleptic Gregorian).
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_795_323_967, 123), "2026-11-22T05:06:07.123Z");
    }
}
