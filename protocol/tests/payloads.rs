//! Every payload of every declared CID (Basic Connect, MS Basic Connect
//! Extensions, Auth), checked against labelled wire bytes, and libmbim's
//! parser-test captures decoded through the control-message parser.
//!
//! Each layout test writes the payload one field per line, with the field's
//! offset from the start of the structure and its name; `labelled` checks the
//! offsets written in the comments against the byte count, so a label cannot
//! drift from the bytes it describes. The bytes follow MBIM 1.0 §10.5 (and, for
//! the MS extension CIDs, seed 004 "MB Multi-SIM Operations") in the encoder's
//! canonical form: the static part in field order, then the data items in field
//! order, each padded to 4 bytes; strings are UTF-16LE whose length field is
//! the unpadded byte length; an empty string or list has offset 0 and length 0;
//! a gateway is an offset alone (0 when absent); address and DNS arrays are a
//! count and an offset to contiguous elements. Each test decodes the bytes to a
//! value written out in full and encodes that value back to the same bytes.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::codec::{Empty, Payload, PayloadErrorKind};
use mbim_protocol::describe::{Describe, Value, MASK};
use mbim_protocol::message::MessageType;
use mbim_protocol::services::auth::{
    AkaAuthInfo, AkaAuthRequest, AkapAuthRequest, SimAuthInfo, SimAuthRequest,
};
use mbim_protocol::services::basic_connect::*;
use mbim_protocol::services::ms_basic_connect_extensions::{
    DeviceCapsInfoV2, DeviceSlotMappingInfo, SlotIndex, SlotInfo, SlotInfoRequest, SysCapsInfo,
    UiccSlotState,
};
use mbim_protocol::services::{self, auth, basic_connect as bc, ms_basic_connect_extensions as ms};
use mbim_protocol::services::{Cid, Operation};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::Uuid;
use std::fmt::Debug;
use std::net::{Ipv4Addr, Ipv6Addr};
use support::*;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// The CID tables use exactly the payload types tested below
// ---------------------------------------------------------------------------

#[test]
fn every_cid_uses_the_payload_types_tested_here() {
    use bc::cid as b;
    let empty = ty::<Empty>;
    assert_payloads::<b::DeviceCaps>([empty(), none(), ty::<DeviceCapsInfo>(), none()]);
    assert_payloads::<b::SubscriberReadyStatus>([
        empty(),
        none(),
        ty::<SubscriberReadyInfo>(),
        ty::<SubscriberReadyInfo>(),
    ]);
    assert_payloads::<b::RadioState>([
        empty(),
        ty::<RadioStateSet>(),
        ty::<RadioStateInfo>(),
        ty::<RadioStateInfo>(),
    ]);
    assert_payloads::<b::Pin>([empty(), ty::<PinSet>(), ty::<PinInfo>(), none()]);
    assert_payloads::<b::PinList>([empty(), none(), ty::<PinListInfo>(), none()]);
    assert_payloads::<b::HomeProvider>([empty(), ty::<Provider>(), ty::<Provider>(), none()]);
    assert_payloads::<b::PreferredProviders>([
        empty(),
        ty::<Providers>(),
        ty::<Providers>(),
        ty::<Providers>(),
    ]);
    assert_payloads::<b::VisibleProviders>([
        ty::<VisibleProvidersQuery>(),
        none(),
        ty::<Providers>(),
        none(),
    ]);
    assert_payloads::<b::RegisterState>([
        empty(),
        ty::<RegisterStateSet>(),
        ty::<RegistrationStateInfo>(),
        ty::<RegistrationStateInfo>(),
    ]);
    assert_payloads::<b::PacketService>([
        empty(),
        ty::<PacketServiceSet>(),
        ty::<PacketServiceInfo>(),
        ty::<PacketServiceInfo>(),
    ]);
    assert_payloads::<b::SignalState>([
        empty(),
        ty::<SignalStateSet>(),
        ty::<SignalStateInfo>(),
        ty::<SignalStateInfo>(),
    ]);
    assert_payloads::<b::Connect>([
        ty::<ConnectInfo>(),
        ty::<ConnectSet>(),
        ty::<ConnectInfo>(),
        ty::<ConnectInfo>(),
    ]);
    assert_payloads::<b::ProvisionedContexts>([
        empty(),
        ty::<ProvisionedContextSet>(),
        ty::<ProvisionedContexts>(),
        ty::<ProvisionedContexts>(),
    ]);
    assert_payloads::<b::ServiceActivation>([
        none(),
        ty::<ServiceActivationSet>(),
        ty::<ServiceActivationInfo>(),
        none(),
    ]);
    assert_payloads::<b::IpConfiguration>([
        ty::<IpConfigurationInfo>(),
        none(),
        ty::<IpConfigurationInfo>(),
        ty::<IpConfigurationInfo>(),
    ]);
    assert_payloads::<b::DeviceServices>([empty(), none(), ty::<DeviceServicesInfo>(), none()]);
    assert_payloads::<b::DeviceServiceSubscribeList>([
        none(),
        ty::<EventEntries>(),
        ty::<EventEntries>(),
        none(),
    ]);
    assert_payloads::<b::PacketStatistics>([empty(), none(), ty::<PacketStatisticsInfo>(), none()]);
    assert_payloads::<b::NetworkIdleHint>([
        empty(),
        ty::<NetworkIdleHintInfo>(),
        ty::<NetworkIdleHintInfo>(),
        none(),
    ]);
    assert_payloads::<b::EmergencyMode>([
        empty(),
        ty::<EmergencyModeInfo>(),
        ty::<EmergencyModeInfo>(),
        ty::<EmergencyModeInfo>(),
    ]);
    assert_payloads::<b::IpPacketFilters>([
        ty::<PacketFilters>(),
        ty::<PacketFilters>(),
        ty::<PacketFilters>(),
        none(),
    ]);
    assert_payloads::<b::MulticarrierProviders>([
        empty(),
        ty::<Providers>(),
        ty::<Providers>(),
        ty::<Providers>(),
    ]);

    use ms::cid as m;
    assert_payloads::<m::SysCaps>([empty(), none(), ty::<SysCapsInfo>(), none()]);
    assert_payloads::<m::DeviceCapsV2>([empty(), none(), ty::<DeviceCapsInfoV2>(), none()]);
    assert_payloads::<m::DeviceSlotMappings>([
        empty(),
        ty::<DeviceSlotMappingInfo>(),
        ty::<DeviceSlotMappingInfo>(),
        none(),
    ]);
    assert_payloads::<m::SlotInfoStatus>([
        ty::<SlotInfoRequest>(),
        none(),
        ty::<SlotInfo>(),
        ty::<SlotInfo>(),
    ]);

    use auth::cid as a;
    assert_payloads::<a::Aka>([ty::<AkaAuthRequest>(), none(), ty::<AkaAuthInfo>(), none()]);
    assert_payloads::<a::Akap>([ty::<AkapAuthRequest>(), none(), ty::<AkaAuthInfo>(), none()]);
    assert_payloads::<a::Sim>([ty::<SimAuthRequest>(), none(), ty::<SimAuthInfo>(), none()]);

    // And the CID numbers are the ones of MBIM 1.0 (with the errata's
    // renumbering from 19 on), seed 004 and the Auth service.
    let numbers: Vec<(&str, u32)> = bc::SERVICE
        .cids
        .iter()
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(
        numbers,
        [
            ("device-caps", 1),
            ("subscriber-ready-status", 2),
            ("radio-state", 3),
            ("pin", 4),
            ("pin-list", 5),
            ("home-provider", 6),
            ("preferred-providers", 7),
            ("visible-providers", 8),
            ("register-state", 9),
            ("packet-service", 10),
            ("signal-state", 11),
            ("connect", 12),
            ("provisioned-contexts", 13),
            ("service-activation", 14),
            ("ip-configuration", 15),
            ("device-services", 16),
            ("device-service-subscribe-list", 19),
            ("packet-statistics", 20),
            ("network-idle-hint", 21),
            ("emergency-mode", 22),
            ("ip-packet-filters", 23),
            ("multicarrier-providers", 24),
        ]
    );
    // (The CIDs of the MBIM extensions are checked in their own test file.)
    let numbers: Vec<(&str, u32)> = ms::SERVICE
        .cids
        .iter()
        .filter(|cid| (5..=8).contains(&cid.id))
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(
        numbers,
        [
            ("sys-caps", 5),
            ("device-caps-v2", 6),
            ("device-slot-mappings", 7),
            ("slot-info-status", 8),
        ]
    );
    let numbers: Vec<(&str, u32)> = auth::SERVICE
        .cids
        .iter()
        .map(|cid| (cid.name, cid.id))
        .collect();
    assert_eq!(numbers, [("aka", 1), ("akap", 2), ("sim", 3)]);
    assert_eq!(
        bc::UUID,
        Uuid::from_str_const("a289cc33-bcbb-8b4f-b6b0-133ec2aae6df")
    );
    assert_eq!(
        ms::UUID,
        Uuid::from_str_const("3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf")
    );
    assert_eq!(
        auth::UUID,
        Uuid::from_str_const("1d2b5ff7-0aa1-48b2-aa52-50f15767174e")
    );
}

// ---------------------------------------------------------------------------
// Basic Connect (MBIM 1.0 §10.5)
// ---------------------------------------------------------------------------

fn em7455_caps() -> DeviceCapsInfo {
    DeviceCapsInfo {
        device_type: DeviceType::Embedded,
        cellular_class: CellularClass::GSM,
        voice_class: VoiceClass::NoVoice,
        sim_class: SimClass::REMOVABLE,
        data_class: DataClass::GPRS
            | DataClass::EDGE
            | DataClass::UMTS
            | DataClass::HSDPA
            | DataClass::HSUPA
            | DataClass::LTE,
        sms_caps: SmsCaps::PDU_RECEIVE | SmsCaps::PDU_SEND,
        control_caps: ControlCaps::REG_MANUAL,
        max_sessions: 8,
        custom_data_class: String::new(),
        device_id: text("359072060123456"),
        firmware_info: text("SWI9X30C_02.24.05.06"),
        hardware_info: text("EM7455"),
    }
}

