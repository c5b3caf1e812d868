//! ModemManager's enumerations and flags as they travel on the bus
//! (`include/ModemManager-enums.h`): only the values mbimd reports or
//! takes. A client compares them with its own copy of the header, so every
//! number here is ModemManager's, never one of our own choosing.

/// `MMModemState` (signature `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ModemState {
    Failed,
    Unknown,
    Initializing,
    Locked,
    Disabled,
    Enabled,
    Searching,
    Registered,
    Disconnecting,
    Connecting,
    Connected,
}

impl PartialOrd for ModemState {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Ordered as ModemManager's values are: a state "at least REGISTERED" is
/// registered, connecting, connected or disconnecting.
impl Ord for ModemState {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value().cmp(&other.value())
    }
}

impl ModemState {
    /// The value on the bus.
    pub(crate) fn value(self) -> i32 {
        match self {
            ModemState::Failed => -1,
            ModemState::Unknown => 0,
            ModemState::Initializing => 1,
            ModemState::Locked => 2,
            ModemState::Disabled => 3,
            ModemState::Enabled => 6,
            ModemState::Searching => 7,
            ModemState::Registered => 8,
            ModemState::Disconnecting => 9,
            ModemState::Connecting => 10,
            ModemState::Connected => 11,
        }
    }
}

/// `MMModemStateFailedReason` (`u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailedReason {
    None,
    Unknown,
    SimMissing,
    SimError,
    EsimWithoutProfiles,
}

impl FailedReason {
    pub(crate) fn value(self) -> u32 {
        match self {
            FailedReason::None => 0,
            FailedReason::Unknown => 1,
            FailedReason::SimMissing => 2,
            FailedReason::SimError => 3,
            FailedReason::EsimWithoutProfiles => 5,
        }
    }
}

/// `MMModemStateChangeReason` (`u`, the third argument of StateChanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateChangeReason {
    Unknown,
    Failure,
}

impl StateChangeReason {
    pub(crate) fn value(self) -> u32 {
        match self {
            StateChangeReason::Unknown => 0,
            StateChangeReason::Failure => 3,
        }
    }
}

/// `MMModemPowerState` (`u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PowerState {
    Unknown,
    Off,
    Low,
    On,
}

impl PowerState {
    pub(crate) fn value(self) -> u32 {
        match self {
            PowerState::Unknown => 0,
            PowerState::Off => 1,
            PowerState::Low => 2,
            PowerState::On => 3,
        }
    }

    /// The state a `SetPowerState` argument names, if it is one.
    pub(crate) fn from_value(value: u32) -> Option<Self> {
        [
            PowerState::Unknown,
            PowerState::Off,
            PowerState::Low,
            PowerState::On,
        ]
        .into_iter()
        .find(|state| state.value() == value)
    }
}

/// `MMModemLock` (`u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Lock {
    Unknown,
    None,
    SimPin,
    SimPin2,
    SimPuk,
    SimPuk2,
    PhSpPin,
    PhSpPuk,
    PhNetPin,
    PhNetPuk,
    PhSimPin,
    PhCorpPin,
    PhCorpPuk,
    PhFsimPin,
    PhFsimPuk,
    PhNetsubPin,
    PhNetsubPuk,
}

impl Lock {
    pub(crate) fn value(self) -> u32 {
        match self {
            Lock::Unknown => 0,
            Lock::None => 1,
            Lock::SimPin => 2,
            Lock::SimPin2 => 3,
            Lock::SimPuk => 4,
            Lock::SimPuk2 => 5,
            Lock::PhSpPin => 6,
            Lock::PhSpPuk => 7,
            Lock::PhNetPin => 8,
            Lock::PhNetPuk => 9,
            Lock::PhSimPin => 10,
            Lock::PhCorpPin => 11,
            Lock::PhCorpPuk => 12,
            Lock::PhFsimPin => 13,
            Lock::PhFsimPuk => 14,
            Lock::PhNetsubPin => 15,
            Lock::PhNetsubPuk => 16,
        }
    }
}

/// `MMModemCapability` flags (`u`).
pub(crate) mod capability {
    pub(crate) const GSM_UMTS: u32 = 1 << 2;
    pub(crate) const LTE: u32 = 1 << 3;
}

/// `MMModemAccessTechnology` flags (`u`).
pub(crate) mod access_technology {
    pub(crate) const UNKNOWN: u32 = 0;
    pub(crate) const GPRS: u32 = 1 << 3;
    pub(crate) const EDGE: u32 = 1 << 4;
    pub(crate) const UMTS: u32 = 1 << 5;
    pub(crate) const HSDPA: u32 = 1 << 6;
    pub(crate) const HSUPA: u32 = 1 << 7;
    pub(crate) const ONE_X_RTT: u32 = 1 << 10;
    pub(crate) const EVDO0: u32 = 1 << 11;
    pub(crate) const EVDOA: u32 = 1 << 12;
    pub(crate) const EVDOB: u32 = 1 << 13;
    pub(crate) const LTE: u32 = 1 << 14;
    pub(crate) const NR5G: u32 = 1 << 15;
}

