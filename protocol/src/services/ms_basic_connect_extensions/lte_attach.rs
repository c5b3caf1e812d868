//! LTE attach: MBIM_CID_MS_LTE_ATTACH_CONFIG (the APN the modem attaches to
//! LTE with, per roaming condition) and MBIM_CID_MS_LTE_ATTACH_INFO (the
//! attach state and the APN used; from MBIMEx 3.0 with the network's cause).

use crate::services::basic_connect::{AuthProtocol, Compression, ContextIpType, NwError};
use crate::services::ms_basic_connect_extensions::ContextSource;
use crate::{mbim_enum, mbim_struct};

mbim_enum! {
    /// MBIM_MS_LTE_ATTACH_CONTEXT_OPERATION.
    pub enum LteAttachContextOperation {
        /// Set the given configurations.
        Default = 0 => "default",
        /// Restore the operator's configurations.
        RestoreFactory = 1 => "restore-factory",
    }
}

mbim_enum! {
    /// MBIM_MS_LTE_ATTACH_CONTEXT_ROAMING_CONTROL: which network a
    /// configuration is for.
    pub enum LteAttachContextRoamingControl {
        /// The home network.
        Home = 0 => "home",
        /// Partner networks.
        Partner = 1 => "partner",
        /// Non-partner networks.
        NonPartner = 2 => "non-partner",
    }
}

mbim_enum! {
    /// MBIM_MS_LTE_ATTACH_STATE.
    pub enum LteAttachState {
        /// Not attached.
        Detached = 0 => "detached",
        /// Attached.
        Attached = 1 => "attached",
    }
}

/// MBIM_MS_LTE_ATTACH_CONTEXT: the attach APN for one roaming condition.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct LteAttachConfiguration {
    /// IP version(s).
    pub ip_type: ContextIpType,
    /// Which network this is for.
    pub roaming: LteAttachContextRoamingControl,
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

/// MBIM_SET_MS_LTE_ATTACH_CONFIG.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct LteAttachConfigurationSet {
    /// Set or restore.
    pub operation: LteAttachContextOperation,
    #[mbim(count_of = configurations)]
    configuration_count: u32,
    /// One per roaming condition (home, partner, non-partner).
    #[mbim(struct_list)]
    pub configurations: Vec<LteAttachConfiguration>,
}

/// MBIM_MS_LTE_ATTACH_CONFIG_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct LteAttachConfigurations {
    #[mbim(count_of = configurations)]
    configuration_count: u32,
    /// One per roaming condition (home, partner, non-partner).
    #[mbim(struct_list)]
    pub configurations: Vec<LteAttachConfiguration>,
}

/// MBIM_MS_LTE_ATTACH_STATUS: the attach state and the APN attached with.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct LteAttachInfo {
    /// Attached or not.
    pub lte_attach_state: LteAttachState,
    /// IP version(s).
    pub ip_type: ContextIpType,
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

/// MBIM_MS_LTE_ATTACH_STATUS_V2 (MBIMEx 3.0): with the network's cause of
/// a failed attach.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct LteAttachInfoV3 {
    /// Attached or not.
    pub lte_attach_state: LteAttachState,
    /// Network cause of a failure.
    pub nw_error: NwError,
    /// IP version(s).
    pub ip_type: ContextIpType,
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
