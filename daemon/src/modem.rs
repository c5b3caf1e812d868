//! What the rest of mbimd (the D-Bus service) sees of and asks of a
//! supervised modem: a snapshot of its whole state on a watch channel, a
//! request channel with replies, and the slot signals. The supervisor owns
//! the state; [`ModemHandle`] is the cloneable handle to it, and the
//! [`Registry`] holds the handles of every modem present.
//!
//! Snapshots carry personal data (ICCID, IMSI, IMEI) unmasked: whoever shows
//! them decides what to mask for whom.

use crate::datapath::{CounterSnapshot, SessionTraffic};
use crate::executor::{ExecutorCommand, ExecutorStatus, PassthroughPort};
use crate::netdev::ConfigReport;
use crate::policy::{SlotKind, SlotPolicyConfig};
use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_protocol::status::Status;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Everything known about one modem at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModemSnapshot {
    /// mbimd's number for the modem (object paths, interface names).
    pub index: u32,
    /// The identity remembered slot choices are stored under: SYS_CAPS
    /// ModemId where the device has it, else vid:pid:serial or the USB path.
    pub modem_id: String,
    /// idVendor.
    pub vid: u16,
    /// idProduct.
    pub pid: u16,
    /// iSerialNumber (empty if none).
    pub serial: String,
    /// The USB port path ("simulated" for the in-process modem).
    pub usb_path: String,
    /// iManufacturer.
    pub manufacturer: String,
    /// iProduct.
    pub model: String,
    /// DEVICE_CAPS FirmwareInfo (of the first executor that answered).
    pub firmware: String,
    /// SYS_CAPS Concurrency (0 when the device has no SYS_CAPS).
    pub concurrency: u32,
    /// The slot of each executor (DEVICE_SLOT_MAPPINGS), empty if unknown.
    pub mapping: Vec<u32>,
    /// The slot policy in force (for dual-SIM single-active modems).
    pub policy: SlotPolicyConfig,
    /// Whether the slot policy runs for this modem (a multi-SIM modem with
    /// one executor and more than one slot).
    pub policy_active: bool,
    /// One entry per executor, in executor order.
    pub executors: Vec<ExecutorSnapshot>,
    /// One entry per slot, in slot order.
    pub slots: Vec<SlotSnapshot>,
}

/// One executor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorSnapshot {
    /// What the executor task publishes.
    pub status: ExecutorStatus,
    /// The network device while connected.
    pub netdev: Option<String>,
    /// How mbimd reaches the function: `usbfs`, `kernel` or `simulated`.
    pub transport: String,
    /// The kernel driver's network device behind a `kernel` function
    /// (connected or not), which its sessions use.
    pub kernel_netdev: Option<String>,
    /// The network devices of the further sessions up, by session id.
    pub session_netdevs: Vec<(u32, String)>,
    /// The further sessions whose devices are partly configured, by session
    /// id, with the parts not applied in words.
    pub session_not_applied: Vec<(u32, String)>,
    /// How its configuration went (each part applied, refused or failed),
    /// while connected; for a device that could not be created, that
    /// failure.
    pub configuration: Option<ConfigReport>,
    /// The link MTU of that device (0 while there is none).
    pub mtu: u16,
    /// The data path's counters (refreshed about once a second while they
    /// move): every session's traffic through the function.
    pub counters: CounterSnapshot,
    /// The further sessions' share of `counters`, by session id (refreshed
    /// with them; for as long as session 0's link is up).
    pub session_traffic: Vec<SessionTraffic>,
}

impl ExecutorSnapshot {
    /// What session `id` carried while session 0's link has been up:
    /// a further session's own counters, or for session 0 the function's
    /// totals less every further session's. `None` for a further session
    /// that never had a device.
    pub fn traffic_of(&self, id: u32) -> Option<SessionTraffic> {
        if id != 0 {
            return self
                .session_traffic
                .iter()
                .find(|traffic| u32::from(traffic.session) == id)
                .copied();
        }
        let counters = &self.counters;
        let others = |field: fn(&SessionTraffic) -> u64| -> u64 {
            self.session_traffic.iter().map(field).sum()
        };
        Some(SessionTraffic {
            session: 0,
            rx_packets: counters.rx_packets.saturating_sub(others(|t| t.rx_packets)),
            rx_bytes: counters.rx_bytes.saturating_sub(others(|t| t.rx_bytes)),
            tx_packets: counters.tx_packets.saturating_sub(others(|t| t.tx_packets)),
            tx_bytes: counters.tx_bytes.saturating_sub(others(|t| t.tx_bytes)),
        })
    }
}

