//! USB descriptors of MBIM functions: functional descriptor round trips, the
//! configuration walker on real and spec-built configurations, every error
//! path, and property tests on arbitrary bytes.

// Helpers shared by the tests panic on failure like the tests themselves; a
// panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::descriptors::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Test configurations
// ---------------------------------------------------------------------------

/// The MBIM function of a Fibocom L850-GL (VID:PID 2cb7:0007), followed by
/// its first CDC ACM function, as a configuration descriptor.
///
/// Field values come from two public dumps of the same modem:
/// - `lsusb -v` in https://github.com/gammu/gammu/issues/505 (functional
///   descriptors, the interrupt endpoint, the data interface settings);
/// - `usb-devices` in https://github.com/4IceG/luci-app-3ginfo-lite/issues/82
///   (configuration attributes, IADs, interface classes, bulk endpoints).
///
/// Fields neither dump shows are marked "not shown"; the value used is the
/// plain one (0 for a string index). The ACM function's class-specific
/// descriptors are not in the dumps either: they are built from CDC 1.2 / PSTN
/// 1.2 so the walker has a non-MBIM communication interface to skip. The
/// modem's other two ACM functions (interfaces 4..7) are left out, so
/// bNumInterfaces says 4, not the device's 8.
const FIBOCOM_L850: &[u8] = &[
    // Configuration descriptor
    0x09, // bLength
    0x02, // bDescriptorType: CONFIGURATION
    0xA1, 0x00, // wTotalLength: 161
    0x04, // bNumInterfaces: 4 (of the device's 8; see above)
    0x01, // bConfigurationValue: 1 ("Cfg#= 1")
    0x00, // iConfiguration: not shown
    0xE0, // bmAttributes: self-powered, remote wakeup ("Atr=e0")
    0x32, // bMaxPower: 50 x 2 mA = 100 mA ("MxPwr=100mA")
    // Interface association: the MBIM function
    0x08, // bLength
    0x0B, // bDescriptorType: INTERFACE_ASSOCIATION
    0x00, // bFirstInterface: 0 ("FirstIf#= 0")
    0x02, // bInterfaceCount: 2
    0x02, // bFunctionClass: Communications
    0x0E, // bFunctionSubClass: MBIM
    0x00, // bFunctionProtocol
    0x00, // iFunction: not shown
    // Interface 0 alt 0: MBIM communication interface
    0x09, // bLength
    0x04, // bDescriptorType: INTERFACE
    0x00, // bInterfaceNumber: 0
    0x00, // bAlternateSetting: 0
    0x01, // bNumEndpoints: 1
    0x02, // bInterfaceClass: Communications
    0x0E, // bInterfaceSubClass: MBIM
    0x00, // bInterfaceProtocol: 0
    0x00, // iInterface: not shown
    // CDC Header
    0x05, // bFunctionLength
    0x24, // bDescriptorType: CS_INTERFACE
    0x00, // bDescriptorSubtype: Header
    0x20, 0x01, // bcdCDC: 1.20
    // CDC Union
    0x05, // bFunctionLength
    0x24, // bDescriptorType: CS_INTERFACE
    0x06, // bDescriptorSubtype: Union
    0x00, // bControlInterface ("bMasterInterface"): 0
    0x01, // bSubordinateInterface0 ("bSlaveInterface"): 1
    // MBIM functional
    0x0C, // bFunctionLength: 12
    0x24, // bDescriptorType: CS_INTERFACE
    0x1B, // bDescriptorSubtype: MBIM
    0x00, 0x01, // bcdMBIMVersion: 1.00
    0x00, 0x02, // wMaxControlMessage: 512
    0x20, // bNumberFilters: 32
    0xC0, // bMaxFilterSize: 192
    0xDC, 0x05, // wMaxSegmentSize: 1500
    0x00, // bmNetworkCapabilities: 0x00
    // MBIM Extended functional
    0x08, // bFunctionLength: 8
    0x24, // bDescriptorType: CS_INTERFACE
    0x1C, // bDescriptorSubtype: MBIM Extended
    0x00, 0x01, // bcdMBIMExtendedVersion: 1.00
    0x01, // bMaxOutstandingCommandMessages: 1
    0xDC, 0x05, // wMTU: 1500
    // Endpoint 0x81: notifications
    0x07, // bLength
    0x05, // bDescriptorType: ENDPOINT
    0x81, // bEndpointAddress: EP 1 IN
    0x03, // bmAttributes: interrupt
    0x40, 0x00, // wMaxPacketSize: 64
    0x04, // bInterval: 4 (2^(4-1) microframes = 1 ms, "Ivl=1ms")
    // Interface 1 alt 0: data interface, no endpoints
    0x09, // bLength
    0x04, // bDescriptorType: INTERFACE
    0x01, // bInterfaceNumber: 1
    0x00, // bAlternateSetting: 0
    0x00, // bNumEndpoints: 0
    0x0A, // bInterfaceClass: CDC Data
    0x00, // bInterfaceSubClass: 0
    0x02, // bInterfaceProtocol: 2 (MBIM NTB)
    0x06, // iInterface: 6
    // Interface 1 alt 1: data interface with bulk endpoints
    0x09, // bLength
    0x04, // bDescriptorType: INTERFACE
    0x01, // bInterfaceNumber: 1
    0x01, // bAlternateSetting: 1
    0x02, // bNumEndpoints: 2
    0x0A, // bInterfaceClass: CDC Data
    0x00, // bInterfaceSubClass: 0
    0x02, // bInterfaceProtocol: 2 (MBIM NTB)
    0x06, // iInterface: not shown (alt 0's value)
    // Endpoint 0x82: bulk IN
    0x07, // bLength
    0x05, // bDescriptorType: ENDPOINT
    0x82, // bEndpointAddress: EP 2 IN
    0x02, // bmAttributes: bulk
    0x00, 0x02, // wMaxPacketSize: 512
    0x00, // bInterval: 0
    // Endpoint 0x02: bulk OUT
    0x07, // bLength
    0x05, // bDescriptorType: ENDPOINT
    0x02, // bEndpointAddress: EP 2 OUT
    0x02, // bmAttributes: bulk
    0x00, 0x02, // wMaxPacketSize: 512
    0x00, // bInterval: 0
    // Interface association: first ACM function
    0x08, // bLength
    0x0B, // bDescriptorType: INTERFACE_ASSOCIATION
    0x02, // bFirstInterface: 2 ("FirstIf#= 2")
    0x02, // bInterfaceCount: 2
    0x02, // bFunctionClass: Communications
    0x02, // bFunctionSubClass: ACM
    0x00, // bFunctionProtocol: 0
    0x00, // iFunction: not shown
    // Interface 2 alt 0: ACM communication interface
    0x09, // bLength
    0x04, // bDescriptorType: INTERFACE
    0x02, // bInterfaceNumber: 2
    0x00, // bAlternateSetting: 0
    0x01, // bNumEndpoints: 1
    0x02, // bInterfaceClass: Communications
    0x02, // bInterfaceSubClass: ACM
    0x00, // bInterfaceProtocol: 0
    0x00, // iInterface: not shown
    // CDC Header (not shown; CDC 1.2 Table 15)
    0x05, 0x24, 0x00, 0x10, 0x01, // bcdCDC 1.10
    // ACM functional (not shown; PSTN 1.2 Table 4)
    0x04, 0x24, 0x02, 0x02, // bmCapabilities: line coding
    // CDC Union (not shown; CDC 1.2 Table 16)
    0x05, 0x24, 0x06, 0x02, 0x03, // control 2, subordinate 3
    // Call Management (not shown; PSTN 1.2 Table 3)
    0x05, 0x24, 0x01, 0x00, 0x03, // bmCapabilities 0, bDataInterface 3
    // Endpoint 0x83: notifications
    0x07, // bLength
    0x05, // bDescriptorType: ENDPOINT
    0x83, // bEndpointAddress: EP 3 IN
    0x03, // bmAttributes: interrupt
    0x40, 0x00, // wMaxPacketSize: 64
    0x04, // bInterval: not shown (1 ms, as for 0x81)
    // Interface 3 alt 0: ACM data interface
    0x09, // bLength
    0x04, // bDescriptorType: INTERFACE
    0x03, // bInterfaceNumber: 3
    0x00, // bAlternateSetting: 0
    0x02, // bNumEndpoints: 2
    0x0A, // bInterfaceClass: CDC Data
    0x00, // bInterfaceSubClass: 0
    0x00, // bInterfaceProtocol: 0
    0x00, // iInterface: not shown
    // Endpoint 0x84: bulk IN
    0x07, 0x05, 0x84, 0x02, 0x00, 0x02, 0x00, // EP 4 IN, bulk, 512
    // Endpoint 0x04: bulk OUT
    0x07, 0x05, 0x04, 0x02, 0x00, 0x02, 0x00, // EP 4 OUT, bulk, 512
];

