//! Building outgoing NTBs: many datagrams, of one or many sessions, per USB
//! transfer.
//!
//! # Layout
//!
//! The builder writes the transfer header at 0, copies each datagram as it is
//! pushed to the first offset after the previous one that satisfies
//! `offset % wNdpOutDivisor == wNdpOutPayloadRemainder`, and on
//! [`NtbBuilder::finish`] appends one NDP per session, each at a multiple of
//! `wNdpOutAlignment`, chained in the order the sessions first appeared. This
//! is the layout Linux's `cdc_ncm` uses with `CDC_NCM_FLAG_NDP_TO_END`, and it
//! means a datagram is copied once, straight to its final place.
//!
//! A parser therefore sees the datagrams grouped by session (in first-push
//! order), and in push order within a session.
//!
//! # Driving it from a pump
//!
//! ```
//! use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, PushError};
//!
//! let limits = BuildLimits { max_size: 16384, max_datagrams: 32, divisor: 4, remainder: 0, ndp_alignment: 4 };
//! let mut builder = NtbBuilder::new(NtbFormat::Ntb16, limits)?;
//! let mut sent = Vec::new();
//! for packet in [&[0x45u8; 1400][..]; 40] {
//!     match builder.push(NdpSignature::Ips(0), packet) {
//!         Ok(()) => {}
//!         Err(PushError::Full) => {
//!             // Flush, then the packet fits an empty block (it is not TooBig).
//!             sent.push(builder.finish().map(<[u8]>::to_vec));
//!             builder.push(NdpSignature::Ips(0), packet).ok();
//!         }
//!         Err(PushError::TooBig { .. } | PushError::Empty) => { /* drop, count */ }
//!     }
//! }
//! // On the flush timer: send whatever is pending.
//! if !builder.is_empty() {
//!     sent.push(builder.finish().map(<[u8]>::to_vec));
//! }
//! assert_eq!(sent.len(), 4);
//! # Ok::<(), mbim_protocol::ntb::LimitsError>(())
//! ```
//!
//! Nothing is allocated after [`NtbBuilder::new`]: the block buffer and the
//! entry table are sized for the limits once and reused for every block.

use super::wire::{self, Ndp, Nth};
use super::{NdpSignature, NtbFormat, NtbParameters};

/// The largest block the builder lays out, whatever the device allows: an
/// NTB32 device may announce up to 4 GiB, which no pump wants to buffer.
pub const MAX_BUILD_SIZE: usize = 1 << 20;

/// The device's rules for OUT blocks, from [`NtbParameters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BuildLimits {
    /// `dwNtbOutMaxSize`: largest block, in bytes.
    pub max_size: u32,
    /// `wNtbOutMaxDatagrams`: most datagrams per block, 0 for no limit.
    pub max_datagrams: u16,
    /// `wNdpOutDivisor`.
    pub divisor: u16,
    /// `wNdpOutPayloadRemainder`.
    pub remainder: u16,
    /// `wNdpOutAlignment`; values below 4 are raised to 4, as NDPs are
    /// 4-byte aligned whatever the device says.
    pub ndp_alignment: u16,
}

impl BuildLimits {
    /// The OUT limits of a device's NTB parameters.
    pub const fn from_parameters(parameters: &NtbParameters) -> Self {
        BuildLimits {
            max_size: parameters.out_max_size,
            max_datagrams: parameters.out_max_datagrams,
            divisor: parameters.out_divisor,
            remainder: parameters.out_payload_remainder,
            ndp_alignment: parameters.out_alignment,
        }
    }

    /// The largest block a builder of `format` lays out under these
    /// limits (its [`max_block_len`](NtbBuilder::max_block_len)): the
    /// device's limit, capped by the format and by [`MAX_BUILD_SIZE`].
    pub fn max_block_len(&self, format: NtbFormat) -> usize {
        usize::try_from(self.max_size)
            .unwrap_or(usize::MAX)
            .min(format.max_block_len())
            .min(MAX_BUILD_SIZE)
    }
}

