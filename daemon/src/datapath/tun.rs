//! [`PacketDevice`] for the netdev's TUN device, so the pump itself never
//! names a tun-rs type.

use super::PacketDevice;
use std::future::Future;
use std::io::{self, IoSlice};
use std::os::fd::{AsRawFd, BorrowedFd};

/// The device's descriptor, for the system calls the pump makes itself.
fn descriptor(device: &tun_rs::AsyncDevice) -> BorrowedFd<'_> {
    // SAFETY: the descriptor is the device's own, open for as long as the
    // device lives, and the borrow cannot outlive the device.
    #[allow(unsafe_code)]
    unsafe {
        BorrowedFd::borrow_raw(device.as_raw_fd())
    }
}

impl PacketDevice for tun_rs::AsyncDevice {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        // tun-rs's read waits on readiness and then reads once, so dropping
        // it before it completes loses no packet.
        tun_rs::AsyncDevice::recv(self, buf)
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // One read(2) on the non-blocking descriptor, straight: tun-rs's
        // try_recv would consult (and on EAGAIN clear) tokio's readiness
        // first, and libc's read is a cancellation point; together a tenth
        // of the pump's CPU per packet when it drains the device. Readiness
        // left set by an EAGAIN here is cleared by the next `recv`, which
        // reads once more before it waits: one read per wake-up, not per
        // packet.
        rustix::io::read(descriptor(self), buf).map_err(io::Error::from)
    }

    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        tun_rs::AsyncDevice::send(self, packet)
    }

    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        // As try_recv: one write(2), no readiness bookkeeping per packet. A
        // TUN write does not block (a full queue drops); should one ever
        // say EAGAIN, `send` waits for the device as tokio's readiness says.
        rustix::io::write(descriptor(self), packet).map_err(io::Error::from)
    }

    fn send_vectored(
        &self,
        parts: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> + Send {
        tun_rs::AsyncDevice::send_vectored(self, parts)
    }

    fn try_send_vectored(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        // As try_send: one writev(2).
        rustix::io::writev(descriptor(self), parts).map_err(io::Error::from)
    }

    fn takes_udp_super_packets(&self) -> bool {
        self.udp_gso()
    }
}
