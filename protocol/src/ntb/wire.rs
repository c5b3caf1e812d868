//! Field layouts of NTH16/NTH32/NDP16/NDP32 (NCM 1.0 §3.2–3.3), and checked
//! views over byte buffers holding them.
//!
//! Offsets are defined once here; [`Nth`] and [`Ndp`] read and write fields
//! through them. `new_checked` refuses a buffer too short for the fixed part,
//! so the getters of a checked view always read real bytes; on an unchecked
//! view a missing field reads as 0 and a write to it is dropped, never a panic.

use super::NtbFormat;

/// Little-endian `u16` at `at`, if the buffer holds it.
#[inline(always)]
pub(crate) fn le16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

/// Little-endian `u32` at `at`, if the buffer holds it.
#[inline(always)]
pub(crate) fn le32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Writes a little-endian `u16` at `at`; `None` if the buffer is too short.
#[inline(always)]
pub(crate) fn put16(buf: &mut [u8], at: usize, value: u16) -> Option<()> {
    buf.get_mut(at..at.checked_add(2)?)?
        .copy_from_slice(&value.to_le_bytes());
    Some(())
}

/// Writes a little-endian `u32` at `at`; `None` if the buffer is too short.
#[inline(always)]
pub(crate) fn put32(buf: &mut [u8], at: usize, value: u32) -> Option<()> {
    buf.get_mut(at..at.checked_add(4)?)?
        .copy_from_slice(&value.to_le_bytes());
    Some(())
}

/// NTH16 (NCM 1.0 Table 3-1).
pub mod nth16 {
    /// `dwSignature`, `u32`.
    pub const SIGNATURE: usize = 0;
    /// `wHeaderLength`, `u16`.
    pub const HEADER_LENGTH: usize = 4;
    /// `wSequence`, `u16`.
    pub const SEQUENCE: usize = 6;
    /// `wBlockLength`, `u16`.
    pub const BLOCK_LENGTH: usize = 8;
    /// `wNdpIndex`, `u16`.
    pub const NDP_INDEX: usize = 10;
    /// Size of the header, and the only valid `wHeaderLength`.
    pub const LEN: usize = 12;
    /// [`LEN`] as the `wHeaderLength` field holds it.
    pub const LEN_U16: u16 = 12;
    /// `"NCMH"`.
    pub const SIGN: u32 = u32::from_le_bytes(*b"NCMH");
}

/// NTH32 (NCM 1.0 Table 3-2).
pub mod nth32 {
    /// `dwSignature`, `u32`.
    pub const SIGNATURE: usize = 0;
    /// `wHeaderLength`, `u16`.
    pub const HEADER_LENGTH: usize = 4;
    /// `wSequence`, `u16`.
    pub const SEQUENCE: usize = 6;
    /// `dwBlockLength`, `u32`.
    pub const BLOCK_LENGTH: usize = 8;
    /// `dwNdpIndex`, `u32`.
    pub const NDP_INDEX: usize = 12;
    /// Size of the header, and the only valid `wHeaderLength`.
    pub const LEN: usize = 16;
    /// [`LEN`] as the `wHeaderLength` field holds it.
    pub const LEN_U16: u16 = 16;
    /// `"ncmh"`.
    pub const SIGN: u32 = u32::from_le_bytes(*b"ncmh");
}

/// NDP16 (NCM 1.0 Table 3-3).
pub mod ndp16 {
    /// `dwSignature`, `u32`.
    pub const SIGNATURE: usize = 0;
    /// `wLength`, `u16`: fixed part plus every entry, terminator included.
    pub const LENGTH: usize = 4;
    /// `wNextNdpIndex`, `u16`; 0 ends the chain.
    pub const NEXT_NDP_INDEX: usize = 6;
    /// Size of the fixed part; the entries follow.
    pub const HEADER_LEN: usize = 8;
    /// Size of one entry.
    pub const ENTRY_LEN: usize = 4;
    /// `wDatagramIndex`, `u16`, within an entry.
    pub const ENTRY_INDEX: usize = 0;
    /// `wDatagramLength`, `u16`, within an entry.
    pub const ENTRY_LENGTH: usize = 2;
}

/// NDP32 (NCM 1.0 Table 3-4).
pub mod ndp32 {
    /// `dwSignature`, `u32`.
    pub const SIGNATURE: usize = 0;
    /// `wLength`, `u16`: fixed part plus every entry, terminator included.
    pub const LENGTH: usize = 4;
    /// `wReserved6`, `u16`.
    pub const RESERVED6: usize = 6;
    /// `dwNextNdpIndex`, `u32`; 0 ends the chain.
    pub const NEXT_NDP_INDEX: usize = 8;
    /// `dwReserved12`, `u32`.
    pub const RESERVED12: usize = 12;
    /// Size of the fixed part; the entries follow.
    pub const HEADER_LEN: usize = 16;
    /// Size of one entry.
    pub const ENTRY_LEN: usize = 8;
    /// `dwDatagramIndex`, `u32`, within an entry.
    pub const ENTRY_INDEX: usize = 0;
    /// `dwDatagramLength`, `u32`, within an entry.
    pub const ENTRY_LENGTH: usize = 4;
}

