//! The Internet checksum (RFC 1071) where the data path must finish one: a
//! packet the kernel hands over with `CHECKSUM_PARTIAL` (virtio-net
//! `NEEDS_CSUM`) carries only the pseudo-header sum in its checksum field,
//! and a modem forwards what it gets.

/// The ones' complement sum of `data` (big-endian 16-bit words, an odd last
/// byte padded with zero) added to `initial`, folded to 16 bits.
///
/// Every byte the data path sends with offloads and every byte its GRO
/// (`gro.rs`) coalesces is summed here, so this is the one routine whose
/// speed is the offload paths' floor. The words are summed in the CPU's
/// own byte order and the folded sum swapped once at the end (RFC 1071
/// §2(B): the ones' complement sum is the same in either order, swapped),
/// which spares the per-word byte swap of wireguard-go's algorithm (the one
/// tun-rs ships, about half as fast on x86-64).
#[inline]
pub fn sum(data: &[u8], initial: u32) -> u16 {
    // Headers and short datagrams are summed in line: a vector routine's
    // set-up and final reduction cost more than it saves on them.
    let words = if data.len() < SHORT {
        short_words(data)
    } else {
        native_words(data)
    };
    let big_endian = u16::from_be_bytes(fold(words).to_ne_bytes());
    fold(u64::from(big_endian) + u64::from(initial))
}

/// Below this many bytes, [`sum`] adds 64-bit words in line.
const SHORT: usize = 128;

/// [`sum`] of a fixed-size header (an IPv4 header's 20 bytes): its length
/// known where it is called, the words are added in line with no loop or
/// call, for GRO's check of every datagram's IPv4 header.
#[inline]
pub fn sum_header<const N: usize>(header: &[u8; N], initial: u32) -> u16 {
    let big_endian = u16::from_be_bytes(fold(short_words(header)).to_ne_bytes());
    fold(u64::from(big_endian) + u64::from(initial))
}

/// Copies `src` into `dst` and returns [`sum`]`(src, initial)`, reading
/// each byte once: segmentation (`segment.rs`) copies every payload byte
/// it sends and must sum it too, and a second pass over the copy costs
/// about as much as the copy itself. `None` (nothing copied) if the two
/// lengths differ.
#[inline]
pub fn copy_and_sum(dst: &mut [u8], src: &[u8], initial: u32) -> Option<u16> {
    if dst.len() != src.len() {
        return None;
    }
    let words = if src.len() < SHORT {
        // Short copies stay in L1: the second pass is over bytes just
        // written, cheaper than a vector routine's set-up.
        dst.copy_from_slice(src);
        short_words(dst)
    } else {
        native_copy_words(dst, src)
    };
    let big_endian = u16::from_be_bytes(fold(words).to_ne_bytes());
    Some(fold(u64::from(big_endian) + u64::from(initial)))
}

/// `value` folded to 16 bits with end-around carries, without a loop: 64
/// to 32 bits, then 32 to 16, each carry added back in.
fn fold(value: u64) -> u16 {
    // Cannot fail: each half is masked or shifted into its width.
    let half = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
    let (folded, carry) = half(value & 0xffff_ffff).overflowing_add(half(value >> 32));
    let value = folded + u32::from(carry);
    let half = |value: u32| u16::try_from(value).unwrap_or(u16::MAX);
    let (folded, carry) = half(value & 0xffff).overflowing_add(half(value >> 16));
    folded + u16::from(carry)
}

/// Bytes summed into 32-bit lanes before the lanes are moved into the
/// 64-bit total: each lane takes at most 2 × 0xffff per 64 bytes, so 1 MiB
/// (16384 steps) stays far below 2³¹ either way the lanes count.
const LANE_BLOCK: usize = 1 << 20;

/// The sum of `data`'s 16-bit words read in the CPU's byte order (an odd
/// last byte as the word's first byte), unfolded.
fn native_words(data: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above; that is all
            // `avx2_words` asks.
            #[allow(unsafe_code)]
            return unsafe { avx2_words(data) };
        }
    }
    portable_words(data)
}

