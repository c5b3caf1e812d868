//! `mbimctl` against the real daemon: a private dbus-daemon, `mbimd
//! --simulate` on it (the built-in dual-SIM single-active modem), and the
//! mbimctl binary run as a user would run it.
//!
//! mbimd is found next to this test's own executable (target/debug/mbimd):
//! `cargo test --workspace` builds every binary of the workspace, but a
//! package's tests cannot name another package's binary. Without it (e.g.
//! `cargo test -p mbimctl` in a clean target directory) the tests say so and
//! skip. As root, mbimd runs in a network namespace of its own, so its TUN
//! device and routes never touch the machine; its remembered slot choice goes
//! to the test's temporary directory.

// A test binary: a panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use mbimd_test_support::process;
use mbimd_test_support::tools::{DBUS_DAEMON, SETPRIV, UNSHARE};

/// Hang guard for anything awaited; never a measure of speed.
const PATIENCE: Duration = Duration::from_secs(120);

fn mbimctl_path() -> &'static str {
    env!("CARGO_BIN_EXE_mbimctl")
}

fn mbimd_path() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("mbimd");
    path.is_file().then_some(path)
}

fn is_root() -> bool {
    // /proc/self belongs to the process's effective uid.
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0
}

/// The name of this process's effective group, if /etc/group has it.
fn own_group() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let gid = status
        .lines()
        .find_map(|line| line.strip_prefix("Gid:"))?
        .split_whitespace()
        .nth(1)?
        .to_owned();
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.get(2) == Some(&gid.as_str())).then(|| fields[0].to_owned())
    })
}

/// A child process killed when dropped.
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A private bus: unix socket in a temporary directory, EXTERNAL auth,
/// everything allowed (mbimd's own checks are what the tests look at).
struct Bus {
    _daemon: Guarded,
    address: String,
    dir: tempfile::TempDir,
}

impl Bus {
    fn start() -> Bus {
        let dir = tempfile::tempdir().unwrap();
        // uid 65534 must reach the socket for the AccessDenied test.
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#,
                dir.path().display()
            ),
        )
        .unwrap();
        let mut daemon = DBUS_DAEMON
            .command()
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address"])
            .stdout(Stdio::piped())
            // Its complaints (it cannot raise its fd limit in a container)
            // are not the test's.
            .stderr(std::fs::File::create(dir.path().join("dbus-daemon.log")).unwrap())
            .spawn()
            .unwrap();
        // The address is printed once the socket listens.
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("unix:"), "dbus-daemon printed {line:?}");
        Bus {
            _daemon: Guarded(daemon),
            address: line.trim().to_owned(),
            dir,
        }
    }
}

/// A bus with `mbimd --simulate` on it.
struct Daemon {
    mbimd: Mutex<Option<Guarded>>,
    log: PathBuf,
    bus: Bus,
}

impl Daemon {
    /// None (after saying why) when the mbimd binary has not been built.
    fn start() -> Option<Daemon> {
        Self::simulating(None, "")
    }

