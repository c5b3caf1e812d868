//! NTB framing: parsing labelled blocks, every error path, building, and
//! build → parse round trips.

// A panic in a test is a failed test; helpers outside `#[test]` fns are
// tests too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::ntb::{
    BlockBuffer, BuildLimits, Datagram, Direction, LimitsError, NdpErrorKind, NdpSignature, Ntb,
    NtbBuilder, NtbError, NtbFormat, NtbParameters, NtbParametersError, PushError, MAX_NDPS,
};
use proptest::prelude::*;

/// An IPv4 ICMP echo request 10.0.0.2 → 10.0.0.1, 28 bytes, with the given
/// IP id / header checksum / ICMP sequence / ICMP checksum.
fn ping(id: [u8; 2], ip_csum: [u8; 2], seq: u8, icmp_csum: [u8; 2]) -> Vec<u8> {
    let p = vec![
        0x45,
        0x00,
        0x00,
        0x1C, // version 4, IHL 5, TOS 0, total length 28
        id[0],
        id[1],
        0x40,
        0x00, // identification, DF
        0x40,
        0x01,
        ip_csum[0],
        ip_csum[1], // TTL 64, ICMP, header checksum
        0x0A,
        0x00,
        0x00,
        0x02, // source 10.0.0.2
        0x0A,
        0x00,
        0x00,
        0x01, // destination 10.0.0.1
        0x08,
        0x00,
        icmp_csum[0],
        icmp_csum[1], // echo request, checksum
        0x00,
        0x01,
        0x00,
        seq, // identifier 1, sequence
    ];
    assert_eq!(p.len(), 28);
    p
}

fn ping0() -> Vec<u8> {
    ping([0x12, 0x34], [0x14, 0xAB], 0, [0xF7, 0xFE])
}

fn ping1() -> Vec<u8> {
    ping([0x12, 0x35], [0x14, 0xAA], 1, [0xF7, 0xFD])
}

/// An NTB16 as Linux's cdc_mbim/cdc_ncm TX path lays it out (no
/// CDC_NCM_FLAG_NDP_TO_END): NTH16 at 0, the NDP16 right after it with room
/// reserved (zero-filled) for `tx_max_datagrams` = 4 entries + terminator,
/// datagrams after that reservation at offset % 4 == 0. Labelled by hand from
/// `cdc_ncm_fill_tx_frame`, not captured from a wire.
fn linux_style_ntb16() -> Vec<u8> {
    let mut b = vec![
        // NTH16
        0x4E, 0x43, 0x4D, 0x48, // 0x00 dwSignature "NCMH"
        0x0C, 0x00, // 0x04 wHeaderLength 12
        0x05, 0x00, // 0x06 wSequence 5
        0x60, 0x00, // 0x08 wBlockLength 0x60
        0x0C, 0x00, // 0x0A wNdpIndex 0x0C
        // NDP16
        0x49, 0x50, 0x53, 0x00, // 0x0C dwSignature "IPS" + session 0
        0x14, 0x00, // 0x10 wLength 20: 8 + 2 entries + terminator
        0x00, 0x00, // 0x12 wNextNdpIndex: none
        0x28, 0x00, 0x1C, 0x00, // 0x14 datagram 0 at 0x28, 28 bytes
        0x44, 0x00, 0x1C, 0x00, // 0x18 datagram 1 at 0x44, 28 bytes
        0x00, 0x00, 0x00, 0x00, // 0x1C terminator
        0x00, 0x00, 0x00, 0x00, // 0x20 unused reserved entry (memset by the driver)
        0x00, 0x00, 0x00, 0x00, // 0x24 unused reserved entry
    ];
    b.extend(ping0()); // 0x28..0x44
    b.extend(ping1()); // 0x44..0x60
    assert_eq!(b.len(), 0x60);
    b
}

/// An NTB32 with two NDP32s: "ips1" with one datagram, chained to "dss0"
/// with one datagram.
fn ntb32_two_sessions() -> Vec<u8> {
    let mut b = vec![
        // NTH32
        0x6E, 0x63, 0x6D, 0x68, // 0x00 dwSignature "ncmh"
        0x10, 0x00, // 0x04 wHeaderLength 16
        0x2A, 0x00, // 0x06 wSequence 42
        0x74, 0x00, 0x00, 0x00, // 0x08 dwBlockLength 0x74
        0x10, 0x00, 0x00, 0x00, // 0x0C dwNdpIndex 0x10
        // NDP32 #1
        0x69, 0x70, 0x73, 0x01, // 0x10 dwSignature "ips" + session 1
        0x20, 0x00, // 0x14 wLength 32: 16 + 1 entry + terminator
        0x00, 0x00, // 0x16 wReserved6
        0x30, 0x00, 0x00, 0x00, // 0x18 dwNextNdpIndex 0x30
        0x00, 0x00, 0x00, 0x00, // 0x1C dwReserved12
        0x50, 0x00, 0x00, 0x00, 0x1C, 0x00, 0x00, 0x00, // 0x20 datagram at 0x50, 28 bytes
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x28 terminator
        // NDP32 #2
        0x64, 0x73, 0x73, 0x00, // 0x30 dwSignature "dss" + session 0
        0x20, 0x00, // 0x34 wLength 32
        0x00, 0x00, // 0x36 wReserved6
        0x00, 0x00, 0x00, 0x00, // 0x38 dwNextNdpIndex: none
        0x00, 0x00, 0x00, 0x00, // 0x3C dwReserved12
        0x6C, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, // 0x40 datagram at 0x6C, 8 bytes
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // 0x48 terminator
    ];
    b.extend(ping0()); // 0x50..0x6C
    b.extend(b"AT+CSQ\r\n"); // 0x6C..0x74
    assert_eq!(b.len(), 0x74);
    b
}

