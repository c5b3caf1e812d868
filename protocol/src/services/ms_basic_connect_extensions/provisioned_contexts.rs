//! MBIM_CID_MS_PROVISIONED_CONTEXT_V2 (MBIMEx 2.0): the contexts the modem
//! keeps, with their IP type, state, roaming rule, media and source; what a
//! host uses to connect without a profile of its own. From MBIMEx 4.0 each
//! context also names its network slice (an S-NSSAI element after the fixed
//! fields, as the MBIMEx 4.0 specification and Wireshark's dissector have
//! it; libmbim has no 4.0 layouts).

use crate::services::basic_connect::{no_slice, AuthProtocol, Compression, ContextIpType};
use crate::tlv::Tlv;
use crate::uuid::Uuid;
use crate::{mbim_enum, mbim_struct};

mbim_enum! {
    /// MBIM_CONTEXT_OPERATION: what a provisioned-context set does.
    pub enum ContextOperation {
        /// Add the context, or replace the one of the same type.
        Default = 0 => "default",
        /// Delete the context of this type.
        Delete = 1 => "delete",
        /// Restore the operator's contexts.
        RestoreFactory = 2 => "restore-factory",
    }
}

mbim_enum! {
    /// MBIM_CONTEXT_STATE: whether a context may be used.
    pub enum ContextState {
        /// Disabled.
        Disabled = 0 => "disabled",
        /// Enabled.
        Enabled = 1 => "enabled",
    }
}

mbim_enum! {
    /// MBIM_CONTEXT_ROAMING_CONTROL: where a provisioned context applies.
    pub enum ContextRoamingControl {
        /// On the home network only.
        HomeOnly = 0 => "home-only",
        /// On partner networks only.
        PartnerOnly = 1 => "partner-only",
        /// On non-partner networks only.
        NonPartnerOnly = 2 => "non-partner-only",
        /// At home and on partner networks.
        HomeAndPartner = 3 => "home-and-partner",
        /// At home and on non-partner networks.
        HomeAndNonPartner = 4 => "home-and-non-partner",
        /// On partner and non-partner networks.
        PartnerAndNonPartner = 5 => "partner-and-non-partner",
        /// Everywhere.
        AllowAll = 6 => "allow-all",
    }
}

mbim_enum! {
    /// MBIM_CONTEXT_MEDIA_TYPE: over which media a context applies.
    pub enum ContextMediaType {
        /// Cellular only.
        CellularOnly = 0 => "cellular-only",
        /// Wi-Fi only.
        WifiOnly = 1 => "wifi-only",
        /// Both.
        All = 2 => "all",
    }
}

mbim_enum! {
    /// MBIM_CONTEXT_SOURCE: who provisioned a context.
    pub enum ContextSource {
        /// The administrator.
        Admin = 0 => "admin",
        /// The user.
        User = 1 => "user",
        /// The operator (over the air, or the SIM).
        Operator = 2 => "operator",
        /// The modem's own database.
        Modem = 3 => "modem",
        /// The host (the OS's database).
        Device = 4 => "device",
    }
}

/// MBIM_SET_MS_PROVISIONED_CONTEXT_V2.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContextSetV2 {
    /// Add, delete or restore.
    pub operation: ContextOperation,
    /// Context type (see [`ContextType`](crate::services::basic_connect::ContextType)).
    pub context_type: Uuid,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Enabled or not.
    pub state: ContextState,
    /// Where it applies.
    pub roaming: ContextRoamingControl,
    /// Over which media.
    pub media_type: ContextMediaType,
    /// Who provisioned it.
    pub source: ContextSource,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
}

/// MBIM_MS_CONTEXT_V2: one provisioned context.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContextElementV2 {
    /// Context id.
    pub context_id: u32,
    /// Context type.
    pub context_type: Uuid,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Enabled or not.
    pub state: ContextState,
    /// Where it applies.
    pub roaming: ContextRoamingControl,
    /// Over which media.
    pub media_type: ContextMediaType,
    /// Who provisioned it.
    pub source: ContextSource,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
}

/// MBIM_MS_PROVISIONED_CONTEXTS_V2_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ProvisionedContextsV2 {
    #[mbim(count_of = contexts)]
    contexts_count: u32,
    /// The contexts.
    #[mbim(struct_list)]
    pub contexts: Vec<ProvisionedContextElementV2>,
}