#[test]
fn device_caps_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 device_type: embedded
            01 00 00 00               # 0x04 cellular_class: gsm
            01 00 00 00               # 0x08 voice_class: no-voice
            02 00 00 00               # 0x0c sim_class: removable
            3f 00 00 00               # 0x10 data_class: gprs, edge, umts, hsdpa, hsupa, lte
            03 00 00 00               # 0x14 sms_caps: pdu-receive, pdu-send
            01 00 00 00               # 0x18 control_caps: reg-manual
            08 00 00 00               # 0x1c max_sessions: 8
            00 00 00 00               # 0x20 custom_data_class offset: 0 (empty)
            00 00 00 00               # 0x24 custom_data_class length: 0
            40 00 00 00               # 0x28 device_id offset
            1e 00 00 00               # 0x2c device_id length
            60 00 00 00               # 0x30 firmware_info offset
            28 00 00 00               # 0x34 firmware_info length
            88 00 00 00               # 0x38 hardware_info offset
            0c 00 00 00               # 0x3c hardware_info length
            33 00 35 00 39 00 30 00   # 0x40 device_id data: '3590'
            37 00 32 00 30 00 36 00   # 0x48 device_id data: '7206'
            30 00 31 00 32 00 33 00   # 0x50 device_id data: '0123'
            34 00 35 00 36 00 00 00   # 0x58 device_id data: '456' + 2 bytes padding
            53 00 57 00 49 00 39 00   # 0x60 firmware_info data: 'SWI9'
            58 00 33 00 30 00 43 00   # 0x68 firmware_info data: 'X30C'
            5f 00 30 00 32 00 2e 00   # 0x70 firmware_info data: '_02.'
            32 00 34 00 2e 00 30 00   # 0x78 firmware_info data: '24.0'
            35 00 2e 00 30 00 36 00   # 0x80 firmware_info data: '5.06'
            45 00 4d 00 37 00 34 00   # 0x88 hardware_info data: 'EM74'
            35 00 35 00               # 0x90 hardware_info data: '55'
        ",
    );
    check(&wire, &em7455_caps());
}

fn subscriber_ready() -> SubscriberReadyInfo {
    SubscriberReadyInfo {
        ready_state: SubscriberReadyState::Initialized,
        subscriber_id: text("310260123456789"),
        sim_iccid: text("8901260123456789012"),
        ready_info: ReadyInfoFlags::PROTECT_UNIQUE_ID,
        telephone_numbers: vec![text("+15551234567"), text("+15557654321")],
    }
}

#[test]
fn subscriber_ready_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 ready_state: initialized
            2c 00 00 00               # 0x04 subscriber_id offset
            1e 00 00 00               # 0x08 subscriber_id length
            4c 00 00 00               # 0x0c sim_iccid offset
            26 00 00 00               # 0x10 sim_iccid length
            01 00 00 00               # 0x14 ready_info: protect-unique-id
            02 00 00 00               # 0x18 telephone_numbers_count: 2
            74 00 00 00               # 0x1c telephone_numbers[0] offset
            18 00 00 00               # 0x20 telephone_numbers[0] length
            8c 00 00 00               # 0x24 telephone_numbers[1] offset
            18 00 00 00               # 0x28 telephone_numbers[1] length
            33 00 31 00 30 00 32 00   # 0x2c subscriber_id data: '3102'
            36 00 30 00 31 00 32 00   # 0x34 subscriber_id data: '6012'
            33 00 34 00 35 00 36 00   # 0x3c subscriber_id data: '3456'
            37 00 38 00 39 00 00 00   # 0x44 subscriber_id data: '789' + 2 bytes padding
            38 00 39 00 30 00 31 00   # 0x4c sim_iccid data: '8901'
            32 00 36 00 30 00 31 00   # 0x54 sim_iccid data: '2601'
            32 00 33 00 34 00 35 00   # 0x5c sim_iccid data: '2345'
            36 00 37 00 38 00 39 00   # 0x64 sim_iccid data: '6789'
            30 00 31 00 32 00 00 00   # 0x6c sim_iccid data: '012' + 2 bytes padding
            2b 00 31 00 35 00 35 00   # 0x74 telephone_numbers[0] data: '+155'
            35 00 31 00 32 00 33 00   # 0x7c telephone_numbers[0] data: '5123'
            34 00 35 00 36 00 37 00   # 0x84 telephone_numbers[0] data: '4567'
            2b 00 31 00 35 00 35 00   # 0x8c telephone_numbers[1] data: '+155'
            35 00 37 00 36 00 35 00   # 0x94 telephone_numbers[1] data: '5765'
            34 00 33 00 32 00 31 00   # 0x9c telephone_numbers[1] data: '4321'
        ",
    );
    check(&wire, &subscriber_ready());
}

#[test]
fn subscriber_ready_info_without_sim() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 ready_state: sim-not-inserted
            00 00 00 00               # 0x04 subscriber_id offset: 0 (empty)
            00 00 00 00               # 0x08 subscriber_id length: 0
            00 00 00 00               # 0x0c sim_iccid offset: 0 (empty)
            00 00 00 00               # 0x10 sim_iccid length: 0
            00 00 00 00               # 0x14 ready_info: none
            00 00 00 00               # 0x18 telephone_numbers_count: 0
        ",
    );
    check(
        &wire,
        &SubscriberReadyInfo {
            ready_state: SubscriberReadyState::SimNotInserted,
            subscriber_id: String::new(),
            sim_iccid: String::new(),
            ready_info: ReadyInfoFlags::empty(),
            telephone_numbers: Vec::new(),
        },
    );
}

#[test]
fn radio_state_set() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 radio_state: on
        ",
    );
    check(
        &wire,
        &RadioStateSet {
            radio_state: RadioSwitchState::On,
        },
    );
}

#[test]
fn radio_state_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 hw_radio_state: on
            00 00 00 00               # 0x04 sw_radio_state: off
        ",
    );
    check(
        &wire,
        &RadioStateInfo {
            hw_radio_state: RadioSwitchState::On,
            sw_radio_state: RadioSwitchState::Off,
        },
    );
}

fn puk_entry() -> PinSet {
    PinSet {
        pin_type: PinType::Puk1,
        pin_operation: PinOperation::Enter,
        pin: text("12345678"),
        new_pin: text("4321"),
    }
}

#[test]
fn pin_set() {
    let wire = labelled(
        "
            0b 00 00 00               # 0x00 pin_type: puk1
            00 00 00 00               # 0x04 pin_operation: enter
            18 00 00 00               # 0x08 pin offset
            10 00 00 00               # 0x0c pin length
            28 00 00 00               # 0x10 new_pin offset
            08 00 00 00               # 0x14 new_pin length
            31 00 32 00 33 00 34 00   # 0x18 pin data: '1234'
            35 00 36 00 37 00 38 00   # 0x20 pin data: '5678'
            34 00 33 00 32 00 31 00   # 0x28 new_pin data: '4321'
        ",
    );
    check(&wire, &puk_entry());
}

#[test]
fn pin_info() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 pin_type: pin1
            01 00 00 00               # 0x04 pin_state: locked
            03 00 00 00               # 0x08 remaining_attempts: 3
        ",
    );
    check(
        &wire,
        &PinInfo {
            pin_type: PinType::Pin1,
            pin_state: PinState::Locked,
            remaining_attempts: 3,
        },
    );
}

#[test]
fn pin_list_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 pin1.pin_mode: enabled
            01 00 00 00               # 0x04 pin1.pin_format: numeric
            04 00 00 00               # 0x08 pin1.pin_length_min: 4
            08 00 00 00               # 0x0c pin1.pin_length_max: 8
            02 00 00 00               # 0x10 pin2.pin_mode: disabled
            01 00 00 00               # 0x14 pin2.pin_format: numeric
            04 00 00 00               # 0x18 pin2.pin_length_min: 4
            08 00 00 00               # 0x1c pin2.pin_length_max: 8
            00 00 00 00               # 0x20 device_sim_pin.pin_mode: not-supported
            00 00 00 00               # 0x24 device_sim_pin.pin_format: unknown
            00 00 00 00               # 0x28 device_sim_pin.pin_length_min: 0
            00 00 00 00               # 0x2c device_sim_pin.pin_length_max: 0
            00 00 00 00               # 0x30 device_first_sim_pin.pin_mode: not-supported
            00 00 00 00               # 0x34 device_first_sim_pin.pin_format: unknown
            00 00 00 00               # 0x38 device_first_sim_pin.pin_length_min: 0
            00 00 00 00               # 0x3c device_first_sim_pin.pin_length_max: 0
            02 00 00 00               # 0x40 network_pin.pin_mode: disabled
            01 00 00 00               # 0x44 network_pin.pin_format: numeric
            08 00 00 00               # 0x48 network_pin.pin_length_min: 8
            10 00 00 00               # 0x4c network_pin.pin_length_max: 16
            02 00 00 00               # 0x50 network_subset_pin.pin_mode: disabled
            01 00 00 00               # 0x54 network_subset_pin.pin_format: numeric
            08 00 00 00               # 0x58 network_subset_pin.pin_length_min: 8
            10 00 00 00               # 0x5c network_subset_pin.pin_length_max: 16
            02 00 00 00               # 0x60 service_provider_pin.pin_mode: disabled
            01 00 00 00               # 0x64 service_provider_pin.pin_format: numeric
            08 00 00 00               # 0x68 service_provider_pin.pin_length_min: 8
            10 00 00 00               # 0x6c service_provider_pin.pin_length_max: 16
            02 00 00 00               # 0x70 corporate_pin.pin_mode: disabled
            01 00 00 00               # 0x74 corporate_pin.pin_format: numeric
            08 00 00 00               # 0x78 corporate_pin.pin_length_min: 8
            10 00 00 00               # 0x7c corporate_pin.pin_length_max: 16
            00 00 00 00               # 0x80 subsidy_lock.pin_mode: not-supported
            00 00 00 00               # 0x84 subsidy_lock.pin_format: unknown
            00 00 00 00               # 0x88 subsidy_lock.pin_length_min: 0
            00 00 00 00               # 0x8c subsidy_lock.pin_length_max: 0
            00 00 00 00               # 0x90 custom.pin_mode: not-supported
            00 00 00 00               # 0x94 custom.pin_format: unknown
            00 00 00 00               # 0x98 custom.pin_length_min: 0
            00 00 00 00               # 0x9c custom.pin_length_max: 0
        ",
    );
    let unsupported = PinDesc {
        pin_mode: PinMode::NotSupported,
        pin_format: PinFormat::Unspecified,
        pin_length_min: 0,
        pin_length_max: 0,
    };
    let personalization = PinDesc {
        pin_mode: PinMode::Disabled,
        pin_format: PinFormat::Numeric,
        pin_length_min: 8,
        pin_length_max: 16,
    };
    check(
        &wire,
        &PinListInfo {
            pin1: PinDesc {
                pin_mode: PinMode::Enabled,
                pin_format: PinFormat::Numeric,
                pin_length_min: 4,
                pin_length_max: 8,
            },
            pin2: PinDesc {
                pin_mode: PinMode::Disabled,
                pin_format: PinFormat::Numeric,
                pin_length_min: 4,
                pin_length_max: 8,
            },
            device_sim_pin: unsupported,
            device_first_sim_pin: unsupported,
            network_pin: personalization,
            network_subset_pin: personalization,
            service_provider_pin: personalization,
            corporate_pin: personalization,
            subsidy_lock: unsupported,
            custom: unsupported,
        },
    );
}

