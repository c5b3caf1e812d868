//! Parsing a received NTB: every NDP in the chain, every datagram, zero-copy.
//!
//! # How errors are reported
//!
//! [`Ntb::new_checked`] checks the transfer header and walks the whole NDP
//! chain once, checking every NDP's fixed part (position, `wLength`) and that
//! the chain ends within [`MAX_NDPS`] links. A loop or a stray NDP index is
//! therefore refused before any datagram is handed out, so a looping chain
//! cannot deliver the same packet twice.
//!
//! The entries themselves are checked lazily by [`Datagrams`], which yields
//! `Result<Datagram, NtbError>`: each datagram it yields has been checked to
//! lie inside the block, so the happy path reads each entry exactly once.
//! A bad entry (datagram past the end of the block, entry list with no
//! terminator) yields one `Err` and then the iterator ends. Datagrams already
//! yielded stay valid: a receiver can deliver them and count the block as
//! damaged, which is what Linux's `cdc_ncm` does too. A caller that wants
//! all-or-nothing calls [`Ntb::validate`] first.
//!
//! # What is checked
//!
//! * the NTH signature and `wHeaderLength`, and that the block length fits
//!   the buffer (a block length of 0 means "the whole transfer", per NCM 1.0
//!   §3.2.1);
//! * each NDP index is not 0 (for the first), does not overlap the NTH, and
//!   the NDP's fixed part lies inside the block;
//! * each `wLength` is at least the minimum (one entry plus the terminator),
//!   a whole number of entries, and the table it covers — counted from the
//!   NDP's own index — lies inside the block. Linux's `cdc_ncm` at one point
//!   compared the table size against the transfer length without adding the
//!   NDP's offset, so a table near the end of a block could be read past its
//!   end; here every end is an absolute `index + length` compared with the
//!   block length, in `usize` arithmetic from 16/32-bit fields so it cannot
//!   wrap;
//! * each entry list is terminated (an entry whose index or length is 0,
//!   NCM 1.0 §3.3.1) within `wLength`;
//! * each datagram's `index + length` is inside the block.
//!
//! Not checked, because real devices get it wrong and it costs the receiver
//! nothing: the 4-byte alignment of NDP indices, and datagrams overlapping
//! headers. Unknown NDP signatures are not an error; their datagrams are
//! yielded with [`NdpSignature::Unknown`] for the caller to drop or count.

use std::fmt;

use super::wire::{self, Ndp, Nth};
use super::{NdpSignature, NtbFormat};

/// The most NDPs followed in one block before the chain is declared a loop.
///
/// MBIM gives each session its own NDP, and there are 256 IP sessions and 256
/// device service streams, so a genuine block never needs more.
pub const MAX_NDPS: usize = 512;

/// What was wrong with a received NTB, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtbError {
    /// The buffer is shorter than what had to be read.
    #[error("NTB: {what} needs {needed} bytes, buffer has {available}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The first four bytes are neither `"NCMH"` nor `"ncmh"`.
    #[error("NTB: signature 0x{0:08X} is neither NTH16 \"NCMH\" nor NTH32 \"ncmh\"")]
    Signature(u32),
    /// `wHeaderLength` is not the size of the header.
    #[error("{} at 0x00: wHeaderLength {found}, expected {expected}", .format.nth_name())]
    HeaderLength {
        /// The header's format.
        format: NtbFormat,
        /// The value read.
        found: u16,
        /// The header's size.
        expected: usize,
    },
    /// The block length does not fit in the buffer, or not even the header
    /// fits in the block.
    #[error(
        "{} at 0x00: block length 0x{block_length:X} {}, buffer is 0x{buffer_length:X} bytes",
        .format.nth_name(),
        if .block_length < &(.format.nth_len() as u64) { "is shorter than the header" } else { "is beyond the buffer" }
    )]
    BlockLength {
        /// The header's format.
        format: NtbFormat,
        /// The block length read.
        block_length: u64,
        /// Length of the buffer.
        buffer_length: usize,
    },
    /// The header's first NDP index is 0: the block has no NDP.
    #[error("{} at 0x00: NDP index is 0", .format.nth_name())]
    NoNdp {
        /// The header's format.
        format: NtbFormat,
    },
    /// The NDP chain does not end within [`MAX_NDPS`] NDPs: it loops.
    #[error("{} at 0x{offset:02X}: NDP chain still going after {limit} NDPs (a loop)", .format.ndp_name())]
    NdpChain {
        /// The format.
        format: NtbFormat,
        /// The NDP at which the limit was hit.
        offset: u64,
        /// [`MAX_NDPS`].
        limit: usize,
    },
    /// An NDP is malformed.
    #[error("{} at 0x{offset:02X}: {kind}", .format.ndp_name())]
    Ndp {
        /// The format.
        format: NtbFormat,
        /// The NDP's index in the block.
        offset: u64,
        /// What was wrong.
        kind: NdpErrorKind,
    },
}

