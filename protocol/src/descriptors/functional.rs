//! Class-specific interface (CS_INTERFACE, 24h) functional descriptors of a
//! CDC communication interface: the ones an MBIM function carries (CDC 1.2
//! Header and Union, MBIM 1.0 §6.4 MBIM and MBIM Extended) and the ones an
//! NCM/MBIM dual-mode function adds (NCM 1.0 §5.2.1 NCM, ECM 1.2 §5.4 CDC
//! Ethernet). Any other subtype is kept as raw bytes.

use super::{
    descriptor_at, emit_with_length, functional_at, DescriptorError, Fields, CDC_SUBTYPE_ETHERNET,
    CDC_SUBTYPE_HEADER, CDC_SUBTYPE_MBIM, CDC_SUBTYPE_MBIM_EXTENDED, CDC_SUBTYPE_NCM,
    CDC_SUBTYPE_UNION, DT_CS_INTERFACE,
};

/// bmNetworkCapabilities of the NCM and MBIM functional descriptors.
///
/// MBIM reuses the NCM bit assignments (NCM 1.0 Table 5-2); of them, MBIM
/// functions use D3 and D5. The positions are those of Linux's
/// `include/uapi/linux/usb/cdc.h` (`USB_CDC_NCM_NCAP_*`), which `cdc_ncm.c`
/// (`cdc_ncm_flags`) applies to the MBIM descriptor's field as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NetworkCapabilities(pub u8);

impl NetworkCapabilities {
    /// D0: SetEthernetPacketFilter (NCM only).
    pub const ETHERNET_PACKET_FILTER: u8 = 1 << 0;
    /// D1: GetNetAddress / SetNetAddress (NCM only).
    pub const NET_ADDRESS: u8 = 1 << 1;
    /// D2: SendEncapsulatedCommand / GetEncapsulatedResponse (NCM only).
    pub const ENCAPSULATED_COMMAND: u8 = 1 << 2;
    /// D3: GetMaxDatagramSize / SetMaxDatagramSize.
    pub const MAX_DATAGRAM_SIZE: u8 = 1 << 3;
    /// D4: GetCrcMode / SetCrcMode (NCM only).
    pub const CRC_MODE: u8 = 1 << 4;
    /// D5: the 8-byte form of GetNtbInputSize / SetNtbInputSize.
    pub const NTB_INPUT_SIZE: u8 = 1 << 5;

    /// Whether the function accepts GetMaxDatagramSize / SetMaxDatagramSize.
    pub fn max_datagram_size(self) -> bool {
        self.0 & Self::MAX_DATAGRAM_SIZE != 0
    }

    /// Whether the function accepts the 8-byte SetNtbInputSize (with
    /// wNtbInMaxDatagrams); without it the host sends only the 4-byte form.
    pub fn ntb_input_size(self) -> bool {
        self.0 & Self::NTB_INPUT_SIZE != 0
    }
}

/// The CDC Header functional descriptor (CDC 1.2 Table 15), which starts the
/// functional descriptors of a communication interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CdcHeaderDescriptor {
    /// bcdCDC: CDC specification release, BCD (0x0110 = 1.10).
    pub bcd_cdc: u16,
}

impl CdcHeaderDescriptor {
    /// bFunctionLength of this descriptor.
    pub const LENGTH: usize = 5;
    const WHAT: &'static str = "CDC Header functional descriptor";

    /// Parses the descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = functional_at(buf, offset, Self::WHAT, CDC_SUBTYPE_HEADER, Self::LENGTH)?;
        Ok(Self { bcd_cdc: f.u16(3)? })
    }

    /// Appends the 5 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[5, DT_CS_INTERFACE, CDC_SUBTYPE_HEADER]);
        out.extend_from_slice(&self.bcd_cdc.to_le_bytes());
    }
}

/// The CDC Union functional descriptor (CDC 1.2 Table 16): the interfaces
/// that form one function, the first subordinate being the data interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CdcUnionDescriptor {
    /// bControlInterface: the communication interface.
    pub control_interface: u8,
    /// bSubordinateInterface0..n. CDC requires at least one; at most 251 fit
    /// in bFunctionLength.
    pub subordinate_interfaces: Vec<u8>,
}

