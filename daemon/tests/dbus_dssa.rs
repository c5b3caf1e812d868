//! The dual-SIM single-active slot policy through the real interfaces: per
//! test a private dbus-daemon, the real `mbimd --simulate` on it (the
//! built-in DSSA modem, or a variant the test writes as a scenario file), the
//! simulated modem driven at run time with `mbim-sim ctl` through mbimd's
//! `--sim-control` socket, and everything observed with busctl (properties,
//! method calls, the manager's SlotSwitchSuggested/SlotSwitched signals).
//!
//! `mbim-sim` is found next to mbimd in the target directory (`cargo test
//! --workspace` builds it; a package's tests cannot name another package's
//! binary); without it the tests say so and skip. No root needed: mbimd runs
//! the control plane unprivileged and the test's own group is its admin
//! group. As root mbimd runs in a network namespace of its own (`unshare
//! --net`), so its TUN device never touches the machine's interfaces.
//!
//! The policy's own timing shapes the scenarios: an insertion is tested from
//! a modem that first sight left on the eSIM without a switch (a switch would
//! open the 10 s settle window and, if automatic, the 60 s hold-down).
//! Waits are hang guards only.
//!
//! The tests in which a SIM's presence changes, the slot moves and the
//! executor connects again run against an MBIM 1.0 and an MBIMEx 3.0 modem:
//! the policy learns of a card from SUBSCRIBER_READY_STATUS, whose layout
//! 3.0 changes, and the reconnection writes CONNECT in the agreed one (4.0
//! changes CONNECT alone, which the sessions and ModemManager tests run
//! against). The multi-SIM CIDs themselves have one layout, so the
//! remaining tests (busy retries, a voice call, restarts, TestSlots, policy
//! changes) run once, against the built-in 1.0 modem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use mbim_sim::scenario::Scenario;
use mbimd::supervisor::TEST_NAMES;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MANAGER: &str = "/dev/mbimd/Mbimd1";
const MODEM: &str = "/dev/mbimd/Mbimd1/Modem0";
const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";
const SLOT0: &str = "/dev/mbimd/Mbimd1/Modem0/Slot0";
const MODEM1: &str = "dev.mbimd.Modem1";

/// The simulated modem's id, as the slot store keys it.
const MODEM_ID: &str = "1d6b:0104:6d62696d64000001";

/// A hang guard for waits on the daemon; TestSlots and a voice-call retry
/// take seconds, and the tests run side by side.
const PATIENCE: Duration = Duration::from_secs(120);

/// How long "nothing happens" is watched for.
const QUIET: Duration = Duration::from_secs(3);

/// The log line of every DEVICE_SLOT_MAPPINGS SET the policy sends.
const SET_LOG: &str = "setting the slot mapping";

/// A binary of the workspace next to this test's executable.
fn sibling(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join(name);
    path.is_file().then_some(path)
}

fn mbim_sim_path() -> Option<PathBuf> {
    let path = sibling("mbim-sim");
    if path.is_none() {
        eprintln!(
            "skipped: no mbim-sim binary next to mbimd (run `cargo test --workspace`, or \
             `cargo build -p mbim-sim` first)"
        );
    }
    path
}

/// The name of this process's effective group, if /etc/group has it.
fn own_group() -> Option<String> {
    let gid = rustix::process::getegid().as_raw().to_string();
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&gid.as_str())).then(|| fields[0].to_owned())
    })
}

/// The built-in DSSA modem with its executor on `slot` at power-on and the
/// physical slot holding a SIM or not.
fn scenario(slot: u32, physical_sim: bool) -> Scenario {
    scenario_at(slot, physical_sim, 1)
}

/// [`scenario`] offering up to MBIMEx `mbimex`.
fn scenario_at(slot: u32, physical_sim: bool, mbimex: u8) -> Scenario {
    let mut scenario = Scenario::default_dssa();
    scenario.executors[0].slot = slot;
    if !physical_sim {
        scenario.slots[0].card = None;
    }
    scenario.modem.mbimex = mbimex;
    scenario
}

/// What a test runs mbimd with.
struct Setup {
    /// The modem (None: the built-in one, `--simulate` without a file).
    scenario: Option<Scenario>,
    /// Lines for `[slot-policy]` (`on-removal = "switch"`, …).
    policy: &'static str,
    /// The control socket from `[simulate] control` (a path relative to the
    /// configuration file) rather than `--sim-control`.
    control_in_config: bool,
}

