//! The datagrams the real network behind the modem sends a function's
//! sessions, written straight into the NTBs bulk IN hands the host.
//!
//! The forwarder's reader builds blocks of its own outside the model's
//! lock (see [`super::network_block`]) and hands each over whole
//! ([`NetworkBlocks::hand_over`]); a datagram queued one by one (laid out
//! again, or from [`super::Modem::handle_network_in`]) is written into its
//! place in an NTB under construction here (the *open* block, one NDP
//! per session, laid out by [`NtbBuilder`] under the function's NTB
//! parameters and the host's input size). When the next datagram does not
//! fit, the open block is finished into a *ready* block and a new one is
//! opened; bulk IN takes the oldest ready block as it is, by swapping
//! buffers with the host's transfer, or the open block when none is ready
//! (then with the gateway's replies and the traffic generator's datagrams
//! added, see [`super::data`]). So a datagram from the network is written
//! once, where the host reads it from, where it used to be cut into a
//! queue buffer and then copied again into a block built per transfer.
//!
//! What is pending is counted in datagrams and bytes across the ready and
//! open blocks, so the bound on what is queued
//! ([`super::data::MAX_FORWARDED_DATAGRAMS`]) is the same as a queue's.
//! The rare changes a built block cannot take in place (a session going
//! down, the host asking for smaller blocks) lay the pending datagrams out
//! again from the finished blocks ([`NetworkBlocks::reshape`],
//! [`NetworkBlocks::drop_session`]).

use mbim_protocol::ntb::PushError;
use mbim_protocol::ntb::{BuildLimits, LimitsError, NdpSignature, Ntb, NtbBuilder, NtbFormat};
use std::collections::VecDeque;

/// Block buffers kept for the blocks to come: the host's transfers hand one
/// back for each block they take, so a few cover the turnover; more would
/// only hold memory.
const MAX_SPARE_BLOCKS: usize = 8;
/// Most finished blocks waiting, whatever their datagrams: a host that
/// allows one datagram per block (wNtbInMaxDatagrams) would otherwise have
/// a block, in a buffer as large as its transfers, per pending datagram.
/// Blocks at the largest size the host takes hold the datagram bound many
/// times over.
pub const MAX_READY_BLOCKS: usize = 64;

/// A finished block of the network's datagrams, waiting for bulk IN.
#[derive(Debug)]
struct Block {
    data: Vec<u8>,
    datagrams: usize,
    bytes: usize,
}

/// What a block that went out carried from the network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Carried {
    /// Datagrams.
    pub(crate) datagrams: usize,
    /// Their bytes.
    pub(crate) bytes: usize,
}

/// One function's blocks of datagrams from the real network; see the
/// [module documentation](self).
#[derive(Debug, Default)]
pub(crate) struct NetworkBlocks {
    /// The format and limits the blocks are built under; `None` until the
    /// first datagram or transfer sets them.
    shape: Option<(NtbFormat, BuildLimits)>,
    /// The block under construction (present once `shape` is).
    open: Option<NtbBuilder>,
    /// Bytes of the datagrams in `open` (its count is `open.len()`).
    open_bytes: usize,
    /// Finished blocks, oldest first.
    ready: VecDeque<Block>,
    /// Buffers for the next finished blocks.
    spares: Vec<Vec<u8>>,
    /// Datagrams pending, in `ready` and `open`.
    datagrams: usize,
    /// Their bytes.
    bytes: usize,
    /// Counts the changes to `shape` and to what is pending beyond the
    /// blocks' own turnover (a rebuild, a clear): a block built outside the
    /// model under an older one is laid out again, never handed over as it
    /// is ([`NetworkBlocks::hand_over`]).
    generation: u64,
}

impl NetworkBlocks {
    /// The format and limits the blocks are built under, if set.
    pub(crate) fn shape(&self) -> Option<(NtbFormat, BuildLimits)> {
        self.shape
    }

    /// The generation of the shape and of what is pending: see
    /// [`NetworkBlocks::hand_over`].
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Datagrams pending.
    pub(crate) fn datagrams(&self) -> usize {
        self.datagrams
    }

    /// Bytes of the datagrams pending.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a finished block waits (older than the open block's
    /// datagrams, so it goes first).
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Whether no further block may be finished until the host takes one
    /// ([`MAX_READY_BLOCKS`]): a datagram the open block has no room for
    /// is refused.
    pub(crate) fn is_full(&self) -> bool {
        self.ready.len() >= MAX_READY_BLOCKS
    }

    /// Writes a datagram of `len` bytes for `session` with `fill` straight
    /// into the open block (finishing it and opening the next when it is
    /// full); `false` when it was not taken: no shape yet, a datagram no
    /// block of this shape can carry, no room for another finished block,
    /// or `fill` declined. The caller keeps the bound on the datagrams
    /// pending.
    pub(crate) fn push(
        &mut self,
        session: u8,
        len: usize,
        mut fill: impl FnMut(&mut [u8]) -> bool,
    ) -> bool {
        let signature = NdpSignature::Ips(session);
        let Some(open) = self.open.as_mut() else {
            return false;
        };
        let mut result = open.try_push_with(signature, len, &mut fill);
        if result == Err(PushError::Full) && !self.is_full() {
            self.seal();
            if let Some(open) = self.open.as_mut() {
                result = open.try_push_with(signature, len, &mut fill);
            }
        }
        if result != Ok(true) {
            return false;
        }
        self.open_bytes = self.open_bytes.saturating_add(len);
        self.datagrams = self.datagrams.saturating_add(1);
        self.bytes = self.bytes.saturating_add(len);
        true
    }

