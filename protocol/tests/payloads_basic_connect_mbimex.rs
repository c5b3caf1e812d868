//! The layouts the MBIM extensions give Basic Connect CIDs (MBIMEx 2.0:
//! REGISTER_STATE, PACKET_SERVICE, SIGNAL_STATE; 3.0: SUBSCRIBER_READY_STATUS,
//! PACKET_SERVICE, CONNECT, IP_PACKET_FILTERS; 4.0: CONNECT), from labelled
//! wire bytes: one field per line with its offset, decoding to the value
//! written out in full and encoding back to the same bytes. Layouts follow
//! libmbim's `mbim-service-ms-basic-connect-v2.json` and `-v3.json`; the
//! TLV information elements are in the static part, one after another, the
//! unnamed IEs last.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::{Empty, Payload};
use mbim_protocol::describe::{Describe, Value};
use mbim_protocol::services::basic_connect::{self as bc, *};
use mbim_protocol::services::{Cid, Operation};
use mbim_protocol::tlv::{Tlv, TlvType};
use mbim_protocol::MbimExVersion;
use support::*;

#[test]
fn every_versioned_layout_uses_the_payload_types_tested_here() {
    use bc::cid as b;
    let empty = ty::<Empty>;
    assert_payloads::<b::SubscriberReadyStatusV3>([
        empty(),
        none(),
        ty::<SubscriberReadyInfoV3>(),
        ty::<SubscriberReadyInfoV3>(),
    ]);
    assert_payloads::<b::RegisterStateV2>([
        empty(),
        ty::<RegisterStateSet>(),
        ty::<RegistrationStateInfoV2>(),
        ty::<RegistrationStateInfoV2>(),
    ]);
    assert_payloads::<b::PacketServiceV2>([
        empty(),
        ty::<PacketServiceSet>(),
        ty::<PacketServiceInfoV2>(),
        ty::<PacketServiceInfoV2>(),
    ]);
    assert_payloads::<b::PacketServiceV3>([
        empty(),
        ty::<PacketServiceSet>(),
        ty::<PacketServiceInfoV3>(),
        ty::<PacketServiceInfoV3>(),
    ]);
    assert_payloads::<b::SignalStateV2>([
        empty(),
        ty::<SignalStateSet>(),
        ty::<SignalStateInfoV2>(),
        ty::<SignalStateInfoV2>(),
    ]);
    assert_payloads::<b::ConnectV3>([
        ty::<ConnectQueryV3>(),
        ty::<ConnectSetV3>(),
        ty::<ConnectInfoV3>(),
        ty::<ConnectInfoV3>(),
    ]);
    assert_payloads::<b::ConnectV4>([
        ty::<ConnectQueryV3>(),
        ty::<ConnectSetV4>(),
        ty::<ConnectInfoV4>(),
        ty::<ConnectInfoV4>(),
    ]);
    assert_payloads::<b::IpPacketFiltersV3>([
        ty::<PacketFiltersV3>(),
        ty::<PacketFiltersV3>(),
        ty::<PacketFiltersV3>(),
        none(),
    ]);
    assert_eq!(<b::ConnectV3 as Cid>::ID, <b::Connect as Cid>::ID);
    assert_eq!(<b::ConnectV3 as Cid>::SINCE, MbimExVersion::V3);
    assert_eq!(<b::RegisterStateV2 as Cid>::SINCE, MbimExVersion::V2);
    assert_eq!(<b::ConnectV4 as Cid>::SINCE, MbimExVersion::V4);
}

