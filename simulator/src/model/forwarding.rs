//! A real network behind the modem ([`crate::forward`]): which session a
//! datagram from it is for, and queueing it for that function's bulk IN.
//!
//! Kept apart from the bulk endpoints: the forwarder's reader calls in here
//! on its own, asking the route once per super-packet.

use super::network_block::{HandedOver, NetworkBlock};
use super::{data, ip_families, net, Modem, NetworkRoute};
use mbim_protocol::ntb::{NdpSignature, Ntb};

impl Modem {
    /// A datagram from the real network behind the modem: queued for bulk
    /// IN on the function and session whose address it is for. `false`
    /// when no active session has that address (or its queue is full).
    pub fn handle_network_in(&mut self, packet: &[u8]) -> bool {
        self.network_route(packet).is_some_and(|route| {
            self.push_network_in(route, packet.len(), |buffer| {
                buffer.copy_from_slice(packet);
                true
            })
        })
    }

    /// Where datagrams from the real network with `packet`'s IP header go:
    /// the active session whose address is its destination, if any. Asked
    /// once for all the segments of a super-packet, which share it.
    pub fn network_route(&self, packet: &[u8]) -> Option<NetworkRoute> {
        let (function, session) = self.session_with_address(net::destination(packet)?)?;
        Some(NetworkRoute { function, session })
    }

    /// A datagram of `len` bytes from the real network queued for bulk IN
    /// on `route`, written by `fill` straight into its place in the NTB the
    /// function will send (`len` bytes; `fill` says whether it wrote them,
    /// and is called at most once). `false` when the route's queue is full
    /// or gone (counted as dropped).
    pub fn push_network_in(
        &mut self,
        route: NetworkRoute,
        len: usize,
        fill: impl FnMut(&mut [u8]) -> bool,
    ) -> bool {
        self.functions
            .get_mut(route.function)
            .is_some_and(|f| f.data.push_network(route.session, len, fill))
    }

    /// The route [`network_route`](Self::network_route) gives datagrams
    /// for `destination`.
    pub fn network_route_to(&self, destination: std::net::IpAddr) -> Option<NetworkRoute> {
        let (function, session) = self.session_with_address(destination)?;
        Some(NetworkRoute { function, session })
    }

    /// An empty block for `function`'s datagrams from the real network, to
    /// be built outside the model (see [`NetworkBlock`]) in the shape the
    /// function's blocks have now; `None` while its data interface is off.
    pub fn network_block(&mut self, function: usize) -> Option<NetworkBlock> {
        let (generation, format, limits) =
            self.functions.get_mut(function)?.data.network_shape()?;
        NetworkBlock::new(function, generation, format, limits)
    }

    /// Takes `block`, built outside the model, for its function's bulk IN:
    /// as it is (no copy) if every destination it was cut for still routes
    /// where it was cut for, its shape is still the function's and the
    /// bounds on what is pending leave room for it; else its datagrams are
    /// laid out again one by one as if just read (routed afresh; what finds
    /// no session or no room is dropped and counted). `block` is empty
    /// afterwards, in the function's shape of now.
    pub fn hand_over_network_block(&mut self, block: &mut NetworkBlock) -> HandedOver {
        block.finish();
        let routed = block
            .destinations
            .iter()
            .all(|(destination, route)| self.network_route_to(*destination) == Some(*route));
        let function = block.function;
        let mut as_built = false;
        if let Some(data) = self.functions.get_mut(function).map(|f| &mut f.data) {
            data.count_forward_dropped(block.dropped);
            if block.datagrams > 0 && !block.finished {
                // The builder could not lay it out (never expected): lost.
                data.count_forward_dropped(block.datagrams);
            } else if block.finished {
                as_built = routed
                    && data.hand_over_network(
                        block.generation,
                        &mut block.buffer,
                        data::Carried {
                            datagrams: block.datagrams,
                            bytes: block.bytes,
                        },
                    );
            }
        }
        if block.finished && !as_built {
            self.lay_out_again(block);
        }
        let shape = self
            .functions
            .get_mut(function)
            .and_then(|f| f.data.network_shape());
        block.restart(shape);
        HandedOver {
            as_built,
            routed,
            room: self.network_room(),
        }
    }

    /// The datagrams of `block`'s finished block, each routed and queued
    /// afresh (what finds no session counted as dropped on the block's
    /// function).
    fn lay_out_again(&mut self, block: &NetworkBlock) {
        let mut lost = 0usize;
        match Ntb::new_checked(&block.buffer) {
            Ok(ntb) => {
                for datagram in ntb.datagrams() {
                    let Ok(datagram) = datagram else {
                        lost = lost.saturating_add(1);
                        continue;
                    };
                    let data = datagram.data;
                    let route = matches!(datagram.signature, NdpSignature::Ips(_))
                        .then(|| self.network_route(data))
                        .flatten();
                    match route {
                        // push_network_in counts its own refusals.
                        Some(route) => {
                            self.push_network_in(route, data.len(), |slot| {
                                slot.copy_from_slice(data);
                                true
                            });
                        }
                        None => lost = lost.saturating_add(1),
                    }
                }
            }
            // Built here, it parses; if it did not, it is lost whole.
            Err(_) => lost = block.datagrams,
        }
        if let Some(f) = self.functions.get_mut(block.function) {
            f.data.count_forward_dropped(lost);
        }
    }

    /// Room left in the fullest queue of datagrams from the real network
    /// (functions with their data interface off take none and do not count).
    pub fn network_room(&self) -> usize {
        self.functions
            .iter()
            .filter_map(|f| f.data.network_room())
            .min()
            .unwrap_or(data::MAX_FORWARDED_DATAGRAMS)
    }

    /// The function and session id of the active session whose host
    /// address is `address` (IPv6: within its prefix; the first, should two
    /// executors share it).
    fn session_with_address(&self, address: std::net::IpAddr) -> Option<(usize, u8)> {
        if self.unplugged {
            return None;
        }
        self.executors
            .iter()
            .enumerate()
            .find_map(|(function, executor)| {
                executor.contexts.iter().find_map(|(session, context)| {
                    let (v4, v6) = ip_families(context.ip_type);
                    let mine = match address {
                        std::net::IpAddr::V4(address) => executor
                            .ipv4
                            .as_ref()
                            .filter(|_| v4)
                            .is_some_and(|c| c.session_addresses(*session).0 == address),
                        // The whole prefix is the session's, as a network
                        // routes a UE's /64 to it whatever interface id
                        // the host picks.
                        std::net::IpAddr::V6(address) => {
                            executor.ipv6.as_ref().filter(|_| v6).is_some_and(|c| {
                                let bits = c.prefix.min(128);
                                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                                let mine = u128::from(c.session_addresses(*session).0);
                                mine & mask == u128::from(address) & mask
                            })
                        }
                    };
                    mine.then(|| Some((function, u8::try_from(*session).ok()?)))
                        .flatten()
                })
            })
    }
}