/// The ways an NDP can be malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdpErrorKind {
    /// The NDP starts inside the transfer header.
    OverlapsHeader {
        /// Size of the header.
        header_length: usize,
    },
    /// The NDP's fixed part ends beyond the block.
    HeaderBeyondBlock {
        /// Where the fixed part ends.
        end: u64,
        /// The block length.
        block_length: usize,
    },
    /// `wLength` is below the minimum of one entry plus the terminator.
    LengthTooSmall {
        /// `wLength`.
        length: u16,
        /// The minimum.
        min: usize,
    },
    /// `wLength` does not cover a whole number of entries.
    LengthNotWholeEntries {
        /// `wLength`.
        length: u16,
        /// Size of one entry.
        entry_length: usize,
    },
    /// The NDP's table, `index + wLength`, ends beyond the block.
    TableBeyondBlock {
        /// Where the table ends.
        end: u64,
        /// The block length.
        block_length: usize,
    },
    /// No terminating zero entry within `wLength`.
    Unterminated {
        /// Entries in the table, all non-zero.
        entries: usize,
    },
    /// A datagram ends beyond the block.
    DatagramBeyondBlock {
        /// Number of the entry in its NDP, from 0.
        datagram: usize,
        /// Where the datagram ends (`index + length`).
        end: u64,
        /// The block length.
        block_length: usize,
    },
}

impl fmt::Display for NdpErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NdpErrorKind::OverlapsHeader { header_length } => {
                write!(f, "starts inside the {header_length}-byte transfer header")
            }
            NdpErrorKind::HeaderBeyondBlock { end, block_length } => write!(
                f,
                "fixed part ends at 0x{end:X}, beyond block length 0x{block_length:X}"
            ),
            NdpErrorKind::LengthTooSmall { length, min } => {
                write!(f, "wLength {length} is below the minimum {min}")
            }
            NdpErrorKind::LengthNotWholeEntries {
                length,
                entry_length,
            } => write!(
                f,
                "wLength {length} is not a whole number of {entry_length}-byte entries"
            ),
            NdpErrorKind::TableBeyondBlock { end, block_length } => write!(
                f,
                "table ends at 0x{end:X}, beyond block length 0x{block_length:X}"
            ),
            NdpErrorKind::Unterminated { entries } => {
                write!(f, "no zero entry among its {entries} entries")
            }
            NdpErrorKind::DatagramBeyondBlock {
                datagram,
                end,
                block_length,
            } => write!(
                f,
                "datagram {datagram} ends at 0x{end:X}, beyond block length 0x{block_length:X}"
            ),
        }
    }
}

/// One datagram of a block, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The session of the NDP that listed it.
    pub signature: NdpSignature,
    /// The datagram (an IP packet for `IPS` sessions).
    pub data: &'a [u8],
}

/// A received NTB whose header and NDP chain have been checked.
#[derive(Debug, Clone, Copy)]
pub struct Ntb<'a> {
    block: &'a [u8],
    format: NtbFormat,
    sequence: u16,
    first_ndp: usize,
    /// The first NDP's fixed part as `new_checked` checked it, so that
    /// starting an iteration does not read and check it again.
    first: NdpInfo,
    ndp_count: usize,
}

/// A checked NDP fixed part: where its entries are and what follows it.
#[derive(Debug, Clone, Copy)]
struct NdpInfo {
    signature: NdpSignature,
    entries_start: usize,
    entries_end: usize,
    next: usize,
}

