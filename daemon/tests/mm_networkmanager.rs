//! NetworkManager manages mbimd's modems through the ModemManager face:
//! the distribution's own NetworkManager (Debian 12: 1.42) and nmcli, in a
//! lab of their own with `mbimd --simulate` (network namespace, private
//! system bus, NetworkManager's paths in a mount namespace), exactly as a
//! user would drive them: `nmcli connection add type gsm` and `nmcli
//! connection up`. No mock anywhere: NetworkManager talks to mbimd as it
//! would to ModemManager.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); installs
//! network-manager, modemmanager (mmcli only; its daemon is never started)
//! and dbus-daemon when missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod mm_support;

use mm_support::{scenario, tail, text, Lab};

/// The modem's device in NetworkManager (its PrimaryPort).
const DEVICE: &str = "mbim0e0-ctl";
/// The session's network device.
const NETDEV: &str = "mbim0e0";

/// NetworkManager's state of `device` (`nmcli -g GENERAL.STATE`), e.g.
/// "100 (connected)".
fn device_state(lab: &Lab, device: &str) -> String {
    let output = lab.nmcli(&["-g", "GENERAL.STATE", "device", "show", device]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The modem object behind NetworkManager's `device` (its UDI).
fn device_modem(lab: &Lab, device: &str) -> String {
    let output = lab.nmcli(&["-g", "GENERAL.UDI", "device", "show", device]);
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn wait_for_device(lab: &Lab, device: &str, state: &str) {
    lab.wait_until(&format!("NetworkManager's {device} {state}"), || {
        device_state(lab, device).contains(state)
    });
}

/// The lab with mbimd (extra configuration and arguments) and
/// NetworkManager running and the modem seen by NetworkManager.
fn lab_with_modem(name: &str, config: &str, args: &[&str]) -> Option<Lab> {
    let mut lab = Lab::new(name)?;
    lab.start_mbimd(config, args);
    lab.start_network_manager();
    lab.wait_for_gsm_device(DEVICE);
    Some(lab)
}

fn default_route(lab: &Lab, family: &str) -> serde_json::Value {
    lab.ip(&[family, "route", "show", "default"])
}

/// The IP types NetworkManager asks for are CONNECT's and the addresses
/// IP_CONFIGURATION's, in the agreed version's layouts (4.0 reshapes
/// CONNECT again): run per version, as is the PIN test (SUBSCRIBER_READY_
/// STATUS, 3.0's own layout, says the SIM is locked and then ready). The
/// other tests here are about NetworkManager's and mbimd's life cycles,
/// slots, hotplug and several modems, which read nothing a version changes
/// beyond what these two and the mmcli tests cover, and run once.
fn networkmanager_connects_ipv4_ipv6_and_dual_stack_and_disconnects(mbimex: u8) {
    // The network's MTU below the function's segment size: the link MTU
    // comes from the network, through the bearer, to NetworkManager.
    let Some(mut lab) = Lab::new("nmup") else {
        return;
    };
    let dssa = mbimd_test_support::scenarios::dual_sim(mbimex, false);
    let path = lab.dir.join("mtu.toml");
    std::fs::write(
        &path,
        dssa.replace(
            "mtu = 1500\n\n[executors.ipv6]",
            "mtu = 1428\n\n[executors.ipv6]",
        ),
    )
    .unwrap();
    lab.start_mbimd("", &["--simulate", path.to_str().unwrap()]);
    lab.start_network_manager();
    lab.wait_for_gsm_device(DEVICE);
    wait_for_device(&lab, DEVICE, "(disconnected)");
    lab.assert_agreed(mbimex);

    lab.add_gsm_connection("mobile", "*", &["connection.autoconnect", "no"]);
    lab.nmcli_ok(&["--wait", "90", "connection", "up", "mobile"]);
    wait_for_device(&lab, DEVICE, "(connected)");

    // Dual stack: NetworkManager's addresses, routes, MTU and DNS.
    let mut addresses = lab.addresses(NETDEV);
    addresses.sort();
    assert_eq!(addresses, ["10.64.0.2/30", "fd00:6d62::2/64"]);
    let link = lab.ip(&["link", "show", "dev", NETDEV]);
    assert_eq!(link[0]["mtu"], 1428, "{link}");
    let route = default_route(&lab, "-4");
    assert_eq!(route[0]["gateway"], "10.64.0.1", "{route}");
    assert_eq!(route[0]["dev"], NETDEV, "{route}");
    // NetworkManager's metric for mobile broadband (mbimd's would say
    // proto static too, but mbimd configured nothing: see below).
    assert_eq!(route[0]["metric"], 700, "{route}");
    let route = default_route(&lab, "-6");
    assert_eq!(route[0]["gateway"], "fd00:6d62::1", "{route}");
    let resolv = lab.resolv_conf();
    assert!(resolv.contains("nameserver 10.64.0.1"), "{resolv}");
    assert!(resolv.contains("nameserver fd00:6d62::1"), "{resolv}");
    // Packets cross the session with NetworkManager's configuration.
    lab.ping("10.64.0.1");
    lab.ping("fd00:6d62::1");
    // The addresses are NetworkManager's (it marks its own noprefixroute);
    // mbimd's D-Bus shows it configured nothing but the link.
    let addresses = lab.ip(&["addr", "show", "dev", NETDEV]);
    assert!(
        addresses[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|address| address["family"] == "inet")
            .all(|address| address["noprefixroute"] == true),
        "{addresses}"
    );
    let parts = lab.busctl(&[
        "--json=short",
        "get-property",
        "dev.mbimd.Mbimd1",
        "/dev/mbimd/Mbimd1/Modem0/Executor0",
        "dev.mbimd.Executor1",
        "NetdevParts",
    ]);
    let parts = text(&parts);
    assert!(
        parts.contains("mtu 1428") && parts.contains("link up"),
        "{parts}"
    );
    assert!(!parts.contains("address"), "{parts}");

    // Down: disconnected, the device gone with whatever was on it.
    lab.nmcli_ok(&["connection", "down", "mobile"]);
    wait_for_device(&lab, DEVICE, "(disconnected)");
    lab.wait_until("the session's device removed", || {
        !lab.links().contains(&NETDEV.to_owned())
    });
    assert_eq!(default_route(&lab, "-4"), serde_json::json!([]));
    assert_eq!(default_route(&lab, "-6"), serde_json::json!([]));
    assert!(
        !lab.resolv_conf().contains("10.64.0.1"),
        "{}",
        lab.resolv_conf()
    );
    assert_eq!(
        lab.mmcli_json(&["-m", "0"])["modem"]["generic"]["state"],
        "registered"
    );

    // IPv4 alone: NetworkManager asks for an IPv4 bearer.
    lab.nmcli_ok(&["connection", "modify", "mobile", "ipv6.method", "disabled"]);
    lab.nmcli_ok(&["--wait", "90", "connection", "up", "mobile"]);
    assert_eq!(lab.addresses(NETDEV), ["10.64.0.2/30"]);
    assert_eq!(default_route(&lab, "-6"), serde_json::json!([]));
    let bearers = lab.mmcli_json(&["-m", "0"])["modem"]["generic"]["bearers"].clone();
    let bearer = lab.mmcli_json(&["-b", bearers[0].as_str().unwrap()]);
    assert_eq!(bearer["bearer"]["properties"]["ip-type"], "ipv4");
    lab.nmcli_ok(&["connection", "down", "mobile"]);
    wait_for_device(&lab, DEVICE, "(disconnected)");

    // IPv6 alone.
    lab.nmcli_ok(&[
        "connection",
        "modify",
        "mobile",
        "ipv4.method",
        "disabled",
        "ipv6.method",
        "auto",
    ]);
    lab.nmcli_ok(&["--wait", "90", "connection", "up", "mobile"]);
    assert_eq!(lab.addresses(NETDEV), ["fd00:6d62::2/64"]);
    assert_eq!(default_route(&lab, "-4"), serde_json::json!([]));
    assert_eq!(default_route(&lab, "-6")[0]["gateway"], "fd00:6d62::1");
    let resolv = lab.resolv_conf();
    assert!(resolv.contains("nameserver fd00:6d62::1"), "{resolv}");
    assert!(!resolv.contains("10.64.0.1"), "{resolv}");
    lab.nmcli_ok(&["connection", "down", "mobile"]);
    wait_for_device(&lab, DEVICE, "(disconnected)");
    lab.stop_network_manager();
    lab.stop_mbimd();
    assert_eq!(lab.links(), ["lo"], "{}", tail(&lab.mbimd_log(), 20));
}

fn the_connections_gsm_pin_unlocks_the_sim_and_a_wrong_one_fails_with_retries_left(mbimex: u8) {
    let Some(mut lab) = Lab::new("nmpin") else {
        return;
    };
    // The built-in modem, its physical SIM asking for PIN 1234 at power-up.
    let path = lab.dual_sim_at(mbimex, true);
    lab.start_mbimd("", &["--simulate", &path]);
    lab.start_network_manager();
    lab.wait_until("the locked modem", || {
        lab.mmcli(&["-m", "0"]).status.success()
            && lab.mmcli_json(&["-m", "0"])["modem"]["generic"]["state"] == "locked"
    });
    let generic = lab.mmcli_json(&["-m", "0"])["modem"]["generic"].clone();
    assert_eq!(generic["unlock-required"], "sim-pin");
    assert_eq!(
        generic["unlock-retries"],
        serde_json::json!(["sim-pin (3)"])
    );
    lab.wait_for_gsm_device(DEVICE);

    lab.add_gsm_connection(
        "mobile",
        "*",
        &["gsm.pin", "0000", "connection.autoconnect", "no"],
    );
    let output = lab.nmcli(&["--wait", "90", "connection", "up", "mobile"]);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("SIM PIN was incorrect"),
        "{}",
        text(&output)
    );
    // One attempt spent, two left, and still locked.
    let generic = lab.mmcli_json(&["-m", "0"])["modem"]["generic"].clone();
    assert_eq!(
        generic["unlock-retries"],
        serde_json::json!(["sim-pin (2)"])
    );
    assert_eq!(generic["state"], "locked");
    assert!(!lab.links().contains(&NETDEV.to_owned()));

    lab.nmcli_ok(&["connection", "modify", "mobile", "gsm.pin", "1234"]);
    lab.nmcli_ok(&["--wait", "90", "connection", "up", "mobile"]);
    wait_for_device(&lab, DEVICE, "(connected)");
    assert!(lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned()));
    let generic = lab.mmcli_json(&["-m", "0"])["modem"]["generic"].clone();
    assert_eq!(generic["state"], "connected");
    assert_eq!(generic["unlock-required"], "--");
    lab.assert_agreed(mbimex);
}

mbimd_test_support::against_mbim_1_0_3_0_and_4_0!(
    networkmanager_connects_ipv4_ipv6_and_dual_stack_and_disconnects
);
mbimd_test_support::against_mbim_1_0_and_3_0!(
    the_connections_gsm_pin_unlocks_the_sim_and_a_wrong_one_fails_with_retries_left
);

#[test]
fn a_slot_switch_changes_the_sim_and_networkmanager_reconnects() {
    let Some(lab) = lab_with_modem("nmslot", "", &["--simulate"]) else {
        return;
    };
    // Autoconnect: NetworkManager connects as soon as it can, and again
    // after the switch.
    lab.add_gsm_connection("mobile", "*", &[]);
    wait_for_device(&lab, DEVICE, "(connected)");
    assert!(lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned()));
    assert_eq!(
        lab.mmcli_json(&["-m", "0"])["modem"]["generic"]["sim"],
        "/org/freedesktop/ModemManager1/SIM/0"
    );

    let output = lab.mmcli(&["-m", "0", "--set-primary-sim-slot=2"]);
    assert!(output.status.success(), "{}", text(&output));
    // Re-probed as by ModemManager: a new modem object, on the eSIM.
    // NetworkManager drops the old device and autoconnects the new one.
    let generic = lab.mmcli_json(&["-m", "1"])["modem"]["generic"].clone();
    assert_eq!(generic["sim"], "/org/freedesktop/ModemManager1/SIM/1");
    assert_eq!(generic["primary-sim-slot"], "2");
    lab.wait_until("NetworkManager connected again on the eSIM", || {
        device_modem(&lab, DEVICE) == "/org/freedesktop/ModemManager1/Modem/1"
            && device_state(&lab, DEVICE).contains("(connected)")
            && lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned())
            && lab.mmcli_json(&["-i", "1"])["sim"]["properties"]["active"] == "yes"
    });
    let sim = lab.mmcli_json(&["-i", "1"])["sim"]["properties"].clone();
    assert_eq!(sim["iccid"], "8988200000000000002");
}