/// Limits no block can be built under.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// `wNdpOutDivisor` is 0.
    #[error("NTB build limits: divisor is 0")]
    DivisorZero,
    /// The remainder is not below the divisor.
    #[error("NTB build limits: remainder {remainder} is not below divisor {divisor}")]
    RemainderNotBelowDivisor {
        /// The remainder.
        remainder: u16,
        /// The divisor.
        divisor: u16,
    },
    /// The NDP alignment is not a power of two.
    #[error("NTB build limits: NDP alignment {0} is not a power of two")]
    Alignment(u16),
    /// Not even a one-byte datagram fits in a block of this size.
    #[error("NTB build limits: max size {0} leaves no room for a datagram")]
    MaxSizeTooSmall(u32),
}

/// Why a datagram was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The current block has no room for it (bytes or datagram count):
    /// finish and send the block, then push it again.
    #[error("NTB is full")]
    Full,
    /// Longer than even an empty block can carry; it never fits.
    #[error("datagram of {length} bytes exceeds the {max}-byte maximum of an NTB")]
    TooBig {
        /// The datagram's length.
        length: usize,
        /// [`NtbBuilder::max_datagram_len`].
        max: usize,
    },
    /// A zero-length datagram, which an NDP entry cannot describe (a zero
    /// length terminates the table).
    #[error("zero-length datagram")]
    Empty,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    index: u32,
    length: u32,
    session: u32,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    signature: u32,
    count: usize,
    offset: usize,
    cursor: usize,
}

/// Memory an [`NtbBuilder`] builds its blocks in: a `Vec<u8>`, or a
/// transfer buffer of a pipe (memory the device sends from directly), so a
/// finished block goes out without a copy.
pub trait BlockBuffer: AsRef<[u8]> + AsMut<[u8]> {
    /// Sets its length to `len` bytes, the bytes it gains zeroed; `false`,
    /// and unchanged, if it cannot hold that many.
    fn set_len_zeroed(&mut self, len: usize) -> bool;
}

impl BlockBuffer for Vec<u8> {
    fn set_len_zeroed(&mut self, len: usize) -> bool {
        self.resize(len, 0);
        true
    }
}

/// Aggregates datagrams into NTBs; see the [module documentation](self).
/// Blocks are built in a `B`, a `Vec<u8>` unless made with
/// [`new_in`](Self::new_in).
#[derive(Debug, Clone)]
pub struct NtbBuilder<B = Vec<u8>> {
    format: NtbFormat,
    max_size: usize,
    max_datagrams: usize,
    divisor: usize,
    divisor_mask: Option<usize>,
    remainder: usize,
    ndp_alignment: usize,
    /// Cost of an NDP beyond its entries: fixed part and terminator.
    ndp_fixed: usize,
    /// Worst-case padding before each NDP after the first.
    ndp_padding: usize,
    max_datagram_len: usize,
    buf: B,
    data_end: usize,
    /// Sized to `max_datagrams` once; the first `count` are this block's.
    entries: Vec<Entry>,
    count: usize,
    sessions: Vec<Session>,
    last_session: usize,
    /// The raw signature of `last_session` while a push of the same session
    /// may take the fast path, `NO_HOT` otherwise (no session yet, or the
    /// block is finished): one comparison checks both.
    hot_signature: u64,
    /// The highest end, rounded up to the NDP alignment, that a datagram of
    /// `last_session` may have and leave room for every NDP with one more
    /// entry; kept up to date by each push instead of recomputed. A `u32`,
    /// as it is at most `max_size`, so offsets checked against it fit one.
    data_limit: u32,
    sequence: u16,
    finished: Option<usize>,
}

/// How much further than a datagram's end a short buffer is grown at once
/// (zeroed, then written over by the datagrams that follow).
const GROWTH_STEP: usize = 4096;

/// `hot_signature` when no push can take the fast path; not a `u32`.
const NO_HOT: u64 = u64::MAX;

#[inline(always)]
const fn align_up(value: usize, alignment: usize) -> usize {
    (value + alignment - 1) & !(alignment - 1)
}

