//! Packets for the offload tests: IPv4/IPv6 with TCP or UDP built by hand,
//! the checksum checks the kernel would make, and super-packets framed as a
//! TUN device with `IFF_VNET_HDR` hands them over (the transport checksum
//! partial: the pseudo-header sum only, as with `CHECKSUM_PARTIAL`).

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use mbim_offload::segment::Segments;
use std::net::IpAddr;

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;

/// The ones' complement sum of `data` plus `initial`, folded.
pub fn sum(data: &[u8], initial: u32) -> u16 {
    let mut total = u64::from(initial);
    for pair in data.chunks(2) {
        total += (u64::from(pair[0]) << 8) | u64::from(*pair.get(1).unwrap_or(&0));
    }
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    total as u16
}

fn pseudo(source: IpAddr, destination: IpAddr, protocol: u8, length: usize) -> u32 {
    let mut bytes = Vec::new();
    match (source, destination) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            bytes.extend_from_slice(&s.octets());
            bytes.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            bytes.extend_from_slice(&s.octets());
            bytes.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed address families"),
    }
    bytes.extend_from_slice(&[0, protocol]);
    bytes.extend_from_slice(&(length as u32).to_be_bytes());
    u32::from(sum(&bytes, 0))
}

/// What a packet is, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub version: u8,
    pub protocol: u8,
    pub source: IpAddr,
    pub destination: IpAddr,
    /// IPv4 identification (0 for IPv6).
    pub id: u16,
    pub source_port: u16,
    pub destination_port: u16,
    /// TCP sequence number and flags (0 for UDP).
    pub sequence: u32,
    pub flags: u8,
    pub payload: Vec<u8>,
}

/// Parses an IPv4 (no options) or IPv6 (no extension headers) packet with
/// TCP or UDP, panicking unless every length and checksum is right.
pub fn parse_checked(packet: &[u8]) -> Parsed {
    let version = packet[0] >> 4;
    let (header, protocol, source, destination, id, total) = match version {
        4 => {
            let header = usize::from(packet[0] & 0x0f) * 4;
            assert_eq!(sum(&packet[..header], 0), 0xffff, "IPv4 header checksum");
            let total = usize::from(u16::from_be_bytes([packet[2], packet[3]]));
            let s: [u8; 4] = packet[12..16].try_into().unwrap();
            let d: [u8; 4] = packet[16..20].try_into().unwrap();
            (
                header,
                packet[9],
                IpAddr::from(s),
                IpAddr::from(d),
                u16::from_be_bytes([packet[4], packet[5]]),
                total,
            )
        }
        6 => {
            let s: [u8; 16] = packet[8..24].try_into().unwrap();
            let d: [u8; 16] = packet[24..40].try_into().unwrap();
            let total = 40 + usize::from(u16::from_be_bytes([packet[4], packet[5]]));
            (40, packet[6], IpAddr::from(s), IpAddr::from(d), 0, total)
        }
        other => panic!("IP version {other}"),
    };
    assert_eq!(total, packet.len(), "IP length field");
    let transport = &packet[header..];
    assert_eq!(
        sum(
            transport,
            pseudo(source, destination, protocol, transport.len())
        ),
        0xffff,
        "transport checksum of a {}-byte packet",
        packet.len()
    );
    let ports = (
        u16::from_be_bytes([transport[0], transport[1]]),
        u16::from_be_bytes([transport[2], transport[3]]),
    );
    let (sequence, flags, payload) = match protocol {
        TCP => {
            let offset = usize::from(transport[12] >> 4) * 4;
            (
                u32::from_be_bytes(transport[4..8].try_into().unwrap()),
                transport[13],
                transport[offset..].to_vec(),
            )
        }
        UDP => {
            let length = usize::from(u16::from_be_bytes([transport[4], transport[5]]));
            assert_eq!(length, transport.len(), "UDP length field");
            (0, 0, transport[8..].to_vec())
        }
        other => panic!("protocol {other}"),
    };
    Parsed {
        version,
        protocol,
        source,
        destination,
        id,
        source_port: ports.0,
        destination_port: ports.1,
        sequence,
        flags,
        payload,
    }
}

