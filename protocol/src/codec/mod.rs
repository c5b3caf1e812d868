//! Payload codecs: the building blocks every CID payload is made of.
//!
//! An MBIM payload structure has a *static part* (fixed-size fields, and
//! offset/length pairs) followed by a *data buffer* holding the variable-size
//! items those pairs point at. Offsets count from the start of the structure
//! that holds them. [`StructReader`] reads such a structure from untrusted bytes
//! with every offset and length checked; [`StructWriter`] builds one the way
//! libmbim and Windows do (data items appended in field order, each padded to
//! four bytes, empty items given offset 0), so encoding a decoded capture gives
//! back the same bytes.
//!
//! Payload types are not written against these by hand: `#[mbim_struct]`
//! (crate `mbim-protocol-macros`) generates their [`Payload`] impls from the
//! field list, and hand-written impls remain possible for odd layouts.

pub mod enums;
mod error;
mod inline;
mod reader;
mod writer;

pub use error::*;
pub use inline::*;
pub use reader::*;
pub use writer::*;

use std::cell::Cell;
use std::rc::Rc;

/// How many bytes of data items one decode may read, shared by every nested
/// structure of it.
///
/// Offset/length pairs may point at the same bytes: a list of a thousand
/// entries all naming one structure is well-formed item by item, yet decoding
/// it would copy that structure a thousand times. The budget bounds the work,
/// and so the memory, of any decode to a small multiple of its input. A
/// well-formed message reads each byte at most once per level of nesting, far
/// below the limit.
#[derive(Debug, Clone)]
pub struct DecodeBudget(Rc<Cell<u64>>, u64);

impl DecodeBudget {
    /// Data bytes a decode may read per byte of input.
    pub const FACTOR: u64 = 4;
    /// Data bytes any decode may read, however short its input.
    pub const MINIMUM: u64 = 1024;

    /// The budget for decoding a buffer of `length` bytes.
    pub fn for_buffer(length: usize) -> Self {
        let limit = (length as u64)
            .saturating_mul(Self::FACTOR)
            .max(Self::MINIMUM);
        DecodeBudget(Rc::new(Cell::new(limit)), limit)
    }

    /// Takes `bytes` from the budget.
    fn charge(&self, bytes: u64) -> Result<(), PayloadErrorKind> {
        let left = self.0.get();
        match left.checked_sub(bytes) {
            Some(rest) => {
                self.0.set(rest);
                Ok(())
            }
            None => Err(PayloadErrorKind::BudgetExceeded { limit: self.1 }),
        }
    }
}

/// A payload structure: a static part plus a data buffer, offsets relative to its start.
pub trait Payload: Sized {
    /// The structure's name, used in error paths.
    const NAME: &'static str;

    /// Decodes a structure that starts at `bytes[0]`; `bytes` extends to the end of
    /// the region its offsets may point into.
    fn decode(bytes: &[u8]) -> Result<Self, PayloadError> {
        Self::decode_with(bytes, &DecodeBudget::for_buffer(bytes.len()))
    }

    /// [`decode`](Self::decode), drawing on the budget of an enclosing decode.
    fn decode_with(bytes: &[u8], budget: &DecodeBudget) -> Result<Self, PayloadError>;

    /// Appends the encoded structure (static part, then data buffer) to `out`.
    fn encode_into(&self, out: &mut Vec<u8>);

    /// The encoded structure.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

/// A structure whose end follows from its own bytes: where its static part or
/// its furthest data item ends, whichever is later.
///
/// Microsoft's "struct arrays" (the cell lists of BASE_STATIONS_INFO, the
/// RSRP/SNR list of SIGNAL_STATE v2) lay elements back to back, each
/// followed by its own data, with no offset to the next one: only the
/// element's extent says where the next begins. `#[mbim_struct]` implements
/// this for every structure it declares.
pub trait Delimited: Payload {
    /// Decodes the structure at the start of `bytes` (which may go on past
    /// it) and returns it with the bytes it spans, rounded up to 4.
    fn decode_prefix_with(
        bytes: &[u8],
        budget: &DecodeBudget,
    ) -> Result<(Self, usize), PayloadError>;
}

/// The empty payload of queries that carry no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Empty;

impl Payload for Empty {
    const NAME: &'static str = "Empty";
    fn decode_with(_bytes: &[u8], _budget: &DecodeBudget) -> Result<Self, PayloadError> {
        // Trailing bytes after an empty payload are tolerated: some firmware pads.
        Ok(Empty)
    }
    fn encode_into(&self, _out: &mut Vec<u8>) {}
}

impl crate::describe::Describe for Empty {
    fn describe(&self) -> crate::describe::Value {
        crate::describe::Value::Struct(Vec::new())
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Empty {
    type Parameters = ();
    type Strategy = proptest::strategy::Just<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        proptest::strategy::Just(Empty)
    }
}

/// Raw bytes of a payload whose layout is not declared (unknown service or CID).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Raw(pub Vec<u8>);

impl Payload for Raw {
    const NAME: &'static str = "Raw";
    fn decode_with(bytes: &[u8], _budget: &DecodeBudget) -> Result<Self, PayloadError> {
        Ok(Raw(bytes.to_vec()))
    }
    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl crate::describe::Describe for Raw {
    fn describe(&self) -> crate::describe::Value {
        crate::describe::Value::Bytes(self.0.clone())
    }
}
