//! The operation phase: the 8-byte header, the device list and the import
//! of one device, with the 312-byte device record both replies carry.

use super::{
    decode_string, encode_string, Reader, UsbipError, BUSID_LEN, OP_HEADER_LEN, OP_REP_DEVLIST,
    OP_REP_IMPORT, OP_REQ_DEVLIST, OP_REQ_IMPORT, PATH_LEN, USBIP_VERSION, USB_DEVICE_LEN,
    USB_INTERFACE_LEN,
};

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
    /// Linux `enum usb_device_speed` ([`USB_SPEED_HIGH`](super::USB_SPEED_HIGH)).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usb::usbip::USB_SPEED_HIGH;
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
    fn bad_operation_headers_are_typed_errors() {
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

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
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
