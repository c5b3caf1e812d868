//! The supervisor with the in-process simulated dual-SIM single-active
//! modem, through its `ModemHandle`: the snapshot, the slot policy (first
//! sight, removal, insertion, BUSY, voice call, the remembered choice across
//! a restart), the slot requests and TestSlots; each against an MBIM 1.0
//! modem and an MBIMEx 3.0 one.
//!
//! Needs no root: without it the supervisor skips the TUN device. As root
//! each test runs in a network namespace of its own, so the TUN device it
//! then creates never touches the machine's interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod supervisor_support;

use supervisor_support::{is_root, run, stop_supervisor, wait_for_snapshot};

use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_sim::control::{ControlCommand, SlotMappingFault};
use mbim_sim::device::SimModem;
use mbim_sim::scenario::Scenario;
use mbimd::config::Config;
use mbimd::executor::{ExecutorCommand, ExecutorState};
use mbimd::modem::{modem_channel, ModemHandle, ModemSnapshot, RequestError, SlotSignal};
use mbimd::policy::store::SlotStore;
use mbimd::policy::{ModemId, OnRemoval, SlotKind, SlotPolicyConfig};
use mbimd::supervisor::{simulated_modem, supervise, TEST_NAMES};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

/// A hang guard, not a timing expectation: the voice-call retry alone
/// waits 5 s.
const WAIT: Duration = Duration::from_secs(90);

/// The simulated modem's SYS_CAPS ModemId, as the supervisor keys it.
const MODEM_ID: &str = "1d6b:0104:6d62696d64000001";
const PHYSICAL_ICCID: &str = "8988200000000000001";
const EMBEDDED_ICCID: &str = "8988200000000000002";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A directory of the test's own, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "mbimd-supervisor-slots-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn store(&self) -> PathBuf {
        self.0.join("slots.toml")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(store: &Path, policy: &str) -> Config {
    let text = format!(
        "[[profiles]]\nname = \"default\"\napn = \"internet\"\n\n[dns]\nbackend = \"none\"\n\n\
         [slot-policy]\nstate-file = {:?}\n{policy}\n",
        store.display().to_string()
    );
    Config::parse(&text, Path::new("/test/mbimd.toml")).unwrap()
}

/// The built-in DSSA modem with the executor on `slot` and the physical
/// slot holding a SIM or not, offering up to MBIMEx `mbimex`.
fn scenario(slot: u32, physical_sim: bool, mbimex: u8) -> Scenario {
    let mut scenario = Scenario::default_dssa();
    scenario.modem.mbimex = mbimex;
    scenario.executors[0].slot = slot;
    if !physical_sim {
        scenario.slots[0].card = None;
    }
    scenario
}

struct Modem {
    sim: SimModem,
    handle: ModemHandle,
    signals: broadcast::Receiver<SlotSignal>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

fn start(scenario: Scenario, config: Config) -> Modem {
    let sim = SimModem::new(scenario).unwrap();
    let runner = sim.clone();
    tokio::spawn(async move { runner.run().await });
    let (spec, functions) = simulated_modem(&sim, 0);
    let (handle, endpoint) = modem_channel(ModemSnapshot::default());
    let signals = handle.subscribe_signals();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(supervise(
        spec,
        functions,
        Arc::new(config),
        endpoint,
        async move {
            let _ = stopped.await;
        },
    ));
    Modem {
        sim,
        handle,
        signals,
        stop: Some(stop),
        task,
    }
}

impl Modem {
    async fn wait_for(
        &self,
        what: &str,
        predicate: impl FnMut(&ModemSnapshot) -> bool,
    ) -> ModemSnapshot {
        wait_for_snapshot(&self.handle, WAIT, what, predicate).await
    }

    async fn signal(&mut self) -> SlotSignal {
        tokio::time::timeout(WAIT, self.signals.recv())
            .await
            .expect("no slot signal")
            .unwrap()
    }

    fn control(&self, command: ControlCommand) {
        self.sim.control(command).unwrap();
    }

