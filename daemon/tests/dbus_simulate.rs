//! The real `mbimd --simulate` on a private bus: what busctl reads is what
//! the supervisor publishes, and a method goes through to the simulated
//! modem. As root mbimd runs in a network namespace of its own (`unshare
//! --net`), so its TUN device never touches the machine's interfaces.
//!
//! The tests of what the MBIM extensions reshape run per version (CONNECT
//! per session and DEVICE_CAPS' MaxSessions against 1.0, 3.0 and 4.0
//! modems; the 5G fields against 3.0 and 4.0); the rest (slot objects,
//! methods passed through, property signals) reads nothing a version
//! changes and runs once, against the built-in 1.0 modem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dbus_common;

use dbus_common::*;
use serde_json::json;
use std::collections::HashMap;

const MODEM: &str = "/dev/mbimd/Mbimd1/Modem0";
const EXECUTOR: &str = "/dev/mbimd/Mbimd1/Modem0/Executor0";
const SLOT0: &str = "/dev/mbimd/Mbimd1/Modem0/Slot0";
const SLOT1: &str = "/dev/mbimd/Mbimd1/Modem0/Slot1";

/// Property values as the bus has announced them (InterfacesAdded, then
/// PropertiesChanged), by object path and property name.
#[derive(Default)]
struct Announced(HashMap<(String, String), serde_json::Value>);

impl Announced {
    fn take(&mut self, message: &serde_json::Value) {
        let data = &message["payload"]["data"];
        match message["member"].as_str() {
            Some("InterfacesAdded") => {
                let path = data[0].as_str().unwrap_or_default().to_owned();
                for properties in data[1].as_object().into_iter().flat_map(|i| i.values()) {
                    for (name, value) in properties.as_object().into_iter().flatten() {
                        self.0
                            .insert((path.clone(), name.clone()), value["data"].clone());
                    }
                }
            }
            Some("PropertiesChanged") => {
                let path = message["path"].as_str().unwrap_or_default().to_owned();
                for (name, value) in data[1].as_object().into_iter().flatten() {
                    self.0
                        .insert((path.clone(), name.clone()), value["data"].clone());
                }
            }
            _ => {}
        }
    }

