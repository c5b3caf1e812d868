//! Modem → host: bulk IN transfers in flight, each completed NTB parsed
//! where the pipe received it (on usbfs, the mapped block the device's data
//! went into) and its datagrams of our session written to the device: one
//! write each, straight from the transfer buffer, on a plain device; on a device with
//! virtio-net framing, coalesced per flow (GRO, mbim-offload's `gro.rs`)
//! into super-packets gathered from the transfer buffer, so a bulk flow
//! costs one write per 64 datagrams.

use super::counters::{len64, Counters, RateLimit};
use super::sessions::SessionTable;
use super::{DatapathError, Exit, PacketDevice, PumpConfig, StopReason, MAX_CONSECUTIVE_FAILURES};
use crate::logging::chain;
use mbim_offload::gro::{Coalescer, MAX_PARTS};
use mbim_offload::segment::ReadFraming;
use mbim_protocol::ntb::{NdpSignature, Ntb};
use mbim_transport::{InPipe, TransportError};
use std::io::IoSlice;
use std::time::{Duration, Instant};

/// At most one "malformed NTB" warning per this interval.
const MALFORMED_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Where an NTB's datagrams go, and what that needs between NTBs.
struct Writer {
    /// With virtio-net framing, the plan of each NTB's writes (kept from
    /// one NTB to the next); a plain device writes each datagram as it
    /// comes.
    coalescer: Option<Coalescer>,
    health: Health,
}

/// Failed writes: counted, warned about now and then, fatal only when
/// they keep failing.
struct Health {
    failures: u32,
    error_log: RateLimit,
}

impl Health {
    fn written(&mut self) {
        self.failures = 0;
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
}

impl Writer {
    /// A writer for a device framed as `framing`; with virtio-net framing
    /// UDP is coalesced too if `udp` (the device takes USO super-packets).
    fn new(framing: ReadFraming, udp: bool) -> Self {
        Writer {
            coalescer: match framing {
                ReadFraming::PlainPacket => None,
                ReadFraming::VirtioNet => Some(Coalescer::new(udp)),
            },
            health: Health {
                failures: 0,
                error_log: RateLimit::new(MALFORMED_LOG_INTERVAL),
            },
        }
    }

    /// Writes one datagram to a plain device, straight from the block.
    async fn datagram<D: PacketDevice>(
        &mut self,
        device: &D,
        data: &[u8],
        written: &mut (u64, u64),
        counters: &Counters,
    ) -> std::io::Result<()> {
        let result = match device.try_send(data) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => device.send(data).await,
            result => result,
        };
        match result {
            Ok(_) => {
                self.health.written();
                written.0 += 1;
                written.1 += len64(data.len());
                Ok(())
            }
            Err(error) => self.health.failed(counters, error),
        }
    }

    /// Writes the coalescer's plan for `block`: one gathered write per
    /// super-packet or lone datagram.
    async fn plan<D: PacketDevice>(
        &mut self,
        device: &D,
        block: &[u8],
        written: &mut (u64, u64),
        counters: &Counters,
    ) -> std::io::Result<()> {
        let Writer { coalescer, health } = self;
        let Some(coalescer) = coalescer else {
            return Ok(());
        };
        coalescer.finish(block);
        for index in 0..coalescer.len() {
            let mut parts = [IoSlice::new(&[]); MAX_PARTS];
            let Some(gathered) = coalescer.gather(block, index, &mut parts) else {
                continue;
            };
            let parts = parts.get(..gathered.parts).unwrap_or_default();
            let result = match device.try_send_vectored(parts) {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                    device.send_vectored(parts).await
                }
                result => result,
            };
            match result {
                Ok(_) => {
                    health.written();
                    written.0 += gathered.datagrams;
                    written.1 += gathered.bytes;
                }
                Err(error) => health.failed(counters, error)?,
            }
        }
        Ok(())
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
        let buffer = bulk_in.buffer(length);
        bulk_in.submit(buffer, length);
    }
    let ours = NdpSignature::Ips(config.session_id);
    let mut malformed_log = RateLimit::new(MALFORMED_LOG_INTERVAL);
    let mut writer = Writer::new(config.framing, device.takes_udp_super_packets());
    let mut transfer_failures = 0u32;
    loop {
        let completion = bulk_in.next_complete().await;
        match completion.status {
            Ok(()) => {
                transfer_failures = 0;
                counters.rx_ntb();
                let delivered = deliver(
                    completion.buffer.as_ref(),
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
    buffers: &mut Vec<P::Buffer>,
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
    if let Some(coalescer) = &mut writer.coalescer {
        coalescer.clear();
    }
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
        match &mut writer.coalescer {
            Some(coalescer) => {
                if !coalescer.push(block, datagram.data) {
                    dropped += 1;
                }
            }
            None => {
                result = writer
                    .datagram(device, datagram.data, &mut written, counters)
                    .await;
                if result.is_err() {
                    break;
                }
            }
        }
    }
    if result.is_ok() {
        result = writer.plan(device, block, &mut written, counters).await;
    }
    counters.rx_packets(written.0, written.1);
    counters.rx_dropped_many(dropped);
    result
}
