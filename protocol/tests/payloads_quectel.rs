//! Quectel's vendor service: the radio state that lifts the FCC lock, from
//! labelled wire bytes (one field per line with its offset), decoding to the
//! value written out in full and encoding back to the same bytes. Layout as
//! libmbim's `mbim-service-quectel.json`.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::{Empty, Payload};
use mbim_protocol::services::quectel::{self, *};
use mbim_protocol::services::{self, Cid, Scope};
use mbim_protocol::Uuid;
use support::*;

#[test]
fn the_service_and_its_cid() {
    assert_eq!(
        quectel::UUID,
        Uuid::from_str_const("11223344-5566-7788-99aa-bbccddeeff11")
    );
    assert_eq!(services::uuid_name(&quectel::UUID), Some("quectel"));
    type C = quectel::cid::RadioState;
    assert_eq!(
        (C::ID, C::NAME, C::SCOPE),
        (1, "radio-state", Scope::Device)
    );
    assert_payloads::<C>([
        ty::<Empty>(),
        ty::<QuectelRadioState>(),
        ty::<QuectelRadioState>(),
        none(),
    ]);
}

#[test]
fn the_set_that_lifts_the_lock() {
    // What `mbimcli --quectel-set-radio-state=on` sends.
    let wire = labelled(
        "
        01000000 # 0x00 RadioState: on
        ",
    );
    check::<<quectel::cid::RadioState as Cid>::Set>(
        &wire,
        &QuectelRadioState {
            radio_state: QuectelRadioSwitchState::On,
        },
    );
}

#[test]
fn a_locked_modem_says_so() {
    let wire = labelled(
        "
        04000000 # 0x00 RadioState: fcc-locked
        ",
    );
    check::<<quectel::cid::RadioState as Cid>::Response>(
        &wire,
        &QuectelRadioState {
            radio_state: QuectelRadioSwitchState::FccLocked,
        },
    );
    assert!(QuectelRadioState::decode(&labelled("0400")).is_err());
}
