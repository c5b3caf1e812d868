//! MBIM_TLV_IE: the type-length-value information element of MBIMEx 3.0.
//!
//! From MBIMEx 3.0 on, payloads carry strings, band lists, PCO and other
//! optional data as TLV information elements laid one after another:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 2 | Type ([`TlvType`]) |
//! | 2 | 1 | Reserved (0) |
//! | 3 | 1 | PaddingLength: 0 to 3 bytes after the data |
//! | 4 | 4 | DataLength: bytes of data, padding excluded |
//! | 8 | DataLength | Data |
//! | 8 + DataLength | PaddingLength | zero padding to a multiple of 4 |
//!
//! [`Packet`] is a checked view over the bytes of one element (smoltcp
//! style: `new_checked`, then accessors that cannot read outside the
//! buffer); [`TlvRepr`] parses a checked packet and emits one; [`Tlv`] is the
//! owned element payload structures hold. Parsing takes the padding the
//! element declares (as libmbim does) but refuses more than 3 bytes, which no
//! specification allows; emitting always writes the padding that aligns the
//! element to 4 bytes.

use crate::describe::{Describe, Value};
use crate::uuid::Uuid;
use std::fmt;

/// Field offsets of an MBIM_TLV_IE header.
pub mod field {
    /// A byte range of the header.
    pub type Field = std::ops::Range<usize>;
    /// Type (little-endian u16).
    pub const TYPE: Field = 0..2;
    /// Reserved byte.
    pub const RESERVED: usize = 2;
    /// PaddingLength byte.
    pub const PADDING_LENGTH: usize = 3;
    /// DataLength (little-endian u32).
    pub const DATA_LENGTH: Field = 4..8;
    /// Where the data starts: the header's size.
    pub const DATA: usize = 8;
}

/// The size of the header before the data.
pub const HEADER_LEN: usize = field::DATA;

/// The most padding an element may declare.
pub const MAX_PADDING: u8 = 3;