/// A transfer header (NTH16 or NTH32) at the start of `buffer`.
#[derive(Debug, Clone, Copy)]
pub struct Nth<T: AsRef<[u8]>> {
    buffer: T,
    format: NtbFormat,
}

impl<T: AsRef<[u8]>> Nth<T> {
    /// Wraps a buffer without looking at it.
    pub const fn new_unchecked(buffer: T, format: NtbFormat) -> Self {
        Nth { buffer, format }
    }

    /// Wraps a buffer whose signature says which format it is; `None` if the
    /// signature is neither `"NCMH"` nor `"ncmh"` or the buffer is shorter
    /// than that header.
    pub fn new_checked(buffer: T) -> Option<Self> {
        let format = match le32(buffer.as_ref(), nth16::SIGNATURE)? {
            nth16::SIGN => NtbFormat::Ntb16,
            nth32::SIGN => NtbFormat::Ntb32,
            _ => return None,
        };
        (buffer.as_ref().len() >= format.nth_len()).then_some(Nth { buffer, format })
    }

    /// The format, from the signature.
    pub const fn format(&self) -> NtbFormat {
        self.format
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// `dwSignature`.
    pub fn signature(&self) -> u32 {
        le32(self.buffer.as_ref(), nth16::SIGNATURE).unwrap_or(0)
    }

    /// `wHeaderLength`.
    pub fn header_length(&self) -> u16 {
        le16(self.buffer.as_ref(), nth16::HEADER_LENGTH).unwrap_or(0)
    }

    /// `wSequence`.
    pub fn sequence(&self) -> u16 {
        le16(self.buffer.as_ref(), nth16::SEQUENCE).unwrap_or(0)
    }

    /// `wBlockLength` / `dwBlockLength`.
    pub fn block_length(&self) -> u32 {
        let buf = self.buffer.as_ref();
        match self.format {
            NtbFormat::Ntb16 => le16(buf, nth16::BLOCK_LENGTH).map(u32::from),
            NtbFormat::Ntb32 => le32(buf, nth32::BLOCK_LENGTH),
        }
        .unwrap_or(0)
    }

    /// `wNdpIndex` / `dwNdpIndex`.
    pub fn ndp_index(&self) -> u32 {
        let buf = self.buffer.as_ref();
        match self.format {
            NtbFormat::Ntb16 => le16(buf, nth16::NDP_INDEX).map(u32::from),
            NtbFormat::Ntb32 => le32(buf, nth32::NDP_INDEX),
        }
        .unwrap_or(0)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Nth<T> {
    /// Writes the signature and `wHeaderLength` of the view's format.
    pub fn init(&mut self) {
        let (sign, len) = match self.format {
            NtbFormat::Ntb16 => (nth16::SIGN, nth16::LEN_U16),
            NtbFormat::Ntb32 => (nth32::SIGN, nth32::LEN_U16),
        };
        let buf = self.buffer.as_mut();
        let _ = put32(buf, nth16::SIGNATURE, sign);
        let _ = put16(buf, nth16::HEADER_LENGTH, len);
    }

    /// Sets `wSequence`.
    pub fn set_sequence(&mut self, value: u16) {
        let _ = put16(self.buffer.as_mut(), nth16::SEQUENCE, value);
    }

    /// Sets the block length; `None` if it does not fit the format's field.
    pub fn set_block_length(&mut self, value: u32) -> Option<()> {
        match self.format {
            NtbFormat::Ntb16 => put16(
                self.buffer.as_mut(),
                nth16::BLOCK_LENGTH,
                u16::try_from(value).ok()?,
            ),
            NtbFormat::Ntb32 => put32(self.buffer.as_mut(), nth32::BLOCK_LENGTH, value),
        }
    }

    /// Sets the first NDP's index; `None` if it does not fit the format's field.
    pub fn set_ndp_index(&mut self, value: u32) -> Option<()> {
        match self.format {
            NtbFormat::Ntb16 => put16(
                self.buffer.as_mut(),
                nth16::NDP_INDEX,
                u16::try_from(value).ok()?,
            ),
            NtbFormat::Ntb32 => put32(self.buffer.as_mut(), nth32::NDP_INDEX, value),
        }
    }
}

/// A datagram pointer table (NDP16 or NDP32) at the start of `buffer`.
#[derive(Debug, Clone, Copy)]
pub struct Ndp<T: AsRef<[u8]>> {
    buffer: T,
    format: NtbFormat,
}

impl<T: AsRef<[u8]>> Ndp<T> {
    /// Wraps a buffer without looking at it.
    pub const fn new_unchecked(buffer: T, format: NtbFormat) -> Self {
        Ndp { buffer, format }
    }

    /// Wraps a buffer that holds at least the fixed part of an NDP.
    ///
    /// This checks only the length of the buffer: `wLength` and the entries
    /// are the parser's business, as their limits depend on the whole block.
    pub fn new_checked(buffer: T, format: NtbFormat) -> Option<Self> {
        (buffer.as_ref().len() >= format.ndp_header_len()).then_some(Ndp { buffer, format })
    }

    /// The format.
    pub const fn format(&self) -> NtbFormat {
        self.format
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// `dwSignature`, raw.
    pub fn signature(&self) -> u32 {
        le32(self.buffer.as_ref(), ndp16::SIGNATURE).unwrap_or(0)
    }

    /// `wLength`.
    pub fn length(&self) -> u16 {
        le16(self.buffer.as_ref(), ndp16::LENGTH).unwrap_or(0)
    }

    /// `wNextNdpIndex` / `dwNextNdpIndex`.
    pub fn next_ndp_index(&self) -> u32 {
        let buf = self.buffer.as_ref();
        match self.format {
            NtbFormat::Ntb16 => le16(buf, ndp16::NEXT_NDP_INDEX).map(u32::from),
            NtbFormat::Ntb32 => le32(buf, ndp32::NEXT_NDP_INDEX),
        }
        .unwrap_or(0)
    }

    /// Entry `n` as `(index, length)`, if the buffer holds it.
    ///
    /// This does not stop at `wLength` or at a terminator.
    pub fn entry(&self, n: usize) -> Option<(u32, u32)> {
        let at = n
            .checked_mul(self.format.entry_len())?
            .checked_add(self.format.ndp_header_len())?;
        read_entry(self.buffer.as_ref(), self.format, at)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ndp<T> {
    /// Writes the fixed part: signature, `wLength`, next index, and zeroes
    /// the NDP32 reserved fields. `None` if a value does not fit its field or
    /// the buffer is too short.
    pub fn write_header(&mut self, signature: u32, length: u16, next: u32) -> Option<()> {
        let format = self.format;
        let buf = self.buffer.as_mut();
        put32(buf, ndp16::SIGNATURE, signature)?;
        put16(buf, ndp16::LENGTH, length)?;
        match format {
            NtbFormat::Ntb16 => put16(buf, ndp16::NEXT_NDP_INDEX, u16::try_from(next).ok()?),
            NtbFormat::Ntb32 => {
                put16(buf, ndp32::RESERVED6, 0)?;
                put32(buf, ndp32::NEXT_NDP_INDEX, next)?;
                put32(buf, ndp32::RESERVED12, 0)
            }
        }
    }

    /// Writes entry `n`; `None` if a value does not fit or the buffer ends.
    pub fn set_entry(&mut self, n: usize, index: u32, length: u32) -> Option<()> {
        let at = n
            .checked_mul(self.format.entry_len())?
            .checked_add(self.format.ndp_header_len())?;
        write_entry(self.buffer.as_mut(), self.format, at, index, length)
    }
}

/// Reads the `(index, length)` entry starting at byte `at` of `buf`.
#[inline(always)]
pub(crate) fn read_entry(buf: &[u8], format: NtbFormat, at: usize) -> Option<(u32, u32)> {
    match format {
        NtbFormat::Ntb16 => {
            let bytes: [u8; 4] = buf.get(at..at.checked_add(4)?)?.try_into().ok()?;
            let [a, b, c, d] = bytes;
            Some((
                u32::from(u16::from_le_bytes([a, b])),
                u32::from(u16::from_le_bytes([c, d])),
            ))
        }
        NtbFormat::Ntb32 => {
            let bytes: [u8; 8] = buf.get(at..at.checked_add(8)?)?.try_into().ok()?;
            let [a, b, c, d, e, f, g, h] = bytes;
            Some((
                u32::from_le_bytes([a, b, c, d]),
                u32::from_le_bytes([e, f, g, h]),
            ))
        }
    }
}

/// Writes the `(index, length)` entry starting at byte `at` of `buf`.
#[inline(always)]
pub(crate) fn write_entry(
    buf: &mut [u8],
    format: NtbFormat,
    at: usize,
    index: u32,
    length: u32,
) -> Option<()> {
    match format {
        NtbFormat::Ntb16 => {
            let out = buf.get_mut(at..at.checked_add(4)?)?;
            let index = u16::try_from(index).ok()?.to_le_bytes();
            let length = u16::try_from(length).ok()?.to_le_bytes();
            out.copy_from_slice(&[index[0], index[1], length[0], length[1]]);
            Some(())
        }
        NtbFormat::Ntb32 => {
            let out = buf.get_mut(at..at.checked_add(8)?)?;
            let [a, b, c, d] = index.to_le_bytes();
            let [e, f, g, h] = length.to_le_bytes();
            out.copy_from_slice(&[a, b, c, d, e, f, g, h]);
            Some(())
        }
    }
}