#[test]
fn home_provider() {
    let wire = labelled(
        "
            20 00 00 00               # 0x00 provider_id offset
            0c 00 00 00               # 0x04 provider_id length
            01 00 00 00               # 0x08 provider_state: home
            2c 00 00 00               # 0x0c provider_name offset
            10 00 00 00               # 0x10 provider_name length
            01 00 00 00               # 0x14 cellular_class: gsm
            63 00 00 00               # 0x18 rssi: 99
            63 00 00 00               # 0x1c error_rate: 99
            33 00 31 00 30 00 32 00   # 0x20 provider_id data: '3102'
            36 00 30 00               # 0x28 provider_id data: '60'
            54 00 2d 00 4d 00 6f 00   # 0x2c provider_name data: 'T-Mo'
            62 00 69 00 6c 00 65 00   # 0x34 provider_name data: 'bile'
        ",
    );
    check(
        &wire,
        &Provider {
            provider_id: text("310260"),
            provider_state: ProviderState::HOME,
            provider_name: text("T-Mobile"),
            cellular_class: CellularClass::GSM,
            rssi: 99,
            error_rate: 99,
        },
    );
}

#[test]
fn preferred_providers() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 providers_count: 2
            14 00 00 00               # 0x04 providers[0] offset
            40 00 00 00               # 0x08 providers[0] length
            54 00 00 00               # 0x0c providers[1] offset
            3c 00 00 00               # 0x10 providers[1] length
            20 00 00 00               # 0x14 providers[0] +0x00 provider_id offset
            0a 00 00 00               # 0x18 providers[0] +0x04 provider_id length
            04 00 00 00               # 0x1c providers[0] +0x08 provider_state: preferred
            2c 00 00 00               # 0x20 providers[0] +0x0c provider_name offset
            14 00 00 00               # 0x24 providers[0] +0x10 provider_name length
            01 00 00 00               # 0x28 providers[0] +0x14 cellular_class: gsm
            63 00 00 00               # 0x2c providers[0] +0x18 rssi: 99
            63 00 00 00               # 0x30 providers[0] +0x1c error_rate: 99
            32 00 36 00 32 00 30 00   # 0x34 providers[0] +0x20 provider_id data: '2620'
            31 00 00 00               # 0x3c providers[0] +0x28 provider_id data: '1' + 2 bytes padding
            54 00 65 00 6c 00 65 00   # 0x40 providers[0] +0x2c provider_name data: 'Tele'
            6b 00 6f 00 6d 00 2e 00   # 0x48 providers[0] +0x34 provider_name data: 'kom.'
            64 00 65 00               # 0x50 providers[0] +0x3c provider_name data: 'de'
            20 00 00 00               # 0x54 providers[1] +0x00 provider_id offset
            0a 00 00 00               # 0x58 providers[1] +0x04 provider_id length
            04 00 00 00               # 0x5c providers[1] +0x08 provider_state: preferred
            2c 00 00 00               # 0x60 providers[1] +0x0c provider_name offset
            10 00 00 00               # 0x64 providers[1] +0x10 provider_name length
            01 00 00 00               # 0x68 providers[1] +0x14 cellular_class: gsm
            63 00 00 00               # 0x6c providers[1] +0x18 rssi: 99
            63 00 00 00               # 0x70 providers[1] +0x1c error_rate: 99
            32 00 36 00 32 00 30 00   # 0x74 providers[1] +0x20 provider_id data: '2620'
            32 00 00 00               # 0x7c providers[1] +0x28 provider_id data: '2' + 2 bytes padding
            56 00 6f 00 64 00 61 00   # 0x80 providers[1] +0x2c provider_name data: 'Voda'
            66 00 6f 00 6e 00 65 00   # 0x88 providers[1] +0x34 provider_name data: 'fone'
        ",
    );
    let preferred = |id: &str, name: &str| Provider {
        provider_id: text(id),
        provider_state: ProviderState::PREFERRED,
        provider_name: text(name),
        cellular_class: CellularClass::GSM,
        rssi: 99,
        error_rate: 99,
    };
    check(
        &wire,
        &Providers {
            providers: vec![
                preferred("26201", "Telekom.de"),
                preferred("26202", "Vodafone"),
            ],
        },
    );
}

#[test]
fn providers_empty() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 providers_count: 0
        ",
    );
    check(
        &wire,
        &Providers {
            providers: Vec::new(),
        },
    );
}

#[test]
fn visible_providers_query() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 action: restricted-scan
        ",
    );
    check(
        &wire,
        &VisibleProvidersQuery {
            action: VisibleProvidersAction::RestrictedScan,
        },
    );
}

#[test]
fn register_state_set_manual() {
    let wire = labelled(
        "
            10 00 00 00               # 0x00 provider_id offset
            0c 00 00 00               # 0x04 provider_id length
            01 00 00 00               # 0x08 register_action: manual
            20 00 00 00               # 0x0c data_class: lte
            33 00 31 00 30 00 34 00   # 0x10 provider_id data: '3104'
            31 00 30 00               # 0x18 provider_id data: '10'
        ",
    );
    check(
        &wire,
        &RegisterStateSet {
            provider_id: text("310410"),
            register_action: RegisterAction::Manual,
            data_class: DataClass::LTE,
        },
    );
}

#[test]
fn register_state_set_automatic() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 provider_id offset: 0 (empty)
            00 00 00 00               # 0x04 provider_id length: 0
            00 00 00 00               # 0x08 register_action: automatic
            00 00 00 00               # 0x0c data_class: none (device default)
        ",
    );
    check(
        &wire,
        &RegisterStateSet {
            provider_id: String::new(),
            register_action: RegisterAction::Automatic,
            data_class: DataClass::empty(),
        },
    );
}

#[test]
fn registration_state_info() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 nw_error: none
            04 00 00 00               # 0x04 register_state: roaming
            01 00 00 00               # 0x08 register_mode: automatic
            3c 00 00 00               # 0x0c available_data_classes: umts, hsdpa, hsupa, lte
            01 00 00 00               # 0x10 current_cellular_class: gsm
            30 00 00 00               # 0x14 provider_id offset
            0a 00 00 00               # 0x18 provider_id length
            3c 00 00 00               # 0x1c provider_name offset
            0e 00 00 00               # 0x20 provider_name length
            4c 00 00 00               # 0x24 roaming_text offset
            18 00 00 00               # 0x28 roaming_text length
            02 00 00 00               # 0x2c registration_flag: packet-service-automatic-attach
            32 00 33 00 34 00 31 00   # 0x30 provider_id data: '2341'
            30 00 00 00               # 0x38 provider_id data: '0' + 2 bytes padding
            4f 00 32 00 20 00 2d 00   # 0x3c provider_name data: 'O2 -'
            20 00 55 00 4b 00 00 00   # 0x44 provider_name data: ' UK' + 2 bytes padding
            49 00 6e 00 74 00 6c 00   # 0x4c roaming_text data: 'Intl'
            20 00 52 00 6f 00 61 00   # 0x54 roaming_text data: ' Roa'
            6d 00 69 00 6e 00 67 00   # 0x5c roaming_text data: 'ming'
        ",
    );
    check(
        &wire,
        &RegistrationStateInfo {
            nw_error: NwError::None,
            register_state: RegisterState::Roaming,
            register_mode: RegisterMode::Automatic,
            available_data_classes: DataClass::UMTS
                | DataClass::HSDPA
                | DataClass::HSUPA
                | DataClass::LTE,
            current_cellular_class: CellularClass::GSM,
            provider_id: text("23410"),
            provider_name: text("O2 - UK"),
            roaming_text: text("Intl Roaming"),
            registration_flag: RegistrationFlags::PACKET_SERVICE_AUTOMATIC_ATTACH,
        },
    );
}

#[test]
fn registration_state_info_keeps_unknown_values() {
    let wire = labelled(
        "
            34 12 00 00               # 0x00 nw_error: not a 3GPP cause (kept as unknown)
            06 00 00 00               # 0x04 register_state: denied
            01 00 00 00               # 0x08 register_mode: automatic
            00 00 00 00               # 0x0c available_data_classes: none
            01 00 00 00               # 0x10 current_cellular_class: gsm
            00 00 00 00               # 0x14 provider_id offset: 0 (empty)
            00 00 00 00               # 0x18 provider_id length: 0
            00 00 00 00               # 0x1c provider_name offset: 0 (empty)
            00 00 00 00               # 0x20 provider_name length: 0
            00 00 00 00               # 0x24 roaming_text offset: 0 (empty)
            00 00 00 00               # 0x28 roaming_text length: 0
            10 00 00 00               # 0x2c registration_flag: undefined bit, kept
        ",
    );
    check(
        &wire,
        &RegistrationStateInfo {
            nw_error: NwError::Unknown(0x1234),
            register_state: RegisterState::Denied,
            register_mode: RegisterMode::Automatic,
            available_data_classes: DataClass::empty(),
            current_cellular_class: CellularClass::GSM,
            provider_id: String::new(),
            provider_name: String::new(),
            roaming_text: String::new(),
            registration_flag: RegistrationFlags::from_bits(0x10),
        },
    );
}

#[test]
fn packet_service_set() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 packet_service_action: attach
        ",
    );
    check(
        &wire,
        &PacketServiceSet {
            packet_service_action: PacketServiceAction::Attach,
        },
    );
}

#[test]
fn packet_service_info() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 nw_error: none
            02 00 00 00               # 0x04 packet_service_state: attached
            20 00 00 00               # 0x08 highest_available_data_class: lte
            80 f0 fa 02 00 00 00 00   # 0x0c uplink_speed: 50000000 bit/s
            80 d1 f0 08 00 00 00 00   # 0x14 downlink_speed: 150000000 bit/s
        ",
    );
    check(
        &wire,
        &PacketServiceInfo {
            nw_error: NwError::None,
            packet_service_state: PacketServiceState::Attached,
            highest_available_data_class: DataClass::LTE,
            uplink_speed: 50_000_000,
            downlink_speed: 150_000_000,
        },
    );
}

