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

/// The 8-byte header of every operation message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpHeader {
    /// Protocol version, [`USBIP_VERSION`].
    pub version: u16,
    /// Operation code (`OP_REQ_*` / `OP_REP_*`).
    pub code: u16,
    /// 0 for requests and successful replies, 1 for a failed reply.
    pub status: u32,
}

impl OpHeader {
    /// A header of the current version.
    pub fn new(code: u16, status: u32) -> Self {
        OpHeader {
            version: USBIP_VERSION,
            code,
            status,
        }
    }

    /// Decodes the header at the start of `bytes`; any version is accepted
    /// here, [`OpRequest::decode`] checks it.
    pub fn decode(bytes: &[u8]) -> Result<Self, UsbipError> {
        let mut r = Reader::new("operation header", bytes, OP_HEADER_LEN)?;
        Ok(OpHeader {
            version: r.u16()?,
            code: r.u16()?,
            status: r.u32()?,
        })
    }

    /// The wire form.
    pub fn encode(&self) -> [u8; OP_HEADER_LEN] {
        let [v0, v1] = self.version.to_be_bytes();
        let [c0, c1] = self.code.to_be_bytes();
        let [s0, s1, s2, s3] = self.status.to_be_bytes();
        [v0, v1, c0, c1, s0, s1, s2, s3]
    }
}

/// A request of the operation phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpRequest {
    /// `OP_REQ_DEVLIST`: list the exported devices.
    DevList,
    /// `OP_REQ_IMPORT`: attach the device with this bus id.
    Import {
        /// The bus id, e.g. `1-1`.
        busid: String,
    },
}

impl OpRequest {
    /// Bytes that follow the header of a request with this code, so a
    /// stream reader knows how much more to read before [`OpRequest::decode`].
    pub fn body_len(header: &OpHeader) -> Result<usize, UsbipError> {
        if header.version != USBIP_VERSION {
            return Err(UsbipError::Version(header.version));
        }
        match header.code {
            OP_REQ_DEVLIST => Ok(0),
            OP_REQ_IMPORT => Ok(BUSID_LEN),
            other => Err(UsbipError::OpCode(other)),
        }
    }

    /// Decodes a request from its header and the [`OpRequest::body_len`]
    /// bytes after it.
    pub fn decode(header: &OpHeader, body: &[u8]) -> Result<Self, UsbipError> {
        let needed = Self::body_len(header)?;
        let body = body.get(..needed).ok_or(UsbipError::Truncated {
            what: "operation request",
            needed,
            available: body.len(),
        })?;
        Ok(match header.code {
            OP_REQ_IMPORT => OpRequest::Import {
                busid: decode_string("busid", body)?,
            },
            _ => OpRequest::DevList,
        })
    }

    /// The wire form, header included.
    pub fn encode(&self) -> Result<Vec<u8>, UsbipError> {
        match self {
            OpRequest::DevList => Ok(OpHeader::new(OP_REQ_DEVLIST, 0).encode().to_vec()),
            OpRequest::Import { busid } => {
                let mut out = OpHeader::new(OP_REQ_IMPORT, 0).encode().to_vec();
                encode_string("busid", busid, BUSID_LEN, &mut out)?;
                Ok(out)
            }
        }
    }
}

/// `struct usb_device` of `OP_REP_DEVLIST` and `OP_REP_IMPORT`: what the
/// client's `usbip list` prints and vhci-hcd learns about the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbDevice {
    /// The device's sysfs path on the server (informational).
    pub path: String,
    /// The bus id the client imports it by.
    pub busid: String,
    /// Bus number.
    pub busnum: u32,
    /// Device number on the bus.
    pub devnum: u32,
    /// Linux `enum usb_device_speed` ([`USB_SPEED_HIGH`]).
    pub speed: u32,
    /// idVendor.
    pub vendor_id: u16,
    /// idProduct.
    pub product_id: u16,
    /// bcdDevice.
    pub bcd_device: u16,
    /// bDeviceClass.
    pub device_class: u8,
    /// bDeviceSubClass.
    pub device_subclass: u8,
    /// bDeviceProtocol.
    pub device_protocol: u8,
    /// bConfigurationValue of the active configuration.
    pub configuration_value: u8,
    /// bNumConfigurations.
    pub num_configurations: u8,
    /// bNumInterfaces of the active configuration.
    pub num_interfaces: u8,
}

