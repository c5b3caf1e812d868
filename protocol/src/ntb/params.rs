//! The NTB parameter structure returned by GET_NTB_PARAMETERS (NCM 1.0
//! §6.2.1, Table 6-3), which MBIM 1.0 §6.2 reuses unchanged.

use super::wire::{le16, le32, put16, put32};
use super::NtbFormat;

/// Size of the structure, and the `wLength` a device reports.
pub const LEN: usize = 28;
/// [`LEN`] as the `wLength` field holds it.
const LEN_U16: u16 = 28;

/// Field offsets (NCM 1.0 Table 6-3).
mod field {
    pub(super) const LENGTH: usize = 0;
    pub(super) const FORMATS_SUPPORTED: usize = 2;
    pub(super) const IN_MAX_SIZE: usize = 4;
    pub(super) const IN_DIVISOR: usize = 8;
    pub(super) const IN_REMAINDER: usize = 10;
    pub(super) const IN_ALIGNMENT: usize = 12;
    pub(super) const RESERVED: usize = 14;
    pub(super) const OUT_MAX_SIZE: usize = 16;
    pub(super) const OUT_DIVISOR: usize = 20;
    pub(super) const OUT_REMAINDER: usize = 22;
    pub(super) const OUT_ALIGNMENT: usize = 24;
    pub(super) const OUT_MAX_DATAGRAMS: usize = 26;
}

/// The smallest `dwNtbInMaxSize` / `dwNtbOutMaxSize` NCM 1.0 allows.
pub const MIN_MAX_SIZE: u32 = 2048;

/// Which pipe a parameter is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Device to host (bulk IN).
    In,
    /// Host to device (bulk OUT).
    Out,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::In => "In",
            Direction::Out => "Out",
        })
    }
}

/// What was wrong with an NTB parameter structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtbParametersError {
    /// Fewer than 28 bytes.
    #[error("NTB parameters: {0} bytes, need 28")]
    Truncated(usize),
    /// `wLength` is not 28.
    #[error("NTB parameters at 0x00: wLength {0}, expected 28")]
    Length(u16),
    /// `bmNtbFormatsSupported` lacks NTB16, which every function must support.
    #[error("NTB parameters at 0x02: bmNtbFormatsSupported 0x{0:04X} lacks NTB16")]
    NoNtb16(u16),
    /// A maximum NTB size below the 2048 bytes NCM requires.
    #[error("NTB parameters: dwNtb{direction}MaxSize {value} is below the minimum {MIN_MAX_SIZE}")]
    MaxSizeTooSmall {
        /// Which pipe.
        direction: Direction,
        /// The value read.
        value: u32,
    },
    /// A divisor of 0.
    #[error("NTB parameters: wNdp{direction}Divisor is 0")]
    DivisorZero {
        /// Which pipe.
        direction: Direction,
    },
    /// A payload remainder not below its divisor, so no offset satisfies it.
    #[error("NTB parameters: wNdp{direction}PayloadRemainder {remainder} is not below wNdp{direction}Divisor {divisor}")]
    RemainderNotBelowDivisor {
        /// Which pipe.
        direction: Direction,
        /// The remainder.
        remainder: u16,
        /// The divisor.
        divisor: u16,
    },
    /// An NDP alignment that is not a power of two of at least 4.
    #[error("NTB parameters: wNdp{direction}Alignment {value} is not a power of two >= 4")]
    Alignment {
        /// Which pipe.
        direction: Direction,
        /// The value read.
        value: u16,
    },
}

/// The NTB parameter structure (GET_NTB_PARAMETERS response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtbParameters {
    /// `bmNtbFormatsSupported`: bit 0 NTB16, bit 1 NTB32.
    pub formats_supported: u16,
    /// `dwNtbInMaxSize`: largest IN block the device sends.
    pub in_max_size: u32,
    /// `wNdpInDivisor`.
    pub in_divisor: u16,
    /// `wNdpInPayloadRemainder`.
    pub in_payload_remainder: u16,
    /// `wNdpInAlignment`.
    pub in_alignment: u16,
    /// `dwNtbOutMaxSize`: largest OUT block the device accepts.
    pub out_max_size: u32,
    /// `wNdpOutDivisor`: OUT datagrams start at `offset % divisor == remainder`.
    pub out_divisor: u16,
    /// `wNdpOutPayloadRemainder`.
    pub out_payload_remainder: u16,
    /// `wNdpOutAlignment`: OUT NDPs start at a multiple of this.
    pub out_alignment: u16,
    /// `wNtbOutMaxDatagrams`: most datagrams per OUT block; 0 for no limit.
    pub out_max_datagrams: u16,
}

