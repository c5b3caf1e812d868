//! MBIM_TLV_IE (MBIMEx 3.0): the checked view, parse and emit, the padding
//! rules, and the typed contents (strings, u16 tables, wake command and
//! packet), from labelled bytes and as properties over arbitrary input.

// A panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod support;

use mbim_protocol::describe::{Describe, Value};
use mbim_protocol::services::basic_connect;
use mbim_protocol::tlv::{
    self, padding_for, Packet, Tlv, TlvError, TlvRepr, TlvType, WakeCommand, WakePacket,
};
use proptest::prelude::*;
use support::*;

/// The first unnamed IE of libmbim's "3 unnamed TLVs" tests: "abcde".
fn abcde() -> Vec<u8> {
    labelled(
        "
        0a 00       # 0x00 Type: WCHAR_STR
        00          # 0x02 Reserved
        02          # 0x03 PaddingLength: 2
        0a000000    # 0x04 DataLength: 10
        61006200    # 0x08 'ab'
        63006400    # 0x0c 'cd'
        6500        # 0x10 'e'
        0000        # 0x12 padding
        ",
    )
}

#[test]
fn a_string_element_reads_through_the_view_and_the_repr() {
    let bytes = abcde();
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.tlv_type(), TlvType::WcharStr);
    assert_eq!(packet.reserved(), 0);
    assert_eq!(packet.padding_length(), 2);
    assert_eq!(packet.data_length(), 10);
    assert_eq!(packet.data(), b"a\0b\0c\0d\0e\0");
    assert_eq!(packet.total_len(), 20);
    let repr = TlvRepr::parse(&packet).unwrap();
    assert_eq!(repr.tlv_type, TlvType::WcharStr);
    assert_eq!(repr.buffer_len(), 20);
    let owned = Tlv::from(repr);
    assert_eq!(owned.as_string().unwrap(), "abcde");
    assert_eq!(owned, Tlv::string("abcde"));
    // Emitting gives the same bytes, padding included.
    assert_eq!(dump(&owned.to_bytes()), dump(&bytes));
    let mut buffer = vec![0xFF; 20];
    repr.emit(&mut Packet::new_unchecked(&mut buffer[..]));
    assert_eq!(dump(&buffer), dump(&bytes));
}

