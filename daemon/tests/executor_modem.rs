//! Two executors of one modem (the simulator's two-executor scenario): each
//! runs its own task, shares the modem's device-wide lock and one event
//! channel, picks its profile by its own SIM, and loses only its own network.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbimd::executor::{
    run_executor, ExecutorConfig, ExecutorEvent, ExecutorReport, ExecutorStatus, Profile,
};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

/// The next report that is not a slot state, slot mapping or notification.
async fn next(events: &mut mpsc::Receiver<ExecutorReport>) -> ExecutorReport {
    loop {
        let report = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event in time")
            .expect("the executors report");
        if !is_noise(&report.event) {
            return report;
        }
    }
}

fn is_noise(event: &ExecutorEvent) -> bool {
    matches!(
        event,
        ExecutorEvent::SlotInfo { .. }
            | ExecutorEvent::SlotMapping { .. }
            | ExecutorEvent::Notification
    )
}

#[tokio::test]
async fn two_executors_connect_each_with_its_own_sim_and_lose_only_their_own_network() {
    let text = include_str!("../../simulator/scenarios/two-executors.toml");
    let modem =
        SimModem::new(Scenario::from_toml_str(text, "two-executors.toml").unwrap()).unwrap();
    let profiles = vec![
        Profile {
            match_imsi_prefix: Some("00101".to_owned()),
            ..Profile::new("one", "internet")
        },
        Profile {
            match_imsi_prefix: Some("00102".to_owned()),
            ..Profile::new("two", "internet")
        },
    ];
    let device_lock = Arc::new(Mutex::new(()));
    let (events_tx, mut events) = mpsc::channel(32);
    let mut keep = Vec::new();
    for index in 0..2 {
        let transport = Arc::new(InProcessFunction::new(modem.function(index).unwrap()));
        let (commands, commands_rx) = mpsc::channel(4);
        let (status_tx, status) = watch::channel(ExecutorStatus::default());
        let config = ExecutorConfig {
            index,
            profiles: profiles.clone(),
            command_timeout: Duration::from_millis(500),
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(200),
            ..ExecutorConfig::default()
        };
        tokio::spawn(run_executor(
            transport,
            config,
            events_tx.clone(),
            commands_rx,
            status_tx,
            Arc::clone(&device_lock),
        ));
        keep.push((commands, status));
    }

    let mut connected = [None, None];
    for _ in 0..2 {
        let report = next(&mut events).await;
        let ExecutorEvent::Connected(connection) = report.event else {
            panic!("expected Connected, got {report:?}");
        };
        connected[report.executor] = Some(connection);
    }
    let [one, two] = connected.map(Option::unwrap);
    assert_eq!(one.profile, "one");
    assert_eq!(two.profile, "two");
    assert_eq!(
        one.ip.ipv4_addresses[0].address,
        Ipv4Addr::new(10, 64, 0, 2)
    );
    assert_eq!(
        two.ip.ipv4_addresses[0].address,
        Ipv4Addr::new(10, 65, 0, 2)
    );
    let status_two = keep[1].1.borrow().clone();
    assert_eq!(status_two.slot, Some(1));
    assert_eq!(status_two.device_executor_index, Some(1));
    assert_eq!(status_two.home_provider, "00102");

    modem
        .control(serde_json::from_str(r#"{"command":"lose-signal","executor":1}"#).unwrap())
        .unwrap();
    let report = next(&mut events).await;
    assert_eq!(report.executor, 1);
    assert!(matches!(report.event, ExecutorEvent::LinkDown { .. }));
    modem
        .control(serde_json::from_str(r#"{"command":"regain-signal","executor":1}"#).unwrap())
        .unwrap();
    let report = next(&mut events).await;
    assert_eq!(report.executor, 1);
    assert!(matches!(report.event, ExecutorEvent::Connected(_)));
    while let Ok(report) = events.try_recv() {
        assert!(
            report.executor == 1 || is_noise(&report.event),
            "executor 0 saw {report:?}"
        );
    }
}
