//! The TOML scenario: what modem to simulate.
//!
//! A scenario describes one USB composite device: its USB identity, the MBIM
//! functional-descriptor values every function announces, its executors (one
//! MBIM function each, with the network it registers on and the IP
//! configuration it hands out) and its UICC slots with their cards. Every
//! table refuses unknown keys, so a typo is an error with its line, not a
//! silently ignored setting.
//!
//! `simulator/scenarios/dssa.toml` is the built-in dual-SIM single-active
//! modem ([`Scenario::default_dssa`]); `two-executors.toml` a dual-active one.
//!
//! The module map: this file holds the whole scenario, its errors and
//! loading it (parse, then check); `device.rs` the modem-wide settings and
//! the USB device's identity, descriptors and NTB parameters;
//! `executor.rs` an executor's network and provisioned contexts; `ip.rs`
//! the IP configuration a session is handed; `slots.rs` the UICC slots and
//! their cards; `validate.rs` the checks the schema cannot make.

mod device;
mod executor;
mod ip;
mod slots;
mod validate;

pub use device::{FccLockKind, FunctionSettings, ModemConfig, NtbSettings, UsbIdentity};
pub use executor::{ExecutorConfig, NetworkConfig, ProvisionedConfig};
pub use ip::{Ipv4Config, Ipv6Config};
pub use slots::{CardConfig, SlotConfig};
pub use validate::{data_class_from_name, REGISTER_STATES};

use executor::{default_ipv4, default_ipv6};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The built-in DSSA scenario's text, so the daemon's `--simulate` and the
/// file in `scenarios/` can never disagree.
const DSSA_TOML: &str = include_str!("../../scenarios/dssa.toml");

/// Why a scenario was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The TOML does not parse or does not fit the schema.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file (or `<string>`).
        path: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The values parse but describe no possible modem.
    #[error("{path}: {message}")]
    Invalid {
        /// The file (or `<string>`).
        path: String,
        /// What is inconsistent.
        message: String,
    },
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for logs.
    #[serde(default = "default_name")]
    pub name: String,
    /// Modem-wide identity and timing.
    #[serde(default)]
    pub modem: ModemConfig,
    /// USB device identity.
    #[serde(default)]
    pub usb: UsbIdentity,
    /// What every MBIM function's descriptors announce.
    #[serde(default)]
    pub function: FunctionSettings,
    /// NTB parameters (GET_NTB_PARAMETERS).
    #[serde(default)]
    pub ntb: NtbSettings,
    /// The executors, by index.
    pub executors: Vec<ExecutorConfig>,
    /// The UICC slots, by index.
    pub slots: Vec<SlotConfig>,
}

fn default_name() -> String {
    "simulated modem".to_owned()
}

impl Scenario {
    /// The built-in dual-SIM single-active modem (`scenarios/dssa.toml`).
    pub fn default_dssa() -> Scenario {
        match Scenario::from_toml_str(DSSA_TOML, "scenarios/dssa.toml") {
            Ok(scenario) => scenario,
            // The file is compiled in and checked by a unit test; this arm
            // only keeps the function total.
            Err(_) => Scenario::fallback_dssa(),
        }
    }

    fn fallback_dssa() -> Scenario {
        Scenario {
            name: "dssa".to_owned(),
            modem: ModemConfig::default(),
            usb: UsbIdentity::default(),
            function: FunctionSettings::default(),
            ntb: NtbSettings::default(),
            executors: vec![ExecutorConfig {
                executor_index: None,
                slot: 0,
                network: NetworkConfig::default(),
                ipv4: default_ipv4(),
                ipv6: default_ipv6(),
                provisioned: Vec::new(),
            }],
            slots: vec![
                SlotConfig {
                    kind: "physical".to_owned(),
                    off_when_empty: false,
                    card: Some(CardConfig::default()),
                },
                SlotConfig {
                    kind: "embedded".to_owned(),
                    off_when_empty: true,
                    card: Some(CardConfig {
                        esim: true,
                        iccid: "8988200000000000002".to_owned(),
                        imsi: "001010000000002".to_owned(),
                        ..CardConfig::default()
                    }),
                },
            ],
        }
    }

    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ScenarioError::Io {
            path: shown.clone(),
            message: error.to_string(),
        })?;
        Scenario::from_toml_str(&text, &shown)
    }

    /// Parses and checks a scenario; `path` only names it in errors.
    pub fn from_toml_str(text: &str, path: &str) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|error| {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ScenarioError::Parse {
                path: path.to_owned(),
                line,
                column,
                message: error.message().trim().to_owned(),
            }
        })?;
        scenario
            .validate()
            .map_err(|message| ScenarioError::Invalid {
                path: path.to_owned(),
                message,
            })?;
        Ok(scenario)
    }

    /// The ExecutorIndex of function `function` (see
    /// [`ExecutorConfig::executor_index`]).
    pub fn executor_index(&self, function: usize) -> u32 {
        let position = u32::try_from(function).unwrap_or(u32::MAX);
        self.executors
            .get(function)
            .and_then(|executor| executor.executor_index)
            .unwrap_or(position)
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count().saturating_add(1);
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        .saturating_add(1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dssa_parses() {
        let scenario = Scenario::from_toml_str(DSSA_TOML, "dssa.toml").unwrap();
        assert_eq!(scenario.executors.len(), 1);
        assert_eq!(scenario.slots.len(), 2);
        assert_eq!(Scenario::default_dssa(), scenario);
    }

    #[test]
    fn unknown_field_names_its_line() {
        let text = "[[executors]]\nslot = 0\n\n[[slots]]\nkidn = \"physical\"\n";
        let error = Scenario::from_toml_str(text, "x.toml").unwrap_err();
        match error {
            ScenarioError::Parse { line, .. } => assert_eq!(line, 5, "{error}"),
            other => panic!("{other}"),
        }
    }
}
