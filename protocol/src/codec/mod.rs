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

use crate::uuid::Uuid;
use std::cell::Cell;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::rc::Rc;

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

/// A bounds-checked little-endian reader over a byte slice.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, position: 0 }
    }

    /// The current position.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Bytes left after the position.
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.position)
    }

    /// Takes the next `count` bytes.
    pub fn take(&mut self, count: usize) -> Result<&'a [u8], PayloadError> {
        let end = self.position.checked_add(count);
        match end.and_then(|end| self.bytes.get(self.position..end)) {
            Some(slice) => {
                self.position += count;
                Ok(slice)
            }
            None => Err(PayloadError::new(
                self.position,
                PayloadErrorKind::Truncated {
                    needed: count,
                    available: self.remaining(),
                },
            )),
        }
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], PayloadError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, PayloadError> {
        self.array().map(u32::from_le_bytes)
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, PayloadError> {
        self.array().map(u64::from_le_bytes)
    }

    /// The bytes after the position, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        self.bytes.get(self.position..).unwrap_or_default()
    }
}

/// A value with a fixed size that sits directly in a structure's static part.
pub trait Inline: Sized {
    /// Its size on the wire.
    const SIZE: usize;
    /// Reads it at the cursor.
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError>;
    /// Appends its wire form.
    fn write_inline(&self, out: &mut Vec<u8>);
}

impl Inline for u32 {
    const SIZE: usize = 4;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.u32()
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Inline for u8 {
    const SIZE: usize = 1;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array::<1>().map(|[byte]| byte)
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Inline for u16 {
    const SIZE: usize = 2;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array().map(u16::from_le_bytes)
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Inline for i32 {
    const SIZE: usize = 4;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array().map(i32::from_le_bytes)
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Inline for u64 {
    const SIZE: usize = 8;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.u64()
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Inline for Uuid {
    const SIZE: usize = 16;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array().map(Uuid)
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Inline for Ipv4Addr {
    const SIZE: usize = 4;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array::<4>().map(Ipv4Addr::from)
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }
}

impl Inline for Ipv6Addr {
    const SIZE: usize = 16;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array::<16>().map(Ipv6Addr::from)
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.octets());
    }
}

impl<const N: usize> Inline for [u8; N] {
    const SIZE: usize = N;
    fn read_inline(cursor: &mut Cursor<'_>) -> Result<Self, PayloadError> {
        cursor.array()
    }
    fn write_inline(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

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

/// Reads one structure: a cursor over its static part, offsets resolved against `bytes`.
#[derive(Debug)]
pub struct StructReader<'a> {
    bytes: &'a [u8],
    cursor: Cursor<'a>,
    /// The lowest offset any data item started at, checked against the end
    /// of the static part by [`finish`](Self::finish).
    lowest_data_offset: Cell<Option<u64>>,
    /// Where the furthest data item ends, for [`extent`](Self::extent).
    highest_data_end: Cell<u64>,
    budget: DecodeBudget,
}

impl<'a> StructReader<'a> {
    /// A reader for the structure starting at `bytes[0]`, with a budget of its own.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::with_budget(bytes, DecodeBudget::for_buffer(bytes.len()))
    }

    /// A reader for a structure decoded as part of a larger one, sharing its budget.
    pub fn with_budget(bytes: &'a [u8], budget: DecodeBudget) -> Self {
        StructReader {
            bytes,
            cursor: Cursor::new(bytes),
            lowest_data_offset: Cell::new(None),
            highest_data_end: Cell::new(0),
            budget,
        }
    }

    /// The position in the static part.
    pub fn position(&self) -> usize {
        self.cursor.position()
    }

    fn named<T>(
        &self,
        field: &str,
        at: usize,
        result: Result<T, PayloadError>,
    ) -> Result<T, PayloadError> {
        result.map_err(|error| {
            let error = if error.path.is_empty() {
                PayloadError {
                    offset: at,
                    ..error
                }
            } else {
                error
            };
            error.within(field)
        })
    }

    /// Bytes `[offset, offset + length)` of the structure, checked, and
    /// charged to the decode budget.
    fn region(&self, data_offset: u64, length: u64) -> Result<&'a [u8], PayloadErrorKind> {
        let slice = self.locate(data_offset, length)?;
        if length > 0 {
            self.budget.charge(length)?;
        }
        Ok(slice)
    }

    /// Bytes `[offset, offset + length)` of the structure, checked and
    /// remembered as a data item (for [`finish`](Self::finish) and
    /// [`extent`](Self::extent)), but not charged.
    fn locate(&self, data_offset: u64, length: u64) -> Result<&'a [u8], PayloadErrorKind> {
        let out_of_bounds = || PayloadErrorKind::OutOfBounds {
            data_offset,
            length,
            buffer_length: self.bytes.len(),
        };
        let start = usize::try_from(data_offset).map_err(|_| out_of_bounds())?;
        let len = usize::try_from(length).map_err(|_| out_of_bounds())?;
        let end = start.checked_add(len).ok_or_else(out_of_bounds)?;
        let slice = self.bytes.get(start..end).ok_or_else(out_of_bounds)?;
        if length > 0 {
            let lowest = self
                .lowest_data_offset
                .get()
                .map_or(data_offset, |l| l.min(data_offset));
            self.lowest_data_offset.set(Some(lowest));
            let data_end = data_offset.saturating_add(length);
            self.highest_data_end
                .set(self.highest_data_end.get().max(data_end));
        }
        Ok(slice)
    }

    /// The bytes this structure spans so far: its static part, or up to the
    /// end of its furthest data item if that lies beyond, rounded up to 4.
    pub fn extent(&self) -> usize {
        let furthest = usize::try_from(self.highest_data_end.get()).unwrap_or(usize::MAX);
        let end = self.position().max(furthest);
        end.saturating_add(crate::tlv::padding_for(end))
    }

    /// Bytes from `offset` to the end of the buffer, checked.
    fn tail(&self, data_offset: u32) -> Result<&'a [u8], PayloadErrorKind> {
        self.region(u64::from(data_offset), 0)?;
        Ok(self.bytes.get(data_offset as usize..).unwrap_or_default())
    }

