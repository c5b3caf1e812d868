//! What the one-second refresh (`refresh.rs`) watches: the pumps' counters,
//! the kernel drivers' devices' counters (read, as nothing can be watched
//! there), and the partly applied configurations waiting for their retry.
//!
//! None of it runs while the modem is idle: the tick stops when packets
//! stop and no retry waits, and the first NTB through a pump starts it.

use super::link::configure;
use super::{sessions, Link, Supervisor};
use crate::datapath::{self, PumpHandle};
use crate::netdev::KernelCounters;
use mbim_transport::FunctionTransport;
use std::sync::Arc;

impl<T: FunctionTransport + 'static> Supervisor<T> {
    /// The counters of every running pump.
    pub(super) fn pump_counters(&self) -> Vec<Arc<datapath::Counters>> {
        self.executors
            .iter()
            .filter_map(|executor| executor.link.as_ref()?.pump.as_ref())
            .map(PumpHandle::counters)
            .collect()
    }

    /// NTBs through every running pump, both ways: whether packets moved.
    pub(super) fn ntbs(&self) -> u64 {
        self.pump_counters()
            .iter()
            .map(|counters| {
                let now = counters.snapshot();
                now.rx_ntbs.wrapping_add(now.tx_ntbs)
            })
            .fold(0, u64::wrapping_add)
    }

    /// Packets through the kernel drivers' devices of the sessions up (no
    /// pump counts them): whether they moved.
    pub(super) fn kernel_packets(&self) -> u64 {
        self.executors
            .iter()
            .filter_map(|executor| executor.link.as_ref())
            .filter_map(Link::kernel_traffic)
            .map(|(counters, _)| counters.packets())
            .fold(0, u64::wrapping_add)
    }

    /// Reads the counters of the kernel drivers' devices of the sessions up
    /// (a failed reading keeps the last).
    pub(super) async fn read_kernel_counters(&mut self) {
        for link in self.executors.iter_mut().filter_map(|e| e.link.as_mut()) {
            if let Some(traffic) = link.kernel_traffic.as_mut() {
                if let Ok(now) = link.netdev.kernel_counters().await {
                    traffic.update(now);
                }
            }
            for extra in link.extras.values_mut() {
                extra.read_kernel_counters().await;
            }
        }
    }

    /// Whether a session is up on a kernel driver's device, whose counters
    /// cannot be watched, only read.
    pub(super) fn has_kernel_links(&self) -> bool {
        self.executors.iter().any(|executor| {
            executor
                .link
                .as_ref()
                .is_some_and(|link| link.kernel_traffic.is_some())
        })
    }

    /// Whether a partly applied configuration (session 0's or a further
    /// session's) waits for its retry.
    pub(super) fn retry_pending(&self) -> bool {
        self.executors.iter().any(|executor| {
            executor.link.as_ref().is_some_and(|link| {
                executor.configuration.retry_pending() || sessions::retry_pending(&link.extras)
            })
        })
    }

    /// Applies again each device configuration whose retry is due.
    pub(super) async fn retry_configurations(&mut self) {
        let now = tokio::time::Instant::now();
        let numbers = self.numbers();
        for (index, executor) in self.executors.iter_mut().enumerate() {
            let number = numbers.get(index).copied().unwrap_or(index);
            if executor.link.is_some() && executor.configuration.retry_due(now) {
                configure(&self.modem, number, executor).await;
            }
            sessions::retry_due(&self.modem, number, executor, now).await;
        }
    }
}

impl Link {
    /// Behind a kernel driver: what the executor's sessions carried since
    /// session 0 came up (every session's, as a pump counts them), and each
    /// further session's share. `None` over usbfs, where the pump counts.
    pub(super) fn kernel_traffic(&self) -> Option<(KernelCounters, Vec<(u32, KernelCounters)>)> {
        let mut total = self.kernel_traffic?.carried();
        let mut further = Vec::new();
        for (id, extra) in &self.extras {
            let Some((counters, counted_by_base)) = extra.kernel_traffic() else {
                continue;
            };
            if !counted_by_base {
                total = total.plus(counters);
            }
            further.push((*id, counters));
        }
        Some((total, further))
    }
}
