//! Microsoft UICC low-level access: the application list, from labelled
//! wire bytes (one field per line with its offset), decoding to the value
//! written out in full and encoding back to the same bytes. Layout as
//! libmbim's `mbim-service-ms-uicc-low-level-access.json`.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::{Empty, Payload};
use mbim_protocol::services::ms_uicc_low_level_access::{self as uicc, *};
use mbim_protocol::services::{self, Cid, Scope};
use mbim_protocol::Uuid;
use support::*;

fn movistar_usim() -> UiccApplication {
    UiccApplication {
        application_type: UiccApplicationType::Usim,
        application_id: vec![
            0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF, 0x34, 0xFF, 0x07, 0x89, 0x31, 0x2E,
            0x30, 0xFF,
        ],
        application_name: text("Movistar"),
        pin_key_reference_count: 2,
        pin_key_references: vec![0x01, 0x81],
    }
}

#[test]
fn the_service_and_its_cid() {
    assert_eq!(
        uicc::UUID,
        Uuid::from_str_const("c2f6588e-f037-4bc9-8665-f4d44bd09367")
    );
    assert_eq!(
        services::uuid_name(&uicc::UUID),
        Some("ms-uicc-low-level-access")
    );
    type C = uicc::cid::ApplicationList;
    assert_eq!(
        (C::ID, C::NAME, C::SCOPE),
        (7, "application-list", Scope::Executor)
    );
    assert_payloads::<C>([ty::<Empty>(), none(), ty::<UiccApplicationList>(), none()]);
}

#[test]
fn application_list_with_one_usim() {
    // The information buffer of libmbim's test-message-parser.c,
    // test_ms_uicc_low_level_access_application_list.
    let wire = labelled(
        "
        01000000          # 0x00 Version: 1
        01000000          # 0x04 ApplicationCount: 1
        00000000          # 0x08 ActiveApplicationIndex: 0
        3c000000          # 0x0c ApplicationListSizeBytes: 60
        18000000 3c000000 # 0x10 Applications[0]: offset, length
        04000000          # 0x18 [0] ApplicationType: usim
        20000000 10000000 # 0x1c [0] ApplicationId (offset from the application)
        30000000 08000000 # 0x24 [0] ApplicationName, UTF-8
        02000000          # 0x2c [0] PinKeyReferenceCount: 2
        38000000 02000000 # 0x30 [0] PinKeyReferences
        a0000000 871002ff 34ff0789 312e30ff # 0x38 [0] AID
        4d6f7669 73746172 # 0x48 [0] 'Movistar'
        01810000          # 0x50 [0] key references, padding
        ",
    );
    check::<<uicc::cid::ApplicationList as Cid>::Response>(
        &wire,
        &UiccApplicationList {
            version: 1,
            active_application_index: 0,
            application_list_size_bytes: 60,
            applications: vec![movistar_usim()],
        },
    );
}

#[test]
fn application_names_are_utf8_and_may_end_in_nul() {
    let mut named = movistar_usim();
    named.application_name = text("Téléfonica");
    let wire = named.encode();
    assert_eq!(UiccApplication::decode(&wire).unwrap(), named);
    // A NUL-terminated name reads without its terminator, as libmbim reads it.
    let terminated = labelled(
        "
        04000000          # 0x00 ApplicationType: usim
        00000000 00000000 # 0x04 ApplicationId: none
        20000000 04000000 # 0x0c ApplicationName: 4 bytes
        00000000          # 0x14 PinKeyReferenceCount: 0
        00000000 00000000 # 0x18 PinKeyReferences: none
        49534d00          # 0x20 'ISM' and a NUL
        ",
    );
    assert_eq!(
        UiccApplication::decode(&terminated)
            .unwrap()
            .application_name,
        "ISM"
    );
}