/// One MBIM function as the prototype USB/IP simulator
/// (`vm-harness/usbip_mbim_sim.py`, `MbimFunction.descriptors`) lays it out
/// for function `idx`: interfaces 2*idx and 2*idx+1, endpoints 0x81+2*idx
/// (interrupt), 0x82+2*idx (bulk IN) and 0x02+2*idx (bulk OUT).
fn sim_function(idx: u8) -> Vec<u8> {
    let comm = 2 * idx;
    let data = 2 * idx + 1;
    let ep_int = 0x81 + 2 * idx;
    let ep_in = 0x82 + 2 * idx;
    let ep_out = 0x02 + 2 * idx;
    vec![
        // Interface association
        0x08,    // bLength
        0x0B,    // bDescriptorType: INTERFACE_ASSOCIATION
        comm,    // bFirstInterface
        0x02,    // bInterfaceCount: 2
        0x02,    // bFunctionClass: Communications
        0x0E,    // bFunctionSubClass: MBIM
        0x00,    // bFunctionProtocol
        4 + idx, // iFunction
        // Communication interface
        0x09,    // bLength
        0x04,    // bDescriptorType: INTERFACE
        comm,    // bInterfaceNumber
        0x00,    // bAlternateSetting: 0
        0x01,    // bNumEndpoints: 1
        0x02,    // bInterfaceClass: Communications
        0x0E,    // bInterfaceSubClass: MBIM
        0x00,    // bInterfaceProtocol: 0
        4 + idx, // iInterface
        // CDC Header
        0x05,
        0x24,
        0x00, // bFunctionLength, CS_INTERFACE, Header
        0x10,
        0x01, // bcdCDC: 1.10
        // CDC Union
        0x05,
        0x24,
        0x06, // bFunctionLength, CS_INTERFACE, Union
        comm, // bControlInterface
        data, // bSubordinateInterface0
        // MBIM functional
        0x0C,
        0x24,
        0x1B, // bFunctionLength 12, CS_INTERFACE, MBIM
        0x00,
        0x01, // bcdMBIMVersion: 1.00
        0x00,
        0x10, // wMaxControlMessage: 4096
        0x10, // bNumberFilters: 16
        0x80, // bMaxFilterSize: 128
        0xDC,
        0x05, // wMaxSegmentSize: 1500
        0x20, // bmNetworkCapabilities: 8-byte NTB input size
        // MBIM Extended functional
        0x08,
        0x24,
        0x1C, // bFunctionLength 8, CS_INTERFACE, MBIM Extended
        0x00,
        0x01, // bcdMBIMExtendedVersion: 1.00
        0x40, // bMaxOutstandingCommandMessages: 64
        0xDC,
        0x05, // wMTU: 1500
        // Notification endpoint
        0x07,
        0x05,   // bLength, ENDPOINT
        ep_int, // bEndpointAddress
        0x03,   // bmAttributes: interrupt
        0x40,
        0x00, // wMaxPacketSize: 64
        0x09, // bInterval: 9
        // Data interface alt 0
        0x09,
        0x04, // bLength, INTERFACE
        data, // bInterfaceNumber
        0x00, // bAlternateSetting: 0
        0x00, // bNumEndpoints: 0
        0x0A,
        0x00,
        0x02, // CDC Data / 0 / MBIM NTB
        0x00, // iInterface
        // Data interface alt 1
        0x09,
        0x04, // bLength, INTERFACE
        data, // bInterfaceNumber
        0x01, // bAlternateSetting: 1
        0x02, // bNumEndpoints: 2
        0x0A,
        0x00,
        0x02, // CDC Data / 0 / MBIM NTB
        0x00, // iInterface
        // Bulk IN
        0x07,
        0x05,
        ep_in,
        0x02, // bLength, ENDPOINT, address, bulk
        0x00,
        0x02, // wMaxPacketSize: 512
        0x00, // bInterval
        // Bulk OUT
        0x07,
        0x05,
        ep_out,
        0x02, // bLength, ENDPOINT, address, bulk
        0x00,
        0x02, // wMaxPacketSize: 512
        0x00, // bInterval
    ]
}

