//! The little IP the simulated network speaks: ICMP and ICMPv6 echo from
//! the gateway, a UDP sink, and UDP datagrams for the traffic generator.
//!
//! Public so tests can build packets and check checksums with the same
//! functions; every reader is bounds-checked, as the bytes come from the host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const PROTO_ICMP: u8 = 1;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const IPV4_HEADER: usize = 20;
const IPV6_HEADER: usize = 40;
const UDP_HEADER: usize = 8;
/// TTL / hop limit of generated packets.
const TTL: u8 = 64;

/// What the network does with a packet from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An echo request to the gateway: send back this reply.
    Reply(Vec<u8>),
    /// A UDP datagram to the gateway's sink port: counted, this many payload bytes.
    Sink(usize),
    /// Anything else: dropped.
    Drop,
}

/// The gateway side of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Gateway {
    /// IPv4 gateway address, if IPv4 is up.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 gateway address, if IPv6 is up.
    pub ipv6: Option<Ipv6Addr>,
    /// UDP port counted as a sink, if traffic mode is on.
    pub sink_port: Option<u16>,
}

/// RFC 1071 one's-complement sum of `data` added to `initial` (not folded).
pub fn sum16(data: &[u8], initial: u32) -> u32 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        if let [high, low] = pair {
            sum = sum.wrapping_add(u32::from(u16::from_be_bytes([*high, *low])));
        }
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
    }
    sum
}

/// Folds a sum into the 16-bit one's-complement checksum.
pub fn fold(mut sum: u32) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF).wrapping_add(sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

/// The Internet checksum of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum16(data, 0))
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn ipv6_pseudo_sum(source: &Ipv6Addr, destination: &Ipv6Addr, length: u32, next: u8) -> u32 {
    let mut sum = sum16(&source.octets(), 0);
    sum = sum16(&destination.octets(), sum);
    sum = sum16(&length.to_be_bytes(), sum);
    sum16(&[0, 0, 0, next], sum)
}

/// Sum of the IPv4 pseudo-header (for UDP).
pub fn ipv4_pseudo_sum(source: &Ipv4Addr, destination: &Ipv4Addr, length: u16, proto: u8) -> u32 {
    let mut sum = sum16(&source.octets(), 0);
    sum = sum16(&destination.octets(), sum);
    sum16(
        &[0, proto, length.to_be_bytes()[0], length.to_be_bytes()[1]],
        sum,
    )
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at.checked_add(2)?)? {
        [high, low] => Some(u16::from_be_bytes([*high, *low])),
        _ => None,
    }
}

fn put16(bytes: &mut [u8], at: usize, value: u16) {
    if let Some(slot) = at.checked_add(2).and_then(|end| bytes.get_mut(at..end)) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

fn ipv4_at(bytes: &[u8], at: usize) -> Option<Ipv4Addr> {
    let octets: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(Ipv4Addr::from(octets))
}

fn ipv6_at(bytes: &[u8], at: usize) -> Option<Ipv6Addr> {
    let octets: [u8; 16] = bytes.get(at..at.checked_add(16)?)?.try_into().ok()?;
    Some(Ipv6Addr::from(octets))
}

/// The destination address of an IPv4 or IPv6 packet, if its header is
/// long enough to hold one.
pub fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => ipv4_at(packet, 16).map(IpAddr::V4),
        Some(6) => ipv6_at(packet, 24).map(IpAddr::V6),
        _ => None,
    }
}

/// Whether `packet` is addressed to the gateway itself (its echo responder
/// and sink), rather than to the network behind it.
pub fn for_gateway(packet: &[u8], gateway: &Gateway) -> bool {
    match destination(packet) {
        Some(IpAddr::V4(address)) => gateway.ipv4 == Some(address),
        Some(IpAddr::V6(address)) => gateway.ipv6 == Some(address),
        None => false,
    }
}

/// Decides what happens to a packet the host sent.
pub fn handle(packet: &[u8], gateway: &Gateway) -> Verdict {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => handle_ipv4(packet, gateway).unwrap_or(Verdict::Drop),
        Some(6) => handle_ipv6(packet, gateway).unwrap_or(Verdict::Drop),
        _ => Verdict::Drop,
    }
}