/// One UICC slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSnapshot {
    /// The slot's index.
    pub index: u32,
    /// Physical (slot 0) or embedded (the others), seed 004's convention.
    pub kind: SlotKind,
    /// Its state (SLOT_INFO_STATUS), if known.
    pub state: Option<UiccSlotState>,
    /// The ICCID of the card in it, when an executor is mapped to it and
    /// has read it (personal).
    pub iccid: String,
    /// The executor mapped to it.
    pub executor: Option<u32>,
}

/// A slot switch suggested or made by the policy, for the D-Bus signals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotSignal {
    /// The policy suggests a switch; nothing happens until SwitchToSlot.
    Suggested {
        /// The modem's index.
        modem: u32,
        /// The slot in use.
        from: u32,
        /// The slot suggested.
        to: u32,
        /// Why (the policy's reason names: first-sight, remembered,
        /// sim-removed, sim-inserted, user).
        reason: String,
    },
    /// The device confirmed a switch.
    Switched {
        /// The modem's index.
        modem: u32,
        /// The slot used before.
        from: u32,
        /// The slot used now.
        to: u32,
        /// Why.
        reason: String,
    },
}

/// One check of TestSlots (the Windows HLK TestSlot suite, seed 004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotCheck {
    /// QuerySlotMapping, SetSlotMapping, QuerySlotInfo or ValidateSlotInfoState.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was seen, in words.
    pub details: String,
}

/// Why a request to a modem failed. Nothing changed unless the message says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// An argument is wrong (no such executor or slot, a PIN with non-digits…).
    #[error("{0}")]
    InvalidArgument(String),
    /// The device refused it.
    #[error("the device refused: {message}")]
    Device {
        /// The MBIM status, if the device answered with one.
        status: Option<Status>,
        /// What happened.
        message: String,
    },
    /// The modem did not answer in time; it may still carry the request out.
    #[error("{0}")]
    Timeout(String),
    /// The request cannot be carried out now (the modem has no slot policy,
    /// another switch is under way…).
    #[error("{0}")]
    NotPossible(String),
    /// The modem is gone (unplugged or shutting down).
    #[error("the modem is gone")]
    Gone,
}