    /// [`start`](Self::start) with the modem of `scenario` (a scenario's
    /// text; None: the built-in one) and `extra` appended to mbimd's
    /// configuration.
    fn simulating(scenario: Option<&str>, extra: &str) -> Option<Daemon> {
        let Some(mbimd) = mbimd_path() else {
            eprintln!(
                "skipped: no mbimd binary next to this test (run `cargo test --workspace`, or `cargo build -p mbimd` first)"
            );
            return None;
        };
        let bus = Bus::start();
        let config = bus.dir.path().join("mbimd.toml");
        // DNS nowhere and the remembered slot in the test's directory: the
        // test must not write the machine's resolver configuration or
        // /var/lib/mbimd.
        // mbimd connects by itself (not through ModemManager's API).
        let mut text = format!(
            "[dns]\nbackend = \"none\"\n\
             [modemmanager]\napi = \"off\"\n\
             [logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
             [slot-policy]\nstate-file = \"{}/slots.toml\"\n",
            bus.dir.path().display()
        );
        if !is_root() {
            // mbimd lets only root and its admin group change things: make
            // the test's own group that group.
            if let Some(group) = own_group() {
                text.push_str(&format!("[dbus]\nadmin-group = \"{group}\"\n"));
            }
        }
        text.push_str(extra);
        std::fs::write(&config, text).unwrap();
        let simulate = match scenario {
            Some(scenario) => {
                let path = bus.dir.path().join("scenario.toml");
                std::fs::write(&path, scenario).unwrap();
                format!("--simulate={}", path.display())
            }
            None => "--simulate".to_owned(),
        };
        let log = bus.dir.path().join("mbimd.log");
        let mut command = if is_root() {
            let mut command = UNSHARE.command();
            command.args(["--net", "--"]).arg(&mbimd);
            command
        } else {
            Command::new(&mbimd)
        };
        command
            .arg(simulate)
            .arg("--config")
            .arg(&config)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = command.spawn().unwrap();
        let daemon = Daemon {
            mbimd: Mutex::new(Some(Guarded(child))),
            log,
            bus,
        };
        daemon.wait_for_state("0/e0", "connected");
        Some(daemon)
    }

    /// Runs mbimctl with the daemon's bus as the system bus.
    fn mbimctl(&self, args: &[&str]) -> Output {
        self.mbimctl_with_input(args, "")
    }

    fn mbimctl_with_input(&self, args: &[&str], input: &str) -> Output {
        run(
            Command::new(mbimctl_path())
                .args(args)
                .env("DBUS_SYSTEM_BUS_ADDRESS", &self.bus.address),
            input,
        )
    }