#[test]
fn restarts_of_networkmanager_and_mbimd_end_connected_again() {
    let Some(mut lab) = lab_with_modem("nmrestart", "", &["--simulate"]) else {
        return;
    };
    lab.add_gsm_connection("mobile", "*", &[]);
    wait_for_device(&lab, DEVICE, "(connected)");

    // NetworkManager restarts: it finds the modem (connected) and its
    // connection comes up again.
    lab.stop_network_manager();
    lab.start_network_manager();
    wait_for_device(&lab, DEVICE, "(connected)");
    assert!(lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned()));
    assert!(lab.resolv_conf().contains("nameserver 10.64.0.1"));

    // mbimd restarts: the modem goes (NetworkManager forgets the device),
    // comes back, and NetworkManager connects it again.
    lab.stop_mbimd();
    lab.wait_until("the gsm device gone from NetworkManager", || {
        !lab.nmcli_ok(&["-t", "-f", "DEVICE", "device"])
            .lines()
            .any(|line| line == DEVICE)
    });
    assert!(!lab.links().contains(&NETDEV.to_owned()));
    lab.start_mbimd("", &["--simulate"]);
    wait_for_device(&lab, DEVICE, "(connected)");
    assert!(lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned()));
}

#[test]
fn an_unplugged_modem_leaves_networkmanager_and_a_replugged_one_is_managed_again() {
    let Some(lab) = Lab::new("nmunplug") else {
        return;
    };
    let mut lab = lab;
    let socket = lab.dir.join("sim.sock");
    lab.start_mbimd(
        "",
        &["--simulate", "--sim-control", socket.to_str().unwrap()],
    );
    lab.start_network_manager();
    lab.wait_until("the modem in NetworkManager", || {
        device_state(&lab, DEVICE).contains("(disconnected)")
    });
    lab.add_gsm_connection("mobile", "*", &[]);
    wait_for_device(&lab, DEVICE, "(connected)");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(mbim_sim::ctl::request(
            &socket,
            &mbim_sim::control::ControlCommand::Unplug,
        ))
        .unwrap();
    lab.wait_until("the modem gone from mmcli and NetworkManager", || {
        let listed = lab.mmcli_json(&["-L"])["modem-list"].clone();
        listed.as_array().is_some_and(Vec::is_empty)
            && !lab
                .nmcli_ok(&["-t", "-f", "DEVICE", "device"])
                .lines()
                .any(|line| line == DEVICE)
    });
    assert!(!lab.links().contains(&NETDEV.to_owned()));
    assert!(!lab.resolv_conf().contains("10.64.0.1"));

    // Plugged in again while NetworkManager runs (hotplug): the modem
    // appears as a new object (InterfacesAdded on the name NetworkManager
    // already follows), NetworkManager takes it as a new gsm device and
    // its connection brings it up by itself.
    runtime
        .block_on(mbim_sim::ctl::request(
            &socket,
            &mbim_sim::control::ControlCommand::Replug,
        ))
        .unwrap();
    wait_for_device(&lab, DEVICE, "(connected)");
    assert_eq!(
        device_modem(&lab, DEVICE),
        "/org/freedesktop/ModemManager1/Modem/1"
    );
    assert!(lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned()));
    assert!(lab.resolv_conf().contains("nameserver 10.64.0.1"));
}