impl UsbDevice {
    /// Decodes the 312 bytes at the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self, UsbipError> {
        let what = "struct usb_device";
        let mut r = Reader::new(what, bytes, USB_DEVICE_LEN)?;
        let path = r.bytes::<PATH_LEN>()?;
        let busid = r.bytes::<BUSID_LEN>()?;
        Ok(UsbDevice {
            path: decode_string("path", &path)?,
            busid: decode_string("busid", &busid)?,
            busnum: r.u32()?,
            devnum: r.u32()?,
            speed: r.u32()?,
            vendor_id: r.u16()?,
            product_id: r.u16()?,
            bcd_device: r.u16()?,
            device_class: r.u8()?,
            device_subclass: r.u8()?,
            device_protocol: r.u8()?,
            configuration_value: r.u8()?,
            num_configurations: r.u8()?,
            num_interfaces: r.u8()?,
        })
    }

    /// Appends the 312 bytes; fails if a string does not fit its field.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), UsbipError> {
        encode_string("path", &self.path, PATH_LEN, out)?;
        encode_string("busid", &self.busid, BUSID_LEN, out)?;
        for value in [self.busnum, self.devnum, self.speed] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        for value in [self.vendor_id, self.product_id, self.bcd_device] {
            out.extend_from_slice(&value.to_be_bytes());
        }
        out.extend_from_slice(&[
            self.device_class,
            self.device_subclass,
            self.device_protocol,
            self.configuration_value,
            self.num_configurations,
            self.num_interfaces,
        ]);
        Ok(())
    }

    /// The `devid` of URB headers and of a vhci attach: `busnum << 16 | devnum`.
    pub fn devid(&self) -> u32 {
        (self.busnum << 16) | (self.devnum & 0xFFFF)
    }
}

/// `struct usb_interface` of `OP_REP_DEVLIST`: one interface's class triple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbInterface {
    /// bInterfaceClass.
    pub class: u8,
    /// bInterfaceSubClass.
    pub subclass: u8,
    /// bInterfaceProtocol.
    pub protocol: u8,
}

/// One device of an `OP_REP_DEVLIST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevListEntry {
    /// The device.
    pub device: UsbDevice,
    /// Its interfaces; the count on the wire is the device's bNumInterfaces.
    pub interfaces: Vec<UsbInterface>,
}

/// A reply of the operation phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpReply {
    /// `OP_REP_DEVLIST`.
    DevList(Vec<DevListEntry>),
    /// `OP_REP_IMPORT`: the device on success, `None` (status 1) on failure.
    Import(Option<UsbDevice>),
}