/// The simulator's configuration with `n` functions.
fn sim_config(n: u8) -> Vec<u8> {
    let body: Vec<u8> = (0..n).flat_map(sim_function).collect();
    let config = ConfigurationDescriptor {
        total_length: 0,
        num_interfaces: 2 * n,
        configuration_value: 1,
        configuration_string: 0,
        attributes: 0x80,
        max_power: 250,
    };
    config.emit_with_body(&body).unwrap()
}

/// An NCM/MBIM dual-mode function built from the specifications: NCM 1.0
/// §5 for communication alt 0, MBIM 1.0 §3.2 and §6 for communication alt 1,
/// and a data interface with settings 0 (none), 1 (NCM) and 2 (MBIM), the
/// numbering Linux's `cdc_ncm.h` uses.
const NCM_MBIM: &[u8] = &[
    // Configuration descriptor
    0x09, 0x02, // bLength, CONFIGURATION
    0x9B, 0x00, // wTotalLength: 155
    0x02, // bNumInterfaces: 2
    0x01, // bConfigurationValue: 1
    0x00, // iConfiguration
    0x80, // bmAttributes: bus-powered
    0xFA, // bMaxPower: 500 mA
    // Interface association
    0x08, 0x0B, // bLength, INTERFACE_ASSOCIATION
    0x00, 0x02, // bFirstInterface 0, bInterfaceCount 2
    0x02, 0x0D, 0x00, // Communications / NCM / 0
    0x00, // iFunction
    // Interface 0 alt 0: NCM communication interface
    0x09, 0x04, // bLength, INTERFACE
    0x00, 0x00, // bInterfaceNumber 0, bAlternateSetting 0
    0x01, // bNumEndpoints: 1
    0x02, 0x0D, 0x00, // Communications / NCM / 0
    0x00, // iInterface
    // CDC Header
    0x05, 0x24, 0x00, 0x10, 0x01, // bcdCDC 1.10
    // CDC Union
    0x05, 0x24, 0x06, 0x00, 0x01, // control 0, subordinate 1
    // CDC Ethernet Networking
    0x0D, 0x24, 0x0F, // bFunctionLength 13, CS_INTERFACE, Ethernet
    0x04, // iMACAddress: string 4
    0x00, 0x00, 0x00, 0x00, // bmEthernetStatistics: none
    0xEA, 0x05, // wMaxSegmentSize: 1514
    0x00, 0x00, // wNumberMCFilters: 0
    0x00, // bNumberPowerFilters: 0
    // NCM functional
    0x06, 0x24, 0x1A, // bFunctionLength 6, CS_INTERFACE, NCM
    0x00, 0x01, // bcdNcmVersion: 1.00
    0x20, // bmNetworkCapabilities: 8-byte NTB input size
    // Notification endpoint
    0x07, 0x05, 0x81, 0x03, 0x40, 0x00, 0x09, // EP 1 IN, interrupt, 64, 9
    // Interface 0 alt 1: MBIM communication interface
    0x09, 0x04, // bLength, INTERFACE
    0x00, 0x01, // bInterfaceNumber 0, bAlternateSetting 1
    0x01, // bNumEndpoints: 1
    0x02, 0x0E, 0x00, // Communications / MBIM / 0
    0x00, // iInterface
    // CDC Header
    0x05, 0x24, 0x00, 0x10, 0x01, // bcdCDC 1.10
    // CDC Union
    0x05, 0x24, 0x06, 0x00, 0x01, // control 0, subordinate 1
    // MBIM functional
    0x0C, 0x24, 0x1B, // bFunctionLength 12, CS_INTERFACE, MBIM
    0x00, 0x01, // bcdMBIMVersion: 1.00
    0x00, 0x10, // wMaxControlMessage: 4096
    0x10, // bNumberFilters: 16
    0x80, // bMaxFilterSize: 128
    0xDC, 0x05, // wMaxSegmentSize: 1500
    0x28, // bmNetworkCapabilities: max datagram size, 8-byte NTB input size
    // Notification endpoint
    0x07, 0x05, 0x81, 0x03, 0x40, 0x00, 0x09, // EP 1 IN, interrupt, 64, 9
    // Interface 1 alt 0: data, no endpoints
    0x09, 0x04, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x01, 0x00, // Interface 1 alt 1: data, NCM
    0x09, 0x04, 0x01, 0x01, 0x02, 0x0A, 0x00, 0x01, 0x00, 0x07, 0x05, 0x82, 0x02, 0x00, 0x02,
    0x00, // EP 2 IN, bulk, 512
    0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00, // EP 2 OUT, bulk, 512
    // Interface 1 alt 2: data, MBIM
    0x09, 0x04, 0x01, 0x02, 0x02, 0x0A, 0x00, 0x02, 0x00, 0x07, 0x05, 0x82, 0x02, 0x00, 0x02,
    0x00, // EP 2 IN, bulk, 512
    0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00, // EP 2 OUT, bulk, 512
];

fn ep(address: u8, attributes: u8, max_packet_size: u16, interval: u8) -> EndpointDescriptor {
    EndpointDescriptor {
        address,
        attributes,
        max_packet_size,
        interval,
    }
}

// ---------------------------------------------------------------------------
// Functional descriptors: parse -> value -> emit -> same bytes
// ---------------------------------------------------------------------------