fn collect(ntb: &Ntb<'_>) -> Vec<(NdpSignature, Vec<u8>)> {
    ntb.datagrams()
        .map(|d| d.map(|d| (d.signature, d.data.to_vec())))
        .collect::<Result<_, _>>()
        .unwrap()
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn signatures_match_linux_cdc_h() {
    use NtbFormat::*;
    assert_eq!(NdpSignature::Ips(0).to_raw(Ntb16), 0x0053_5049);
    assert_eq!(NdpSignature::Ips(0).to_raw(Ntb32), 0x0073_7069);
    assert_eq!(NdpSignature::Dss(0).to_raw(Ntb16), 0x0053_5344);
    assert_eq!(NdpSignature::Dss(0).to_raw(Ntb32), 0x0073_7364);
    assert_eq!(NdpSignature::Ips(255).to_raw(Ntb16), 0xFF53_5049);
    assert_eq!(
        NdpSignature::from_raw(Ntb16, 0x0753_5049),
        NdpSignature::Ips(7)
    );
    assert_eq!(
        NdpSignature::from_raw(Ntb32, 0x0273_7364),
        NdpSignature::Dss(2)
    );
    // Case matters: a lowercase signature in an NDP16 is not MBIM's.
    assert_eq!(
        NdpSignature::from_raw(Ntb16, 0x0073_7069),
        NdpSignature::Unknown(0x0073_7069)
    );
    // Plain NCM "NCM0".
    assert_eq!(
        NdpSignature::from_raw(Ntb16, 0x304D_434E),
        NdpSignature::Unknown(0x304D_434E)
    );
    assert_eq!(NdpSignature::Ips(3).to_string(), "IPS3");
    assert_eq!(NdpSignature::Unknown(0x304D_434E).to_string(), "0x304D434E");
}

#[test]
fn parses_linux_style_ntb16() {
    let bytes = linux_style_ntb16();
    let ntb = Ntb::new_checked(&bytes).unwrap();
    assert_eq!(ntb.format(), NtbFormat::Ntb16);
    assert_eq!(ntb.sequence(), 5);
    assert_eq!(ntb.ndp_count(), 1);
    assert_eq!(ntb.block().len(), 0x60);
    assert_eq!(
        collect(&ntb),
        vec![
            (NdpSignature::Ips(0), ping0()),
            (NdpSignature::Ips(0), ping1())
        ]
    );
    assert_eq!(ntb.validate(), Ok(2));
}

#[test]
fn trailing_bytes_after_block_are_ignored() {
    let mut bytes = linux_style_ntb16();
    bytes.extend([0xEE; 13]);
    let ntb = Ntb::new_checked(&bytes).unwrap();
    assert_eq!(ntb.block().len(), 0x60);
    assert_eq!(ntb.validate(), Ok(2));
}

#[test]
fn zero_block_length_means_whole_transfer() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 8, 0);
    let ntb = Ntb::new_checked(&bytes).unwrap();
    assert_eq!(ntb.block().len(), bytes.len());
    assert_eq!(ntb.validate(), Ok(2));
}

#[test]
fn parses_ntb32_chain() {
    let bytes = ntb32_two_sessions();
    let ntb = Ntb::new_checked(&bytes).unwrap();
    assert_eq!(ntb.format(), NtbFormat::Ntb32);
    assert_eq!(ntb.sequence(), 42);
    assert_eq!(ntb.ndp_count(), 2);
    assert_eq!(
        collect(&ntb),
        vec![
            (NdpSignature::Ips(1), ping0()),
            (NdpSignature::Dss(0), b"AT+CSQ\r\n".to_vec())
        ]
    );
}

#[test]
fn zero_index_or_zero_length_terminates() {
    // Entry 1 with index 0 but a length: the table ends there.
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 0x18, 0);
    assert_eq!(Ntb::new_checked(&bytes).unwrap().validate(), Ok(1));
    // Entry 0 with a length of 0: empty NDP, nothing yielded, no error.
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 0x16, 0);
    assert_eq!(Ntb::new_checked(&bytes).unwrap().validate(), Ok(0));
}

#[test]
fn unknown_ndp_signature_is_yielded() {
    let mut bytes = linux_style_ntb16();
    put32(&mut bytes, 0x0C, 0x304D_434E);
    let ntb = Ntb::new_checked(&bytes).unwrap();
    let first = ntb.datagrams().next().unwrap().unwrap();
    assert_eq!(first.signature, NdpSignature::Unknown(0x304D_434E));
}

// ---- error paths -------------------------------------------------------

fn header_error(bytes: &[u8]) -> NtbError {
    Ntb::new_checked(bytes).unwrap_err()
}

#[test]
fn error_truncated() {
    let e = header_error(b"NCM");
    assert_eq!(
        e,
        NtbError::Truncated {
            what: "NTH signature",
            needed: 4,
            available: 3
        }
    );
    let e = header_error(&linux_style_ntb16()[..11]);
    assert_eq!(
        e,
        NtbError::Truncated {
            what: "NTH16",
            needed: 12,
            available: 11
        }
    );
    assert_eq!(e.to_string(), "NTB: NTH16 needs 12 bytes, buffer has 11");
    let e = header_error(&ntb32_two_sessions()[..12]);
    assert!(matches!(e, NtbError::Truncated { what: "NTH32", .. }));
}

#[test]
fn error_signature() {
    let mut bytes = linux_style_ntb16();
    bytes[0] = b'X';
    let e = header_error(&bytes);
    assert_eq!(e, NtbError::Signature(0x484D_4358));
    assert!(e.to_string().contains("0x484D4358"));
}

#[test]
fn error_header_length() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 4, 16);
    let e = header_error(&bytes);
    assert_eq!(
        e,
        NtbError::HeaderLength {
            format: NtbFormat::Ntb16,
            found: 16,
            expected: 12
        }
    );
    assert_eq!(
        e.to_string(),
        "NTH16 at 0x00: wHeaderLength 16, expected 12"
    );
}

