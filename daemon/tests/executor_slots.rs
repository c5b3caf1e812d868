//! The executor's slots, slot mapping, PIN changes and tracked commands
//! against the in-process simulated dual-SIM single-active modem, MBIM 1.0
//! and MBIMEx 3.0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState;
use mbim_protocol::status::Status;
use mbim_sim::control::ControlReply;
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbimd::executor::{
    run_executor, CommandFailure, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorReport,
    ExecutorState, ExecutorStatus, Profile, Secret,
};
use mbimd_test_support::scenarios::dual_sim;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

/// Patience for anything the simulator does; a hang guard, not a timing.
const WAIT: Duration = Duration::from_secs(10);

fn config() -> ExecutorConfig {
    ExecutorConfig {
        profiles: vec![Profile::new("default", "internet")],
        open_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(400),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        ..ExecutorConfig::default()
    }
}

fn scenario_with_pin(mbimex: u8) -> Scenario {
    Scenario::from_toml_str(&dual_sim(mbimex, true), "dssa-pin.toml").unwrap()
}

/// The built-in dual-SIM modem offering up to MBIMEx `mbimex`.
fn dssa(mbimex: u8) -> Scenario {
    Scenario::from_toml_str(&dual_sim(mbimex, false), "dssa.toml").unwrap()
}

struct Harness {
    modem: SimModem,
    events: mpsc::Receiver<ExecutorReport>,
    commands: mpsc::Sender<ExecutorCommand>,
    status: watch::Receiver<ExecutorStatus>,
    next_id: u64,
}

fn start(scenario: Scenario, config: ExecutorConfig) -> Harness {
    let modem = SimModem::new(scenario).unwrap();
    let transport = Arc::new(InProcessFunction::new(modem.function(0).unwrap()));
    let (events_tx, events) = mpsc::channel(64);
    let (commands, commands_rx) = mpsc::channel(8);
    let (status_tx, status) = watch::channel(ExecutorStatus::default());
    tokio::spawn(run_executor(
        transport,
        config,
        events_tx,
        commands_rx,
        status_tx,
        Arc::new(Mutex::new(())),
    ));
    Harness {
        modem,
        events,
        commands,
        status,
        next_id: 0,
    }
}

impl Harness {
    /// The next event `pick` takes, skipping the others.
    async fn until<T>(&mut self, mut pick: impl FnMut(ExecutorEvent) -> Option<T>) -> T {
        let events = &mut self.events;
        tokio::time::timeout(WAIT, async {
            loop {
                let report = events.recv().await.expect("the executor reports");
                assert_eq!(report.executor, 0);
                if let Some(found) = pick(report.event) {
                    return found;
                }
            }
        })
        .await
        .expect("the event in time")
    }

    async fn status_where(&mut self, keep: impl Fn(&ExecutorStatus) -> bool) -> ExecutorStatus {
        let mut status = self.status.clone();
        let found = tokio::time::timeout(WAIT, async {
            status.wait_for(|s| keep(s)).await.map(|s| s.clone())
        })
        .await;
        match found {
            Ok(found) => found.expect("the executor publishes"),
            Err(_) => panic!("status in time; last {:?}", *self.status.borrow()),
        }
    }

    async fn connected(&mut self) {
        self.until(|event| matches!(event, ExecutorEvent::Connected(_)).then_some(()))
            .await;
    }

    /// Sends `command` tracked; returns its id.
    async fn send_tracked(&mut self, command: ExecutorCommand) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.commands
            .send(ExecutorCommand::Tracked {
                id,
                command: Box::new(command),
            })
            .await
            .unwrap();
        id
    }

    /// The outcome of tracked command `id`.
    async fn outcome(&mut self, id: u64) -> Result<(), CommandFailure> {
        self.until(|event| match event {
            ExecutorEvent::Done { id: done, result } if done == id => Some(result),
            _ => None,
        })
        .await
    }

    /// Sends `command` tracked and returns its outcome.
    async fn tracked(&mut self, command: ExecutorCommand) -> Result<(), CommandFailure> {
        let id = self.send_tracked(command).await;
        self.outcome(id).await
    }

    fn control(&self, json: &str) -> ControlReply {
        self.modem
            .control(serde_json::from_str(json).unwrap())
            .unwrap()
    }

    fn sim_status(&self) -> serde_json::Value {
        match self.control(r#"{"command":"status"}"#) {
            ControlReply::Status { status } => status,
            other => panic!("{other:?}"),
        }
    }
}

