//! A SIM no profile names, against the in-process simulated modem: the
//! executor connects through the modem's provisioned contexts, else the
//! provider database (a test copy of its format with the simulated
//! network's MCC/MNC), else the network's default APN; a network that
//! refuses one APN gets the next; what worked is remembered per ICCID.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::{ProvisionedConfig, Scenario};
use mbimd::apn::store::ApnStore;
use mbimd::apn::{ApnSource, ApnSources};
use mbimd::executor::{
    run_executor, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorReport, ExecutorStatus,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

const WAIT: Duration = Duration::from_secs(10);
const ICCID: &str = "8988200000000000001";

fn database() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/serviceproviders.xml")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mbimd-apn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config(database: Option<PathBuf>, store: &Path) -> ExecutorConfig {
    ExecutorConfig {
        profiles: Vec::new(),
        open_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(400),
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(200),
        apn_sources: ApnSources {
            provisioned_contexts: true,
            provider_database: database,
            network_default: true,
            store: Some(store.join("apns.toml")),
        },
        ..ExecutorConfig::default()
    }
}

fn scenario(provisioned: &[&str], accepted: Option<&[&str]>) -> Scenario {
    let mut scenario = Scenario::default_dssa();
    let executor = &mut scenario.executors[0];
    executor.provisioned = provisioned
        .iter()
        .map(|apn| ProvisionedConfig {
            apn: (*apn).to_owned(),
            ..ProvisionedConfig::default()
        })
        .collect();
    executor.network.apns = accepted.map(|apns| apns.iter().map(|apn| (*apn).to_owned()).collect());
    scenario
}

