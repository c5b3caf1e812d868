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
//!   `gso_size` segments, each with its own IP length, IPv4 header checksum,
//!   TCP sequence number and flags, and TCP or UDP checksum (tun-rs's
//!   `gso_split`, the port of wireguard-go's), in buffers kept from one read
//!   to the next. The header's `hdr_len` is not trusted (on the forward path
//!   the kernel may set it to the whole first packet): it is recomputed from
//!   `csum_start` and the transport header.
//!
//! The receive side's mirror image (GRO: an NTB's datagrams of one flow
//! coalesced into one super-packet write) is in `rx.rs`, through the
//! device's `send_batch`.

use super::checksum;
use std::io;
use tun_rs::{VirtioNetHdr, VIRTIO_NET_HDR_LEN};

/// The largest read the pump makes: a 64 KiB super-packet plus a
/// `virtio_net_hdr` with room to spare.
pub const READ_BUFFER_LEN: usize = 65536 + 64;

/// `virtio_net_hdr.flags`: the checksum from `csum_start` on is partial.
const NEEDS_CSUM: u8 = 1;
/// `virtio_net_hdr.gso_type` values (`linux/virtio_net.h`).
const GSO_NONE: u8 = 0;
const GSO_TCPV4: u8 = 1;
const GSO_TCPV6: u8 = 4;
const GSO_UDP_L4: u8 = 5;
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
    /// `csum_start`/`csum_offset` point outside the packet.
    #[error("checksum position {start}+{offset} outside a packet of {len} bytes")]
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
    /// `gso_size` of 0, or the split itself refused the packet.
    #[error("cannot segment the super-packet")]
    Split(#[source] io::Error),
}

/// Turns one device read into the packets to send; see the
/// [module documentation](self).
#[derive(Debug, Default)]
pub struct Segmenter {
    framing: ReadFraming,
    /// Segment buffers, grown to the most segments a read has needed and
    /// then reused: steady traffic allocates nothing.
    scratch: Vec<Vec<u8>>,
    sizes: Vec<usize>,
}

impl Segmenter {
    /// A segmenter for reads framed as `framing`.
    pub fn new(framing: ReadFraming) -> Self {
        Segmenter {
            framing,
            scratch: Vec::new(),
            sizes: Vec::new(),
        }
    }

    /// The packets in `read` (which may be modified: checksums are
    /// completed in place).
    pub fn segments<'a>(&'a mut self, read: &'a mut [u8]) -> Result<Segments<'a>, SegmentError> {
        match self.framing {
            ReadFraming::PlainPacket => Ok(Segments::Whole(Some(read))),
            ReadFraming::VirtioNet => self.virtio(read),
        }
    }

    fn virtio<'a>(&'a mut self, read: &'a mut [u8]) -> Result<Segments<'a>, SegmentError> {
        let total = read.len();
        let (Some(header), Some(packet)) = (
            read.get(..VIRTIO_NET_HDR_LEN),
            read.get(VIRTIO_NET_HDR_LEN..),
        ) else {
            return Err(SegmentError::Truncated(total));
        };
        if packet.is_empty() {
            return Err(SegmentError::Truncated(total));
        }
        let mut hdr = VirtioNetHdr::decode(header).map_err(SegmentError::Split)?;
        let packet = read
            .get_mut(VIRTIO_NET_HDR_LEN..)
            .ok_or(SegmentError::Truncated(total))?;
        if hdr.gso_type == GSO_NONE {
            if hdr.flags & NEEDS_CSUM != 0 {
                checksum::complete_partial(packet, hdr.csum_start, hdr.csum_offset).ok_or(
                    SegmentError::ChecksumPosition {
                        start: hdr.csum_start,
                        offset: hdr.csum_offset,
                        len: packet.len(),
                    },
                )?;
            }
            return Ok(Segments::Whole(Some(packet)));
        }
        let version = packet.first().map_or(0, |byte| byte >> 4);
        let is_v6 = version == 6;
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
        let start = usize::from(hdr.csum_start);
        let transport_len = if tcp {
            let offset = packet
                .get(start + 12)
                .ok_or(SegmentError::Truncated(total))?;
            let len = usize::from(offset >> 4) * 4;
            if !(20..=60).contains(&len) {
                return Err(SegmentError::TcpHeader(len));
            }
            len
        } else {
            8
        };
        let header_len = start + transport_len;
        if header_len > packet.len() || start + usize::from(hdr.csum_offset) + 2 > packet.len() {
            return Err(SegmentError::Truncated(total));
        }
        hdr.hdr_len = u16::try_from(header_len).map_err(|_| SegmentError::Truncated(total))?;
        let segment = usize::from(hdr.gso_size);
        if segment == 0 {
            return Err(SegmentError::Split(io::Error::new(
                io::ErrorKind::InvalidInput,
                "gso_size is 0",
            )));
        }
        let count = (packet.len() - header_len).div_ceil(segment).max(1);
        if self.scratch.len() < count {
            self.scratch.resize_with(count, Vec::new);
            self.sizes.resize(count, 0);
        }
        let (Some(buffers), Some(sizes)) =
            (self.scratch.get_mut(..count), self.sizes.get_mut(..count))
        else {
            return Err(SegmentError::Truncated(total));
        };
        for buffer in buffers.iter_mut() {
            // Only grows: a buffer keeps its length between reads, and a
            // segment is written over its start.
            if buffer.len() < header_len + segment {
                buffer.resize(header_len + segment, 0);
            }
        }
        let made = tun_rs::gso_split(packet, hdr, buffers, sizes, 0, is_v6)
            .map_err(SegmentError::Split)?;
        Ok(Segments::Split {
            buffers: &self.scratch,
            sizes: self.sizes.get(..made).unwrap_or_default(),
            next: 0,
        })
    }
}

/// The packets of one read; see [`Segmenter::segments`].
#[derive(Debug)]
pub enum Segments<'a> {
    /// The read is one packet.
    Whole(Option<&'a [u8]>),
    /// The read was cut into segments.
    Split {
        /// The segment buffers (each segment at the start of its buffer).
        buffers: &'a [Vec<u8>],
        /// Each segment's length.
        sizes: &'a [usize],
        /// The next segment to hand out.
        next: usize,
    },
}

impl<'a> Segments<'a> {
    /// The next packet, or `None` when the read is used up.
    pub fn next_packet(&mut self) -> Option<&'a [u8]> {
        match self {
            Segments::Whole(whole) => whole.take(),
            Segments::Split {
                buffers,
                sizes,
                next,
            } => {
                let size = *sizes.get(*next)?;
                let buffer = buffers.get(*next)?;
                *next += 1;
                buffer.get(..size)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_read_is_one_packet() {
        let mut segmenter = Segmenter::new(ReadFraming::PlainPacket);
        let mut read = *b"packet";
        let mut segments = segmenter.segments(&mut read).unwrap();
        assert_eq!(segments.next_packet(), Some(&b"packet"[..]));
        assert_eq!(segments.next_packet(), None);
    }
}
