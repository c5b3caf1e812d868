//! Modem → host with offloads: the datagrams of one NTB coalesced per flow
//! (GRO) into super-packets, straight from the block they arrived in.
//!
//! A [`Coalescer`] is given an NTB's datagrams in order ([`push`]) and
//! plans the device writes: each consecutive run of one flow's datagrams
//! that may be merged becomes one write of a `virtio_net_hdr`, the first
//! datagram's headers (lengths, IPv4 header checksum and TCP flags made the
//! super-packet's) and every datagram's payload; anything else is written
//! alone behind a plain header. A write is a gather list
//! ([`Coalescer::gather`]): the headers from the coalescer's own buffer, the
//! payloads from the block itself, so no payload is copied in user space
//! (the kernel's copy into its buffer is the one every write makes).
//!
//! What may be merged is what Linux's own GRO merges (`inet_gro_receive`,
//! `ipv6_gro_receive`, `tcp_gro_receive`, `udp_gro_receive_segment`), as
//! wireguard-go's and tun-rs's tables also do:
//!
//! * the same flow: IP version, addresses, protocol and ports;
//! * IPv4 without options or fragmentation, with the same ToS, TTL and DF
//!   bit, and IDs that count up by one per datagram (or, with DF, all the
//!   same); IPv6 without extension headers, with the same traffic class,
//!   flow label and hop limit; both with a length field that matches;
//! * TCP: flags ACK or ACK|PSH (PSH ends the super-packet), the next
//!   sequence number, the same acknowledgement number, window, header
//!   length and options, and some payload;
//! * UDP, only where the kernel takes UDP super-packets (USO): a length
//!   field that matches, a checksum (0, "none", is not merged), some
//!   payload;
//! * every segment as long as the first but the last, which may be shorter
//!   and ends the super-packet; at most [`MAX_SEGMENTS`] segments (the
//!   kernel's `UDP_GRO_CNT_MAX`) and 65535 bytes of IP packet;
//! * checksums right: the kernel trusts a super-packet's (`NEEDS_CSUM`: the
//!   checksum field holds the pseudo-header sum only), so each datagram's
//!   transport checksum, and IPv4 header checksum, is checked before it is
//!   merged. A datagram that fails goes alone, and the kernel drops it.
//!
//! A datagram that cannot be merged closes its flow's run first, so a
//! flow's datagrams reach the kernel in the order they came: the run's
//! write comes at the place of its first datagram, and nothing of the flow
//! joins it after the one that could not. Different flows may be written
//! in another order than they came, as Linux's GRO does too.
//!
//! Nothing is allocated per datagram: the plan's storage is kept from one
//! NTB to the next and only grows when a block holds more than any before.
//!
//! [`push`]: Coalescer::push

use super::checksum;
use super::segment::{GSO_TCPV4, GSO_TCPV6, GSO_UDP_L4, NEEDS_CSUM, TCP_PSH};
use std::io::IoSlice;
use tun_rs::{VirtioNetHdr, VIRTIO_NET_HDR_LEN};

/// The most datagrams merged into one super-packet: Linux's
/// `UDP_GRO_CNT_MAX` (it refuses more in a UDP super-packet), used for TCP
/// too so a gather list has a bound.
pub const MAX_SEGMENTS: usize = 64;

/// The longest gather list a write needs: the headers and one part per
/// segment.
pub const MAX_PARTS: usize = MAX_SEGMENTS + 1;

/// Flows with a run open at once; beyond it the oldest run is closed (as
/// Linux keeps `MAX_GRO_SKBS` per queue).
const MAX_OPEN: usize = 8;

/// The longest IP header merged (IPv6's; IPv4 with options is not merged)
/// and transport header (TCP with 40 bytes of options).
const MAX_HEADERS: usize = 40 + 60;

/// The longest super-packet, IP header included: the IPv4 total length's
/// bound, used for IPv6 too.
const MAX_SUPER_PACKET: usize = 65535;

/// The header before a datagram written as it is.
const PLAIN: [u8; VIRTIO_NET_HDR_LEN] = [0; VIRTIO_NET_HDR_LEN];

const TCP: u8 = 6;
const UDP: u8 = 17;
const TCP_ACK: u8 = 0x10;
const IPV4_DF: u8 = 0x40;

/// What makes datagrams one flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct FlowKey {
    version: u8,
    protocol: u8,
    /// Source then destination address (IPv4's in the first 8 bytes).
    addresses: [u8; 32],
    /// Source then destination port.
    ports: [u8; 4],
}

