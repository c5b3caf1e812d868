//! The USB/IP wire format (Linux `Documentation/usb/usbip_protocol.rst`),
//! as a checked codec without I/O.
//!
//! Two phases share one TCP connection (or, for a direct vhci attach, one
//! AF_UNIX socket): the operation phase (`OP_REQ_DEVLIST`, `OP_REQ_IMPORT`
//! and their replies, an 8-byte header followed by fixed records), then, once
//! a device is imported, the URB phase (`USBIP_CMD_SUBMIT`/`USBIP_RET_SUBMIT`,
//! `USBIP_CMD_UNLINK`/`USBIP_RET_UNLINK`, 48-byte headers). Every integer is
//! big-endian. Both sides are encoded and decoded here so the server and the
//! tests' client speak through the same checked code, and every decoder
//! returns a typed error instead of panicking on any input.

mod op;
mod urb;

pub use op::*;
pub use urb::*;

use thiserror::Error;

/// The protocol version both sides put in operation headers (1.1.1).
pub const USBIP_VERSION: u16 = 0x0111;
/// Operation code: list the exported devices.
pub const OP_REQ_DEVLIST: u16 = 0x8005;
/// Operation code: the list of exported devices.
pub const OP_REP_DEVLIST: u16 = 0x0005;
/// Operation code: import one device by bus id.
pub const OP_REQ_IMPORT: u16 = 0x8003;
/// Operation code: the answer to an import.
pub const OP_REP_IMPORT: u16 = 0x0003;

/// URB command: submit a URB (client to server).
pub const USBIP_CMD_SUBMIT: u32 = 1;
/// URB command: unlink a submitted URB (client to server).
pub const USBIP_CMD_UNLINK: u32 = 2;
/// URB reply: a completed URB (server to client).
pub const USBIP_RET_SUBMIT: u32 = 3;
/// URB reply: the result of an unlink (server to client).
pub const USBIP_RET_UNLINK: u32 = 4;

/// Bytes of an operation header (version, code, status).
pub const OP_HEADER_LEN: usize = 8;
/// Bytes of the bus id field of `OP_REQ_IMPORT` and of `struct usb_device`.
pub const BUSID_LEN: usize = 32;
/// Bytes of the path field of `struct usb_device`.
pub const PATH_LEN: usize = 256;
/// Bytes of `struct usb_device` in `OP_REP_DEVLIST` and `OP_REP_IMPORT`.
pub const USB_DEVICE_LEN: usize = 312;
/// Bytes of `struct usb_interface` in `OP_REP_DEVLIST`.
pub const USB_INTERFACE_LEN: usize = 4;
/// Bytes of every URB header (`CMD_SUBMIT`, `RET_SUBMIT`, `CMD_UNLINK`, `RET_UNLINK`).
pub const URB_HEADER_LEN: usize = 48;
/// Bytes of one isochronous packet descriptor after a `CMD_SUBMIT`.
pub const ISO_DESCRIPTOR_LEN: usize = 16;

/// The largest transfer a URB may carry. The biggest transfers an MBIM
/// function sees are NTBs, which GET_NTB_PARAMETERS bounds far below this;
/// a larger length is treated as a framing error rather than allocated.
pub const MAX_TRANSFER: u32 = 1 << 20;
/// The most isochronous packet descriptors a `CMD_SUBMIT` may announce; the
/// simulated device has no isochronous endpoints, so they are only skipped.
pub const MAX_ISO_PACKETS: u32 = 1024;

/// `speed` of `struct usb_device`: high speed (Linux `enum usb_device_speed`).
pub const USB_SPEED_HIGH: u32 = 3;

/// Linux errno values that USB/IP carries as negative URB statuses.
pub mod errno {
    /// Broken pipe: the endpoint stalled.
    pub const EPIPE: i32 = 32;
    /// Connection reset: an unlinked URB.
    pub const ECONNRESET: i32 = 104;
    /// Endpoint shut down: the device is gone.
    pub const ESHUTDOWN: i32 = 108;
}

/// What is wrong with bytes that claim to be USB/IP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsbipError {
    /// Fewer bytes than the structure needs.
    #[error("{what}: {needed} bytes needed, {available} given")]
    Truncated {
        /// The structure being decoded.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// An operation header with another protocol version.
    #[error("USB/IP version {0:#06x}, expected 0x0111")]
    Version(u16),
    /// An operation code this side does not expect.
    #[error("unexpected USB/IP operation code {0:#06x}")]
    OpCode(u16),
    /// A URB header with an unknown or unexpected command.
    #[error("unexpected USB/IP command {0:#010x}")]
    Command(u32),
    /// A direction other than 0 (OUT) or 1 (IN).
    #[error("URB direction {0}, expected 0 (out) or 1 (in)")]
    Direction(u32),
    /// An endpoint number above 15.
    #[error("URB endpoint {0}, expected 0..=15")]
    Endpoint(u32),
    /// A transfer length that is negative or above [`MAX_TRANSFER`].
    #[error("transfer length {0} is negative or above {MAX_TRANSFER}")]
    TransferLength(i32),
    /// An isochronous packet count above [`MAX_ISO_PACKETS`].
    #[error("number_of_packets {0} is above {MAX_ISO_PACKETS}")]
    IsoPackets(i32),
    /// A string field that is not NUL-terminated UTF-8 in its space.
    #[error("{what} is not a NUL-terminated string of at most {max} bytes")]
    StringField {
        /// The field.
        what: &'static str,
        /// Its size including the terminating NUL.
        max: usize,
    },
}

/// A fixed-size big-endian reader over a slice, every read checked.
struct Reader<'a> {
    what: &'static str,
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(what: &'static str, buf: &'a [u8], needed: usize) -> Result<Self, UsbipError> {
        if buf.len() < needed {
            return Err(UsbipError::Truncated {
                what,
                needed,
                available: buf.len(),
            });
        }
        Ok(Reader { what, buf, pos: 0 })
    }

    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], UsbipError> {
        let end = self.pos.saturating_add(N);
        let slice = self.buf.get(self.pos..end).ok_or(UsbipError::Truncated {
            what: self.what,
            needed: end,
            available: self.buf.len(),
        })?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, UsbipError> {
        let [b] = self.bytes::<1>()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, UsbipError> {
        Ok(u16::from_be_bytes(self.bytes()?))
    }

    fn u32(&mut self) -> Result<u32, UsbipError> {
        Ok(u32::from_be_bytes(self.bytes()?))
    }

    fn i32(&mut self) -> Result<i32, UsbipError> {
        Ok(i32::from_be_bytes(self.bytes()?))
    }
}

/// Reads a NUL-padded string field.
fn decode_string(what: &'static str, field: &[u8]) -> Result<String, UsbipError> {
    let err = UsbipError::StringField {
        what,
        max: field.len(),
    };
    let end = field.iter().position(|&b| b == 0).ok_or(err.clone())?;
    let text = field.get(..end).ok_or(err.clone())?;
    String::from_utf8(text.to_vec()).map_err(|_| err)
}

/// Appends `text` NUL-padded to `len` bytes; it must leave room for the NUL.
fn encode_string(
    what: &'static str,
    text: &str,
    len: usize,
    out: &mut Vec<u8>,
) -> Result<(), UsbipError> {
    if text.len() >= len || text.as_bytes().contains(&0) {
        return Err(UsbipError::StringField { what, max: len });
    }
    out.extend_from_slice(text.as_bytes());
    out.resize(out.len() + (len - text.len()), 0);
    Ok(())
}
