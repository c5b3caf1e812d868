//! The step between "read from the device" and "put into an NTB": turning
//! what one device read returned into the IP packets an NTB carries.
//!
//! Today a read is one packet and this step passes it through. It is kept
//! separate so offloads fit without touching the pump:
//!
//! * **TSO/USO from the kernel** (`IFF_VNET_HDR` with `TUNSETOFFLOAD`): a read
//!   starts with a `virtio_net_hdr` and may carry a super-packet of up to
//!   64 KiB. A `Segmenter` variant parses the header, then emits one
//!   MTU-sized packet per segment (IP/TCP or UDP headers rewritten, checksums
//!   completed per `csum_start`/`csum_offset`) into its own scratch buffer;
//!   the pump pushes each into the builder exactly as it pushes a plain
//!   packet. The read buffer is already sized for a 64 KiB super-packet
//!   ([`READ_BUFFER_LEN`]).
//! * **GRO towards the kernel** is the mirror image on the receive side: the
//!   rx half would coalesce consecutive datagrams of one flow before the
//!   device write (a `Coalescer` next to `Segmenter`), again without
//!   changing how NTBs are parsed.
//! * **Several queues** (`IFF_MULTI_QUEUE`): each queue is another
//!   [`PacketDevice`](super::PacketDevice) read by its own tx loop with its
//!   own builder; the loops share the OUT pipe through a channel of finished
//!   blocks. Nothing in a `Segmenter` is shared between queues.

/// The largest read the pump makes: a 64 KiB super-packet plus a
/// `virtio_net_hdr` (12 bytes) with room to spare, so enabling offloads
/// does not change buffer sizing.
pub const READ_BUFFER_LEN: usize = 65536 + 64;

/// How the device's reads are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFraming {
    /// One IP packet per read (TUN without `IFF_VNET_HDR`).
    #[default]
    PlainPacket,
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

    /// The packets in `read`, pulled one at a time so the pump can flush a
    /// full NTB (an `await`) between two segments of one super-packet.
    pub fn segments<'a>(&'a mut self, read: &'a [u8]) -> Segments<'a> {
        match self.framing {
            ReadFraming::PlainPacket => Segments { whole: Some(read) },
        }
    }
}

/// The packets of one read; see [`Segmenter::segments`].
///
/// Not an `Iterator`: a segmenting variant will hand out packets built in
/// the segmenter's scratch buffer, borrowed until the next call.
#[derive(Debug)]
pub struct Segments<'a> {
    whole: Option<&'a [u8]>,
}

impl Segments<'_> {
    /// The next packet, or `None` when the read is used up.
    pub fn next_packet(&mut self) -> Option<&[u8]> {
        self.whole.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_read_is_one_packet() {
        let mut segmenter = Segmenter::new(ReadFraming::PlainPacket);
        let mut segments = segmenter.segments(b"packet");
        assert_eq!(segments.next_packet(), Some(&b"packet"[..]));
        assert_eq!(segments.next_packet(), None);
    }
}
