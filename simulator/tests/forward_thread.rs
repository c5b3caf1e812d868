//! The real network's reader thread as the host's data thread
//! (`FunctionTransport::data_thread`, simulator/src/forward/reader.rs): the
//! jobs it is given run on it, in its `LocalSet`, and keep running after
//! the forwarder's device fails, which ends only the reading. A real TUN
//! device in a network namespace of the test's own, deleted under the
//! reader; no time is measured (a hang guard bounds each wait).
//!
//! Needs root and /dev/net/tun (skipped, saying so, otherwise).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod data_support;
mod device_support;

use device_support::{connect, open};
use mbim_sim::device::SimModem;
use mbim_sim::scenario::Scenario;
use mbimd_test_support::netns::{privileged, Namespace};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A hang guard, not a speed expectation.
const GUARD: Duration = Duration::from_secs(10);

/// Waits until `ticks` has moved past `from`.
async fn ticks_past(ticks: &AtomicUsize, from: usize) {
    let deadline = Instant::now() + GUARD;
    while ticks.load(Ordering::SeqCst) <= from {
        assert!(
            Instant::now() < deadline,
            "the task on the reader's thread stopped"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn the_readers_thread_runs_the_hosts_jobs_and_outlives_its_devices_failure() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let namespace = Namespace::create("mbimsim-thread");
    namespace.ip(&["tuntap", "add", "dev", "fwd0", "mode", "tun"]);
    namespace.ip(&["link", "set", "fwd0", "up"]);

    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let function = modem.function(0).unwrap();
    open(&function).await;
    connect(&function, 2).await;
    assert!(
        function.data_thread().is_none(),
        "no thread before forwarding"
    );
    let target = format!("fwd0@{}", namespace.name()).parse().unwrap();
    let forwarder = modem.forward(&target, false).await.unwrap();
    let thread = function.data_thread().expect("the reader's thread");

    // A job runs on the reader's thread and starts a task there that ticks
    // until the thread ends.
    let ticks = Arc::new(AtomicUsize::new(0));
    let (name_tx, name_rx) = tokio::sync::oneshot::channel();
    let ticking = ticks.clone();
    let job = Box::new(move || {
        let _ = name_tx.send(std::thread::current().name().map(str::to_owned));
        tokio::task::spawn_local(async move {
            loop {
                ticking.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
    });
    assert!(thread.run(job).is_ok());
    let name = tokio::time::timeout(GUARD, name_rx).await.unwrap().unwrap();
    assert_eq!(name.as_deref(), Some("fwd-fwd0"));
    ticks_past(&ticks, 0).await;

    // The device goes: the reader's next read fails and it stops reading.
    // Its thread, and the task on it, go on, and it takes new jobs.
    namespace.ip(&["link", "del", "fwd0"]);
    // `ip link del` returns once the device is gone; the reader is woken by
    // the failure at once, and given time to meet it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        thread_named("fwd-fwd0"),
        "the reader's thread ended with its device"
    );
    let now = ticks.load(Ordering::SeqCst);
    ticks_past(&ticks, now).await;
    let (ran_tx, ran_rx) = tokio::sync::oneshot::channel();
    assert!(thread
        .run(Box::new(move || {
            let _ = ran_tx.send(());
        }))
        .is_ok());
    tokio::time::timeout(GUARD, ran_rx).await.unwrap().unwrap();

    // Dropping the handle ends the thread, and the tasks on it with it.
    drop(forwarder);
    let deadline = Instant::now() + GUARD;
    while thread_named("fwd-fwd0") {
        assert!(Instant::now() < deadline, "the thread outlived its handle");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(thread.run(Box::new(|| {})).is_err());
}

/// Whether a thread of this process has `name`.
fn thread_named(name: &str) -> bool {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .any(|comm| comm.trim_end() == name)
}
