//! MS Host Shutdown: the SET the host sends before it sleeps or shuts down,
//! from labelled bytes (layout as libmbim's mbim-service-ms-host-shutdown.json:
//! no payload either way), and the service table that names it.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use mbim_protocol::message::{CommandHead, Message};
use mbim_protocol::services::ms_host_shutdown::{cid::HostShutdown, SERVICE};
use mbim_protocol::services::{service, Cid, Scope};
use mbim_protocol::status::CommandType;
use mbim_protocol::Uuid;

/// MBIM_COMMAND_MSG: MS_HOST_SHUTDOWN, set, transaction 7, no information buffer.
const HOST_SHUTDOWN_SET: [u8; 48] = [
    0x03, 0x00, 0x00, 0x00, // 0x00 MessageType: COMMAND
    0x30, 0x00, 0x00, 0x00, // 0x04 MessageLength: 48
    0x07, 0x00, 0x00, 0x00, // 0x08 TransactionId: 7
    0x01, 0x00, 0x00, 0x00, // 0x0c TotalFragments: 1
    0x00, 0x00, 0x00, 0x00, // 0x10 CurrentFragment: 0
    0x88, 0x3b, 0x7c, 0x26, // 0x14 DeviceServiceId: 883b7c26-985f-43fa-9804-27d7fb80959c
    0x98, 0x5f, 0x43, 0xfa, //
    0x98, 0x04, 0x27, 0xd7, //
    0xfb, 0x80, 0x95, 0x9c, //
    0x01, 0x00, 0x00, 0x00, // 0x24 CID: 1 (host-shutdown)
    0x01, 0x00, 0x00, 0x00, // 0x28 CommandType: set
    0x00, 0x00, 0x00, 0x00, // 0x2c InformationBufferLength: 0
];

#[test]
fn host_shutdown_set_parses_and_emits_the_same_bytes() {
    let uuid = Uuid::from_str_const("883b7c26-985f-43fa-9804-27d7fb80959c");
    assert_eq!(SERVICE.uuid, uuid);
    let message = Message::parse(&HOST_SHUTDOWN_SET).unwrap();
    let Message::Command(fragment) = &message else {
        panic!("not a command: {message:?}");
    };
    assert_eq!(fragment.transaction_id, 7);
    assert_eq!(
        fragment.head,
        Some(CommandHead {
            service: uuid,
            cid: HostShutdown::ID,
            command_type: CommandType::Set,
            information_buffer_length: 0,
        })
    );
    assert!(fragment.data.is_empty());
    let built = Message::command(7, uuid, HostShutdown::ID, CommandType::Set, Vec::new());
    assert_eq!(built.to_bytes().unwrap(), HOST_SHUTDOWN_SET);
}

#[test]
fn the_service_table_names_host_shutdown_a_device_wide_cid() {
    let info = service(&SERVICE.uuid).unwrap();
    assert_eq!(info.name, "ms-host-shutdown");
    let cid = info.cid(1).unwrap();
    assert_eq!(cid.name, "host-shutdown");
    assert_eq!(cid.scope, Scope::Device);
}