impl FlowKey {
    /// The key of `packet`, whose flow is `flow`.
    fn of(packet: &[u8], flow: Flow) -> FlowKey {
        let mut key = FlowKey {
            version: flow.version,
            protocol: flow.protocol,
            ..FlowKey::default()
        };
        if let (Some(addresses), Some(ports)) =
            (addresses(packet, flow.version), ports(packet, flow))
        {
            if let Some(into) = key.addresses.get_mut(..addresses.len()) {
                into.copy_from_slice(addresses);
            }
            key.ports = *ports;
        }
        key
    }

    /// Whether `packet` (of `flow`) is of this flow; read from the packet
    /// in place, not copied into a key first, as this is asked of every
    /// datagram.
    fn matches(&self, packet: &[u8], flow: Flow) -> bool {
        self.version == flow.version
            && self.protocol == flow.protocol
            && ports(packet, flow) == Some(&self.ports)
            && self.addresses_match(packet)
    }

    fn addresses_match(&self, packet: &[u8]) -> bool {
        if self.version == 4 {
            packet.get(12..).and_then(<[u8]>::first_chunk::<8>) == self.addresses.first_chunk::<8>()
        } else {
            packet.get(8..).and_then(<[u8]>::first_chunk::<32>) == Some(&self.addresses)
        }
    }
}

/// The source and destination addresses of an IP packet of `version`.
fn addresses(packet: &[u8], version: u8) -> Option<&[u8]> {
    if version == 4 {
        packet.get(12..20)
    } else {
        packet.get(8..40)
    }
}

/// The source and destination ports of a packet of `flow`.
fn ports(packet: &[u8], flow: Flow) -> Option<&[u8; 4]> {
    packet.get(flow.ip_len..)?.first_chunk::<4>()
}

/// Where a datagram's flow can be read: IP version, transport protocol and
/// where the transport header (its ports) starts.
#[derive(Debug, Clone, Copy)]
struct Flow {
    version: u8,
    protocol: u8,
    ip_len: usize,
}

/// How a datagram may be treated.
enum Class {
    /// It may join a run of its flow.
    Candidate(Candidate),
    /// It goes alone, after whatever its flow's open run holds.
    Flow(Flow),
    /// It goes alone, after every open run between its addresses (of this
    /// IP version; its ports cannot be read: a fragment, IPv6 extension
    /// headers).
    Addresses(u8),
    /// It goes alone; no run holds anything it must follow.
    Unrelated,
}

/// A datagram that may be merged, as far as it alone can tell.
#[derive(Clone, Copy)]
struct Candidate {
    flow: Flow,
    /// The IP header's length: 20 or 40.
    ip_len: usize,
    /// IP and transport headers.
    header_len: usize,
    payload: usize,
    /// TCP: the sequence number and whether PSH is set.
    seq: u32,
    psh: bool,
}

/// One flow's run of datagrams to be written as one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Run {
    key: FlowKey,
    /// The first datagram in the block: its headers become the
    /// super-packet's.
    first_at: usize,
    first_len: usize,
    ip_len: usize,
    header_len: usize,
    /// The first datagram's payload length: every segment's but the last.
    gso_size: usize,
    /// Segments so far, and the first and last of them in `segments`.
    count: usize,
    head: usize,
    tail: usize,
    /// The IP length of the super-packet so far.
    total: usize,
    /// The datagrams' own bytes, for the counters.
    bytes: u64,
    next_seq: u32,
    /// Nothing may join any more (a short segment or PSH came).
    ended: bool,
    psh: bool,
    /// IPv4 with DF whose datagrams all carry the same ID.
    fixed_id: bool,
    /// The first datagram's checksums were checked.
    verified: bool,
    /// The pseudo-header's addresses and protocol, summed.
    address_sum: u32,
    /// Where the sealed headers are in `Coalescer::headers`.
    header_at: usize,
}

/// One segment's payload in the block, and the next of its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    at: usize,
    len: usize,
    next: usize,
}

/// One planned write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// A datagram written as it is.
    Alone { at: usize, len: usize },
    /// A run (alone too if it holds one datagram).
    Run(usize),
}

/// What one write holds (see [`Coalescer::gather`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gathered {
    /// The parts of the gather list used.
    pub parts: usize,
    /// The datagrams it carries.
    pub datagrams: u64,
    /// Their bytes, as they came.
    pub bytes: u64,
}

