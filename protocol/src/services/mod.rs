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
pub mod intel_mutual_authentication;
pub mod ms_basic_connect_extensions;
pub mod ms_host_shutdown;
pub mod ms_uicc_low_level_access;
pub mod proxy_control;
pub mod quectel;
#[cfg(test)]
pub(crate) mod testing;

use crate::codec::{DecodeBudget, Payload, PayloadError, PayloadErrorKind};
use crate::describe::{Describe, Value};
use crate::mbimex::MbimExVersion;
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

/// A CID in one layout, as a type: its service, number, name, scope, the
/// MBIMEx version the layout applies from, and its payload types.
///
/// A CID whose layout changes with the MBIM extensions version has one marker
/// per layout: `basic_connect::cid::Connect` (MBIM 1.0) and
/// `basic_connect::cid::ConnectV3` (MBIMEx 3.0 on) share ID and name, and
/// differ in [`SINCE`](Self::SINCE) and payload types.
pub trait Cid {
    /// The service UUID.
    const SERVICE: Uuid;
    /// The CID number within the service.
    const ID: u32;
    /// The CID's name (libmbim's nickname, e.g. `"register-state"`).
    const NAME: &'static str;
    /// Executor or device scope.
    const SCOPE: Scope;
    /// The MBIMEx version from which this layout applies (until a later
    /// layout of the same CID takes over).
    const SINCE: MbimExVersion;
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

/// The decoders of one layout of a CID, per operation; `None` where the
/// layout has no such operation.
#[derive(Debug, Clone, Copy)]
pub struct CidForm {
    /// The MBIMEx version from which this layout applies.
    pub since: MbimExVersion,
    /// Decoder of a query's payload.
    pub query: Option<DescribeFn>,
    /// Decoder of a set's payload.
    pub set: Option<DescribeFn>,
    /// Decoder of a response's payload.
    pub response: Option<DescribeFn>,
    /// Decoder of a notification's payload.
    pub notification: Option<DescribeFn>,
}

impl CidForm {
    /// The decoder for `operation`, if this layout has that operation.
    pub fn decoder(&self, operation: Operation) -> Option<DescribeFn> {
        match operation {
            Operation::Query => self.query,
            Operation::Set => self.set,
            Operation::Response => self.response,
            Operation::Notification => self.notification,
        }
    }
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
    /// Its MBIM 1.0 layout (what applies when no extensions are negotiated).
    pub base: CidForm,
    /// Its later layouts, oldest first, each applying from its `since` until
    /// the next one's.
    pub forms: &'static [CidForm],
}

impl CidInfo {
    /// The layout that applies at `version`: the latest whose `since` is not
    /// above it, or the MBIM 1.0 one.
    pub fn form_at(&self, version: MbimExVersion) -> &CidForm {
        self.forms
            .iter()
            .rev()
            .find(|form| form.since <= version)
            .unwrap_or(&self.base)
    }

    /// The MBIM 1.0 decoder for `operation`, if the CID has that operation.
    pub fn decoder(&self, operation: Operation) -> Option<DescribeFn> {
        self.base.decoder(operation)
    }

    /// The decoder for `operation` in the layout of `version`.
    pub fn decoder_at(&self, operation: Operation, version: MbimExVersion) -> Option<DescribeFn> {
        self.form_at(version).decoder(operation)
    }

