//! The real network's writer: what the host sends on a session, written to
//! the forwarder's device from the NTB it came in. Bulk OUT plans each
//! datagram under the model's lock and, with offloads, writes the plan
//! after releasing it (`SimFunction::bulk_out`).

use mbim_offload::gro::{Coalescer, MAX_PARTS};
use std::io::IoSlice;
use std::os::fd::AsFd;

/// What goes from the host to the network: with offloads, the datagrams
/// of one NTB planned into writes coalesced per flow (mbim-offload's GRO,
/// as mbimd writes its own TUN device) and each write gathered straight
/// from the NTB, no datagram copied; without, each written as it is.
#[derive(Default)]
pub(crate) struct Writer {
    /// Made on the first datagram with offloads; its storage is kept from
    /// one NTB to the next.
    coalescer: Option<Coalescer>,
}

impl Writer {
    /// Takes one datagram of `block` (the NTB); `false` if it was not
    /// taken. Never waits: a full device drops, as a link does. With
    /// offloads the datagram is only planned here, and written by
    /// [`flush`](Self::flush).
    pub(crate) fn send(
        &mut self,
        device: &tun_rs::AsyncDevice,
        block: &[u8],
        datagram: &[u8],
    ) -> bool {
        if !device.tcp_gso() {
            // write(2) straight, as the gathered writes below: tun-rs's
            // try_send goes through tokio's readiness and libc's
            // cancellation point per datagram, for a write never waited for.
            return rustix::io::write(device.as_fd(), datagram).is_ok();
        }
        self.coalescer
            .get_or_insert_with(|| Coalescer::new(device.udp_gso()))
            .push(block, datagram)
    }

    /// Writes what was planned for `block` (at the end of the NTB): one
    /// gathered `writev` per super-packet or lone datagram.
    pub(crate) fn flush(&mut self, device: &tun_rs::AsyncDevice, block: &[u8]) {
        let Some(coalescer) = self.coalescer.as_mut() else {
            return;
        };
        coalescer.finish(block);
        let mut dropped = 0u64;
        for index in 0..coalescer.len() {
            let mut parts = [IoSlice::new(&[]); MAX_PARTS];
            let Some(gathered) = coalescer.gather(block, index, &mut parts) else {
                continue;
            };
            let parts = parts.get(..gathered.parts).unwrap_or_default();
            // The device's descriptor itself, non-blocking: this runs
            // on the pump's thread in bulk OUT, and tokio's readiness has
            // nothing to add to a write that is never waited for.
            if let Err(error) = rustix::io::writev(device.as_fd(), parts) {
                dropped = dropped.saturating_add(gathered.datagrams);
                tracing::trace!("the real network did not take a write: {error}");
            }
        }
        if dropped > 0 {
            tracing::debug!("the real network did not take {dropped} datagram(s)");
        }
        coalescer.clear();
    }
}
