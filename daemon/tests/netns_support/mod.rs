//! What the tests that run the whole `mbimd --simulate` as root share: a
//! network namespace of the test's own (so the TUN device, addresses and
//! routes never reach the machine's interfaces), ICMP echo from inside it,
//! and the daemon process.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use mbimd_test_support::icmp::{ping_in_namespace, Echo};
use mbimd_test_support::tools::IP;
use std::net::IpAddr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A network namespace with its loopback up, deleted when dropped.
pub(crate) struct Namespace(pub(crate) String);

impl Namespace {
    /// A fresh namespace named `{prefix}-{pid}`.
    pub(crate) fn create(prefix: &str) -> Namespace {
        let name = format!("{prefix}-{}", std::process::id());
        let status = IP.command().args(["netns", "add", &name]).status().unwrap();
        assert!(status.success(), "ip netns add {name}");
        let namespace = Namespace(name);
        namespace.ip(&["link", "set", "lo", "up"]);
        namespace
    }

    /// `ip -n NAME ARGS…`'s standard output.
    pub(crate) fn ip(&self, args: &[&str]) -> String {
        let output = IP
            .command()
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `program args…` to run inside the namespace.
    pub(crate) fn exec(&self, program: &str, args: &[&str]) -> Command {
        let mut command = IP.command();
        command.args(["netns", "exec", &self.0, program]).args(args);
        command
    }

    /// `mbimd --simulate --config CONFIG` running inside the namespace, its
    /// log on the test's standard error.
    pub(crate) fn simulate(&self, config: &std::path::Path) -> Daemon {
        self.simulate_with(env!("CARGO_BIN_EXE_mbimd"), config)
    }

    /// [`Namespace::simulate`] with the daemon at `binary`: another build,
    /// which a benchmark compares with this tree's.
    pub(crate) fn simulate_with(&self, binary: &str, config: &std::path::Path) -> Daemon {
        let child = self
            .exec(
                binary,
                &["--simulate", "--config", config.to_str().unwrap()],
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        Daemon(child)
    }

    /// Runs `body` on a new thread inside the namespace (`setns` moves only
    /// the calling thread, so the harness's threads stay where they are):
    /// sockets it opens live there.
    pub(crate) fn spawn<T: Send + 'static>(
        &self,
        body: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let name = self.0.clone();
        std::thread::spawn(move || {
            mbimd_test_support::netns::enter(&name).unwrap();
            body()
        })
    }

    /// Runs `body` inside the namespace and returns what it returns; its
    /// panic fails the test.
    pub(crate) fn run<T: Send + 'static>(&self, body: impl FnOnce() -> T + Send + 'static) -> T {
        match self.spawn(body).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Pings `destination` from inside the namespace as `echo` says, and
    /// fails the test unless every request is answered.
    pub(crate) fn ping(&self, destination: &str, echo: &Echo) {
        let destination: IpAddr = destination.parse().unwrap();
        let report = ping_in_namespace(&self.0, destination, echo)
            .unwrap_or_else(|error| panic!("ping {destination}: {error}"));
        assert!(report.all_answered(), "ping {report}");
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = IP.command().args(["netns", "del", &self.0]).status();
    }
}

/// The daemon process, killed when dropped if the test has not stopped it.
pub(crate) struct Daemon(pub(crate) Child);

impl Daemon {
    /// SIGTERM, then waits (15 s at most, a hang guard) for the exit, which
    /// it returns; fails the test if the daemon does not stop.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        mbimd_test_support::process::terminate(self.0.id()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(exit) = self.0.try_wait().unwrap() {
                return exit;
            }
            assert!(Instant::now() < deadline, "mbimd did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Root with /dev/net/tun: what these tests need.
#[allow(unused_imports)] // Not every test that includes this module asks.
pub(crate) use mbimd_test_support::netns::privileged;

/// Polls `done` until it holds; a hang guard, not a timing expectation.
pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
