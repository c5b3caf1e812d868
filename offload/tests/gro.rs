//! The receive side's coalescing (GRO) on tables: an NTB's datagrams in,
//! the device writes out. Every write is cut back into datagrams the way
//! the kernel's GSO would (mbimd's own transmit `Segmenter`, checked
//! against tun-rs's `gso_split` in segment.rs) and must give back
//! exactly the datagrams that went in, byte for byte, each flow's in
//! order; a super-packet's header must say what the kernel needs (GSO
//! type, segment size, checksum start and offset, `NEEDS_CSUM` with the
//! pseudo-header sum of the whole); whatever may not be merged goes alone.
//! That the kernel takes what is written is daemon/tests/datapath_offload.rs's
//! part.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

#[path = "packets/mod.rs"]
mod offload;

use mbim_offload::gro::{Coalescer, MAX_PARTS, MAX_SEGMENTS};
use mbim_offload::segment::{ReadFraming, Segmenter};
use offload::{
    bulk_spec as spec, packets, parse_checked, payload, refresh_checksums, sum, Spec, TCP, UDP,
};
use std::io::IoSlice;
use tun_rs::VIRTIO_NET_HDR_LEN as VNET;

/// `count` datagrams of `spec`'s flow with `size` bytes of payload, the
/// last `last`: IPv4 IDs counting up, TCP sequence numbers following on,
/// every payload different.
fn flow(spec: &Spec, size: usize, count: usize, last: usize) -> Vec<Vec<u8>> {
    let mut spec = spec.clone();
    (0..count)
        .map(|index| {
            let len = if index + 1 == count { last } else { size };
            let data = payload(len + index)[index..].to_vec();
            let packet = spec.packet(&data, false);
            spec.id = spec.id.wrapping_add(1);
            spec.sequence = spec.sequence.wrapping_add(len as u32);
            packet
        })
        .collect()
}

/// The writes the coalescer plans for `datagrams` in one block (at odd
/// offsets), each as the bytes the device gets. The plan is made twice
/// over the same storage, the first time for other datagrams, so nothing
/// of one block may leak into the next.
fn coalesce(datagrams: &[Vec<u8>], udp: bool) -> Vec<Vec<u8>> {
    let mut block = vec![0xee; 3];
    let mut ranges = Vec::new();
    for datagram in datagrams {
        let at = block.len();
        block.extend_from_slice(datagram);
        ranges.push(at..block.len());
        block.push(0xee);
    }
    let mut coalescer = Coalescer::new(udp);
    let other = flow(&spec(false, TCP, 1), 100, 9, 100).concat();
    coalescer.clear();
    assert!(coalescer.push(&other, &other[..140]));
    assert!(coalescer.push(&other, &other[140..280]));
    coalescer.finish(&other);
    coalescer.clear();
    for range in &ranges {
        assert!(coalescer.push(&block, &block[range.clone()]));
    }
    assert!(
        !coalescer.push(&block, &other),
        "a datagram outside the block"
    );
    coalescer.finish(&block);
    (0..coalescer.len())
        .map(|index| {
            let mut parts = [IoSlice::new(&[]); MAX_PARTS];
            let gathered = coalescer.gather(&block, index, &mut parts).unwrap();
            let bytes: Vec<u8> = parts[..gathered.parts]
                .iter()
                .flat_map(|part| part.iter().copied())
                .collect();
            assert_eq!(
                gathered.bytes,
                resegment(&bytes).iter().map(Vec::len).sum::<usize>() as u64
            );
            bytes
        })
        .collect()
}

/// A write cut back into the datagrams it carries, as the kernel would.
fn resegment(write: &[u8]) -> Vec<Vec<u8>> {
    let mut segmenter = Segmenter::new(ReadFraming::VirtioNet);
    let mut read = write.to_vec();
    packets(segmenter.segments(&mut read).unwrap())
}

fn field(write: &[u8], at: usize) -> usize {
    usize::from(u16::from_ne_bytes([write[at], write[at + 1]]))
}