    /// A fixed-size field in the static part.
    pub fn inline<T: Inline>(&mut self, field: &str) -> Result<T, PayloadError> {
        let at = self.position();
        let result = T::read_inline(&mut self.cursor);
        self.named(field, at, result)
    }

    /// A `u32` that counts the elements of a later field.
    pub fn count(&mut self, field: &str) -> Result<u32, PayloadError> {
        self.inline::<u32>(field)
    }

    fn ol_pair(&mut self) -> Result<(u32, u32), PayloadError> {
        Ok((self.cursor.u32()?, self.cursor.u32()?))
    }

    fn ol_bytes(&mut self) -> Result<&'a [u8], PayloadError> {
        let at = self.position();
        let (data_offset, length) = self.ol_pair()?;
        if length == 0 {
            return Ok(&[]);
        }
        self.region(u64::from(data_offset), u64::from(length))
            .map_err(|kind| PayloadError::new(at, kind))
    }

    /// A UTF-16LE string given by an offset/length pair.
    ///
    /// Invalid UTF-16 (lone surrogates) is replaced with U+FFFD rather than
    /// refused: a firmware string with one bad character should not make the
    /// whole answer unreadable.
    pub fn string(&mut self, field: &str) -> Result<String, PayloadError> {
        let at = self.position();
        let result = self.ol_bytes().and_then(|bytes| decode_utf16(bytes, at));
        self.named(field, at, result)
    }

    /// Bytes given by an offset/length pair.
    pub fn bytes(&mut self, field: &str) -> Result<Vec<u8>, PayloadError> {
        let at = self.position();
        let result = self.ol_bytes().map(<[u8]>::to_vec);
        self.named(field, at, result)
    }

    /// A nested structure given by an offset/length pair.
    pub fn nested<T: Payload>(&mut self, field: &str) -> Result<T, PayloadError> {
        let at = self.position();
        let result = self.ol_pair().and_then(|(data_offset, length)| {
            self.region(u64::from(data_offset), u64::from(length))
                .map_err(|kind| PayloadError::new(at, kind))?;
            let inner = self
                .tail(data_offset)
                .map_err(|kind| PayloadError::new(at, kind))?;
            T::decode_with(inner, &self.budget)
        });
        self.named(field, at, result)
    }

    /// A fixed-size value given by an offset alone; offset 0 means absent.
    pub fn reference<T: Inline>(&mut self, field: &str) -> Result<Option<T>, PayloadError> {
        let at = self.position();
        let result = self.cursor.u32().and_then(|data_offset| {
            if data_offset == 0 {
                return Ok(None);
            }
            let bytes = self
                .region(u64::from(data_offset), T::SIZE as u64)
                .map_err(|kind| PayloadError::new(at, kind))?;
            T::read_inline(&mut Cursor::new(bytes)).map(Some)
        });
        self.named(field, at, result)
    }

    fn check_count(
        &self,
        count: u32,
        element_size: usize,
        available: usize,
        at: usize,
    ) -> Result<usize, PayloadError> {
        let count_usize = count as usize;
        // Refuse counts the buffer cannot hold *before* allocating for them, so a
        // hostile count cannot make us reserve gigabytes.
        if count_usize.saturating_mul(element_size.max(1)) > available {
            return Err(PayloadError::new(
                at,
                PayloadErrorKind::CountTooLarge {
                    count,
                    element_size,
                    available,
                },
            ));
        }
        Ok(count_usize)
    }

    /// `count` fixed-size elements stored contiguously at an offset (offset 0 if empty).
    pub fn array_at_offset<T: Inline>(
        &mut self,
        field: &str,
        count: u32,
    ) -> Result<Vec<T>, PayloadError> {
        let at = self.position();
        let result = self.cursor.u32().and_then(|data_offset| {
            if count == 0 {
                return Ok(Vec::new());
            }
            let total = u64::from(count) * T::SIZE as u64;
            let bytes = self
                .region(u64::from(data_offset), total)
                .map_err(|kind| PayloadError::new(at, kind))?;
            let mut cursor = Cursor::new(bytes);
            let mut items = Vec::with_capacity(count as usize);
            for index in 0..count {
                items.push(
                    T::read_inline(&mut cursor).map_err(|e| e.within(&format!("[{index}]")))?,
                );
            }
            Ok(items)
        });
        self.named(field, at, result)
    }

    /// `count` fixed-size elements directly in the static part.
    pub fn inline_array<T: Inline>(
        &mut self,
        field: &str,
        count: u32,
    ) -> Result<Vec<T>, PayloadError> {
        let at = self.position();
        let result = self
            .check_count(count, T::SIZE, self.cursor.remaining(), at)
            .and_then(|count| {
                let mut items = Vec::with_capacity(count);
                for index in 0..count {
                    items.push(
                        T::read_inline(&mut self.cursor)
                            .map_err(|e| e.within(&format!("[{index}]")))?,
                    );
                }
                Ok(items)
            });
        self.named(field, at, result)
    }

    /// `count` offset/length pairs in the static part, each pointing at a structure.
    pub fn struct_list<T: Payload>(
        &mut self,
        field: &str,
        count: u32,
    ) -> Result<Vec<T>, PayloadError> {
        self.ol_list(field, count, |reader, at, data_offset, length| {
            reader
                .region(u64::from(data_offset), u64::from(length))
                .map_err(|kind| PayloadError::new(at, kind))?;
            // The element's own offsets are relative to its start; its data may
            // (on some firmware) lie past its declared length, so it may read up to
            // the end of the enclosing buffer.
            let inner = reader
                .tail(data_offset)
                .map_err(|kind| PayloadError::new(at, kind))?;
            T::decode_with(inner, &reader.budget)
        })
    }

    /// `count` offset/length pairs in the static part, each pointing at a string.
    pub fn string_list(&mut self, field: &str, count: u32) -> Result<Vec<String>, PayloadError> {
        self.ol_list(field, count, |reader, at, data_offset, length| {
            if length == 0 {
                return Ok(String::new());
            }
            let bytes = reader
                .region(u64::from(data_offset), u64::from(length))
                .map_err(|kind| PayloadError::new(at, kind))?;
            decode_utf16(bytes, at)
        })
    }

    fn ol_list<T>(
        &mut self,
        field: &str,
        count: u32,
        mut read_one: impl FnMut(&Self, usize, u32, u32) -> Result<T, PayloadError>,
    ) -> Result<Vec<T>, PayloadError> {
        let at = self.position();
        let result = self
            .check_count(count, 8, self.cursor.remaining(), at)
            .and_then(|count| {
                let mut items = Vec::with_capacity(count);
                for index in 0..count {
                    let pair_at = self.position();
                    let (data_offset, length) = self.ol_pair()?;
                    items.push(
                        read_one(self, pair_at, data_offset, length)
                            .map_err(|e| e.within(&format!("[{index}]")))?,
                    );
                }
                Ok(items)
            });
        self.named(field, at, result)
    }

    /// Bytes given by an offset alone, their length by an earlier field.
    pub fn bytes_at_offset(&mut self, field: &str, length: u32) -> Result<Vec<u8>, PayloadError> {
        let at = self.position();
        let result = self.cursor.u32().and_then(|data_offset| {
            if length == 0 {
                return Ok(Vec::new());
            }
            self.region(u64::from(data_offset), u64::from(length))
                .map(<[u8]>::to_vec)
                .map_err(|kind| PayloadError::new(at, kind))
        });
        self.named(field, at, result)
    }

    /// A structure given by an offset/length pair that may be absent:
    /// offset 0 means none (the length is then ignored, as libmbim does).
    pub fn nested_optional<T: Payload>(&mut self, field: &str) -> Result<Option<T>, PayloadError> {
        let at = self.position();
        let result = self.ol_pair().and_then(|(data_offset, length)| {
            if data_offset == 0 {
                return Ok(None);
            }
            self.region(u64::from(data_offset), u64::from(length))
                .map_err(|kind| PayloadError::new(at, kind))?;
            let inner = self
                .tail(data_offset)
                .map_err(|kind| PayloadError::new(at, kind))?;
            T::decode_with(inner, &self.budget).map(Some)
        });
        self.named(field, at, result)
    }

    /// An offset/length pair to a count followed by that many structures laid
    /// back to back, each followed by its own data (Microsoft's struct arrays);
    /// offset 0 or a count of 0 is an empty list.
    pub fn nested_list<T: Delimited>(&mut self, field: &str) -> Result<Vec<T>, PayloadError> {
        let at = self.position();
        let result = self.ol_pair().and_then(|(data_offset, length)| {
            if data_offset == 0 {
                return Ok(Vec::new());
            }
            let error = |kind| PayloadError::new(at, kind);
            self.locate(u64::from(data_offset), u64::from(length))
                .map_err(error)?;
            // Elements may run past the declared length on some firmware, as
            // with every nested structure: they may read to the buffer's end.
            let list = self.tail(data_offset).map_err(error)?;
            let count = Cursor::new(list)
                .u32()
                .map_err(|e| PayloadError::new(at, e.kind))?;
            self.locate(u64::from(data_offset), 4).map_err(error)?;
            // Each element takes at least 4 bytes: a count the list cannot
            // hold is refused before anything is allocated for it.
            let available = list.len().saturating_sub(4);
            let count = self.check_count(count, 4, available, at)?;
            let mut items = Vec::with_capacity(count);
            let mut position = 4usize;
            for index in 0..count {
                let element = list.get(position..).unwrap_or_default();
                let (item, extent) = T::decode_prefix_with(element, &self.budget)
                    .map_err(|e| e.within(&format!("[{index}]")))?;
                if extent == 0 {
                    return Err(PayloadError::new(
                        position,
                        PayloadErrorKind::Invalid("an element of no bytes".to_owned()),
                    )
                    .within(&format!("[{index}]")));
                }
                // Charged as read, so lists sharing their bytes cannot
                // amplify the work past the budget.
                self.budget
                    .charge(extent as u64)
                    .map_err(|kind| PayloadError::new(position, kind))?;
                position = position.saturating_add(extent);
                items.push(item);
            }
            Ok(items)
        });
        self.named(field, at, result)
    }

    /// `count` bytes directly in the static part, followed by the padding
    /// to 4 bytes when the buffer holds it.
    pub fn inline_bytes(&mut self, field: &str, count: u32) -> Result<Vec<u8>, PayloadError> {
        let at = self.position();
        let result = self
            .check_count(count, 1, self.cursor.remaining(), at)
            .and_then(|count| {
                let bytes = self.cursor.take(count)?.to_vec();
                let padding = crate::tlv::padding_for(count).min(self.cursor.remaining());
                self.cursor.take(padding)?;
                Ok(bytes)
            });
        self.named(field, at, result)
    }

    /// A UTF-8 string given by an offset/length pair (the MS UICC service's
    /// application names). Trailing NULs are dropped and invalid UTF-8
    /// becomes U+FFFD, as for UTF-16 strings.
    pub fn utf8_string(&mut self, field: &str) -> Result<String, PayloadError> {
        let at = self.position();
        let result = self.ol_bytes().map(|bytes| {
            let end = bytes
                .iter()
                .rposition(|byte| *byte != 0)
                .map_or(0, |last| last + 1);
            String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
        });
        self.named(field, at, result)
    }

    /// One TLV information element directly in the static part (MBIMEx 3.0).
    pub fn tlv(&mut self, field: &str) -> Result<crate::tlv::Tlv, PayloadError> {
        let at = self.position();
        let result = self.tlv_repr().map(crate::tlv::Tlv::from);
        self.named(field, at, result)
    }

    fn tlv_repr(&mut self) -> Result<crate::tlv::TlvRepr<'a>, PayloadError> {
        let at = self.position();
        let (repr, taken) = crate::tlv::TlvRepr::parse_prefix(self.cursor.peek_rest())
            .map_err(|error| PayloadError::new(at, PayloadErrorKind::Tlv(error)))?;
        self.cursor.take(taken)?;
        Ok(repr)
    }

    /// A string as a WCHAR_STR information element in the static part.
    pub fn tlv_string(&mut self, field: &str) -> Result<String, PayloadError> {
        let at = self.position();
        let result = self.tlv_repr().and_then(|repr| {
            crate::tlv::Tlv::from(repr)
                .as_string()
                .map_err(|error| PayloadError::new(at, PayloadErrorKind::Tlv(error)))
        });
        self.named(field, at, result)
    }

    /// A list of u16 as a UINT16_TBL information element in the static part.
    pub fn tlv_u16_table(&mut self, field: &str) -> Result<Vec<u16>, PayloadError> {
        let at = self.position();
        let result = self.tlv_repr().and_then(|repr| {
            crate::tlv::Tlv::from(repr)
                .as_u16_table()
                .map_err(|error| PayloadError::new(at, PayloadErrorKind::Tlv(error)))
        });
        self.named(field, at, result)
    }

    /// Information elements one after another to the end of the buffer (the
    /// "unnamed IEs" that close MBIMEx 3.0 payloads). Fewer bytes than a TLV
    /// header at the very end are ignored, as libmbim ignores them.
    pub fn tlv_list(&mut self, field: &str) -> Result<Vec<crate::tlv::Tlv>, PayloadError> {
        let at = self.position();
        let rest = self.cursor.peek_rest();
        let mut count = 0usize;
        // Counted first, so the list is allocated once at its exact size.
        for element in crate::tlv::iter(rest) {
            match element {
                Ok(_) => count += 1,
                Err((_, crate::tlv::TlvError::Truncated { .. })) => break,
                Err((offset, error)) => {
                    let error = PayloadError::new(at + offset, PayloadErrorKind::Tlv(error));
                    return Err(error.within(&format!("[{count}]")).within(field));
                }
            }
        }
        let mut items = Vec::with_capacity(count);
        for (_, repr) in crate::tlv::iter(rest).take(count).flatten() {
            items.push(crate::tlv::Tlv::from(repr));
        }
        let remaining = self.cursor.remaining();
        let result = self.cursor.take(remaining).map(|_| items);
        self.named(field, at, result)
    }

    /// Everything from the current position to the end of the buffer.
    pub fn rest(&mut self, field: &str) -> Result<Vec<u8>, PayloadError> {
        let at = self.position();
        let remaining = self.cursor.remaining();
        let result = self.cursor.take(remaining).map(<[u8]>::to_vec);
        self.named(field, at, result)
    }
}