impl CdcUnionDescriptor {
    /// The shortest bFunctionLength: a control and one subordinate interface.
    pub const MIN_LENGTH: usize = 5;
    const WHAT: &'static str = "CDC Union functional descriptor";

    /// Parses the descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = functional_at(buf, offset, Self::WHAT, CDC_SUBTYPE_UNION, Self::MIN_LENGTH)?;
        Ok(Self {
            control_interface: f.u8(3)?,
            subordinate_interfaces: f.tail(4).to_vec(),
        })
    }

    /// Appends this descriptor; fails without a subordinate interface or with
    /// more than fit in bFunctionLength.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), DescriptorError> {
        if self.subordinate_interfaces.is_empty() {
            return Err(DescriptorError::Unencodable {
                what: Self::WHAT,
                reason: "no subordinate interface".into(),
            });
        }
        emit_with_length(
            Self::WHAT,
            &[DT_CS_INTERFACE, CDC_SUBTYPE_UNION, self.control_interface],
            &self.subordinate_interfaces,
            out,
        )
    }

    /// The data interface of an MBIM or NCM function: the first subordinate.
    pub fn data_interface(&self) -> Option<u8> {
        self.subordinate_interfaces.first().copied()
    }
}

/// The CDC Ethernet Networking functional descriptor (ECM 1.2 Table 3),
/// carried by NCM functions, so also by NCM/MBIM dual-mode functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CdcEthernetDescriptor {
    /// iMACAddress: string descriptor index of the MAC address in hex.
    pub mac_address_string: u8,
    /// bmEthernetStatistics.
    pub ethernet_statistics: u32,
    /// wMaxSegmentSize: the largest Ethernet frame, header included.
    pub max_segment_size: u16,
    /// wNumberMCFilters: D15 imperfect filtering, D14..0 filter count.
    pub number_mc_filters: u16,
    /// bNumberPowerFilters.
    pub number_power_filters: u8,
}

impl CdcEthernetDescriptor {
    /// bFunctionLength of this descriptor.
    pub const LENGTH: usize = 13;
    const WHAT: &'static str = "CDC Ethernet functional descriptor";

    /// Parses the descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = functional_at(buf, offset, Self::WHAT, CDC_SUBTYPE_ETHERNET, Self::LENGTH)?;
        Ok(Self {
            mac_address_string: f.u8(3)?,
            ethernet_statistics: f.u32(4)?,
            max_segment_size: f.u16(8)?,
            number_mc_filters: f.u16(10)?,
            number_power_filters: f.u8(12)?,
        })
    }

    /// Appends the 13 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[13, DT_CS_INTERFACE, CDC_SUBTYPE_ETHERNET]);
        out.push(self.mac_address_string);
        out.extend_from_slice(&self.ethernet_statistics.to_le_bytes());
        out.extend_from_slice(&self.max_segment_size.to_le_bytes());
        out.extend_from_slice(&self.number_mc_filters.to_le_bytes());
        out.push(self.number_power_filters);
    }
}

/// The NCM functional descriptor (NCM 1.0 Table 5-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NcmFunctionalDescriptor {
    /// bcdNcmVersion: NCM specification release, BCD.
    pub bcd_ncm_version: u16,
    /// bmNetworkCapabilities.
    pub network_capabilities: NetworkCapabilities,
}

impl NcmFunctionalDescriptor {
    /// bFunctionLength of this descriptor.
    pub const LENGTH: usize = 6;
    const WHAT: &'static str = "NCM functional descriptor";

    /// Parses the descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = functional_at(buf, offset, Self::WHAT, CDC_SUBTYPE_NCM, Self::LENGTH)?;
        Ok(Self {
            bcd_ncm_version: f.u16(3)?,
            network_capabilities: NetworkCapabilities(f.u8(5)?),
        })
    }

    /// Appends the 6 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[6, DT_CS_INTERFACE, CDC_SUBTYPE_NCM]);
        out.extend_from_slice(&self.bcd_ncm_version.to_le_bytes());
        out.push(self.network_capabilities.0);
    }
}

