//! Modem → host: bulk IN transfers in flight, each completed NTB parsed and
//! its datagrams of our session written to the device: one write each,
//! straight from the transfer buffer, on a plain device; on a device with
//! virtio-net framing, gathered per NTB and coalesced per flow (GRO) into
//! super-packets, so a bulk flow costs one write per NTB.

use super::counters::{len64, Counters, RateLimit};
use super::segment::ReadFraming;
use super::sessions::SessionTable;
use super::{DatapathError, Exit, PacketDevice, PumpConfig, StopReason, MAX_CONSECUTIVE_FAILURES};
use crate::logging::chain;
use mbim_protocol::ntb::{NdpSignature, Ntb};
use mbim_transport::{InPipe, TransportError};
use std::time::{Duration, Instant};

/// At most one "malformed NTB" warning per this interval.
const MALFORMED_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Datagrams gathered for one coalescing write batch at most (tun-rs's
/// GRO table is sized for this many).
const GRO_BATCH: usize = tun_rs::IDEAL_BATCH_SIZE;

/// The capacity of each gathering buffer: coalescing only appends to a
/// buffer that can hold a whole super-packet without reallocating. Reserved,
/// not touched: only the pages a packet is written to become resident.
const GRO_BUFFER_CAPACITY: usize = 65535 + 2 * tun_rs::VIRTIO_NET_HDR_LEN;

/// Where an NTB's datagrams go, and what that needs between NTBs.
struct Writer {
    framing: ReadFraming,
    /// Virtio-net framing: each datagram copied after room for the header,
    /// the buffers kept from one NTB to the next (grown, never shrunk).
    batch: Vec<Vec<u8>>,
    gathered: usize,
    gathered_bytes: u64,
    /// Made on the first coalescing write: a plain device never needs it.
    gro: Option<tun_rs::GROTable>,
    failures: u32,
    error_log: RateLimit,
}

impl Writer {
    fn new(framing: ReadFraming) -> Self {
        Writer {
            framing,
            batch: Vec::new(),
            gathered: 0,
            gathered_bytes: 0,
            gro: None,
            failures: 0,
            error_log: RateLimit::new(MALFORMED_LOG_INTERVAL),
        }
    }

    /// Counts one failed write; `Err` once they keep failing.
    fn failed(&mut self, counters: &Counters, error: std::io::Error) -> std::io::Result<()> {
        counters.rx_error();
        self.failures = self.failures.saturating_add(1);
        if self.failures >= MAX_CONSECUTIVE_FAILURES {
            return Err(error);
        }
        if let Some(held) = self.error_log.allow(Instant::now()) {
            tracing::warn!(
                "network device write failed: {} ({held} more since the last warning)",
                chain(&error)
            );
        }
        Ok(())
    }

    /// Writes or gathers one datagram.
    async fn datagram<D: PacketDevice>(
        &mut self,
        device: &D,
        data: &[u8],
        written: &mut (u64, u64),
        counters: &Counters,
    ) -> std::io::Result<()> {
        match self.framing {
            ReadFraming::PlainPacket => {
                let result = match device.try_send(data) {
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        device.send(data).await
                    }
                    result => result,
                };
                match result {
                    Ok(_) => {
                        self.failures = 0;
                        written.0 += 1;
                        written.1 += len64(data.len());
                        Ok(())
                    }
                    Err(error) => self.failed(counters, error),
                }
            }
            ReadFraming::VirtioNet => {
                if self.batch.len() <= self.gathered {
                    self.batch.push(Vec::with_capacity(GRO_BUFFER_CAPACITY));
                }
                if let Some(buffer) = self.batch.get_mut(self.gathered) {
                    buffer.clear();
                    buffer.resize(tun_rs::VIRTIO_NET_HDR_LEN, 0);
                    buffer.extend_from_slice(data);
                    self.gathered += 1;
                    self.gathered_bytes += len64(data.len());
                }
                if self.gathered >= GRO_BATCH {
                    self.flush(device, written, counters).await?;
                }
                Ok(())
            }
        }
    }

    /// Writes what was gathered, coalesced.
    async fn flush<D: PacketDevice>(
        &mut self,
        device: &D,
        written: &mut (u64, u64),
        counters: &Counters,
    ) -> std::io::Result<()> {
        if self.gathered == 0 {
            return Ok(());
        }
        let count = std::mem::take(&mut self.gathered);
        let bytes = std::mem::take(&mut self.gathered_bytes);
        let Some(batch) = self.batch.get_mut(..count) else {
            return Ok(());
        };
        let gro = self.gro.get_or_insert_with(tun_rs::GROTable::new);
        match device
            .send_batch(gro, batch, tun_rs::VIRTIO_NET_HDR_LEN)
            .await
        {
            Ok(()) => {
                self.failures = 0;
                written.0 += u64::try_from(count).unwrap_or(u64::MAX);
                written.1 += bytes;
                Ok(())
            }
            Err(error) => self.failed(counters, error),
        }
    }
}