#[test]
fn the_negotiated_version_picks_each_layout() {
    // (CID, the version each layout applies from, at 1.0 to 4.0).
    let expected = [
        ("subscriber-ready-status", [1, 1, 3, 3]),
        ("register-state", [1, 2, 2, 2]),
        ("packet-service", [1, 2, 3, 3]),
        ("signal-state", [1, 2, 2, 2]),
        ("connect", [1, 1, 3, 4]),
        ("ip-packet-filters", [1, 1, 3, 3]),
        ("ip-configuration", [1, 1, 1, 1]),
        ("device-caps", [1, 1, 1, 1]),
    ];
    for (name, majors) in expected {
        let cid = bc::SERVICE.cid_by_name(name).unwrap();
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
// MBIMEx 2.0
// ---------------------------------------------------------------------------

#[test]
fn registration_state_info_v2() {
    let wire = labelled(&format!(
        "
        00000000    # 0x00 NwError: none
        03000000    # 0x04 RegisterState: home
        01000000    # 0x08 RegisterMode: automatic
        60000000    # 0x0c AvailableDataClasses: lte, 5g-nsa
        01000000    # 0x10 CurrentCellularClass: gsm
        34000000 0a000000 # 0x14 ProviderId: offset, length
        40000000 0c000000 # 0x1c ProviderName
        00000000 00000000 # 0x24 RoamingText: none
        02000000    # 0x2c RegistrationFlag: packet-service-automatic-attach
        60000000    # 0x30 PreferredDataClasses: lte, 5g-nsa
        {}          # 0x34 '26006'
        {}          # 0x40 'Orange'
        ",
        utf16_padded("26006"),
        utf16_padded("Orange")
    ));
    check(
        &wire,
        &RegistrationStateInfoV2 {
            nw_error: NwError::None,
            register_state: RegisterState::Home,
            register_mode: RegisterMode::Automatic,
            available_data_classes: DataClass::LTE | DataClass::NR5G_NSA,
            current_cellular_class: CellularClass::GSM,
            provider_id: text("26006"),
            provider_name: text("Orange"),
            roaming_text: String::new(),
            registration_flag: RegistrationFlags::PACKET_SERVICE_AUTOMATIC_ATTACH,
            preferred_data_classes: DataClass::LTE | DataClass::NR5G_NSA,
        },
    );
}

#[test]
fn packet_service_info_v2() {
    let wire = labelled(
        "
        00000000    # 0x00 NwError: none
        02000000    # 0x04 PacketServiceState: attached
        40000000    # 0x08 CurrentDataClass: 5g-nsa
        00e1f505 00000000 # 0x0c UplinkSpeed: 100 Mbit/s
        00ca9a3b 00000000 # 0x14 DownlinkSpeed: 1 Gbit/s
        01000000    # 0x1c FrequencyRange: FR1
        ",
    );
    check(
        &wire,
        &PacketServiceInfoV2 {
            nw_error: NwError::None,
            packet_service_state: PacketServiceState::Attached,
            current_data_class: DataClass::NR5G_NSA,
            uplink_speed: 100_000_000,
            downlink_speed: 1_000_000_000,
            frequency_range: FrequencyRange::RANGE_1,
        },
    );
}

fn lte_and_nr_signal() -> SignalStateInfoV2 {
    SignalStateInfoV2 {
        rssi: 20,
        error_rate: 99,
        signal_strength_interval: 5,
        rssi_threshold: 0,
        error_rate_threshold: 0,
        rsrp_snr: vec![
            RsrpSnrInfo {
                rsrp: 63,
                snr: 60,
                rsrp_threshold: 0,
                snr_threshold: 0xFFFF_FFFF,
                system_type: DataClass::LTE,
            },
            RsrpSnrInfo {
                rsrp: 80,
                snr: 128,
                rsrp_threshold: 0,
                snr_threshold: 0,
                system_type: DataClass::NR5G_NSA,
            },
        ],
    }
}

#[test]
fn signal_state_info_v2_with_lte_and_nr() {
    let wire = labelled(
        "
        14000000    # 0x00 Rssi: 20
        63000000    # 0x04 ErrorRate: 99 (unknown)
        05000000    # 0x08 SignalStrengthInterval: 5 s
        00000000    # 0x0c RssiThreshold
        00000000    # 0x10 ErrorRateThreshold
        1c000000 2c000000 # 0x14 RsrpSnr: offset 0x1c, 44 bytes
        02000000    # 0x1c element count
        3f000000    # 0x20 [0] Rsrp: 63 (-94 dBm)
        3c000000    # 0x24 [0] Snr: 60 (6.5 dB)
        00000000    # 0x28 [0] RsrpThreshold: default
        ffffffff    # 0x2c [0] SnrThreshold: none
        20000000    # 0x30 [0] SystemType: lte
        50000000    # 0x34 [1] Rsrp: 80 (-77 dBm)
        80000000    # 0x38 [1] Snr: 128 (unknown)
        00000000    # 0x3c [1] RsrpThreshold
        00000000    # 0x40 [1] SnrThreshold
        40000000    # 0x44 [1] SystemType: 5g-nsa
        ",
    );
    let info = lte_and_nr_signal();
    check(&wire, &info);
    let levels: Vec<(Option<i32>, Option<f64>)> = info
        .rsrp_snr
        .iter()
        .map(|entry| (entry.rsrp_dbm(), entry.snr_db()))
        .collect();
    assert_eq!(levels, [(Some(-94), Some(6.5)), (Some(-77), None)]);
    let unknown = RsrpSnrInfo {
        rsrp: 127,
        ..info.rsrp_snr[0]
    };
    assert_eq!(unknown.rsrp_dbm(), None);
}

#[test]
fn signal_state_info_v2_without_rsrp() {
    let wire = labelled(
        "
        1f000000    # 0x00 Rssi: 31
        00000000    # 0x04 ErrorRate: 0
        00000000    # 0x08 SignalStrengthInterval
        00000000    # 0x0c RssiThreshold
        00000000    # 0x10 ErrorRateThreshold
        00000000 00000000 # 0x14 RsrpSnr: none
        ",
    );
    check(
        &wire,
        &SignalStateInfoV2 {
            rssi: 31,
            ..SignalStateInfoV2::default()
        },
    );
    // An offset to a count of 0 is an empty list too (libmbim's base
    // stations capture sends such lists).
    let mut counted = wire.clone();
    counted[0x14..0x1c].copy_from_slice(&[0x1c, 0, 0, 0, 4, 0, 0, 0]);
    counted.extend_from_slice(&[0; 4]);
    assert!(SignalStateInfoV2::decode(&counted)
        .unwrap()
        .rsrp_snr
        .is_empty());
}

#[test]
fn a_struct_array_count_the_bytes_cannot_hold_is_refused() {
    let mut wire = labelled(
        "
        00000000 00000000 00000000 00000000 00000000 # 0x00 the five u32s
        1c000000 18000000 # 0x14 RsrpSnr: offset 0x1c, 24 bytes
        ffffffff    # 0x1c element count: 4 billion
        ",
    );
    wire.extend_from_slice(&[0; 20]);
    let error = SignalStateInfoV2::decode(&wire).unwrap_err();
    assert_eq!(error.path, "SignalStateInfoV2.rsrp_snr");
    assert!(error.to_string().contains("count 4294967295"), "{error}");
}

// ---------------------------------------------------------------------------
// MBIMEx 3.0
// ---------------------------------------------------------------------------

#[test]
fn subscriber_ready_info_v3() {
    let wire = labelled(&format!(
        "
        01000000    # 0x00 ReadyState: initialized
        03000000    # 0x04 Flags: esim, sim-removability-known
        28000000 1e000000 # 0x08 SubscriberId: offset, 30 bytes
        48000000 28000000 # 0x10 SimIccId: offset, 40 bytes
        00000000    # 0x18 ReadyInfo
        01000000    # 0x1c TelephoneNumbersCount
        70000000 16000000 # 0x20 TelephoneNumbers[0]
        {}          # 0x28 IMSI
        {}          # 0x48 ICCID
        {}          # 0x70 number
        ",
        utf16_padded("310410000110761"),
        utf16_padded("89010104054601100612"),
        utf16_padded("11111111111"),
    ));
    let info = SubscriberReadyInfoV3 {
        ready_state: SubscriberReadyState::Initialized,
        flags: SubscriberReadyStatusFlags::ESIM
            | SubscriberReadyStatusFlags::SIM_REMOVABILITY_KNOWN,
        subscriber_id: text("310410000110761"),
        sim_iccid: text("89010104054601100612"),
        ready_info: ReadyInfoFlags::empty(),
        telephone_numbers: vec![text("11111111111")],
    };
    check(&wire, &info);
    // Personal data is masked when described and kept out of Debug.
    let masked = format!("{:?}", info.describe().masked());
    let debug = format!("{info:?}");
    for personal in ["310410000110761", "89010104054601100612", "11111111111"] {
        assert!(!masked.contains(personal), "{masked}");
        assert!(!debug.contains(personal), "{debug}");
    }
}

#[test]
fn packet_service_info_v3_with_tracking_area() {
    let wire = labelled(
        "
        00000000    # 0x00 NwError: none
        02000000    # 0x04 PacketServiceState: attached
        60000000    # 0x08 HighestAvailableDataClass: lte, 5g
        00e1f505 00000000 # 0x0c UplinkSpeed
        00ca9a3b 00000000 # 0x14 DownlinkSpeed
        03000000    # 0x1c FrequencyRange: FR1, FR2
        02000000    # 0x20 DataSubclass: 5g-nr (standalone)
        0601        # 0x24 Tai.PlmnMcc: 262
        0100        # 0x26 Tai.PlmnMnc: 1
        39300000    # 0x28 Tai.Tac: 12345
        ",
    );
    check(
        &wire,
        &PacketServiceInfoV3 {
            nw_error: NwError::None,
            packet_service_state: PacketServiceState::Attached,
            highest_available_data_class: DataClassV3::LTE | DataClassV3::NR5G,
            uplink_speed: 100_000_000,
            downlink_speed: 1_000_000_000,
            frequency_range: FrequencyRange::RANGE_1 | FrequencyRange::RANGE_2,
            data_subclass: DataSubclass::NR5G_NR,
            tai: Tai {
                plmn_mcc: 262,
                plmn_mnc: 1,
                tac: 12345,
            },
        },
    );
}

#[test]
fn connect_query_v3_is_the_session_id_alone() {
    check(
        &labelled("01000000 # 0x00 SessionId: 1"),
        &ConnectQueryV3 { session_id: 1 },
    );
}

fn internet_connect_v3() -> ConnectSetV3 {
    ConnectSetV3 {
        session_id: 1,
        activation_command: ActivationCommand::Activate,
        compression: Compression::None,
        auth_protocol: AuthProtocol::Pap,
        ip_type: ContextIpType::Ipv4,
        context_type: internet(),
        media_preference: AccessMediaType::ThreeGpp,
        access_string: text("internet"),
        user_name: String::new(),
        password: String::new(),
        unnamed_ies: Vec::new(),
    }
}

#[test]
fn connect_set_v3_as_libmbim_builds_it() {
    // libmbim's test-message-builder.c, test_ms_basic_connect_v3_connect_set.
    let wire = labelled(
        "
        01000000    # 0x00 SessionId: 1
        01000000    # 0x04 ActivationCommand: activate
        00000000    # 0x08 Compression: none
        01000000    # 0x0c AuthProtocol: pap
        01000000    # 0x10 IpType: ipv4
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x14 ContextType: internet
        01000000    # 0x24 MediaPreference: 3gpp
        0a000000    # 0x28 AccessString TLV: WCHAR_STR, no padding
        10000000    # 0x2c   DataLength: 16
        69006e00 74006500 72006e00 65007400 # 0x30 'internet'
        0a000000 00000000 # 0x40 UserName TLV: empty
        0a000000 00000000 # 0x48 Password TLV: empty
        ",
    );
    check(&wire, &internet_connect_v3());
}

#[test]
fn connect_set_v3_with_credentials_and_an_unnamed_ie() {
    let wire = labelled(
        "
        00000000    # 0x00 SessionId: 0
        01000000    # 0x04 ActivationCommand: activate
        00000000    # 0x08 Compression: none
        02000000    # 0x0c AuthProtocol: chap
        03000000    # 0x10 IpType: ipv4v6
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x14 ContextType: internet
        02000000    # 0x24 MediaPreference: 3gpp-preferred
        0a000002 06000000 61007000 6e000000 # 0x28 AccessString TLV: 'apn', padding 2
        0a000000 04000000 75007300 # 0x38 UserName TLV: 'us'
        0a000002 06000000 70007700 64000000 # 0x44 Password TLV: 'pwd', padding 2
        0f000003 01000000 2a000000 # 0x54 unnamed IE: traffic parameters, 1 byte, padding 3
        ",
    );
    let set = ConnectSetV3 {
        session_id: 0,
        auth_protocol: AuthProtocol::Chap,
        ip_type: ContextIpType::Ipv4v6,
        media_preference: AccessMediaType::ThreeGppPreferred,
        access_string: text("apn"),
        user_name: text("us"),
        password: text("pwd"),
        unnamed_ies: vec![Tlv::new(TlvType::TrafficParameters, vec![0x2a])],
        ..internet_connect_v3()
    };
    check(&wire, &set);
    // The password is a secret: never described, never in Debug.
    assert!(!format!("{set:?}").contains("pwd"));
    assert!(!format!("{:?}", set.describe()).contains("pwd"));
}

/// The CONNECT v3 response of libmbim's "3 unnamed TLVs" parser test.
fn connect_info_with_three_ies() -> ConnectInfoV3 {
    ConnectInfoV3 {
        session_id: 1,
        activation_state: ActivationState::Activated,
        voice_call_state: VoiceCallState::None,
        ip_type: ContextIpType::Ipv4,
        context_type: internet(),
        nw_error: NwError::None,
        media_preference: AccessMediaType::ThreeGpp,
        access_string: text("internet"),
        unnamed_ies: vec![
            Tlv::string("abcde"),
            Tlv::string("Orange"),
            Tlv::new(TlvType::Pco, (1..=11).collect()),
        ],
    }
}

#[test]
fn connect_info_v3_with_three_unnamed_ies() {
    let wire = labelled(
        "
        01000000    # 0x00 SessionId: 1
        01000000    # 0x04 ActivationState: activated
        00000000    # 0x08 VoiceCallState: none
        01000000    # 0x0c IpType: ipv4
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x10 ContextType: internet
        00000000    # 0x20 NwError: none
        01000000    # 0x24 MediaPreference: 3gpp
        0a000000 10000000 # 0x28 AccessString TLV: 16 bytes
        69006e00 74006500 72006e00 65007400 # 0x30 'internet'
        0a000002 0a000000 # 0x40 IE 1: WCHAR_STR, padding 2, 10 bytes
        61006200 63006400 65000000 # 0x48 'abcde', padding
        0a000000 0c000000 # 0x54 IE 2: WCHAR_STR, 12 bytes
        4f007200 61006e00 67006500 # 0x5c 'Orange'
        0d000001 0b000000 # 0x68 IE 3: PCO, padding 1, 11 bytes
        01020304 05060708 090a0b00 # 0x70 PCO, padding
        ",
    );
    let info = connect_info_with_three_ies();
    check(&wire, &info);
    let pco: Vec<&[u8]> = info.pco().collect();
    assert_eq!(pco, [&[1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11][..]]);
    let strings: Vec<String> = info.unnamed_ies[..2]
        .iter()
        .map(|ie| ie.as_string().unwrap())
        .collect();
    assert_eq!(strings, ["abcde", "Orange"]);
}

#[test]
fn connect_info_v3_errors_name_the_element() {
    let mut wire = connect_info_with_three_ies().encode();
    // The PCO element says 200 bytes.
    wire[0x6c] = 200;
    let error = ConnectInfoV3::decode(&wire).unwrap_err();
    assert_eq!(error.path, "ConnectInfoV3.unnamed_ies[2]");
    assert_eq!(error.offset, 0x68);
    // The access string must be a string element.
    let mut wire = connect_info_with_three_ies().encode();
    wire[0x28] = 0x0d;
    let error = ConnectInfoV3::decode(&wire).unwrap_err();
    assert_eq!(
        error.to_string(),
        "ConnectInfoV3.access_string at 0x28: expected a wchar-str TLV, found pco"
    );
    // Fewer bytes than a header at the end are ignored, as libmbim does.
    let mut wire = connect_info_with_three_ies().encode();
    wire.extend_from_slice(&[0; 5]);
    assert_eq!(
        ConnectInfoV3::decode(&wire).unwrap(),
        connect_info_with_three_ies()
    );
}

#[test]
fn packet_filters_v3_carry_filter_ids() {
    let wire = labelled(
        "
        01000000    # 0x00 SessionId: 1
        01000000    # 0x04 PacketFiltersCount: 1
        10000000 18000000 # 0x08 PacketFilters[0]: offset, 24 bytes
        02000000    # 0x10 [0] FilterSize: 2
        10000000    # 0x14 [0] PacketFilter offset
        14000000    # 0x18 [0] PacketMask offset
        07000000    # 0x1c [0] FilterId: 7
        45000000    # 0x20 [0] filter, padded
        ffff0000    # 0x24 [0] mask, padded
        ",
    );
    check(
        &wire,
        &PacketFiltersV3 {
            session_id: 1,
            packet_filters: vec![PacketFilterV3::new(vec![0x45, 0], vec![0xff, 0xff], 7).unwrap()],
        },
    );
    assert!(PacketFilterV3::new(vec![1], vec![], 0).is_none());
}

// ---------------------------------------------------------------------------
// MBIMEx 4.0
// ---------------------------------------------------------------------------

#[test]
fn connect_set_v4_with_activation_option_and_slice() {
    let wire = labelled(
        "
        01000000    # 0x00 SessionId: 1
        01000000    # 0x04 ActivationCommand: activate
        02000000    # 0x08 ActivationOption: per-default-ursp-rule
        00000000    # 0x0c Compression: none
        00000000    # 0x10 AuthProtocol: none
        03000000    # 0x14 IpType: ipv4v6
        7e5e2a7e 4e6f7272 736b656e 7e5e2a7e # 0x18 ContextType: internet
        01000000    # 0x28 MediaPreference: 3gpp
        0a000002 06000000 61007000 6e000000 # 0x2c AccessString TLV: 'apn'
        0a000000 00000000 # 0x3c UserName TLV: empty
        0a000000 00000000 # 0x44 Password TLV: empty
        02000002 02000000 01010000 # 0x4c S-NSSAI TLV: SST 1 (eMBB), padding 2
        ",
    );
    check(
        &wire,
        &ConnectSetV4 {
            session_id: 1,
            activation_command: ActivationCommand::Activate,
            activation_option: ActivationOption::PerDefaultUrspRule,
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
            ip_type: ContextIpType::Ipv4v6,
            context_type: internet(),
            media_preference: AccessMediaType::ThreeGpp,
            access_string: text("apn"),
            user_name: String::new(),
            password: String::new(),
            snssai: Tlv::new(TlvType::SingleNssai, vec![1, 1]),
            unnamed_ies: Vec::new(),
        },
    );
}

#[test]
fn connect_info_v4_with_no_slice_and_pco() {
    let wire = labelled(
        "
        02000000    # 0x00 SessionId: 2
        01000000    # 0x04 ActivationState: activated
        00000000    # 0x08 VoiceCallState: none
        02000000    # 0x0c IpType: ipv6
        21610d01 3074 4bce 9425 b53a07d697d6 # 0x10 ContextType: ims
        00000000    # 0x20 NwError: none
        01000000    # 0x24 MediaPreference: 3gpp
        0a000002 06000000 69006d00 73000000 # 0x28 AccessString TLV: 'ims', padding 2
        02000000 00000000 # 0x38 S-NSSAI TLV: none
        0d000002 02000000 80210000 # 0x40 PCO TLV: 2 bytes, padding 2
        ",
    );
    let info = ConnectInfoV4 {
        session_id: 2,
        activation_state: ActivationState::Activated,
        voice_call_state: VoiceCallState::None,
        ip_type: ContextIpType::Ipv6,
        context_type: ContextType::Ims.uuid(),
        nw_error: NwError::None,
        media_preference: AccessMediaType::ThreeGpp,
        access_string: text("ims"),
        snssai: no_slice(),
        unnamed_ies: vec![Tlv::new(TlvType::Pco, vec![0x80, 0x21])],
    };
    check(&wire, &info);
    assert_eq!(info.pco().count(), 1);
}

#[test]
fn the_same_connect_response_reads_differently_per_version() {
    // What a 3.0 device answers is not an MBIM 1.0 ConnectInfo: the table
    // must be told the version to read it right.
    let bytes = connect_info_with_three_ies().encode();
    let cid = bc::SERVICE.cid(12).unwrap();
    let at = |version| cid.decoder_at(Operation::Response, version).unwrap()(&bytes);
    let v3 = at(MbimExVersion::V3).unwrap();
    let Value::Struct(fields) = &v3 else {
        panic!("{v3:?}")
    };
    assert_eq!(fields[7].0, "access_string");
    assert_eq!(fields[7].1, Value::Text(text("internet")));
    // Read as 1.0 it is the 36-byte MBIM 1.0 structure and nothing else.
    let Ok(Value::Struct(v1)) = at(MbimExVersion::V1) else {
        panic!()
    };
    assert_eq!(v1.len(), 6);
    // Read as 4.0, the first unnamed IE is taken for the S-NSSAI.
    let Ok(Value::Struct(v4)) = at(MbimExVersion::V4) else {
        panic!()
    };
    assert_eq!(v4[8].0, "snssai");
}