#[test]
fn error_block_length() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 8, 0x61);
    let e = header_error(&bytes);
    assert_eq!(
        e,
        NtbError::BlockLength {
            format: NtbFormat::Ntb16,
            block_length: 0x61,
            buffer_length: 0x60
        }
    );
    assert_eq!(
        e.to_string(),
        "NTH16 at 0x00: block length 0x61 is beyond the buffer, buffer is 0x60 bytes"
    );
    put16(&mut bytes, 8, 11);
    let e = header_error(&bytes);
    assert!(e.to_string().contains("is shorter than the header"), "{e}");
    // NTB32's 32-bit length.
    let mut bytes = ntb32_two_sessions();
    put32(&mut bytes, 8, 0xFFFF_FFFF);
    assert!(matches!(
        header_error(&bytes),
        NtbError::BlockLength {
            block_length: 0xFFFF_FFFF,
            ..
        }
    ));
}

#[test]
fn error_no_ndp() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 10, 0);
    assert_eq!(
        header_error(&bytes),
        NtbError::NoNdp {
            format: NtbFormat::Ntb16
        }
    );
}

fn ndp_error(bytes: &[u8]) -> (u64, NdpErrorKind) {
    match Ntb::new_checked(bytes).and_then(|ntb| ntb.validate()) {
        Err(NtbError::Ndp { offset, kind, .. }) => (offset, kind),
        other => panic!("expected an NDP error, got {other:?}"),
    }
}

#[test]
fn error_ndp_overlaps_header() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 10, 4);
    assert_eq!(
        ndp_error(&bytes),
        (4, NdpErrorKind::OverlapsHeader { header_length: 12 })
    );
}

#[test]
fn error_ndp_header_beyond_block() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 10, 0x5C);
    assert_eq!(
        ndp_error(&bytes),
        (
            0x5C,
            NdpErrorKind::HeaderBeyondBlock {
                end: 0x64,
                block_length: 0x60
            }
        )
    );
    // An index far outside a 16-bit block.
    let mut bytes = ntb32_two_sessions();
    put32(&mut bytes, 12, 0xFFFF_FFF0);
    let (offset, kind) = ndp_error(&bytes);
    assert_eq!(offset, 0xFFFF_FFF0);
    assert!(matches!(kind, NdpErrorKind::HeaderBeyondBlock { .. }));
}

#[test]
fn error_ndp_length_too_small() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 0x10, 12);
    assert_eq!(
        ndp_error(&bytes),
        (
            0x0C,
            NdpErrorKind::LengthTooSmall {
                length: 12,
                min: 16
            }
        )
    );
    let mut bytes = ntb32_two_sessions();
    put16(&mut bytes, 0x34, 24);
    assert_eq!(
        ndp_error(&bytes),
        (
            0x30,
            NdpErrorKind::LengthTooSmall {
                length: 24,
                min: 32
            }
        )
    );
}

#[test]
fn error_ndp_length_not_whole_entries() {
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 0x10, 22);
    let (offset, kind) = ndp_error(&bytes);
    assert_eq!(
        (offset, &kind),
        (
            0x0C,
            &NdpErrorKind::LengthNotWholeEntries {
                length: 22,
                entry_length: 4
            }
        )
    );
    let mut bytes = ntb32_two_sessions();
    put16(&mut bytes, 0x14, 36);
    assert!(matches!(
        ndp_error(&bytes).1,
        NdpErrorKind::LengthNotWholeEntries {
            entry_length: 8,
            ..
        }
    ));
}

/// The class of bug Linux's cdc_ncm had: the entry table's size compared with
/// the transfer length without adding the NDP's own offset. Here the NDP sits
/// near the end of the block, its table is small enough to "fit" the block if
/// counted from 0, but runs past it counted from the NDP.
#[test]
fn error_ndp_table_beyond_block_counted_from_ndp() {
    let mut bytes = linux_style_ntb16();
    // Move the NDP to 0x54: fixed part 0x54..0x5C fits, wLength 20 → 0x68.
    bytes.copy_within(0x0C..0x14, 0x54);
    put16(&mut bytes, 10, 0x54);
    let (offset, kind) = ndp_error(&bytes);
    assert_eq!(offset, 0x54);
    assert_eq!(
        kind,
        NdpErrorKind::TableBeyondBlock {
            end: 0x68,
            block_length: 0x60
        }
    );
    let e = Ntb::new_checked(&bytes).unwrap_err();
    assert_eq!(
        e.to_string(),
        "NDP16 at 0x54: table ends at 0x68, beyond block length 0x60"
    );
}

#[test]
fn error_ndp_unterminated() {
    let mut bytes = linux_style_ntb16();
    // wLength 16 covers two entries, both datagrams; no terminator.
    put16(&mut bytes, 0x10, 16);
    let ntb = Ntb::new_checked(&bytes).unwrap();
    let items: Vec<_> = ntb.datagrams().collect();
    assert_eq!(items.len(), 3);
    assert!(items[0].is_ok() && items[1].is_ok());
    assert_eq!(
        items[2],
        Err(NtbError::Ndp {
            format: NtbFormat::Ntb16,
            offset: 0x0C,
            kind: NdpErrorKind::Unterminated { entries: 2 }
        })
    );
    assert_eq!(
        items[2].as_ref().unwrap_err().to_string(),
        "NDP16 at 0x0C: no zero entry among its 2 entries"
    );
}

