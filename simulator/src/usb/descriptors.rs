//! The simulated modem's USB descriptors: one high-speed composite device
//! (class EF/02/01, so hosts read the IADs) with one MBIM function per
//! executor, built with `mbim-protocol`'s emitters so the bytes the kernel
//! reads are the ones `find_mbim_functions` accepts.
//!
//! Function `i` owns interfaces `2i` (communication, 02/0E/00) and `2i+1`
//! (data, 0A/00/02 with alternate settings 0 and 1), and endpoints
//! `0x81+2i` (interrupt IN), `0x82+2i` (bulk IN) and `0x02+2i` (bulk OUT),
//! the layout of the prototype simulator that booted against a real
//! `cdc_mbim`. Endpoint numbers stop at 15, so at most 7 functions fit.

use mbim_protocol::descriptors::{
    CdcHeaderDescriptor, CdcUnionDescriptor, ConfigurationDescriptor, DescriptorError,
    EndpointDescriptor, InterfaceAssociationDescriptor, InterfaceDescriptor,
    MbimExtendedFunctionalDescriptor, MbimFunctionalDescriptor, NetworkCapabilities,
    CLASS_CDC_DATA, CLASS_COMMUNICATION, PROTOCOL_DATA_MBIM, PROTOCOL_MBIM_COMM, SUBCLASS_MBIM,
};
use thiserror::Error;

/// bDescriptorType of a device descriptor.
pub const DT_DEVICE: u8 = 0x01;
/// bDescriptorType of a configuration descriptor.
pub const DT_CONFIGURATION: u8 = 0x02;
/// bDescriptorType of a string descriptor.
pub const DT_STRING: u8 = 0x03;
/// The one language of the string descriptors: English (United States).
pub const LANGID_EN_US: u16 = 0x0409;
/// bConfigurationValue of the only configuration.
pub const CONFIGURATION_VALUE: u8 = 1;
/// The most functions whose endpoints fit in endpoint numbers 1..=15.
pub const MAX_FUNCTIONS: usize = 7;
/// wMaxPacketSize of the bulk endpoints: the high-speed maximum.
pub const BULK_PACKET_SIZE: u16 = 512;
/// wMaxPacketSize of the interrupt endpoint.
pub const INTERRUPT_PACKET_SIZE: u16 = 64;

/// String descriptor indexes.
const STRING_MANUFACTURER: u8 = 1;
const STRING_PRODUCT: u8 = 2;
const STRING_SERIAL: u8 = 3;
const STRING_FIRST_FUNCTION: u8 = 4;

/// Why the descriptors could not be built.
#[derive(Debug, Error)]
pub enum DescriptorBuildError {
    /// No function, or more than [`MAX_FUNCTIONS`].
    #[error("{0} MBIM functions requested; a device has 1 to {MAX_FUNCTIONS}")]
    FunctionCount(usize),
    /// A string does not fit in a string descriptor (126 UTF-16 units).
    #[error("string {0:?} is too long for a USB string descriptor")]
    StringTooLong(String),
    /// The protocol crate refused a descriptor.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
}

/// Who the device says it is: the device descriptor's ids and strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// idVendor.
    pub vendor_id: u16,
    /// idProduct.
    pub product_id: u16,
    /// bcdDevice.
    pub bcd_device: u16,
    /// iManufacturer's text.
    pub manufacturer: String,
    /// iProduct's text.
    pub product: String,
    /// iSerialNumber's text.
    pub serial: String,
}

impl Default for DeviceIdentity {
    /// The pid.codes test VID/PID the prototype simulator used.
    fn default() -> Self {
        DeviceIdentity {
            vendor_id: 0x1209,
            product_id: 0x4D42,
            bcd_device: 0x0100,
            manufacturer: "mbimd-test".into(),
            product: "Simulated MBIM modem".into(),
            serial: "SIM0001".into(),
        }
    }
}