fn handle_ipv4(packet: &[u8], gateway: &Gateway) -> Option<Verdict> {
    let header_len = usize::from(packet.first()? & 0x0F).checked_mul(4)?;
    let total = usize::from(be16(packet, 2)?);
    if header_len < IPV4_HEADER || total < header_len || total > packet.len() {
        return None;
    }
    let packet = packet.get(..total)?;
    let header = packet.get(..header_len)?;
    if checksum(header) != 0 {
        return None;
    }
    // Fragments are not reassembled by this network.
    if be16(packet, 6)? & 0x3FFF != 0 {
        return None;
    }
    let source = ipv4_at(packet, 12)?;
    let destination = ipv4_at(packet, 16)?;
    if Some(destination) != gateway.ipv4 {
        return None;
    }
    let payload = packet.get(header_len..)?;
    match *packet.get(9)? {
        PROTO_ICMP => {
            if *payload.first()? != 8 || payload.len() < 8 || checksum(payload) != 0 {
                return None;
            }
            let mut reply = Vec::with_capacity(IPV4_HEADER + payload.len());
            reply.extend_from_slice(packet.get(..IPV4_HEADER)?);
            // Options of the request are not echoed: a plain 20-byte header.
            reply.extend_from_slice(payload);
            let reply_total = u16::try_from(reply.len()).ok()?;
            if let Some(first) = reply.first_mut() {
                *first = 0x45;
            }
            put16(&mut reply, 2, reply_total);
            put16(&mut reply, 6, 0);
            if let Some(ttl) = reply.get_mut(8) {
                *ttl = TTL;
            }
            put16(&mut reply, 10, 0);
            reply
                .get_mut(12..16)?
                .copy_from_slice(&destination.octets());
            reply.get_mut(16..20)?.copy_from_slice(&source.octets());
            let header_sum = checksum(reply.get(..IPV4_HEADER)?);
            put16(&mut reply, 10, header_sum);
            let icmp = reply.get_mut(IPV4_HEADER..)?;
            *icmp.first_mut()? = 0;
            put16(icmp, 2, 0);
            let icmp_sum = checksum(icmp);
            put16(icmp, 2, icmp_sum);
            Some(Verdict::Reply(reply))
        }
        PROTO_UDP => {
            let port = be16(payload, 2)?;
            if gateway.sink_port == Some(port) {
                Some(Verdict::Sink(payload.len().saturating_sub(UDP_HEADER)))
            } else {
                None
            }
        }
        _ => None,
    }
}