#[test]
fn error_datagram_beyond_block_message() {
    // A 32 KiB block whose fourth datagram runs 0x123 bytes past its end.
    let mut bytes = vec![0u8; 0x8000];
    bytes[..4].copy_from_slice(b"NCMH");
    put16(&mut bytes, 4, 12);
    put16(&mut bytes, 8, 0x8000);
    put16(&mut bytes, 10, 0x0C);
    put32(&mut bytes, 0x0C, 0x0053_5049);
    put16(&mut bytes, 0x10, 8 + 5 * 4);
    for (n, (index, len)) in [
        (0x40, 0x100),
        (0x140, 0x100),
        (0x240, 0x100),
        (0x7F00, 0x223),
    ]
    .into_iter()
    .enumerate()
    {
        put16(&mut bytes, 0x14 + 4 * n, index);
        put16(&mut bytes, 0x16 + 4 * n, len);
    }
    let ntb = Ntb::new_checked(&bytes).unwrap();
    let mut it = ntb.datagrams();
    for _ in 0..3 {
        assert_eq!(it.next().unwrap().unwrap().data.len(), 0x100);
    }
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(
        e.to_string(),
        "NDP16 at 0x0C: datagram 3 ends at 0x8123, beyond block length 0x8000"
    );
    assert_eq!(it.next(), None, "the iterator ends after an error");
    assert_eq!(ntb.validate(), Err(e));
}

#[test]
fn error_ndp_chain_loops() {
    // Self-loop.
    let mut bytes = linux_style_ntb16();
    put16(&mut bytes, 0x12, 0x0C);
    let e = header_error(&bytes);
    assert_eq!(
        e,
        NtbError::NdpChain {
            format: NtbFormat::Ntb16,
            offset: 0x0C,
            limit: MAX_NDPS
        }
    );
    assert!(e.to_string().contains("a loop"));
    // Two NDP32s pointing at each other: refused before any datagram.
    let mut bytes = ntb32_two_sessions();
    put32(&mut bytes, 0x38, 0x10);
    assert!(matches!(header_error(&bytes), NtbError::NdpChain { .. }));
}

#[test]
fn error_in_second_ndp_is_found_up_front() {
    let mut bytes = ntb32_two_sessions();
    put16(&mut bytes, 0x34, 0x48); // second NDP's table: 0x30 + 0x48 > 0x74
    let (offset, kind) = ndp_error(&bytes);
    assert_eq!(offset, 0x30);
    assert!(matches!(
        kind,
        NdpErrorKind::TableBeyondBlock { end: 0x78, .. }
    ));
}

// ---- NTB parameters -----------------------------------------------------

/// A GET_NTB_PARAMETERS response with values typical of a Qualcomm-based
/// MBIM modem: NTB16 only, 32 KiB IN, 16 KiB OUT, 4-byte alignment.
const PARAMS: [u8; 28] = [
    0x1C, 0x00, // wLength 28
    0x01, 0x00, // bmNtbFormatsSupported: NTB16
    0x00, 0x80, 0x00, 0x00, // dwNtbInMaxSize 32768
    0x04, 0x00, // wNdpInDivisor 4
    0x00, 0x00, // wNdpInPayloadRemainder 0
    0x04, 0x00, // wNdpInAlignment 4
    0x00, 0x00, // reserved
    0x00, 0x40, 0x00, 0x00, // dwNtbOutMaxSize 16384
    0x04, 0x00, // wNdpOutDivisor 4
    0x00, 0x00, // wNdpOutPayloadRemainder 0
    0x04, 0x00, // wNdpOutAlignment 4
    0x10, 0x00, // wNtbOutMaxDatagrams 16
];

#[test]
fn ntb_parameters_parse_and_emit() {
    let p = NtbParameters::parse(&PARAMS).unwrap();
    assert_eq!(
        p,
        NtbParameters {
            formats_supported: 1,
            in_max_size: 32768,
            in_divisor: 4,
            in_payload_remainder: 0,
            in_alignment: 4,
            out_max_size: 16384,
            out_divisor: 4,
            out_payload_remainder: 0,
            out_alignment: 4,
            out_max_datagrams: 16,
        }
    );
    assert_eq!(p.validate(), Ok(()));
    assert!(p.supports(NtbFormat::Ntb16) && !p.supports(NtbFormat::Ntb32));
    assert_eq!(p.emit(), PARAMS);
    let limits = BuildLimits::from_parameters(&p);
    assert_eq!(limits.max_size, 16384);
    assert_eq!(limits.max_datagrams, 16);
}

#[test]
fn ntb_parameters_errors() {
    assert_eq!(
        NtbParameters::parse(&PARAMS[..27]),
        Err(NtbParametersError::Truncated(27))
    );
    let mut bad = PARAMS;
    bad[0] = 0x20;
    assert_eq!(
        NtbParameters::parse(&bad),
        Err(NtbParametersError::Length(0x20))
    );
    let good = NtbParameters::parse(&PARAMS).unwrap();
    let check = |f: &dyn Fn(&mut NtbParameters)| {
        let mut p = good;
        f(&mut p);
        p.validate().unwrap_err()
    };
    assert_eq!(
        check(&|p| p.formats_supported = 2),
        NtbParametersError::NoNtb16(2)
    );
    assert_eq!(
        check(&|p| p.in_max_size = 1024),
        NtbParametersError::MaxSizeTooSmall {
            direction: Direction::In,
            value: 1024
        }
    );
    let e = check(&|p| p.out_divisor = 0);
    assert_eq!(
        e,
        NtbParametersError::DivisorZero {
            direction: Direction::Out
        }
    );
    assert_eq!(e.to_string(), "NTB parameters: wNdpOutDivisor is 0");
    assert_eq!(
        check(&|p| p.in_payload_remainder = 4),
        NtbParametersError::RemainderNotBelowDivisor {
            direction: Direction::In,
            remainder: 4,
            divisor: 4
        }
    );
    assert_eq!(
        check(&|p| p.out_alignment = 6),
        NtbParametersError::Alignment {
            direction: Direction::Out,
            value: 6
        }
    );
    assert_eq!(
        check(&|p| p.out_alignment = 2),
        NtbParametersError::Alignment {
            direction: Direction::Out,
            value: 2
        }
    );
}

