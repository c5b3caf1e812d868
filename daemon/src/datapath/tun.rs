//! [`PacketDevice`] for the netdev's TUN device, so the pump itself never
//! names a tun-rs type.

use super::PacketDevice;
use std::future::Future;
use std::io;

impl PacketDevice for tun_rs::AsyncDevice {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        // tun-rs's read waits on readiness and then reads once, so dropping
        // it before it completes loses no packet.
        tun_rs::AsyncDevice::recv(self, buf)
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        tun_rs::AsyncDevice::try_recv(self, buf)
    }

    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        tun_rs::AsyncDevice::send(self, packet)
    }
}