/// Plans an NTB's device writes with datagrams coalesced per flow; see the
/// [module documentation](self).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Coalescer {
    /// Whether UDP may be merged (the device takes USO super-packets).
    udp: bool,
    writes: Vec<Write>,
    /// Runs of this block (`runs[..used]`); kept, with their storage,
    /// from one block to the next.
    runs: Vec<Run>,
    used: usize,
    segments: Vec<Segment>,
    /// Runs still open, oldest first.
    open: Vec<usize>,
    /// The sealed headers of merged runs, each `virtio_net_hdr` and IP and
    /// transport headers.
    headers: Vec<u8>,
}

impl Coalescer {
    /// A coalescer merging TCP, and UDP too if `udp` (the device was opened
    /// with USO).
    pub fn new(udp: bool) -> Self {
        Coalescer {
            udp,
            open: Vec::with_capacity(MAX_OPEN),
            ..Coalescer::default()
        }
    }

    /// Forgets the last block's plan, keeping its storage.
    pub fn clear(&mut self) {
        self.writes.clear();
        self.used = 0;
        self.segments.clear();
        self.open.clear();
        self.headers.clear();
    }

    /// Adds the next datagram of `block` to the plan. `false` (nothing
    /// planned) if `datagram` is not a part of `block`.
    pub fn push(&mut self, block: &[u8], datagram: &[u8]) -> bool {
        let Some(at) = offset_in(block, datagram) else {
            return false;
        };
        if !self.join_open_run(block, at, datagram) {
            self.plan_classified(block, at, datagram);
        }
        true
    }

    /// `push` by the full rules: the datagram classified, then joined to
    /// its flow's open run, starting one, or alone.
    // Out of line: a bulk flow's datagrams rarely come here, and in line
    // its code made `push` a large frame that the quick join paid for.
    #[inline(never)]
    fn plan_classified(&mut self, block: &[u8], at: usize, datagram: &[u8]) {
        let len = datagram.len();
        match classify(datagram, self.udp) {
            Class::Candidate(candidate) => self.offer(block, at, datagram, candidate),
            Class::Flow(flow) => {
                if let Some(slot) = self.find_open(datagram, flow) {
                    self.open.remove(slot);
                }
                self.writes.push(Write::Alone { at, len });
            }
            Class::Addresses(version) => {
                let runs = &self.runs;
                self.open.retain(|&run| {
                    runs.get(run).is_none_or(|run| {
                        run.key.version != version || !run.key.addresses_match(datagram)
                    })
                });
                self.writes.push(Write::Alone { at, len });
            }
            Class::Unrelated => self.writes.push(Write::Alone { at, len }),
        }
    }

    /// Ends the plan: every merged run's headers made the super-packet's.
    /// [`gather`](Self::gather) is right only after it.
    pub fn finish(&mut self, block: &[u8]) {
        self.open.clear();
        for index in 0..self.used {
            let Some(run) = self.runs.get_mut(index) else {
                break;
            };
            if run.count > 1 {
                run.header_at = self.headers.len();
                seal(run, block, &mut self.headers);
            }
        }
    }

    /// How many writes the plan holds.
    pub fn len(&self) -> usize {
        self.writes.len()
    }

    /// Whether the plan holds no write.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Write `index` of the plan as a gather list into `parts`: a
    /// `virtio_net_hdr` and a datagram or super-packet. `None` past the
    /// last write.
    pub fn gather<'a>(
        &'a self,
        block: &'a [u8],
        index: usize,
        parts: &mut [IoSlice<'a>; MAX_PARTS],
    ) -> Option<Gathered> {
        let run = match *self.writes.get(index)? {
            Write::Alone { at, len } => return alone(block, at, len, parts),
            Write::Run(run) => self.runs.get(run)?,
        };
        if run.count < 2 {
            return alone(block, run.first_at, run.first_len, parts);
        }
        let header_end = run.header_at + VIRTIO_NET_HDR_LEN + run.header_len;
        let (first, rest) = parts.split_first_mut()?;
        *first = IoSlice::new(self.headers.get(run.header_at..header_end)?);
        // A run's segments are listed in the order they were pushed, so
        // their indices only grow: as many of them as the indices from head
        // to tail means they are exactly those, which is every run of a
        // block with one flow, read in one sweep instead of link by link.
        if run.tail.checked_sub(run.head) == Some(run.count - 1) {
            let segments = self.segments.get(run.head..=run.tail)?;
            for (part, &Segment { at, len, .. }) in rest.iter_mut().zip(segments) {
                *part = IoSlice::new(block.get(at..at + len)?);
            }
        } else {
            let mut segment = run.head;
            for part in rest.iter_mut().take(run.count) {
                let Segment { at, len, next } = *self.segments.get(segment)?;
                *part = IoSlice::new(block.get(at..at + len)?);
                segment = next;
            }
        }
        Some(Gathered {
            parts: run.count + 1,
            datagrams: u64::try_from(run.count).unwrap_or(u64::MAX),
            bytes: run.bytes,
        })
    }

