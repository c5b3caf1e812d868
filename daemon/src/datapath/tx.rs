//! Host → modem: device reads, segmented, aggregated into NTBs, submitted on
//! bulk OUT with several transfers in flight and their buffers recycled.

use super::counters::{len64, Counters, RateLimit};
use super::sessions::Uplink;
use super::{DatapathError, Exit, PacketDevice, PumpConfig, StopReason, MAX_CONSECUTIVE_FAILURES};
use crate::logging::chain;
use mbim_offload::segment::{ReadFraming, Segmenter, Segments, Split, READ_BUFFER_LEN};
use mbim_protocol::ntb::{NdpSignature, NtbBuilder, PushError};
use mbim_transport::{Completion, OutPipe, TransportError};
use std::io;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Packets taken from the device in one go before the loop looks at its
/// OUT completions again (and lets the receive half run): bounds the time
/// the shared task spends in one branch.
const MAX_READS_PER_ROUND: usize = 64;

/// At most one warning of a kind per this interval.
const LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Why the transmit half returns.
enum Halt {
    Disconnected,
    Failed(DatapathError),
}

impl From<Halt> for Exit {
    fn from(halt: Halt) -> Exit {
        match halt {
            Halt::Disconnected => Ok(StopReason::Disconnected),
            Halt::Failed(error) => Err(error),
        }
    }
}

/// The NTB being built and the OUT pipe it goes to.
struct Sender<'a, O: OutPipe> {
    bulk_out: &'a mut O,
    /// Builds in the pipe's buffers, so a block is sent from where it was
    /// built.
    builder: &'a mut NtbBuilder<O::Buffer>,
    counters: &'a Counters,
    signature: NdpSignature,
    /// OUT buffers not in flight; the pipe holds the others.
    free: Vec<O::Buffer>,
    out_transfers: usize,
    flush_delay: Duration,
    /// When the oldest datagram in the builder must be sent.
    deadline: Option<Instant>,
    failures: u32,
    drop_log: RateLimit,
    /// Packets (and their bytes) put into blocks since the shared counters
    /// were last bumped: once per round of reads, not per packet.
    block_packets: u64,
    block_bytes: u64,
}

impl<O: OutPipe> Sender<'_, O> {
    /// Takes a finished OUT transfer back: its buffer goes to the free list.
    async fn reclaim(&mut self, completion: Completion<O::Buffer>) -> Result<(), Halt> {
        if self.free.len() < self.out_transfers {
            self.free.push(completion.buffer);
        }
        match completion.status {
            Ok(()) => {
                self.failures = 0;
                Ok(())
            }
            Err(TransportError::Disconnected) => Err(Halt::Disconnected),
            Err(TransportError::Stall) => {
                // A halted endpoint fails every transfer until the host
                // clears it. The NTBs still queued behind the stall are
                // cancelled (counted as errors): the higher layers resend.
                self.counters.tx_error();
                self.failures = self.failures.saturating_add(1);
                if self.failures >= MAX_CONSECUTIVE_FAILURES {
                    return Err(Halt::Failed(DatapathError::Transport {
                        direction: "OUT",
                        error: TransportError::Stall,
                    }));
                }
                tracing::warn!("bulk OUT stalled: clearing the halt");
                let lost = self.bulk_out.pending();
                let mut buffers = Vec::new();
                match super::rx::recover_from_stall(self.bulk_out, &mut buffers).await {
                    Ok(()) => {}
                    Err(TransportError::Disconnected) => return Err(Halt::Disconnected),
                    Err(error) => {
                        return Err(Halt::Failed(DatapathError::Transport {
                            direction: "OUT",
                            error,
                        }))
                    }
                }
                for _ in 0..lost {
                    self.counters.tx_error();
                }
                for buffer in buffers {
                    if self.free.len() < self.out_transfers {
                        self.free.push(buffer);
                    }
                }
                Ok(())
            }
            Err(error) => {
                self.counters.tx_error();
                self.failures = self.failures.saturating_add(1);
                if self.failures >= MAX_CONSECUTIVE_FAILURES {
                    return Err(Halt::Failed(DatapathError::Transport {
                        direction: "OUT",
                        error,
                    }));
                }
                tracing::debug!("bulk OUT transfer failed: {}", chain(&error));
                Ok(())
            }
        }
    }

    /// A free OUT buffer, waiting for a transfer to complete if all are in
    /// flight (backpressure: meanwhile the device queue holds the packets).
    async fn take_buffer(&mut self) -> Result<O::Buffer, Halt> {
        loop {
            if let Some(buffer) = self.free.pop() {
                return Ok(buffer);
            }
            if self.bulk_out.pending() == 0 {
                // Every buffer is either free or in flight, so this only
                // happens if a completion's buffer was dropped; replace it.
                return Ok(self.bulk_out.buffer(self.builder.max_block_len()));
            }
            let completion = self.bulk_out.next_complete().await;
            self.reclaim(completion).await?;
        }
    }

    /// Sends the block being built, if any.
    async fn flush(&mut self) -> Result<(), Halt> {
        self.deadline = None;
        if self.builder.is_empty() {
            return Ok(());
        }
        let mut buffer = self.take_buffer().await?;
        // The block leaves in the builder's own buffer, and the free buffer
        // becomes the builder's: no copy of the block.
        if self.builder.finish_into(&mut buffer) {
            self.bulk_out.submit(buffer);
            self.counters.tx_ntb();
        } else {
            self.free.push(buffer);
        }
        Ok(())
    }

    /// Adds the packets taken since the last call to the shared counters.
    fn publish(&mut self) {
        self.counters.tx_packets(
            std::mem::take(&mut self.block_packets),
            std::mem::take(&mut self.block_bytes),
        );
    }

    /// Adds one packet if the block being built has room for it now: the
    /// per-packet path without a future. `false` when the block is full
    /// (nothing done): [`push`](Self::push) sends it first.
    fn push_now(&mut self, packet: &[u8]) -> bool {
        let result = self.builder.push(self.signature, packet);
        if result == Err(PushError::Full) {
            return false;
        }
        self.pushed(result, packet.len());
        true
    }

    /// Adds one packet, sending the block first if it is full.
    async fn push(&mut self, packet: &[u8]) -> Result<(), Halt> {
        self.push_as(self.signature, packet).await
    }

    /// Adds one packet to the NDP of `signature` (a further session's).
    async fn push_as(&mut self, signature: NdpSignature, packet: &[u8]) -> Result<(), Halt> {
        let mut result = self.builder.push(signature, packet);
        if result == Err(PushError::Full) {
            self.flush().await?;
            result = self.builder.push(signature, packet);
        }
        self.pushed(result, packet.len());
        Ok(())
    }

    /// Adds segment `index` of a super-packet, written straight into the
    /// block.
    async fn push_segment(&mut self, split: &Split<'_>, index: usize) -> Result<(), Halt> {
        let length = split.len(index);
        let fill = |slot: &mut [u8]| {
            split.write(index, slot);
        };
        let mut result = self.builder.push_with(self.signature, length, fill);
        if result == Err(PushError::Full) {
            self.flush().await?;
            result = self.builder.push_with(self.signature, length, fill);
        }
        self.pushed(result, length);
        Ok(())
    }

    /// Accounts for a push of `length` bytes.
    fn pushed(&mut self, result: Result<(), PushError>, length: usize) {
        match result {
            Ok(()) => {
                self.block_packets += 1;
                self.block_bytes += len64(length);
                if self.deadline.is_none() {
                    self.deadline = Some(Instant::now() + self.flush_delay);
                }
            }
            Err(error) => {
                self.counters.tx_dropped();
                if let Some(held) = self.drop_log.allow(std::time::Instant::now()) {
                    tracing::warn!(
                        "packet of {length} bytes dropped: {} ({held} more since the last warning)",
                        chain(&error)
                    );
                }
            }
        }
    }
}

