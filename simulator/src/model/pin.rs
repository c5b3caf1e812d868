//! PIN1/PUK1 of one card, as seed 000 ("Responding to Pin Operations")
//! requires a device to answer MBIM_CID_PIN sets.
//!
//! Pure: a [`PinLock`] and a [`PinSet`] in, a [`PinOutcome`] out (the status,
//! the MBIM_PIN_INFO to answer with, and what changed for the card), so every
//! rule is a row in a table test.

use mbim_protocol::services::basic_connect::{PinInfo, PinOperation, PinSet, PinState, PinType};
use mbim_protocol::status::Status;

/// Where the card's PIN1 stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockState {
    /// Nothing to enter.
    Unlocked,
    /// PIN1 must be entered.
    PinRequired,
    /// PIN1 is blocked; PUK1 with a new PIN must be entered.
    PukRequired,
    /// PUK1 is blocked too: the card is unusable.
    PukBlocked,
}

/// A card's PIN1 and PUK1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinLock {
    pin: String,
    puk: String,
    enabled: bool,
    state: LockState,
    pin_attempts: u32,
    puk_attempts: u32,
}

/// The attempts a fresh PIN1 gets after it is entered or unblocked.
pub const PIN_ATTEMPTS: u32 = 3;
/// The attempts a fresh PUK1 gets.
pub const PUK_ATTEMPTS: u32 = 10;

/// What a PIN operation changed for the card, beyond its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinEvent {
    /// The card became usable (PIN1 or PUK1 accepted).
    Unlocked,
    /// PIN1 ran out of attempts: the device is locked (DeviceLocked), an
    /// active PDP context must be torn down.
    PinBlocked,
    /// PUK1 ran out of attempts: the SIM is bad (BadSim).
    PukBlocked,
}

/// The answer to a PIN set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinOutcome {
    /// COMMAND_DONE status.
    pub status: Status,
    /// MBIM_PIN_INFO of the response.
    pub info: PinInfo,
    /// What changed, if anything.
    pub event: Option<PinEvent>,
}

/// Whether `pin` is 4 to 8 digits (3GPP TS 31.101 PIN format).
pub fn valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|byte| byte.is_ascii_digit())
}

fn info(pin_type: PinType, pin_state: PinState, remaining_attempts: u32) -> PinInfo {
    PinInfo {
        pin_type,
        pin_state,
        remaining_attempts,
    }
}

impl PinLock {
    /// A card's lock at power-on: locked if PIN1 is enabled (seed 000: "If
    /// PIN1 is enabled, the PIN state becomes Locked when the device is power
    /// cycled"), blocked if its counters are already 0.
    pub fn new(pin: &str, puk: &str, enabled: bool, pin_attempts: u32, puk_attempts: u32) -> Self {
        let mut lock = PinLock {
            pin: pin.to_owned(),
            puk: puk.to_owned(),
            enabled,
            state: LockState::Unlocked,
            pin_attempts,
            puk_attempts,
        };
        lock.power_cycle();
        lock
    }

    /// The state after a power cycle.
    pub fn power_cycle(&mut self) {
        self.state = if self.puk_attempts == 0 {
            LockState::PukBlocked
        } else if self.pin_attempts == 0 {
            LockState::PukRequired
        } else if self.enabled {
            LockState::PinRequired
        } else {
            LockState::Unlocked
        };
    }

    /// Where PIN1 stands.
    pub fn state(&self) -> LockState {
        self.state
    }

    /// Whether PIN1 is enabled.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// PIN1 attempts left.
    pub fn pin_attempts(&self) -> u32 {
        self.pin_attempts
    }

    /// PUK1 attempts left.
    pub fn puk_attempts(&self) -> u32 {
        self.puk_attempts
    }

    /// The answer to a PIN query: the PIN that is pending, if any.
    pub fn query(&self) -> PinInfo {
        match self.state {
            LockState::Unlocked => info(PinType::None, PinState::Unlocked, 0),
            LockState::PinRequired => info(PinType::Pin1, PinState::Locked, self.pin_attempts),
            LockState::PukRequired => info(PinType::Puk1, PinState::Locked, self.puk_attempts),
            LockState::PukBlocked => info(PinType::None, PinState::Locked, 0),
        }
    }

