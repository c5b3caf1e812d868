//! The multi-SIM CIDs of MS Basic Connect Extensions (seed 004, "MB
//! Multi-SIM Operations") from labelled wire bytes: one field per line with
//! its offset, decoding to the value written out in full and encoding back to
//! the same bytes.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::services::ms_basic_connect_extensions::{
    DeviceSlotMappingInfo, SlotIndex, SlotInfo, SlotInfoRequest, SysCapsInfo, UiccSlotState,
};
use support::*;

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