impl NtbBuilder {
    /// A builder for blocks of `format` under `limits`, with its buffers
    /// allocated once here.
    pub fn new(format: NtbFormat, limits: BuildLimits) -> Result<Self, LimitsError> {
        let mut builder = NtbBuilder::new_in(format, limits, Vec::new())?;
        builder.buf = vec![0; builder.max_size];
        Ok(builder)
    }
}

impl<B: BlockBuffer> NtbBuilder<B> {
    /// A builder for blocks of `format` under `limits` that builds the
    /// first in `buffer` (lengthened as blocks need, as far as it can
    /// hold: a block that would not fit it is full), and each next one in
    /// the buffer [`finish_into`](Self::finish_into) is given.
    pub fn new_in(format: NtbFormat, limits: BuildLimits, buffer: B) -> Result<Self, LimitsError> {
        if limits.divisor == 0 {
            return Err(LimitsError::DivisorZero);
        }
        if limits.remainder >= limits.divisor {
            return Err(LimitsError::RemainderNotBelowDivisor {
                remainder: limits.remainder,
                divisor: limits.divisor,
            });
        }
        if !limits.ndp_alignment.is_power_of_two() {
            return Err(LimitsError::Alignment(limits.ndp_alignment));
        }
        let max_size = limits.max_block_len(format);
        let entry_len = format.entry_len();
        let ndp_alignment = usize::from(limits.ndp_alignment).max(4);
        // Every NDP is a whole number of `unit`s long, so after an aligned NDP
        // the next needs at most `alignment - unit` bytes of padding.
        let unit = match format {
            NtbFormat::Ntb16 => 4,
            NtbFormat::Ntb32 => 8,
        };
        let ndp_fixed = format.ndp_header_len() + entry_len;
        let divisor = usize::from(limits.divisor);
        let remainder = usize::from(limits.remainder);
        let mut builder = NtbBuilder {
            format,
            max_size,
            max_datagrams: 0,
            divisor,
            divisor_mask: divisor.is_power_of_two().then(|| divisor - 1),
            remainder,
            ndp_alignment,
            ndp_fixed,
            ndp_padding: ndp_alignment.saturating_sub(unit),
            max_datagram_len: 0,
            buf: buffer,
            data_end: format.nth_len(),
            entries: Vec::new(),
            count: 0,
            sessions: Vec::new(),
            last_session: 0,
            hot_signature: NO_HOT,
            data_limit: 0,
            sequence: 0,
            finished: None,
        };
        let first = builder.datagram_start(format.nth_len());
        let room = max_size.saturating_sub(ndp_fixed + entry_len) & !(ndp_alignment - 1);
        builder.max_datagram_len = room.saturating_sub(first);
        if builder.max_datagram_len == 0 {
            return Err(LimitsError::MaxSizeTooSmall(limits.max_size));
        }
        // The table is sized once: by the device's limit, by what could fit
        // (each datagram costs at least an entry and a byte), and by what one
        // NDP's 16-bit wLength can list.
        let fit = max_size / (entry_len + 1);
        let per_ndp = (usize::from(u16::MAX) - format.ndp_header_len()) / entry_len - 1;
        let mut max_datagrams = fit.min(per_ndp);
        if limits.max_datagrams != 0 {
            max_datagrams = max_datagrams.min(usize::from(limits.max_datagrams));
        }
        builder.max_datagrams = max_datagrams;
        builder.entries = vec![Entry::default(); max_datagrams];
        builder.sessions = Vec::with_capacity(max_datagrams);
        Ok(builder)
    }

    /// The builder's format.
    pub const fn format(&self) -> NtbFormat {
        self.format
    }

    /// The largest block it builds: the device's limit, capped by the format
    /// and by [`MAX_BUILD_SIZE`].
    pub const fn max_block_len(&self) -> usize {
        self.max_size
    }

    /// The most datagrams per block.
    pub const fn max_datagrams(&self) -> usize {
        self.max_datagrams
    }

    /// The longest datagram that fits in an empty block; longer ones get
    /// [`PushError::TooBig`].
    pub const fn max_datagram_len(&self) -> usize {
        self.max_datagram_len
    }

    /// The `wSequence` the next finished block gets.
    pub const fn sequence(&self) -> u16 {
        self.sequence
    }