impl<'a> Ntb<'a> {
    /// Checks the transfer header and the NDP chain of a received transfer.
    ///
    /// The format is taken from the signature. Bytes after the block length
    /// are ignored.
    pub fn new_checked(buffer: &'a [u8]) -> Result<Self, NtbError> {
        let signature = wire::le32(buffer, wire::nth16::SIGNATURE).ok_or(NtbError::Truncated {
            what: "NTH signature",
            needed: 4,
            available: buffer.len(),
        })?;
        let format = match signature {
            wire::nth16::SIGN => NtbFormat::Ntb16,
            wire::nth32::SIGN => NtbFormat::Ntb32,
            other => return Err(NtbError::Signature(other)),
        };
        let nth_len = format.nth_len();
        if buffer.len() < nth_len {
            return Err(NtbError::Truncated {
                what: format.nth_name(),
                needed: nth_len,
                available: buffer.len(),
            });
        }
        let nth = Nth::new_unchecked(buffer, format);
        let header_length = nth.header_length();
        if usize::from(header_length) != nth_len {
            return Err(NtbError::HeaderLength {
                format,
                found: header_length,
                expected: nth_len,
            });
        }
        let raw_block_length = nth.block_length();
        let block_length = match usize::try_from(raw_block_length) {
            Ok(0) => buffer.len(),
            Ok(len) if len <= buffer.len() && len >= nth_len => len,
            _ => {
                return Err(NtbError::BlockLength {
                    format,
                    block_length: u64::from(raw_block_length),
                    buffer_length: buffer.len(),
                })
            }
        };
        let block = buffer.get(..block_length).ok_or(NtbError::BlockLength {
            format,
            block_length: u64::from(raw_block_length),
            buffer_length: buffer.len(),
        })?;
        let first_ndp = nth.ndp_index();
        if first_ndp == 0 {
            return Err(NtbError::NoNdp { format });
        }
        let first_ndp = usize::try_from(first_ndp).unwrap_or(usize::MAX);

        // Walk the chain now so a loop is refused before any datagram is
        // handed out; this reads only each NDP's fixed part.
        let first = check_ndp(block, format, first_ndp)?;
        let mut at = first.next;
        let mut ndp_count = 1;
        while at != 0 {
            if ndp_count == MAX_NDPS {
                return Err(NtbError::NdpChain {
                    format,
                    offset: at as u64,
                    limit: MAX_NDPS,
                });
            }
            ndp_count += 1;
            at = check_ndp(block, format, at)?.next;
        }
        Ok(Ntb {
            block,
            format,
            sequence: nth.sequence(),
            first_ndp,
            first,
            ndp_count,
        })
    }

    /// The format.
    pub const fn format(&self) -> NtbFormat {
        self.format
    }

    /// `wSequence`.
    pub const fn sequence(&self) -> u16 {
        self.sequence
    }

    /// The block, `wBlockLength` bytes long.
    pub const fn block(&self) -> &'a [u8] {
        self.block
    }

    /// Number of NDPs in the chain.
    pub const fn ndp_count(&self) -> usize {
        self.ndp_count
    }

    /// Every datagram of every NDP, in chain order.
    pub fn datagrams(&self) -> Datagrams<'a> {
        // Straight into the first NDP's table: `new_checked` checked its
        // fixed part, and `entries_start..entries_end` lies in the block.
        let entries = self
            .block
            .get(self.first.entries_start..self.first.entries_end)
            .unwrap_or_default();
        Datagrams {
            block: self.block,
            entries,
            signature: self.first.signature,
            format: self.format,
            table_len: entries.len(),
            ndp_offset: self.first_ndp,
            next_ndp: self.first.next,
            ndps_left: self.ndp_count - 1,
            state: State::InNdp,
        }
    }

    /// Checks every entry of every NDP; the number of datagrams if all are
    /// good.
    pub fn validate(&self) -> Result<usize, NtbError> {
        self.datagrams()
            .try_fold(0usize, |count, datagram| datagram.map(|_| count + 1))
    }
}

