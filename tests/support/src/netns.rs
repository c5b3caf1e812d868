//! A network namespace of a test's own, so that the TUN devices, addresses
//! and routes a test makes never reach the machine's interfaces: made with
//! `ip netns add`, deleted when dropped, and entered by a thread of the
//! test's (`setns` moves only the calling thread, so the harness's threads
//! stay where they are).
//!
//! A helper that fails the test (it panics) when the namespace cannot be
//! made or entered: a test that needs one cannot go on without it.

use crate::tools::IP;
use std::os::fd::AsFd;
use std::path::PathBuf;

/// A network namespace with its loopback up, deleted when dropped.
#[derive(Debug)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// A fresh namespace named `{prefix}-{pid}`.
    pub fn create(prefix: &str) -> Namespace {
        let name = format!("{prefix}-{}", std::process::id());
        let status = IP
            .command()
            .args(["netns", "add", &name])
            .status()
            .unwrap_or_else(|error| panic!("ip netns add {name}: {error}"));
        assert!(status.success(), "ip netns add {name}: {status}");
        let namespace = Namespace { name };
        namespace.ip(&["link", "set", "lo", "up"]);
        namespace
    }

    /// Its name under /run/netns.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS…`, which must succeed; its standard output.
    pub fn ip(&self, args: &[&str]) -> String {
        let output = IP
            .command()
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .output()
            .unwrap_or_else(|error| panic!("ip -n {} {args:?}: {error}", self.name));
        assert!(
            output.status.success(),
            "ip -n {} {args:?}: {}",
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs `body` on a new thread inside the namespace and returns what
    /// it returns (sockets it opens live there); its panic fails the test.
    pub fn run<T: Send + 'static>(&self, body: impl FnOnce() -> T + Send + 'static) -> T {
        let name = self.name.clone();
        let thread = std::thread::spawn(move || {
            enter(&name).unwrap_or_else(|error| panic!("entering {name}: {error}"));
            body()
        });
        match thread.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = IP.command().args(["netns", "delete", &self.name]).status();
    }
}

/// Moves the calling thread into the network namespace `name` (under
/// /run/netns, as `ip netns add` makes it).
pub fn enter(name: &str) -> std::io::Result<()> {
    let file = std::fs::File::open(PathBuf::from("/run/netns").join(name))?;
    rustix::thread::move_into_link_name_space(
        file.as_fd(),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )?;
    Ok(())
}

/// Root with /dev/net/tun: what a test that makes TUN devices needs.
pub fn privileged() -> bool {
    rustix::process::geteuid().is_root() && std::path::Path::new("/dev/net/tun").exists()
}
