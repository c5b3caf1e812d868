//! Modem → host: bulk IN transfers in flight, each completed NTB parsed and
//! its datagrams of our session written to the device one by one.

use super::counters::{Counters, RateLimit};
use super::{DatapathError, Exit, PacketDevice, PumpConfig, StopReason, MAX_CONSECUTIVE_FAILURES};
use crate::logging::chain;
use mbim_protocol::ntb::{NdpSignature, Ntb};
use mbim_transport::{InPipe, TransportError};
use std::time::{Duration, Instant};

/// At most one "malformed NTB" warning per this interval.
const MALFORMED_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Runs the receive half until the transport is gone or keeps failing.
/// Only returns on an exit; the caller races it against its stop signal.
pub(super) async fn run<I: InPipe, D: PacketDevice>(
    bulk_in: &mut I,
    device: &D,
    config: &PumpConfig,
    counters: &Counters,
) -> Exit {
    let length = config.in_transfer_size;
    // Top the queue up to the configured depth; after this every buffer is
    // recycled from its completion, so receiving allocates nothing.
    while bulk_in.pending() < config.in_transfers.max(1) {
        bulk_in.submit(Vec::with_capacity(length), length);
    }
    let ours = NdpSignature::Ips(config.session_id);
    let mut malformed_log = RateLimit::new(MALFORMED_LOG_INTERVAL);
    let mut write_error_log = RateLimit::new(MALFORMED_LOG_INTERVAL);
    let mut transfer_failures = 0u32;
    let mut write_failures = 0u32;
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
                    &mut write_error_log,
                    &mut write_failures,
                )
                .await;
                if let Err(error) = delivered {
                    return Err(DatapathError::Device {
                        operation: "write",
                        error,
                    });
                }
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

/// Writes the datagrams of `ours` in one received NTB to the device. Only a
/// persistent device failure is an error; a malformed NTB is counted and
/// whatever datagrams came before the damage are still delivered (as
/// Linux's cdc_ncm does).
async fn deliver<D: PacketDevice>(
    block: &[u8],
    ours: NdpSignature,
    device: &D,
    counters: &Counters,
    malformed_log: &mut RateLimit,
    write_error_log: &mut RateLimit,
    write_failures: &mut u32,
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
            counters.rx_dropped();
            continue;
        }
        match device.send(datagram.data).await {
            Ok(_) => {
                *write_failures = 0;
                counters.rx_packet(datagram.data.len());
            }
            Err(error) => {
                counters.rx_error();
                *write_failures = write_failures.saturating_add(1);
                if *write_failures >= MAX_CONSECUTIVE_FAILURES {
                    return Err(error);
                }
                if let Some(held) = write_error_log.allow(Instant::now()) {
                    tracing::warn!(
                        "network device write failed: {} ({held} more since the last warning)",
                        chain(&error)
                    );
                }
            }
        }
    }
    Ok(())
}