impl StructReader<'_> {
    /// Checks, once every field is read, that no data item lies inside the
    /// static part: an offset pointing there would decode the structure's own
    /// fields as data, which only malformed (or hostile) firmware sends.
    pub fn finish(&self) -> Result<(), PayloadError> {
        let static_end = self.position();
        match self.lowest_data_offset.get() {
            Some(lowest) if lowest < static_end as u64 => Err(PayloadError::new(
                usize::try_from(lowest).unwrap_or(usize::MAX),
                PayloadErrorKind::Invalid(format!(
                    "data at 0x{lowest:X} lies inside the fixed part, which ends at 0x{static_end:X}"
                )),
            )),
            _ => Ok(()),
        }
    }
}

fn decode_utf16(bytes: &[u8], at: usize) -> Result<String, PayloadError> {
    if bytes.len() % 2 != 0 {
        return Err(PayloadError::new(
            at,
            PayloadErrorKind::OddStringLength(u32::try_from(bytes.len()).unwrap_or(u32::MAX)),
        ));
    }
    let units = bytes.chunks_exact(2).map(|pair| match pair {
        [low, high] => u16::from_le_bytes([*low, *high]),
        _ => 0,
    });
    Ok(char::decode_utf16(units)
        .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect())
}

/// Builds one structure: a static part and a data buffer, offsets fixed up at the end.
#[derive(Debug, Default)]
pub struct StructWriter {
    fixed: Vec<u8>,
    data: Vec<u8>,
    /// Positions in `fixed` of offsets that are relative to the data buffer
    /// until [`finish`](Self::finish) adds the static part's length.
    fixups: Vec<usize>,
}

