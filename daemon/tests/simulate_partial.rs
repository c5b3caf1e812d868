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

use dbus_common::{get_property, wait_for_property, PrivateBus};
use netns_support::{privileged, Daemon, Namespace};
use serde_json::{json, Value};
use std::process::Stdio;

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

/// Polls NetdevParts until `done` holds.
async fn wait_for_parts(
    bus: &PrivateBus,
    log: &std::path::Path,
    done: impl Fn(&Value) -> bool,
) -> Value {
    wait_for_property(bus, log, EXECUTOR, "NetdevParts", done).await
}

/// Starts `mbimd --simulate SCENARIO --config CONFIG` in `namespace` on
/// `bus`, its log in the bus's directory.
fn start(
    bus: &PrivateBus,
    namespace: &Namespace,
    scenario: &std::path::Path,
    config: &std::path::Path,
) -> (Daemon, std::path::PathBuf) {
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
    (Daemon(child), log)
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
    let (_daemon, log) = start(&bus, &namespace, &scenario, &config);

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

/// Session 1's entry in Sessions, if listed.
fn session_1(sessions: &Value) -> Option<&Value> {
    sessions.as_array()?.iter().find(|entry| entry[0] == 1)
}

/// A further session's device is held to the same rules as session 0's: a
/// part that fails for a reason that may pass (its DNS file's directory is
/// not there yet) is reported (the session's reason on D-Bus) and applied
/// by a retry, without a reconnection, into the file session 0 shares.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_further_sessions_partly_applied_configuration_is_retried() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let bus = PrivateBus::start();
    let namespace = Namespace::create("mbimd-partial1");
    let scenario = bus.dir().join("dssa.toml");
    std::fs::write(
        &scenario,
        include_str!("../../simulator/scenarios/dssa.toml"),
    )
    .unwrap();
    let dns_directory = bus.dir().join("dns");
    let dns_file = dns_directory.join("resolv.conf");
    let config = bus.dir().join("mbimd.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nbackend = \"file:{}\"\n[logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
             [modemmanager]\napi = \"off\"\n[mbim-proxy]\nenable = false\n\
             [slot-policy]\nstate-file = \"{}/slots.toml\"\n\
             [[profiles]]\nname = \"internet\"\napn = \"internet\"\n\
             [[profiles.sessions]]\nname = \"ims\"\napn = \"ims\"\ncontext-type = \"ims\"\n\
             dns = true\n",
            dns_file.display(),
            bus.dir().display()
        ),
    )
    .unwrap();
    let (_daemon, log) = start(&bus, &namespace, &scenario, &config);

    // The session is reported connected before its device is configured:
    // wait for the configuration's outcome too.
    let sessions = wait_for_property(&bus, &log, EXECUTOR, "Sessions", |sessions| {
        session_1(sessions).is_some_and(|entry| {
            entry[4] == "connected" && entry[5].as_str().is_some_and(|reason| !reason.is_empty())
        })
    })
    .await;
    let entry = session_1(&sessions).unwrap();
    assert_eq!(entry[6], "mbim0e0s1", "{sessions}");
    let reason = entry[5].as_str().unwrap();
    assert!(
        reason.starts_with("partly configured: dns failed, will be retried")
            && reason.contains("No such file or directory"),
        "{sessions}"
    );
    // Everything else of the session is in.
    let addresses = namespace.ip(&["-j", "addr", "show", "dev", "mbim0e0s1"]);
    assert!(addresses.contains("\"10.64.0.6\""), "{addresses}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("mbim0e0s1: dns failed, will be retried"),
        "{said}"
    );

    // The directory appears: the retries put both sessions' servers in the
    // one file, session 0's first, and the reason goes.
    std::fs::create_dir_all(&dns_directory).unwrap();
    let sessions = wait_for_property(&bus, &log, EXECUTOR, "Sessions", |sessions| {
        session_1(sessions).is_some_and(|entry| entry[5] == "")
    })
    .await;
    assert_eq!(session_1(&sessions).unwrap()[4], "connected", "{sessions}");
    let text = std::fs::read_to_string(&dns_file).unwrap();
    let session0 = text
        .find("for mbim0e0;")
        .unwrap_or_else(|| panic!("{text}"));
    let session1 = text
        .find("for mbim0e0s1;")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(session0 < session1, "{text}");
    assert!(text.contains("nameserver 10.64.0.1\n"), "{text}");
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("mbim0e0s1: every part of its configuration is applied now"),
        "{said}"
    );
}
