//! What the netdev tests share: a network namespace per test with the body
//! run on a thread inside it, `ip -j` to read the kernel's view, and the
//! usual options and settings.
//!
//! Each test makes its own network namespace (`ip netns add
//! mbimd-test-<pid>-<n>`) and runs its body on a thread that has `setns`-ed
//! into it (a new thread, so the test harness's threads stay where they
//! are; rustix's safe `move_into_link_name_space`), with a current-thread
//! tokio runtime so every socket and task the netdev makes is created on
//! that thread, inside the namespace. /proc/sys/net follows the writing
//! thread's namespace, so the sysctls land there too. A guard deletes the
//! namespace even when the test fails.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::future::Future;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mbimd::netdev::{ConfigReport, DnsBackend, NetdevOptions};
use mbimd::types::{IpSettings, Ipv4Prefix, Ipv6Prefix};
use mbimd_test_support::tools::IP;
use serde_json::Value;

pub(crate) fn can_run(test: &str) -> bool {
    if !rustix::process::geteuid().is_root() {
        println!("SKIP {test}: needs root (network namespaces, TUN, rtnetlink)");
        return false;
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        println!("SKIP {test}: /dev/net/tun is missing");
        return false;
    }
    // Installed when missing, never a reason to skip.
    IP.path();
    true
}

static NAMESPACES: AtomicUsize = AtomicUsize::new(0);

/// A network namespace of one test, deleted on drop.
pub(crate) struct Netns {
    name: String,
}

impl Netns {
    pub(crate) fn new() -> Netns {
        let n = NAMESPACES.fetch_add(1, Ordering::Relaxed);
        let name = format!("mbimd-test-{}-{n}", std::process::id());
        let status = IP.command().args(["netns", "add", &name]).status().unwrap();
        assert!(status.success(), "ip netns add {name}");
        Netns { name }
    }

    /// Its name, as `ip netns` knows it.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Runs `body` on a thread inside the namespace, in a current-thread
    /// runtime; a panic there fails the test.
    pub(crate) fn run<F, Fut, T>(&self, body: F) -> T
    where
        F: FnOnce(String) -> Fut + Send + 'static,
        Fut: Future<Output = T>,
        T: Send + 'static,
    {
        let name = self.name.clone();
        let thread = std::thread::spawn(move || {
            mbimd_test_support::netns::enter(&name).unwrap();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(body(name))
        });
        match thread.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = IP.command().args(["netns", "del", &self.name]).status();
    }
}

/// `ip -n <ns> -j <args>` as JSON.
pub(crate) fn ip(ns: &str, args: &[&str]) -> Value {
    let output = IP
        .command()
        .args(["-n", ns, "-j"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    if text.trim().is_empty() {
        return Value::Array(Vec::new());
    }
    serde_json::from_str(&text).unwrap()
}

/// The (address, prefix) pairs of `dev` in `family` (`-4`/`-6`).
pub(crate) fn addresses(ns: &str, family: &str, dev: &str) -> Vec<(String, u64)> {
    let links = ip(ns, &[family, "addr", "show", "dev", dev]);
    let mut out = Vec::new();
    for link in links.as_array().unwrap() {
        for a in link["addr_info"].as_array().unwrap() {
            out.push((
                a["local"].as_str().unwrap().to_owned(),
                a["prefixlen"].as_u64().unwrap(),
            ));
        }
    }
    out.sort();
    out
}

/// A sysctl as the namespace sees it (`ip netns exec` remounts /sys and
/// enters the namespace, so /proc/sys/net is its own).
pub(crate) fn sysctl(ns: &str, key: &str) -> String {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let output = IP
        .command()
        .args(["netns", "exec", ns, "cat", &path])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `ip monitor address route` in the namespace, to prove nothing changed.
pub(crate) struct Monitor(Child);

impl Monitor {
    pub(crate) fn start(ns: &str) -> Monitor {
        let child = IP
            .command()
            .args(["-n", ns, "monitor", "address", "route", "link"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it subscribe before anything happens.
        std::thread::sleep(Duration::from_millis(300));
        Monitor(child)
    }

    pub(crate) fn finish(mut self) -> String {
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.0.kill();
        let output = self.0.wait_with_output().unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

pub(crate) fn options(metric: Option<u32>) -> NetdevOptions {
    NetdevOptions {
        default_route_metric: metric,
        dns: DnsBackend::None,
        interface_id: [0x02, 0, 0, 0, 0, 0, 0xab, 0xcd],
        ..NetdevOptions::default()
    }
}

pub(crate) fn dual_stack() -> IpSettings {
    IpSettings {
        ipv4_addresses: vec![Ipv4Prefix {
            address: "10.64.0.2".parse().unwrap(),
            prefix: 30,
        }],
        ipv4_gateway: Some("10.64.0.1".parse().unwrap()),
        ipv4_dns: vec!["10.64.0.53".parse().unwrap()],
        ipv4_mtu: 1428,
        ipv6_addresses: vec![Ipv6Prefix {
            address: "2001:db8:1::1234".parse().unwrap(),
            prefix: 64,
        }],
        ipv6_gateway: Some("2001:db8:1::1".parse().unwrap()),
        ipv6_dns: vec!["2001:db8:1::53".parse().unwrap()],
        ipv6_mtu: 1428,
    }
}

/// Asserts that every part of an apply was applied.
pub(crate) fn complete(report: ConfigReport) {
    assert!(report.is_complete(), "{report}");
}
