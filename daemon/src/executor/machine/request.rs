//! One command for the device as the session sends it, and why one got no
//! answer.

use mbim_protocol::codec::Payload;
use mbim_protocol::services::{Cid, Scope};
use mbim_protocol::status::{CommandType, ProtocolError};
use mbim_protocol::Uuid;

/// One command for the device, ready for the session.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// Service UUID.
    pub service: Uuid,
    /// CID number.
    pub cid: u32,
    /// CID name, for logs.
    pub name: &'static str,
    /// Executor or device scope: device-wide SETs take the modem's lock.
    pub scope: Scope,
    /// Query or set.
    pub command_type: CommandType,
    /// The encoded information buffer (may hold a PIN: never printed).
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload is left out: a PIN set or CONNECT carries secrets.
        f.debug_struct("Request")
            .field("name", &self.name)
            .field("command_type", &self.command_type)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Request {
    pub(super) fn query<C: Cid>(payload: &C::Query) -> Request {
        Request {
            service: C::SERVICE,
            cid: C::ID,
            name: C::NAME,
            scope: C::SCOPE,
            command_type: CommandType::Query,
            payload: payload.encode(),
        }
    }

    pub(super) fn set<C: Cid>(payload: &C::Set) -> Request {
        Request {
            service: C::SERVICE,
            cid: C::ID,
            name: C::NAME,
            scope: C::SCOPE,
            command_type: CommandType::Set,
            payload: payload.encode(),
        }
    }

    /// Whether the modem's device-wide lock must be held while it runs.
    pub fn needs_device_lock(&self) -> bool {
        self.scope == Scope::Device && self.command_type == CommandType::Set
    }
}

/// Why the command in flight got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestFailure {
    /// No answer within the command timeout.
    TimedOut,
    /// The device answered with FUNCTION_ERROR.
    FunctionError(ProtocolError),
    /// The session dropped it (closed under it).
    Cancelled,
    /// The session refused to send it.
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use mbim_protocol::codec::Empty;
    use mbim_protocol::services::basic_connect::{self as bc, PinOperation, PinType};
    use mbim_protocol::services::ms_basic_connect_extensions as ms;

    #[test]
    fn requests_never_print_their_payload() {
        let set = bc::PinSet {
            pin_type: PinType::Pin1,
            pin_operation: PinOperation::Enter,
            pin: "1234".to_owned(),
            new_pin: String::new(),
        };
        let request = Request::set::<bc::cid::Pin>(&set);
        assert!(!format!("{request:?}").contains("1234"));
        assert!(!request.needs_device_lock());
        let mapping =
            Request::set::<ms::cid::DeviceSlotMappings>(&ms::DeviceSlotMappingInfo::from_slots(&[
                0,
            ]));
        assert!(mapping.needs_device_lock());
        assert!(!Request::query::<ms::cid::DeviceSlotMappings>(&Empty).needs_device_lock());
    }
}
