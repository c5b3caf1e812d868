//! One function's data plane: NTBs in from bulk OUT, NTBs out to bulk IN,
//! the NTB settings the host chose with class requests, and the traffic
//! generator and UDP sink of each session (so each session's traffic is
//! counted on its own).

use super::net::{self, Gateway, Verdict};
pub(crate) use super::network_in::Carried;
use super::network_in::NetworkBlocks;
pub use super::network_in::MAX_READY_BLOCKS;
use crate::control::TrafficSource;
use mbim_protocol::ntb::{
    BuildLimits, NdpSignature, Ntb, NtbBuilder, NtbFormat, NtbParameters, PushError,
};
use mbim_protocol::usb::NtbInputSize;
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

/// Most datagrams waiting for bulk IN (echo replies); beyond it the oldest
/// are dropped, as a modem's buffers are finite and a host may never read.
pub const MAX_QUEUED_DATAGRAMS: usize = 1024;
/// The traffic generator never owes more than this many datagrams: a host
/// that stops reading does not come back to a flood.
pub const MAX_TRAFFIC_BACKLOG: u64 = 4096;
/// Most datagrams from the real network (see [`crate::forward`]) waiting
/// for bulk IN per function, in the blocks built for it; beyond it new
/// ones are dropped, as a full radio bearer drops, and TCP behind it slows
/// down.
pub const MAX_FORWARDED_DATAGRAMS: usize = 512;

/// The real network behind the modem, as the data plane sees it: takes one
/// datagram from the host, saying whether it did.
pub type Uplink<'a> = &'a mut dyn FnMut(&[u8]) -> bool;

/// Counters of one data plane.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct DataCounters {
    /// NTBs received.
    pub ntbs_in: u64,
    /// NTBs refused (malformed, wrong format, data interface off).
    pub ntbs_bad: u64,
    /// NTBs sent.
    pub ntbs_out: u64,
    /// Datagrams received on an active session.
    pub datagrams_in: u64,
    /// Bytes of those.
    pub bytes_in: u64,
    /// Datagrams dropped (no active session, not for the gateway, …).
    pub datagrams_dropped: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Bytes of those.
    pub bytes_out: u64,
    /// Echo replies produced.
    pub echo_replies: u64,
    /// UDP datagrams the sink counted.
    pub sink_packets: u64,
    /// UDP payload bytes the sink counted.
    pub sink_bytes: u64,
    /// UDP datagrams the generator sent.
    pub source_packets: u64,
    /// UDP payload bytes the generator sent.
    pub source_bytes: u64,
    /// Datagrams from the host written to the real network behind the modem.
    pub forwarded_out: u64,
    /// Datagrams from the real network queued for the host.
    pub forwarded_in: u64,
    /// Datagrams the real network could not take, or from it that found the
    /// queue towards the host full or fit no block the host takes.
    pub forward_dropped: u64,
}

/// What one session's UDP sink counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SinkCounters {
    /// UDP datagrams.
    pub packets: u64,
    /// UDP payload bytes.
    pub bytes: u64,
}

/// The traffic generator of a session.
#[derive(Debug, Clone)]
pub(crate) struct Traffic {
    pub(crate) session: u8,
    pub(crate) sink_port: Option<u16>,
    source: Option<Source>,
}

#[derive(Debug, Clone)]
struct Source {
    settings: TrafficSource,
    packet: Vec<u8>,
    started: Instant,
    generated: u64,
}

impl Traffic {
    pub(crate) fn new(
        now: Instant,
        session: u8,
        sink_port: Option<u16>,
        source: Option<TrafficSource>,
        gateway: &Gateway,
    ) -> Result<Self, String> {
        let source = match source {
            None => None,
            Some(settings) => {
                let from = match settings.address {
                    IpAddr::V4(_) => gateway.ipv4.map(IpAddr::V4),
                    IpAddr::V6(_) => gateway.ipv6.map(IpAddr::V6),
                }
                .ok_or("the executor has no gateway of that address family")?;
                let packet = net::udp_packet(
                    from,
                    settings.source_port,
                    settings.address,
                    settings.port,
                    settings.size,
                )
                .ok_or("datagram too long")?;
                Some(Source {
                    settings,
                    packet,
                    started: now,
                    generated: 0,
                })
            }
        };
        Ok(Traffic {
            session,
            sink_port,
            source,
        })
    }

