//! MBIMEx 3.0 registration and configuration: MBIM_CID_MS_REGISTRATION_PARAMS
//! (5G registration options), MBIM_CID_MS_MODEM_CONFIG (the carrier
//! configuration's state) and MBIM_CID_MS_WAKE_REASON (what woke the host).

use crate::tlv::Tlv;
use crate::{mbim_enum, mbim_struct};

mbim_enum! {
    /// MBIM_MICO_MODE: 5G mobile-initiated-connection-only mode.
    pub enum MicoMode {
        /// Disabled.
        Disabled = 0 => "disabled",
        /// Enabled.
        Enabled = 1 => "enabled",
        /// Not supported.
        Unsupported = 2 => "unsupported",
        /// The device's default.
        Default = 3 => "default",
    }
}

mbim_enum! {
    /// MBIM_DRX_CYCLE: the discontinuous reception cycle, in radio frames.
    pub enum DrxCycle {
        /// Not given.
        NotSpecified = 0 => "not-specified",
        /// Not supported.
        NotSupported = 1 => "not-supported",
        /// 32 frames.
        Cycle32 = 2 => "32",
        /// 64 frames.
        Cycle64 = 3 => "64",
        /// 128 frames.
        Cycle128 = 4 => "128",
        /// 256 frames.
        Cycle256 = 5 => "256",
    }
}

mbim_enum! {
    /// MBIM_LADN_INFO: whether local area data network information is wanted.
    pub enum LadnInfo {
        /// Not wanted.
        NotNeeded = 0 => "not-needed",
        /// Requested.
        Requested = 1 => "requested",
    }
}

mbim_enum! {
    /// MBIM_DEFAULT_PDU_ACTIVATION_HINT: whether the host will likely
    /// activate a default PDU session soon after registering.
    pub enum DefaultPduActivationHint {
        /// Unlikely.
        Unlikely = 0 => "unlikely",
        /// Likely.
        Likely = 1 => "likely",
    }
}

mbim_enum! {
    /// A 32-bit boolean (BOOL on the wire).
    pub enum Boolean {
        /// False.
        False = 0 => "false",
        /// True.
        True = 1 => "true",
    }
}

/// MBIM_MS_REGISTRATION_PARAMS_INFO (the set's payload and the response's).
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct RegistrationParameters {
    /// MICO mode.
    pub mico_mode: MicoMode,
    /// DRX cycle.
    pub drx_cycle: DrxCycle,
    /// Whether LADN information is wanted.
    pub ladn_info: LadnInfo,
    /// Whether a default PDU session will follow.
    pub default_pdu_activation_hint: DefaultPduActivationHint,
    /// Whether the device should register again if the parameters need it.
    pub re_register_if_needed: Boolean,
    /// Further information elements.
    pub unnamed_ies: Vec<Tlv>,
}

mbim_enum! {
    /// MBIM_MODEM_CONFIGURATION_STATUS.
    pub enum ModemConfigurationStatus {
        /// Not known.
        Unspecified = 0 => "unknown",
        /// Applying a configuration (for a new SIM).
        Started = 1 => "started",
        /// Configuration applied.
        Completed = 2 => "completed",
    }
}

/// MBIM_MS_MODEM_CONFIG_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct ModemConfigurationInfo {
    /// Where the modem is in applying its configuration.
    pub configuration_status: ModemConfigurationStatus,
    /// The configuration's name.
    #[mbim(tlv_string)]
    pub configuration_name: String,
    /// Further information elements.
    pub unnamed_ies: Vec<Tlv>,
}

mbim_enum! {
    /// MBIM_WAKE_TYPE: what woke the host.
    pub enum WakeType {
        /// The response to a command.
        CidResponse = 0 => "cid-response",
        /// An indication.
        CidIndication = 1 => "cid-indication",
        /// A packet that matched a filter.
        Packet = 2 => "packet",
    }
}

/// MBIM_MS_WAKE_REASON.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct WakeReason {
    /// What woke the host.
    pub wake_type: WakeType,
    /// The IP session it concerns.
    pub session_id: u32,
    /// A WAKE_COMMAND element (responses, indications) or a WAKE_PACKET one.
    pub wake_tlv: Tlv,
}