fn round_trip(bytes: &[u8], expected: FunctionalDescriptor) {
    let parsed = FunctionalDescriptor::parse(bytes).unwrap();
    assert_eq!(parsed, expected);
    let mut out = Vec::new();
    parsed.emit(&mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn header_round_trip() {
    round_trip(
        &[0x05, 0x24, 0x00, 0x20, 0x01],
        FunctionalDescriptor::Header(CdcHeaderDescriptor { bcd_cdc: 0x0120 }),
    );
}

#[test]
fn union_round_trip() {
    round_trip(
        &[0x05, 0x24, 0x06, 0x00, 0x01],
        FunctionalDescriptor::Union(CdcUnionDescriptor {
            control_interface: 0,
            subordinate_interfaces: vec![1],
        }),
    );
    round_trip(
        &[0x07, 0x24, 0x06, 0x02, 0x03, 0x04, 0x05],
        FunctionalDescriptor::Union(CdcUnionDescriptor {
            control_interface: 2,
            subordinate_interfaces: vec![3, 4, 5],
        }),
    );
}

#[test]
fn mbim_round_trip_and_derived_values() {
    let bytes = [
        0x0C, 0x24, 0x1B, 0x00, 0x01, 0x00, 0x02, 0x20, 0xC0, 0xDC, 0x05, 0x00,
    ];
    let mbim = MbimFunctionalDescriptor {
        bcd_mbim_version: 0x0100,
        max_control_message: 512,
        number_filters: 32,
        max_filter_size: 192,
        max_segment_size: 1500,
        network_capabilities: NetworkCapabilities(0),
    };
    round_trip(&bytes, FunctionalDescriptor::Mbim(mbim));
    assert_eq!(mbim.max_control_message(), 512);
    assert_eq!(mbim.link_mtu(), 1500);
    assert!(!mbim.network_capabilities.ntb_input_size());
    assert!(!mbim.network_capabilities.max_datagram_size());
}

#[test]
fn link_mtu_is_clamped_to_the_guideline_range() {
    let with = |max_segment_size| MbimFunctionalDescriptor {
        bcd_mbim_version: 0x0100,
        max_control_message: 4096,
        number_filters: 0,
        max_filter_size: 0,
        max_segment_size,
        network_capabilities: NetworkCapabilities::default(),
    };
    assert_eq!(with(0).link_mtu(), 1280);
    assert_eq!(with(576).link_mtu(), 1280);
    assert_eq!(with(1280).link_mtu(), 1280);
    assert_eq!(with(1428).link_mtu(), 1428);
    assert_eq!(with(1500).link_mtu(), 1500);
    assert_eq!(with(2048).link_mtu(), 1500);
    assert_eq!(with(u16::MAX).link_mtu(), 1500);
}

#[test]
fn network_capability_bits() {
    let caps = NetworkCapabilities(0x28);
    assert!(caps.max_datagram_size());
    assert!(caps.ntb_input_size());
    assert!(NetworkCapabilities(NetworkCapabilities::NTB_INPUT_SIZE).ntb_input_size());
    assert!(!NetworkCapabilities(NetworkCapabilities::NTB_INPUT_SIZE).max_datagram_size());
    assert_eq!(NetworkCapabilities::MAX_DATAGRAM_SIZE, 0x08);
    assert_eq!(NetworkCapabilities::NTB_INPUT_SIZE, 0x20);
}

#[test]
fn mbim_extended_round_trip() {
    let ext = MbimExtendedFunctionalDescriptor {
        bcd_mbim_extended_version: 0x0100,
        max_outstanding_command_messages: 1,
        mtu: 1500,
    };
    round_trip(
        &[0x08, 0x24, 0x1C, 0x00, 0x01, 0x01, 0xDC, 0x05],
        FunctionalDescriptor::MbimExtended(ext),
    );
    assert_eq!(ext.operator_mtu(), Some(1500));
    assert_eq!(
        MbimExtendedFunctionalDescriptor { mtu: 0, ..ext }.operator_mtu(),
        None
    );
}

#[test]
fn ncm_and_ethernet_round_trip() {
    round_trip(
        &[0x06, 0x24, 0x1A, 0x00, 0x01, 0x20],
        FunctionalDescriptor::Ncm(NcmFunctionalDescriptor {
            bcd_ncm_version: 0x0100,
            network_capabilities: NetworkCapabilities(0x20),
        }),
    );
    round_trip(
        &[
            0x0D, 0x24, 0x0F, 0x04, 0x01, 0x02, 0x03, 0x04, 0xEA, 0x05, 0x02, 0x80, 0x01,
        ],
        FunctionalDescriptor::Ethernet(CdcEthernetDescriptor {
            mac_address_string: 4,
            ethernet_statistics: 0x0403_0201,
            max_segment_size: 1514,
            number_mc_filters: 0x8002,
            number_power_filters: 1,
        }),
    );
}

#[test]
fn unknown_functional_descriptors_are_kept_raw() {
    // ACM functional (PSTN 1.2): not typed here.
    round_trip(
        &[0x04, 0x24, 0x02, 0x02],
        FunctionalDescriptor::Other(RawFunctionalDescriptor {
            descriptor_type: 0x24,
            subtype: 0x02,
            data: vec![0x02],
        }),
    );
    // A vendor descriptor type where a functional one was expected.
    round_trip(
        &[0x05, 0xFF, 0x01, 0xAA, 0xBB],
        FunctionalDescriptor::Other(RawFunctionalDescriptor {
            descriptor_type: 0xFF,
            subtype: 0x01,
            data: vec![0xAA, 0xBB],
        }),
    );
}

#[test]
fn longer_descriptors_are_accepted_and_emitted_at_their_defined_length() {
    let bytes = [
        0x0E, 0x24, 0x1B, 0x00, 0x01, 0x00, 0x10, 0x10, 0x80, 0xDC, 0x05, 0x20, 0xEE, 0xEE,
    ];
    let FunctionalDescriptor::Mbim(mbim) = FunctionalDescriptor::parse(&bytes).unwrap() else {
        panic!("not MBIM");
    };
    assert_eq!(mbim.max_control_message, 4096);
    let mut out = Vec::new();
    mbim.emit(&mut out);
    assert_eq!(out[0], 12);
    assert_eq!(out[1..], bytes[1..12]);
}

// ---------------------------------------------------------------------------
// Standard descriptors
// ---------------------------------------------------------------------------

#[test]
fn standard_descriptors_round_trip() {
    let config = &FIBOCOM_L850[..9];
    let parsed = ConfigurationDescriptor::parse(config).unwrap();
    assert_eq!(
        parsed,
        ConfigurationDescriptor {
            total_length: 161,
            num_interfaces: 4,
            configuration_value: 1,
            configuration_string: 0,
            attributes: 0xE0,
            max_power: 0x32,
        }
    );
    let mut out = Vec::new();
    parsed.emit(&mut out);
    assert_eq!(out, config);

    let iad = InterfaceAssociationDescriptor::parse_at(FIBOCOM_L850, 9).unwrap();
    assert_eq!(iad.first_interface, 0);
    assert_eq!(iad.interface_count, 2);
    assert_eq!((iad.function_class, iad.function_subclass), (0x02, 0x0E));
    assert!(iad.contains(0) && iad.contains(1) && !iad.contains(2));
    let mut out = Vec::new();
    iad.emit(&mut out);
    assert_eq!(out, FIBOCOM_L850[9..17]);

    let intf = InterfaceDescriptor::parse_at(FIBOCOM_L850, 17).unwrap();
    assert_eq!(intf.class_triple(), (0x02, 0x0E, 0x00));
    let mut out = Vec::new();
    intf.emit(&mut out);
    assert_eq!(out, FIBOCOM_L850[17..26]);

    let int_ep = EndpointDescriptor::parse(&[0x07, 0x05, 0x81, 0x03, 0x40, 0x00, 0x04]).unwrap();
    assert_eq!(int_ep, ep(0x81, 0x03, 64, 4));
    assert!(int_ep.is_in());
    assert_eq!(int_ep.number(), 1);
    assert_eq!(int_ep.transfer_type(), TransferType::Interrupt);
    let bulk_out = ep(0x02, 0x02, 0x0200, 0);
    assert!(!bulk_out.is_in());
    assert_eq!(bulk_out.transfer_type(), TransferType::Bulk);
    assert_eq!(ep(0x83, 0x01, 0x1400, 1).packet_size(), 0x400);
    assert_eq!(ep(0x00, 0x00, 64, 0).transfer_type(), TransferType::Control);
    assert_eq!(
        ep(0x83, 0x01, 64, 1).transfer_type(),
        TransferType::Isochronous
    );
}

#[test]
fn emit_with_body_sets_total_length() {
    let config = sim_config(1);
    assert_eq!(config.len(), 95);
    assert_eq!(&config[..4], &[0x09, 0x02, 95, 0x00]);
    let too_big = vec![0u8; 65536];
    let err = ConfigurationDescriptor::parse(&config)
        .unwrap()
        .emit_with_body(&too_big)
        .unwrap_err();
    assert!(matches!(err, DescriptorError::Unencodable { .. }), "{err}");
}

// ---------------------------------------------------------------------------
// The walker
// ---------------------------------------------------------------------------

#[test]
fn fibocom_l850_has_one_mbim_function() {
    assert_eq!(FIBOCOM_L850.len(), 161);
    let functions = find_mbim_functions(FIBOCOM_L850).unwrap();
    assert_eq!(functions.len(), 1, "the ACM function is not MBIM");
    let f = &functions[0];
    assert_eq!(f.kind, FunctionKind::Mbim);
    assert_eq!(f.comm_interface(), 0);
    assert_eq!(f.comm.alternate_setting, 0);
    assert_eq!(f.association.unwrap().first_interface, 0);
    assert_eq!(f.header().unwrap().bcd_cdc, 0x0120);
    assert_eq!(f.union().unwrap().subordinate_interfaces, vec![1]);
    let mbim = f.mbim().unwrap();
    assert_eq!(mbim.max_control_message(), 512);
    assert_eq!(mbim.number_filters, 32);
    assert_eq!(mbim.max_filter_size, 192);
    assert_eq!(
        f.mbim_extended().unwrap().max_outstanding_command_messages,
        1
    );
    assert_eq!(f.ncm(), None);
    assert_eq!(f.notification, Some(ep(0x81, 0x03, 64, 4)));
    assert_eq!(f.data_interface, Some(1));
    assert_eq!(f.data_settings.len(), 2);
    assert_eq!(f.data_settings[0].interface.alternate_setting, 0);
    assert_eq!(f.data_settings[0].bulk_in, None);
    assert_eq!(f.data_settings[0].bulk_out, None);
    let data = f.mbim_data_setting().unwrap();
    assert_eq!(data.interface.alternate_setting, 1);
    assert_eq!(data.bulk_in, Some(ep(0x82, 0x02, 512, 0)));
    assert_eq!(data.bulk_out, Some(ep(0x02, 0x02, 512, 0)));
    assert_eq!(f.link_mtu(), Some(1500));
    assert_eq!(f.network_capabilities(), NetworkCapabilities(0));
    assert!(f.is_usable());
}

#[test]
fn simulator_one_function() {
    let functions = find_mbim_functions(&sim_config(1)).unwrap();
    assert_eq!(functions.len(), 1);
    let f = &functions[0];
    assert_eq!(f.kind, FunctionKind::Mbim);
    assert_eq!(f.comm_interface(), 0);
    assert_eq!(f.data_interface, Some(1));
    assert_eq!(f.mbim().unwrap().max_control_message(), 4096);
    assert!(f.network_capabilities().ntb_input_size());
    assert_eq!(
        f.mbim_extended().unwrap().max_outstanding_command_messages,
        64
    );
    assert_eq!(f.notification, Some(ep(0x81, 0x03, 64, 9)));
    let data = f.mbim_data_setting().unwrap();
    assert_eq!(data.bulk_in, Some(ep(0x82, 0x02, 512, 0)));
    assert_eq!(data.bulk_out, Some(ep(0x02, 0x02, 512, 0)));
}

#[test]
fn simulator_two_functions_with_two_iads() {
    let config = sim_config(2);
    assert_eq!(config.len(), 9 + 2 * 86);
    let functions = find_mbim_functions(&config).unwrap();
    assert_eq!(functions.len(), 2);
    for (i, f) in functions.iter().enumerate() {
        let i = u8::try_from(i).unwrap();
        assert_eq!(f.comm_interface(), 2 * i);
        assert_eq!(f.association.unwrap().first_interface, 2 * i);
        assert_eq!(f.association.unwrap().function_string, 4 + i);
        assert_eq!(f.data_interface, Some(2 * i + 1));
        assert_eq!(f.notification.unwrap().address, 0x81 + 2 * i);
        let data = f.mbim_data_setting().unwrap();
        assert_eq!(data.bulk_in.unwrap().address, 0x82 + 2 * i);
        assert_eq!(data.bulk_out.unwrap().address, 0x02 + 2 * i);
        assert!(f.is_usable());
    }
}

#[test]
fn ncm_mbim_dual_mode_function() {
    assert_eq!(NCM_MBIM.len(), 155);
    let functions = find_mbim_functions(NCM_MBIM).unwrap();
    assert_eq!(functions.len(), 1);
    let f = &functions[0];
    assert_eq!(f.kind, FunctionKind::NcmMbim);
    assert_eq!(f.comm_interface(), 0);
    assert_eq!(
        f.comm.alternate_setting, 1,
        "the MBIM communication setting"
    );
    assert_eq!(f.comm.subclass, 0x0E);
    assert!(f.mbim().is_some());
    assert_eq!(f.ncm(), None, "the NCM descriptor belongs to alt 0");
    assert!(f.network_capabilities().max_datagram_size());
    assert_eq!(f.data_interface, Some(1));
    assert_eq!(f.data_settings.len(), 3);
    let data = f.mbim_data_setting().unwrap();
    assert_eq!(data.interface.alternate_setting, 2);
    assert_eq!(data.interface.protocol, 0x02);
    assert!(f.is_usable());
}

#[test]
fn ncm_comm_without_mbim_setting_but_mbim_data_setting() {
    // Drop communication alt 1 (offset 0x3E, 38 bytes) from NCM_MBIM.
    let mut config = NCM_MBIM[..0x3E].to_vec();
    config.extend_from_slice(&NCM_MBIM[0x3E + 38..]);
    config[2] = u8::try_from(config.len()).unwrap();
    let functions = find_mbim_functions(&config).unwrap();
    assert_eq!(functions.len(), 1);
    let f = &functions[0];
    assert_eq!(f.kind, FunctionKind::NcmMbim);
    assert_eq!(f.comm.alternate_setting, 0);
    assert_eq!(f.mbim(), None);
    assert_eq!(f.ncm().unwrap().bcd_ncm_version, 0x0100);
    assert_eq!(f.network_capabilities(), NetworkCapabilities(0x20));
    assert_eq!(f.link_mtu(), None);
    assert!(!f.is_usable(), "no MBIM functional descriptor");
    assert_eq!(
        f.mbim_data_setting().unwrap().interface.alternate_setting,
        2
    );
}

#[test]
fn plain_ncm_is_not_an_mbim_function() {
    // Communication alt 0 only, and the data interface without alt 2.
    let mut config = NCM_MBIM[..0x3E].to_vec();
    config.extend_from_slice(&NCM_MBIM[0x3E + 38..NCM_MBIM.len() - 23]);
    config[2] = u8::try_from(config.len()).unwrap();
    assert_eq!(find_mbim_functions(&config).unwrap(), vec![]);
}

#[test]
fn missing_union_falls_back_to_the_iad() {
    let mut config = sim_config(1);
    // Turn the Union (offset 0x1F) into an unknown functional descriptor.
    assert_eq!(&config[0x1F..0x22], &[0x05, 0x24, 0x06]);
    config[0x21] = 0x7F;
    let f = &find_mbim_functions(&config).unwrap()[0];
    assert_eq!(f.union(), None);
    assert_eq!(f.data_interface, Some(1));
    assert!(f.is_usable());
}

#[test]
fn total_length_is_clamped_to_the_buffer_and_bounds_the_walk() {
    let mut config = sim_config(1);
    config[2] = 0xFF;
    config[3] = 0xFF;
    assert_eq!(find_mbim_functions(&config).unwrap().len(), 1);

    // Trailing garbage past wTotalLength is not read.
    let mut config = sim_config(1);
    config.extend_from_slice(&[0x00, 0x00, 0x00]);
    assert_eq!(find_mbim_functions(&config).unwrap().len(), 1);

    // A wTotalLength covering only the first function hides the second.
    let mut config = sim_config(2);
    config[2] = 95;
    config[3] = 0;
    assert_eq!(find_mbim_functions(&config).unwrap().len(), 1);
}

#[test]
fn descriptors_iterator_stops_after_an_error() {
    let buf = [0x02, 0x01, 0x00, 0x05];
    let items: Vec<_> = Descriptors::new(&buf, 0).collect();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0], Ok((0, &buf[..2])));
    assert!(items[1].is_err());
}

