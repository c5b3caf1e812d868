//! What the daemon's parts tell each other.

use std::net::{Ipv4Addr, Ipv6Addr};

/// An address with its on-link prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Prefix {
    /// The address.
    pub address: Ipv4Addr,
    /// The prefix length (0-32).
    pub prefix: u8,
}

/// An IPv6 address with its on-link prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Prefix {
    /// The address.
    pub address: Ipv6Addr,
    /// The prefix length (0-128).
    pub prefix: u8,
}

/// The IP configuration of one connected session, as the network gave it
/// (IP_CONFIGURATION), already validated: what the netdev applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSettings {
    /// IPv4 addresses.
    pub ipv4_addresses: Vec<Ipv4Prefix>,
    /// IPv4 gateway, if given.
    pub ipv4_gateway: Option<Ipv4Addr>,
    /// IPv4 DNS servers.
    pub ipv4_dns: Vec<Ipv4Addr>,
    /// IPv4 MTU from the network (0 = not given).
    pub ipv4_mtu: u32,
    /// IPv6 addresses (may be empty when the prefix comes by router advertisement).
    pub ipv6_addresses: Vec<Ipv6Prefix>,
    /// IPv6 gateway, if given.
    pub ipv6_gateway: Option<Ipv6Addr>,
    /// IPv6 DNS servers.
    pub ipv6_dns: Vec<Ipv6Addr>,
    /// IPv6 MTU from the network (0 = not given).
    pub ipv6_mtu: u32,
}

/// The link MTU to use (Microsoft's guidelines, seed 000 "Setting Link MTU"):
/// the network's MTU when given, never above the function's wMaxSegmentSize,
/// and always within 1280..=1500.
pub fn link_mtu(network_mtu: u32, max_segment_size: u16) -> u16 {
    let ceiling = max_segment_size.clamp(1280, 1500);
    match u16::try_from(network_mtu) {
        Ok(mtu) if mtu > 0 => mtu.clamp(1280, ceiling),
        _ => ceiling,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_mtu_follows_the_guidelines() {
        // (network MTU, wMaxSegmentSize) -> link MTU
        let table = [
            (0, 1500, 1500),
            (1400, 1500, 1400),
            (1500, 1428, 1428),
            (9000, 1500, 1500),
            (576, 1500, 1280),
            (0, 4096, 1500),
            (0, 1000, 1280),
            (u32::MAX, 1500, 1500),
        ];
        for (network, segment, expected) in table {
            assert_eq!(link_mtu(network, segment), expected, "{network} {segment}");
        }
    }
}