/// `MMModemMode` flags (`u`).
pub(crate) mod mode {
    pub(crate) const NONE: u32 = 0;
    pub(crate) const MODE_2G: u32 = 1 << 1;
    pub(crate) const MODE_3G: u32 = 1 << 2;
    pub(crate) const MODE_4G: u32 = 1 << 3;
    pub(crate) const MODE_5G: u32 = 1 << 4;
    pub(crate) const ANY: u32 = 0xFFFF_FFFF;
}

/// `MMModemPortType` (`u`).
pub(crate) mod port_type {
    pub(crate) const NET: u32 = 2;
    pub(crate) const MBIM: u32 = 7;
}

/// `MMModem3gppRegistrationState` (`u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegistrationState {
    Idle,
    Home,
    Searching,
    Denied,
    Unknown,
    Roaming,
}

impl RegistrationState {
    pub(crate) fn value(self) -> u32 {
        match self {
            RegistrationState::Idle => 0,
            RegistrationState::Home => 1,
            RegistrationState::Searching => 2,
            RegistrationState::Denied => 3,
            RegistrationState::Unknown => 4,
            RegistrationState::Roaming => 5,
        }
    }
}

/// `MMModem3gppPacketServiceState` (`u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PacketServiceState {
    Unknown,
    Detached,
    Attached,
}

impl PacketServiceState {
    pub(crate) fn value(self) -> u32 {
        match self {
            PacketServiceState::Unknown => 0,
            PacketServiceState::Detached => 1,
            PacketServiceState::Attached => 2,
        }
    }
}

/// `MMModem3gppFacility` flags (`u`).
pub(crate) mod facility {
    pub(crate) const NONE: u32 = 0;
    pub(crate) const SIM: u32 = 1 << 0;
}

/// `MMBearerIpMethod` (`u`).
pub(crate) mod ip_method {
    pub(crate) const UNKNOWN: u32 = 0;
    pub(crate) const STATIC: u32 = 2;
}

/// `MMBearerIpFamily` flags (`u`).
pub(crate) mod ip_family {
    pub(crate) const NONE: u32 = 0;
    pub(crate) const IPV4: u32 = 1 << 0;
    pub(crate) const IPV6: u32 = 1 << 1;
    pub(crate) const IPV4V6: u32 = 1 << 2;
    pub(crate) const NON_IP: u32 = 1 << 3;
    pub(crate) const ANY: u32 = 0xFFFF_FFF7;
}

/// `MMBearerAllowedAuth` flags (`u`).
pub(crate) mod allowed_auth {
    pub(crate) const UNKNOWN: u32 = 0;
    pub(crate) const NONE: u32 = 1 << 0;
    pub(crate) const PAP: u32 = 1 << 1;
    pub(crate) const CHAP: u32 = 1 << 2;
    pub(crate) const MSCHAP: u32 = 1 << 3;
    pub(crate) const MSCHAPV2: u32 = 1 << 4;
    pub(crate) const EAP: u32 = 1 << 5;
}

/// `MMBearerType` (`u`).
pub(crate) mod bearer_type {
    pub(crate) const DEFAULT: u32 = 1;
}

/// `MMBearerMultiplexSupport` (`u`).
pub(crate) mod multiplex {
    pub(crate) const UNKNOWN: u32 = 0;
    pub(crate) const NONE: u32 = 1;
    pub(crate) const REQUESTED: u32 = 2;
}

/// `MMSimType` (`u`).
pub(crate) mod sim_type {
    pub(crate) const PHYSICAL: u32 = 1;
    pub(crate) const ESIM: u32 = 2;
}

/// `MMSimEsimStatus` (`u`).
pub(crate) mod esim_status {
    pub(crate) const UNKNOWN: u32 = 0;
    pub(crate) const NO_PROFILES: u32 = 1;
    pub(crate) const WITH_PROFILES: u32 = 2;
}

/// `MMSimRemovability` (`u`).
pub(crate) mod removability {
    pub(crate) const REMOVABLE: u32 = 1;
    pub(crate) const NOT_REMOVABLE: u32 = 2;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_locks_have_modemmanagers_numbers() {
        // (ours, ModemManager-enums.h)
        let states = [
            (ModemState::Failed, -1),
            (ModemState::Unknown, 0),
            (ModemState::Initializing, 1),
            (ModemState::Locked, 2),
            (ModemState::Disabled, 3),
            (ModemState::Enabled, 6),
            (ModemState::Searching, 7),
            (ModemState::Registered, 8),
            (ModemState::Disconnecting, 9),
            (ModemState::Connecting, 10),
            (ModemState::Connected, 11),
        ];
        for (state, value) in states {
            assert_eq!(state.value(), value, "{state:?}");
        }
        assert_eq!(Lock::SimPin.value(), 2);
        assert_eq!(Lock::SimPuk.value(), 4);
        assert_eq!(Lock::PhNetsubPuk.value(), 16);
        assert_eq!(RegistrationState::Roaming.value(), 5);
        assert_eq!(PowerState::from_value(2), Some(PowerState::Low));
        assert_eq!(PowerState::from_value(4), None);
    }
}
