//! Intel's mutual-authentication service: the FCC lock's challenge and
//! response, from labelled wire bytes (one field per line with its offset),
//! decoding to the value written out in full and encoding back to the same
//! bytes (layout as libmbim's
//! `mbim-service-intel-mutual-authentication.json`), and the response
//! computed for known challenges.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::Empty;
use mbim_protocol::services::intel_mutual_authentication::{self as intel, *};
use mbim_protocol::services::{self, Cid, Scope};
use mbim_protocol::Uuid;
use support::*;

#[test]
fn the_service_and_its_cid() {
    assert_eq!(
        intel::UUID,
        Uuid::from_str_const("f85d46ef-ab26-4081-9868-4d183c0a3aec")
    );
    assert_eq!(
        services::uuid_name(&intel::UUID),
        Some("intel-mutual-authentication")
    );
    type C = intel::cid::FccLock;
    assert_eq!((C::ID, C::NAME, C::SCOPE), (1, "fcc-lock", Scope::Device));
    assert_payloads::<C>([
        ty::<Empty>(),
        ty::<FccLockSet>(),
        ty::<FccLockInfo>(),
        none(),
    ]);
}

#[test]
fn a_locked_modem_hands_out_a_challenge() {
    let wire = labelled(
        "
        01000000 # 0x00 ChallengePresent: true
        78563412 # 0x04 Challenge: 0x12345678
        ",
    );
    let info = FccLockInfo {
        challenge_present: 1,
        challenge: 0x1234_5678,
    };
    check::<<intel::cid::FccLock as Cid>::Response>(&wire, &info);
    assert_eq!(info.challenge(), Some(0x1234_5678));
    let unlocked = FccLockInfo {
        challenge_present: 0,
        challenge: 0,
    };
    assert_eq!(unlocked.challenge(), None);
}

#[test]
fn the_host_answers_it() {
    // What `mbimcli --intel-set-fcc-lock=1,1075640449` sends.
    let wire = labelled(
        "
        01000000 # 0x00 ResponsePresent: true
        81f81c40 # 0x04 Response: 1075640449 (0x401cf881)
        ",
    );
    check::<<intel::cid::FccLock as Cid>::Set>(
        &wire,
        &FccLockSet {
            response_present: 1,
            response: 1_075_640_449,
        },
    );
}

#[test]
fn the_response_is_the_first_word_of_the_sha256_of_challenge_and_key() {
    // Reference values from coreutils, as ModemManager's xmm7360 script
    // computes them: `printf 78563412 3df8c719 | xxd -r -p | sha256sum`
    // starts 81f81c40, read little-endian.
    assert_eq!(fcc_response(0x1234_5678, DEFAULT_VENDOR_KEY), 0x401c_f881);
    assert_eq!(fcc_response(0xdead_beef, DEFAULT_VENDOR_KEY), 0x3601_8d4c);
    // Another key, another answer.
    assert_ne!(
        fcc_response(0x1234_5678, [0xbb, 0x23, 0xbe, 0x7f]),
        0x401c_f881
    );
}
