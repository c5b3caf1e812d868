//! The MBIMEx 3.0 and 4.0 layouts of Basic Connect (5G standalone): CONNECT
//! with the access media preference, TLV strings and unnamed IEs (PCO among
//! them), SUBSCRIBER_READY_STATUS with SIM flags, PACKET_SERVICE with the
//! data subclass and tracking area, IP_PACKET_FILTERS with filter ids.
//! Layouts as libmbim's `mbim-service-ms-basic-connect-v3.json`; CONNECT's
//! 4.0 layout (activation option, S-NSSAI) as the MBIMEx 4.0 specification
//! gives it and Wireshark's MBIM dissector reads it (libmbim has no 4.0
//! layouts yet).

use super::v2::FrequencyRange;
use super::{
    ActivationCommand, ActivationState, AuthProtocol, Compression, ConnectInfo, ContextIpType,
    NwError, PacketServiceState, ReadyInfoFlags, SubscriberReadyState, VoiceCallState,
};
use crate::codec::{DecodeBudget, Payload, PayloadError, StructReader, StructWriter};
use crate::describe::{Describe, Value};
use crate::tlv::{Tlv, TlvType};
use crate::uuid::Uuid;
use crate::{mbim_enum, mbim_flags, mbim_struct};

mbim_flags! {
    /// MBIM_DATA_CLASS_V3: MBIM_DATA_CLASS with one 5G bit; whether it is
    /// NSA or SA is the data subclass.
    pub struct DataClassV3: u32 {
        /// GPRS.
        const GPRS = 0x1 => "gprs";
        /// EDGE.
        const EDGE = 0x2 => "edge";
        /// UMTS.
        const UMTS = 0x4 => "umts";
        /// HSDPA.
        const HSDPA = 0x8 => "hsdpa";
        /// HSUPA.
        const HSUPA = 0x10 => "hsupa";
        /// LTE.
        const LTE = 0x20 => "lte";
        /// 5G (see [`DataSubclass`] for NSA/SA).
        const NR5G = 0x40 => "5g";
        /// CDMA 1xRTT.
        const CDMA_1XRTT = 0x10000 => "1xrtt";
        /// CDMA 1xEV-DO.
        const CDMA_1XEVDO = 0x20000 => "1xevdo";
        /// CDMA 1xEV-DO Rev. A.
        const CDMA_1XEVDO_REVA = 0x40000 => "1xevdo-reva";
        /// CDMA 1xEV-DV.
        const CDMA_1XEVDV = 0x80000 => "1xevdv";
        /// CDMA 3xRTT.
        const CDMA_3XRTT = 0x100000 => "3xrtt";
        /// CDMA 1xEV-DO Rev. B.
        const CDMA_1XEVDO_REVB = 0x200000 => "1xevdo-revb";
        /// UMB.
        const UMB = 0x400000 => "umb";
        /// A custom class, named in CustomDataClass.
        const CUSTOM = 0x80000000 => "custom";
    }
}

/// MBIM_DATA_SUBCLASS, declared once for both widths it has on the wire.
macro_rules! data_subclass {
    ($(#[$meta:meta])* $name:ident: $repr:ident) => {
        mbim_flags! {
            $(#[$meta])*
            pub struct $name: $repr {
                /// EN-DC: LTE anchor with NR (5G NSA).
                const NR5G_ENDC = 0x1 => "5g-endc";
                /// NR standalone (5G SA).
                const NR5G_NR = 0x2 => "5g-nr";
                /// NE-DC: NR anchor with E-UTRA.
                const NR5G_NEDC = 0x4 => "5g-nedc";
                /// eLTE: E-UTRA connected to the 5G core.
                const NR5G_ELTE = 0x8 => "5g-elte";
                /// NGEN-DC: eLTE anchor with NR.
                const NR5G_NGENDC = 0x10 => "5g-ngendc";
            }
        }
    };
}

data_subclass! {
    /// MBIM_DATA_SUBCLASS: how 5G is reached (3GPP TS 37.340 dual connectivity).
    DataSubclass: u32
}

data_subclass! {
    /// MBIM_DATA_SUBCLASS in the 64-bit field of MS DEVICE_CAPS v3.
    WideDataSubclass: u64
}

mbim_flags! {
    /// MBIM_SUBSCRIBER_READY_STATUS_FLAGS.
    pub struct SubscriberReadyStatusFlags: u32 {
        /// The SIM is an eSIM.
        const ESIM = 0x1 => "esim";
        /// Whether the SIM is removable is known (the next flag says it).
        const SIM_REMOVABILITY_KNOWN = 0x2 => "sim-removability-known";
        /// The SIM is removable.
        const SIM_REMOVABLE = 0x4 => "sim-removable";
    }
}

/// MBIM_SUBSCRIBER_READY_INFO_V3: MBIM_SUBSCRIBER_READY_INFO with SIM flags.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SubscriberReadyInfoV3 {
    /// Whether the SIM is usable.
    pub ready_state: SubscriberReadyState,
    /// eSIM and removability.
    pub flags: SubscriberReadyStatusFlags,
    /// IMSI (GSM) or MIN/IRM (CDMA).
    #[mbim(personal)]
    pub subscriber_id: String,
    /// The SIM's ICCID.
    #[mbim(personal)]
    pub sim_iccid: String,
    /// Flags.
    pub ready_info: ReadyInfoFlags,
    #[mbim(count_of = telephone_numbers)]
    telephone_numbers_count: u32,
    /// The subscription's telephone numbers.
    #[mbim(personal)]
    pub telephone_numbers: Vec<String>,
}

/// MBIM_TAI: a tracking area identity.
#[mbim_struct(inline)]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Tai {
    /// The PLMN's mobile country code.
    pub plmn_mcc: u16,
    /// The PLMN's mobile network code.
    pub plmn_mnc: u16,
    /// The tracking area code.
    pub tac: u32,
}

