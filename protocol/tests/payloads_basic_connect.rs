//! Every payload of Basic Connect (MBIM 1.0 §10.5), checked against labelled
//! wire bytes. The other services' payloads have a file each
//! (`payloads_*.rs`), libmbim's captures and builder messages are in
//! `captures_libmbim.rs`.
//!
//! Each layout test writes the payload one field per line, with the field's
//! offset from the start of the structure and its name; `labelled` checks the
//! offsets written in the comments against the byte count, so a label cannot
//! drift from the bytes it describes. The bytes follow MBIM 1.0 §10.5 in the
//! encoder's canonical form: the static part in field order, then the data
//! items in field order, each padded to 4 bytes; strings are UTF-16LE whose
//! length field is the unpadded byte length; an empty string or list has offset
//! 0 and length 0; a gateway is an offset alone (0 when absent); address and
//! DNS arrays are a count and an offset to contiguous elements. Each test
//! decodes the bytes to a value written out in full and encodes that value back
//! to the same bytes.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::services::basic_connect::*;
use mbim_protocol::services::{basic_connect as bc, ms_basic_connect_extensions as ms};
use mbim_protocol::Uuid;
use std::net::{Ipv4Addr, Ipv6Addr};
use support::*;

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
