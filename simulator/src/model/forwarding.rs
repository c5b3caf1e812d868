//! A real network behind the modem ([`crate::forward`]): which session a
//! datagram from it is for, and queueing it for that function's bulk IN.
//!
//! Kept apart from the bulk endpoints: the forwarder's reader calls in here
//! on its own, asking the route once per super-packet.

use super::{data, ip_families, net, Modem, NetworkRoute};

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
