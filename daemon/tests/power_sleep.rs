//! The host's sleep as systemd-logind announces it: the real `mbimd
//! --simulate` with a logind stand-in on a private system bus, which takes
//! the inhibitor lock mbimd asks for (a pipe whose far end mbimd holds) and
//! sends the real PrepareForSleep signal. Before the sleep mbimd must close
//! the modem (MS_HOST_SHUTDOWN where the modem has it, CLOSE otherwise)
//! and only then release the lock; the device is reset while the host
//! sleeps (`reset-device`: sessions gone, the SIM locked again), or it is
//! re-enumerated (`unplug` while asleep, `replug` after the wake: a new
//! device, powered on afresh); after the wake mbimd opens it again, enters
//! the configured PIN again and reconnects with the same profile, and
//! takes a new lock.
//!
//! As root mbimd runs in a network namespace of the test's own, so the TUN
//! device is real and checked; unprivileged, the control plane alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
// zbus::interface generates public helpers for the stand-in's signal
// without documentation.
#![allow(missing_docs)]

mod dbus_common;
mod netns_support;

use dbus_common::{busctl, PrivateBus};
use mbim_sim::control::{ControlCommand, ControlReply};
use mbim_sim::scenario::Scenario;
use netns_support::{privileged, Namespace};
use serde_json::json;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::object_server::SignalEmitter;

const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";
/// A hang guard, not a timing expectation.
const PATIENCE: Duration = Duration::from_secs(30);

/// One Inhibit call: what was asked, and our end of the lock's pipe.
struct Lock {
    what: String,
    who: String,
    mode: String,
    reader: std::fs::File,
}

impl Lock {
    /// Whether mbimd has let go of the lock (its end of the pipe closed).
    fn released(&mut self) -> bool {
        let mut byte = [0u8; 1];
        // Non-blocking: EOF (0) once every writer is closed.
        matches!(self.reader.read(&mut byte), Ok(0))
    }
}

/// The part of org.freedesktop.login1.Manager mbimd uses.
struct Login1 {
    locks: Arc<Mutex<Vec<Lock>>>,
}

#[zbus::interface(name = "org.freedesktop.login1.Manager")]
impl Login1 {
    /// A lock: the write end of a pipe, whose read end the test keeps.
    async fn inhibit(
        &self,
        what: String,
        who: String,
        _why: String,
        mode: String,
    ) -> zbus::fdo::Result<zbus::zvariant::OwnedFd> {
        let (reader, writer) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::NONBLOCK)
            .map_err(|error| zbus::fdo::Error::Failed(error.to_string()))?;
        self.locks.lock().unwrap().push(Lock {
            what,
            who,
            mode,
            reader: std::fs::File::from(reader),
        });
        Ok(zbus::zvariant::OwnedFd::from(writer))
    }

    /// The host is about to sleep (`true`) or woke (`false`).
    #[zbus(signal)]
    async fn prepare_for_sleep(emitter: &SignalEmitter<'_>, start: bool) -> zbus::Result<()>;
}

struct Mbimd {
    child: Child,
    log: PathBuf,
}

impl Drop for Mbimd {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- mbimd's log ---\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

async fn sim(control: &Path, command: ControlCommand) -> serde_json::Value {
    mbim_sim::ctl::request(control, &command).await.unwrap()
}

async fn sim_status(control: &Path) -> serde_json::Value {
    let reply = sim(control, ControlCommand::Status).await;
    let reply: ControlReply = serde_json::from_value(reply["ok"].clone()).unwrap();
    let ControlReply::Status { status } = reply else {
        panic!("no status: {reply:?}");
    };
    status
}

async fn wait_for<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Executor 0's State, or `None` while mbimd has not published it yet.
async fn state(bus: &PrivateBus) -> Option<String> {
    let run = busctl(
        bus,
        None,
        &[
            "get-property",
            "dev.mbimd.Mbimd1",
            EXECUTOR,
            "dev.mbimd.Executor1",
            "State",
        ],
    )
    .await;
    // `s "connected"`
    run.ok.then(|| {
        run.stdout
            .trim()
            .trim_start_matches("s ")
            .trim_matches('"')
            .to_owned()
    })
}

/// What happens to the modem while the host sleeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhileAsleep {
    /// It is reset in place: the same device, its sessions gone.
    Reset,
    /// It leaves the bus and comes back after the wake as a new device.
    Reenumerated,
}

