//! What crosses a function in the MBIM extensions layouts agreed on it
//! (MBIM_CID_VERSION): the model keeps MBIM 1.0's payloads, and these pure
//! conversions put its answers and indications into the 2.0 and 3.0 forms
//! and take the host's requests out of them. Each conversion decodes the
//! 1.0 form; a payload that does not decode (an empty failure buffer) is
//! passed on as it is.

use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::message::CommandHead;
use mbim_protocol::services::basic_connect::{self as bc, DataClass};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::Cid;
use mbim_protocol::status::CommandType;
use mbim_protocol::Payload;

/// What the 2.0 and 3.0 layouts carry beyond MBIM 1.0's, for one executor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extras {
    /// The data class in use while registered (empty otherwise).
    pub(crate) data_class: DataClass,
    /// The data classes the modem has (DEVICE_CAPS).
    pub(crate) device_data_classes: DataClass,
    /// The data classes it prefers (REGISTER_STATE's, from 2.0).
    pub(crate) preferred_data_classes: DataClass,
    /// RSRP as SIGNAL_STATE codes it (0 is -156 dBm), while registered.
    pub(crate) rsrp: Option<u32>,
    /// SNR as SIGNAL_STATE codes it (0 is -23.5 dB).
    pub(crate) snr: u32,
    /// MCC and MNC of the network, for the tracking area.
    pub(crate) plmn: (u16, u16),
    /// The network's PCO per active session id, when it sends one
    /// (CONNECT's PCO element from 3.0 on).
    pub(crate) session_pco: Vec<(u32, Vec<u8>)>,
}

/// RSRP in dBm as SIGNAL_STATE codes it.
pub(crate) fn rsrp_code(dbm: i32) -> u32 {
    u32::try_from(dbm.saturating_add(157).clamp(0, 126)).unwrap_or(0)
}

/// SNR in dB as SIGNAL_STATE codes it (half-dB steps from -23.5 dB).
pub(crate) fn snr_code(db: i32) -> u32 {
    u32::try_from(db.saturating_mul(2).saturating_add(47).clamp(0, 127)).unwrap_or(0)
}

fn is_5g(class: DataClass) -> bool {
    !(class & (DataClass::NR5G_NSA | DataClass::NR5G_SA)).is_empty()
}

/// MBIMEx 3.0's data class: one 5G bit for both 5G classes.
fn data_class_v3(class: DataClass) -> bc::DataClassV3 {
    let mut v3 = bc::DataClassV3::from_bits(
        class.bits() & !(DataClass::NR5G_NSA | DataClass::NR5G_SA).bits(),
    );
    if is_5g(class) {
        v3 |= bc::DataClassV3::NR5G;
    }
    v3
}

/// How 5G is reached: E-UTRA-NR dual connectivity for 5G NSA, NR for SA.
fn data_subclass(class: DataClass) -> bc::DataSubclass {
    let mut subclass = bc::DataSubclass::empty();
    if class.contains(DataClass::NR5G_NSA) {
        subclass |= bc::DataSubclass::NR5G_ENDC;
    }
    if class.contains(DataClass::NR5G_SA) {
        subclass |= bc::DataSubclass::NR5G_NR;
    }
    subclass
}

fn frequency_range(class: DataClass) -> bc::FrequencyRange {
    if is_5g(class) {
        bc::FrequencyRange::RANGE_1
    } else {
        bc::FrequencyRange::empty()
    }
}

/// `buffer`, the 1.0 form of `service`/`cid`'s answer or indication, in
/// `version`'s layout.
pub(crate) fn outgoing(
    version: MbimExVersion,
    service: mbim_protocol::Uuid,
    cid: u32,
    extras: &Extras,
    buffer: Vec<u8>,
) -> Vec<u8> {
    if version == MbimExVersion::V1 || buffer.is_empty() {
        return buffer;
    }
    let converted = if service == bc::SERVICE.uuid {
        match cid {
            bc::cid::RegisterState::ID => register_state(&buffer, extras),
            bc::cid::PacketService::ID => packet_service(version, &buffer, extras),
            bc::cid::SignalState::ID => signal_state(&buffer, extras),
            bc::cid::SubscriberReadyStatus::ID if version >= MbimExVersion::V3 => {
                subscriber_ready(&buffer)
            }
            bc::cid::Connect::ID if version >= MbimExVersion::V3 => {
                connect(version, &buffer, extras)
            }
            _ => None,
        }
    } else if service == ms::SERVICE.uuid
        && cid == ms::cid::DeviceCapsV2::ID
        && version >= MbimExVersion::V3
    {
        device_caps(&buffer, extras)
    } else if service == ms::SERVICE.uuid
        && cid == ms::cid::ProvisionedContexts::ID
        && version >= MbimExVersion::V4
    {
        provisioned_contexts_v4(&buffer)
    } else {
        None
    };
    converted.unwrap_or(buffer)
}