/// What the descriptors of one MBIM function carry (its MBIM and MBIM
/// Extended functional descriptors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbimFunctionParams {
    /// wMaxControlMessage.
    pub max_control_message: u16,
    /// wMaxSegmentSize.
    pub max_segment_size: u16,
    /// bcdMBIMVersion.
    pub mbim_version: u16,
    /// bcdMBIMExtendedVersion.
    pub extended_version: u16,
    /// bMaxOutstandingCommandMessages.
    pub max_outstanding_commands: u8,
    /// wMTU of the extended descriptor.
    pub mtu: u16,
    /// bmNetworkCapabilities.
    pub network_capabilities: u8,
    /// bNumberFilters.
    pub number_filters: u8,
    /// bMaxFilterSize.
    pub max_filter_size: u8,
}

impl Default for MbimFunctionParams {
    fn default() -> Self {
        MbimFunctionParams {
            max_control_message: 4096,
            max_segment_size: 1500,
            mbim_version: 0x0100,
            extended_version: 0x0100,
            max_outstanding_commands: 64,
            mtu: 1500,
            network_capabilities: NetworkCapabilities::NTB_INPUT_SIZE,
            number_filters: 16,
            max_filter_size: 128,
        }
    }
}

/// Where function `index` sits in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FunctionLayout {
    /// The function (= executor) index.
    pub index: usize,
    /// bInterfaceNumber of the communication interface.
    pub comm_interface: u8,
    /// bInterfaceNumber of the data interface.
    pub data_interface: u8,
    /// bEndpointAddress of the interrupt IN endpoint.
    pub notification_endpoint: u8,
    /// bEndpointAddress of the bulk IN endpoint.
    pub bulk_in_endpoint: u8,
    /// bEndpointAddress of the bulk OUT endpoint.
    pub bulk_out_endpoint: u8,
}

impl FunctionLayout {
    /// The layout of function `index`, if its endpoints fit.
    pub fn for_index(index: usize) -> Option<Self> {
        if index >= MAX_FUNCTIONS {
            return None;
        }
        let i = u8::try_from(index).ok()?;
        Some(FunctionLayout {
            index,
            comm_interface: 2 * i,
            data_interface: 2 * i + 1,
            notification_endpoint: 0x81 + 2 * i,
            bulk_in_endpoint: 0x82 + 2 * i,
            bulk_out_endpoint: 0x02 + 2 * i,
        })
    }

    /// The function's string descriptor index (IAD and communication interface).
    fn string_index(&self) -> u8 {
        STRING_FIRST_FUNCTION.saturating_add(u8::try_from(self.index).unwrap_or(u8::MAX))
    }

    fn emit(&self, params: &MbimFunctionParams, out: &mut Vec<u8>) -> Result<(), DescriptorError> {
        InterfaceAssociationDescriptor {
            first_interface: self.comm_interface,
            interface_count: 2,
            function_class: CLASS_COMMUNICATION,
            function_subclass: SUBCLASS_MBIM,
            function_protocol: PROTOCOL_MBIM_COMM,
            function_string: self.string_index(),
        }
        .emit(out);
        InterfaceDescriptor {
            interface_number: self.comm_interface,
            alternate_setting: 0,
            num_endpoints: 1,
            class: CLASS_COMMUNICATION,
            subclass: SUBCLASS_MBIM,
            protocol: PROTOCOL_MBIM_COMM,
            interface_string: self.string_index(),
        }
        .emit(out);
        CdcHeaderDescriptor { bcd_cdc: 0x0110 }.emit(out);
        CdcUnionDescriptor {
            control_interface: self.comm_interface,
            subordinate_interfaces: vec![self.data_interface],
        }
        .emit(out)?;
        MbimFunctionalDescriptor {
            bcd_mbim_version: params.mbim_version,
            max_control_message: params.max_control_message,
            number_filters: params.number_filters,
            max_filter_size: params.max_filter_size,
            max_segment_size: params.max_segment_size,
            network_capabilities: NetworkCapabilities(params.network_capabilities),
        }
        .emit(out);
        MbimExtendedFunctionalDescriptor {
            bcd_mbim_extended_version: params.extended_version,
            max_outstanding_command_messages: params.max_outstanding_commands,
            mtu: params.mtu,
        }
        .emit(out);
        EndpointDescriptor {
            address: self.notification_endpoint,
            attributes: 0x03,
            max_packet_size: INTERRUPT_PACKET_SIZE,
            // 2^(9-1) microframes = 32 ms; vhci forwards URBs at once anyway.
            interval: 9,
        }
        .emit(out);
        for (alternate_setting, num_endpoints) in [(0, 0), (1, 2)] {
            InterfaceDescriptor {
                interface_number: self.data_interface,
                alternate_setting,
                num_endpoints,
                class: CLASS_CDC_DATA,
                subclass: 0,
                protocol: PROTOCOL_DATA_MBIM,
                interface_string: 0,
            }
            .emit(out);
        }
        for address in [self.bulk_in_endpoint, self.bulk_out_endpoint] {
            EndpointDescriptor {
                address,
                attributes: 0x02,
                max_packet_size: BULK_PACKET_SIZE,
                interval: 0,
            }
            .emit(out);
        }
        Ok(())
    }
}

