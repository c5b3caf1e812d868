//! The SIM: whether a subscription is ready (SUBSCRIBER_READY_STATUS) and
//! its PINs (PIN, PIN_LIST).

use crate::{mbim_enum, mbim_flags, mbim_struct};

mbim_enum! {
    /// MBIM_SUBSCRIBER_READY_STATE.
    pub enum SubscriberReadyState {
        /// The SIM is still initializing.
        NotInitialized = 0 => "not-initialized",
        /// Ready.
        Initialized = 1 => "initialized",
        /// No SIM.
        SimNotInserted = 2 => "sim-not-inserted",
        /// The SIM is unusable (for example its PUK is blocked).
        BadSim = 3 => "bad-sim",
        /// A generic failure.
        Failure = 4 => "failure",
        /// The subscription is not activated.
        NotActivated = 5 => "not-activated",
        /// Locked: a PIN or PUK must be entered.
        DeviceLocked = 6 => "device-locked",
        /// An eSIM without an active profile (MBIMEx).
        NoEsimProfile = 7 => "no-esim-profile",
    }
}

mbim_flags! {
    /// MBIM_READY_INFO_FLAGS.
    pub struct ReadyInfoFlags: u32 {
        /// The host must not display the subscriber id.
        const PROTECT_UNIQUE_ID = 0x1 => "protect-unique-id";
    }
}

/// MBIM_SUBSCRIBER_READY_INFO.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SubscriberReadyInfo {
    /// Whether the SIM is usable.
    pub ready_state: SubscriberReadyState,
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

mbim_enum! {
    /// MBIM_PIN_TYPE.
    pub enum PinType {
        /// No PIN is pending (also "not expected").
        None = 0 => "unknown",
        /// A custom PIN.
        Custom = 1 => "custom",
        /// The SIM's PIN1.
        Pin1 = 2 => "pin1",
        /// PIN2.
        Pin2 = 3 => "pin2",
        /// Device-to-SIM PIN.
        DeviceSimPin = 4 => "device-sim-pin",
        /// Device-to-very-first-SIM PIN.
        DeviceFirstSimPin = 5 => "device-first-sim-pin",
        /// Network personalization.
        NetworkPin = 6 => "network-pin",
        /// Network subset personalization.
        NetworkSubsetPin = 7 => "network-subset-pin",
        /// Service provider personalization.
        ServiceProviderPin = 8 => "service-provider-pin",
        /// Corporate personalization.
        CorporatePin = 9 => "corporate-pin",
        /// Subsidy lock.
        SubsidyPin = 10 => "subsidy-pin",
        /// PUK1.
        Puk1 = 11 => "puk1",
        /// PUK2.
        Puk2 = 12 => "puk2",
        /// Device-to-very-first-SIM PUK.
        DeviceFirstSimPuk = 13 => "device-first-sim-puk",
        /// Network personalization PUK.
        NetworkPuk = 14 => "network-puk",
        /// Network subset personalization PUK.
        NetworkSubsetPuk = 15 => "network-subset-puk",
        /// Service provider personalization PUK.
        ServiceProviderPuk = 16 => "service-provider-puk",
        /// Corporate personalization PUK.
        CorporatePuk = 17 => "corporate-puk",
    }
}

mbim_enum! {
    /// MBIM_PIN_STATE.
    pub enum PinState {
        /// Unlocked.
        Unlocked = 0 => "unlocked",
        /// Locked: the PIN must be entered.
        Locked = 1 => "locked",
    }
}

mbim_enum! {
    /// MBIM_PIN_OPERATION.
    pub enum PinOperation {
        /// Enter the PIN (or a PUK with a new PIN).
        Enter = 0 => "enter",
        /// Enable the PIN.
        Enable = 1 => "enable",
        /// Disable the PIN.
        Disable = 2 => "disable",
        /// Change the PIN.
        Change = 3 => "change",
    }
}

/// MBIM_SET_PIN.
#[mbim_struct]
#[derive(Clone, PartialEq, Eq)]
pub struct PinSet {
    /// Which PIN.
    pub pin_type: PinType,
    /// What to do.
    pub pin_operation: PinOperation,
    /// The PIN (or PUK).
    #[mbim(secret)]
    pub pin: String,
    /// The new PIN, for change and for PUK entry.
    #[mbim(secret)]
    pub new_pin: String,
}

/// MBIM_PIN_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinInfo {
    /// The PIN that is pending, or none.
    pub pin_type: PinType,
    /// Whether it is locked.
    pub pin_state: PinState,
    /// Attempts left before it blocks.
    pub remaining_attempts: u32,
}

mbim_enum! {
    /// MBIM_PIN_MODE.
    pub enum PinMode {
        /// This PIN is not supported.
        NotSupported = 0 => "not-supported",
        /// Enabled.
        Enabled = 1 => "enabled",
        /// Disabled.
        Disabled = 2 => "disabled",
    }
}

mbim_enum! {
    /// MBIM_PIN_FORMAT.
    pub enum PinFormat {
        /// Not reported.
        Unspecified = 0 => "unknown",
        /// Digits only.
        Numeric = 1 => "numeric",
        /// Letters and digits.
        Alphanumeric = 2 => "alphanumeric",
    }
}

/// MBIM_PIN_DESC.
#[mbim_struct(inline)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinDesc {
    /// Whether the PIN is supported and enabled.
    pub pin_mode: PinMode,
    /// Its format.
    pub pin_format: PinFormat,
    /// Minimum length.
    pub pin_length_min: u32,
    /// Maximum length.
    pub pin_length_max: u32,
}

/// MBIM_PIN_LIST_INFO.
#[mbim_struct]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PinListInfo {
    /// PIN1.
    pub pin1: PinDesc,
    /// PIN2.
    pub pin2: PinDesc,
    /// Device-to-SIM PIN.
    pub device_sim_pin: PinDesc,
    /// Device-to-very-first-SIM PIN.
    pub device_first_sim_pin: PinDesc,
    /// Network personalization.
    pub network_pin: PinDesc,
    /// Network subset personalization.
    pub network_subset_pin: PinDesc,
    /// Service provider personalization.
    pub service_provider_pin: PinDesc,
    /// Corporate personalization.
    pub corporate_pin: PinDesc,
    /// Subsidy lock.
    pub subsidy_lock: PinDesc,
    /// Custom.
    pub custom: PinDesc,
}
