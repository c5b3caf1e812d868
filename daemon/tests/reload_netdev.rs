//! A reload reaches the network devices of connected sessions without
//! dropping them: `mbimd --simulate` in a network namespace of the test's
//! own, its configuration file rewritten and SIGHUP sent (what `systemctl
//! reload` does). A new route metric and DNS backend are taken by the same
//! device in place (same interface index, same address, the old route
//! gone); a new name scheme gives the session a new device, which carries
//! traffic, and the old one goes; a new profile for the SIM connects the
//! session again with it. SIGTERM leaves nothing behind.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); never touches
//! the machine's own interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbimd_test_support::icmp::Echo;
use mbimd_test_support::process::hang_up;
use netns_support::{privileged, wait_until, Namespace};
use std::path::{Path, PathBuf};

#[test]
fn a_reload_retunes_connected_devices_without_dropping_the_session() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let namespace = Namespace::create("mbimd-reload");
    let dir = scratch_dir();
    let config = dir.join("mbimd.toml");
    let resolv = dir.join("resolv.conf");
    std::fs::write(&config, "[dns]\nbackend = \"none\"\n").unwrap();
    let mut daemon = namespace.simulate(&config);

    wait_until("mbim0e0 with its address and default route", || {
        namespace
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"10.64.0.2\"")
            && namespace
                .ip(&["-j", "route", "show", "default"])
                .contains("\"metric\":700")
    });
    let index = ifindex(&namespace, "mbim0e0");

    // Routes and DNS: the same device takes them.
    std::fs::write(
        &config,
        format!(
            "[routes]\nmetric = 50\n[dns]\nbackend = \"file:{}\"\n",
            resolv.display()
        ),
    )
    .unwrap();
    hang_up(daemon.0.id()).unwrap();
    wait_until("the default route with metric 50", || {
        namespace
            .ip(&["-j", "route", "show", "default"])
            .contains("\"metric\":50")
    });
    wait_until("the DNS servers in the file backend", || {
        std::fs::read_to_string(&resolv).is_ok_and(|text| text.contains("nameserver"))
    });
    let routes = namespace.ip(&["-j", "route", "show", "default"]);
    assert!(!routes.contains("\"metric\":700"), "{routes}");
    assert_eq!(ifindex(&namespace, "mbim0e0"), index, "a new device");
    let addresses = namespace.ip(&["-j", "addr", "show", "dev", "mbim0e0"]);
    assert!(addresses.contains("\"10.64.0.2\""), "{addresses}");
    namespace.ping("10.64.0.1", &Echo::new(2));

    // A new name: a new device for the same session; the old one goes.
    std::fs::write(
        &config,
        format!(
            "[interfaces]\nscheme = \"wwx{{modem}}e{{executor}}\"\n[routes]\nmetric = 50\n\
             [dns]\nbackend = \"file:{}\"\n",
            resolv.display()
        ),
    )
    .unwrap();
    hang_up(daemon.0.id()).unwrap();
    wait_until("wwx0e0 with its address", || {
        namespace
            .ip(&["-j", "addr", "show", "dev", "wwx0e0"])
            .contains("\"10.64.0.2\"")
    });
    wait_until("mbim0e0 removed", || {
        !namespace.ip(&["-j", "link", "show"]).contains("mbim0e0")
    });
    wait_until("the default route through wwx0e0", || {
        namespace
            .ip(&["-j", "route", "show", "default", "dev", "wwx0e0"])
            .contains("\"metric\":50")
    });
    namespace.ping("10.64.0.1", &Echo::new(2));

    // A profile for this SIM where the network's default APN was used: the
    // session is connected again with it (a new device), and carries pings.
    let renamed = ifindex(&namespace, "wwx0e0");
    std::fs::write(
        &config,
        format!(
            "[interfaces]\nscheme = \"wwx{{modem}}e{{executor}}\"\n[routes]\nmetric = 50\n\
             [dns]\nbackend = \"file:{}\"\n[[profiles]]\nname = \"reloaded\"\napn = \"internet\"\n",
            resolv.display()
        ),
    )
    .unwrap();
    hang_up(daemon.0.id()).unwrap();
    wait_until("wwx0e0 connected again with the new profile", || {
        let index = ifindex(&namespace, "wwx0e0");
        !index.is_empty()
            && index != renamed
            && namespace
                .ip(&["-j", "addr", "show", "dev", "wwx0e0"])
                .contains("\"10.64.0.2\"")
    });
    namespace.ping("10.64.0.1", &Echo::new(2));

    let exit = daemon.terminate();
    assert!(exit.success(), "{exit:?}");
    let links = namespace.ip(&["-j", "link", "show"]);
    assert!(
        !links.contains("wwx0e0") && !links.contains("mbim0e0"),
        "{links}"
    );
    assert!(!resolv.exists(), "the DNS file is left behind");
    let _ = std::fs::remove_dir_all(dir);
}

/// The interface index of `name` in the namespace (empty while it has none).
fn ifindex(namespace: &Namespace, name: &str) -> String {
    let link = namespace.ip(&["-j", "link", "show", "dev", name]);
    let Some(start) = link.find("\"ifindex\":") else {
        return String::new();
    };
    link[start + "\"ifindex\":".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

fn scratch_dir() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mbimd-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