/// Checks the fixed part of the NDP at `at` against the block.
#[inline]
fn check_ndp(block: &[u8], format: NtbFormat, at: usize) -> Result<NdpInfo, NtbError> {
    let error = |kind| NtbError::Ndp {
        format,
        offset: at as u64,
        kind,
    };
    let block_length = block.len();
    if at < format.nth_len() {
        return Err(error(NdpErrorKind::OverlapsHeader {
            header_length: format.nth_len(),
        }));
    }
    let header_end = at.saturating_add(format.ndp_header_len());
    let ndp = block
        .get(at..header_end)
        .and_then(|header| Ndp::new_checked(header, format))
        .ok_or(error(NdpErrorKind::HeaderBeyondBlock {
            end: header_end as u64,
            block_length,
        }))?;
    let length = ndp.length();
    let min = format.ndp_min_len();
    if usize::from(length) < min {
        return Err(error(NdpErrorKind::LengthTooSmall { length, min }));
    }
    let entry_length = format.entry_len();
    // Both fixed parts are whole entries long, so whole entries means `wLength`
    // is a multiple of the entry size.
    if usize::from(length) % entry_length != 0 {
        return Err(error(NdpErrorKind::LengthNotWholeEntries {
            length,
            entry_length,
        }));
    }
    let entries_end = at.saturating_add(usize::from(length));
    if entries_end > block_length {
        return Err(error(NdpErrorKind::TableBeyondBlock {
            end: entries_end as u64,
            block_length,
        }));
    }
    Ok(NdpInfo {
        signature: NdpSignature::from_raw(format, ndp.signature()),
        entries_start: header_end,
        entries_end,
        next: usize::try_from(ndp.next_ndp_index()).unwrap_or(usize::MAX),
    })
}

/// Iterator over every datagram of an [`Ntb`]; see the [module
/// documentation](self) for how it reports a bad entry.
#[derive(Debug, Clone)]
pub struct Datagrams<'a> {
    block: &'a [u8],
    /// The current NDP's entries not read yet, up to its `wLength`: a whole
    /// number of entries, as `check_ndp` refuses any other `wLength`. Empty
    /// once iteration is over; `state` tells.
    entries: &'a [u8],
    signature: NdpSignature,
    format: NtbFormat,
    /// Size of the current NDP's whole table, so the number of the entry
    /// being read follows from what is left of it.
    table_len: usize,
    ndp_offset: usize,
    next_ndp: usize,
    ndps_left: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    InNdp,
    Done,
}

