//! The USB backend's pure parts against the simulated modem's own
//! descriptors: the functions found, their endpoints and settings, in
//! executor order.

use mbim_sim::usb::descriptors::{DeviceIdentity, MbimFunctionParams, UsbDescriptors};
use mbimd::usb::discovery::{function_endpoints, usable_functions};

#[test]
fn a_two_executor_modem_gives_two_functions_in_interface_order() {
    let params = [
        MbimFunctionParams::default(),
        MbimFunctionParams {
            max_control_message: 1024,
            max_segment_size: 1428,
            ..MbimFunctionParams::default()
        },
    ];
    let descriptors = UsbDescriptors::build(&DeviceIdentity::default(), &params).unwrap();
    let functions = usable_functions(descriptors.configuration()).unwrap();
    assert_eq!(functions.len(), 2);
    for (function, layout) in functions.iter().zip(descriptors.layouts()) {
        assert_eq!(function.comm_interface(), layout.comm_interface);
        assert_eq!(function.data_interface, Some(layout.data_interface));
        let endpoints = function_endpoints(function).unwrap();
        assert_eq!(endpoints.notification, layout.notification_endpoint);
        assert_eq!(endpoints.bulk_in, layout.bulk_in_endpoint);
        assert_eq!(endpoints.bulk_out, layout.bulk_out_endpoint);
        assert_eq!(endpoints.data_mbim_setting, 1);
        assert!(endpoints.notification_packet_size >= 8);
    }
    let second = functions[1].mbim().unwrap();
    assert_eq!(second.max_control_message, 1024);
    assert_eq!(second.max_segment_size, 1428);
}

#[test]
fn a_configuration_without_mbim_has_no_functions_and_garbage_is_an_error() {
    // A configuration descriptor with no interfaces.
    let empty = [9, 2, 9, 0, 0, 1, 0, 0x80, 50];
    assert!(usable_functions(&empty).unwrap().is_empty());
    assert!(usable_functions(&[9, 2, 40, 0, 1, 1, 0, 0x80, 50, 3, 4]).is_err());
}
