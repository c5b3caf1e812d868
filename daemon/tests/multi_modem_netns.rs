//! Two modems at once, each with its own subnets, as two operators' SIMs in
//! one router: both devices get their default routes (the kernel keeps one
//! IPv4 default route per metric, so the second device's routes take the
//! next metric, 701, as NetworkManager's do), both gateways answer, and
//! when the first modem is unplugged its metric is free again: replugged,
//! it takes 700 again. The real
//! `mbimd --simulate` twice over, in a network namespace of the test's own.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbim_sim::control::ControlCommand;
use mbimd_test_support::icmp::Echo;
use mbimd_test_support::scenarios::dual_sim_with_own_subnets;
use netns_support::{privileged, wait_until, Daemon, Namespace};
use std::process::Stdio;

/// `ip -4 route show default`'s lines through `device`.
fn default_route(namespace: &Namespace, device: &str) -> String {
    namespace
        .ip(&["-4", "route", "show", "default", "dev", device])
        .trim()
        .to_owned()
}

#[test]
fn two_modems_get_a_default_route_each() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let namespace = Namespace::create("mbimd-two");
    let dir = std::env::temp_dir().join(format!("mbimd-two-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("mbimd.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nbackend = \"none\"\n[dbus]\nenable = false\n[modemmanager]\napi = \"off\"\n\
             [mbim-proxy]\nenable = false\n[slot-policy]\nstate-file = \"{}/slots.toml\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut args = vec!["--config".to_owned(), config.display().to_string()];
    let mut controls = Vec::new();
    for index in 0..2 {
        let scenario = dir.join(format!("modem{index}.toml"));
        std::fs::write(&scenario, dual_sim_with_own_subnets(index)).unwrap();
        args.push(format!("--simulate={}", scenario.display()));
        let control = dir.join(format!("control{index}"));
        args.push(format!("--sim-control={}", control.display()));
        controls.push(control);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = namespace
        .exec(env!("CARGO_BIN_EXE_mbimd"), &args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);

    wait_until("both default routes", || {
        !default_route(&namespace, "mbim0e0").is_empty()
            && !default_route(&namespace, "mbim1e0").is_empty()
    });
    // Whichever came up first has 700, the other 701.
    let metric_of = |device: &str| -> u32 {
        let route = default_route(&namespace, device);
        route
            .split_whitespace()
            .skip_while(|word| *word != "metric")
            .nth(1)
            .and_then(|metric| metric.parse().ok())
            .unwrap_or_else(|| panic!("{device}: {route}"))
    };
    let mut metrics = [metric_of("mbim0e0"), metric_of("mbim1e0")];
    metrics.sort_unstable();
    assert_eq!(metrics, [700, 701]);
    assert!(default_route(&namespace, "mbim0e0").contains("via 10.64.0.1"));
    assert!(default_route(&namespace, "mbim1e0").contains("via 10.65.0.1"));
    // IPv6 default routes take the same metric as their device's IPv4 one.
    for (device, gateway) in [("mbim0e0", "fd00:6d62::1"), ("mbim1e0", "fd00:6d62:1::1")] {
        let v6 = namespace.ip(&["-6", "route", "show", "default", "dev", device]);
        assert!(
            v6.contains(&format!("via {gateway}"))
                && v6.contains(&format!("metric {}", metric_of(device))),
            "{device}: {v6}"
        );
    }
    namespace.ping("10.64.0.1", &Echo::new(2));
    namespace.ping("10.65.0.1", &Echo::new(2));

    // The holder of 700 unplugged: its metric is free, and it takes it
    // again when it comes back, the other keeping 701.
    let (holder, other) = if metric_of("mbim0e0") == 700 {
        (0, 1)
    } else {
        (1, 0)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let control = |index: usize, command: ControlCommand| {
        runtime
            .block_on(mbim_sim::ctl::request(&controls[index], &command))
            .unwrap_or_else(|error| panic!("control {index}: {error}"))
    };
    control(holder, ControlCommand::Unplug);
    let gone = format!("mbim{holder}e0");
    wait_until("the unplugged modem's device gone", || {
        !namespace.ip(&["-o", "link", "show"]).contains(&gone)
    });
    assert_eq!(metric_of(&format!("mbim{other}e0")), 701);
    control(holder, ControlCommand::Replug);
    wait_until("the replugged modem's default route", || {
        !default_route(&namespace, &gone).is_empty()
    });
    assert_eq!(metric_of(&gone), 700);
    assert_eq!(metric_of(&format!("mbim{other}e0")), 701);

    let exit = daemon.terminate();
    assert!(exit.success(), "mbimd exited with {exit}");
    let links = namespace.ip(&["-o", "link", "show"]);
    assert!(!links.contains("mbim"), "{links}");
    let _ = std::fs::remove_dir_all(&dir);
}
