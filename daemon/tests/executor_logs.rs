//! What the executor logs, at every level: never a PIN or PUK; IMSI and
//! ICCID only masked unless `show_personal_info` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_sim::device::SimModem;
use mbim_sim::inprocess::InProcessFunction;
use mbim_sim::scenario::Scenario;
use mbimd::executor::{
    run_executor, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorStatus, Profile, Secret,
};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn pins_never_reach_the_logs_and_identities_are_masked() {
    let logs = Capture(Arc::new(Mutex::new(Vec::new())));
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let text = include_str!("../../simulator/scenarios/dssa.toml").replacen(
        "pin_enabled = false",
        "pin_enabled = true",
        1,
    );
    let modem = SimModem::new(Scenario::from_toml_str(&text, "dssa-pin.toml").unwrap()).unwrap();
    let transport = Arc::new(InProcessFunction::new(modem.function(0).unwrap()));
    // Room for every event of the run: nobody reads them while the PINs go in.
    let (events_tx, mut events) = mpsc::channel(256);
    let (commands, commands_rx) = mpsc::channel(4);
    let (status_tx, mut status) = watch::channel(ExecutorStatus::default());
    let config = ExecutorConfig {
        profiles: vec![Profile {
            password: Secret::new("s3cr3t-password"),
            ..Profile::new("default", "internet")
        }],
        pin: Some(Secret::new("9876")),
        command_timeout: Duration::from_millis(400),
        ..ExecutorConfig::default()
    };
    let task = tokio::spawn(run_executor(
        transport,
        config,
        events_tx,
        commands_rx,
        status_tx,
        Arc::new(tokio::sync::Mutex::new(())),
    ));
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.pin.configured_pin_refused),
    )
    .await
    .unwrap()
    .unwrap();
    // Three wrong PINs block it; the PUK then sets a new PIN.
    for pin in ["5555", "5556"] {
        commands
            .send(ExecutorCommand::EnterPin(Secret::new(pin)))
            .await
            .unwrap();
    }
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.pin.remaining_attempts == Some(10)),
    )
    .await
    .unwrap()
    .unwrap();
    commands
        .send(ExecutorCommand::EnterPuk {
            puk: Secret::new("12345678"),
            new_pin: Secret::new("24680"),
        })
        .await
        .unwrap();
    let connected = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let report = events.recv().await.unwrap();
            if matches!(report.event, ExecutorEvent::Connected(_)) {
                return;
            }
        }
    });
    connected.await.unwrap();
    commands.send(ExecutorCommand::Shutdown).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("PIN1 refused"), "{logs}");
    assert!(logs.contains("89882"), "the masked ICCID is logged: {logs}");
    for secret in [
        "9876",
        "5555",
        "5556",
        "12345678",
        "24680",
        "s3cr3t-password",
        "8988200000000000001",
        "001010000000001",
    ] {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
    }
}