/// Why bytes are not an MBIM_TLV_IE, or not the element that was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlvError {
    /// Fewer bytes than a header.
    #[error("TLV header needs {HEADER_LEN} bytes but only {available} remain")]
    Truncated {
        /// Bytes present.
        available: usize,
    },
    /// The data and padding the header declares run past the buffer.
    #[error(
        "TLV data of {data_length} bytes and {padding_length} padding bytes need {needed} bytes after the header, but only {available} remain"
    )]
    DataPastBuffer {
        /// DataLength.
        data_length: u32,
        /// PaddingLength.
        padding_length: u8,
        /// Bytes needed after the header.
        needed: u64,
        /// Bytes present after the header.
        available: usize,
    },
    /// PaddingLength above 3.
    #[error("TLV padding length {0} is more than {MAX_PADDING}")]
    PaddingTooLong(u8),
    /// An element of another type where a given type is required.
    #[error("expected a {expected} TLV, found {found}")]
    WrongType {
        /// The type required.
        expected: TlvType,
        /// The type present.
        found: TlvType,
    },
    /// Data whose length does not fit the content (an odd UTF-16 or u16 length).
    #[error("{content} TLV data length {length} is not a multiple of {unit}")]
    BadLength {
        /// What the data holds.
        content: &'static str,
        /// DataLength.
        length: usize,
        /// The size of one unit of the content.
        unit: usize,
    },
    /// A structured content (wake command, wake packet) that does not hold together.
    #[error("{content} TLV: {reason}")]
    BadContent {
        /// What the data holds.
        content: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The padding that aligns an element with `data_len` bytes of data to 4 bytes.
pub const fn padding_for(data_len: usize) -> usize {
    (4 - data_len % 4) % 4
}

fn u16_at(bytes: &[u8], range: field::Field) -> u16 {
    bytes
        .get(range)
        .and_then(|slice| <[u8; 2]>::try_from(slice).ok())
        .map_or(0, u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], range: field::Field) -> u32 {
    bytes
        .get(range)
        .and_then(|slice| <[u8; 4]>::try_from(slice).ok())
        .map_or(0, u32::from_le_bytes)
}

fn to_usize(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// A read (and, over mutable bytes, write) view of one MBIM_TLV_IE at the
/// start of a buffer; the buffer may go on past the element.
///
/// After [`Packet::new_checked`] the header, data and padding are within the
/// buffer. On an unchecked packet an accessor whose bytes are missing reads
/// as zero or empty and a setter writes nothing: the view never panics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking anything.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Packet<T>, TlvError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the header is present, that PaddingLength is at most 3
    /// and that the data and padding lie within the buffer.
    pub fn check_len(&self) -> Result<(), TlvError> {
        let available = self.buffer.as_ref().len();
        if available < HEADER_LEN {
            return Err(TlvError::Truncated { available });
        }
        let padding_length = self.padding_length();
        if padding_length > MAX_PADDING {
            return Err(TlvError::PaddingTooLong(padding_length));
        }
        let data_length = self.data_length();
        let needed = u64::from(data_length) + u64::from(padding_length);
        let after_header = available - HEADER_LEN;
        if needed > after_header as u64 {
            return Err(TlvError::DataPastBuffer {
                data_length,
                padding_length,
                needed,
                available: after_header,
            });
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Type.
    pub fn tlv_type(&self) -> TlvType {
        TlvType::from(u16_at(self.buffer.as_ref(), field::TYPE))
    }

    /// The reserved byte (0 from any conforming sender).
    pub fn reserved(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::RESERVED)
            .copied()
            .unwrap_or(0)
    }

    /// PaddingLength.
    pub fn padding_length(&self) -> u8 {
        self.buffer
            .as_ref()
            .get(field::PADDING_LENGTH)
            .copied()
            .unwrap_or(0)
    }

    /// DataLength.
    pub fn data_length(&self) -> u32 {
        u32_at(self.buffer.as_ref(), field::DATA_LENGTH)
    }

    /// The data (what of it the buffer holds, on an unchecked packet).
    pub fn data(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        let start = HEADER_LEN.min(bytes.len());
        let end = start
            .saturating_add(to_usize(self.data_length()))
            .min(bytes.len());
        bytes.get(start..end).unwrap_or_default()
    }

    /// The bytes the element takes: header, data and declared padding.
    pub fn total_len(&self) -> usize {
        HEADER_LEN
            .saturating_add(to_usize(self.data_length()))
            .saturating_add(usize::from(self.padding_length()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put(&mut self, at: usize, bytes: &[u8]) {
        let end = at.saturating_add(bytes.len());
        if let Some(slot) = self.buffer.as_mut().get_mut(at..end) {
            slot.copy_from_slice(bytes);
        }
    }

    /// Sets Type.
    pub fn set_tlv_type(&mut self, tlv_type: TlvType) {
        self.put(field::TYPE.start, &tlv_type.value().to_le_bytes());
    }

    /// Sets the reserved byte.
    pub fn set_reserved(&mut self, reserved: u8) {
        self.put(field::RESERVED, &[reserved]);
    }

    /// Sets PaddingLength.
    pub fn set_padding_length(&mut self, padding_length: u8) {
        self.put(field::PADDING_LENGTH, &[padding_length]);
    }

    /// Sets DataLength.
    pub fn set_data_length(&mut self, data_length: u32) {
        self.put(field::DATA_LENGTH.start, &data_length.to_le_bytes());
    }

    /// The data, writable (as much of it as the buffer holds).
    pub fn data_mut(&mut self) -> &mut [u8] {
        let length = to_usize(self.data_length());
        let bytes = self.buffer.as_mut();
        let start = HEADER_LEN.min(bytes.len());
        let end = start.saturating_add(length).min(bytes.len());
        bytes.get_mut(start..end).unwrap_or_default()
    }

    /// The padding after the data, writable (as much of it as the buffer holds).
    pub fn padding_mut(&mut self) -> &mut [u8] {
        let start = HEADER_LEN.saturating_add(to_usize(self.data_length()));
        let end = start.saturating_add(usize::from(self.padding_length()));
        let bytes = self.buffer.as_mut();
        let start = start.min(bytes.len());
        let end = end.min(bytes.len());
        bytes.get_mut(start..end).unwrap_or_default()
    }
}

/// A parsed MBIM_TLV_IE: its type and data, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvRepr<'a> {
    /// Type.
    pub tlv_type: TlvType,
    /// The data, without padding.
    pub data: &'a [u8],
}

impl<'a> TlvRepr<'a> {
    /// Parses a packet; checks its lengths first, so an unchecked packet will do.
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<TlvRepr<'a>, TlvError> {
        packet.check_len()?;
        let bytes: &'a [u8] = packet.buffer;
        let end = HEADER_LEN.saturating_add(to_usize(packet.data_length()));
        Ok(TlvRepr {
            tlv_type: packet.tlv_type(),
            data: bytes.get(HEADER_LEN..end).unwrap_or_default(),
        })
    }

    /// Parses the element at the start of `bytes`; also returns the bytes it
    /// takes (header, data and padding), where the next element starts.
    pub fn parse_prefix(bytes: &'a [u8]) -> Result<(TlvRepr<'a>, usize), TlvError> {
        let packet = Packet::new_checked(bytes)?;
        let repr = TlvRepr::parse(&packet)?;
        Ok((repr, packet.total_len()))
    }

    /// The padding this element is emitted with.
    pub fn padding_len(&self) -> usize {
        padding_for(self.data.len())
    }

    /// The bytes [`emit`](Self::emit) writes: header, data and padding.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data.len() + self.padding_len()
    }

    /// Writes the element into `packet`, whose buffer holds at least
    /// [`buffer_len`](Self::buffer_len) bytes (a shorter one gets what fits).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let padding = self.padding_len();
        packet.set_tlv_type(self.tlv_type);
        packet.set_reserved(0);
        // `padding` is at most 3: the narrowing cannot lose anything.
        packet.set_padding_length(u8::try_from(padding).unwrap_or(MAX_PADDING));
        packet.set_data_length(u32::try_from(self.data.len()).unwrap_or(u32::MAX));
        let data = packet.data_mut();
        let copied = data.len().min(self.data.len());
        if let (Some(target), Some(source)) = (data.get_mut(..copied), self.data.get(..copied)) {
            target.copy_from_slice(source);
        }
        packet.padding_mut().fill(0);
    }

    /// Appends the emitted element to `out`.
    pub fn emit_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.buffer_len(), 0);
        if let Some(slot) = out.get_mut(start..) {
            self.emit(&mut Packet::new_unchecked(slot));
        }
    }
}

