//! D-Bus values as JSON (for scripts) and as text (for people).

use super::target;
use zbus::zvariant::Value;

/// A D-Bus value as JSON: numbers and booleans as such, strings and object
/// paths as strings, arrays and structures as arrays, dictionaries with
/// string keys as objects.
pub(crate) fn to_json(value: &Value<'_>) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::U8(number) => Json::from(*number),
        Value::Bool(flag) => Json::from(*flag),
        Value::I16(number) => Json::from(*number),
        Value::U16(number) => Json::from(*number),
        Value::I32(number) => Json::from(*number),
        Value::U32(number) => Json::from(*number),
        Value::I64(number) => Json::from(*number),
        Value::U64(number) => Json::from(*number),
        Value::F64(number) => Json::from(*number),
        Value::Str(text) => Json::from(text.as_str()),
        Value::Signature(signature) => Json::from(signature.to_string()),
        Value::ObjectPath(path) => Json::from(path.as_str()),
        Value::Value(inner) => to_json(inner),
        Value::Array(array) => Json::Array(array.inner().iter().map(to_json).collect()),
        Value::Dict(dict) => {
            let pairs: Vec<_> = dict.iter().collect();
            if pairs.iter().all(|(key, _)| key_text(key).is_some()) {
                Json::Object(
                    pairs
                        .into_iter()
                        .filter_map(|(key, value)| Some((key_text(key)?, to_json(value))))
                        .collect(),
                )
            } else {
                Json::Array(
                    pairs
                        .into_iter()
                        .map(|(key, value)| Json::Array(vec![to_json(key), to_json(value)]))
                        .collect(),
                )
            }
        }
        Value::Structure(structure) => {
            Json::Array(structure.fields().iter().map(to_json).collect())
        }
        #[allow(unreachable_patterns)]
        // File descriptors (and GVariant's maybe type, should a feature
        // bring it in) never appear in mbimd's API; show the type at least.
        other => Json::from(format!("<{}>", other.value_signature())),
    }
}

fn key_text(key: &Value<'_>) -> Option<String> {
    match key {
        Value::Str(text) => Some(text.to_string()),
        Value::ObjectPath(path) => Some(path.to_string()),
        _ => None,
    }
}

