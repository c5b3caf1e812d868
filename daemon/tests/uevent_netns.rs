//! The kernel's device events as mbimd hears them (`mbimd::uevent`), from
//! the real kernel: in a network namespace of the test's own, a network
//! device (a veth pair) added and removed there is heard as `add` and `remove` of
//! `/devices/virtual/net/NAME`, subsystem `net`, and nothing of another
//! namespace's devices is. (USB devices' events, the ones the USB watcher
//! acts on, come from a real or USB/IP device: the VM tests' replug and
//! hotswap exercise them.)
//!
//! Needs root (skipped, saying so, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netdev_support;

use mbimd::uevent::{Uevent, UeventSocket};
use mbimd_test_support::tools::IP;
use netdev_support::{can_run, Netns};
use std::time::Duration;

/// The next event of `subsystem`, skipping others; a hang guard, not a
/// timing expectation.
async fn next_of(socket: &mut UeventSocket, subsystem: &str) -> Uevent {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let event = socket.next().await.unwrap();
            if event.subsystem == subsystem {
                return event;
            }
        }
    })
    .await
    .expect("no device event within 30 s")
}

#[test]
fn devices_coming_and_going_are_heard_from_the_kernel() {
    if !can_run("devices_coming_and_going_are_heard_from_the_kernel") {
        return;
    }
    let netns = Netns::new();
    let other = Netns::new();
    let elsewhere = other.name().to_owned();
    netns.run(move |name| async move {
        let mut socket = UeventSocket::open().unwrap();
        // A device of another namespace first: not heard here.
        let ip = |namespace: &str, args: &[&str]| {
            let status = IP
                .command()
                .args(["-n", namespace])
                .args(args)
                .status()
                .unwrap();
            assert!(status.success(), "ip -n {namespace} {args:?}");
        };
        ip(
            &elsewhere,
            &[
                "link",
                "add",
                "elsewhere0",
                "type",
                "veth",
                "peer",
                "name",
                "elsewhere1",
            ],
        );
        ip(
            &name,
            &[
                "link", "add", "heard0", "type", "veth", "peer", "name", "heard1",
            ],
        );
        // The pair's two ends, in either order.
        let mut added = Vec::new();
        for _ in 0..2 {
            let event = next_of(&mut socket, "net").await;
            assert_eq!(event.action, "add", "{event:?}");
            added.push(event.devpath);
        }
        added.sort();
        assert_eq!(
            added,
            ["/devices/virtual/net/heard0", "/devices/virtual/net/heard1"]
        );
        ip(&name, &["link", "del", "heard0"]);
        let removed = loop {
            let event = next_of(&mut socket, "net").await;
            assert!(!event.devpath.contains("elsewhere0"), "{event:?}");
            if event.action == "remove" {
                break event;
            }
        };
        assert!(
            removed.devpath.starts_with("/devices/virtual/net/heard"),
            "{removed:?}"
        );
    });
    drop(other);
}