/// The elements laid one after another in `bytes`, in order; stops at the
/// first that does not parse (yielding its error once).
pub fn iter(bytes: &[u8]) -> TlvIter<'_> {
    TlvIter {
        rest: bytes,
        offset: 0,
        failed: false,
    }
}

/// See [`iter`]. Yields each element with its offset from the start.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Bytes not yet consumed.
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<(usize, TlvRepr<'a>), (usize, TlvError)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        match TlvRepr::parse_prefix(self.rest) {
            Ok((repr, taken)) => {
                let at = self.offset;
                self.rest = self.rest.get(taken..).unwrap_or_default();
                self.offset = self.offset.saturating_add(taken);
                Some(Ok((at, repr)))
            }
            Err(error) => {
                self.failed = true;
                Some(Err((self.offset, error)))
            }
        }
    }
}

macro_rules! tlv_types {
    ($( $(#[$meta:meta])* $variant:ident = $value:literal => $nick:literal, )+) => {
        /// MBIM_TLV_TYPE: what an information element holds (the values
        /// libmbim lists; others are kept as [`TlvType::Unknown`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TlvType {
            $( $(#[$meta])* $variant, )+
            /// A type this crate does not know; kept so it re-encodes unchanged.
            Unknown(u16),
        }

        impl TlvType {
            /// Every known type, in declaration order.
            pub const ALL: &'static [TlvType] = &[$(TlvType::$variant),+];

            /// The wire value.
            pub const fn value(self) -> u16 {
                match self {
                    $( TlvType::$variant => $value, )+
                    TlvType::Unknown(value) => value,
                }
            }

            /// libmbim's nickname of a known type.
            pub const fn name(self) -> Option<&'static str> {
                match self {
                    $( TlvType::$variant => Some($nick), )+
                    TlvType::Unknown(_) => None,
                }
            }
        }

        impl From<u16> for TlvType {
            fn from(value: u16) -> Self {
                match value {
                    $( $value => TlvType::$variant, )+
                    other => TlvType::Unknown(other),
                }
            }
        }
    };
}

tlv_types! {
    /// Not a valid type.
    Invalid = 0 => "invalid",
    /// UE policies (URSP), 3GPP TS 24.501.
    UePolicies = 1 => "ue-policies",
    /// One S-NSSAI.
    SingleNssai = 2 => "single-nssai",
    /// The allowed NSSAI.
    AllowedNssai = 3 => "allowed-nssai",
    /// The configured NSSAI.
    CfgNssai = 4 => "cfg-nssai",
    /// The default configured NSSAI.
    DfltCfgNssai = 5 => "dflt-cfg-nssai",
    /// The preconfigured default configured NSSAI.
    PrecfgDfltCfgNssai = 6 => "precfg-dflt-cfg-nssai",
    /// The rejected NSSAI.
    RejNssai = 7 => "rej-nssai",
    /// Local area data network information.
    Ladn = 8 => "ladn",
    /// A tracking area identity.
    Tai = 9 => "tai",
    /// A UTF-16LE string.
    WcharStr = 10 => "wchar-str",
    /// A table of little-endian u16 values (band numbers).
    Uint16Tbl = 11 => "uint16-tbl",
    /// An EAP packet.
    EapPacket = 12 => "eap-packet",
    /// Protocol configuration options, 3GPP TS 24.008 §10.5.6.3.
    Pco = 13 => "pco",
    /// Route selection descriptors.
    RouteSelectionDescriptors = 14 => "route-selection-descriptors",
    /// Traffic parameters.
    TrafficParameters = 15 => "traffic-parameters",
    /// The command whose response or indication woke the host.
    WakeCommand = 16 => "wake-command",
    /// The packet that woke the host.
    WakePacket = 17 => "wake-packet",
}

impl fmt::Display for TlvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown (0x{:04x})", self.value()),
        }
    }
}

