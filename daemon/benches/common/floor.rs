//! The realnet benchmark's floor with offloads (**floor+o**): one direction
//! of the bare two-TUN relay that also does the per-byte work mbimd and its
//! simulated modem together cannot skip, and nothing else.
//!
//! Whichever way a TCP super-packet goes, one side cuts it into datagrams
//! with their own headers and checksums, written straight into an NTB
//! (mbimd's transmit path towards the modem; the simulated modem's reader
//! of the real network towards the host: mbim-offload's `Segmenter` into
//! mbim-protocol's `NtbBuilder`), and the other parses the NTB, checks
//! every datagram's checksums while coalescing them per flow again, and
//! writes each run as one gathered `writev` straight from the block
//! (mbimd's receive path; the simulator's forwarder: mbim-offload's
//! `Coalescer`). Here both halves run back to back on one thread per
//! direction, under the default scenario's NTB limits of that direction,
//! with a block handed on when it is full or when the device runs dry (as
//! mbimd's transmit path flushes, and as bulk IN takes the open block when
//! nothing else waits). No USB pipe, no session look-up, no queues between
//! threads, no control plane: what mbimd+o spends beyond this is the cost of
//! being a daemon with a modem behind it.

use mbim_offload::gro::{Coalescer, MAX_PARTS};
use mbim_offload::segment::{ReadFraming, Segmenter, Segments};
use mbim_protocol::ntb::{BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat};
use std::io::IoSlice;
use std::os::fd::AsFd;

/// Which way the floor carries packets: the NTB limits differ.
#[derive(Clone, Copy)]
pub enum Way {
    /// Host → modem (bulk OUT): the function's OUT limits.
    Out,
    /// Modem → host (bulk IN): its IN limits, as the simulated modem lays
    /// out blocks for the host's input size (which mbimd sets to the
    /// function's `dwNtbInMaxSize`).
    In,
}

/// The default scenario's NTB limits for `way`, in the format mbimd
/// chooses for them (NTB16: neither size exceeds 65535).
fn limits(way: Way) -> BuildLimits {
    let parameters = mbim_sim::scenario::Scenario::default_dssa()
        .ntb
        .parameters();
    match way {
        Way::Out => BuildLimits::from_parameters(&parameters),
        Way::In => BuildLimits {
            max_size: parameters.in_max_size,
            max_datagrams: 0,
            divisor: parameters.in_divisor,
            remainder: parameters.in_payload_remainder,
            ndp_alignment: parameters.in_alignment,
        },
    }
}

/// One direction of the floor, writing to `to`.
pub struct Floor<D> {
    to: D,
    segmenter: Segmenter,
    builder: NtbBuilder,
    coalescer: Coalescer,
}

impl<D: AsFd> Floor<D> {
    /// The floor writing to `to`; UDP is coalesced when `udp` (the device
    /// takes USO super-packets), as mbimd and the simulator decide.
    pub fn new(to: D, way: Way, udp: bool) -> Self {
        Floor {
            to,
            segmenter: Segmenter::new(ReadFraming::VirtioNet),
            builder: NtbBuilder::new(NtbFormat::Ntb16, limits(way)).unwrap(),
            coalescer: Coalescer::new(udp),
        }
    }

    /// Takes one device read (a virtio-net header and its packet or
    /// super-packet): each datagram cut straight into the block, which is
    /// handed on first whenever the next one does not fit.
    pub fn read(&mut self, read: &mut [u8]) {
        match self.segmenter.segments(read) {
            Ok(Segments::Whole(packet)) => {
                self.push(packet.len(), |slot| slot.copy_from_slice(packet));
            }
            Ok(Segments::Split(split)) => {
                for index in 0..split.count() {
                    self.push(split.len(index), |slot| {
                        split.write(index, slot);
                    });
                }
            }
            // A header the kernel should not send: dropped, as both do.
            Err(_) => {}
        }
    }

    /// Adds a datagram of `length` bytes that `fill` writes into its place.
    fn push(&mut self, length: usize, fill: impl Fn(&mut [u8])) {
        let signature = NdpSignature::Ips(0);
        if self.builder.push_with(signature, length, &fill).is_err() {
            self.flush();
            let _ = self.builder.push_with(signature, length, &fill);
        }
    }

    /// Hands the block on, if it holds anything: parsed, its datagrams
    /// checked and coalesced per flow, and each run written to the device
    /// in one `writev` gathered from the block.
    pub fn flush(&mut self) {
        let Floor {
            to,
            builder,
            coalescer,
            ..
        } = self;
        let Some(block) = builder.finish() else {
            return;
        };
        let ntb = Ntb::new_checked(block).unwrap();
        coalescer.clear();
        for datagram in ntb.datagrams() {
            coalescer.push(block, datagram.unwrap().data);
        }
        coalescer.finish(block);
        for index in 0..coalescer.len() {
            let mut parts = [IoSlice::new(&[]); MAX_PARTS];
            let Some(gathered) = coalescer.gather(block, index, &mut parts) else {
                continue;
            };
            // A full device drops, as mbimd's and the simulator's writes
            // that are never waited for do.
            let _ = rustix::io::writev(to.as_fd(), &parts[..gathered.parts]);
        }
        builder.reset();
    }
}
