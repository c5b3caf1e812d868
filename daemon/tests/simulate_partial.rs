//! A half-configured interface is reported as such: the real `mbimd
//! --simulate`, in a network namespace of the test's own, against a
//! simulated modem that hands out an IPv6 address of ff02::1, with DNS going
//! to a directory that is not there yet. IPv4 still works, D-Bus (read with
//! busctl on a private bus) shows which parts are applied and which not,
//! the log says why, and the DNS part is applied by a retry once its
//! directory appears.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;
mod netns_support;

use dbus_common::{busctl, get_property, PrivateBus, HANG_GUARD};
use netns_support::{privileged, Daemon, Namespace};
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::{Duration, Instant};

const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";
const INTERFACE: &str = "dev.mbimd.Executor1";

async fn property(bus: &PrivateBus, name: &str) -> Value {
    get_property(bus, None, EXECUTOR, INTERFACE, name).await
}

/// The (outcome, detail) of `part` in NetdevParts.
fn part<'a>(parts: &'a Value, part: &str) -> Option<(&'a str, &'a str)> {
    parts.as_array()?.iter().find_map(|entry| {
        (entry[0] == part).then(|| {
            (
                entry[1].as_str().unwrap_or_default(),
                entry[2].as_str().unwrap_or_default(),
            )
        })
    })
}

/// Polls NetdevParts until `done` holds; a hang guard, not a timing
/// expectation.
async fn wait_for_parts(
    bus: &PrivateBus,
    log: &std::path::Path,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + HANG_GUARD;
    loop {
        // Until mbimd has its name (and the executor object) the call fails.
        let run = busctl(
            bus,
            None,
            &[
                "--json=short",
                "get-property",
                "dev.mbimd.Mbimd1",
                EXECUTOR,
                INTERFACE,
                "NetdevParts",
            ],
        )
        .await;
        let parts = serde_json::from_str::<Value>(&run.stdout)
            .map_or(Value::Null, |value| value["data"].clone());
        if done(&parts) {
            return parts;
        }
        assert!(
            Instant::now() < deadline,
            "NetdevParts stayed {parts}; mbimd said:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partly_configured_interface_says_so_and_retries_what_may_pass() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let bus = PrivateBus::start();
    let namespace = Namespace::create("mbimd-partial");
    let scenario = bus.dir().join("bad-ipv6.toml");
    let text = include_str!("../../simulator/scenarios/dssa.toml");
    let bad = text.replacen("address = \"fd00:6d62::2\"", "address = \"ff02::1\"", 1);
    assert_ne!(bad, text, "the scenario's IPv6 address moved");
    std::fs::write(&scenario, bad).unwrap();
    let dns_directory = bus.dir().join("dns");
    let dns_file = dns_directory.join("resolv.conf");
    let config = bus.dir().join("mbimd.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nbackend = \"file:{}\"\n[logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
             [modemmanager]\napi = \"off\"\n\
             [slot-policy]\nstate-file = \"{}/slots.toml\"\n",
            dns_file.display(),
            bus.dir().display()
        ),
    )
    .unwrap();
    let log = bus.dir().join("mbimd.log");
    let child = namespace
        .exec(
            env!("CARGO_BIN_EXE_mbimd"),
            &[
                "--simulate",
                scenario.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
        )
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let _daemon = Daemon(child);

    let parts = wait_for_parts(&bus, &log, |parts| part(parts, "dns").is_some()).await;
    assert_eq!(
        part(&parts, "address ff02::1/64"),
        Some(("refused", "a multicast address")),
        "{parts}"
    );
    let (outcome, detail) = part(&parts, "dns").unwrap();
    assert_eq!(outcome, "retrying", "{parts}");
    assert!(detail.contains("No such file or directory"), "{detail}");
    assert_eq!(
        part(&parts, "route 0.0.0.0/0 via 10.64.0.1 metric 700"),
        Some(("applied", "")),
        "{parts}"
    );
    assert_eq!(property(&bus, "NetdevState").await, json!("partial"));
    assert_eq!(property(&bus, "State").await, json!("connected"));
    // The kernel agrees: IPv4 is up, with its default route.
    let routes = namespace.ip(&["-j", "-4", "route", "show", "default"]);
    assert!(routes.contains("\"gateway\":\"10.64.0.1\""), "{routes}");
    let addresses = namespace.ip(&["-j", "addr", "show", "dev", "mbim0e0"]);
    assert!(addresses.contains("\"10.64.0.2\""), "{addresses}");
    assert!(!addresses.contains("ff02::1"), "{addresses}");
    // The log says what was refused and what failed, with the cause.
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("mbim0e0: address ff02::1/64 refused: a multicast address"),
        "{said}"
    );
    assert!(
        said.contains("mbim0e0: dns failed, will be retried: DNS for mbim0e0: cannot write")
            && said.contains("No such file or directory"),
        "{said}"
    );

    // The directory appears: a retry applies DNS without a reconnection.
    std::fs::create_dir_all(&dns_directory).unwrap();
    let parts = wait_for_parts(&bus, &log, |parts| {
        part(parts, "dns") == Some(("applied", ""))
    })
    .await;
    assert_eq!(
        part(&parts, "address ff02::1/64").map(|(outcome, _)| outcome),
        Some("refused")
    );
    assert!(std::fs::read_to_string(&dns_file)
        .unwrap()
        .contains("nameserver 10.64.0.1"));
    assert_eq!(property(&bus, "NetdevState").await, json!("partial"));
}
