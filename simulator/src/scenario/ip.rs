//! The IP configuration a connected session is handed, and how each
//! further session gets its own subnet from it.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

/// IPv4 configuration of a connected session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ipv4Config {
    /// The host's address.
    pub address: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u32,
    /// The gateway (answers ICMP echo; the traffic sink listens here).
    pub gateway: Ipv4Addr,
    /// DNS servers.
    pub dns: Vec<Ipv4Addr>,
    /// MTU (0: not given).
    pub mtu: u32,
}

impl Default for Ipv4Config {
    fn default() -> Self {
        Ipv4Config {
            address: Ipv4Addr::new(10, 64, 0, 2),
            prefix: 30,
            gateway: Ipv4Addr::new(10, 64, 0, 1),
            dns: vec![Ipv4Addr::new(10, 64, 0, 1)],
            mtu: 1500,
        }
    }
}

impl Ipv4Config {
    /// The configuration of IP session `session`: session 0's as
    /// configured, each further session the same addresses moved `session`
    /// subnets up (10.64.0.2/30 via 10.64.0.1 becomes 10.64.0.6 via
    /// 10.64.0.5 for session 1), so every session has its own address and
    /// gateway. DNS and MTU stay.
    pub fn for_session(&self, session: u32) -> Ipv4Config {
        let (address, gateway) = self.session_addresses(session);
        Ipv4Config {
            address,
            gateway,
            ..self.clone()
        }
    }

    /// The host's address and the gateway of IP session `session`, as
    /// [`Self::for_session`] gives them, without copying the rest (the data
    /// path asks per NTB and per forwarded datagram).
    pub fn session_addresses(&self, session: u32) -> (Ipv4Addr, Ipv4Addr) {
        let shift = 32u32.saturating_sub(self.prefix.min(32));
        let step = u32::checked_shl(1, shift)
            .unwrap_or(0)
            .wrapping_mul(session);
        let moved = |address: Ipv4Addr| Ipv4Addr::from(u32::from(address).wrapping_add(step));
        (moved(self.address), moved(self.gateway))
    }
}

/// IPv6 configuration of a connected session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ipv6Config {
    /// The host's address.
    pub address: Ipv6Addr,
    /// Its prefix length.
    pub prefix: u32,
    /// The gateway.
    pub gateway: Ipv6Addr,
    /// DNS servers.
    pub dns: Vec<Ipv6Addr>,
    /// MTU (0: not given).
    pub mtu: u32,
}

impl Default for Ipv6Config {
    fn default() -> Self {
        Ipv6Config {
            address: Ipv6Addr::new(0xfd00, 0x6d62, 0, 0, 0, 0, 0, 2),
            prefix: 64,
            gateway: Ipv6Addr::new(0xfd00, 0x6d62, 0, 0, 0, 0, 0, 1),
            dns: vec![Ipv6Addr::new(0xfd00, 0x6d62, 0, 0, 0, 0, 0, 1)],
            mtu: 1500,
        }
    }
}

impl Ipv6Config {
    /// As [`Ipv4Config::for_session`]: further sessions move `session`
    /// prefixes up (fd00:6d62::2/64 becomes fd00:6d62:0:1::2 for session 1).
    pub fn for_session(&self, session: u32) -> Ipv6Config {
        let (address, gateway) = self.session_addresses(session);
        Ipv6Config {
            address,
            gateway,
            ..self.clone()
        }
    }

    /// The host's address and the gateway of IP session `session`, as
    /// [`Ipv4Config::session_addresses`].
    pub fn session_addresses(&self, session: u32) -> (Ipv6Addr, Ipv6Addr) {
        let shift = 128u32.saturating_sub(self.prefix.min(128));
        let step = u128::checked_shl(1, shift)
            .unwrap_or(0)
            .wrapping_mul(u128::from(session));
        let moved = |address: Ipv6Addr| Ipv6Addr::from(u128::from(address).wrapping_add(step));
        (moved(self.address), moved(self.gateway))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn further_sessions_get_the_next_subnets() {
        let v4 = Ipv4Config::default();
        assert_eq!(v4.for_session(0), v4);
        let one = v4.for_session(1);
        assert_eq!(
            (one.address, one.gateway, one.prefix),
            (Ipv4Addr::new(10, 64, 0, 6), Ipv4Addr::new(10, 64, 0, 5), 30)
        );
        assert_eq!(v4.for_session(2).gateway, Ipv4Addr::new(10, 64, 0, 9));
        let v6 = Ipv6Config::default();
        assert_eq!(v6.for_session(0), v6);
        assert_eq!(
            v6.for_session(1).address,
            Ipv6Addr::new(0xfd00, 0x6d62, 0, 1, 0, 0, 0, 2)
        );
    }
}