#[test]
fn signal_state_set() {
    let wire = labelled(
        "
            05 00 00 00               # 0x00 signal_strength_interval: 5 s
            02 00 00 00               # 0x04 rssi_threshold: 2
            ff ff ff ff               # 0x08 error_rate_threshold: 0xffffffff (no error-rate reports)
        ",
    );
    check(
        &wire,
        &SignalStateSet {
            signal_strength_interval: 5,
            rssi_threshold: 2,
            error_rate_threshold: 0xFFFF_FFFF,
        },
    );
}

#[test]
fn signal_state_info() {
    let wire = labelled(
        "
            14 00 00 00               # 0x00 rssi: 20 (-73 dBm)
            63 00 00 00               # 0x04 error_rate: 99 (unknown)
            05 00 00 00               # 0x08 signal_strength_interval: 5 s
            02 00 00 00               # 0x0c rssi_threshold: 2
            ff ff ff ff               # 0x10 error_rate_threshold: 0xffffffff
        ",
    );
    check(
        &wire,
        &SignalStateInfo {
            rssi: 20,
            error_rate: 99,
            signal_strength_interval: 5,
            rssi_threshold: 2,
            error_rate_threshold: 0xFFFF_FFFF,
        },
    );
}

fn internet_connect() -> ConnectSet {
    ConnectSet {
        session_id: 0,
        activation_command: ActivationCommand::Activate,
        access_string: text("internet"),
        user_name: text("user"),
        password: text("hunter2"),
        compression: Compression::None,
        auth_protocol: AuthProtocol::Pap,
        ip_type: ContextIpType::Ipv4v6,
        context_type: ContextType::Internet.uuid(),
    }
}

#[test]
fn connect_set() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 session_id: 0
            01 00 00 00               # 0x04 activation_command: activate
            3c 00 00 00               # 0x08 access_string offset
            10 00 00 00               # 0x0c access_string length
            4c 00 00 00               # 0x10 user_name offset
            08 00 00 00               # 0x14 user_name length
            54 00 00 00               # 0x18 password offset
            0e 00 00 00               # 0x1c password length
            00 00 00 00               # 0x20 compression: none
            01 00 00 00               # 0x24 auth_protocol: pap
            03 00 00 00               # 0x28 ip_type: ipv4v6
            7e 5e 2a 7e 4e 6f 72 72   # 0x2c context_type: 7e5e2a7e-4e6f-7272-736b-656e7e5e2a7e (internet)
            73 6b 65 6e 7e 5e 2a 7e   # 0x34 context_type (cont.)
            69 00 6e 00 74 00 65 00   # 0x3c access_string data: 'inte'
            72 00 6e 00 65 00 74 00   # 0x44 access_string data: 'rnet'
            75 00 73 00 65 00 72 00   # 0x4c user_name data: 'user'
            68 00 75 00 6e 00 74 00   # 0x54 password data: 'hunt'
            65 00 72 00 32 00 00 00   # 0x5c password data: 'er2' + 2 bytes padding
        ",
    );
    check(&wire, &internet_connect());
}

#[test]
fn connect_info() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 session_id: 0
            01 00 00 00               # 0x04 activation_state: activated
            00 00 00 00               # 0x08 voice_call_state: none
            03 00 00 00               # 0x0c ip_type: ipv4v6
            7e 5e 2a 7e 4e 6f 72 72   # 0x10 context_type: 7e5e2a7e-4e6f-7272-736b-656e7e5e2a7e (internet)
            73 6b 65 6e 7e 5e 2a 7e   # 0x18 context_type (cont.)
            00 00 00 00               # 0x20 nw_error: none
        ",
    );
    check(
        &wire,
        &ConnectInfo {
            session_id: 0,
            activation_state: ActivationState::Activated,
            voice_call_state: VoiceCallState::None,
            ip_type: ContextIpType::Ipv4v6,
            context_type: ContextType::Internet.uuid(),
            nw_error: NwError::None,
        },
    );
}

#[test]
fn connect_info_failed_activation() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 session_id: 1
            03 00 00 00               # 0x04 activation_state: deactivated
            00 00 00 00               # 0x08 voice_call_state: none
            00 00 00 00               # 0x0c ip_type: default
            00 00 00 00 00 00 00 00   # 0x10 context_type: 00000000-0000-0000-0000-000000000000 (nil)
            00 00 00 00 00 00 00 00   # 0x18 context_type (cont.)
            21 00 00 00               # 0x20 nw_error: requested-service-option-not-subscribed
        ",
    );
    check(
        &wire,
        &ConnectInfo {
            session_id: 1,
            activation_state: ActivationState::Deactivated,
            voice_call_state: VoiceCallState::None,
            ip_type: ContextIpType::Default,
            context_type: Uuid::NIL,
            nw_error: NwError::RequestedServiceOptionNotSubscribed,
        },
    );
}

fn provisioned_context_set() -> ProvisionedContextSet {
    ProvisionedContextSet {
        context_id: 1,
        context_type: ContextType::Internet.uuid(),
        access_string: text("internet"),
        user_name: text("web"),
        password: text("s3cr3t"),
        compression: Compression::None,
        auth_protocol: AuthProtocol::Chap,
        provider_id: text("310260"),
    }
}

#[test]
fn provisioned_context_set_layout() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 context_id: 1
            7e 5e 2a 7e 4e 6f 72 72   # 0x04 context_type: 7e5e2a7e-4e6f-7272-736b-656e7e5e2a7e (internet)
            73 6b 65 6e 7e 5e 2a 7e   # 0x0c context_type (cont.)
            3c 00 00 00               # 0x14 access_string offset
            10 00 00 00               # 0x18 access_string length
            4c 00 00 00               # 0x1c user_name offset
            06 00 00 00               # 0x20 user_name length
            54 00 00 00               # 0x24 password offset
            0c 00 00 00               # 0x28 password length
            00 00 00 00               # 0x2c compression: none
            02 00 00 00               # 0x30 auth_protocol: chap
            60 00 00 00               # 0x34 provider_id offset
            0c 00 00 00               # 0x38 provider_id length
            69 00 6e 00 74 00 65 00   # 0x3c access_string data: 'inte'
            72 00 6e 00 65 00 74 00   # 0x44 access_string data: 'rnet'
            77 00 65 00 62 00 00 00   # 0x4c user_name data: 'web' + 2 bytes padding
            73 00 33 00 63 00 72 00   # 0x54 password data: 's3cr'
            33 00 74 00               # 0x5c password data: '3t'
            33 00 31 00 30 00 32 00   # 0x60 provider_id data: '3102'
            36 00 30 00               # 0x68 provider_id data: '60'
        ",
    );
    check(&wire, &provisioned_context_set());
}

#[test]
fn provisioned_contexts() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 contexts_count: 2
            14 00 00 00               # 0x04 contexts[0] offset
            44 00 00 00               # 0x08 contexts[0] length
            58 00 00 00               # 0x0c contexts[1] offset
            3c 00 00 00               # 0x10 contexts[1] length
            01 00 00 00               # 0x14 contexts[0] +0x00 context_id: 1
            7e 5e 2a 7e 4e 6f 72 72   # 0x18 contexts[0] +0x04 context_type: 7e5e2a7e-4e6f-7272-736b-656e7e5e2a7e (internet)
            73 6b 65 6e 7e 5e 2a 7e   # 0x20 contexts[0] +0x0c context_type (cont.)
            34 00 00 00               # 0x28 contexts[0] +0x14 access_string offset
            10 00 00 00               # 0x2c contexts[0] +0x18 access_string length
            00 00 00 00               # 0x30 contexts[0] +0x1c user_name offset: 0 (empty)
            00 00 00 00               # 0x34 contexts[0] +0x20 user_name length: 0
            00 00 00 00               # 0x38 contexts[0] +0x24 password offset: 0 (empty)
            00 00 00 00               # 0x3c contexts[0] +0x28 password length: 0
            00 00 00 00               # 0x40 contexts[0] +0x2c compression: none
            00 00 00 00               # 0x44 contexts[0] +0x30 auth_protocol: none
            69 00 6e 00 74 00 65 00   # 0x48 contexts[0] +0x34 access_string data: 'inte'
            72 00 6e 00 65 00 74 00   # 0x50 contexts[0] +0x3c access_string data: 'rnet'
            02 00 00 00               # 0x58 contexts[1] +0x00 context_id: 2
            21 61 0d 01 30 74 4b ce   # 0x5c contexts[1] +0x04 context_type: 21610d01-3074-4bce-9425-b53a07d697d6 (ims)
            94 25 b5 3a 07 d6 97 d6   # 0x64 contexts[1] +0x0c context_type (cont.)
            34 00 00 00               # 0x6c contexts[1] +0x14 access_string offset
            06 00 00 00               # 0x70 contexts[1] +0x18 access_string length
            00 00 00 00               # 0x74 contexts[1] +0x1c user_name offset: 0 (empty)
            00 00 00 00               # 0x78 contexts[1] +0x20 user_name length: 0
            00 00 00 00               # 0x7c contexts[1] +0x24 password offset: 0 (empty)
            00 00 00 00               # 0x80 contexts[1] +0x28 password length: 0
            00 00 00 00               # 0x84 contexts[1] +0x2c compression: none
            00 00 00 00               # 0x88 contexts[1] +0x30 auth_protocol: none
            69 00 6d 00 73 00 00 00   # 0x8c contexts[1] +0x34 access_string data: 'ims' + 2 bytes padding
        ",
    );
    let context =
        |context_id: u32, context_type: ContextType, apn: &str| ProvisionedContextElement {
            context_id,
            context_type: context_type.uuid(),
            access_string: text(apn),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        };
    check(
        &wire,
        &ProvisionedContexts {
            contexts: vec![
                context(1, ContextType::Internet, "internet"),
                context(2, ContextType::Ims, "ims"),
            ],
        },
    );
}

#[test]
fn service_activation_set() {
    let wire = labelled(
        "
            de ad be ef 01 02         # 0x00 buffer
        ",
    );
    check(
        &wire,
        &ServiceActivationSet {
            buffer: vec![0xde, 0xad, 0xbe, 0xef, 0x01, 0x02],
        },
    );
}

#[test]
fn service_activation_info() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 nw_error: none
            ca fe f0 0d               # 0x04 buffer
        ",
    );
    check(
        &wire,
        &ServiceActivationInfo {
            nw_error: NwError::None,
            buffer: vec![0xca, 0xfe, 0xf0, 0x0d],
        },
    );
}