    /// Runs mbimctl and expects success.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.mbimctl(args);
        assert!(
            output.status.success(),
            "mbimctl {args:?}: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    /// Polls until `executor`'s State is `state` (the time limit is a hang
    /// guard: the simulated modem connects in well under a second).
    fn wait_for_state(&self, executor: &str, state: &str) {
        self.wait_until(&format!("{executor} to be {state}"), || {
            let output = self.mbimctl(&["show", executor, "--json"]);
            output.status.success()
                && serde_json::from_slice::<serde_json::Value>(&output.stdout)
                    .map(|properties| properties["State"] == state)
                    .unwrap_or(false)
        });
    }

    fn wait_until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            if let Some(mbimd) = self.mbimd.lock().unwrap().as_mut() {
                if let Ok(Some(status)) = mbimd.0.try_wait() {
                    panic!(
                        "mbimd exited ({status}) waiting for {what}:\n{}",
                        self.log()
                    );
                }
            }
            assert!(
                start.elapsed() < PATIENCE,
                "waited too long for {what}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        format!(
            "--- mbimd's log ---\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut mbimd) = self.mbimd.get_mut().ok().and_then(Option::take) {
            // SIGTERM first: mbimd removes what it created before it exits.
            let _ = process::terminate(mbimd.0.id());
            let start = Instant::now();
            while start.elapsed() < PATIENCE {
                if let Ok(Some(_)) = mbimd.0.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if std::thread::panicking() {
            eprintln!("{}", self.log());
        }
    }
}

/// Runs a command to the end with `input` on its standard input (hang
/// guard: killed after PATIENCE).
fn run(command: &mut Command, input: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let (done, finished) = mpsc::channel();
    let pid = child.id();
    let waiter = std::thread::spawn(move || {
        let output = child.wait_with_output().unwrap();
        let _ = done.send(());
        output
    });
    if finished.recv_timeout(PATIENCE).is_err() {
        let _ = process::kill(pid);
        panic!("{command:?} did not finish");
    }
    waiter.join().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn list_shows_the_modem_with_a_connected_executor_and_its_slots() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    let text = daemon.ok(&["list"]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("0  "), "{text}");
    // This mbimd does not serve ModemManager's API ([modemmanager] api = "off").
    assert_eq!(lines.last(), Some(&"ModemManager API: off"), "{text}");
    assert!(lines[0].contains("mapping [0]"), "{text}");
    let executor = lines
        .iter()
        .find(|line| line.trim_start().starts_with("0/e0 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(executor.contains("connected"), "{text}");
    assert!(executor.contains("slot 0"), "{text}");
    assert!(
        lines
            .iter()
            .any(|line| line.trim_start().starts_with("0/s1 ")),
        "{text}"
    );

    let json = daemon.json(&["list"]);
    let modem = &json["Modems"][0];
    assert_eq!(modem["Path"], "/dev/mbimd/Mbimd1/Modem0");
    assert_eq!(modem["SlotMapping"], serde_json::json!([0]));
    assert_eq!(modem["Executors"][0]["State"], "connected");
    assert_eq!(
        modem["Executors"][0]["Path"],
        "/dev/mbimd/Mbimd1/Modem0/Executor0"
    );
    assert_eq!(modem["Slots"].as_array().unwrap().len(), 2);
}

/// The line of `mbimctl show`'s `text` that prints property `name`.
fn property_line(text: &str, name: &str) -> String {
    text.lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no {name}: {text}"))
        .to_owned()
}

#[test]
fn show_prints_every_property_by_its_dbus_name() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    let executor = daemon.json(&["show", "0/e0"]);
    assert_eq!(executor["State"], "connected");
    assert_eq!(executor["Index"], 0);
    // No profile is configured, the built-in modem has no provisioned
    // context and the test network 001/01 is in no provider database: the
    // network's default APN, and the executor says so.
    assert_eq!(
        (&executor["Apn"], &executor["ApnSource"]),
        (
            &serde_json::json!(""),
            &serde_json::json!("network-default")
        ),
        "{executor}"
    );
    // How mbimd reaches the function: the in-process simulated modem.
    assert_eq!(executor["Transport"], "simulated");
    assert!(executor["Iccid"].is_string(), "{executor}");
    assert!(
        !executor["Iccid"].as_str().unwrap().is_empty(),
        "{executor}"
    );
    // The other spellings of the same object.
    assert_eq!(
        daemon.json(&["show", "0/executor0"])["Index"],
        executor["Index"]
    );
    assert_eq!(
        daemon.json(&["show", "/dev/mbimd/Mbimd1/Modem0/Executor0"])["State"],
        "connected"
    );

    let slot = daemon.json(&["show", "0/slot1"]);
    assert_eq!(slot["Index"], 1);
    assert_eq!(slot["Kind"], "embedded");

    let text = daemon.ok(&["show", "0"]);
    for property in ["ModemId", "SlotMapping", "Executors", "OnRemoval"] {
        assert!(
            text.lines().any(|line| line.starts_with(property)),
            "{property}: {text}"
        );
    }
    assert!(text.contains("[0/e0]"), "{text}");

    // How the network device's configuration went, part by part: as root
    // (in a namespace of mbimd's own) all of it; unprivileged, no device.
    let text = daemon.ok(&["show", "0/e0"]);
    let line = |name: &str| property_line(&text, name);
    assert!(line("Transport").ends_with(" simulated"), "{text}");
    if is_root() {
        assert!(line("NetdevState").ends_with(" configured"), "{text}");
        assert!(
            line("NetdevParts").contains("address 10.64.0.2/30: applied"),
            "{text}"
        );
    } else {
        assert!(line("NetdevState").ends_with(" failed"), "{text}");
        assert!(
            line("NetdevParts").contains("network device mbim0e0: failed ("),
            "{text}"
        );
    }
}

/// What a 5G modem agreed and brings, and each PDN session: an MBIMEx 4.0
/// modem on 5G NSA, a profile with an IMS session beside the internet one.
#[test]
fn show_prints_the_agreed_version_the_5g_fields_and_the_sessions() {
    let scenario = mbimd_test_support::scenarios::dual_sim(4, false)
        .replacen(
            "data_classes = [\"umts\", \"lte\"]",
            "data_classes = [\"umts\", \"lte\", \"5g-nsa\"]",
            1,
        )
        .replacen("data_class = \"lte\"", "data_class = \"5g-nsa\"", 1);
    assert!(
        scenario.contains("data_class = \"5g-nsa\""),
        "dssa.toml moved"
    );
    let profile = "[[profiles]]\nname = \"internet\"\napn = \"internet\"\n\
                   [[profiles.sessions]]\nname = \"ims\"\napn = \"ims\"\ncontext-type = \"ims\"\n";
    let Some(daemon) = Daemon::simulating(Some(&scenario), profile) else {
        return;
    };
    daemon.wait_until("session 1 connected", || {
        daemon.json(&["show", "0/e0"])["Sessions"][1][4] == "connected"
    });
    let text = daemon.ok(&["show", "0/e0"]);
    let line = |name: &str| property_line(&text, name);
    assert!(line("MbimexVersion").ends_with(" 4.0"), "{text}");
    assert!(line("ApnSource").ends_with(" profile"), "{text}");
    assert!(line("DataClass").ends_with(" [5g-nsa]"), "{text}");
    assert!(line("DataSubclass").ends_with(" [5g-endc]"), "{text}");
    assert!(
        line("Signal")
            .ends_with(" [lte: RSRP -95 dBm, SNR 12 dB, 5g-nsa: RSRP -95 dBm, SNR 12 dB]"),
        "{text}"
    );
    let sessions = line("Sessions");
    let (netdev0, netdev1) = if is_root() {
        (" on mbim0e0", " on mbim0e0s1")
    } else {
        ("", "")
    };
    for session in [
        format!("0 internet (internet, APN \"internet\"): connected{netdev0} [10.64.0.2/30"),
        format!("1 ims (ims, APN \"ims\"): connected{netdev1} [10.64.0.6/30"),
    ] {
        assert!(sessions.contains(&session), "{session}: {text}");
    }
}

#[test]
fn switch_slot_changes_the_mapping_and_back() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    assert_eq!(daemon.ok(&["slot-mapping", "0"]), "[0]\n");
    daemon.ok(&["switch-slot", "0", "1"]);
    daemon.wait_until("slot mapping [1]", || {
        daemon.json(&["slot-mapping", "0"])["SlotMapping"] == serde_json::json!([1])
    });
    assert_eq!(daemon.ok(&["slot-mapping", "0"]), "[1]\n");
    // --wait returns once the device uses the slot.
    daemon.ok(&["switch-slot", "0", "0", "--wait"]);
    assert_eq!(daemon.ok(&["slot-mapping", "0"]), "[0]\n");
}

#[test]
fn refusals_are_printed_as_the_daemon_sent_them() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    let no_slot = daemon.mbimctl(&["switch-slot", "0", "7"]);
    assert_eq!(no_slot.status.code(), Some(1), "{no_slot:?}");
    assert!(
        stderr(&no_slot).starts_with("mbimctl: org.freedesktop.DBus.Error.InvalidArgs: "),
        "{}",
        stderr(&no_slot)
    );
    let no_object = daemon.mbimctl(&["show", "0/e5"]);
    assert_eq!(no_object.status.code(), Some(1), "{no_object:?}");
    assert!(
        stderr(&no_object).starts_with("mbimctl: org.freedesktop.DBus.Error.Unknown"),
        "{}",
        stderr(&no_object)
    );
    assert_eq!(daemon.ok(&["slot-mapping", "0"]), "[0]\n");
}

#[test]
fn disconnect_and_connect_again_with_overrides() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    daemon.ok(&["disconnect", "0/e0"]);
    daemon.wait_for_state("0/e0", "idle");
    // The network device goes with the session (a moment after the state).
    daemon.wait_until("no network device", || {
        daemon.json(&["show", "0/e0"])["Netdev"] == ""
    });
    // --wait returns once the executor is connected again.
    daemon.ok(&[
        "connect",
        "0/e0",
        "--apn",
        "internet",
        "--ip-type",
        "ipv4",
        "--wait",
    ]);
    let executor = daemon.json(&["show", "0/e0"]);
    assert_eq!(executor["State"], "connected", "{executor}");
    assert_eq!(
        executor["Ipv6Addresses"],
        serde_json::json!([]),
        "{executor}"
    );
    assert!(
        !executor["Ipv4Addresses"].as_array().unwrap().is_empty(),
        "{executor}"
    );
}

