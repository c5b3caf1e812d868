//! The URB phase: CMD_SUBMIT and CMD_UNLINK from the host, RET_SUBMIT and
//! RET_UNLINK back, each behind a 48-byte header.

use super::{
    Reader, UsbipError, ISO_DESCRIPTOR_LEN, MAX_ISO_PACKETS, MAX_TRANSFER, URB_HEADER_LEN,
    USBIP_CMD_SUBMIT, USBIP_CMD_UNLINK, USBIP_RET_SUBMIT, USBIP_RET_UNLINK,
};

/// Transfer direction of a URB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Host to device (0).
    Out,
    /// Device to host (1).
    In,
}

impl Direction {
    fn decode(value: u32) -> Result<Self, UsbipError> {
        match value {
            0 => Ok(Direction::Out),
            1 => Ok(Direction::In),
            other => Err(UsbipError::Direction(other)),
        }
    }

    fn encode(self) -> u32 {
        match self {
            Direction::Out => 0,
            Direction::In => 1,
        }
    }
}

/// `USBIP_CMD_SUBMIT`: a URB for the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdSubmit {
    /// Sequence number, echoed by the reply.
    pub seqnum: u32,
    /// `busnum << 16 | devnum` of the target.
    pub devid: u32,
    /// Transfer direction.
    pub direction: Direction,
    /// Endpoint number, 0..=15 (without the direction bit).
    pub ep: u8,
    /// URB transfer flags.
    pub transfer_flags: u32,
    /// OUT: bytes of data after the header. IN: the most the device may return.
    pub transfer_buffer_length: u32,
    /// Isochronous start frame.
    pub start_frame: i32,
    /// Isochronous packets (0, or -1 in some clients, when not isochronous).
    pub number_of_packets: i32,
    /// Polling interval.
    pub interval: i32,
    /// The setup packet of a control transfer (zero otherwise).
    pub setup: [u8; 8],
}

impl CmdSubmit {
    /// Bytes of OUT data that follow the header on the wire.
    pub fn out_data_len(&self) -> usize {
        match self.direction {
            // The bound was checked at decode time; usize holds 2^20 everywhere.
            Direction::Out => usize::try_from(self.transfer_buffer_length).unwrap_or(0),
            Direction::In => 0,
        }
    }

    /// Bytes of isochronous packet descriptors that follow the OUT data.
    pub fn iso_len(&self) -> usize {
        usize::try_from(self.number_of_packets)
            .unwrap_or(0)
            .saturating_mul(ISO_DESCRIPTOR_LEN)
    }

    /// The IN transfer length as a buffer size.
    pub fn in_len(&self) -> usize {
        match self.direction {
            Direction::In => usize::try_from(self.transfer_buffer_length).unwrap_or(0),
            Direction::Out => 0,
        }
    }
}

/// `USBIP_CMD_UNLINK`: cancel a submitted URB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdUnlink {
    /// Sequence number of this unlink request, echoed by the reply.
    pub seqnum: u32,
    /// Target device.
    pub devid: u32,
    /// Direction field (unused by servers).
    pub direction: Direction,
    /// Endpoint field (unused by servers).
    pub ep: u8,
    /// The sequence number of the URB to cancel.
    pub unlink_seqnum: u32,
}

/// A URB-phase message from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrbCommand {
    /// `USBIP_CMD_SUBMIT`.
    Submit(CmdSubmit),
    /// `USBIP_CMD_UNLINK`.
    Unlink(CmdUnlink),
}

/// The 20-byte basic header shared by all URB messages.
struct Basic {
    command: u32,
    seqnum: u32,
    devid: u32,
    direction: u32,
    ep: u32,
}