/// `native_words` of `src`, copied into `dst` (of the same length) on
/// the way.
fn native_copy_words(dst: &mut [u8], src: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above; that is all
            // `avx2_copy_words` asks.
            #[allow(unsafe_code)]
            return unsafe { avx2_copy_words(dst, src) };
        }
    }
    portable_copy_words(dst, src)
}

/// `native_words` in plain Rust, written so the compiler vectorises the
/// 64-byte steps for whatever the target has (SSE2, NEON): each 32-bit
/// word's halves go into lanes of their own, which only add, mask and
/// shift.
fn portable_words(data: &[u8]) -> u64 {
    data.chunks(LANE_BLOCK).map(portable_block).sum()
}

/// `portable_words` of at most [`LANE_BLOCK`] bytes.
fn portable_block(block: &[u8]) -> u64 {
    let mut low = [0u32; 16];
    let mut high = [0u32; 16];
    let mut steps = block.chunks_exact(64);
    for step in &mut steps {
        for ((word, low), high) in step.chunks_exact(4).zip(&mut low).zip(&mut high) {
            let word = match *word {
                [a, b, c, d] => u32::from_ne_bytes([a, b, c, d]),
                _ => 0,
            };
            // The two 16-bit words of `word`, whichever order they are in:
            // only their sum matters.
            *low += word & 0xffff;
            *high += word >> 16;
        }
    }
    let lanes: u64 = low.iter().chain(&high).map(|&lane| u64::from(lane)).sum();
    lanes + tail_words(steps.remainder())
}

/// `portable_words` of `src`, copied into `dst` on the way: each 32-bit
/// word loaded once, stored once and split into the lanes, which the
/// compiler vectorises as it does `portable_block`'s.
fn portable_copy_words(dst: &mut [u8], src: &[u8]) -> u64 {
    dst.chunks_mut(LANE_BLOCK)
        .zip(src.chunks(LANE_BLOCK))
        .map(|(dst, src)| portable_copy_block(dst, src))
        .sum()
}

/// `portable_copy_words` of at most [`LANE_BLOCK`] bytes.
fn portable_copy_block(dst: &mut [u8], src: &[u8]) -> u64 {
    let mut low = [0u32; 16];
    let mut high = [0u32; 16];
    let mut from = src.chunks_exact(64);
    let mut to = dst.chunks_exact_mut(64);
    for (src, dst) in (&mut from).zip(&mut to) {
        let lanes = low.iter_mut().zip(&mut high);
        for ((src, dst), (low, high)) in src.chunks_exact(4).zip(dst.chunks_exact_mut(4)).zip(lanes)
        {
            let word = match *src {
                [a, b, c, d] => [a, b, c, d],
                _ => [0; 4],
            };
            dst.copy_from_slice(&word);
            let word = u32::from_ne_bytes(word);
            *low += word & 0xffff;
            *high += word >> 16;
        }
    }
    let rest = from.remainder();
    to.into_remainder().copy_from_slice(rest);
    let lanes: u64 = low.iter().chain(&high).map(|&lane| u64::from(lane)).sum();
    lanes + tail_words(rest)
}

/// The words of a short `data`, unfolded: 64-bit words split into their
/// 32-bit halves (two adds per 8 bytes, no carry lost), then the rest.
#[inline]
fn short_words(data: &[u8]) -> u64 {
    let mut total = 0u64;
    let mut eights = data.chunks_exact(8);
    for eight in &mut eights {
        if let Some(eight) = eight.first_chunk::<8>() {
            let word = u64::from_ne_bytes(*eight);
            // The halves' words in native order, as `tail_words` reads them.
            total += (word & 0xffff_ffff) + (word >> 32);
        }
    }
    total + tail_words(eights.remainder())
}