/// A request from the host in `version`'s layout, in MBIM 1.0's form (the
/// one the model reads). Only CONNECT's SET changes shape up to 4.0 (a
/// request for a slice other than the default one is refused as invalid).
pub(crate) fn incoming(version: MbimExVersion, head: &CommandHead, data: Vec<u8>) -> Vec<u8> {
    let connect_set = head.service == bc::SERVICE.uuid
        && head.cid == bc::cid::Connect::ID
        && head.command_type == CommandType::Set;
    if version < MbimExVersion::V3 || !connect_set {
        return data;
    }
    if version >= MbimExVersion::V4 {
        return match bc::ConnectSetV4::decode(&data) {
            Ok(set) if set.snssai.data.is_empty() => bc::ConnectSet {
                session_id: set.session_id,
                activation_command: set.activation_command,
                access_string: set.access_string,
                user_name: set.user_name,
                password: set.password,
                compression: set.compression,
                auth_protocol: set.auth_protocol,
                ip_type: set.ip_type,
                context_type: set.context_type,
            }
            .encode(),
            _ => Vec::new(),
        };
    }
    match bc::ConnectSetV3::decode(&data) {
        Ok(set) => bc::ConnectSet {
            session_id: set.session_id,
            activation_command: set.activation_command,
            access_string: set.access_string,
            user_name: set.user_name,
            password: set.password,
            compression: set.compression,
            auth_protocol: set.auth_protocol,
            ip_type: set.ip_type,
            context_type: set.context_type,
        }
        .encode(),
        // Left for the 1.0 decoder to refuse as invalid parameters.
        Err(_) => Vec::new(),
    }
}

fn register_state(buffer: &[u8], extras: &Extras) -> Option<Vec<u8>> {
    let info = bc::RegistrationStateInfo::decode(buffer).ok()?;
    Some(
        bc::RegistrationStateInfoV2 {
            nw_error: info.nw_error,
            register_state: info.register_state,
            register_mode: info.register_mode,
            available_data_classes: info.available_data_classes,
            current_cellular_class: info.current_cellular_class,
            provider_id: info.provider_id,
            provider_name: info.provider_name,
            roaming_text: info.roaming_text,
            registration_flag: info.registration_flag,
            preferred_data_classes: extras.preferred_data_classes,
        }
        .encode(),
    )
}

fn packet_service(version: MbimExVersion, buffer: &[u8], extras: &Extras) -> Option<Vec<u8>> {
    let info = bc::PacketServiceInfo::decode(buffer).ok()?;
    let class = info.highest_available_data_class;
    if version == MbimExVersion::V2 {
        return Some(
            bc::PacketServiceInfoV2 {
                nw_error: info.nw_error,
                packet_service_state: info.packet_service_state,
                current_data_class: class,
                uplink_speed: info.uplink_speed,
                downlink_speed: info.downlink_speed,
                frequency_range: frequency_range(class),
            }
            .encode(),
        );
    }
    let attached = !class.is_empty();
    Some(
        bc::PacketServiceInfoV3 {
            nw_error: info.nw_error,
            packet_service_state: info.packet_service_state,
            highest_available_data_class: data_class_v3(class),
            uplink_speed: info.uplink_speed,
            downlink_speed: info.downlink_speed,
            frequency_range: frequency_range(class),
            data_subclass: data_subclass(class),
            tai: if attached {
                bc::Tai {
                    plmn_mcc: extras.plmn.0,
                    plmn_mnc: extras.plmn.1,
                    tac: 1,
                }
            } else {
                bc::Tai::default()
            },
        }
        .encode(),
    )
}

fn signal_state(buffer: &[u8], extras: &Extras) -> Option<Vec<u8>> {
    let info = bc::SignalStateInfo::decode(buffer).ok()?;
    let measured = |system_type| bc::RsrpSnrInfo {
        rsrp: extras.rsrp.unwrap_or(127),
        snr: extras.snr,
        rsrp_threshold: 0,
        snr_threshold: 0,
        system_type,
    };
    let mut rsrp_snr = Vec::new();
    if extras.rsrp.is_some() {
        // 5G NSA: LTE anchors, NR carries data; both are measured.
        if !extras.data_class.contains(DataClass::NR5G_SA) {
            rsrp_snr.push(measured(DataClass::LTE));
        }
        if is_5g(extras.data_class) {
            rsrp_snr.push(measured(
                extras.data_class & (DataClass::NR5G_NSA | DataClass::NR5G_SA),
            ));
        }
    }
    Some(
        bc::SignalStateInfoV2 {
            rssi: info.rssi,
            error_rate: info.error_rate,
            signal_strength_interval: info.signal_strength_interval,
            rssi_threshold: info.rssi_threshold,
            error_rate_threshold: info.error_rate_threshold,
            rsrp_snr,
        }
        .encode(),
    )
}

fn subscriber_ready(buffer: &[u8]) -> Option<Vec<u8>> {
    let info = bc::SubscriberReadyInfo::decode(buffer).ok()?;
    Some(
        bc::SubscriberReadyInfoV3 {
            ready_state: info.ready_state,
            flags: bc::SubscriberReadyStatusFlags::SIM_REMOVABILITY_KNOWN
                | bc::SubscriberReadyStatusFlags::SIM_REMOVABLE,
            subscriber_id: info.subscriber_id,
            sim_iccid: info.sim_iccid,
            ready_info: info.ready_info,
            telephone_numbers: info.telephone_numbers,
        }
        .encode(),
    )
}