    /// Sets the `wSequence` of the next finished block (it increments,
    /// wrapping, after each).
    pub fn set_sequence(&mut self, sequence: u16) {
        self.sequence = sequence;
    }

    /// Datagrams in the block being built (0 once it is finished).
    pub fn len(&self) -> usize {
        if self.finished.is_some() {
            0
        } else {
            self.count
        }
    }

    /// Whether no datagram waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops the datagrams pushed since the last finish.
    pub fn reset(&mut self) {
        self.count = 0;
        self.sessions.clear();
        self.last_session = 0;
        self.hot_signature = NO_HOT;
        self.data_end = self.format.nth_len();
        self.finished = None;
    }

    #[inline(always)]
    fn datagram_start(&self, at: usize) -> usize {
        match self.divisor_mask {
            // The padding is `(remainder - at) mod divisor`, which for a
            // power of two is a mask of the wrapped difference.
            Some(mask) => at + (self.remainder.wrapping_sub(at) & mask),
            None => {
                let current = at % self.divisor;
                if current <= self.remainder {
                    at + (self.remainder - current)
                } else {
                    at + (self.divisor - current + self.remainder)
                }
            }
        }
    }

    /// Adds a datagram of session `signature` to the block.
    ///
    /// On `Err` the block is unchanged. After a [`finish`](Self::finish), the
    /// next push starts a new block.
    #[inline(always)]
    pub fn push(&mut self, signature: NdpSignature, datagram: &[u8]) -> Result<(), PushError> {
        self.push_with(signature, datagram.len(), |slot| {
            copy_datagram(slot, datagram)
        })
    }

