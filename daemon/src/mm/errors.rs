//! The errors of the ModemManager face, by ModemManager's D-Bus names
//! (`include/ModemManager-errors.h`: the prefix
//! `org.freedesktop.ModemManager1.Error.`, a domain and a nick), so
//! NetworkManager and mmcli recognise them: a wrong PIN is
//! `MobileEquipment.IncorrectPassword`, a locked SIM
//! `MobileEquipment.SimPin`, a bad argument `Core.InvalidArgs`. Messages
//! never contain a PIN, PUK or password.

use crate::modem::RequestError;

/// `MMCoreError` nicks mbimd answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Core {
    Failed,
    Aborted,
    Unsupported,
    Unauthorized,
    InvalidArgs,
    InProgress,
    WrongState,
    TooMany,
    NotFound,
    /// Not done now, may be later: the modem did not answer in time.
    Retry,
}

/// `MMMobileEquipmentError` nicks mbimd answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MobileEquipment {
    SimNotInserted,
    SimPin,
    SimPuk,
    SimFailure,
    IncorrectPassword,
    NoNetwork,
    NetworkTimeout,
    NetworkNotAllowed,
}

/// Errors of D-Bus itself (unknown object, interface, method or property,
/// a call of the wrong signature), for the mini object server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bus {
    UnknownObject,
    UnknownInterface,
    UnknownMethod,
    UnknownProperty,
    PropertyReadOnly,
    InvalidArgs,
    LimitsExceeded,
    Failed,
}

/// What a call to the ModemManager face answers when it fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MmError {
    /// `org.freedesktop.ModemManager1.Error.Core.*`.
    #[error("{message}")]
    Core {
        /// Which.
        kind: Core,
        /// What happened, for a person.
        message: String,
    },
    /// `org.freedesktop.ModemManager1.Error.MobileEquipment.*`.
    #[error("{message}")]
    MobileEquipment {
        /// Which.
        kind: MobileEquipment,
        /// What happened, for a person.
        message: String,
    },
    /// `org.freedesktop.DBus.Error.*`.
    #[error("{message}")]
    Bus {
        /// Which.
        kind: Bus,
        /// What happened, for a person.
        message: String,
    },
}

impl MmError {
    /// A `Core` error.
    pub(crate) fn core(kind: Core, message: impl Into<String>) -> Self {
        MmError::Core {
            kind,
            message: message.into(),
        }
    }

    /// A `MobileEquipment` error.
    pub(crate) fn equipment(kind: MobileEquipment, message: impl Into<String>) -> Self {
        MmError::MobileEquipment {
            kind,
            message: message.into(),
        }
    }

    /// A D-Bus error.
    pub(crate) fn bus(kind: Bus, message: impl Into<String>) -> Self {
        MmError::Bus {
            kind,
            message: message.into(),
        }
    }

    /// `Core.InvalidArgs`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::core(Core::InvalidArgs, message)
    }

    /// `Core.Unsupported`.
    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::core(Core::Unsupported, message)
    }

    /// `Core.WrongState`.
    pub(crate) fn wrong_state(message: impl Into<String>) -> Self {
        Self::core(Core::WrongState, message)
    }

    /// `Core.Failed` for a call (`what`) whose change did not happen in
    /// time: "`what`: `late` in time".
    pub(crate) fn not_in_time(what: &str, late: &str) -> Self {
        Self::core(Core::Failed, format!("{what}: {late} in time"))
    }

    /// The error's D-Bus name.
    pub(crate) fn name(&self) -> String {
        match self {
            MmError::Core { kind, .. } => {
                format!("org.freedesktop.ModemManager1.Error.Core.{kind:?}")
            }
            MmError::MobileEquipment { kind, .. } => {
                format!("org.freedesktop.ModemManager1.Error.MobileEquipment.{kind:?}")
            }
            MmError::Bus { kind, .. } => format!("org.freedesktop.DBus.Error.{kind:?}"),
        }
    }

    /// What happened, for a person.
    pub(crate) fn message(&self) -> &str {
        match self {
            MmError::Core { message, .. }
            | MmError::MobileEquipment { message, .. }
            | MmError::Bus { message, .. } => message,
        }
    }

    /// The error of a request to a modem that failed, saying `what` failed.
    pub(crate) fn from_request(what: &str, error: RequestError) -> Self {
        match error {
            RequestError::InvalidArgument(message) => Self::invalid(format!("{what}: {message}")),
            RequestError::Device { message, .. } => Self::core(
                Core::Failed,
                format!("{what}: the modem refused: {message}"),
            ),
            RequestError::NotPossible(message) => Self::wrong_state(format!("{what}: {message}")),
            RequestError::Timeout(message) => Self::core(
                Core::Retry,
                format!("{what}: {message}; the modem may still carry it out"),
            ),
            RequestError::Gone => Self::core(Core::Aborted, format!("{what}: the modem is gone")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_modemmanagers() {
        let table = [
            (
                MmError::invalid("x"),
                "org.freedesktop.ModemManager1.Error.Core.InvalidArgs",
            ),
            (
                MmError::core(Core::Unauthorized, "x"),
                "org.freedesktop.ModemManager1.Error.Core.Unauthorized",
            ),
            (
                MmError::wrong_state("x"),
                "org.freedesktop.ModemManager1.Error.Core.WrongState",
            ),
            (
                MmError::core(Core::TooMany, "x"),
                "org.freedesktop.ModemManager1.Error.Core.TooMany",
            ),
            (
                MmError::equipment(MobileEquipment::IncorrectPassword, "x"),
                "org.freedesktop.ModemManager1.Error.MobileEquipment.IncorrectPassword",
            ),
            (
                MmError::equipment(MobileEquipment::SimPin, "x"),
                "org.freedesktop.ModemManager1.Error.MobileEquipment.SimPin",
            ),
            (
                MmError::equipment(MobileEquipment::SimNotInserted, "x"),
                "org.freedesktop.ModemManager1.Error.MobileEquipment.SimNotInserted",
            ),
            (
                MmError::bus(Bus::UnknownMethod, "x"),
                "org.freedesktop.DBus.Error.UnknownMethod",
            ),
        ];
        for (error, name) in table {
            assert_eq!(error.name(), name);
        }
    }

    #[test]
    fn request_errors_keep_their_meaning() {
        let gone = MmError::from_request("Connect", RequestError::Gone);
        assert_eq!(
            gone.name(),
            "org.freedesktop.ModemManager1.Error.Core.Aborted"
        );
        assert_eq!(gone.message(), "Connect: the modem is gone");
        let busy = MmError::from_request(
            "SetPrimarySimSlot",
            RequestError::NotPossible("a switch is under way".to_owned()),
        );
        assert_eq!(
            busy.name(),
            "org.freedesktop.ModemManager1.Error.Core.WrongState"
        );
    }
}