/// The MBIM functional descriptor (MBIM 1.0 Table 6-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbimFunctionalDescriptor {
    /// bcdMBIMVersion: MBIM specification release, BCD (0x0100 = 1.00).
    pub bcd_mbim_version: u16,
    /// wMaxControlMessage: the largest control message the function accepts
    /// or sends, in bytes.
    pub max_control_message: u16,
    /// bNumberFilters: packet filters the function supports.
    pub number_filters: u8,
    /// bMaxFilterSize: bytes of the largest packet filter.
    pub max_filter_size: u8,
    /// wMaxSegmentSize: the largest IP datagram, which is the link MTU.
    pub max_segment_size: u16,
    /// bmNetworkCapabilities.
    pub network_capabilities: NetworkCapabilities,
}

impl MbimFunctionalDescriptor {
    /// bFunctionLength of this descriptor.
    pub const LENGTH: usize = 12;
    const WHAT: &'static str = "MBIM functional descriptor";

    /// The lowest link MTU the Microsoft guidelines allow.
    pub const MIN_LINK_MTU: u16 = 1280;
    /// The highest link MTU the Microsoft guidelines allow.
    pub const MAX_LINK_MTU: u16 = 1500;

    /// Parses the descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = functional_at(buf, offset, Self::WHAT, CDC_SUBTYPE_MBIM, Self::LENGTH)?;
        Ok(Self {
            bcd_mbim_version: f.u16(3)?,
            max_control_message: f.u16(5)?,
            number_filters: f.u8(7)?,
            max_filter_size: f.u8(8)?,
            max_segment_size: f.u16(9)?,
            network_capabilities: NetworkCapabilities(f.u8(11)?),
        })
    }

    /// Appends the 12 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[12, DT_CS_INTERFACE, CDC_SUBTYPE_MBIM]);
        out.extend_from_slice(&self.bcd_mbim_version.to_le_bytes());
        out.extend_from_slice(&self.max_control_message.to_le_bytes());
        out.extend_from_slice(&[self.number_filters, self.max_filter_size]);
        out.extend_from_slice(&self.max_segment_size.to_le_bytes());
        out.push(self.network_capabilities.0);
    }

    /// wMaxControlMessage in bytes: the bound for MBIM_OPEN_MSG's
    /// MaxControlTransfer and for every control message buffer.
    pub fn max_control_message(&self) -> usize {
        usize::from(self.max_control_message)
    }

    /// The link MTU to configure on the network interface.
    ///
    /// Microsoft's "Mobile Broadband Implementation Guidelines for USB
    /// Devices", section "Setting Link MTU": "Devices must communicate the
    /// network supported link MTU using MBIM_FUNCTIONAL_DESCRIPTOR.
    /// wMaxSegmentSize. Link MTU values reported in this manner should be at
    /// least 1280 and at most 1500." So wMaxSegmentSize, clamped to
    /// 1280..=1500: a value outside that range breaks the rule, and the host
    /// stays inside the range rather than trust it (the guidelines are in
    /// /work/shared/seeds/000_6de18969b4214b3e.txt).
    pub fn link_mtu(&self) -> u16 {
        self.max_segment_size
            .clamp(Self::MIN_LINK_MTU, Self::MAX_LINK_MTU)
    }
}

/// The MBIM Extended functional descriptor (added by MBIM 1.0 Errata-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MbimExtendedFunctionalDescriptor {
    /// bcdMBIMExtendedVersion: BCD.
    pub bcd_mbim_extended_version: u16,
    /// bMaxOutstandingCommandMessages: commands the host may have in flight.
    pub max_outstanding_command_messages: u8,
    /// wMTU: the operator's preferred MTU, 0 for none.
    pub mtu: u16,
}

impl MbimExtendedFunctionalDescriptor {
    /// bFunctionLength of this descriptor.
    pub const LENGTH: usize = 8;
    const WHAT: &'static str = "MBIM Extended functional descriptor";

    /// Parses the descriptor at `offset` in `buf`.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let f = functional_at(
            buf,
            offset,
            Self::WHAT,
            CDC_SUBTYPE_MBIM_EXTENDED,
            Self::LENGTH,
        )?;
        Ok(Self {
            bcd_mbim_extended_version: f.u16(3)?,
            max_outstanding_command_messages: f.u8(5)?,
            mtu: f.u16(6)?,
        })
    }

    /// Appends the 8 bytes of this descriptor.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[8, DT_CS_INTERFACE, CDC_SUBTYPE_MBIM_EXTENDED]);
        out.extend_from_slice(&self.bcd_mbim_extended_version.to_le_bytes());
        out.push(self.max_outstanding_command_messages);
        out.extend_from_slice(&self.mtu.to_le_bytes());
    }

    /// The operator's preferred MTU, if the device names one (wMTU ≠ 0).
    pub fn operator_mtu(&self) -> Option<u16> {
        (self.mtu != 0).then_some(self.mtu)
    }
}