    /// The common case first: `datagram` joins an open run of two or more
    /// datagrams. Its headers are compared with the run's first datagram's
    /// in one masked pass (`HEADER_MASKS`: whatever must be equal is, which
    /// also says it is the run's flow), then the few fields that must
    /// differ as they should (lengths, IPv4 ID, TCP sequence number) and
    /// its checksums are checked. `true` if it joined; anything else (not
    /// a run's, a rule broken, a bad checksum) is left to
    /// [`plan_classified`](Self::plan_classified), which decides as if this
    /// had not been tried (the unit tests hold the two to the same
    /// decisions).
    // In line with `append`: this is the path of nearly every datagram of a
    // bulk flow, and the calls cost 2-4 ns of its 16-19 over the floor
    // (the `gro` bench, 2026-12-07).
    #[inline(always)]
    fn join_open_run(&mut self, block: &[u8], at: usize, datagram: &[u8]) -> bool {
        let len = datagram.len();
        // The run's index, not its slot in `open`: it is all `append`
        // needs, so the run is looked up once.
        let Some(index) = self.open.iter().rev().copied().find(|&index| {
            self.runs.get(index).is_some_and(|run| {
                run.count >= 2
                    && len > run.header_len
                    && block
                        .get(run.first_at..run.first_at + run.header_len)
                        .is_some_and(|first| {
                            headers_agree(first, datagram, run.key.version, run.key.protocol)
                        })
            })
        }) else {
            return false;
        };
        let Some(run) = self.runs.get(index) else {
            return false;
        };
        let payload = len - run.header_len;
        let ip = run.ip_len;
        if run.ended
            || run.count >= MAX_SEGMENTS
            || payload > run.gso_size
            || run.total + payload > MAX_SUPER_PACKET
        {
            return false;
        }
        let lengths_right = if run.key.version == 4 {
            let id = read16(datagram, 4).wrapping_sub(read16(block, run.first_at + 4));
            let expected = if run.fixed_id {
                0
            } else {
                u16::try_from(run.count).unwrap_or(u16::MAX)
            };
            usize::from(read16(datagram, 2)) == len && id == expected
        } else {
            40 + usize::from(read16(datagram, 4)) == len
        };
        if !lengths_right {
            return false;
        }
        // UDP has none; 0, as `classify` says.
        let seq = if run.key.protocol == TCP {
            read32(datagram, ip + 4)
        } else {
            0
        };
        let transport_right = if run.key.protocol == TCP {
            seq == run.next_seq
        } else {
            usize::from(read16(datagram, ip + 4)) == len - ip && read16(datagram, ip + 6) != 0
        };
        if !transport_right || !checksums_valid(datagram, ip, run.address_sum) {
            return false;
        }
        let psh = run.key.protocol == TCP
            && datagram
                .get(ip + 13)
                .is_some_and(|flags| flags & TCP_PSH != 0);
        let candidate = Candidate {
            flow: Flow {
                version: run.key.version,
                protocol: run.key.protocol,
                ip_len: ip,
            },
            ip_len: ip,
            header_len: run.header_len,
            payload,
            seq,
            psh,
        };
        self.append(index, at, len, &candidate);
        true
    }

    /// The slot in `open` of the run of `datagram`'s flow, if one is open.
    /// The newest first: a bulk flow's run is the one most often asked for.
    fn find_open(&self, datagram: &[u8], flow: Flow) -> Option<usize> {
        self.open.iter().rposition(|&run| {
            self.runs
                .get(run)
                .is_some_and(|run| run.key.matches(datagram, flow))
        })
    }

    /// A candidate datagram: joins its flow's open run, or starts one.
    fn offer(&mut self, block: &[u8], at: usize, datagram: &[u8], candidate: Candidate) {
        if let Some(slot) = self.find_open(datagram, candidate.flow) {
            let joined = match self
                .open
                .get(slot)
                .and_then(|&index| self.runs.get_mut(index))
            {
                Some(run) => join(run, block, datagram, &candidate),
                None => Join::No,
            };
            match joined {
                Join::Joined => {
                    if let Some(&index) = self.open.get(slot) {
                        self.append(index, at, datagram.len(), &candidate);
                    }
                    return;
                }
                Join::No | Join::BadFirst => {
                    self.open.remove(slot);
                }
                Join::BadThis => {
                    self.open.remove(slot);
                    self.writes.push(Write::Alone {
                        at,
                        len: datagram.len(),
                    });
                    return;
                }
            }
        }
        self.start(at, datagram, &candidate);
    }