    /// Finishes the open block into a ready one, in a spare buffer; the
    /// next block is built in the buffer the finished one leaves.
    fn seal(&mut self) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        let datagrams = open.len();
        let mut data = self.spares.pop().unwrap_or_default();
        if open.finish_into(&mut data) {
            self.ready.push_back(Block {
                data,
                datagrams,
                bytes: self.open_bytes,
            });
            self.open_bytes = 0;
        } else {
            self.recycle(data);
        }
    }

    /// Takes `block`, finished outside the model under this generation's
    /// shape and carrying `carried`, as the newest
    /// ready block, trading buffers with a spare (`block` leaves with the
    /// spare, empty if there is none): no copy. `false`, nothing changed,
    /// when it may not go as it is: built under another `generation`, or
    /// no room for another finished block. The network's datagrams the open
    /// block holds (laid out there again) are older, so they are finished
    /// first. The caller keeps the bound on the datagrams pending.
    pub(crate) fn hand_over(
        &mut self,
        generation: u64,
        block: &mut Vec<u8>,
        carried: Carried,
    ) -> bool {
        let open_pending = self.open.as_ref().is_some_and(|open| !open.is_empty());
        let blocks = 1 + usize::from(open_pending);
        if generation != self.generation
            || self.shape.is_none()
            || self.ready.len().saturating_add(blocks) > MAX_READY_BLOCKS
        {
            return false;
        }
        if open_pending {
            self.seal();
        }
        let mut data = self.spares.pop().unwrap_or_default();
        std::mem::swap(&mut data, block);
        self.ready.push_back(Block {
            data,
            datagrams: carried.datagrams,
            bytes: carried.bytes,
        });
        self.datagrams = self.datagrams.saturating_add(carried.datagrams);
        self.bytes = self.bytes.saturating_add(carried.bytes);
        true
    }

    fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spares.len() < MAX_SPARE_BLOCKS {
            self.spares.push(buffer);
        }
    }

    /// Hands the oldest ready block to the host: it and `out` (the host's
    /// transfer buffer, kept for a later block) trade places. `None` when
    /// no block is ready.
    pub(crate) fn take_ready(&mut self, out: &mut Vec<u8>) -> Option<Carried> {
        let mut block = self.ready.pop_front()?;
        std::mem::swap(out, &mut block.data);
        self.recycle(block.data);
        self.datagrams = self.datagrams.saturating_sub(block.datagrams);
        self.bytes = self.bytes.saturating_sub(block.bytes);
        Some(Carried {
            datagrams: block.datagrams,
            bytes: block.bytes,
        })
    }

    /// The open block, to be finished and sent now (with whatever else the
    /// caller adds to it), and what it carries from the network, which is
    /// no longer counted as pending: the caller finishes it. `None` while
    /// an older block is ready, or before a shape is set.
    pub(crate) fn take_open(&mut self) -> Option<(&mut NtbBuilder, Carried)> {
        if !self.ready.is_empty() {
            return None;
        }
        let open = self.open.as_mut()?;
        let carried = Carried {
            datagrams: open.len(),
            bytes: self.open_bytes,
        };
        self.datagrams = self.datagrams.saturating_sub(carried.datagrams);
        self.bytes = self.bytes.saturating_sub(carried.bytes);
        self.open_bytes = 0;
        Some((open, carried))
    }

    /// Drops everything pending (the data interface went off).
    pub(crate) fn clear(&mut self) {
        while let Some(block) = self.ready.pop_front() {
            self.recycle(block.data);
        }
        if let Some(open) = self.open.as_mut() {
            open.reset();
        }
        self.open_bytes = 0;
        self.datagrams = 0;
        self.bytes = 0;
        self.generation = self.generation.wrapping_add(1);
    }

    /// Drops what is pending for `session` (it went down), the other
    /// sessions' datagrams laid out again in order.
    pub(crate) fn drop_session(&mut self, session: u8) {
        let Some((format, limits)) = self.shape else {
            return;
        };
        if self.datagrams == 0 {
            return;
        }
        // The same shape as the blocks were built under: every datagram
        // kept fits again, and nothing is counted as dropped.
        let _ = self.rebuild(format, limits, |kept| kept != session);
    }

    /// Builds under `format` and `limits` from now on, the pending
    /// datagrams laid out again into blocks of that shape; returns how many
    /// no longer fit one (dropped). `Err`, with nothing changed, when no
    /// block can be built under them.
    pub(crate) fn reshape(
        &mut self,
        format: NtbFormat,
        limits: BuildLimits,
    ) -> Result<usize, LimitsError> {
        self.rebuild(format, limits, |_| true)
    }

    fn rebuild(
        &mut self,
        format: NtbFormat,
        limits: BuildLimits,
        keep: impl Fn(u8) -> bool,
    ) -> Result<usize, LimitsError> {
        let builder = NtbBuilder::new(format, limits)?;
        self.seal();
        let old = std::mem::take(&mut self.ready);
        self.open = Some(builder);
        self.shape = Some((format, limits));
        self.generation = self.generation.wrapping_add(1);
        self.open_bytes = 0;
        self.datagrams = 0;
        self.bytes = 0;
        let mut dropped = 0usize;
        for block in old {
            // Blocks built here parse; one that did not would be dropped
            // whole rather than sent malformed.
            if let Ok(ntb) = Ntb::new_checked(&block.data) {
                for datagram in ntb.datagrams().flatten() {
                    let NdpSignature::Ips(session) = datagram.signature else {
                        continue;
                    };
                    if !keep(session) {
                        continue;
                    }
                    let data = datagram.data;
                    if !self.push(session, data.len(), |slot| {
                        slot.copy_from_slice(data);
                        true
                    }) {
                        dropped = dropped.saturating_add(1);
                    }
                }
            }
            self.recycle(block.data);
        }
        Ok(dropped)
    }
}