impl Describe for TlvType {
    fn describe(&self) -> Value {
        Value::Enum {
            name: self.name(),
            value: u32::from(self.value()),
        }
    }
}

/// One information element, owned: what payload structures hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    /// Type.
    pub tlv_type: TlvType,
    /// The data, without padding.
    pub data: Vec<u8>,
}

/// MBIM_TLV_TYPE_WAKE_COMMAND's content: the CID whose response or
/// indication woke the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakeCommand {
    /// The service.
    pub service: Uuid,
    /// The CID.
    pub cid: u32,
    /// The start of the CID's payload, as much as the device included.
    pub payload: Vec<u8>,
}

/// MBIM_TLV_TYPE_WAKE_PACKET's content: the packet that woke the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakePacket {
    /// The packet filter (MBIM_CID_IP_PACKET_FILTERS v3 FilterId) that matched.
    pub filter_id: u32,
    /// The packet's size before the device cut it.
    pub original_packet_size: u32,
    /// The packet, as much as the device included.
    pub packet: Vec<u8>,
}

/// The fixed part of a wake command before its payload.
const WAKE_COMMAND_FIXED: u32 = 28;
/// The fixed part of a wake packet before the packet.
const WAKE_PACKET_FIXED: u32 = 16;

/// The little-endian u16s of `bytes` (a trailing odd byte is left out).
fn le_u16s(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes.chunks_exact(2).map(|pair| match pair {
        [low, high] => u16::from_le_bytes([*low, *high]),
        _ => 0,
    })
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32_at(bytes, at..at + 4)
}

/// `size` bytes at `offset` of `data`, which must lie after the `fixed` part.
fn referenced<'a>(
    content: &'static str,
    data: &'a [u8],
    fixed: u32,
    offset: u32,
    size: u32,
) -> Result<&'a [u8], TlvError> {
    if size == 0 {
        return Ok(&[]);
    }
    let bad = |reason: String| TlvError::BadContent { content, reason };
    let start = to_usize(offset);
    if offset < fixed {
        return Err(bad(format!(
            "data offset {offset} lies inside the {fixed}-byte fixed part"
        )));
    }
    start
        .checked_add(to_usize(size))
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| {
            bad(format!(
                "{size} bytes at offset {offset} run past the {}-byte data",
                data.len()
            ))
        })
}

impl Tlv {
    /// An element of any type.
    pub fn new(tlv_type: TlvType, data: Vec<u8>) -> Tlv {
        Tlv { tlv_type, data }
    }

    /// A WCHAR_STR element holding `text` as UTF-16LE.
    pub fn string(text: &str) -> Tlv {
        Tlv::new(TlvType::WcharStr, crate::codec::encode_utf16(text))
    }

    /// A UINT16_TBL element holding `values`.
    pub fn u16_table(values: &[u16]) -> Tlv {
        Tlv::new(
            TlvType::Uint16Tbl,
            values
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect(),
        )
    }

