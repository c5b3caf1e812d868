//! What [`Netdev::apply`](super::Netdev::apply) did: every part of the
//! device's configuration (MTU, link, each address and route, DNS, and each
//! item of the network's configuration that was refused) with its outcome.
//! One part failing never keeps the others from being applied, so a device
//! can be partly configured; the report says which parts, and whether
//! applying again may help.

use std::fmt;

use super::{NetdevError, Refusal};
use crate::logging::chain;

/// How one part of the configuration went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartOutcome {
    /// On the device as planned.
    Applied,
    /// Not applied because no network may assign it (see `screen`).
    Refused {
        /// Why.
        reason: String,
    },
    /// The kernel (or the DNS backend) refused or could not do it.
    Failed {
        /// The error with its causes.
        error: String,
        /// Whether the cause may pass (a busy kernel, a DNS service not
        /// there yet…), so applying again is worth it.
        transient: bool,
    },
}

/// One part of the device's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPart {
    /// What it is: `mtu 1500`, `link up`, `address 10.64.0.2/30`,
    /// `route 0.0.0.0/0 via 10.64.0.1 metric 700`, `dns`, …
    pub part: String,
    /// How it went.
    pub outcome: PartOutcome,
}

/// Every part of one apply, in the order they were applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigReport {
    /// The parts.
    pub parts: Vec<ConfigPart>,
}

impl ConfigReport {
    /// Whether every part was applied.
    pub fn is_complete(&self) -> bool {
        self.parts
            .iter()
            .all(|part| part.outcome == PartOutcome::Applied)
    }

    /// Whether no part at all was applied.
    pub fn nothing_applied(&self) -> bool {
        !self
            .parts
            .iter()
            .any(|part| part.outcome == PartOutcome::Applied)
    }

    /// Whether some part failed for a reason that may pass.
    pub fn worth_retrying(&self) -> bool {
        self.parts.iter().any(|part| {
            matches!(
                part.outcome,
                PartOutcome::Failed {
                    transient: true,
                    ..
                }
            )
        })
    }

    /// The parts not applied.
    pub fn not_applied(&self) -> impl Iterator<Item = &ConfigPart> {
        self.parts
            .iter()
            .filter(|part| part.outcome != PartOutcome::Applied)
    }

    /// The outcome of the part named `part`, if the report has it.
    pub fn outcome_of(&self, part: &str) -> Option<&PartOutcome> {
        self.parts
            .iter()
            .find(|each| each.part == part)
            .map(|each| &each.outcome)
    }

    pub(super) fn applied(&mut self, part: impl Into<String>) {
        self.parts.push(ConfigPart {
            part: part.into(),
            outcome: PartOutcome::Applied,
        });
    }

    pub(super) fn failed(&mut self, part: impl Into<String>, error: &NetdevError) {
        self.parts.push(ConfigPart {
            part: part.into(),
            outcome: PartOutcome::Failed {
                error: chain(error).to_string(),
                transient: error.is_transient(),
            },
        });
    }

    pub(super) fn outcome(&mut self, part: impl Into<String>, result: &Result<(), NetdevError>) {
        match result {
            Ok(()) => self.applied(part),
            Err(error) => self.failed(part, error),
        }
    }

    pub(super) fn refused(&mut self, refusal: Refusal) {
        self.parts.push(ConfigPart {
            part: refusal.part,
            outcome: PartOutcome::Refused {
                reason: refusal.reason.to_owned(),
            },
        });
    }
}

impl fmt::Display for PartOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartOutcome::Applied => f.write_str("applied"),
            PartOutcome::Refused { reason } => write!(f, "refused: {reason}"),
            PartOutcome::Failed {
                error,
                transient: true,
            } => write!(f, "failed, will be retried: {error}"),
            PartOutcome::Failed {
                error,
                transient: false,
            } => write!(f, "failed: {error}"),
        }
    }
}

/// "complete", or the parts not applied and why.
impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_complete() {
            return f.write_str("complete");
        }
        for (index, part) in self.not_applied().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", part.part, part.outcome)?;
        }
        Ok(())
    }
}