// ---- builder -------------------------------------------------------------

fn limits(max_size: u32, max_datagrams: u16) -> BuildLimits {
    BuildLimits {
        max_size,
        max_datagrams,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 4,
    }
}

#[test]
fn builds_the_linux_style_datagrams_and_parses_them_back() {
    let mut b = NtbBuilder::new(NtbFormat::Ntb16, limits(16384, 16)).unwrap();
    b.set_sequence(5);
    b.push(NdpSignature::Ips(0), &ping0()).unwrap();
    b.push(NdpSignature::Ips(0), &ping1()).unwrap();
    assert_eq!(b.len(), 2);
    let block = b.finish().unwrap().to_vec();
    #[rustfmt::skip]
    let expected_head = [
        0x4E, 0x43, 0x4D, 0x48, 0x0C, 0x00, 0x05, 0x00, // "NCMH", 12, seq 5
        0x58, 0x00, 0x44, 0x00, // block 0x58, NDP at 0x44 (after the data)
    ];
    assert_eq!(block[..12], expected_head);
    assert_eq!(block[0x0C..0x28], ping0()[..]);
    assert_eq!(block[0x28..0x44], ping1()[..]);
    #[rustfmt::skip]
    let expected_ndp = [
        0x49, 0x50, 0x53, 0x00, 0x14, 0x00, 0x00, 0x00, // "IPS0", wLength 20, no next
        0x0C, 0x00, 0x1C, 0x00, 0x28, 0x00, 0x1C, 0x00, // datagrams
        0x00, 0x00, 0x00, 0x00, // terminator
    ];
    assert_eq!(block[0x44..], expected_ndp);
    let ntb = Ntb::new_checked(&block).unwrap();
    assert_eq!(ntb.sequence(), 5);
    assert_eq!(
        collect(&ntb),
        vec![
            (NdpSignature::Ips(0), ping0()),
            (NdpSignature::Ips(0), ping1())
        ]
    );
    assert_eq!(b.sequence(), 6);
}

#[test]
fn builder_limits_errors() {
    let mut l = limits(16384, 0);
    l.divisor = 0;
    assert_eq!(
        NtbBuilder::new(NtbFormat::Ntb16, l).unwrap_err(),
        LimitsError::DivisorZero
    );
    l.divisor = 4;
    l.remainder = 4;
    assert!(matches!(
        NtbBuilder::new(NtbFormat::Ntb16, l),
        Err(LimitsError::RemainderNotBelowDivisor { .. })
    ));
    l.remainder = 0;
    l.ndp_alignment = 12;
    assert_eq!(
        NtbBuilder::new(NtbFormat::Ntb16, l).unwrap_err(),
        LimitsError::Alignment(12)
    );
    assert_eq!(
        NtbBuilder::new(NtbFormat::Ntb16, limits(24, 0)).unwrap_err(),
        LimitsError::MaxSizeTooSmall(24)
    );
    // 12 header + 16 NDP + 1 byte datagram rounded to 4.
    let b = NtbBuilder::new(NtbFormat::Ntb16, limits(32, 0)).unwrap();
    assert_eq!(b.max_datagram_len(), 4);
}

#[test]
fn builder_push_errors() {
    let mut b = NtbBuilder::new(NtbFormat::Ntb16, limits(2048, 3)).unwrap();
    // 2048 - 12 (NTH) - 16 (NDP16 with one entry) = 2020.
    assert_eq!(b.max_datagram_len(), 2020);
    assert_eq!(
        b.push(NdpSignature::Ips(0), &[0; 2021]),
        Err(PushError::TooBig {
            length: 2021,
            max: 2020
        })
    );
    assert_eq!(b.push(NdpSignature::Ips(0), &[]), Err(PushError::Empty));
    assert!(b.is_empty());
    assert_eq!(b.finish(), None);
    b.push(NdpSignature::Ips(0), &[0; 2020]).unwrap();
    assert_eq!(b.push(NdpSignature::Ips(0), &[1]), Err(PushError::Full));
    assert_eq!(b.finish().unwrap().len(), 2048);
    // Count limit.
    for _ in 0..3 {
        b.push(NdpSignature::Ips(0), &[7; 10]).unwrap();
    }
    assert_eq!(b.push(NdpSignature::Ips(0), &[7; 10]), Err(PushError::Full));
    assert_eq!(b.len(), 3);
    b.reset();
    assert!(b.is_empty());
    assert_eq!(b.finish(), None);
    assert_eq!(
        PushError::TooBig { length: 9, max: 8 }.to_string(),
        "datagram of 9 bytes exceeds the 8-byte maximum of an NTB"
    );
}

#[test]
fn builder_finish_twice_returns_the_same_block() {
    let mut b = NtbBuilder::new(NtbFormat::Ntb32, limits(4096, 0)).unwrap();
    b.push(NdpSignature::Dss(1), b"hello").unwrap();
    let first = b.finish().unwrap().to_vec();
    let again = b.finish().unwrap().to_vec();
    assert_eq!(first, again);
    assert_eq!(b.sequence(), 1);
    assert!(b.is_empty());
    // The next push starts a new block with the next sequence number.
    b.push(NdpSignature::Dss(1), b"again").unwrap();
    let second = b.finish().unwrap().to_vec();
    let ntb = Ntb::new_checked(&second).unwrap();
    assert_eq!(ntb.sequence(), 1);
    assert_eq!(
        collect(&ntb),
        vec![(NdpSignature::Dss(1), b"again".to_vec())]
    );
}

