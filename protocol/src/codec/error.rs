//! What was wrong with a payload, and where: the error every decode returns.

use std::fmt;

/// What was wrong with a payload, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} at 0x{offset:02X}: {kind}")]
pub struct PayloadError {
    /// The field that failed, as `Type.field[index].field`.
    pub path: String,
    /// Offset of the failing field (or item) from the start of its structure.
    pub offset: usize,
    /// What was wrong.
    pub kind: PayloadErrorKind,
}

/// The ways a payload can be malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadErrorKind {
    /// The static part ends before this field does.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the buffer.
        available: usize,
    },
    /// An offset/length pair points outside the buffer.
    OutOfBounds {
        /// The offset read.
        data_offset: u64,
        /// The length read (or implied by a count).
        length: u64,
        /// Length of the buffer the offset is relative to.
        buffer_length: usize,
    },
    /// A UTF-16 string with an odd number of bytes.
    OddStringLength(u32),
    /// A count that cannot fit in the buffer, refused before allocating.
    CountTooLarge {
        /// The count read.
        count: u32,
        /// Bytes per element.
        element_size: usize,
        /// Bytes available.
        available: usize,
    },
    /// Data items overlap so much that decoding them would read far more
    /// than the buffer holds (the same bytes claimed by many items).
    BudgetExceeded {
        /// The most bytes of data items decoding may read from this buffer.
        limit: u64,
    },
    /// A field whose value breaks a rule of the layout.
    Invalid(String),
    /// A TLV information element (MBIMEx 3.0) that is malformed, or of
    /// another type than the field holds.
    Tlv(crate::tlv::TlvError),
}

impl fmt::Display for PayloadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadErrorKind::Truncated { needed, available } => {
                write!(f, "needs {needed} bytes but only {available} remain")
            }
            PayloadErrorKind::OutOfBounds {
                data_offset,
                length,
                buffer_length,
            } => write!(
                f,
                "data at 0x{data_offset:X} of length {length} ends at 0x{:X}, beyond buffer length 0x{buffer_length:X}",
                data_offset.saturating_add(*length)
            ),
            PayloadErrorKind::OddStringLength(length) => {
                write!(f, "UTF-16 string length {length} is odd")
            }
            PayloadErrorKind::CountTooLarge {
                count,
                element_size,
                available,
            } => write!(
                f,
                "count {count} of {element_size}-byte elements exceeds the {available} bytes available"
            ),
            PayloadErrorKind::BudgetExceeded { limit } => write!(
                f,
                "data items overlap: decoding them would read more than {limit} bytes"
            ),
            PayloadErrorKind::Invalid(reason) => f.write_str(reason),
            PayloadErrorKind::Tlv(error) => error.fmt(f),
        }
    }
}

impl PayloadError {
    /// An error at `offset` with no field path yet.
    pub fn new(offset: usize, kind: PayloadErrorKind) -> Self {
        PayloadError {
            path: String::new(),
            offset,
            kind,
        }
    }

    /// Prefixes the path with `prefix` (a type or field name).
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() {
            prefix.to_owned()
        } else if self.path.starts_with('[') {
            format!("{prefix}{}", self.path)
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}
