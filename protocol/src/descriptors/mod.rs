//! USB descriptors of an MBIM function.
//!
//! A host finds an MBIM function by reading the device's configuration
//! descriptor (GET_DESCRIPTOR(CONFIGURATION), or the raw bytes nusb exposes)
//! and looking for a communication interface of class 02h, subclass 0Eh,
//! protocol 00h, together with its class-specific *functional descriptors*
//! (CDC Header, CDC Union, MBIM, MBIM Extended) and its data interface.
//!
//! - [`standard`]: the standard descriptors this needs (configuration,
//!   interface association, interface, endpoint), parsed and emitted.
//! - [`functional`]: the class-specific (CS_INTERFACE, 24h) functional
//!   descriptors, typed where mbimd uses them and kept raw otherwise.
//! - [`function`]: the walker over a whole configuration descriptor that
//!   reports each MBIM function with its interfaces and endpoints.
//!
//! Every parser takes the whole buffer and the offset of the descriptor in it,
//! so an error names the offset a reader of a hex dump can look up. A
//! descriptor longer than its defined size is accepted and its extra bytes are
//! ignored, as USB 2.0 §9.5 asks of hosts; emitting it then gives the defined
//! size. A shorter one is an error.

pub mod function;
pub mod functional;
pub mod standard;

pub use function::{find_mbim_functions, DataAltSetting, FunctionKind, MbimFunction};
pub use functional::{
    CdcEthernetDescriptor, CdcHeaderDescriptor, CdcUnionDescriptor, FunctionalDescriptor,
    MbimExtendedFunctionalDescriptor, MbimFunctionalDescriptor, NcmFunctionalDescriptor,
    NetworkCapabilities, RawFunctionalDescriptor,
};
pub use standard::{
    ConfigurationDescriptor, EndpointDescriptor, InterfaceAssociationDescriptor,
    InterfaceDescriptor, TransferType,
};

/// bDescriptorType of a configuration descriptor.
pub const DT_CONFIGURATION: u8 = 0x02;
/// bDescriptorType of an interface descriptor.
pub const DT_INTERFACE: u8 = 0x04;
/// bDescriptorType of an endpoint descriptor.
pub const DT_ENDPOINT: u8 = 0x05;
/// bDescriptorType of an interface association descriptor (IAD).
pub const DT_INTERFACE_ASSOCIATION: u8 = 0x0B;
/// bDescriptorType of a class-specific interface descriptor (CS_INTERFACE).
pub const DT_CS_INTERFACE: u8 = 0x24;

/// bDescriptorSubtype of the CDC Header functional descriptor.
pub const CDC_SUBTYPE_HEADER: u8 = 0x00;
/// bDescriptorSubtype of the CDC Union functional descriptor.
pub const CDC_SUBTYPE_UNION: u8 = 0x06;
/// bDescriptorSubtype of the CDC Ethernet Networking functional descriptor.
pub const CDC_SUBTYPE_ETHERNET: u8 = 0x0F;
/// bDescriptorSubtype of the NCM functional descriptor.
pub const CDC_SUBTYPE_NCM: u8 = 0x1A;
/// bDescriptorSubtype of the MBIM functional descriptor.
pub const CDC_SUBTYPE_MBIM: u8 = 0x1B;
/// bDescriptorSubtype of the MBIM Extended functional descriptor.
pub const CDC_SUBTYPE_MBIM_EXTENDED: u8 = 0x1C;

/// bInterfaceClass of a CDC communication interface.
pub const CLASS_COMMUNICATION: u8 = 0x02;
/// bInterfaceClass of a CDC data interface.
pub const CLASS_CDC_DATA: u8 = 0x0A;
/// bInterfaceSubClass of an NCM communication interface.
pub const SUBCLASS_NCM: u8 = 0x0D;
/// bInterfaceSubClass of an MBIM communication interface.
pub const SUBCLASS_MBIM: u8 = 0x0E;
/// bInterfaceProtocol of an MBIM communication interface.
pub const PROTOCOL_MBIM_COMM: u8 = 0x00;
/// bInterfaceProtocol of a data interface setting carrying NCM NTBs.
pub const PROTOCOL_DATA_NCM: u8 = 0x01;
/// bInterfaceProtocol of a data interface setting carrying MBIM NTBs.
pub const PROTOCOL_DATA_MBIM: u8 = 0x02;

