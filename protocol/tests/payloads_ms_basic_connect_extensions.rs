//! The MS Basic Connect Extensions CIDs of the MBIM extensions (MBIMEx 2.0
//! to 4.0), from labelled wire bytes: one field per line with its offset,
//! decoding to the value written out in full and encoding back to the same
//! bytes. Layouts follow libmbim's `mbim-service-ms-basic-connect-extensions*.json`;
//! the multi-SIM CIDs of seed 004 are tested in payloads_ms_multi_sim.rs.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::{Empty, Payload};
use mbim_protocol::describe::{Describe, Value};
use mbim_protocol::services::basic_connect::{
    self, AuthProtocol, CellularClass, Compression, ContextIpType, ControlCaps, DataClass,
    DataClassV3, DataSubclass, DeviceType, NwError, SimClass, SmsCaps, VoiceClass,
    WideDataSubclass,
};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, *};
use mbim_protocol::services::{Cid, Scope};
use mbim_protocol::tlv::{Tlv, TlvType, WakeCommand};
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
            ("provisioned-contexts", 1),
            ("lte-attach-configuration", 3),
            ("lte-attach-info", 4),
            ("sys-caps", 5),
            ("device-caps-v2", 6),
            ("device-slot-mappings", 7),
            ("slot-info-status", 8),
            ("pco", 9),
            ("device-reset", 10),
            ("base-stations-info", 11),
            ("location-info-status", 12),
            ("version", 15),
            ("modem-configuration", 16),
            ("registration-parameters", 17),
            ("wake-reason", 19),
        ]
    );
    use ms::cid as m;
    let empty = ty::<Empty>;
    assert_payloads::<m::ProvisionedContexts>([
        empty(),
        ty::<ProvisionedContextSetV2>(),
        ty::<ProvisionedContextsV2>(),
        ty::<ProvisionedContextsV2>(),
    ]);
    assert_payloads::<m::LteAttachConfiguration>([
        empty(),
        ty::<LteAttachConfigurationSet>(),
        ty::<LteAttachConfigurations>(),
        ty::<LteAttachConfigurations>(),
    ]);
    assert_payloads::<m::LteAttachInfo>([
        empty(),
        none(),
        ty::<LteAttachInfo>(),
        ty::<LteAttachInfo>(),
    ]);
    assert_payloads::<m::LteAttachInfoV3>([
        empty(),
        none(),
        ty::<LteAttachInfoV3>(),
        ty::<LteAttachInfoV3>(),
    ]);
    assert_payloads::<m::DeviceCapsV3>([empty(), none(), ty::<DeviceCapsInfoV3>(), none()]);
    assert_payloads::<m::Pco>([ty::<PcoValue>(), none(), ty::<PcoValue>(), ty::<PcoValue>()]);
    assert_payloads::<m::DeviceReset>([none(), empty(), empty(), none()]);
    assert_payloads::<m::BaseStationsInfo>([
        ty::<BaseStationsInfoQuery>(),
        none(),
        ty::<BaseStationsInfo>(),
        none(),
    ]);
    assert_payloads::<m::BaseStationsInfoV3>([
        ty::<BaseStationsInfoQueryV3>(),
        none(),
        ty::<BaseStationsInfoV3>(),
        none(),
    ]);
    assert_payloads::<m::LocationInfoStatus>([
        empty(),
        none(),
        ty::<LocationInfo>(),
        ty::<LocationInfo>(),
    ]);
    assert_payloads::<m::Version>([ty::<VersionInfo>(), none(), ty::<VersionInfo>(), none()]);
    assert_payloads::<m::ModemConfiguration>([
        empty(),
        none(),
        ty::<ModemConfigurationInfo>(),
        ty::<ModemConfigurationInfo>(),
    ]);
    assert_payloads::<m::RegistrationParameters>([
        empty(),
        ty::<RegistrationParameters>(),
        ty::<RegistrationParameters>(),
        none(),
    ]);
    assert_payloads::<m::WakeReason>([empty(), none(), ty::<WakeReason>(), none()]);
    // The layouts each version picks.
    for (name, majors) in [
        ("provisioned-contexts", [1, 1, 1, 4]),
        ("lte-attach-info", [1, 1, 3, 3]),
        ("device-caps-v2", [1, 1, 3, 3]),
        ("base-stations-info", [1, 1, 3, 3]),
        ("version", [1, 1, 1, 1]),
        ("registration-parameters", [1, 1, 1, 1]),
    ] {
        let cid = ms::SERVICE.cid_by_name(name).unwrap();
        for (version, major) in MbimExVersion::ALL.into_iter().zip(majors) {
            assert_eq!(
                cid.form_at(version).since.major(),
                major,
                "{name} at {version}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// PROVISIONED_CONTEXTS v2 (MBIMEx 2.0)
// ---------------------------------------------------------------------------

#[test]
fn provisioned_contexts_v2() {
    let wire = labelled(&format!(
        "
        01000000          # 0x00 ProvisionedContextsCount: 1
        0c000000 58000000 # 0x04 ProvisionedContexts[0]: offset, length
        01000000          # 0x0c [0] ContextId: 1
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x10 [0] ContextType: internet
        03000000          # 0x20 [0] IpType: ipv4v6
        01000000          # 0x24 [0] State: enabled
        06000000          # 0x28 [0] Roaming: allow-all
        00000000          # 0x2c [0] MediaType: cellular-only
        02000000          # 0x30 [0] Source: operator
        48000000 10000000 # 0x34 [0] AccessString (offset from the element)
        00000000 00000000 # 0x3c [0] UserName
        00000000 00000000 # 0x44 [0] Password
        00000000          # 0x4c [0] Compression: none
        00000000          # 0x50 [0] AuthProtocol: none
        {}                # 0x54 [0] 'internet'
        ",
        utf16_padded("internet")
    ));
    check::<<ms::cid::ProvisionedContexts as Cid>::Response>(
        &wire,
        &ProvisionedContextsV2 {
            contexts: vec![ProvisionedContextElementV2 {
                context_id: 1,
                context_type: internet(),
                ip_type: ContextIpType::Ipv4v6,
                state: ContextState::Enabled,
                roaming: ContextRoamingControl::AllowAll,
                media_type: ContextMediaType::CellularOnly,
                source: ContextSource::Operator,
                access_string: text("internet"),
                user_name: String::new(),
                password: String::new(),
                compression: Compression::None,
                auth_protocol: AuthProtocol::None,
            }],
        },
    );
}

#[test]
fn provisioned_context_set_v2() {
    let wire = labelled(
        "
        00000000          # 0x00 Operation: default
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x04 ContextType: internet
        01000000          # 0x14 IpType: ipv4
        01000000          # 0x18 State: enabled
        03000000          # 0x1c Roaming: home-and-partner
        00000000          # 0x20 MediaType: cellular-only
        01000000          # 0x24 Source: user
        48000000 06000000 # 0x28 AccessString
        50000000 02000000 # 0x30 UserName
        54000000 02000000 # 0x38 Password
        00000000          # 0x40 Compression: none
        01000000          # 0x44 AuthProtocol: pap
        61007000 6e000000 # 0x48 'apn'
        75000000          # 0x50 'u'
        70000000          # 0x54 'p'
        ",
    );
    let set = ProvisionedContextSetV2 {
        operation: ContextOperation::Default,
        context_type: internet(),
        ip_type: ContextIpType::Ipv4,
        state: ContextState::Enabled,
        roaming: ContextRoamingControl::HomeAndPartner,
        media_type: ContextMediaType::CellularOnly,
        source: ContextSource::User,
        access_string: text("apn"),
        user_name: text("u"),
        password: text("p"),
        compression: Compression::None,
        auth_protocol: AuthProtocol::Pap,
    };
    check::<<ms::cid::ProvisionedContexts as Cid>::Set>(&wire, &set);
    assert!(matches!(
        set.describe(),
        Value::Struct(fields) if fields.iter().any(|(name, value)| *name == "password" && *value == Value::Secret)
    ));
}

#[test]
fn provisioned_contexts_v4_name_their_slice() {
    // MBIMEx 4.0: the S-NSSAI element follows the fixed fields; the strings'
    // offsets count past it.
    let wire = labelled(&format!(
        "
        01000000          # 0x00 ProvisionedContextsCount: 1
        0c000000 64000000 # 0x04 ProvisionedContexts[0]: offset, length
        01000000          # 0x0c [0] ContextId: 1
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x10 [0] ContextType: internet
        03000000          # 0x20 [0] IpType: ipv4v6
        01000000          # 0x24 [0] State: enabled
        06000000          # 0x28 [0] Roaming: allow-all
        00000000          # 0x2c [0] MediaType: cellular-only
        02000000          # 0x30 [0] Source: operator
        54000000 10000000 # 0x34 [0] AccessString (offset from the element)
        00000000 00000000 # 0x3c [0] UserName
        00000000 00000000 # 0x44 [0] Password
        00000000          # 0x4c [0] Compression: none
        00000000          # 0x50 [0] AuthProtocol: none
        02000002 02000000 01010000 # 0x54 [0] S-NSSAI TLV: SST 1, padding 2
        {}                # 0x60 [0] 'internet'
        ",
        utf16_padded("internet")
    ));
    type C = ms::cid::ProvisionedContextsV4;
    assert_eq!(C::SINCE, MbimExVersion::V4);
    assert_payloads::<C>([
        ty::<Empty>(),
        ty::<ProvisionedContextSetV4>(),
        ty::<ProvisionedContextsV4>(),
        ty::<ProvisionedContextsV4>(),
    ]);
    check::<<C as Cid>::Notification>(
        &wire,
        &ProvisionedContextsV4 {
            contexts: vec![ProvisionedContextElementV4 {
                context_id: 1,
                context_type: internet(),
                ip_type: ContextIpType::Ipv4v6,
                state: ContextState::Enabled,
                roaming: ContextRoamingControl::AllowAll,
                media_type: ContextMediaType::CellularOnly,
                source: ContextSource::Operator,
                access_string: text("internet"),
                user_name: String::new(),
                password: String::new(),
                compression: Compression::None,
                auth_protocol: AuthProtocol::None,
                snssai: Tlv::new(TlvType::SingleNssai, vec![1, 1]),
            }],
        },
    );
    let set = ProvisionedContextSetV4 {
        operation: ContextOperation::Delete,
        context_type: internet(),
        ip_type: ContextIpType::Default,
        state: ContextState::Disabled,
        roaming: ContextRoamingControl::HomeOnly,
        media_type: ContextMediaType::All,
        source: ContextSource::User,
        access_string: String::new(),
        user_name: String::new(),
        password: String::new(),
        compression: Compression::None,
        auth_protocol: AuthProtocol::None,
        snssai: Tlv::new(TlvType::SingleNssai, Vec::new()),
    };
    assert_eq!(ProvisionedContextSetV4::decode(&set.encode()).unwrap(), set);
}

// ---------------------------------------------------------------------------
// LTE attach
// ---------------------------------------------------------------------------

#[test]
fn lte_attach_configurations() {
    let wire = labelled(&format!(
        "
        01000000          # 0x00 ConfigurationCount: 1
        0c000000 3c000000 # 0x04 Configurations[0]: offset, length
        03000000          # 0x0c [0] IpType: ipv4v6
        00000000          # 0x10 [0] Roaming: home
        02000000          # 0x14 [0] Source: operator
        2c000000 10000000 # 0x18 [0] AccessString (offset from the element)
        00000000 00000000 # 0x20 [0] UserName
        00000000 00000000 # 0x28 [0] Password
        00000000          # 0x30 [0] Compression: none
        00000000          # 0x34 [0] AuthProtocol: none
        {}                # 0x38 [0] 'internet'
        ",
        utf16_padded("internet")
    ));
    let configurations = LteAttachConfigurations {
        configurations: vec![LteAttachConfiguration {
            ip_type: ContextIpType::Ipv4v6,
            roaming: LteAttachContextRoamingControl::Home,
            source: ContextSource::Operator,
            access_string: text("internet"),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        }],
    };
    check::<<ms::cid::LteAttachConfiguration as Cid>::Response>(&wire, &configurations);
    check::<<ms::cid::LteAttachConfiguration as Cid>::Notification>(&wire, &configurations);
}

#[test]
fn lte_attach_configuration_set_restores_the_factory_apns() {
    let wire = labelled(
        "
        01000000          # 0x00 Operation: restore-factory
        00000000          # 0x04 ConfigurationCount: 0
        ",
    );
    check::<<ms::cid::LteAttachConfiguration as Cid>::Set>(
        &wire,
        &LteAttachConfigurationSet {
            operation: LteAttachContextOperation::RestoreFactory,
            configurations: Vec::new(),
        },
    );
}

#[test]
fn lte_attach_info() {
    let wire = labelled(&format!(
        "
        01000000          # 0x00 LteAttachState: attached
        01000000          # 0x04 IpType: ipv4
        28000000 10000000 # 0x08 AccessString
        00000000 00000000 # 0x10 UserName
        00000000 00000000 # 0x18 Password
        00000000          # 0x20 Compression: none
        00000000          # 0x24 AuthProtocol: none
        {}                # 0x28 'internet'
        ",
        utf16_padded("internet")
    ));
    check::<<ms::cid::LteAttachInfo as Cid>::Response>(
        &wire,
        &LteAttachInfo {
            lte_attach_state: LteAttachState::Attached,
            ip_type: ContextIpType::Ipv4,
            access_string: text("internet"),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        },
    );
}

#[test]
fn lte_attach_info_v3_says_why_the_attach_failed() {
    let wire = labelled(
        "
        00000000          # 0x00 LteAttachState: detached
        21000000          # 0x04 NwError: 33 (requested service option not subscribed)
        03000000          # 0x08 IpType: ipv4v6
        2c000000 06000000 # 0x0c AccessString
        00000000 00000000 # 0x14 UserName
        00000000 00000000 # 0x1c Password
        00000000          # 0x24 Compression: none
        00000000          # 0x28 AuthProtocol: none
        69006d00 73000000 # 0x2c 'ims'
        ",
    );
    check::<<ms::cid::LteAttachInfoV3 as Cid>::Notification>(
        &wire,
        &LteAttachInfoV3 {
            lte_attach_state: LteAttachState::Detached,
            nw_error: NwError::RequestedServiceOptionNotSubscribed,
            ip_type: ContextIpType::Ipv4v6,
            access_string: text("ims"),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        },
    );
}

// ---------------------------------------------------------------------------
// PCO, DEVICE_RESET
// ---------------------------------------------------------------------------

#[test]
fn pco_value_with_a_dns_container() {
    let wire = labelled(
        "
        00000000          # 0x00 SessionId: 0
        08000000          # 0x04 PcoDataSize: 8
        00000000          # 0x08 PcoDataType: complete
        80000d04 08080808 # 0x0c PcoDataBuffer: PPP, DNS (0x000d) 8.8.8.8
        ",
    );
    let pco = PcoValue {
        session_id: 0,
        pco_data_type: PcoType::Complete,
        pco_data_buffer: vec![0x80, 0x00, 0x0d, 0x04, 8, 8, 8, 8],
    };
    check::<<ms::cid::Pco as Cid>::Notification>(&wire, &pco);
    assert_eq!(
        pco.session_options().unwrap().dns_ipv4,
        [std::net::Ipv4Addr::new(8, 8, 8, 8)]
    );
}

#[test]
fn pco_value_of_odd_length_is_padded() {
    let wire = labelled(
        "
        01000000          # 0x00 SessionId: 1
        05000000          # 0x04 PcoDataSize: 5
        01000000          # 0x08 PcoDataType: partial
        ff000101 2a       # 0x0c PcoDataBuffer: operator container 0xff00
        000000            # 0x11 padding
        ",
    );
    let pco = PcoValue {
        session_id: 1,
        pco_data_type: PcoType::Partial,
        pco_data_buffer: vec![0xff, 0x00, 0x01, 0x01, 0x2a],
    };
    check::<<ms::cid::Pco as Cid>::Response>(&wire, &pco);
    // Without the padding (the data ends the buffer) it reads the same.
    assert_eq!(PcoValue::decode(&wire[..0x11]).unwrap(), pco);
    // A size beyond the bytes present is refused before allocating.
    let mut lying = wire.clone();
    lying[4] = 0xff;
    let error = PcoValue::decode(&lying).unwrap_err();
    assert_eq!(error.path, "PcoValue.pco_data_buffer");
}

#[test]
fn device_reset_carries_nothing() {
    type C = ms::cid::DeviceReset;
    assert_eq!(C::SCOPE, Scope::Device);
    check::<<C as Cid>::Set>(&[], &Empty);
    check::<<C as Cid>::Response>(&[], &Empty);
}

// ---------------------------------------------------------------------------
// BASE_STATIONS_INFO, LOCATION_INFO_STATUS
// ---------------------------------------------------------------------------

#[test]
fn base_stations_info_query() {
    let wire = labelled(
        "
        00000000          # 0x00 MaxGsmCount
        00000000          # 0x04 MaxUmtsCount
        00000000          # 0x08 MaxTdscdmaCount
        0f000000          # 0x0c MaxLteCount: 15
        00000000          # 0x10 MaxCdmaCount
        ",
    );
    check::<<ms::cid::BaseStationsInfo as Cid>::Query>(
        &wire,
        &BaseStationsInfoQuery {
            max_lte_count: 15,
            ..BaseStationsInfoQuery::default()
        },
    );
    let wire = labelled(
        "
        00000000 00000000 00000000 # 0x00 MaxGsmCount, MaxUmtsCount, MaxTdscdmaCount
        0f000000          # 0x0c MaxLteCount: 15
        00000000          # 0x10 MaxCdmaCount
        0f000000          # 0x14 MaxNrCount: 15
        ",
    );
    check::<<ms::cid::BaseStationsInfoV3 as Cid>::Query>(
        &wire,
        &BaseStationsInfoQueryV3 {
            max_lte_count: 15,
            max_nr_count: 15,
            ..BaseStationsInfoQueryV3::default()
        },
    );
}

fn lte_cells() -> BaseStationsInfo {
    BaseStationsInfo {
        system_type: DataClass::LTE,
        lte_serving_cell: Some(CellInfoServingLte {
            provider_id: text("21407"),
            cell_id: 0x0465_cd1f,
            earfcn: 6400,
            physical_cell_id: 310,
            tac: 28670,
            rsrp: -103,
            rsrq: -12,
            timing_advance: 0xFFFF_FFFF,
        }),
        lte_neighboring_cells: vec![CellInfoNeighboringLte {
            provider_id: text("21407"),
            cell_id: 0xFFFF_FFFF,
            earfcn: 0xFFFF_FFFF,
            physical_cell_id: 310,
            tac: 0xFFFF_FFFF,
            rsrp: -103,
            rsrq: -12,
        }],
        ..BaseStationsInfo::default()
    }
}

#[test]
fn base_stations_info_with_an_lte_serving_cell_and_a_neighbour() {
    let wire = labelled(&format!(
        "
        20000000          # 0x00 SystemType: lte
        00000000 00000000 # 0x04 GsmServingCell: none
        00000000 00000000 # 0x0c UmtsServingCell: none
        00000000 00000000 # 0x14 TdscdmaServingCell: none
        4c000000 30000000 # 0x1c LteServingCell: offset, length
        00000000 00000000 # 0x24 GsmNeighboringCells: none
        00000000 00000000 # 0x2c UmtsNeighboringCells: none
        00000000 00000000 # 0x34 TdscdmaNeighboringCells: none
        7c000000 30000000 # 0x3c LteNeighboringCells: offset, length
        00000000 00000000 # 0x44 CdmaCells: none
        24000000 0a000000 # 0x4c LteServingCell.ProviderId (offset from the cell)
        1fcd6504          # 0x54   CellId
        00190000          # 0x58   Earfcn: 6400
        36010000          # 0x5c   PhysicalCellId: 310
        fe6f0000          # 0x60   Tac: 28670
        99ffffff          # 0x64   Rsrp: -103 dBm
        f4ffffff          # 0x68   Rsrq: -12 dB
        ffffffff          # 0x6c   TimingAdvance: unknown
        {}                # 0x70   '21407'
        01000000          # 0x7c LteNeighboringCells: count 1
        20000000 0a000000 # 0x80 [0] ProviderId (offset from the cell)
        ffffffff          # 0x88 [0] CellId: unknown
        ffffffff          # 0x8c [0] Earfcn: unknown
        36010000          # 0x90 [0] PhysicalCellId: 310
        ffffffff          # 0x94 [0] Tac: unknown
        99ffffff          # 0x98 [0] Rsrp: -103 dBm
        f4ffffff          # 0x9c [0] Rsrq: -12 dB
        {}                # 0xa0 [0] '21407'
        ",
        utf16_padded("21407"),
        utf16_padded("21407"),
    ));
    check::<<ms::cid::BaseStationsInfo as Cid>::Response>(&wire, &lte_cells());
}

#[test]
fn base_stations_info_v3_with_an_nr_serving_cell() {
    let wire = labelled(&format!(
        "
        60000000          # 0x00 SystemType: lte, 5g
        01000000          # 0x04 SystemSubType: 5g-endc
        00000000 00000000 # 0x08 GsmServingCell: none
        00000000 00000000 # 0x10 UmtsServingCell: none
        00000000 00000000 # 0x18 TdscdmaServingCell: none
        00000000 00000000 # 0x20 LteServingCell: none
        00000000 00000000 # 0x28 GsmNeighboringCells: none
        00000000 00000000 # 0x30 UmtsNeighboringCells: none
        00000000 00000000 # 0x38 TdscdmaNeighboringCells: none
        00000000 00000000 # 0x40 LteNeighboringCells: none
        00000000 00000000 # 0x48 CdmaCells: none
        60000000 40000000 # 0x50 NrServingCells: offset, length
        00000000 00000000 # 0x58 NrNeighborCells: none
        01000000          # 0x60 NrServingCells: count 1
        30000000 0a000000 # 0x64 [0] ProviderId (offset from the cell)
        89674523 01000000 # 0x6c [0] Nci
        f5010000          # 0x74 [0] PhysicalCellId: 501
        40920900          # 0x78 [0] Nrarfcn: 627264
        39300000          # 0x7c [0] Tac: 12345
        3c000000          # 0x80 [0] Rsrp: 60
        40000000          # 0x84 [0] Rsrq: 64
        50000000          # 0x88 [0] Sinr: 80
        0c000000 00000000 # 0x8c [0] TimingAdvance: 12
        {}                # 0x94 [0] '26201'
        ",
        utf16_padded("26201"),
    ));
    check::<<ms::cid::BaseStationsInfoV3 as Cid>::Response>(
        &wire,
        &BaseStationsInfoV3 {
            system_type: DataClassV3::LTE | DataClassV3::NR5G,
            system_subtype: DataSubclass::NR5G_ENDC,
            nr_serving_cells: vec![CellInfoServingNr {
                provider_id: text("26201"),
                nci: 0x1_2345_6789,
                physical_cell_id: 501,
                nrarfcn: 627_264,
                tac: 12345,
                rsrp: 60,
                rsrq: 64,
                sinr: 80,
                timing_advance: 12,
            }],
            ..BaseStationsInfoV3::default()
        },
    );
}

#[test]
fn base_stations_info_v3_with_neighbours_of_every_kind() {
    // Several struct arrays, elements with one and two strings: the
    // encoder's layout reads back to the same value.
    let info = BaseStationsInfoV3 {
        system_type: DataClassV3::NR5G,
        system_subtype: DataSubclass::NR5G_NR,
        gsm_neighboring_cells: vec![CellInfoNeighboringGsm {
            provider_id: text("26201"),
            location_area_code: 1,
            cell_id: 2,
            arfcn: 3,
            base_station_id: 4,
            rx_level: 5,
        }],
        cdma_cells: vec![CellInfoCdma {
            serving_cell_flag: 1,
            nid: 2,
            sid: 3,
            base_station_id: 4,
            base_latitude: 5,
            base_longitude: 6,
            ref_pn: 7,
            gps_seconds: 8,
            pilot_strength: 9,
        }],
        nr_neighbor_cells: vec![
            CellInfoNeighboringNr {
                system_subtype: DataSubclass::NR5G_NR,
                provider_id: text("26201"),
                cell_id: text("0x123456789"),
                physical_cell_id: 7,
                tac: 8,
                rsrp: 9,
                rsrq: 10,
                sinr: 11,
            },
            CellInfoNeighboringNr {
                system_subtype: DataSubclass::NR5G_NR,
                provider_id: String::new(),
                cell_id: text("1"),
                physical_cell_id: 1,
                tac: 1,
                rsrp: 1,
                rsrq: 1,
                sinr: 1,
            },
        ],
        ..BaseStationsInfoV3::default()
    };
    let wire = info.encode();
    assert_eq!(BaseStationsInfoV3::decode(&wire).unwrap(), info);
}

#[test]
fn location_info() {
    let wire = labelled(
        "
        00000000          # 0x00 LocationAreaCode
        fe6f0000          # 0x04 TrackingAreaCode: 28670
        1fcd6504          # 0x08 CellId
        ",
    );
    check::<<ms::cid::LocationInfoStatus as Cid>::Notification>(
        &wire,
        &LocationInfo {
            location_area_code: 0,
            tracking_area_code: 28670,
            cell_id: 0x0465_cd1f,
        },
    );
}

// ---------------------------------------------------------------------------
// MBIMEx 3.0: MODEM_CONFIGURATION, REGISTRATION_PARAMETERS, WAKE_REASON,
// DEVICE_CAPS v3
// ---------------------------------------------------------------------------

#[test]
fn modem_configuration_completed() {
    let wire = labelled(
        "
        02000000          # 0x00 ConfigurationStatus: completed
        0a000002 0a000000 # 0x04 ConfigurationName TLV: 10 bytes, padding 2
        41005400 54003000 31000000 # 0x0c 'ATT01'
        ",
    );
    check::<<ms::cid::ModemConfiguration as Cid>::Notification>(
        &wire,
        &ModemConfigurationInfo {
            configuration_status: ModemConfigurationStatus::Completed,
            configuration_name: text("ATT01"),
            unnamed_ies: Vec::new(),
        },
    );
}

fn registration_parameters(unnamed_ies: Vec<Tlv>) -> RegistrationParameters {
    RegistrationParameters {
        mico_mode: MicoMode::Disabled,
        drx_cycle: DrxCycle::NotSpecified,
        ladn_info: LadnInfo::NotNeeded,
        default_pdu_activation_hint: DefaultPduActivationHint::Likely,
        re_register_if_needed: Boolean::True,
        unnamed_ies,
    }
}

#[test]
fn registration_parameters_with_three_unnamed_ies() {
    // libmbim's test-message-builder.c,
    // test_ms_basic_connect_extensions_registration_parameters_set_3_unnamed_tlvs.
    let wire = labelled(
        "
        00000000          # 0x00 MicoMode: disabled
        00000000          # 0x04 DrxCycle: not-specified
        00000000          # 0x08 LadnInfo: not-needed
        01000000          # 0x0c DefaultPduActivationHint: likely
        01000000          # 0x10 ReRegisterIfNeeded: true
        0a000002 0a000000 # 0x14 IE 1: WCHAR_STR, padding 2, 10 bytes
        61006200 63006400 65000000 # 0x1c 'abcde', padding
        0a000000 0c000000 # 0x28 IE 2: WCHAR_STR, 12 bytes
        4f007200 61006e00 67006500 # 0x30 'Orange'
        0d000001 0b000000 # 0x3c IE 3: PCO, padding 1, 11 bytes
        01020304 05060708 090a0b00 # 0x44 PCO, padding
        ",
    );
    let parameters = registration_parameters(vec![
        Tlv::string("abcde"),
        Tlv::string("Orange"),
        Tlv::new(TlvType::Pco, (1..=11).collect()),
    ]);
    check::<<ms::cid::RegistrationParameters as Cid>::Set>(&wire, &parameters);
    check::<<ms::cid::RegistrationParameters as Cid>::Response>(&wire, &parameters);
    check::<<ms::cid::RegistrationParameters as Cid>::Set>(
        &wire[..0x14],
        &registration_parameters(Vec::new()),
    );
}

#[test]
fn wake_reason_of_a_connect_response() {
    // libmbim's test-message-parser.c,
    // test_ms_basic_connect_extensions_wake_reason_command_payload.
    let wire = labelled(
        "
        00000000          # 0x00 WakeType: cid-response
        02000000          # 0x04 SessionId: 2
        10000000 20000000 # 0x08 WakeTlv: WAKE_COMMAND, 32 bytes
        a289cc33 bcbb8b4f b6b0133e c2aae6df # 0x10 service: basic connect
        0c000000          # 0x20 CID: connect
        1c000000          # 0x24 payload offset: 28
        04000000          # 0x28 payload size: 4
        01000000          # 0x2c payload
        ",
    );
    let reason = WakeReason {
        wake_type: WakeType::CidResponse,
        session_id: 2,
        wake_tlv: Tlv::wake_command(&WakeCommand {
            service: basic_connect::UUID,
            cid: 12,
            payload: vec![1, 0, 0, 0],
        }),
    };
    check::<<ms::cid::WakeReason as Cid>::Response>(&wire, &reason);
    let described = format!("{:?}", reason.describe());
    assert!(described.contains("Some(\"basic-connect\")"), "{described}");
}

/// The DEVICE_CAPS v3 response of libmbim's parser test (a Foxconn T99W175).
fn t99w175_caps() -> DeviceCapsInfoV3 {
    DeviceCapsInfoV3 {
        device_type: DeviceType::Embedded,
        cellular_class: CellularClass::GSM,
        voice_class: VoiceClass::NoVoice,
        sim_class: SimClass::REMOVABLE,
        data_class: DataClassV3::UMTS
            | DataClassV3::HSDPA
            | DataClassV3::HSUPA
            | DataClassV3::LTE
            | DataClassV3::NR5G
            | DataClassV3::CUSTOM,
        sms_caps: SmsCaps::PDU_RECEIVE | SmsCaps::PDU_SEND,
        control_caps: ControlCaps::REG_MANUAL
            | ControlCaps::HW_RADIO_SWITCH
            | ControlCaps::ESIM
            | ControlCaps::SIM_HOT_SWAP_CAPABLE,
        data_subclass: WideDataSubclass::NR5G_ENDC | WideDataSubclass::NR5G_NR,
        max_sessions: 2,
        executor_index: 0,
        wcdma_band_class: 1 | 1 << 1 | 1 << 3 | 1 << 4 | 1 << 7,
        lte_band_class: vec![
            1, 2, 3, 4, 5, 7, 8, 12, 13, 14, 17, 18, 19, 20, 25, 26, 28, 29, 30, 32, 34, 38, 39,
            40, 41, 42, 43, 46, 48,
        ],
        nr_band_class: vec![
            1, 2, 3, 5, 7, 8, 20, 25, 28, 30, 38, 40, 41, 48, 66, 71, 77, 78, 79,
        ],
        custom_data_class: text("HSPA+"),
        device_id: text("862146050084555"),
        firmware_info: text("81600.0000.99.29.17.19_GC\r\nB90"),
        hardware_info: text("V1.0.6"),
    }
}

#[test]
fn device_caps_v3() {
    let wire = labelled(&format!(
        "
        01000000          # 0x00 DeviceType: embedded
        01000000          # 0x04 CellularClass: gsm
        01000000          # 0x08 VoiceClass: no-voice
        02000000          # 0x0c SimClass: removable
        7c000080          # 0x10 DataClass: umts, hsdpa, hsupa, lte, 5g, custom
        03000000          # 0x14 SmsCaps: pdu-receive, pdu-send
        a3000000          # 0x18 ControlCaps: reg-manual, hw-radio-switch, esim, sim-hot-swap-capable
        03000000 00000000 # 0x1c DataSubclass (64-bit): 5g-endc, 5g-nr
        02000000          # 0x24 MaxSessions: 2
        00000000          # 0x28 ExecutorIndex: 0
        9b000000          # 0x2c WcdmaBandClass: bands 1, 2, 4, 5, 8
        0b000002 3a000000 # 0x30 LteBandClass TLV: UINT16_TBL, padding 2, 58 bytes
        01000200 03000400 05000700 08000c00 0d000e00 11001200 13001400 19001a00 # 0x38 bands
        1c001d00 1e002000 22002600 27002800 29002a00 2b002e00 30000000 # 0x58 bands, padding
        0b000002 26000000 # 0x74 NrBandClass TLV: UINT16_TBL, padding 2, 38 bytes
        01000200 03000500 07000800 14001900 1c001e00 26002800 29003000 42004700 # 0x7c bands
        4d004e00 4f000000 # 0x9c bands, padding
        0a000002 0a000000 # 0xa4 CustomDataClass TLV: 10 bytes
        {}                # 0xac 'HSPA+'
        0a000002 1e000000 # 0xb8 DeviceId TLV: 30 bytes
        {}                # 0xc0 IMEI
        0a000000 3c000000 # 0xe0 FirmwareInfo TLV: 60 bytes
        {}                # 0xe8 firmware
        0a000000 0c000000 # 0x124 HardwareInfo TLV: 12 bytes
        {}                # 0x12c 'V1.0.6'
        ",
        utf16_padded("HSPA+"),
        utf16_padded("862146050084555"),
        utf16_padded("81600.0000.99.29.17.19_GC\r\nB90"),
        utf16_padded("V1.0.6"),
    ));
    let caps = t99w175_caps();
    check::<<ms::cid::DeviceCapsV3 as Cid>::Response>(&wire, &caps);
    // The IMEI is personal data.
    let masked = format!("{:?}", caps.describe().masked());
    assert!(!masked.contains("862146050084555"), "{masked}");
    assert!(!format!("{caps:?}").contains("862146050084555"));
    // A band table of odd length is refused with the field.
    let mut odd = wire.clone();
    odd[0x34] = 0x39;
    let error = DeviceCapsInfoV3::decode(&odd).unwrap_err();
    assert_eq!(error.path, "DeviceCapsInfoV3.lte_band_class");
    assert_eq!(error.offset, 0x30);
}