/// MBIM_PACKET_SERVICE_INFO_V3: the 5G data subclass and the tracking area.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketServiceInfoV3 {
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Attach state.
    pub packet_service_state: PacketServiceState,
    /// The best data class available.
    pub highest_available_data_class: DataClassV3,
    /// Uplink speed, bits per second.
    pub uplink_speed: u64,
    /// Downlink speed, bits per second.
    pub downlink_speed: u64,
    /// The 5G frequency ranges in use.
    pub frequency_range: FrequencyRange,
    /// How 5G is reached (NSA, SA…).
    pub data_subclass: DataSubclass,
    /// The tracking area registered in.
    pub tai: Tai,
}

mbim_enum! {
    /// MBIM_ACCESS_MEDIA_TYPE: over which access a data session may run.
    pub enum AccessMediaType {
        /// Not said: the device decides.
        Unspecified = 0 => "unknown",
        /// 3GPP (cellular) only.
        ThreeGpp = 1 => "3gpp",
        /// 3GPP preferred, non-3GPP (Wi-Fi) allowed.
        ThreeGppPreferred = 2 => "3gpp-preferred",
    }
}

/// MBIM_CONNECT query of MBIMEx 3.0: the session asked about, alone.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ConnectQueryV3 {
    /// The IP session.
    pub session_id: u32,
}

/// MBIM_SET_CONNECT_V3.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectSetV3 {
    /// The IP session (0 for the default).
    pub session_id: u32,
    /// Activate or deactivate.
    pub activation_command: ActivationCommand,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Context type (see [`ContextType`](super::ContextType)).
    pub context_type: Uuid,
    /// Over which access the session may run.
    pub media_preference: AccessMediaType,
    /// The APN.
    #[mbim(tlv_string)]
    pub access_string: String,
    /// User name.
    #[mbim(tlv_string)]
    pub user_name: String,
    /// Password.
    #[mbim(tlv_string, secret)]
    pub password: String,
    /// Further information elements.
    pub unnamed_ies: Vec<Tlv>,
}

/// MBIM_CONNECT_INFO_V3 (also the notification).
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectInfoV3 {
    /// The IP session.
    pub session_id: u32,
    /// Activation state.
    pub activation_state: ActivationState,
    /// Voice call state.
    pub voice_call_state: VoiceCallState,
    /// IP version(s) obtained.
    pub ip_type: ContextIpType,
    /// Context type.
    pub context_type: Uuid,
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Over which access the session runs.
    pub media_preference: AccessMediaType,
    /// The APN.
    #[mbim(tlv_string)]
    pub access_string: String,
    /// Further information elements: PCO from the network, among others.
    pub unnamed_ies: Vec<Tlv>,
}

/// The data of every PCO element among `ies` (3GPP TS 24.008 §10.5.6.3).
fn pco_of(ies: &[Tlv]) -> impl Iterator<Item = &[u8]> {
    ies.iter()
        .filter(|ie| ie.tlv_type == TlvType::Pco)
        .map(|ie| ie.data.as_slice())
}

