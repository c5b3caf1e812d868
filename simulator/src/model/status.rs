//! What the modem holds and counted: the bytes and entries queued on the
//! host's behalf, the data plane's and sinks' counters, and the `status`
//! report.
//!
//! Read-only views for the robustness tests, the benchmarks and
//! `mbim-sim ctl status`.

use super::{data, Modem};
use mbim_protocol::ntb::NtbFormat;

impl Modem {
    /// Bytes and entries the modem holds in its queues on the host's behalf
    /// (responses, notifications, delayed responses, datagrams, waiting
    /// device-wide SETs). Bounded by the caps in the module documentation,
    /// whatever the host sends; the robustness tests check it.
    pub fn queued(&self) -> (usize, usize) {
        let mut bytes = 0usize;
        let mut entries = 0usize;
        for f in &self.functions {
            let (b, e) = f.channel.queued();
            let (db, de) = f.data.queued();
            bytes = bytes.saturating_add(b).saturating_add(db);
            entries = entries.saturating_add(e).saturating_add(de);
        }
        for set in self
            .device_set_queue
            .iter()
            .chain(self.device_set_running.iter().map(|(_, set)| set))
        {
            bytes = bytes.saturating_add(set.data.len());
            entries = entries.saturating_add(1);
        }
        (bytes, entries)
    }

    /// The data-plane counters of `function`.
    pub fn data_counters(&self, function: usize) -> Option<data::DataCounters> {
        self.functions.get(function).map(|f| f.data.counters)
    }

    /// What the UDP sink of `session` on `function` counted (zero before
    /// its first datagram).
    pub fn sink_counters(&self, function: usize, session: u8) -> Option<data::SinkCounters> {
        let f = self.functions.get(function)?;
        Some(f.data.sinks.get(&session).copied().unwrap_or_default())
    }

    /// The `status` report: slots, executors, functions and their counters.
    pub fn status_report(&self) -> serde_json::Value {
        let slots: Vec<serde_json::Value> = self
            .slots
            .iter()
            .enumerate()
            .map(|(index, slot)| {
                serde_json::json!({
                    "slot": index,
                    "state": slot.state().name().unwrap_or("unknown"),
                    "card": slot.card.as_ref().map(|card| serde_json::json!({
                        "esim": card.config.esim,
                        "active_profile": card.config.active_profile,
                        "pin": card.lock.state(),
                        "pin_enabled": card.lock.enabled(),
                        "pin_attempts": card.lock.pin_attempts(),
                        "puk_attempts": card.lock.puk_attempts(),
                    })),
                })
            })
            .collect();
        let executors: Vec<serde_json::Value> = self
            .executors
            .iter()
            .enumerate()
            .map(|(index, executor)| {
                let function = self.functions.get(index);
                serde_json::json!({
                    "executor": index,
                    "slot": executor.slot,
                    "ready_state": executor.ready.name().unwrap_or("unknown"),
                    "radio_on": executor.radio_on,
                    "signal": executor.signal,
                    "register_state": executor.register_state.name().unwrap_or("unknown"),
                    "packet_service": executor.packet_state.name().unwrap_or("unknown"),
                    "sessions": executor.contexts.keys().collect::<Vec<_>>(),
                    "open": function.is_some_and(|f| f.channel.is_open()),
                    "control": function.map(|f| f.channel.counters),
                    "data": function.map(|f| f.data.counters),
                    "sinks": function.map(|f| &f.data.sinks),
                    "data_alt_setting": function.map(|f| f.data.alt_setting),
                    "ntb_format": function.map(|f| if f.data.format == NtbFormat::Ntb32 { "ntb32" } else { "ntb16" }),
                })
            })
            .collect();
        serde_json::json!({
            "name": self.scenario.name,
            "unplugged": self.unplugged,
            "host_shutdowns": self.host_shutdowns,
            "resets": self.resets,
            "slot_mapping": self.executors.iter().map(|executor| executor.slot).collect::<Vec<_>>(),
            "device_sets_queued": self.device_set_queue.len() + usize::from(self.device_set_running.is_some()),
            "slots": slots,
            "executors": executors,
        })
    }
}