/// MBIM_SET_MS_PROVISIONED_CONTEXT_V2 of MBIMEx 4.0: with the network slice.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContextSetV4 {
    /// Add, delete or restore.
    pub operation: ContextOperation,
    /// Context type (see [`ContextType`](crate::services::basic_connect::ContextType)).
    pub context_type: Uuid,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Enabled or not.
    pub state: ContextState,
    /// Where it applies.
    pub roaming: ContextRoamingControl,
    /// Over which media.
    pub media_type: ContextMediaType,
    /// Who provisioned it.
    pub source: ContextSource,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
    /// The network slice (a SINGLE_NSSAI element; empty data for none).
    pub snssai: Tlv,
}

/// MBIM_MS_CONTEXT_V2 of MBIMEx 4.0: one provisioned context with its slice.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ProvisionedContextElementV4 {
    /// Context id.
    pub context_id: u32,
    /// Context type.
    pub context_type: Uuid,
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Enabled or not.
    pub state: ContextState,
    /// Where it applies.
    pub roaming: ContextRoamingControl,
    /// Over which media.
    pub media_type: ContextMediaType,
    /// Who provisioned it.
    pub source: ContextSource,
    /// The APN.
    pub access_string: String,
    /// User name.
    pub user_name: String,
    /// Password.
    #[mbim(secret)]
    pub password: String,
    /// Header compression.
    pub compression: Compression,
    /// Authentication protocol.
    pub auth_protocol: AuthProtocol,
    /// The network slice (a SINGLE_NSSAI element; empty data for none).
    pub snssai: Tlv,
}

/// MBIM_MS_PROVISIONED_CONTEXTS_V2_INFO of MBIMEx 4.0.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ProvisionedContextsV4 {
    #[mbim(count_of = contexts)]
    contexts_count: u32,
    /// The contexts.
    #[mbim(struct_list)]
    pub contexts: Vec<ProvisionedContextElementV4>,
}

/// 2.0's (and 3.0's) provisioned-context SET in 4.0's layout, on the
/// default network slice.
impl From<ProvisionedContextSetV2> for ProvisionedContextSetV4 {
    fn from(set: ProvisionedContextSetV2) -> Self {
        ProvisionedContextSetV4 {
            operation: set.operation,
            context_type: set.context_type,
            ip_type: set.ip_type,
            state: set.state,
            roaming: set.roaming,
            media_type: set.media_type,
            source: set.source,
            access_string: set.access_string,
            user_name: set.user_name,
            password: set.password,
            compression: set.compression,
            auth_protocol: set.auth_protocol,
            snssai: no_slice(),
        }
    }
}

/// A 2.0 (and 3.0) provisioned context in 4.0's layout, on the default
/// network slice.
impl From<ProvisionedContextElementV2> for ProvisionedContextElementV4 {
    fn from(context: ProvisionedContextElementV2) -> Self {
        ProvisionedContextElementV4 {
            context_id: context.context_id,
            context_type: context.context_type,
            ip_type: context.ip_type,
            state: context.state,
            roaming: context.roaming,
            media_type: context.media_type,
            source: context.source,
            access_string: context.access_string,
            user_name: context.user_name,
            password: context.password,
            compression: context.compression,
            auth_protocol: context.auth_protocol,
            snssai: no_slice(),
        }
    }
}

/// A 4.0 provisioned context in 2.0's layout: the network slice dropped,
/// for a reader that knows no slices.
impl From<ProvisionedContextElementV4> for ProvisionedContextElementV2 {
    fn from(context: ProvisionedContextElementV4) -> Self {
        ProvisionedContextElementV2 {
            context_id: context.context_id,
            context_type: context.context_type,
            ip_type: context.ip_type,
            state: context.state,
            roaming: context.roaming,
            media_type: context.media_type,
            source: context.source,
            access_string: context.access_string,
            user_name: context.user_name,
            password: context.password,
            compression: context.compression,
            auth_protocol: context.auth_protocol,
        }
    }
}

/// 2.0's list in 4.0's layout, every context on the default slice.
impl From<ProvisionedContextsV2> for ProvisionedContextsV4 {
    fn from(info: ProvisionedContextsV2) -> Self {
        ProvisionedContextsV4 {
            contexts: info.contexts.into_iter().map(Into::into).collect(),
        }
    }
}

/// 4.0's list in 2.0's layout, the slices dropped.
impl From<ProvisionedContextsV4> for ProvisionedContextsV2 {
    fn from(info: ProvisionedContextsV4) -> Self {
        ProvisionedContextsV2 {
            contexts: info.contexts.into_iter().map(Into::into).collect(),
        }
    }
}