#[test]
fn ip_configuration_info_dual_stack() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 session_id: 0
            0f 00 00 00               # 0x04 ipv4_configuration_available: address, gateway, dns, mtu
            0f 00 00 00               # 0x08 ipv6_configuration_available: address, gateway, dns, mtu
            01 00 00 00               # 0x0c ipv4_address_count: 1
            3c 00 00 00               # 0x10 ipv4_addresses offset
            01 00 00 00               # 0x14 ipv6_address_count: 1
            44 00 00 00               # 0x18 ipv6_addresses offset
            58 00 00 00               # 0x1c ipv4_gateway offset
            5c 00 00 00               # 0x20 ipv6_gateway offset
            02 00 00 00               # 0x24 ipv4_dns_server_count: 2
            6c 00 00 00               # 0x28 ipv4_dns_servers offset
            01 00 00 00               # 0x2c ipv6_dns_server_count: 1
            74 00 00 00               # 0x30 ipv6_dns_servers offset
            dc 05 00 00               # 0x34 ipv4_mtu: 1500
            dc 05 00 00               # 0x38 ipv6_mtu: 1500
            1e 00 00 00               # 0x3c ipv4_addresses[0] on_link_prefix_length: 30
            0a 40 0c 05               # 0x40 ipv4_addresses[0] ipv4_address: 10.64.12.5
            40 00 00 00               # 0x44 ipv6_addresses[0] on_link_prefix_length: 64
            20 01 0d b8 00 01 00 02   # 0x48 ipv6_addresses[0] ipv6_address: 2001:db8:1:2::1
            00 00 00 00 00 00 00 01   # 0x50 ipv6_addresses[0] ipv6_address (cont.)
            0a 40 0c 06               # 0x58 ipv4_gateway data: 10.64.12.6
            fe 80 00 00 00 00 00 00   # 0x5c ipv6_gateway data: fe80::1
            00 00 00 00 00 00 00 01   # 0x64 ipv6_gateway data: fe80::1
            08 08 08 08               # 0x6c ipv4_dns_servers[0] 8.8.8.8
            08 08 04 04               # 0x70 ipv4_dns_servers[1] 8.8.4.4
            20 01 48 60 48 60 00 00   # 0x74 ipv6_dns_servers[0] 2001:4860:4860::8888
            00 00 00 00 00 00 88 88   # 0x7c ipv6_dns_servers[0] (cont.)
        ",
    );
    let all = IpConfigurationAvailable::ADDRESS
        | IpConfigurationAvailable::GATEWAY
        | IpConfigurationAvailable::DNS
        | IpConfigurationAvailable::MTU;
    check(
        &wire,
        &IpConfigurationInfo {
            session_id: 0,
            ipv4_configuration_available: all,
            ipv6_configuration_available: all,
            ipv4_addresses: vec![Ipv4Element {
                on_link_prefix_length: 30,
                ipv4_address: Ipv4Addr::new(10, 64, 12, 5),
            }],
            ipv6_addresses: vec![Ipv6Element {
                on_link_prefix_length: 64,
                ipv6_address: "2001:db8:1:2::1".parse().unwrap(),
            }],
            ipv4_gateway: Some(Ipv4Addr::new(10, 64, 12, 6)),
            ipv6_gateway: Some("fe80::1".parse().unwrap()),
            ipv4_dns_servers: vec![Ipv4Addr::new(8, 8, 8, 8), Ipv4Addr::new(8, 8, 4, 4)],
            ipv6_dns_servers: vec!["2001:4860:4860::8888".parse::<Ipv6Addr>().unwrap()],
            ipv4_mtu: 1500,
            ipv6_mtu: 1500,
        },
    );
}

#[test]
fn ip_configuration_query() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 session_id: 2
            00 00 00 00               # 0x04 ipv4_configuration_available: none
            00 00 00 00               # 0x08 ipv6_configuration_available: none
            00 00 00 00               # 0x0c ipv4_address_count: 0
            00 00 00 00               # 0x10 ipv4_addresses offset: 0 (none)
            00 00 00 00               # 0x14 ipv6_address_count: 0
            00 00 00 00               # 0x18 ipv6_addresses offset: 0 (none)
            00 00 00 00               # 0x1c ipv4_gateway offset: 0 (absent)
            00 00 00 00               # 0x20 ipv6_gateway offset: 0 (absent)
            00 00 00 00               # 0x24 ipv4_dns_server_count: 0
            00 00 00 00               # 0x28 ipv4_dns_servers offset: 0 (none)
            00 00 00 00               # 0x2c ipv6_dns_server_count: 0
            00 00 00 00               # 0x30 ipv6_dns_servers offset: 0 (none)
            00 00 00 00               # 0x34 ipv4_mtu: 0
            00 00 00 00               # 0x38 ipv6_mtu: 0
        ",
    );
    check(
        &wire,
        &IpConfigurationInfo {
            session_id: 2,
            ..IpConfigurationInfo::default()
        },
    );
}

#[test]
fn device_services_info() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 device_services_count: 2
            01 00 00 00               # 0x04 max_dss_sessions: 1
            18 00 00 00               # 0x08 device_services[0] offset
            28 00 00 00               # 0x0c device_services[0] length
            40 00 00 00               # 0x10 device_services[1] offset
            20 00 00 00               # 0x14 device_services[1] length
            a2 89 cc 33 bc bb 8b 4f   # 0x18 device_services[0] +0x00 device_service_id: a289cc33-bcbb-8b4f-b6b0-133ec2aae6df (basic-connect)
            b6 b0 13 3e c2 aa e6 df   # 0x20 device_services[0] +0x08 device_service_id (cont.)
            00 00 00 00               # 0x28 device_services[0] +0x10 dss_payload: 0
            00 00 00 00               # 0x2c device_services[0] +0x14 max_dss_instances: 0
            03 00 00 00               # 0x30 device_services[0] +0x18 cids_count: 3
            01 00 00 00               # 0x34 device_services[0] +0x1c cids[0]: 1
            02 00 00 00               # 0x38 device_services[0] +0x20 cids[1]: 2
            03 00 00 00               # 0x3c device_services[0] +0x24 cids[2]: 3
            c0 8a 26 dd 77 18 43 82   # 0x40 device_services[1] +0x00 device_service_id: c08a26dd-7718-4382-8482-6e0d583c4d0e (dss)
            84 82 6e 0d 58 3c 4d 0e   # 0x48 device_services[1] +0x08 device_service_id (cont.)
            03 00 00 00               # 0x50 device_services[1] +0x10 dss_payload: 3
            01 00 00 00               # 0x54 device_services[1] +0x14 max_dss_instances: 1
            01 00 00 00               # 0x58 device_services[1] +0x18 cids_count: 1
            01 00 00 00               # 0x5c device_services[1] +0x1c cids[0]: 1
        ",
    );
    check(
        &wire,
        &DeviceServicesInfo {
            max_dss_sessions: 1,
            device_services: vec![
                DeviceServiceElement {
                    device_service_id: bc::UUID,
                    dss_payload: 0,
                    max_dss_instances: 0,
                    cids: vec![1, 2, 3],
                },
                DeviceServiceElement {
                    device_service_id: Uuid::from_str_const("c08a26dd-7718-4382-8482-6e0d583c4d0e"),
                    dss_payload: 3,
                    max_dss_instances: 1,
                    cids: vec![1],
                },
            ],
        },
    );
}

#[test]
fn event_entries() {
    let wire = labelled(
        "
            02 00 00 00               # 0x00 events_count: 2
            14 00 00 00               # 0x04 events[0] offset
            24 00 00 00               # 0x08 events[0] length
            38 00 00 00               # 0x0c events[1] offset
            18 00 00 00               # 0x10 events[1] length
            a2 89 cc 33 bc bb 8b 4f   # 0x14 events[0] +0x00 device_service_id: a289cc33-bcbb-8b4f-b6b0-133ec2aae6df (basic-connect)
            b6 b0 13 3e c2 aa e6 df   # 0x1c events[0] +0x08 device_service_id (cont.)
            04 00 00 00               # 0x24 events[0] +0x10 cids_count: 4
            02 00 00 00               # 0x28 events[0] +0x14 cids[0]: 2
            09 00 00 00               # 0x2c events[0] +0x18 cids[1]: 9
            0a 00 00 00               # 0x30 events[0] +0x1c cids[2]: 10
            0b 00 00 00               # 0x34 events[0] +0x20 cids[3]: 11
            3d 01 dc c5 fe f5 4d 05   # 0x38 events[1] +0x00 device_service_id: 3d01dcc5-fef5-4d05-0d3a-bef7058e9aaf (ms-basic-connect-extensions)
            0d 3a be f7 05 8e 9a af   # 0x40 events[1] +0x08 device_service_id (cont.)
            01 00 00 00               # 0x48 events[1] +0x10 cids_count: 1
            08 00 00 00               # 0x4c events[1] +0x14 cids[0]: 8
        ",
    );
    check(
        &wire,
        &EventEntries {
            events: vec![
                EventEntry {
                    device_service_id: bc::UUID,
                    cids: vec![2, 9, 10, 11],
                },
                EventEntry {
                    device_service_id: ms::UUID,
                    cids: vec![8],
                },
            ],
        },
    );
}

#[test]
fn packet_statistics_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 in_discards: 1
            02 00 00 00               # 0x04 in_errors: 2
            89 67 45 23 01 00 00 00   # 0x08 in_octets: 4886718345
            c0 c6 2d 00 00 00 00 00   # 0x10 in_packets: 3000000
            b1 68 de 3a 00 00 00 00   # 0x18 out_octets: 987654321
            40 42 0f 00 00 00 00 00   # 0x20 out_packets: 1000000
            03 00 00 00               # 0x28 out_errors: 3
            04 00 00 00               # 0x2c out_discards: 4
        ",
    );
    check(
        &wire,
        &PacketStatisticsInfo {
            in_discards: 1,
            in_errors: 2,
            in_octets: 0x1_2345_6789,
            in_packets: 3_000_000,
            out_octets: 987_654_321,
            out_packets: 1_000_000,
            out_errors: 3,
            out_discards: 4,
        },
    );
}

#[test]
fn network_idle_hint_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 state: enabled
        ",
    );
    check(
        &wire,
        &NetworkIdleHintInfo {
            state: NetworkIdleHintState::Enabled,
        },
    );
}

#[test]
fn emergency_mode_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 state: on
        ",
    );
    check(
        &wire,
        &EmergencyModeInfo {
            state: EmergencyModeState::On,
        },
    );
}

