//! Protocol configuration options (3GPP TS 24.008 §10.5.6.3), as MBIM
//! devices pass them up: the PCO unnamed IE of CONNECT (MBIMEx 3.0) and
//! MBIM_CID_MS_PCO. What a connection manager wants from them is what the
//! network says about the session: DNS and P-CSCF servers and the link MTU.
//!
//! The bytes are the information element's value, from the octet that names
//! the configuration protocol (octet 3 of the IE): one octet (bit 8 set,
//! bits 1-3 the protocol, 0 = PPP), then containers, each a 2-octet id, a
//! 1-octet length and that many octets. DNS servers may also come inside an
//! IPCP container (RFC 1877 options 129 and 131), as older networks send
//! them; those are read too.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Container ids of the network-to-host direction (3GPP TS 24.008 Table 10.5.154).
pub mod container {
    /// P-CSCF IPv6 address.
    pub const PCSCF_IPV6: u16 = 0x0001;
    /// DNS server IPv6 address.
    pub const DNS_IPV6: u16 = 0x0003;
    /// P-CSCF IPv4 address.
    pub const PCSCF_IPV4: u16 = 0x000C;
    /// DNS server IPv4 address.
    pub const DNS_IPV4: u16 = 0x000D;
    /// IPv4 link MTU (2 octets).
    pub const IPV4_LINK_MTU: u16 = 0x0010;
    /// IPCP (RFC 1332), carrying DNS servers as RFC 1877 options.
    pub const IPCP: u16 = 0x8021;
}

/// Why bytes are not protocol configuration options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcoError {
    /// No configuration protocol octet.
    #[error("PCO is empty: the configuration protocol octet is missing")]
    Empty,
    /// A container's header or contents run past the end.
    #[error("PCO container at offset {offset} needs {needed} bytes but only {available} remain")]
    Truncated {
        /// Where the container starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
}

/// One container: its id and contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Container<'a> {
    /// Protocol or container id.
    pub id: u16,
    /// Its contents.
    pub contents: &'a [u8],
}

/// The containers of PCO bytes, in order, after the configuration protocol
/// octet; stops at the first that does not fit (yielding its error once).
#[derive(Debug, Clone)]
pub struct Containers<'a> {
    bytes: &'a [u8],
    offset: usize,
    failed: bool,
}

/// The configuration protocol (0 is PPP) and the containers of `bytes`.
pub fn parse(bytes: &[u8]) -> Result<(u8, Containers<'_>), PcoError> {
    let (&protocol, _) = bytes.split_first().ok_or(PcoError::Empty)?;
    Ok((
        protocol & 0x07,
        Containers {
            bytes,
            offset: 1,
            failed: false,
        },
    ))
}

impl<'a> Iterator for Containers<'a> {
    type Item = Result<Container<'a>, PcoError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.offset..).unwrap_or_default();
        if rest.is_empty() || self.failed {
            return None;
        }
        let truncated = |needed: usize| PcoError::Truncated {
            offset: self.offset,
            needed,
            available: rest.len(),
        };
        let Some(&[high, low, length]) = rest.get(..3) else {
            self.failed = true;
            return Some(Err(truncated(3)));
        };
        let needed = 3 + usize::from(length);
        let Some(contents) = rest.get(3..needed) else {
            self.failed = true;
            return Some(Err(truncated(needed)));
        };
        self.offset += needed;
        Some(Ok(Container {
            id: u16::from_be_bytes([high, low]),
            contents,
        }))
    }
}

/// What the network told about the session, from its PCO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// IPv4 DNS servers, in the order given (containers 0x000D and IPCP),
    /// each once.
    pub dns_ipv4: Vec<Ipv4Addr>,
    /// IPv6 DNS servers (container 0x0003).
    pub dns_ipv6: Vec<Ipv6Addr>,
    /// IPv4 P-CSCF servers, for IMS (container 0x000C).
    pub pcscf_ipv4: Vec<Ipv4Addr>,
    /// IPv6 P-CSCF servers, for IMS (container 0x0001).
    pub pcscf_ipv6: Vec<Ipv6Addr>,
    /// The IPv4 link MTU (container 0x0010).
    pub ipv4_link_mtu: Option<u16>,
}