impl Basic {
    fn read(r: &mut Reader<'_>) -> Result<Self, UsbipError> {
        Ok(Basic {
            command: r.u32()?,
            seqnum: r.u32()?,
            devid: r.u32()?,
            direction: r.u32()?,
            ep: r.u32()?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        for value in [
            self.command,
            self.seqnum,
            self.devid,
            self.direction,
            self.ep,
        ] {
            out.extend_from_slice(&value.to_be_bytes());
        }
    }
}

fn checked_length(value: i32) -> Result<u32, UsbipError> {
    u32::try_from(value)
        .ok()
        .filter(|&n| n <= MAX_TRANSFER)
        .ok_or(UsbipError::TransferLength(value))
}

fn finish_header(out: Vec<u8>) -> [u8; URB_HEADER_LEN] {
    let mut header = [0u8; URB_HEADER_LEN];
    for (slot, byte) in header.iter_mut().zip(out) {
        *slot = byte;
    }
    header
}

impl UrbCommand {
    /// Decodes a 48-byte header. The OUT data ([`CmdSubmit::out_data_len`])
    /// and isochronous descriptors ([`CmdSubmit::iso_len`]) follow it.
    pub fn decode(header: &[u8]) -> Result<Self, UsbipError> {
        let mut r = Reader::new("URB command header", header, URB_HEADER_LEN)?;
        let basic = Basic::read(&mut r)?;
        let direction = Direction::decode(basic.direction)?;
        let ep = u8::try_from(basic.ep)
            .ok()
            .filter(|&ep| ep <= 15)
            .ok_or(UsbipError::Endpoint(basic.ep))?;
        match basic.command {
            USBIP_CMD_SUBMIT => {
                let transfer_flags = r.u32()?;
                let transfer_buffer_length = checked_length(r.i32()?)?;
                let start_frame = r.i32()?;
                let number_of_packets = r.i32()?;
                if u32::try_from(number_of_packets).is_ok_and(|n| n > MAX_ISO_PACKETS) {
                    return Err(UsbipError::IsoPackets(number_of_packets));
                }
                let interval = r.i32()?;
                let setup = r.bytes::<8>()?;
                Ok(UrbCommand::Submit(CmdSubmit {
                    seqnum: basic.seqnum,
                    devid: basic.devid,
                    direction,
                    ep,
                    transfer_flags,
                    transfer_buffer_length,
                    start_frame,
                    number_of_packets,
                    interval,
                    setup,
                }))
            }
            USBIP_CMD_UNLINK => Ok(UrbCommand::Unlink(CmdUnlink {
                seqnum: basic.seqnum,
                devid: basic.devid,
                direction,
                ep,
                unlink_seqnum: r.u32()?,
            })),
            other => Err(UsbipError::Command(other)),
        }
    }

    /// The 48-byte header (OUT data and iso descriptors are the caller's).
    pub fn encode(&self) -> [u8; URB_HEADER_LEN] {
        let mut out = Vec::with_capacity(URB_HEADER_LEN);
        match self {
            UrbCommand::Submit(c) => {
                Basic {
                    command: USBIP_CMD_SUBMIT,
                    seqnum: c.seqnum,
                    devid: c.devid,
                    direction: c.direction.encode(),
                    ep: u32::from(c.ep),
                }
                .write(&mut out);
                out.extend_from_slice(&c.transfer_flags.to_be_bytes());
                out.extend_from_slice(&c.transfer_buffer_length.to_be_bytes());
                for value in [c.start_frame, c.number_of_packets, c.interval] {
                    out.extend_from_slice(&value.to_be_bytes());
                }
                out.extend_from_slice(&c.setup);
            }
            UrbCommand::Unlink(c) => {
                Basic {
                    command: USBIP_CMD_UNLINK,
                    seqnum: c.seqnum,
                    devid: c.devid,
                    direction: c.direction.encode(),
                    ep: u32::from(c.ep),
                }
                .write(&mut out);
                out.extend_from_slice(&c.unlink_seqnum.to_be_bytes());
            }
        }
        finish_header(out)
    }
}

/// `USBIP_RET_SUBMIT`: a completed URB. IN data of `actual_length` bytes
/// follows the header; OUT transfers return no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetSubmit {
    /// The sequence number of the completed `CMD_SUBMIT`.
    pub seqnum: u32,
    /// 0, or a negative errno ([`errno`](super::errno)).
    pub status: i32,
    /// Bytes transferred.
    pub actual_length: u32,
    /// Isochronous start frame (0 here).
    pub start_frame: i32,
    /// Isochronous packets (0 here).
    pub number_of_packets: i32,
    /// Isochronous errors (0 here).
    pub error_count: i32,
}

impl RetSubmit {
    /// A completion of a non-isochronous URB.
    pub fn new(seqnum: u32, status: i32, actual_length: u32) -> Self {
        RetSubmit {
            seqnum,
            status,
            actual_length,
            start_frame: 0,
            number_of_packets: 0,
            error_count: 0,
        }
    }

    /// The IN data length as a buffer size.
    pub fn data_len(&self) -> usize {
        usize::try_from(self.actual_length).unwrap_or(0)
    }
}

/// `USBIP_RET_UNLINK`: the result of an unlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetUnlink {
    /// The sequence number of the `CMD_UNLINK`.
    pub seqnum: u32,
    /// `-ECONNRESET` if the URB was cancelled, 0 if it had already completed.
    pub status: i32,
}

/// A URB-phase message from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrbReply {
    /// `USBIP_RET_SUBMIT`.
    Submit(RetSubmit),
    /// `USBIP_RET_UNLINK`.
    Unlink(RetUnlink),
}