/// The transmit half of a pump.
pub(super) struct Tx<'a, O: OutPipe> {
    sender: Sender<'a, O>,
    /// Packets of further sessions (datapath::sessions), if carried.
    uplink: Option<&'a mut mpsc::Receiver<Uplink>>,
    read_buf: Vec<u8>,
    segmenter: Segmenter,
    /// Reads are plain packets (no virtio-net header to look at).
    plain: bool,
    flush_when_idle: bool,
    read_failures: u32,
    read_log: RateLimit,
}

impl<'a, O: OutPipe> Tx<'a, O> {
    pub(super) fn new(
        bulk_out: &'a mut O,
        builder: &'a mut NtbBuilder<O::Buffer>,
        config: &PumpConfig,
        counters: &'a Counters,
        uplink: Option<&'a mut mpsc::Receiver<Uplink>>,
    ) -> Self {
        builder.reset();
        let out_transfers = config.out_transfers.max(1);
        let free = (0..out_transfers)
            .map(|_| bulk_out.buffer(builder.max_block_len()))
            .collect();
        Tx {
            uplink,
            sender: Sender {
                bulk_out,
                builder,
                counters,
                signature: NdpSignature::Ips(config.session_id),
                free,
                out_transfers,
                flush_delay: config.flush_delay,
                deadline: None,
                failures: 0,
                drop_log: RateLimit::new(LOG_INTERVAL),
                block_packets: 0,
                block_bytes: 0,
            },
            read_buf: vec![0; READ_BUFFER_LEN],
            segmenter: Segmenter::new(config.framing),
            plain: config.framing == ReadFraming::PlainPacket,
            flush_when_idle: config.flush_when_idle,
            read_failures: 0,
            read_log: RateLimit::new(LOG_INTERVAL),
        }
    }

    /// Runs the transmit half until the transport is gone or something keeps
    /// failing; the caller races it against its stop signal.
    pub(super) async fn run<D: PacketDevice>(mut self, device: &D) -> Exit {
        match self.pump(device).await {
            Ok(never) => match never {},
            Err(halt) => halt.into(),
        }
    }