    /// `candidate`, at `at` in the block and `len` bytes long, joins run
    /// `index` (its joining already decided).
    #[inline(always)]
    fn append(&mut self, index: usize, at: usize, len: usize, candidate: &Candidate) {
        let segment = self.segments.len();
        self.segments.push(Segment {
            at: at + candidate.header_len,
            len: candidate.payload,
            next: usize::MAX,
        });
        let Some(run) = self.runs.get_mut(index) else {
            return;
        };
        if let Some(tail) = self.segments.get_mut(run.tail) {
            tail.next = segment;
        }
        run.tail = segment;
        run.count += 1;
        run.total += candidate.payload;
        run.bytes += u64::try_from(len).unwrap_or(u64::MAX);
        run.next_seq = candidate
            .seq
            .wrapping_add(u32::try_from(candidate.payload).unwrap_or(0));
        if candidate.payload < run.gso_size || candidate.psh {
            run.ended = true;
        }
        run.psh |= candidate.psh;
    }

    fn start(&mut self, at: usize, datagram: &[u8], candidate: &Candidate) {
        let len = datagram.len();
        if self.open.len() >= MAX_OPEN {
            self.open.remove(0);
        }
        let segment = self.segments.len();
        self.segments.push(Segment {
            at: at + candidate.header_len,
            len: candidate.payload,
            next: usize::MAX,
        });
        let index = self.used;
        if self.runs.len() <= index {
            self.runs.push(Run::default());
        }
        let Some(run) = self.runs.get_mut(index) else {
            return;
        };
        *run = Run {
            key: FlowKey::of(datagram, candidate.flow),
            first_at: at,
            first_len: len,
            ip_len: candidate.ip_len,
            header_len: candidate.header_len,
            gso_size: candidate.payload,
            count: 1,
            head: segment,
            tail: segment,
            total: len,
            bytes: u64::try_from(len).unwrap_or(u64::MAX),
            next_seq: candidate
                .seq
                .wrapping_add(u32::try_from(candidate.payload).unwrap_or(0)),
            ended: candidate.psh,
            psh: candidate.psh,
            ..Run::default()
        };
        self.used += 1;
        self.open.push(index);
        self.writes.push(Write::Run(index));
    }
}

/// A datagram written as it is, behind a plain header.
fn alone<'a>(
    block: &'a [u8],
    at: usize,
    len: usize,
    parts: &mut [IoSlice<'a>; MAX_PARTS],
) -> Option<Gathered> {
    let [header, datagram, ..] = parts;
    *header = IoSlice::new(&PLAIN);
    *datagram = IoSlice::new(block.get(at..at.checked_add(len)?)?);
    Some(Gathered {
        parts: 2,
        datagrams: 1,
        bytes: u64::try_from(len).unwrap_or(u64::MAX),
    })
}

/// Where `part` starts in `block`, if it lies inside it.
fn offset_in(block: &[u8], part: &[u8]) -> Option<usize> {
    let at = part.as_ptr().addr().checked_sub(block.as_ptr().addr())?;
    let end = at.checked_add(part.len())?;
    (end <= block.len()).then_some(at)
}

/// Which bytes of the IP and transport headers (options aside) of two
/// datagrams must be equal for the second to join the first's run (the
/// first a candidate that started it): everything the rules of `classify`
/// and `join` compare or fix, as a mask over the headers. IPv4:
/// version/IHL, ToS, flags and fragment offset (the first has no MF and
/// no offset, so equal bits say the same of this one), TTL, protocol,
/// addresses; not the total length, ID and header checksum, which are
/// checked on their own. IPv6: version, traffic class, flow label, next
/// header, hop limit, addresses; not the payload length. UDP: the ports.
/// TCP: the ports, acknowledgement number, data offset, flags but PSH (the
/// first's are ACK alone: with PSH its run ended) and window; not the
/// sequence number, checksum and urgent pointer. TCP options are compared
/// whole, after the mask.
// Only ever evaluated into the constants below: an index out of range
// would fail the build, not a running daemon.
#[allow(clippy::indexing_slicing)]
const fn header_mask<const N: usize>(v6: bool, tcp: bool) -> [u8; N] {
    let mut mask = [0xff; N];
    let ip = if v6 { 40 } else { 20 };
    let mut at = 0;
    while at < N {
        let ignored = if at < ip {
            if v6 {
                at == 4 || at == 5
            } else {
                (at >= 2 && at < 6) || at == 10 || at == 11
            }
        } else {
            let transport = at - ip;
            if tcp {
                (transport >= 4 && transport < 8) || transport >= 16
            } else {
                transport >= 4
            }
        };
        if ignored {
            mask[at] = 0;
        } else if tcp && at == ip + 12 {
            mask[at] = 0xf0;
        } else if tcp && at == ip + 13 {
            mask[at] = !TCP_PSH;
        }
        at += 1;
    }
    mask
}

