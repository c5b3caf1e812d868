//! The pump allocates nothing per packet once running: every transfer
//! buffer, the NTB builder and the read buffer are reused, and with
//! offloads (virtio-net framing) so are the segmenting of super-packets
//! into NTBs and the coalescing plan of received ones. Counted with a
//! global allocator over a steady stream both ways (scripted bulk IN,
//! discarding bulk OUT, the in-memory device), on this test's thread only.

// `unsafe impl GlobalAlloc` is the only way to observe allocations; as in
// protocol/tests/allocation_bounds.rs, this test file is the only place in
// the crate with `unsafe`, and it only forwards to the system allocator.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../offload/tests/packets/mod.rs"]
mod offload;
#[path = "datapath_support.rs"]
mod support;

use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, NtbParameters};
use mbim_transport::{Completion, OutPipe, Pipe};
use mbimd::datapath::{MemoryDevice, Pump, PumpConfig, ReadFraming};
use offload::{payload, Spec, TCP, UDP};
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
    type Buffer = Vec<u8>;

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
        in_max_size: 32768,
        in_divisor: 4,
        in_payload_remainder: 0,
        in_alignment: 4,
        out_max_size: 32768,
        out_divisor: 4,
        out_payload_remainder: 0,
        out_alignment: 4,
        out_max_datagrams: 32,
    }
}

/// What one round of traffic is, both ways.
struct Round {
    /// What the "kernel" writes to the device (packets or, with virtio-net
    /// framing, super-packets behind their header).
    reads: Vec<Vec<u8>>,
    /// The datagrams the pump puts into NTBs for them.
    sent: u64,
    /// The NTB the modem sends.
    block: Vec<u8>,
    /// The datagrams in it, and the device writes the pump makes of them.
    received: u64,
    writes: usize,
}

/// Runs `ROUNDS` rounds of `round` through a pump framed as `framing`
/// twice, lock-step, and returns the allocations made on this thread
/// during the second time: the steady state.
fn steady_state(framing: ReadFraming, udp_super_packets: bool, round: &Round) -> u64 {
    const ROUNDS: usize = 200;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (bulk_in, script, changed) = ScriptedIn::new();
        // Handed to the pipe one per round, from storage made up front.
        let blocks = std::sync::Mutex::new(vec![round.block.clone(); 2 * ROUNDS]);
        script.lock().unwrap().blocks.reserve(2 * ROUNDS);
        let out = NullOut {
            done: VecDeque::with_capacity(16),
        };
        let mut config = PumpConfig::new(0, NtbFormat::Ntb16, parameters());
        config.framing = framing;
        let mut pump = Pump::new(bulk_in, out, config).unwrap();
        let counters = pump.counters();
        let (device, peer) = MemoryDevice::new(4096);
        let device = device.with_udp_super_packets(udp_super_packets);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();

        let traffic = async {
            let rounds = || async {
                for _ in 0..ROUNDS {
                    let sent = counters.snapshot().tx_packets;
                    for read in &round.reads {
                        peer.inject(read).await.unwrap();
                    }
                    // Lock-step, so the device's own buffer pool (the
                    // "kernel" side) never runs dry and allocates.
                    while counters.snapshot().tx_packets < sent + round.sent {
                        tokio::task::yield_now().await;
                    }
                    let next = blocks.lock().unwrap().pop().unwrap();
                    script.lock().unwrap().blocks.push_back(Ok(next));
                    changed.notify_waiters();
                    for _ in 0..round.writes {
                        let received = peer.receive().await.unwrap();
                        peer.recycle(received);
                    }
                }
            };
            rounds().await;
            // Let the last flush and completions settle before counting.
            tokio::time::sleep(Duration::from_millis(5)).await;
            let before = allocations();
            rounds().await;
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
        let rounds = 2 * ROUNDS as u64;
        assert_eq!(snapshot.rx_packets, rounds * round.received, "{snapshot:?}");
        assert!(
            snapshot.tx_packets >= rounds * round.sent - 1,
            "{snapshot:?}"
        );
        println!(
            "{during} allocations for {} datagrams sent and {} received",
            ROUNDS as u64 * round.sent,
            ROUNDS as u64 * round.received
        );
        during
    })
}

fn ntb(datagrams: &[Vec<u8>]) -> Vec<u8> {
    let mut builder = NtbBuilder::new(
        NtbFormat::Ntb16,
        BuildLimits::from_parameters(&parameters()),
    )
    .unwrap();
    for datagram in datagrams {
        builder.push(NdpSignature::Ips(0), datagram).unwrap();
    }
    builder.finish().unwrap().to_vec()
}

#[test]
fn a_running_pump_allocates_nothing_per_packet() {
    const PER_BLOCK: usize = 20;
    let round = Round {
        reads: vec![vec![0x45u8; 300]; PER_BLOCK],
        sent: PER_BLOCK as u64,
        block: ntb(&vec![vec![0x45; 500]; PER_BLOCK]),
        received: PER_BLOCK as u64,
        writes: PER_BLOCK,
    };
    let during = steady_state(ReadFraming::PlainPacket, false, &round);
    assert!(during < 20, "{during} allocations");
}

/// `count` datagrams of one flow with 1000 bytes of payload each.
fn flow(mut spec: Spec, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|_| {
            let packet = spec.packet(&payload(1000), false);
            spec.id = spec.id.wrapping_add(1);
            spec.sequence = spec.sequence.wrapping_add(1000);
            packet
        })
        .collect()
}

#[test]
fn segmenting_and_coalescing_allocate_nothing_per_packet() {
    let tcp = Spec {
        source: "10.64.0.1".parse().unwrap(),
        destination: "10.64.0.2".parse().unwrap(),
        protocol: TCP,
        source_port: 9,
        destination_port: 6001,
        id: 1,
        sequence: 1,
        ack: 1,
        flags: 0x10,
        tcp_options: Vec::new(),
    };
    let udp = Spec {
        source: "fd00::1".parse().unwrap(),
        destination: "fd00::2".parse().unwrap(),
        protocol: UDP,
        ..tcp.clone()
    };
    // Sent: TSO and USO super-packets of 8 segments each, cut into NTBs.
    let reads = vec![
        tcp.virtio(&payload(8000), 1000),
        udp.virtio(&payload(8000), 1000),
        tcp.virtio(&payload(8000), 1000),
        udp.virtio(&payload(8000), 1000),
    ];
    // Received: a TCP and a UDP flow of 8 datagrams each, interleaved, and
    // a bare ACK of the TCP flow that is written alone: 3 writes.
    let mut datagrams: Vec<Vec<u8>> = flow(tcp.clone(), 8)
        .into_iter()
        .zip(flow(udp, 8))
        .flat_map(|(a, b)| [a, b])
        .collect();
    datagrams.push(tcp.packet(&[], false));
    let round = Round {
        reads,
        sent: 32,
        block: ntb(&datagrams),
        received: 17,
        writes: 3,
    };
    let during = steady_state(ReadFraming::VirtioNet, true, &round);
    assert!(during < 20, "{during} allocations");
}