/// Lengths and counts are `u32` on the wire; a host-built payload never nears
/// 4 GiB (control messages are bounded by wMaxControlMessage and fragmented),
/// so saturating is only a guard against nonsense, never a silent truncation of
/// real data.
fn wire_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl StructWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fixed-size field.
    pub fn inline<T: Inline>(&mut self, value: &T) {
        value.write_inline(&mut self.fixed);
    }

    /// A count of the elements of a later field.
    pub fn count(&mut self, count: usize) {
        self.fixed.extend_from_slice(&wire_u32(count).to_le_bytes());
    }

    fn offset_to_data(&mut self) {
        self.fixups.push(self.fixed.len());
        let data_offset = wire_u32(self.data.len());
        self.fixed.extend_from_slice(&data_offset.to_le_bytes());
    }

    fn pad_data(&mut self) {
        while self.data.len() % 4 != 0 {
            self.data.push(0);
        }
    }

    fn ol_data(&mut self, bytes: &[u8], pad: bool) {
        if bytes.is_empty() {
            self.fixed.extend_from_slice(&[0; 8]);
            return;
        }
        self.offset_to_data();
        self.fixed
            .extend_from_slice(&wire_u32(bytes.len()).to_le_bytes());
        self.data.extend_from_slice(bytes);
        if pad {
            self.pad_data();
        }
    }

    /// A UTF-16LE string as an offset/length pair.
    pub fn string(&mut self, text: &str) {
        let bytes = encode_utf16(text);
        self.ol_data(&bytes, true);
    }

    /// Bytes as an offset/length pair.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.ol_data(bytes, true);
    }

    /// A nested structure as an offset/length pair.
    pub fn nested<T: Payload>(&mut self, value: &T) {
        let bytes = value.encode();
        self.ol_data(&bytes, true);
    }

    /// A fixed-size value by offset alone (offset 0 when absent).
    pub fn reference<T: Inline>(&mut self, value: Option<&T>) {
        match value {
            None => self.fixed.extend_from_slice(&[0; 4]),
            Some(value) => {
                self.offset_to_data();
                value.write_inline(&mut self.data);
            }
        }
    }

    /// Fixed-size elements stored contiguously at an offset (offset 0 if empty).
    pub fn array_at_offset<T: Inline>(&mut self, items: &[T]) {
        if items.is_empty() {
            self.fixed.extend_from_slice(&[0; 4]);
            return;
        }
        self.offset_to_data();
        for item in items {
            item.write_inline(&mut self.data);
        }
    }

    /// Fixed-size elements directly in the static part.
    pub fn inline_array<T: Inline>(&mut self, items: &[T]) {
        for item in items {
            item.write_inline(&mut self.fixed);
        }
    }

    /// Offset/length pairs in the static part, each pointing at a structure.
    pub fn struct_list<T: Payload>(&mut self, items: &[T]) {
        for item in items {
            let bytes = item.encode();
            self.ol_data(&bytes, true);
        }
    }

    /// Offset/length pairs in the static part, each pointing at a string.
    pub fn string_list(&mut self, items: &[String]) {
        for item in items {
            self.string(item);
        }
    }

    /// Bytes by offset alone; their length is written by an earlier count field.
    pub fn bytes_at_offset(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            self.fixed.extend_from_slice(&[0; 4]);
            return;
        }
        self.offset_to_data();
        self.data.extend_from_slice(bytes);
        self.pad_data();
    }

    /// A structure by offset/length pair, or offset and length 0 when absent.
    pub fn nested_optional<T: Payload>(&mut self, value: Option<&T>) {
        match value {
            None => self.fixed.extend_from_slice(&[0; 8]),
            Some(value) => self.nested(value),
        }
    }

    /// An offset/length pair to a count and the structures back to back,
    /// each padded to 4 bytes (offset and length 0 when empty).
    pub fn nested_list<T: Payload>(&mut self, items: &[T]) {
        if items.is_empty() {
            self.fixed.extend_from_slice(&[0; 8]);
            return;
        }
        let mut list = Vec::new();
        list.extend_from_slice(&wire_u32(items.len()).to_le_bytes());
        for item in items {
            item.encode_into(&mut list);
            list.resize(list.len() + crate::tlv::padding_for(list.len()), 0);
        }
        self.ol_data(&list, true);
    }

    /// Bytes directly in the static part, padded to 4 (their count is
    /// written by an earlier count field).
    pub fn inline_bytes(&mut self, bytes: &[u8]) {
        self.fixed.extend_from_slice(bytes);
        let padding = crate::tlv::padding_for(bytes.len());
        self.fixed.resize(self.fixed.len() + padding, 0);
    }

    /// A UTF-8 string as an offset/length pair (no terminating NUL).
    pub fn utf8_string(&mut self, text: &str) {
        self.ol_data(text.as_bytes(), true);
    }

    /// One TLV information element in the static part.
    pub fn tlv(&mut self, tlv: &crate::tlv::Tlv) {
        tlv.repr().emit_into(&mut self.fixed);
    }

    /// A string as a WCHAR_STR information element in the static part.
    pub fn tlv_string(&mut self, text: &str) {
        self.tlv(&crate::tlv::Tlv::string(text));
    }

    /// A list of u16 as a UINT16_TBL information element in the static part.
    pub fn tlv_u16_table(&mut self, values: &[u16]) {
        self.tlv(&crate::tlv::Tlv::u16_table(values));
    }

    /// Information elements one after another (must be the last field).
    pub fn tlv_list(&mut self, tlvs: &[crate::tlv::Tlv]) {
        for tlv in tlvs {
            self.tlv(tlv);
        }
    }

    /// Bytes running to the end of the structure (must be the last field).
    pub fn rest(&mut self, bytes: &[u8]) {
        self.fixed.extend_from_slice(bytes);
    }

    /// Appends the finished structure to `out`.
    pub fn finish(self, out: &mut Vec<u8>) {
        let StructWriter {
            mut fixed,
            data,
            fixups,
        } = self;
        let static_length = wire_u32(fixed.len());
        for position in fixups {
            if let Some(slot) = fixed.get_mut(position..position + 4) {
                if let [a, b, c, d] = *slot {
                    let relative = u32::from_le_bytes([a, b, c, d]);
                    slot.copy_from_slice(&relative.saturating_add(static_length).to_le_bytes());
                }
            }
        }
        out.extend_from_slice(&fixed);
        out.extend_from_slice(&data);
    }
}

