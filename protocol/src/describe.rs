//! A neutral tree of decoded values, for printing and JSON.
//!
//! Every payload type can describe itself as a [`Value`]; presentation (text,
//! JSON, logs) is built from that tree, so a new CID needs no printing code.
//! Personal data (IMSI, ICCID, IMEI, telephone numbers) is wrapped in
//! [`Value::Personal`] and secrets (PINs, passwords) in [`Value::Secret`], so
//! whoever renders the tree decides what to show: masking is one call,
//! [`Value::masked`], not a rule each printer must remember.

use crate::uuid::Uuid;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An unsigned 32-bit number.
    U32(u32),
    /// An unsigned 64-bit number.
    U64(u64),
    /// A signed 32-bit number (signal levels in dBm and dB).
    I32(i32),
    /// Text (decoded from UTF-16LE).
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A UUID, with the name of the service or context type when it is well known.
    Uuid {
        /// The UUID.
        uuid: Uuid,
        /// Its well-known name, if any.
        name: Option<&'static str>,
    },
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address.
    Ipv6(Ipv6Addr),
    /// A value of an enumeration; `name` is `None` for values the spec does not define.
    Enum {
        /// The name of the value, if it is a known one.
        name: Option<&'static str>,
        /// The raw value.
        value: u32,
    },
    /// A set of flags.
    Flags {
        /// The names of the known bits that are set.
        names: Vec<&'static str>,
        /// The raw value, unknown bits included (64-bit for the few 64-bit
        /// flag fields of MBIMEx 3.0).
        value: u64,
    },
    /// A structure: named fields in wire order.
    Struct(Vec<(&'static str, Value)>),
    /// A list of values.
    List(Vec<Value>),
    /// Absent (an optional field that was not given).
    Absent,
    /// Personal data: shown only when the user asks for it.
    Personal(Box<Value>),
    /// A secret (PIN, PUK, password): never shown.
    Secret,
}

/// What personal data is replaced with when masked.
pub const MASK: &str = "<hidden>";

impl Value {
    /// Replaces personal data with [`MASK`] (empty text stays empty, so one can
    /// still tell that nothing was given). Secrets are always hidden.
    pub fn masked(self) -> Value {
        match self {
            Value::Personal(inner) => match *inner {
                Value::Text(text) if text.is_empty() => Value::Text(text),
                Value::List(items) if items.is_empty() => Value::List(items),
                Value::Absent => Value::Absent,
                Value::List(items) => Value::List(
                    items
                        .into_iter()
                        .map(|item| Value::Personal(Box::new(item)).masked())
                        .collect(),
                ),
                _ => Value::Text(MASK.to_owned()),
            },
            Value::Struct(fields) => Value::Struct(
                fields
                    .into_iter()
                    .map(|(name, value)| (name, value.masked()))
                    .collect(),
            ),
            Value::List(items) => Value::List(items.into_iter().map(Value::masked).collect()),
            other => other,
        }
    }

    /// Removes the personal-data markers, showing everything but secrets.
    pub fn revealed(self) -> Value {
        match self {
            Value::Personal(inner) => inner.revealed(),
            Value::Struct(fields) => Value::Struct(
                fields
                    .into_iter()
                    .map(|(name, value)| (name, value.revealed()))
                    .collect(),
            ),
            Value::List(items) => Value::List(items.into_iter().map(Value::revealed).collect()),
            other => other,
        }
    }
}

/// Types that can describe themselves as a [`Value`] tree.
pub trait Describe {
    /// The value tree of `self`.
    fn describe(&self) -> Value;
}

impl Describe for u32 {
    fn describe(&self) -> Value {
        Value::U32(*self)
    }
}

impl Describe for u8 {
    fn describe(&self) -> Value {
        Value::U32(u32::from(*self))
    }
}

impl Describe for u16 {
    fn describe(&self) -> Value {
        Value::U32(u32::from(*self))
    }
}

impl Describe for i32 {
    fn describe(&self) -> Value {
        Value::I32(*self)
    }
}

impl Describe for u64 {
    fn describe(&self) -> Value {
        Value::U64(*self)
    }
}

impl Describe for String {
    fn describe(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl Describe for Ipv4Addr {
    fn describe(&self) -> Value {
        Value::Ipv4(*self)
    }
}

impl Describe for Ipv6Addr {
    fn describe(&self) -> Value {
        Value::Ipv6(*self)
    }
}

impl Describe for Uuid {
    fn describe(&self) -> Value {
        Value::Uuid {
            uuid: *self,
            name: crate::services::uuid_name(self),
        }
    }
}

impl<const N: usize> Describe for [u8; N] {
    fn describe(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl Describe for Vec<u8> {
    fn describe(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl<T: Describe> Describe for Option<T> {
    fn describe(&self) -> Value {
        self.as_ref().map_or(Value::Absent, Describe::describe)
    }
}

/// Lists of anything describable (but bytes, which describe as [`Value::Bytes`]).
pub trait DescribeList {
    /// The value tree of the list.
    fn describe_list(&self) -> Value;
}

impl<T: Describe> DescribeList for [T] {
    fn describe_list(&self) -> Value {
        Value::List(self.iter().map(Describe::describe).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_hides_personal_data_but_keeps_emptiness_and_shape() {
        let tree = Value::Struct(vec![
            (
                "iccid",
                Value::Personal(Box::new(Value::Text("8944".into()))),
            ),
            (
                "imsi",
                Value::Personal(Box::new(Value::Text(String::new()))),
            ),
            (
                "numbers",
                Value::Personal(Box::new(Value::List(vec![Value::Text("+1".into())]))),
            ),
            ("pin", Value::Secret),
            ("rssi", Value::U32(9)),
        ]);
        let masked = tree.clone().masked();
        assert_eq!(
            masked,
            Value::Struct(vec![
                ("iccid", Value::Text(MASK.into())),
                ("imsi", Value::Text(String::new())),
                ("numbers", Value::List(vec![Value::Text(MASK.into())])),
                ("pin", Value::Secret),
                ("rssi", Value::U32(9)),
            ])
        );
        let revealed = tree.revealed();
        assert!(matches!(&revealed, Value::Struct(f) if f[0].1 == Value::Text("8944".into())));
    }
}