#[test]
fn packet_filters() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 session_id: 0
            01 00 00 00               # 0x04 packet_filters_count: 1
            10 00 00 00               # 0x08 packet_filters[0] offset
            1c 00 00 00               # 0x0c packet_filters[0] length
            06 00 00 00               # 0x10 packet_filters[0] +0x00 filter_size: 6
            0c 00 00 00               # 0x14 packet_filters[0] +0x04 packet_filter offset
            14 00 00 00               # 0x18 packet_filters[0] +0x08 packet_mask offset
            45 00 00 00 00 11 00 00   # 0x1c packet_filters[0] +0x0c packet_filter data + 2 bytes padding
            f0 00 00 00 00 ff 00 00   # 0x24 packet_filters[0] +0x14 packet_mask data + 2 bytes padding
        ",
    );
    check(
        &wire,
        &PacketFilters {
            session_id: 0,
            packet_filters: vec![PacketFilter::new(
                vec![0x45, 0x00, 0x00, 0x00, 0x00, 0x11],
                vec![0xf0, 0x00, 0x00, 0x00, 0x00, 0xff],
            )
            .unwrap()],
        },
    );
    assert!(PacketFilter::new(vec![1, 2], vec![3]).is_none());
}

#[test]
fn packet_filters_query() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 session_id: 0
            00 00 00 00               # 0x04 packet_filters_count: 0
        ",
    );
    check(
        &wire,
        &PacketFilters {
            session_id: 0,
            packet_filters: Vec::new(),
        },
    );
}

// ---------------------------------------------------------------------------
// MS Basic Connect Extensions (seed 004, "MB Multi-SIM Operations")
// ---------------------------------------------------------------------------

#[test]
fn sys_caps_info() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 number_of_executors: 1
            02 00 00 00               # 0x04 number_of_slots: 2
            01 00 00 00               # 0x08 concurrency: 1
            ef cd ab 89 67 45 23 01   # 0x0c modem_id: 0x0123456789abcdef
        ",
    );
    check(
        &wire,
        &SysCapsInfo {
            number_of_executors: 1,
            number_of_slots: 2,
            concurrency: 1,
            modem_id: 0x0123_4567_89ab_cdef,
        },
    );
}

fn em120_caps_v2() -> DeviceCapsInfoV2 {
    DeviceCapsInfoV2 {
        device_type: DeviceType::Embedded,
        cellular_class: CellularClass::GSM,
        voice_class: VoiceClass::NoVoice,
        sim_class: SimClass::REMOVABLE,
        data_class: DataClass::GPRS
            | DataClass::EDGE
            | DataClass::UMTS
            | DataClass::HSDPA
            | DataClass::HSUPA
            | DataClass::LTE,
        sms_caps: SmsCaps::PDU_RECEIVE | SmsCaps::PDU_SEND,
        control_caps: ControlCaps::REG_MANUAL,
        max_sessions: 8,
        custom_data_class: String::new(),
        device_id: text("866123040123456"),
        firmware_info: text("81600.0000.00.29.21.01"),
        hardware_info: text("EM120R-GL"),
        executor_index: 0,
    }
}

#[test]
fn device_caps_info_v2() {
    // The seed's table: ExecutorIndex at 64, the data buffer from 68.
    let wire = labelled(
        "
            01 00 00 00               # 0x00 device_type: embedded
            01 00 00 00               # 0x04 cellular_class: gsm
            01 00 00 00               # 0x08 voice_class: no-voice
            02 00 00 00               # 0x0c sim_class: removable
            3f 00 00 00               # 0x10 data_class: gprs, edge, umts, hsdpa, hsupa, lte
            03 00 00 00               # 0x14 sms_caps: pdu-receive, pdu-send
            01 00 00 00               # 0x18 control_caps: reg-manual
            08 00 00 00               # 0x1c max_sessions: 8
            00 00 00 00               # 0x20 custom_data_class offset: 0 (empty)
            00 00 00 00               # 0x24 custom_data_class length: 0
            44 00 00 00               # 0x28 device_id offset
            1e 00 00 00               # 0x2c device_id length
            64 00 00 00               # 0x30 firmware_info offset
            2c 00 00 00               # 0x34 firmware_info length
            90 00 00 00               # 0x38 hardware_info offset
            12 00 00 00               # 0x3c hardware_info length
            00 00 00 00               # 0x40 executor_index: 0
            38 00 36 00 36 00 31 00   # 0x44 device_id data: '8661'
            32 00 33 00 30 00 34 00   # 0x4c device_id data: '2304'
            30 00 31 00 32 00 33 00   # 0x54 device_id data: '0123'
            34 00 35 00 36 00 00 00   # 0x5c device_id data: '456' + 2 bytes padding
            38 00 31 00 36 00 30 00   # 0x64 firmware_info data: '8160'
            30 00 2e 00 30 00 30 00   # 0x6c firmware_info data: '0.00'
            30 00 30 00 2e 00 30 00   # 0x74 firmware_info data: '00.0'
            30 00 2e 00 32 00 39 00   # 0x7c firmware_info data: '0.29'
            2e 00 32 00 31 00 2e 00   # 0x84 firmware_info data: '.21.'
            30 00 31 00               # 0x8c firmware_info data: '01'
            45 00 4d 00 31 00 32 00   # 0x90 hardware_info data: 'EM12'
            30 00 52 00 2d 00 47 00   # 0x98 hardware_info data: '0R-G'
            4c 00 00 00               # 0xa0 hardware_info data: 'L' + 2 bytes padding
        ",
    );
    check(&wire, &em120_caps_v2());
}

#[test]
fn device_slot_mappings_two_executors() {
    // MapCount, then one OL pair per executor, each pointing at a 4-byte slot
    // index; offsets from the start of the structure.
    let wire = labelled(
        "
            02 00 00 00               # 0x00 map_count: 2
            14 00 00 00               # 0x04 slot_map[0] offset
            04 00 00 00               # 0x08 slot_map[0] length
            18 00 00 00               # 0x0c slot_map[1] offset
            04 00 00 00               # 0x10 slot_map[1] length
            01 00 00 00               # 0x14 slot_map[0] +0x00 slot: 1
            00 00 00 00               # 0x18 slot_map[1] +0x00 slot: 0
        ",
    );
    let mapping = DeviceSlotMappingInfo::from_slots(&[1, 0]);
    check(&wire, &mapping);
    assert_eq!(mapping.slots(), [1, 0]);
    assert_eq!(mapping.slot_map[0], SlotIndex { slot: 1 });
}

#[test]
fn device_slot_mappings_dual_sim_single_active() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 map_count: 1
            0c 00 00 00               # 0x04 slot_map[0] offset
            04 00 00 00               # 0x08 slot_map[0] length
            01 00 00 00               # 0x0c slot_map[0] +0x00 slot: 1
        ",
    );
    check(
        &wire,
        &DeviceSlotMappingInfo {
            slot_map: vec![SlotIndex { slot: 1 }],
        },
    );
}

#[test]
fn slot_info_request() {
    let wire = labelled(
        "
            01 00 00 00               # 0x00 slot_index: 1
        ",
    );
    check(&wire, &SlotInfoRequest { slot_index: 1 });
}

#[test]
fn slot_info() {
    let wire = labelled(
        "
            00 00 00 00               # 0x00 slot_index: 0
            07 00 00 00               # 0x04 state: active-esim
        ",
    );
    check(
        &wire,
        &SlotInfo {
            slot_index: 0,
            state: UiccSlotState::ActiveEsim,
        },
    );
}

#[test]
fn slot_info_has_the_nine_uicc_slot_states_of_seed_004() {
    let states = [
        (0, UiccSlotState::Undetermined, "unknown"),
        (1, UiccSlotState::OffEmpty, "off-empty"),
        (2, UiccSlotState::Off, "off"),
        (3, UiccSlotState::Empty, "empty"),
        (4, UiccSlotState::NotReady, "not-ready"),
        (5, UiccSlotState::Active, "active"),
        (6, UiccSlotState::Error, "error"),
        (7, UiccSlotState::ActiveEsim, "active-esim"),
        (
            8,
            UiccSlotState::ActiveEsimNoProfiles,
            "active-esim-no-profiles",
        ),
    ];
    assert_eq!(UiccSlotState::ALL.len(), states.len());
    for (value, state, name) in states {
        let wire = [vec![3, 0, 0, 0], u32::to_le_bytes(value).to_vec()].concat();
        check(
            &wire,
            &SlotInfo {
                slot_index: 3,
                state,
            },
        );
        assert_eq!(state.name(), Some(name));
    }
    let wire = labelled(
        "
        00 00 00 00   # 0x00 slot_index: 0
        09 00 00 00   # 0x04 state: 9, not defined by seed 004
        ",
    );
    check(
        &wire,
        &SlotInfo {
            slot_index: 0,
            state: UiccSlotState::Unknown(9),
        },
    );
}

// ---------------------------------------------------------------------------
// Auth (MBIM 1.0 §10.5.28-30); byte arrays travel verbatim
// ---------------------------------------------------------------------------

/// `start`, `start + 1`, … (16 bytes).
fn counting(start: u8) -> [u8; 16] {
    let mut out = [0; 16];
    for (byte, value) in out.iter_mut().zip(start..) {
        *byte = value;
    }
    out
}

/// `start`, `start - 1`, … (`N` bytes).
fn descending<const N: usize>(start: u8) -> [u8; N] {
    let mut out = [0; N];
    for (byte, value) in out.iter_mut().zip((0..=start).rev()) {
        *byte = value;
    }
    out
}

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

