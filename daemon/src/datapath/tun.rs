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

    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        tun_rs::AsyncDevice::try_send(self, packet)
    }

    async fn send_batch(
        &self,
        gro: &mut tun_rs::GROTable,
        buffers: &mut [Vec<u8>],
        offset: usize,
    ) -> io::Result<()> {
        // tun-rs's GRO (the port of wireguard-go's tables): TCP and, where
        // the kernel has USO, UDP; on a device without IFF_VNET_HDR it
        // writes each packet without the header room.
        tun_rs::AsyncDevice::send_multiple(self, gro, buffers, offset)
            .await
            .map(|_| ())
    }
}