    /// Connected on the SIM with `iccid`: the executor took the SIM of the
    /// slot it is mapped to and reconnected with it.
    async fn connected_on(&self, iccid: &str) -> ModemSnapshot {
        self.wait_for(&format!("connected on {iccid}"), |snapshot| {
            snapshot.executors.first().is_some_and(|executor| {
                executor.status.state == ExecutorState::Connected && executor.status.iccid == iccid
            })
        })
        .await
    }

    async fn slot_state(&self, slot: usize, state: UiccSlotState) -> ModemSnapshot {
        self.wait_for(&format!("slot {slot} {state:?}"), |snapshot| {
            snapshot
                .slots
                .get(slot)
                .is_some_and(|entry| entry.state == Some(state))
        })
        .await
    }

    async fn stop(mut self) {
        stop_supervisor(self.stop.take(), &mut self.task, WAIT).await;
    }
}

/// Waits until the store remembers `slot` for the simulated modem: the
/// policy has seen the modem (first sight remembers at once).
async fn remembered(store: &Path, slot: u32) {
    let store = SlotStore::new(store);
    let id = ModemId::new(MODEM_ID);
    let wait = async {
        loop {
            if store.get(&id).unwrap() == Some(slot) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, wait)
        .await
        .unwrap_or_else(|_| panic!("slot {slot} was not remembered"));
}

fn switched(from: u32, to: u32, reason: &str) -> SlotSignal {
    SlotSignal::Switched {
        modem: 0,
        from,
        to,
        reason: reason.to_owned(),
    }
}

fn suggested(from: u32, to: u32, reason: &str) -> SlotSignal {
    SlotSignal::Suggested {
        modem: 0,
        from,
        to,
        reason: reason.to_owned(),
    }
}

fn physical_card() -> mbim_sim::scenario::CardConfig {
    Scenario::default_dssa().slots[0].card.clone().unwrap()
}

fn the_snapshot_shows_the_modem_its_slots_and_the_connected_executor(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        modem.connected_on(PHYSICAL_ICCID).await;
        let snapshot = modem
            .wait_for("both slots known", |snapshot| {
                snapshot.slots.len() == 2 && snapshot.slots.iter().all(|slot| slot.state.is_some())
            })
            .await;
        assert_eq!(snapshot.modem_id, MODEM_ID);
        assert_eq!((snapshot.vid, snapshot.pid), (0x1d6b, 0x0104));
        assert_eq!(snapshot.serial, "MBIMSIM-DSSA-0001");
        assert_eq!(snapshot.manufacturer, "mbimd");
        assert_eq!(snapshot.model, "Simulated DSSA MBIM modem");
        assert_eq!(snapshot.firmware, "mbim-sim 0.1");
        assert_eq!(snapshot.concurrency, 1);
        assert_eq!(snapshot.mapping, vec![0]);
        assert!(snapshot.policy_active);
        let slot0 = &snapshot.slots[0];
        assert_eq!(slot0.kind, SlotKind::Physical);
        assert_eq!(slot0.state, Some(UiccSlotState::Active));
        assert_eq!(slot0.iccid, PHYSICAL_ICCID);
        assert_eq!(slot0.executor, Some(0));
        let slot1 = &snapshot.slots[1];
        assert_eq!(slot1.kind, SlotKind::Embedded);
        assert_eq!(slot1.state, Some(UiccSlotState::ActiveEsim));
        assert_eq!(slot1.iccid, "");
        assert_eq!(slot1.executor, None);
        let executor = &snapshot.executors[0];
        assert_eq!(executor.status.state, ExecutorState::Connected);
        if is_root() {
            // In the test's namespace.
            let snapshot = modem
                .wait_for("the netdev", |snapshot| {
                    snapshot.executors[0].netdev.is_some()
                })
                .await;
            assert_eq!(snapshot.executors[0].netdev.as_deref(), Some("mbim0e0"));
        } else {
            assert_eq!(executor.netdev, None, "no TUN device without root");
        }
        modem.stop().await;
    });
}

fn first_sight_with_a_physical_sim_keeps_slot_0(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 0).await;
        assert_eq!(modem.handle.snapshot().mapping, vec![0]);
        modem.stop().await;
    });
}

fn first_sight_moves_the_executor_to_the_physical_sim(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(1, true, mbimex), config(&dir.store(), ""));
        assert_eq!(modem.signal().await, switched(1, 0, "first-sight"));
        remembered(&dir.store(), 0).await;
        modem.connected_on(PHYSICAL_ICCID).await;
        modem.stop().await;
    });
}

