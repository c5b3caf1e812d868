//! The UICC slots and the cards in them (a card is also what the
//! `insert-sim` control command inserts).

use serde::{Deserialize, Serialize};

/// A UICC slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    /// `physical` or `embedded` (informational; the card decides the state).
    #[serde(default = "default_slot_kind")]
    pub kind: String,
    /// Whether the slot reports OffEmpty rather than Empty when it holds no
    /// card (seed 004's second transition row: OffEmpty ↔ ActiveEsim…).
    #[serde(default)]
    pub off_when_empty: bool,
    /// The card in it at power-on.
    #[serde(default)]
    pub card: Option<CardConfig>,
}

fn default_slot_kind() -> String {
    "physical".to_owned()
}

/// A UICC card (also the `card` of the `insert-sim` control command).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CardConfig {
    /// ICCID.
    pub iccid: String,
    /// IMSI.
    pub imsi: String,
    /// Telephone numbers.
    pub telephone_numbers: Vec<String>,
    /// Whether it is an eUICC (eSIM).
    pub esim: bool,
    /// For an eSIM: whether a profile is active.
    pub active_profile: bool,
    /// PIN1.
    pub pin: String,
    /// PUK1.
    pub puk: String,
    /// Whether PIN1 is enabled (then the card starts locked).
    pub pin_enabled: bool,
    /// PIN1 attempts left.
    pub pin_attempts: u32,
    /// PUK1 attempts left.
    pub puk_attempts: u32,
}

impl Default for CardConfig {
    fn default() -> Self {
        CardConfig {
            iccid: "8988200000000000001".to_owned(),
            imsi: "001010000000001".to_owned(),
            telephone_numbers: Vec::new(),
            esim: false,
            active_profile: true,
            pin: "1234".to_owned(),
            puk: "12345678".to_owned(),
            pin_enabled: false,
            pin_attempts: 3,
            puk_attempts: 10,
        }
    }
}

impl CardConfig {
    /// Checks the PIN and PUK are plausible.
    pub fn validate(&self) -> Result<(), String> {
        if !crate::model::pin::valid_pin(&self.pin) {
            return Err(format!(
                "pin must be 4-8 digits, not {} characters",
                self.pin.len()
            ));
        }
        if self.puk.len() != 8 || !self.puk.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err("puk must be 8 digits".to_owned());
        }
        Ok(())
    }
}
