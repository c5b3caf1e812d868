//! The data-path pump's cost per packet, against ceilings measured in the
//! same run.
//!
//! For 64- and 1400-byte IP packets, each direction:
//!
//! * **pump + sim**: the pump between the in-memory device and the
//!   simulated modem through the in-process transport (the simulator's NTB
//!   parsing, UDP sink and traffic generator are part of the cost);
//! * **pump alone**: the same pump between the in-memory device and pipes
//!   that complete at once (OUT: blocks discarded; IN: one prebuilt NTB
//!   replayed), so the simulator's share is out;
//! * **ceiling**: what the pump cannot avoid doing per packet, done in a
//!   tight loop — up: one memcpy of the packet into the device's queue and
//!   one read from it, `NtbBuilder::push`, and per block `finish` plus the
//!   copy into the transfer buffer; down: `Ntb::new_checked`, iterating the
//!   datagrams and copying each into the device's queue (`try_send`, as the
//!   pump writes).
//!
//! Each row is the median of several runs of `PACKETS` packets; the ratio
//! is pump time over ceiling time. The runtime is tokio's current-thread
//! one, so the device's other side shares the pump's thread, as it shares a
//! CPU with the kernel's network stack in the daemon.
//!
//! Run with `cargo bench -p mbimd --bench pump`. Not a timed test: nothing
//! here fails on a slow machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs,
    unreachable_pub
)]

#[path = "common/pipes.rs"]
mod pipes;
#[path = "../tests/datapath_support.rs"]
mod support;

use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat};
use mbim_sim::model::net::udp_packet;

use mbimd::datapath::{self, MemoryDevice, Pump, PumpConfig};
use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

const PACKETS: u64 = 20_000;
const RUNS: usize = 7;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A UDP datagram of `size` bytes in all (IP header included).
fn packet(size: usize, to_sink: bool) -> Vec<u8> {
    let (from, to, port) = if to_sink {
        (support::HOST, support::GATEWAY, 5001)
    } else {
        (support::GATEWAY, support::HOST, 5002)
    };
    udp_packet(IpAddr::V4(from), 4000, IpAddr::V4(to), port, size - 28).unwrap()
}

/// UDP payload size for a packet of `size` bytes in all.
fn payload(size: usize) -> usize {
    size - 28
}

/// Nanoseconds per packet sending `PACKETS` packets host → modem.
async fn up_pump(size: usize, with_sim: bool) -> f64 {
    let (device, peer) = MemoryDevice::new(1024);
    let packet = packet(size, true);
    let mut sim = None;
    let handle = if with_sim {
        let mut connected = support::connect().await;
        connected.start_sink();
        let (bulk_in, bulk_out) = connected.take_pipes();
        let pump = Pump::new(bulk_in, bulk_out, connected.config()).unwrap();
        sim = Some(connected);
        datapath::spawn(pump, device)
    } else {
        let (bulk_in, _, _) = support::ScriptedIn::new();
        let out = pipes::NullOut {
            done: Default::default(),
        };
        let config = PumpConfig::new(0, NtbFormat::Ntb16, pipes::parameters());
        datapath::spawn(Pump::new(bulk_in, out, config).unwrap(), device)
    };
    let counters = handle.counters();
    let start = Instant::now();
    // Queued without a future while there is room, as a kernel queues
    // into a TUN device; the waits on a full queue are the device's, not
    // the pump's.
    for _ in 0..PACKETS {
        if peer.try_inject(&packet).is_err() {
            peer.inject(&packet).await.unwrap();
        }
    }
    loop {
        let done = match &sim {
            Some(sim) => sim.sim_counter("sink_packets"),
            None => counters.snapshot().tx_packets,
        };
        if done >= PACKETS {
            break;
        }
        tokio::task::yield_now().await;
    }
    let elapsed = start.elapsed();
    assert_eq!(counters.snapshot().tx_dropped, 0);
    handle.stop().await.unwrap();
    elapsed.as_secs_f64() * 1e9 / PACKETS as f64
}