/// A super-packet's header and packet as the kernel needs them: the GSO
/// fields of its first datagram, and a partial checksum that, completed,
/// makes the whole (with its own lengths) a right packet.
fn check_super_packet(write: &[u8], group: &[Vec<u8>], case: &str) {
    let first = parse_checked(&group[0]);
    let v6 = first.version == 6;
    let ip = if v6 { 40 } else { 20 };
    let tcp = first.protocol == TCP;
    let header_len = group[0].len() - first.payload.len();
    assert_eq!(write[0], 1, "{case}: NEEDS_CSUM");
    let gso_type = match (tcp, v6) {
        (true, false) => 1,
        (true, true) => 4,
        _ => 5,
    };
    assert_eq!(write[1], gso_type, "{case}: GSO type");
    assert_eq!(field(write, 2), header_len, "{case}: hdr_len");
    assert_eq!(field(write, 4), first.payload.len(), "{case}: gso_size");
    assert_eq!(field(write, 6), ip, "{case}: csum_start");
    assert_eq!(
        field(write, 8),
        if tcp { 16 } else { 6 },
        "{case}: csum_offset"
    );
    let mut packet = write[VNET..].to_vec();
    let at = ip + if tcp { 16 } else { 6 };
    let partial = u32::from(u16::from_be_bytes([packet[at], packet[at + 1]]));
    packet[at..at + 2].fill(0);
    let complete = !sum(&packet[ip..], partial);
    packet[at..at + 2].copy_from_slice(&complete.to_be_bytes());
    let whole = parse_checked(&packet);
    let payloads: Vec<u8> = group
        .iter()
        .flat_map(|datagram| parse_checked(datagram).payload)
        .collect();
    assert_eq!(whole.payload, payloads, "{case}: the payloads in order");
}

/// Coalesces `datagrams` and checks that the writes are `groups` (indices
/// into `datagrams`), in this order: a group of one written as it came
/// behind a plain header, a larger one as a super-packet that segments
/// back into exactly its datagrams.
fn expect(datagrams: &[Vec<u8>], udp: bool, groups: &[&[usize]], case: &str) {
    let writes = coalesce(datagrams, udp);
    let got: Vec<usize> = writes.iter().map(|w| resegment(w).len()).collect();
    assert_eq!(
        got,
        groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
        "{case}: datagrams per write"
    );
    for (write, group) in writes.iter().zip(groups) {
        let group: Vec<Vec<u8>> = group.iter().map(|&i| datagrams[i].clone()).collect();
        if group.len() == 1 {
            assert_eq!(write[..VNET], [0; VNET], "{case}: a plain header");
            assert_eq!(write[VNET..], group[0], "{case}: written as it came");
        } else {
            check_super_packet(write, &group, case);
            assert_eq!(resegment(write), group, "{case}: segments back");
        }
    }
}

#[test]
fn each_flow_becomes_one_super_packet_that_segments_back_into_its_datagrams() {
    // (IPv6, protocol, TCP options, size, count, last): odd sizes, a
    // whole run of equal ones, a tiny MSS, UDP at its 64-segment bound.
    let table: &[(bool, u8, usize, usize, usize, usize)] = &[
        (false, TCP, 0, 1448, 10, 1448),
        (false, TCP, 12, 1000, 7, 333),
        (true, TCP, 0, 1, 5, 1),
        (true, TCP, 20, 1399, 4, 2),
        (false, UDP, 0, 1000, MAX_SEGMENTS, 1000),
        (true, UDP, 0, 37, 9, 5),
        (false, UDP, 0, 1, 3, 1),
        (true, UDP, 0, 1231, 2, 1231),
    ];
    for &(v6, protocol, options, size, count, last) in table {
        let mut spec = spec(v6, protocol, 40000);
        spec.tcp_options = (0..options as u8).map(|i| 1 + i % 2).collect();
        let datagrams = flow(&spec, size, count, last);
        let case = format!("IPv6 {v6}, protocol {protocol}, {count} x {size}, last {last}");
        let all: Vec<usize> = (0..count).collect();
        expect(&datagrams, true, &[&all], &case);
    }
    // One datagram alone is written as it came.
    let one = flow(&spec(false, TCP, 1), 500, 1, 500);
    expect(&one, true, &[&[0]], "a lone datagram");
}