impl<'a> Datagrams<'a> {
    #[cold]
    fn fail(&mut self, kind: NdpErrorKind) -> Option<Result<Datagram<'a>, NtbError>> {
        self.finish();
        Some(Err(NtbError::Ndp {
            format: self.format,
            offset: self.ndp_offset as u64,
            kind,
        }))
    }

    fn finish(&mut self) {
        self.state = State::Done;
        self.entries = &[];
    }

    /// Number, from 0, of the entry about to be read in the current NDP.
    fn entry_no(&self) -> usize {
        (self.table_len - self.entries.len()) / self.format.entry_len()
    }

    /// Starts reading the table of the NDP at `offset`, checked as `info`.
    fn enter_ndp(&mut self, offset: usize, info: NdpInfo) {
        self.ndp_offset = offset;
        self.signature = info.signature;
        self.entries = self
            .block
            .get(info.entries_start..info.entries_end)
            .unwrap_or_default();
        self.table_len = self.entries.len();
        self.next_ndp = info.next;
        self.ndps_left = self.ndps_left.saturating_sub(1);
        self.state = State::InNdp;
    }

    /// Moves to the next NDP of the chain; `Ok(false)` at its end.
    fn next_ndp(&mut self) -> Result<bool, NtbError> {
        if self.next_ndp == 0 || self.ndps_left == 0 {
            self.finish();
            return Ok(false);
        }
        // Already checked by `Ntb::new_checked`; checked again rather than
        // trusted, as the cost is per NDP, not per datagram.
        let info =
            check_ndp(self.block, self.format, self.next_ndp).inspect_err(|_| self.finish())?;
        self.enter_ndp(self.next_ndp, info);
        Ok(true)
    }

    /// Everything but "the next entry is a datagram": a terminator, a table
    /// without one, a datagram beyond the block, the end.
    #[cold]
    #[inline(never)]
    fn slow_next(mut self) -> (Self, Option<Result<Datagram<'a>, NtbError>>) {
        let item = self.slow_next_mut();
        (self, item)
    }

    fn slow_next_mut(&mut self) -> Option<Result<Datagram<'a>, NtbError>> {
        match self.state {
            State::Done => return None,
            State::InNdp => {}
        }
        loop {
            match self.next_entry() {
                Entry::Datagram(datagram) => return Some(Ok(datagram)),
                Entry::Terminator => {}
                Entry::TableEnd => {
                    let entries = self.entry_no();
                    return self.fail(NdpErrorKind::Unterminated { entries });
                }
                Entry::Beyond(kind) => return self.fail(kind),
            }
            match self.next_ndp() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// Reads the next entry, consuming it if it is a datagram.
    fn next_entry(&mut self) -> Entry<'a> {
        let (index, length, rest) = match self.format {
            NtbFormat::Ntb16 => match self.entries.split_first_chunk::<4>() {
                Some((&[a, b, c, d], rest)) => (
                    usize::from(u16::from_le_bytes([a, b])),
                    usize::from(u16::from_le_bytes([c, d])),
                    rest,
                ),
                None => return Entry::TableEnd,
            },
            NtbFormat::Ntb32 => match self.entries.split_first_chunk::<8>() {
                Some((&[a, b, c, d, e, f, g, h], rest)) => (
                    u32::from_le_bytes([a, b, c, d]) as usize,
                    u32::from_le_bytes([e, f, g, h]) as usize,
                    rest,
                ),
                None => return Entry::TableEnd,
            },
        };
        if index == 0 || length == 0 {
            return Entry::Terminator;
        }
        // The end is absolute (not relative to the NDP) and compared with
        // the block, not the buffer.
        let data = index
            .checked_add(length)
            .and_then(|end| self.block.get(index..end));
        let Some(data) = data else {
            return Entry::Beyond(NdpErrorKind::DatagramBeyondBlock {
                datagram: self.entry_no(),
                end: index as u64 + length as u64,
                block_length: self.block.len(),
            });
        };
        self.entries = rest;
        Entry::Datagram(Datagram {
            signature: self.signature,
            data,
        })
    }

    /// The common cases, inline: the next entry is a datagram inside the
    /// block, or the terminator of the chain's last NDP. Anything else is
    /// [`Fast::Slow`], which [`slow_next`](Self::slow_next) reads again and
    /// sorts out with the same checks as [`next_entry`](Self::next_entry).
    #[inline(always)]
    fn next_fast(&mut self) -> Fast<'a> {
        let (index, length, rest) = match self.format {
            NtbFormat::Ntb16 => match self.entries.split_first_chunk::<4>() {
                Some((&[a, b, c, d], rest)) => (
                    usize::from(u16::from_le_bytes([a, b])),
                    usize::from(u16::from_le_bytes([c, d])),
                    rest,
                ),
                None => return Fast::Slow,
            },
            NtbFormat::Ntb32 => match self.entries.split_first_chunk::<8>() {
                Some((&[a, b, c, d, e, f, g, h], rest)) => (
                    u32::from_le_bytes([a, b, c, d]) as usize,
                    u32::from_le_bytes([e, f, g, h]) as usize,
                    rest,
                ),
                None => return Fast::Slow,
            },
        };
        if index == 0 || length == 0 {
            // A terminator; with no NDP after this one, the end (what
            // `next_ndp` decides too).
            if self.next_ndp == 0 {
                self.finish();
                return Fast::End;
            }
            return Fast::Slow;
        }
        // `index + length` cannot wrap: both are at most 32-bit.
        match self.block.get(index..index.saturating_add(length)) {
            Some(data) => {
                self.entries = rest;
                Fast::Datagram(data)
            }
            None => Fast::Slow,
        }
    }
}

enum Fast<'a> {
    /// The data alone: a slice's non-null pointer tells the variants apart,
    /// where a whole `Datagram` would borrow its signature's spare values and
    /// cost a test of the signature on every datagram.
    Datagram(&'a [u8]),
    End,
    Slow,
}

enum Entry<'a> {
    Datagram(Datagram<'a>),
    Terminator,
    TableEnd,
    Beyond(NdpErrorKind),
}

impl<'a> Iterator for Datagrams<'a> {
    type Item = Result<Datagram<'a>, NtbError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self.next_fast() {
            Fast::Datagram(data) => Some(Ok(Datagram {
                signature: self.signature,
                data,
            })),
            Fast::End => None,
            Fast::Slow => {
                // By value, so the caller's iterator never has its address
                // taken and its fields can live in registers in the loop.
                let (state, item) = self.clone().slow_next();
                *self = state;
                item
            }
        }
    }
}

impl std::iter::FusedIterator for Datagrams<'_> {}
