//! The step between "read from the device" and "put into an NTB": turning
//! what one device read returned into the IP packets an NTB carries.
//!
//! * **Plain** (`ReadFraming::PlainPacket`): a read is one packet, passed
//!   through as it is.
//! * **Virtio-net** (`ReadFraming::VirtioNet`, a TUN device opened with
//!   `IFF_VNET_HDR` and `TUNSETOFFLOAD`): a read starts with a
//!   `virtio_net_hdr` and may carry a super-packet (TSO4/TSO6, USO) of up to
//!   64 KiB. A packet that only needs its checksum (`NEEDS_CSUM`) gets it
//!   completed in place and passes through; a super-packet is cut into
//!   `gso_size` segments, each with its own IP length, IPv4 id and header
//!   checksum, TCP sequence number and flags (CWR on the first segment only,
//!   FIN and PSH on the last), UDP length, and TCP or UDP checksum, as
//!   Linux's GSO (and wireguard-go's and tun-rs's `gso_split`) cut them.
//!   The header's `hdr_len` is not trusted (on the forward path the kernel
//!   may set it to the whole first packet): it is recomputed from
//!   `csum_start` and the transport header.
//!
//! A super-packet is checked whole first ([`Segmenter::segments`]); then
//! each segment is written by [`Split::write`] straight into its place in
//! the NTB being built (`NtbBuilder::push_with`), so its bytes are copied
//! once, into the block they leave in, and summed on the way
//! (`checksum::copy_and_sum`: one pass per payload byte): no buffer of
//! segments in between.
//!
//! The receive side's mirror image (GRO: an NTB's datagrams of one flow
//! coalesced into one super-packet write) is [`gro`](super::gro).

use super::checksum;
use tun_rs::{VirtioNetHdr, VIRTIO_NET_HDR_LEN};

/// The largest read the pump makes: a 64 KiB super-packet plus a
/// `virtio_net_hdr` with room to spare.
pub const READ_BUFFER_LEN: usize = 65536 + 64;

/// `virtio_net_hdr.flags`: the checksum from `csum_start` on is partial.
pub(super) const NEEDS_CSUM: u8 = 1;
/// `virtio_net_hdr.gso_type` values (`linux/virtio_net.h`), for reads
/// here and for the coalesced writes of `gro.rs`.
const GSO_NONE: u8 = 0;
pub(super) const GSO_TCPV4: u8 = 1;
pub(super) const GSO_TCPV6: u8 = 4;
pub(super) const GSO_UDP_L4: u8 = 5;
const GSO_ECN: u8 = 0x80;

/// How the device's reads are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFraming {
    /// One IP packet per read (TUN without `IFF_VNET_HDR`).
    #[default]
    PlainPacket,
    /// A `virtio_net_hdr` and a packet or super-packet per read, and a
    /// `virtio_net_hdr` before every write (TUN with `IFF_VNET_HDR`).
    VirtioNet,
}

/// Why a read could not be turned into packets (the read is dropped and
/// counted).
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Shorter than its virtio-net header, or than the headers it names.
    #[error("read of {0} bytes is too short for its virtio-net header and packet")]
    Truncated(usize),
    /// A GSO type this path does not know, or one that contradicts the packet.
    #[error("unsupported or inconsistent GSO type {gso_type:#04x} for IP version {version}")]
    GsoType {
        /// `virtio_net_hdr.gso_type`.
        gso_type: u8,
        /// The packet's IP version nibble.
        version: u8,
    },
    /// `csum_start`/`csum_offset` point outside the packet, inside its IP
    /// header, or not at the transport protocol's checksum field.
    #[error("checksum position {start}+{offset} is wrong for a packet of {len} bytes")]
    ChecksumPosition {
        /// `csum_start`.
        start: u16,
        /// `csum_offset`.
        offset: u16,
        /// The packet's length.
        len: usize,
    },
    /// A TCP data offset outside 20..=60 bytes.
    #[error("TCP header length {0} is invalid")]
    TcpHeader(usize),
    /// `gso_size` of 0 with a GSO type.
    #[error("GSO super-packet with a segment size of 0")]
    GsoSize,
    /// A segment longer than its IP length field can say.
    #[error("segment of {0} bytes is longer than an IP packet can be")]
    SegmentLength(usize),
}

/// Turns one device read into the packets to send; see the
/// [module documentation](self).
#[derive(Debug, Default)]
pub struct Segmenter {
    framing: ReadFraming,
}

