//! NTB data framing: how IP packets travel over an MBIM function's bulk pipes.
//!
//! MBIM 1.0 §7 reuses the NCM Transfer Block of USB CDC NCM 1.0 §3. One USB
//! transfer carries one NTB: a transfer header (NTH16 `"NCMH"` or NTH32
//! `"ncmh"`) pointing at the first datagram pointer table (NDP16 / NDP32);
//! each NDP names one session by its signature (`IPS<n>` for IP session `n`,
//! `DSS<n>` for device service stream `n`), lists `(index, length)` pairs
//! locating that session's datagrams inside the block, and links to the next
//! NDP.
//!
//! * [`wire`]: checked views over the four headers, with every field offset
//!   defined once.
//! * [`Ntb`] / [`Datagrams`]: validating, zero-copy parsing of a received
//!   block ([`parse`]).
//! * [`NtbParameters`]: the GET_NTB_PARAMETERS response ([`params`]).
//! * [`NtbBuilder`]: aggregation of outgoing datagrams into blocks
//!   ([`builder`]).

pub mod builder;
pub mod params;
pub mod parse;
pub mod wire;

pub use builder::{BlockBuffer, BuildLimits, LimitsError, NtbBuilder, PushError};
pub use params::{Direction, NtbParameters, NtbParametersError};
pub use parse::{Datagram, Datagrams, NdpErrorKind, Ntb, NtbError, MAX_NDPS};

use std::fmt;

/// The two NTB layouts: 16-bit or 32-bit offsets and lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NtbFormat {
    /// NTH16 + NDP16; blocks up to 64 KiB. Every MBIM function supports it.
    Ntb16,
    /// NTH32 + NDP32; optional, announced in `bmNtbFormatsSupported`.
    Ntb32,
}

impl NtbFormat {
    /// Size of the transfer header (`wHeaderLength`).
    pub const fn nth_len(self) -> usize {
        match self {
            NtbFormat::Ntb16 => wire::nth16::LEN,
            NtbFormat::Ntb32 => wire::nth32::LEN,
        }
    }

    /// Size of an NDP's fixed part, before its entries.
    pub const fn ndp_header_len(self) -> usize {
        match self {
            NtbFormat::Ntb16 => wire::ndp16::HEADER_LEN,
            NtbFormat::Ntb32 => wire::ndp32::HEADER_LEN,
        }
    }

    /// Size of one `(index, length)` entry.
    pub const fn entry_len(self) -> usize {
        match self {
            NtbFormat::Ntb16 => wire::ndp16::ENTRY_LEN,
            NtbFormat::Ntb32 => wire::ndp32::ENTRY_LEN,
        }
    }

    /// The smallest legal `wLength` of an NDP: the fixed part, one datagram
    /// entry and the terminating zero entry (NCM 1.0 Tables 3-3 and 3-4).
    pub const fn ndp_min_len(self) -> usize {
        self.ndp_header_len() + 2 * self.entry_len()
    }

    /// The largest block this format can address.
    pub const fn max_block_len(self) -> usize {
        match self {
            NtbFormat::Ntb16 => u16::MAX as usize,
            NtbFormat::Ntb32 => u32::MAX as usize,
        }
    }

    /// The `bmNtbFormatsSupported` bit announcing this format.
    pub const fn support_bit(self) -> u16 {
        match self {
            NtbFormat::Ntb16 => 1,
            NtbFormat::Ntb32 => 2,
        }
    }

    /// `"NDP16"` or `"NDP32"`, as used in error messages.
    pub const fn ndp_name(self) -> &'static str {
        match self {
            NtbFormat::Ntb16 => "NDP16",
            NtbFormat::Ntb32 => "NDP32",
        }
    }

    /// `"NTH16"` or `"NTH32"`, as used in error messages.
    pub const fn nth_name(self) -> &'static str {
        match self {
            NtbFormat::Ntb16 => "NTH16",
            NtbFormat::Ntb32 => "NTH32",
        }
    }
}

/// The session an NDP carries, from its `dwSignature`.
///
/// MBIM puts the session id in the signature's top byte: NDP16 uses
/// `"IPS"`/`"DSS"` (`0x00535049` / `0x00535344` in Linux's `cdc.h`), NDP32 the
/// lowercase `"ips"`/`"dss"` (`0x00737069` / `0x00737364`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdpSignature {
    /// IP datagrams of session `n` (`IPS<n>` / `ips<n>`).
    Ips(u8),
    /// Device service stream `n` (`DSS<n>` / `dss<n>`).
    Dss(u8),
    /// Any other signature (e.g. plain NCM `"NCM0"`), kept raw.
    Unknown(u32),
}

/// Lower 24 bits of the NDP16 IP-session signature, `"IPS"`.
pub const NDP16_IPS_SIGN: u32 = 0x0053_5049;
/// Lower 24 bits of the NDP32 IP-session signature, `"ips"`.
pub const NDP32_IPS_SIGN: u32 = 0x0073_7069;
/// Lower 24 bits of the NDP16 device-service-stream signature, `"DSS"`.
pub const NDP16_DSS_SIGN: u32 = 0x0053_5344;
/// Lower 24 bits of the NDP32 device-service-stream signature, `"dss"`.
pub const NDP32_DSS_SIGN: u32 = 0x0073_7364;

impl NdpSignature {
    /// Decodes a raw `dwSignature` as found in an NDP of `format`.
    #[inline]
    pub const fn from_raw(format: NtbFormat, raw: u32) -> Self {
        let (ips, dss) = match format {
            NtbFormat::Ntb16 => (NDP16_IPS_SIGN, NDP16_DSS_SIGN),
            NtbFormat::Ntb32 => (NDP32_IPS_SIGN, NDP32_DSS_SIGN),
        };
        let session = raw.to_le_bytes()[3];
        match raw & 0x00FF_FFFF {
            low if low == ips => NdpSignature::Ips(session),
            low if low == dss => NdpSignature::Dss(session),
            _ => NdpSignature::Unknown(raw),
        }
    }

    /// The raw `dwSignature` for an NDP of `format`.
    #[inline]
    pub const fn to_raw(self, format: NtbFormat) -> u32 {
        let (ips, dss) = match format {
            NtbFormat::Ntb16 => (NDP16_IPS_SIGN, NDP16_DSS_SIGN),
            NtbFormat::Ntb32 => (NDP32_IPS_SIGN, NDP32_DSS_SIGN),
        };
        match self {
            NdpSignature::Ips(session) => ips | (session as u32) << 24,
            NdpSignature::Dss(session) => dss | (session as u32) << 24,
            NdpSignature::Unknown(raw) => raw,
        }
    }
}

impl fmt::Display for NdpSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdpSignature::Ips(n) => write!(f, "IPS{n}"),
            NdpSignature::Dss(n) => write!(f, "DSS{n}"),
            NdpSignature::Unknown(raw) => write!(f, "0x{raw:08X}"),
        }
    }
}