/// Runs the receive half until the transport is gone or keeps failing.
/// Only returns on an exit; the caller races it against its stop signal.
pub(super) async fn run<I: InPipe, D: PacketDevice>(
    bulk_in: &mut I,
    device: &D,
    config: &PumpConfig,
    counters: &Counters,
    sessions: Option<&SessionTable>,
) -> Exit {
    let length = config.in_transfer_size;
    // Top the queue up to the configured depth; after this every buffer is
    // recycled from its completion, so receiving allocates nothing.
    while bulk_in.pending() < config.in_transfers.max(1) {
        bulk_in.submit(Vec::with_capacity(length), length);
    }
    let ours = NdpSignature::Ips(config.session_id);
    let mut malformed_log = RateLimit::new(MALFORMED_LOG_INTERVAL);
    let mut writer = Writer::new(config.framing);
    let mut transfer_failures = 0u32;
    loop {
        let completion = bulk_in.next_complete().await;
        match completion.status {
            Ok(()) => {
                transfer_failures = 0;
                counters.rx_ntb();
                let delivered = deliver(
                    &completion.buffer,
                    ours,
                    device,
                    counters,
                    &mut malformed_log,
                    &mut writer,
                    sessions,
                )
                .await;
                if let Err(error) = delivered {
                    return Err(DatapathError::Device {
                        operation: "write",
                        error,
                    });
                }
                // Writes that never wait spend no cooperative budget, and a
                // modem that always has an NTB ready would never let the
                // task's other branches (stop, transmit) run: spend one
                // unit per NTB, so the task yields now and then.
                tokio::task::consume_budget().await;
            }
            Err(TransportError::Disconnected) => return Ok(StopReason::Disconnected),
            Err(TransportError::Stall) => {
                // A halted endpoint fails every transfer until the host
                // clears it; resubmitting alone would spin on stalls.
                counters.rx_error();
                transfer_failures = transfer_failures.saturating_add(1);
                if transfer_failures >= MAX_CONSECUTIVE_FAILURES {
                    return Err(DatapathError::Transport {
                        direction: "IN",
                        error: TransportError::Stall,
                    });
                }
                tracing::warn!("bulk IN stalled: clearing the halt");
                let mut buffers = vec![completion.buffer];
                match recover_from_stall(bulk_in, &mut buffers).await {
                    Ok(()) => {}
                    Err(TransportError::Disconnected) => return Ok(StopReason::Disconnected),
                    Err(error) => {
                        return Err(DatapathError::Transport {
                            direction: "IN",
                            error,
                        })
                    }
                }
                for buffer in buffers {
                    bulk_in.submit(buffer, length);
                }
                continue;
            }
            Err(error) => {
                // A cancelled transfer is only expected while stopping, when
                // this loop is no longer polled; otherwise count it like any
                // other failure and resubmit.
                counters.rx_error();
                transfer_failures = transfer_failures.saturating_add(1);
                if transfer_failures >= MAX_CONSECUTIVE_FAILURES {
                    return Err(DatapathError::Transport {
                        direction: "IN",
                        error,
                    });
                }
                tracing::debug!("bulk IN transfer failed: {}", chain(&error));
            }
        }
        bulk_in.submit(completion.buffer, length);
    }
}

/// Cancels what is still queued on a stalled pipe, collects the buffers
/// into `buffers` (so the pump's set stays whole and allocation-free), and
/// clears the halt.
pub(super) async fn recover_from_stall<P: mbim_transport::Pipe>(
    pipe: &mut P,
    buffers: &mut Vec<Vec<u8>>,
) -> Result<(), TransportError> {
    pipe.cancel_all();
    while pipe.pending() > 0 {
        buffers.push(pipe.next_complete().await.buffer);
    }
    pipe.clear_halt().await
}

/// Writes the datagrams of `ours` in one received NTB to the device (see
/// [`Writer`]); the counters are bumped once per NTB. Only a persistent
/// device failure is an error; a malformed NTB is counted and whatever
/// datagrams came before the damage are still delivered (as Linux's cdc_ncm
/// does).
async fn deliver<D: PacketDevice>(
    block: &[u8],
    ours: NdpSignature,
    device: &D,
    counters: &Counters,
    malformed_log: &mut RateLimit,
    writer: &mut Writer,
    sessions: Option<&SessionTable>,
) -> std::io::Result<()> {
    let ntb = match Ntb::new_checked(block) {
        Ok(ntb) => ntb,
        Err(error) => {
            counters.rx_malformed_ntb();
            if let Some(held) = malformed_log.allow(Instant::now()) {
                tracing::warn!(
                    "malformed NTB of {} bytes dropped: {} ({held} more since the last warning)",
                    block.len(),
                    chain(&error)
                );
            }
            return Ok(());
        }
    };
    let mut written = (0u64, 0u64);
    let mut dropped = 0u64;
    let mut result = Ok(());
    for datagram in ntb.datagrams() {
        let datagram = match datagram {
            Ok(datagram) => datagram,
            Err(error) => {
                counters.rx_malformed_ntb();
                if let Some(held) = malformed_log.allow(Instant::now()) {
                    tracing::warn!(
                        "malformed NTB, rest dropped: {} ({held} more since the last warning)",
                        chain(&error)
                    );
                }
                break;
            }
        };
        if datagram.signature != ours {
            // Another session's: its own device, if one is attached.
            let delivered = match (sessions, datagram.signature) {
                (Some(table), NdpSignature::Ips(id)) => table.deliver(id, datagram.data),
                _ => None,
            };
            match delivered {
                Some(Ok(_)) => {
                    written.0 += 1;
                    written.1 += len64(datagram.data.len());
                }
                _ => dropped += 1,
            }
            continue;
        }
        result = writer
            .datagram(device, datagram.data, &mut written, counters)
            .await;
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = writer.flush(device, &mut written, counters).await;
    }
    counters.rx_packets(written.0, written.1);
    counters.rx_dropped_many(dropped);
    result
}