fn first_sight_without_a_physical_sim_takes_the_esim(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(0, false, mbimex), config(&dir.store(), ""));
        assert_eq!(modem.signal().await, switched(0, 1, "first-sight"));
        remembered(&dir.store(), 1).await;
        let snapshot = modem.connected_on(EMBEDDED_ICCID).await;
        assert_eq!(snapshot.mapping, vec![1]);
        assert_eq!(snapshot.slots[1].iccid, EMBEDDED_ICCID);
        modem.stop().await;
    });
}

fn removal_with_suggest_signals_and_keeps_the_mapping(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 0).await;
        modem.control(ControlCommand::RemoveSim { slot: 0 });
        assert_eq!(modem.signal().await, suggested(0, 1, "sim-removed"));
        assert_eq!(modem.handle.snapshot().mapping, vec![0]);
        modem.stop().await;
    });
}

fn removal_with_switch_moves_to_the_esim_and_reconnects(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(
            scenario(0, true, mbimex),
            config(&dir.store(), "on-removal = \"switch\""),
        );
        remembered(&dir.store(), 0).await;
        modem.connected_on(PHYSICAL_ICCID).await;
        modem.control(ControlCommand::RemoveSim { slot: 0 });
        assert_eq!(modem.signal().await, switched(0, 1, "sim-removed"));
        let snapshot = modem.connected_on(EMBEDDED_ICCID).await;
        assert_eq!(snapshot.mapping, vec![1]);
        remembered(&dir.store(), 1).await;
        modem.stop().await;
    });
}

fn removal_with_stay_does_nothing(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(
            scenario(0, true, mbimex),
            config(&dir.store(), "on-removal = \"stay\""),
        );
        remembered(&dir.store(), 0).await;
        modem.control(ControlCommand::RemoveSim { slot: 0 });
        // The snapshot is published after the policy had the slot's state.
        let snapshot = modem.slot_state(0, UiccSlotState::Empty).await;
        assert_eq!(snapshot.mapping, vec![0]);
        assert!(matches!(
            modem.signals.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
        modem.stop().await;
    });
}

fn insertion_with_auto_switch_switches(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(
            scenario(1, false, mbimex),
            config(&dir.store(), "auto-switch = true"),
        );
        remembered(&dir.store(), 1).await;
        modem.control(ControlCommand::InsertSim {
            slot: 0,
            card: physical_card(),
        });
        assert_eq!(modem.signal().await, switched(1, 0, "sim-inserted"));
        modem.connected_on(PHYSICAL_ICCID).await;
        modem.stop().await;
    });
}

fn insertion_without_auto_switch_suggests(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(1, false, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 1).await;
        modem.control(ControlCommand::InsertSim {
            slot: 0,
            card: physical_card(),
        });
        assert_eq!(modem.signal().await, suggested(1, 0, "sim-inserted"));
        assert_eq!(modem.handle.snapshot().mapping, vec![1]);
        // The user takes the suggestion.
        modem.handle.switch_to_slot(0).await.unwrap();
        assert_eq!(modem.signal().await, switched(1, 0, "user"));
        remembered(&dir.store(), 0).await;
        modem.stop().await;
    });
}

fn a_busy_device_gets_the_set_again_and_the_switch_completes(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(
            scenario(1, false, mbimex),
            config(&dir.store(), "auto-switch = true"),
        );
        remembered(&dir.store(), 1).await;
        modem.control(ControlCommand::NextSlotMappingStatus {
            status: SlotMappingFault::Busy,
        });
        modem.control(ControlCommand::InsertSim {
            slot: 0,
            card: physical_card(),
        });
        // The device's next notification is the cue to send the SET again
        // (seed 004); a DNS change makes one, until the switch is done.
        let wait = async {
            loop {
                tokio::select! {
                    signal = modem.signals.recv() => break signal.unwrap(),
                    () = tokio::time::sleep(Duration::from_millis(200)) => {
                        modem.sim.control(ControlCommand::SetDns {
                            executor: 0,
                            ipv4_dns: vec![Ipv4Addr::new(10, 64, 0, 1)],
                            ipv6_dns: Vec::new(),
                        }).unwrap();
                    }
                }
            }
        };
        let signal = tokio::time::timeout(WAIT, wait)
            .await
            .expect("no slot signal");
        assert_eq!(signal, switched(1, 0, "sim-inserted"));
        assert_eq!(modem.handle.snapshot().mapping, vec![0]);
        modem.stop().await;
    });
}

