//! What the pump needs of a network device, so it does not depend on the
//! TUN crate: the netdev hands over a TUN device (see `tun.rs` for the
//! implementation, `TunDevice`), tests and the benchmark use
//! [`MemoryDevice`].

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// A packet device: one IP packet per read and per write, like a TUN device
/// without `IFF_VNET_HDR`.
///
/// The futures must be cancel-safe (dropping a pending `recv` loses no
/// packet), as the pump races them against its transfers and timers.
pub trait PacketDevice: Send + Sync {
    /// Waits for the next packet and copies it into `buf`; returns its length.
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// The next packet if one is queued now; [`io::ErrorKind::WouldBlock`]
    /// otherwise. The pump uses it to learn that nothing more is queued, so
    /// it flushes a partly filled NTB at once instead of waiting.
    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize>;

    /// Writes one packet.
    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send;

    /// Writes one packet if the device takes it now;
    /// [`io::ErrorKind::WouldBlock`] otherwise. The pump writes a whole NTB's
    /// datagrams this way and awaits [`send`](Self::send) only when the
    /// device pushes back, so a write costs no future or readiness poll.
    fn try_send(&self, packet: &[u8]) -> io::Result<usize>;

    /// Writes one packet gathered from `parts` (one `writev`): with
    /// virtio-net framing, a header and a packet or a super-packet whose
    /// payloads stay where they are.
    fn send_vectored(
        &self,
        parts: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// [`send_vectored`](Self::send_vectored) if the device takes the
    /// packet now; [`io::ErrorKind::WouldBlock`] otherwise.
    fn try_send_vectored(&self, parts: &[IoSlice<'_>]) -> io::Result<usize>;

    /// Whether the device takes UDP super-packets (a TUN device with
    /// virtio-net framing and USO), so receiving may coalesce UDP too.
    fn takes_udp_super_packets(&self) -> bool {
        false
    }
}

impl<D: PacketDevice> PacketDevice for Arc<D> {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).recv(buf)
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        (**self).try_recv(buf)
    }

    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).send(packet)
    }

    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        (**self).try_send(packet)
    }

    fn send_vectored(
        &self,
        parts: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> + Send {
        (**self).send_vectored(parts)
    }

    fn try_send_vectored(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        (**self).try_send_vectored(parts)
    }

    fn takes_udp_super_packets(&self) -> bool {
        (**self).takes_udp_super_packets()
    }
}

/// One direction of a [`MemoryDevice`]: a bounded packet queue whose packet
/// buffers are recycled, so a steady flow allocates nothing.
#[derive(Debug, Default)]
struct Queue {
    packets: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    closed: bool,
}

#[derive(Debug)]
struct Direction {
    queue: Mutex<Queue>,
    /// Woken when a packet is queued or the queue closes.
    readable: Notify,
    /// Woken when a packet is taken or the queue closes.
    writable: Notify,
    capacity: usize,
}

/// Spare buffers kept per direction; beyond it freed ones are dropped.
const MAX_SPARE: usize = 1024;