    /// A WAKE_COMMAND element.
    pub fn wake_command(command: &WakeCommand) -> Tlv {
        let mut data = Vec::with_capacity(to_usize(WAKE_COMMAND_FIXED) + command.payload.len());
        data.extend_from_slice(&command.service.0);
        data.extend_from_slice(&command.cid.to_le_bytes());
        let (offset, size) = match command.payload.len() {
            0 => (0, 0),
            size => (WAKE_COMMAND_FIXED, u32::try_from(size).unwrap_or(u32::MAX)),
        };
        data.extend_from_slice(&offset.to_le_bytes());
        data.extend_from_slice(&size.to_le_bytes());
        data.extend_from_slice(&command.payload);
        Tlv::new(TlvType::WakeCommand, data)
    }

    /// A WAKE_PACKET element.
    pub fn wake_packet(packet: &WakePacket) -> Tlv {
        let mut data = Vec::with_capacity(to_usize(WAKE_PACKET_FIXED) + packet.packet.len());
        data.extend_from_slice(&packet.filter_id.to_le_bytes());
        data.extend_from_slice(&packet.original_packet_size.to_le_bytes());
        let (offset, size) = match packet.packet.len() {
            0 => (0, 0),
            size => (WAKE_PACKET_FIXED, u32::try_from(size).unwrap_or(u32::MAX)),
        };
        data.extend_from_slice(&offset.to_le_bytes());
        data.extend_from_slice(&size.to_le_bytes());
        data.extend_from_slice(&packet.packet);
        Tlv::new(TlvType::WakePacket, data)
    }

    /// The borrowed form, to emit.
    pub fn repr(&self) -> TlvRepr<'_> {
        TlvRepr {
            tlv_type: self.tlv_type,
            data: &self.data,
        }
    }

    /// The element's wire bytes: header, data and padding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.repr().buffer_len());
        self.repr().emit_into(&mut out);
        out
    }

    fn expect_type(&self, expected: TlvType) -> Result<(), TlvError> {
        if self.tlv_type == expected {
            Ok(())
        } else {
            Err(TlvError::WrongType {
                expected,
                found: self.tlv_type,
            })
        }
    }

    /// The text of a WCHAR_STR element. Invalid UTF-16 (a lone surrogate)
    /// becomes U+FFFD, as in every other MBIM string.
    pub fn as_string(&self) -> Result<String, TlvError> {
        self.expect_type(TlvType::WcharStr)?;
        if self.data.len() % 2 != 0 {
            return Err(TlvError::BadLength {
                content: "wchar-str",
                length: self.data.len(),
                unit: 2,
            });
        }
        Ok(char::decode_utf16(le_u16s(&self.data))
            .map(|unit| unit.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect())
    }

    /// The values of a UINT16_TBL element.
    pub fn as_u16_table(&self) -> Result<Vec<u16>, TlvError> {
        self.expect_type(TlvType::Uint16Tbl)?;
        if self.data.len() % 2 != 0 {
            return Err(TlvError::BadLength {
                content: "uint16-tbl",
                length: self.data.len(),
                unit: 2,
            });
        }
        Ok(le_u16s(&self.data).collect())
    }

    /// The content of a WAKE_COMMAND element.
    pub fn as_wake_command(&self) -> Result<WakeCommand, TlvError> {
        const CONTENT: &str = "wake-command";
        self.expect_type(TlvType::WakeCommand)?;
        let data = &self.data;
        let service: Option<[u8; 16]> = data.get(..16).and_then(|bytes| bytes.try_into().ok());
        let (Some(service), true) = (service, data.len() >= to_usize(WAKE_COMMAND_FIXED)) else {
            return Err(TlvError::BadContent {
                content: CONTENT,
                reason: format!(
                    "{} bytes of data, fewer than the {WAKE_COMMAND_FIXED}-byte fixed part",
                    data.len()
                ),
            });
        };
        let payload = referenced(
            CONTENT,
            data,
            WAKE_COMMAND_FIXED,
            le_u32(data, 20),
            le_u32(data, 24),
        )?;
        Ok(WakeCommand {
            service: Uuid(service),
            cid: le_u32(data, 16),
            payload: payload.to_vec(),
        })
    }

    /// The content of a WAKE_PACKET element.
    pub fn as_wake_packet(&self) -> Result<WakePacket, TlvError> {
        const CONTENT: &str = "wake-packet";
        self.expect_type(TlvType::WakePacket)?;
        let data = &self.data;
        if data.len() < to_usize(WAKE_PACKET_FIXED) {
            return Err(TlvError::BadContent {
                content: CONTENT,
                reason: format!(
                    "{} bytes of data, fewer than the {WAKE_PACKET_FIXED}-byte fixed part",
                    data.len()
                ),
            });
        }
        let packet = referenced(
            CONTENT,
            data,
            WAKE_PACKET_FIXED,
            le_u32(data, 8),
            le_u32(data, 12),
        )?;
        Ok(WakePacket {
            filter_id: le_u32(data, 0),
            original_packet_size: le_u32(data, 4),
            packet: packet.to_vec(),
        })
    }
}