fn a_voice_call_in_progress_delays_the_switch(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(
            scenario(1, false, mbimex),
            config(&dir.store(), "auto-switch = true"),
        );
        remembered(&dir.store(), 1).await;
        modem.control(ControlCommand::NextSlotMappingStatus {
            status: SlotMappingFault::VoiceCallInProgress,
        });
        modem.control(ControlCommand::InsertSim {
            slot: 0,
            card: physical_card(),
        });
        // Refused first; the policy's timer sends it again.
        assert_eq!(modem.signal().await, switched(1, 0, "sim-inserted"));
        assert_eq!(modem.handle.snapshot().mapping, vec![0]);
        modem.stop().await;
    });
}

fn a_restart_reapplies_the_remembered_choice(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 0).await;
        modem.handle.switch_to_slot(1).await.unwrap();
        assert_eq!(modem.signal().await, switched(0, 1, "user"));
        remembered(&dir.store(), 1).await;
        modem.stop().await;

        // A fresh modem (mapped to slot 0 at power-on), the same store.
        let mut modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        assert_eq!(modem.signal().await, switched(0, 1, "remembered"));
        let snapshot = modem.connected_on(EMBEDDED_ICCID).await;
        assert_eq!(snapshot.mapping, vec![1]);
        modem.stop().await;
    });
}

fn set_slot_mapping_answers_the_mapping_and_refuses_bad_arguments(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 0).await;
        for bad in [vec![], vec![2], vec![0, 1]] {
            assert!(
                matches!(
                    modem.handle.set_slot_mapping(bad.clone()).await,
                    Err(RequestError::InvalidArgument(_))
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            modem.handle.switch_to_slot(2).await,
            Err(RequestError::InvalidArgument(_))
        ));
        assert!(matches!(
            modem
                .handle
                .executor_command(1, ExecutorCommand::Connect(None))
                .await,
            Err(RequestError::InvalidArgument(_))
        ));
        assert_eq!(modem.handle.set_slot_mapping(vec![1]).await, Ok(vec![1]));
        modem.connected_on(EMBEDDED_ICCID).await;
        assert_eq!(modem.handle.set_slot_mapping(vec![0]).await, Ok(vec![0]));
        modem.connected_on(PHYSICAL_ICCID).await;
        // A tracked executor command answers once the executor took it on.
        assert_eq!(
            modem
                .handle
                .executor_command(0, ExecutorCommand::QuerySlots)
                .await,
            Ok(())
        );
        modem.stop().await;
    });
}

fn test_slots_passes_on_the_dssa_modem_and_restores_the_mapping(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 0).await;
        modem.connected_on(PHYSICAL_ICCID).await;
        let checks = modem.handle.test_slots().await.unwrap();
        let names: Vec<&str> = checks.iter().map(|check| check.name.as_str()).collect();
        assert_eq!(names, TEST_NAMES);
        for check in &checks {
            assert!(check.passed, "{check:?}");
        }
        assert_eq!(modem.handle.snapshot().mapping, vec![0]);
        // The policy stayed out of it: the test's switches are no signals.
        assert!(matches!(
            modem.signals.try_recv(),
            Err(broadcast::error::TryRecvError::Empty)
        ));
        modem.connected_on(PHYSICAL_ICCID).await;
        modem.stop().await;
    });
}

fn test_slots_fails_validate_slot_info_state_on_a_misreported_slot(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let modem = start(
            scenario(0, true, mbimex),
            config(&dir.store(), "on-removal = \"stay\""),
        );
        remembered(&dir.store(), 0).await;
        modem.connected_on(PHYSICAL_ICCID).await;
        modem.control(ControlCommand::MisreportSlot {
            slot: 0,
            state: Some("empty".to_owned()),
        });
        let checks = modem.handle.test_slots().await.unwrap();
        let validate = checks
            .iter()
            .find(|check| check.name == "ValidateSlotInfoState")
            .unwrap();
        assert!(!validate.passed, "{validate:?}");
        let query = checks
            .iter()
            .find(|check| check.name == "QuerySlotInfo")
            .unwrap();
        assert!(query.passed, "{query:?}");
        assert_eq!(modem.handle.snapshot().mapping, vec![0]);
        modem.stop().await;
    });
}