const MASK_UDP4: [u8; 28] = header_mask(false, false);
const MASK_TCP4: [u8; 40] = header_mask(false, true);
const MASK_UDP6: [u8; 48] = header_mask(true, false);
const MASK_TCP6: [u8; 60] = header_mask(true, true);

/// Whether `datagram`'s headers agree with `first`'s (all of `first` is
/// headers, of a run of `version` and `protocol`) wherever they must: the
/// mask of their kind over the fixed headers, then TCP options byte for
/// byte.
fn headers_agree(first: &[u8], datagram: &[u8], version: u8, protocol: u8) -> bool {
    let fixed = match (version == 6, protocol == TCP) {
        (false, false) => agree(first, datagram, &MASK_UDP4),
        (false, true) => agree(first, datagram, &MASK_TCP4),
        (true, false) => agree(first, datagram, &MASK_UDP6),
        (true, true) => agree(first, datagram, &MASK_TCP6),
    };
    let options = match (version == 6, protocol == TCP) {
        (_, false) => first.len(),
        (false, true) => 40,
        (true, true) => 60,
    };
    // Options are rare: most runs have none to compare.
    fixed && (first.len() <= options || first.get(options..) == datagram.get(options..first.len()))
}

/// Whether the first `N` bytes of `a` and `b` are equal under `mask`: of a
/// length known here, so the comparison is a few vector operations.
fn agree<const N: usize>(a: &[u8], b: &[u8], mask: &[u8; N]) -> bool {
    let (Some(a), Some(b)) = (a.first_chunk::<N>(), b.first_chunk::<N>()) else {
        return false;
    };
    let mut differ = 0;
    for ((a, b), mask) in a.iter().zip(b).zip(mask) {
        differ |= (a ^ b) & mask;
    }
    differ == 0
}

/// The big-endian 16-bit field at `at` (0 past the end).
fn read16(packet: &[u8], at: usize) -> u16 {
    packet
        .get(at..)
        .and_then(<[u8]>::first_chunk::<2>)
        .map_or(0, |field| u16::from_be_bytes(*field))
}

/// The big-endian 32-bit field at `at` (0 past the end).
fn read32(packet: &[u8], at: usize) -> u32 {
    packet
        .get(at..)
        .and_then(<[u8]>::first_chunk::<4>)
        .map_or(0, |field| u32::from_be_bytes(*field))
}

/// What a datagram is, as far as merging goes.
fn classify(packet: &[u8], udp: bool) -> Class {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => classify_v4(packet, udp),
        Some(6) => classify_v6(packet, udp),
        _ => Class::Unrelated,
    }
}

fn classify_v4(packet: &[u8], udp: bool) -> Class {
    let Some(header) = packet.first_chunk::<20>() else {
        return Class::Unrelated;
    };
    let protocol = header[9];
    if protocol != TCP && protocol != UDP {
        return Class::Unrelated;
    }
    let ip_len = usize::from(header[0] & 0x0f) * 4;
    let fragment = u16::from_be_bytes([header[6], header[7]]);
    let flow = Flow {
        version: 4,
        protocol,
        ip_len,
    };
    if fragment & 0x1fff != 0 || ip_len < 20 || ports(packet, flow).is_none() {
        return Class::Addresses(4);
    }
    let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
    // No options, no fragment (MF or an offset), the length as it came.
    if ip_len != 20 || fragment & 0x3fff != 0 || total != packet.len() {
        return Class::Flow(flow);
    }
    transport(packet, flow, udp)
}