impl Segmenter {
    /// A segmenter for reads framed as `framing`.
    pub fn new(framing: ReadFraming) -> Self {
        Segmenter { framing }
    }

    /// The packets in `read` (which may be modified: checksums are
    /// completed in place).
    pub fn segments<'a>(&mut self, read: &'a mut [u8]) -> Result<Segments<'a>, SegmentError> {
        match self.framing {
            ReadFraming::PlainPacket => Ok(Segments::Whole(read)),
            ReadFraming::VirtioNet => virtio(read),
        }
    }
}

fn virtio(read: &mut [u8]) -> Result<Segments<'_>, SegmentError> {
    let total = read.len();
    let Some(header) = read.get(..VIRTIO_NET_HDR_LEN) else {
        return Err(SegmentError::Truncated(total));
    };
    let hdr = VirtioNetHdr::decode(header).map_err(|_| SegmentError::Truncated(total))?;
    let packet = match read.get_mut(VIRTIO_NET_HDR_LEN..) {
        Some(packet) if !packet.is_empty() => packet,
        _ => return Err(SegmentError::Truncated(total)),
    };
    let position = SegmentError::ChecksumPosition {
        start: hdr.csum_start,
        offset: hdr.csum_offset,
        len: packet.len(),
    };
    if hdr.gso_type == GSO_NONE {
        if hdr.flags & NEEDS_CSUM != 0 {
            checksum::complete_partial(packet, hdr.csum_start, hdr.csum_offset).ok_or(position)?;
        }
        return Ok(Segments::Whole(packet));
    }
    let packet: &[u8] = packet;
    let version = packet.first().map_or(0, |byte| byte >> 4);
    let v6 = version == 6;
    let tcp = match (hdr.gso_type & !GSO_ECN, version) {
        (GSO_TCPV4, 4) | (GSO_TCPV6, 6) => true,
        (GSO_UDP_L4, 4 | 6) if hdr.gso_type & GSO_ECN == 0 => false,
        _ => {
            return Err(SegmentError::GsoType {
                gso_type: hdr.gso_type,
                version,
            })
        }
    };
    let csum_start = usize::from(hdr.csum_start);
    let min_ip_header = if v6 { 40 } else { 20 };
    let expected_offset: u16 = if tcp { 16 } else { 6 };
    if csum_start < min_ip_header || hdr.csum_offset != expected_offset {
        return Err(position);
    }
    let transport_len = if tcp {
        let offset = packet
            .get(csum_start + 12)
            .ok_or(SegmentError::Truncated(total))?;
        let len = usize::from(offset >> 4) * 4;
        if !(20..=60).contains(&len) {
            return Err(SegmentError::TcpHeader(len));
        }
        len
    } else {
        8
    };
    let header_len = csum_start + transport_len;
    if header_len > packet.len() {
        return Err(SegmentError::Truncated(total));
    }
    let gso_size = usize::from(hdr.gso_size);
    if gso_size == 0 {
        return Err(SegmentError::GsoSize);
    }
    let payload = packet.len() - header_len;
    let longest = header_len + payload.min(gso_size);
    // The length field: IPv4's counts the whole packet, IPv6's what
    // follows its fixed header.
    if longest - if v6 { 40 } else { 0 } > usize::from(u16::MAX) {
        return Err(SegmentError::SegmentLength(longest));
    }
    // The pseudo-header's addresses and protocol, summed once per read;
    // each segment adds its own transport length.
    let addresses = if v6 {
        packet.get(8..40)
    } else {
        packet.get(12..20)
    }
    .ok_or(SegmentError::Truncated(total))?;
    let protocol = if tcp { IPPROTO_TCP } else { IPPROTO_UDP };
    let pseudo = u32::from(checksum::sum(addresses, protocol));
    Ok(Segments::Split(Split {
        packet,
        csum_start,
        header_len,
        gso_size,
        count: payload.div_ceil(gso_size),
        tcp,
        v6,
        pseudo,
    }))
}

/// The packets of one read; see [`Segmenter::segments`].
#[derive(Debug)]
pub enum Segments<'a> {
    /// The read is one packet, to be sent as it is.
    Whole(&'a [u8]),
    /// The read is a super-packet, to be cut into segments.
    Split(Split<'a>),
}

/// A checked super-packet and how it is cut; each segment is written where
/// the caller wants it by [`Split::write`].
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// The super-packet, from its IP header on.
    packet: &'a [u8],
    /// Where the transport header starts (the IP header's length).
    csum_start: usize,
    /// IP and transport headers, copied before every segment's payload.
    header_len: usize,
    gso_size: usize,
    count: usize,
    tcp: bool,
    v6: bool,
    /// The pseudo-header's sum of addresses and protocol.
    pseudo: u32,
}

