//! What the schema cannot check: counts, the slot mapping, names and
//! ranges, so a scenario that parses but describes no possible modem is
//! refused with the field that is wrong.

use super::Scenario;
use std::collections::BTreeSet;

/// Register states a scenario may name.
pub const REGISTER_STATES: &[&str] = &[
    "home",
    "roaming",
    "partner",
    "denied",
    "searching",
    "deregistered",
];

impl Scenario {
    /// Checks what the schema cannot: counts, mapping, values.
    pub fn validate(&self) -> Result<(), String> {
        if self.modem.fcc_key_bytes().is_none() {
            return Err(format!(
                "modem.fcc_key must be eight hex digits, not {:?}",
                self.modem.fcc_key
            ));
        }
        if self.executors.is_empty() {
            return Err("a modem needs at least one executor".to_owned());
        }
        if self.executors.len() > 8 {
            return Err("at most 8 executors are simulated".to_owned());
        }
        if self.slots.len() < self.executors.len() {
            return Err(format!(
                "{} slots for {} executors: seed 004 requires slots >= executors",
                self.slots.len(),
                self.executors.len()
            ));
        }
        if self.slots.len() > 16 {
            return Err("at most 16 slots are simulated".to_owned());
        }
        let executors = u32::try_from(self.executors.len()).unwrap_or(u32::MAX);
        if self.modem.concurrency == 0 || self.modem.concurrency > executors {
            return Err(format!(
                "modem.concurrency {} must be 1..={executors}",
                self.modem.concurrency
            ));
        }
        let mut indexes: Vec<u32> = (0..self.executors.len())
            .map(|function| self.executor_index(function))
            .collect();
        indexes.sort_unstable();
        if indexes
            .iter()
            .zip(0..)
            .any(|(&index, expected)| index != expected)
        {
            return Err(format!(
                "executors[].executor_index must be 0..{} once each, not {indexes:?}",
                self.executors.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for (index, executor) in self.executors.iter().enumerate() {
            if usize::try_from(executor.slot).map_or(true, |slot| slot >= self.slots.len()) {
                return Err(format!(
                    "executors[{index}].slot {} is not a slot",
                    executor.slot
                ));
            }
            if !seen.insert(executor.slot) {
                return Err(format!(
                    "executors[{index}].slot {} is mapped twice",
                    executor.slot
                ));
            }
            if !REGISTER_STATES.contains(&executor.network.register_state.as_str()) {
                return Err(format!(
                    "executors[{index}].network.register_state {:?} is not one of {}",
                    executor.network.register_state,
                    REGISTER_STATES.join(", ")
                ));
            }
            for (context, provisioned) in executor.provisioned.iter().enumerate() {
                if provisioned.element(0).is_none() {
                    return Err(format!(
                        "executors[{index}].provisioned[{context}]: context_type, ip_type or \
                         auth is not a known name"
                    ));
                }
            }
            if executor.provisioned.len() > crate::model::MAX_PROVISIONED_CONTEXTS {
                return Err(format!(
                    "executors[{index}].provisioned: at most {} contexts",
                    crate::model::MAX_PROVISIONED_CONTEXTS
                ));
            }
            let network = &executor.network;
            if !(-156..=-31).contains(&network.rsrp_dbm) || !(-23..=40).contains(&network.snr_db) {
                return Err(format!(
                    "executors[{index}].network: rsrp_dbm is -156 to -31 and snr_db -23 to 40, \
                     not {} and {}",
                    network.rsrp_dbm, network.snr_db
                ));
            }
            if data_class_from_name(&executor.network.data_class).is_none() {
                return Err(format!(
                    "executors[{index}].network.data_class {:?} is not a data class",
                    executor.network.data_class
                ));
            }
        }
        if !(1..=4).contains(&self.modem.mbimex) {
            return Err(format!(
                "modem.mbimex {} is not an MBIM extensions version the simulator speaks (1 to 4)",
                self.modem.mbimex
            ));
        }
        for name in &self.modem.data_classes {
            if data_class_from_name(name).is_none() {
                return Err(format!("modem.data_classes: {name:?} is not a data class"));
            }
        }
        if usize::from(self.function.max_control_message)
            < mbim_protocol::fragment::MIN_CONTROL_TRANSFER
        {
            return Err(format!(
                "function.max_control_message {} is below MBIM's minimum 64",
                self.function.max_control_message
            ));
        }
        self.ntb
            .parameters()
            .validate()
            .map_err(|error| format!("ntb: {error}"))?;
        for (index, slot) in self.slots.iter().enumerate() {
            if !matches!(slot.kind.as_str(), "physical" | "embedded") {
                return Err(format!(
                    "slots[{index}].kind {:?} is not physical or embedded",
                    slot.kind
                ));
            }
            if let Some(card) = &slot.card {
                card.validate()
                    .map_err(|message| format!("slots[{index}].card: {message}"))?;
            }
        }
        Ok(())
    }
}

/// A data class by libmbim nickname.
pub fn data_class_from_name(
    name: &str,
) -> Option<mbim_protocol::services::basic_connect::DataClass> {
    mbim_protocol::services::basic_connect::DataClass::from_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inconsistent_mapping_is_refused() {
        let text = "[[executors]]\nslot = 3\n\n[[slots]]\n";
        let error = Scenario::from_toml_str(text, "x.toml").unwrap_err();
        assert!(error.to_string().contains("slot 3"), "{error}");
    }
}