#[test]
fn interleaved_flows_are_each_coalesced_in_order() {
    let flows = [
        flow(&spec(false, TCP, 1), 1400, 6, 99),
        flow(&spec(true, TCP, 2), 1200, 6, 1200),
        flow(&spec(false, UDP, 3), 1000, 5, 17),
        flow(&spec(true, UDP, 4), 801, 6, 800),
    ];
    let mut datagrams = Vec::new();
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); flows.len()];
    for index in 0..6 {
        for (flow, group) in flows.iter().zip(&mut groups) {
            if let Some(datagram) = flow.get(index) {
                group.push(datagrams.len());
                datagrams.push(datagram.clone());
            }
        }
    }
    let groups: Vec<&[usize]> = groups.iter().map(Vec::as_slice).collect();
    expect(&datagrams, true, &groups, "four flows interleaved");
    // Without USO, UDP goes datagram by datagram; TCP is still merged.
    let writes = coalesce(&datagrams, false);
    assert_eq!(writes.len(), 2 + 5 + 6);
}

#[test]
fn a_long_run_is_cut_at_64_segments_and_at_64_kib() {
    let datagrams = flow(&spec(false, UDP, 1), 100, 70, 100);
    let first: Vec<usize> = (0..64).collect();
    let rest: Vec<usize> = (64..70).collect();
    expect(&datagrams, true, &[&first, &rest], "70 UDP datagrams");
    // 46 segments of 1400 bytes and the headers fit in 65535 bytes, 47 not.
    for v6 in [false, true] {
        let datagrams = flow(&spec(v6, TCP, 1), 1400, 50, 1400);
        let first: Vec<usize> = (0..46).collect();
        let rest: Vec<usize> = (46..50).collect();
        expect(&datagrams, true, &[&first, &rest], "50 TCP segments");
    }
}

/// A flow of 5 datagrams of 1000 bytes whose third is changed by `change`
/// (checksums made right again if `refresh`).
fn changed(
    v6: bool,
    protocol: u8,
    options: usize,
    refresh: bool,
    change: impl Fn(&mut Vec<u8>),
) -> Vec<Vec<u8>> {
    let mut spec = spec(v6, protocol, 40000);
    spec.tcp_options = vec![1; options];
    let mut datagrams = flow(&spec, 1000, 5, 1000);
    change(&mut datagrams[2]);
    if refresh {
        refresh_checksums(&mut datagrams[2]);
    }
    datagrams
}

/// Inserts `bytes` after the IP header (options or an extension header)
/// and fixes the lengths.
fn insert_after_ip_header(packet: &mut Vec<u8>, bytes: &[u8]) {
    let v6 = packet[0] >> 4 == 6;
    let at = if v6 { 40 } else { 20 };
    packet.splice(at..at, bytes.iter().copied());
    if v6 {
        let length = (packet.len() - 40) as u16;
        packet[4..6].copy_from_slice(&length.to_be_bytes());
    } else {
        packet[0] += (bytes.len() / 4) as u8;
        let length = packet.len() as u16;
        packet[2..4].copy_from_slice(&length.to_be_bytes());
    }
}

fn rebuild(packet: &mut Vec<u8>, protocol: u8, payload_len: usize) {
    let parsed = parse_checked(packet);
    let mut spec = spec(parsed.version == 6, protocol, parsed.source_port);
    spec.id = parsed.id;
    spec.sequence = parsed.sequence;
    *packet = spec.packet(&payload(payload_len), false);
}