impl ConnectInfoV3 {
    /// The protocol configuration options the network sent, if any
    /// ([`SessionOptions::from_pco`](crate::pco::SessionOptions::from_pco)
    /// reads the DNS, P-CSCF and MTU in them).
    pub fn pco(&self) -> impl Iterator<Item = &[u8]> {
        pco_of(&self.unnamed_ies)
    }
}

mbim_enum! {
    /// MBIM_ACTIVATION_OPTION (MBIMEx 4.0): how a PDU session's attributes
    /// are chosen.
    pub enum ActivationOption {
        /// Every attribute is given in the request.
        Default = 0 => "default",
        /// By the matching non-default URSP rules.
        PerNonDefaultUrspRules = 1 => "per-non-default-ursp-rules",
        /// By the default URSP rule.
        PerDefaultUrspRule = 2 => "per-default-ursp-rule",
        /// By the matching non-default rules and the default rule.
        PerUrspRules = 3 => "per-ursp-rules",
    }
}

/// An S-NSSAI element with no slice: what a session on the default slice
/// sends and reports.
pub fn no_slice() -> Tlv {
    Tlv::new(TlvType::SingleNssai, Vec::new())
}

/// MBIM_SET_CONNECT_V4 (MBIMEx 4.0): MBIM_SET_CONNECT_V3 with the
/// activation option and the network slice.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectSetV4 {
    /// The IP session (0 for the default).
    pub session_id: u32,
    /// Activate or deactivate.
    pub activation_command: ActivationCommand,
    /// How the session's attributes are chosen (default to deactivate).
    pub activation_option: ActivationOption,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Context type (see [`ContextType`](super::ContextType)).
    pub context_type: Uuid,
    /// Over which access the session may run.
    pub media_preference: AccessMediaType,
    /// The APN.
    #[mbim(tlv_string)]
    pub access_string: String,
    /// User name.
    #[mbim(tlv_string)]
    pub user_name: String,
    /// Password.
    #[mbim(tlv_string, secret)]
    pub password: String,
    /// The network slice (a SINGLE_NSSAI element; empty data for none).
    pub snssai: Tlv,
    /// Further information elements (traffic parameters, among others).
    pub unnamed_ies: Vec<Tlv>,
}

/// MBIM_CONNECT_INFO_V4 (MBIMEx 4.0): MBIM_CONNECT_INFO_V3 with the slice.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectInfoV4 {
    /// The IP session.
    pub session_id: u32,
    /// Activation state.
    pub activation_state: ActivationState,
    /// Voice call state.
    pub voice_call_state: VoiceCallState,
    /// IP version(s) obtained.
    pub ip_type: ContextIpType,
    /// Context type.
    pub context_type: Uuid,
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// Over which access the session runs.
    pub media_preference: AccessMediaType,
    /// The APN.
    #[mbim(tlv_string)]
    pub access_string: String,
    /// The network slice (a SINGLE_NSSAI element).
    pub snssai: Tlv,
    /// Further information elements: PCO from the network, among others.
    pub unnamed_ies: Vec<Tlv>,
}

impl ConnectInfoV4 {
    /// The protocol configuration options the network sent, if any (see
    /// [`ConnectInfoV3::pco`]).
    pub fn pco(&self) -> impl Iterator<Item = &[u8]> {
        pco_of(&self.unnamed_ies)
    }
}

/// 3.0's CONNECT SET in 4.0's layout: every attribute as given, on the
/// default network slice (what a host that knows no slices means).
impl From<ConnectSetV3> for ConnectSetV4 {
    fn from(set: ConnectSetV3) -> Self {
        ConnectSetV4 {
            session_id: set.session_id,
            activation_command: set.activation_command,
            activation_option: ActivationOption::Default,
            compression: set.compression,
            auth_protocol: set.auth_protocol,
            ip_type: set.ip_type,
            context_type: set.context_type,
            media_preference: set.media_preference,
            access_string: set.access_string,
            user_name: set.user_name,
            password: set.password,
            snssai: no_slice(),
            unnamed_ies: set.unnamed_ies,
        }
    }
}

/// 1.0's fields of a 3.0 CONNECT answer, for a reader that needs no more
/// (the access media, access string and unnamed IEs dropped).
impl From<ConnectInfoV3> for ConnectInfo {
    fn from(info: ConnectInfoV3) -> Self {
        ConnectInfo {
            session_id: info.session_id,
            activation_state: info.activation_state,
            voice_call_state: info.voice_call_state,
            ip_type: info.ip_type,
            context_type: info.context_type,
            nw_error: info.nw_error,
        }
    }
}