/// A bulk flow's first datagram from `port` to 6001 (fd00::1 → fd00::2 or
/// 10.64.0.1 → 10.64.0.2): ACK only, an IPv4 ID and TCP sequence number
/// that wrap within a run.
pub fn bulk_spec(v6: bool, protocol: u8, port: u16) -> Spec {
    let (source, destination): (IpAddr, IpAddr) = if v6 {
        ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap())
    } else {
        ("10.64.0.1".parse().unwrap(), "10.64.0.2".parse().unwrap())
    };
    Spec {
        source,
        destination,
        protocol,
        source_port: port,
        destination_port: 6001,
        // Both wrap within a run.
        id: 0xfffe,
        sequence: 0xffff_f000,
        ack: 0x0102_0304,
        flags: 0x10,
        tcp_options: Vec::new(),
    }
}

/// How to build a packet.
#[derive(Debug, Clone)]
pub struct Spec {
    pub source: IpAddr,
    pub destination: IpAddr,
    pub protocol: u8,
    pub source_port: u16,
    pub destination_port: u16,
    pub id: u16,
    pub sequence: u32,
    /// TCP acknowledgement number.
    pub ack: u32,
    /// TCP flags (ACK|PSH = 0x18, FIN = 0x01).
    pub flags: u8,
    /// TCP options (a multiple of 4 bytes).
    pub tcp_options: Vec<u8>,
}

impl Spec {
    /// The transport header length.
    pub fn transport_header(&self) -> usize {
        match self.protocol {
            TCP => 20 + self.tcp_options.len(),
            _ => 8,
        }
    }

    /// The IP header length.
    pub fn ip_header(&self) -> usize {
        match self.source {
            IpAddr::V4(_) => 20,
            IpAddr::V6(_) => 40,
        }
    }

    /// The packet with `payload`; its transport checksum complete, or only
    /// the pseudo-header sum if `partial`.
    pub fn packet(&self, payload: &[u8], partial: bool) -> Vec<u8> {
        let transport_len = self.transport_header() + payload.len();
        let mut packet = Vec::new();
        match (self.source, self.destination) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = (20 + transport_len) as u16;
                packet.extend_from_slice(&[0x45, 0]);
                packet.extend_from_slice(&total.to_be_bytes());
                packet.extend_from_slice(&self.id.to_be_bytes());
                packet.extend_from_slice(&[0x40, 0, 64, self.protocol, 0, 0]);
                packet.extend_from_slice(&s.octets());
                packet.extend_from_slice(&d.octets());
                let checksum = !sum(&packet, 0);
                packet[10..12].copy_from_slice(&checksum.to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                packet.extend_from_slice(&[0x60, 0, 0, 0]);
                packet.extend_from_slice(&(transport_len as u16).to_be_bytes());
                packet.extend_from_slice(&[self.protocol, 64]);
                packet.extend_from_slice(&s.octets());
                packet.extend_from_slice(&d.octets());
            }
            _ => panic!("mixed address families"),
        }
        let start = packet.len();
        packet.extend_from_slice(&self.source_port.to_be_bytes());
        packet.extend_from_slice(&self.destination_port.to_be_bytes());
        match self.protocol {
            TCP => {
                packet.extend_from_slice(&self.sequence.to_be_bytes());
                packet.extend_from_slice(&self.ack.to_be_bytes());
                let offset = ((20 + self.tcp_options.len()) / 4) as u8;
                packet.extend_from_slice(&[offset << 4, self.flags]);
                packet.extend_from_slice(&0xffffu16.to_be_bytes());
                packet.extend_from_slice(&[0, 0, 0, 0]);
                packet.extend_from_slice(&self.tcp_options);
            }
            _ => {
                packet.extend_from_slice(&(transport_len as u16).to_be_bytes());
                packet.extend_from_slice(&[0, 0]);
            }
        }
        packet.extend_from_slice(payload);
        let field = start + if self.protocol == TCP { 16 } else { 6 };
        let pseudo = pseudo(self.source, self.destination, self.protocol, transport_len);
        let value = if partial {
            sum(&[], pseudo)
        } else {
            match !sum(&packet[start..], pseudo) {
                0 if self.protocol == UDP => 0xffff,
                other => other,
            }
        };
        packet[field..field + 2].copy_from_slice(&value.to_be_bytes());
        packet
    }

    /// `packet(payload, true)` behind a virtio-net header: a super-packet
    /// for `gso_size`-byte segments (`gso_type` as the kernel sets it), or
    /// with `gso_size` 0 a single packet that needs its checksum.
    pub fn virtio(&self, payload: &[u8], gso_size: u16) -> Vec<u8> {
        let packet = self.packet(payload, true);
        let v6 = matches!(self.source, IpAddr::V6(_));
        let gso_type: u8 = match (gso_size, self.protocol, v6) {
            (0, _, _) => 0,
            (_, TCP, false) => 1,
            (_, TCP, true) => 4,
            _ => 5,
        };
        let csum_start = self.ip_header() as u16;
        let csum_offset: u16 = if self.protocol == TCP { 16 } else { 6 };
        let header_len = (self.ip_header() + self.transport_header()) as u16;
        let mut read = vec![1u8, gso_type];
        read.extend_from_slice(&header_len.to_le_bytes());
        read.extend_from_slice(&gso_size.to_le_bytes());
        read.extend_from_slice(&csum_start.to_le_bytes());
        read.extend_from_slice(&csum_offset.to_le_bytes());
        read.extend_from_slice(&packet);
        read
    }
}