#[test]
fn what_may_not_be_merged_goes_alone_and_keeps_its_place() {
    type Change = Box<dyn Fn(&mut Vec<u8>)>;
    type Case = (
        &'static str,
        bool,
        u8,
        usize,
        bool,
        Change,
        &'static [&'static [usize]],
    );
    let split: &[&[usize]] = &[&[0, 1], &[2], &[3, 4]];
    let ends: &[&[usize]] = &[&[0, 1, 2], &[3, 4]];
    let tcp_flag = |flags: u8| -> Change { Box::new(move |p: &mut Vec<u8>| p[33] = flags) };
    // (case, IPv6, protocol, TCP options, refresh checksums, change, writes)
    let cases: Vec<Case> = vec![
        (
            "IPv4 ToS",
            false,
            TCP,
            0,
            true,
            Box::new(|p| p[1] = 0x10),
            split,
        ),
        (
            "IPv4 ECN CE",
            false,
            UDP,
            0,
            true,
            Box::new(|p| p[1] = 3),
            split,
        ),
        (
            "IPv4 TTL",
            false,
            TCP,
            0,
            true,
            Box::new(|p| p[8] = 63),
            split,
        ),
        (
            "IPv4 DF",
            false,
            TCP,
            0,
            true,
            Box::new(|p| p[6] = 0),
            split,
        ),
        (
            "IPv4 ID",
            false,
            UDP,
            0,
            true,
            Box::new(|p| p[5] += 7),
            split,
        ),
        (
            "IPv4 MF",
            false,
            UDP,
            0,
            true,
            Box::new(|p| p[6] |= 0x20),
            split,
        ),
        (
            "IPv4 fragment offset",
            false,
            UDP,
            0,
            true,
            Box::new(|p| p[7] = 0x80),
            split,
        ),
        (
            "IPv4 options",
            false,
            TCP,
            0,
            true,
            Box::new(|p| insert_after_ip_header(p, &[1, 1, 1, 0])),
            split,
        ),
        (
            "IPv4 header checksum",
            false,
            TCP,
            0,
            false,
            Box::new(|p| p[10] ^= 1),
            split,
        ),
        ("FIN", false, TCP, 0, true, tcp_flag(0x11), split),
        ("SYN", false, TCP, 0, true, tcp_flag(0x12), split),
        ("RST", false, TCP, 0, true, tcp_flag(0x14), split),
        ("URG", false, TCP, 0, true, tcp_flag(0x30), split),
        ("ECE", false, TCP, 0, true, tcp_flag(0x50), split),
        ("CWR", false, TCP, 0, true, tcp_flag(0x90), split),
        ("no ACK", false, TCP, 0, true, tcp_flag(0x08), split),
        (
            "PSH ends the run",
            false,
            TCP,
            0,
            true,
            tcp_flag(0x18),
            ends,
        ),
        (
            "acknowledgement number",
            false,
            TCP,
            0,
            true,
            Box::new(|p| p[31] += 1),
            split,
        ),
        (
            "window",
            false,
            TCP,
            0,
            true,
            Box::new(|p| p[35] = 1),
            split,
        ),
        (
            "TCP options",
            false,
            TCP,
            12,
            true,
            Box::new(|p| p[41] = 8),
            split,
        ),
        (
            "sequence gap",
            true,
            TCP,
            0,
            true,
            Box::new(|p| p[47] = p[47].wrapping_add(1)),
            split,
        ),
        (
            "TCP checksum",
            true,
            TCP,
            0,
            false,
            Box::new(|p| *p.last_mut().unwrap() ^= 1),
            split,
        ),
        (
            "pure ACK",
            false,
            TCP,
            0,
            true,
            Box::new(|p| rebuild(p, TCP, 0)),
            split,
        ),
        (
            "a shorter segment ends the run",
            false,
            TCP,
            0,
            true,
            Box::new(|p| rebuild(p, TCP, 500)),
            ends,
        ),
        (
            "a longer TCP segment",
            false,
            TCP,
            0,
            true,
            Box::new(|p| rebuild(p, TCP, 1200)),
            split,
        ),
        (
            "a longer UDP datagram starts a run the next joins",
            true,
            UDP,
            0,
            true,
            Box::new(|p| rebuild(p, UDP, 1200)),
            &[&[0, 1], &[2, 3], &[4]],
        ),
        (
            "a shorter UDP datagram ends the run",
            false,
            UDP,
            0,
            true,
            Box::new(|p| rebuild(p, UDP, 999)),
            ends,
        ),
        (
            "IPv6 traffic class",
            true,
            TCP,
            0,
            true,
            Box::new(|p| p[1] |= 0x40),
            split,
        ),
        (
            "IPv6 flow label",
            true,
            UDP,
            0,
            true,
            Box::new(|p| p[3] = 5),
            split,
        ),
        (
            "IPv6 hop limit",
            true,
            TCP,
            0,
            true,
            Box::new(|p| p[7] = 1),
            split,
        ),
        (
            "IPv6 extension header",
            true,
            UDP,
            0,
            true,
            Box::new(|p| {
                // Hop-by-hop, PadN: the ports are no longer where they were.
                insert_after_ip_header(p, &[17, 0, 1, 4, 0, 0, 0, 0]);
                p[6] = 0;
            }),
            split,
        ),
        (
            "UDP checksum 0",
            false,
            UDP,
            0,
            false,
            Box::new(|p| p[26..28].fill(0)),
            split,
        ),
        (
            "UDP checksum",
            false,
            UDP,
            0,
            false,
            Box::new(|p| p[40] ^= 0x80),
            split,
        ),
    ];
    for (case, v6, protocol, options, refresh, change, groups) in cases {
        let datagrams = changed(v6, protocol, options, refresh, change);
        expect(&datagrams, true, groups, case);
    }
}

