//! Standard USB descriptors (USB 2.0 §9.6, IAD ECN): the ones needed to find
//! an MBIM function in a configuration, as small typed values that parse from
//! untrusted bytes and emit the same bytes back.

use super::{
    standard_at, DescriptorError, DT_CONFIGURATION, DT_ENDPOINT, DT_INTERFACE,
    DT_INTERFACE_ASSOCIATION,
};

/// A configuration descriptor (USB 2.0 Table 9-10), the first 9 bytes of
/// GET_DESCRIPTOR(CONFIGURATION).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConfigurationDescriptor {
    /// wTotalLength: bytes of this descriptor and all that follow it.
    pub total_length: u16,
    /// bNumInterfaces.
    pub num_interfaces: u8,
    /// bConfigurationValue: the argument of SET_CONFIGURATION.
    pub configuration_value: u8,
    /// iConfiguration: string descriptor index, 0 for none.
    pub configuration_string: u8,
    /// bmAttributes: D7 reserved (set), D6 self-powered, D5 remote wakeup.
    pub attributes: u8,
    /// bMaxPower, in units of 2 mA (high speed) or 8 mA (SuperSpeed).
    pub max_power: u8,
}

impl ConfigurationDescriptor {
    /// bLength of a configuration descriptor.
    pub const LENGTH: usize = 9;
    const WHAT: &'static str = "configuration descriptor";

    /// Parses the configuration descriptor at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DescriptorError> {
        Self::parse_at(bytes, 0)
    }

    /// Parses the configuration descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = standard_at(buf, offset, Self::WHAT, DT_CONFIGURATION, Self::LENGTH)?;
        Ok(Self {
            total_length: f.u16(2)?,
            num_interfaces: f.u8(4)?,
            configuration_value: f.u8(5)?,
            configuration_string: f.u8(6)?,
            attributes: f.u8(7)?,
            max_power: f.u8(8)?,
        })
    }

    /// Appends the 9 bytes of this descriptor, with wTotalLength as stored.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[9, DT_CONFIGURATION]);
        out.extend_from_slice(&self.total_length.to_le_bytes());
        out.extend_from_slice(&[
            self.num_interfaces,
            self.configuration_value,
            self.configuration_string,
            self.attributes,
            self.max_power,
        ]);
    }

    /// A whole configuration: this descriptor, with wTotalLength set to
    /// cover `body`, followed by `body` (the interface, functional and
    /// endpoint descriptors). This is what a device returns for
    /// GET_DESCRIPTOR(CONFIGURATION).
    pub fn emit_with_body(&self, body: &[u8]) -> Result<Vec<u8>, DescriptorError> {
        let total = body
            .len()
            .checked_add(Self::LENGTH)
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| DescriptorError::Unencodable {
                what: Self::WHAT,
                reason: format!(
                    "a body of {} bytes does not fit in wTotalLength",
                    body.len()
                ),
            })?;
        let mut out = Vec::with_capacity(usize::from(total));
        Self {
            total_length: total,
            ..*self
        }
        .emit(&mut out);
        out.extend_from_slice(body);
        Ok(out)
    }
}

/// An interface association descriptor (IAD ECN Table 9-Z): groups the
/// interfaces of one function on a composite device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceAssociationDescriptor {
    /// bFirstInterface.
    pub first_interface: u8,
    /// bInterfaceCount.
    pub interface_count: u8,
    /// bFunctionClass.
    pub function_class: u8,
    /// bFunctionSubClass.
    pub function_subclass: u8,
    /// bFunctionProtocol.
    pub function_protocol: u8,
    /// iFunction: string descriptor index, 0 for none.
    pub function_string: u8,
}

impl InterfaceAssociationDescriptor {
    /// bLength of an interface association descriptor.
    pub const LENGTH: usize = 8;
    const WHAT: &'static str = "interface association descriptor";

    /// Parses the interface association descriptor at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DescriptorError> {
        Self::parse_at(bytes, 0)
    }

    /// Parses the interface association descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = standard_at(
            buf,
            offset,
            Self::WHAT,
            DT_INTERFACE_ASSOCIATION,
            Self::LENGTH,
        )?;
        Ok(Self {
            first_interface: f.u8(2)?,
            interface_count: f.u8(3)?,
            function_class: f.u8(4)?,
            function_subclass: f.u8(5)?,
            function_protocol: f.u8(6)?,
            function_string: f.u8(7)?,
        })
    }

    /// Appends the 8 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            8,
            DT_INTERFACE_ASSOCIATION,
            self.first_interface,
            self.interface_count,
            self.function_class,
            self.function_subclass,
            self.function_protocol,
            self.function_string,
        ]);
    }

    /// Whether interface number `interface` belongs to this association.
    pub fn contains(&self, interface: u8) -> bool {
        interface >= self.first_interface
            && u16::from(interface)
                < u16::from(self.first_interface) + u16::from(self.interface_count)
    }
}