// ---------------------------------------------------------------------------
// Error paths
// ---------------------------------------------------------------------------

#[test]
fn error_empty_buffer() {
    let err = ConfigurationDescriptor::parse(&[]).unwrap_err();
    assert_eq!(err, DescriptorError::Missing { offset: 0 });
    assert_eq!(
        err.to_string(),
        "descriptor at 0x00: the buffer ends before the descriptor starts"
    );
    assert_eq!(
        FunctionalDescriptor::parse_at(&[0x05], 7).unwrap_err(),
        DescriptorError::Missing { offset: 7 }
    );
}

#[test]
fn error_zero_length_descriptor_in_a_configuration() {
    let mut config = sim_config(1);
    config[0x11] = 0x00; // bLength of the communication interface
    let err = find_mbim_functions(&config).unwrap_err();
    assert_eq!(
        err,
        DescriptorError::HeaderTooShort {
            offset: 0x11,
            length: 0,
            header: 2
        }
    );
    assert_eq!(
        err.to_string(),
        "descriptor at 0x11: bLength 0 is shorter than the 2-byte header"
    );
}

#[test]
fn error_functional_header_too_short() {
    let mut buf = vec![0u8; 0x12];
    buf.extend_from_slice(&[0x02, 0x24]);
    let err = FunctionalDescriptor::parse_at(&buf, 0x12).unwrap_err();
    assert_eq!(
        err.to_string(),
        "descriptor at 0x12: bLength 2 is shorter than the 3-byte header"
    );

    // The same inside the MBIM communication interface fails the walk.
    let mut config = sim_config(1);
    // Replace the CDC Header (0x1A, 5 bytes) by a 2-byte CS_INTERFACE
    // descriptor and a 3-byte vendor one, so the framing stays intact.
    config.splice(0x1A..0x1F, [0x02, 0x24, 0x03, 0xFF, 0x00]);
    let err = find_mbim_functions(&config).unwrap_err();
    assert_eq!(
        err,
        DescriptorError::HeaderTooShort {
            offset: 0x1A,
            length: 2,
            header: 3
        }
    );
}