#[test]
fn ipv4_ids_count_up_or_stay_fixed_with_df() {
    let mut fixed = spec(false, UDP, 1);
    fixed.id = 0;
    let mut datagrams: Vec<Vec<u8>> = flow(&fixed, 700, 5, 700);
    for datagram in &mut datagrams {
        datagram[4..6].fill(0);
        refresh_checksums(datagram);
    }
    // With DF (the support's packets set it), one ID for all merges...
    let writes = coalesce(&datagrams, true);
    assert_eq!(writes.len(), 1);
    assert_eq!(resegment(&writes[0]).len(), 5);
    // ...without it, the IDs must count up: none merges.
    for datagram in &mut datagrams {
        datagram[6] = 0;
        refresh_checksums(datagram);
    }
    expect(
        &datagrams,
        true,
        &[&[0], &[1], &[2], &[3], &[4]],
        "fixed ID, no DF",
    );
    // And UDP is not merged where the device takes no UDP super-packets.
    let datagrams = flow(&spec(false, UDP, 1), 700, 3, 700);
    expect(&datagrams, false, &[&[0], &[1], &[2]], "no USO");
}

#[test]
fn many_flows_and_damage_mixed_never_lose_or_reorder_a_flows_datagrams() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    for round in 0..300 {
        // Up to 12 flows (more than the 8 open runs), each 1..12 datagrams.
        let flows: Vec<Vec<Vec<u8>>> = (0..1 + random(12))
            .map(|index| {
                let mut spec = spec(random(2) == 1, [TCP, UDP][random(2)], 1000 + index as u16);
                spec.tcp_options = vec![1; 4 * random(3)];
                let size = 1 + random(1500);
                let count = 1 + random(12);
                let mut datagrams = flow(&spec, size, count, 1 + random(size));
                for datagram in &mut datagrams {
                    match random(12) {
                        // A bad checksum (the kernel drops it; here it
                        // must come out as it went in).
                        0 => *datagram.last_mut().unwrap() ^= 0x55,
                        1 if spec.source.is_ipv4() => {
                            datagram[8] = 1;
                            refresh_checksums(datagram);
                        }
                        2 if spec.protocol == TCP => {
                            let ip = if spec.source.is_ipv4() { 20 } else { 40 };
                            datagram[ip + 13] = 0x11;
                            refresh_checksums(datagram);
                        }
                        _ => {}
                    }
                }
                datagrams
            })
            .collect();
        // Interleaved at random, each flow's datagrams in their order.
        let mut cursors = vec![0; flows.len()];
        let mut datagrams = Vec::new();
        loop {
            let left: Vec<usize> = (0..flows.len())
                .filter(|&f| cursors[f] < flows[f].len())
                .collect();
            if left.is_empty() {
                break;
            }
            let flow = left[random(left.len())];
            datagrams.push(flows[flow][cursors[flow]].clone());
            cursors[flow] += 1;
        }
        let out: Vec<Vec<u8>> = coalesce(&datagrams, random(4) != 0)
            .iter()
            .flat_map(|write| resegment(write))
            .collect();
        assert_eq!(out.len(), datagrams.len(), "round {round}: every datagram");
        for flow in &flows {
            let key = flow_of_raw(&flow[0]);
            let got: Vec<&Vec<u8>> = out.iter().filter(|d| flow_of_raw(d) == key).collect();
            let want: Vec<&Vec<u8>> = flow.iter().collect();
            assert_eq!(got, want, "round {round}: a flow's datagrams, in order");
        }
    }
}

/// `flow_of` without the checksum checks, for damaged datagrams.
fn flow_of_raw(datagram: &[u8]) -> (u8, Vec<u8>, [u8; 4]) {
    if datagram[0] >> 4 == 6 {
        (
            6,
            datagram[8..40].to_vec(),
            datagram[40..44].try_into().unwrap(),
        )
    } else {
        (
            4,
            datagram[12..20].to_vec(),
            datagram[20..24].try_into().unwrap(),
        )
    }
}