impl Split<'_> {
    /// How many segments the super-packet makes (0 if it has no payload).
    pub fn count(&self) -> usize {
        self.count
    }

    /// The length of segment `index`, headers included (0 past the last).
    pub fn len(&self, index: usize) -> usize {
        let payload = self.packet.len() - self.header_len;
        let from = index.saturating_mul(self.gso_size).min(payload);
        self.header_len + (payload - from).min(self.gso_size)
    }

    /// Whether the super-packet makes no segment.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes segment `index` into `out`, which must be
    /// [`len(index)`](Self::len) bytes long: headers, payload and every
    /// field and checksum that differs from the super-packet's. Returns
    /// `false` (with `out` zeroed) for a length that does not match or an
    /// index past the last segment.
    pub fn write(&self, index: usize, out: &mut [u8]) -> bool {
        if index >= self.count || out.len() != self.len(index) || self.fill(index, out).is_none() {
            out.fill(0);
            return false;
        }
        true
    }

    fn fill(&self, index: usize, out: &mut [u8]) -> Option<()> {
        let header_len = self.header_len;
        let from = header_len + index * self.gso_size;
        let to = (from + self.gso_size).min(self.packet.len());
        let (headers, payload) = out.split_at_mut_checked(header_len)?;
        headers.copy_from_slice(self.packet.get(..header_len)?);
        // The payload is copied and summed in one pass; the transport
        // header, summed below once its fields are set, is of even length
        // (8, or TCP's multiple of 4), so the payload's words line up with
        // the segment's.
        let payload_sum = checksum::copy_and_sum(payload, self.packet.get(from..to)?, 0)?;
        let total = out.len();
        let start = self.csum_start;
        let transport_len = u16::try_from(total - start).ok()?;
        let last = index + 1 == self.count;
        if self.v6 {
            put16(out, 4, u16::try_from(total - 40).ok()?)?;
        } else {
            put16(out, 2, u16::try_from(total).ok()?)?;
            let id = get16(out, 4)?.wrapping_add(u16::try_from(index).unwrap_or(u16::MAX));
            put16(out, 4, id)?;
            put16(out, 10, 0)?;
            let header_checksum = !checksum::sum(out.get(..start)?, 0);
            put16(out, 10, header_checksum)?;
        }
        let checksum_at = if self.tcp {
            let sequence = get32(out, start + 4)?;
            let advance = u32::try_from(index * self.gso_size).ok()?;
            put32(out, start + 4, sequence.wrapping_add(advance))?;
            let flags = out.get_mut(start + 13)?;
            if index > 0 {
                *flags &= !TCP_CWR;
            }
            if !last {
                *flags &= !(TCP_FIN | TCP_PSH);
            }
            start + 16
        } else {
            put16(out, start + 4, transport_len)?;
            start + 6
        };
        put16(out, checksum_at, 0)?;
        let initial = self.pseudo + u32::from(transport_len) + u32::from(payload_sum);
        let sum = !checksum::sum(out.get(start..header_len)?, initial);
        // A UDP checksum of 0 means "none"; its ones' complement twin says
        // the same sum.
        let sum = if sum == 0 && !self.tcp { 0xffff } else { sum };
        put16(out, checksum_at, sum)
    }
}

const IPPROTO_TCP: u32 = 6;
const IPPROTO_UDP: u32 = 17;
const TCP_FIN: u8 = 0x01;
pub(super) const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;

fn get16(packet: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(*packet.get(at..)?.first_chunk::<2>()?))
}

fn get32(packet: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(*packet.get(at..)?.first_chunk::<4>()?))
}

fn put16(packet: &mut [u8], at: usize, value: u16) -> Option<()> {
    *packet.get_mut(at..)?.first_chunk_mut::<2>()? = value.to_be_bytes();
    Some(())
}

fn put32(packet: &mut [u8], at: usize, value: u32) -> Option<()> {
    *packet.get_mut(at..)?.first_chunk_mut::<4>()? = value.to_be_bytes();
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_read_is_one_packet() {
        let mut segmenter = Segmenter::new(ReadFraming::PlainPacket);
        let mut read = *b"packet";
        let segments = segmenter.segments(&mut read).unwrap();
        assert!(matches!(segments, Segments::Whole(b"packet")));
    }
}