impl Setup {
    fn builtin(policy: &'static str) -> Setup {
        Setup {
            scenario: None,
            policy,
            control_in_config: false,
        }
    }

    fn with(scenario: Scenario, policy: &'static str) -> Setup {
        Setup {
            scenario: Some(scenario),
            policy,
            control_in_config: false,
        }
    }
}

/// mbimd, stopped with SIGTERM (so it removes what it made) and reaped.
struct Mbimd {
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl Mbimd {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        self.stopped = true;
        let _ = mbimd_test_support::process::terminate(self.child.id());
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("mbimd did not stop on SIGTERM\n{}", self.log());
    }
}

impl Drop for Mbimd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- mbimd's log ---\n{}", self.log());
            let _ = self.child.kill();
            let _ = self.child.wait();
        } else if !self.stopped {
            self.stop();
        }
    }
}

/// One test's world. Fields drop in order: monitor, mbimd, then the bus
/// (whose directory holds the configuration, store, socket and log).
struct Dssa {
    monitor: Monitor,
    mbimd: Option<Mbimd>,
    mbim_sim: PathBuf,
    control: PathBuf,
    config: PathBuf,
    scenario: Option<PathBuf>,
    starts: u32,
    bus: PrivateBus,
}

impl Dssa {
    /// Bus, monitor (from before mbimd starts, so no signal is missed) and
    /// mbimd; None (after saying why) without the mbim-sim binary.
    fn start(setup: Setup) -> Option<Dssa> {
        let mbim_sim = mbim_sim_path()?;
        let bus = PrivateBus::start();
        let dir = bus.dir().to_owned();
        let mut text = format!(
            "[[profiles]]\nname = \"default\"\napn = \"internet\"\n\n\
             [dns]\nbackend = \"none\"\n\n\
             [modemmanager]\napi = \"off\"\n\n\
             [logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\n\
             [slot-policy]\nstate-file = \"{}/slots.toml\"\n{}\n",
            dir.display(),
            setup.policy
        );
        if setup.control_in_config {
            text.push_str("\n[simulate]\ncontrol = \"sim.sock\"\n");
        }
        if !is_root() {
            // Only root and the admin group may change things.
            if let Some(group) = own_group() {
                text.push_str(&format!("\n[dbus]\nadmin-group = \"{group}\"\n"));
            }
        }
        let config = dir.join("mbimd.toml");
        std::fs::write(&config, text).unwrap();
        let scenario = setup.scenario.map(|scenario| {
            let path = dir.join("scenario.toml");
            std::fs::write(&path, toml::to_string(&scenario).unwrap()).unwrap();
            path
        });
        let monitor = Monitor::start(&bus);
        let mut dssa = Dssa {
            monitor,
            mbimd: None,
            mbim_sim,
            control: dir.join("sim.sock"),
            config,
            scenario,
            starts: 0,
            bus,
        };
        dssa.start_mbimd(!setup.control_in_config);
        Some(dssa)
    }

    /// Starts mbimd (again) with a fresh simulated modem.
    fn start_mbimd(&mut self, control_flag: bool) {
        let mbimd = env!("CARGO_BIN_EXE_mbimd");
        let mut command = if is_root() {
            let mut command = mbimd_test_support::tools::UNSHARE.command();
            command.args(["--net", "--", mbimd]);
            command
        } else {
            Command::new(mbimd)
        };
        command.arg("--simulate");
        if let Some(scenario) = &self.scenario {
            command.arg(scenario);
        }
        if control_flag {
            command.arg("--sim-control").arg(&self.control);
        }
        self.starts += 1;
        let log = self.bus.dir().join(format!("mbimd-{}.log", self.starts));
        let child = command
            .arg("--config")
            .arg(&self.config)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        self.mbimd = Some(Mbimd {
            child,
            log,
            stopped: false,
        });
    }

    fn log(&self) -> String {
        self.mbimd.as_ref().map(Mbimd::log).unwrap_or_default()
    }

    /// `mbim-sim ctl --control <mbimd's socket> args…`, which must succeed.
    async fn ctl(&self, args: &[&str]) -> String {
        let run = self.try_ctl(args).await;
        assert!(run.ok, "mbim-sim ctl {args:?}: {run:?}\n{}", self.log());
        run.stdout
    }