impl SessionOptions {
    /// Reads the DNS, P-CSCF and MTU containers of PCO bytes. Containers of
    /// other ids, and those whose contents have the wrong size for their id
    /// (an empty DNS container is the network declining to give one), are
    /// left out; bytes that are not PCO at all are an error.
    pub fn from_pco(bytes: &[u8]) -> Result<SessionOptions, PcoError> {
        let (_, containers) = parse(bytes)?;
        let mut options = SessionOptions::default();
        for container in containers {
            let Container { id, contents } = container?;
            match id {
                container::DNS_IPV4 => push_v4(&mut options.dns_ipv4, contents),
                container::DNS_IPV6 => push_v6(&mut options.dns_ipv6, contents),
                container::PCSCF_IPV4 => push_v4(&mut options.pcscf_ipv4, contents),
                container::PCSCF_IPV6 => push_v6(&mut options.pcscf_ipv6, contents),
                container::IPV4_LINK_MTU => {
                    if let Ok(mtu) = <[u8; 2]>::try_from(contents) {
                        options.ipv4_link_mtu = Some(u16::from_be_bytes(mtu));
                    }
                }
                container::IPCP => {
                    for server in ipcp_dns_servers(contents) {
                        push_v4(&mut options.dns_ipv4, &server.octets());
                    }
                }
                _ => {}
            }
        }
        Ok(options)
    }

    /// The PCO bytes a network sends for these options: the PPP
    /// configuration protocol octet, then one container per server
    /// (in the order of [`container`]'s ids as [`Self::from_pco`] lists
    /// them: IPv4 DNS, IPv6 DNS, IPv4 P-CSCF, IPv6 P-CSCF) and the MTU.
    pub fn to_pco(&self) -> Vec<u8> {
        let mut bytes = vec![0x80];
        let mut push = |id: u16, contents: &[u8]| {
            bytes.extend_from_slice(&id.to_be_bytes());
            // Addresses and the MTU are 16 bytes at most.
            bytes.push(u8::try_from(contents.len()).unwrap_or(u8::MAX));
            bytes.extend_from_slice(contents);
        };
        for server in &self.dns_ipv4 {
            push(container::DNS_IPV4, &server.octets());
        }
        for server in &self.dns_ipv6 {
            push(container::DNS_IPV6, &server.octets());
        }
        for server in &self.pcscf_ipv4 {
            push(container::PCSCF_IPV4, &server.octets());
        }
        for server in &self.pcscf_ipv6 {
            push(container::PCSCF_IPV6, &server.octets());
        }
        if let Some(mtu) = self.ipv4_link_mtu {
            push(container::IPV4_LINK_MTU, &mtu.to_be_bytes());
        }
        bytes
    }
}

/// Adds the address in `contents` (when it is one) unless already listed:
/// networks repeat a server in IPCP and in its own container.
fn push_v4(list: &mut Vec<Ipv4Addr>, contents: &[u8]) {
    if let Ok(octets) = <[u8; 4]>::try_from(contents) {
        let address = Ipv4Addr::from(octets);
        if !list.contains(&address) {
            list.push(address);
        }
    }
}

/// See [`push_v4`].
fn push_v6(list: &mut Vec<Ipv6Addr>, contents: &[u8]) {
    if let Ok(octets) = <[u8; 16]>::try_from(contents) {
        let address = Ipv6Addr::from(octets);
        if !list.contains(&address) {
            list.push(address);
        }
    }
}

/// The primary and secondary DNS servers (RFC 1877 options 129 and 131) of
/// an IPCP packet: code, identifier, 2-octet length, then options. A
/// malformed packet yields what was read before the fault.
fn ipcp_dns_servers(packet: &[u8]) -> Vec<Ipv4Addr> {
    const PRIMARY_DNS: u8 = 129;
    const SECONDARY_DNS: u8 = 131;
    let mut servers: Vec<Ipv4Addr> = Vec::new();
    let declared = packet
        .get(2..4)
        .and_then(|length| <[u8; 2]>::try_from(length).ok())
        .map_or(0, |length| usize::from(u16::from_be_bytes(length)));
    let options = packet
        .get(4..declared.min(packet.len()))
        .unwrap_or_default();
    let mut at = 0;
    while let Some(&[kind, length]) = options.get(at..at + 2) {
        let length = usize::from(length);
        let Some(data) = options.get(at + 2..at + length.max(2)) else {
            break;
        };
        if kind == PRIMARY_DNS || kind == SECONDARY_DNS {
            push_v4(&mut servers, data);
        }
        if length < 2 {
            break;
        }
        at += length;
    }
    servers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipcp_option_shorter_than_its_header_ends_the_walk() {
        // Length 0 would loop forever if taken as is.
        let packet = [0x03, 0x00, 0x00, 0x08, 0x81, 0x00, 0x81, 0x06];
        assert!(ipcp_dns_servers(&packet).is_empty());
    }
}