/// What a [`ModemHandle`] asks of the supervisor.
#[derive(Debug)]
pub enum ModemRequest {
    /// Run an executor command and report its outcome (the supervisor wraps
    /// it in [`ExecutorCommand::Tracked`]).
    Executor {
        /// The executor's index.
        executor: usize,
        /// The command (boxed: a Connect's profile is large).
        command: Box<ExecutorCommand>,
        /// The outcome.
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// DEVICE_SLOT_MAPPINGS SET with these slots (one per executor); the
    /// reply is the mapping in force afterwards.
    SetSlotMapping {
        /// The slot of each executor.
        mapping: Vec<u32>,
        /// The mapping the device reports after the SET.
        reply: oneshot::Sender<Result<Vec<u32>, RequestError>>,
    },
    /// The user's slot choice, through the slot policy (remembered).
    SwitchToSlot {
        /// The slot.
        slot: u32,
        /// Accepted (the switch itself shows in the mapping and SlotSwitched).
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// Run the TestSlots checks and restore the mapping found.
    TestSlots {
        /// The checks.
        reply: oneshot::Sender<Result<Vec<SlotCheck>, RequestError>>,
    },
    /// Change the slot policy of this modem until the next reload or restart.
    SetPolicy {
        /// The new policy.
        policy: SlotPolicyConfig,
        /// Done.
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// The host is about to sleep: every executor takes its context down and
    /// closes (one tells the device, MS_HOST_SHUTDOWN); answered once all are
    /// closed.
    Suspend {
        /// All closed, or what failed.
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// A way for a proxy client (crate::proxy) to the device through
    /// executor `executor` (its number, as in its network device's name).
    Passthrough {
        /// The executor's number.
        executor: usize,
        /// Its passthrough, or why there is none.
        reply: oneshot::Sender<Result<PassthroughPort, RequestError>>,
    },
    /// The host woke: every executor opens again and reconnects as it was.
    Resume {
        /// Every executor took it.
        reply: oneshot::Sender<Result<(), RequestError>>,
    },
    /// The configuration was reloaded: take its profiles, PINs and this
    /// modem's slot policy.
    Reconfigure {
        /// The new configuration.
        config: Arc<crate::config::Config>,
    },
}

/// The cloneable handle to one supervised modem.
#[derive(Debug, Clone)]
pub struct ModemHandle {
    snapshot: watch::Receiver<ModemSnapshot>,
    requests: mpsc::Sender<ModemRequest>,
    signals: broadcast::Sender<SlotSignal>,
}

/// The supervisor's end of a [`ModemHandle`].
#[derive(Debug)]
pub struct ModemEndpoint {
    /// Publish the state here (`send_if_modified` avoids empty wake-ups).
    pub snapshot: watch::Sender<ModemSnapshot>,
    /// Requests arrive here.
    pub requests: mpsc::Receiver<ModemRequest>,
    /// Slot signals go out here (sending with no subscriber is fine).
    pub signals: broadcast::Sender<SlotSignal>,
}

/// A new handle and the supervisor's end of it.
pub fn modem_channel(initial: ModemSnapshot) -> (ModemHandle, ModemEndpoint) {
    let (snapshot_tx, snapshot_rx) = watch::channel(initial);
    let (requests_tx, requests_rx) = mpsc::channel(16);
    let (signals_tx, _) = broadcast::channel(64);
    (
        ModemHandle {
            snapshot: snapshot_rx,
            requests: requests_tx,
            signals: signals_tx.clone(),
        },
        ModemEndpoint {
            snapshot: snapshot_tx,
            requests: requests_rx,
            signals: signals_tx,
        },
    )
}

impl ModemHandle {
    /// The state now.
    pub fn snapshot(&self) -> ModemSnapshot {
        self.snapshot.borrow().clone()
    }

    /// A receiver that wakes on every change of the state.
    pub fn watch(&self) -> watch::Receiver<ModemSnapshot> {
        self.snapshot.clone()
    }

    /// The slot signals from now on.
    pub fn subscribe_signals(&self) -> broadcast::Receiver<SlotSignal> {
        self.signals.subscribe()
    }

    async fn ask<R>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<R, RequestError>>) -> ModemRequest,
    ) -> Result<R, RequestError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(request(reply))
            .await
            .map_err(|_| RequestError::Gone)?;
        answer.await.map_err(|_| RequestError::Gone)?
    }

    /// Runs `command` on executor `executor` and waits for its outcome.
    pub async fn executor_command(
        &self,
        executor: usize,
        command: ExecutorCommand,
    ) -> Result<(), RequestError> {
        self.ask(|reply| ModemRequest::Executor {
            executor,
            command: Box::new(command),
            reply,
        })
        .await
    }

    /// Sets the slot mapping; returns the mapping in force afterwards.
    pub async fn set_slot_mapping(&self, mapping: Vec<u32>) -> Result<Vec<u32>, RequestError> {
        self.ask(|reply| ModemRequest::SetSlotMapping { mapping, reply })
            .await
    }

    /// The user's slot choice (through the policy, remembered).
    pub async fn switch_to_slot(&self, slot: u32) -> Result<(), RequestError> {
        self.ask(|reply| ModemRequest::SwitchToSlot { slot, reply })
            .await
    }

    /// Runs TestSlots.
    pub async fn test_slots(&self) -> Result<Vec<SlotCheck>, RequestError> {
        self.ask(|reply| ModemRequest::TestSlots { reply }).await
    }

    /// Closes every executor for the host's sleep; waits until they are.
    pub async fn suspend(&self) -> Result<(), RequestError> {
        self.ask(|reply| ModemRequest::Suspend { reply }).await
    }

    /// Opens every executor again after the host's sleep.
    pub async fn resume(&self) -> Result<(), RequestError> {
        self.ask(|reply| ModemRequest::Resume { reply }).await
    }

    /// The passthrough of executor `executor`, for a proxy client.
    pub async fn passthrough(&self, executor: usize) -> Result<PassthroughPort, RequestError> {
        self.ask(|reply| ModemRequest::Passthrough { executor, reply })
            .await
    }

    /// Overrides the slot policy.
    pub async fn set_policy(&self, policy: SlotPolicyConfig) -> Result<(), RequestError> {
        self.ask(|reply| ModemRequest::SetPolicy { policy, reply })
            .await
    }

    /// Hands a reloaded configuration to the supervisor (no reply: a modem
    /// going away at the same moment is no error).
    pub async fn reconfigure(&self, config: Arc<crate::config::Config>) {
        let _ = self
            .requests
            .send(ModemRequest::Reconfigure { config })
            .await;
    }
}

/// The modems present, by index; cloneable, observable.
#[derive(Debug, Clone)]
pub struct Registry {
    modems: Arc<watch::Sender<BTreeMap<u32, ModemHandle>>>,
    /// The modem numbers held, shared by every way modems arrive (usbfs,
    /// kernel drivers), so no two get the same `mbimN` names.
    numbers: Arc<std::sync::Mutex<std::collections::BTreeSet<u32>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            modems: Arc::new(watch::channel(BTreeMap::new()).0),
            numbers: Arc::default(),
        }
    }
}

