//! NTB16 parse and build of a 32 KiB block, against a memcpy of the same
//! 32 KiB measured in the same run.
//!
//! Targets: parsing (iterating every datagram) costs at most 5% of the
//! memcpy; building runs at no less than 0.8× memcpy throughput.
//!
//! Run with `cargo bench -p mbim-protocol --bench ntb`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat};

const BLOCK: u32 = 32 * 1024;
const BATCHES: usize = 31;
const BATCH_TIME: Duration = Duration::from_millis(4);

/// Median time per iteration of `f`, over `BATCHES` batches each sized to
/// take about `BATCH_TIME`.
fn measure(mut f: impl FnMut()) -> Duration {
    let mut iterations = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..iterations {
            f();
        }
        if start.elapsed() >= BATCH_TIME / 4 || iterations >= 1 << 24 {
            break;
        }
        iterations *= 2;
    }
    iterations *= 4;
    let mut samples: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed() / iterations
        })
        .collect();
    samples.sort();
    samples[BATCHES / 2]
}

fn limits() -> BuildLimits {
    BuildLimits {
        max_size: BLOCK,
        max_datagrams: 0,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 4,
    }
}

/// As many `size`-byte datagrams as fit in one 32 KiB NTB16.
fn datagrams(size: usize) -> Vec<Vec<u8>> {
    let mut builder = NtbBuilder::new(NtbFormat::Ntb16, limits()).unwrap();
    let mut out = Vec::new();
    loop {
        let datagram: Vec<u8> = (0..size)
            .map(|i| (i + out.len()).to_le_bytes()[0])
            .collect();
        if builder.push(NdpSignature::Ips(0), &datagram).is_err() {
            return out;
        }
        out.push(datagram);
    }
}

fn ns(d: Duration) -> f64 {
    d.as_secs_f64() * 1e9
}

fn main() {
    let src = vec![0x5Au8; BLOCK as usize];
    let mut dst = vec![0u8; BLOCK as usize];
    let memcpy = measure(|| {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    });
    println!(
        "memcpy 32 KiB                        {:>9.1} ns  ({:.1} GB/s)",
        ns(memcpy),
        f64::from(BLOCK) / ns(memcpy)
    );

    for size in [1500usize, 64] {
        let input = datagrams(size);
        let mut builder = NtbBuilder::new(NtbFormat::Ntb16, limits()).unwrap();
        for d in &input {
            builder.push(NdpSignature::Ips(0), d).unwrap();
        }
        let block = builder.finish().unwrap().to_vec();
        let count = input.len();

        let parse = measure(|| {
            let ntb = Ntb::new_checked(black_box(&block)).unwrap();
            let mut total = 0usize;
            for datagram in ntb.datagrams() {
                total += datagram.unwrap().data.len();
            }
            black_box(total);
        });
        let build = measure(|| {
            for d in &input {
                builder.push(NdpSignature::Ips(0), black_box(d)).unwrap();
            }
            black_box(builder.finish());
        });

        let parse_ratio = ns(parse) / ns(memcpy);
        let build_ratio = ns(memcpy) / ns(build);
        println!(
            "{size:>4}-byte datagrams: {count} in a {} byte block",
            block.len()
        );
        println!(
            "  parse (iterate all)                {:>9.1} ns  = {:>6.2}% of memcpy  (target <= 5%: {})  {:.2} ns/datagram",
            ns(parse),
            parse_ratio * 100.0,
            if parse_ratio <= 0.05 { "met" } else { "MISSED" },
            ns(parse) / count as f64
        );
        println!(
            "  build (push all + finish)          {:>9.1} ns  = {:>6.2}x memcpy throughput  (target >= 0.8x: {})  {:.2} ns/datagram",
            ns(build),
            build_ratio,
            if build_ratio >= 0.8 { "met" } else { "MISSED" },
            ns(build) / count as f64
        );
    }
}
