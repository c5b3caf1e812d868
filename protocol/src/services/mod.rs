//! MBIM services and their CIDs, each declared once.
//!
//! A service is one [`mbim_service!`](crate::mbim_service) invocation: its
//! UUID, its name, and one line per CID naming the payload type of each
//! operation (query, set, response, notification). From that single
//! declaration come a marker type per CID implementing [`Cid`] (typed use:
//! `<basic_connect::cid::RegisterState as Cid>::Response::decode(bytes)`) and a [`ServiceInfo`]
//! table that decodes any message of the service by number (what
//! `mbimctl decode` and the daemon's logs use). Payload layouts are declared
//! beside the service with `#[mbim_struct]`. Adding a service (SMS, USSD, a
//! vendor's) is one more module of the same shape; nothing else changes.

pub mod auth;
pub mod basic_connect;
pub mod ms_basic_connect_extensions;
#[cfg(test)]
pub(crate) mod testing;

use crate::codec::{DecodeBudget, Payload, PayloadError, PayloadErrorKind};
use crate::describe::{Describe, Value};
use crate::uuid::Uuid;

/// Which operation a payload belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// The information buffer of a query COMMAND.
    Query,
    /// The information buffer of a set COMMAND.
    Set,
    /// The information buffer of a COMMAND_DONE.
    Response,
    /// The information buffer of an INDICATE_STATUS.
    Notification,
}

impl Operation {
    /// Lowercase name, as printed.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::Query => "query",
            Operation::Set => "set",
            Operation::Response => "response",
            Operation::Notification => "notification",
        }
    }
}

/// Whether a CID addresses one executor or the whole modem (seed 004, "Per-device
/// and Per-executor Commands"). Device-wide SETs from the executors of one
/// modem must be serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Addressed to the executor behind the MBIM function it is sent on.
    Executor,
    /// Addressed to the modem; may be sent on any of its functions.
    Device,
}

/// The payload type of an operation a CID does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotApplicable {}

impl Payload for NotApplicable {
    const NAME: &'static str = "NotApplicable";
    fn decode_with(_bytes: &[u8], _budget: &DecodeBudget) -> Result<Self, PayloadError> {
        Err(PayloadError::new(
            0,
            PayloadErrorKind::Invalid("this CID has no payload for this operation".to_owned()),
        ))
    }
    fn encode_into(&self, _out: &mut Vec<u8>) {
        match *self {}
    }
}

impl Describe for NotApplicable {
    fn describe(&self) -> Value {
        match *self {}
    }
}

/// A CID, as a type: its service, number, name, scope and payload types.
pub trait Cid {
    /// The service UUID.
    const SERVICE: Uuid;
    /// The CID number within the service.
    const ID: u32;
    /// The CID's name (libmbim's nickname, e.g. `"register-state"`).
    const NAME: &'static str;
    /// Executor or device scope.
    const SCOPE: Scope;
    /// Payload of a query COMMAND.
    type Query: Payload + Describe;
    /// Payload of a set COMMAND.
    type Set: Payload + Describe;
    /// Payload of a COMMAND_DONE.
    type Response: Payload + Describe;
    /// Payload of an INDICATE_STATUS.
    type Notification: Payload + Describe;
}

/// Decodes a payload and describes it; one function per (CID, operation) in the tables.
pub type DescribeFn = fn(&[u8]) -> Result<Value, PayloadError>;

/// Decodes `bytes` as `T` and returns its value tree.
pub fn describe_as<T: Payload + Describe>(bytes: &[u8]) -> Result<Value, PayloadError> {
    T::decode(bytes).map(|payload| payload.describe())
}

/// One CID of a service's table.
#[derive(Debug, Clone, Copy)]
pub struct CidInfo {
    /// The CID number.
    pub id: u32,
    /// Its name.
    pub name: &'static str,
    /// Executor or device scope.
    pub scope: Scope,
    /// Decoders per operation; `None` where the CID has no such operation.
    pub query: Option<DescribeFn>,
    /// See `query`.
    pub set: Option<DescribeFn>,
    /// See `query`.
    pub response: Option<DescribeFn>,
    /// See `query`.
    pub notification: Option<DescribeFn>,
}

