//! The [`ModemSnapshot`] the supervisor publishes: rebuilt from its own
//! state and the executors' status watches after every event, sent only
//! when it differs from the one published. Executors are listed by their
//! number (the ExecutorIndex they report, see the supervisor's module doc),
//! which is also what a status's `executor` says here.

use super::slots::kind_of;
use super::Supervisor;
use crate::datapath::{CounterSnapshot, SessionTraffic};
use crate::modem::{ExecutorSnapshot, ModemSnapshot, SlotSnapshot};
use mbim_transport::FunctionTransport;

impl<T: FunctionTransport + 'static> Supervisor<T> {
    fn build_snapshot(&self) -> ModemSnapshot {
        // Function positions in executor-number order.
        let numbers = self.numbers();
        let mut order: Vec<usize> = (0..self.executors.len()).collect();
        order.sort_by_key(|&function| numbers.get(function).copied().unwrap_or(function));
        let ordered: Vec<_> = order
            .iter()
            .filter_map(|&function| self.executors.get(function))
            .collect();
        let statuses: Vec<_> = ordered
            .iter()
            .enumerate()
            .map(|(number, executor)| {
                let mut status = executor.status.borrow().clone();
                status.executor = number;
                status
            })
            .collect();
        let caps = self.sys_caps();
        let mapping = self.current_mapping();
        let slot_count = self.slot_count().unwrap_or_else(|| {
            let known = statuses
                .iter()
                .map(|status| status.slots.len())
                .max()
                .unwrap_or(0)
                .max(self.slots.states.len());
            u32::try_from(known).unwrap_or(0)
        });
        let slots = (0..slot_count)
            .map(|index| {
                let executor = mapping
                    .iter()
                    .position(|&slot| slot == index)
                    .and_then(|executor| u32::try_from(executor).ok());
                let iccid = executor
                    .and_then(|executor| usize::try_from(executor).ok())
                    .and_then(|executor| statuses.get(executor))
                    .map(|status| status.iccid.clone())
                    .unwrap_or_default();
                SlotSnapshot {
                    index,
                    kind: kind_of(index),
                    state: self.slot_state(index),
                    iccid,
                    executor,
                }
            })
            .collect();
        let executors = ordered
            .iter()
            .zip(statuses.iter())
            .map(|(executor, status)| {
                let link = executor.link.as_ref();
                let (counters, session_traffic) = traffic(link);
                ExecutorSnapshot {
                    status: status.clone(),
                    netdev: link.map(|link| link.netdev.name().as_str().to_owned()),
                    transport: self.modem.transport.to_owned(),
                    kernel_netdev: executor
                        .spec
                        .kernel
                        .as_ref()
                        .map(|kernel| kernel.netdev.as_str().to_owned()),
                    session_netdevs: link
                        .iter()
                        .flat_map(|link| &link.extras)
                        .map(|(id, extra)| (*id, extra.name().to_owned()))
                        .collect(),
                    session_not_applied: link
                        .iter()
                        .flat_map(|link| &link.extras)
                        .map(|(id, extra)| (*id, extra.not_applied()))
                        .filter(|(_, text)| !text.is_empty())
                        .collect(),
                    configuration: executor.configuration.report().cloned(),
                    mtu: link.map_or(0, |link| link.mtu),
                    counters,
                    session_traffic,
                }
            })
            .collect();
        let modem = &self.modem;
        ModemSnapshot {
            index: modem.index,
            modem_id: self.modem_id().as_str().to_owned(),
            vid: modem.vid,
            pid: modem.pid,
            serial: modem.serial.clone().unwrap_or_default(),
            usb_path: modem.usb_path.clone(),
            manufacturer: modem.manufacturer.clone(),
            model: modem.model.clone(),
            firmware: statuses
                .iter()
                .map(|status| &status.device.firmware)
                .find(|firmware| !firmware.is_empty())
                .cloned()
                .unwrap_or_default(),
            concurrency: caps.map_or(0, |caps| caps.concurrency),
            mapping,
            policy: self.slots.config,
            policy_active: self.slots.policy.is_some(),
            executors,
            slots,
        }
    }

    /// Publishes the state if it changed (watchers wake only then).
    pub(super) fn publish(&self) {
        let snapshot = self.build_snapshot();
        self.snapshot.send_if_modified(|current| {
            if *current == snapshot {
                false
            } else {
                *current = snapshot;
                true
            }
        });
    }
}

/// The link's counters and the further sessions' shares of them: the
/// pump's and its session table's over usbfs, the kernel's devices' behind
/// a kernel driver.
fn traffic(link: Option<&super::Link>) -> (CounterSnapshot, Vec<SessionTraffic>) {
    let Some(link) = link else {
        return Default::default();
    };
    if let Some((total, further)) = link.kernel_traffic() {
        let counters = CounterSnapshot {
            rx_packets: total.rx_packets,
            rx_bytes: total.rx_bytes,
            tx_packets: total.tx_packets,
            tx_bytes: total.tx_bytes,
            ..CounterSnapshot::default()
        };
        let further = further
            .into_iter()
            .filter_map(|(id, counters)| {
                Some(SessionTraffic {
                    session: u8::try_from(id).ok()?,
                    rx_packets: counters.rx_packets,
                    rx_bytes: counters.rx_bytes,
                    tx_packets: counters.tx_packets,
                    tx_bytes: counters.tx_bytes,
                })
            })
            .collect();
        return (counters, further);
    }
    let counters = link
        .pump
        .as_ref()
        .map_or_else(CounterSnapshot::default, |pump| pump.counters().snapshot());
    (counters, link.sessions.traffic())
}
