//! Two executors of one modem share its lock for device-wide SETs. While
//! one waits for that lock, it still reads its notifications: a DNS change
//! the network announces to it is reported before the lock comes free, and
//! its SET goes out once it does.
//!
//! The test takes the modem's lock itself, standing in for the other
//! executor's device-wide SET in flight (the lock is all a SET holds), so
//! the wait lasts exactly as long as the test decides and nothing depends on
//! timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbimd::executor::{
    run_executor, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorReport, ExecutorStatus,
    Profile,
};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, Mutex};

/// A hang guard, not a timing expectation.
const WAIT: Duration = Duration::from_secs(20);

/// Command channel capacity: its free capacity shows when a command was taken.
const COMMANDS: usize = 4;

struct Executor {
    commands: mpsc::Sender<ExecutorCommand>,
    _status: watch::Receiver<ExecutorStatus>,
}

/// The next report `pick` takes; the others are skipped.
async fn until<T>(
    events: &mut mpsc::Receiver<ExecutorReport>,
    mut pick: impl FnMut(&ExecutorReport) -> Option<T>,
) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let report = events.recv().await.expect("the executors report");
            if let Some(found) = pick(&report) {
                return found;
            }
        }
    })
    .await
    .expect("the event in time")
}

#[tokio::test]
async fn an_executor_waiting_for_the_modem_lock_still_handles_its_notifications() {
    let text = include_str!("../../simulator/scenarios/two-executors.toml");
    let modem =
        SimModem::new(Scenario::from_toml_str(text, "two-executors.toml").unwrap()).unwrap();
    let runner = modem.clone();
    tokio::spawn(async move { runner.run().await });
    let device_lock = Arc::new(Mutex::new(()));
    let (events_tx, mut events) = mpsc::channel(64);
    let mut executors = Vec::new();
    for index in 0..2 {
        let transport = Arc::new(InProcessFunction::new(modem.function(index).unwrap()));
        let (commands, commands_rx) = mpsc::channel(COMMANDS);
        let (status_tx, status) = watch::channel(ExecutorStatus::default());
        let config = ExecutorConfig {
            index,
            profiles: vec![Profile::new("default", "internet")],
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
        executors.push(Executor {
            commands,
            _status: status,
        });
    }
    drop(events_tx);
    let mut connected = [false, false];
    while !connected.iter().all(|&up| up) {
        let executor = until(&mut events, |report| {
            matches!(report.event, ExecutorEvent::Connected(_)).then_some(report.executor)
        })
        .await;
        connected[executor] = true;
    }

    // The other executor's SET is in flight: the modem's lock is taken.
    let held = Arc::clone(&device_lock).lock_owned().await;
    let set = ExecutorCommand::Tracked {
        id: 1,
        command: Box::new(ExecutorCommand::SetSlotMapping(vec![0, 1])),
    };
    executors[0].commands.send(set).await.unwrap();
    // Taken by the task: from here on it is on its way to the lock, and a
    // task that awaited the lock in place would read nothing more.
    tokio::time::timeout(WAIT, async {
        while executors[0].commands.capacity() < COMMANDS {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the executor takes the command");

    modem
        .control(
            serde_json::from_str(r#"{"command":"set-dns","executor":0,"ipv4_dns":["10.64.0.53"]}"#)
                .unwrap(),
        )
        .unwrap();
    let dns = until(&mut events, |report| match &report.event {
        ExecutorEvent::IpUpdated(ip) if report.executor == 0 => Some(ip.ipv4_dns.clone()),
        ExecutorEvent::Done { .. } if report.executor == 0 => {
            panic!("the SET finished while the lock was held: {report:?}")
        }
        _ => None,
    })
    .await;
    assert_eq!(dns, vec![Ipv4Addr::new(10, 64, 0, 53)]);
    assert!(
        device_lock.try_lock().is_err(),
        "the lock is still the test's"
    );

    // The lock comes free: the parked SET goes out and is answered.
    drop(held);
    let result = until(&mut events, |report| match &report.event {
        ExecutorEvent::Done { id: 1, result } => Some(result.clone()),
        _ => None,
    })
    .await;
    assert_eq!(result, Ok(()));
    // It was answered, so the lock was let go again.
    let _free = tokio::time::timeout(WAIT, device_lock.lock())
        .await
        .expect("the executor releases the lock after the answer");
}
