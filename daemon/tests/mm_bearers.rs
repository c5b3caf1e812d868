//! Bearers beyond the first through the ModemManager face, against the
//! distribution's own mmcli and busctl: a client's further APNs, the
//! further sessions of mbimd's own profile, each with its own device,
//! state and traffic. `mbimd --simulate` in a lab of its own (network
//! namespace, private system bus); see mm_support.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); installs
//! modemmanager for mmcli (its daemon is never started) and dbus-daemon.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod mm_support;

use mm_support::{modem, registered_lab, registered_lab_at, text, Lab, MODEM};
use serde_json::Value;

/// mbimd's own profile: the internet APN and an IMS session beside it.
const WITH_IMS: &str = "[[profiles]]\nname = \"internet\"\napn = \"internet\"\n\
                        [[profiles.sessions]]\nname = \"ims\"\napn = \"ims\"\n\
                        context-type = \"ims\"\n";

/// `mmcli -b NUMBER` as JSON: the bearer.
fn bearer(lab: &Lab, number: &str) -> Value {
    lab.mmcli_json(&["-b", number])["bearer"].clone()
}

/// The modem's bearers' paths.
fn bearers(lab: &Lab) -> Value {
    modem(lab, "0")["generic"]["bearers"].clone()
}

/// A bearer statistic as mmcli prints it (0 when not given).
fn stat(bearer: &Value, name: &str) -> u64 {
    match &bearer["stats"][name] {
        Value::String(text) => text.parse().unwrap_or(0),
        Value::Number(number) => number.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// mbimd's own API's `SessionTraffic` of the executor, as busctl's JSON.
fn session_traffic(lab: &Lab) -> Value {
    let output = lab.busctl(&[
        "--json=short",
        "get-property",
        "dev.mbimd.Mbimd1",
        "/dev/mbimd/Mbimd1/Modem0/Executor0",
        "dev.mbimd.Executor1",
        "SessionTraffic",
    ]);
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("SessionTraffic: {}", text(&output)))
}

/// The address the simulated network gives session 1, its gateway.
const SESSION_1: (&str, &str) = ("10.64.0.6/30", "10.64.0.5");

/// Gives the further session's device the address the network gave (as
/// a client such as NetworkManager does) and pings its gateway.
fn traffic_on_session_1(lab: &Lab) {
    lab.ip(&["address", "add", SESSION_1.0, "dev", "mbim0e0s1"]);
    lab.ping(SESSION_1.1);
}

/// Each bearer is a CONNECT of its own session id, in the agreed
/// version's layout (4.0 reshapes it again): run per version. The other
/// two tests are about which bearers come and go, which reads nothing a
/// version changes, and run once.
fn a_second_apn_is_a_further_session_with_a_bearer_of_its_own(mbimex: u8) {
    let Some(lab) = registered_lab_at("mmbearers", "", mbimex) else {
        return;
    };
    // One bearer per session the modem carries (the simulated modem: 4).
    let output = lab.busctl(&[
        "get-property",
        "org.freedesktop.ModemManager1",
        MODEM,
        "org.freedesktop.ModemManager1.Modem",
        "MaxBearers",
        "MaxActiveBearers",
    ]);
    assert_eq!(text(&output).trim(), "u 4\nu 4");

    let output = lab.mmcli(&["-m", "0", "--simple-connect=apn=internet"]);
    assert!(output.status.success(), "{}", text(&output));
    // Another APN while the first is up: a further PDN session (session 1)
    // on a device of its own, session 0 untouched.
    let output = lab.mmcli(&["-m", "0", "--simple-connect=apn=ims"]);
    assert!(output.status.success(), "{}", text(&output));
    let bearers = modem(&lab, "0")["generic"]["bearers"].clone();
    assert_eq!(
        bearers,
        serde_json::json!([
            "/org/freedesktop/ModemManager1/Bearer/0",
            "/org/freedesktop/ModemManager1/Bearer/1"
        ])
    );
    let first = lab.mmcli_json(&["-b", "0"])["bearer"].clone();
    assert_eq!(first["status"]["connected"], "yes", "{first}");
    assert_eq!(first["status"]["interface"], "mbim0e0", "{first}");
    assert_eq!(first["ipv4-config"]["address"], "10.64.0.2", "{first}");
    let second = lab.mmcli_json(&["-b", "1"])["bearer"].clone();
    assert_eq!(second["status"]["connected"], "yes", "{second}");
    assert_eq!(second["status"]["interface"], "mbim0e0s1", "{second}");
    assert_eq!(second["properties"]["apn"], "ims", "{second}");
    assert_eq!(second["ipv4-config"]["method"], "static", "{second}");
    assert_eq!(second["ipv4-config"]["address"], "10.64.0.6", "{second}");
    assert_eq!(second["ipv4-config"]["gateway"], "10.64.0.5", "{second}");
    let links = lab.links();
    assert!(links.contains(&"mbim0e0".to_owned()), "{links:?}");
    assert!(links.contains(&"mbim0e0s1".to_owned()), "{links:?}");
    // The client's to configure: mbimd set no address on either.
    assert_eq!(lab.addresses("mbim0e0s1"), Vec::<String>::new());
    // Its own traffic, counted apart from the first bearer's.
    traffic_on_session_1(&lab);
    lab.wait_until("bearer 1's traffic in its stats", || {
        let second = bearer(&lab, "1");
        stat(&second, "bytes-rx") > 0 && stat(&second, "bytes-tx") > 0
    });

    // The second down and up again on its own; the first stays.
    let output = lab.mmcli(&["-b", "1", "--disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        lab.mmcli_json(&["-b", "1"])["bearer"]["status"]["connected"],
        "no"
    );
    assert!(!lab.links().contains(&"mbim0e0s1".to_owned()));
    assert_eq!(
        lab.mmcli_json(&["-b", "0"])["bearer"]["status"]["connected"],
        "yes"
    );
    let output = lab.mmcli(&["-b", "1", "--connect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        lab.mmcli_json(&["-b", "1"])["bearer"]["status"]["interface"],
        "mbim0e0s1"
    );
    let output = lab.mmcli(&["-m", "0", "--delete-bearer=1"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!lab.links().contains(&"mbim0e0s1".to_owned()));
    assert_eq!(
        modem(&lab, "0")["generic"]["bearers"],
        serde_json::json!(["/org/freedesktop/ModemManager1/Bearer/0"])
    );
    let output = lab.mmcli(&["-m", "0", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(lab.links(), ["lo"]);
}

mbimd_test_support::against_mbim_1_0_3_0_and_4_0!(
    a_second_apn_is_a_further_session_with_a_bearer_of_its_own
);

#[test]
fn the_further_sessions_of_mbimds_own_profile_are_bearers_too() {
    let Some(lab) = registered_lab("mmownbearers", WITH_IMS) else {
        return;
    };
    let output = lab.mmcli(&["-m", "0", "--simple-connect=apn=internet"]);
    assert!(output.status.success(), "{}", text(&output));
    // The profile's IMS session comes up beside the client's, and shows.
    lab.wait_until("the IMS session's bearer connected", || {
        bearers(&lab).as_array().is_some_and(|list| list.len() == 2)
            && bearer(&lab, "1")["status"]["connected"] == "yes"
    });
    let ims = bearer(&lab, "1");
    assert_eq!(ims["status"]["interface"], "mbim0e0s1", "{ims}");
    assert_eq!(ims["properties"]["apn"], "ims", "{ims}");
    assert_eq!(ims["ipv4-config"]["address"], "10.64.0.6", "{ims}");
    assert_eq!(bearer(&lab, "0")["status"]["interface"], "mbim0e0");

    // Its traffic is its own, here and on mbimd's own API.
    traffic_on_session_1(&lab);
    lab.wait_until("the IMS bearer's traffic in its stats", || {
        let ims = bearer(&lab, "1");
        stat(&ims, "bytes-rx") > 0 && stat(&ims, "bytes-tx") > 0
    });
    let traffic = session_traffic(&lab);
    let entries = traffic["data"].as_array().cloned().unwrap_or_default();
    let ids: Vec<u64> = entries.iter().filter_map(|e| e[0].as_u64()).collect();
    assert_eq!(ids, [0, 1], "{traffic}");
    // Two echoes of the ping and their answers, at least (the counters
    // are read about once a second).
    lab.wait_until("SessionTraffic counts session 1's echoes", || {
        let one = session_traffic(&lab)["data"][1].clone();
        one[2].as_u64().unwrap_or(0) >= 2 && one[4].as_u64().unwrap_or(0) >= 2
    });

    // A client may take it down and up again; the first bearer stays.
    let output = lab.mmcli(&["-b", "1", "--disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!lab.links().contains(&"mbim0e0s1".to_owned()));
    assert_eq!(bearer(&lab, "1")["status"]["connected"], "no");
    assert_eq!(bearer(&lab, "0")["status"]["connected"], "yes");
    let output = lab.mmcli(&["-b", "1", "--connect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(bearer(&lab, "1")["status"]["interface"], "mbim0e0s1");
    // It is the configuration's, not the client's, to delete.
    let output = lab.mmcli(&["-m", "0", "--delete-bearer=1"]);
    assert!(!output.status.success(), "deleted: {}", text(&output));
    assert!(
        text(&output).contains("of mbimd's own profile"),
        "{}",
        text(&output)
    );
    assert_eq!(bearers(&lab).as_array().map(Vec::len), Some(2));

    let output = lab.mmcli(&["-m", "0", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(lab.links(), ["lo"]);
}

#[test]
fn further_bearers_come_back_with_the_first_unless_all_were_disconnected() {
    let Some(lab) = registered_lab("mmrejoin", "") else {
        return;
    };
    for apn in ["internet", "ims"] {
        let output = lab.mmcli(&["-m", "0", &format!("--simple-connect=apn={apn}")]);
        assert!(output.status.success(), "{apn}: {}", text(&output));
    }
    assert_eq!(bearer(&lab, "1")["status"]["interface"], "mbim0e0s1");
    // The first bearer alone down: the further one goes with it (the
    // first's session carries it) ...
    let output = lab.mmcli(&["-b", "0", "--disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(lab.links(), ["lo"]);
    assert_eq!(bearer(&lab, "1")["status"]["connected"], "no");
    // ... and comes back with it.
    let output = lab.mmcli(&["-b", "0", "--connect"]);
    assert!(output.status.success(), "{}", text(&output));
    lab.wait_until("the further bearer back", || {
        bearer(&lab, "1")["status"]["connected"] == "yes"
    });
    assert_eq!(bearer(&lab, "1")["status"]["interface"], "mbim0e0s1");
    // Every bearer down: they stay down when the first is connected again.
    let output = lab.mmcli(&["-m", "0", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    let output = lab.mmcli(&["-b", "0", "--connect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(bearer(&lab, "1")["status"]["connected"], "no");
    assert!(!lab.links().contains(&"mbim0e0s1".to_owned()));
}