    /// Datagrams owed at `now`.
    fn due(&mut self, now: Instant) -> u64 {
        let Some(source) = &mut self.source else {
            return 0;
        };
        if source.settings.rate == 0 {
            return MAX_TRAFFIC_BACKLOG;
        }
        let elapsed = now.saturating_duration_since(source.started).as_nanos();
        let total = elapsed
            .saturating_mul(u128::from(source.settings.rate))
            .checked_div(1_000_000_000)
            .unwrap_or(0);
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        let owed = total.saturating_sub(source.generated);
        if owed > MAX_TRAFFIC_BACKLOG {
            source.generated = total.saturating_sub(MAX_TRAFFIC_BACKLOG);
            return MAX_TRAFFIC_BACKLOG;
        }
        owed
    }

    /// When the next datagram is due, if it is not due yet.
    fn next_due(&self) -> Option<Instant> {
        let source = self.source.as_ref()?;
        if source.settings.rate == 0 {
            return None;
        }
        let next = u128::from(source.generated.saturating_add(1))
            .saturating_mul(1_000_000_000)
            .checked_div(u128::from(source.settings.rate))?;
        let nanos = u64::try_from(next).ok()?;
        source
            .started
            .checked_add(std::time::Duration::from_nanos(nanos))
    }
}

/// One function's data plane.
#[derive(Debug)]
pub(crate) struct DataPlane {
    parameters: NtbParameters,
    pub(crate) alt_setting: u8,
    pub(crate) format: NtbFormat,
    pub(crate) input_size: NtbInputSize,
    pub(crate) max_datagram_size: u16,
    outgoing: VecDeque<(u8, Vec<u8>)>,
    /// Datagrams from the real network, per session, in the blocks bulk IN
    /// will send.
    network: NetworkBlocks,
    /// The block the gateway's replies and the generators' datagrams are
    /// built in when it is their turn while a block of the network's is
    /// ready (else they join the network's open block), with the shape it
    /// builds.
    local: Option<((NtbFormat, BuildLimits), NtbBuilder)>,
    /// The transfer length of the last bulk IN, which shapes the network's
    /// blocks built before the next.
    in_len: usize,
    /// Whether the local sources go before the next ready block of the
    /// network's: the two take turns while both have something.
    local_turn: bool,
    /// `wSequence` of the next block sent.
    sequence: u16,
    /// Each session's generator and sink, by session id.
    pub(crate) traffic: BTreeMap<u8, Traffic>,
    pub(crate) counters: DataCounters,
    /// What each session's sink counted (the totals are in `counters`).
    pub(crate) sinks: BTreeMap<u8, SinkCounters>,
    /// Blocks of garbage (`send-garbage-ntbs`) that go out before anything else.
    garbage: VecDeque<Vec<u8>>,
    garbage_state: u32,
}

/// Most garbage NTBs queued at once; more are refused.
pub const MAX_QUEUED_GARBAGE_NTBS: usize = 64;

impl DataPlane {
    pub(crate) fn new(parameters: NtbParameters, max_segment_size: u16) -> Self {
        DataPlane {
            parameters,
            alt_setting: 0,
            format: NtbFormat::Ntb16,
            input_size: NtbInputSize {
                max_size: parameters.in_max_size,
                max_datagrams: None,
            },
            max_datagram_size: max_segment_size,
            outgoing: VecDeque::new(),
            network: NetworkBlocks::default(),
            local: None,
            in_len: usize::MAX,
            local_turn: false,
            sequence: 0,
            traffic: BTreeMap::new(),
            counters: DataCounters::default(),
            sinks: BTreeMap::new(),
            garbage: VecDeque::new(),
            garbage_state: 0x9E37_79B9,
        }
    }