/// The descriptors the device answers GET_DESCRIPTOR with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbDescriptors {
    identity: DeviceIdentity,
    device: Vec<u8>,
    configuration: Vec<u8>,
    strings: Vec<Vec<u8>>,
    layouts: Vec<FunctionLayout>,
}

/// A string descriptor: UTF-16LE after a 2-byte header.
fn string_descriptor(text: &str) -> Result<Vec<u8>, DescriptorBuildError> {
    let mut out = vec![0, DT_STRING];
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    let len = u8::try_from(out.len())
        .map_err(|_| DescriptorBuildError::StringTooLong(text.to_owned()))?;
    if let Some(first) = out.first_mut() {
        *first = len;
    }
    Ok(out)
}

impl UsbDescriptors {
    /// Builds the descriptors of a device with one MBIM function per entry
    /// of `functions`.
    pub fn build(
        identity: &DeviceIdentity,
        functions: &[MbimFunctionParams],
    ) -> Result<Self, DescriptorBuildError> {
        if functions.is_empty() || functions.len() > MAX_FUNCTIONS {
            return Err(DescriptorBuildError::FunctionCount(functions.len()));
        }
        let mut layouts = Vec::with_capacity(functions.len());
        let mut body = Vec::new();
        for (index, params) in functions.iter().enumerate() {
            let layout = FunctionLayout::for_index(index)
                .ok_or(DescriptorBuildError::FunctionCount(functions.len()))?;
            layout.emit(params, &mut body)?;
            layouts.push(layout);
        }
        let num_interfaces = u8::try_from(2 * functions.len())
            .map_err(|_| DescriptorBuildError::FunctionCount(functions.len()))?;
        let configuration = ConfigurationDescriptor {
            total_length: 0,
            num_interfaces,
            configuration_value: CONFIGURATION_VALUE,
            configuration_string: 0,
            // Bus-powered, no remote wakeup: D7 is reserved and must be set.
            attributes: 0x80,
            // 500 mA in 2 mA units.
            max_power: 250,
        }
        .emit_with_body(&body)?;

        let mut device = vec![18, DT_DEVICE];
        device.extend_from_slice(&0x0200u16.to_le_bytes());
        // Miscellaneous / Common / IAD: hosts read the IADs to group interfaces.
        device.extend_from_slice(&[0xEF, 0x02, 0x01, 64]);
        for value in [identity.vendor_id, identity.product_id, identity.bcd_device] {
            device.extend_from_slice(&value.to_le_bytes());
        }
        device.extend_from_slice(&[STRING_MANUFACTURER, STRING_PRODUCT, STRING_SERIAL, 1]);

        let mut strings = vec![
            string_descriptor(&identity.manufacturer)?,
            string_descriptor(&identity.product)?,
            string_descriptor(&identity.serial)?,
        ];
        for layout in &layouts {
            strings.push(string_descriptor(&format!(
                "MBIM executor {}",
                layout.index
            ))?);
        }
        Ok(UsbDescriptors {
            identity: identity.clone(),
            device,
            configuration,
            strings,
            layouts,
        })
    }

