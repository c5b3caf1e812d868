//! Reading one structure from untrusted bytes: its static part through a
//! cursor, its data items through offsets and lengths checked against the
//! structure and the decode's budget.

use super::{Cursor, DecodeBudget, Delimited, Inline, Payload, PayloadError, PayloadErrorKind};
use std::cell::Cell;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Payload;
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
}