#[test]
fn builder_sessions_divisor_and_alignment() {
    let l = BuildLimits {
        max_size: 8192,
        max_datagrams: 0,
        divisor: 16,
        remainder: 14,
        ndp_alignment: 32,
    };
    for format in [NtbFormat::Ntb16, NtbFormat::Ntb32] {
        let mut b = NtbBuilder::new(format, l).unwrap();
        let input = [
            (NdpSignature::Ips(0), vec![1u8; 61]),
            (NdpSignature::Ips(3), vec![2u8; 7]),
            (NdpSignature::Ips(0), vec![3u8; 100]),
            (NdpSignature::Dss(0), vec![4u8; 1]),
            (NdpSignature::Ips(3), vec![5u8; 33]),
        ];
        for (s, d) in &input {
            b.push(*s, d).unwrap();
        }
        let block = b.finish().unwrap().to_vec();
        let ntb = Ntb::new_checked(&block).unwrap();
        assert_eq!(ntb.ndp_count(), 3);
        let got: Vec<(NdpSignature, &[u8])> = ntb
            .datagrams()
            .map(|d| d.map(|Datagram { signature, data }| (signature, data)))
            .collect::<Result<_, _>>()
            .unwrap();
        let order = [0, 2, 1, 4, 3];
        for (g, &i) in got.iter().zip(&order) {
            assert_eq!(g.0, input[i].0);
            assert_eq!(g.1, &input[i].1[..]);
            let offset = g.1.as_ptr() as usize - block.as_ptr() as usize;
            assert_eq!(offset % 16, 14, "{format:?}: datagram at {offset}");
        }
        // Every NDP is 32-aligned.
        let mut at = ntb_first_ndp(&block, format);
        while at != 0 {
            assert_eq!(at % 32, 0);
            at = match format {
                NtbFormat::Ntb16 => u16::from_le_bytes([block[at + 6], block[at + 7]]) as usize,
                NtbFormat::Ntb32 => {
                    u32::from_le_bytes(block[at + 8..at + 12].try_into().unwrap()) as usize
                }
            };
        }
    }
}

fn ntb_first_ndp(block: &[u8], format: NtbFormat) -> usize {
    match format {
        NtbFormat::Ntb16 => u16::from_le_bytes([block[10], block[11]]) as usize,
        NtbFormat::Ntb32 => u32::from_le_bytes(block[12..16].try_into().unwrap()) as usize,
    }
}

#[test]
fn builder_fills_exactly_to_max_size() {
    // With alignment 4 the accounting is exact: the last datagram that is
    // accepted makes the block exactly max_size long.
    let mut b = NtbBuilder::new(NtbFormat::Ntb16, limits(2048, 0)).unwrap();
    let mut n = 0;
    while b.push(NdpSignature::Ips(0), &[0xAB; 100]).is_ok() {
        n += 1;
    }
    let block = b.finish().unwrap();
    // 12 + n*100 + 8 + (n+1)*4 <= 2048 holds up to n = 19 (2000 bytes).
    assert_eq!(n, 19);
    assert_eq!(block.len(), 12 + 19 * 100 + 8 + 20 * 4);
    assert!(block.len() <= 2048);
}

#[test]
fn builder_caps_ntb16_at_64k() {
    let b = NtbBuilder::new(NtbFormat::Ntb16, limits(1 << 20, 0)).unwrap();
    assert_eq!(b.max_block_len(), 0xFFFF);
}

// ---- properties -------------------------------------------------------------