fn classify_v6(packet: &[u8], udp: bool) -> Class {
    let Some(header) = packet.first_chunk::<40>() else {
        return Class::Unrelated;
    };
    let protocol = header[6];
    match protocol {
        TCP | UDP => {}
        // ICMPv6 and "no next header" are no run's business; anything
        // else is an extension header hiding the ports.
        58 | 59 => return Class::Unrelated,
        _ => return Class::Addresses(6),
    }
    let flow = Flow {
        version: 6,
        protocol,
        ip_len: 40,
    };
    if ports(packet, flow).is_none() {
        return Class::Addresses(6);
    }
    if 40 + usize::from(u16::from_be_bytes([header[4], header[5]])) != packet.len() {
        return Class::Flow(flow);
    }
    transport(packet, flow, udp)
}

/// The transport's part of the candidacy.
fn transport(packet: &[u8], flow: Flow, udp: bool) -> Class {
    let ip_len = flow.ip_len;
    let Some(rest) = packet.get(ip_len..) else {
        return Class::Flow(flow);
    };
    let (header_len, seq, psh) = if flow.protocol == TCP {
        let Some(tcp) = rest.first_chunk::<20>() else {
            return Class::Flow(flow);
        };
        let flags = tcp[13];
        if flags != TCP_ACK && flags != TCP_ACK | TCP_PSH {
            return Class::Flow(flow);
        }
        let len = usize::from(tcp[12] >> 4) * 4;
        if len < 20 {
            return Class::Flow(flow);
        }
        (
            ip_len + len,
            u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
            flags & TCP_PSH != 0,
        )
    } else {
        let Some(header) = rest.first_chunk::<8>().filter(|_| udp) else {
            return Class::Flow(flow);
        };
        let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
        let check = u16::from_be_bytes([header[6], header[7]]);
        if length != rest.len() || check == 0 {
            return Class::Flow(flow);
        }
        (ip_len + 8, 0, false)
    };
    match packet.len().checked_sub(header_len) {
        Some(payload) if payload > 0 && header_len <= MAX_HEADERS => Class::Candidate(Candidate {
            flow,
            ip_len,
            header_len,
            payload,
            seq,
            psh,
        }),
        _ => Class::Flow(flow),
    }
}

/// Whether a datagram joined its flow's run.
enum Join {
    Joined,
    /// It may not (a rule above says why); it starts a run of its own.
    No,
    /// The run's first datagram has a bad checksum: it stays alone, this
    /// one starts a run.
    BadFirst,
    /// This datagram has a bad checksum: it goes alone.
    BadThis,
}

/// Whether `candidate` (`datagram`) may join `run`, checking both
/// datagrams' checksums last; the run is not changed but for the
/// knowledge gained (first verified, fixed IPv4 IDs).
fn join(run: &mut Run, block: &[u8], datagram: &[u8], candidate: &Candidate) -> Join {
    if run.ended
        || run.count >= MAX_SEGMENTS
        || candidate.payload > run.gso_size
        || candidate.header_len != run.header_len
        || run.total + candidate.payload > MAX_SUPER_PACKET
    {
        return Join::No;
    }
    let Some(first) = block.get(run.first_at..run.first_at + run.first_len) else {
        return Join::No;
    };
    let mut fixed_id = run.fixed_id;
    if !ip_headers_match(run, first, datagram, &mut fixed_id) {
        return Join::No;
    }
    if run.key.protocol == TCP {
        let ip = run.ip_len;
        // Acknowledgement number; window; options.
        let same = |from: usize, to: usize| first.get(from..to) == datagram.get(from..to);
        if candidate.seq != run.next_seq
            || !same(ip + 8, ip + 12)
            || !same(ip + 14, ip + 16)
            || !same(ip + 20, run.header_len)
        {
            return Join::No;
        }
    }
    if !run.verified {
        run.address_sum = address_sum(first, run.ip_len, run.key.protocol);
        if !checksums_valid(first, run.ip_len, run.address_sum) {
            return Join::BadFirst;
        }
        run.verified = true;
    }
    if !checksums_valid(datagram, run.ip_len, run.address_sum) {
        return Join::BadThis;
    }
    run.fixed_id = fixed_id;
    Join::Joined
}

