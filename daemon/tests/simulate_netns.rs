//! The whole daemon, as `mbimd --simulate` runs it, inside a network
//! namespace of the test's own: the executor connects to the in-process
//! simulated modem, the supervisor creates and configures the TUN device, the
//! pump carries packets, and a ping from the namespace reaches the simulated
//! gateway over IPv4 and IPv6. SIGTERM must leave nothing behind.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); never touches
//! the machine's own interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbimd_test_support::icmp::Echo;
use netns_support::{privileged, wait_until, Namespace};
use std::path::PathBuf;

#[test]
fn mbimd_simulate_brings_up_a_tun_that_reaches_the_simulated_gateway() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let namespace = Namespace::create("mbimd-e2e");
    let config = tempfile_path("mbimd-e2e.toml");
    // DNS stays out of the host's files; everything else is the default.
    std::fs::write(&config, "[dns]\nbackend = \"none\"\n").unwrap();
    let mut daemon = namespace.simulate(&config);

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

    namespace.ping("10.64.0.1", &Echo::new(2));

    wait_until("the IPv6 address", || {
        namespace
            .ip(&["-j", "-6", "addr", "show", "dev", "mbim0e0"])
            .contains("\"fd00:6d62::2\"")
    });
    namespace.ping("fd00:6d62::1", &Echo::new(2));

    // SIGTERM: disconnect, CLOSE, remove the device and its routes.
    let exit = daemon.terminate();
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
