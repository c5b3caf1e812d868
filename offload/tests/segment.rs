//! The transmit side's offload step on tables: what a TUN device with
//! `IFF_VNET_HDR` hands over (TSO4/TSO6/USO super-packets, packets that
//! only need their checksum, garbage) and the NTB datagrams that must come
//! out: every segment a whole packet with its own lengths, IPv4 id and
//! header checksum, TCP sequence number and flags, and transport checksum,
//! the payloads in order, nothing lost or invented.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "packets/mod.rs"]
mod offload;

use mbim_offload::segment::{ReadFraming, SegmentError, Segmenter};
use offload::{packets, parse_checked, payload, Parsed, Spec, TCP, UDP};
use std::net::IpAddr;

fn spec(v6: bool, protocol: u8) -> Spec {
    let (source, destination): (IpAddr, IpAddr) = if v6 {
        ("fd00::2".parse().unwrap(), "fd00::1".parse().unwrap())
    } else {
        ("10.64.0.2".parse().unwrap(), "10.64.0.1".parse().unwrap())
    };
    Spec {
        source,
        destination,
        protocol,
        source_port: 40000,
        destination_port: 5001,
        id: 0x1234,
        sequence: 0xffff_f000,
        ack: 1,
        flags: 0x18 | 0x01,
        tcp_options: Vec::new(),
    }
}

fn segment(read: &[u8]) -> Result<Vec<Vec<u8>>, SegmentError> {
    let mut segmenter = Segmenter::new(ReadFraming::VirtioNet);
    let mut read = read.to_vec();
    Ok(packets(segmenter.segments(&mut read)?))
}

#[test]
fn super_packets_become_whole_segments_with_their_own_headers_and_checksums() {
    // (IPv6?, protocol, TCP options, payload length, gso_size): odd sizes,
    // an exact multiple, a single short segment, TCP options, a tiny MSS.
    let table: &[(bool, u8, usize, usize, u16)] = &[
        (false, TCP, 0, 4321, 1000),
        (true, TCP, 0, 4321, 1000),
        (false, TCP, 12, 2800, 1400),
        (true, TCP, 12, 1399, 1400),
        (false, UDP, 0, 5000, 1372),
        (true, UDP, 0, 5000, 1352),
        (false, UDP, 0, 36 * 64, 36),
        (true, UDP, 0, 1, 1200),
        (false, TCP, 0, 65_000 - 40, 536),
    ];
    for &(v6, protocol, options, length, gso_size) in table {
        let mut spec = spec(v6, protocol);
        spec.tcp_options = vec![1; options];
        let data = payload(length);
        let segments = segment(&spec.virtio(&data, gso_size)).unwrap();
        let case = format!("IPv6 {v6}, protocol {protocol}, {length} bytes by {gso_size}");
        assert_eq!(
            segments.len(),
            length.div_ceil(usize::from(gso_size)),
            "{case}"
        );
        let mut joined = Vec::new();
        for (index, packet) in segments.iter().enumerate() {
            let parsed: Parsed = parse_checked(packet);
            let last = index + 1 == segments.len();
            assert_eq!(parsed.protocol, protocol, "{case}");
            assert_eq!(
                (parsed.source, parsed.destination),
                (spec.source, spec.destination)
            );
            assert_eq!((parsed.source_port, parsed.destination_port), (40000, 5001));
            if !last {
                assert_eq!(parsed.payload.len(), usize::from(gso_size), "{case}");
            }
            if !v6 {
                assert_eq!(
                    parsed.id,
                    0x1234u16.wrapping_add(u16::try_from(index).unwrap()),
                    "{case}"
                );
            }
            if protocol == TCP {
                let offset = u32::try_from(joined.len()).unwrap();
                assert_eq!(
                    parsed.sequence,
                    0xffff_f000u32.wrapping_add(offset),
                    "{case}"
                );
                // PSH and FIN only on the last segment; ACK on all.
                let expected = if last { 0x19 } else { 0x10 };
                assert_eq!(parsed.flags, expected, "{case} segment {index}");
                let at = spec.ip_header() + 20;
                assert_eq!(
                    packet[at..at + options],
                    spec.tcp_options[..],
                    "{case}: options"
                );
            }
            joined.extend_from_slice(&parsed.payload);
        }
        assert_eq!(joined, data, "{case}: payload in order");
    }
}

#[test]
fn a_packet_that_needs_only_its_checksum_passes_through_completed() {
    for (v6, protocol) in [(false, TCP), (true, TCP), (false, UDP), (true, UDP)] {
        let spec = spec(v6, protocol);
        let data = payload(333);
        let segments = segment(&spec.virtio(&data, 0)).unwrap();
        assert_eq!(segments.len(), 1);
        assert_eq!(
            segments[0],
            spec.packet(&data, false),
            "IPv6 {v6} {protocol}"
        );
        parse_checked(&segments[0]);
    }
    // Neither offload nor checksum: the packet exactly as read.
    let packet = spec(false, UDP).packet(&payload(10), false);
    let mut read = vec![0u8; 10];
    read.extend_from_slice(&packet);
    assert_eq!(segment(&read).unwrap(), vec![packet]);
}