#[test]
fn connect_while_connected_with_other_settings_connects_again_with_them() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    // Connected with the configured profile; Connect asks for another
    // route metric: the session is taken down and brought up with it.
    daemon.ok(&["connect", "0/e0", "--route-metric", "50"]);
    daemon.wait_until("the reconnection", || {
        daemon
            .log()
            .contains("link down: reconnecting with new settings")
    });
    daemon.wait_for_state("0/e0", "connected");
    if is_root() {
        // mbimd's own network namespace: its device has the new metric.
        daemon.wait_until("the default route with metric 50", || {
            daemon.json(&["show", "0/e0"])["NetdevParts"]
                .as_array()
                .is_some_and(|parts| {
                    parts.iter().any(|part| {
                        part[0] == "route 0.0.0.0/0 via 10.64.0.1 metric 50" && part[1] == "applied"
                    })
                })
        });
    }
    // (The same settings again change nothing: the executor's own tests
    // hold that without waiting on a clock.)
}

#[test]
fn reload_rereads_the_configuration_and_refuses_a_bad_one() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    daemon.ok(&["reload"]);
    let config = daemon.bus.dir.path().join("mbimd.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}[routes]\nmetric = \"high\"\n")).unwrap();
    let refused = daemon.mbimctl(&["reload"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let message = stderr(&refused);
    assert!(
        message.starts_with("mbimctl: dev.mbimd.Error.Config: "),
        "{message}"
    );
    assert!(message.contains("mbimd.toml:"), "{message}");
    std::fs::write(&config, good).unwrap();
    daemon.ok(&["reload"]);
}

#[test]
fn test_slots_passes_on_the_simulated_modem() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    let text = daemon.ok(&["test-slots", "0"]);
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(line.starts_with("pass  "), "{text}");
    }
    let checks = daemon.json(&["test-slots", "0"]);
    let checks = checks.as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|check| check["passed"] == true),
        "{checks:?}"
    );
}