/// Sleep and wake of the default modem with PIN1 enabled, offering up to
/// MBIMEx `mbimex`; `host_shutdown`: whether it has the MS Host Shutdown
/// service; `name`: the test's network namespace.
async fn sleep_and_wake(name: &str, host_shutdown: bool, asleep: WhileAsleep, mbimex: u8) {
    let bus = PrivateBus::start();
    let dir = bus.dir().to_owned();
    let locks = Arc::new(Mutex::new(Vec::new()));
    let login1 = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .name("org.freedesktop.login1")
        .unwrap()
        .serve_at(
            "/org/freedesktop/login1",
            Login1 {
                locks: Arc::clone(&locks),
            },
        )
        .unwrap()
        .build()
        .await
        .unwrap();

    // The default modem, its SIM with PIN1 enabled, and the PIN in the
    // configuration (owned by the user running mbimd, mode 0600).
    let mut scenario = Scenario::default_dssa();
    scenario.modem.host_shutdown = host_shutdown;
    scenario.modem.mbimex = mbimex;
    let card = scenario.slots[0].card.as_mut().unwrap();
    card.pin_enabled = true;
    let iccid = card.iccid.clone();
    let scenario_path = dir.join("scenario.toml");
    std::fs::write(&scenario_path, toml::to_string(&scenario).unwrap()).unwrap();
    let config = dir.join("mbimd.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nbackend = \"none\"\n[modemmanager]\napi = \"off\"\n[logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
             [slot-policy]\nstate-file = \"{}/slots.toml\"\n\
             [[sims]]\niccid = \"{iccid}\"\npin = \"1234\"\n",
            dir.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let control = dir.join("sim.sock");
    let log = dir.join("mbimd.log");
    let namespace = privileged().then(|| Namespace::create(name));
    let args = [
        "--simulate",
        scenario_path.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--sim-control",
        control.to_str().unwrap(),
    ];
    let mut command = match &namespace {
        Some(namespace) => namespace.exec(env!("CARGO_BIN_EXE_mbimd"), &args),
        None => {
            let mut command = Command::new(env!("CARGO_BIN_EXE_mbimd"));
            command.args(args);
            command
        }
    };
    let child = command
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mbimd = Mbimd {
        child,
        log: log.clone(),
    };
    let address = |namespace: &Namespace| {
        namespace
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"10.64.0.2\"")
    };

    wait_for("connected", async || {
        (state(&bus).await.as_deref() == Some("connected")).then_some(())
    })
    .await;
    if let Some(namespace) = &namespace {
        assert!(address(namespace), "no 10.64.0.2 on mbim0e0");
    }
    wait_for("the sleep delay lock", async || {
        (locks.lock().unwrap().len() == 1).then_some(())
    })
    .await;
    {
        let mut locks = locks.lock().unwrap();
        let lock = &mut locks[0];
        assert_eq!(
            (lock.what.as_str(), lock.who.as_str(), lock.mode.as_str()),
            ("sleep", "mbimd", "delay")
        );
        assert!(!lock.released(), "the lock was let go before any sleep");
    }

    // The host is about to sleep.
    let emitter = SignalEmitter::new(&login1, "/org/freedesktop/login1").unwrap();
    Login1::prepare_for_sleep(&emitter, true).await.unwrap();
    wait_for("the lock released", async || {
        locks.lock().unwrap()[0].released().then_some(())
    })
    .await;
    // Released only once the modem was closed.
    let status = sim_status(&control).await;
    assert_eq!(status["executors"][0]["open"], false, "{status}");
    assert_eq!(
        status["host_shutdowns"],
        u64::from(host_shutdown),
        "{status}"
    );
    assert_eq!(state(&bus).await.as_deref(), Some("suspended"));
    if let Some(namespace) = &namespace {
        assert!(
            namespace.ip(&["link", "show", "dev", "mbim0e0"]).is_empty(),
            "mbim0e0 left while asleep"
        );
    }

    match asleep {
        WhileAsleep::Reset => {
            // The modem is reset while the host sleeps: its SIM asks for
            // PIN1 again.
            sim(&control, ControlCommand::ResetDevice).await;
            let status = sim_status(&control).await;
            assert_eq!(
                status["slots"][0]["card"]["pin"], "pin-required",
                "{status}"
            );
            // The host woke.
            Login1::prepare_for_sleep(&emitter, false).await.unwrap();
        }
        WhileAsleep::Reenumerated => {
            // The modem leaves the bus while the host sleeps, and is
            // enumerated again after the wake: a new device.
            sim(&control, ControlCommand::Unplug).await;
            wait_for("the modem gone from D-Bus", async || {
                state(&bus).await.is_none().then_some(())
            })
            .await;
            Login1::prepare_for_sleep(&emitter, false).await.unwrap();
            let reply = sim(&control, ControlCommand::Replug).await;
            assert!(reply.get("error").is_none(), "replug: {reply}");
        }
    }
    wait_for("connected again", async || {
        (state(&bus).await.as_deref() == Some("connected")).then_some(())
    })
    .await;
    let status = sim_status(&control).await;
    // A re-enumerated modem is a new device: its counters start again.
    let resets = u64::from(asleep == WhileAsleep::Reset);
    assert_eq!(status["resets"], resets, "{status}");
    assert_eq!(
        status["slots"][0]["card"]["pin"], "unlocked",
        "the configured PIN was not entered again: {status}"
    );
    assert_eq!(status["executors"][0]["sessions"], json!([0]), "{status}");
    if let Some(namespace) = &namespace {
        wait_for("10.64.0.2 on mbim0e0 again", async || {
            address(namespace).then_some(())
        })
        .await;
    }
    wait_for("a new sleep delay lock", async || {
        let mut locks = locks.lock().unwrap();
        (locks.len() == 2 && !locks[1].released()).then_some(())
    })
    .await;
    // The version is agreed anew after each OPEN (the modem forgets it
    // with CLOSE): once before the sleep, once after the wake.
    if mbimex > 1 {
        let agreed = format!("MBIM extensions {mbimex}.0 agreed");
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(text.matches(&agreed).count(), 2, "{agreed}:\n{text}");
    }
    drop(mbimd);
}

/// After the wake the modem speaks MBIM 1.0 until MBIM_CID_VERSION is
/// asked again, so the layouts of the PIN, registration and CONNECT after
/// it depend on the version being agreed anew: run against 1.0 and 3.0.
/// (The other two differ from it in how the modem sleeps, not in what is
/// read, and run once.)
async fn a_modem_with_host_shutdown_is_told_closed_and_reconnected_after_a_reset(mbimex: u8) {
    let name = format!("mbimd-sleep-hs{mbimex}");
    sleep_and_wake(&name, true, WhileAsleep::Reset, mbimex).await;
}

mbimd_test_support::against_mbim_1_0_and_3_0!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async a_modem_with_host_shutdown_is_told_closed_and_reconnected_after_a_reset
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_without_host_shutdown_is_closed_and_reconnected_after_a_reset() {
    sleep_and_wake("mbimd-sleep-close", false, WhileAsleep::Reset, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modem_re_enumerated_across_the_sleep_is_taken_again_and_reconnected() {
    sleep_and_wake("mbimd-sleep-reenum", true, WhileAsleep::Reenumerated, 1).await;
}