    /// Adds a datagram of `length` bytes that `fill` writes straight into
    /// its place in the block (`fill` gets exactly `length` bytes, whose
    /// old contents are unspecified, and must write all of them). A
    /// producer that makes datagrams (a segmenter cutting a super-packet)
    /// thus writes each once, where it is sent from, instead of into a
    /// buffer of its own that `push` then copies.
    ///
    /// `fill` is called only if the datagram is taken: on `Err` it was not
    /// called and the block is unchanged.
    #[inline(always)]
    pub fn push_with(
        &mut self,
        signature: NdpSignature,
        length: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<(), PushError> {
        self.try_push_with(signature, length, |slot| {
            fill(slot);
            true
        })
        .map(|_| ())
    }

    /// [`push_with`](Self::push_with) for a writer that may fail (a
    /// segment whose source turns out short): `fill` says whether it wrote
    /// the datagram, and when it did not (`Ok(false)`) the datagram is not
    /// added and the block is as if `fill` had never run, its bytes where
    /// the datagram would have gone being past the block's end.
    #[inline(always)]
    pub fn try_push_with(
        &mut self,
        signature: NdpSignature,
        length: usize,
        fill: impl FnOnce(&mut [u8]) -> bool,
    ) -> Result<bool, PushError> {
        let raw = signature.to_raw(self.format);
        let start = self.datagram_start(self.data_end);
        // Wrapping, as `length` is not checked yet; when it passes below,
        // `end` is below `data_limit`, far from wrapping.
        let end = start.wrapping_add(length);
        let aligned_end = end.wrapping_add(self.ndp_alignment - 1) & !(self.ndp_alignment - 1);
        let n = self.count;
        // One branch for everything a push of the last session into an
        // unfinished block can run into: `length - 1` wraps for an empty
        // datagram; `data_limit` has the room for the NDPs; `entries` is
        // `max_datagrams` long. Any other case takes `push_slow`, which
        // checks it all again in order and reports the first failure.
        let hot = (u64::from(raw) == self.hot_signature)
            & (length.wrapping_sub(1) < self.max_datagram_len)
            & (aligned_end <= self.data_limit as usize)
            & (n < self.entries.len());
        if !hot {
            return self.push_slow(raw, length, fill);
        }
        // Lossless casts: `start < end <= aligned_end <= data_limit`, a
        // `u32`, so `start` and `length` fit one; the session index is below
        // `max_datagrams`, which is below 2^16 (`new` caps it to what one
        // NDP's `wLength` can list).
        #[allow(clippy::cast_possible_truncation)]
        let (index, length32, session) = (start as u32, length as u32, self.last_session as u32);
        let Some(slot) = self.place(start, end) else {
            return self.push_slow(raw, length, fill);
        };
        if !fill(slot) {
            return Ok(false);
        }
        if let Some(entry) = self.entries.get_mut(n) {
            *entry = Entry {
                index,
                length: length32,
                session,
            };
        }
        self.count = n + 1;
        self.data_end = end;
        // No underflow: `data_limit >= aligned_end > start >= nth_len`, which
        // is more than an entry.
        self.data_limit = self.data_limit.wrapping_sub(self.entry_len32());
        Ok(true)
    }

    /// `entry_len` as the `u32` `data_limit` is kept in.
    #[inline(always)]
    fn entry_len32(&self) -> u32 {
        match self.format {
            NtbFormat::Ntb16 => 4,
            NtbFormat::Ntb32 => 8,
        }
    }

    /// Zeroes the padding from `data_end` to `start` and returns the
    /// datagram's place `start..end`; `None`, with nothing written, if that
    /// is not inside the buffer (which `push`'s accounting rules out).
    #[inline(always)]
    fn place(&mut self, start: usize, end: usize) -> Option<&mut [u8]> {
        let from = self.data_end;
        if start > end {
            return None;
        }
        // `from <= start <= end`, so this is all of `from..end` in bounds.
        if end > self.buf.as_ref().len() {
            self.grow(end)?;
        }
        // Padding is zeroed so a block never carries bytes of an earlier
        // one. It is short (below the divisor): one fixed 16-byte store
        // covers it when the buffer has 16 bytes there; bytes past `start`
        // are overwritten by the datagram or lie past `data_end`, where
        // nothing of the block is yet.
        if start != from {
            match self
                .buf
                .as_mut()
                .get_mut(from..)
                .and_then(<[u8]>::first_chunk_mut::<16>)
            {
                Some(window) if start - from <= 16 => *window = [0; 16],
                _ => {
                    if let Some(padding) = self.buf.as_mut().get_mut(from..start) {
                        padding.fill(0);
                    }
                }
            }
        }
        self.buf.as_mut().get_mut(start..end)
    }

    /// Lengthens the buffer to hold `end` bytes (and a step more, up to
    /// `max_size`, so a block that fills a short buffer grows it now and
    /// then, not on every push); `None` beyond `max_size` or what the
    /// buffer holds. The buffer is
    /// only as long as the blocks built in it have needed: a buffer
    /// received from [`finish_into`](Self::finish_into) is as long as the
    /// block it last carried, and zeroing it up to `max_size` there would
    /// cost a whole block's stores for every small block (a lone packet
    /// flushed at once).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, end: usize) -> Option<()> {
        if end > self.max_size {
            return None;
        }
        let length = end.saturating_add(GROWTH_STEP).min(self.max_size);
        if self.buf.set_len_zeroed(length) || self.buf.set_len_zeroed(end) {
            Some(())
        } else {
            None
        }
    }

