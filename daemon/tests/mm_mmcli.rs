//! The ModemManager face against the distribution's own mmcli (and
//! busctl for what mmcli does not send): `mbimd --simulate` in a lab of its
//! own (network namespace, private system bus), seen and driven as
//! ModemManager's modems are. No mock: mmcli is ModemManager's client
//! library and tool, built against ModemManager's interfaces.
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise); installs
//! modemmanager for mmcli (its daemon is never started) and dbus-daemon.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod mm_support;

use mm_support::{
    modem, registered_lab, registered_lab_at, scenario, state, text, wait_for_state, Lab, API_ON,
    MODEM,
};
use serde_json::Value;

const SIM_0: &str = "/org/freedesktop/ModemManager1/SIM/0";
const SIM_1: &str = "/org/freedesktop/ModemManager1/SIM/1";
const SIMPLE: &str = "org.freedesktop.ModemManager1.Modem.Simple";

/// A call that must fail with the D-Bus error `error` and `message`.
fn refused(lab: &Lab, method: &str, args: &[&str], error: &str, message: &str) {
    let output = lab.gdbus_call(MODEM, method, args);
    let said = text(&output);
    assert!(
        !output.status.success(),
        "{method} {args:?} succeeded: {said}"
    );
    assert!(
        said.contains(&format!("GDBus.Error:{error}: {message}")),
        "{method} {args:?}: {said}"
    );
}