impl UrbReply {
    /// The 48-byte header. The basic header's devid, direction and ep are 0,
    /// as the protocol document requires of replies.
    pub fn encode(&self) -> [u8; URB_HEADER_LEN] {
        let mut out = Vec::with_capacity(URB_HEADER_LEN);
        match self {
            UrbReply::Submit(r) => {
                Basic {
                    command: USBIP_RET_SUBMIT,
                    seqnum: r.seqnum,
                    devid: 0,
                    direction: 0,
                    ep: 0,
                }
                .write(&mut out);
                out.extend_from_slice(&r.status.to_be_bytes());
                out.extend_from_slice(&r.actual_length.to_be_bytes());
                for value in [r.start_frame, r.number_of_packets, r.error_count] {
                    out.extend_from_slice(&value.to_be_bytes());
                }
            }
            UrbReply::Unlink(r) => {
                Basic {
                    command: USBIP_RET_UNLINK,
                    seqnum: r.seqnum,
                    devid: 0,
                    direction: 0,
                    ep: 0,
                }
                .write(&mut out);
                out.extend_from_slice(&r.status.to_be_bytes());
            }
        }
        finish_header(out)
    }

    /// Decodes a 48-byte reply header.
    pub fn decode(header: &[u8]) -> Result<Self, UsbipError> {
        let mut r = Reader::new("URB reply header", header, URB_HEADER_LEN)?;
        let basic = Basic::read(&mut r)?;
        match basic.command {
            USBIP_RET_SUBMIT => {
                let status = r.i32()?;
                let actual_length = checked_length(r.i32()?)?;
                Ok(UrbReply::Submit(RetSubmit {
                    seqnum: basic.seqnum,
                    status,
                    actual_length,
                    start_frame: r.i32()?,
                    number_of_packets: r.i32()?,
                    error_count: r.i32()?,
                }))
            }
            USBIP_RET_UNLINK => Ok(UrbReply::Unlink(RetUnlink {
                seqnum: basic.seqnum,
                status: r.i32()?,
            })),
            other => Err(UsbipError::Command(other)),
        }
    }

