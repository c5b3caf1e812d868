//! A pump run on the data thread of the device at its pipes' far end
//! (`datapath::spawn_on`, for the simulated modem forwarding to a real
//! network): it runs there as a task, stops when told, and whatever
//! happens to it or to that thread (a panic, the thread ending, a thread
//! that has already ended) reaches the handle and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "datapath_support.rs"]
mod support;

use mbim_sim::inprocess::{InProcessBulkIn, InProcessBulkOut};
use mbim_transport::{DataJob, DataThread};
use mbimd::datapath::{self, DatapathError, MemoryDevice, Pump, PumpDevice, StopReason};
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use support::{connect, is_reply, ping, quiet_pump, Panicking};

const WAIT: Duration = Duration::from_secs(5);

/// A data thread as the simulated modem's reader runs one: a runtime and a
/// `LocalSet` of its own, running the jobs it is given until it is ended.
#[derive(Debug)]
struct TestThread {
    jobs: Mutex<Option<tokio::sync::mpsc::UnboundedSender<DataJob>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl TestThread {
    fn start() -> Arc<TestThread> {
        let (jobs_tx, mut jobs_rx) = tokio::sync::mpsc::unbounded_channel::<DataJob>();
        let thread = std::thread::Builder::new()
            .name("test-data".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    while let Some(job) = jobs_rx.recv().await {
                        job();
                    }
                });
            })
            .unwrap();
        Arc::new(TestThread {
            jobs: Mutex::new(Some(jobs_tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Ends the thread: its tasks are dropped with its `LocalSet`.
    fn end(&self) {
        self.jobs.lock().unwrap().take();
        if let Some(thread) = self.thread.lock().unwrap().take() {
            thread.join().unwrap();
        }
    }
}

impl DataThread for TestThread {
    fn run(&self, job: DataJob) -> Result<(), DataJob> {
        match &*self.jobs.lock().unwrap() {
            Some(jobs) => jobs.send(job).map_err(|refused| refused.0),
            None => Err(job),
        }
    }
}

/// A memory device that notes the name of the thread it is bound on.
struct Noting(MemoryDevice, Arc<Mutex<Option<String>>>);

impl PumpDevice for Noting {
    type Device = MemoryDevice;

    fn bind(self) -> io::Result<MemoryDevice> {
        *self.1.lock().unwrap() = std::thread::current().name().map(str::to_owned);
        Ok(self.0)
    }
}

/// Echoes a ping through a pump between the simulated modem and a memory
/// device, started by `start`.
async fn echoes_through(
    start: impl FnOnce(Pump<InProcessBulkIn, InProcessBulkOut>, MemoryDevice) -> datapath::PumpHandle,
) {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let (device, peer) = MemoryDevice::new(64);
    let handle = start(Pump::new(bulk_in, bulk_out, sim.config()).unwrap(), device);
    peer.inject(&ping(9, 48)).await.unwrap();
    let reply = tokio::time::timeout(WAIT, peer.receive())
        .await
        .expect("the echo reply arrives")
        .unwrap();
    assert!(is_reply(&reply, 9), "{reply:02x?}");
    assert!(!handle.is_finished());
    let exit = tokio::time::timeout(WAIT, handle.stop()).await.unwrap();
    assert_eq!(exit.unwrap(), StopReason::Stopped);
}

#[tokio::test]
async fn a_pump_runs_as_a_task_on_the_data_thread_and_stops_when_told() {
    let thread = TestThread::start();
    let (device, _peer) = MemoryDevice::new(8);
    let bound_on = Arc::new(Mutex::new(None));
    let handle = datapath::spawn_on(&*thread, quiet_pump(), Noting(device, bound_on.clone()));
    let deadline = std::time::Instant::now() + WAIT;
    while bound_on.lock().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the job runs");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(bound_on.lock().unwrap().as_deref(), Some("test-data"));
    assert!(!handle.is_finished());
    let exit = tokio::time::timeout(WAIT, handle.stop()).await.unwrap();
    assert_eq!(exit.unwrap(), StopReason::Stopped);
    // The thread is the device's, and goes on: it takes the next pump,
    // which carries traffic.
    echoes_through(|pump, device| datapath::spawn_on(&*thread, pump, device)).await;
    thread.end();
}

#[tokio::test]
async fn a_panicking_pump_is_reported_and_the_data_thread_goes_on() {
    let thread = TestThread::start();
    let failing = datapath::spawn_on(&*thread, quiet_pump(), Panicking);
    let exit = tokio::time::timeout(WAIT, failing.join()).await.unwrap();
    match exit {
        Err(DatapathError::Panicked(message)) => {
            assert!(message.contains("the device read went wrong"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    echoes_through(|pump, device| datapath::spawn_on(&*thread, pump, device)).await;
    thread.end();
}

#[tokio::test]
async fn a_data_thread_that_ends_under_its_pump_is_a_disconnect() {
    let thread = TestThread::start();
    let (device, _peer) = MemoryDevice::new(8);
    let handle = datapath::spawn_on(&*thread, quiet_pump(), device);
    thread.end();
    let exit = tokio::time::timeout(WAIT, handle.join()).await.unwrap();
    assert_eq!(exit.unwrap(), StopReason::Disconnected);
}

#[tokio::test]
async fn a_data_thread_that_has_ended_leaves_the_pump_a_thread_of_its_own() {
    let thread = TestThread::start();
    thread.end();
    let bound_on = Arc::new(Mutex::new(None));
    let (device, _peer) = MemoryDevice::new(8);
    let handle = datapath::spawn_on(&*thread, quiet_pump(), Noting(device, bound_on.clone()));
    let deadline = std::time::Instant::now() + WAIT;
    while bound_on.lock().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the pump runs");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(bound_on.lock().unwrap().as_deref(), Some("pump"));
    let exit = tokio::time::timeout(WAIT, handle.stop()).await.unwrap();
    assert_eq!(exit.unwrap(), StopReason::Stopped);
    // And that thread carries traffic as well.
    echoes_through(|pump, device| datapath::spawn_on(&*thread, pump, device)).await;
}
