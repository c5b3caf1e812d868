//! The whole daemon, as `mbimd --simulate` runs it, inside a network
//! namespace of the test's own: the executor connects to the in-process
//! simulated modem, the supervisor creates and configures the TUN device, the
//! pump carries packets, and a ping from the namespace reaches the simulated
//! gateway over IPv4 and IPv6. SIGTERM must leave nothing behind.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); never touches
//! the machine's own interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Namespace(String);

impl Namespace {
    fn create() -> Namespace {
        let name = format!("mbimd-e2e-{}", std::process::id());
        let status = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(status.success(), "ip netns add {name}");
        let namespace = Namespace(name);
        namespace.ip(&["link", "set", "lo", "up"]);
        namespace
    }

    fn ip(&self, args: &[&str]) -> String {
        let output = Command::new("ip")
            .arg("-n")
            .arg(&self.0)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn exec(&self, program: &str, args: &[&str]) -> Command {
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

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn privileged() -> bool {
    let root = std::fs::metadata("/proc/self")
        .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta) == 0)
        .unwrap_or(false);
    root && std::path::Path::new("/dev/net/tun").exists()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mbimd_simulate_brings_up_a_tun_that_reaches_the_simulated_gateway() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let namespace = Namespace::create();
    let config = tempfile_path("mbimd-e2e.toml");
    // DNS stays out of the host's files; everything else is the default.
    std::fs::write(&config, "[dns]\nbackend = \"none\"\n").unwrap();
    let daemon = namespace
        .exec(
            env!("CARGO_BIN_EXE_mbimd"),
            &["--simulate", "--config", config.to_str().unwrap()],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(daemon);

    wait_until("mbim0e0 with its address", || {
        namespace
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"10.64.0.2\"")
    });
    let link = namespace.ip(&["-j", "link", "show", "dev", "mbim0e0"]);
    assert!(link.contains("\"mtu\":1500"), "{link}");
    assert!(link.contains("\"UP\""), "{link}");
    let routes = namespace.ip(&["-j", "route", "show", "default"]);
    assert!(routes.contains("\"gateway\":\"10.64.0.1\""), "{routes}");
    assert!(routes.contains("\"metric\":700"), "{routes}");

    let ping = namespace
        .exec("ping", &["-c", "2", "-W", "3", "10.64.0.1"])
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );

    wait_until("the IPv6 address", || {
        namespace
            .ip(&["-j", "-6", "addr", "show", "dev", "mbim0e0"])
            .contains("\"fd00:6d62::2\"")
    });
    let ping6 = namespace
        .exec("ping", &["-6", "-c", "2", "-W", "3", "fd00:6d62::1"])
        .output()
        .unwrap();
    assert!(
        ping6.status.success(),
        "{}",
        String::from_utf8_lossy(&ping6.stdout)
    );

    // SIGTERM: disconnect, CLOSE, remove the device and its routes.
    let pid = daemon.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = daemon.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "mbimd did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(namespace.ip(&["-j", "link", "show"]).contains("\"lo\""));
    assert!(!namespace.ip(&["-j", "link", "show"]).contains("mbim0e0"));
    assert_eq!(
        namespace.ip(&["-j", "route", "show", "default"]).trim(),
        "[]"
    );
    let _ = std::fs::remove_file(config);
}

fn tempfile_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{}-{name}", std::process::id()))
}
