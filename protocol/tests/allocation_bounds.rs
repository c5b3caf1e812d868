//! Arbitrary bytes into every parser never make it allocate much more than
//! the bytes themselves: a counting global allocator measures the peak extra
//! heap use of each call, and property tests bound it by a small linear
//! function of the input length, for `Message::parse`, every payload decoder
//! of every layout of every CID in `SERVICES`, `Ntb::new_checked` with all its datagrams,
//! `NtbParameters::parse`, `find_mbim_functions`, `FunctionalDescriptor::parse`
//! and the reassembler. A count field that promises more elements than the
//! bytes hold must be refused before anything is allocated for it.
//!
//! Random bytes never make offset/length pairs alias, so the tests at the end
//! build the aliasing by hand: list entries that all point at the same
//! structure (refused by the payload decode budget), and MBIM functions that
//! all name one data interface (refused by the descriptor walker). Both used
//! to amplify quadratically.

// `unsafe impl GlobalAlloc` is the only way to observe the allocations a call
// makes; this test file is the only place in the crate that needs `unsafe`,
// and its allocator only forwards to `System` and updates two counters.
#![allow(unsafe_code)]
// Test code: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::describe::Value;
use mbim_protocol::descriptors::{find_mbim_functions, FunctionalDescriptor};
use mbim_protocol::fragment::{Reassembler, ReassemblerConfig};
use mbim_protocol::message::Message;
use mbim_protocol::ntb::{Ntb, NtbParameters};
use mbim_protocol::services::{basic_connect, Operation, SERVICES};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------
// The counting allocator
// ---------------------------------------------------------------------------

/// Forwards to [`System`], counting the bytes the current thread has
/// allocated and not freed, and the peak of that count.
struct Counting;