impl NtbParameters {
    /// Reads the structure from untrusted bytes, checking its length only;
    /// see [`Self::validate`] for the values. Bytes past 28 are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, NtbParametersError> {
        if bytes.len() < LEN {
            return Err(NtbParametersError::Truncated(bytes.len()));
        }
        let u16_at = |at| le16(bytes, at).unwrap_or(0);
        let u32_at = |at| le32(bytes, at).unwrap_or(0);
        let length = u16_at(field::LENGTH);
        if usize::from(length) != LEN {
            return Err(NtbParametersError::Length(length));
        }
        Ok(NtbParameters {
            formats_supported: u16_at(field::FORMATS_SUPPORTED),
            in_max_size: u32_at(field::IN_MAX_SIZE),
            in_divisor: u16_at(field::IN_DIVISOR),
            in_payload_remainder: u16_at(field::IN_REMAINDER),
            in_alignment: u16_at(field::IN_ALIGNMENT),
            out_max_size: u32_at(field::OUT_MAX_SIZE),
            out_divisor: u16_at(field::OUT_DIVISOR),
            out_payload_remainder: u16_at(field::OUT_REMAINDER),
            out_alignment: u16_at(field::OUT_ALIGNMENT),
            out_max_datagrams: u16_at(field::OUT_MAX_DATAGRAMS),
        })
    }

    /// The 28 wire bytes, reserved field zero.
    pub fn emit(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        // Every offset is a constant inside the 28-byte array.
        let _ = (|| {
            put16(&mut out, field::LENGTH, LEN_U16)?;
            put16(&mut out, field::FORMATS_SUPPORTED, self.formats_supported)?;
            put32(&mut out, field::IN_MAX_SIZE, self.in_max_size)?;
            put16(&mut out, field::IN_DIVISOR, self.in_divisor)?;
            put16(&mut out, field::IN_REMAINDER, self.in_payload_remainder)?;
            put16(&mut out, field::IN_ALIGNMENT, self.in_alignment)?;
            put16(&mut out, field::RESERVED, 0)?;
            put32(&mut out, field::OUT_MAX_SIZE, self.out_max_size)?;
            put16(&mut out, field::OUT_DIVISOR, self.out_divisor)?;
            put16(&mut out, field::OUT_REMAINDER, self.out_payload_remainder)?;
            put16(&mut out, field::OUT_ALIGNMENT, self.out_alignment)?;
            put16(&mut out, field::OUT_MAX_DATAGRAMS, self.out_max_datagrams)
        })();
        out
    }

    /// Whether the device supports `format`.
    pub const fn supports(&self, format: NtbFormat) -> bool {
        self.formats_supported & format.support_bit() != 0
    }

    /// Checks the values for ones no block could honour: the first problem
    /// found, IN before OUT.
    pub fn validate(&self) -> Result<(), NtbParametersError> {
        if !self.supports(NtbFormat::Ntb16) {
            return Err(NtbParametersError::NoNtb16(self.formats_supported));
        }
        check_direction(
            Direction::In,
            self.in_max_size,
            self.in_divisor,
            self.in_payload_remainder,
            self.in_alignment,
        )?;
        check_direction(
            Direction::Out,
            self.out_max_size,
            self.out_divisor,
            self.out_payload_remainder,
            self.out_alignment,
        )
    }
}

fn check_direction(
    direction: Direction,
    max_size: u32,
    divisor: u16,
    remainder: u16,
    alignment: u16,
) -> Result<(), NtbParametersError> {
    if max_size < MIN_MAX_SIZE {
        return Err(NtbParametersError::MaxSizeTooSmall {
            direction,
            value: max_size,
        });
    }
    if divisor == 0 {
        return Err(NtbParametersError::DivisorZero { direction });
    }
    if remainder >= divisor {
        return Err(NtbParametersError::RemainderNotBelowDivisor {
            direction,
            remainder,
            divisor,
        });
    }
    if !alignment.is_power_of_two() || alignment < 4 {
        return Err(NtbParametersError::Alignment {
            direction,
            value: alignment,
        });
    }
    Ok(())
}