/// A `Sessions` entry as `1 ims (ims, APN "ims"): connected on mbim0e0s1
/// [10.64.0.6/30]`, with the reason after a state that waits.
fn session_text(fields: &[Value<'_>]) -> Option<String> {
    let [Value::U32(id), Value::Str(name), Value::Str(kind), Value::Str(apn), Value::Str(state), Value::Str(reason), Value::Str(netdev), addresses] =
        fields
    else {
        return None;
    };
    let mut text = format!("{id} {name} ({kind}, APN {:?}): {state}", apn.as_str());
    if !reason.is_empty() {
        text.push_str(&format!(" ({reason})"));
    }
    if !netdev.is_empty() {
        text.push_str(&format!(" on {netdev}"));
    }
    let addresses = to_text("", addresses);
    if addresses != "[]" {
        text.push_str(&format!(" {addresses}"));
    }
    Some(text)
}

/// A property's value as text: strings as they are (`-` when empty), our
/// object paths by their short names (`0/e1`), lists in brackets, USB ids in
/// hex, a `NetdevParts` entry as `part: outcome (detail)`, a `Signal` entry
/// as `lte: RSRP -95 dBm, SNR 12 dB`.
pub(crate) fn to_text(name: &str, value: &Value<'_>) -> String {
    match (name, value) {
        ("UsbVendorId" | "UsbProductId", Value::U16(id)) => format!("{id:04x}"),
        ("NetdevParts", Value::Structure(structure)) => match structure.fields() {
            [Value::Str(part), Value::Str(outcome), Value::Str(detail)] if detail.is_empty() => {
                format!("{part}: {outcome}")
            }
            [Value::Str(part), Value::Str(outcome), Value::Str(detail)] => {
                format!("{part}: {outcome} ({detail})")
            }
            _ => to_text("", value),
        },
        ("Sessions", Value::Structure(structure)) => {
            session_text(structure.fields()).unwrap_or_else(|| to_text("", value))
        }
        ("SessionTraffic", Value::Structure(structure)) => match structure.fields() {
            [Value::U32(id), Value::U64(rx_bytes), Value::U64(rx_packets), Value::U64(tx_bytes), Value::U64(tx_packets)] =>
            {
                format!(
                    "{id}: rx {rx_bytes} bytes ({rx_packets} packets), \
                     tx {tx_bytes} bytes ({tx_packets} packets)"
                )
            }
            _ => to_text("", value),
        },
        ("Signal", Value::Structure(structure)) => match structure.fields() {
            [Value::Str(technology), Value::F64(rsrp), Value::F64(snr)] => {
                let known = |value: f64, unit: &str| {
                    if value.is_nan() {
                        "unknown".to_owned()
                    } else {
                        format!("{value} {unit}")
                    }
                };
                format!(
                    "{technology}: RSRP {}, SNR {}",
                    known(*rsrp, "dBm"),
                    known(*snr, "dB")
                )
            }
            _ => to_text("", value),
        },
        (_, Value::Str(text)) if text.is_empty() => "-".to_owned(),
        (_, Value::Str(text)) => text.to_string(),
        (_, Value::ObjectPath(path)) if path.as_str() == "/" => "-".to_owned(),
        (_, Value::ObjectPath(path)) => target::short(path.as_str()),
        (_, Value::Value(inner)) => to_text(name, inner),
        (_, Value::Array(array)) => {
            let items: Vec<String> = array
                .inner()
                .iter()
                .map(|item| match item {
                    Value::Str(text) => text.to_string(),
                    other => to_text(name, other),
                })
                .collect();
            format!("[{}]", items.join(", "))
        }
        (_, Value::Dict(dict)) => {
            let items: Vec<String> = dict
                .iter()
                .map(|(key, value)| format!("{}: {}", to_text(name, key), to_text(name, value)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        (_, Value::Structure(structure)) => {
            let items: Vec<String> = structure
                .fields()
                .iter()
                .map(|field| to_text(name, field))
                .collect();
            format!("({})", items.join(", "))
        }
        (_, Value::Bool(flag)) => flag.to_string(),
        (_, Value::U8(number)) => number.to_string(),
        (_, Value::I16(number)) => number.to_string(),
        (_, Value::U16(number)) => number.to_string(),
        (_, Value::I32(number)) => number.to_string(),
        (_, Value::U32(number)) => number.to_string(),
        (_, Value::I64(number)) => number.to_string(),
        (_, Value::U64(number)) => number.to_string(),
        (_, Value::F64(number)) => number.to_string(),
        (_, other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use zbus::zvariant::ObjectPath;

    #[test]
    fn values_read_as_json_and_text() {
        let mapping = Value::from(vec![0u32, 1]);
        assert_eq!(to_json(&mapping), serde_json::json!([0, 1]));
        assert_eq!(to_text("SlotMapping", &mapping), "[0, 1]");
        let executors = Value::from(vec![ObjectPath::try_from(
            "/dev/mbimd/Mbimd1/Modem0/Executor0",
        )
        .unwrap()]);
        assert_eq!(to_text("Executors", &executors), "[0/e0]");
        assert_eq!(
            to_json(&executors),
            serde_json::json!(["/dev/mbimd/Mbimd1/Modem0/Executor0"])
        );
        assert_eq!(to_text("UsbVendorId", &Value::U16(0x1e2d)), "1e2d");
        assert_eq!(to_json(&Value::U16(0x1e2d)), serde_json::json!(7725));
        assert_eq!(to_text("Profile", &Value::from("")), "-");
        assert_eq!(to_text("Roaming", &Value::Bool(false)), "false");
        assert_eq!(to_text("PinRetriesLeft", &Value::I32(-1)), "-1");
        let parts = Value::from(vec![
            ("link up".to_owned(), "applied".to_owned(), String::new()),
            (
                "address ff02::1/64".to_owned(),
                "refused".to_owned(),
                "a multicast address".to_owned(),
            ),
        ]);
        assert_eq!(
            to_text("NetdevParts", &parts),
            "[link up: applied, address ff02::1/64: refused (a multicast address)]"
        );
        let sessions = Value::from(vec![
            (
                0u32,
                "internet".to_owned(),
                "internet".to_owned(),
                "internet".to_owned(),
                "connected".to_owned(),
                String::new(),
                "mbim0e0".to_owned(),
                vec!["10.64.0.2/30".to_owned()],
            ),
            (
                2u32,
                "mms".to_owned(),
                "mms".to_owned(),
                "mms".to_owned(),
                "unsupported".to_owned(),
                "MaxSessions 2".to_owned(),
                String::new(),
                Vec::new(),
            ),
        ]);
        assert_eq!(
            to_text("Sessions", &sessions),
            "[0 internet (internet, APN \"internet\"): connected on mbim0e0 [10.64.0.2/30], \
             2 mms (mms, APN \"mms\"): unsupported (MaxSessions 2)]"
        );
        let traffic = Value::from(vec![(0u32, 1500u64, 3u64, 80u64, 1u64), (1, 60, 1, 0, 0)]);
        assert_eq!(
            to_text("SessionTraffic", &traffic),
            "[0: rx 1500 bytes (3 packets), tx 80 bytes (1 packets), \
             1: rx 60 bytes (1 packets), tx 0 bytes (0 packets)]"
        );
        let signal = Value::from(vec![
            ("lte".to_owned(), -95.0, 12.5),
            ("5g-nsa".to_owned(), f64::NAN, f64::NAN),
        ]);
        assert_eq!(
            to_text("Signal", &signal),
            "[lte: RSRP -95 dBm, SNR 12.5 dB, 5g-nsa: RSRP unknown, SNR unknown]"
        );
        assert_eq!(
            to_json(&signal),
            serde_json::json!([["lte", -95.0, 12.5], ["5g-nsa", null, null]])
        );
    }
}