/// 3.0's CONNECT answer in 4.0's layout, on the default network slice.
impl From<ConnectInfoV3> for ConnectInfoV4 {
    fn from(info: ConnectInfoV3) -> Self {
        ConnectInfoV4 {
            session_id: info.session_id,
            activation_state: info.activation_state,
            voice_call_state: info.voice_call_state,
            ip_type: info.ip_type,
            context_type: info.context_type,
            nw_error: info.nw_error,
            media_preference: info.media_preference,
            access_string: info.access_string,
            snssai: no_slice(),
            unnamed_ies: info.unnamed_ies,
        }
    }
}

/// 4.0's CONNECT answer in 3.0's layout: the network slice dropped, for a
/// reader that knows no slices.
impl From<ConnectInfoV4> for ConnectInfoV3 {
    fn from(info: ConnectInfoV4) -> Self {
        ConnectInfoV3 {
            session_id: info.session_id,
            activation_state: info.activation_state,
            voice_call_state: info.voice_call_state,
            ip_type: info.ip_type,
            context_type: info.context_type,
            nw_error: info.nw_error,
            media_preference: info.media_preference,
            access_string: info.access_string,
            unnamed_ies: info.unnamed_ies,
        }
    }
}

/// MBIM_PACKET_FILTER_V3: MBIM_PACKET_FILTER with the id a wake packet
/// names (MBIM_TLV_TYPE_WAKE_PACKET's filter id).
///
/// Written by hand for the reason [`PacketFilter`](super::PacketFilter) is:
/// one FilterSize gives the length of two byte arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketFilterV3 {
    filter: Vec<u8>,
    mask: Vec<u8>,
    /// The filter's id.
    pub filter_id: u32,
}

impl PacketFilterV3 {
    /// A filter; `None` unless the filter and the mask have the same length.
    pub fn new(filter: Vec<u8>, mask: Vec<u8>, filter_id: u32) -> Option<Self> {
        (filter.len() == mask.len()).then_some(PacketFilterV3 {
            filter,
            mask,
            filter_id,
        })
    }

    /// The bytes to match.
    pub fn filter(&self) -> &[u8] {
        &self.filter
    }

    /// Which bits of the filter matter.
    pub fn mask(&self) -> &[u8] {
        &self.mask
    }
}

impl Payload for PacketFilterV3 {
    const NAME: &'static str = "PacketFilterV3";

    fn decode_with(bytes: &[u8], budget: &DecodeBudget) -> Result<Self, PayloadError> {
        let mut reader = StructReader::with_budget(bytes, budget.clone());
        let decode = |reader: &mut StructReader<'_>| {
            let size = reader.count("filter_size")?;
            let filter = reader.bytes_at_offset("packet_filter", size)?;
            let mask = reader.bytes_at_offset("packet_mask", size)?;
            let filter_id = reader.inline("filter_id")?;
            reader.finish()?;
            Ok(PacketFilterV3 {
                filter,
                mask,
                filter_id,
            })
        };
        decode(&mut reader).map_err(|error: PayloadError| error.within(Self::NAME))
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let mut writer = StructWriter::new();
        writer.count(self.filter.len());
        writer.bytes_at_offset(&self.filter);
        writer.bytes_at_offset(&self.mask);
        writer.inline(&self.filter_id);
        writer.finish(out);
    }
}

impl Describe for PacketFilterV3 {
    fn describe(&self) -> Value {
        Value::Struct(vec![
            ("packet_filter", Value::Bytes(self.filter.clone())),
            ("packet_mask", Value::Bytes(self.mask.clone())),
            ("filter_id", Value::U32(self.filter_id)),
        ])
    }
}

/// MBIM_PACKET_FILTERS_V3.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct PacketFiltersV3 {
    /// The IP session.
    pub session_id: u32,
    #[mbim(count_of = packet_filters)]
    packet_filters_count: u32,
    /// The filters.
    #[mbim(struct_list)]
    pub packet_filters: Vec<PacketFilterV3>,
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for PacketFilterV3 {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy as _;
        (
            proptest::collection::vec(proptest::arbitrary::any::<(u8, u8)>(), 0..16),
            proptest::arbitrary::any::<u32>(),
        )
            .prop_map(|(pairs, filter_id)| PacketFilterV3 {
                filter: pairs.iter().map(|(filter, _)| *filter).collect(),
                mask: pairs.iter().map(|(_, mask)| *mask).collect(),
                filter_id,
            })
            .boxed()
    }
}