/// The IP header rules: ToS/traffic class, TTL/hop limit, DF, flow label,
/// and IPv4 IDs counting up (or, with DF, fixed: decided by the second
/// datagram, as Linux's `inet_gro_flush` does).
fn ip_headers_match(run: &Run, first: &[u8], datagram: &[u8], fixed_id: &mut bool) -> bool {
    if run.key.version == 6 {
        return first.get(..4) == datagram.get(..4) && first.get(7) == datagram.get(7);
    }
    let (Some(a), Some(b)) = (first.first_chunk::<20>(), datagram.first_chunk::<20>()) else {
        return false;
    };
    if a[1] != b[1] || a[8] != b[8] || (a[6] ^ b[6]) & 0xe0 != 0 {
        return false;
    }
    let offset = u16::from_be_bytes([b[4], b[5]]).wrapping_sub(u16::from_be_bytes([a[4], a[5]]));
    let df = a[6] & IPV4_DF != 0;
    if run.count == 1 && df && offset == 0 {
        *fixed_id = true;
    }
    let expected = if *fixed_id {
        0
    } else {
        u16::try_from(run.count).unwrap_or(u16::MAX)
    };
    offset == expected
}

/// The pseudo-header's source and destination addresses and protocol,
/// summed: the same for every datagram of a flow.
fn address_sum(packet: &[u8], ip_len: usize, protocol: u8) -> u32 {
    let version = if ip_len == 40 { 6 } else { 4 };
    u32::from(checksum::sum(
        addresses(packet, version).unwrap_or_default(),
        u32::from(protocol),
    ))
}

/// Whether a datagram's transport checksum (and IPv4 header checksum) is
/// right.
#[inline]
fn checksums_valid(packet: &[u8], ip_len: usize, address_sum: u32) -> bool {
    let (Some(header), Some(transport)) = (packet.get(..ip_len), packet.get(ip_len..)) else {
        return false;
    };
    if ip_len == 20 && !ipv4_header_valid(header) {
        return false;
    }
    let length = u32::try_from(transport.len()).unwrap_or(u32::MAX);
    checksum::sum(transport, address_sum + length) == 0xffff
}

/// Whether a 20-byte IPv4 header's checksum is right.
fn ipv4_header_valid(header: &[u8]) -> bool {
    header
        .first_chunk::<20>()
        .is_some_and(|fixed| header.len() == 20 && checksum::sum_header(fixed, 0) == 0xffff)
}

/// Writes a merged run's `virtio_net_hdr` and headers (the first datagram's,
/// with the super-packet's lengths, IPv4 header checksum, PSH, and the
/// pseudo-header sum in the transport checksum) to the end of `headers`.
fn seal(run: &Run, block: &[u8], headers: &mut Vec<u8>) {
    let start = headers.len();
    let v6 = run.key.version == 6;
    let tcp = run.key.protocol == TCP;
    let gso_type = match (tcp, v6) {
        (true, false) => GSO_TCPV4,
        (true, true) => GSO_TCPV6,
        (false, _) => GSO_UDP_L4,
    };
    let field = |value: usize| u16::try_from(value).unwrap_or(u16::MAX);
    let vnet = VirtioNetHdr {
        flags: NEEDS_CSUM,
        gso_type,
        hdr_len: field(run.header_len),
        gso_size: field(run.gso_size),
        csum_start: field(run.ip_len),
        csum_offset: if tcp { 16 } else { 6 },
    };
    headers.resize(start + VIRTIO_NET_HDR_LEN, 0);
    if let Some(room) = headers.get_mut(start..) {
        // Cannot fail: the room is the header's length.
        let _ = vnet.encode(room);
    }
    headers.extend_from_slice(
        block
            .get(run.first_at..run.first_at + run.header_len)
            .unwrap_or_default(),
    );
    let Some(packet) = headers.get_mut(start + VIRTIO_NET_HDR_LEN..) else {
        return;
    };
    let ip = run.ip_len;
    let transport_len = run.total - ip;
    if v6 {
        put16(packet, 4, field(transport_len));
    } else {
        put16(packet, 2, field(run.total));
        put16(packet, 10, 0);
        let sum = !checksum::sum(packet.get(..ip).unwrap_or_default(), 0);
        put16(packet, 10, sum);
    }
    let check_at = if tcp {
        if run.psh {
            if let Some(flags) = packet.get_mut(ip + 13) {
                *flags |= TCP_PSH;
            }
        }
        ip + 16
    } else {
        put16(packet, ip + 4, field(transport_len));
        ip + 6
    };
    let length = u32::try_from(transport_len).unwrap_or(u32::MAX);
    put16(
        packet,
        check_at,
        checksum::sum(&[], run.address_sum + length),
    );
}

fn put16(packet: &mut [u8], at: usize, value: u16) {
    if let Some(field) = packet.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<2>) {
        *field = value.to_be_bytes();
    }
}

#[cfg(test)]
mod tests;