fn mmcli_sees_the_modem_and_its_sims_and_connects_only_when_asked(mbimex: u8) {
    let Some(mut lab) = Lab::new("mmcli") else {
        return;
    };
    let scenario = lab.dual_sim_at(mbimex, false);
    lab.start_mbimd(API_ON, &["--simulate", &scenario]);
    lab.wait_until("the modem in mmcli -L", || {
        lab.mmcli(&["-J", "-L"]).status.success()
            && lab.mmcli_json(&["-L"])["modem-list"][0] == MODEM
    });
    wait_for_state(&lab, "0", "registered");
    lab.assert_agreed(mbimex);

    let generic = modem(&lab, "0")["generic"].clone();
    assert_eq!(generic["manufacturer"], "mbimd");
    assert_eq!(generic["model"], "Simulated DSSA MBIM modem");
    assert_eq!(generic["revision"], "mbim-sim 0.1");
    assert_eq!(generic["primary-port"], "mbim0e0-ctl");
    assert_eq!(
        generic["ports"],
        serde_json::json!(["mbim0e0-ctl (mbim)", "mbim0e0 (net)"])
    );
    assert_eq!(generic["plugin"], "mbimd");
    assert_eq!(generic["power-state"], "on");
    // The simulated network's data class (LTE), as ModemManager reads it.
    assert_eq!(generic["access-technologies"], serde_json::json!(["lte"]));
    assert_eq!(generic["unlock-required"], "--");
    assert_eq!(
        generic["current-capabilities"],
        serde_json::json!(["gsm-umts, lte"])
    );
    assert_eq!(
        generic["supported-ip-families"],
        serde_json::json!(["ipv4", "ipv6", "ipv4v6"])
    );
    // Root sees the IMEI in full.
    assert_eq!(generic["equipment-identifier"], "350000000000001");
    assert_eq!(generic["sim"], SIM_0);
    assert_eq!(generic["sim-slots"], serde_json::json!([SIM_0, SIM_1]));
    assert_eq!(generic["primary-sim-slot"], "1");
    assert_eq!(generic["bearers"], serde_json::json!([]));
    let gpp = modem(&lab, "0")["3gpp"].clone();
    assert_eq!(gpp["operator-code"], "00101");
    assert_eq!(gpp["operator-name"], "Simulated");
    assert_eq!(gpp["registration-state"], "home");

    let sim = lab.mmcli_json(&["-i", "0"])["sim"]["properties"].clone();
    assert_eq!(sim["active"], "yes");
    assert_eq!(sim["iccid"], "8988200000000000001");
    assert_eq!(sim["imsi"], "001010000000001");
    assert_eq!(sim["operator-code"], "00101");
    assert_eq!(sim["sim-type"], "physical");
    assert_eq!(sim["removability"], "removable");
    let esim = lab.mmcli_json(&["-i", "1"])["sim"]["properties"].clone();
    assert_eq!(esim["active"], "no");
    assert_eq!(esim["sim-type"], "esim");
    assert_eq!(esim["esim-status"], "with-profiles");
    assert_eq!(esim["removability"], "not-removable");

    // Modem.Signal: the simulated network's RSSI (code 20) under LTE, and
    // the refresh rate a client set.
    let output = lab.mmcli(&["-m", "0", "--signal-setup=5"]);
    assert!(output.status.success(), "{}", text(&output));
    let signal = lab.mmcli_json(&["-m", "0", "--signal-get"]);
    assert_eq!(
        signal["modem"]["signal"]["lte"]["rssi"], "-73.00",
        "{signal}"
    );
    assert_eq!(
        signal["modem"]["signal"]["refresh"]["rate"], "5",
        "{signal}"
    );

    // Modem3gpp.Scan: the modem's own network scan, the registered network
    // current.
    let output = lab.mmcli(&["-J", "-m", "0", "--3gpp-scan", "--timeout=60"]);
    assert!(output.status.success(), "{}", text(&output));
    let scan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let networks = scan["modem"]["3gpp"]["scan-networks"].clone();
    assert!(
        networks
            .as_array()
            .is_some_and(|all| all.iter().any(|network| {
                let line = network.as_str().unwrap_or("");
                line.contains("operator-code: 00101")
                    && line.contains("operator-name: Simulated")
                    && line.contains("availability: current")
            })),
        "{scan}"
    );

    // api = "on": registered, and yet no session until a client asks.
    assert_eq!(lab.links(), ["lo"]);

    // Bad input: ModemManager's error, a clear message, nothing changed.
    let output = lab.mmcli(&["-m", "0", "--set-primary-sim-slot=3"]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains(
            "org.freedesktop.ModemManager1.Error.Core.InvalidArgs: SetPrimarySimSlot: no SIM \
             slot 3: this modem's slots are 1 to 2"
        ),
        "{}",
        text(&output)
    );
    let connect = format!("{SIMPLE}.Connect");
    refused(
        &lab,
        &connect,
        &["{'apm': <'internet'>}"],
        "org.freedesktop.ModemManager1.Error.Core.InvalidArgs",
        "Simple.Connect: unexpected key 'apm'; the keys are apn (s)",
    );
    refused(
        &lab,
        &connect,
        &["{'apn': <'internet'>, 'ip-type': <'ipv4'>}"],
        "org.freedesktop.ModemManager1.Error.Core.InvalidArgs",
        "Simple.Connect: 'ip-type' must be a uint32 (u), not s",
    );
    refused(
        &lab,
        &connect,
        &["{'apn': <'internet'>, 'pin': <'12'>}"],
        "org.freedesktop.ModemManager1.Error.Core.InvalidArgs",
        "Simple.Connect: the PIN is 4 to 8 digits",
    );
    assert_eq!(state(&lab, "0"), "registered");
    assert_eq!(modem(&lab, "0")["generic"]["primary-sim-slot"], "1");
    assert_eq!(lab.links(), ["lo"]);

    // A session when asked: the device is created and up, with the MTU,
    // and nothing else of the configuration: that is the client's.
    let output = lab.mmcli(&["-m", "0", "--simple-connect=apn=internet"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(state(&lab, "0"), "connected");
    let bearer = lab.mmcli_json(&["-b", "0"])["bearer"].clone();
    assert_eq!(bearer["status"]["connected"], "yes");
    assert_eq!(bearer["status"]["interface"], "mbim0e0");
    assert_eq!(bearer["properties"]["apn"], "internet");
    let ipv4 = &bearer["ipv4-config"];
    assert_eq!(ipv4["method"], "static");
    assert_eq!(ipv4["address"], "10.64.0.2");
    assert_eq!(ipv4["prefix"], "30");
    assert_eq!(ipv4["gateway"], "10.64.0.1");
    assert_eq!(ipv4["dns"], serde_json::json!(["10.64.0.1"]));
    assert_eq!(ipv4["mtu"], "1500");
    let ipv6 = &bearer["ipv6-config"];
    assert_eq!(ipv6["method"], "static");
    assert_eq!(ipv6["address"], "fd00:6d62::2");
    assert_eq!(ipv6["prefix"], "64");
    assert_eq!(ipv6["gateway"], "fd00:6d62::1");
    let link = lab.ip(&["link", "show", "dev", "mbim0e0"]);
    assert_eq!(link[0]["mtu"], 1500, "{link}");
    assert!(
        link[0]["flags"].as_array().unwrap().contains(&"UP".into()),
        "{link}"
    );
    assert_eq!(lab.addresses("mbim0e0"), Vec::<String>::new());
    assert_eq!(lab.ip(&["route", "show", "default"]), serde_json::json!([]));
    assert_eq!(
        modem(&lab, "0")["generic"]["bearers"],
        serde_json::json!(["/org/freedesktop/ModemManager1/Bearer/0"])
    );

    // mbimd's own API beside it.
    let output = lab.busctl(&[
        "get-property",
        "dev.mbimd.Mbimd1",
        "/dev/mbimd/Mbimd1/Modem0/Executor0",
        "dev.mbimd.Executor1",
        "Netdev",
    ]);
    assert_eq!(text(&output).trim(), "s \"mbim0e0\"");
    assert_eq!(lab.api_status(), "s \"serving\"");

    let output = lab.mmcli(&["-m", "0", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        lab.mmcli_json(&["-b", "0"])["bearer"]["status"]["connected"],
        "no"
    );
    assert_eq!(state(&lab, "0"), "registered");
    assert_eq!(lab.links(), ["lo"]);
}

fn set_primary_sim_slot_switches_the_slot_and_the_sim_follows(mbimex: u8) {
    let Some(mut lab) = registered_lab_at("mmslot", "", mbimex) else {
        return;
    };

    let output = lab.mmcli(&["-m", "0", "--set-primary-sim-slot=2"]);
    assert!(output.status.success(), "{}", text(&output));
    // As after ModemManager's re-probe: the modem object is gone and a new
    // one stands for the modem, its SIM now the embedded one; the SIM
    // objects stay.
    assert_eq!(
        lab.mmcli_json(&["-L"])["modem-list"],
        serde_json::json!(["/org/freedesktop/ModemManager1/Modem/1"])
    );
    assert!(!lab.mmcli(&["-m", "0"]).status.success());
    let generic = modem(&lab, "1")["generic"].clone();
    assert_eq!(generic["primary-sim-slot"], "2");
    assert_eq!(generic["sim"], SIM_1);
    assert_eq!(generic["sim-slots"], serde_json::json!([SIM_0, SIM_1]));
    lab.wait_until("the eSIM read", || {
        lab.mmcli_json(&["-i", "1"])["sim"]["properties"]["iccid"] == "8988200000000000002"
    });
    assert_eq!(
        lab.mmcli_json(&["-i", "1"])["sim"]["properties"]["active"],
        "yes"
    );
    assert_eq!(
        lab.mmcli_json(&["-i", "0"])["sim"]["properties"]["active"],
        "no"
    );
    wait_for_state(&lab, "1", "registered");
    let output = lab.mmcli(&["-m", "1", "--simple-connect=apn=internet"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(state(&lab, "1"), "connected");

    // mbimd's slot policy remembered the choice: the next run starts there.
    lab.stop_mbimd();
    let slots = std::fs::read_to_string(lab.dir.join("slots.toml")).unwrap();
    assert!(slots.contains("= 1"), "{slots}");
}

// Registration, signal, SIM state, CONNECT and its IP configuration are
// read in the agreed version's layouts (4.0 reshapes CONNECT again), and a
// slot switch brings a SIM up through SUBSCRIBER_READY_STATUS (3.0's own
// layout): those two tests run per version. The others read nothing a
// version changes (argument checks, access, the API's ownership) or are
// about one version (registration modes: refused on 1.0, switched on 3.0,
// REGISTER_STATE's 2.0 layout), and run once.
mbimd_test_support::against_mbim_1_0_3_0_and_4_0!(
    mmcli_sees_the_modem_and_its_sims_and_connects_only_when_asked
);
mbimd_test_support::against_mbim_1_0_and_3_0!(
    set_primary_sim_slot_switches_the_slot_and_the_sim_follows
);

#[test]
fn each_executor_of_a_dual_active_modem_is_a_modem_of_its_own() {
    let Some(mut lab) = Lab::new("mmdual") else {
        return;
    };
    let two = scenario("two-executors");
    lab.start_mbimd(API_ON, &["--simulate", two.to_str().unwrap()]);
    lab.wait_until("two modems", || {
        lab.mmcli(&["-J", "-L"]).status.success()
            && lab.mmcli_json(&["-L"])["modem-list"]
                .as_array()
                .is_some_and(|modems| modems.len() == 2)
    });
    wait_for_state(&lab, "0", "registered");
    wait_for_state(&lab, "1", "registered");
    let first = modem(&lab, "0");
    let second = modem(&lab, "1");
    assert_eq!(first["generic"]["primary-port"], "mbim0e0-ctl");
    assert_eq!(second["generic"]["primary-port"], "mbim0e1-ctl");
    assert_eq!(first["3gpp"]["operator-name"], "Simulated One");
    assert_eq!(second["3gpp"]["operator-name"], "Simulated Two");
    assert_ne!(first["generic"]["sim"], second["generic"]["sim"]);

    for index in ["0", "1"] {
        let output = lab.mmcli(&["-m", index, "--simple-connect=apn=internet"]);
        assert!(output.status.success(), "{}", text(&output));
    }
    let mut links = lab.links();
    links.sort();
    assert_eq!(links, ["lo", "mbim0e0", "mbim0e1"]);
    let output = lab.mmcli(&["-m", "1", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(lab.links(), ["lo", "mbim0e0"]);
    assert_eq!(state(&lab, "0"), "connected");
}

#[test]
fn other_callers_read_masked_personal_data_and_may_not_connect() {
    let Some(lab) = registered_lab("mmaccess", "") else {
        return;
    };
    let nobody = 65534;
    let output = lab.mmcli_as(nobody, &["-J", "-m", "0"]);
    assert!(output.status.success(), "{}", text(&output));
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["modem"]["3gpp"]["imei"], "35000**********");
    assert_eq!(
        seen["modem"]["generic"]["equipment-identifier"],
        "35000**********"
    );
    let output = lab.mmcli_as(nobody, &["-J", "-i", "0"]);
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["sim"]["properties"]["iccid"], "89882**************");
    assert_eq!(seen["sim"]["properties"]["imsi"], "00101**********");

    let output = lab.mmcli_as(nobody, &["-m", "0", "--simple-connect=apn=internet"]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains(
            "org.freedesktop.ModemManager1.Error.Core.Unauthorized: Modem.Simple.Connect needs \
             root or membership of mbimd's configured group"
        ),
        "{}",
        text(&output)
    );
    assert_eq!(lab.links(), ["lo"]);
}

#[test]
fn off_and_a_taken_name_leave_the_sessions_to_mbimd() {
    let Some(mut lab) = Lab::new("mmoff") else {
        return;
    };
    // api = "off": no ModemManager API, and mbimd connects and configures.
    lab.start_mbimd("[modemmanager]\napi = \"off\"\n", &["--simulate"]);
    lab.wait_for_own_address("mbim0e0", "10.64.0.2/30");
    assert!(!lab.mmcli(&["-L"]).status.success());
    assert_eq!(lab.api_status(), "s \"off\"");
    lab.stop_mbimd();
    assert_eq!(lab.links(), ["lo"]);

    // api = "auto" while another process owns the name (as ModemManager
    // would): mbimd says so once and drives the modem itself.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let holder = runtime.block_on(async {
        let connection = zbus::connection::Builder::address(lab.bus_address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        let proxy = zbus::fdo::DBusProxy::new(&connection).await.unwrap();
        let reply = proxy
            .request_name(
                zbus::names::WellKnownName::try_from("org.freedesktop.ModemManager1").unwrap(),
                Default::default(),
            )
            .await
            .unwrap();
        assert_eq!(reply, zbus::fdo::RequestNameReply::PrimaryOwner);
        connection
    });
    lab.start_mbimd("", &["--simulate"]);
    lab.wait_for_own_address("mbim0e0", "10.64.0.2/30");
    assert_eq!(lab.api_status(), "s \"name-taken\"");
    let log = lab.mbimd_log();
    assert_eq!(
        log.matches(
            "owns org.freedesktop.ModemManager1: mbimd does not serve the ModemManager API"
        )
        .count(),
        1,
        "{log}"
    );
    drop(holder);
}

#[test]
fn the_packaged_policy_lets_mbimd_own_the_name_everyone_read_and_only_root_change() {
    // The system bus's own defaults (Debian's system.conf), then the
    // packaged policy of the ModemManager API.
    let policy = format!(
        r#"<policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{}/../systemd/dev.mbimd.ModemManager1.conf</include>
  <include>{}/../systemd/dev.mbimd.Mbimd1.conf</include>"#,
        env!("CARGO_MANIFEST_DIR"),
        env!("CARGO_MANIFEST_DIR"),
    );
    let Some(mut lab) = Lab::with_policy("mmpolicy", &policy) else {
        return;
    };
    // Root (mbimd run by hand here) may own the name.
    lab.start_mbimd(API_ON, &["--simulate"]);
    wait_for_state(&lab, "0", "registered");
    let nobody = 65534;
    // Everyone reads: the object list, properties, GetStatus.
    let output = lab.mmcli_as(nobody, &["-J", "-m", "0"]);
    assert!(output.status.success(), "{}", text(&output));
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["modem"]["generic"]["state"], "registered");
    assert!(lab.mmcli_as(nobody, &["-i", "0"]).status.success());
    // Changing calls from others stop at the bus, before mbimd sees them.
    let output = lab.mmcli_as(nobody, &["-m", "0", "--simple-connect=apn=internet"]);
    assert!(!output.status.success());
    assert!(
        text(&output).contains("org.freedesktop.DBus.Error.AccessDenied"),
        "{}",
        text(&output)
    );
    // Nor may they own the name.
    let output = mm_support::run_as(
        nobody,
        mbimd_test_support::tools::BUSCTL.path(),
        &[
            &format!("--address={}", lab.bus_address),
            "call",
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "RequestName",
            "su",
            "org.freedesktop.ModemManager1",
            "4",
        ],
    );
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("Access denied"), "{}", text(&output));
    // Root's connect goes through.
    let output = lab.mmcli(&["-m", "0", "--simple-connect=apn=internet"]);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn by_default_mbimd_connects_by_itself_until_a_client_takes_over() {
    let Some(mut lab) = Lab::new("mmauto") else {
        return;
    };
    // api = "auto" (the default) and no NetworkManager: the API is served
    // and yet mbimd connects and configures the modem itself, as the
    // README's `mbimd --simulate` shows.
    lab.start_mbimd("", &["--simulate"]);
    lab.wait_for_own_address("mbim0e0", "10.64.0.2/30");
    assert_eq!(lab.api_status(), "s \"serving\"");
    let route = lab.ip(&["-4", "route", "show", "default"]);
    assert_eq!(route[0]["dev"], "mbim0e0", "{route}");
    assert_eq!(route[0]["gateway"], "10.64.0.1", "{route}");
    lab.ping("10.64.0.1");
    // mmcli sees mbimd's session as the modem's bearer.
    wait_for_state(&lab, "0", "connected");
    assert_eq!(
        modem(&lab, "0")["generic"]["bearers"],
        serde_json::json!(["/org/freedesktop/ModemManager1/Bearer/0"])
    );

    // A client's connect takes the sessions over: mbimd's session goes with
    // all it configured, and the client's comes up on a device left to it.
    let output = lab.mmcli(&["-m", "0", "--simple-connect=apn=internet"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(lab.links().contains(&"mbim0e0".to_owned()));
    assert_eq!(lab.addresses("mbim0e0"), Vec::<String>::new());
    assert_eq!(
        lab.ip(&["-4", "route", "show", "default"]),
        serde_json::json!([])
    );
    let bearers = modem(&lab, "0")["generic"]["bearers"].clone();
    let path = bearers[0].as_str().unwrap_or_default().to_owned();
    let number = path.rsplit('/').next().unwrap_or_default();
    let bearer = lab.mmcli_json(&["-b", number])["bearer"].clone();
    assert_eq!(bearer["status"]["connected"], "yes", "{bearer}");
    assert_eq!(bearer["ipv4-config"]["address"], "10.64.0.2", "{bearer}");
    let log = lab.mbimd_log();
    assert_eq!(
        log.matches("from now on modems connect when a ModemManager client asks")
            .count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("Simple.Connect from a ModemManager client"),
        "{log}"
    );

    // The client disconnects: mbimd no longer connects by itself.
    let output = lab.mmcli(&["-m", "0", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(!lab.links().contains(&"mbim0e0".to_owned()));
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(state(&lab, "0"), "registered");
    assert!(!lab.links().contains(&"mbim0e0".to_owned()));
}

#[test]
fn wrong_types_and_values_get_modemmanagers_error_and_change_nothing() {
    let Some(mut lab) = Lab::new("mmargs") else {
        return;
    };
    // api = "auto": mbimd's own session is up, and a refused call must not
    // even hand the sessions to the client.
    lab.start_mbimd("", &["--simulate"]);
    lab.wait_for_own_address("mbim0e0", "10.64.0.2/30");
    wait_for_state(&lab, "0", "connected");
    const MODEM_IFACE: &str = "org.freedesktop.ModemManager1.Modem";
    const INVALID: &str = "org.freedesktop.ModemManager1.Error.Core.InvalidArgs";
    // (path, interface, member, busctl signature and values, message)
    let table: &[(&str, &str, &str, &[&str], &str)] = &[
        (
            MODEM,
            SIMPLE,
            "Connect",
            &["s", "internet"],
            "org.freedesktop.ModemManager1.Modem.Simple.Connect takes (a{sv}), not (s)",
        ),
        (
            MODEM,
            SIMPLE,
            "Connect",
            &["a{sv}", "1", "apn", "u", "5"],
            "Simple.Connect: 'apn' must be a string (s), not u",
        ),
        (
            MODEM,
            SIMPLE,
            "Connect",
            &["a{sv}", "2", "apn", "s", "internet", "pin", "u", "1234"],
            "Simple.Connect: 'pin' must be a string (s), not u",
        ),
        (
            MODEM,
            SIMPLE,
            "Connect",
            &["a{sv}", "1", "allow-roaming", "s", "yes"],
            "Simple.Connect: 'allow-roaming' must be a boolean (b), not s",
        ),
        (
            MODEM,
            SIMPLE,
            "Disconnect",
            &["s", "/"],
            "org.freedesktop.ModemManager1.Modem.Simple.Disconnect takes (o), not (s)",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "CreateBearer",
            &["a{sv}", "2", "apn", "s", "internet", "ip-type", "u", "9"],
            "CreateBearer: 'ip-type' is one of 1 (ipv4), 2 (ipv6), 4 (ipv4v6), not 9",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "CreateBearer",
            &["a{ss}", "1", "apn", "internet"],
            "org.freedesktop.ModemManager1.Modem.CreateBearer takes (a{sv}), not (a{ss})",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "SetPowerState",
            &["s", "on"],
            "org.freedesktop.ModemManager1.Modem.SetPowerState takes (u), not (s)",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "SetPowerState",
            &["u", "7"],
            "SetPowerState: 7 is no power state (1 off, 2 low, 3 on)",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "Enable",
            &["u", "0"],
            "org.freedesktop.ModemManager1.Modem.Enable takes (b), not (u)",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "SetPrimarySimSlot",
            &["s", "2"],
            "org.freedesktop.ModemManager1.Modem.SetPrimarySimSlot takes (u), not (s)",
        ),
        (
            MODEM,
            MODEM_IFACE,
            "SetPrimarySimSlot",
            &["u", "0"],
            "SetPrimarySimSlot: no SIM slot 0: this modem's slots are 1 to 2",
        ),
        (
            MODEM,
            "org.freedesktop.ModemManager1.Modem.Modem3gpp",
            "Register",
            &["u", "101"],
            "org.freedesktop.ModemManager1.Modem.Modem3gpp.Register takes (s), not (u)",
        ),
        (
            MODEM,
            "org.freedesktop.ModemManager1.Modem.Signal",
            "Setup",
            &["i", "5"],
            "org.freedesktop.ModemManager1.Modem.Signal.Setup takes (u), not (i)",
        ),
        (
            SIM_0,
            "org.freedesktop.ModemManager1.Sim",
            "SendPin",
            &["u", "1234"],
            "org.freedesktop.ModemManager1.Sim.SendPin takes (s), not (u)",
        ),
        (
            SIM_0,
            "org.freedesktop.ModemManager1.Sim",
            "SendPin",
            &["s", "12ab"],
            "Sim.SendPin: the PIN is 4 to 8 digits",
        ),
        (
            SIM_0,
            "org.freedesktop.ModemManager1.Sim",
            "SendPuk",
            &["ss", "1234", "1234"],
            "Sim.SendPuk: the PUK is 8 digits",
        ),
        (
            SIM_0,
            "org.freedesktop.ModemManager1.Sim",
            "EnablePin",
            &["ss", "1234", "yes"],
            "org.freedesktop.ModemManager1.Sim.EnablePin takes (sb), not (ss)",
        ),
        (
            SIM_0,
            "org.freedesktop.ModemManager1.Sim",
            "ChangePin",
            &["ss", "1234", "12"],
            "Sim.ChangePin: the new PIN is 4 to 8 digits",
        ),
    ];
    for (path, interface, member, args, message) in table {
        let (name, said) = lab.busctl_refused(path, interface, member, args);
        assert_eq!(name, INVALID, "{member} {args:?}: {said}");
        assert_eq!(&said, message, "{member} {args:?}");
    }
    // Nothing changed: mbimd's own session and configuration, the radio,
    // the slot, the sessions still mbimd's.
    let generic = modem(&lab, "0")["generic"].clone();
    assert_eq!(generic["state"], "connected");
    assert_eq!(generic["power-state"], "on");
    assert_eq!(generic["primary-sim-slot"], "1");
    assert!(lab
        .addresses("mbim0e0")
        .contains(&"10.64.0.2/30".to_owned()));
    let log = lab.mbimd_log();
    assert!(
        !log.contains("from now on modems connect when a ModemManager client asks"),
        "{log}"
    );
}

/// `mmcli args…`, which must fail with `error` and say `message`.
fn mmcli_refused(lab: &Lab, args: &[&str], error: &str, message: &str) {
    let output = lab.mmcli(args);
    let said = text(&output);
    assert!(!output.status.success(), "mmcli {args:?} succeeded: {said}");
    assert!(
        said.contains(&format!("{error}: {message}")),
        "mmcli {args:?}: {said}"
    );
}

#[test]
fn register_modes_and_reset_are_mbims() {
    let Some(lab) = registered_lab("mmregister", "") else {
        return;
    };
    let gpp = |lab: &Lab| modem(lab, "0")["3gpp"].clone();

    // Modes: the data classes the simulated modem lists (UMTS, LTE), all
    // allowed; mbimd never narrows them.
    let generic = modem(&lab, "0")["generic"].clone();
    assert_eq!(
        generic["supported-modes"],
        serde_json::json!(["allowed: 3g, 4g; preferred: none"]),
        "{generic}"
    );
    assert_eq!(
        generic["current-modes"], "allowed: 3g, 4g; preferred: none",
        "{generic}"
    );
    let output = lab.mmcli(&["-m", "0", "--set-allowed-modes=3g|4g"]);
    assert!(output.status.success(), "{}", text(&output));
    mmcli_refused(
        &lab,
        &["-m", "0", "--set-allowed-modes=4g"],
        "org.freedesktop.ModemManager1.Error.Core.Unsupported",
        "Modem.SetCurrentModes: this modem does not say which technologies it prefers \
         (MBIMEx 2.0), so it uses every one it supports (allowed 0xc); asked: allowed 0x8",
    );

    // Manual registration with the other network the modem sees, then a
    // network it does not see (refused, nothing changed), then home again.
    let output = lab.mmcli(&["-m", "0", "--3gpp-register-in-operator=00102"]);
    assert!(output.status.success(), "{}", text(&output));
    let now = gpp(&lab);
    assert_eq!(now["operator-code"], "00102", "{now}");
    assert_eq!(now["operator-name"], "Elsewhere", "{now}");
    assert_eq!(now["registration-state"], "roaming", "{now}");
    mmcli_refused(
        &lab,
        &["-m", "0", "--3gpp-register-in-operator=00199"],
        "org.freedesktop.ModemManager1.Error.MobileEquipment.NoNetwork",
        "Modem.Modem3gpp.Register: the modem sees no network 00199",
    );
    assert_eq!(gpp(&lab)["operator-code"], "00102");
    mmcli_refused(
        &lab,
        &["-m", "0", "--3gpp-register-in-operator=home"],
        "org.freedesktop.ModemManager1.Error.Core.InvalidArgs",
        "Modem.Modem3gpp.Register: an operator id is its MCC and MNC, 5 or 6 digits",
    );
    let output = lab.mmcli(&["-m", "0", "--3gpp-register-home"]);
    assert!(output.status.success(), "{}", text(&output));
    let now = gpp(&lab);
    assert_eq!(now["operator-code"], "00101", "{now}");
    assert_eq!(now["registration-state"], "home", "{now}");

    // One bearer per session the modem carries (MaxBearers 4): a fifth is
    // refused until one is deleted.
    let mut created = Vec::new();
    for apn in ["internet", "ims", "mms", "other"] {
        let output = lab.mmcli(&["-m", "0", &format!("--create-bearer=apn={apn}")]);
        assert!(output.status.success(), "{}", text(&output));
        let bearers = modem(&lab, "0")["generic"]["bearers"].clone();
        created = bearers
            .as_array()
            .unwrap()
            .iter()
            .map(|path| path.as_str().unwrap().to_owned())
            .collect();
    }
    assert_eq!(created.len(), 4, "{created:?}");
    mmcli_refused(
        &lab,
        &["-m", "0", "--create-bearer=apn=fifth"],
        "org.freedesktop.ModemManager1.Error.Core.TooMany",
        "Modem.CreateBearer: the modem has room for 4 bearer(s) (MaxBearers, one per session \
         it carries) and has 4; delete one first",
    );
    for path in &created {
        let output = lab.mmcli(&["-m", "0", &format!("--delete-bearer={path}")]);
        assert!(output.status.success(), "{}", text(&output));
    }
    assert_eq!(
        modem(&lab, "0")["generic"]["bearers"],
        serde_json::json!([])
    );

    // Simple.Connect with an operator registers with it first.
    let output = lab.mmcli(&[
        "-m",
        "0",
        "--simple-connect=apn=internet,operator-id=00102,allow-roaming=yes",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let now = gpp(&lab);
    assert_eq!(now["operator-code"], "00102", "{now}");
    assert_eq!(state(&lab, "0"), "connected");
    let output = lab.mmcli(&["-m", "0", "--simple-disconnect"]);
    assert!(output.status.success(), "{}", text(&output));
    let output = lab.mmcli(&["-m", "0", "--3gpp-register-home"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(gpp(&lab)["operator-code"], "00101");

    mmcli_refused(
        &lab,
        &["-m", "0", "--factory-reset=1234"],
        "org.freedesktop.ModemManager1.Error.Core.Unsupported",
        "FactoryReset: MBIM has no factory reset",
    );

    // Reset: DEVICE_RESET; the modem leaves the bus and comes back, and is
    // found anew, as ModemManager's modems after a reset: a new object.
    let output = lab.mmcli(&["-m", "0", "--reset"]);
    assert!(output.status.success(), "{}", text(&output));
    lab.wait_until("the modem back as Modem/1", || {
        lab.mmcli(&["-J", "-L"]).status.success()
            && lab.mmcli_json(&["-L"])["modem-list"]
                == serde_json::json!(["/org/freedesktop/ModemManager1/Modem/1"])
    });
    wait_for_state(&lab, "1", "registered");
    let log = lab.mbimd_log();
    assert!(log.contains("the device is resetting"), "{log}");
    assert_eq!(log.matches("session open").count(), 2, "{log}");
}

#[test]
fn a_modem_without_device_reset_refuses_reset() {
    let Some(mut lab) = Lab::new("mmnoreset") else {
        return;
    };
    // The simulated DSSA modem without DEVICE_RESET.
    let dssa = std::fs::read_to_string(scenario("dssa")).unwrap();
    assert!(dssa.contains("\ndevice_reset = true\n"));
    let path = lab.dir.join("no-reset.toml");
    std::fs::write(
        &path,
        dssa.replace("\ndevice_reset = true\n", "\ndevice_reset = false\n"),
    )
    .unwrap();
    lab.start_mbimd(API_ON, &["--simulate", path.to_str().unwrap()]);
    wait_for_state(&lab, "0", "registered");
    mmcli_refused(
        &lab,
        &["-m", "0", "--reset"],
        "org.freedesktop.ModemManager1.Error.Core.Unsupported",
        "Modem.Reset: this modem does not offer DEVICE_RESET",
    );
    wait_for_state(&lab, "0", "registered");
}

#[test]
fn modes_are_switched_where_the_modem_says_what_it_prefers() {
    let Some(mut lab) = Lab::new("mmmodes") else {
        return;
    };
    // The simulated DSSA modem with MBIMEx 3.0: REGISTER_STATE carries the
    // data classes it prefers.
    let dssa = std::fs::read_to_string(scenario("dssa")).unwrap();
    assert!(dssa.contains("\nmbimex = 1\n"));
    let path = lab.dir.join("mbimex3.toml");
    std::fs::write(&path, dssa.replace("\nmbimex = 1\n", "\nmbimex = 3\n")).unwrap();
    lab.start_mbimd(API_ON, &["--simulate", path.to_str().unwrap()]);
    wait_for_state(&lab, "0", "registered");
    let generic = modem(&lab, "0")["generic"].clone();
    assert_eq!(
        generic["supported-modes"],
        serde_json::json!([
            "allowed: 3g, 4g; preferred: none",
            "allowed: 3g; preferred: none",
            "allowed: 4g; preferred: none"
        ]),
        "{generic}"
    );
    assert_eq!(generic["current-modes"], "allowed: 3g, 4g; preferred: none");
    assert_eq!(generic["access-technologies"], serde_json::json!(["lte"]));

    // 3G only: the modem prefers UMTS and leaves LTE.
    let output = lab.mmcli(&["-m", "0", "--set-allowed-modes=3g"]);
    assert!(output.status.success(), "{}", text(&output));
    let generic = modem(&lab, "0")["generic"].clone();
    assert_eq!(
        generic["current-modes"], "allowed: 3g; preferred: none",
        "{generic}"
    );
    assert_eq!(generic["access-technologies"], serde_json::json!(["umts"]));

    // What MBIM cannot do, refused, nothing changed.
    mmcli_refused(
        &lab,
        &["-m", "0", "--set-allowed-modes=2g"],
        "org.freedesktop.ModemManager1.Error.Core.Unsupported",
        "Modem.SetCurrentModes: the modem supports the modes 0xc; asked: allowed 0x2",
    );
    mmcli_refused(
        &lab,
        &[
            "-m",
            "0",
            "--set-allowed-modes=3g|4g",
            "--set-preferred-mode=4g",
        ],
        "org.freedesktop.ModemManager1.Error.Core.Unsupported",
        "Modem.SetCurrentModes: MBIM has no preferred mode among those allowed",
    );
    assert_eq!(
        modem(&lab, "0")["generic"]["current-modes"],
        "allowed: 3g; preferred: none"
    );

    // Any: every mode again.
    let output = lab.mmcli(&["-m", "0", "--set-allowed-modes=any"]);
    assert!(output.status.success(), "{}", text(&output));
    let generic = modem(&lab, "0")["generic"].clone();
    assert_eq!(
        generic["current-modes"], "allowed: 3g, 4g; preferred: none",
        "{generic}"
    );
    assert_eq!(generic["access-technologies"], serde_json::json!(["lte"]));
}