/// A modem number held until dropped ([`Registry::hold_number`]).
#[derive(Debug)]
pub struct ModemNumber {
    number: u32,
    numbers: Arc<std::sync::Mutex<std::collections::BTreeSet<u32>>>,
}

impl ModemNumber {
    /// The number.
    pub fn get(&self) -> u32 {
        self.number
    }
}

impl Drop for ModemNumber {
    fn drop(&mut self) {
        let mut numbers = self
            .numbers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        numbers.remove(&self.number);
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lowest modem number nobody holds, held until the returned
    /// guard is dropped (a replugged modem gets its old names back).
    pub fn hold_number(&self) -> ModemNumber {
        let mut numbers = self
            .numbers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let number = crate::usb::manager::lowest_free_index(numbers.iter().copied());
        numbers.insert(number);
        ModemNumber {
            number,
            numbers: Arc::clone(&self.numbers),
        }
    }

    /// A modem appeared (or replaces the one with the same index).
    pub fn insert(&self, index: u32, handle: ModemHandle) {
        self.modems.send_modify(|modems| {
            modems.insert(index, handle);
        });
    }

    /// A modem went away.
    pub fn remove(&self, index: u32) {
        self.modems
            .send_if_modified(|modems| modems.remove(&index).is_some());
    }

    /// The modems now.
    pub fn modems(&self) -> BTreeMap<u32, ModemHandle> {
        self.modems.borrow().clone()
    }

    /// One modem.
    pub fn get(&self, index: u32) -> Option<ModemHandle> {
        self.modems.borrow().get(&index).cloned()
    }

    /// A receiver that wakes whenever a modem comes or goes.
    pub fn watch(&self) -> watch::Receiver<BTreeMap<u32, ModemHandle>> {
        self.modems.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_to_a_modem_whose_supervisor_ended_says_gone() {
        let (handle, endpoint) = modem_channel(ModemSnapshot::default());
        drop(endpoint);
        assert_eq!(handle.switch_to_slot(1).await, Err(RequestError::Gone));
    }

    #[tokio::test]
    async fn the_registry_tells_watchers_when_modems_come_and_go() {
        let registry = Registry::new();
        let mut watcher = registry.watch();
        let (handle, _endpoint) = modem_channel(ModemSnapshot::default());
        registry.insert(3, handle);
        assert!(watcher.has_changed().unwrap());
        assert_eq!(
            watcher
                .borrow_and_update()
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            [3]
        );
        registry.remove(7);
        assert!(!watcher.has_changed().unwrap());
        registry.remove(3);
        assert!(watcher.has_changed().unwrap());
        assert!(registry.modems().is_empty());
    }
}