impl Direction {
    fn new(capacity: usize) -> Self {
        Direction {
            queue: Mutex::new(Queue::default()),
            readable: Notify::new(),
            writable: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere cannot leave a queue half-updated in a way that
        // matters to a test device; keep going rather than poison.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a writer waiting on a full queue should be woken: only once
    /// half of it has drained, as a socket's low-water mark does, so a fast
    /// writer and a slow reader do not switch tasks once per packet.
    fn below_low_water(&self, queue: &Queue) -> bool {
        queue.packets.len() <= self.capacity / 2
    }

    /// Queues the packet gathered from `parts`.
    fn try_push(&self, parts: &[IoSlice<'_>]) -> Result<(), PushOutcome> {
        let mut queue = self.lock();
        if queue.closed {
            return Err(PushOutcome::Closed);
        }
        if queue.packets.len() >= self.capacity {
            return Err(PushOutcome::Full);
        }
        let mut buffer = queue.spare.pop().unwrap_or_default();
        buffer.clear();
        for part in parts {
            buffer.extend_from_slice(part);
        }
        queue.packets.push_back(buffer);
        drop(queue);
        self.readable.notify_one();
        Ok(())
    }

    async fn push(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        let len = parts.iter().map(|part| part.len()).sum();
        loop {
            let writable = self.writable.notified();
            tokio::pin!(writable);
            writable.as_mut().enable();
            match self.try_push(parts) {
                Ok(()) => return Ok(len),
                Err(PushOutcome::Closed) => return Err(closed()),
                Err(PushOutcome::Full) => writable.await,
            }
        }
    }

    /// Copies the oldest packet into `buf` (truncating, as a TUN read
    /// does); `None` if nothing is queued.
    fn try_pop_into(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        let mut queue = self.lock();
        let Some(packet) = queue.packets.pop_front() else {
            return if queue.closed {
                Err(closed())
            } else {
                Ok(None)
            };
        };
        let len = packet.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..len), packet.get(..len)) {
            to.copy_from_slice(from);
        }
        if queue.spare.len() < MAX_SPARE {
            queue.spare.push(packet);
        }
        let wake = self.below_low_water(&queue);
        drop(queue);
        if wake {
            self.writable.notify_one();
        }
        Ok(Some(len))
    }

    fn try_pop(&self) -> io::Result<Option<Vec<u8>>> {
        let mut queue = self.lock();
        match queue.packets.pop_front() {
            Some(packet) => {
                let wake = self.below_low_water(&queue);
                drop(queue);
                if wake {
                    self.writable.notify_one();
                }
                Ok(Some(packet))
            }
            None if queue.closed => Err(closed()),
            None => Ok(None),
        }
    }

    async fn pop_into(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let readable = self.readable.notified();
            tokio::pin!(readable);
            readable.as_mut().enable();
            if let Some(len) = self.try_pop_into(buf)? {
                return Ok(len);
            }
            readable.await;
        }
    }

    async fn pop(&self) -> io::Result<Vec<u8>> {
        loop {
            let readable = self.readable.notified();
            tokio::pin!(readable);
            readable.as_mut().enable();
            if let Some(packet) = self.try_pop()? {
                return Ok(packet);
            }
            readable.await;
        }
    }

    fn recycle(&self, packet: Vec<u8>) {
        let mut queue = self.lock();
        if queue.spare.len() < MAX_SPARE {
            queue.spare.push(packet);
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.readable.notify_waiters();
        self.writable.notify_waiters();
    }
}

enum PushOutcome {
    Full,
    Closed,
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the in-memory device is closed")
}

#[derive(Debug)]
struct Shared {
    /// Packets the "kernel" sent: what the pump reads.
    to_pump: Direction,
    /// Packets the pump wrote: what the "kernel" receives.
    from_pump: Direction,
}

/// An in-memory [`PacketDevice`] for tests and benchmarks: what its
/// [`MemoryPeer`] injects, the pump reads; what the pump writes, the peer
/// receives. Both directions are bounded queues that apply backpressure,
/// like a TUN device's queue (except that a full TUN queue drops).
#[derive(Debug, Clone)]
pub struct MemoryDevice {
    shared: Arc<Shared>,
    /// What [`PacketDevice::takes_udp_super_packets`] says.
    udp_super_packets: bool,
}

/// The network-stack side of a [`MemoryDevice`].
#[derive(Debug, Clone)]
pub struct MemoryPeer {
    shared: Arc<Shared>,
}

impl MemoryDevice {
    /// A device whose queues hold up to `capacity` packets each, and its peer.
    pub fn new(capacity: usize) -> (MemoryDevice, MemoryPeer) {
        let shared = Arc::new(Shared {
            to_pump: Direction::new(capacity),
            from_pump: Direction::new(capacity),
        });
        (
            MemoryDevice {
                shared: shared.clone(),
                udp_super_packets: false,
            },
            MemoryPeer { shared },
        )
    }

