//! Pipes for the data-path benchmarks that cost nothing of their own: a
//! bulk OUT that takes every block at once and forgets it, and a bulk IN
//! that completes every transfer with the same prebuilt NTB (what a real
//! modem's DMA costs the host: nothing on its CPU).

use mbim_protocol::ntb::{BuildLimits, NdpSignature, NtbBuilder, NtbFormat, NtbParameters};
use mbim_transport::{Completion, InPipe, OutPipe, Pipe};
use std::hint::black_box;

/// The default scenario's NTB parameters.
pub fn parameters() -> NtbParameters {
    mbim_sim::scenario::Scenario::default_dssa()
        .ntb
        .parameters()
}

/// Bulk OUT that takes every block at once and forgets it.
pub struct NullOut {
    pub done: std::collections::VecDeque<Completion>,
}

impl Pipe for NullOut {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        match self.done.pop_front() {
            Some(completion) => completion,
            None => std::future::pending().await,
        }
    }
    fn pending(&self) -> usize {
        self.done.len()
    }
    fn cancel_all(&mut self) {}
    async fn clear_halt(&mut self) -> Result<(), mbim_transport::TransportError> {
        Ok(())
    }
}

impl OutPipe for NullOut {
    fn submit(&mut self, data: Vec<u8>) {
        black_box(&data);
        self.done.push_back(Completion {
            buffer: data,
            status: Ok(()),
        });
    }
}

/// Bulk IN that completes every transfer with the same NTB.
pub struct ReplayIn {
    pub block: Vec<u8>,
    pub pending: std::collections::VecDeque<Vec<u8>>,
    /// The buffers (by address) that hold the block already.
    pub filled: Vec<usize>,
}

impl Pipe for ReplayIn {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        let Some(mut buffer) = self.pending.pop_front() else {
            return std::future::pending().await;
        };
        // A buffer that already holds the block (it came back from the
        // pump, which never writes into it) is handed over as it is: a
        // modem's DMA costs the host's CPU nothing, and a copy here would
        // be counted as the pump's.
        let at = buffer.as_ptr().addr();
        if buffer.len() != self.block.len() || !self.filled.contains(&at) {
            buffer.clear();
            buffer.extend_from_slice(&self.block);
            self.filled.push(buffer.as_ptr().addr());
        }
        // Let the device's reader run, as a real transfer takes time.
        tokio::task::yield_now().await;
        Completion {
            buffer,
            status: Ok(()),
        }
    }
    fn pending(&self) -> usize {
        self.pending.len()
    }
    fn cancel_all(&mut self) {}
    async fn clear_halt(&mut self) -> Result<(), mbim_transport::TransportError> {
        Ok(())
    }
}

impl InPipe for ReplayIn {
    fn submit(&mut self, buffer: Vec<u8>, _length: usize) {
        self.pending.push_back(buffer);
    }
}

/// A full IN block of `size`-byte packets, as the modem would send it.
pub fn full_block(packet: &[u8]) -> Vec<u8> {
    block_of(std::iter::repeat(packet))
}

/// An IN block of `datagrams` in order, as many as fit, as the modem would
/// send it.
pub fn block_of<'a>(datagrams: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let parameters = parameters();
    let limits = BuildLimits {
        max_size: parameters.in_max_size,
        max_datagrams: 0,
        divisor: parameters.in_divisor,
        remainder: parameters.in_payload_remainder,
        ndp_alignment: parameters.in_alignment,
    };
    let mut builder = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    for datagram in datagrams {
        if builder.push(NdpSignature::Ips(0), datagram).is_err() {
            break;
        }
    }
    builder.finish().unwrap().to_vec()
}