#[test]
fn pco_data_of_eleven_bytes_gets_one_padding_byte() {
    let bytes = labelled(
        "
        0d 00       # 0x00 Type: PCO
        00          # 0x02 Reserved
        01          # 0x03 PaddingLength: 1
        0b000000    # 0x04 DataLength: 11
        01020304    # 0x08 data
        05060708    # 0x0c
        090a0b      # 0x10
        00          # 0x13 padding
        ",
    );
    let (repr, taken) = TlvRepr::parse_prefix(&bytes).unwrap();
    assert_eq!(taken, bytes.len());
    assert_eq!(repr.tlv_type, TlvType::Pco);
    assert_eq!(repr.data, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert_eq!(repr.padding_len(), 1);
    assert_eq!(Tlv::from(repr).to_bytes(), bytes);
}

#[test]
fn an_empty_string_is_a_header_alone() {
    let bytes = labelled(
        "
        0a 00 00 00 # 0x00 Type WCHAR_STR, Reserved, PaddingLength 0
        00000000    # 0x04 DataLength: 0
        ",
    );
    assert_eq!(Tlv::string("").to_bytes(), bytes);
    let (repr, taken) = TlvRepr::parse_prefix(&bytes).unwrap();
    assert_eq!((taken, repr.data.len()), (8, 0));
    assert_eq!(Tlv::from(repr).as_string().unwrap(), "");
}

#[test]
fn padding_is_what_aligns_the_element_to_four_bytes() {
    for (data_length, padding) in [(0, 0), (1, 3), (2, 2), (3, 1), (4, 0), (5, 3), (58, 2)] {
        assert_eq!(padding_for(data_length), padding, "{data_length}");
        let element = Tlv::new(TlvType::EapPacket, vec![7; data_length]);
        let bytes = element.to_bytes();
        assert_eq!(bytes.len(), 8 + data_length + padding);
        assert_eq!(usize::from(bytes[3]), padding);
        assert!(bytes[8 + data_length..].iter().all(|byte| *byte == 0));
    }
}

#[test]
fn the_declared_padding_is_taken_even_when_it_does_not_align() {
    // libmbim reads what the element declares; so do we. Only more than 3
    // padding bytes, which nothing allows, is refused.
    let bytes = labelled(
        "
        11 00 00 00 # 0x00 Type 17, no padding
        02000000    # 0x04 DataLength: 2
        abcd        # 0x08 data
        0a00        # 0x0a the next element starts here
        ",
    );
    let (repr, taken) = TlvRepr::parse_prefix(&bytes).unwrap();
    assert_eq!((repr.data, taken), (&[0xab, 0xcd][..], 10));
    let mut too_much = Tlv::new(TlvType::Pco, vec![1]).to_bytes();
    too_much[3] = 4;
    too_much.extend_from_slice(&[0; 4]);
    assert_eq!(
        Packet::new_checked(&too_much[..]),
        Err(TlvError::PaddingTooLong(4))
    );
}

#[test]
fn lengths_past_the_buffer_are_refused_with_what_was_missing() {
    let bytes = abcde();
    assert_eq!(
        Packet::new_checked(&bytes[..7]),
        Err(TlvError::Truncated { available: 7 })
    );
    // Data present, padding cut off.
    let error = Packet::new_checked(&bytes[..18]).unwrap_err();
    assert_eq!(
        error,
        TlvError::DataPastBuffer {
            data_length: 10,
            padding_length: 2,
            needed: 12,
            available: 10,
        }
    );
    assert_eq!(
        error.to_string(),
        "TLV data of 10 bytes and 2 padding bytes need 12 bytes after the header, but only 10 remain"
    );
    // A DataLength near u32::MAX cannot overflow the check.
    let mut huge = bytes.clone();
    huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    huge[3] = 3;
    assert!(matches!(
        Packet::new_checked(&huge[..]),
        Err(TlvError::DataPastBuffer { .. })
    ));
}

#[test]
fn elements_iterate_in_order_with_their_offsets() {
    let mut bytes = abcde();
    bytes.extend(Tlv::string("Orange").to_bytes());
    bytes.extend(Tlv::new(TlvType::Pco, vec![1, 2, 3]).to_bytes());
    let elements: Vec<_> = tlv::iter(&bytes).collect::<Result<_, _>>().unwrap();
    let offsets: Vec<usize> = elements.iter().map(|(offset, _)| *offset).collect();
    assert_eq!(offsets, [0, 20, 40]);
    assert_eq!(elements[1].1.tlv_type, TlvType::WcharStr);
    // A broken element ends the iteration with its error, once.
    bytes.extend_from_slice(&[0x0a, 0, 0, 0, 0xff, 0, 0, 0]);
    let mut iter = tlv::iter(&bytes).skip(3);
    assert!(matches!(
        iter.next(),
        Some(Err((52, TlvError::DataPastBuffer { .. })))
    ));
    assert!(iter.next().is_none());
}

#[test]
fn a_u16_table_holds_band_numbers() {
    let bytes = labelled(
        "
        0b 00 00 02 # 0x00 Type UINT16_TBL, PaddingLength 2
        06000000    # 0x04 DataLength: 6
        0100 0300   # 0x08 bands 1, 3
        1400 0000   # 0x0c band 20, padding
        ",
    );
    let element = Tlv::u16_table(&[1, 3, 20]);
    assert_eq!(element.to_bytes(), bytes);
    assert_eq!(element.as_u16_table().unwrap(), [1, 3, 20]);
    assert_eq!(
        element.describe(),
        Value::Struct(vec![
            (
                "type",
                Value::Enum {
                    name: Some("uint16-tbl"),
                    value: 11
                }
            ),
            (
                "values",
                Value::List(vec![Value::U32(1), Value::U32(3), Value::U32(20)])
            ),
        ])
    );
    let odd = Tlv::new(TlvType::Uint16Tbl, vec![1, 2, 3]);
    assert_eq!(
        odd.as_u16_table(),
        Err(TlvError::BadLength {
            content: "uint16-tbl",
            length: 3,
            unit: 2
        })
    );
    // What does not read as its type is shown as raw data.
    assert!(matches!(&odd.describe(), Value::Struct(fields) if fields[1].0 == "data"));
    assert_eq!(
        element.as_string(),
        Err(TlvError::WrongType {
            expected: TlvType::WcharStr,
            found: TlvType::Uint16Tbl
        })
    );
}

#[test]
fn a_wake_command_names_the_cid_and_carries_its_payload() {
    // libmbim's wake-reason "command payload" test: CONNECT, a u32 payload.
    let data = labelled(
        "
        a289cc33 bcbb8b4f b6b0133e c2aae6df # 0x00 service: basic connect
        0c000000    # 0x10 CID: connect
        1c000000    # 0x14 payload offset: 28
        04000000    # 0x18 payload size: 4
        01000000    # 0x1c payload
        ",
    );
    let command = WakeCommand {
        service: basic_connect::UUID,
        cid: 12,
        payload: vec![1, 0, 0, 0],
    };
    let element = Tlv::wake_command(&command);
    assert_eq!(element.data, data);
    assert_eq!(element.as_wake_command().unwrap(), command);
    let described = format!("{:?}", element.describe());
    assert!(described.contains("Some(\"connect\")"), "{described}");
    // Without a payload, offset and size are 0.
    let bare = Tlv::wake_command(&WakeCommand {
        payload: Vec::new(),
        ..command.clone()
    });
    assert_eq!(&bare.data[20..28], &[0; 8]);
    // A payload said to lie inside the fixed part is refused.
    let mut bad = element.clone();
    bad.data[20] = 8;
    assert!(matches!(
        bad.as_wake_command(),
        Err(TlvError::BadContent { .. })
    ));
}

#[test]
fn a_wake_packet_carries_the_filter_and_the_packet() {
    let packet = WakePacket {
        filter_id: 11,
        original_packet_size: 12,
        packet: (1..=10).collect(),
    };
    let element = Tlv::wake_packet(&packet);
    assert_eq!(
        element.to_bytes(),
        labelled(
            "
            11 00 00 02 # 0x00 Type WAKE_PACKET, PaddingLength 2
            1a000000    # 0x04 DataLength: 26
            0b000000    # 0x08 filter id
            0c000000    # 0x0c original packet size
            10000000    # 0x10 packet offset: 16
            0a000000    # 0x14 packet size: 10
            01020304 05060708 090a # 0x18 packet
            0000        # 0x22 padding
            "
        )
    );
    assert_eq!(element.as_wake_packet().unwrap(), packet);
    let mut short = element;
    short.data.truncate(20);
    assert!(matches!(
        short.as_wake_packet(),
        Err(TlvError::BadContent { .. })
    ));
}

#[test]
fn unknown_types_are_kept() {
    let element = Tlv::new(TlvType::from(0x1234), vec![9]);
    assert_eq!(element.tlv_type, TlvType::Unknown(0x1234));
    let bytes = element.to_bytes();
    let (repr, _) = TlvRepr::parse_prefix(&bytes).unwrap();
    assert_eq!(Tlv::from(repr), element);
    assert_eq!(element.tlv_type.to_string(), "unknown (0x1234)");
    for known in TlvType::ALL {
        assert_eq!(TlvType::from(known.value()), *known);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_and_what_parses_re_emits(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let packet = Packet::new_unchecked(&bytes[..]);
        let _ = (packet.tlv_type(), packet.data(), packet.total_len());
        if let Ok((repr, taken)) = TlvRepr::parse_prefix(&bytes) {
            prop_assert!(taken <= bytes.len());
            let emitted = Tlv::from(repr).to_bytes();
            let (again, again_taken) = TlvRepr::parse_prefix(&emitted).unwrap();
            prop_assert_eq!(again, repr);
            prop_assert_eq!(again_taken, emitted.len());
            prop_assert_eq!(emitted.len() % 4, 0);
        }
        for (offset, repr) in tlv::iter(&bytes).flatten() {
            prop_assert!(offset + 8 + repr.data.len() <= bytes.len());
        }
        let owned = Tlv::new(TlvType::from(u16::from(bytes.first().copied().unwrap_or(0) % 20)), bytes.clone());
        let _ = (owned.as_string(), owned.as_u16_table(), owned.as_wake_command(), owned.as_wake_packet());
        let _ = owned.describe().masked();
    }

    #[test]
    fn every_element_round_trips(type_value in any::<u16>(), data in proptest::collection::vec(any::<u8>(), 0..40)) {
        let element = Tlv::new(TlvType::from(type_value), data);
        let bytes = element.to_bytes();
        let (repr, taken) = TlvRepr::parse_prefix(&bytes).unwrap();
        prop_assert_eq!(taken, bytes.len());
        prop_assert_eq!(Tlv::from(repr), element);
    }
}
