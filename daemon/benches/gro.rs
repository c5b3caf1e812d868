//! The receive side's coalescing (GRO) plan in memory, against the work no
//! coalescing path can skip, measured in the same run.
//!
//! For a full IN NTB of one bulk flow (UDP and TCP, IPv4 and IPv6, 64- and
//! 1400-byte datagrams, as a modem sends them):
//!
//! * **plan**: what `rx.rs` does per NTB with offloads, less the system
//!   calls: `Ntb::new_checked`, each datagram of the session pushed into
//!   the `Coalescer`, `finish`, and every write's gather list built;
//! * **floor**: `Ntb::new_checked`, each datagram's checksums (IPv4
//!   header, transport; the kernel trusts a super-packet's, so every part
//!   must be checked)
//!   and one gather-list part per datagram: the tun bench's RX floor less
//!   its `writev`.
//!
//! Printed per row: nanoseconds per datagram of each and plan/floor; where
//! the plan is near its floor, what is left of the pump's cost over the
//! tun bench's floor is not the plan's. Each figure is the fastest of
//! several turns over the same block, which stays in the cache, as the tun
//! bench's floor's does; floor and plan take turns.
//!
//! Run with `cargo bench -p mbimd --bench gro` (`GRO_BENCH_ONLY=1400UDP4`
//! runs only the rows named, to profile one). Not a timed test: nothing
//! here fails on a slow machine.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs,
    unreachable_pub
)]

// Only its block builder is used here.
#[path = "../../offload/tests/packets/mod.rs"]
mod offload;
#[allow(dead_code)]
#[path = "common/pipes.rs"]
mod pipes;

use mbim_offload::checksum;
use mbim_offload::gro::{Coalescer, MAX_PARTS};
use mbim_protocol::ntb::Ntb;
use offload::{bulk_spec, payload, TCP, UDP};
use std::hint::black_box;
use std::io::IoSlice;
use std::time::Instant;

/// Blocks per turn, and turns of each per row (the fastest is printed).
const BLOCKS: usize = 5_000;
const RUNS: usize = 15;

/// A full IN NTB of one flow's `size`-byte IP packets, IDs and sequence
/// numbers following on, as the modem would send them.
fn block(v6: bool, protocol: u8, size: usize) -> Vec<u8> {
    let mut spec = bulk_spec(v6, protocol, 6000);
    let headers = if v6 { 40 } else { 20 } + if protocol == TCP { 20 } else { 8 };
    let data = payload(size - headers);
    let datagrams: Vec<Vec<u8>> = (0..4096)
        .map(|_| {
            let packet = spec.packet(&data, false);
            spec.id = spec.id.wrapping_add(1);
            spec.sequence = spec.sequence.wrapping_add(data.len() as u32);
            packet
        })
        .collect();
    pipes::block_of(datagrams.iter().map(Vec::as_slice))
}

/// Nanoseconds per datagram of `floor` and `plan`, each done once per
/// block: the two take turns, `RUNS` times `BLOCKS` blocks each, and the
/// fastest turn of each counts (on a shared machine another process only
/// ever slows a turn down, and taking turns gives both the same chances).
fn per_datagram(
    datagrams: usize,
    mut floor: impl FnMut() -> u64,
    mut plan: impl FnMut() -> u64,
) -> (f64, f64) {
    let turn = |work: &mut dyn FnMut() -> u64| {
        let start = Instant::now();
        let mut total = 0;
        for _ in 0..BLOCKS {
            total += work();
        }
        black_box(total);
        start.elapsed().as_nanos() as f64 / (BLOCKS * datagrams) as f64
    };
    let (mut floor_ns, mut plan_ns) = (f64::MAX, f64::MAX);
    for _ in 0..RUNS {
        floor_ns = floor_ns.min(turn(&mut floor));
        plan_ns = plan_ns.min(turn(&mut plan));
    }
    (floor_ns, plan_ns)
}

/// The plan of one block as `rx.rs` makes and writes it, less the writes:
/// the datagrams carried.
fn plan(coalescer: &mut Coalescer, block: &[u8]) -> u64 {
    let ntb = Ntb::new_checked(block).unwrap();
    coalescer.clear();
    for datagram in ntb.datagrams() {
        coalescer.push(block, datagram.unwrap().data);
    }
    coalescer.finish(block);
    let mut carried = 0;
    for index in 0..coalescer.len() {
        let mut parts = [IoSlice::new(&[]); MAX_PARTS];
        if let Some(gathered) = coalescer.gather(block, index, &mut parts) {
            black_box(&parts[..gathered.parts]);
            carried += gathered.datagrams;
        }
    }
    carried
}

/// The floor of one block: every datagram's checksums (IPv4 header,
/// transport) and its payload as a gather-list part.
fn floor(block: &[u8], headers: usize, ip: usize) -> u64 {
    let ntb = Ntb::new_checked(block).unwrap();
    let mut parts = [IoSlice::new(&[]); MAX_PARTS];
    let mut carried = 0;
    for (index, datagram) in ntb.datagrams().enumerate() {
        let data = datagram.unwrap().data;
        if ip == 20 {
            black_box(checksum::sum(black_box(&data[..ip]), 0));
        }
        black_box(checksum::sum(black_box(&data[ip..]), 0));
        parts[index % (MAX_PARTS - 1) + 1] = IoSlice::new(&data[headers..]);
        carried += 1;
    }
    black_box(&parts);
    carried
}

/// Whether the row runs: all of them, unless `GRO_BENCH_ONLY` lists rows
/// as `1400UDP4`, `64TCP6`, … (comma separated), to profile one alone.
fn selected(size: usize, flow: &str) -> bool {
    std::env::var("GRO_BENCH_ONLY").map_or(true, |only| {
        only.split(',')
            .any(|row| row.trim() == format!("{size}{flow}"))
    })
}

fn main() {
    println!(
        "GRO plan per datagram over a full NTB of one flow, in memory; floor = checksums \
         (IPv4 header, transport) + one gather part per datagram; plan/floor = the plan's cost over it"
    );
    println!(
        "{:>5} {:>5}  {:>9} {:>10} {:>10} {:>11}",
        "size", "flow", "datagrams", "floor ns", "plan ns", "plan/floor"
    );
    for (v6, protocol, name) in [
        (false, UDP, "UDP4"),
        (false, TCP, "TCP4"),
        (true, UDP, "UDP6"),
        (true, TCP, "TCP6"),
    ] {
        for size in [64usize, 1400] {
            if !selected(size, name) {
                continue;
            }
            let block = block(v6, protocol, size);
            let datagrams = Ntb::new_checked(&block).unwrap().datagrams().count();
            let ip = if v6 { 40 } else { 20 };
            let headers = ip + if protocol == TCP { 20 } else { 8 };
            let mut coalescer = Coalescer::new(true);
            assert_eq!(plan(&mut coalescer, &block), datagrams as u64);
            // A bulk flow must coalesce: a plan that wrote every datagram
            // alone would measure something else.
            assert!(
                coalescer.len() < datagrams.div_ceil(8),
                "{name} {size}: not coalesced"
            );
            let (floor_ns, plan_ns) = per_datagram(
                datagrams,
                || floor(&block, headers, ip),
                || plan(&mut coalescer, &block),
            );
            println!(
                "{size:>5} {name:>5}  {datagrams:>9} {floor_ns:>10.1} {plan_ns:>10.1} {:>10.2}x",
                plan_ns / floor_ns
            );
        }
    }
}