/// A functional descriptor of a subtype not typed here (or of a type other
/// than CS_INTERFACE met where one was expected), kept as bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawFunctionalDescriptor {
    /// bDescriptorType (24h for a class-specific interface descriptor).
    pub descriptor_type: u8,
    /// bDescriptorSubtype.
    pub subtype: u8,
    /// The bytes after the 3-byte header.
    pub data: Vec<u8>,
}

impl RawFunctionalDescriptor {
    const WHAT: &'static str = "functional descriptor";

    /// Appends this descriptor; fails if it is longer than bLength can say.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), DescriptorError> {
        emit_with_length(
            Self::WHAT,
            &[self.descriptor_type, self.subtype],
            &self.data,
            out,
        )
    }
}

/// A functional descriptor of a communication interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FunctionalDescriptor {
    /// CDC Header (subtype 00h).
    Header(CdcHeaderDescriptor),
    /// CDC Union (subtype 06h).
    Union(CdcUnionDescriptor),
    /// CDC Ethernet Networking (subtype 0Fh).
    Ethernet(CdcEthernetDescriptor),
    /// NCM (subtype 1Ah).
    Ncm(NcmFunctionalDescriptor),
    /// MBIM (subtype 1Bh).
    Mbim(MbimFunctionalDescriptor),
    /// MBIM Extended (subtype 1Ch).
    MbimExtended(MbimExtendedFunctionalDescriptor),
    /// Anything else, kept as bytes.
    Other(RawFunctionalDescriptor),
}

impl FunctionalDescriptor {
    /// Parses the functional descriptor at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, DescriptorError> {
        Self::parse_at(bytes, 0)
    }

    /// Parses the class-specific descriptor at `offset` in `buf`.
    ///
    /// A known subtype that is too short is an error; an unknown subtype, or
    /// a descriptor whose type is not CS_INTERFACE, is kept raw.
    pub fn parse_at(buf: &[u8], offset: usize) -> Result<Self, DescriptorError> {
        let bytes = descriptor_at(buf, offset, 3)?;
        let f = Fields {
            what: RawFunctionalDescriptor::WHAT,
            offset,
            bytes,
        };
        let descriptor_type = f.u8(1)?;
        let subtype = f.u8(2)?;
        if descriptor_type != DT_CS_INTERFACE {
            return Ok(Self::Other(RawFunctionalDescriptor {
                descriptor_type,
                subtype,
                data: f.tail(3).to_vec(),
            }));
        }
        Ok(match subtype {
            CDC_SUBTYPE_HEADER => Self::Header(CdcHeaderDescriptor::parse_at(buf, offset)?),
            CDC_SUBTYPE_UNION => Self::Union(CdcUnionDescriptor::parse_at(buf, offset)?),
            CDC_SUBTYPE_ETHERNET => Self::Ethernet(CdcEthernetDescriptor::parse_at(buf, offset)?),
            CDC_SUBTYPE_NCM => Self::Ncm(NcmFunctionalDescriptor::parse_at(buf, offset)?),
            CDC_SUBTYPE_MBIM => Self::Mbim(MbimFunctionalDescriptor::parse_at(buf, offset)?),
            CDC_SUBTYPE_MBIM_EXTENDED => {
                Self::MbimExtended(MbimExtendedFunctionalDescriptor::parse_at(buf, offset)?)
            }
            _ => Self::Other(RawFunctionalDescriptor {
                descriptor_type,
                subtype,
                data: f.tail(3).to_vec(),
            }),
        })
    }

    /// Appends this descriptor's bytes.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), DescriptorError> {
        match self {
            Self::Header(d) => d.emit(out),
            Self::Union(d) => return d.emit(out),
            Self::Ethernet(d) => d.emit(out),
            Self::Ncm(d) => d.emit(out),
            Self::Mbim(d) => d.emit(out),
            Self::MbimExtended(d) => d.emit(out),
            Self::Other(d) => return d.emit(out),
        }
        Ok(())
    }
}