/// What was wrong with a descriptor, and where.
///
/// Offsets count from the start of the buffer handed to the parser (for the
/// walker, the start of the configuration descriptor).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    /// The buffer ends where a descriptor should start.
    #[error("descriptor at 0x{offset:02X}: the buffer ends before the descriptor starts")]
    Missing {
        /// Where the descriptor was expected.
        offset: usize,
    },
    /// bLength cannot even cover the header (a zero here would loop forever).
    #[error(
        "descriptor at 0x{offset:02X}: bLength {length} is shorter than the {header}-byte header"
    )]
    HeaderTooShort {
        /// Where the descriptor starts.
        offset: usize,
        /// The bLength read.
        length: u8,
        /// Bytes of header this kind of descriptor has.
        header: usize,
    },
    /// bLength runs past the end of the buffer.
    #[error("descriptor at 0x{offset:02X}: bLength {length} runs past the end of the data ({available} bytes left)")]
    Overrun {
        /// Where the descriptor starts.
        offset: usize,
        /// The bLength read.
        length: u8,
        /// Bytes left from `offset` to the end of the data.
        available: usize,
    },
    /// bDescriptorType is not the one asked for.
    #[error("{what} at 0x{offset:02X}: bDescriptorType 0x{found:02X}, expected 0x{expected:02X}")]
    WrongType {
        /// The descriptor the caller asked for.
        what: &'static str,
        /// Where the descriptor starts.
        offset: usize,
        /// The bDescriptorType read.
        found: u8,
        /// The bDescriptorType of `what`.
        expected: u8,
    },
    /// bDescriptorSubtype is not the one asked for.
    #[error(
        "{what} at 0x{offset:02X}: bDescriptorSubtype 0x{found:02X}, expected 0x{expected:02X}"
    )]
    WrongSubtype {
        /// The descriptor the caller asked for.
        what: &'static str,
        /// Where the descriptor starts.
        offset: usize,
        /// The bDescriptorSubtype read.
        found: u8,
        /// The bDescriptorSubtype of `what`.
        expected: u8,
    },
    /// bLength is shorter than the fields this descriptor must hold.
    #[error("{what} at 0x{offset:02X}: bLength {length}, expected {expected}")]
    TooShort {
        /// The descriptor.
        what: &'static str,
        /// Where the descriptor starts.
        offset: usize,
        /// The bLength read.
        length: u8,
        /// The defined length (the minimum, for variable-length descriptors).
        expected: usize,
    },
    /// A configuration's wTotalLength cannot hold its own descriptor.
    #[error("configuration descriptor at 0x{offset:02X}: wTotalLength {total_length} is shorter than the descriptor's own bLength {length}")]
    TotalLengthTooShort {
        /// Where the configuration descriptor starts.
        offset: usize,
        /// The wTotalLength read.
        total_length: u16,
        /// The configuration descriptor's bLength.
        length: u8,
    },
    /// Two MBIM functions name the same data interface.
    #[error("communication interface {communication_interface} names data interface {data_interface}, which an earlier function already uses")]
    SharedDataInterface {
        /// The data interface named twice.
        data_interface: u8,
        /// The communication interface naming it the second time.
        communication_interface: u8,
    },
    /// A value cannot be written as a descriptor.
    #[error("cannot emit {what}: {reason}")]
    Unencodable {
        /// The descriptor being emitted.
        what: &'static str,
        /// Why not.
        reason: String,
    },
}

/// One descriptor's bytes (exactly bLength of them) and where they were found.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) what: &'static str,
    pub(crate) offset: usize,
    pub(crate) bytes: &'a [u8],
}

impl Fields<'_> {
    fn too_short(&self, expected: usize) -> DescriptorError {
        DescriptorError::TooShort {
            what: self.what,
            offset: self.offset,
            length: self.length(),
            expected,
        }
    }

    pub(crate) fn length(&self) -> u8 {
        self.bytes.first().copied().unwrap_or(0)
    }

    pub(crate) fn u8(&self, pos: usize) -> Result<u8, DescriptorError> {
        self.bytes
            .get(pos)
            .copied()
            .ok_or_else(|| self.too_short(pos.saturating_add(1)))
    }

    pub(crate) fn u16(&self, pos: usize) -> Result<u16, DescriptorError> {
        let end = pos.saturating_add(2);
        self.bytes
            .get(pos..end)
            .and_then(|b| <[u8; 2]>::try_from(b).ok())
            .map(u16::from_le_bytes)
            .ok_or_else(|| self.too_short(end))
    }

    pub(crate) fn u32(&self, pos: usize) -> Result<u32, DescriptorError> {
        let end = pos.saturating_add(4);
        self.bytes
            .get(pos..end)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| self.too_short(end))
    }

    /// Bytes from `pos` to the end of the descriptor.
    pub(crate) fn tail(&self, pos: usize) -> &[u8] {
        self.bytes.get(pos..).unwrap_or(&[])
    }

    pub(crate) fn require(self, expected: usize) -> Result<Self, DescriptorError> {
        if self.bytes.len() < expected {
            Err(self.too_short(expected))
        } else {
            Ok(self)
        }
    }
}

