//! The real `mbimd --simulate`, run as systemd runs the service: in the
//! soak's namespace, with a notification socket (`NOTIFY_SOCKET`) whose
//! READY=1 and WATCHDOG=1 the soak reads, and `WATCHDOG_USEC` set, so a
//! daemon whose loops stop answering stops pinging and is restarted, as
//! `WatchdogSec=` with `Restart=on-failure` would.

use anyhow::{bail, Context as _};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The watchdog interval handed to mbimd (WATCHDOG_USEC): it pings every
/// third of it while every loop answers.
pub(crate) const WATCHDOG: Duration = Duration::from_secs(3);

/// What mbimd said on the notification socket.
#[derive(Debug, Default)]
struct Notified {
    ready: bool,
    last_ping: Option<Instant>,
}

/// One mbimd process and how to start another like it.
#[derive(Debug)]
pub(crate) struct Mbimd {
    child: Child,
    binary: PathBuf,
    namespace: String,
    dir: PathBuf,
    bus_address: String,
    notified: Arc<Mutex<Notified>>,
    _listener: std::thread::JoinHandle<()>,
    /// How many times it was started.
    pub(crate) starts: u32,
}

/// The simulator's control socket, in `dir`.
pub(crate) fn control_socket(dir: &Path) -> PathBuf {
    dir.join("sim.sock")
}

/// The DNS file mbimd writes (the `file:` backend), in `dir`.
pub(crate) fn dns_file(dir: &Path) -> PathBuf {
    dir.join("resolv.conf")
}

/// mbimd's log, in `dir` (appended to across restarts).
pub(crate) fn log_file(dir: &Path) -> PathBuf {
    dir.join("mbimd.log")
}

impl Mbimd {
    /// Writes the configuration and starts mbimd.
    pub(crate) fn start(
        binary: &Path,
        namespace: &str,
        dir: &Path,
        bus_address: &str,
    ) -> anyhow::Result<Self> {
        let config = dir.join("mbimd.toml");
        std::fs::write(
            &config,
            format!(
                // mbimd connects by itself: the ModemManager API, which
                // leaves connecting to its clients, is off.
                "[dns]\nbackend = \"file:{}\"\n[logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
                 [modemmanager]\napi = \"off\"\n\
                 [slot-policy]\nstate-file = \"{}\"\n",
                dns_file(dir).display(),
                dir.join("slots.toml").display()
            ),
        )
        .context("writing mbimd's configuration")?;
        let socket_path = dir.join("notify");
        let _ = std::fs::remove_file(&socket_path);
        let socket = UnixDatagram::bind(&socket_path)
            .with_context(|| format!("binding {}", socket_path.display()))?;
        let notified = Arc::new(Mutex::new(Notified::default()));
        let listener = {
            let notified = Arc::clone(&notified);
            std::thread::spawn(move || listen(&socket, &notified))
        };
        let mut mbimd = Mbimd {
            child: spawn(binary, namespace, dir, bus_address)?,
            binary: binary.to_owned(),
            namespace: namespace.to_owned(),
            dir: dir.to_owned(),
            bus_address: bus_address.to_owned(),
            notified,
            _listener: listener,
            starts: 1,
        };
        mbimd.wait_ready()?;
        Ok(mbimd)
    }

    /// The process id (the same inside the namespace: `ip netns exec` execs).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.lock().ready {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("mbimd ended before it was ready: {status}");
            }
            if Instant::now() > deadline {
                bail!("mbimd did not say READY=1 within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Notified> {
        self.notified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the process has ended (it must not, but for a restart).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Whether the watchdog would fire: no ping for longer than [`WATCHDOG`].
    pub(crate) fn watchdog_expired(&self) -> bool {
        let notified = self.lock();
        notified.ready
            && notified
                .last_ping
                .is_none_or(|last| last.elapsed() > WATCHDOG)
    }

    /// What systemd does when the watchdog fires: kill, then start again.
    /// SIGKILL rather than systemd's SIGABRT: no core dump per cycle.
    pub(crate) fn restart(&mut self) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self.lock() = Notified::default();
        self.child = spawn(&self.binary, &self.namespace, &self.dir, &self.bus_address)?;
        self.starts += 1;
        self.wait_ready()
    }

    /// SIGTERM, and the exit status once it has cleaned up.
    pub(crate) fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(0))
            .context("mbimd's pid")?;
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .context("sending SIGTERM to mbimd")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("mbimd did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Mbimd {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn spawn(binary: &Path, namespace: &str, dir: &Path, bus_address: &str) -> anyhow::Result<Child> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_file(dir))
        .context("opening mbimd's log")?;
    Command::new(mbimd_test_support::tools::IP.ensure()?)
        .args(["netns", "exec", namespace])
        .arg(binary)
        .arg("--simulate")
        .arg("--config")
        .arg(dir.join("mbimd.toml"))
        .arg("--sim-control")
        .arg(control_socket(dir))
        .env("DBUS_SYSTEM_BUS_ADDRESS", bus_address)
        .env("NOTIFY_SOCKET", dir.join("notify"))
        .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
        .env_remove("WATCHDOG_PID")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

/// Reads sd_notify datagrams until the socket is gone.
fn listen(socket: &UnixDatagram, notified: &Mutex<Notified>) {
    let mut buffer = vec![0u8; 4096];
    while let Ok(length) = socket.recv(&mut buffer) {
        let text = String::from_utf8_lossy(buffer.get(..length).unwrap_or_default()).into_owned();
        let mut state = notified.lock().unwrap_or_else(PoisonError::into_inner);
        for line in text.lines() {
            match line {
                // The watchdog's interval counts from READY=1, as systemd's
                // does: the first ping may come up to an interval later.
                "READY=1" => {
                    state.ready = true;
                    state.last_ping.get_or_insert_with(Instant::now);
                }
                "WATCHDOG=1" => state.last_ping = Some(Instant::now()),
                _ => {}
            }
        }
    }
}

/// File descriptors, threads and resident memory of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Resources {
    /// Open file descriptors.
    pub(crate) fds: usize,
    /// Threads.
    pub(crate) threads: usize,
    /// Resident set size in KiB.
    pub(crate) rss_kib: u64,
}

/// Reads `pid`'s resources from /proc.
pub(crate) fn resources(pid: u32) -> anyhow::Result<Resources> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .with_context(|| format!("reading /proc/{pid}/fd"))?
        .count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
            .with_context(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok(Resources {
        fds,
        threads: usize::try_from(field("Threads:")?).unwrap_or(usize::MAX),
        rss_kib: field("VmRSS:")?,
    })
}