    /// The same device, saying it takes UDP super-packets (as a TUN device
    /// with USO does) or not: whether the pump coalesces UDP into it.
    pub fn with_udp_super_packets(mut self, takes: bool) -> Self {
        self.udp_super_packets = takes;
        self
    }
}

impl PacketDevice for MemoryDevice {
    fn recv(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> + Send {
        self.shared.to_pump.pop_into(buf)
    }

    fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.shared
            .to_pump
            .try_pop_into(buf)?
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }

    async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        self.shared.from_pump.push(&[IoSlice::new(packet)]).await
    }

    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        self.try_send_vectored(&[IoSlice::new(packet)])
    }

    fn send_vectored(
        &self,
        parts: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> + Send {
        self.shared.from_pump.push(parts)
    }

    fn try_send_vectored(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.shared.from_pump.try_push(parts) {
            Ok(()) => Ok(parts.iter().map(|part| part.len()).sum()),
            Err(PushOutcome::Full) => Err(io::ErrorKind::WouldBlock.into()),
            Err(PushOutcome::Closed) => Err(closed()),
        }
    }

    fn takes_udp_super_packets(&self) -> bool {
        self.udp_super_packets
    }
}

impl MemoryPeer {
    /// Queues a packet for the pump to read, waiting while the queue is full.
    pub async fn inject(&self, packet: &[u8]) -> io::Result<()> {
        self.shared
            .to_pump
            .push(&[IoSlice::new(packet)])
            .await
            .map(|_| ())
    }

    /// Queues a packet for the pump to read if there is room now.
    pub fn try_inject(&self, packet: &[u8]) -> io::Result<()> {
        match self.shared.to_pump.try_push(&[IoSlice::new(packet)]) {
            Ok(()) => Ok(()),
            Err(PushOutcome::Full) => Err(io::ErrorKind::WouldBlock.into()),
            Err(PushOutcome::Closed) => Err(closed()),
        }
    }

    /// The next packet the pump wrote.
    pub async fn receive(&self) -> io::Result<Vec<u8>> {
        self.shared.from_pump.pop().await
    }

    /// The next packet the pump wrote, if one is queued now.
    pub fn try_receive(&self) -> io::Result<Option<Vec<u8>>> {
        self.shared.from_pump.try_pop()
    }

    /// Gives a packet from [`receive`](Self::receive) back for reuse, so a
    /// benchmark's steady state allocates nothing.
    pub fn recycle(&self, packet: Vec<u8>) {
        self.shared.from_pump.recycle(packet);
    }

    /// Closes both directions: the pump's reads and writes fail from now on
    /// (as when a TUN device is deleted).
    pub fn close(&self) {
        self.shared.to_pump.close();
        self.shared.from_pump.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packets_cross_both_ways_and_buffers_are_reused() {
        let (device, peer) = MemoryDevice::new(4);
        peer.inject(b"to the pump").await.unwrap();
        let mut buf = [0u8; 64];
        let len = device.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..len], b"to the pump");
        assert_eq!(
            device.try_recv(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        device.send(b"from the pump").await.unwrap();
        let packet = peer.receive().await.unwrap();
        assert_eq!(packet, b"from the pump");
        peer.recycle(packet);
        assert!(peer.try_receive().unwrap().is_none());
    }

    #[tokio::test]
    async fn a_full_queue_waits_and_a_closed_one_fails() {
        let (device, peer) = MemoryDevice::new(1);
        peer.try_inject(b"a").unwrap();
        assert_eq!(
            peer.try_inject(b"b").unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let mut buf = [0u8; 8];
        assert_eq!(device.try_recv(&mut buf).unwrap(), 1);
        peer.close();
        assert!(device.recv(&mut buf).await.is_err());
        assert!(device.send(b"x").await.is_err());
    }
}