async fn after_the_start_the_slots_the_mapping_and_the_modem_are_known(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    let mut slots = Vec::new();
    let mut mapping = None;
    h.until(|event| match event {
        ExecutorEvent::SlotInfo { slot, state } => {
            slots.push((slot, state));
            None
        }
        ExecutorEvent::SlotMapping {
            set,
            status,
            mapping: answered,
        } => {
            mapping = Some((set, status, answered));
            None
        }
        ExecutorEvent::Connected(_) => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(
        slots,
        [(0, UiccSlotState::Active), (1, UiccSlotState::ActiveEsim)]
    );
    assert_eq!(mapping, Some((false, Status::Success, Some(vec![0]))));
    let status = h.status.borrow().clone();
    assert_eq!(
        status.slots,
        [Some(UiccSlotState::Active), Some(UiccSlotState::ActiveEsim)]
    );
    assert_eq!(status.mapping, [0]);
    assert_eq!(status.slot, Some(0));
    let caps = status.sys_caps.expect("SYS_CAPS");
    assert_eq!(
        (caps.executors, caps.slots, caps.concurrency, caps.modem_id),
        (1, 2, 1, 0x6d62_696d_6400_0001)
    );
    assert_eq!(status.device.firmware, "mbim-sim 0.1");
    assert_eq!(status.device.hardware, "simulated DSSA");
    assert_eq!(status.device.device_id, "350000000000001");
    assert!(status.radio_software.is_some() && status.radio_hardware.is_some());

    // Asked again, tracked: answered the same way.
    assert_eq!(h.tracked(ExecutorCommand::QuerySlots).await, Ok(()));
    assert_eq!(h.tracked(ExecutorCommand::QuerySlotMapping).await, Ok(()));
}

async fn removing_and_inserting_the_sim_is_reported_per_slot(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"remove-sim","slot":0}"#);
    let state = h
        .until(|event| match event {
            ExecutorEvent::SlotInfo { slot: 0, state } => Some(state),
            _ => None,
        })
        .await;
    assert_eq!(state, UiccSlotState::Empty);
    h.status_where(|s| s.slots.first() == Some(&Some(UiccSlotState::Empty)))
        .await;

    h.control(
        r#"{"command":"insert-sim","slot":0,"card":{"iccid":"8988200000000000077","imsi":"001010000000077"}}"#,
    );
    // The card may pass through not-ready; it ends active.
    h.until(|event| match event {
        ExecutorEvent::SlotInfo {
            slot: 0,
            state: UiccSlotState::Active,
        } => Some(()),
        ExecutorEvent::SlotInfo { slot: 0, state } => {
            assert_eq!(state, UiccSlotState::NotReady);
            None
        }
        _ => None,
    })
    .await;
    h.connected().await;
    assert_eq!(
        h.status.borrow().slots.first(),
        Some(&Some(UiccSlotState::Active))
    );
}

async fn a_changed_pin_is_the_one_the_sim_asks_for_next(mbimex: u8) {
    let mut config = config();
    config.pin = None;
    let mut h = start(scenario_with_pin(mbimex), config);
    h.status_where(|s| s.state == ExecutorState::Locked).await;
    assert_eq!(
        h.tracked(ExecutorCommand::EnterPin(Secret::new("1234")))
            .await,
        Ok(())
    );
    h.connected().await;

    let changed = h
        .tracked(ExecutorCommand::ChangePin {
            old: Secret::new("1234"),
            new: Secret::new("5678"),
        })
        .await;
    assert_eq!(changed, Ok(()));
    // Selecting the eSIM and then the physical SIM again powers the latter
    // up anew: it locks, and wants the new PIN.
    assert_eq!(
        h.tracked(ExecutorCommand::SetSlotMapping(vec![1])).await,
        Ok(())
    );
    h.connected().await;
    assert_eq!(
        h.tracked(ExecutorCommand::SetSlotMapping(vec![0])).await,
        Ok(())
    );
    h.status_where(|s| s.state == ExecutorState::Locked && s.slot == Some(0))
        .await;
    let old = h
        .tracked(ExecutorCommand::EnterPin(Secret::new("1234")))
        .await;
    assert_eq!(
        old,
        Err(CommandFailure {
            status: Some(Status::Failure),
            message: "wrong PIN, 2 attempts left".to_owned(),
            timed_out: false,
        })
    );
    assert_eq!(
        h.tracked(ExecutorCommand::EnterPin(Secret::new("5678")))
            .await,
        Ok(())
    );
    h.connected().await;
}

async fn enabling_the_pin_with_a_wrong_pin_fails_with_the_status_and_attempts_left(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    let result = h
        .tracked(ExecutorCommand::SetPinEnabled {
            pin: Secret::new("9999"),
            enabled: true,
        })
        .await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(Status::Failure));
    assert_eq!(failure.message, "wrong PIN, 2 attempts left");
    assert!(!failure.message.contains("9999"));
    assert_eq!(h.sim_status()["slots"][0]["card"]["pin_enabled"], false);
    // The right one enables it; the session stays up throughout.
    assert_eq!(
        h.tracked(ExecutorCommand::SetPinEnabled {
            pin: Secret::new("1234"),
            enabled: true,
        })
        .await,
        Ok(())
    );
    assert_eq!(h.sim_status()["slots"][0]["card"]["pin_enabled"], true);
    assert_eq!(h.status.borrow().state, ExecutorState::Connected);
}