    /// Queues `count` blocks that are no NTB for bulk IN: pseudo-random
    /// bytes, every other one behind a valid NTH16 signature with broken
    /// lengths, so both the signature check and the length checks are hit.
    pub(crate) fn queue_garbage(&mut self, count: usize) -> Result<(), String> {
        if self.garbage.len().saturating_add(count) > MAX_QUEUED_GARBAGE_NTBS {
            return Err(format!(
                "at most {MAX_QUEUED_GARBAGE_NTBS} garbage NTBs queued at once"
            ));
        }
        for index in 0..count {
            let mut state = self.garbage_state;
            let len = 12 + usize::from(state.to_le_bytes()[0]);
            let mut block: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state.to_le_bytes()[0]
                })
                .collect();
            self.garbage_state = state;
            if index % 2 == 0 {
                if let Some(head) = block.get_mut(..4) {
                    head.copy_from_slice(b"NCMH");
                }
            }
            self.garbage.push_back(block);
        }
        Ok(())
    }

    /// Back to the state after SET_CONFIGURATION.
    pub(crate) fn reset(&mut self) {
        let counters = self.counters;
        let traffic = std::mem::take(&mut self.traffic);
        let sinks = std::mem::take(&mut self.sinks);
        *self = DataPlane::new(self.parameters, self.max_datagram_size);
        self.counters = counters;
        self.traffic = traffic;
        self.sinks = sinks;
    }

    /// SET_INTERFACE on the data interface; alt 0 drops what is queued.
    pub(crate) fn set_alt_setting(&mut self, alt: u8) {
        self.alt_setting = alt;
        if alt == 0 {
            self.outgoing.clear();
            self.network.clear();
            if let Some((_, local)) = &mut self.local {
                local.reset();
            }
        }
    }

    /// Bytes and datagrams queued for bulk IN.
    pub(crate) fn queued(&self) -> (usize, usize) {
        let garbage: usize = self.garbage.iter().map(Vec::len).sum();
        let network = self.network.bytes();
        (
            self.outgoing
                .iter()
                .map(|(_, datagram)| datagram.len())
                .sum::<usize>()
                + garbage
                + network,
            self.outgoing.len() + self.garbage.len() + self.network.datagrams(),
        )
    }

    /// Drops queued datagrams of a session that went down.
    pub(crate) fn drop_session(&mut self, session: u8) {
        self.outgoing.retain(|(queued, _)| *queued != session);
        self.network.drop_session(session);
    }

    /// Room left in the queue of datagrams from the real network, `None`
    /// while the data interface is off (nothing is queued then); none
    /// while as many blocks as may wait are finished.
    pub(crate) fn network_room(&self) -> Option<usize> {
        (self.alt_setting != 0).then(|| {
            if self.network.is_full() {
                0
            } else {
                MAX_FORWARDED_DATAGRAMS.saturating_sub(self.network.datagrams())
            }
        })
    }

    /// A datagram of `len` bytes from the real network for `session`,
    /// written by `fill` straight into its place in the block bulk IN will
    /// send (a segment of a super-packet is cut there, not into a buffer
    /// of its own first); `false` (counted as dropped) when the data
    /// interface is off, the queue is full, no block the host takes can
    /// carry it or `fill` fails. `fill` is called at most once.
    pub(crate) fn push_network(
        &mut self,
        session: u8,
        len: usize,
        fill: impl FnMut(&mut [u8]) -> bool,
    ) -> bool {
        if self.alt_setting == 0 || self.network.datagrams() >= MAX_FORWARDED_DATAGRAMS {
            self.counters.forward_dropped = self.counters.forward_dropped.saturating_add(1);
            return false;
        }
        if self.network.shape().is_none() {
            // Before the first transfer: blocks as large as the host takes.
            let limits = self.limits(self.in_len);
            if let Ok(dropped) = self.network.reshape(self.format, limits) {
                self.count_forward_dropped(dropped);
            }
        }
        if !self.network.push(session, len, fill) {
            self.counters.forward_dropped = self.counters.forward_dropped.saturating_add(1);
            return false;
        }
        self.counters.forwarded_in = self.counters.forwarded_in.saturating_add(1);
        true
    }

    /// The shape blocks of the real network's datagrams are built in now
    /// and its generation (see [`NetworkBlocks::hand_over`]), set as
    /// [`push_network`](Self::push_network) sets it before the first
    /// transfer; `None` while the data interface is off or no block can be
    /// built under the host's settings.
    pub(crate) fn network_shape(&mut self) -> Option<(u64, NtbFormat, BuildLimits)> {
        if self.alt_setting == 0 {
            return None;
        }
        if self.network.shape().is_none() {
            let limits = self.limits(self.in_len);
            if let Ok(dropped) = self.network.reshape(self.format, limits) {
                self.count_forward_dropped(dropped);
            }
        }
        let (format, limits) = self.network.shape()?;
        Some((self.network.generation(), format, limits))
    }

    /// A block of datagrams from the real network carrying `carried`,
    /// finished outside the model under the shape of `generation`,
    /// queued for bulk IN as it is, `block` trading buffers with a spare;
    /// `false`, nothing changed, when it may not go as it is (the data
    /// interface off, the shape changed since, or the bounds on what is
    /// pending would be passed): the caller lays its datagrams out again,
    /// one by one through [`push_network`](Self::push_network).
    pub(crate) fn hand_over_network(
        &mut self,
        generation: u64,
        block: &mut Vec<u8>,
        carried: Carried,
    ) -> bool {
        if self.alt_setting == 0
            || self.network.datagrams().saturating_add(carried.datagrams) > MAX_FORWARDED_DATAGRAMS
            || !self.network.hand_over(generation, block, carried)
        {
            return false;
        }
        self.counters.forwarded_in = self
            .counters
            .forwarded_in
            .saturating_add(u64::try_from(carried.datagrams).unwrap_or(u64::MAX));
        true
    }

    /// Counts `dropped` datagrams from the real network as dropped.
    pub(crate) fn count_forward_dropped(&mut self, dropped: usize) {
        self.counters.forward_dropped = self
            .counters
            .forward_dropped
            .saturating_add(u64::try_from(dropped).unwrap_or(u64::MAX));
    }

    /// An NTB from bulk OUT. `gateway` gives, per session id, the session's
    /// gateway if the session is active. With an `uplink` (a real network
    /// behind the modem), datagrams of an active session that are not for
    /// the gateway itself go to it, straight from the NTB; it says whether
    /// it took the datagram.
    pub(crate) fn bulk_out(
        &mut self,
        ntb: &[u8],
        gateway: &dyn Fn(u8) -> Option<Gateway>,
        mut uplink: Option<Uplink<'_>>,
    ) {
        self.counters.ntbs_in = self.counters.ntbs_in.saturating_add(1);
        if self.alt_setting == 0 {
            self.counters.ntbs_bad = self.counters.ntbs_bad.saturating_add(1);
            return;
        }
        let Ok(parsed) = Ntb::new_checked(ntb) else {
            self.counters.ntbs_bad = self.counters.ntbs_bad.saturating_add(1);
            return;
        };
        if parsed.format() != self.format {
            // NCM 1.0 §6.2.5: the host selected the format; the other is an error.
            self.counters.ntbs_bad = self.counters.ntbs_bad.saturating_add(1);
            return;
        }
        for datagram in parsed.datagrams() {
            let Ok(datagram) = datagram else {
                self.counters.ntbs_bad = self.counters.ntbs_bad.saturating_add(1);
                break;
            };
            let NdpSignature::Ips(session) = datagram.signature else {
                self.counters.datagrams_dropped = self.counters.datagrams_dropped.saturating_add(1);
                continue;
            };
            let Some(mut gw) = gateway(session) else {
                self.counters.datagrams_dropped = self.counters.datagrams_dropped.saturating_add(1);
                continue;
            };
            self.counters.datagrams_in = self.counters.datagrams_in.saturating_add(1);
            self.counters.bytes_in = self
                .counters
                .bytes_in
                .saturating_add(u64::try_from(datagram.data.len()).unwrap_or(u64::MAX));
            if let Some(uplink) = uplink.as_mut() {
                if !net::for_gateway(datagram.data, &gw) {
                    if uplink(datagram.data) {
                        self.counters.forwarded_out = self.counters.forwarded_out.saturating_add(1);
                    } else {
                        self.counters.forward_dropped =
                            self.counters.forward_dropped.saturating_add(1);
                    }
                    continue;
                }
            }
            gw.sink_port = self
                .traffic
                .get(&session)
                .and_then(|traffic| traffic.sink_port);
            match net::handle(datagram.data, &gw) {
                Verdict::Reply(reply) => {
                    self.counters.echo_replies = self.counters.echo_replies.saturating_add(1);
                    self.queue(session, reply);
                }
                Verdict::Sink(bytes) => {
                    let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
                    self.counters.sink_packets = self.counters.sink_packets.saturating_add(1);
                    self.counters.sink_bytes = self.counters.sink_bytes.saturating_add(bytes);
                    let sink = self.sinks.entry(session).or_default();
                    sink.packets = sink.packets.saturating_add(1);
                    sink.bytes = sink.bytes.saturating_add(bytes);
                }
                Verdict::Drop => {
                    self.counters.datagrams_dropped =
                        self.counters.datagrams_dropped.saturating_add(1);
                }
            }
        }
    }

    fn queue(&mut self, session: u8, datagram: Vec<u8>) {
        if self.outgoing.len() >= MAX_QUEUED_DATAGRAMS {
            self.outgoing.pop_front();
            self.counters.datagrams_dropped = self.counters.datagrams_dropped.saturating_add(1);
        }
        self.outgoing.push_back((session, datagram));
    }

    /// Whether bulk IN has something now.
    pub(crate) fn has_pending(&mut self, now: Instant, session_up: &dyn Fn(u8) -> bool) -> bool {
        if self.alt_setting == 0 {
            return false;
        }
        if !self.outgoing.is_empty() || !self.garbage.is_empty() || self.network.datagrams() > 0 {
            return true;
        }
        self.traffic
            .values_mut()
            .any(|traffic| session_up(traffic.session) && traffic.due(now) > 0)
    }

    /// When the next traffic generator of a session that is up has
    /// something.
    pub(crate) fn poll_timeout(&self, session_up: &dyn Fn(u8) -> bool) -> Option<Instant> {
        if self.alt_setting == 0 {
            return None;
        }
        self.traffic
            .values()
            .filter(|traffic| session_up(traffic.session))
            .filter_map(Traffic::next_due)
            .min()
    }

    fn limits(&self, max_len: usize) -> BuildLimits {
        let host_max = self.input_size.max_size.min(self.parameters.in_max_size);
        BuildLimits {
            max_size: host_max.min(u32::try_from(max_len).unwrap_or(u32::MAX)),
            max_datagrams: self.input_size.max_datagrams.unwrap_or(0),
            divisor: self.parameters.in_divisor,
            remainder: self.parameters.in_payload_remainder,
            ndp_alignment: self.parameters.in_alignment,
        }
    }

    /// The next NTB for bulk IN, at most `max_len` bytes, into `out` (the
    /// host's transfer buffer: its allocation is kept for a later block,
    /// its contents are replaced); `false`, `out` untouched, when nothing
    /// waits.
    ///
    /// Garbage goes first. Then the network's oldest ready block as it
    /// is; or, when none is ready, its open block with the gateway's
    /// replies and the generators' datagrams added. While the network has
    /// ready blocks and the local sources have something, the two take
    /// turns, a block each, so neither starves the other.
    pub(crate) fn bulk_in_into(
        &mut self,
        now: Instant,
        max_len: usize,
        session_up: &dyn Fn(u8) -> bool,
        out: &mut Vec<u8>,
    ) -> bool {
        if !self.has_pending(now, session_up) {
            return false;
        }
        if let Some(mut block) = self.garbage.pop_front() {
            block.truncate(max_len);
            *out = block;
            return true;
        }
        let shape = (self.format, self.limits(max_len));
        // A shape no block can be built under sends nothing, and keeps
        // what is pending for a transfer that takes one.
        if self.network.shape() != Some(shape) {
            match self.network.reshape(shape.0, shape.1) {
                Ok(dropped) => self.count_forward_dropped(dropped),
                Err(_) => return false,
            }
        }
        self.in_len = max_len;
        if self.network.has_ready() {
            let local_due = !self.outgoing.is_empty() || self.traffic_due(now, session_up);
            if self.local_turn && local_due {
                self.local_turn = false;
                // A block of the modem's own (its builder made the first
                // time: most functions never need it); should nothing of
                // theirs fit after all, the network's block goes now instead.
                if self.local.as_ref().map(|(built, _)| *built) != Some(shape) {
                    self.local = NtbBuilder::new(shape.0, shape.1)
                        .ok()
                        .map(|local| (shape, local));
                }
                if let Some((_, local)) = self.local.as_mut() {
                    add_local(
                        local,
                        &mut self.outgoing,
                        &mut self.traffic,
                        &mut self.counters,
                        now,
                        session_up,
                    );
                    if local.finish_into(out) {
                        self.sent(out);
                        return true;
                    }
                }
            }
            if let Some(carried) = self.network.take_ready(out) {
                self.local_turn = true;
                self.count_network_out(carried);
                self.sent(out);
                return true;
            }
        }
        // Nothing of the network's is older than its open block: that one
        // goes, with the modem's own datagrams added as far as they fit.
        self.local_turn = false;
        let Some((open, carried)) = self.network.take_open() else {
            return false;
        };
        add_local(
            open,
            &mut self.outgoing,
            &mut self.traffic,
            &mut self.counters,
            now,
            session_up,
        );
        let finished = open.finish_into(out);
        self.count_network_out(carried);
        if finished {
            self.sent(out);
        }
        finished
    }

    /// Whether a generator of a session that is up owes a datagram.
    fn traffic_due(&mut self, now: Instant, session_up: &dyn Fn(u8) -> bool) -> bool {
        self.traffic
            .values_mut()
            .any(|traffic| session_up(traffic.session) && traffic.due(now) > 0)
    }

    fn count_network_out(&mut self, carried: Carried) {
        let counters = &mut self.counters;
        counters.datagrams_out = counters
            .datagrams_out
            .saturating_add(u64::try_from(carried.datagrams).unwrap_or(u64::MAX));
        counters.bytes_out = counters
            .bytes_out
            .saturating_add(u64::try_from(carried.bytes).unwrap_or(u64::MAX));
    }

    /// A block goes out: it gets the function's next `wSequence` (blocks
    /// are finished in more than one builder and not in the order they are
    /// sent, so the number is set here) and is counted.
    fn sent(&mut self, block: &mut [u8]) {
        // wSequence follows the signature and wHeaderLength in NTH16 and
        // NTH32 alike.
        if let Some(sequence) = block.get_mut(6..8) {
            sequence.copy_from_slice(&self.sequence.to_le_bytes());
        }
        self.sequence = self.sequence.wrapping_add(1);
        self.counters.ntbs_out = self.counters.ntbs_out.saturating_add(1);
    }
}