#[test]
fn error_overrun() {
    let err = EndpointDescriptor::parse(&[0x07, 0x05, 0x81, 0x03]).unwrap_err();
    assert_eq!(
        err,
        DescriptorError::Overrun {
            offset: 0,
            length: 7,
            available: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "descriptor at 0x00: bLength 7 runs past the end of the data (4 bytes left)"
    );
    // In a configuration, the end is wTotalLength's.
    let mut config = sim_config(1);
    config[2] = 90;
    let err = find_mbim_functions(&config).unwrap_err();
    assert_eq!(
        err,
        DescriptorError::Overrun {
            offset: 88,
            length: 7,
            available: 2
        }
    );
}

#[test]
fn error_wrong_type_and_subtype() {
    let err = InterfaceDescriptor::parse(&[0x07, 0x05, 0x81, 0x03, 0x40, 0x00, 0x04]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "interface descriptor at 0x00: bDescriptorType 0x05, expected 0x04"
    );
    let err = find_mbim_functions(&FIBOCOM_L850[9..]).unwrap_err();
    assert_eq!(
        err,
        DescriptorError::WrongType {
            what: "configuration descriptor",
            offset: 0,
            found: 0x0B,
            expected: 0x02
        }
    );
    let err = MbimFunctionalDescriptor::parse_at(&[0x05, 0x24, 0x00, 0x10, 0x01], 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "MBIM functional descriptor at 0x00: bDescriptorSubtype 0x00, expected 0x1B"
    );
    let err = CdcUnionDescriptor::parse_at(&[0x05, 0x04, 0x06, 0x00, 0x01], 0).unwrap_err();
    assert!(matches!(
        err,
        DescriptorError::WrongType {
            found: 0x04,
            expected: 0x24,
            ..
        }
    ));
}

#[test]
fn error_too_short_for_each_typed_descriptor() {
    let mut buf = vec![0u8; 0x20];
    buf.extend_from_slice(&[0x09, 0x24, 0x1B, 0x00, 0x01, 0x00, 0x10, 0x10, 0x80]);
    let err = FunctionalDescriptor::parse_at(&buf, 0x20).unwrap_err();
    assert_eq!(
        err.to_string(),
        "MBIM functional descriptor at 0x20: bLength 9, expected 12"
    );

    let cases: &[(&[u8], &str, usize)] = &[
        (
            &[0x04, 0x24, 0x00, 0x10],
            "CDC Header functional descriptor",
            5,
        ),
        (
            &[0x04, 0x24, 0x06, 0x00],
            "CDC Union functional descriptor",
            5,
        ),
        (
            &[0x05, 0x24, 0x0F, 0, 0],
            "CDC Ethernet functional descriptor",
            13,
        ),
        (&[0x05, 0x24, 0x1A, 0, 1], "NCM functional descriptor", 6),
        (
            &[0x07, 0x24, 0x1C, 0, 1, 1, 0xDC],
            "MBIM Extended functional descriptor",
            8,
        ),
    ];
    for &(bytes, what, expected) in cases {
        let err = FunctionalDescriptor::parse(bytes).unwrap_err();
        assert_eq!(
            err,
            DescriptorError::TooShort {
                what,
                offset: 0,
                length: bytes[0],
                expected
            }
        );
    }

    type Parser = fn(&[u8]) -> Result<(), DescriptorError>;
    let standard: &[(&[u8], Parser, &str)] = &[
        (
            &[0x08, 0x02, 0, 0, 0, 0, 0, 0],
            |b| ConfigurationDescriptor::parse(b).map(drop),
            "configuration descriptor",
        ),
        (
            &[0x07, 0x0B, 0, 0, 0, 0, 0],
            |b| InterfaceAssociationDescriptor::parse(b).map(drop),
            "interface association descriptor",
        ),
        (
            &[0x08, 0x04, 0, 0, 0, 0, 0, 0],
            |b| InterfaceDescriptor::parse(b).map(drop),
            "interface descriptor",
        ),
        (
            &[0x06, 0x05, 0x81, 0x03, 0x40, 0x00],
            |b| EndpointDescriptor::parse(b).map(drop),
            "endpoint descriptor",
        ),
    ];
    for &(bytes, parse, what) in standard {
        let err = parse(bytes).unwrap_err();
        assert!(
            matches!(err, DescriptorError::TooShort { what: w, length, .. } if w == what && length == bytes[0]),
            "{err}"
        );
    }

    // A short endpoint inside a configuration fails the walk.
    let mut config = sim_config(1);
    config[0x38] = 0x06; // bLength of the notification endpoint
    config.remove(0x3E);
    config[2] -= 1;
    let err = find_mbim_functions(&config).unwrap_err();
    assert!(
        matches!(
            err,
            DescriptorError::TooShort {
                offset: 0x38,
                length: 6,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn error_total_length_too_short() {
    let mut config = sim_config(1);
    config[2] = 8;
    config[3] = 0;
    let err = find_mbim_functions(&config).unwrap_err();
    assert_eq!(
        err,
        DescriptorError::TotalLengthTooShort {
            offset: 0,
            total_length: 8,
            length: 9
        }
    );
    assert_eq!(
        err.to_string(),
        "configuration descriptor at 0x00: wTotalLength 8 is shorter than the descriptor's own bLength 9"
    );
}

#[test]
fn error_unencodable() {
    let mut out = Vec::new();
    let err = CdcUnionDescriptor {
        control_interface: 0,
        subordinate_interfaces: vec![],
    }
    .emit(&mut out)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot emit CDC Union functional descriptor: no subordinate interface"
    );
    let err = CdcUnionDescriptor {
        control_interface: 0,
        subordinate_interfaces: vec![1; 252],
    }
    .emit(&mut out)
    .unwrap_err();
    assert!(matches!(err, DescriptorError::Unencodable { .. }));
    let err = RawFunctionalDescriptor {
        descriptor_type: 0x24,
        subtype: 0x99,
        data: vec![0; 253],
    }
    .emit(&mut out)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot emit functional descriptor: 256 bytes do not fit in bLength"
    );
    assert!(out.is_empty(), "a failed emit appends nothing");
    // The largest that fit.
    CdcUnionDescriptor {
        control_interface: 0,
        subordinate_interfaces: vec![1; 251],
    }
    .emit(&mut out)
    .unwrap();
    assert_eq!(out[0], 255);
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn arb_functional() -> impl Strategy<Value = FunctionalDescriptor> {
    prop_oneof![
        any::<u16>()
            .prop_map(|bcd_cdc| FunctionalDescriptor::Header(CdcHeaderDescriptor { bcd_cdc })),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 1..=251)).prop_map(|(c, s)| {
            FunctionalDescriptor::Union(CdcUnionDescriptor {
                control_interface: c,
                subordinate_interfaces: s,
            })
        }),
        (
            any::<u8>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>()
        )
            .prop_map(|(a, b, c, d, e)| FunctionalDescriptor::Ethernet(
                CdcEthernetDescriptor {
                    mac_address_string: a,
                    ethernet_statistics: b,
                    max_segment_size: c,
                    number_mc_filters: d,
                    number_power_filters: e,
                }
            )),
        (any::<u16>(), any::<u8>()).prop_map(|(v, c)| FunctionalDescriptor::Ncm(
            NcmFunctionalDescriptor {
                bcd_ncm_version: v,
                network_capabilities: NetworkCapabilities(c),
            }
        )),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u8>()
        )
            .prop_map(|(a, b, c, d, e, f)| FunctionalDescriptor::Mbim(
                MbimFunctionalDescriptor {
                    bcd_mbim_version: a,
                    max_control_message: b,
                    number_filters: c,
                    max_filter_size: d,
                    max_segment_size: e,
                    network_capabilities: NetworkCapabilities(f),
                }
            )),
        (any::<u16>(), any::<u8>(), any::<u16>()).prop_map(|(a, b, c)| {
            FunctionalDescriptor::MbimExtended(MbimExtendedFunctionalDescriptor {
                bcd_mbim_extended_version: a,
                max_outstanding_command_messages: b,
                mtu: c,
            })
        }),
        (
            any::<u8>().prop_filter("not a typed subtype", |s| {
                ![0x00, 0x06, 0x0F, 0x1A, 0x1B, 0x1C].contains(s)
            }),
            prop::collection::vec(any::<u8>(), 0..=252)
        )
            .prop_map(|(subtype, data)| FunctionalDescriptor::Other(
                RawFunctionalDescriptor {
                    descriptor_type: 0x24,
                    subtype,
                    data,
                }
            )),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), offset in 0usize..310) {
        let _ = ConfigurationDescriptor::parse_at(&bytes, offset);
        let _ = InterfaceAssociationDescriptor::parse_at(&bytes, offset);
        let _ = InterfaceDescriptor::parse_at(&bytes, offset);
        let _ = EndpointDescriptor::parse_at(&bytes, offset);
        let _ = FunctionalDescriptor::parse_at(&bytes, offset);
        let _ = CdcHeaderDescriptor::parse_at(&bytes, offset);
        let _ = CdcUnionDescriptor::parse_at(&bytes, offset);
        let _ = CdcEthernetDescriptor::parse_at(&bytes, offset);
        let _ = NcmFunctionalDescriptor::parse_at(&bytes, offset);
        let _ = MbimFunctionalDescriptor::parse_at(&bytes, offset);
        let _ = MbimExtendedFunctionalDescriptor::parse_at(&bytes, offset);
        let _ = find_mbim_functions(&bytes);
        prop_assert!(Descriptors::new(&bytes, offset).count() <= bytes.len() / 2 + 1);
    }

    #[test]
    fn walker_never_panics_on_mutated_configurations(
        config in prop_oneof![Just(FIBOCOM_L850.to_vec()), Just(NCM_MBIM.to_vec()), Just(sim_config(2))],
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut config = config;
        for (at, value) in edits {
            let i = at.index(config.len());
            config[i] = value;
        }
        let len = cut.index(config.len() + 1);
        if let Ok(functions) = find_mbim_functions(&config[..len]) {
            for f in functions {
                let _ = (f.link_mtu(), f.is_usable(), f.network_capabilities());
            }
        }
    }

    #[test]
    fn functional_emit_parse_round_trip(d in arb_functional()) {
        let mut out = Vec::new();
        d.emit(&mut out).unwrap();
        prop_assert_eq!(usize::from(out[0]), out.len());
        prop_assert_eq!(FunctionalDescriptor::parse(&out).unwrap(), d);
    }

    #[test]
    fn standard_emit_parse_round_trip(b in any::<[u8; 9]>(), w in any::<u16>()) {
        let config = ConfigurationDescriptor {
            total_length: w,
            num_interfaces: b[0],
            configuration_value: b[1],
            configuration_string: b[2],
            attributes: b[3],
            max_power: b[4],
        };
        let iad = InterfaceAssociationDescriptor {
            first_interface: b[0],
            interface_count: b[1],
            function_class: b[2],
            function_subclass: b[3],
            function_protocol: b[4],
            function_string: b[5],
        };
        let intf = InterfaceDescriptor {
            interface_number: b[0],
            alternate_setting: b[1],
            num_endpoints: b[2],
            class: b[3],
            subclass: b[4],
            protocol: b[5],
            interface_string: b[6],
        };
        let endpoint = ep(b[7], b[8], w, b[0]);
        let mut out = Vec::new();
        config.emit(&mut out);
        prop_assert_eq!(ConfigurationDescriptor::parse(&out).unwrap(), config);
        let mut out = Vec::new();
        iad.emit(&mut out);
        prop_assert_eq!(InterfaceAssociationDescriptor::parse(&out).unwrap(), iad);
        let mut out = Vec::new();
        intf.emit(&mut out);
        prop_assert_eq!(InterfaceDescriptor::parse(&out).unwrap(), intf);
        let mut out = Vec::new();
        endpoint.emit(&mut out);
        prop_assert_eq!(EndpointDescriptor::parse(&out).unwrap(), endpoint);
    }

    #[test]
    fn emitted_function_is_found_again(
        n in 1u8..=4,
        max_control_message in any::<u16>(),
        max_segment_size in any::<u16>(),
    ) {
        // The simulator's layout, with the MBIM descriptor's values varied.
        let mbim = MbimFunctionalDescriptor {
            bcd_mbim_version: 0x0100,
            max_control_message,
            number_filters: 16,
            max_filter_size: 128,
            max_segment_size,
            network_capabilities: NetworkCapabilities(0x20),
        };
        let mut body = Vec::new();
        for idx in 0..n {
            let mut function = sim_function(idx);
            let mut mbim_bytes = Vec::new();
            mbim.emit(&mut mbim_bytes);
            function.splice(0x1B..0x27, mbim_bytes);
            body.extend_from_slice(&function);
        }
        let config = ConfigurationDescriptor {
            total_length: 0,
            num_interfaces: 2 * n,
            configuration_value: 1,
            configuration_string: 0,
            attributes: 0x80,
            max_power: 250,
        }
        .emit_with_body(&body)
        .unwrap();
        let functions = find_mbim_functions(&config).unwrap();
        prop_assert_eq!(functions.len(), usize::from(n));
        for f in &functions {
            prop_assert_eq!(f.mbim(), Some(&mbim));
            prop_assert!(f.is_usable());
            let mtu = f.link_mtu().unwrap();
            prop_assert!((1280..=1500).contains(&mtu));
        }
    }
}