async fn a_tracked_slot_mapping_is_reported_done_and_changes_the_modem(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    let id = h
        .send_tracked(ExecutorCommand::SetSlotMapping(vec![1]))
        .await;
    let mut mapping = None;
    let result = h
        .until(|event| match event {
            ExecutorEvent::SlotMapping {
                set: true,
                status,
                mapping: answered,
            } => {
                mapping = Some((status, answered));
                None
            }
            ExecutorEvent::Done { id: done, result } if done == id => Some(result),
            _ => None,
        })
        .await;
    assert_eq!(result, Ok(()));
    assert_eq!(mapping, Some((Status::Success, Some(vec![1]))));
    assert_eq!(h.sim_status()["slot_mapping"], serde_json::json!([1]));
    h.connected().await;
    let status = h.status.borrow().clone();
    assert_eq!(status.mapping, [1]);
    assert_eq!(status.slot, Some(1));
    assert_eq!(status.iccid, "8988200000000000002");
}

async fn a_busy_mapping_set_fails_with_busy_and_the_mapping_in_force(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"next-slot-mapping-status","status":"busy"}"#);
    let result = h.tracked(ExecutorCommand::SetSlotMapping(vec![1])).await;
    let failure = result.unwrap_err();
    assert_eq!(failure.status, Some(Status::Busy));
    assert_eq!(h.status.borrow().mapping, [0]);
    assert_eq!(h.sim_status()["slot_mapping"], serde_json::json!([0]));
    // Its owner retries; the device said BUSY, so the SET waits for the
    // device's next notification (seed 000), then goes through.
    let id = h
        .send_tracked(ExecutorCommand::SetSlotMapping(vec![1]))
        .await;
    h.control(r#"{"command":"set-dns","executor":0,"ipv4_dns":["9.9.9.9"]}"#);
    assert_eq!(h.outcome(id).await, Ok(()));
    assert_eq!(h.sim_status()["slot_mapping"], serde_json::json!([1]));
}

async fn notifications_are_reported_and_tracked_commands_after_the_end_fail(mbimex: u8) {
    let mut h = start(dssa(mbimex), config());
    h.connected().await;
    h.control(r#"{"command":"set-dns","executor":0,"ipv4_dns":["9.9.9.9"]}"#);
    h.until(|event| matches!(event, ExecutorEvent::Notification).then_some(()))
        .await;
    assert_eq!(
        h.tracked(ExecutorCommand::Reconfigure {
            profiles: vec![Profile::new("other", "internet")],
            pins: Vec::new(),
            apn_sources: mbimd::apn::ApnSources::default(),
        })
        .await,
        Ok(())
    );
    assert_eq!(h.tracked(ExecutorCommand::Shutdown).await, Ok(()));
    h.until(|event| matches!(event, ExecutorEvent::Stopped).then_some(()))
        .await;
    // Sent after the end (the channel may already be closed): never unanswered.
    let late = ExecutorCommand::Tracked {
        id: 99,
        command: Box::new(ExecutorCommand::QuerySlots),
    };
    if h.commands.send(late).await.is_ok() {
        let result = h
            .until(|event| match event {
                ExecutorEvent::Done { id: 99, result } => Some(result),
                _ => None,
            })
            .await;
        assert!(result.is_err());
    }
}

mbimd_test_support::against_mbim_1_0_and_3_0!(
    async
    after_the_start_the_slots_the_mapping_and_the_modem_are_known,
    removing_and_inserting_the_sim_is_reported_per_slot,
    a_changed_pin_is_the_one_the_sim_asks_for_next,
    enabling_the_pin_with_a_wrong_pin_fails_with_the_status_and_attempts_left,
    a_tracked_slot_mapping_is_reported_done_and_changes_the_modem,
    a_busy_mapping_set_fails_with_busy_and_the_mapping_in_force,
    notifications_are_reported_and_tracked_commands_after_the_end_fail,
);