/// The words of fewer than 64 bytes.
#[inline]
fn tail_words(rest: &[u8]) -> u64 {
    let mut total = 0u64;
    let mut quads = rest.chunks_exact(4);
    for quad in &mut quads {
        if let [a, b, c, d] = *quad {
            // Its two words, each in native order, differ from its value
            // by a multiple of 0xffff (65536 ≡ 1): the fold takes care.
            total += u64::from(u32::from_ne_bytes([a, b, c, d]));
        }
    }
    let mut pairs = quads.remainder().chunks_exact(2);
    for pair in &mut pairs {
        if let [a, b] = *pair {
            total += u64::from(u16::from_ne_bytes([a, b]));
        }
    }
    if let [last] = *pairs.remainder() {
        total += u64::from(u16::from_ne_bytes([last, 0]));
    }
    total
}

/// `native_words` with AVX2: each 16-bit word biased by 0x8000 into a
/// signed one so that `vpmaddwd` against ones adds pairs of them into
/// 32-bit lanes (one multiply-add, one add per 32 bytes, no widening
/// shuffles), the bias given back from the count of words at the end.
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn avx2_words(data: &[u8]) -> u64 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi16,
        _mm256_setzero_si256, _mm256_xor_si256,
    };
    let bias = _mm256_set1_epi16(i16::MIN);
    let ones = _mm256_set1_epi16(1);
    // SAFETY (every load): `bytes` is 32 readable bytes and the load takes
    // any alignment.
    let pairs = |bytes: &[u8]| {
        let loaded = _mm256_loadu_si256(bytes.as_ptr().cast::<__m256i>());
        _mm256_madd_epi16(_mm256_xor_si256(loaded, bias), ones)
    };
    let mut total = 0i64;
    for block in data.chunks(LANE_BLOCK) {
        // Two accumulators, so one add need not wait for the other.
        let mut first = _mm256_setzero_si256();
        let mut second = _mm256_setzero_si256();
        let mut steps = block.chunks_exact(64);
        for step in &mut steps {
            let (low, high) = step.split_at(32);
            first = _mm256_add_epi32(first, pairs(low));
            second = _mm256_add_epi32(second, pairs(high));
        }
        let mut rest = steps.remainder();
        let mut summed = block.len() - rest.len();
        if rest.len() >= 32 {
            let (half, after) = rest.split_at(32);
            first = _mm256_add_epi32(first, pairs(half));
            rest = after;
            summed += 32;
        }
        total += avx2_block_total(first, second, summed, rest);
    }
    u64::try_from(total).unwrap_or(0)
}

/// `native_copy_words` with AVX2: [`avx2_words`]'s sum, with each 32-byte
/// load also stored to `dst` (one load, one store, one multiply-add and one
/// add per 32 bytes).
///
/// # Safety
///
/// The CPU must have AVX2. `dst` must be as long as `src` (checked: a
/// shorter one is filled as far as it goes and only that much summed).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
unsafe fn avx2_copy_words(dst: &mut [u8], src: &[u8]) -> u64 {
    use std::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi16,
        _mm256_setzero_si256, _mm256_storeu_si256, _mm256_xor_si256,
    };
    let bias = _mm256_set1_epi16(i16::MIN);
    let ones = _mm256_set1_epi16(1);
    // SAFETY (every load and store): `from` is 32 readable bytes and `to`
    // 32 writable ones (both `split_at` halves of 64-byte chunks, or 32-byte
    // splits); the load and the store take any alignment.
    let copy_pairs = |from: &[u8], to: &mut [u8]| {
        let loaded = _mm256_loadu_si256(from.as_ptr().cast::<__m256i>());
        _mm256_storeu_si256(to.as_mut_ptr().cast::<__m256i>(), loaded);
        _mm256_madd_epi16(_mm256_xor_si256(loaded, bias), ones)
    };
    let mut total = 0i64;
    for (block, out) in src.chunks(LANE_BLOCK).zip(dst.chunks_mut(LANE_BLOCK)) {
        let (block, out) = {
            let len = block.len().min(out.len());
            (
                block.get(..len).unwrap_or_default(),
                out.get_mut(..len).unwrap_or_default(),
            )
        };
        let mut first = _mm256_setzero_si256();
        let mut second = _mm256_setzero_si256();
        let mut from = block.chunks_exact(64);
        let mut to = out.chunks_exact_mut(64);
        for (step, into) in (&mut from).zip(&mut to) {
            let (low, high) = step.split_at(32);
            let (into_low, into_high) = into.split_at_mut(32);
            first = _mm256_add_epi32(first, copy_pairs(low, into_low));
            second = _mm256_add_epi32(second, copy_pairs(high, into_high));
        }
        let mut rest = from.remainder();
        let mut rest_out = to.into_remainder();
        let mut summed = block.len() - rest.len();
        if rest.len() >= 32 {
            let (half, after) = rest.split_at(32);
            let (into, after_out) = rest_out.split_at_mut(32);
            first = _mm256_add_epi32(first, copy_pairs(half, into));
            rest = after;
            rest_out = after_out;
            summed += 32;
        }
        rest_out.copy_from_slice(rest);
        total += avx2_block_total(first, second, summed, rest);
    }
    u64::try_from(total).unwrap_or(0)
}

