//! The real `mbimd --simulate` on a private bus, for the tests that read
//! what it publishes.

use super::{is_root, PrivateBus};
use std::process::{Child, Command, Stdio};

/// mbimd, stopped with SIGTERM (so it removes what it made) and reaped.
pub struct Mbimd {
    child: Child,
    log: std::path::PathBuf,
}

impl Mbimd {
    pub fn start(bus: &PrivateBus) -> Self {
        Self::simulating(bus, None)
    }

    /// mbimd simulating `scenario` (a file), or the built-in one.
    pub fn simulating(bus: &PrivateBus, scenario: Option<&std::path::Path>) -> Self {
        Self::configured(bus, scenario, "")
    }

    /// [`simulating`](Self::simulating) with `extra` appended to the
    /// configuration.
    pub fn configured(bus: &PrivateBus, scenario: Option<&std::path::Path>, extra: &str) -> Self {
        let config = bus.dir().join("mbimd.toml");
        // No DNS and the remembered slot in the test's directory: nothing of
        // the machine's is written. mbimd connects by itself: the test is
        // about its own API, not ModemManager's.
        std::fs::write(
            &config,
            format!(
                "[dns]\nbackend = \"none\"\n[logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
                 [modemmanager]\napi = \"off\"\n\
                 [slot-policy]\nstate-file = \"{}/slots.toml\"\n{extra}",
                bus.dir().display()
            ),
        )
        .unwrap();
        let log = bus.dir().join("mbimd.log");
        let mbimd = env!("CARGO_BIN_EXE_mbimd");
        let mut command = if is_root() {
            let mut command = mbimd_test_support::tools::UNSHARE.command();
            command.args(["--net", "--", mbimd]);
            command
        } else {
            Command::new(mbimd)
        };
        match scenario {
            Some(path) => command.arg(format!("--simulate={}", path.display())),
            None => command.arg("--simulate"),
        };
        let child = command
            .arg("--config")
            .arg(&config)
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Mbimd { child, log }
    }

    /// Where its log is.
    pub fn log_path(&self) -> &std::path::Path {
        &self.log
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Mbimd {
    fn drop(&mut self) {
        let _ = mbimd_test_support::process::terminate(self.child.id());
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- mbimd's log ---\n{}", self.log());
        }
    }
}
