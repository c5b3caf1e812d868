//! libmbim's Proxy Control service, from bytes libmbim's own client sent:
//! `mbimcli -p -d /tmp/fakewdm --query-device-caps` (libmbim 1.28.2)
//! connected to a listener on the abstract socket `mbim-proxy` and wrote
//! this CONFIGURATION SET first, before any OPEN.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::codec::Payload;
use mbim_protocol::message::Message;
use mbim_protocol::services::proxy_control::{
    cid::{Configuration, Version},
    ProxyConfiguration, ProxyVersion, SERVICE,
};
use mbim_protocol::services::{service, Cid};
use mbim_protocol::status::CommandType;

/// MBIM_COMMAND_MSG: PROXY_CONTROL CONFIGURATION, set, as mbimcli sent it.
const CONFIGURATION_SET: [u8; 84] = [
    0x03, 0x00, 0x00, 0x00, // 0x00 MessageType: COMMAND
    0x54, 0x00, 0x00, 0x00, // 0x04 MessageLength: 84
    0x01, 0x00, 0x00, 0x00, // 0x08 TransactionId: 1
    0x01, 0x00, 0x00, 0x00, // 0x0c TotalFragments: 1
    0x00, 0x00, 0x00, 0x00, // 0x10 CurrentFragment: 0
    0x83, 0x8c, 0xf7, 0xfb, // 0x14 DeviceServiceId: 838cf7fb-8d0d-4d7f-871e-d71dbefbb39b
    0x8d, 0x0d, 0x4d, 0x7f, //
    0x87, 0x1e, 0xd7, 0x1d, //
    0xbe, 0xfb, 0xb3, 0x9b, //
    0x01, 0x00, 0x00, 0x00, // 0x24 CID: 1 (configuration)
    0x01, 0x00, 0x00, 0x00, // 0x28 CommandType: set
    0x24, 0x00, 0x00, 0x00, // 0x2c InformationBufferLength: 36
    0x0c, 0x00, 0x00, 0x00, // 0x30 DevicePath offset: 12
    0x18, 0x00, 0x00, 0x00, // 0x34 DevicePath size: 24
    0x1e, 0x00, 0x00, 0x00, // 0x38 Timeout: 30
    0x2f, 0x00, 0x74, 0x00, // 0x3c "/tmp/fakewdm" in UTF-16LE
    0x6d, 0x00, 0x70, 0x00, //
    0x2f, 0x00, 0x66, 0x00, //
    0x61, 0x00, 0x6b, 0x00, //
    0x65, 0x00, 0x77, 0x00, //
    0x64, 0x00, 0x6d, 0x00, //
];

#[test]
fn mbimcli_configuration_set_parses_and_emits_the_same_bytes() {
    let message = Message::parse(&CONFIGURATION_SET).unwrap();
    let Message::Command(fragment) = &message else {
        panic!("not a command: {message:?}");
    };
    let head = fragment.head.unwrap();
    assert_eq!(head.service, SERVICE.uuid);
    assert_eq!(head.cid, Configuration::ID);
    assert_eq!(head.command_type, CommandType::Set);
    let configuration = ProxyConfiguration::decode(&fragment.data).unwrap();
    assert_eq!(
        configuration,
        ProxyConfiguration {
            device_path: "/tmp/fakewdm".to_owned(),
            timeout: 30,
        }
    );
    let built = Message::command(
        1,
        SERVICE.uuid,
        Configuration::ID,
        CommandType::Set,
        configuration.encode(),
    );
    assert_eq!(built.to_bytes().unwrap(), CONFIGURATION_SET);
}

#[test]
fn the_version_notification_is_two_bcd_numbers() {
    let version = ProxyVersion {
        mbim_version: 0x0100,
        mbim_extended_version: 0x0300,
    };
    assert_eq!(version.encode(), [0x00, 0x01, 0x00, 0x03]);
    assert_eq!(ProxyVersion::decode(&version.encode()).unwrap(), version);
}

#[test]
fn the_service_table_names_proxy_control() {
    let info = service(&SERVICE.uuid).unwrap();
    assert_eq!(info.name, "proxy-control");
    assert_eq!(info.cid(Configuration::ID).unwrap().name, "configuration");
    assert_eq!(info.cid(Version::ID).unwrap().name, "version");
}