    fn get(&self, path: &str, name: &str) -> Option<&serde_json::Value> {
        self.0.get(&(path.to_owned(), name.to_owned()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busctl_reads_the_simulated_modem_through_the_real_daemon() {
    let bus = PrivateBus::start();
    // Watching from before mbimd starts: every value it announces is seen.
    let mut monitor = Monitor::start(&bus);
    let mbimd = Mbimd::start(&bus);
    let mut announced = Announced::default();
    let connected = json!("connected");
    let active = json!("active");
    monitor
        .wait_for("the executor connected and slot 0 active", |message| {
            if message["type"] == "signal" {
                announced.take(message);
            }
            announced.get(EXECUTOR, "State") == Some(&connected)
                && announced.get(SLOT0, "State") == Some(&active)
        })
        .await;
    drop(announced);

    let property = |path: &'static str, interface: &'static str, name: &'static str| {
        let bus = &bus;
        async move { get_property(bus, None, path, interface, name).await }
    };
    assert_eq!(
        property(EXECUTOR, "dev.mbimd.Executor1", "State").await,
        connected,
        "{}",
        mbimd.log()
    );
    assert_eq!(property(SLOT0, "dev.mbimd.Slot1", "State").await, active);
    assert_eq!(
        property(SLOT1, "dev.mbimd.Slot1", "Kind").await,
        json!("embedded")
    );
    assert_eq!(
        property(MODEM, "dev.mbimd.Modem1", "Model").await,
        json!("Simulated DSSA MBIM modem")
    );
    assert_eq!(
        property(EXECUTOR, "dev.mbimd.Executor1", "RegistrationState").await,
        json!("home")
    );
    assert_eq!(
        property(EXECUTOR, "dev.mbimd.Executor1", "Ipv4Addresses").await,
        json!(["10.64.0.2/30"])
    );

    // The user's slot choice goes through the real supervisor and policy to
    // the simulated modem, and comes back as the manager's signal.
    call(
        &bus,
        None,
        MODEM,
        "dev.mbimd.Modem1",
        "SwitchToSlot",
        &["u", "1"],
    )
    .await
    .out();
    let switched = monitor.signal("/dev/mbimd/Mbimd1", "SlotSwitched").await;
    assert_eq!(
        switched["payload"]["data"],
        json!([MODEM, 0, 1, "user"]),
        "{}",
        mbimd.log()
    );
}

/// A 5G modem's fields (data subclass, RSRP/SNR) come with MBIMEx 3.0's
/// layouts and stay in 4.0's: run against both.
async fn a_5g_modem_shows_its_version_5g_and_signal_in_dbm(mbimex: u8) {
    let bus = PrivateBus::start();
    let scenario = bus.dir().join("dssa-5g.toml");
    let text = mbimd_test_support::scenarios::dual_sim(mbimex, false)
        .replacen(
            "data_classes = [\"umts\", \"lte\"]",
            "data_classes = [\"umts\", \"lte\", \"5g-nsa\"]",
            1,
        )
        .replacen("data_class = \"lte\"", "data_class = \"5g-nsa\"", 1);
    std::fs::write(&scenario, text).unwrap();
    let mut monitor = Monitor::start(&bus);
    let mbimd = Mbimd::simulating(&bus, Some(&scenario));
    let mut announced = Announced::default();
    let connected = json!("connected");
    monitor
        .wait_for("the executor connected", |message| {
            if message["type"] == "signal" {
                announced.take(message);
            }
            announced.get(EXECUTOR, "State") == Some(&connected)
        })
        .await;
    let property = |name: &'static str| {
        let bus = &bus;
        async move { get_property(bus, None, EXECUTOR, "dev.mbimd.Executor1", name).await }
    };
    assert_eq!(
        property("MbimexVersion").await,
        json!(format!("{mbimex}.0")),
        "{}",
        mbimd.log()
    );
    assert_eq!(property("DataClass").await, json!(["5g-nsa"]));
    assert_eq!(property("DataSubclass").await, json!(["5g-endc"]));
    assert_eq!(
        property("Signal").await,
        json!([["lte", -95.0, 12.0], ["5g-nsa", -95.0, 12.0]])
    );
    assert_eq!(property("NetworkError").await, json!(""));
    assert!(mbimd
        .log()
        .contains(&format!("MBIM extensions {mbimex}.0 agreed")));
}

mbimd_test_support::against_mbimex_versions!(
    async [tokio::test(flavor = "multi_thread", worker_threads = 2)]
    [mbimex_3_0 = 3, mbimex_4_0 = 4]
    a_5g_modem_shows_its_version_5g_and_signal_in_dbm
);

/// Each session's CONNECT and MaxSessions (DEVICE_CAPS, 3.0's own layout)
/// are read in the agreed version's layouts: run per version.
async fn sessions_show_each_pdn_session_and_the_max_sessions_limit(mbimex: u8) {
    let bus = PrivateBus::start();
    // The modem offers sessions 0 and 1: the profile's third is refused.
    let scenario = bus.dir().join("two-sessions.toml");
    let text = mbimd_test_support::scenarios::dual_sim(mbimex, false).replacen(
        "max_sessions = 4",
        "max_sessions = 2",
        1,
    );
    std::fs::write(&scenario, text).unwrap();
    let mut monitor = Monitor::start(&bus);
    let mbimd = Mbimd::configured(
        &bus,
        Some(&scenario),
        "[[profiles]]\nname = \"internet\"\napn = \"internet\"\n\
         [[profiles.sessions]]\nname = \"ims\"\napn = \"ims\"\ncontext-type = \"ims\"\n\
         [[profiles.sessions]]\nname = \"mms\"\napn = \"mms\"\ncontext-type = \"mms\"\n",
    );
    let (netdev0, netdev1) = if is_root() {
        ("mbim0e0", "mbim0e0s1")
    } else {
        ("", "")
    };
    let expected = json!([
        [0, "internet", "internet", "internet", "connected", "", netdev0, ["10.64.0.2/30", "fd00:6d62::2/64"]],
        [1, "ims", "ims", "ims", "connected", "", netdev1, ["10.64.0.6/30", "fd00:6d62:0:1::2/64"]],
        [2, "mms", "mms", "mms", "unsupported",
         "the device offers 2 session(s) (DEVICE_CAPS MaxSessions): session 2 cannot be activated",
         "", []]
    ]);
    let mut announced = Announced::default();
    let connected = json!("connected");
    monitor
        .wait_for("the executor connected", |message| {
            if message["type"] == "signal" {
                announced.take(message);
            }
            announced.get(EXECUTOR, "State") == Some(&connected)
        })
        .await;
    // Session 1 comes up after session 0: poll (a hang guard, not timing).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let sessions = get_property(&bus, None, EXECUTOR, "dev.mbimd.Executor1", "Sessions").await;
        if sessions == expected {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Sessions is {sessions}, expected {expected}\n{}",
            mbimd.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        get_property(&bus, None, EXECUTOR, "dev.mbimd.Executor1", "MbimexVersion").await,
        json!(format!("{mbimex}.0"))
    );
}

mbimd_test_support::against_mbim_1_0_3_0_and_4_0!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async sessions_show_each_pdn_session_and_the_max_sessions_limit
);
