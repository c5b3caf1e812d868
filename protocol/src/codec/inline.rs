//! Fixed-size values read and written where they sit in a static part,
//! through a bounds-checked cursor.

use super::{PayloadError, PayloadErrorKind};
use crate::uuid::Uuid;
use std::net::{Ipv4Addr, Ipv6Addr};

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
