//! The policy's configuration: per modem, from mbimd.toml, changeable at run
//! time with [`super::PolicyInput::ConfigChanged`].

use serde::Deserialize;

/// What to do when the SIM is removed from the selected physical slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnRemoval {
    /// Suggest the embedded slot and wait for the user's `SwitchToSlot`
    /// (what Windows does: a toast asks first).
    #[default]
    Suggest,
    /// Switch to the embedded slot without asking.
    Switch,
    /// Stay on the empty physical slot and say nothing.
    Stay,
}

/// The slot policy of one modem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SlotPolicyConfig {
    /// What a removal from the selected physical slot does.
    #[serde(default)]
    pub on_removal: OnRemoval,
    /// Whether a SIM inserted into the physical slot while the embedded slot
    /// is selected is switched to at once (`true`) or only suggested
    /// (`false`, the default, like Windows' EnableAutoSlotSwitch).
    #[serde(default)]
    pub auto_switch: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_kebab_case() {
        let cases: &[(&str, SlotPolicyConfig)] = &[
            ("", SlotPolicyConfig::default()),
            (
                "on-removal = \"switch\"\nauto-switch = true",
                SlotPolicyConfig {
                    on_removal: OnRemoval::Switch,
                    auto_switch: true,
                },
            ),
            (
                "on-removal = \"stay\"",
                SlotPolicyConfig {
                    on_removal: OnRemoval::Stay,
                    auto_switch: false,
                },
            ),
        ];
        for (text, expected) in cases {
            let parsed: SlotPolicyConfig = toml::from_str(text).unwrap();
            assert_eq!(&parsed, expected, "{text}");
        }
        assert_eq!(SlotPolicyConfig::default().on_removal, OnRemoval::Suggest);
        assert!(!SlotPolicyConfig::default().auto_switch);
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        for text in ["auto_switch = true", "colour = 1", "on-removal = \"ask\""] {
            assert!(toml::from_str::<SlotPolicyConfig>(text).is_err(), "{text}");
        }
    }
}
