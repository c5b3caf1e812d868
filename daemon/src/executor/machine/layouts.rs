//! The CIDs whose layout the agreed MBIM extensions version changes: what
//! the function answers and indicates is decoded in that version's form
//! and handed to the phases as MBIM 1.0's fields, while what the later
//! forms add (data class and subclass, frequency range, RSRP and SNR per
//! radio technology, the network's PCO) goes into the status. CONNECT's
//! SET is written in the agreed form.

use super::{ExecutorMachine, Request};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::pco::SessionOptions;
use mbim_protocol::services::basic_connect::{self as bc, DataClass};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use std::time::Instant;

/// MBIMEx 3.0's data class, in 1.0's bits: its one 5G bit says 5G NSA or
/// SA as the data subclass tells (NR: standalone).
fn data_class_from_v3(class: bc::DataClassV3, subclass: bc::DataSubclass) -> DataClass {
    let mut v1 = DataClass::from_bits(class.bits() & !bc::DataClassV3::NR5G.bits());
    if class.contains(bc::DataClassV3::NR5G) {
        v1 |= if subclass.contains(bc::DataSubclass::NR5G_NR) {
            DataClass::NR5G_SA
        } else {
            DataClass::NR5G_NSA
        };
    }
    v1
}

impl ExecutorMachine {
    /// SUBSCRIBER_READY_STATUS (3.0 adds SIM flags, which are not used).
    pub(super) fn decode_ready(
        &mut self,
        now: Instant,
        what: &str,
        buffer: &[u8],
    ) -> Option<bc::SubscriberReadyInfo> {
        if self.mbimex < MbimExVersion::V3 {
            return self.decode::<bc::SubscriberReadyInfo>(now, what, buffer);
        }
        let info = self.decode::<bc::SubscriberReadyInfoV3>(now, what, buffer)?;
        Some(bc::SubscriberReadyInfo {
            ready_state: info.ready_state,
            subscriber_id: info.subscriber_id,
            sim_iccid: info.sim_iccid,
            ready_info: info.ready_info,
            telephone_numbers: info.telephone_numbers,
        })
    }

    /// REGISTER_STATE (2.0 adds the preferred data classes).
    pub(super) fn decode_registration(
        &mut self,
        now: Instant,
        what: &str,
        buffer: &[u8],
    ) -> Option<bc::RegistrationStateInfo> {
        if self.mbimex < MbimExVersion::V2 {
            return self.decode::<bc::RegistrationStateInfo>(now, what, buffer);
        }
        let info = self.decode::<bc::RegistrationStateInfoV2>(now, what, buffer)?;
        self.status.preferred_data_classes = Some(info.preferred_data_classes.bits());
        Some(bc::RegistrationStateInfo {
            nw_error: info.nw_error,
            register_state: info.register_state,
            register_mode: info.register_mode,
            available_data_classes: info.available_data_classes,
            current_cellular_class: info.current_cellular_class,
            provider_id: info.provider_id,
            provider_name: info.provider_name,
            roaming_text: info.roaming_text,
            registration_flag: info.registration_flag,
        })
    }

    /// PACKET_SERVICE (2.0: the data class in use and the 5G frequency
    /// range; 3.0: the data subclass and tracking area), those kept in the
    /// status.
    pub(super) fn decode_packet(
        &mut self,
        now: Instant,
        what: &str,
        buffer: &[u8],
    ) -> Option<bc::PacketServiceInfo> {
        let (info, radio) = match self.mbimex {
            MbimExVersion::V1 => {
                let info = self.decode::<bc::PacketServiceInfo>(now, what, buffer)?;
                let class = info.highest_available_data_class;
                (
                    info,
                    (
                        class,
                        bc::DataSubclass::empty(),
                        bc::FrequencyRange::empty(),
                    ),
                )
            }
            MbimExVersion::V2 => {
                let info = self.decode::<bc::PacketServiceInfoV2>(now, what, buffer)?;
                (
                    bc::PacketServiceInfo {
                        nw_error: info.nw_error,
                        packet_service_state: info.packet_service_state,
                        highest_available_data_class: info.current_data_class,
                        uplink_speed: info.uplink_speed,
                        downlink_speed: info.downlink_speed,
                    },
                    (
                        info.current_data_class,
                        bc::DataSubclass::empty(),
                        info.frequency_range,
                    ),
                )
            }
            MbimExVersion::V3 | MbimExVersion::V4 => {
                let info = self.decode::<bc::PacketServiceInfoV3>(now, what, buffer)?;
                let class =
                    data_class_from_v3(info.highest_available_data_class, info.data_subclass);
                (
                    bc::PacketServiceInfo {
                        nw_error: info.nw_error,
                        packet_service_state: info.packet_service_state,
                        highest_available_data_class: class,
                        uplink_speed: info.uplink_speed,
                        downlink_speed: info.downlink_speed,
                    },
                    (class, info.data_subclass, info.frequency_range),
                )
            }
        };
        let details = &mut self.status.radio;
        (
            details.data_class,
            details.data_subclass,
            details.frequency_range,
        ) = radio;
        Some(info)
    }

    /// SIGNAL_STATE (2.0 adds RSRP and SNR per radio technology, kept in
    /// the status).
    pub(super) fn decode_signal(
        &mut self,
        now: Instant,
        what: &str,
        buffer: &[u8],
    ) -> Option<bc::SignalStateInfo> {
        if self.mbimex < MbimExVersion::V2 {
            return self.decode::<bc::SignalStateInfo>(now, what, buffer);
        }
        let info = self.decode::<bc::SignalStateInfoV2>(now, what, buffer)?;
        self.status.radio.signal = info.rsrp_snr;
        Some(bc::SignalStateInfo {
            rssi: info.rssi,
            error_rate: info.error_rate,
            signal_strength_interval: info.signal_strength_interval,
            rssi_threshold: info.rssi_threshold,
            error_rate_threshold: info.error_rate_threshold,
        })
    }