thread_local! {
    // `const` initialisers and `Cell<i64>` (no destructor): reading them never
    // allocates and never registers a TLS destructor, so the allocator cannot
    // recurse into itself. Signed, because a thread may free what another
    // thread allocated.
    static CURRENT: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn add(bytes: usize) {
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    let _ = CURRENT.try_with(|current| {
        let now = current.get().saturating_add(bytes);
        current.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn sub(bytes: usize) {
    let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
    let _ = CURRENT.try_with(|current| current.set(current.get().saturating_sub(bytes)));
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds `GlobalAlloc`'s contract; the counters are thread-local `Cell`s
// that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            add(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            add(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator, i.e. `System`.
        unsafe { System.dealloc(ptr, layout) };
        sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; `ptr` came from this allocator, i.e. `System`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Both blocks may exist during the copy: count the new one first.
            add(new_size);
            sub(layout.size());
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak extra heap use of `f` on this thread, its result included.
fn peak_extra<R>(f: impl FnOnce() -> R) -> usize {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let result = black_box(f());
    let peak = PEAK.with(Cell::get);
    drop(result);
    usize::try_from(peak.saturating_sub(base)).unwrap_or(0)
}

// ---------------------------------------------------------------------------
// The bound
// ---------------------------------------------------------------------------

/// Bytes a parser may allocate per input byte.
///
/// The worst honest case is a payload decoder: it builds the typed payload,
/// then its `Value` tree, both alive at the end of `describe_as`. A 4-byte
/// field becomes a `(&str, Value)` struct entry of 16 + `size_of::<Value>()`
/// (40 on 64-bit targets) = 56 bytes, 14 per input byte; a `Vec` growing by
/// doubling may hold up to twice that in capacity: 28. A UTF-16 string
/// becomes UTF-8 of at most 1.5 bytes per input byte, twice (typed and tree),
/// which stays under that. 32 leaves a little room; see
/// `the_factor_covers_a_value_entry_per_field` for the arithmetic checked.
const BYTES_PER_INPUT_BYTE: usize = 32;

/// Fixed allowance: error paths (`PayloadError::path` strings such as
/// `"Providers.providers[3].provider_name"`), the first allocation of each
/// `Vec` (Rust starts at 4 elements), and the small structs of an empty input.
const FIXED_ALLOWANCE: usize = 4096;

fn bound(input_len: usize) -> usize {
    BYTES_PER_INPUT_BYTE * input_len + FIXED_ALLOWANCE
}

#[test]
fn the_factor_covers_a_value_entry_per_field() {
    let entry = std::mem::size_of::<(&'static str, Value)>();
    // Two entries' worth of capacity per 4-byte field, and some left over.
    assert!(
        2 * entry <= 4 * BYTES_PER_INPUT_BYTE,
        "{entry}-byte entries"
    );
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// Arbitrary bytes, up to 4 KiB.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..4096)
}

/// Bytes made of little-endian `u32`s that are mostly small: counts, offsets
/// and lengths that land inside the buffer, so the decoders get past their
/// first checks and into lists and strings.
fn words() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => 0u32..64,
            4 => 0u32..4096,
            1 => any::<u32>(),
            1 => Just(u32::MAX),
        ],
        0..1024,
    )
    .prop_map(|words| words.iter().flat_map(|w| w.to_le_bytes()).collect())
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![bytes(), words()]
}

/// Every payload decoder of every layout of every CID of every service.
fn decoders() -> Vec<(String, mbim_protocol::services::DescribeFn)> {
    let mut out = Vec::new();
    for service in SERVICES {
        for cid in service.cids {
            for form in cid.all_forms() {
                for operation in [
                    Operation::Query,
                    Operation::Set,
                    Operation::Response,
                    Operation::Notification,
                ] {
                    if let Some(decoder) = form.decoder(operation) {
                        let name = format!(
                            "{}/{}@{}/{}",
                            service.name,
                            cid.name,
                            form.since,
                            operation.name()
                        );
                        out.push((name, decoder));
                    }
                }
            }
        }
    }
    out
}

fn check(what: &str, input_len: usize, allowance: usize, used: usize) -> Result<(), TestCaseError> {
    let limit = bound(input_len) + allowance;
    prop_assert!(
        used <= limit,
        "{what}: {used} bytes allocated for a {input_len}-byte input (bound {limit})"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn message_parse_is_bounded(data in inputs()) {
        let used = peak_extra(|| Message::parse(&data));
        check("Message::parse", data.len(), 0, used)?;
    }

    #[test]
    fn every_payload_decoder_is_bounded(data in inputs()) {
        for (name, decoder) in decoders() {
            let used = peak_extra(|| decoder(&data));
            check(&name, data.len(), 0, used)?;
        }
    }

    #[test]
    fn ntb_parsing_allocates_nothing(data in inputs()) {
        let used = peak_extra(|| {
            let mut datagrams = 0usize;
            if let Ok(ntb) = Ntb::new_checked(&data) {
                for datagram in ntb.datagrams() {
                    datagrams += usize::from(datagram.is_ok());
                }
                let _ = ntb.validate();
            }
            datagrams
        });
        prop_assert_eq!(used, 0, "NTB parsing borrows; it allocated {} bytes", used);
        let used = peak_extra(|| NtbParameters::parse(&data));
        prop_assert_eq!(used, 0, "NtbParameters::parse allocated {} bytes", used);
    }

    #[test]
    fn descriptor_parsing_is_bounded(data in inputs()) {
        let used = peak_extra(|| find_mbim_functions(&data));
        check("find_mbim_functions", data.len(), 0, used)?;
        let used = peak_extra(|| FunctionalDescriptor::parse(&data));
        check("FunctionalDescriptor::parse", data.len(), 0, used)?;
    }

    /// The reassembler may also reserve a first fragment's declared
    /// InformationBufferLength, up to its configured `max_message_size`, before
    /// the fragments carrying it arrive: that is the declared length the bound adds.
    #[test]
    fn reassembly_is_bounded(data in inputs(), first_is_fragment in any::<bool>()) {
        let config = ReassemblerConfig {
            max_message_size: 4096,
            fragment_timeout: Duration::from_secs(1),
        };
        let mut data = data;
        if first_is_fragment && data.len() >= 48 {
            // A COMMAND_DONE fragment header at the front, so reassembly starts.
            let length = u32::try_from(data.len().min(0x400)).unwrap();
            data[0..4].copy_from_slice(&0x8000_0003u32.to_le_bytes());
            data[4..8].copy_from_slice(&length.to_le_bytes());
            data[12..16].copy_from_slice(&3u32.to_le_bytes());
            data[16..20].copy_from_slice(&0u32.to_le_bytes());
        }
        let start = Instant::now();
        let used = peak_extra(|| {
            let mut reassembler = Reassembler::new(config);
            let mut rest = &data[..];
            let mut whole = Vec::new();
            let mut now = start;
            while let Ok((message, used)) = Message::parse_prefix(rest) {
                rest = &rest[used..];
                now += Duration::from_millis(10);
                if let Ok(Some(message)) = reassembler.handle(now, message) {
                    whole.push(message);
                }
            }
            (reassembler, whole)
        });
        check("Reassembler", data.len(), config.max_message_size, used)?;
    }
}

// ---------------------------------------------------------------------------
// Hostile counts
// ---------------------------------------------------------------------------

/// A Providers response whose ProvidersCount is 0xFFFFFFFF, with 8 bytes
/// after it: refused, with nothing allocated for the elements.
#[test]
fn providers_count_of_u32_max_is_refused_without_allocating() {
    let mut payload = 0xFFFF_FFFFu32.to_le_bytes().to_vec();
    payload.extend_from_slice(&[0x10, 0, 0, 0, 0x20, 0, 0, 0]);
    let decoder = basic_connect::SERVICE
        .cid_by_name("visible-providers")
        .unwrap()
        .decoder(Operation::Response)
        .unwrap();
    let mut result = None;
    let used = peak_extra(|| result = Some(decoder(&payload)));
    let error = result.unwrap().unwrap_err();
    assert!(error.to_string().contains("Providers"), "{error}");
    // The error's path string and nothing else.
    assert!(used <= 256, "{used} bytes allocated");
}

/// The same for every decoder: a buffer of 0xFF bytes (every count and
/// offset u32::MAX) is refused with no more than the error allocated, or
/// (fixed-size payloads, where any bytes are valid) decoded within the bound.
#[test]
fn all_ones_is_cheap_for_every_decoder() {
    let payload = vec![0xFF; 64];
    for (name, decoder) in decoders() {
        let mut refused = false;
        let used = peak_extra(|| refused = decoder(&payload).is_err());
        let limit = if refused { 512 } else { bound(payload.len()) };
        assert!(
            used <= limit,
            "{name}: {used} bytes allocated (refused: {refused})"
        );
    }
}

// ---------------------------------------------------------------------------
// Amplification attempts: the same bytes claimed many times over
// ---------------------------------------------------------------------------

/// A Providers payload of `count` offset/length pairs that all point at one
/// Provider whose two strings both cover the same `string_len` bytes of
/// U+4E00 (3 UTF-8 bytes per 2 UTF-16 bytes).
fn aliased_providers(count: u32, string_len: u32) -> Vec<u8> {
    let element_at = 4 + 8 * count;
    let mut out = count.to_le_bytes().to_vec();
    for _ in 0..count {
        out.extend_from_slice(&element_at.to_le_bytes());
        out.extend_from_slice(&32u32.to_le_bytes());
    }
    // MBIM_PROVIDER: ProviderId (OL), ProviderState, ProviderName (OL),
    // CellularClass, Rssi, ErrorRate; the strings right after, at 32.
    for word in [32, string_len, 0, 32, string_len, 1, 0, 0] {
        out.extend_from_slice(&u32::to_le_bytes(word));
    }
    for _ in 0..string_len / 2 {
        out.extend_from_slice(&0x4E00u16.to_le_bytes());
    }
    out
}

#[test]
fn aliased_list_elements_stay_within_the_bound() {
    let decoder = basic_connect::SERVICE
        .cid_by_name("visible-providers")
        .unwrap()
        .decoder(Operation::Response)
        .unwrap();
    let mut measured = Vec::new();
    for (count, string_len) in [(64, 512), (128, 1024), (256, 2048), (1024, 8192)] {
        let payload = aliased_providers(count, string_len);
        let mut result = None;
        let used = peak_extra(|| result = Some(decoder(&payload)));
        // The decode budget refuses lists whose entries claim the same bytes
        // over and over, before the copies add up.
        let error = result.unwrap().unwrap_err();
        assert!(error.to_string().contains("data items overlap"), "{error}");
        measured.push((payload.len(), used));
    }
    assert_all_within_bound(&measured);
}

/// Prints every (input, allocated) pair, so the growth shows, then checks them.
fn assert_all_within_bound(measured: &[(usize, usize)]) {
    for (input, used) in measured {
        eprintln!(
            "{input} bytes in, {used} bytes allocated ({}x, bound {})",
            used / input,
            bound(*input)
        );
    }
    for (input, used) in measured {
        assert!(
            *used <= bound(*input),
            "{used} bytes allocated for {input} bytes"
        );
    }
}

/// A configuration with one MBIM data interface of `settings` alternate
/// settings and `functions` MBIM communication interfaces whose Unions all
/// name it: every function copies every data setting.
fn aliased_data_interface(settings: usize, functions: u8) -> Vec<u8> {
    let mut body = Vec::new();
    for alternate in 0..settings {
        let alternate = u8::try_from(alternate % 256).unwrap();
        body.extend_from_slice(&[9, 0x04, 1, alternate, 0, 0x0A, 0x00, 0x02, 0]);
    }
    for number in 0..functions {
        let number = number + 2;
        body.extend_from_slice(&[9, 0x04, number, 0, 0, 0x02, 0x0E, 0x00, 0]);
        body.extend_from_slice(&[5, 0x24, 0x06, number, 1]);
    }
    let total = u16::try_from(9 + body.len()).unwrap();
    let mut config = vec![9, 0x02];
    config.extend_from_slice(&total.to_le_bytes());
    config.extend_from_slice(&[2, 1, 0, 0x80, 50]);
    config.extend(body);
    config
}

#[test]
fn shared_data_interfaces_stay_within_the_bound() {
    let mut measured = Vec::new();
    for (settings, functions) in [(100, 60), (220, 150), (2000, 250)] {
        let config = aliased_data_interface(settings, functions);
        let mut result = None;
        let used = peak_extra(|| result = Some(find_mbim_functions(&config)));
        // The second function naming the same data interface is refused.
        let error = result.unwrap().unwrap_err();
        assert!(error.to_string().contains("already uses"), "{error}");
        measured.push((config.len(), used));
    }
    assert_all_within_bound(&measured);
}