    /// Every layout, MBIM 1.0 first.
    pub fn all_forms(&self) -> impl Iterator<Item = &CidForm> {
        std::iter::once(&self.base).chain(self.forms)
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
    &ms_uicc_low_level_access::SERVICE,
    &ms_host_shutdown::SERVICE,
    &proxy_control::SERVICE,
    &quectel::SERVICE,
    &intel_mutual_authentication::SERVICE,
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
        Uuid::from_str_const("68223d04-9f6c-4e0f-822d-28441fb72340"),
        "ms-sar",
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
///     DeviceCaps = 1, "device-caps", executor { query: Empty, response: DeviceCapsInfo, }
///     /// MBIM_CID_REGISTER_STATE.
///     RegisterState = 9, "register-state", executor {
///         query: Empty, set: RegisterStateSet, response: RegistrationStateInfo,
///         notification: RegistrationStateInfo,
///         /// Its MBIMEx 2.0 layout.
///         >= v2 RegisterStateV2 {
///             query: Empty, set: RegisterStateSet, response: RegistrationStateInfoV2,
///             notification: RegistrationStateInfoV2,
///         }
///     }
/// }
/// ```
///
/// Operations are listed in the order query, set, response, notification; an
/// operation left out does not exist for that CID (or, in a versioned layout,
/// from that version on). A CID whose payloads change with the MBIM
/// extensions version lists each later layout after its MBIM 1.0 one,
/// oldest first: `>= v2` (or `v3`, `v4`), the name of its marker type, and
/// all its operations. A layout applies from its version until a later one of the
/// same CID takes over; everything about the CID stays in its one entry.
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
                $(
                    $(#[$vmeta:meta])*
                    >= $version:ident $vcid:ident {
                        $(query: $vquery:ty,)?
                        $(set: $vset:ty,)?
                        $(response: $vresponse:ty,)?
                        $(notification: $vnotification:ty,)?
                    }
                )*
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
                        base: $crate::services::CidForm {
                            since: $crate::mbimex::MbimExVersion::V1,
                            query: $crate::mbim_service!(@decoder $($query)?),
                            set: $crate::mbim_service!(@decoder $($set)?),
                            response: $crate::mbim_service!(@decoder $($response)?),
                            notification: $crate::mbim_service!(@decoder $($notification)?),
                        },
                        forms: &[
                            $(
                                $crate::services::CidForm {
                                    since: $crate::mbim_service!(@version $version),
                                    query: $crate::mbim_service!(@decoder $($vquery)?),
                                    set: $crate::mbim_service!(@decoder $($vset)?),
                                    response: $crate::mbim_service!(@decoder $($vresponse)?),
                                    notification: $crate::mbim_service!(@decoder $($vnotification)?),
                                },
                            )*
                        ],
                    },
                )+
            ],
        };

        /// One marker type per CID layout, implementing [`Cid`](crate::services::Cid).
        pub mod cid {
            $(
                $(#[$cmeta])*
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub struct $cid;
                $(
                    $(#[$vmeta])*
                    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                    pub struct $vcid;
                )*
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
                const SINCE: $crate::mbimex::MbimExVersion = $crate::mbimex::MbimExVersion::V1;
                type Query = $crate::mbim_service!(@type $($query)?);
                type Set = $crate::mbim_service!(@type $($set)?);
                type Response = $crate::mbim_service!(@type $($response)?);
                type Notification = $crate::mbim_service!(@type $($notification)?);
            }
            $(
                impl $crate::services::Cid for cid::$vcid {
                    const SERVICE: $crate::uuid::Uuid = UUID;
                    const ID: u32 = $id;
                    const NAME: &'static str = $cname;
                    const SCOPE: $crate::services::Scope = $crate::mbim_service!(@scope $scope);
                    const SINCE: $crate::mbimex::MbimExVersion = $crate::mbim_service!(@version $version);
                    type Query = $crate::mbim_service!(@type $($vquery)?);
                    type Set = $crate::mbim_service!(@type $($vset)?);
                    type Response = $crate::mbim_service!(@type $($vresponse)?);
                    type Notification = $crate::mbim_service!(@type $($vnotification)?);
                }
            )*
        )+

        /// Property tests for every payload of every CID layout declared above.
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
                $(
                    #[test]
                    fn $vcid() {
                        $( $crate::services::testing::check_payload::<$vquery>(); )?
                        $( $crate::services::testing::check_payload::<$vset>(); )?
                        $( $crate::services::testing::check_payload::<$vresponse>(); )?
                        $( $crate::services::testing::check_payload::<$vnotification>(); )?
                    }
                )*
            )+
        }
    };
    (@scope executor) => { $crate::services::Scope::Executor };
    (@scope device) => { $crate::services::Scope::Device };
    (@version v2) => { $crate::mbimex::MbimExVersion::V2 };
    (@version v3) => { $crate::mbimex::MbimExVersion::V3 };
    (@version v4) => { $crate::mbimex::MbimExVersion::V4 };
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

    /// A service declared only here, to test versioned layouts on their own.
    #[allow(unreachable_pub, dead_code)]
    mod example {
        use crate::codec::Empty;
        use crate::services::ms_basic_connect_extensions::{
            SlotInfo, SlotInfoRequest, VersionInfo,
        };
        crate::mbim_service! {
            /// A CID table of one versioned CID and one plain one.
            service "example" = "00000000-0000-0000-0000-00000000e8a1";
            /// Changes its response at 2.0 and loses its set at 4.0.
            Thing = 1, "thing", executor {
                query: Empty, set: SlotInfoRequest, response: SlotInfo,
                /// From 2.0.
                >= v2 ThingV2 { query: Empty, set: SlotInfoRequest, response: VersionInfo, }
                /// From 4.0.
                >= v4 ThingV4 { query: Empty, response: VersionInfo, }
            }
            /// The same at every version.
            Plain = 2, "plain", device { query: Empty, }
        }
    }

    #[test]
    fn the_layout_of_a_version_is_the_latest_declared_at_or_below_it() {
        use crate::mbimex::MbimExVersion::{V1, V2, V3, V4};
        let thing = example::SERVICE.cid(1).unwrap();
        let response = |version| thing.decoder_at(Operation::Response, version).unwrap();
        // SlotInfo reads 8 bytes, VersionInfo 4: each layout decodes its own.
        let eight = [1, 0, 0, 0, 5, 0, 0, 0];
        assert!(matches!(response(V1)(&eight), Ok(Value::Struct(f)) if f[0].0 == "slot_index"));
        for version in [V2, V3, V4] {
            let value = response(version)(&eight).unwrap();
            assert!(
                matches!(&value, Value::Struct(f) if f[0].0 == "bcd_mbim_version"),
                "{version}"
            );
        }
        assert_eq!(thing.form_at(V3).since, V2);
        assert!(thing.decoder_at(Operation::Set, V3).is_some());
        assert!(thing.decoder_at(Operation::Set, V4).is_none());
        assert!(thing.decoder(Operation::Set).is_some());
        assert_eq!(thing.all_forms().count(), 3);
        let plain = example::SERVICE.cid(2).unwrap();
        assert_eq!(plain.form_at(V4).since, V1);
        // Typed: one marker per layout, same CID, its own version and payloads.
        assert_eq!(<example::cid::ThingV2 as Cid>::ID, 1);
        assert_eq!(<example::cid::ThingV2 as Cid>::SINCE, V2);
        assert_eq!(<example::cid::Thing as Cid>::SINCE, V1);
        assert_eq!(
            std::any::type_name::<<example::cid::ThingV4 as Cid>::Set>(),
            std::any::type_name::<NotApplicable>()
        );
    }

    #[test]
    fn versioned_layouts_are_declared_oldest_first_and_after_1_0() {
        for service in SERVICES {
            for cid in service.cids {
                let mut previous = MbimExVersion::V1;
                for form in cid.forms {
                    assert!(
                        form.since > previous,
                        "{}/{}: layouts out of order",
                        service.name,
                        cid.name
                    );
                    previous = form.since;
                }
            }
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