fn aka_info() -> AkaAuthInfo {
    let mut res = [0; 16];
    res[..8].copy_from_slice(&counting(0xa0)[..8]);
    AkaAuthInfo {
        res,
        res_len: 8,
        integrity_key: counting(0xb0),
        ciphering_key: counting(0xc0),
        auts: [0; 14],
    }
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

fn sim_info() -> SimAuthInfo {
    SimAuthInfo {
        sres1: 0x1111_1111,
        kc1: 0x0102_0304_0506_0708,
        sres2: 0x2222_2222,
        kc2: 0x1112_1314_1516_1718,
        sres3: 0x3333_3333,
        kc3: 0x2122_2324_2526_2728,
        n: 3,
    }
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

// ---------------------------------------------------------------------------
// Personal data and secrets
// ---------------------------------------------------------------------------

#[test]
fn personal_data_is_masked_and_kept_out_of_debug() {
    let info = subscriber_ready();
    let debug = format!("{info:?}");
    let masked = info.describe().masked();
    let masked_text = format!("{masked:?}");
    for personal in [
        "310260123456789",
        "8901260123456789012",
        "+15551234567",
        "+15557654321",
    ] {
        assert!(!debug.contains(personal), "{personal} in {debug}");
        assert!(
            !masked_text.contains(personal),
            "{personal} in {masked_text}"
        );
    }
    assert_eq!(
        field(&masked, "subscriber_id"),
        &Value::Text(MASK.to_owned())
    );
    assert_eq!(field(&masked, "sim_iccid"), &Value::Text(MASK.to_owned()));
    assert_eq!(
        field(&masked, "telephone_numbers"),
        &Value::List(vec![
            Value::Text(MASK.to_owned()),
            Value::Text(MASK.to_owned())
        ])
    );
    // What is not personal stays visible.
    assert_eq!(
        field(&masked, "ready_state"),
        &Value::Enum {
            name: Some("initialized"),
            value: 1
        }
    );
    // Revealing on request shows the data, so the masking above is not vacuous.
    let revealed = info.describe().revealed();
    assert_eq!(
        field(&revealed, "sim_iccid"),
        &Value::Text(text("8901260123456789012"))
    );
    assert_eq!(
        field(&revealed, "telephone_numbers"),
        &Value::List(vec![
            Value::Text(text("+15551234567")),
            Value::Text(text("+15557654321"))
        ])
    );

    let caps = em7455_caps();
    let debug = format!("{caps:?}");
    let masked = caps.describe().masked();
    assert!(!debug.contains("359072060123456"), "{debug}");
    assert!(!format!("{masked:?}").contains("359072060123456"));
    assert_eq!(field(&masked, "device_id"), &Value::Text(MASK.to_owned()));
    assert_eq!(
        field(&masked, "firmware_info"),
        &Value::Text(text("SWI9X30C_02.24.05.06"))
    );

    let caps = em120_caps_v2();
    let debug = format!("{caps:?}");
    let masked = caps.describe().masked();
    assert!(!debug.contains("866123040123456"), "{debug}");
    assert!(!format!("{masked:?}").contains("866123040123456"));
    assert_eq!(field(&masked, "device_id"), &Value::Text(MASK.to_owned()));
}

#[test]
fn secrets_never_appear_in_debug_or_describe() {
    fn assert_hidden<T: Debug + Describe>(value: &T, secrets: &[&str], fields: &[&str]) {
        let debug = format!("{value:?}");
        let revealed = value.describe().revealed();
        let described = format!("{revealed:?}");
        let masked = format!("{:?}", value.describe().masked());
        for secret in secrets {
            assert!(!debug.contains(secret), "{secret} in {debug}");
            assert!(!described.contains(secret), "{secret} in {described}");
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        for name in fields {
            assert_eq!(field(&revealed, name), &Value::Secret, "{name}");
            assert!(debug.contains(&format!("{name}: <secret>")), "{debug}");
        }
    }

    assert_hidden(&puk_entry(), &["12345678", "4321"], &["pin", "new_pin"]);
    assert_hidden(&internet_connect(), &["hunter2"], &["password"]);
    assert_hidden(&provisioned_context_set(), &["s3cr3t"], &["password"]);
    let contexts = ProvisionedContexts {
        contexts: vec![ProvisionedContextElement {
            context_id: 1,
            context_type: ContextType::Internet.uuid(),
            access_string: text("internet"),
            user_name: text("user"),
            password: text("pa55word"),
            compression: Compression::None,
            auth_protocol: AuthProtocol::Pap,
        }],
    };
    assert_hidden(&contexts, &["pa55word"], &[]);
    assert_hidden(&contexts.contexts[0], &["pa55word"], &["password"]);

    // Authentication keys: shown neither as numbers nor as bytes.
    let aka = aka_info();
    let key_texts = [
        format!("{:?}", aka.res),
        format!("{:?}", aka.integrity_key),
        format!("{:?}", aka.ciphering_key),
        format!("{:?}", aka.res.to_vec()),
        format!("{:?}", aka.integrity_key.to_vec()),
    ];
    let keys: Vec<&str> = key_texts.iter().map(String::as_str).collect();
    assert_hidden(&aka, &keys, &["res", "integrity_key", "ciphering_key"]);
    let sim = sim_info();
    let kc_texts = [
        sim.kc1.to_string(),
        sim.kc2.to_string(),
        sim.kc3.to_string(),
    ];
    let kcs: Vec<&str> = kc_texts.iter().map(String::as_str).collect();
    assert_hidden(&sim, &kcs, &["kc1", "kc2", "kc3"]);
}

// ---------------------------------------------------------------------------
// libmbim's parser-test captures, through the control-message parser
// ---------------------------------------------------------------------------

#[test]
fn capture_device_caps() {
    type C = bc::cid::DeviceCaps;
    let capture = response_of::<C>("libmbim-basic-connect-device-caps");
    let caps = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        caps,
        DeviceCapsInfo {
            device_type: DeviceType::Removable,
            cellular_class: CellularClass::GSM,
            voice_class: VoiceClass::NoVoice,
            sim_class: SimClass::REMOVABLE,
            data_class: DataClass::GPRS
                | DataClass::EDGE
                | DataClass::UMTS
                | DataClass::HSDPA
                | DataClass::HSUPA
                | DataClass::CUSTOM,
            sms_caps: SmsCaps::PDU_RECEIVE | SmsCaps::PDU_SEND,
            control_caps: ControlCaps::REG_MANUAL,
            max_sessions: 1,
            custom_data_class: text("HSPA+"),
            device_id: text("353613048804622"),
            firmware_info: text("11.810.09.00.00"),
            hardware_info: text("CP1E367UM"),
        }
    );
    // libmbim's buffer is in canonical order: re-encoding gives it back.
    assert_eq!(dump(&caps.encode()), dump(&capture.info));
}

#[test]
fn capture_subscriber_ready_status() {
    type C = bc::cid::SubscriberReadyStatus;
    let capture = response_of::<C>("libmbim-basic-connect-subscriber-ready-status");
    let info = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        info,
        SubscriberReadyInfo {
            ready_state: SubscriberReadyState::Initialized,
            subscriber_id: text("310410000110761"),
            sim_iccid: text("89010104054601100612"),
            ready_info: ReadyInfoFlags::empty(),
            telephone_numbers: vec![text("11111111111"), text("00000000000")],
        }
    );
    // This capture puts the telephone numbers' data first, so it is not in
    // canonical order: the encoder moves them after the ICCID, in the same
    // number of bytes, and the result decodes to the same value.
    let encoded = info.encode();
    assert_ne!(encoded, capture.info);
    assert_eq!(encoded.len(), capture.info.len());
    assert_eq!(SubscriberReadyInfo::decode(&encoded).unwrap(), info);
    // The notification has the same payload.
    assert_eq!(
        <C as Cid>::Notification::decode(&capture.info).unwrap(),
        info
    );
}

#[test]
fn capture_ip_configuration() {
    type C = bc::cid::IpConfiguration;
    let capture = response_of::<C>("libmbim-basic-connect-ip-configuration");
    let config = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        config,
        IpConfigurationInfo {
            session_id: 0,
            ipv4_configuration_available: IpConfigurationAvailable::ADDRESS
                | IpConfigurationAvailable::GATEWAY
                | IpConfigurationAvailable::DNS
                | IpConfigurationAvailable::MTU,
            ipv6_configuration_available: IpConfigurationAvailable::empty(),
            ipv4_addresses: vec![Ipv4Element {
                on_link_prefix_length: 28,
                ipv4_address: Ipv4Addr::new(0xd4, 0x49, 0x22, 0xf8),
            }],
            ipv6_addresses: Vec::new(),
            ipv4_gateway: Some(Ipv4Addr::new(0xd4, 0x49, 0x22, 0xf1)),
            ipv6_gateway: None,
            ipv4_dns_servers: vec![
                Ipv4Addr::new(0xd4, 0xa6, 0xd2, 0x50),
                Ipv4Addr::new(0xd4, 0x49, 0x20, 0x43),
            ],
            ipv6_dns_servers: Vec::new(),
            ipv4_mtu: 1500,
            ipv6_mtu: 0,
        }
    );
    assert_eq!(dump(&config.encode()), dump(&capture.info));
    // The notification has the same payload.
    assert_eq!(
        <C as Cid>::Notification::decode(&capture.info).unwrap(),
        config
    );
}

#[test]
fn capture_visible_providers() {
    type C = bc::cid::VisibleProviders;
    let capture = response_of::<C>("libmbim-basic-connect-visible-providers");
    let providers = <C as Cid>::Response::decode(&capture.info).unwrap();
    let orange = |provider_state| Provider {
        provider_id: text("21403"),
        provider_state,
        provider_name: text("Orange"),
        cellular_class: CellularClass::GSM,
        rssi: 11,
        error_rate: 0,
    };
    assert_eq!(
        providers,
        Providers {
            providers: vec![
                orange(ProviderState::VISIBLE),
                orange(ProviderState::HOME | ProviderState::VISIBLE | ProviderState::REGISTERED),
            ],
        }
    );
    assert_eq!(dump(&providers.encode()), dump(&capture.info));
}

#[test]
fn capture_visible_providers_overflow() {
    type C = bc::cid::VisibleProviders;
    let capture = response_of::<C>("libmbim-basic-connect-visible-providers-overflow");
    // Provider 0's id offset and length are 0x80000020 and 0x8000000a.
    let error = <C as Cid>::Response::decode(&capture.info).unwrap_err();
    assert!(error.path.contains("provider_id"), "{error}");
    assert_eq!(
        error.kind,
        PayloadErrorKind::OutOfBounds {
            data_offset: 0x8000_0020,
            length: 0x8000_000a,
            buffer_length: capture.info.len() - 0x14,
        },
        "{error}"
    );
}

#[test]
fn capture_register_state() {
    type C = bc::cid::RegisterState;
    let capture = response_of::<C>("libmbim-basic-connect-register-state");
    let state = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        state,
        RegistrationStateInfo {
            nw_error: NwError::None,
            register_state: RegisterState::Home,
            register_mode: RegisterMode::Automatic,
            available_data_classes: DataClass::UMTS | DataClass::HSDPA | DataClass::HSUPA,
            current_cellular_class: CellularClass::GSM,
            provider_id: text("26006"),
            provider_name: String::new(),
            roaming_text: String::new(),
            registration_flag: RegistrationFlags::PACKET_SERVICE_AUTOMATIC_ATTACH,
        }
    );
    assert_eq!(dump(&state.encode()), dump(&capture.info));
}

#[test]
fn capture_service_activation() {
    type C = bc::cid::ServiceActivation;
    let capture = response_of::<C>("libmbim-basic-connect-service-activation");
    let info = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        info,
        ServiceActivationInfo {
            nw_error: NwError::IllegalMe,
            buffer: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        }
    );
    assert_eq!(dump(&info.encode()), dump(&capture.info));
}