/// The bytes of the descriptor at `offset` (bLength of them), checked to hold
/// a `header`-byte header and to end inside `buf`.
pub(crate) fn descriptor_at(
    buf: &[u8],
    offset: usize,
    header: usize,
) -> Result<&[u8], DescriptorError> {
    let rest = buf.get(offset..).unwrap_or(&[]);
    let Some(&length) = rest.first() else {
        return Err(DescriptorError::Missing { offset });
    };
    if usize::from(length) < header {
        return Err(DescriptorError::HeaderTooShort {
            offset,
            length,
            header,
        });
    }
    rest.get(..usize::from(length))
        .ok_or(DescriptorError::Overrun {
            offset,
            length,
            available: rest.len(),
        })
}

/// The descriptor at `offset`, checked to be of type `ty` and at least
/// `min` bytes long.
pub(crate) fn standard_at<'a>(
    buf: &'a [u8],
    offset: usize,
    what: &'static str,
    ty: u8,
    min: usize,
) -> Result<Fields<'a>, DescriptorError> {
    let bytes = descriptor_at(buf, offset, 2)?;
    let fields = Fields {
        what,
        offset,
        bytes,
    };
    let found = fields.u8(1)?;
    if found != ty {
        return Err(DescriptorError::WrongType {
            what,
            offset,
            found,
            expected: ty,
        });
    }
    fields.require(min)
}

/// The class-specific interface descriptor at `offset`, checked to be of
/// subtype `subtype` and at least `min` bytes long.
pub(crate) fn functional_at<'a>(
    buf: &'a [u8],
    offset: usize,
    what: &'static str,
    subtype: u8,
    min: usize,
) -> Result<Fields<'a>, DescriptorError> {
    let bytes = descriptor_at(buf, offset, 3)?;
    let fields = Fields {
        what,
        offset,
        bytes,
    };
    let ty = fields.u8(1)?;
    if ty != DT_CS_INTERFACE {
        return Err(DescriptorError::WrongType {
            what,
            offset,
            found: ty,
            expected: DT_CS_INTERFACE,
        });
    }
    let found = fields.u8(2)?;
    if found != subtype {
        return Err(DescriptorError::WrongSubtype {
            what,
            offset,
            found,
            expected: subtype,
        });
    }
    fields.require(min)
}

/// A descriptor length as bLength, or an error naming `what`.
pub(crate) fn length_byte(what: &'static str, length: usize) -> Result<u8, DescriptorError> {
    u8::try_from(length).map_err(|_| DescriptorError::Unencodable {
        what,
        reason: format!("{length} bytes do not fit in bLength"),
    })
}

/// Iterates over the descriptors of a buffer: yields `(offset, bytes)` for
/// each, or one error and then nothing.
///
/// Every step advances by a bLength of at least 2, so a buffer of `n` bytes
/// yields at most `n / 2` descriptors; a zero bLength is an error, not a loop.
#[derive(Debug, Clone)]
pub struct Descriptors<'a> {
    buf: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Descriptors<'a> {
    /// Iterates over `buf`, whose first descriptor starts at `offset`.
    pub fn new(buf: &'a [u8], offset: usize) -> Self {
        Self {
            buf,
            offset,
            failed: false,
        }
    }
}

impl<'a> Iterator for Descriptors<'a> {
    type Item = Result<(usize, &'a [u8]), DescriptorError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.buf.len() {
            return None;
        }
        match descriptor_at(self.buf, self.offset, 2) {
            Ok(bytes) => {
                let offset = self.offset;
                self.offset = offset.saturating_add(bytes.len());
                Some(Ok((offset, bytes)))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Appends bLength (1 + `head` + `tail`), then `head` and `tail`.
pub(crate) fn emit_with_length(
    what: &'static str,
    head: &[u8],
    tail: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DescriptorError> {
    let total = head
        .len()
        .checked_add(tail.len())
        .and_then(|n| n.checked_add(1))
        .unwrap_or(usize::MAX);
    let length = length_byte(what, total)?;
    out.push(length);
    out.extend_from_slice(head);
    out.extend_from_slice(tail);
    Ok(())
}
