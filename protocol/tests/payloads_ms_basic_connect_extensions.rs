//! The MS Basic Connect Extensions CIDs of the MBIM extensions (MBIMEx 2.0
//! to 4.0), from labelled wire bytes: one field per line with its offset,
//! decoding to the value written out in full and encoding back to the same
//! bytes. Layouts follow libmbim's `mbim-service-ms-basic-connect-extensions*.json`;
//! the multi-SIM CIDs of seed 004 are tested in payloads.rs.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::Payload;
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, *};
use mbim_protocol::services::{Cid, Scope};
use mbim_protocol::MbimExVersion;
use support::*;

#[test]
fn version_query_from_a_3_0_host() {
    type C = ms::cid::Version;
    assert_eq!((C::ID, C::NAME, C::SCOPE), (15, "version", Scope::Executor));
    let wire = labelled(
        "
        0001        # 0x00 bcdMbimVersion: 1.0
        0003        # 0x02 bcdMbimExtendedVersion: 3.0
        ",
    );
    let host = VersionInfo::host(MbimExVersion::V3);
    assert_eq!(
        host,
        VersionInfo {
            bcd_mbim_version: 0x0100,
            bcd_mbim_extended_version: 0x0300,
        }
    );
    check::<<C as Cid>::Query>(&wire, &host);
}

#[test]
fn version_response_of_a_2_0_device() {
    type C = ms::cid::Version;
    let wire = labelled(
        "
        0001        # 0x00 bcdMbimVersion: 1.0
        0002        # 0x02 bcdMbimExtendedVersion: 2.0
        ",
    );
    let device = VersionInfo {
        bcd_mbim_version: 0x0100,
        bcd_mbim_extended_version: 0x0200,
    };
    check::<<C as Cid>::Response>(&wire, &device);
    assert_eq!(device.extended_version(), MbimExVersion::V2);
    assert_eq!(
        MbimExVersion::negotiated(MbimExVersion::V3, device.extended_version()),
        MbimExVersion::V2
    );
    // Too short is refused with the field and offset.
    let error = <C as Cid>::Response::decode(&wire[..3]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "VersionInfo.bcd_mbim_extended_version at 0x02: needs 2 bytes but only 1 remain"
    );
}

#[test]
fn the_cid_table_has_the_numbers_of_libmbim() {
    let numbers: Vec<(&str, u32)> = ms::SERVICE
        .cids
        .iter()
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(
        numbers,
        [
            ("sys-caps", 5),
            ("device-caps-v2", 6),
            ("device-slot-mappings", 7),
            ("slot-info-status", 8),
            ("version", 15),
        ]
    );
    assert_payloads::<ms::cid::Version>([ty::<VersionInfo>(), none(), ty::<VersionInfo>(), none()]);
}