    /// A `RET_SUBMIT` followed by its IN data, ready to write.
    pub fn submit_with_data(seqnum: u32, status: i32, data: &[u8]) -> Vec<u8> {
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        let mut out = Vec::with_capacity(URB_HEADER_LEN + data.len());
        out.extend_from_slice(&UrbReply::Submit(RetSubmit::new(seqnum, status, len)).encode());
        out.extend_from_slice(data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usb::usbip::errno;
    use proptest::prelude::*;

    #[test]
    fn cmd_submit_from_labelled_bytes() {
        #[rustfmt::skip]
        let bytes = [
            0, 0, 0, 1,             // command: CMD_SUBMIT
            0, 0, 0, 0x2A,          // seqnum 42
            0, 1, 0, 2,             // devid 1-2
            0, 0, 0, 1,             // direction: IN
            0, 0, 0, 0,             // ep 0
            0, 0, 0x02, 0x00,       // transfer_flags: URB_DIR_IN
            0, 0, 0, 0x12,          // transfer_buffer_length 18
            0, 0, 0, 0,             // start_frame
            0xFF, 0xFF, 0xFF, 0xFF, // number_of_packets: -1 (not ISO)
            0, 0, 0, 0,             // interval
            0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00, // GET_DESCRIPTOR(DEVICE), 18
        ];
        let cmd = UrbCommand::decode(&bytes).unwrap();
        let UrbCommand::Submit(submit) = cmd else {
            panic!("not a submit: {cmd:?}");
        };
        assert_eq!(submit.seqnum, 42);
        assert_eq!(submit.devid, 0x0001_0002);
        assert_eq!(submit.direction, Direction::In);
        assert_eq!(submit.ep, 0);
        assert_eq!(submit.transfer_buffer_length, 18);
        assert_eq!(submit.number_of_packets, -1);
        assert_eq!(submit.out_data_len(), 0);
        assert_eq!(submit.in_len(), 18);
        assert_eq!(submit.iso_len(), 0);
        assert_eq!(
            submit.setup,
            [0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x12, 0x00]
        );
        assert_eq!(cmd.encode(), bytes);
    }

    #[test]
    fn cmd_unlink_and_replies_from_labelled_bytes() {
        #[rustfmt::skip]
        let unlink = [
            0, 0, 0, 2,             // command: CMD_UNLINK
            0, 0, 0, 7,             // seqnum 7
            0, 1, 0, 2,             // devid
            0, 0, 0, 0,             // direction
            0, 0, 0, 1,             // ep 1
            0, 0, 0, 5,             // unlink_seqnum 5
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let cmd = UrbCommand::decode(&unlink).unwrap();
        assert_eq!(
            cmd,
            UrbCommand::Unlink(CmdUnlink {
                seqnum: 7,
                devid: 0x0001_0002,
                direction: Direction::Out,
                ep: 1,
                unlink_seqnum: 5
            })
        );
        assert_eq!(cmd.encode(), unlink);

        #[rustfmt::skip]
        let ret_unlink = [
            0, 0, 0, 4,             // command: RET_UNLINK
            0, 0, 0, 7,             // seqnum 7
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // devid, direction, ep: 0
            0xFF, 0xFF, 0xFF, 0x98, // status -104 (-ECONNRESET)
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let reply = UrbReply::Unlink(RetUnlink {
            seqnum: 7,
            status: -errno::ECONNRESET,
        });
        assert_eq!(reply.encode(), ret_unlink);
        assert_eq!(UrbReply::decode(&ret_unlink).unwrap(), reply);

        let with_data = UrbReply::submit_with_data(42, 0, &[1, 2, 3]);
        #[rustfmt::skip]
        assert_eq!(&with_data[..28], [
            0, 0, 0, 3,             // command: RET_SUBMIT
            0, 0, 0, 42,            // seqnum
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0,             // status 0
            0, 0, 0, 3,             // actual_length 3
        ]);
        assert_eq!(&with_data[48..], [1, 2, 3]);
        assert_eq!(
            UrbReply::decode(&with_data).unwrap(),
            UrbReply::Submit(RetSubmit::new(42, 0, 3))
        );
    }

    #[test]
    fn bad_urb_headers_are_typed_errors() {
        assert!(matches!(
            UrbCommand::decode(&[0; 47]),
            Err(UsbipError::Truncated { needed: 48, .. })
        ));
        let mut bytes = [0u8; 48];
        bytes[3] = 9;
        assert_eq!(UrbCommand::decode(&bytes), Err(UsbipError::Command(9)));
        bytes[3] = 1;
        bytes[15] = 2;
        assert_eq!(UrbCommand::decode(&bytes), Err(UsbipError::Direction(2)));
        bytes[15] = 0;
        bytes[19] = 16;
        assert_eq!(UrbCommand::decode(&bytes), Err(UsbipError::Endpoint(16)));
        bytes[19] = 0;
        bytes[24..28].copy_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            UrbCommand::decode(&bytes),
            Err(UsbipError::TransferLength(-1))
        );
        bytes[24..28].copy_from_slice(&0x0020_0000i32.to_be_bytes());
        assert_eq!(
            UrbCommand::decode(&bytes),
            Err(UsbipError::TransferLength(0x0020_0000))
        );
        bytes[24..28].copy_from_slice(&[0; 4]);
        bytes[32..36].copy_from_slice(&5000i32.to_be_bytes());
        assert_eq!(
            UrbCommand::decode(&bytes),
            Err(UsbipError::IsoPackets(5000))
        );
    }

    fn arb_submit() -> impl Strategy<Value = CmdSubmit> {
        (
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u8..16,
            any::<u32>(),
            0..=MAX_TRANSFER,
            any::<i32>(),
            -1i32..=1024,
            any::<i32>(),
            any::<[u8; 8]>(),
        )
            .prop_map(
                |(seqnum, devid, is_in, ep, flags, len, start, packets, interval, setup)| {
                    CmdSubmit {
                        seqnum,
                        devid,
                        direction: if is_in { Direction::In } else { Direction::Out },
                        ep,
                        transfer_flags: flags,
                        transfer_buffer_length: len,
                        start_frame: start,
                        number_of_packets: packets,
                        interval,
                        setup,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn submits_round_trip(submit in arb_submit()) {
            let cmd = UrbCommand::Submit(submit);
            prop_assert_eq!(UrbCommand::decode(&cmd.encode()), Ok(cmd));
        }

        #[test]
        fn unlinks_and_replies_round_trip(
            seqnum in any::<u32>(), other in any::<u32>(), status in any::<i32>(),
            len in 0..=MAX_TRANSFER, ep in 0u8..16,
        ) {
            let cmd = UrbCommand::Unlink(CmdUnlink {
                seqnum, devid: other, direction: Direction::In, ep, unlink_seqnum: other,
            });
            prop_assert_eq!(UrbCommand::decode(&cmd.encode()), Ok(cmd));
            let ret = UrbReply::Submit(RetSubmit::new(seqnum, status, len));
            prop_assert_eq!(UrbReply::decode(&ret.encode()), Ok(ret));
            let ret = UrbReply::Unlink(RetUnlink { seqnum, status });
            prop_assert_eq!(UrbReply::decode(&ret.encode()), Ok(ret));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let _ = UrbCommand::decode(&bytes);
            let _ = UrbReply::decode(&bytes);
        }
    }
}