    /// Blocks PIN1 at once (the `block-pin` control command).
    pub fn block_pin(&mut self) -> Option<PinEvent> {
        if matches!(self.state, LockState::PukRequired | LockState::PukBlocked) {
            return None;
        }
        self.pin_attempts = 0;
        self.state = LockState::PukRequired;
        Some(PinEvent::PinBlocked)
    }

    /// Applies a PIN set.
    pub fn set(&mut self, request: &PinSet) -> PinOutcome {
        match (request.pin_type, request.pin_operation) {
            (PinType::Pin1, PinOperation::Enter) => self.enter_pin1(&request.pin),
            (PinType::Puk1, PinOperation::Enter) => self.enter_puk1(&request.pin, &request.new_pin),
            (PinType::Pin1, PinOperation::Enable) => self.set_enabled(&request.pin, true),
            (PinType::Pin1, PinOperation::Disable) => self.set_enabled(&request.pin, false),
            (PinType::Pin1, PinOperation::Change) => self.change(&request.pin, &request.new_pin),
            // PIN2 exists but is never pending here: entering it is "not
            // expected" (seed 000: Failure with PinType None).
            (PinType::Pin2, PinOperation::Enter) => PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Unlocked, 0),
                event: None,
            },
            // Seed 000: "enabling and disabling PIN2 is not typically
            // supported … NO_DEVICE_SUPPORT". Every other PIN type and any
            // operation value outside the enum is not supported either.
            _ => PinOutcome {
                status: Status::NoDeviceSupport,
                info: info(PinType::None, PinState::Unlocked, 0),
                event: None,
            },
        }
    }

    /// Seed 000 "PIN Must be Entered": an operation other than entering the
    /// pending PIN/PUK answers PIN_REQUIRED with the pending type.
    fn must_enter_first(&self) -> Option<PinOutcome> {
        match self.state {
            LockState::PinRequired | LockState::PukRequired => Some(PinOutcome {
                status: Status::PinRequired,
                info: self.query(),
                event: None,
            }),
            LockState::PukBlocked => Some(PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Locked, 0),
                event: None,
            }),
            LockState::Unlocked => None,
        }
    }

    /// A wrong PIN1: one attempt less; at zero PIN1 blocks and PUK1 is asked
    /// for (seed 000 "Unblocking PIN": Failure, PinType Puk1, Locked, PUK attempts).
    fn wrong_pin(&mut self) -> PinOutcome {
        self.pin_attempts = self.pin_attempts.saturating_sub(1);
        if self.pin_attempts == 0 {
            self.state = LockState::PukRequired;
            return PinOutcome {
                status: Status::Failure,
                info: info(PinType::Puk1, PinState::Locked, self.puk_attempts),
                event: Some(PinEvent::PinBlocked),
            };
        }
        let state = if self.state == LockState::PinRequired {
            PinState::Locked
        } else {
            PinState::Unlocked
        };
        PinOutcome {
            status: Status::Failure,
            info: info(PinType::Pin1, state, self.pin_attempts),
            event: None,
        }
    }

    fn enter_pin1(&mut self, pin: &str) -> PinOutcome {
        match self.state {
            LockState::PinRequired => {
                if pin == self.pin {
                    self.state = LockState::Unlocked;
                    self.pin_attempts = PIN_ATTEMPTS;
                    PinOutcome {
                        status: Status::Success,
                        info: info(PinType::None, PinState::Unlocked, 0),
                        event: Some(PinEvent::Unlocked),
                    }
                } else {
                    self.wrong_pin()
                }
            }
            // PIN1 blocked: the PUK is what is expected.
            LockState::PukRequired => PinOutcome {
                status: Status::Failure,
                info: info(PinType::Puk1, PinState::Locked, self.puk_attempts),
                event: None,
            },
            LockState::PukBlocked => PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Locked, 0),
                event: None,
            },
            // Seed 000 "PIN Disabled or PIN Not Expected": Failure, PinType None.
            LockState::Unlocked => PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Unlocked, 0),
                event: None,
            },
        }
    }

    fn enter_puk1(&mut self, puk: &str, new_pin: &str) -> PinOutcome {
        match self.state {
            LockState::PukRequired => {
                if puk != self.puk {
                    self.puk_attempts = self.puk_attempts.saturating_sub(1);
                    if self.puk_attempts == 0 {
                        self.state = LockState::PukBlocked;
                        // Seed 000 "Blocked PUK": Failure, PinType None.
                        return PinOutcome {
                            status: Status::Failure,
                            info: info(PinType::None, PinState::Locked, 0),
                            event: Some(PinEvent::PukBlocked),
                        };
                    }
                    return PinOutcome {
                        status: Status::Failure,
                        info: info(PinType::Puk1, PinState::Locked, self.puk_attempts),
                        event: None,
                    };
                }
                if !valid_pin(new_pin) {
                    // The PUK was right but no usable new PIN came with it;
                    // nothing is consumed.
                    return PinOutcome {
                        status: Status::InvalidParameters,
                        info: info(PinType::Puk1, PinState::Locked, self.puk_attempts),
                        event: None,
                    };
                }
                new_pin.clone_into(&mut self.pin);
                self.pin_attempts = PIN_ATTEMPTS;
                self.puk_attempts = PUK_ATTEMPTS;
                self.state = LockState::Unlocked;
                PinOutcome {
                    status: Status::Success,
                    info: info(PinType::None, PinState::Unlocked, 0),
                    event: Some(PinEvent::Unlocked),
                }
            }
            LockState::PinRequired => PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Locked, 0),
                event: None,
            },
            LockState::PukBlocked => PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Locked, 0),
                event: None,
            },
            LockState::Unlocked => PinOutcome {
                status: Status::Failure,
                info: info(PinType::None, PinState::Unlocked, 0),
                event: None,
            },
        }
    }

    fn set_enabled(&mut self, pin: &str, enable: bool) -> PinOutcome {
        if let Some(outcome) = self.must_enter_first() {
            return outcome;
        }
        // Seed 000: already in the requested state → Success, PinType None.
        if self.enabled == enable {
            return PinOutcome {
                status: Status::Success,
                info: info(PinType::None, PinState::Unlocked, 0),
                event: None,
            };
        }
        if pin != self.pin {
            return self.wrong_pin();
        }
        self.enabled = enable;
        self.pin_attempts = PIN_ATTEMPTS;
        // Seed 000: Disabled → Enabled leaves the PIN Unlocked.
        PinOutcome {
            status: Status::Success,
            info: info(PinType::None, PinState::Unlocked, 0),
            event: None,
        }
    }

    fn change(&mut self, pin: &str, new_pin: &str) -> PinOutcome {
        if let Some(outcome) = self.must_enter_first() {
            return outcome;
        }
        // Seed 000 "PIN Change Operation": refused while disabled.
        if !self.enabled {
            return PinOutcome {
                status: Status::PinDisabled,
                info: info(PinType::None, PinState::Unlocked, 0),
                event: None,
            };
        }
        if pin != self.pin {
            return self.wrong_pin();
        }
        if !valid_pin(new_pin) {
            return PinOutcome {
                status: Status::InvalidParameters,
                info: info(PinType::Pin1, PinState::Unlocked, self.pin_attempts),
                event: None,
            };
        }
        new_pin.clone_into(&mut self.pin);
        self.pin_attempts = PIN_ATTEMPTS;
        PinOutcome {
            status: Status::Success,
            info: info(PinType::None, PinState::Unlocked, 0),
            event: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pin_type: PinType, op: PinOperation, pin: &str, new_pin: &str) -> PinSet {
        PinSet {
            pin_type,
            pin_operation: op,
            pin: pin.to_owned(),
            new_pin: new_pin.to_owned(),
        }
    }

    /// Builds a lock in `state` from an enabled 1234 / 12345678 card.
    fn lock_in(state: LockState, enabled: bool) -> PinLock {
        let mut lock = PinLock::new("1234", "12345678", enabled, 3, 10);
        match state {
            LockState::Unlocked => {
                lock.state = LockState::Unlocked;
            }
            LockState::PinRequired => lock.state = LockState::PinRequired,
            LockState::PukRequired => {
                lock.pin_attempts = 0;
                lock.state = LockState::PukRequired;
            }
            LockState::PukBlocked => {
                lock.pin_attempts = 0;
                lock.puk_attempts = 0;
                lock.state = LockState::PukBlocked;
            }
        }
        lock
    }

    use LockState::*;
    use PinOperation::*;
    use PinState::{Locked, Unlocked as U};
    use PinType::{None as TNone, Pin1, Pin2, Puk1};

    #[rustfmt::skip]
    #[allow(clippy::type_complexity)] // One row per rule, every column named in the comment.
    const TABLE: &[(&str, LockState, bool, PinType, PinOperation, &str, &str, Status, PinType, PinState, u32, Option<PinEvent>, LockState)] = &[
        // name, start, enabled, type, op, pin, new, status, info type, info state, attempts, event, end
        ("enter right pin", PinRequired, true, Pin1, Enter, "1234", "", Status::Success, TNone, U, 0, Some(PinEvent::Unlocked), Unlocked),
        ("enter wrong pin", PinRequired, true, Pin1, Enter, "0000", "", Status::Failure, Pin1, Locked, 2, None, PinRequired),
        ("enter pin not expected", Unlocked, true, Pin1, Enter, "1234", "", Status::Failure, TNone, U, 0, None, Unlocked),
        ("enter pin while disabled", Unlocked, false, Pin1, Enter, "1234", "", Status::Failure, TNone, U, 0, None, Unlocked),
        ("enter pin while puk needed", PukRequired, true, Pin1, Enter, "1234", "", Status::Failure, Puk1, Locked, 10, None, PukRequired),
        ("enter right puk", PukRequired, true, Puk1, Enter, "12345678", "4321", Status::Success, TNone, U, 0, Some(PinEvent::Unlocked), Unlocked),
        ("enter wrong puk", PukRequired, true, Puk1, Enter, "00000000", "4321", Status::Failure, Puk1, Locked, 9, None, PukRequired),
        ("enter puk without new pin", PukRequired, true, Puk1, Enter, "12345678", "", Status::InvalidParameters, Puk1, Locked, 10, None, PukRequired),
        ("enter puk not expected", Unlocked, true, Puk1, Enter, "12345678", "4321", Status::Failure, TNone, U, 0, None, Unlocked),
        ("puk blocked", PukBlocked, true, Pin1, Enter, "1234", "", Status::Failure, TNone, Locked, 0, None, PukBlocked),
        ("enable already enabled", Unlocked, true, Pin1, Enable, "9999", "", Status::Success, TNone, U, 0, None, Unlocked),
        ("disable already disabled", Unlocked, false, Pin1, Disable, "9999", "", Status::Success, TNone, U, 0, None, Unlocked),
        ("enable", Unlocked, false, Pin1, Enable, "1234", "", Status::Success, TNone, U, 0, None, Unlocked),
        ("enable wrong pin", Unlocked, false, Pin1, Enable, "0000", "", Status::Failure, Pin1, U, 2, None, Unlocked),
        ("disable", Unlocked, true, Pin1, Disable, "1234", "", Status::Success, TNone, U, 0, None, Unlocked),
        ("disable while locked", PinRequired, true, Pin1, Disable, "1234", "", Status::PinRequired, Pin1, Locked, 3, None, PinRequired),
        ("change while puk needed", PukRequired, true, Pin1, Change, "1234", "5678", Status::PinRequired, Puk1, Locked, 10, None, PukRequired),
        ("change", Unlocked, true, Pin1, Change, "1234", "5678", Status::Success, TNone, U, 0, None, Unlocked),
        ("change while disabled", Unlocked, false, Pin1, Change, "1234", "5678", Status::PinDisabled, TNone, U, 0, None, Unlocked),
        ("change wrong pin", Unlocked, true, Pin1, Change, "0000", "5678", Status::Failure, Pin1, U, 2, None, Unlocked),
        ("pin2 enable", Unlocked, true, Pin2, Enable, "1234", "", Status::NoDeviceSupport, TNone, U, 0, None, Unlocked),
        ("pin2 disable", Unlocked, true, Pin2, Disable, "1234", "", Status::NoDeviceSupport, TNone, U, 0, None, Unlocked),
        ("pin2 enter not expected", Unlocked, true, Pin2, Enter, "1234", "", Status::Failure, TNone, U, 0, None, Unlocked),
        ("network pin unsupported", Unlocked, true, PinType::NetworkPin, Enter, "1234", "", Status::NoDeviceSupport, TNone, U, 0, None, Unlocked),
    ];

    #[test]
    fn pin_operations_follow_seed_000() {
        for (
            name,
            start,
            enabled,
            pin_type,
            op,
            pin,
            new_pin,
            status,
            info_type,
            info_state,
            attempts,
            event,
            end,
        ) in TABLE
        {
            let mut lock = lock_in(*start, *enabled);
            let outcome = lock.set(&set(*pin_type, *op, pin, new_pin));
            assert_eq!(outcome.status, *status, "{name}: status");
            assert_eq!(outcome.info.pin_type, *info_type, "{name}: pin type");
            assert_eq!(outcome.info.pin_state, *info_state, "{name}: pin state");
            assert_eq!(
                outcome.info.remaining_attempts, *attempts,
                "{name}: attempts"
            );
            assert_eq!(outcome.event, *event, "{name}: event");
            assert_eq!(lock.state(), *end, "{name}: end state");
        }
    }

    #[test]
    fn three_wrong_pins_block_then_puk_unblocks_with_new_pin() {
        let mut lock = lock_in(PinRequired, true);
        lock.set(&set(Pin1, Enter, "0000", ""));
        lock.set(&set(Pin1, Enter, "0000", ""));
        let blocked = lock.set(&set(Pin1, Enter, "0000", ""));
        assert_eq!(blocked.status, Status::Failure);
        assert_eq!(blocked.info.pin_type, Puk1);
        assert_eq!(blocked.info.pin_state, Locked);
        assert_eq!(blocked.info.remaining_attempts, 10);
        assert_eq!(blocked.event, Some(PinEvent::PinBlocked));
        assert_eq!(lock.query().pin_type, Puk1);
        let unblocked = lock.set(&set(Puk1, Enter, "12345678", "2468"));
        assert_eq!(unblocked.status, Status::Success);
        lock.power_cycle();
        assert_eq!(lock.state(), PinRequired);
        assert_eq!(
            lock.set(&set(Pin1, Enter, "2468", "")).status,
            Status::Success
        );
    }

    #[test]
    fn ten_wrong_puks_block_the_card() {
        let mut lock = lock_in(PukRequired, true);
        let mut last = None;
        for _ in 0..10 {
            last = Some(lock.set(&set(Puk1, Enter, "00000000", "1111")));
        }
        let last = last.unwrap();
        assert_eq!(last.status, Status::Failure);
        assert_eq!(last.info.pin_type, TNone);
        assert_eq!(last.event, Some(PinEvent::PukBlocked));
        assert_eq!(lock.state(), PukBlocked);
    }

    #[test]
    fn enabled_pin_locks_after_power_cycle_and_disabled_does_not() {
        let mut lock = lock_in(Unlocked, true);
        lock.power_cycle();
        assert_eq!(lock.state(), PinRequired);
        let mut lock = lock_in(Unlocked, false);
        lock.power_cycle();
        assert_eq!(lock.state(), Unlocked);
    }
}
