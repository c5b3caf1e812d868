//! Building one structure the way libmbim and Windows do: the static part,
//! then the data items in field order, each padded to four bytes.

use super::{Inline, Payload};

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