impl OpReply {
    /// The wire form, header included. A device list entry's interface
    /// count must equal its device's bNumInterfaces, as the reader relies on it.
    pub fn encode(&self) -> Result<Vec<u8>, UsbipError> {
        match self {
            OpReply::DevList(entries) => {
                let mut out = OpHeader::new(OP_REP_DEVLIST, 0).encode().to_vec();
                let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&count.to_be_bytes());
                for entry in entries {
                    let declared = entry.device.num_interfaces;
                    if usize::from(declared) != entry.interfaces.len() {
                        return Err(UsbipError::Truncated {
                            what: "device list entry interfaces",
                            needed: usize::from(declared),
                            available: entry.interfaces.len(),
                        });
                    }
                    entry.device.encode(&mut out)?;
                    for interface in &entry.interfaces {
                        out.extend_from_slice(&[
                            interface.class,
                            interface.subclass,
                            interface.protocol,
                            0,
                        ]);
                    }
                }
                Ok(out)
            }
            OpReply::Import(Some(device)) => {
                let mut out = OpHeader::new(OP_REP_IMPORT, 0).encode().to_vec();
                device.encode(&mut out)?;
                Ok(out)
            }
            OpReply::Import(None) => Ok(OpHeader::new(OP_REP_IMPORT, 1).encode().to_vec()),
        }
    }

    /// Decodes a whole reply. Allocation is bounded by the bytes present,
    /// never by the device count on the wire.
    pub fn decode(bytes: &[u8]) -> Result<Self, UsbipError> {
        let header = OpHeader::decode(bytes)?;
        if header.version != USBIP_VERSION {
            return Err(UsbipError::Version(header.version));
        }
        let body = bytes.get(OP_HEADER_LEN..).unwrap_or_default();
        match header.code {
            OP_REP_IMPORT if header.status != 0 => Ok(OpReply::Import(None)),
            OP_REP_IMPORT => Ok(OpReply::Import(Some(UsbDevice::decode(body)?))),
            OP_REP_DEVLIST => {
                let mut r = Reader::new("device list", body, 4)?;
                let count = r.u32()?;
                let mut rest = body.get(4..).unwrap_or_default();
                let mut entries = Vec::new();
                for _ in 0..count {
                    let device = UsbDevice::decode(rest)?;
                    rest = rest.get(USB_DEVICE_LEN..).unwrap_or_default();
                    let n = usize::from(device.num_interfaces);
                    let list_len = n * USB_INTERFACE_LEN;
                    let list = rest.get(..list_len).ok_or(UsbipError::Truncated {
                        what: "device list interfaces",
                        needed: list_len,
                        available: rest.len(),
                    })?;
                    let interfaces = list
                        .chunks_exact(USB_INTERFACE_LEN)
                        .map(|c| match c {
                            [class, subclass, protocol, _] => UsbInterface {
                                class: *class,
                                subclass: *subclass,
                                protocol: *protocol,
                            },
                            _ => UsbInterface {
                                class: 0,
                                subclass: 0,
                                protocol: 0,
                            },
                        })
                        .collect();
                    rest = rest.get(list_len..).unwrap_or_default();
                    entries.push(DevListEntry { device, interfaces });
                }
                Ok(OpReply::DevList(entries))
            }
            other => Err(UsbipError::OpCode(other)),
        }
    }
}

/// Transfer direction of a URB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Host to device (0).
    Out,
    /// Device to host (1).
    In,
}

impl Direction {
    fn decode(value: u32) -> Result<Self, UsbipError> {
        match value {
            0 => Ok(Direction::Out),
            1 => Ok(Direction::In),
            other => Err(UsbipError::Direction(other)),
        }
    }

    fn encode(self) -> u32 {
        match self {
            Direction::Out => 0,
            Direction::In => 1,
        }
    }
}

/// `USBIP_CMD_SUBMIT`: a URB for the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdSubmit {
    /// Sequence number, echoed by the reply.
    pub seqnum: u32,
    /// `busnum << 16 | devnum` of the target.
    pub devid: u32,
    /// Transfer direction.
    pub direction: Direction,
    /// Endpoint number, 0..=15 (without the direction bit).
    pub ep: u8,
    /// URB transfer flags.
    pub transfer_flags: u32,
    /// OUT: bytes of data after the header. IN: the most the device may return.
    pub transfer_buffer_length: u32,
    /// Isochronous start frame.
    pub start_frame: i32,
    /// Isochronous packets (0, or -1 in some clients, when not isochronous).
    pub number_of_packets: i32,
    /// Polling interval.
    pub interval: i32,
    /// The setup packet of a control transfer (zero otherwise).
    pub setup: [u8; 8],
}

impl CmdSubmit {
    /// Bytes of OUT data that follow the header on the wire.
    pub fn out_data_len(&self) -> usize {
        match self.direction {
            // The bound was checked at decode time; usize holds 2^20 everywhere.
            Direction::Out => usize::try_from(self.transfer_buffer_length).unwrap_or(0),
            Direction::In => 0,
        }
    }

    /// Bytes of isochronous packet descriptors that follow the OUT data.
    pub fn iso_len(&self) -> usize {
        usize::try_from(self.number_of_packets)
            .unwrap_or(0)
            .saturating_mul(ISO_DESCRIPTOR_LEN)
    }

    /// The IN transfer length as a buffer size.
    pub fn in_len(&self) -> usize {
        match self.direction {
            Direction::In => usize::try_from(self.transfer_buffer_length).unwrap_or(0),
            Direction::Out => 0,
        }
    }
}

