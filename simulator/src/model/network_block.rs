//! A block of the real network's datagrams built outside the model's lock.
//!
//! The network's reader ([`crate::forward`]) cuts each segment of what it
//! reads into a [`NetworkBlock`] of its own, laid out under the function's
//! block shape as the model last told it, and takes the model's lock once
//! per finished block to hand it over whole
//! ([`Modem::hand_over_network_block`](super::Modem::hand_over_network_block)):
//! the cut, the largest part of the reader's work, no longer keeps the
//! host's bulk IN waiting for the lock. The model still decides everything
//! at the hand-over, under its lock: whether each destination the block
//! was cut for still routes to the session it was cut for, whether the
//! shape is still the one it was built under (a generation), and whether
//! the bounds on what is pending leave room for it. A block that fails any
//! of these has its datagrams laid out again one by one, as if each had
//! just been read, so nothing is ever sent under a stale shape or to a
//! session that left.

use super::NetworkRoute;
use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, PushError};
use std::net::IpAddr;

/// What [`NetworkBlock::push`] did with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Written into the block.
    Taken,
    /// Not taken, and counted as dropped at the next hand-over: no block
    /// of this shape can carry it, or `fill` declined.
    Dropped,
    /// The block has no room left for it: hand the block over, then push
    /// it again.
    Full,
}

/// What one hand-over did ([`Modem::hand_over_network_block`](super::Modem::hand_over_network_block)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandedOver {
    /// Whether the block went to bulk IN as it was built; `false` when its
    /// datagrams were laid out again one by one (a destination routes
    /// elsewhere now, the shape changed, or the bounds were reached: what
    /// did not fit was dropped and counted).
    pub as_built: bool,
    /// Whether every destination the block was cut for still routes where
    /// it was cut for (a block refused for its shape or the bounds alone
    /// leaves the reader's remembered routes good).
    pub routed: bool,
    /// The model's [`network_room`](super::Modem::network_room) after it.
    pub room: usize,
}

/// One function's block of datagrams from the real network, under
/// construction outside the model; see the [module documentation](self).
#[derive(Debug)]
pub struct NetworkBlock {
    pub(super) function: usize,
    /// The generation of the function's block shape `builder` was made
    /// under.
    pub(super) generation: u64,
    pub(super) builder: NtbBuilder,
    /// Datagrams in the block, and their bytes.
    pub(super) datagrams: usize,
    pub(super) bytes: usize,
    /// Datagrams dropped since the last hand-over, counted then.
    pub(super) dropped: usize,
    /// Each destination the block's datagrams were cut for, with the route
    /// the reader took for it; checked again at the hand-over.
    pub(super) destinations: Vec<(IpAddr, NetworkRoute)>,
    /// The finished block once [`finish`](Self::finish) laid it out; else
    /// the buffer the next one is finished into.
    pub(super) buffer: Vec<u8>,
    pub(super) finished: bool,
}

impl NetworkBlock {
    /// An empty block for `function` under `format` and `limits`, the shape
    /// of `generation`; `None` when no block can be built under them.
    pub(super) fn new(
        function: usize,
        generation: u64,
        format: NtbFormat,
        limits: BuildLimits,
    ) -> Option<NetworkBlock> {
        Some(NetworkBlock {
            function,
            generation,
            builder: NtbBuilder::new(format, limits).ok()?,
            datagrams: 0,
            bytes: 0,
            dropped: 0,
            destinations: Vec::new(),
            buffer: Vec::new(),
            finished: false,
        })
    }

    /// The function the block is for.
    pub fn function(&self) -> usize {
        self.function
    }

    /// Datagrams in it.
    pub fn datagrams(&self) -> usize {
        self.datagrams
    }

    /// Whether a hand-over would have nothing to do: no datagram in it and
    /// none dropped since the last.
    pub fn is_empty(&self) -> bool {
        self.datagrams == 0 && self.dropped == 0
    }

    /// Writes a datagram of `len` bytes for `route` (found for
    /// `destination`, which every datagram of a read shares) with `fill`
    /// straight into its place in the block; `fill` is called at most
    /// once. A route of another function is the caller's mistake and
    /// dropped.
    pub fn push(
        &mut self,
        route: NetworkRoute,
        destination: IpAddr,
        len: usize,
        fill: impl FnMut(&mut [u8]) -> bool,
    ) -> Pushed {
        if route.function != self.function || self.finished {
            self.dropped = self.dropped.saturating_add(1);
            return Pushed::Dropped;
        }
        match self
            .builder
            .try_push_with(NdpSignature::Ips(route.session), len, fill)
        {
            Ok(true) => {
                self.datagrams = self.datagrams.saturating_add(1);
                self.bytes = self.bytes.saturating_add(len);
                if !self
                    .destinations
                    .iter()
                    .any(|(known, _)| *known == destination)
                {
                    self.destinations.push((destination, route));
                }
                Pushed::Taken
            }
            // Full with nothing in it: no block of this shape carries it.
            Err(PushError::Full) if self.datagrams > 0 => Pushed::Full,
            Ok(false) | Err(_) => {
                self.dropped = self.dropped.saturating_add(1);
                Pushed::Dropped
            }
        }
    }

    /// Lays the block out (its NDPs and header), outside the model's lock;
    /// the hand-over does it if the caller did not. Pushes after it and
    /// before the hand-over are dropped.
    pub fn finish(&mut self) {
        if !self.finished && self.datagrams > 0 {
            self.finished = self.builder.finish_into(&mut self.buffer);
        }
    }

    /// Empty again after a hand-over, under the shape of `generation` (the
    /// builder made again if that is not the one it was made under).
    pub(super) fn restart(&mut self, shape: Option<(u64, NtbFormat, BuildLimits)>) {
        self.builder.reset();
        self.datagrams = 0;
        self.bytes = 0;
        self.dropped = 0;
        self.destinations.clear();
        self.finished = false;
        if let Some((generation, format, limits)) = shape {
            if generation != self.generation {
                if let Ok(builder) = NtbBuilder::new(format, limits) {
                    self.builder = builder;
                    self.generation = generation;
                }
            }
        }
    }
}