/// Nanoseconds per packet receiving `PACKETS` packets modem → host.
async fn down_pump(size: usize, with_sim: bool) -> f64 {
    let (device, peer) = MemoryDevice::new(4096);
    let mut sim = None;
    let handle = if with_sim {
        let mut connected = support::connect().await;
        let (bulk_in, bulk_out) = connected.take_pipes();
        let pump = Pump::new(bulk_in, bulk_out, connected.config()).unwrap();
        let handle = datapath::spawn(pump, device);
        connected.start_traffic(0, payload(size));
        sim = Some(connected);
        handle
    } else {
        let replay = pipes::ReplayIn {
            block: pipes::full_block(&packet(size, false)),
            pending: Default::default(),
            filled: Vec::new(),
        };
        let out = pipes::NullOut {
            done: Default::default(),
        };
        let config = PumpConfig::new(0, NtbFormat::Ntb16, pipes::parameters());
        datapath::spawn(Pump::new(replay, out, config).unwrap(), device)
    };
    // The first packet starts the clock: connecting is not the pump's cost.
    let first = peer.receive().await.unwrap();
    peer.recycle(first);
    let start = Instant::now();
    for _ in 0..PACKETS {
        let packet = match peer.try_receive().unwrap() {
            Some(packet) => packet,
            None => peer.receive().await.unwrap(),
        };
        debug_assert_eq!(packet.len(), size);
        peer.recycle(packet);
    }
    let elapsed = start.elapsed();
    drop(sim);
    handle.stop().await.unwrap();
    elapsed.as_secs_f64() * 1e9 / PACKETS as f64
}

/// The unavoidable work of the up direction, per packet.
async fn up_ceiling(size: usize) -> f64 {
    let (device, peer) = MemoryDevice::new(1024);
    let packet = packet(size, true);
    let mut builder = NtbBuilder::new(
        NtbFormat::Ntb16,
        BuildLimits::from_parameters(&pipes::parameters()),
    )
    .unwrap();
    let mut read = vec![0u8; 65536];
    let mut transfer = Vec::with_capacity(builder.max_block_len());
    let start = Instant::now();
    for _ in 0..PACKETS {
        peer.try_inject(&packet).unwrap();
        let len = datapath::PacketDevice::try_recv(&device, &mut read).unwrap();
        if builder.push(NdpSignature::Ips(0), &read[..len]).is_err() {
            transfer.clear();
            transfer.extend_from_slice(builder.finish().unwrap());
            black_box(&transfer);
            builder.push(NdpSignature::Ips(0), &read[..len]).unwrap();
        }
    }
    transfer.clear();
    transfer.extend_from_slice(builder.finish().unwrap());
    black_box(&transfer);
    start.elapsed().as_secs_f64() * 1e9 / PACKETS as f64
}

/// The unavoidable work of the down direction, per packet.
async fn down_ceiling(size: usize) -> f64 {
    let (device, peer) = MemoryDevice::new(4096);
    let block = pipes::full_block(&packet(size, false));
    let per_block = Ntb::new_checked(&block).unwrap().datagrams().count() as u64;
    let mut transfer = Vec::with_capacity(block.len());
    let mut delivered = 0;
    let start = Instant::now();
    while delivered < PACKETS {
        transfer.clear();
        transfer.extend_from_slice(&block);
        let ntb = Ntb::new_checked(&transfer).unwrap();
        for datagram in ntb.datagrams() {
            datapath::PacketDevice::try_send(&device, datagram.unwrap().data).unwrap();
            let packet = peer.try_receive().unwrap().unwrap();
            peer.recycle(packet);
        }
        delivered += per_block;
    }
    start.elapsed().as_secs_f64() * 1e9 / delivered as f64
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "pump: ns per packet, median of {RUNS} runs of {PACKETS} packets; ratio = pump / ceiling"
    );
    println!(
        "{:>5} {:>5} {:>10} {:>10} {:>10} {:>12} {:>10}",
        "size", "dir", "ceiling", "pump", "ratio", "pump + sim", "ratio"
    );
    runtime.block_on(async {
        for size in [64usize, 1400] {
            for up in [true, false] {
                let mut ceiling = Vec::new();
                let mut alone = Vec::new();
                let mut with_sim = Vec::new();
                for _ in 0..RUNS {
                    if up {
                        ceiling.push(up_ceiling(size).await);
                        alone.push(up_pump(size, false).await);
                        with_sim.push(up_pump(size, true).await);
                    } else {
                        ceiling.push(down_ceiling(size).await);
                        alone.push(down_pump(size, false).await);
                        with_sim.push(down_pump(size, true).await);
                    }
                }
                let (ceiling, alone, with_sim) = (median(ceiling), median(alone), median(with_sim));
                println!(
                    "{size:>5} {:>5} {ceiling:>10.1} {alone:>10.1} {:>9.2}x {with_sim:>12.1} {:>9.2}x",
                    if up { "up" } else { "down" },
                    alone / ceiling,
                    with_sim / ceiling,
                );
            }
        }
    });
}