/// An interface descriptor (USB 2.0 Table 9-12): one alternate setting of
/// one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InterfaceDescriptor {
    /// bInterfaceNumber.
    pub interface_number: u8,
    /// bAlternateSetting.
    pub alternate_setting: u8,
    /// bNumEndpoints: endpoints other than endpoint 0.
    pub num_endpoints: u8,
    /// bInterfaceClass.
    pub class: u8,
    /// bInterfaceSubClass.
    pub subclass: u8,
    /// bInterfaceProtocol.
    pub protocol: u8,
    /// iInterface: string descriptor index, 0 for none.
    pub interface_string: u8,
}

impl InterfaceDescriptor {
    /// bLength of an interface descriptor.
    pub const LENGTH: usize = 9;
    const WHAT: &'static str = "interface descriptor";

    /// Parses the interface descriptor at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DescriptorError> {
        Self::parse_at(bytes, 0)
    }

    /// Parses the interface descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = standard_at(buf, offset, Self::WHAT, DT_INTERFACE, Self::LENGTH)?;
        Ok(Self {
            interface_number: f.u8(2)?,
            alternate_setting: f.u8(3)?,
            num_endpoints: f.u8(4)?,
            class: f.u8(5)?,
            subclass: f.u8(6)?,
            protocol: f.u8(7)?,
            interface_string: f.u8(8)?,
        })
    }

    /// Appends the 9 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            9,
            DT_INTERFACE,
            self.interface_number,
            self.alternate_setting,
            self.num_endpoints,
            self.class,
            self.subclass,
            self.protocol,
            self.interface_string,
        ]);
    }

    /// (bInterfaceClass, bInterfaceSubClass, bInterfaceProtocol).
    pub fn class_triple(&self) -> (u8, u8, u8) {
        (self.class, self.subclass, self.protocol)
    }
}

/// The transfer type in bits 1..0 of an endpoint's bmAttributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferType {
    /// 00: control.
    Control,
    /// 01: isochronous.
    Isochronous,
    /// 10: bulk (MBIM data endpoints).
    Bulk,
    /// 11: interrupt (the MBIM notification endpoint).
    Interrupt,
}

/// An endpoint descriptor (USB 2.0 Table 9-13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndpointDescriptor {
    /// bEndpointAddress: D7 direction (1 = IN), D3..0 endpoint number.
    pub address: u8,
    /// bmAttributes: D1..0 transfer type, D3..2 sync type, D5..4 usage.
    pub attributes: u8,
    /// wMaxPacketSize: D10..0 packet size, D12..11 extra transactions per
    /// microframe (high-speed isochronous and interrupt only).
    pub max_packet_size: u16,
    /// bInterval: polling interval, in (micro)frames or as an exponent
    /// depending on speed and transfer type.
    pub interval: u8,
}

impl EndpointDescriptor {
    /// bLength of an endpoint descriptor. Audio 1.0 endpoints carry two more
    /// bytes, which parsing ignores.
    pub const LENGTH: usize = 7;
    const WHAT: &'static str = "endpoint descriptor";

    /// Parses the endpoint descriptor at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DescriptorError> {
        Self::parse_at(bytes, 0)
    }

    /// Parses the endpoint descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = standard_at(buf, offset, Self::WHAT, DT_ENDPOINT, Self::LENGTH)?;
        Ok(Self {
            address: f.u8(2)?,
            attributes: f.u8(3)?,
            max_packet_size: f.u16(4)?,
            interval: f.u8(6)?,
        })
    }

    /// Appends the 7 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[7, DT_ENDPOINT, self.address, self.attributes]);
        out.extend_from_slice(&self.max_packet_size.to_le_bytes());
        out.push(self.interval);
    }

    /// Whether data flows device-to-host (bEndpointAddress D7).
    pub fn is_in(&self) -> bool {
        self.address & 0x80 != 0
    }

    /// The endpoint number (bEndpointAddress D3..0).
    pub fn number(&self) -> u8 {
        self.address & 0x0F
    }

    /// The transfer type (bmAttributes D1..0).
    pub fn transfer_type(&self) -> TransferType {
        match self.attributes & 0x03 {
            0 => TransferType::Control,
            1 => TransferType::Isochronous,
            2 => TransferType::Bulk,
            _ => TransferType::Interrupt,
        }
    }

    /// The largest packet in bytes (wMaxPacketSize D10..0, without the
    /// high-bandwidth multiplier bits).
    pub fn packet_size(&self) -> u16 {
        self.max_packet_size & 0x07FF
    }
}
