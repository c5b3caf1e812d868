//! What the tests that run the whole `mbimd --simulate` as root share: a
//! network namespace of the test's own (so the TUN device, addresses and
//! routes never reach the machine's interfaces) and the daemon process.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A network namespace with its loopback up, deleted when dropped.
pub(crate) struct Namespace(pub(crate) String);

impl Namespace {
    /// A fresh namespace named `{prefix}-{pid}`.
    pub(crate) fn create(prefix: &str) -> Namespace {
        let name = format!("{prefix}-{}", std::process::id());
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {name}");
        let namespace = Namespace(name);
        namespace.ip(&["link", "set", "lo", "up"]);
        namespace
    }

    /// `ip -n NAME ARGS…`'s standard output.
    pub(crate) fn ip(&self, args: &[&str]) -> String {
        let output = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `program args…` to run inside the namespace.
    pub(crate) fn exec(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.0, program]).args(args);
        command
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// The daemon process, killed when dropped if the test has not stopped it.
pub(crate) struct Daemon(pub(crate) Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Root with /dev/net/tun: what these tests need.
pub(crate) fn privileged() -> bool {
    rustix::process::geteuid().is_root() && std::path::Path::new("/dev/net/tun").exists()
}

/// Polls `done` until it holds; a hang guard, not a timing expectation.
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
