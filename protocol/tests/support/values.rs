//! Example payload values that more than one test file checks: the layout
//! tests decode their bytes to these, the privacy tests describe them.

use super::text;
use mbim_protocol::services::auth::{AkaAuthInfo, SimAuthInfo};
use mbim_protocol::services::basic_connect::*;
use mbim_protocol::services::ms_basic_connect_extensions::DeviceCapsInfoV2;

/// A Sierra Wireless EM7455's device capabilities (MBIM 1.0 layout).
pub(crate) fn em7455_caps() -> DeviceCapsInfo {
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

/// A SIM that is ready, with its subscriber identity, ICCID and number.
pub(crate) fn subscriber_ready() -> SubscriberReadyInfo {
    SubscriberReadyInfo {
        ready_state: SubscriberReadyState::Initialized,
        subscriber_id: text("310260123456789"),
        sim_iccid: text("8901260123456789012"),
        ready_info: ReadyInfoFlags::PROTECT_UNIQUE_ID,
        telephone_numbers: vec![text("+15551234567"), text("+15557654321")],
    }
}

/// A PUK entered with a new PIN.
pub(crate) fn puk_entry() -> PinSet {
    PinSet {
        pin_type: PinType::Puk1,
        pin_operation: PinOperation::Enter,
        pin: text("12345678"),
        new_pin: text("4321"),
    }
}

/// An activation of the default internet context.
pub(crate) fn internet_connect() -> ConnectSet {
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

/// A context provisioned with its credentials.
pub(crate) fn provisioned_context_set() -> ProvisionedContextSet {
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

/// A Quectel EM120R-GL's device capabilities, MBIMEx 2.0 layout.
pub(crate) fn em120_caps_v2() -> DeviceCapsInfoV2 {
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

/// An AKA answer from the SIM.
pub(crate) fn aka_info() -> AkaAuthInfo {
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

/// A GSM SIM authentication answer from the SIM.
pub(crate) fn sim_info() -> SimAuthInfo {
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

/// `start`, `start + 1`, … (16 bytes).
pub(crate) fn counting(start: u8) -> [u8; 16] {
    let mut out = [0; 16];
    for (byte, value) in out.iter_mut().zip(start..) {
        *byte = value;
    }
    out
}

/// `start`, `start - 1`, … (`N` bytes).
pub(crate) fn descending<const N: usize>(start: u8) -> [u8; N] {
    let mut out = [0; N];
    for (byte, value) in out.iter_mut().zip((0..=start).rev()) {
        *byte = value;
    }
    out
}