/// Makes `packet`'s IPv4 header checksum and TCP or UDP checksum right
/// again after a test changed it (IPv4 options and IPv6 extension headers
/// are skipped by their length fields; a UDP checksum of 0 stays 0).
pub fn refresh_checksums(packet: &mut [u8]) {
    let v6 = packet[0] >> 4 == 6;
    let (header, mut protocol) = if v6 {
        (40, packet[6])
    } else {
        (usize::from(packet[0] & 0x0f) * 4, packet[9])
    };
    let mut at = header;
    if v6 {
        // Extension headers: next header, length in 8-byte units - 1.
        while protocol != TCP && protocol != UDP && at + 8 <= packet.len() {
            protocol = packet[at];
            at += (usize::from(packet[at + 1]) + 1) * 8;
        }
    } else {
        packet[10..12].fill(0);
        let checksum = !sum(&packet[..header], 0);
        packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    }
    let field = at + if protocol == TCP { 16 } else { 6 };
    if protocol == UDP && packet[field..field + 2] == [0, 0] {
        return;
    }
    let (source, destination) = if v6 {
        let s: [u8; 16] = packet[8..24].try_into().unwrap();
        let d: [u8; 16] = packet[24..40].try_into().unwrap();
        (IpAddr::from(s), IpAddr::from(d))
    } else {
        let s: [u8; 4] = packet[12..16].try_into().unwrap();
        let d: [u8; 4] = packet[16..20].try_into().unwrap();
        (IpAddr::from(s), IpAddr::from(d))
    };
    packet[field..field + 2].fill(0);
    let length = packet.len() - at;
    let value = match !sum(&packet[at..], pseudo(source, destination, protocol, length)) {
        0 if protocol == UDP => 0xffff,
        other => other,
    };
    packet[field..field + 2].copy_from_slice(&value.to_be_bytes());
}

/// `len` bytes of a pattern that differs at every offset within a segment.
pub fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Each packet of `segments` written into a buffer of its own, filled
/// with garbage first: a segment must write every byte of its place.
pub fn packets(segments: Segments<'_>) -> Vec<Vec<u8>> {
    match segments {
        Segments::Whole(packet) => vec![packet.to_vec()],
        Segments::Split(split) => (0..split.count())
            .map(|index| {
                let mut out = vec![0xa5; split.len(index)];
                assert!(split.write(index, &mut out));
                out
            })
            .collect(),
    }
}
