//! libmbim's own messages for the MBIM extensions (its parser and builder
//! tests, in tests/captures), through the control-message parser and the
//! layouts of the version libmbim reads them with, to the values libmbim's
//! tests assert. Builder messages also come back byte for byte from the
//! encoder.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::Payload;
use mbim_protocol::services::basic_connect::{self as bc, *};
use mbim_protocol::services::ms_basic_connect_extensions::{self as ms, *};
use mbim_protocol::services::ms_uicc_low_level_access::{self as uicc, *};
use mbim_protocol::services::Cid;
use mbim_protocol::status::CommandType;
use mbim_protocol::tlv::{Tlv, TlvType};
use mbim_protocol::MbimExVersion;
use support::*;

/// The typed response payload of a capture, checked to be of CID `C` and of
/// the MBIMEx version of `C`'s layout.
fn response<C: Cid>(name: &str) -> C::Response {
    assert!(
        capture_mbimex_version(name) >= C::SINCE,
        "{name} is not marked for the layout of {}",
        C::SINCE
    );
    let capture = response_of::<C>(name);
    C::Response::decode(&capture.info).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// What libmbim's CONNECT v3 tests assert of every response.
#[track_caller]
fn assert_internet_session(info: &ConnectInfoV3, access_string: &str) {
    assert_eq!(info.session_id, 1);
    assert_eq!(info.activation_state, ActivationState::Activated);
    assert_eq!(info.voice_call_state, VoiceCallState::None);
    assert_eq!(info.ip_type, ContextIpType::Ipv4);
    assert_eq!(
        ContextType::from_uuid(&info.context_type),
        Some(ContextType::Internet)
    );
    assert_eq!(info.media_preference, AccessMediaType::ThreeGpp);
    assert_eq!(info.access_string, access_string);
}

#[test]
fn connect_v3_with_no_unnamed_ie() {
    let info =
        response::<bc::cid::ConnectV3>("libmbim-mbimex3-basic-connect-connect-0-unnamed-tlvs");
    assert_internet_session(&info, "internet");
    assert!(info.unnamed_ies.is_empty());
    let info = response::<bc::cid::ConnectV3>(
        "libmbim-mbimex3-basic-connect-connect-0-unnamed-tlvs-empty-access-string",
    );
    assert_internet_session(&info, "");
    assert!(info.unnamed_ies.is_empty());
}

#[test]
fn connect_v3_with_one_unnamed_ie() {
    let info =
        response::<bc::cid::ConnectV3>("libmbim-mbimex3-basic-connect-connect-1-unnamed-tlv");
    assert_internet_session(&info, "internet");
    assert_eq!(info.unnamed_ies.len(), 1);
    assert_eq!(info.unnamed_ies[0].tlv_type, TlvType::WcharStr);
    assert_eq!(info.unnamed_ies[0].as_string().unwrap(), "Orange");
}

#[test]
fn connect_v3_with_three_unnamed_ies() {
    let name = "libmbim-mbimex3-basic-connect-connect-3-unnamed-tlvs";
    let info = response::<bc::cid::ConnectV3>(name);
    assert_internet_session(&info, "internet");
    assert_eq!(info.unnamed_ies.len(), 3);
    assert_eq!(info.unnamed_ies[0].as_string().unwrap(), "abcde");
    assert_eq!(info.unnamed_ies[1].as_string().unwrap(), "Orange");
    assert_eq!(info.unnamed_ies[2].tlv_type, TlvType::Pco);
    assert_eq!(
        info.pco().collect::<Vec<_>>(),
        [&[1u8, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11][..]]
    );
    // In canonical order: re-encoding gives libmbim's buffer back.
    assert_eq!(dump(&info.encode()), dump(&capture(name).info));
}

#[test]
fn connect_v3_read_as_mbim_1_0_is_not_what_the_device_meant() {
    // The same bytes through the 1.0 layout: the fixed part reads, the rest
    // is not looked at. The version must come from negotiation.
    let capture = capture("libmbim-mbimex3-basic-connect-connect-3-unnamed-tlvs");
    let v1 = <bc::cid::Connect as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(v1.session_id, 1);
    assert_ne!(v1.encode().len(), capture.info.len());
}

#[test]
fn device_caps_v3() {
    let caps = response::<ms::cid::DeviceCapsV3>(
        "libmbim-mbimex3-ms-basic-connect-extensions-device-caps",
    );
    assert_eq!(caps.device_type, DeviceType::Embedded);
    assert_eq!(caps.cellular_class, CellularClass::GSM);
    assert_eq!(caps.voice_class, VoiceClass::NoVoice);
    assert_eq!(caps.sim_class, SimClass::REMOVABLE);
    assert_eq!(
        caps.data_class,
        DataClassV3::UMTS
            | DataClassV3::HSDPA
            | DataClassV3::HSUPA
            | DataClassV3::LTE
            | DataClassV3::NR5G
            | DataClassV3::CUSTOM
    );
    assert_eq!(caps.sms_caps, SmsCaps::PDU_RECEIVE | SmsCaps::PDU_SEND);
    assert_eq!(
        caps.control_caps,
        ControlCaps::REG_MANUAL
            | ControlCaps::HW_RADIO_SWITCH
            | ControlCaps::ESIM
            | ControlCaps::SIM_HOT_SWAP_CAPABLE
    );
    assert_eq!(
        caps.data_subclass,
        WideDataSubclass::NR5G_ENDC | WideDataSubclass::NR5G_NR
    );
    assert_eq!(caps.max_sessions, 2);
    assert_eq!(caps.executor_index, 0);
    assert_eq!(
        caps.wcdma_band_class,
        1 << (1 - 1) | 1 << (2 - 1) | 1 << (4 - 1) | 1 << (5 - 1) | 1 << (8 - 1)
    );
    assert_eq!(
        caps.lte_band_class,
        [
            1, 2, 3, 4, 5, 7, 8, 12, 13, 14, 17, 18, 19, 20, 25, 26, 28, 29, 30, 32, 34, 38, 39,
            40, 41, 42, 43, 46, 48
        ]
    );
    assert_eq!(
        caps.nr_band_class,
        [1, 2, 3, 5, 7, 8, 20, 25, 28, 30, 38, 40, 41, 48, 66, 71, 77, 78, 79]
    );
    assert_eq!(caps.custom_data_class, "HSPA+");
    assert_eq!(caps.device_id, "862146050084555");
    assert_eq!(caps.firmware_info, "81600.0000.99.29.17.19_GC\r\nB90");
    assert_eq!(caps.hardware_info, "V1.0.6");
}

/// What libmbim's REGISTRATION_PARAMETERS tests assert of the fixed fields.
#[track_caller]
fn assert_default_registration(parameters: &RegistrationParameters) {
    assert_eq!(parameters.mico_mode, MicoMode::Disabled);
    assert_eq!(parameters.drx_cycle, DrxCycle::NotSpecified);
    assert_eq!(parameters.ladn_info, LadnInfo::NotNeeded);
    assert_eq!(
        parameters.default_pdu_activation_hint,
        DefaultPduActivationHint::Likely
    );
    assert_eq!(parameters.re_register_if_needed, Boolean::True);
}

#[test]
fn registration_parameters_responses() {
    type C = ms::cid::RegistrationParameters;
    let prefix = "libmbim-mbimex3-ms-basic-connect-extensions-registration-parameters";
    let none = response::<C>(&format!("{prefix}-0-unnamed-tlvs"));
    assert_default_registration(&none);
    assert!(none.unnamed_ies.is_empty());
    let one = response::<C>(&format!("{prefix}-1-unnamed-tlv"));
    assert_default_registration(&one);
    assert_eq!(one.unnamed_ies.len(), 1);
    assert_eq!(one.unnamed_ies[0].as_string().unwrap(), "Orange");
    let three = response::<C>(&format!("{prefix}-3-unnamed-tlvs"));
    assert_default_registration(&three);
    assert_eq!(
        three.unnamed_ies,
        [
            Tlv::string("abcde"),
            Tlv::string("Orange"),
            Tlv::new(TlvType::Pco, (1..=11).collect())
        ]
    );
}

#[test]
fn wake_reasons() {
    type C = ms::cid::WakeReason;
    let prefix = "libmbim-mbimex3-ms-basic-connect-extensions-wake-reason";

    let indication = response::<C>(&format!("{prefix}-command"));
    assert_eq!(indication.wake_type, WakeType::CidIndication);
    assert_eq!(indication.session_id, 2);
    let command = indication.wake_tlv.as_wake_command().unwrap();
    assert_eq!(command.service, bc::UUID);
    assert_eq!(command.cid, <bc::cid::SignalState as Cid>::ID);
    assert!(command.payload.is_empty());

    let response_ = response::<C>(&format!("{prefix}-command-payload"));
    assert_eq!(response_.wake_type, WakeType::CidResponse);
    assert_eq!(response_.session_id, 2);
    let command = response_.wake_tlv.as_wake_command().unwrap();
    assert_eq!(command.service, bc::UUID);
    assert_eq!(command.cid, <bc::cid::Connect as Cid>::ID);
    assert_eq!(command.payload, 1u32.to_le_bytes());

    let packet = response::<C>(&format!("{prefix}-packet"));
    assert_eq!(packet.wake_type, WakeType::Packet);
    assert_eq!(packet.session_id, 2);
    let packet = packet.wake_tlv.as_wake_packet().unwrap();
    assert_eq!(packet.filter_id, 0x0B);
    assert_eq!(packet.original_packet_size, 12);
    assert_eq!(packet.packet, (1..=10).collect::<Vec<u8>>());
}

#[test]
fn base_stations_info_in_the_1_0_layout() {
    let info =
        response::<ms::cid::BaseStationsInfo>("libmbim-ms-basic-connect-extensions-base-stations");
    assert!(info.gsm_serving_cell.is_none());
    assert!(info.umts_serving_cell.is_none());
    assert!(info.tdscdma_serving_cell.is_none());
    let lte = info.lte_serving_cell.as_ref().unwrap();
    assert_eq!(lte.provider_id, "21407");
    assert_eq!((lte.rsrp, lte.rsrq, lte.physical_cell_id), (-103, -12, 310));
    assert!(info.gsm_neighboring_cells.is_empty());
    assert!(info.umts_neighboring_cells.is_empty());
    assert!(info.tdscdma_neighboring_cells.is_empty());
    assert_eq!(info.lte_neighboring_cells.len(), 1);
    assert_eq!(info.lte_neighboring_cells[0].physical_cell_id, 310);
    assert!(info.cdma_cells.is_empty());
}

#[test]
fn uicc_application_list() {
    let list =
        response::<uicc::cid::ApplicationList>("libmbim-ms-uicc-low-level-access-application-list");
    assert_eq!(list.version, 1);
    assert_eq!(list.applications.len(), 1);
    assert_eq!(list.active_application_index, 0);
    assert_eq!(list.application_list_size_bytes, 60);
    let application = &list.applications[0];
    assert_eq!(application.application_type, UiccApplicationType::Usim);
    assert_eq!(
        application.application_id,
        [
            0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xFF, 0x34, 0xFF, 0x07, 0x89, 0x31, 0x2E,
            0x30, 0xFF
        ]
    );
    assert_eq!(application.application_name, "Movistar");
    assert_eq!(application.pin_key_reference_count, 2);
    assert_eq!(application.pin_key_references, [0x01, 0x81]);
}

#[test]
fn builder_connect_set_v3() {
    built_by_libmbim::<bc::cid::ConnectV3, ConnectSetV3>(
        "libmbim-builder-mbimex3-basic-connect-connect-set",
        CommandType::Set,
        &ConnectSetV3 {
            session_id: 1,
            activation_command: ActivationCommand::Activate,
            compression: Compression::None,
            auth_protocol: AuthProtocol::Pap,
            ip_type: ContextIpType::Ipv4,
            context_type: ContextType::Internet.uuid(),
            media_preference: AccessMediaType::ThreeGpp,
            access_string: text("internet"),
            user_name: String::new(),
            password: String::new(),
            unnamed_ies: Vec::new(),
        },
    );
}

#[test]
fn builder_registration_parameters_set() {
    type C = ms::cid::RegistrationParameters;
    let prefix = "libmbim-builder-mbimex3-ms-basic-connect-extensions-registration-parameters-set";
    let with = |unnamed_ies| RegistrationParameters {
        mico_mode: MicoMode::Disabled,
        drx_cycle: DrxCycle::NotSpecified,
        ladn_info: LadnInfo::NotNeeded,
        default_pdu_activation_hint: DefaultPduActivationHint::Likely,
        re_register_if_needed: Boolean::True,
        unnamed_ies,
    };
    built_by_libmbim::<C, RegistrationParameters>(
        &format!("{prefix}-0-unnamed-tlvs"),
        CommandType::Set,
        &with(Vec::new()),
    );
    built_by_libmbim::<C, RegistrationParameters>(
        &format!("{prefix}-1-unnamed-tlv"),
        CommandType::Set,
        &with(vec![Tlv::string("Orange")]),
    );
    built_by_libmbim::<C, RegistrationParameters>(
        &format!("{prefix}-3-unnamed-tlvs"),
        CommandType::Set,
        &with(vec![
            Tlv::string("abcde"),
            Tlv::string("Orange"),
            Tlv::new(TlvType::Pco, (1..=11).collect()),
        ]),
    );
}

#[test]
fn every_mbimex_capture_is_marked_with_its_version() {
    // A capture whose name says mbimex3 carries the comment that tells the
    // tests and `mbimctl decode` which layouts to read it with.
    for name in capture_names() {
        let version = capture_mbimex_version(&name);
        assert_eq!(
            name.contains("mbimex3"),
            version == MbimExVersion::V3,
            "{name}: {version}"
        );
    }
}