    /// Who the device says it is.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// The 18-byte device descriptor.
    pub fn device(&self) -> &[u8] {
        &self.device
    }

    /// The whole configuration (GET_DESCRIPTOR(CONFIGURATION, 0)).
    pub fn configuration(&self) -> &[u8] {
        &self.configuration
    }

    /// String descriptor `index` (0: the language list), if it exists.
    pub fn string(&self, index: u8) -> Option<Vec<u8>> {
        if index == 0 {
            let [l0, l1] = LANGID_EN_US.to_le_bytes();
            return Some(vec![4, DT_STRING, l0, l1]);
        }
        self.strings.get(usize::from(index) - 1).cloned()
    }

    /// Where each function sits, in function order.
    pub fn layouts(&self) -> &[FunctionLayout] {
        &self.layouts
    }

    /// bNumInterfaces.
    pub fn num_interfaces(&self) -> u8 {
        u8::try_from(self.layouts.len() * 2).unwrap_or(u8::MAX)
    }

    /// The class triples of the interfaces (first setting of each), for
    /// `OP_REP_DEVLIST`.
    pub fn interface_classes(&self) -> Vec<(u8, u8, u8)> {
        self.layouts
            .iter()
            .flat_map(|_| {
                [
                    (CLASS_COMMUNICATION, SUBCLASS_MBIM, PROTOCOL_MBIM_COMM),
                    (CLASS_CDC_DATA, 0, PROTOCOL_DATA_MBIM),
                ]
            })
            .collect()
    }

    /// The function owning interface `interface`.
    pub fn function_of_interface(&self, interface: u8) -> Option<&FunctionLayout> {
        self.layouts
            .iter()
            .find(|l| l.comm_interface == interface || l.data_interface == interface)
    }

