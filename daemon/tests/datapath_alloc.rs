//! The pump allocates nothing per packet once running: every transfer
//! buffer, the NTB builder and the read buffer are reused. Counted with a
//! global allocator over a steady stream both ways (scripted bulk IN,
//! discarding bulk OUT, the in-memory device), on this test's thread only.

// `unsafe impl GlobalAlloc` is the only way to observe allocations; as in
// protocol/tests/allocation_bounds.rs, this test file is the only place in
// the crate with `unsafe`, and it only forwards to the system allocator.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "datapath_support.rs"]
mod support;

use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, NtbParameters};
use mbim_transport::{Completion, OutPipe, Pipe};
use mbimd::datapath::{MemoryDevice, Pump, PumpConfig};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::VecDeque;
use std::time::Duration;
use support::ScriptedIn;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// Forwards every call to `System` unchanged, so it upholds `GlobalAlloc`'s
// contract; the counter is a thread-local `Cell` (no allocation of its own).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

struct NullOut {
    done: VecDeque<Completion>,
}

impl Pipe for NullOut {
    async fn next_complete(&mut self) -> Completion {
        match self.done.pop_front() {
            Some(completion) => completion,
            None => std::future::pending().await,
        }
    }
    fn pending(&self) -> usize {
        self.done.len()
    }
    fn cancel_all(&mut self) {}
    async fn clear_halt(&mut self) -> Result<(), mbim_transport::TransportError> {
        Ok(())
    }
}

impl OutPipe for NullOut {
    fn submit(&mut self, data: Vec<u8>) {
        self.done.push_back(Completion {
            buffer: data,
            status: Ok(()),
        });
    }
}

fn parameters() -> NtbParameters {
    NtbParameters {
        formats_supported: 1,
        in_max_size: 16384,
        in_divisor: 4,
        in_payload_remainder: 0,
        in_alignment: 4,
        out_max_size: 16384,
        out_divisor: 4,
        out_payload_remainder: 0,
        out_alignment: 4,
        out_max_datagrams: 32,
    }
}

#[test]
fn a_running_pump_allocates_nothing_per_packet() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        const ROUNDS: usize = 200;
        const PER_BLOCK: usize = 20;
        let mut builder = NtbBuilder::new(
            NtbFormat::Ntb16,
            BuildLimits::from_parameters(&parameters()),
        )
        .unwrap();
        for _ in 0..PER_BLOCK {
            builder.push(NdpSignature::Ips(0), &[0x45; 500]).unwrap();
        }
        let block = builder.finish().unwrap().to_vec();
        let (bulk_in, script, changed) = ScriptedIn::new();
        // Handed to the pipe one per round, from storage made up front.
        let blocks = std::sync::Mutex::new(vec![block; 2 * ROUNDS]);
        script.lock().unwrap().blocks.reserve(2 * ROUNDS);
        let out = NullOut {
            done: VecDeque::with_capacity(16),
        };
        let mut pump = Pump::new(
            bulk_in,
            out,
            PumpConfig::new(0, NtbFormat::Ntb16, parameters()),
        )
        .unwrap();
        let counters = pump.counters();
        let (device, peer) = MemoryDevice::new(4096);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();

        let traffic = async {
            let packet = vec![0x45u8; 300];
            let round = || {
                let peer = &peer;
                let packet = &packet;
                let changed = &changed;
                let counters = &counters;
                let blocks = &blocks;
                let script = &script;
                async move {
                    for _ in 0..ROUNDS {
                        let read = counters.snapshot().tx_packets;
                        for _ in 0..PER_BLOCK {
                            peer.inject(packet).await.unwrap();
                        }
                        // Lock-step, so the device's own buffer pool (the
                        // "kernel" side) never runs dry and allocates.
                        while counters.snapshot().tx_packets < read + PER_BLOCK as u64 {
                            tokio::task::yield_now().await;
                        }
                        let next = blocks.lock().unwrap().pop().unwrap();
                        script.lock().unwrap().blocks.push_back(Ok(next));
                        changed.notify_waiters();
                        for _ in 0..PER_BLOCK {
                            let received = peer.receive().await.unwrap();
                            peer.recycle(received);
                        }
                    }
                }
            };
            round().await;
            // Let the last flush and completions settle before counting.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let before = allocations();
            round().await;
            let during = allocations() - before;
            let _ = stop_tx.send(());
            during
        };
        let pumping = pump.run(&device, async {
            let _ = stop_rx.await;
        });
        let (during, exit) = tokio::join!(traffic, pumping);
        exit.unwrap();
        let snapshot = counters.snapshot();
        let packets = (ROUNDS * PER_BLOCK) as u64;
        assert_eq!(snapshot.rx_packets, 2 * packets, "{snapshot:?}");
        assert!(snapshot.tx_packets >= 2 * packets - 1, "{snapshot:?}");
        println!("{during} allocations for {packets} packets each way");
        assert!(
            during < 20,
            "{during} allocations for {packets} packets each way"
        );
    });
}