fn set_policy_and_a_reload_change_what_a_removal_does(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let mut modem = start(scenario(0, true, mbimex), config(&dir.store(), ""));
        remembered(&dir.store(), 0).await;
        // A reload whose [[modem]] entry names this modem.
        let reloaded = config(
            &dir.store(),
            "\n[[modem]]\ndevice = \"1d6b:0104\"\non-removal = \"stay\"",
        );
        modem.handle.reconfigure(Arc::new(reloaded)).await;
        let snapshot = modem
            .wait_for("the reloaded policy", |snapshot| {
                snapshot.policy.on_removal == OnRemoval::Stay
            })
            .await;
        assert!(!snapshot.policy.auto_switch);
        // SetPolicy wins until the next reload.
        let switch = SlotPolicyConfig {
            on_removal: OnRemoval::Switch,
            auto_switch: false,
        };
        modem.handle.set_policy(switch).await.unwrap();
        assert_eq!(modem.handle.snapshot().policy, switch);
        modem.control(ControlCommand::RemoveSim { slot: 0 });
        assert_eq!(modem.signal().await, switched(0, 1, "sim-removed"));
        modem.stop().await;
    });
}

fn a_modem_with_two_executors_has_no_policy_but_takes_mappings(mbimex: u8) {
    run("mbimd-slots", move || async move {
        let dir = TempDir::new();
        let text = include_str!("../../simulator/scenarios/two-executors.toml");
        let mut scenario = Scenario::from_toml_str(text, "two-executors.toml").unwrap();
        scenario.modem.mbimex = mbimex;
        let modem = start(scenario, config(&dir.store(), ""));
        let snapshot = modem
            .wait_for("both executors mapped", |snapshot| {
                snapshot.mapping.len() == 2 && snapshot.slots.len() == 2
            })
            .await;
        assert!(!snapshot.policy_active);
        assert_eq!(snapshot.concurrency, 2);
        assert!(matches!(
            modem.handle.switch_to_slot(1).await,
            Err(RequestError::NotPossible(_))
        ));
        assert!(matches!(
            modem.handle.set_slot_mapping(vec![1, 1]).await,
            Err(RequestError::InvalidArgument(_))
        ));
        assert_eq!(
            modem.handle.set_slot_mapping(vec![1, 0]).await,
            Ok(vec![1, 0])
        );
        let snapshot = modem
            .wait_for("the swapped mapping on the slots", |snapshot| {
                snapshot.slots[0].executor == Some(1) && snapshot.slots[1].executor == Some(0)
            })
            .await;
        assert_eq!(snapshot.mapping, vec![1, 0]);
        modem.stop().await;
    });
}

mbimd_test_support::against_mbim_1_0_and_3_0!(
    the_snapshot_shows_the_modem_its_slots_and_the_connected_executor,
    first_sight_with_a_physical_sim_keeps_slot_0,
    first_sight_moves_the_executor_to_the_physical_sim,
    first_sight_without_a_physical_sim_takes_the_esim,
    removal_with_suggest_signals_and_keeps_the_mapping,
    removal_with_switch_moves_to_the_esim_and_reconnects,
    removal_with_stay_does_nothing,
    insertion_with_auto_switch_switches,
    insertion_without_auto_switch_suggests,
    a_busy_device_gets_the_set_again_and_the_switch_completes,
    a_voice_call_in_progress_delays_the_switch,
    a_restart_reapplies_the_remembered_choice,
    set_slot_mapping_answers_the_mapping_and_refuses_bad_arguments,
    test_slots_passes_on_the_dssa_modem_and_restores_the_mapping,
    test_slots_fails_validate_slot_info_state_on_a_misreported_slot,
    set_policy_and_a_reload_change_what_a_removal_does,
    a_modem_with_two_executors_has_no_policy_but_takes_mappings,
);