#[test]
fn what_cannot_be_segmented_is_refused_not_guessed() {
    let good = spec(false, TCP).virtio(&payload(3000), 1000);
    // Shorter than the virtio-net header, or a header alone.
    assert!(matches!(
        segment(&good[..6]),
        Err(SegmentError::Truncated(6))
    ));
    assert!(matches!(
        segment(&good[..10]),
        Err(SegmentError::Truncated(10))
    ));
    // TSO for IPv6 on an IPv4 packet; UDP with the ECN bit; an unknown type.
    for gso_type in [4u8, 5 | 0x80, 3, 0x42] {
        let mut bad = good.clone();
        bad[1] = gso_type;
        assert!(
            matches!(segment(&bad), Err(SegmentError::GsoType { .. })),
            "type {gso_type:#x}"
        );
    }
    // A TCP data offset below 20 bytes.
    let mut bad = good.clone();
    bad[10 + 20 + 12] = 4 << 4;
    assert!(matches!(segment(&bad), Err(SegmentError::TcpHeader(16))));
    // gso_size 0 with a GSO type.
    let mut bad = good.clone();
    bad[4..6].copy_from_slice(&0u16.to_le_bytes());
    assert!(matches!(segment(&bad), Err(SegmentError::GsoSize)));
    // Headers cut off.
    assert!(segment(&good[..10 + 30]).is_err());
    // A checksum position beyond the packet.
    let mut bad = spec(false, UDP).virtio(&payload(8), 0);
    bad[6..8].copy_from_slice(&500u16.to_le_bytes());
    assert!(matches!(
        segment(&bad),
        Err(SegmentError::ChecksumPosition { .. })
    ));
}

#[test]
fn buffers_are_reused_from_one_read_to_the_next() {
    let mut segmenter = Segmenter::new(ReadFraming::VirtioNet);
    for (length, gso_size) in [(10_000, 1000), (3000, 1400), (20_000, 500), (100, 1400)] {
        let mut read = spec(true, UDP).virtio(&payload(length), gso_size);
        let segments = segmenter.segments(&mut read).unwrap();
        let mut joined = Vec::new();
        for packet in packets(segments) {
            joined.extend_from_slice(&parse_checked(&packet).payload);
        }
        assert_eq!(joined, payload(length));
    }
}

/// The segments written straight into place are byte for byte what
/// tun-rs's `gso_split` (the port of wireguard-go's, which the pump used
/// before) makes of the same super-packet: every header field and both
/// checksums, over TCP flags that differ between the first, middle and
/// last segment (CWR, PSH, FIN), options, IPv4 ids that wrap, both IP
/// versions, and payloads that end on, before and after a segment boundary.
#[test]
fn segments_match_tun_rs_gso_split_byte_for_byte() {
    let mut cases = 0;
    for v6 in [false, true] {
        for protocol in [TCP, UDP] {
            for (length, gso_size) in [
                (1, 536u16),
                (1399, 1400),
                (1400, 1400),
                (1401, 1400),
                (7 * 1448 + 5, 1448),
                (64 * 36, 36),
                (65_000 - 60, 1000),
                (33, 7),
            ] {
                for flags in [0x10u8, 0x18, 0x19, 0x80 | 0x18 | 0x01] {
                    if protocol == UDP && flags != 0x10 {
                        continue;
                    }
                    let mut spec = spec(v6, protocol);
                    spec.flags = flags;
                    spec.id = 0xfffe;
                    spec.tcp_options = if flags == 0x19 {
                        vec![1; 12]
                    } else {
                        Vec::new()
                    };
                    let read = spec.virtio(&payload(length), gso_size);
                    let ours = segment(&read).unwrap();

                    let mut theirs_read = read.clone();
                    let hdr = tun_rs::VirtioNetHdr::decode(&theirs_read[..10]).unwrap();
                    let count = ours.len();
                    let mut buffers = vec![vec![0u8; 65_600]; count];
                    let mut sizes = vec![0usize; count];
                    let made = tun_rs::gso_split(
                        &mut theirs_read[10..],
                        hdr,
                        &mut buffers,
                        &mut sizes,
                        0,
                        v6,
                    )
                    .unwrap();
                    let case =
                        format!("IPv6 {v6} proto {protocol} {length}/{gso_size} flags {flags:#x}");
                    assert_eq!(made, count, "{case}");
                    for (index, packet) in ours.iter().enumerate() {
                        assert_eq!(
                            packet[..],
                            buffers[index][..sizes[index]],
                            "{case} segment {index}"
                        );
                    }
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 2 * 8 * 4 + 2 * 8);
}
