//! The D-Bus service on a private dbus-daemon, driven with busctl (and
//! dbus-send where the D-Bus error's name matters), with the test playing
//! the modem's supervisor.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use mbimd::dbus::{self, AccessPolicy, Bus, DbusError, BUS_NAME};
use mbimd::executor::{ExecutorCommand, Profile, Secret};
use mbimd::modem::SlotSignal;
use mbimd::policy::{OnRemoval, SlotPolicyConfig};
use serde_json::json;
use std::sync::Arc;

const MODEM: &str = "/dev/mbimd/Mbimd1/Modem0";
const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";
const SLOT0: &str = "/dev/mbimd/Mbimd1/Modem0/Slot0";
const SLOT1: &str = "/dev/mbimd/Mbimd1/Modem0/Slot1";
const MANAGER: &str = "/dev/mbimd/Mbimd1";

const EXECUTOR1: &str = "dev.mbimd.Executor1";
const MODEM1: &str = "dev.mbimd.Modem1";
const SLOT1_IFACE: &str = "dev.mbimd.Slot1";

macro_rules! root_only {
    () => {
        if !is_root() {
            eprintln!("skipped: running busctl as another uid needs root");
            return;
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_and_the_object_manager_list_every_object() {
    let fixture = Fixture::start(None).await;
    let tree = busctl(&fixture.bus, None, &["tree", "--list", BUS_NAME]).await;
    for path in [MANAGER, MODEM, EXECUTOR, SLOT0, SLOT1] {
        assert!(
            tree.out().lines().any(|line| line.trim() == path),
            "{path} missing from {}",
            tree.stdout
        );
    }
    let objects = call(
        &fixture.bus,
        None,
        MANAGER,
        "org.freedesktop.DBus.ObjectManager",
        "GetManagedObjects",
        &[],
    )
    .await;
    let objects: serde_json::Value = serde_json::from_str(objects.out()).unwrap();
    let objects = &objects["data"][0];
    assert_eq!(
        objects[EXECUTOR][EXECUTOR1]["State"],
        json!({"type": "s", "data": "connected"})
    );
    assert_eq!(
        objects[SLOT1][SLOT1_IFACE]["State"],
        json!({"type": "s", "data": "active-esim-no-profiles"})
    );
    assert_eq!(
        objects[MODEM][MODEM1]["Slots"]["data"],
        json!([SLOT0, SLOT1])
    );
    // A listing goes to whoever asks: personal data masked.
    assert_eq!(
        objects[EXECUTOR][EXECUTOR1]["Iccid"]["data"],
        "89490**************"
    );
    assert_eq!(
        get_property(&fixture.bus, None, MANAGER, "dev.mbimd.Manager1", "Modems").await,
        json!([MODEM])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn properties_show_the_snapshot_in_the_documented_forms() {
    let fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    let cases: &[(&str, &str, &str, serde_json::Value)] = &[
        (MODEM, MODEM1, "UsbVendorId", json!(0x1234)),
        (MODEM, MODEM1, "NumberOfExecutors", json!(1)),
        (MODEM, MODEM1, "NumberOfSlots", json!(2)),
        (MODEM, MODEM1, "Executors", json!([EXECUTOR])),
        (MODEM, MODEM1, "SlotMapping", json!([0])),
        (MODEM, MODEM1, "SlotPolicyActive", json!(true)),
        (MODEM, MODEM1, "OnRemoval", json!("suggest")),
        (EXECUTOR, EXECUTOR1, "Index", json!(0)),
        (EXECUTOR, EXECUTOR1, "State", json!("connected")),
        (EXECUTOR, EXECUTOR1, "ReadyState", json!("initialized")),
        (EXECUTOR, EXECUTOR1, "RadioOn", json!(true)),
        (EXECUTOR, EXECUTOR1, "PinType", json!("none")),
        (EXECUTOR, EXECUTOR1, "PinState", json!("unlocked")),
        (EXECUTOR, EXECUTOR1, "PinRetriesLeft", json!(3)),
        (EXECUTOR, EXECUTOR1, "RegistrationState", json!("home")),
        (EXECUTOR, EXECUTOR1, "PacketService", json!("attached")),
        (EXECUTOR, EXECUTOR1, "Slot", json!(0)),
        (EXECUTOR, EXECUTOR1, "Netdev", json!("mbim0e0")),
        (EXECUTOR, EXECUTOR1, "Transport", json!("usbfs")),
        (EXECUTOR, EXECUTOR1, "Ipv4Addresses", json!(["10.0.0.2/24"])),
        (EXECUTOR, EXECUTOR1, "Ipv4Gateway", json!("10.0.0.1")),
        (EXECUTOR, EXECUTOR1, "Dns", json!(["10.0.0.53"])),
        (EXECUTOR, EXECUTOR1, "Mtu", json!(1428)),
        (EXECUTOR, EXECUTOR1, "RxBytes", json!(500)),
        (EXECUTOR, EXECUTOR1, "TxPackets", json!(4)),
        // Session 0's share is the totals less the IMS session's.
        (
            EXECUTOR,
            EXECUTOR1,
            "SessionTraffic",
            json!([[0, 400, 4, 360, 3], [1, 100, 1, 40, 1]]),
        ),
        (SLOT0, SLOT1_IFACE, "Kind", json!("physical")),
        (SLOT0, SLOT1_IFACE, "State", json!("active")),
        (SLOT0, SLOT1_IFACE, "Executor", json!(EXECUTOR)),
        (SLOT1, SLOT1_IFACE, "Kind", json!("embedded")),
        (SLOT1, SLOT1_IFACE, "Executor", json!("/")),
    ];
    for (path, interface, name, expected) in cases {
        assert_eq!(
            &get_property(bus, None, path, interface, name).await,
            expected,
            "{path} {name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iccid_and_imsi_are_clear_for_root_and_masked_for_others() {
    root_only!();
    let fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    for (path, interface, name, clear, masked) in [
        (EXECUTOR, EXECUTOR1, "Iccid", ICCID, "89490**************"),
        (EXECUTOR, EXECUTOR1, "Imsi", IMSI, "00101**********"),
        (SLOT0, SLOT1_IFACE, "Iccid", ICCID, "89490**************"),
    ] {
        assert_eq!(
            get_property(bus, None, path, interface, name).await,
            json!(clear)
        );
        assert_eq!(
            get_property(bus, Some(NOBODY), path, interface, name).await,
            json!(masked)
        );
    }
    // GetAll answers per caller too.
    let all = busctl(
        bus,
        Some(NOBODY),
        &[
            "--json=short",
            "call",
            BUS_NAME,
            EXECUTOR,
            "org.freedesktop.DBus.Properties",
            "GetAll",
            "s",
            EXECUTOR1,
        ],
    )
    .await;
    assert!(!all.out().contains(ICCID), "{}", all.stdout);
    assert!(all.out().contains("89490**************"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_change_emits_exactly_the_properties_that_changed() {
    let fixture = Fixture::start(None).await;
    let mut monitor = Monitor::start(&fixture.bus);
    fixture.modem.snapshot.send_modify(|snapshot| {
        let executor = &mut snapshot.executors[0];
        executor.status.rssi = Some(25);
        executor.counters.rx_bytes = 900;
        executor.status.iccid = "8949000099999999999".to_owned();
        snapshot.slots[1].state =
            Some(mbim_protocol::services::ms_basic_connect_extensions::UiccSlotState::Empty);
    });
    let signal = monitor.signal(EXECUTOR, "PropertiesChanged").await;
    assert_eq!(
        signal["payload"]["data"],
        json!([
            EXECUTOR1,
            {
                "Rssi": {"type": "u", "data": 25},
                "RxBytes": {"type": "t", "data": 900},
                // Session 0's share follows the totals.
                "SessionTraffic": {
                    "type": "a(utttt)",
                    "data": [[0, 800, 4, 360, 3], [1, 100, 1, 40, 1]]
                }
            },
            ["Iccid"]
        ])
    );
    let signal = monitor.signal(SLOT1, "PropertiesChanged").await;
    assert_eq!(
        signal["payload"]["data"],
        json!([SLOT1_IFACE, {"State": {"type": "s", "data": "empty"}}, []])
    );
    // The new value is what Get returns.
    assert_eq!(
        get_property(&fixture.bus, None, EXECUTOR, EXECUTOR1, "Rssi").await,
        json!(25)
    );
    assert_eq!(
        get_property(&fixture.bus, None, EXECUTOR, EXECUTOR1, "Iccid").await,
        json!("8949000099999999999")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modems_executors_and_slots_come_and_go_with_interfaces_added_and_removed() {
    let fixture = Fixture::start(None).await;
    let mut monitor = Monitor::start(&fixture.bus);

    let (handle, _second) = fake_modem(dssa_snapshot(1));
    fixture.registry.insert(1, handle);
    let added = monitor.signal(MANAGER, "InterfacesAdded").await;
    assert_eq!(added["payload"]["data"][0], "/dev/mbimd/Mbimd1/Modem1");
    assert_eq!(
        added["payload"]["data"][1][MODEM1]["Model"]["data"],
        "Test Modem"
    );
    let modems = monitor.signal(MANAGER, "PropertiesChanged").await;
    assert_eq!(
        modems["payload"]["data"][1]["Modems"]["data"],
        json!([MODEM, "/dev/mbimd/Mbimd1/Modem1"])
    );
    let tree = busctl(&fixture.bus, None, &["tree", "--list", BUS_NAME]).await;
    assert!(tree.out().contains("/dev/mbimd/Mbimd1/Modem1/Slot1"));

    // A second executor appears in modem 0's snapshot.
    fixture.modem.snapshot.send_modify(|snapshot| {
        let mut second = connected_executor();
        second.status.executor = 1;
        snapshot.executors.push(second);
    });
    let added = monitor
        .wait_for("InterfacesAdded of Executor1", |message| {
            message["member"] == "InterfacesAdded"
                && message["payload"]["data"][0] == "/dev/mbimd/Mbimd1/Modem0/Executor1"
        })
        .await;
    assert_eq!(added["payload"]["data"][1][EXECUTOR1]["Index"]["data"], 1);
    let changed = monitor.signal(MODEM, "PropertiesChanged").await;
    assert_eq!(
        changed["payload"]["data"][1]["NumberOfExecutors"]["data"],
        2
    );

    // …and goes again.
    fixture.modem.snapshot.send_modify(|snapshot| {
        snapshot.executors.pop();
    });
    monitor
        .wait_for("InterfacesRemoved of Executor1", |message| {
            message["member"] == "InterfacesRemoved"
                && message["payload"]["data"][0] == "/dev/mbimd/Mbimd1/Modem0/Executor1"
        })
        .await;

    // Modem 1 leaves: its children and itself are removed.
    fixture.registry.remove(1);
    monitor
        .wait_for("InterfacesRemoved of Modem1", |message| {
            message["member"] == "InterfacesRemoved"
                && message["payload"]["data"][0] == "/dev/mbimd/Mbimd1/Modem1"
        })
        .await;
    let tree = busctl(&fixture.bus, None, &["tree", "--list", BUS_NAME]).await;
    assert!(
        !tree.out().contains("/dev/mbimd/Mbimd1/Modem1"),
        "{}",
        tree.stdout
    );
    assert!(tree.out().contains(EXECUTOR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_reach_the_supervisor_as_the_right_requests() {
    let mut fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    let x = |command| Seen::Executor(0, command);
    call(bus, None, EXECUTOR, EXECUTOR1, "EnterPin", &["s", "1234"])
        .await
        .out();
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::EnterPin(Secret::new("1234")))
    );
    call(
        bus,
        None,
        EXECUTOR,
        EXECUTOR1,
        "EnterPuk",
        &["ss", "12345678", "4321"],
    )
    .await
    .out();
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::EnterPuk {
            puk: Secret::new("12345678"),
            new_pin: Secret::new("4321")
        })
    );
    call(
        bus,
        None,
        EXECUTOR,
        EXECUTOR1,
        "ChangePin",
        &["ss", "1234", "87654321"],
    )
    .await
    .out();
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::ChangePin {
            old: Secret::new("1234"),
            new: Secret::new("87654321")
        })
    );
    call(
        bus,
        None,
        EXECUTOR,
        EXECUTOR1,
        "SetPinEnabled",
        &["sb", "1234", "false"],
    )
    .await
    .out();
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::SetPinEnabled {
            pin: Secret::new("1234"),
            enabled: false
        })
    );
    call(bus, None, EXECUTOR, EXECUTOR1, "SetRadio", &["b", "true"])
        .await
        .out();
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::SetRadio(true))
    );
    call(bus, None, EXECUTOR, EXECUTOR1, "Disconnect", &[])
        .await
        .out();
    assert_eq!(fixture.modem.next().await, x(ExecutorCommand::Disconnect));
    call(bus, None, EXECUTOR, EXECUTOR1, "Connect", &["a{sv}", "0"])
        .await
        .out();
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::Connect(None))
    );
    call(
        bus,
        None,
        EXECUTOR,
        EXECUTOR1,
        "Connect",
        &[
            "a{sv}",
            "3",
            "apn",
            "s",
            "other.apn",
            "route-metric",
            "u",
            "77",
            "auth",
            "s",
            "chap",
        ],
    )
    .await
    .out();
    // No profile is configured, so the overrides stand alone.
    let mut expected = Profile::new("dbus", "other.apn");
    expected.route_metric = Some(77);
    expected.auth = mbimd::executor::Auth::Chap;
    assert_eq!(
        fixture.modem.next().await,
        x(ExecutorCommand::Connect(Some(expected)))
    );

    call(bus, None, MODEM, MODEM1, "SwitchToSlot", &["u", "1"])
        .await
        .out();
    assert_eq!(fixture.modem.next().await, Seen::SwitchToSlot(1));
    let mapping = call(
        bus,
        None,
        MODEM,
        MODEM1,
        "SetSlotMapping",
        &["au", "1", "1"],
    )
    .await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(mapping.out()).unwrap()["data"],
        json!([[1]])
    );
    assert_eq!(fixture.modem.next().await, Seen::SetSlotMapping(vec![1]));
    let checks = call(bus, None, MODEM, MODEM1, "TestSlots", &[]).await;
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(checks.out()).unwrap()["data"],
        json!([[
            ["QuerySlotMapping", true, "slot 0"],
            ["ValidateSlotInfoState", false, "slot 1 undetermined"]
        ]])
    );
    assert_eq!(fixture.modem.next().await, Seen::TestSlots);
    call(
        bus,
        None,
        MODEM,
        MODEM1,
        "SetSlotPolicy",
        &["sb", "switch", "true"],
    )
    .await
    .out();
    assert_eq!(
        fixture.modem.next().await,
        Seen::SetPolicy(SlotPolicyConfig {
            on_removal: OnRemoval::Switch,
            auto_switch: true
        })
    );
    call(bus, None, MANAGER, "dev.mbimd.Manager1", "Reload", &[])
        .await
        .out();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_overrides_build_on_the_executors_profile() {
    let bus = PrivateBus::start();
    let registry = mbimd::modem::Registry::new();
    let (handle, mut modem) = fake_modem(dssa_snapshot(0));
    registry.insert(0, handle);
    let mut config = mbimd::config::Config::default();
    let mut internet = Profile::new("internet", "internet.example");
    internet.user = "alice".to_owned();
    config.profiles.push(Profile::new("other", "other.example"));
    config.profiles.push(internet.clone());
    let _service = dbus::serve(
        Bus::Address(bus.address.clone()),
        registry,
        Arc::new(config),
        AccessPolicy::default(),
        reloader(None),
    )
    .await
    .unwrap();
    call(
        &bus,
        None,
        EXECUTOR,
        EXECUTOR1,
        "Connect",
        &["a{sv}", "1", "ip-type", "s", "ipv6"],
    )
    .await
    .out();
    // The snapshot says the executor connected with "internet".
    let mut expected = internet;
    expected.ip_type = mbimd::executor::IpType::Ipv6;
    assert_eq!(
        modem.next().await,
        Seen::Executor(0, ExecutorCommand::Connect(Some(expected)))
    );
}

/// The D-Bus error name dbus-send reports, and its message.
fn error_of(run: &Run) -> &str {
    assert!(!run.ok, "succeeded: {run:?}");
    run.stderr.trim()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_before_anything_is_sent() {
    let mut fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    let invalid = "Error org.freedesktop.DBus.Error.InvalidArgs";
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            EXECUTOR,
            "dev.mbimd.Executor1.EnterPin",
            &["string:12a4"],
            "EnterPin: pin must be 4 to 8 digits",
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.EnterPin",
            &["string:123"],
            "4 to 8 digits",
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.EnterPin",
            &["string:123456789"],
            "4 to 8 digits",
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.EnterPuk",
            &["string:1234567", "string:1234"],
            "puk must be 8 digits",
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.ChangePin",
            &["string:1234", "string:12"],
            "new must be 4 to 8 digits",
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.SetPinEnabled",
            &["string:", "boolean:true"],
            "pin must be",
        ),
        (
            MODEM,
            "dev.mbimd.Modem1.SwitchToSlot",
            &["uint32:2"],
            "no slot 2: the modem's slots are 0 to 1",
        ),
        (
            MODEM,
            "dev.mbimd.Modem1.SetSlotMapping",
            &["array:uint32:0,1"],
            "2 slot(s) given, the modem has 1 executor(s)",
        ),
        (
            MODEM,
            "dev.mbimd.Modem1.SetSlotMapping",
            &["array:uint32:7"],
            "no slot 7",
        ),
        (
            MODEM,
            "dev.mbimd.Modem1.SetSlotPolicy",
            &["string:ask", "boolean:false"],
            "suggest, switch or stay, not \"ask\"",
        ),
    ];
    for (path, member, args, message) in cases {
        let run = dbus_send(bus, None, path, member, args).await;
        let error = error_of(&run);
        assert!(error.starts_with(invalid), "{member} {args:?}: {error}");
        assert!(error.contains(message), "{member} {args:?}: {error}");
        assert!(
            !error.contains("12a4") && !error.contains("1234567"),
            "a PIN leaked: {error}"
        );
    }
    // busctl says the same; dbus-send cannot send a{sv}, so Connect's
    // overrides are checked with busctl alone.
    let busctl_cases: &[(&str, &[&str], &str)] = &[
        (
            "EnterPin",
            &["s", "12"],
            "EnterPin: pin must be 4 to 8 digits",
        ),
        (
            "Connect",
            &["a{sv}", "1", "colour", "s", "red"],
            "unknown key \"colour\"",
        ),
        (
            "Connect",
            &["a{sv}", "1", "route-metric", "s", "5"],
            "\"route-metric\" must be a uint32 (u), not s",
        ),
        (
            "Connect",
            &["a{sv}", "1", "auth", "s", "kerberos"],
            "not \"kerberos\"",
        ),
        (
            "Connect",
            &["a{sv}", "1", "ip-type", "u", "4"],
            "\"ip-type\" must be a string",
        ),
        (
            "Connect",
            &["a{sv}", "1", "user", "s", "bob"],
            "no configured profile for this SIM, so \"apn\" must be given",
        ),
        // The rules of the configuration file's profiles.
        (
            "Connect",
            &[
                "a{sv}",
                "2",
                "apn",
                "s",
                "internet",
                "route-metric",
                "u",
                "0",
            ],
            "\"route-metric\": a route metric must be 1 to 4294967295",
        ),
        (
            "Connect",
            &["a{sv}", "1", "apn", "s", "inter\u{1b}net"],
            "\"apn\": the APN has a control character (U+001B) at character 6",
        ),
        (
            "Connect",
            &[
                "a{sv}", "2", "apn", "s", "internet", "password", "s", "se\ncret",
            ],
            "\"password\": the password has a control character",
        ),
    ];
    for (method, args, message) in busctl_cases {
        let run = call(bus, None, EXECUTOR, EXECUTOR1, method, args).await;
        assert!(
            !run.ok && run.stderr.contains(message),
            "{method} {args:?}: {run:?}"
        );
        assert!(!run.stderr.contains("cret"), "a password leaked: {run:?}");
    }
    // The audit's 100,000-character APN, with the error's name as a client
    // library sees it.
    let client = zbus::connection::Builder::address(bus.address.as_str())
        .unwrap()
        .build()
        .await
        .unwrap();
    let apn = "a".repeat(100_000);
    let overrides = std::collections::HashMap::from([("apn", zbus::zvariant::Value::from(&apn))]);
    let refused = client
        .call_method(
            Some(BUS_NAME),
            EXECUTOR,
            Some(EXECUTOR1),
            "Connect",
            &(overrides,),
        )
        .await
        .unwrap_err();
    match refused {
        zbus::Error::MethodError(name, Some(message), _) => {
            assert_eq!(name.as_str(), "org.freedesktop.DBus.Error.InvalidArgs");
            assert_eq!(
                message,
                "Connect: \"apn\": the APN is 100000 characters long; MBIM carries at most 100"
            );
        }
        other => panic!("{other:?}"),
    }
    // Nothing reached the supervisor: the next request it sees is this one.
    call(bus, None, EXECUTOR, EXECUTOR1, "SetRadio", &["b", "true"])
        .await
        .out();
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_other_than_root_and_the_group_are_refused() {
    root_only!();
    let mut fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    let denied = "Error org.freedesktop.DBus.Error.AccessDenied";
    let cases: &[(&str, &str, &[&str])] = &[
        (MANAGER, "dev.mbimd.Manager1.Reload", &[]),
        (
            MODEM,
            "dev.mbimd.Modem1.SetSlotMapping",
            &["array:uint32:1"],
        ),
        (MODEM, "dev.mbimd.Modem1.SwitchToSlot", &["uint32:1"]),
        (MODEM, "dev.mbimd.Modem1.TestSlots", &[]),
        (
            MODEM,
            "dev.mbimd.Modem1.SetSlotPolicy",
            &["string:stay", "boolean:false"],
        ),
        (EXECUTOR, "dev.mbimd.Executor1.Disconnect", &[]),
        (EXECUTOR, "dev.mbimd.Executor1.EnterPin", &["string:1234"]),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.EnterPuk",
            &["string:12345678", "string:1234"],
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.ChangePin",
            &["string:1234", "string:4321"],
        ),
        (
            EXECUTOR,
            "dev.mbimd.Executor1.SetPinEnabled",
            &["string:1234", "boolean:true"],
        ),
        (EXECUTOR, "dev.mbimd.Executor1.SetRadio", &["boolean:false"]),
        // Refused even with a bad argument: who asks is checked first.
        (EXECUTOR, "dev.mbimd.Executor1.EnterPin", &["string:x"]),
    ];
    for (path, member, args) in cases {
        let run = dbus_send(bus, Some(NOBODY), path, member, args).await;
        let error = error_of(&run);
        assert!(error.starts_with(denied), "{member}: {error}");
    }
    for (method, args) in [
        ("Disconnect", &[][..]),
        ("Connect", &["a{sv}", "1", "apn", "s", "x"][..]),
    ] {
        let run = call(bus, Some(NOBODY), EXECUTOR, EXECUTOR1, method, args).await;
        assert!(
            // sd-bus shows AccessDenied as EACCES's text, not the message.
            !run.ok && run.stderr.contains("Access denied"),
            "{run:?}"
        );
    }
    // Reading stays open to everyone.
    assert_eq!(
        get_property(bus, Some(NOBODY), EXECUTOR, EXECUTOR1, "State").await,
        json!("connected")
    );
    // Nothing reached the supervisor.
    call(bus, None, EXECUTOR, EXECUTOR1, "Disconnect", &[])
        .await
        .out();
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::Disconnect)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_the_admin_group_may_change_things() {
    root_only!();
    let bus = PrivateBus::start();
    let registry = mbimd::modem::Registry::new();
    let (handle, mut modem) = fake_modem(dssa_snapshot(0));
    registry.insert(0, handle);
    let _service = dbus::serve(
        Bus::Address(bus.address.clone()),
        registry,
        Arc::new(mbimd::config::Config::default()),
        AccessPolicy {
            admin_group: Some(4242),
        },
        reloader(None),
    )
    .await
    .unwrap();
    let busctl = mbimd_test_support::tools::BUSCTL.path();
    let run = run_as(
        None,
        mbimd_test_support::tools::SETPRIV.path(),
        [
            "--reuid=65534",
            "--regid=65534",
            "--groups=4242",
            &busctl.display().to_string(),
            &format!("--address={}", bus.address),
            "call",
            BUS_NAME,
            EXECUTOR,
            EXECUTOR1,
            "SetRadio",
            "b",
            "true",
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect(),
    )
    .await;
    run.out();
    assert_eq!(
        modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(true))
    );
    assert_eq!(
        get_property(&bus, Some(NOBODY), EXECUTOR, EXECUTOR1, "Imsi").await,
        json!("00101**********")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_a_property_is_refused_as_read_only() {
    let mut fixture = Fixture::start(None).await;
    let bus = &fixture.bus;
    // Every property of mbimd is read-only; an unknown one is unknown.
    let cases = [
        (
            EXECUTOR,
            EXECUTOR1,
            "State",
            "string:idle",
            "PropertyReadOnly",
        ),
        (EXECUTOR, EXECUTOR1, "Index", "uint32:3", "PropertyReadOnly"),
        (EXECUTOR, EXECUTOR1, "Imsi", "string:0", "PropertyReadOnly"),
        (
            MODEM,
            MODEM1,
            "AutoSwitch",
            "boolean:true",
            "PropertyReadOnly",
        ),
        (
            SLOT0,
            SLOT1_IFACE,
            "State",
            "string:active",
            "PropertyReadOnly",
        ),
        (
            MANAGER,
            "dev.mbimd.Manager1",
            "Version",
            "string:9",
            "PropertyReadOnly",
        ),
        (
            EXECUTOR,
            EXECUTOR1,
            "Colour",
            "string:red",
            "UnknownProperty",
        ),
    ];
    for (path, interface, property, value, error) in cases {
        let run = dbus_send(
            bus,
            None,
            path,
            "org.freedesktop.DBus.Properties.Set",
            &[
                &format!("string:{interface}"),
                &format!("string:{property}"),
                &format!("variant:{value}"),
            ],
        )
        .await;
        assert!(
            error_of(&run).starts_with(&format!("Error org.freedesktop.DBus.Error.{error}")),
            "{interface}.{property}: {run:?}"
        );
    }
    // Nothing reached the supervisor.
    call(bus, None, EXECUTOR, EXECUTOR1, "SetRadio", &["b", "true"])
        .await
        .out();
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_applies_a_new_admin_group_to_the_next_call() {
    root_only!();
    let bus = PrivateBus::start();
    let registry = mbimd::modem::Registry::new();
    let (handle, mut modem) = fake_modem(dssa_snapshot(0));
    registry.insert(0, handle);
    // What Reload reads: first a file naming group 4242, then one naming none.
    let admin_gids = Arc::new(std::sync::Mutex::new(vec![None, Some(4242)]));
    let reload: mbimd::dbus::Reloader = Arc::new(move || {
        let gid = admin_gids.lock().unwrap().pop().flatten();
        Box::pin(async move {
            let mut config = mbimd::config::Config::default();
            config.dbus.admin_gid = gid;
            Ok(Arc::new(config))
        })
    });
    let _service = dbus::serve(
        Bus::Address(bus.address.clone()),
        registry,
        Arc::new(mbimd::config::Config::default()),
        AccessPolicy { admin_group: None },
        reload,
    )
    .await
    .unwrap();
    let as_member = || {
        run_as(
            None,
            "setpriv",
            [
                "--reuid=65534",
                "--regid=65534",
                "--groups=4242",
                "busctl",
                &format!("--address={}", bus.address),
                "call",
                BUS_NAME,
                EXECUTOR,
                EXECUTOR1,
                "SetRadio",
                "b",
                "true",
            ]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect(),
        )
    };
    let refused = as_member().await;
    assert!(
        !refused.ok && refused.stderr.contains("Access denied"),
        "{refused:?}"
    );

    call(&bus, None, MANAGER, "dev.mbimd.Manager1", "Reload", &[])
        .await
        .out();
    as_member().await.out();
    assert_eq!(
        modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(true))
    );
    assert_eq!(
        get_property(&bus, Some(NOBODY), EXECUTOR, EXECUTOR1, "Imsi").await,
        json!("00101**********"),
        "a member without the group's gid still sees the masked IMSI"
    );

    // Reloaded without the group: refused again.
    call(&bus, None, MANAGER, "dev.mbimd.Manager1", "Reload", &[])
        .await
        .out();
    let refused = as_member().await;
    assert!(
        !refused.ok && refused.stderr.contains("Access denied"),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modem_and_configuration_failures_have_their_own_errors() {
    let mut fixture = Fixture::start(Some("/etc/mbimd/mbimd.toml:3:1: unknown key `colour`")).await;
    let bus = &fixture.bus;
    let run = dbus_send(
        bus,
        None,
        EXECUTOR,
        "dev.mbimd.Executor1.SetRadio",
        &["boolean:false"],
    )
    .await;
    assert_eq!(
        error_of(&run),
        "Error dev.mbimd.Error.Device: the device refused: radio off refused by the test"
    );
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::SetRadio(false))
    );
    // A device that does not answer is a timeout, not a refusal.
    let run = dbus_send(
        bus,
        None,
        EXECUTOR,
        "dev.mbimd.Executor1.EnterPin",
        &["string:0000"],
    )
    .await;
    assert_eq!(
        error_of(&run),
        "Error dev.mbimd.Error.Timeout: the device did not answer within 20 s"
    );
    assert_eq!(
        fixture.modem.next().await,
        Seen::Executor(0, ExecutorCommand::EnterPin(Secret::new("0000")))
    );
    let run = dbus_send(bus, None, MANAGER, "dev.mbimd.Manager1.Reload", &[]).await;
    assert_eq!(
        error_of(&run),
        "Error dev.mbimd.Error.Config: /etc/mbimd/mbimd.toml:3:1: unknown key `colour`"
    );
    // No slot policy: SwitchToSlot is not possible.
    fixture
        .modem
        .snapshot
        .send_modify(|snapshot| snapshot.policy_active = false);
    let run = dbus_send(
        bus,
        None,
        MODEM,
        "dev.mbimd.Modem1.SwitchToSlot",
        &["uint32:1"],
    )
    .await;
    assert!(
        error_of(&run).starts_with(
            "Error dev.mbimd.Error.NotPossible: SwitchToSlot: this modem has no slot policy"
        ),
        "{run:?}"
    );
    // The supervisor ended: Gone. The object is exported by the registry's
    // watcher, not by insert itself, so the call waits until it is there.
    let mut monitor = Monitor::start(bus);
    let (handle, endpoint) = mbimd::modem::modem_channel(dssa_snapshot(3));
    fixture.registry.insert(3, handle);
    drop(endpoint.requests);
    monitor
        .wait_for("InterfacesAdded of Modem3", |message| {
            message["member"] == "InterfacesAdded"
                && message["payload"]["data"][0] == "/dev/mbimd/Mbimd1/Modem3"
        })
        .await;
    let run = dbus_send(
        bus,
        None,
        "/dev/mbimd/Mbimd1/Modem3",
        "dev.mbimd.Modem1.TestSlots",
        &[],
    )
    .await;
    assert_eq!(
        error_of(&run),
        "Error dev.mbimd.Error.Gone: the modem is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slot_signals_become_the_managers_signals() {
    let fixture = Fixture::start(None).await;
    let mut monitor = Monitor::start(&fixture.bus);
    fixture
        .modem
        .signals
        .send(SlotSignal::Suggested {
            modem: 0,
            from: 0,
            to: 1,
            reason: "sim-removed".to_owned(),
        })
        .unwrap();
    let signal = monitor.signal(MANAGER, "SlotSwitchSuggested").await;
    assert_eq!(signal["interface"], "dev.mbimd.Manager1");
    assert_eq!(
        signal["payload"],
        json!({"type": "ouus", "data": [MODEM, 0, 1, "sim-removed"]})
    );
    fixture
        .modem
        .signals
        .send(SlotSignal::Switched {
            modem: 0,
            from: 0,
            to: 1,
            reason: "user".to_owned(),
        })
        .unwrap();
    let signal = monitor.signal(MANAGER, "SlotSwitched").await;
    assert_eq!(
        signal["payload"],
        json!({"type": "ouus", "data": [MODEM, 0, 1, "user"]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_service_cannot_take_the_name() {
    let fixture = Fixture::start(None).await;
    let second = dbus::serve(
        Bus::Address(fixture.bus.address.clone()),
        mbimd::modem::Registry::new(),
        Arc::new(mbimd::config::Config::default()),
        AccessPolicy::default(),
        reloader(None),
    )
    .await;
    assert!(matches!(second, Err(DbusError::NameTaken)), "{second:?}");
    // The first one still answers.
    assert_eq!(
        get_property(&fixture.bus, None, EXECUTOR, EXECUTOR1, "State").await,
        json!("connected")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_service_gives_up_the_name() {
    let Fixture {
        service,
        registry,
        modem: _modem,
        bus,
    } = Fixture::start(None).await;
    let mut monitor = Monitor::start(&bus);
    drop(service);
    monitor
        .wait_for("the name released", |message| {
            message["member"] == "NameOwnerChanged"
                && message["payload"]["data"][0] == BUS_NAME
                && message["payload"]["data"][2] == ""
        })
        .await;
    // Another service takes it and exports the same modems.
    let _again = dbus::serve(
        Bus::Address(bus.address.clone()),
        registry,
        Arc::new(mbimd::config::Config::default()),
        AccessPolicy::default(),
        reloader(None),
    )
    .await
    .unwrap();
    assert_eq!(
        get_property(&bus, None, EXECUTOR, EXECUTOR1, "State").await,
        json!("connected")
    );
}
