//! MBIM UUIDs: 16 bytes on the wire, in the order they are written.
//!
//! MBIM (§10.1) puts a UUID on the wire as the big-endian byte sequence of its
//! textual form, so `a289cc33-bcbb-8b4f-b6b0-133ec2aae6df` is sent as
//! `a2 89 cc 33 bc bb 8b 4f …`. (This differs from Microsoft's GUID memory
//! layout; libmbim and Windows agree on the wire order used here.)

use core::fmt;
use core::str::FromStr;

/// A 16-byte MBIM UUID (service ids, context types).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid(pub [u8; 16]);

/// The text was not a UUID of the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a UUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")]
pub struct UuidParseError(pub String);

impl Uuid {
    /// The all-zero UUID (MBIM's "none").
    pub const NIL: Uuid = Uuid([0; 16]);

    /// Parses the textual form at compile time; panics (at compile time) on bad input,
    /// so declarations of well-known UUIDs cannot carry a typo.
    pub const fn from_str_const(text: &str) -> Uuid {
        match Self::parse_bytes(text.as_bytes()) {
            Some(uuid) => uuid,
            None => panic!("malformed UUID constant"),
        }
    }

    // Indexing is bounded by the length check (every index < 36) and `get`
    // is not usable in a const fn.
    #[allow(clippy::indexing_slicing)]
    const fn parse_bytes(text: &[u8]) -> Option<Uuid> {
        if text.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut byte = 0;
        let mut pos = 0;
        while pos < 36 {
            if pos == 8 || pos == 13 || pos == 18 || pos == 23 {
                if text[pos] != b'-' {
                    return None;
                }
                pos += 1;
                continue;
            }
            let (Some(high), Some(low)) = (hex_digit(text[pos]), hex_digit(text[pos + 1])) else {
                return None;
            };
            out[byte] = (high << 4) | low;
            byte += 1;
            pos += 2;
        }
        Some(Uuid(out))
    }

    /// The wire bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

const fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl FromStr for Uuid {
    type Err = UuidParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse_bytes(text.as_bytes()).ok_or_else(|| UuidParseError(text.to_owned()))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, byte) in self.0.iter().enumerate() {
            if matches!(index, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Uuid {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy as _;
        proptest::arbitrary::any::<[u8; 16]>()
            .prop_map(Uuid)
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_wire_order_agree() {
        let uuid: Uuid = "a289cc33-bcbb-8b4f-b6b0-133ec2aae6df".parse().unwrap();
        assert_eq!(uuid.0[..4], [0xa2, 0x89, 0xcc, 0x33]);
        assert_eq!(uuid.0[15], 0xdf);
        assert_eq!(uuid.to_string(), "a289cc33-bcbb-8b4f-b6b0-133ec2aae6df");
        assert_eq!(
            Uuid::from_str_const("A289CC33-BCBB-8B4F-B6B0-133EC2AAE6DF"),
            uuid
        );
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "a289cc33bcbb8b4fb6b0133ec2aae6df",
            "a289cc33-bcbb-8b4f-b6b0-133ec2aae6dg",
            "a289cc33-bcbb-8b4f-b6b0_133ec2aae6df",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad}");
        }
    }
}
