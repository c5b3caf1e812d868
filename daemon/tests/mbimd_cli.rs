//! The `mbimd` binary as an admin runs it with `--simulate`: which scenario
//! it takes, what it does with the `--sim-control` path, what it logs when
//! the simulated modem goes away, and that a logged error carries its cause.
//!
//! As root mbimd runs in a network namespace of its own (`unshare --net`),
//! so its TUN device never touches the machine's interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A hang guard, not a timing expectation.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// A directory of the test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("mbimd-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// A configuration without D-Bus and DNS, logging to standard error,
    /// with `extra` appended; its path.
    fn config(&self, extra: &str) -> PathBuf {
        let path = self.path("mbimd.toml");
        std::fs::write(
            &path,
            format!(
                "[dbus]\nenable = false\n[dns]\nbackend = \"none\"\n\
                 [logging]\nlevel = \"info\"\ntarget = \"stderr\"\n{extra}"
            ),
        )
        .unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// mbimd with its standard error read line by line; killed when dropped.
struct Mbimd {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Mbimd {
    fn start(args: &[&str]) -> Mbimd {
        let mbimd = env!("CARGO_BIN_EXE_mbimd");
        let mut command = if rustix::process::geteuid().is_root() {
            let mut command = mbimd_test_support::tools::UNSHARE.command();
            command.args(["--net", "--", mbimd]);
            command
        } else {
            Command::new(mbimd)
        };
        let mut child = command
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        Mbimd {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The first line (from now on) that contains `text`.
    fn line_with(&mut self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(HANG_GUARD) {
                Ok(line) if line.contains(text) => return line,
                Ok(line) => self.seen.push(line),
                Err(_) => panic!("no line with {text:?}; mbimd said:\n{:#?}", self.seen),
            }
        }
    }

    /// Everything mbimd said: the lines read so far and the rest of its
    /// output (once it has ended, its pipe closes), for a failure's
    /// message.
    fn said(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.seen.push(line);
        }
        self.seen.clone()
    }

    /// How mbimd ended.
    fn exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "mbimd did not end");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mbimd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn an_unreadable_slot_store_is_logged_with_the_reason() {
    let scratch = Scratch::new("store");
    // The store's path is a directory: reading it fails with EISDIR.
    let store = scratch.path("slots.toml");
    std::fs::create_dir_all(&store).unwrap();
    let config = scratch.config(&format!(
        "[slot-policy]\nstate-file = \"{}\"\n",
        store.display()
    ));
    let mut mbimd = Mbimd::start(&["--simulate", "--config", arg(&config)]);
    let line = mbimd.line_with("no remembered slot choice");
    // What failed, the file, and the operating system's reason.
    assert!(
        line.contains(&format!("reading {}", store.display())),
        "{line}"
    );
    assert!(line.contains("Is a directory"), "{line}");
}

#[test]
fn a_bare_simulate_runs_the_configured_scenario() {
    let scratch = Scratch::new("scenario");
    std::fs::write(
        scratch.path("two.toml"),
        include_str!("../../simulator/scenarios/two-executors.toml"),
    )
    .unwrap();
    // Relative to the configuration file's directory.
    let config = scratch.config("[simulate]\nscenario = \"two.toml\"\n");
    let mut mbimd = Mbimd::start(&["--simulate", "--config", arg(&config)]);
    let line = mbimd.line_with("simulated modem \"");
    assert!(
        line.contains("simulated modem \"two-executors\": 2 executor(s)"),
        "{line}"
    );
}

#[test]
fn sim_control_replaces_no_file_but_a_stale_socket() {
    let scratch = Scratch::new("control");
    let config = scratch.config("");
    let file = scratch.path("precious.txt");
    std::fs::write(&file, "not a socket").unwrap();
    let mut mbimd = Mbimd::start(&[
        "--simulate",
        "--config",
        arg(&config),
        "--sim-control",
        arg(&file),
    ]);
    let line = mbimd.line_with("exists and is not a socket");
    assert!(line.contains(&file.display().to_string()), "{line}");
    assert!(!mbimd.exit().success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a socket");

    // A socket nobody listens on is a leftover: served again.
    let stale = scratch.path("ctl.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let mut mbimd = Mbimd::start(&[
        "--simulate",
        "--config",
        arg(&config),
        "--sim-control",
        arg(&stale),
    ]);
    mbimd.line_with("simulator control socket ready");
    assert!(std::os::unix::net::UnixStream::connect(&stale).is_ok());
}

#[test]
fn unplugging_the_simulated_modem_is_logged_with_why() {
    let scratch = Scratch::new("unplug");
    let config = scratch.config("");
    let socket = scratch.path("ctl.sock");
    let mut mbimd = Mbimd::start(&[
        "--simulate",
        "--config",
        arg(&config),
        "--sim-control",
        arg(&socket),
    ]);
    mbimd.line_with("simulator control socket ready");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime
        .block_on(mbim_sim::ctl::request(
            &socket,
            &mbim_sim::control::ControlCommand::Unplug,
        ))
        .unwrap();
    assert!(reply.get("error").is_none(), "{reply}");
    mbimd.line_with("every executor has ended: the modem is gone");
    // Like mbimd on USB, it runs on without a modem until stopped, and
    // takes the modem again when it is plugged back in.
    mbimd.line_with("the simulated modem is gone; mbimd runs on until it is plugged in again");
    let reply = runtime
        .block_on(mbim_sim::ctl::request(
            &socket,
            &mbim_sim::control::ControlCommand::Replug,
        ))
        .unwrap();
    assert!(reply.get("error").is_none(), "{reply}");
    mbimd.line_with("the simulated modem is plugged in again");
    mbimd_test_support::process::terminate(mbimd.child.id()).unwrap();
    // This failed now and then under load, killed by the SIGTERM itself:
    // mbimd made its signal listeners only when it first waited for them,
    // after the simulated modem was up. They are made first thing now
    // (main.rs, ShutdownSignals); what mbimd said is shown if it recurs.
    let status = mbimd.exit();
    assert!(
        status.success(),
        "{status}; mbimd said:\n{:#?}",
        mbimd.said()
    );
}

#[test]
fn a_real_network_that_cannot_be_reached_stops_mbimd_and_says_why() {
    let scratch = Scratch::new("forward");
    let missing = format!("mbimd-no-such-netns-{}", std::process::id());
    let config = scratch.config(&format!("[simulate]\nforward = \"fwd0@{missing}\"\n"));
    let control = scratch.path("ctl.sock");
    let mut mbimd = Mbimd::start(&[
        "--simulate",
        "--config",
        arg(&config),
        "--sim-control",
        arg(&control),
    ]);
    let line = mbimd.line_with("cannot enter the network namespace");
    assert!(line.contains(&format!("fwd0@{missing}")), "{line}");
    assert!(line.contains("No such file or directory"), "{line}");
    assert!(!mbimd.exit().success());
    assert!(!control.exists(), "no control socket left behind");

    // The option overrides the configuration, and a malformed one is a
    // usage error naming the form.
    let mut mbimd = Mbimd::start(&[
        "--simulate",
        "--config",
        arg(&config),
        "--sim-forward",
        "fwd0/x",
    ]);
    let line = mbimd.line_with("is not DEVICE[@NETNS]");
    assert!(line.contains("fwd0/x"), "{line}");
    assert_eq!(mbimd.exit().code(), Some(2));

    // Without --simulate there is nothing to forward.
    let plain = scratch.path("plain.toml");
    std::fs::write(
        &plain,
        "[dbus]\nenable = false\n[dns]\nbackend = \"none\"\n",
    )
    .unwrap();
    let mut mbimd = Mbimd::start(&["--config", arg(&plain), "--sim-forward", "fwd0"]);
    mbimd.line_with("--sim-forward puts a network behind the simulated modem");
    assert!(!mbimd.exit().success());
}