    /// Everything `push` does not do inline: the first push of a block or of
    /// a session, and every refusal.
    #[cold]
    #[inline(never)]
    fn push_slow(
        &mut self,
        raw: u32,
        length: usize,
        fill: impl FnOnce(&mut [u8]) -> bool,
    ) -> Result<bool, PushError> {
        if self.finished.is_some() {
            self.reset();
        }
        if length == 0 {
            return Err(PushError::Empty);
        }
        if length > self.max_datagram_len {
            return Err(PushError::TooBig {
                length,
                max: self.max_datagram_len,
            });
        }
        if self.count >= self.max_datagrams {
            return Err(PushError::Full);
        }
        let (session, new_session) = match self.sessions.get(self.last_session) {
            Some(last) if last.signature == raw => (self.last_session, false),
            _ => match self.sessions.iter().position(|s| s.signature == raw) {
                Some(found) => (found, false),
                None => (self.sessions.len(), true),
            },
        };
        // Everything below is bounded by `max_size` (at most MAX_BUILD_SIZE)
        // and the table sizes, so plain arithmetic cannot overflow.
        let start = self.datagram_start(self.data_end);
        let end = start + length;
        let sessions = self.sessions.len() + usize::from(new_session);
        let ndps = self.ndp_space(sessions, self.count + 1);
        if align_up(end, self.ndp_alignment) + ndps > self.max_size {
            return Err(PushError::Full);
        }
        let (Ok(index), Ok(length32), Ok(session32)) = (
            u32::try_from(start),
            u32::try_from(length),
            u32::try_from(session),
        ) else {
            return Err(PushError::Full);
        };
        if self.count >= self.entries.len() {
            return Err(PushError::Full);
        }
        let Some(slot) = self.place(start, end) else {
            return Err(PushError::Full);
        };
        if !fill(slot) {
            return Ok(false);
        }
        if new_session {
            self.sessions.push(Session {
                signature: raw,
                count: 0,
                offset: 0,
                cursor: 0,
            });
        }
        if let Some(entry) = self.entries.get_mut(self.count) {
            *entry = Entry {
                index,
                length: length32,
                session: session32,
            };
        }
        self.count += 1;
        self.last_session = session;
        self.data_end = end;
        // The room the next push of this session leaves for the NDPs.
        let next = self.ndp_space(sessions, self.count + 1);
        self.data_limit = u32::try_from(self.max_size.saturating_sub(next)).unwrap_or(0);
        self.hot_signature = u64::from(raw);
        Ok(true)
    }

    /// Bytes the NDPs take with `sessions` sessions and `entries` entries,
    /// padding included.
    fn ndp_space(&self, sessions: usize, entries: usize) -> usize {
        sessions * self.ndp_fixed
            + entries * self.format.entry_len()
            + sessions.saturating_sub(1) * self.ndp_padding
    }

    /// Lays out the NDPs and the header and returns the finished block, or
    /// `None` if no datagram was pushed. The block stays readable until the
    /// next push or reset; calling `finish` again returns it again.
    pub fn finish(&mut self) -> Option<&[u8]> {
        if self.finished.is_none() {
            if self.count == 0 {
                return None;
            }
            match self.write_block() {
                Some(block_len) => {
                    self.finished = Some(block_len);
                    self.hot_signature = NO_HOT;
                    self.sequence = self.sequence.wrapping_add(1);
                }
                None => {
                    // Unreachable given `push`'s accounting; dropping the block
                    // beats sending a malformed one.
                    self.reset();
                    return None;
                }
            }
        }
        self.buf.as_ref().get(..self.finished?)
    }

    /// Finishes the block and hands it over without copying it: the
    /// builder's buffer and `spare` trade places, so afterwards `spare` holds
    /// exactly the block and the next block is built in `spare`'s former
    /// allocation (lengthened as that block needs). A transmit loop that
    /// recycles its transfer buffers thus never copies a block. Returns
    /// `false`, `spare` untouched, if no datagram was pushed.
    pub fn finish_into(&mut self, spare: &mut B) -> bool {
        let Some(block_len) = self.finish().map(<[u8]>::len) else {
            return false;
        };
        std::mem::swap(&mut self.buf, spare);
        // Shorter than it is: never refused.
        spare.set_len_zeroed(block_len);
        // The next block is built in the spare as long as it is, grown only
        // as far as that block needs (`grow`): stale bytes of an earlier
        // block are harmless, as `place` and `write_block` write or zero
        // every byte a block spans.
        self.reset();
        true
    }