/// Adds what the modem itself has for the host to `builder`, as far as it
/// fits: the gateway's replies first, then what each generator of a
/// session that is up owes.
fn add_local(
    builder: &mut NtbBuilder,
    outgoing: &mut VecDeque<(u8, Vec<u8>)>,
    traffic: &mut BTreeMap<u8, Traffic>,
    counters: &mut DataCounters,
    now: Instant,
    session_up: &dyn Fn(u8) -> bool,
) {
    while let Some((session, datagram)) = outgoing.front() {
        match builder.push(NdpSignature::Ips(*session), datagram) {
            Ok(()) => {
                counters.datagrams_out = counters.datagrams_out.saturating_add(1);
                counters.bytes_out = counters
                    .bytes_out
                    .saturating_add(u64::try_from(datagram.len()).unwrap_or(u64::MAX));
                outgoing.pop_front();
            }
            Err(PushError::Full) => break,
            Err(PushError::TooBig { .. } | PushError::Empty) => {
                counters.datagrams_dropped = counters.datagrams_dropped.saturating_add(1);
                outgoing.pop_front();
            }
        }
    }
    for traffic in traffic.values_mut() {
        if !session_up(traffic.session) {
            continue;
        }
        let mut due = traffic.due(now);
        let session = traffic.session;
        let Some(source) = &mut traffic.source else {
            continue;
        };
        while due > 0 {
            match builder.push(NdpSignature::Ips(session), &source.packet) {
                Ok(()) => {
                    due = due.saturating_sub(1);
                    source.generated = source.generated.saturating_add(1);
                    counters.source_packets = counters.source_packets.saturating_add(1);
                    counters.source_bytes = counters
                        .source_bytes
                        .saturating_add(u64::try_from(source.settings.size).unwrap_or(u64::MAX));
                    counters.datagrams_out = counters.datagrams_out.saturating_add(1);
                    counters.bytes_out = counters
                        .bytes_out
                        .saturating_add(u64::try_from(source.packet.len()).unwrap_or(u64::MAX));
                }
                Err(PushError::Full) => break,
                Err(PushError::TooBig { .. } | PushError::Empty) => {
                    // It will never fit: stop generating rather than spin.
                    traffic.source = None;
                    break;
                }
            }
        }
    }
}