impl From<TlvRepr<'_>> for Tlv {
    fn from(repr: TlvRepr<'_>) -> Tlv {
        Tlv::new(repr.tlv_type, repr.data.to_vec())
    }
}

impl Describe for WakeCommand {
    fn describe(&self) -> Value {
        let cid_name = crate::services::service(&self.service)
            .and_then(|service| service.cid(self.cid))
            .map(|cid| cid.name);
        Value::Struct(vec![
            ("service", self.service.describe()),
            (
                "cid",
                Value::Enum {
                    name: cid_name,
                    value: self.cid,
                },
            ),
            ("payload", Value::Bytes(self.payload.clone())),
        ])
    }
}

impl Describe for WakePacket {
    fn describe(&self) -> Value {
        Value::Struct(vec![
            ("filter_id", Value::U32(self.filter_id)),
            (
                "original_packet_size",
                Value::U32(self.original_packet_size),
            ),
            ("packet", Value::Bytes(self.packet.clone())),
        ])
    }
}

impl Describe for Tlv {
    /// The type, then the content as its type reads it (text, values, wake
    /// command, wake packet), or the raw data when it does not read as that.
    fn describe(&self) -> Value {
        let content = match self.tlv_type {
            TlvType::WcharStr => self
                .as_string()
                .ok()
                .map(|text| ("string", Value::Text(text))),
            TlvType::Uint16Tbl => self.as_u16_table().ok().map(|values| {
                (
                    "values",
                    Value::List(
                        values
                            .iter()
                            .map(|value| Value::U32(u32::from(*value)))
                            .collect(),
                    ),
                )
            }),
            TlvType::WakeCommand => self
                .as_wake_command()
                .ok()
                .map(|command| ("wake_command", command.describe())),
            TlvType::WakePacket => self
                .as_wake_packet()
                .ok()
                .map(|packet| ("wake_packet", packet.describe())),
            _ => None,
        };
        Value::Struct(vec![
            ("type", self.tlv_type.describe()),
            content.unwrap_or_else(|| ("data", Value::Bytes(self.data.clone()))),
        ])
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Tlv {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy as _;
        let tlv_type = proptest::prop_oneof![
            3 => proptest::sample::select(TlvType::ALL),
            1 => proptest::arbitrary::any::<u16>().prop_map(TlvType::from),
        ];
        (
            tlv_type,
            proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..24),
        )
            .prop_map(|(tlv_type, data)| Tlv::new(tlv_type, data))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unchecked_view_of_short_bytes_reads_zeros_and_never_panics() {
        let packet = Packet::new_unchecked(&[0x0a_u8, 0x00, 0x00][..]);
        assert_eq!(packet.data_length(), 0);
        assert_eq!(packet.padding_length(), 0);
        assert!(packet.data().is_empty());
        assert_eq!(
            Packet::new_checked(&[0u8; 3][..]),
            Err(TlvError::Truncated { available: 3 })
        );
        let mut short = [0u8; 4];
        let mut packet = Packet::new_unchecked(&mut short[..]);
        packet.set_data_length(7);
        assert!(packet.data_mut().is_empty());
        assert!(packet.padding_mut().is_empty());
    }

    #[test]
    fn padding_brings_each_element_to_four_bytes() {
        for (len, padding) in [(0, 0), (1, 3), (2, 2), (3, 1), (4, 0), (10, 2)] {
            assert_eq!(padding_for(len), padding, "{len}");
            let data = vec![0xAB; len];
            let repr = TlvRepr {
                tlv_type: TlvType::Pco,
                data: &data,
            };
            let mut out = Vec::new();
            repr.emit_into(&mut out);
            assert_eq!(out.len() % 4, 0);
            assert_eq!(out.get(3).map(|byte| usize::from(*byte)), Some(padding));
            let (parsed, taken) = TlvRepr::parse_prefix(&out).unwrap();
            assert_eq!((parsed, taken), (repr, out.len()));
        }
    }
}