impl CidInfo {
    /// The decoder for `operation`, if the CID has that operation.
    pub fn decoder(&self, operation: Operation) -> Option<DescribeFn> {
        match operation {
            Operation::Query => self.query,
            Operation::Set => self.set,
            Operation::Response => self.response,
            Operation::Notification => self.notification,
        }
    }
}

/// A service's table.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// The service UUID.
    pub uuid: Uuid,
    /// Its name.
    pub name: &'static str,
    /// Its CIDs.
    pub cids: &'static [CidInfo],
}

impl ServiceInfo {
    /// The CID with number `id`.
    pub fn cid(&self, id: u32) -> Option<&'static CidInfo> {
        self.cids.iter().find(|cid| cid.id == id)
    }

    /// The CID with name `name`.
    pub fn cid_by_name(&self, name: &str) -> Option<&'static CidInfo> {
        self.cids.iter().find(|cid| cid.name == name)
    }
}

/// Every service this crate declares.
pub static SERVICES: &[&ServiceInfo] = &[
    &basic_connect::SERVICE,
    &ms_basic_connect_extensions::SERVICE,
    &auth::SERVICE,
];

/// Other well-known services, named so logs and `mbimctl decode` can say what
/// they are even before their CIDs are declared here.
static OTHER_SERVICE_NAMES: &[(Uuid, &str)] = &[
    (
        Uuid::from_str_const("533fbeeb-14fe-4467-9f90-33a223e56c3f"),
        "sms",
    ),
    (
        Uuid::from_str_const("e550a0c8-5e82-479e-82f7-10abf4c3351f"),
        "ussd",
    ),
    (
        Uuid::from_str_const("4bf38476-1e6a-41db-b1d8-bed289c25bdb"),
        "phonebook",
    ),
    (
        Uuid::from_str_const("d8f20131-fcb5-4e17-8602-d6ed3816164c"),
        "stk",
    ),
    (
        Uuid::from_str_const("c08a26dd-7718-4382-8482-6e0d583c4d0e"),
        "dss",
    ),
    (
        Uuid::from_str_const("e9f7dea2-feaf-4009-93ce-90a3694103b6"),
        "ms-firmware-id",
    ),
    (
        Uuid::from_str_const("883b7c26-985f-43fa-9804-27d7fb80959c"),
        "ms-host-shutdown",
    ),
    (
        Uuid::from_str_const("68223d04-9f6c-4e0f-822d-28441fb72340"),
        "ms-sar",
    ),
    (
        Uuid::from_str_const("c2f6588e-f037-4bc9-8665-f4d44bd09367"),
        "ms-uicc-low-level-access",
    ),
    (
        Uuid::from_str_const("838cf7fb-8d0d-4d7f-871e-d71dbefbb39b"),
        "proxy-control",
    ),
    (
        Uuid::from_str_const("d1a30bc2-f97a-6e43-bf65-c7e24fb0f0d3"),
        "qmi",
    ),
    (
        Uuid::from_str_const("5967bdcc-7fd2-49a2-9f5c-b2e70e527db3"),
        "atds",
    ),
    (
        Uuid::from_str_const("0ed374cb-f835-4474-bc11-3b3fd76f5641"),
        "intel-firmware-update",
    ),
    (
        Uuid::from_str_const("6427015f-579d-48f5-8c54-f43ed1e76f83"),
        "qdu",
    ),
];

/// The service declared with `uuid`.
pub fn service(uuid: &Uuid) -> Option<&'static ServiceInfo> {
    SERVICES
        .iter()
        .copied()
        .find(|service| service.uuid == *uuid)
}

/// The service declared with `name`.
pub fn service_by_name(name: &str) -> Option<&'static ServiceInfo> {
    SERVICES
        .iter()
        .copied()
        .find(|service| service.name == name)
}

/// The well-known name of a service or context-type UUID.
pub fn uuid_name(uuid: &Uuid) -> Option<&'static str> {
    if let Some(service) = service(uuid) {
        return Some(service.name);
    }
    if let Some((_, name)) = OTHER_SERVICE_NAMES.iter().find(|(known, _)| known == uuid) {
        return Some(name);
    }
    basic_connect::ContextType::from_uuid(uuid).map(basic_connect::ContextType::name)
}