#[test]
fn both_executors_of_a_dual_active_modem_connect_side_by_side() {
    let two = scenario("two-executors");
    let Some(lab) = lab_with_modem("nmdual", "", &["--simulate", two.to_str().unwrap()]) else {
        return;
    };
    lab.wait_for_gsm_device("mbim0e1-ctl");
    for (name, device) in [("first", "mbim0e0-ctl"), ("second", "mbim0e1-ctl")] {
        lab.add_gsm_connection(
            name,
            device,
            &["connection.autoconnect", "no", "ipv6.method", "disabled"],
        );
        lab.nmcli_ok(&["--wait", "90", "connection", "up", name]);
    }
    assert_eq!(lab.addresses("mbim0e0"), ["10.64.0.2/30"]);
    assert_eq!(lab.addresses("mbim0e1"), ["10.65.0.2/30"]);
    let resolv = lab.resolv_conf();
    assert!(resolv.contains("nameserver 10.64.0.1"), "{resolv}");
    assert!(resolv.contains("nameserver 10.65.0.1"), "{resolv}");
    lab.nmcli_ok(&["connection", "down", "first"]);
    assert!(!lab.links().contains(&"mbim0e0".to_owned()));
    assert_eq!(lab.addresses("mbim0e1"), ["10.65.0.2/30"]);
}