/// Runs an executor until it is connected; its status then, and the
/// executor's command channel (kept so it does not shut down).
async fn connect(scenario: Scenario, config: ExecutorConfig) -> ExecutorStatus {
    let modem = SimModem::new(scenario).unwrap();
    let transport = Arc::new(InProcessFunction::new(modem.function(0).unwrap()));
    let runner = modem.clone();
    let simulator = tokio::spawn(async move { runner.run().await });
    let (events_tx, mut events) = mpsc::channel::<ExecutorReport>(64);
    let (commands, commands_rx) = mpsc::channel(8);
    let (status_tx, mut status) = watch::channel(ExecutorStatus::default());
    let task = tokio::spawn(run_executor(
        transport,
        config,
        events_tx,
        commands_rx,
        status_tx,
        Arc::new(Mutex::new(())),
    ));
    tokio::time::timeout(WAIT, async {
        loop {
            let report = events.recv().await.expect("the executor reports");
            if matches!(report.event, ExecutorEvent::Connected(_)) {
                break;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("not connected in time: {:?}", status.borrow()));
    let connected = status
        .wait_for(|status| status.ip.is_some())
        .await
        .unwrap()
        .clone();
    commands.send(ExecutorCommand::Shutdown).await.unwrap();
    let _ = tokio::time::timeout(WAIT, task).await;
    simulator.abort();
    connected
}

/// Removes a test's store directory. The executor writes the store off its
/// loop, so a write may still land while the directory goes (seen as
/// "Directory not empty"): removal is tried again until it is gone.
fn remove_store(store: &Path) {
    for _ in 0..100 {
        match std::fs::remove_dir_all(store) {
            Ok(()) => return,
            Err(error) if error.kind() == std::io::ErrorKind::DirectoryNotEmpty => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(error) => panic!("removing {}: {error}", store.display()),
        }
    }
    panic!("{} is still being written to", store.display());
}

/// Waits for the remembered APN to reach the file (written off the loop).
async fn remembered(store: &Path) -> Option<String> {
    let store = ApnStore::new(store.join("apns.toml"));
    for _ in 0..100 {
        if let Ok(Some(candidate)) = store.get(ICCID) {
            return Some(candidate.apn);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[tokio::test]
async fn without_a_profile_each_source_connects_in_its_turn() {
    // (provisioned, database, accepted APNs, expected APN, source)
    type Row<'a> = (
        &'a [&'a str],
        bool,
        Option<&'a [&'a str]>,
        &'a str,
        ApnSource,
    );
    let table: [Row<'_>; 5] = [
        (
            &["modem.example"],
            true,
            None,
            "modem.example",
            ApnSource::Provisioned,
        ),
        (
            &[],
            true,
            None,
            "internet.sim.example",
            ApnSource::ProviderDatabase,
        ),
        (&[], false, None, "", ApnSource::NetworkDefault),
        // The network refuses the modem's APN and the database's first:
        // the next one connects.
        (
            &["modem.example"],
            true,
            Some(&["fast.sim.example"]),
            "fast.sim.example",
            ApnSource::ProviderDatabase,
        ),
        // Everything but the network's default refused.
        (
            &["modem.example"],
            true,
            Some(&[""]),
            "",
            ApnSource::NetworkDefault,
        ),
    ];
    // An MBIM 1.0 modem, a 3.0 one (PROVISIONED_CONTEXTS in the
    // extensions' form, CONNECT and its refusals in 3.0's) and a 4.0 one
    // (both with the network slice).
    for mbimex in [1, 3, 4] {
        for (index, (provisioned, with_database, accepted, apn, source)) in
            table.iter().copied().enumerate()
        {
            let row = format!("MBIMEx {mbimex}, row {index}");
            let store = temp_dir(&format!("sources-{mbimex}-{index}"));
            let database = with_database.then(database);
            let mut scenario = scenario(provisioned, accepted);
            scenario.modem.mbimex = mbimex;
            let status = connect(scenario, config(database, &store)).await;
            assert_eq!(status.mbimex.major(), mbimex, "{row}");
            assert_eq!(status.apn.as_deref(), Some(apn), "{row}");
            assert_eq!(status.apn_source, Some(source), "{row}");
            assert_eq!(status.profile.as_deref(), Some(source.as_str()), "{row}");
            assert_eq!(remembered(&store).await.as_deref(), Some(apn), "{row}");
            remove_store(&store);
        }
    }
}

#[tokio::test]
async fn what_connected_is_tried_first_for_the_same_sim() {
    let store = temp_dir("remembered");
    // The first time the database's second APN connects…
    let accepted: &[&str] = &["fast.sim.example"];
    let status = connect(
        scenario(&[], Some(accepted)),
        config(Some(database()), &store),
    )
    .await;
    assert_eq!(status.apn.as_deref(), Some("fast.sim.example"));
    assert_eq!(
        remembered(&store).await.as_deref(),
        Some("fast.sim.example")
    );
    // …and the next time it is the first tried: a network that would take
    // the database's first APN too still gets the remembered one.
    let status = connect(scenario(&[], None), config(Some(database()), &store)).await;
    assert_eq!(status.apn.as_deref(), Some("fast.sim.example"));
    assert_eq!(status.apn_source, Some(ApnSource::ProviderDatabase));
    remove_store(&store);
}

#[tokio::test]
async fn a_network_that_asks_for_an_attach_apn_gets_it_and_the_status_says_why() {
    use mbimd::executor::Profile;
    let refused = "the network refused the attach: missing-or-unknown-apn";
    // (profile, network's attach APN, attach APN set)
    let table: [(Option<Profile>, &str, &str); 3] = [
        // No profile: the provider database's entry names the attach APN.
        (None, "ia.sim.example", "ia.sim.example"),
        // A profile without one: its own APN.
        (
            Some(Profile::new("p", "internet.op")),
            "internet.op",
            "internet.op",
        ),
        // A profile whose attach APN the network refuses: its own APN next.
        (
            Some(Profile {
                attach_apn: Some("wrong.op".to_owned()),
                ..Profile::new("p", "internet.op")
            }),
            "internet.op",
            "internet.op",
        ),
    ];
    for mbimex in [1, 3] {
        for (index, (profile, required, set)) in table.iter().enumerate() {
            let row = format!("MBIMEx {mbimex}, row {index}");
            let store = temp_dir(&format!("attach-{mbimex}-{index}"));
            let mut scenario = scenario(&[], None);
            scenario.modem.mbimex = mbimex;
            scenario.executors[0].network.attach_apn = Some((*required).to_owned());
            let config = ExecutorConfig {
                profiles: profile.iter().cloned().collect(),
                ..config(Some(database()), &store)
            };
            let status = connect(scenario, config).await;
            assert_eq!(
                status.attach_apn,
                Some(((*set).to_owned(), refused.to_owned())),
                "{row}"
            );
            assert_eq!(
                status.register_state,
                Some(mbim_protocol::services::basic_connect::RegisterState::Home),
                "{row}"
            );
            remove_store(&store);
        }
    }
}
