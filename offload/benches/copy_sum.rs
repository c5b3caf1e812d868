//! Segmentation's per-byte work in memory: each payload copied into its
//! place and summed for its checksum, by `checksum::copy_and_sum` (one
//! pass) against a copy followed by `checksum::sum` of the copy (the two
//! passes segmentation made before), with a plain copy as the floor no
//! segmenting path can go under, all measured in the same run.
//!
//! Printed per size: nanoseconds per segment of each, fused over the two
//! passes and over the copy alone. Each figure is the fastest of several
//! turns over the same buffers (in the cache, as a 64 KiB super-packet and
//! the NTB it is cut into are); the three take turns.
//!
//! Run with `cargo bench -p mbim-offload --bench copy_sum`. Not a timed
//! test: nothing here fails on a slow machine.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)]

use mbim_offload::checksum;
use std::hint::black_box;
use std::time::Instant;

/// Segments per turn, and turns of each (the fastest counts).
const SEGMENTS: usize = 200_000;
const RUNS: usize = 15;

/// Nanoseconds per segment of `work` over `SEGMENTS` segments of `size`
/// bytes, from a 64 KiB super-packet into an NTB-sized block, the source
/// and destination offsets moving as segments do.
fn turn(size: usize, src: &[u8], dst: &mut [u8], work: fn(&mut [u8], &[u8]) -> u16) -> f64 {
    let start = Instant::now();
    let mut total = 0u32;
    let slots = src.len() / size;
    for index in 0..SEGMENTS {
        // Odd offsets too: a segment's payload lies after its headers in
        // the NTB, wherever the block's alignment puts it.
        let from = (index % slots) * size;
        let to = (index % slots) * (size + 42) % (dst.len() - size);
        total += u32::from(work(&mut dst[to..to + size], &src[from..from + size]));
    }
    black_box(total);
    start.elapsed().as_nanos() as f64 / SEGMENTS as f64
}

fn fused(dst: &mut [u8], src: &[u8]) -> u16 {
    checksum::copy_and_sum(black_box(dst), black_box(src), 0).unwrap()
}

fn two_passes(dst: &mut [u8], src: &[u8]) -> u16 {
    let dst = black_box(dst);
    dst.copy_from_slice(black_box(src));
    checksum::sum(dst, 0)
}

fn copy(dst: &mut [u8], src: &[u8]) -> u16 {
    black_box(dst).copy_from_slice(black_box(src));
    0
}

fn main() {
    println!(
        "segment payload copied and summed, ns per segment (fastest of {RUNS} turns of {SEGMENTS}); \
         fused = copy_and_sum, two passes = copy then sum, copy = the copy alone"
    );
    println!(
        "{:>5}  {:>9} {:>10} {:>8}  {:>12} {:>10}",
        "size", "fused", "two passes", "copy", "fused/2pass", "fused/copy"
    );
    let src: Vec<u8> = (0..65536u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut dst = vec![0u8; 65536];
    for size in [36usize, 512, 1372, 1400, 8192] {
        let (mut best_fused, mut best_two, mut best_copy) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..RUNS {
            best_fused = best_fused.min(turn(size, &src, &mut dst, fused));
            best_two = best_two.min(turn(size, &src, &mut dst, two_passes));
            best_copy = best_copy.min(turn(size, &src, &mut dst, copy));
        }
        println!(
            "{size:>5}  {best_fused:>9.1} {best_two:>10.1} {best_copy:>8.1}  {:>11.2}x {:>9.2}x",
            best_fused / best_two,
            best_fused / best_copy
        );
    }
}
