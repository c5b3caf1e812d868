//! The executor against a simulated MBIM 1.0 modem, a 3.0 one and a 4.0
//! one: it asks MBIM_CID_VERSION after OPEN, agrees on the lower version, reads every CID it
//! uses in that version's layout (a 3.0 function answers nothing else) and
//! connects either way; on the 3.0 modem the 5G data subclass and the
//! RSRP/SNR per radio technology reach the status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::services::basic_connect::{self as bc};
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbimd::executor::{
    run_executor, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorReport, ExecutorStatus,
    Profile,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

const WAIT: Duration = Duration::from_secs(10);

fn scenario(mbimex: u8, data_class: &str) -> Scenario {
    let mut scenario = Scenario::default_dssa();
    scenario.modem.mbimex = mbimex;
    scenario.modem.data_classes = vec!["lte".to_owned(), "5g-nsa".to_owned()];
    scenario.executors[0].network.data_class = data_class.to_owned();
    scenario.executors[0].network.rsrp_dbm = -88;
    scenario.executors[0].network.snr_db = 20;
    scenario.validate().unwrap();
    scenario
}

/// Runs an executor until it is connected with its IP configuration and
/// the signal known; its status then.
async fn connected(scenario: Scenario) -> ExecutorStatus {
    let modem = SimModem::new(scenario).unwrap();
    let transport = Arc::new(InProcessFunction::new(modem.function(0).unwrap()));
    let runner = modem.clone();
    let simulator = tokio::spawn(async move { runner.run().await });
    let (events_tx, mut events) = mpsc::channel::<ExecutorReport>(64);
    let (commands, commands_rx) = mpsc::channel(8);
    let (status_tx, mut status) = watch::channel(ExecutorStatus::default());
    let config = ExecutorConfig {
        profiles: vec![Profile::new("default", "internet")],
        open_timeout: Duration::from_millis(500),
        command_timeout: Duration::from_millis(400),
        ..ExecutorConfig::default()
    };
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
        .wait_for(|status| status.ip.is_some() && status.rssi.is_some())
        .await
        .unwrap()
        .clone();
    commands.send(ExecutorCommand::Shutdown).await.unwrap();
    let _ = tokio::time::timeout(WAIT, task).await;
    simulator.abort();
    connected
}

#[tokio::test]
async fn a_1_0_modem_is_spoken_to_in_1_0() {
    let status = connected(scenario(1, "lte")).await;
    assert_eq!(status.mbimex, MbimExVersion::V1);
    assert_eq!(status.rssi, Some(20));
    assert!(status.radio.signal.is_empty(), "{:?}", status.radio);
    assert_eq!(status.radio.data_subclass, bc::DataSubclass::empty());
    assert_eq!(status.radio.data_class, bc::DataClass::LTE);
    assert_eq!(status.device.firmware, "mbim-sim 0.1");
}

#[tokio::test]
async fn a_3_0_modem_agrees_on_3_0_and_tells_of_5g() {
    let status = connected(scenario(3, "5g-nsa")).await;
    assert_eq!(status.mbimex, MbimExVersion::V3);
    assert_eq!(status.rssi, Some(20));
    // DEVICE_CAPS_V2 in 3.0's layout: the executor index and the strings.
    assert_eq!(status.device_executor_index, Some(0));
    assert_eq!(status.device.firmware, "mbim-sim 0.1");
    assert_eq!(
        status.radio.device_data_subclass,
        bc::DataSubclass::NR5G_ENDC
    );
    // PACKET_SERVICE 3.0: 5G NSA, reached by E-UTRA-NR dual connectivity.
    assert_eq!(status.radio.data_class, bc::DataClass::NR5G_NSA);
    assert_eq!(status.radio.data_subclass, bc::DataSubclass::NR5G_ENDC);
    assert_eq!(status.radio.frequency_range, bc::FrequencyRange::RANGE_1);
    // SIGNAL_STATE 2.0: LTE and NR each measured.
    let measured: Vec<_> = status
        .radio
        .signal
        .iter()
        .map(|info| (info.system_type, info.rsrp_dbm(), info.snr_db()))
        .collect();
    assert_eq!(
        measured,
        vec![
            (bc::DataClass::LTE, Some(-88), Some(20.0)),
            (bc::DataClass::NR5G_NSA, Some(-88), Some(20.0)),
        ]
    );
    // CONNECT in 3.0's layouts both ways.
    assert_eq!(status.apn.as_deref(), Some("internet"));
    assert_eq!(status.network_error, None);
}

#[tokio::test]
async fn a_4_0_modem_agrees_on_4_0_and_connects_on_the_default_slice() {
    // CONNECT's SET and answers with the network slice (the simulated modem
    // refuses a SET that names another slice), PROVISIONED_CONTEXTS in
    // 4.0's layout; what 3.0 brought stays.
    let status = connected(scenario(4, "5g-nsa")).await;
    assert_eq!(status.mbimex, MbimExVersion::V4);
    assert_eq!(status.apn.as_deref(), Some("internet"));
    assert_eq!(status.radio.data_subclass, bc::DataSubclass::NR5G_ENDC);
    assert_eq!(status.device_executor_index, Some(0));
    assert!(status.ip.is_some());
    assert_eq!(status.network_error, None);
}

#[tokio::test]
async fn dns_only_in_the_networks_pco_is_used() {
    // 1.0: IP_CONFIGURATION has no DNS, so MBIM_CID_MS_PCO is asked;
    // 3.0 and 4.0: CONNECT's PCO element carries them.
    for mbimex in [1, 3, 4] {
        let mut scenario = scenario(mbimex, "lte");
        scenario.executors[0].network.dns_in_pco = true;
        let dns4 = scenario.executors[0].ipv4.as_ref().unwrap().dns.clone();
        let dns6 = scenario.executors[0].ipv6.as_ref().unwrap().dns.clone();
        assert!(!dns4.is_empty() && !dns6.is_empty());
        let status = connected(scenario).await;
        let ip = status.ip.unwrap();
        assert_eq!(ip.ipv4_dns, dns4, "MBIMEx {mbimex}");
        assert_eq!(ip.ipv6_dns, dns6, "MBIMEx {mbimex}");
        let pco = status.pco.unwrap();
        assert_eq!(
            (pco.dns_ipv4, pco.dns_ipv6),
            (dns4, dns6),
            "MBIMEx {mbimex}"
        );
    }
    // Without DNS in the PCO either, the session still connects, without DNS.
    let mut scenario = scenario(3, "lte");
    scenario.executors[0].network.dns_in_pco = true;
    scenario.executors[0].ipv4.as_mut().unwrap().dns.clear();
    scenario.executors[0].ipv6.as_mut().unwrap().dns.clear();
    let status = connected(scenario).await;
    let ip = status.ip.unwrap();
    assert!(ip.ipv4_dns.is_empty() && ip.ipv6_dns.is_empty(), "{ip:?}");
}
