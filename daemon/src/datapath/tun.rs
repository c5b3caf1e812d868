//! [`PacketDevice`] for the netdev's TUN device, so the pump itself never
//! names a tun-rs type.
//!
//! The netdev opens the device without registering it with any reactor (a
//! `tun_rs::SyncDevice`); [`TunDevice::register`] registers it with the
//! runtime it is called on. The pump's thread does that on its own runtime
//! ([`PumpDevice`]), so the device's readiness wakes the pump's thread and
//! no other; a further session's reader registers its device with mbimd's
//! main runtime, where it runs.

use super::{PacketDevice, PumpDevice};
use std::future::Future;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// What a read waits for: readable, or an error condition. A TUN file whose
/// interface was deleted (`ip link del`) reports only `EPOLLERR`
/// (`tun_chr_poll`); waiting for it too lets the next read return that
/// error instead of waiting forever.
const READ_INTEREST: Interest = Interest::READABLE.add(Interest::ERROR);

/// A TUN device registered with the reactor of the runtime that made it.
pub struct TunDevice {
    fd: AsyncFd<Arc<tun_rs::SyncDevice>>,
    /// Whether the device was opened with USO (read once: it is an ioctl).
    udp_super_packets: bool,
}

impl TunDevice {
    /// Registers `device` with the current runtime's reactor (so this must
    /// run inside one) and makes its descriptor non-blocking.
    pub fn register(device: Arc<tun_rs::SyncDevice>) -> io::Result<TunDevice> {
        device.set_nonblocking(true)?;
        let udp_super_packets = device.udp_gso();
        // SAFETY: the Arc keeps the device, and with it its descriptor, open
        // for as long as the AsyncFd holds it.
        #[allow(unsafe_code)]
        let fd = unsafe {
            AsyncFd::register_with_interest(device, Interest::READABLE | Interest::WRITABLE)
        }
        .map_err(io::Error::from)?;
        Ok(TunDevice {
            fd,
            udp_super_packets,
        })
    }

    /// Waits until `operation` succeeds or fails with anything but
    /// `WouldBlock`, after readiness for `interest` (cleared on `WouldBlock`).
    /// Cancel-safe: `operation` runs only once the device is ready, and a
    /// dropped wait has done nothing.
    async fn when_ready<R>(
        &self,
        interest: Interest,
        mut operation: impl FnMut(&tun_rs::SyncDevice) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            let mut guard = self.fd.ready(interest).await?;
            if let Ok(result) = guard.try_io(|fd| operation(fd.get_ref())) {
                return result;
            }
        }
    }
}

impl std::fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // tun-rs's device has no Debug; its descriptor says which it is.
        f.debug_struct("TunDevice")
            .field("fd", &self.fd.as_raw_fd())
            .finish_non_exhaustive()
    }
}

impl PumpDevice for Arc<tun_rs::SyncDevice> {
    type Device = TunDevice;

    fn bind(self) -> io::Result<TunDevice> {
        TunDevice::register(self)
    }

    fn name(&self) -> Option<String> {
        (**self).name().ok()
    }
}

impl PacketDevice for TunDevice {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        // Reads once the device is readable, so dropping it before it
        // completes loses no packet.
        self.when_ready(READ_INTEREST, move |device| read(device, buf))
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // One read(2) on the non-blocking descriptor, straight: asking
        // tokio's readiness first (and clearing it on EAGAIN) per packet
        // was a tenth of the pump's CPU per packet when it drains the
        // device. Readiness left set by an EAGAIN here is cleared by the
        // next `recv`, which reads once more before it waits: one read per
        // wake-up, not per packet.
        read(self.fd.get_ref(), buf)
    }

    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.when_ready(Interest::WRITABLE, move |device| write(device, packet))
    }

    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        // As try_recv: one write(2), no readiness bookkeeping per packet. A
        // TUN write does not block (a full queue drops); should one ever
        // say EAGAIN, `send` waits for the device as tokio's readiness says.
        write(self.fd.get_ref(), packet)
    }

    fn send_vectored(
        &self,
        parts: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> + Send {
        self.when_ready(Interest::WRITABLE, move |device| writev(device, parts))
    }

    fn try_send_vectored(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        // As try_send: one writev(2).
        writev(self.fd.get_ref(), parts)
    }

    fn takes_udp_super_packets(&self) -> bool {
        self.udp_super_packets
    }
}

fn read(device: &tun_rs::SyncDevice, buf: &mut [u8]) -> io::Result<usize> {
    rustix::io::read(device.as_fd(), buf).map_err(io::Error::from)
}

fn write(device: &tun_rs::SyncDevice, packet: &[u8]) -> io::Result<usize> {
    rustix::io::write(device.as_fd(), packet).map_err(io::Error::from)
}

fn writev(device: &tun_rs::SyncDevice, parts: &[IoSlice<'_>]) -> io::Result<usize> {
    rustix::io::writev(device.as_fd(), parts).map_err(io::Error::from)
}
