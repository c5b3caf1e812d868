//! The pump's thread (`datapath::spawn`): its name, and that whatever
//! happens on it (a panic, a device that cannot be registered, transfers
//! that never come back from a cancel) reaches the handle and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "datapath_support.rs"]
mod support;

use mbim_protocol::ntb::NtbFormat;
use mbim_transport::{Completion, InPipe, Pipe, TransportError};
use mbimd::datapath::{
    self, DatapathError, MemoryDevice, Pump, PumpConfig, PumpDevice, StopReason,
};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{connect, is_reply, ping, quiet_pump, sim_parameters, Panicking, RecordingOut};

const WAIT: Duration = Duration::from_secs(5);

/// A memory device handed over under a network device's name, or one that
/// cannot be registered on the pump's thread.
enum Handed {
    Named(&'static str, MemoryDevice),
    Unregistrable,
}

impl PumpDevice for Handed {
    type Device = MemoryDevice;

    fn bind(self) -> io::Result<MemoryDevice> {
        match self {
            Handed::Named(_, device) => Ok(device),
            Handed::Unregistrable => Err(io::Error::other("no reactor for this one")),
        }
    }

    fn name(&self) -> Option<String> {
        match self {
            Handed::Named(name, _) => Some((*name).to_owned()),
            Handed::Unregistrable => None,
        }
    }
}

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .collect()
}

#[tokio::test]
async fn a_pump_runs_on_a_thread_named_after_its_device_which_ends_with_it() {
    let (device, _peer) = MemoryDevice::new(8);
    let handle = datapath::spawn(quiet_pump(), Handed::Named("mbimthr0", device));
    // The thread names itself once it runs.
    let deadline = Instant::now() + WAIT;
    while !thread_names().iter().any(|name| name == "pump-mbimthr0") {
        assert!(Instant::now() < deadline, "{:?}", thread_names());
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(!handle.is_finished());
    assert_eq!(
        tokio::time::timeout(WAIT, handle.stop())
            .await
            .unwrap()
            .unwrap(),
        StopReason::Stopped
    );
    // stop() returns once the thread has.
    assert!(
        !thread_names().iter().any(|name| name == "pump-mbimthr0"),
        "{:?}",
        thread_names()
    );
}

#[tokio::test]
async fn a_panicking_pump_is_reported_by_its_handle_and_harms_no_other_pump() {
    let mut sim = connect().await;
    let (bulk_in, bulk_out) = sim.take_pipes();
    let (device, peer) = MemoryDevice::new(64);
    let healthy = datapath::spawn(Pump::new(bulk_in, bulk_out, sim.config()).unwrap(), device);

    let failing = datapath::spawn(quiet_pump(), Panicking);
    let exit = tokio::time::timeout(WAIT, failing.join()).await.unwrap();
    match exit {
        Err(DatapathError::Panicked(message)) => {
            assert!(message.contains("the device read went wrong"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    // The other pump, and this runtime, go on.
    peer.inject(&ping(7, 32)).await.unwrap();
    let reply = tokio::time::timeout(WAIT, peer.receive())
        .await
        .expect("the echo reply arrives")
        .unwrap();
    assert!(is_reply(&reply, 7), "{reply:02x?}");
    assert!(!healthy.is_finished());
    assert_eq!(healthy.stop().await.unwrap(), StopReason::Stopped);
}

#[tokio::test]
async fn a_device_that_cannot_be_registered_ends_the_pump_with_an_error() {
    let handle = datapath::spawn(quiet_pump(), Handed::Unregistrable);
    let exit = tokio::time::timeout(WAIT, handle.join()).await.unwrap();
    assert!(
        matches!(
            exit,
            Err(DatapathError::Device {
                operation: "registration",
                ..
            })
        ),
        "{exit:?}"
    );
}

/// A bulk IN pipe whose transfers, once submitted, never complete, not
/// even when cancelled (a backend that loses them).
struct Deaf {
    pending: Arc<AtomicUsize>,
}

impl Pipe for Deaf {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        std::future::pending().await
    }

    fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }

    fn cancel_all(&mut self) {}

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}

impl InPipe for Deaf {
    fn submit(&mut self, _buffer: Vec<u8>, _length: usize) {
        self.pending.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn a_stop_returns_even_when_cancelled_transfers_never_come_back() {
    let (bulk_out, _) = RecordingOut::new();
    let pending = Arc::new(AtomicUsize::new(0));
    let pump = Pump::new(
        Deaf {
            pending: pending.clone(),
        },
        bulk_out,
        PumpConfig::new(0, NtbFormat::Ntb16, sim_parameters()),
    )
    .unwrap();
    let (device, _peer) = MemoryDevice::new(8);
    let handle = datapath::spawn(pump, device);
    let deadline = Instant::now() + WAIT;
    while pending.load(Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "the pump submits its transfers");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    let exit = tokio::time::timeout(WAIT, handle.stop())
        .await
        .expect("the stop gives up on the lost transfers");
    assert_eq!(exit.unwrap(), StopReason::Stopped);
    // It did wait for them (DRAIN_TIMEOUT, 200 ms) before giving up.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}
