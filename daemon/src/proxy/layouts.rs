//! What a client reads when mbimd agreed a later MBIMEx version with the
//! device than the client is told.
//!
//! libmbim reads every CID by the MBIMEx version its proxy tells it, and
//! no libmbim release knows 4.0's layouts (its open flags stop at
//! MBIMEX_V3; 1.28 through 1.34). With a 4.0 device such a client is told
//! 3.0, and the two CIDs 4.0 reshapes are carried across here: CONNECT
//! (4.0 adds the activation option and the network slice) and
//! PROVISIONED_CONTEXTS (4.0 adds each context's slice). What the client
//! sends goes to the device on the default slice, what the device answers
//! reaches the client without its slice. No other CID changes layout from
//! 3.0 to 4.0, and a client is never told less than 3.0 while 3.0 or more
//! is agreed (see `connection.rs`), so nothing else needs carrying.

use mbim_protocol::codec::Payload;
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_basic_connect_extensions as ext;
use mbim_protocol::services::Cid;
use mbim_protocol::status::CommandType;
use mbim_protocol::Uuid;

/// Whether 4.0's layouts must be carried to and from 3.0's for a client.
fn carried(told: MbimExVersion, agreed: MbimExVersion) -> bool {
    told == MbimExVersion::V3 && agreed >= MbimExVersion::V4
}

/// A client's command payload in the agreed version's layout, or `None`
/// when it does not read in the layout the client was told (answered as
/// invalid parameters, as a device would).
pub(super) fn to_device(
    told: MbimExVersion,
    agreed: MbimExVersion,
    (service, cid): (Uuid, u32),
    command_type: CommandType,
    payload: Vec<u8>,
) -> Option<Vec<u8>> {
    if !carried(told, agreed) || command_type != CommandType::Set {
        // Queries of both CIDs read the same in 3.0 and 4.0.
        return Some(payload);
    }
    if service == bc::SERVICE.uuid && cid == bc::cid::Connect::ID {
        let set = bc::ConnectSetV3::decode(&payload).ok()?;
        return Some(bc::ConnectSetV4::from(set).encode());
    }
    if service == ext::SERVICE.uuid && cid == ext::cid::ProvisionedContexts::ID {
        let set = ext::ProvisionedContextSetV2::decode(&payload).ok()?;
        return Some(ext::ProvisionedContextSetV4::from(set).encode());
    }
    Some(payload)
}

