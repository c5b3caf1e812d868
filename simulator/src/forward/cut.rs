//! The reader's side of the network's blocks: each read cut into a block of
//! the reader's own ([`NetworkBlock`]) without the model's lock, the lock
//! taken once per finished block to hand it over, and once per batch for
//! what the batch left in the blocks.
//!
//! Which session a read is for is found under the lock the first time its
//! destination is seen and remembered; the model checks every remembered
//! route again when it takes a block, and a block whose routes no longer
//! hold is laid out again datagram by datagram (and the routes forgotten),
//! so a stale route costs a copy, never a datagram delivered to a session
//! it is no longer for. The room in the queues towards the host is what
//! the model said at the last hand-over less what has been cut since: the
//! model's queues only shrink in between (the host taking blocks), so it
//! errs on the side of asking again.

use crate::device::SimModem;
use crate::model::net;
use crate::model::network_block::{NetworkBlock, Pushed};
use crate::model::{Modem, NetworkRoute};
use mbim_offload::segment::{Segmenter, Segments};
use std::net::IpAddr;

/// The reader's blocks under construction and what it remembers of the
/// model between hand-overs.
#[derive(Debug, Default)]
pub(super) struct Cutter {
    /// A block per function that has had datagrams.
    blocks: Vec<NetworkBlock>,
    /// Routes found under the lock, by destination, until a hand-over
    /// finds one no longer holds.
    routes: Vec<(IpAddr, NetworkRoute)>,
    /// Room in the queues towards the host, at most (see the module
    /// documentation).
    room: usize,
}

impl Cutter {
    /// Room in the queues towards the host, as far as the reader knows
    /// without asking the model.
    pub(super) fn room(&self) -> usize {
        self.room
    }

    /// Cuts one device read (`header` bytes of virtio-net header first, if
    /// any) into the block of the session it is for; returns how many
    /// datagrams it made. Outside the model's lock but for the first read
    /// to a destination, a block that fills up (handed over), and a
    /// function whose data interface is off (queued, dropped and counted,
    /// under the lock as before). A read no session takes, or that cannot
    /// be cut, is dropped; the device is fine.
    pub(super) fn cut(
        &mut self,
        modem: &SimModem,
        header: usize,
        segmenter: &mut Segmenter,
        read: &mut [u8],
    ) -> usize {
        let Some(destination) = read.get(header..).and_then(net::destination) else {
            return 0;
        };
        let Some((route, index)) = self.route(modem, destination) else {
            // No session has it, or its function takes no blocks now: the
            // model drops and counts as it always did.
            return modem.with_network(|model, _| deliver(model, header, segmenter, read));
        };
        let made = match segmenter.segments(read) {
            Ok(Segments::Whole(packet)) => {
                self.push(modem, index, route, destination, packet.len(), |buffer| {
                    buffer.copy_from_slice(packet);
                    true
                })
            }
            Ok(Segments::Split(split)) => (0..split.count())
                .map(|segment| {
                    self.push(
                        modem,
                        index,
                        route,
                        destination,
                        split.len(segment),
                        |buffer| split.write(segment, buffer),
                    )
                })
                .sum(),
            Err(error) => {
                tracing::debug!("a packet from the real network dropped: {error}");
                0
            }
        };
        self.room = self.room.saturating_sub(made);
        made
    }

    /// The route for `destination` and the index of its function's block,
    /// found under the model's lock (and the block made) if not known.
    fn route(&mut self, modem: &SimModem, destination: IpAddr) -> Option<(NetworkRoute, usize)> {
        let route = match self.routes.iter().find(|(known, _)| *known == destination) {
            Some((_, route)) => *route,
            None => {
                let have: Vec<usize> = self.blocks.iter().map(NetworkBlock::function).collect();
                let (route, block, room) = modem.with_network(|model, _| {
                    let route = model.network_route_to(destination)?;
                    let block = (!have.contains(&route.function()))
                        .then(|| model.network_block(route.function()));
                    Some((route, block, model.network_room()))
                })?;
                match block {
                    // The function's data interface is off.
                    Some(None) => return None,
                    Some(Some(block)) => self.blocks.push(block),
                    None => {}
                }
                self.room = room;
                self.routes.push((destination, route));
                route
            }
        };
        let index = self
            .blocks
            .iter()
            .position(|block| block.function() == route.function())?;
        Some((route, index))
    }

    /// One datagram into block `index`, handing the block over and pushing
    /// it again into the next when it is full; 1 if it was taken.
    fn push(
        &mut self,
        modem: &SimModem,
        index: usize,
        route: NetworkRoute,
        destination: IpAddr,
        len: usize,
        mut fill: impl FnMut(&mut [u8]) -> bool,
    ) -> usize {
        let Some(block) = self.blocks.get_mut(index) else {
            return 0;
        };
        let mut pushed = block.push(route, destination, len, &mut fill);
        if pushed == Pushed::Full {
            block.finish();
            let handed = modem.with_network(|model, _| model.hand_over_network_block(block));
            if !handed.routed {
                self.routes.clear();
            }
            // What was cut since the hand-over still counts against it.
            self.room = handed.room;
            pushed = block.push(route, destination, len, &mut fill);
        }
        usize::from(pushed == Pushed::Taken)
    }

    /// Hands every block with something in it over, under one lock (laid
    /// out beforehand, outside it), and learns the room left (the lock is
    /// not taken when there is nothing to hand over, unless `ask`); returns
    /// whether any datagram was handed over.
    pub(super) fn hand_over(&mut self, modem: &SimModem, ask: bool) -> bool {
        let mut any = false;
        for block in &mut self.blocks {
            any |= block.datagrams() > 0;
            block.finish();
        }
        if !ask && self.blocks.iter().all(NetworkBlock::is_empty) {
            return false;
        }
        let (room, routed) = modem.with_network(|model, _| {
            let mut routed = true;
            for block in self.blocks.iter_mut().filter(|block| !block.is_empty()) {
                routed &= model.hand_over_network_block(block).routed;
            }
            (model.network_room(), routed)
        });
        if !routed {
            self.routes.clear();
        }
        self.room = room;
        any
    }
}

/// Queues the packets of one device read for the session whose address
/// they are for, under the model's lock, straight into the model's own
/// open block; returns how many datagrams it made. Taken only when the
/// reader cannot build a block of its own (the function's data interface
/// off, or no session has the destination), where the model decides.
fn deliver(model: &mut Modem, header: usize, segmenter: &mut Segmenter, read: &mut [u8]) -> usize {
    // Every segment has the super-packet's addresses: one look-up for
    // all, before anything is cut.
    let Some(route) = read.get(header..).and_then(|ip| model.network_route(ip)) else {
        return 0;
    };
    match segmenter.segments(read) {
        Ok(Segments::Whole(packet)) => {
            model.push_network_in(route, packet.len(), |buffer| {
                buffer.copy_from_slice(packet);
                true
            });
            1
        }
        Ok(Segments::Split(split)) => {
            for index in 0..split.count() {
                model.push_network_in(route, split.len(index), |buffer| split.write(index, buffer));
            }
            split.count()
        }
        Err(error) => {
            tracing::debug!("a packet from the real network dropped: {error}");
            0
        }
    }
}
