//! The USB/IP server end to end, without a kernel: the test plays vhci-hcd
//! on a loopback TCP connection to a server running the built-in DSSA modem.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_protocol::descriptors::find_mbim_functions;
use mbim_protocol::message::Message;
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::services::basic_connect::{cid::DeviceCaps, DeviceCapsInfo};
use mbim_protocol::services::Cid;
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::{ClassRequest, Notification, SetupPacket};
use mbim_protocol::Payload;
use mbim_sim::control::ControlCommand;
use mbim_sim::device::SimModem;
use mbim_sim::scenario::Scenario;
use mbim_sim::usb::server::{serve_tcp, SimUsbDevice};
use mbim_sim::usb::usbip::{
    errno, CmdSubmit, CmdUnlink, Direction, OpReply, OpRequest, UrbCommand, UrbReply, UsbDevice,
    OP_HEADER_LEN, URB_HEADER_LEN, USB_DEVICE_LEN,
};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (SimModem, SocketAddr) {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let runner = modem.clone();
    tokio::spawn(async move { runner.run().await });
    let device = Arc::new(SimUsbDevice::new(modem.clone()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve_tcp(listener, device));
    (modem, address)
}

/// The test's side of an imported device: what vhci-hcd does.
struct Vhci {
    stream: TcpStream,
    devid: u32,
    next_seqnum: u32,
    in_urbs: HashSet<u32>,
}

/// A completed URB or unlink as the client sees it.
#[derive(Debug)]
enum Completion {
    Submit {
        seqnum: u32,
        status: i32,
        data: Vec<u8>,
        actual_length: u32,
    },
    Unlink {
        seqnum: u32,
        status: i32,
    },
}

async fn import(address: SocketAddr, busid: &str) -> Result<(TcpStream, UsbDevice), TcpStream> {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = OpRequest::Import {
        busid: busid.into(),
    };
    stream.write_all(&request.encode().unwrap()).await.unwrap();
    let mut header = [0u8; OP_HEADER_LEN];
    stream.read_exact(&mut header).await.unwrap();
    if header[4..8] != [0, 0, 0, 0] {
        assert_eq!(OpReply::decode(&header).unwrap(), OpReply::Import(None));
        return Err(stream);
    }
    let mut reply = header.to_vec();
    reply.resize(OP_HEADER_LEN + USB_DEVICE_LEN, 0);
    stream
        .read_exact(&mut reply[OP_HEADER_LEN..])
        .await
        .unwrap();
    match OpReply::decode(&reply).unwrap() {
        OpReply::Import(Some(device)) => Ok((stream, device)),
        other => panic!("unexpected import reply {other:?}"),
    }
}

impl Vhci {
    async fn attach(address: SocketAddr) -> (Vhci, UsbDevice) {
        let (stream, device) = import(address, "1-1").await.ok().unwrap();
        let vhci = Vhci {
            stream,
            devid: device.devid(),
            next_seqnum: 1,
            in_urbs: HashSet::new(),
        };
        (vhci, device)
    }

    async fn submit(
        &mut self,
        ep: u8,
        direction: Direction,
        len: usize,
        setup: [u8; 8],
        data: &[u8],
    ) -> u32 {
        let seqnum = self.next_seqnum;
        self.next_seqnum += 1;
        let cmd = UrbCommand::Submit(CmdSubmit {
            seqnum,
            devid: self.devid,
            direction,
            ep,
            transfer_flags: 0,
            transfer_buffer_length: u32::try_from(len).unwrap(),
            start_frame: 0,
            number_of_packets: 0,
            interval: 0,
            setup,
        });
        let mut bytes = cmd.encode().to_vec();
        if direction == Direction::Out {
            bytes.extend_from_slice(data);
        } else {
            self.in_urbs.insert(seqnum);
        }
        self.stream.write_all(&bytes).await.unwrap();
        seqnum
    }

    async fn unlink(&mut self, target: u32) -> u32 {
        let seqnum = self.next_seqnum;
        self.next_seqnum += 1;
        let cmd = UrbCommand::Unlink(CmdUnlink {
            seqnum,
            devid: self.devid,
            direction: Direction::Out,
            ep: 0,
            unlink_seqnum: target,
        });
        self.stream.write_all(&cmd.encode()).await.unwrap();
        seqnum
    }

    async fn next(&mut self) -> Completion {
        let mut header = [0u8; URB_HEADER_LEN];
        timeout(WAIT, self.stream.read_exact(&mut header))
            .await
            .expect("no reply from the server")
            .unwrap();
        match UrbReply::decode(&header).unwrap() {
            UrbReply::Submit(ret) => {
                let mut data = Vec::new();
                if self.in_urbs.remove(&ret.seqnum) {
                    data.resize(ret.data_len(), 0);
                    self.stream.read_exact(&mut data).await.unwrap();
                }
                Completion::Submit {
                    seqnum: ret.seqnum,
                    status: ret.status,
                    data,
                    actual_length: ret.actual_length,
                }
            }
            UrbReply::Unlink(ret) => Completion::Unlink {
                seqnum: ret.seqnum,
                status: ret.status,
            },
        }
    }

    /// Waits for the completion of `seqnum` (nothing else may complete first).
    async fn completion_of(&mut self, seqnum: u32) -> (i32, Vec<u8>, u32) {
        match self.next().await {
            Completion::Submit {
                seqnum: done,
                status,
                data,
                actual_length,
            } if done == seqnum => (status, data, actual_length),
            other => panic!("expected the completion of URB {seqnum}, got {other:?}"),
        }
    }

    async fn control_in(&mut self, setup: SetupPacket) -> (i32, Vec<u8>) {
        let seqnum = self
            .submit(
                0,
                Direction::In,
                usize::from(setup.length),
                setup.emit(),
                &[],
            )
            .await;
        let (status, data, _) = self.completion_of(seqnum).await;
        (status, data)
    }

    async fn control_out(&mut self, setup: SetupPacket, data: &[u8]) -> i32 {
        let seqnum = self
            .submit(0, Direction::Out, data.len(), setup.emit(), data)
            .await;
        let (status, _, actual) = self.completion_of(seqnum).await;
        if status == 0 {
            assert_eq!(actual as usize, data.len());
        }
        status
    }

    async fn standard(
        &mut self,
        request_type: u8,
        request: u8,
        value: u16,
        index: u16,
        length: u16,
    ) -> (i32, Vec<u8>) {
        let setup = SetupPacket {
            request_type,
            request,
            value,
            index,
            length,
        };
        if request_type & 0x80 != 0 {
            self.control_in(setup).await
        } else {
            (self.control_out(setup, &[]).await, Vec::new())
        }
    }

    /// Sends an MBIM message and returns the response, announced by a
    /// RESPONSE_AVAILABLE on the interrupt URB `interrupt`.
    async fn mbim(&mut self, interrupt: u32, message: &Message) -> Message {
        let bytes = message.to_bytes().unwrap();
        let send = SetupPacket::class(
            ClassRequest::SendEncapsulatedCommand,
            0,
            0,
            u16::try_from(bytes.len()).unwrap(),
            false,
        );
        assert_eq!(self.control_out(send, &bytes).await, 0);
        let (status, data, _) = self.completion_of(interrupt).await;
        assert_eq!(status, 0);
        assert_eq!(
            Notification::parse(&data).unwrap(),
            Notification::ResponseAvailable { interface: 0 }
        );
        let get = SetupPacket::class(ClassRequest::GetEncapsulatedResponse, 0, 0, 4096, true);
        let (status, response) = self.control_in(get).await;
        assert_eq!(status, 0);
        Message::parse(&response).unwrap()
    }

    async fn hold_interrupt(&mut self) -> u32 {
        self.submit(1, Direction::In, 64, [0; 8], &[]).await
    }
}

#[tokio::test]
async fn devlist_shows_the_composite_device() {
    let (modem, address) = start().await;
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(&OpRequest::DevList.encode().unwrap())
        .await
        .unwrap();
    let mut reply = Vec::new();
    timeout(WAIT, stream.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    let OpReply::DevList(entries) = OpReply::decode(&reply).unwrap() else {
        panic!("not a device list");
    };
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    let executors = modem.function_count();
    assert_eq!(entry.device.busid, "1-1");
    assert_eq!(
        (
            entry.device.device_class,
            entry.device.device_subclass,
            entry.device.device_protocol
        ),
        (0xEF, 0x02, 0x01)
    );
    assert_eq!(entry.device.vendor_id, modem.scenario().usb.vid);
    assert_eq!(entry.device.product_id, modem.scenario().usb.pid);
    assert_eq!(usize::from(entry.device.num_interfaces), 2 * executors);
    assert_eq!(entry.interfaces.len(), 2 * executors);
    assert_eq!(
        (entry.interfaces[0].class, entry.interfaces[0].subclass),
        (0x02, 0x0E)
    );
}

#[tokio::test]
async fn enumerate_open_query_unlink_and_unplug() {
    let (modem, address) = start().await;
    let (mut vhci, device) = Vhci::attach(address).await;
    assert_eq!(device.devid(), 0x0001_0002);

    // A second import while the first is active is refused, as usbipd does.
    assert!(import(address, "1-1").await.is_err());
    assert!(import(address, "9-9").await.is_err());

    // Enumeration.
    let (status, dev) = vhci.standard(0x80, 0x06, 0x0100, 0, 64).await;
    assert_eq!(status, 0);
    assert_eq!(dev.len(), 18);
    assert_eq!(&dev[..8], [18, 1, 0x00, 0x02, 0xEF, 0x02, 0x01, 64]);
    let (_, head) = vhci.standard(0x80, 0x06, 0x0200, 0, 9).await;
    assert_eq!(head.len(), 9);
    let total = u16::from_le_bytes([head[2], head[3]]);
    let (status, config) = vhci.standard(0x80, 0x06, 0x0200, 0, total).await;
    assert_eq!(status, 0);
    assert_eq!(config.len(), usize::from(total));
    let functions = find_mbim_functions(&config).unwrap();
    assert_eq!(functions.len(), modem.function_count());
    let f0 = &functions[0];
    assert!(f0.is_usable());
    assert_eq!(f0.notification.unwrap().address, 0x81);
    assert_eq!(
        f0.mbim_data_setting().unwrap().bulk_in.unwrap().address,
        0x82
    );
    assert_eq!(
        f0.mbim_data_setting().unwrap().bulk_out.unwrap().address,
        0x02
    );
    let config0 = modem.function(0).unwrap().config();
    assert_eq!(
        f0.mbim().unwrap().max_control_message,
        config0.max_control_message
    );

    let (status, langs) = vhci.standard(0x80, 0x06, 0x0300, 0, 255).await;
    assert_eq!((status, langs), (0, vec![4, 3, 0x09, 0x04]));
    let (status, product) = vhci.standard(0x80, 0x06, 0x0302, 0x0409, 255).await;
    assert_eq!(status, 0);
    let units: Vec<u16> = product[2..]
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(
        String::from_utf16(&units).unwrap(),
        modem.scenario().usb.product
    );
    // An unknown string and an unknown descriptor type stall.
    assert_eq!(
        vhci.standard(0x80, 0x06, 0x03F0, 0x0409, 255).await.0,
        -errno::EPIPE
    );
    assert_eq!(
        vhci.standard(0x80, 0x06, 0x0600, 0, 10).await.0,
        -errno::EPIPE
    );

    assert_eq!(vhci.standard(0x00, 0x09, 1, 0, 0).await.0, 0);
    assert_eq!(vhci.standard(0x80, 0x08, 0, 0, 1).await, (0, vec![1]));
    assert_eq!(vhci.standard(0x80, 0x00, 0, 0, 2).await, (0, vec![0, 0]));
    assert_eq!(vhci.standard(0x01, 0x0B, 1, 1, 0).await.0, 0);
    assert_eq!(vhci.standard(0x81, 0x0A, 0, 1, 1).await, (0, vec![1]));
    assert_eq!(vhci.standard(0x01, 0x0B, 2, 1, 0).await.0, -errno::EPIPE);

    // NTB parameters, as cdc_ncm reads them at bind.
    let params = SetupPacket::class(ClassRequest::GetNtbParameters, 0, 0, 28, true);
    let (status, bytes) = vhci.control_in(params).await;
    assert_eq!(status, 0);
    assert_eq!(
        NtbParameters::parse(&bytes).unwrap(),
        config0.ntb_parameters
    );

    // OPEN: the interrupt URB is held until RESPONSE_AVAILABLE.
    let interrupt = vhci.hold_interrupt().await;
    let open = Message::Open {
        transaction_id: 1,
        max_control_transfer: 4096,
    };
    match vhci.mbim(interrupt, &open).await {
        Message::OpenDone {
            transaction_id: 1,
            status,
        } => assert_eq!(status, Status::Success),
        other => panic!("expected OPEN_DONE, got {other:?}"),
    }

    // DEVICE_CAPS.
    let interrupt = vhci.hold_interrupt().await;
    let query = Message::command(
        2,
        DeviceCaps::SERVICE,
        DeviceCaps::ID,
        CommandType::Query,
        Vec::new(),
    );
    let Message::CommandDone(done) = vhci.mbim(interrupt, &query).await else {
        panic!("expected COMMAND_DONE");
    };
    assert_eq!(done.transaction_id, 2);
    assert_eq!(done.head.unwrap().status, Status::Success);
    assert_eq!(done.head.unwrap().cid, DeviceCaps::ID);
    let caps = DeviceCapsInfo::decode(&done.data).unwrap();
    assert!(caps.max_sessions >= 1);

    // Several bulk IN URBs in flight, one unlinked: -ECONNRESET and no
    // RET_SUBMIT; an unlink of a URB that is not held answers 0.
    let first = vhci.submit(2, Direction::In, 16384, [0; 8], &[]).await;
    let second = vhci.submit(2, Direction::In, 16384, [0; 8], &[]).await;
    let unlink = vhci.unlink(first).await;
    match vhci.next().await {
        Completion::Unlink { seqnum, status } => {
            assert_eq!(seqnum, unlink);
            assert_eq!(status, -errno::ECONNRESET);
        }
        other => panic!("expected RET_UNLINK, got {other:?}"),
    }
    let unlink = vhci.unlink(9999).await;
    match vhci.next().await {
        Completion::Unlink { seqnum, status } => assert_eq!((seqnum, status), (unlink, 0)),
        other => panic!("expected RET_UNLINK, got {other:?}"),
    }
    let unlink = vhci.unlink(second).await;
    assert!(
        matches!(vhci.next().await, Completion::Unlink { seqnum, status } if seqnum == unlink && status == -errno::ECONNRESET)
    );

    // A URB to an endpoint the device does not have stalls.
    let stray = vhci.submit(9, Direction::In, 64, [0; 8], &[]).await;
    assert_eq!(vhci.completion_of(stray).await.0, -errno::EPIPE);

    // Unplug: the server closes the connection.
    modem.control(ControlCommand::Unplug).unwrap();
    let mut rest = Vec::new();
    let read = timeout(WAIT, vhci.stream.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection stayed open after unplug");
}

#[tokio::test]
async fn a_closed_connection_frees_the_device_for_the_next_import() {
    let (_modem, address) = start().await;
    let (vhci, _) = Vhci::attach(address).await;
    drop(vhci);
    // The server notices the close and accepts a new import.
    let mut attached = None;
    for _ in 0..50 {
        if let Ok(found) = import(address, "1-1").await {
            attached = Some(found);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        attached.is_some(),
        "the device stayed busy after the client left"
    );
}