#[test]
fn two_modems_at_once_and_one_unplugged() {
    let Some(mut lab) = Lab::new("nmtwo") else {
        return;
    };
    // The built-in dual-SIM modem and a dual-active one: three modem
    // objects, two USB modems.
    let two = scenario("two-executors");
    let control = lab.dir.join("second.sock");
    lab.start_mbimd(
        "",
        &[
            "--simulate",
            "--simulate",
            two.to_str().unwrap(),
            "--sim-control",
            lab.dir.join("first.sock").to_str().unwrap(),
            "--sim-control",
            control.to_str().unwrap(),
        ],
    );
    lab.start_network_manager();
    lab.wait_until("three gsm devices", || {
        let devices = lab.nmcli_ok(&["-t", "-f", "DEVICE,TYPE", "device"]);
        ["mbim0e0-ctl:gsm", "mbim1e0-ctl:gsm", "mbim1e1-ctl:gsm"]
            .iter()
            .all(|device| devices.lines().any(|line| line == *device))
    });
    assert_eq!(
        lab.mmcli_json(&["-L"])["modem-list"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The first modem, and the second modem's second executor (the two
    // first executors' simulated networks hand out the same subnet).
    for (name, device) in [("first", "mbim0e0-ctl"), ("second", "mbim1e1-ctl")] {
        lab.add_gsm_connection(
            name,
            device,
            &["connection.autoconnect", "no", "ipv6.method", "disabled"],
        );
        lab.nmcli_ok(&["--wait", "90", "connection", "up", name]);
    }
    assert_eq!(lab.addresses("mbim0e0"), ["10.64.0.2/30"]);
    assert_eq!(lab.addresses("mbim1e1"), ["10.65.0.2/30"]);
    lab.ping("10.64.0.1");
    lab.ping("10.65.0.1");

    // The second modem unplugged: its devices go, the first stays up.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime
        .block_on(mbim_sim::ctl::request(
            &control,
            &mbim_sim::control::ControlCommand::Unplug,
        ))
        .unwrap();
    lab.wait_until("the second modem gone", || {
        let devices = lab.nmcli_ok(&["-t", "-f", "DEVICE", "device"]);
        !devices.lines().any(|line| line.starts_with("mbim1e"))
            && !lab.links().contains(&"mbim1e1".to_owned())
    });
    assert_eq!(
        lab.mmcli_json(&["-L"])["modem-list"],
        serde_json::json!(["/org/freedesktop/ModemManager1/Modem/0"])
    );
    wait_for_device(&lab, "mbim0e0-ctl", "(connected)");
    assert_eq!(lab.addresses("mbim0e0"), ["10.64.0.2/30"]);
    lab.ping("10.64.0.1");
    let resolv = lab.resolv_conf();
    assert!(resolv.contains("nameserver 10.64.0.1"), "{resolv}");
    assert!(!resolv.contains("10.65.0.1"), "{resolv}");
}

#[test]
fn networkmanager_coming_takes_over_from_mbimd_and_nothing_is_configured_twice() {
    let Some(mut lab) = Lab::new("nmtake") else {
        return;
    };
    // api = "auto" (the default) and no NetworkManager yet: mbimd connects
    // and configures the modem itself.
    lab.start_mbimd("", &["--simulate"]);
    lab.wait_for_own_address(NETDEV, "10.64.0.2/30");
    // NetworkManager comes: mbimd takes its own session down with all it
    // configured, and NetworkManager finds a modem to connect.
    lab.start_network_manager();
    lab.wait_for_gsm_device(DEVICE);
    lab.wait_until("mbimd's own session gone", || {
        !lab.links().contains(&NETDEV.to_owned())
    });
    let log = lab.mbimd_log();
    assert!(
        log.contains("org.freedesktop.NetworkManager came onto the bus: from now on"),
        "{log}"
    );
    // An autoconnecting connection: NetworkManager brings it up by itself.
    lab.add_gsm_connection("mobile", "*", &["ipv6.method", "disabled"]);
    wait_for_device(&lab, DEVICE, "(connected)");
    assert_eq!(lab.addresses(NETDEV), ["10.64.0.2/30"]);
    // The address is NetworkManager's (noprefixroute), and there is one
    // default route, NetworkManager's.
    let addresses = lab.ip(&["addr", "show", "dev", NETDEV]);
    assert_eq!(
        addresses[0]["addr_info"][0]["noprefixroute"], true,
        "{addresses}"
    );
    let routes = default_route(&lab, "-4");
    assert_eq!(routes.as_array().map(Vec::len), Some(1), "{routes}");
    assert_eq!(routes[0]["dev"], NETDEV, "{routes}");
    assert!(lab.resolv_conf().contains("nameserver 10.64.0.1"));
    lab.ping("10.64.0.1");
    // NetworkManager restarted: the sessions stay the clients', and the
    // connection comes back through NetworkManager alone.
    lab.stop_network_manager();
    lab.start_network_manager();
    wait_for_device(&lab, DEVICE, "(connected)");
    assert_eq!(lab.addresses(NETDEV), ["10.64.0.2/30"]);
    let routes = default_route(&lab, "-4");
    assert_eq!(routes.as_array().map(Vec::len), Some(1), "{routes}");
    assert_eq!(
        lab.mbimd_log()
            .matches("from now on modems connect when a ModemManager client asks")
            .count(),
        1
    );
}

#[test]
fn a_further_bearer_beside_networkmanagers_connection_leaves_it_up() {
    let Some(lab) = lab_with_modem("nmextra", "", &["--simulate"]) else {
        return;
    };
    lab.add_gsm_connection("mobile", "*", &[]);
    wait_for_device(&lab, DEVICE, "(connected)");
    // A second APN through mmcli: a further session on mbim0e0s1, which
    // NetworkManager does not manage, and its own connection untouched.
    let output = lab.mmcli(&["-m", "any", "--simple-connect=apn=ims"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(lab.links().contains(&"mbim0e0s1".to_owned()));
    let bearers = lab.mmcli_json(&["-m", "any"])["modem"]["generic"]["bearers"].clone();
    assert_eq!(bearers.as_array().map(Vec::len), Some(2), "{bearers}");
    std::thread::sleep(std::time::Duration::from_secs(2));
    wait_for_device(&lab, DEVICE, "(connected)");
    assert!(lab.addresses(NETDEV).contains(&"10.64.0.2/30".to_owned()));
    lab.ping("10.64.0.1");
    // NetworkManager's disconnect takes session 0 down, and the further
    // session with it.
    lab.nmcli_ok(&["device", "disconnect", DEVICE]);
    lab.wait_until("both devices gone", || {
        let links = lab.links();
        !links.contains(&NETDEV.to_owned()) && !links.contains(&"mbim0e0s1".to_owned())
    });
}