fn handle_ipv6(packet: &[u8], gateway: &Gateway) -> Option<Verdict> {
    let payload_len = usize::from(be16(packet, 4)?);
    let end = IPV6_HEADER.checked_add(payload_len)?;
    let packet = packet.get(..end)?;
    let next = *packet.get(6)?;
    let source = ipv6_at(packet, 8)?;
    let destination = ipv6_at(packet, 24)?;
    if Some(destination) != gateway.ipv6 {
        return None;
    }
    let payload = packet.get(IPV6_HEADER..)?;
    match next {
        PROTO_ICMPV6 => {
            let length = u32::try_from(payload.len()).ok()?;
            let sum = sum16(
                payload,
                ipv6_pseudo_sum(&source, &destination, length, PROTO_ICMPV6),
            );
            if *payload.first()? != 128 || payload.len() < 8 || fold(sum) != 0 {
                return None;
            }
            let mut reply = packet.to_vec();
            if let Some(hop) = reply.get_mut(7) {
                *hop = TTL;
            }
            reply.get_mut(8..24)?.copy_from_slice(&destination.octets());
            reply.get_mut(24..40)?.copy_from_slice(&source.octets());
            let icmp = reply.get_mut(IPV6_HEADER..)?;
            *icmp.first_mut()? = 129;
            put16(icmp, 2, 0);
            let sum = fold(sum16(
                icmp,
                ipv6_pseudo_sum(&destination, &source, length, PROTO_ICMPV6),
            ));
            put16(icmp, 2, sum);
            Some(Verdict::Reply(reply))
        }
        PROTO_UDP => {
            let port = be16(payload, 2)?;
            if gateway.sink_port == Some(port) {
                Some(Verdict::Sink(payload.len().saturating_sub(UDP_HEADER)))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The IPv4 "don't fragment" flag, in the flags and fragment offset field.
const IPV4_DF: u16 = 0x4000;

/// A UDP datagram from `source` to `destination` with `payload_len` bytes of
/// payload, checksummed; `None` if the families differ or it is too long.
/// IPv4's has DF set and ID 0, as Linux sends from an unconnected socket
/// doing path-MTU discovery: a stream of them may be coalesced (GRO) the
/// way the kernel coalesces such datagrams.
pub fn udp_packet(
    source: IpAddr,
    source_port: u16,
    destination: IpAddr,
    destination_port: u16,
    payload_len: usize,
) -> Option<Vec<u8>> {
    let udp_len = UDP_HEADER.checked_add(payload_len)?;
    let udp_len16 = u16::try_from(udp_len).ok()?;
    let mut udp = vec![0u8; udp_len];
    put16(&mut udp, 0, source_port);
    put16(&mut udp, 2, destination_port);
    put16(&mut udp, 4, udp_len16);
    for (index, byte) in udp.iter_mut().skip(UDP_HEADER).enumerate() {
        *byte = u8::try_from(index % 251).unwrap_or(0);
    }
    match (source, destination) {
        (IpAddr::V4(source), IpAddr::V4(destination)) => {
            let total = u16::try_from(IPV4_HEADER.checked_add(udp_len)?).ok()?;
            let sum = fold(sum16(
                &udp,
                ipv4_pseudo_sum(&source, &destination, udp_len16, PROTO_UDP),
            ));
            put16(&mut udp, 6, if sum == 0 { 0xFFFF } else { sum });
            let mut packet = vec![0u8; IPV4_HEADER];
            if let Some(first) = packet.first_mut() {
                *first = 0x45;
            }
            put16(&mut packet, 2, total);
            put16(&mut packet, 6, IPV4_DF);
            if let Some(ttl) = packet.get_mut(8) {
                *ttl = TTL;
            }
            if let Some(proto) = packet.get_mut(9) {
                *proto = PROTO_UDP;
            }
            packet.get_mut(12..16)?.copy_from_slice(&source.octets());
            packet
                .get_mut(16..20)?
                .copy_from_slice(&destination.octets());
            let header_sum = checksum(&packet);
            put16(&mut packet, 10, header_sum);
            packet.extend_from_slice(&udp);
            Some(packet)
        }
        (IpAddr::V6(source), IpAddr::V6(destination)) => {
            let length = u32::from(udp_len16);
            let sum = fold(sum16(
                &udp,
                ipv6_pseudo_sum(&source, &destination, length, PROTO_UDP),
            ));
            put16(&mut udp, 6, if sum == 0 { 0xFFFF } else { sum });
            let mut packet = vec![0u8; IPV6_HEADER];
            if let Some(first) = packet.first_mut() {
                *first = 0x60;
            }
            put16(&mut packet, 4, udp_len16);
            if let Some(next) = packet.get_mut(6) {
                *next = PROTO_UDP;
            }
            if let Some(hop) = packet.get_mut(7) {
                *hop = TTL;
            }
            packet.get_mut(8..24)?.copy_from_slice(&source.octets());
            packet
                .get_mut(24..40)?
                .copy_from_slice(&destination.octets());
            packet.extend_from_slice(&udp);
            Some(packet)
        }
        _ => None,
    }
}

/// An ICMP echo request (for tests and examples).
pub fn icmpv4_echo_request(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    id: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    let sum = checksum(&icmp);
    put16(&mut icmp, 2, sum);
    let total = u16::try_from(IPV4_HEADER.saturating_add(icmp.len())).unwrap_or(u16::MAX);
    let mut packet = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, TTL, PROTO_ICMP, 0, 0];
    put16(&mut packet, 2, total);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());
    let header_sum = checksum(&packet);
    put16(&mut packet, 10, header_sum);
    packet.extend_from_slice(&icmp);
    packet
}

/// An ICMPv6 echo request (for tests and examples).
pub fn icmpv6_echo_request(
    source: Ipv6Addr,
    destination: Ipv6Addr,
    id: u16,
    seq: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut icmp = vec![128, 0, 0, 0];
    icmp.extend_from_slice(&id.to_be_bytes());
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(data);
    let length = u32::try_from(icmp.len()).unwrap_or(u32::MAX);
    let sum = fold(sum16(
        &icmp,
        ipv6_pseudo_sum(&source, &destination, length, PROTO_ICMPV6),
    ));
    put16(&mut icmp, 2, sum);
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&u16::try_from(icmp.len()).unwrap_or(u16::MAX).to_be_bytes());
    packet.extend_from_slice(&[PROTO_ICMPV6, TTL]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());
    packet.extend_from_slice(&icmp);
    packet
}

/// Whether an ICMPv6 (or UDP over IPv6) packet's checksum verifies.
pub fn ipv6_checksum_ok(packet: &[u8]) -> bool {
    let (Some(source), Some(destination), Some(next), Some(payload)) = (
        ipv6_at(packet, 8),
        ipv6_at(packet, 24),
        packet.get(6),
        packet.get(IPV6_HEADER..),
    ) else {
        return false;
    };
    let length = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    fold(sum16(
        payload,
        ipv6_pseudo_sum(&source, &destination, length, *next),
    )) == 0
}

/// Whether an IPv4 packet's header checksum and (ICMP/UDP) payload checksum verify.
pub fn ipv4_checksums_ok(packet: &[u8]) -> bool {
    let Some(header_len) = packet.first().map(|byte| usize::from(byte & 0x0F) * 4) else {
        return false;
    };
    let (Some(header), Some(payload)) = (packet.get(..header_len), packet.get(header_len..)) else {
        return false;
    };
    if checksum(header) != 0 {
        return false;
    }
    match packet.get(9) {
        Some(&PROTO_ICMP) => checksum(payload) == 0,
        Some(&PROTO_UDP) => {
            let (Some(source), Some(destination)) = (ipv4_at(packet, 12), ipv4_at(packet, 16))
            else {
                return false;
            };
            let length = u16::try_from(payload.len()).unwrap_or(u16::MAX);
            fold(sum16(
                payload,
                ipv4_pseudo_sum(&source, &destination, length, PROTO_UDP),
            )) == 0
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_v4_round_trip() {
        let host = Ipv4Addr::new(10, 0, 0, 2);
        let gw = Ipv4Addr::new(10, 0, 0, 1);
        let request = icmpv4_echo_request(host, gw, 7, 1, b"hello");
        assert!(ipv4_checksums_ok(&request));
        let gateway = Gateway {
            ipv4: Some(gw),
            ..Gateway::default()
        };
        let Verdict::Reply(reply) = handle(&request, &gateway) else {
            panic!()
        };
        assert!(ipv4_checksums_ok(&reply));
        assert_eq!(&reply[12..16], &gw.octets());
        assert_eq!(reply[20], 0);
        assert_eq!(&reply[28..], b"hello");
    }

    #[test]
    fn echo_v6_round_trip() {
        let host: Ipv6Addr = "fd00::2".parse().unwrap();
        let gw: Ipv6Addr = "fd00::1".parse().unwrap();
        let request = icmpv6_echo_request(host, gw, 7, 1, b"hello");
        assert!(ipv6_checksum_ok(&request));
        let gateway = Gateway {
            ipv6: Some(gw),
            ..Gateway::default()
        };
        let Verdict::Reply(reply) = handle(&request, &gateway) else {
            panic!()
        };
        assert!(ipv6_checksum_ok(&reply));
        assert_eq!(reply[40], 129);
    }

    #[test]
    fn udp_checksums() {
        let packet = udp_packet(
            "10.0.0.1".parse().unwrap(),
            9,
            "10.0.0.2".parse().unwrap(),
            5000,
            100,
        )
        .unwrap();
        assert!(ipv4_checksums_ok(&packet));
        let packet = udp_packet(
            "fd00::1".parse().unwrap(),
            9,
            "fd00::2".parse().unwrap(),
            5000,
            101,
        )
        .unwrap();
        assert!(ipv6_checksum_ok(&packet));
    }
}
