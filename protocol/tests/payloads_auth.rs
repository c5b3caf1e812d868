//! The Auth service's payloads (MBIM 1.0 §10.5.28-30) from labelled wire
//! bytes; the challenge and response byte arrays travel verbatim.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::services::auth::{AkaAuthRequest, AkapAuthRequest, SimAuthRequest};
use support::*;

#[test]
fn aka_auth_request() {
    let wire = labelled(
        "
            00 01 02 03 04 05 06 07   # 0x00 rand: 00..0f, host byte order
            08 09 0a 0b 0c 0d 0e 0f   # 0x08 rand (cont.)
            10 11 12 13 14 15 16 17   # 0x10 autn: 10..1f, host byte order
            18 19 1a 1b 1c 1d 1e 1f   # 0x18 autn (cont.)
        ",
    );
    check(
        &wire,
        &AkaAuthRequest {
            rand: counting(0x00),
            autn: counting(0x10),
        },
    );
}

#[test]
fn aka_auth_info() {
    let wire = labelled(
        "
            a0 a1 a2 a3 a4 a5 a6 a7   # 0x00 res: 8 bytes used, then zeros
            00 00 00 00 00 00 00 00   # 0x08 res (cont.)
            08 00 00 00               # 0x10 res_len: 8
            b0 b1 b2 b3 b4 b5 b6 b7   # 0x14 integrity_key: b0..bf
            b8 b9 ba bb bc bd be bf   # 0x1c integrity_key (cont.)
            c0 c1 c2 c3 c4 c5 c6 c7   # 0x24 ciphering_key: c0..cf
            c8 c9 ca cb cc cd ce cf   # 0x2c ciphering_key (cont.)
            00 00 00 00 00 00 00 00   # 0x34 auts: zeros (no resync)
            00 00 00 00 00 00         # 0x3c auts (cont.)
        ",
    );
    check(&wire, &aka_info());
}

#[test]
fn akap_auth_request() {
    let wire = labelled(
        "
            00 01 02 03 04 05 06 07   # 0x00 rand: 00..0f
            08 09 0a 0b 0c 0d 0e 0f   # 0x08 rand (cont.)
            10 11 12 13 14 15 16 17   # 0x10 autn: 10..1f
            18 19 1a 1b 1c 1d 1e 1f   # 0x18 autn (cont.)
            28 00 00 00               # 0x20 network_name offset
            08 00 00 00               # 0x24 network_name length
            57 00 4c 00 41 00 4e 00   # 0x28 network_name data: 'WLAN'
        ",
    );
    check(
        &wire,
        &AkapAuthRequest {
            rand: counting(0x00),
            autn: counting(0x10),
            network_name: text("WLAN"),
        },
    );
}

#[test]
fn sim_auth_request() {
    let wire = labelled(
        "
            10 11 12 13 14 15 16 17   # 0x00 rand1: 10..1f
            18 19 1a 1b 1c 1d 1e 1f   # 0x08 rand1 (cont.)
            20 21 22 23 24 25 26 27   # 0x10 rand2: 20..2f
            28 29 2a 2b 2c 2d 2e 2f   # 0x18 rand2 (cont.)
            30 31 32 33 34 35 36 37   # 0x20 rand3: 30..3f
            38 39 3a 3b 3c 3d 3e 3f   # 0x28 rand3 (cont.)
            03 00 00 00               # 0x30 n: 3
        ",
    );
    check(
        &wire,
        &SimAuthRequest {
            rand1: counting(0x10),
            rand2: counting(0x20),
            rand3: counting(0x30),
            n: 3,
        },
    );
}

#[test]
fn sim_auth_info() {
    let wire = labelled(
        "
            11 11 11 11               # 0x00 sres1: 0x11111111
            08 07 06 05 04 03 02 01   # 0x04 kc1: 0x0102030405060708
            22 22 22 22               # 0x0c sres2: 0x22222222
            18 17 16 15 14 13 12 11   # 0x10 kc2: 0x1112131415161718
            33 33 33 33               # 0x18 sres3: 0x33333333
            28 27 26 25 24 23 22 21   # 0x1c kc3: 0x2122232425262728
            03 00 00 00               # 0x24 n: 3
        ",
    );
    check(&wire, &sim_info());
}