/// `USBIP_CMD_UNLINK`: cancel a submitted URB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdUnlink {
    /// Sequence number of this unlink request, echoed by the reply.
    pub seqnum: u32,
    /// Target device.
    pub devid: u32,
    /// Direction field (unused by servers).
    pub direction: Direction,
    /// Endpoint field (unused by servers).
    pub ep: u8,
    /// The sequence number of the URB to cancel.
    pub unlink_seqnum: u32,
}

/// A URB-phase message from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrbCommand {
    /// `USBIP_CMD_SUBMIT`.
    Submit(CmdSubmit),
    /// `USBIP_CMD_UNLINK`.
    Unlink(CmdUnlink),
}

/// The 20-byte basic header shared by all URB messages.
struct Basic {
    command: u32,
    seqnum: u32,
    devid: u32,
    direction: u32,
    ep: u32,
}

impl Basic {
    fn read(r: &mut Reader<'_>) -> Result<Self, UsbipError> {
        Ok(Basic {
            command: r.u32()?,
            seqnum: r.u32()?,
            devid: r.u32()?,
            direction: r.u32()?,
            ep: r.u32()?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        for value in [
            self.command,
            self.seqnum,
            self.devid,
            self.direction,
            self.ep,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

fn checked_length(value: i32) -> Result<u32, UsbipError> {
    u32::try_from(value)
        .ok()
        .filter(|&n| n <= MAX_TRANSFER)
        .ok_or(UsbipError::TransferLength(value))
}

fn finish_header(out: Vec<u8>) -> [u8; URB_HEADER_LEN] {
    let mut header = [0u8; URB_HEADER_LEN];
    for (slot, byte) in header.iter_mut().zip(out) {
        *slot = byte;
    }
    header
}

impl UrbCommand {
    /// Decodes a 48-byte header. The OUT data ([`CmdSubmit::out_data_len`])
    /// and isochronous descriptors ([`CmdSubmit::iso_len`]) follow it.
    pub fn decode(header: &[u8]) -> Result<Self, UsbipError> {
        let mut r = Reader::new("URB command header", header, URB_HEADER_LEN)?;
        let basic = Basic::read(&mut r)?;
        let direction = Direction::decode(basic.direction)?;
        let ep = u8::try_from(basic.ep)
            .ok()
            .filter(|&ep| ep <= 15)
            .ok_or(UsbipError::Endpoint(basic.ep))?;
        match basic.command {
            USBIP_CMD_SUBMIT => {
                let transfer_flags = r.u32()?;
                let transfer_buffer_length = checked_length(r.i32()?)?;
                let start_frame = r.i32()?;
                let number_of_packets = r.i32()?;
                if u32::try_from(number_of_packets).is_ok_and(|n| n > MAX_ISO_PACKETS) {
                    return Err(UsbipError::IsoPackets(number_of_packets));
                }
                let interval = r.i32()?;
                let setup = r.bytes::<8>()?;
                Ok(UrbCommand::Submit(CmdSubmit {
                    seqnum: basic.seqnum,
                    devid: basic.devid,
                    direction,
                    ep,
                    transfer_flags,
                    transfer_buffer_length,
                    start_frame,
                    number_of_packets,
                    interval,
                    setup,
                }))
            }
            USBIP_CMD_UNLINK => Ok(UrbCommand::Unlink(CmdUnlink {
                seqnum: basic.seqnum,
                devid: basic.devid,
                direction,
                ep,
                unlink_seqnum: r.u32()?,
            })),
            other => Err(UsbipError::Command(other)),
        }
    }

    /// The 48-byte header (OUT data and iso descriptors are the caller's).
    pub fn encode(&self) -> [u8; URB_HEADER_LEN] {
        let mut out = Vec::with_capacity(URB_HEADER_LEN);
        match self {
            UrbCommand::Submit(c) => {
                Basic {
                    command: USBIP_CMD_SUBMIT,
                    seqnum: c.seqnum,
                    devid: c.devid,
                    direction: c.direction.encode(),
                    ep: u32::from(c.ep),
                }
                .write(&mut out);
                out.extend_from_slice(&c.transfer_flags.to_be_bytes());
                out.extend_from_slice(&c.transfer_buffer_length.to_be_bytes());
                for value in [c.start_frame, c.number_of_packets, c.interval] {
                    out.extend_from_slice(&value.to_be_bytes());
                }
                out.extend_from_slice(&c.setup);
            }
            UrbCommand::Unlink(c) => {
                Basic {
                    command: USBIP_CMD_UNLINK,
                    seqnum: c.seqnum,
                    devid: c.devid,
                    direction: c.direction.encode(),
                    ep: u32::from(c.ep),
                }
                .write(&mut out);
                out.extend_from_slice(&c.unlink_seqnum.to_be_bytes());
            }
        }
        finish_header(out)
    }
}

/// `USBIP_RET_SUBMIT`: a completed URB. IN data of `actual_length` bytes
/// follows the header; OUT transfers return no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetSubmit {
    /// The sequence number of the completed `CMD_SUBMIT`.
    pub seqnum: u32,
    /// 0, or a negative errno ([`errno`]).
    pub status: i32,
    /// Bytes transferred.
    pub actual_length: u32,
    /// Isochronous start frame (0 here).
    pub start_frame: i32,
    /// Isochronous packets (0 here).
    pub number_of_packets: i32,
    /// Isochronous errors (0 here).
    pub error_count: i32,
}

impl RetSubmit {
    /// A completion of a non-isochronous URB.
    pub fn new(seqnum: u32, status: i32, actual_length: u32) -> Self {
        RetSubmit {
            seqnum,
            status,
            actual_length,
            start_frame: 0,
            number_of_packets: 0,
            error_count: 0,
        }
    }

    /// The IN data length as a buffer size.
    pub fn data_len(&self) -> usize {
        usize::try_from(self.actual_length).unwrap_or(0)
    }
}

/// `USBIP_RET_UNLINK`: the result of an unlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetUnlink {
    /// The sequence number of the `CMD_UNLINK`.
    pub seqnum: u32,
    /// `-ECONNRESET` if the URB was cancelled, 0 if it had already completed.
    pub status: i32,
}

/// A URB-phase message from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrbReply {
    /// `USBIP_RET_SUBMIT`.
    Submit(RetSubmit),
    /// `USBIP_RET_UNLINK`.
    Unlink(RetUnlink),
}

impl UrbReply {
    /// The 48-byte header. The basic header's devid, direction and ep are 0,
    /// as the protocol document requires of replies.
    pub fn encode(&self) -> [u8; URB_HEADER_LEN] {
        let mut out = Vec::with_capacity(URB_HEADER_LEN);
        match self {
            UrbReply::Submit(r) => {
                Basic {
                    command: USBIP_RET_SUBMIT,
                    seqnum: r.seqnum,
                    devid: 0,
                    direction: 0,
                    ep: 0,
                }
                .write(&mut out);
                out.extend_from_slice(&r.status.to_be_bytes());
                out.extend_from_slice(&r.actual_length.to_be_bytes());
                for value in [r.start_frame, r.number_of_packets, r.error_count] {
                    out.extend_from_slice(&value.to_be_bytes());
                }
            }
            UrbReply::Unlink(r) => {
                Basic {
                    command: USBIP_RET_UNLINK,
                    seqnum: r.seqnum,
                    devid: 0,
                    direction: 0,
                    ep: 0,
                }
                .write(&mut out);
                out.extend_from_slice(&r.status.to_be_bytes());
            }
        }
        finish_header(out)
    }

    /// Decodes a 48-byte reply header.
    pub fn decode(header: &[u8]) -> Result<Self, UsbipError> {
        let mut r = Reader::new("URB reply header", header, URB_HEADER_LEN)?;
        let basic = Basic::read(&mut r)?;
        match basic.command {
            USBIP_RET_SUBMIT => {
                let status = r.i32()?;
                let actual_length = checked_length(r.i32()?)?;
                Ok(UrbReply::Submit(RetSubmit {
                    seqnum: basic.seqnum,
                    status,
                    actual_length,
                    start_frame: r.i32()?,
                    number_of_packets: r.i32()?,
                    error_count: r.i32()?,
                }))
            }
            USBIP_RET_UNLINK => Ok(UrbReply::Unlink(RetUnlink {
                seqnum: basic.seqnum,
                status: r.i32()?,
            })),
            other => Err(UsbipError::Command(other)),
        }
    }

    /// A `RET_SUBMIT` followed by its IN data, ready to write.
    pub fn submit_with_data(seqnum: u32, status: i32, data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(URB_HEADER_LEN + data.len());
        out.extend_from_slice(&UrbReply::Submit(RetSubmit::new(seqnum, status, len)).encode());
        out.extend_from_slice(data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn device() -> UsbDevice {
        UsbDevice {
            path: "/sys/devices/platform/mbim-sim/1-1".into(),
            busid: "1-1".into(),
            busnum: 1,
            devnum: 2,
            speed: USB_SPEED_HIGH,
            vendor_id: 0x1209,
            product_id: 0x4D42,
            bcd_device: 0x0100,
            device_class: 0xEF,
            device_subclass: 0x02,
            device_protocol: 0x01,
            configuration_value: 1,
            num_configurations: 1,
            num_interfaces: 2,
        }
    }

    #[test]
    fn op_request_import_from_labelled_bytes() {
        let mut bytes = vec![
            0x01, 0x11, // version 1.1.1
            0x80, 0x03, // OP_REQ_IMPORT
            0x00, 0x00, 0x00, 0x00, // status
        ];
        bytes.extend_from_slice(b"1-1");
        bytes.resize(OP_HEADER_LEN + BUSID_LEN, 0);
        let header = OpHeader::decode(&bytes).unwrap();
        assert_eq!(OpRequest::body_len(&header), Ok(32));
        let request = OpRequest::decode(&header, &bytes[8..]).unwrap();
        assert_eq!(
            request,
            OpRequest::Import {
                busid: "1-1".into()
            }
        );
        assert_eq!(request.encode().unwrap(), bytes);
        assert_eq!(
            OpRequest::encode(&OpRequest::DevList).unwrap(),
            [0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0]
        );
    }

    #[test]
    fn usb_device_is_312_bytes_at_the_documented_offsets() {
        let mut out = Vec::new();
        device().encode(&mut out).unwrap();
        assert_eq!(out.len(), USB_DEVICE_LEN);
        assert_eq!(&out[..34], b"/sys/devices/platform/mbim-sim/1-1");
        assert_eq!(&out[256..259], b"1-1");
        assert_eq!(&out[288..292], [0, 0, 0, 1]); // busnum
        assert_eq!(&out[292..296], [0, 0, 0, 2]); // devnum
        assert_eq!(&out[296..300], [0, 0, 0, 3]); // speed: high
        assert_eq!(&out[300..302], [0x12, 0x09]); // idVendor
        assert_eq!(&out[302..304], [0x4D, 0x42]); // idProduct
        assert_eq!(&out[304..306], [0x01, 0x00]); // bcdDevice
        assert_eq!(&out[306..312], [0xEF, 0x02, 0x01, 1, 1, 2]);
        assert_eq!(UsbDevice::decode(&out).unwrap(), device());
        assert_eq!(device().devid(), 0x0001_0002);
    }

    #[test]
    fn devlist_and_import_replies_round_trip() {
        let entry = DevListEntry {
            device: device(),
            interfaces: vec![
                UsbInterface {
                    class: 2,
                    subclass: 0x0E,
                    protocol: 0,
                },
                UsbInterface {
                    class: 0x0A,
                    subclass: 0,
                    protocol: 2,
                },
            ],
        };
        let reply = OpReply::DevList(vec![entry.clone()]);
        let bytes = reply.encode().unwrap();
        assert_eq!(
            &bytes[..12],
            [0x01, 0x11, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(bytes.len(), 12 + 312 + 8);
        assert_eq!(&bytes[324..], [2, 0x0E, 0, 0, 0x0A, 0, 2, 0]);
        assert_eq!(OpReply::decode(&bytes).unwrap(), reply);

        let ok = OpReply::Import(Some(device()));
        assert_eq!(OpReply::decode(&ok.encode().unwrap()).unwrap(), ok);
        let refused = OpReply::Import(None).encode().unwrap();
        assert_eq!(refused, [0x01, 0x11, 0x00, 0x03, 0, 0, 0, 1]);
        assert_eq!(OpReply::decode(&refused).unwrap(), OpReply::Import(None));

        let mut bad = entry;
        bad.interfaces.pop();
        assert!(OpReply::DevList(vec![bad]).encode().is_err());
    }

    #[test]
    fn cmd_submit_from_labelled_bytes() {
        #[rustfmt::skip]
        let bytes = [
            0, 0, 0, 1,             // command: CMD_SUBMIT
            0, 0, 0, 0x2A,          // seqnum 42
            0, 1, 0, 2,             // devid 1-2
            0, 0, 0, 1,             // direction: IN
            0, 0, 0, 0,             // ep 0
            0, 0, 0x02, 0x00,       // transfer_flags: URB_DIR_IN
            0, 0, 0, 0x12,          // transfer_buffer_length 18
            0, 0, 0, 0,             // start_frame
            0xFF, 0xFF, 0xFF, 0xFF, // number_of_packets: -1 (not ISO)
            0, 0, 0, 0,             // interval
            0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00, // GET_DESCRIPTOR(DEVICE), 18
        ];
        let cmd = UrbCommand::decode(&bytes).unwrap();
        let UrbCommand::Submit(submit) = cmd else {
            panic!("not a submit: {cmd:?}");
        };
        assert_eq!(submit.seqnum, 42);
        assert_eq!(submit.devid, 0x0001_0002);
        assert_eq!(submit.direction, Direction::In);
        assert_eq!(submit.ep, 0);
        assert_eq!(submit.transfer_buffer_length, 18);
        assert_eq!(submit.number_of_packets, -1);
        assert_eq!(submit.out_data_len(), 0);
        assert_eq!(submit.in_len(), 18);
        assert_eq!(submit.iso_len(), 0);
        assert_eq!(
            submit.setup,
            [0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00]
        );
        assert_eq!(cmd.encode(), bytes);
    }

    #[test]
    fn cmd_unlink_and_replies_from_labelled_bytes() {
        #[rustfmt::skip]
        let unlink = [
            0, 0, 0, 2,             // command: CMD_UNLINK
            0, 0, 0, 7,             // seqnum 7
            0, 1, 0, 2,             // devid
            0, 0, 0, 0,             // direction
            0, 0, 0, 1,             // ep 1
            0, 0, 0, 5,             // unlink_seqnum 5
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let cmd = UrbCommand::decode(&unlink).unwrap();
        assert_eq!(
            cmd,
            UrbCommand::Unlink(CmdUnlink {
                seqnum: 7,
                devid: 0x0001_0002,
                direction: Direction::Out,
                ep: 1,
                unlink_seqnum: 5
            })
        );
        assert_eq!(cmd.encode(), unlink);

        #[rustfmt::skip]
        let ret_unlink = [
            0, 0, 0, 4,             // command: RET_UNLINK
            0, 0, 0, 7,             // seqnum 7
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // devid, direction, ep: 0
            0xFF, 0xFF, 0xFF, 0x98, // status -104 (-ECONNRESET)
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let reply = UrbReply::Unlink(RetUnlink {
            seqnum: 7,
            status: -errno::ECONNRESET,
        });
        assert_eq!(reply.encode(), ret_unlink);
        assert_eq!(UrbReply::decode(&ret_unlink).unwrap(), reply);

        let with_data = UrbReply::submit_with_data(42, 0, &[1, 2, 3]);
        #[rustfmt::skip]
        assert_eq!(&with_data[..28], [
            0, 0, 0, 3,             // command: RET_SUBMIT
            0, 0, 0, 42,            // seqnum
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0,             // status 0
            0, 0, 0, 3,             // actual_length 3
        ]);
        assert_eq!(&with_data[48..], [1, 2, 3]);
        assert_eq!(
            UrbReply::decode(&with_data).unwrap(),
            UrbReply::Submit(RetSubmit::new(42, 0, 3))
        );
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        assert!(matches!(
            UrbCommand::decode(&[0; 47]),
            Err(UsbipError::Truncated { needed: 48, .. })
        ));
        let mut bytes = [0u8; 48];
        bytes[3] = 9;
        assert_eq!(UrbCommand::decode(&bytes), Err(UsbipError::Command(9)));
        bytes[3] = 1;
        bytes[15] = 2;
        assert_eq!(UrbCommand::decode(&bytes), Err(UsbipError::Direction(2)));
        bytes[15] = 0;
        bytes[19] = 16;
        assert_eq!(UrbCommand::decode(&bytes), Err(UsbipError::Endpoint(16)));
        bytes[19] = 0;
        bytes[24..28].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            UrbCommand::decode(&bytes),
            Err(UsbipError::TransferLength(-1))
        );
        bytes[24..28].copy_from_slice(&0x0020_0000i32.to_be_bytes());
        assert_eq!(
            UrbCommand::decode(&bytes),
            Err(UsbipError::TransferLength(0x0020_0000))
        );
        bytes[24..28].copy_from_slice(&[0; 4]);
        bytes[32..36].copy_from_slice(&5000i32.to_be_bytes());
        assert_eq!(
            UrbCommand::decode(&bytes),
            Err(UsbipError::IsoPackets(5000))
        );

        let header = OpHeader::decode(&[0x01, 0x00, 0x80, 0x05, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            OpRequest::body_len(&header),
            Err(UsbipError::Version(0x0100))
        );
        let header = OpHeader::new(0x1234, 0);
        assert_eq!(
            OpRequest::body_len(&header),
            Err(UsbipError::OpCode(0x1234))
        );
        let import = OpHeader::new(OP_REQ_IMPORT, 0);
        assert!(matches!(
            OpRequest::decode(&import, &[b'1'; 32]),
            Err(UsbipError::StringField { what: "busid", .. })
        ));
        let mut long = device();
        long.busid = "x".repeat(32);
        assert!(long.encode(&mut Vec::new()).is_err());
        // A device count far beyond the bytes present fails without allocating for it.
        let mut devlist = OpHeader::new(OP_REP_DEVLIST, 0).encode().to_vec();
        devlist.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            OpReply::decode(&devlist),
            Err(UsbipError::Truncated { .. })
        ));
    }

    fn arb_submit() -> impl Strategy<Value = CmdSubmit> {
        (
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u8..16,
            any::<u32>(),
            0..=MAX_TRANSFER,
            any::<i32>(),
            -1i32..=1024,
            any::<i32>(),
            any::<[u8; 8]>(),
        )
            .prop_map(
                |(seqnum, devid, is_in, ep, flags, len, start, packets, interval, setup)| {
                    CmdSubmit {
                        seqnum,
                        devid,
                        direction: if is_in { Direction::In } else { Direction::Out },
                        ep,
                        transfer_flags: flags,
                        transfer_buffer_length: len,
                        start_frame: start,
                        number_of_packets: packets,
                        interval,
                        setup,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn submits_round_trip(submit in arb_submit()) {
            let cmd = UrbCommand::Submit(submit);
            prop_assert_eq!(UrbCommand::decode(&cmd.encode()), Ok(cmd));
        }

        #[test]
        fn unlinks_and_replies_round_trip(
            seqnum in any::<u32>(), other in any::<u32>(), status in any::<i32>(),
            len in 0..=MAX_TRANSFER, ep in 0u8..16,
        ) {
            let cmd = UrbCommand::Unlink(CmdUnlink {
                seqnum, devid: other, direction: Direction::In, ep, unlink_seqnum: other,
            });
            prop_assert_eq!(UrbCommand::decode(&cmd.encode()), Ok(cmd));
            let ret = UrbReply::Submit(RetSubmit::new(seqnum, status, len));
            prop_assert_eq!(UrbReply::decode(&ret.encode()), Ok(ret));
            let ret = UrbReply::Unlink(RetUnlink { seqnum, status });
            prop_assert_eq!(UrbReply::decode(&ret.encode()), Ok(ret));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let _ = UrbCommand::decode(&bytes);
            let _ = UrbReply::decode(&bytes);
            let _ = UsbDevice::decode(&bytes);
            let _ = OpReply::decode(&bytes);
            if let Ok(header) = OpHeader::decode(&bytes) {
                let _ = OpRequest::body_len(&header);
                let _ = OpRequest::decode(&header, bytes.get(8..).unwrap_or_default());
            }
        }

        #[test]
        fn arbitrary_devlists_never_panic(
            count in any::<u32>(),
            tail in proptest::collection::vec(any::<u8>(), 0..1000),
        ) {
            let mut bytes = OpHeader::new(OP_REP_DEVLIST, 0).encode().to_vec();
            bytes.extend_from_slice(&count.to_be_bytes());
            bytes.extend_from_slice(&tail);
            let _ = OpReply::decode(&bytes);
        }
    }
}