    /// CONNECT's answer or indication (3.0 adds the access string and the
    /// unnamed IEs: the network's PCO is kept in the status).
    pub(super) fn decode_connect(
        &mut self,
        now: Instant,
        what: &str,
        buffer: &[u8],
    ) -> Option<bc::ConnectInfo> {
        if self.mbimex < MbimExVersion::V3 {
            return self.decode::<bc::ConnectInfo>(now, what, buffer);
        }
        let info = if self.mbimex < MbimExVersion::V4 {
            self.decode::<bc::ConnectInfoV3>(now, what, buffer)?
        } else {
            bc::ConnectInfoV3::from(self.decode::<bc::ConnectInfoV4>(now, what, buffer)?)
        };
        if info.session_id == self.config.session_id {
            self.take_pco(now, info.pco());
        }
        Some(bc::ConnectInfo::from(info))
    }

    /// CONNECT's refusal, which may carry the network's cause: an odd
    /// buffer is no anomaly there (the status says enough).
    pub(super) fn decode_connect_refusal(&self, buffer: &[u8]) -> Option<bc::ConnectInfo> {
        use mbim_protocol::codec::Payload;
        if self.mbimex < MbimExVersion::V3 {
            return bc::ConnectInfo::decode(buffer).ok();
        }
        let info = if self.mbimex < MbimExVersion::V4 {
            bc::ConnectInfoV3::decode(buffer).ok()?
        } else {
            bc::ConnectInfoV3::from(bc::ConnectInfoV4::decode(buffer).ok()?)
        };
        Some(bc::ConnectInfo::from(info))
    }

    fn take_pco<'a>(&mut self, now: Instant, mut pco: impl Iterator<Item = &'a [u8]>) {
        let Some(bytes) = pco.next() else {
            return;
        };
        match SessionOptions::from_pco(bytes) {
            Ok(options) => self.status.pco = Some(options),
            Err(error) => self.misbehaved(
                now,
                &format!("undecodable PCO: {}", crate::logging::chain(&error)),
            ),
        }
    }

    /// DEVICE_CAPS_V2 (3.0: with the data subclass and bands, its strings
    /// as TLVs).
    pub(super) fn decode_device_caps_v2(
        &mut self,
        now: Instant,
        what: &str,
        buffer: &[u8],
    ) -> Option<ms::DeviceCapsInfoV2> {
        if self.mbimex < MbimExVersion::V3 {
            return self.decode::<ms::DeviceCapsInfoV2>(now, what, buffer);
        }
        let caps = self.decode::<ms::DeviceCapsInfoV3>(now, what, buffer)?;
        let subclass = bc::DataSubclass::from_bits(
            u32::try_from(caps.data_subclass.bits()).unwrap_or_default(),
        );
        self.status.radio.device_data_subclass = subclass;
        Some(ms::DeviceCapsInfoV2 {
            device_type: caps.device_type,
            cellular_class: caps.cellular_class,
            voice_class: caps.voice_class,
            sim_class: caps.sim_class,
            data_class: data_class_from_v3(caps.data_class, subclass),
            sms_caps: caps.sms_caps,
            control_caps: caps.control_caps,
            max_sessions: caps.max_sessions,
            custom_data_class: caps.custom_data_class,
            device_id: caps.device_id,
            firmware_info: caps.firmware_info,
            hardware_info: caps.hardware_info,
            executor_index: caps.executor_index,
        })
    }

    /// CONNECT's SET in the agreed form (3.0: the access string as a TLV,
    /// the access media preference; 4.0: the attributes given, on the
    /// default network slice).
    pub(super) fn connect_request(&self, set: bc::ConnectSet) -> Request {
        if self.mbimex < MbimExVersion::V3 {
            return Request::set::<bc::cid::Connect>(&set);
        }
        let v3 = bc::ConnectSetV3 {
            session_id: set.session_id,
            activation_command: set.activation_command,
            compression: set.compression,
            auth_protocol: set.auth_protocol,
            ip_type: set.ip_type,
            context_type: set.context_type,
            media_preference: bc::AccessMediaType::ThreeGpp,
            access_string: set.access_string,
            user_name: set.user_name,
            password: set.password,
            unnamed_ies: Vec::new(),
        };
        if self.mbimex >= MbimExVersion::V4 {
            // The executor uses the default network slice only.
            return Request::set::<bc::cid::ConnectV4>(&bc::ConnectSetV4::from(v3));
        }
        Request::set::<bc::cid::ConnectV3>(&v3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_3_0_data_class_reads_as_1_0_with_the_subclass() {
        // (3.0 class, subclass) -> 1.0 class
        let table = [
            (
                bc::DataClassV3::LTE,
                bc::DataSubclass::empty(),
                DataClass::LTE,
            ),
            (
                bc::DataClassV3::LTE | bc::DataClassV3::NR5G,
                bc::DataSubclass::NR5G_ENDC,
                DataClass::LTE | DataClass::NR5G_NSA,
            ),
            (
                bc::DataClassV3::NR5G,
                bc::DataSubclass::NR5G_NR,
                DataClass::NR5G_SA,
            ),
        ];
        for (class, subclass, v1) in table {
            assert_eq!(data_class_from_v3(class, subclass), v1, "{class:?}");
        }
    }
}