    /// The function owning endpoint address `address` (direction bit included).
    pub fn function_of_endpoint(&self, address: u8) -> Option<&FunctionLayout> {
        self.layouts.iter().find(|l| {
            l.notification_endpoint == address
                || l.bulk_in_endpoint == address
                || l.bulk_out_endpoint == address
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbim_protocol::descriptors::{find_mbim_functions, FunctionKind, TransferType};

    #[test]
    fn every_function_is_found_with_its_endpoints() {
        for n in 1..=MAX_FUNCTIONS {
            let params = vec![MbimFunctionParams::default(); n];
            let d = UsbDescriptors::build(&DeviceIdentity::default(), &params).unwrap();
            let found = find_mbim_functions(d.configuration()).unwrap();
            assert_eq!(found.len(), n);
            for (f, layout) in found.iter().zip(d.layouts()) {
                assert_eq!(f.kind, FunctionKind::Mbim);
                assert!(f.is_usable());
                assert_eq!(f.comm_interface(), layout.comm_interface);
                assert_eq!(f.data_interface, Some(layout.data_interface));
                let notification = f.notification.unwrap();
                assert_eq!(notification.address, layout.notification_endpoint);
                assert_eq!(notification.transfer_type(), TransferType::Interrupt);
                let data = f.mbim_data_setting().unwrap();
                assert_eq!(data.interface.alternate_setting, 1);
                assert_eq!(data.bulk_in.unwrap().address, layout.bulk_in_endpoint);
                assert_eq!(data.bulk_out.unwrap().address, layout.bulk_out_endpoint);
                assert_eq!(data.bulk_in.unwrap().packet_size(), 512);
                assert_eq!(f.data_settings.len(), 2);
                assert_eq!(f.data_settings[0].interface.num_endpoints, 0);
                let mbim = f.mbim().unwrap();
                assert_eq!(mbim.max_control_message, 4096);
                assert_eq!(mbim.max_segment_size, 1500);
                assert_eq!(
                    f.mbim_extended().unwrap().max_outstanding_command_messages,
                    64
                );
                assert_eq!(f.link_mtu(), Some(1500));
                assert_eq!(f.association.unwrap().interface_count, 2);
            }
        }
        assert!(UsbDescriptors::build(&DeviceIdentity::default(), &[]).is_err());
        let eight = vec![MbimFunctionParams::default(); 8];
        assert!(UsbDescriptors::build(&DeviceIdentity::default(), &eight).is_err());
    }

    #[test]
    fn functional_descriptors_carry_the_function_parameters() {
        let params = MbimFunctionParams {
            max_control_message: 512,
            max_segment_size: 1428,
            mbim_version: 0x0100,
            extended_version: 0x0200,
            max_outstanding_commands: 8,
            mtu: 1400,
            network_capabilities: 0x28,
            number_filters: 4,
            max_filter_size: 64,
        };
        let d = UsbDescriptors::build(&DeviceIdentity::default(), &[params]).unwrap();
        let f = &find_mbim_functions(d.configuration()).unwrap()[0];
        let mbim = f.mbim().unwrap();
        assert_eq!(mbim.max_control_message, 512);
        assert_eq!(mbim.number_filters, 4);
        assert_eq!(mbim.max_filter_size, 64);
        assert_eq!(mbim.network_capabilities.0, 0x28);
        let ext = f.mbim_extended().unwrap();
        assert_eq!(ext.bcd_mbim_extended_version, 0x0200);
        assert_eq!(ext.max_outstanding_command_messages, 8);
        assert_eq!(f.link_mtu(), Some(1400));
    }

    #[test]
    fn device_descriptor_and_strings() {
        let identity = DeviceIdentity {
            vendor_id: 0x1234,
            product_id: 0xABCD,
            bcd_device: 0x0318,
            manufacturer: "Acme".into(),
            product: "Modem".into(),
            serial: "Ä1".into(),
        };
        let params = [MbimFunctionParams::default(); 2];
        let d = UsbDescriptors::build(&identity, &params).unwrap();
        #[rustfmt::skip]
        assert_eq!(d.device(), [
            18, 0x01,       // bLength, DEVICE
            0x00, 0x02,     // bcdUSB 2.00
            0xEF, 0x02, 0x01, // IAD composite
            64,             // bMaxPacketSize0
            0x34, 0x12,     // idVendor
            0xCD, 0xAB,     // idProduct
            0x18, 0x03,     // bcdDevice
            1, 2, 3,        // iManufacturer, iProduct, iSerialNumber
            1,              // bNumConfigurations
        ]);
        assert_eq!(d.string(0).unwrap(), [4, 3, 0x09, 0x04]);
        assert_eq!(
            d.string(1).unwrap(),
            [10, 3, b'A', 0, b'c', 0, b'm', 0, b'e', 0]
        );
        assert_eq!(d.string(3).unwrap(), [6, 3, 0xC4, 0, b'1', 0]);
        assert_eq!(d.string(5).unwrap().len(), 2 + 2 * "MBIM executor 1".len());
        assert_eq!(d.string(6), None);
        assert_eq!(d.num_interfaces(), 4);
        let config = ConfigurationDescriptor::parse(d.configuration()).unwrap();
        assert_eq!(usize::from(config.total_length), d.configuration().len());
        assert_eq!(config.num_interfaces, 4);
        assert_eq!(d.function_of_interface(3).unwrap().index, 1);
        assert_eq!(d.function_of_endpoint(0x84).unwrap().index, 1);
        assert_eq!(d.function_of_endpoint(0x04).unwrap().index, 1);
        assert!(d.function_of_endpoint(0x85).is_none());
        let long = DeviceIdentity {
            product: "x".repeat(127),
            ..DeviceIdentity::default()
        };
        assert!(matches!(
            UsbDescriptors::build(&long, &params),
            Err(DescriptorBuildError::StringTooLong(_))
        ));
    }
}
