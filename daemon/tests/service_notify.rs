//! mbimd as systemd sees it (`Type=notify`): the real `mbimd --simulate`
//! with `NOTIFY_SOCKET` and `WATCHDOG_USEC` set, as systemd sets them, and
//! this test in systemd's place reading the datagrams. READY=1 with a
//! status, STATUS= as the modem connects, WATCHDOG=1 while every loop
//! answers, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM; and
//! once an executor is stuck (the simulated modem leaves a control transfer
//! unanswered, and the in-process transport has no timeout) the pings stop
//! and the log names the executor, so systemd would restart mbimd.
//!
//! As root it runs in a network namespace of its own (the TUN device is
//! real, so the status says "1 connected"); unprivileged, the control plane
//! alone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbim_sim::control::{ControlCommand, Fault};
use netns_support::{privileged, Daemon, Namespace};
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A hang guard: nothing here should take this long.
const PATIENCE: Duration = Duration::from_secs(30);

/// systemd's side of the notification socket.
struct Manager {
    socket: UnixDatagram,
}

impl Manager {
    /// The next datagram, or `None` after `wait`.
    fn next(&self, wait: Duration) -> Option<String> {
        self.socket.set_read_timeout(Some(wait)).unwrap();
        let mut buffer = [0u8; 4096];
        match self.socket.recv(&mut buffer) {
            Ok(n) => Some(String::from_utf8_lossy(&buffer[..n]).into_owned()),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                None
            }
            Err(error) => panic!("reading the notification socket: {error}"),
        }
    }

    /// Reads datagrams until one satisfies `wanted`; returns it.
    fn until(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {what} from mbimd");
            if let Some(message) = self.next(left) {
                if wanted(&message) {
                    return message;
                }
            }
        }
    }

    /// The messages that arrive within `window`.
    fn during(&self, window: Duration) -> Vec<String> {
        let end = Instant::now() + window;
        let mut messages = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            if let Some(message) = self.next(left.max(Duration::from_millis(1))) {
                messages.push(message);
            }
        }
        messages
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mbimd-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn control(socket: &Path, command: ControlCommand) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = runtime
        .block_on(mbim_sim::ctl::request(socket, &command))
        .unwrap();
    assert!(reply.get("ok").is_some(), "{command:?}: {reply}");
}

fn signal(daemon: &Daemon, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(daemon.0.id()).unwrap()).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

#[test]
fn mbimd_speaks_sd_notify_and_its_watchdog_stops_for_a_stuck_executor() {
    let manager_path = scratch("notify");
    let _ = std::fs::remove_file(&manager_path);
    let manager = Manager {
        socket: UnixDatagram::bind(&manager_path).unwrap(),
    };
    let control_path = scratch("sim.sock");
    let config = scratch("mbimd.toml");
    // No system bus in a test: D-Bus off; DNS stays out of the host's files.
    std::fs::write(
        &config,
        "[dbus]\nenable = false\n\n[dns]\nbackend = \"none\"\n",
    )
    .unwrap();

    let namespace = privileged().then(|| Namespace::create("mbimd-notify"));
    let args = [
        "--simulate",
        "--config",
        config.to_str().unwrap(),
        "--sim-control",
        control_path.to_str().unwrap(),
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
        .env("NOTIFY_SOCKET", &manager_path)
        // Rounds every second: a loop has a whole second to answer.
        .env("WATCHDOG_USEC", "3000000")
        .env_remove("WATCHDOG_PID")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);
    // mbimd's log, line by line, for the watchdog's complaint.
    let (log_tx, log) = mpsc::channel::<String>();
    let stderr = daemon.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("mbimd: {line}");
            if log_tx.send(line).is_err() {
                break;
            }
        }
    });

    let ready = manager.until("READY=1", |m| m.lines().any(|l| l == "READY=1"));
    assert!(ready.contains("STATUS="), "{ready}");
    let connected = if namespace.is_some() {
        "STATUS=1 modem, 1 connected"
    } else {
        "STATUS=1 modem, 0 connected"
    };
    manager.until(connected, |m| m == connected);
    // Healthy: the pings keep coming.
    for _ in 0..3 {
        manager.until("WATCHDOG=1", |m| m == "WATCHDOG=1");
    }

    // SIGHUP: a reload, bracketed for systemd.
    signal(&daemon, rustix::process::Signal::HUP);
    let reloading = manager.until("RELOADING=1", |m| m.starts_with("RELOADING=1"));
    assert!(reloading.contains("\nMONOTONIC_USEC="), "{reloading}");
    manager.until("READY=1 after the reload", |m| m == "READY=1");
    manager.until("WATCHDOG=1 after the reload", |m| m == "WATCHDOG=1");

    // The executor's next control transfer never completes: the DNS change
    // makes the modem announce a response, which the executor then fetches.
    control(
        &control_path,
        ControlCommand::Faults {
            function: 0,
            fault: Fault::HangControl,
        },
    );
    control(
        &control_path,
        ControlCommand::SetDns {
            executor: 0,
            ipv4_dns: vec!["10.64.0.53".parse().unwrap()],
            ipv6_dns: Vec::new(),
        },
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        let line = log
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("no log line naming the stuck executor");
        if line.contains("modem 0 executor 0") && line.contains("did not answer") {
            break;
        }
    }
    // From now on no ping: three whole rounds without one. (A ping sent
    // before the complaint was logged may still be queued: drain first.)
    let _ = manager.during(Duration::from_millis(100));
    let later = manager.during(Duration::from_secs(3));
    assert!(
        !later.iter().any(|m| m == "WATCHDOG=1"),
        "WATCHDOG=1 with an executor stuck: {later:?}"
    );

    signal(&daemon, rustix::process::Signal::TERM);
    manager.until("STOPPING=1", |m| m.starts_with("STOPPING=1"));
    let deadline = Instant::now() + PATIENCE;
    while daemon.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "mbimd did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(manager_path.parent().unwrap());
}