#[test]
fn capture_ip_packet_filters() {
    type C = bc::cid::IpPacketFilters;
    let filter1 = PacketFilter::new(
        vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        vec![0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8],
    )
    .unwrap();
    let filter2 = PacketFilter::new(
        vec![
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x05, 0x06, 0x07, 0x08,
        ],
        vec![
            0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf5, 0xf6, 0xf7, 0xf8,
        ],
    )
    .unwrap();
    for (name, expected) in [
        ("libmbim-basic-connect-ip-packet-filters-none", vec![]),
        (
            "libmbim-basic-connect-ip-packet-filters-one",
            vec![filter1.clone()],
        ),
        (
            "libmbim-basic-connect-ip-packet-filters-two",
            vec![filter1, filter2],
        ),
    ] {
        let capture = response_of::<C>(name);
        let filters = <C as Cid>::Response::decode(&capture.info).unwrap();
        assert_eq!(
            filters,
            PacketFilters {
                session_id: 1,
                packet_filters: expected,
            },
            "{name}"
        );
        assert_eq!(dump(&filters.encode()), dump(&capture.info), "{name}");
    }
}

#[test]
fn capture_provisioned_contexts_without_payload_is_refused() {
    // libmbim refuses this response (INVALID_MESSAGE): its buffer is empty.
    type C = bc::cid::ProvisionedContexts;
    let capture = response_of::<C>("libmbim-provisioned-contexts");
    assert!(capture.info.is_empty());
    let error = <C as Cid>::Response::decode(&capture.info).unwrap_err();
    assert_eq!(error.offset, 0, "{error}");
    assert!(
        matches!(
            error.kind,
            PayloadErrorKind::Truncated {
                needed: 4,
                available: 0
            }
        ),
        "{error}"
    );
}

#[test]
fn capture_connect_short_names_field_and_offset() {
    type C = bc::cid::Connect;
    let capture = capture("libmbim-basic-connect-connect-short");
    assert_eq!(capture.service, bc::UUID);
    assert_eq!(capture.cid, C::ID);
    assert_eq!(capture.status, Some(Status::Failure));
    let error = ConnectInfo::decode(&capture.info).unwrap_err();
    assert_eq!(error.path, "ConnectInfo.session_id");
    assert_eq!(error.offset, 0);
    assert_eq!(
        error.kind,
        PayloadErrorKind::Truncated {
            needed: 4,
            available: 0
        }
    );
    let message = error.to_string();
    assert!(message.contains("ConnectInfo.session_id"), "{message}");
    assert!(message.contains("0x00"), "{message}");
}

#[test]
fn connect_info_truncated_inside_the_static_part() {
    // The same failure when the information buffer stops inside the static
    // part: the error names the first field that does not fit, at its offset.
    let wire = labelled(
        "
        00 00 00 00   # 0x00 session_id: 0
        01 00 00 00   # 0x04 activation_state: activated
        00 00 00 00   # 0x08 voice_call_state: none
        01 00 00 00   # 0x0c ip_type: ipv4
        7e 5e 2a 7e   # 0x10 context_type (first 4 of 16 bytes)
        ",
    );
    let error = ConnectInfo::decode(&wire).unwrap_err();
    assert_eq!(error.path, "ConnectInfo.context_type");
    assert_eq!(error.offset, 0x10);
    assert_eq!(
        error.to_string(),
        "ConnectInfo.context_type at 0x10: needs 16 bytes but only 4 remain"
    );
}

#[test]
fn capture_auth_akap() {
    type C = auth::cid::Akap;
    let capture = response_of::<C>("libmbim-auth-akap");
    let info = <C as Cid>::Response::decode(&capture.info).unwrap();
    assert_eq!(
        info,
        AkaAuthInfo {
            res: counting(0x00),
            res_len: 5,
            integrity_key: descending(0xff),
            ciphering_key: descending(0xaf),
            auts: descending(0x7f),
        }
    );
    // The structure is 66 bytes; the function pads the buffer to 68.
    let encoded = info.encode();
    assert_eq!(encoded.len(), 66);
    assert_eq!(dump(&encoded), dump(&capture.info[..66]));
    assert_eq!(capture.info[66..], [0, 0]);
}

#[test]
fn captures_of_declared_services_decode_through_the_service_tables() {
    // The captures libmbim's own tests expect to fail.
    let refused = [
        "libmbim-basic-connect-visible-providers-overflow",
        "libmbim-provisioned-contexts",
        "libmbim-basic-connect-connect-short",
    ];
    let mut declared = 0;
    for name in capture_names() {
        let capture = capture(&name);
        let Some(service) = services::service(&capture.service) else {
            continue;
        };
        declared += 1;
        let cid = service.cid(capture.cid).unwrap_or_else(|| panic!("{name}"));
        let operation = match (capture.message_type, capture.command_type) {
            (MessageType::Command, Some(CommandType::Query)) => Operation::Query,
            (MessageType::Command, _) => Operation::Set,
            (MessageType::IndicateStatus, _) => Operation::Notification,
            _ => Operation::Response,
        };
        let decoder = cid
            .decoder_at(operation, capture_mbimex_version(&name))
            .unwrap_or_else(|| panic!("{name}"));
        let result = decoder(&capture.info);
        assert_eq!(
            result.is_err(),
            refused.contains(&name.as_str()),
            "{name}: {result:?}"
        );
        if let Ok(value) = result {
            // Personal data in the captures never reaches a masked rendering.
            let masked = format!("{:?}", value.masked());
            for personal in [
                "353613048804622",
                "310410000110761",
                "89010104054601100612",
                "11111111111",
            ] {
                assert!(!masked.contains(personal), "{name}: {masked}");
            }
        }
    }
    assert!(
        declared >= 22,
        "only {declared} captures of declared services"
    );
}

#[test]
fn captures_of_other_services_parse_but_are_not_declared() {
    let mut others = 0;
    for name in capture_names() {
        let capture = capture(&name);
        if services::service(&capture.service).is_some() {
            continue;
        }
        others += 1;
        // Named, so logs say what they are, but decoded as raw bytes.
        let service = services::uuid_name(&capture.service).unwrap_or_else(|| panic!("{name}"));
        assert!(
            ["ms-firmware-id", "sms", "stk", "ussd"].contains(&service),
            "{name}: {service}"
        );
        assert!(name.contains(service), "{name}: {service}");
    }
    assert!(others > 0);
    let pac = capture("libmbim-stk-pac-notification");
    assert_eq!(pac.message_type, MessageType::IndicateStatus);
}

// ---------------------------------------------------------------------------
// libmbim's builder-test messages: the encoder gives libmbim's bytes
// ---------------------------------------------------------------------------

#[test]
fn builder_pin_set() {
    built_by_libmbim::<bc::cid::Pin, <bc::cid::Pin as Cid>::Set>(
        "libmbim-builder-basic-connect-pin-set",
        CommandType::Set,
        &PinSet {
            pin_type: PinType::Pin1,
            pin_operation: PinOperation::Enter,
            pin: text("1111"),
            new_pin: String::new(),
        },
    );
}

#[test]
fn builder_connect_set() {
    built_by_libmbim::<bc::cid::Connect, <bc::cid::Connect as Cid>::Set>(
        "libmbim-builder-basic-connect-connect-set",
        CommandType::Set,
        &ConnectSet {
            session_id: 1,
            activation_command: ActivationCommand::Activate,
            access_string: text("internet"),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::Pap,
            ip_type: ContextIpType::Ipv4,
            context_type: ContextType::Internet.uuid(),
        },
    );
}

#[test]
fn builder_service_activation_set() {
    built_by_libmbim::<bc::cid::ServiceActivation, <bc::cid::ServiceActivation as Cid>::Set>(
        "libmbim-builder-basic-connect-service-activation-set",
        CommandType::Set,
        &ServiceActivationSet {
            buffer: vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        },
    );
}

#[test]
fn builder_device_service_subscribe_list_set() {
    type C = bc::cid::DeviceServiceSubscribeList;
    built_by_libmbim::<C, <C as Cid>::Set>(
        "libmbim-builder-basic-connect-device-service-subscribe-list-set",
        CommandType::Set,
        &EventEntries {
            events: vec![
                EventEntry {
                    device_service_id: bc::UUID,
                    cids: vec![
                        <bc::cid::SignalState as Cid>::ID,
                        <bc::cid::RegisterState as Cid>::ID,
                    ],
                },
                EventEntry {
                    // SMS, MBIM_CID_SMS_READ.
                    device_service_id: Uuid::from_str_const("533fbeeb-14fe-4467-9f90-33a223e56c3f"),
                    cids: vec![2],
                },
            ],
        },
    );
}

#[test]
fn builder_auth_akap_query() {
    built_by_libmbim::<auth::cid::Akap, <auth::cid::Akap as Cid>::Query>(
        "libmbim-builder-auth-akap-query",
        CommandType::Query,
        &AkapAuthRequest {
            rand: counting(0x00),
            autn: descending(0xff),
            network_name: text("1111"),
        },
    );
}

#[test]
fn builder_ip_packet_filters_set() {
    type C = bc::cid::IpPacketFilters;
    let filter =
        |bytes: &[u8], mask: &[u8]| PacketFilter::new(bytes.to_vec(), mask.to_vec()).unwrap();
    let eight = filter(
        &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08],
        &[0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8],
    );
    for (name, packet_filters) in [
        (
            "libmbim-builder-basic-connect-ip-packet-filters-set-none",
            vec![],
        ),
        (
            // Seven bytes: filter and mask each padded with one zero byte.
            "libmbim-builder-basic-connect-ip-packet-filters-set-one",
            vec![filter(
                &[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07],
                &[0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7],
            )],
        ),
        (
            "libmbim-builder-basic-connect-ip-packet-filters-set-two",
            vec![
                eight.clone(),
                filter(
                    &[
                        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x05, 0x06, 0x07, 0x08,
                    ],
                    &[
                        0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf5, 0xf6, 0xf7, 0xf8,
                    ],
                ),
            ],
        ),
    ] {
        built_by_libmbim::<C, <C as Cid>::Set>(
            name,
            CommandType::Set,
            &PacketFilters {
                session_id: 1,
                packet_filters,
            },
        );
    }
}

#[test]
fn builder_multicarrier_providers_set() {
    type C = bc::cid::MulticarrierProviders;
    let orange = |provider_state| Provider {
        provider_id: text("21403"),
        provider_state,
        provider_name: text("Orange"),
        cellular_class: CellularClass::GSM,
        rssi: 11,
        error_rate: 0,
    };
    built_by_libmbim::<C, <C as Cid>::Set>(
        "libmbim-builder-basic-connect-multicarrier-providers-set",
        CommandType::Set,
        &Providers {
            providers: vec![
                orange(ProviderState::VISIBLE),
                orange(ProviderState::HOME | ProviderState::VISIBLE | ProviderState::REGISTERED),
            ],
        },
    );
}