fn drain(bytes: &[u8]) -> usize {
    match Ntb::new_checked(bytes) {
        Ok(ntb) => ntb.datagrams().take(100_000).count(),
        Err(e) => e.to_string().len(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        drain(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_never_panic(
        ntb32 in any::<bool>(),
        ndp_index in 0u32..300,
        block_length in 0u32..300,
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = Vec::new();
        if ntb32 {
            bytes.extend(b"ncmh");
            bytes.extend(16u16.to_le_bytes());
            bytes.extend(0u16.to_le_bytes());
            bytes.extend(block_length.to_le_bytes());
            bytes.extend(ndp_index.to_le_bytes());
        } else {
            bytes.extend(b"NCMH");
            bytes.extend(12u16.to_le_bytes());
            bytes.extend(0u16.to_le_bytes());
            bytes.extend(u16::try_from(block_length).unwrap().to_le_bytes());
            bytes.extend(u16::try_from(ndp_index).unwrap().to_le_bytes());
        }
        bytes.extend(body);
        drain(&bytes);
    }

    #[test]
    fn mutated_valid_blocks_never_panic(
        flips in proptest::collection::vec((0usize..0x74, any::<u8>()), 1..6),
        ntb32 in any::<bool>(),
    ) {
        let mut bytes = if ntb32 { ntb32_two_sessions() } else { linux_style_ntb16() };
        for (at, value) in flips {
            if let Some(b) = bytes.get_mut(at) {
                *b = value;
            }
        }
        drain(&bytes);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn build_then_parse_round_trips(
        ntb32 in any::<bool>(),
        max_size in 64u32..20_000,
        max_datagrams in 0u16..40,
        divisor_log in 0u32..6,
        odd_divisor in any::<bool>(),
        remainder_seed in any::<u16>(),
        alignment_log in 0u32..7,
        sequence in any::<u16>(),
        datagrams in proptest::collection::vec(
            (0u8..4, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..1600)),
            0..60,
        ),
    ) {
        let format = if ntb32 { NtbFormat::Ntb32 } else { NtbFormat::Ntb16 };
        let divisor = if odd_divisor { 3u16 << divisor_log } else { 1u16 << divisor_log };
        let l = BuildLimits {
            max_size,
            max_datagrams,
            divisor,
            remainder: remainder_seed % divisor,
            ndp_alignment: 1 << alignment_log,
        };
        let Ok(mut b) = NtbBuilder::new(format, l) else {
            return Ok(());
        };
        b.set_sequence(sequence);
        let mut pending: Vec<(NdpSignature, Vec<u8>)> = Vec::new();
        let mut blocks = 0u16;
        let check = |block: &[u8], pending: &mut Vec<(NdpSignature, Vec<u8>)>, seq: u16| {
            prop_assert!(block.len() <= max_size as usize);
            let ntb = Ntb::new_checked(block).unwrap();
            prop_assert_eq!(ntb.format(), format);
            prop_assert_eq!(ntb.sequence(), seq);
            // Expected: grouped by session in first-appearance order, stable.
            let mut sessions: Vec<NdpSignature> = Vec::new();
            for (s, _) in pending.iter() {
                if !sessions.contains(s) {
                    sessions.push(*s);
                }
            }
            let expected: Vec<(NdpSignature, Vec<u8>)> = sessions
                .iter()
                .flat_map(|s| pending.iter().filter(move |(p, _)| p == s).cloned())
                .collect();
            prop_assert_eq!(collect(&ntb), expected);
            if max_datagrams != 0 {
                prop_assert!(pending.len() <= max_datagrams as usize);
            }
            for d in ntb.datagrams() {
                let d = d.unwrap();
                let offset = d.data.as_ptr() as usize - block.as_ptr() as usize;
                prop_assert_eq!(offset % divisor as usize, l.remainder as usize);
            }
            pending.clear();
            Ok(())
        };
        for (session, dss, data) in datagrams {
            let signature = if dss { NdpSignature::Dss(session) } else { NdpSignature::Ips(session) };
            match b.push(signature, &data) {
                Ok(()) => pending.push((signature, data)),
                Err(PushError::Empty) => prop_assert!(data.is_empty()),
                Err(PushError::TooBig { length, max }) => {
                    prop_assert_eq!(length, data.len());
                    prop_assert!(length > max);
                }
                Err(PushError::Full) => {
                    prop_assert!(!pending.is_empty());
                    let block = b.finish().unwrap().to_vec();
                    check(&block, &mut pending, sequence.wrapping_add(blocks))?;
                    blocks = blocks.wrapping_add(1);
                    // Into an empty block it must fit.
                    b.push(signature, &data).unwrap();
                    pending.push((signature, data));
                }
            }
        }
        match b.finish() {
            Some(block) => {
                let block = block.to_vec();
                check(&block, &mut pending, sequence.wrapping_add(blocks))?;
            }
            None => prop_assert!(pending.is_empty()),
        }
    }
}

#[test]
fn finish_into_hands_over_the_same_blocks_as_finish() {
    let limits = BuildLimits {
        max_size: 2048,
        max_datagrams: 0,
        divisor: 4,
        remainder: 2,
        ndp_alignment: 4,
    };
    let mut copying = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let mut swapping = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    // A recycled transfer buffer still holding an earlier, longer block.
    let mut spare = vec![0xee; 1500];
    for round in 0..5u8 {
        for len in 1..=(usize::from(round) + 3) {
            let datagram = vec![round ^ u8::try_from(len).unwrap(); len * 37];
            copying.push(NdpSignature::Ips(round), &datagram).unwrap();
            swapping.push(NdpSignature::Ips(round), &datagram).unwrap();
        }
        let expected = copying.finish().unwrap().to_vec();
        assert!(swapping.finish_into(&mut spare));
        assert_eq!(spare, expected, "block {round}");
        assert!(swapping.is_empty());
        spare.resize(1900, 0xee);
    }
    assert!(!swapping.finish_into(&mut spare), "nothing pushed");
    assert_eq!(spare.len(), 1900);
}

/// A spare shorter than the blocks built in it (a transfer buffer that
/// carried a small block, or none yet) is lengthened as the next block
/// needs, datagrams and NDPs alike, and the blocks are those `finish`
/// makes: full ones with two sessions, small ones, and full ones of tiny
/// datagrams, whose NDPs are longer than a step of growth.
#[test]
fn finish_into_lengthens_a_short_spare_as_the_block_needs() {
    let limits = BuildLimits {
        max_size: 16384,
        max_datagrams: 0,
        divisor: 4,
        remainder: 0,
        ndp_alignment: 16,
    };
    let mut copying = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let mut swapping = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    for (round, spare_len) in [0usize, 7, 300, 9000, 0, 16384].into_iter().enumerate() {
        let mut spare = vec![0xee; spare_len];
        let (full, tiny) = (round % 3 != 1, round % 3 == 2);
        let mut index = 0usize;
        loop {
            let size = if tiny {
                1 + index % 4
            } else {
                1 + (index * 97 + round) % 1400
            };
            let signature = NdpSignature::Ips(u8::try_from(index % 2).unwrap());
            let datagram = vec![u8::try_from((index + round) % 251).unwrap(); size];
            let copied = copying.push(signature, &datagram);
            assert_eq!(swapping.push(signature, &datagram), copied, "push {index}");
            index += 1;
            if copied.is_err() || (!full && index == 3) {
                break;
            }
        }
        let expected = copying.finish().unwrap().to_vec();
        assert!(swapping.finish_into(&mut spare));
        assert_eq!(spare, expected, "block {round}");
        copying.reset();
    }
}

/// A buffer of fixed capacity, like a pipe's mapped transfer block: it
/// refuses to grow past it.
struct Fixed {
    memory: Vec<u8>,
    len: usize,
}

impl Fixed {
    fn new(capacity: usize) -> Self {
        Fixed {
            memory: vec![0xee; capacity],
            len: 0,
        }
    }
}

impl AsRef<[u8]> for Fixed {
    fn as_ref(&self) -> &[u8] {
        &self.memory[..self.len]
    }
}

impl AsMut<[u8]> for Fixed {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.memory[..self.len]
    }
}

impl BlockBuffer for Fixed {
    fn set_len_zeroed(&mut self, len: usize) -> bool {
        if len > self.memory.len() {
            return false;
        }
        if len > self.len {
            self.memory[self.len..len].fill(0);
        }
        self.len = len;
        true
    }
}

/// A builder over buffers of the block size it was made for (`new_in`,
/// then the buffers it is given) builds the blocks a `Vec` builder does;
/// one over a buffer too short for a block calls it full where the buffer
/// ends, never writing past it.
#[test]
fn a_builder_in_fixed_buffers_builds_what_one_in_vecs_does() {
    let limits = BuildLimits {
        max_size: 8192,
        max_datagrams: 0,
        divisor: 4,
        remainder: 2,
        ndp_alignment: 8,
    };
    let size = limits.max_block_len(NtbFormat::Ntb16);
    let mut vecs = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let mut fixed = NtbBuilder::new_in(NtbFormat::Ntb16, limits, Fixed::new(size)).unwrap();
    assert_eq!(fixed.max_block_len(), size);
    let mut spare = Fixed::new(size);
    for round in 0..4usize {
        let mut index = 0usize;
        loop {
            let datagram = vec![
                u8::try_from((index + round) % 251).unwrap();
                1 + (index * 131 + round) % 1400
            ];
            let signature = NdpSignature::Ips(u8::try_from(index % 2).unwrap());
            let pushed = vecs.push(signature, &datagram);
            assert_eq!(fixed.push(signature, &datagram), pushed, "push {index}");
            index += 1;
            if pushed.is_err() || (round == 1 && index == 2) {
                break;
            }
        }
        let expected = vecs.finish().unwrap().to_vec();
        assert!(fixed.finish_into(&mut spare));
        assert_eq!(spare.as_ref(), &expected[..], "block {round}");
        vecs.reset();
    }
    let mut short = NtbBuilder::new_in(NtbFormat::Ntb16, limits, Fixed::new(3000)).unwrap();
    let mut pushed = 0;
    while short.push(NdpSignature::Ips(0), &[0x45; 1000]) == Ok(()) {
        pushed += 1;
    }
    assert_eq!(pushed, 2, "a third datagram would end past the buffer");
    let block = short.finish().unwrap();
    assert!(block.len() <= 3000);
    Ntb::new_checked(block).unwrap();
}

/// A datagram written in place (`push_with`) makes the same block as one
/// copied in (`push`), across sessions, a full block and a datagram too big;
/// the writer runs only for a datagram that is taken, on exactly its bytes.
#[test]
fn push_with_writes_in_place_what_push_copies() {
    let limits = BuildLimits {
        max_size: 4096,
        max_datagrams: 4,
        divisor: 4,
        remainder: 2,
        ndp_alignment: 8,
    };
    let mut copied = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let mut written = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let sizes = [1usize, 17, 1400, 63, 5000, 1399, 2, 700, 3];
    let mut blocks = (Vec::new(), Vec::new());
    for (index, &size) in sizes.iter().enumerate() {
        let signature = NdpSignature::Ips(u8::try_from(index % 2).unwrap());
        let datagram: Vec<u8> = (0..size)
            .map(|i| ((i * 13 + index) % 256).to_le_bytes()[0])
            .collect();
        for attempt in 0..2 {
            let expected = copied.push(signature, &datagram);
            let mut calls = 0;
            let got = written.push_with(signature, size, |slot| {
                calls += 1;
                assert_eq!(slot.len(), size);
                slot.copy_from_slice(&datagram);
            });
            assert_eq!(got, expected, "datagram {index}");
            assert_eq!(calls, usize::from(got.is_ok()), "datagram {index}");
            if got != Err(PushError::Full) || attempt == 1 {
                break;
            }
            blocks.0.push(copied.finish().unwrap().to_vec());
            blocks.1.push(written.finish().unwrap().to_vec());
        }
    }
    blocks.0.push(copied.finish().unwrap().to_vec());
    blocks.1.push(written.finish().unwrap().to_vec());
    assert!(blocks.0.len() >= 2);
    assert_eq!(blocks.0, blocks.1);
}

/// A writer that declines (`try_push_with` returning `Ok(false)`) leaves
/// the block as if that datagram had never been offered, whether it was
/// the block's first, a new session's or one more of the last session's
/// (the inline path); the bytes it scribbled never reach the block.
#[test]
fn a_declined_write_leaves_the_block_unchanged() {
    let limits = BuildLimits {
        max_size: 4096,
        max_datagrams: 0,
        divisor: 4,
        remainder: 2,
        ndp_alignment: 8,
    };
    let mut plain = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let mut declined = NtbBuilder::new(NtbFormat::Ntb16, limits).unwrap();
    let offers = [(0u8, 30usize), (0, 41), (1, 7), (1, 300), (0, 5)];
    for (index, &(session, size)) in offers.iter().enumerate() {
        let signature = NdpSignature::Ips(session);
        // Every offer is first declined, after writing garbage over its slot.
        let mut calls = 0;
        let refused = declined.try_push_with(signature, size, |slot| {
            calls += 1;
            slot.fill(0xee);
            false
        });
        assert_eq!(refused, Ok(false), "offer {index}");
        assert_eq!(calls, 1, "offer {index}");
        let datagram = vec![u8::try_from(index + 1).unwrap(); size];
        plain.push(signature, &datagram).unwrap();
        let taken = declined.try_push_with(signature, size, |slot| {
            slot.copy_from_slice(&datagram);
            true
        });
        assert_eq!(taken, Ok(true), "offer {index}");
        assert_eq!(declined.len(), index + 1);
    }
    let finished = declined.try_push_with(NdpSignature::Ips(2), 9, |slot| {
        slot.fill(0xee);
        false
    });
    assert_eq!(finished, Ok(false));
    assert_eq!(declined.finish().unwrap(), plain.finish().unwrap());
}