    async fn pump<D: PacketDevice>(
        &mut self,
        device: &D,
    ) -> Result<std::convert::Infallible, Halt> {
        // One timer, re-armed rather than re-created per packet.
        let timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            if self.sender.deadline != armed {
                armed = self.sender.deadline;
                if let Some(at) = armed {
                    timer.as_mut().reset(at);
                }
            }
            tokio::select! {
                biased;
                completion = self.sender.bulk_out.next_complete(), if self.sender.bulk_out.pending() > 0 => {
                    self.sender.reclaim(completion).await?;
                }
                read = device.recv(&mut self.read_buf) => {
                    self.handle_read(read).await?;
                    self.drain(device).await?;
                    // Further sessions get their turn with every round of
                    // session 0's, so neither starves the other.
                    self.drain_uplink().await?;
                }
                () = &mut timer, if armed.is_some() => {
                    self.sender.flush().await?;
                }
                Some(packet) = next_uplink(&mut self.uplink) => {
                    self.uplink_packet(packet).await?;
                    self.drain_uplink().await?;
                    self.sender.publish();
                    if self.flush_when_idle {
                        self.sender.flush().await?;
                    }
                }
            }
        }
    }

    /// Takes the further sessions' packets queued now (a round at most);
    /// flushes when they run dry (if so configured).
    async fn drain_uplink(&mut self) -> Result<(), Halt> {
        if self.uplink.is_none() {
            return Ok(());
        }
        let mut taken = 0;
        while taken < MAX_READS_PER_ROUND {
            let next = match self.uplink.as_mut() {
                Some(uplink) => uplink.try_recv().ok(),
                None => None,
            };
            match next {
                Some(packet) => self.uplink_packet(packet).await?,
                None => break,
            }
            taken += 1;
        }
        // Session 0's path pays one empty try_recv, nothing more.
        if taken == 0 {
            return Ok(());
        }
        self.sender.publish();
        if self.flush_when_idle {
            self.sender.flush().await?;
        }
        Ok(())
    }

    async fn uplink_packet(&mut self, (session, packet): Uplink) -> Result<(), Halt> {
        self.sender
            .push_as(NdpSignature::Ips(session), &packet)
            .await
    }

    /// Takes whatever else the device has queued now; flushes when it runs
    /// dry (if so configured) so a lone packet is not held back.
    async fn drain<D: PacketDevice>(&mut self, device: &D) -> Result<(), Halt> {
        let result = self.drain_round(device).await;
        self.sender.publish();
        result
    }

    async fn drain_round<D: PacketDevice>(&mut self, device: &D) -> Result<(), Halt> {
        for _ in 0..MAX_READS_PER_ROUND {
            match device.try_recv(&mut self.read_buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if self.flush_when_idle {
                        self.sender.flush().await?;
                    }
                    return Ok(());
                }
                read => {
                    if !self.read_now(&read) {
                        self.handle_read(read).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Puts a plain packet just read into the block when it fits, without
    /// the future of [`handle_read`](Self::handle_read) (whose result, moved
    /// through memory on every call, cost more than the push at 64 bytes);
    /// `false` leaves the read to it: a failed read, a virtio-net read (its
    /// checksum may be completed in place, which must happen once), or a
    /// full block.
    fn read_now(&mut self, read: &io::Result<usize>) -> bool {
        let (true, Ok(len)) = (self.plain, read) else {
            return false;
        };
        let Some(packet) = self.read_buf.get(..*len) else {
            return false;
        };
        if !self.sender.push_now(packet) {
            return false;
        }
        self.read_failures = 0;
        true
    }

    async fn handle_read(&mut self, read: io::Result<usize>) -> Result<(), Halt> {
        match read {
            Ok(len) => {
                self.read_failures = 0;
                let Some(read) = self.read_buf.get_mut(..len) else {
                    return Ok(());
                };
                match self.segmenter.segments(read) {
                    Ok(Segments::Whole(packet)) => self.sender.push(packet).await?,
                    Ok(Segments::Split(split)) => {
                        for index in 0..split.count() {
                            self.sender.push_segment(&split, index).await?;
                        }
                    }
                    Err(error) => {
                        self.sender.counters.tx_dropped();
                        if let Some(held) = self.sender.drop_log.allow(std::time::Instant::now()) {
                            tracing::warn!(
                                "read of {len} bytes dropped: {} ({held} more since the last warning)",
                                chain(&error)
                            );
                        }
                    }
                }
                Ok(())
            }
            Err(error) => {
                self.sender.counters.tx_error();
                self.read_failures = self.read_failures.saturating_add(1);
                if self.read_failures >= MAX_CONSECUTIVE_FAILURES {
                    return Err(Halt::Failed(DatapathError::Device {
                        operation: "read",
                        error,
                    }));
                }
                if let Some(held) = self.read_log.allow(std::time::Instant::now()) {
                    tracing::warn!(
                        "network device read failed: {} ({held} more since the last warning)",
                        chain(&error)
                    );
                }
                Ok(())
            }
        }
    }
}

/// The next packet of a further session; pending for ever without any
/// (the select's branch then never fires).
async fn next_uplink(uplink: &mut Option<&mut mpsc::Receiver<Uplink>>) -> Option<Uplink> {
    match uplink {
        Some(uplink) => uplink.recv().await,
        None => std::future::pending().await,
    }
}