/// One lane block's sum for the AVX2 routines: the two accumulators'
/// lanes, with the bias of the words in their `vector_bytes` given back,
/// and the `rest` summed in plain code.
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(unsafe_code)]
#[inline]
unsafe fn avx2_block_total(
    first: std::arch::x86_64::__m256i,
    second: std::arch::x86_64::__m256i,
    vector_bytes: usize,
    rest: &[u8],
) -> i64 {
    use std::arch::x86_64::{__m256i, _mm256_add_epi32, _mm256_storeu_si256};
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` is 32 writable bytes; the store takes any alignment.
    _mm256_storeu_si256(
        lanes.as_mut_ptr().cast::<__m256i>(),
        _mm256_add_epi32(first, second),
    );
    let lanes: i64 = lanes.iter().map(|&lane| i64::from(lane)).sum();
    let words = i64::try_from(vector_bytes / 2).unwrap_or(0);
    // Each biased word was 0x8000 short of its value.
    lanes + words * 0x8000 + i64::try_from(tail_words(rest)).unwrap_or(0)
}

/// Completes a partial checksum: the field at `start + offset` holds the
/// pseudo-header sum; the checksum covers everything from `start` to the
/// end of `packet`. `None` (packet unchanged) if the field lies outside it.
pub(crate) fn complete_partial(packet: &mut [u8], start: u16, offset: u16) -> Option<()> {
    let start = usize::from(start);
    let at = start.checked_add(usize::from(offset))?;
    let field = packet.get_mut(at..at.checked_add(2)?)?;
    let initial = u32::from(u16::from_be_bytes([*field.first()?, *field.get(1)?]));
    field.fill(0);
    let folded = !sum(packet.get(start..)?, initial);
    packet
        .get_mut(at..at + 2)?
        .copy_from_slice(&folded.to_be_bytes());
    Some(())
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
pub(super) mod tests {
    use super::*;

    /// A way of summing, as `native_words` does.
    type Routine = fn(&[u8]) -> u64;

    /// The plain word sum: big-endian words, an odd last byte padded,
    /// folded one carry at a time.
    pub(crate) fn reference(data: &[u8], initial: u32) -> u16 {
        let mut plain = u64::from(initial);
        for pair in data.chunks(2) {
            plain += (u64::from(pair[0]) << 8) | u64::from(*pair.get(1).unwrap_or(&0));
        }
        while plain > 0xffff {
            plain = (plain & 0xffff) + (plain >> 16);
        }
        plain as u16
    }

    /// Each way of summing this CPU has, by name.
    fn routines() -> Vec<(&'static str, Routine)> {
        let mut routines: Vec<(&'static str, Routine)> = vec![
            ("portable", portable_words),
            ("dispatched", native_words),
            ("short", short_words),
        ];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            fn avx2(data: &[u8]) -> u64 {
                // SAFETY: only listed where the CPU has AVX2.
                unsafe { avx2_words(data) }
            }
            routines.push(("avx2", avx2));
        }
        routines
    }

    /// `sum` with `routine` in place of the dispatched one.
    fn sum_with(routine: impl FnOnce(&[u8]) -> u64, data: &[u8], initial: u32) -> u16 {
        let native = fold(routine(data));
        fold(u64::from(u16::from_be_bytes(native.to_ne_bytes())) + u64::from(initial))
    }

    #[test]
    fn the_fold_keeps_every_carry() {
        for value in [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1_fffe,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut plain = value;
            while plain > 0xffff {
                plain = (plain & 0xffff) + (plain >> 16);
            }
            assert_eq!(u64::from(fold(value)), plain, "{value:#x}");
        }
    }

    #[test]
    fn sums_match_rfc_1071_examples() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0),
            0xddf2
        );
        // Odd length: the last byte is the high half of a word.
        assert_eq!(sum(&[0x12], 0), 0x1200);
        assert_eq!(sum(&[], 0x1_fffe), 0xffff);
        assert_eq!(sum(&[], 0), 0);
    }

    #[test]
    fn every_routine_matches_the_plain_word_sum_at_every_length_and_alignment() {
        // Bytes that carry often, every length through three 64-byte steps
        // and the sizes the data path sums, at every alignment.
        let data: Vec<u8> = (0..2100u32)
            .map(|i| i.wrapping_mul(2_654_435_761).to_be_bytes()[1] | 0xc0)
            .collect();
        let routines = routines();
        assert!(routines.len() >= 2);
        for (name, routine) in &routines {
            for start in 0..33 {
                for len in (0..200).chain([1371, 1372, 1399, 1400, 1401, 2048, 2067]) {
                    let slice = &data[start..start + len];
                    for initial in [0, 0xfedc, 0x3_ffff] {
                        assert_eq!(
                            sum(slice, initial),
                            reference(slice, initial),
                            "sum: {start}+{len}, initial {initial:#x}"
                        );
                        assert_eq!(
                            sum_with(*routine, slice, initial),
                            reference(slice, initial),
                            "{name}: {start}+{len}, initial {initial:#x}"
                        );
                    }
                }
            }
        }
    }

    /// A way of copying and summing, as `native_copy_words` does.
    type CopyRoutine = fn(&mut [u8], &[u8]) -> u64;

    /// Each way of copying and summing this CPU has, by name.
    fn copy_routines() -> Vec<(&'static str, CopyRoutine)> {
        // The dispatched routine is what `copy_and_sum` calls.
        let mut routines: Vec<(&'static str, CopyRoutine)> =
            vec![("portable", portable_copy_words)];
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            fn avx2(dst: &mut [u8], src: &[u8]) -> u64 {
                // SAFETY: only listed where the CPU has AVX2.
                unsafe { avx2_copy_words(dst, src) }
            }
            routines.push(("avx2", avx2));
        }
        routines
    }

    #[test]
    fn every_copy_routine_is_a_memcpy_and_the_plain_word_sum_at_every_length_and_alignment() {
        // Every length 0..=2100 (past a 1400-byte segment and the lane
        // steps' every remainder) from every source alignment in a 32-byte
        // vector; the bytes around the destination must stay as they were
        // (the vector stores write through raw pointers).
        const GUARD: u8 = 0x5a;
        let data: Vec<u8> = (0..2100u32 + 32)
            .map(|i| i.wrapping_mul(2_654_435_761).to_be_bytes()[1] | 0xc0)
            .collect();
        let mut out = vec![GUARD; 2100 + 32 + 32];
        let routines = copy_routines();
        for src_start in 0..32 {
            for len in 0..=2100 {
                let src = &data[src_start..src_start + len];
                let expected = reference(src, 0xfedc);
                for dst_start in 0..32 {
                    // The vector routine goes to every destination
                    // alignment; the rest (safe code indexing from each
                    // slice's start, slow unoptimised) to one per source
                    // alignment and length, which still meets every pair
                    // of alignments over the lengths.
                    let spread = dst_start == (src_start * 7 + len) % 32;
                    let window = dst_start..dst_start + len;
                    let after = window.end..window.end + 32;
                    let place = (src_start, dst_start, len);
                    if spread {
                        let copied = copy_and_sum(&mut out[window.clone()], src, 0xfedc);
                        assert_eq!(copied, Some(expected), "copy_and_sum {place:?}");
                        assert_eq!(&out[window.clone()], src, "copy_and_sum {place:?}");
                        out[window.clone()].fill(GUARD);
                    }
                    for (name, routine) in &routines {
                        if *name == "portable" && !spread {
                            continue;
                        }
                        let copied = |src: &[u8]| routine(&mut out[window.clone()], src);
                        assert_eq!(sum_with(copied, src, 0xfedc), expected, "{name} {place:?}");
                        assert_eq!(&out[window.clone()], src, "{name} {place:?}");
                        // A store past either end would be a vector's (32
                        // bytes at most).
                        assert_eq!(
                            out[..dst_start],
                            [GUARD; 32][..dst_start],
                            "{name} {place:?}"
                        );
                        assert_eq!(out[after.clone()], [GUARD; 32], "{name} {place:?}");
                        out[window.clone()].fill(GUARD);
                    }
                }
            }
        }
    }

    #[test]
    fn a_copy_between_different_lengths_is_refused_untouched() {
        let mut out = [7u8; 5];
        assert_eq!(copy_and_sum(&mut out, &[1, 2, 3, 4], 0), None);
        assert_eq!(copy_and_sum(&mut out[..3], &[1, 2, 3, 4], 0), None);
        assert_eq!(out, [7; 5]);
        assert_eq!(copy_and_sum(&mut out[..0], &[], 0x1_fffe), Some(0xffff));
    }

    #[test]
    fn lanes_do_not_overflow_on_the_largest_and_smallest_words_past_a_block() {
        // All-ones words push every lane up as far as it goes, all-zero
        // words (biased to the most negative) down: past a lane block, and
        // a run of each, the sum must still be right.
        let len = LANE_BLOCK * 2 + 4099;
        let mixed: Vec<u8> = (0..len)
            .map(|i| if i < len / 2 { 0xff } else { 0 })
            .collect();
        let mut out = vec![0u8; len];
        for data in [vec![0xffu8; len], vec![0u8; len], mixed] {
            for (name, routine) in routines() {
                assert_eq!(
                    sum_with(routine, &data, 7),
                    reference(&data, 7),
                    "{name}: {} bytes of {:#x}",
                    data.len(),
                    data[0]
                );
            }
            for (name, routine) in copy_routines() {
                out.fill(0x5a);
                let copied = |data: &[u8]| routine(&mut out, data);
                assert_eq!(
                    sum_with(copied, &data, 7),
                    reference(&data, 7),
                    "copying {name}: {} bytes of {:#x}",
                    data.len(),
                    data[0]
                );
                assert!(out == data, "copying {name}: the copy differs");
            }
        }
    }

    #[test]
    fn the_sum_is_tun_rs_s_where_both_are_defined() {
        // tun-rs's routine (wireguard-go's) was what the data path used
        // before; the two must agree on everything, zero included.
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 31 + i / 7) as u8).collect();
        for start in [0, 1, 3] {
            for len in [0, 1, 20, 28, 64, 1372, 2999 - start] {
                let slice = &data[start..start + len];
                assert_eq!(sum(slice, 0x1234), tun_rs::checksum(slice, 0x1234));
                assert_eq!(sum(slice, 0), tun_rs::checksum(slice, 0));
            }
        }
        assert_eq!(sum(&[0; 40], 0), tun_rs::checksum(&[0; 40], 0));
    }

    #[test]
    fn a_partial_checksum_is_completed_and_a_bad_position_refused() {
        // A UDP header and payload whose checksum field holds 0x1234 (a
        // pseudo-header sum): afterwards the whole sums to 0xffff with it.
        let mut packet = vec![0x10, 0x00, 0x20, 0x00, 0x00, 0x0b, 0x12, 0x34, 1, 2, 3];
        complete_partial(&mut packet, 0, 6).unwrap();
        assert_eq!(sum(&packet, 0x1234), 0xffff);
        let before = packet.clone();
        assert!(complete_partial(&mut packet, 8, 2).is_none());
        assert!(complete_partial(&mut packet, u16::MAX, u16::MAX).is_none());
        assert_eq!(packet, before);
    }
}