/// A response's or an indication's information buffer in the layout the
/// client was told. One that does not read in the agreed layout is passed
/// on as the device sent it: the client's decoder says what is wrong.
pub(super) fn to_client(
    told: MbimExVersion,
    agreed: MbimExVersion,
    (service, cid): (Uuid, u32),
    buffer: Vec<u8>,
) -> Vec<u8> {
    if !carried(told, agreed) {
        return buffer;
    }
    let carried = if service == bc::SERVICE.uuid && cid == bc::cid::Connect::ID {
        bc::ConnectInfoV4::decode(&buffer)
            .ok()
            .map(|info| bc::ConnectInfoV3::from(info).encode())
    } else if service == ext::SERVICE.uuid && cid == ext::cid::ProvisionedContexts::ID {
        ext::ProvisionedContextsV4::decode(&buffer)
            .ok()
            .map(|info| ext::ProvisionedContextsV2::from(info).encode())
    } else {
        None
    };
    carried.unwrap_or(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbim_protocol::services::basic_connect::{
        AccessMediaType, ActivationCommand, ActivationState, AuthProtocol, Compression,
        ContextIpType, ContextType, NwError, VoiceCallState,
    };
    use mbim_protocol::tlv::{Tlv, TlvType};
    use MbimExVersion::{V1, V3, V4};

    const CONNECT: (Uuid, u32) = (bc::SERVICE.uuid, bc::cid::Connect::ID);
    const PROVISIONED: (Uuid, u32) = (ext::SERVICE.uuid, ext::cid::ProvisionedContexts::ID);

    fn set_v3() -> bc::ConnectSetV3 {
        bc::ConnectSetV3 {
            session_id: 1,
            activation_command: ActivationCommand::Activate,
            compression: Compression::None,
            auth_protocol: AuthProtocol::Pap,
            ip_type: ContextIpType::Ipv4v6,
            context_type: ContextType::Ims.uuid(),
            media_preference: AccessMediaType::ThreeGpp,
            access_string: "ims".to_owned(),
            user_name: "user".to_owned(),
            password: "secret".to_owned(),
            unnamed_ies: Vec::new(),
        }
    }

    #[test]
    fn a_3_0_connect_set_reaches_a_4_0_device_on_the_default_slice() {
        let sent = to_device(V3, V4, CONNECT, CommandType::Set, set_v3().encode()).unwrap();
        let set = bc::ConnectSetV4::decode(&sent).unwrap();
        assert_eq!(set.activation_option, bc::ActivationOption::Default);
        assert_eq!(set.snssai, bc::no_slice());
        assert_eq!(
            (
                set.session_id,
                set.access_string.as_str(),
                set.password.as_str()
            ),
            (1, "ims", "secret")
        );
        assert_eq!(set.ip_type, ContextIpType::Ipv4v6);
        // Bytes that are no 3.0 SET are refused, not sent on.
        assert_eq!(
            to_device(V3, V4, CONNECT, CommandType::Set, vec![1, 2, 3]),
            None
        );
        // Queries, other CIDs and clients told the agreed version: as sent.
        let query = bc::ConnectQueryV3 { session_id: 0 }.encode();
        assert_eq!(
            to_device(V3, V4, CONNECT, CommandType::Query, query.clone()),
            Some(query)
        );
        let v4 = bc::ConnectSetV4::from(set_v3()).encode();
        assert_eq!(
            to_device(V4, V4, CONNECT, CommandType::Set, v4.clone()),
            Some(v4)
        );
        let v3 = set_v3().encode();
        assert_eq!(
            to_device(V3, V3, CONNECT, CommandType::Set, v3.clone()),
            Some(v3)
        );
    }

    #[test]
    fn a_4_0_connect_answer_reaches_a_3_0_client_without_its_slice() {
        let pco = Tlv::new(TlvType::Pco, vec![0x80, 0x00, 0x0d, 0x00]);
        let info = bc::ConnectInfoV4 {
            session_id: 0,
            activation_state: ActivationState::Activated,
            voice_call_state: VoiceCallState::None,
            ip_type: ContextIpType::Ipv4,
            context_type: ContextType::Internet.uuid(),
            nw_error: NwError::None,
            media_preference: AccessMediaType::ThreeGpp,
            access_string: "internet".to_owned(),
            snssai: Tlv::new(TlvType::SingleNssai, vec![1]),
            unnamed_ies: vec![pco.clone()],
        };
        let seen = bc::ConnectInfoV3::decode(&to_client(V3, V4, CONNECT, info.encode())).unwrap();
        assert_eq!(seen.access_string, "internet");
        assert_eq!(seen.activation_state, ActivationState::Activated);
        // The PCO stays; the slice is not taken for an unnamed element.
        assert_eq!(seen.unnamed_ies, vec![pco]);
        // A client told 4.0 (or a 1.0 device) gets the device's bytes.
        assert_eq!(to_client(V4, V4, CONNECT, info.encode()), info.encode());
        assert_eq!(to_client(V1, V1, CONNECT, vec![9; 8]), vec![9; 8]);
        // Bytes that are no 4.0 answer are passed on unchanged.
        assert_eq!(to_client(V3, V4, CONNECT, vec![9; 8]), vec![9; 8]);
    }

    #[test]
    fn provisioned_contexts_cross_between_4_0_and_2_0s_layout() {
        let context = ext::ProvisionedContextElementV2 {
            context_id: 1,
            context_type: ContextType::Internet.uuid(),
            ip_type: ContextIpType::Ipv4v6,
            state: ext::ContextState::Enabled,
            roaming: ext::ContextRoamingControl::HomeOnly,
            media_type: ext::ContextMediaType::CellularOnly,
            source: ext::ContextSource::Operator,
            access_string: "internet".to_owned(),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        };
        let v2 = ext::ProvisionedContextsV2 {
            contexts: vec![context],
        };
        let v4 = ext::ProvisionedContextsV4::from(v2.clone()).encode();
        assert_eq!(to_client(V3, V4, PROVISIONED, v4), v2.encode());

        let set = ext::ProvisionedContextSetV2 {
            operation: ext::ContextOperation::Default,
            context_type: ContextType::Internet.uuid(),
            ip_type: ContextIpType::Ipv4,
            state: ext::ContextState::Enabled,
            roaming: ext::ContextRoamingControl::HomeOnly,
            media_type: ext::ContextMediaType::CellularOnly,
            source: ext::ContextSource::User,
            access_string: "apn".to_owned(),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
        };
        let sent = to_device(V3, V4, PROVISIONED, CommandType::Set, set.encode()).unwrap();
        let sent = ext::ProvisionedContextSetV4::decode(&sent).unwrap();
        assert_eq!(sent.access_string, "apn");
        assert_eq!(sent.snssai, bc::no_slice());
    }
}