/// PROVISIONED_CONTEXTS in 4.0's layout: each context on the default slice.
fn provisioned_contexts_v4(buffer: &[u8]) -> Option<Vec<u8>> {
    let info = ms::ProvisionedContextsV2::decode(buffer).ok()?;
    Some(ms::ProvisionedContextsV4::from(info).encode())
}

fn connect(version: MbimExVersion, buffer: &[u8], extras: &Extras) -> Option<Vec<u8>> {
    let info = bc::ConnectInfo::decode(buffer).ok()?;
    let pco = extras
        .session_pco
        .iter()
        .filter(|_| info.activation_state == bc::ActivationState::Activated)
        .find(|(session, _)| *session == info.session_id)
        .map(|(_, pco)| mbim_protocol::tlv::Tlv {
            tlv_type: mbim_protocol::tlv::TlvType::Pco,
            data: pco.clone(),
        });
    let unnamed_ies = pco.into_iter().collect();
    // The model keeps no APN per session; 3.0 allows it empty.
    let v3 = bc::ConnectInfoV3 {
        session_id: info.session_id,
        activation_state: info.activation_state,
        voice_call_state: info.voice_call_state,
        ip_type: info.ip_type,
        context_type: info.context_type,
        nw_error: info.nw_error,
        media_preference: bc::AccessMediaType::ThreeGpp,
        access_string: String::new(),
        unnamed_ies,
    };
    if version >= MbimExVersion::V4 {
        // Every session on the default slice.
        return Some(bc::ConnectInfoV4::from(v3).encode());
    }
    Some(v3.encode())
}

fn device_caps(buffer: &[u8], extras: &Extras) -> Option<Vec<u8>> {
    let caps = ms::DeviceCapsInfoV2::decode(buffer).ok()?;
    Some(
        ms::DeviceCapsInfoV3 {
            device_type: caps.device_type,
            cellular_class: caps.cellular_class,
            voice_class: caps.voice_class,
            sim_class: caps.sim_class,
            data_class: data_class_v3(caps.data_class),
            sms_caps: caps.sms_caps,
            control_caps: caps.control_caps,
            data_subclass: bc::WideDataSubclass::from_bits(u64::from(
                data_subclass(extras.device_data_classes).bits(),
            )),
            max_sessions: caps.max_sessions,
            executor_index: caps.executor_index,
            wcdma_band_class: 0,
            lte_band_class: vec![1, 3, 7, 20],
            nr_band_class: if is_5g(extras.device_data_classes) {
                vec![78]
            } else {
                Vec::new()
            },
            custom_data_class: caps.custom_data_class,
            device_id: caps.device_id,
            firmware_info: caps.firmware_info,
            hardware_info: caps.hardware_info,
        }
        .encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_signal_states_scales() {
        assert_eq!(rsrp_code(-95), 62);
        assert_eq!(
            bc::RsrpSnrInfo {
                rsrp: rsrp_code(-95),
                snr: snr_code(12),
                rsrp_threshold: 0,
                snr_threshold: 0,
                system_type: DataClass::LTE,
            }
            .rsrp_dbm(),
            Some(-95)
        );
        assert_eq!(rsrp_code(-200), 0);
        assert_eq!(rsrp_code(0), 126);
        assert_eq!(snr_code(12), 71);
        assert_eq!(snr_code(-30), 0);
    }

    #[test]
    fn five_g_classes_map_to_subclasses() {
        // data class -> (3.0 class, subclass, frequency range)
        let table = [
            (
                DataClass::LTE,
                bc::DataClassV3::LTE,
                bc::DataSubclass::empty(),
                bc::FrequencyRange::empty(),
            ),
            (
                DataClass::LTE | DataClass::NR5G_NSA,
                bc::DataClassV3::LTE | bc::DataClassV3::NR5G,
                bc::DataSubclass::NR5G_ENDC,
                bc::FrequencyRange::RANGE_1,
            ),
            (
                DataClass::NR5G_SA,
                bc::DataClassV3::NR5G,
                bc::DataSubclass::NR5G_NR,
                bc::FrequencyRange::RANGE_1,
            ),
        ];
        for (class, v3, subclass, range) in table {
            assert_eq!(data_class_v3(class), v3, "{class:?}");
            assert_eq!(data_subclass(class), subclass, "{class:?}");
            assert_eq!(frequency_range(class), range, "{class:?}");
        }
    }

    #[test]
    fn a_1_0_device_passes_everything_on_as_it_is() {
        let buffer = bc::SignalStateInfo::default().encode();
        let out = outgoing(
            MbimExVersion::V1,
            bc::SERVICE.uuid,
            bc::cid::SignalState::ID,
            &Extras::default(),
            buffer.clone(),
        );
        assert_eq!(out, buffer);
    }
}
