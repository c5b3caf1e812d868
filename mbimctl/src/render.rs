//! Value trees to text or JSON.

use crate::decode::Report;
use mbim_protocol::describe::Value;
use serde_json::{json, Map, Value as Json};
use std::fmt::Write as _;

/// How to render.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// JSON instead of text.
    pub(crate) json: bool,
    /// Show personal data rather than masking it.
    pub(crate) show_personal_info: bool,
}

/// The whole report, ready to print.
///
/// JSON: one object per message, or an array when the input held several;
/// when decoding stopped early, the last object carries an `"error"` member.
pub(crate) fn report(report: &Report, options: &Options) -> String {
    let items: Vec<Value> = report
        .items
        .iter()
        .cloned()
        .map(|item| {
            if options.show_personal_info {
                item.revealed()
            } else {
                item.masked()
            }
        })
        .collect();
    if options.json {
        let mut objects: Vec<Json> = items.iter().map(to_json).collect();
        if let Some(error) = &report.error {
            match objects.last_mut() {
                Some(Json::Object(object)) => {
                    object.insert("error".to_owned(), Json::String(error.clone()));
                }
                _ => objects.push(json!({ "error": error })),
            }
        }
        let document = match objects.len() {
            1 => objects.pop().unwrap_or(Json::Null),
            _ => Json::Array(objects),
        };
        let mut out = serde_json::to_string_pretty(&document).unwrap_or_default();
        out.push('\n');
        out
    } else {
        let mut out = String::new();
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                out.push('\n');
            }
            write_text(&mut out, item, 0);
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn flags_text(names: &[&str], value: u64) -> String {
    if names.is_empty() {
        return if value == 0 {
            "none".to_owned()
        } else {
            format!("0x{value:x}")
        };
    }
    format!("{} (0x{value:x})", names.join(", "))
}

/// A one-line rendering of a scalar; `None` for structures and lists.
fn scalar_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::U32(number) => number.to_string(),
        Value::U64(number) => number.to_string(),
        Value::I32(number) => number.to_string(),
        Value::Text(text) => format!("'{}'", text.escape_debug()),
        Value::Bytes(bytes) if bytes.is_empty() => "(none)".to_owned(),
        Value::Bytes(bytes) => hex(bytes),
        Value::Uuid { uuid, name } => match name {
            Some(name) => format!("{name} ({uuid})"),
            None => uuid.to_string(),
        },
        Value::Ipv4(address) => address.to_string(),
        Value::Ipv6(address) => address.to_string(),
        Value::Enum { name, value } => match name {
            // Message types and extension status codes read better in hex.
            Some(name) if *value > 0xFFFF => format!("{name} (0x{value:08x})"),
            Some(name) => format!("{name} ({value})"),
            None => format!("unknown ({value})"),
        },
        Value::Flags { names, value } => flags_text(names, *value),
        Value::Absent => "(none)".to_owned(),
        Value::Secret => "<secret>".to_owned(),
        Value::Personal(inner) => return scalar_text(inner),
        Value::Struct(_) | Value::List(_) => return None,
    })
}

fn write_text(out: &mut String, value: &Value, indent: usize) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Struct(fields) => {
            for (name, field) in fields {
                match scalar_text(field) {
                    Some(text) => {
                        let _ = writeln!(out, "{pad}{name}: {text}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}{name}:");
                        write_text(out, field, indent + 1);
                    }
                }
            }
        }
        Value::List(items) if items.is_empty() => {
            let _ = writeln!(out, "{pad}(none)");
        }
        Value::List(items) => {
            for (index, item) in items.iter().enumerate() {
                match scalar_text(item) {
                    Some(text) => {
                        let _ = writeln!(out, "{pad}[{index}] {text}");
                    }
                    None => {
                        let _ = writeln!(out, "{pad}[{index}]");
                        write_text(out, item, indent + 1);
                    }
                }
            }
        }
        Value::Personal(inner) => write_text(out, inner, indent),
        other => {
            let _ = writeln!(out, "{pad}{}", scalar_text(other).unwrap_or_default());
        }
    }
}

/// JSON: numbers as numbers, enums by name (the number when unknown), flags as
/// lists of names, addresses and UUIDs as strings, bytes as colon-separated hex.
fn to_json(value: &Value) -> Json {
    match value {
        Value::U32(number) => json!(number),
        Value::U64(number) => json!(number),
        Value::I32(number) => json!(number),
        Value::Text(text) => json!(text),
        Value::Bytes(bytes) => json!(hex(bytes)),
        Value::Uuid { uuid, name } => match name {
            Some(name) => json!(name),
            None => json!(uuid.to_string()),
        },
        Value::Ipv4(address) => json!(address.to_string()),
        Value::Ipv6(address) => json!(address.to_string()),
        Value::Enum { name, value } => match name {
            Some(name) => json!(name),
            None => json!(value),
        },
        Value::Flags { names, value } => {
            let known = names.len();
            let mut list: Vec<Json> = names.iter().map(|name| json!(name)).collect();
            // Bits without a name are kept, as one hex number, so nothing is lost.
            let named_bits = known > 0 || *value == 0;
            if !named_bits || list.is_empty() && *value != 0 {
                list.push(json!(format!("0x{value:x}")));
            }
            Json::Array(list)
        }
        Value::Struct(fields) => {
            let mut object = Map::new();
            for (name, field) in fields {
                object.insert((*name).to_owned(), to_json(field));
            }
            Json::Object(object)
        }
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Absent => Json::Null,
        Value::Personal(inner) => to_json(inner),
        Value::Secret => json!("<secret>"),
    }
}