    fn write_block(&mut self) -> Option<usize> {
        let format = self.format;
        let entry_len = format.entry_len();
        let header_len = format.ndp_header_len();
        let alignment = self.ndp_alignment;
        let NtbBuilder {
            buf,
            sessions,
            entries,
            count,
            data_end,
            max_size,
            sequence,
            ..
        } = self;
        let entries = entries.get(..*count)?;

        // How many datagrams each session has, counted here rather than on
        // every push.
        if let [only] = sessions.as_mut_slice() {
            only.count = entries.len();
        } else {
            for session in sessions.iter_mut() {
                session.count = 0;
            }
            for entry in entries {
                sessions
                    .get_mut(usize::try_from(entry.session).ok()?)?
                    .count += 1;
            }
        }

        // The NDPs go after the data, where a buffer grown only as far as
        // the datagrams needed may end: lengthen it first.
        let mut at = *data_end;
        for session in sessions.iter() {
            at = align_up(at, alignment) + header_len + (session.count + 1) * entry_len;
        }
        if at > *max_size {
            return None;
        }
        if buf.as_ref().len() < at && !buf.set_len_zeroed(at) {
            return None;
        }
        let buf = buf.as_mut();
        let mut at = *data_end;
        for session in sessions.iter_mut() {
            let start = align_up(at, alignment);
            buf.get_mut(at..start)?.fill(0);
            session.offset = start;
            session.cursor = start + header_len;
            at = start + header_len + (session.count + 1) * entry_len;
        }
        let block_len = at;
        if block_len > *max_size {
            return None;
        }

        let mut next = 0;
        for session in sessions.iter().rev() {
            let length = u16::try_from(header_len + (session.count + 1) * entry_len).ok()?;
            let next_index = u32::try_from(next).ok()?;
            Ndp::new_unchecked(buf.get_mut(session.offset..)?, format).write_header(
                session.signature,
                length,
                next_index,
            )?;
            next = session.offset;
        }
        if let [only] = sessions.as_mut_slice() {
            // One table, filled in order: no per-entry session lookup.
            let table = buf.get_mut(only.cursor..only.cursor + entries.len() * entry_len)?;
            match format {
                NtbFormat::Ntb16 => {
                    for (out, entry) in table.chunks_exact_mut(4).zip(entries) {
                        let [a, b] = u16::try_from(entry.index).ok()?.to_le_bytes();
                        let [c, d] = u16::try_from(entry.length).ok()?.to_le_bytes();
                        out.copy_from_slice(&[a, b, c, d]);
                    }
                }
                NtbFormat::Ntb32 => {
                    for (out, entry) in table.chunks_exact_mut(8).zip(entries) {
                        let [a, b, c, d] = entry.index.to_le_bytes();
                        let [e, f, g, h] = entry.length.to_le_bytes();
                        out.copy_from_slice(&[a, b, c, d, e, f, g, h]);
                    }
                }
            }
            only.cursor += entries.len() * entry_len;
        } else {
            for entry in entries {
                let session = sessions.get_mut(usize::try_from(entry.session).ok()?)?;
                wire::write_entry(buf, format, session.cursor, entry.index, entry.length)?;
                session.cursor += entry_len;
            }
        }
        for session in sessions.iter() {
            wire::write_entry(buf, format, session.cursor, 0, 0)?;
        }

        let mut nth = Nth::new_unchecked(buf.get_mut(..format.nth_len())?, format);
        nth.init();
        nth.set_sequence(*sequence);
        nth.set_block_length(u32::try_from(block_len).ok()?)?;
        nth.set_ndp_index(u32::try_from(sessions.first()?.offset).ok()?)?;
        Some(block_len)
    }
}

/// Copies a datagram into its place (`dst` and `src` have the same length).
/// From 16 to 64 bytes, two fixed-size copies that overlap in the middle,
/// which compile to a few vector moves; `copy_from_slice` of a length known
/// only at run time calls `memcpy`, whose call and dispatch cost more than
/// the copy itself at these sizes.
#[inline(always)]
fn copy_datagram(dst: &mut [u8], src: &[u8]) {
    fn halves<const N: usize>(dst: &mut [u8], src: &[u8]) -> bool {
        match (
            dst.first_chunk_mut::<N>(),
            src.first_chunk::<N>(),
            src.last_chunk::<N>(),
        ) {
            (Some(head), Some(src_head), Some(src_tail)) => {
                *head = *src_head;
                if let Some(tail) = dst.last_chunk_mut::<N>() {
                    *tail = *src_tail;
                }
                true
            }
            _ => false,
        }
    }
    let len = src.len();
    let copied = dst.len() == len
        && match len {
            16..=32 => halves::<16>(dst, src),
            33..=64 => halves::<32>(dst, src),
            _ => false,
        };
    if !copied {
        dst.copy_from_slice(src);
    }
}