#[test]
fn a_wrong_pin_is_refused_with_the_daemons_error_and_exit_1() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    // The simulated SIM's PIN1 is 1234, check disabled: enable it first,
    // because a disabled PIN cannot be changed at all.
    let enable = daemon.mbimctl_with_input(&["pin", "enable", "0/e0", "--stdin"], "1234\n");
    assert!(enable.status.success(), "{}", stderr(&enable));

    let change = daemon.mbimctl_with_input(&["pin", "change", "0/e0", "--stdin"], "9731\n8642\n");
    assert_eq!(change.status.code(), Some(1), "{change:?}");
    let message = stderr(&change);
    assert!(
        message.starts_with("mbimctl: dev.mbimd.Error.Device: "),
        "{message}"
    );
    assert!(
        !message.contains("9731") && !message.contains("8642"),
        "{message}"
    );
    // Refused: the old PIN still works.
    let disable = daemon.mbimctl_with_input(&["pin", "disable", "0/e0", "--stdin"], "1234\n");
    assert!(disable.status.success(), "{}", stderr(&disable));
}

#[test]
fn pins_are_not_taken_from_arguments() {
    let output = run(
        Command::new(mbimctl_path()).args(["pin", "enter", "0/e0", "1234"]),
        "",
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// A running `mbimctl monitor` whose lines arrive on a channel.
struct Monitor {
    _child: Guarded,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Monitor {
    fn start(daemon: &Daemon, json: bool) -> Monitor {
        let mut command = Command::new(mbimctl_path());
        command
            .arg("monitor")
            .env("DBUS_SYSTEM_BUS_ADDRESS", &daemon.bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if json {
            command.arg("--json");
        }
        let mut child = command.spawn().unwrap();
        // The note on standard error says the subscriptions are in place.
        let (ready, is_ready) = mpsc::channel();
        let errors = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in errors.lines().map_while(Result::ok) {
                if line.contains("monitoring") {
                    let _ = ready.send(());
                }
            }
        });
        let (sender, lines) = mpsc::channel();
        let output = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in output.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let child = Guarded(child);
        is_ready
            .recv_timeout(PATIENCE)
            .expect("mbimctl monitor did not start");
        Monitor {
            _child: child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line, of those printed so far or to come, that satisfies
    /// `wanted` (all lines seen on failure). Looking back too: signals of
    /// one change (SlotSwitched, the PropertiesChanged of each object) come
    /// in no promised order.
    fn find(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        if let Some(line) = self.seen.iter().find(|line| wanted(line)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("no such line; seen:\n{}", self.seen.join("\n")),
            }
        }
    }
}

#[test]
fn monitor_prints_property_changes_as_they_happen() {
    let Some(daemon) = Daemon::start() else {
        return;
    };
    let mut text = Monitor::start(&daemon, false);
    let mut json = Monitor::start(&daemon, true);
    daemon.ok(&["switch-slot", "0", "1"]);
    let line =
        text.find(|line| line.contains("PropertiesChanged") && line.contains("SlotMapping=[1]"));
    assert!(line.contains(" 0 PropertiesChanged "), "{line}");
    json.find(|line| {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        event["Signal"] == "PropertiesChanged"
            && event["Path"] == "/dev/mbimd/Mbimd1/Modem0"
            && event["Interface"] == "dev.mbimd.Modem1"
            && event["Changed"]["SlotMapping"] == serde_json::json!([1])
    });
    text.find(|line| line.contains("SlotSwitched") && line.contains("to=1"));
}

#[test]
fn an_unprivileged_user_may_look_but_not_change() {
    if !is_root() {
        eprintln!("skipped: needs root to run mbimctl as uid 65534");
        return;
    }
    let Some(daemon) = Daemon::start() else {
        return;
    };
    let as_nobody = |args: &[&str]| {
        run(
            SETPRIV
                .command()
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(mbimctl_path())
                .args(args)
                .env("DBUS_SYSTEM_BUS_ADDRESS", &daemon.bus.address),
            "",
        )
    };
    let refused = as_nobody(&["switch-slot", "0", "1"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        stderr(&refused).starts_with("mbimctl: org.freedesktop.DBus.Error.AccessDenied: "),
        "{}",
        stderr(&refused)
    );
    assert_eq!(daemon.ok(&["slot-mapping", "0"]), "[0]\n");

    // Looking is allowed, with the ICCID masked.
    let shown = as_nobody(&["show", "0/e0", "--json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["State"], "connected");
    let full = daemon.json(&["show", "0/e0"]);
    assert_ne!(shown["Iccid"], full["Iccid"]);
}

#[test]
fn without_mbimd_it_says_so() {
    let bus = Bus::start();
    // --address instead of the environment.
    let output = run(
        Command::new(mbimctl_path())
            .args(["--address", &bus.address, "list"])
            .env_remove("DBUS_SYSTEM_BUS_ADDRESS"),
        "",
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr(&output).starts_with("mbimctl: mbimd is not running"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_name_that_is_no_object_is_refused_before_asking() {
    let bus = Bus::start();
    let output = run(
        Command::new(mbimctl_path()).args(["--address", &bus.address, "connect", "0"]),
        "",
    );
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr(&output).contains("is not an executor"),
        "{}",
        stderr(&output)
    );
}