    async fn try_ctl(&self, args: &[&str]) -> Run {
        let mut all = vec![
            "ctl".to_owned(),
            "--control".to_owned(),
            self.control.display().to_string(),
        ];
        all.extend(args.iter().map(|arg| (*arg).to_owned()));
        run_as(None, &self.mbim_sim, all).await
    }

    /// A property's value, None while mbimd does not answer for it.
    async fn try_property(&self, path: &str, interface: &str, name: &str) -> Option<Value> {
        let run = busctl(
            &self.bus,
            None,
            &[
                "--json=short",
                "get-property",
                mbimd::dbus::BUS_NAME,
                path,
                interface,
                name,
            ],
        )
        .await;
        if !run.ok {
            return None;
        }
        let value: Value = serde_json::from_str(&run.stdout).unwrap();
        Some(value["data"].clone())
    }

    async fn property(&self, path: &str, interface: &str, name: &str) -> Value {
        self.try_property(path, interface, name)
            .await
            .unwrap_or_else(|| panic!("no {name} on {path}\n{}", self.log()))
    }

    /// Polls a property until it reads `expected`.
    async fn wait_property(&self, path: &str, interface: &str, name: &str, expected: Value) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.try_property(path, interface, name).await;
            if value.as_ref() == Some(&expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{path} {name} is {value:?}, never {expected}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn mapping(&self) -> Value {
        self.property(MODEM, MODEM1, "SlotMapping").await
    }

    async fn connected(&self) {
        self.wait_property(EXECUTOR, "dev.mbimd.Executor1", "State", json!("connected"))
            .await;
    }

    /// Connected, in the MBIMEx version the modem offered (what a test run
    /// per version checks it ran at).
    async fn connected_at(&self, mbimex: u8) {
        self.connected().await;
        assert_eq!(
            self.property(EXECUTOR, "dev.mbimd.Executor1", "MbimexVersion")
                .await,
            json!(format!("{mbimex}.0"))
        );
    }

    /// Waits until the slot store remembers `slot` for the simulated modem:
    /// the policy has seen the modem (first sight remembers at once) or
    /// confirmed a switch.
    async fn remembered(&self, slot: u32) {
        let path = self.bus.dir().join("slots.toml");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let stored = toml::from_str::<toml::Table>(&text)
                .ok()
                .and_then(|table| table.get("slots")?.get(MODEM_ID)?.as_integer());
            if stored == Some(i64::from(slot)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "slot {slot} never remembered (store: {text:?})\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `busctl call` of a Modem1 method, which must succeed; its JSON
    /// reply (null without out arguments).
    async fn call_modem(&self, method: &str, signature_and_args: &[&str]) -> Value {
        // TestSlots switches slots and back; busctl's own 25 s default is
        // no hang guard to rely on for it.
        let mut args = vec![
            "--timeout=120",
            "--json=short",
            "call",
            mbimd::dbus::BUS_NAME,
            MODEM,
            MODEM1,
            method,
        ];
        args.extend_from_slice(signature_and_args);
        let run = busctl(&self.bus, None, &args).await;
        assert!(run.ok, "{method}: {run:?}\n{}", self.log());
        // A method without out arguments prints nothing.
        if run.stdout.trim().is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// The next SlotSwitchSuggested or SlotSwitched: its name and arguments.
    async fn slot_signal(&mut self) -> (String, Value) {
        let message = self.monitor.wait_for("a slot signal", is_slot_signal).await;
        (
            message["member"].as_str().unwrap().to_owned(),
            message["payload"]["data"].clone(),
        )
    }

    /// Asserts that no slot signal is among the messages the bus carries
    /// within `QUIET` from now.
    async fn no_slot_signal(&mut self) {
        let messages = self.monitor.during(QUIET).await;
        let signals: Vec<&Value> = messages.iter().filter(|m| is_slot_signal(m)).collect();
        assert!(signals.is_empty(), "{signals:?}\n{}", self.log());
    }

    /// How many DEVICE_SLOT_MAPPINGS SETs the policy has sent so far.
    fn sets_sent(&self) -> usize {
        self.log().matches(SET_LOG).count()
    }

    /// Stops mbimd; its log stays readable until the next start.
    fn stop_mbimd(&mut self) {
        if let Some(mbimd) = self.mbimd.as_mut() {
            mbimd.stop();
        }
    }
}

fn is_slot_signal(message: &Value) -> bool {
    message["type"] == "signal"
        && message["path"] == MANAGER
        && (message["member"] == "SlotSwitched" || message["member"] == "SlotSwitchSuggested")
}

fn switched(from: u32, to: u32, reason: &str) -> (String, Value) {
    ("SlotSwitched".to_owned(), json!([MODEM, from, to, reason]))
}

fn suggested(from: u32, to: u32, reason: &str) -> (String, Value) {
    (
        "SlotSwitchSuggested".to_owned(),
        json!([MODEM, from, to, reason]),
    )
}

/// Keeps the simulated device sending notifications (a DNS change makes an
/// IP_CONFIGURATION indication) until dropped: seed 004's cue to send a SET
/// the device refused with BUSY again.
struct Notifier {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Notifier {
    fn start(dssa: &Dssa) -> Notifier {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, mbim_sim, control) = (
            Arc::clone(&stop),
            dssa.mbim_sim.clone(),
            dssa.control.clone(),
        );
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                // A refusal (no session at this moment) is no matter: the
                // next round sends another.
                let _ = Command::new(&mbim_sim)
                    .arg("ctl")
                    .arg("--control")
                    .arg(&control)
                    .args(["set-dns", "--executor", "0", "--ipv4-dns", "10.64.0.1"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Notifier {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sight_with_a_physical_sim_stays_on_slot_0() {
    let Some(mut dssa) = Dssa::start(Setup::builtin("")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.connected().await;
    assert_eq!(dssa.mapping().await, json!([0]));
    assert_eq!(
        dssa.property(SLOT0, "dev.mbimd.Slot1", "State").await,
        json!("active")
    );
    assert_eq!(
        dssa.property(SLOT0, "dev.mbimd.Slot1", "Executor").await,
        json!(EXECUTOR)
    );
    // The mapping was right: no switch, so no signal.
    dssa.no_slot_signal().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sight_with_a_physical_sim_moves_off_the_esim() {
    let Some(mut dssa) = Dssa::start(Setup::with(scenario(1, true), "")) else {
        return;
    };
    assert_eq!(dssa.slot_signal().await, switched(1, 0, "first-sight"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([0]))
        .await;
    dssa.remembered(0).await;
    dssa.connected().await;
}

async fn first_sight_without_a_physical_sim_takes_the_esim(mbimex: u8) {
    let Some(mut dssa) = Dssa::start(Setup::with(scenario_at(0, false, mbimex), "")) else {
        return;
    };
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "first-sight"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([1]))
        .await;
    dssa.remembered(1).await;
    dssa.connected_at(mbimex).await;
    assert_eq!(
        dssa.property(SLOT0, "dev.mbimd.Slot1", "State").await,
        json!("empty")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_with_suggest_signals_and_keeps_the_mapping() {
    let Some(mut dssa) = Dssa::start(Setup::builtin("on-removal = \"suggest\"")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.ctl(&["remove-sim", "--slot", "0"]).await;
    assert_eq!(dssa.slot_signal().await, suggested(0, 1, "sim-removed"));
    assert_eq!(dssa.mapping().await, json!([0]));
    assert_eq!(
        dssa.property(SLOT0, "dev.mbimd.Slot1", "State").await,
        json!("empty")
    );
}

async fn removal_with_switch_moves_to_the_esim(mbimex: u8) {
    let setup = Setup::with(scenario_at(0, true, mbimex), "on-removal = \"switch\"");
    let Some(mut dssa) = Dssa::start(setup) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.connected_at(mbimex).await;
    dssa.ctl(&["remove-sim", "--slot", "0"]).await;
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "sim-removed"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([1]))
        .await;
    dssa.remembered(1).await;
    // The executor reconnects with the eSIM on its own.
    dssa.connected_at(mbimex).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removal_with_stay_does_nothing() {
    // Also the `[simulate] control` key, relative to the configuration file.
    let setup = Setup {
        control_in_config: true,
        ..Setup::builtin("on-removal = \"stay\"")
    };
    let Some(mut dssa) = Dssa::start(setup) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.ctl(&["remove-sim", "--slot", "0"]).await;
    // The slot's new state is published after the policy had it.
    let log = dssa.log();
    dssa.monitor
        .wait_for("slot 0 empty", |message| {
            assert!(!is_slot_signal(message), "{message}\n{log}");
            message["type"] == "signal"
                && message["path"] == SLOT0
                && message["member"] == "PropertiesChanged"
                && message["payload"]["data"][1]["State"]["data"] == "empty"
        })
        .await;
    dssa.no_slot_signal().await;
    assert_eq!(dssa.mapping().await, json!([0]));
}

async fn insertion_with_auto_switch_switches(mbimex: u8) {
    let setup = Setup::with(scenario_at(1, false, mbimex), "auto-switch = true");
    let Some(mut dssa) = Dssa::start(setup) else {
        return;
    };
    // First sight found the eSIM in use already: no switch, so neither the
    // settle window nor the hold-down is running.
    dssa.remembered(1).await;
    assert_eq!(
        dssa.property(MODEM, MODEM1, "AutoSwitch").await,
        json!(true)
    );
    dssa.ctl(&["insert-sim", "--slot", "0"]).await;
    assert_eq!(dssa.slot_signal().await, switched(1, 0, "sim-inserted"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([0]))
        .await;
    dssa.wait_property(SLOT0, "dev.mbimd.Slot1", "State", json!("active"))
        .await;
    dssa.remembered(0).await;
    dssa.connected_at(mbimex).await;
}

async fn insertion_without_auto_switch_suggests(mbimex: u8) {
    let setup = Setup::with(scenario_at(1, false, mbimex), "auto-switch = false");
    let Some(mut dssa) = Dssa::start(setup) else {
        return;
    };
    dssa.remembered(1).await;
    dssa.ctl(&["insert-sim", "--slot", "0"]).await;
    assert_eq!(dssa.slot_signal().await, suggested(1, 0, "sim-inserted"));
    assert_eq!(dssa.mapping().await, json!([1]));
    // The user takes the suggestion.
    dssa.call_modem("SwitchToSlot", &["u", "0"]).await;
    assert_eq!(dssa.slot_signal().await, switched(1, 0, "user"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([0]))
        .await;
    dssa.remembered(0).await;
    dssa.connected_at(mbimex).await;
}

mbimd_test_support::against_mbim_1_0_and_3_0!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async first_sight_without_a_physical_sim_takes_the_esim,
    removal_with_switch_moves_to_the_esim,
    insertion_with_auto_switch_switches,
    insertion_without_auto_switch_suggests,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_device_gets_the_set_again_on_its_next_notification() {
    let Some(mut dssa) = Dssa::start(Setup::builtin("")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.connected().await;
    let sets_before = dssa.sets_sent();
    dssa.ctl(&["next-slot-mapping-status", "--status", "busy"])
        .await;
    // The call returns once the policy has the choice, BUSY or not.
    dssa.call_modem("SwitchToSlot", &["u", "1"]).await;
    // The simulator sends nothing after its BUSY: provoke notifications.
    let notifier = Notifier::start(&dssa);
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "user"));
    drop(notifier);
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([1]))
        .await;
    dssa.remembered(1).await;
    // Refused once, then sent again.
    assert!(
        dssa.sets_sent() >= sets_before + 2,
        "one SET only\n{}",
        dssa.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_call_in_progress_delays_the_switch() {
    let Some(mut dssa) = Dssa::start(Setup::builtin("")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.connected().await;
    let sets_before = dssa.sets_sent();
    dssa.ctl(&[
        "next-slot-mapping-status",
        "--status",
        "voice-call-in-progress",
    ])
    .await;
    dssa.call_modem("SwitchToSlot", &["u", "1"]).await;
    // Refused; the policy's timer (5 s) sends it again.
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "user"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([1]))
        .await;
    assert!(
        dssa.sets_sent() >= sets_before + 2,
        "one SET only\n{}",
        dssa.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reapplies_the_remembered_choice() {
    let Some(mut dssa) = Dssa::start(Setup::builtin("")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.call_modem("SwitchToSlot", &["u", "1"]).await;
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "user"));
    dssa.remembered(1).await;
    dssa.stop_mbimd();
    // The socket went with it.
    assert!(!dssa.control.exists());

    // A fresh simulated modem (on slot 0 at power-on), the same store.
    dssa.start_mbimd(true);
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "remembered"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([1]))
        .await;
    dssa.connected().await;
    let status: Value = serde_json::from_str(&dssa.ctl(&["status"]).await).unwrap();
    assert_eq!(status["status"]["slot_mapping"], json!([1]), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_slot_policy_changes_what_a_removal_does() {
    let Some(mut dssa) = Dssa::start(Setup::builtin("on-removal = \"stay\"")) else {
        return;
    };
    dssa.remembered(0).await;
    assert_eq!(
        dssa.property(MODEM, MODEM1, "OnRemoval").await,
        json!("stay")
    );
    dssa.call_modem("SetSlotPolicy", &["sb", "switch", "false"])
        .await;
    dssa.wait_property(MODEM, MODEM1, "OnRemoval", json!("switch"))
        .await;
    dssa.ctl(&["remove-sim", "--slot", "0"]).await;
    assert_eq!(dssa.slot_signal().await, switched(0, 1, "sim-removed"));
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([1]))
        .await;
}

/// TestSlots' checks by name: (passed, details).
fn checks(reply: &Value) -> Vec<(String, bool, String)> {
    reply["data"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| {
            (
                check[0].as_str().unwrap().to_owned(),
                check[1].as_bool().unwrap(),
                check[2].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_slots_passes_on_the_dual_slot_modem() {
    let Some(dssa) = Dssa::start(Setup::builtin("")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.connected().await;
    let reply = dssa.call_modem("TestSlots", &[]).await;
    let checks = checks(&reply);
    let names: Vec<&str> = checks.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, TEST_NAMES, "{reply}");
    for check in &checks {
        assert!(check.1, "{check:?}\n{}", dssa.log());
    }
    // The test puts the mapping back.
    dssa.wait_property(MODEM, MODEM1, "SlotMapping", json!([0]))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_slots_reports_a_misreported_slot_state() {
    // Stay: the misreported "empty" must not move the modem.
    let Some(dssa) = Dssa::start(Setup::builtin("on-removal = \"stay\"")) else {
        return;
    };
    dssa.remembered(0).await;
    dssa.connected().await;
    dssa.ctl(&["misreport-slot", "--slot", "0", "--state", "empty"])
        .await;
    let reply = dssa.call_modem("TestSlots", &[]).await;
    let checks = checks(&reply);
    let check = |name: &str| {
        checks
            .iter()
            .find(|check| check.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {reply}"))
            .clone()
    };
    assert!(!check("ValidateSlotInfoState").1, "{reply}");
    assert!(check("QuerySlotInfo").1, "{reply}");
    assert!(check("QuerySlotMapping").1, "{reply}");
}

/// mbimd with `args` and this configuration text, expected to refuse to
/// start: its standard error.
fn refused(config_text: &str, args: &[&str]) -> String {
    let dir = tempdir();
    let config = dir.0.join("mbimd.toml");
    std::fs::write(&config, config_text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mbimd"))
        .args(args)
        .arg("--config")
        .arg(&config)
        // Nothing must reach a bus, ours or the machine's.
        .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr).replace(&dir.0.display().to_string(), "DIR")
}

struct TempDir(PathBuf);

fn tempdir() -> TempDir {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "mbimd-dbus-dssa-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&path).unwrap();
    TempDir(path)
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_bad_control_socket_setting_is_refused() {
    let log = "[logging]\ntarget = \"stderr\"\n";
    let stderr = refused(
        &format!("[simulate]\ncontrol = \"\"\n{log}"),
        &["--simulate"],
    );
    assert!(
        stderr.contains("DIR/mbimd.toml:2:11: empty control socket path"),
        "{stderr}"
    );
    // Not simulating: there is no simulated modem to drive.
    let stderr = refused(log, &["--sim-control", "/nonexistent/sim.sock"]);
    assert!(stderr.contains("--sim-control"), "{stderr}");
    assert!(stderr.contains("needs --simulate"), "{stderr}");
    // A socket that cannot be bound stops mbimd rather than going unserved.
    let stderr = refused(
        log,
        &["--simulate", "--sim-control", "/nonexistent/dir/sim.sock"],
    );
    assert!(
        stderr.contains("control socket /nonexistent/dir/sim.sock"),
        "{stderr}"
    );
}

/// The scenario variants the tests hand mbimd survive the trip through a
/// TOML file unchanged.
#[test]
fn the_scenario_files_the_tests_write_load_back() {
    for (slot, physical_sim, mbimex) in [(1, true, 1), (0, false, 1), (1, false, 3), (0, true, 3)] {
        let written = scenario_at(slot, physical_sim, mbimex);
        let text = toml::to_string(&written).unwrap();
        let loaded = Scenario::from_toml_str(&text, "written.toml").unwrap();
        assert_eq!(loaded, written);
    }
}
