//! Keeps the exported objects in step with the registry and each modem's
//! snapshot: objects come and go with modems (and with executors and slots
//! whose count changes), `PropertiesChanged` carries exactly what changed,
//! and the slot signals become the manager's.

use super::executor::ExecutorObject;
use super::manager::{modem_paths, Manager};
use super::modem::ModemObject;
use super::read_only::ReadOnly;
use super::slot::SlotObject;
use super::view::{changed, object_path, Entries, ExecutorView, ModemView, SlotView};
use super::{executor_path, modem_path, slot_path, Shared, MANAGER_PATH};
use crate::logging::chain;
use crate::modem::{ModemHandle, ModemSnapshot, SlotSignal};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use tokio::sync::{broadcast, oneshot, watch};
use zbus::fdo::Properties;
use zbus::names::InterfaceName;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;
use zbus::Connection;

const MODEM_INTERFACE: &str = "dev.mbimd.Modem1";
const EXECUTOR_INTERFACE: &str = "dev.mbimd.Executor1";
const SLOT_INTERFACE: &str = "dev.mbimd.Slot1";

/// Follows the registry.
pub(crate) struct Tracker {
    connection: Connection,
    shared: Arc<Shared>,
    registry: watch::Receiver<BTreeMap<u32, ModemHandle>>,
    modems: BTreeMap<u32, ModemTask>,
}

impl Tracker {
    /// Exports the modems present now.
    pub(crate) async fn start(
        connection: Connection,
        shared: Arc<Shared>,
    ) -> zbus::Result<Tracker> {
        let registry = shared.registry.watch();
        let mut tracker = Tracker {
            connection,
            shared,
            registry,
            modems: BTreeMap::new(),
        };
        tracker.sync().await?;
        Ok(tracker)
    }

    /// Follows the registry until it is gone (or the task is aborted).
    pub(crate) async fn run(mut self) {
        while self.registry.changed().await.is_ok() {
            if let Err(error) = self.sync().await {
                tracing::warn!(
                    "D-Bus: cannot update the exported modems: {}",
                    chain(&error)
                );
            }
        }
    }

    async fn sync(&mut self) -> zbus::Result<()> {
        let current = self.registry.borrow_and_update().clone();
        let gone: Vec<u32> = self
            .modems
            .iter()
            .filter(|(index, task)| {
                // A handle replaced under the same index is another modem.
                current
                    .get(index)
                    .is_none_or(|handle| !handle.watch().same_channel(&task.snapshot))
            })
            .map(|(index, _)| *index)
            .collect();
        let mut modems_changed = false;
        for index in gone {
            if let Some(task) = self.modems.remove(&index) {
                task.stop().await;
                modems_changed = true;
            }
        }
        for (index, handle) in current {
            if self.modems.contains_key(&index) {
                continue;
            }
            let task = ModemTask::start(
                self.connection.clone(),
                Arc::clone(&self.shared),
                index,
                handle,
            )
            .await?;
            self.modems.insert(index, task);
            modems_changed = true;
        }
        if modems_changed {
            let emitter = SignalEmitter::new(&self.connection, MANAGER_PATH)?;
            let modems = Value::from(modem_paths(self.modems.keys().copied()));
            properties_changed(
                &emitter,
                "dev.mbimd.Manager1",
                HashMap::from([("Modems", modems)]),
                Vec::new(),
            )
            .await?;
        }
        Ok(())
    }
}

/// One modem's follower.
struct ModemTask {
    snapshot: watch::Receiver<ModemSnapshot>,
    stop: Option<oneshot::Sender<()>>,
    join: tokio::task::JoinHandle<()>,
}

impl Drop for ModemTask {
    fn drop(&mut self) {
        // Only reached without stop() when the whole service goes away.
        self.join.abort();
    }
}

impl ModemTask {
    /// Exports the modem's objects, then follows it in a task.
    async fn start(
        connection: Connection,
        shared: Arc<Shared>,
        index: u32,
        handle: ModemHandle,
    ) -> zbus::Result<Self> {
        let mut snapshot = handle.watch();
        let first = snapshot.borrow_and_update().clone();
        let signals = handle.subscribe_signals();
        let server = connection.object_server();
        server
            .at(
                modem_path(index),
                ReadOnly(ModemObject::new(Arc::clone(&shared), handle.clone(), index)),
            )
            .await?;
        let mut objects = Objects {
            connection,
            shared: Arc::clone(&shared),
            handle,
            index,
            executors: 0,
            slots: 0,
        };
        objects.resize(&first).await?;
        let (stop, stopped) = oneshot::channel();
        let follower = Follower {
            objects,
            snapshot: snapshot.clone(),
            signals,
            previous: first,
        };
        let join = tokio::spawn(follower.run(stopped));
        Ok(ModemTask {
            snapshot,
            stop: Some(stop),
            join,
        })
    }

    /// Removes the modem's objects and ends the follower.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.join).await;
    }
}

/// The objects exported for one modem.
struct Objects {
    connection: Connection,
    shared: Arc<Shared>,
    handle: ModemHandle,
    index: u32,
    executors: u32,
    slots: u32,
}

fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Objects {
    /// Adds or removes executor and slot objects to match `snapshot`.
    async fn resize(&mut self, snapshot: &ModemSnapshot) -> zbus::Result<()> {
        let server = self.connection.object_server();
        let executors = count(snapshot.executors.len());
        while self.executors < executors {
            server
                .at(
                    executor_path(self.index, self.executors),
                    ReadOnly(ExecutorObject::new(
                        Arc::clone(&self.shared),
                        self.handle.clone(),
                        self.executors,
                    )),
                )
                .await?;
            self.executors += 1;
        }
        while self.executors > executors {
            self.executors -= 1;
            server
                .remove::<ReadOnly<ExecutorObject>, _>(executor_path(self.index, self.executors))
                .await?;
        }
        let slots = count(snapshot.slots.len());
        while self.slots < slots {
            server
                .at(
                    slot_path(self.index, self.slots),
                    ReadOnly(SlotObject::new(
                        Arc::clone(&self.shared),
                        self.handle.watch(),
                        self.index,
                        self.slots,
                    )),
                )
                .await?;
            self.slots += 1;
        }
        while self.slots > slots {
            self.slots -= 1;
            server
                .remove::<ReadOnly<SlotObject>, _>(slot_path(self.index, self.slots))
                .await?;
        }
        Ok(())
    }

    /// Removes every object of the modem, the modem last.
    async fn remove_all(&mut self) -> zbus::Result<()> {
        self.resize(&ModemSnapshot::default()).await?;
        self.connection
            .object_server()
            .remove::<ReadOnly<ModemObject>, _>(modem_path(self.index))
            .await?;
        Ok(())
    }
}

/// Emits one PropertiesChanged.
async fn properties_changed(
    emitter: &SignalEmitter<'_>,
    interface: &'static str,
    changed: HashMap<&str, Value<'_>>,
    invalidated: Vec<&str>,
) -> zbus::Result<()> {
    if changed.is_empty() && invalidated.is_empty() {
        return Ok(());
    }
    Properties::properties_changed(
        emitter,
        InterfaceName::from_static_str_unchecked(interface),
        changed,
        Cow::Borrowed(&invalidated),
    )
    .await
}

/// Follows one modem's snapshots and signals.
struct Follower {
    objects: Objects,
    snapshot: watch::Receiver<ModemSnapshot>,
    signals: broadcast::Receiver<SlotSignal>,
    previous: ModemSnapshot,
}

impl Follower {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let mut snapshots_open = true;
        loop {
            tokio::select! {
                _ = &mut stop => break,
                changed = self.snapshot.changed(), if snapshots_open => {
                    if changed.is_err() {
                        // The supervisor ended; the registry removes the
                        // modem next, which stops this task.
                        snapshots_open = false;
                        continue;
                    }
                    let next = self.snapshot.borrow_and_update().clone();
                    if let Err(error) = self.update(&next).await {
                        tracing::warn!(
                            modem = self.objects.index,
                            "D-Bus: cannot publish a state change: {}",
                            chain(&error)
                        );
                    }
                    self.previous = next;
                }
                signal = self.signals.recv() => match signal {
                    Ok(signal) => {
                        if let Err(error) = self.forward(signal).await {
                            tracing::warn!(
                                modem = self.objects.index,
                                "D-Bus: cannot emit a slot signal: {}",
                                chain(&error)
                            );
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            modem = self.objects.index,
                            "D-Bus: {missed} slot signal(s) were dropped before they could be sent"
                        );
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // The handle keeps a sender, so this does not happen
                        // while the modem exists; wait for the stop.
                        let _ = (&mut stop).await;
                        break;
                    }
                },
            }
        }
        if let Err(error) = self.objects.remove_all().await {
            tracing::warn!(
                modem = self.objects.index,
                "D-Bus: cannot remove the modem's objects: {}",
                chain(&error)
            );
        }
    }

    async fn update(&mut self, next: &ModemSnapshot) -> zbus::Result<()> {
        let connection = self.objects.connection.clone();
        let index = self.objects.index;
        let previous = &self.previous;
        // Objects first, so that a client reacting to Executors or Slots
        // finds them.
        self.objects.resize(next).await?;

        let emitter = SignalEmitter::new(&connection, modem_path(index))?;
        let old = ModemView::new(previous, index).entries();
        let new = ModemView::new(next, index).entries();
        properties_changed(&emitter, MODEM_INTERFACE, changed(&old, &new), Vec::new()).await?;

        let common = previous.executors.len().min(next.executors.len());
        for executor in 0..count(common) {
            let old = ExecutorView::new(previous, executor);
            let new = ExecutorView::new(next, executor);
            let emitter = SignalEmitter::new(&connection, executor_path(index, executor))?;
            let (old_entries, new_entries): (Entries, Entries) = (old.entries(), new.entries());
            properties_changed(
                &emitter,
                EXECUTOR_INTERFACE,
                changed(&old_entries, &new_entries),
                new.invalidated(&old),
            )
            .await?;
        }

        let common = previous.slots.len().min(next.slots.len());
        for slot in 0..count(common) {
            let old = SlotView::new(previous, index, slot);
            let new = SlotView::new(next, index, slot);
            let emitter = SignalEmitter::new(&connection, slot_path(index, slot))?;
            properties_changed(
                &emitter,
                SLOT_INTERFACE,
                changed(&old.entries(), &new.entries()),
                new.invalidated(&old),
            )
            .await?;
        }
        Ok(())
    }

    async fn forward(&self, signal: SlotSignal) -> zbus::Result<()> {
        let emitter = SignalEmitter::new(&self.objects.connection, MANAGER_PATH)?;
        let modem = object_path(modem_path(self.objects.index));
        match signal {
            SlotSignal::Suggested {
                from, to, reason, ..
            } => Manager::slot_switch_suggested(&emitter, modem.as_ref(), from, to, &reason).await,
            SlotSignal::Switched {
                from, to, reason, ..
            } => Manager::slot_switched(&emitter, modem.as_ref(), from, to, &reason).await,
        }
    }
}