/// UTF-16LE bytes of `text`.
pub fn encode_utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::basic_connect::{Provider, Providers};

    #[test]
    fn data_pointing_into_the_fixed_part_is_refused() {
        // A Provider whose ProviderId offset (0x04) points at its own fields.
        let mut wire = Vec::new();
        for word in [0x04u32, 0x08, 0, 0, 0, 1, 0, 0] {
            wire.extend_from_slice(&word.to_le_bytes());
        }
        let error = Provider::decode(&wire).unwrap_err();
        assert_eq!(error.path, "Provider");
        assert_eq!(
            error.to_string(),
            "Provider at 0x04: data at 0x4 lies inside the fixed part, which ends at 0x20"
        );
    }

    #[test]
    fn a_hostile_count_is_refused_before_allocating() {
        let mut wire = u32::MAX.to_le_bytes().to_vec();
        wire.extend_from_slice(&[0; 8]);
        let error = Providers::decode(&wire).unwrap_err();
        assert!(
            matches!(
                error.kind,
                PayloadErrorKind::CountTooLarge {
                    count: u32::MAX,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(error.path, "Providers.providers");
    }

    #[test]
    fn writer_puts_data_after_the_static_part_padded_and_empty_items_at_zero() {
        let mut writer = StructWriter::new();
        writer.string("abc");
        writer.string("");
        writer.inline(&7u32);
        let mut out = Vec::new();
        writer.finish(&mut out);
        let expected: Vec<u8> = [
            &20u32.to_le_bytes()[..],
            &6u32.to_le_bytes(),
            &[0; 8],
            &7u32.to_le_bytes(),
            &[b'a', 0, b'b', 0, b'c', 0, 0, 0],
        ]
        .concat();
        assert_eq!(out, expected);
    }
}