/// Declares a service: its UUID, name, and one entry per CID.
///
/// ```ignore
/// mbim_service! {
///     /// Basic Connect (MBIM 1.0 §10.5).
///     service "basic-connect" = "a289cc33-bcbb-8b4f-b6b0-133ec2aae6df";
///     /// MBIM_CID_DEVICE_CAPS.
///     DeviceCaps = 1, "device-caps", executor { query: Empty, response: DeviceCapsInfo }
/// }
/// ```
///
/// Operations are listed in the order query, set, response, notification; an
/// operation left out does not exist for that CID.
#[macro_export]
macro_rules! mbim_service {
    (
        $(#[$smeta:meta])*
        service $sname:literal = $suuid:literal;
        $(
            $(#[$cmeta:meta])*
            $cid:ident = $id:literal, $cname:literal, $scope:ident {
                $(query: $query:ty,)?
                $(set: $set:ty,)?
                $(response: $response:ty,)?
                $(notification: $notification:ty,)?
            }
        )+
    ) => {
        /// The UUID of this service.
        pub const UUID: $crate::uuid::Uuid = $crate::uuid::Uuid::from_str_const($suuid);

        $(#[$smeta])*
        pub static SERVICE: $crate::services::ServiceInfo = $crate::services::ServiceInfo {
            uuid: UUID,
            name: $sname,
            cids: &[
                $(
                    $crate::services::CidInfo {
                        id: $id,
                        name: $cname,
                        scope: $crate::mbim_service!(@scope $scope),
                        query: $crate::mbim_service!(@decoder $($query)?),
                        set: $crate::mbim_service!(@decoder $($set)?),
                        response: $crate::mbim_service!(@decoder $($response)?),
                        notification: $crate::mbim_service!(@decoder $($notification)?),
                    },
                )+
            ],
        };

        /// One marker type per CID, implementing [`Cid`](crate::services::Cid).
        pub mod cid {
            $(
                $(#[$cmeta])*
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub struct $cid;
            )+
        }

        // The impls live outside `cid` so payload types resolve in the service
        // module, where a payload may share its CID's name.
        $(
            impl $crate::services::Cid for cid::$cid {
                const SERVICE: $crate::uuid::Uuid = UUID;
                const ID: u32 = $id;
                const NAME: &'static str = $cname;
                const SCOPE: $crate::services::Scope = $crate::mbim_service!(@scope $scope);
                type Query = $crate::mbim_service!(@type $($query)?);
                type Set = $crate::mbim_service!(@type $($set)?);
                type Response = $crate::mbim_service!(@type $($response)?);
                type Notification = $crate::mbim_service!(@type $($notification)?);
            }
        )+

        /// Property tests for every payload of every CID declared above.
        #[cfg(test)]
        #[allow(non_snake_case)]
        mod declared_payload_properties {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $cid() {
                    $( $crate::services::testing::check_payload::<$query>(); )?
                    $( $crate::services::testing::check_payload::<$set>(); )?
                    $( $crate::services::testing::check_payload::<$response>(); )?
                    $( $crate::services::testing::check_payload::<$notification>(); )?
                }
            )+
        }
    };
    (@scope executor) => { $crate::services::Scope::Executor };
    (@scope device) => { $crate::services::Scope::Device };
    (@decoder) => { None };
    (@decoder $ty:ty) => { Some($crate::services::describe_as::<$ty> as $crate::services::DescribeFn) };
    (@type) => { $crate::services::NotApplicable };
    (@type $ty:ty) => { $ty };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_tables_have_unique_ids_and_names() {
        for service in SERVICES {
            for (index, cid) in service.cids.iter().enumerate() {
                assert!(
                    service.cids[index + 1..]
                        .iter()
                        .all(|other| other.id != cid.id && other.name != cid.name),
                    "{} declares CID {} twice",
                    service.name,
                    cid.id
                );
            }
        }
        for (index, service) in SERVICES.iter().enumerate() {
            assert!(SERVICES[index + 1..]
                .iter()
                .all(|other| other.uuid != service.uuid));
        }
    }

    #[test]
    fn well_known_uuids_have_names() {
        assert_eq!(uuid_name(&basic_connect::UUID), Some("basic-connect"));
        assert_eq!(
            uuid_name(&Uuid::from_str_const(
                "7e5e2a7e-4e6f-7272-736b-656e7e5e2a7e"
            )),
            Some("internet")
        );
        assert_eq!(uuid_name(&Uuid::NIL), None);
    }
}
