//! Shared by the data-path tests and the pump benchmark: a host that
//! connects session 0 of the simulated modem through the in-process
//! transport (the shape of simulator/tests/inprocess_host.rs), and scripted
//! pipes for what the simulator cannot do on demand.

#![allow(
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use mbim_protocol::codec::Payload;
use mbim_protocol::ntb::{NtbFormat, NtbParameters};
use mbim_protocol::services::basic_connect::{
    self, ActivationCommand, ActivationState, AuthProtocol, Compression, ConnectInfo, ConnectSet,
    ContextIpType, ContextType,
};
use mbim_protocol::status::{CommandType, Status};
use mbim_protocol::usb::ClassRequest;
use mbim_sim::control::{ControlCommand, TrafficSettings, TrafficSource};
use mbim_sim::device::SimModem;
use mbim_sim::inprocess::{InProcessBulkIn, InProcessBulkOut, InProcessFunction, InProcessHost};
use mbim_sim::scenario::Scenario;
use mbim_transport::{Completion, FunctionTransport, InPipe, OutPipe, Pipe, TransportError};
use mbimd::datapath::{PacketDevice, Pump, PumpConfig};
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The host's address and the gateway of the default scenario's session.
pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 2);
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 64, 0, 1);

/// A simulated modem with session 0 connected and its data pipes taken.
pub struct Connected {
    pub modem: SimModem,
    pipes: Option<(InProcessBulkIn, InProcessBulkOut)>,
    pub parameters: NtbParameters,
    pub format: NtbFormat,
    /// Kept so the function stays open for the test's duration.
    control: InProcessHost,
}

impl Connected {
    /// The data pipes (once).
    pub fn take_pipes(&mut self) -> (InProcessBulkIn, InProcessBulkOut) {
        self.pipes.take().unwrap()
    }

    /// The pump's configuration for this session.
    pub fn config(&self) -> PumpConfig {
        PumpConfig::new(0, self.format, self.parameters)
    }

    /// Starts the simulator's UDP generator towards the host.
    pub fn start_traffic(&self, rate: u64, size: usize) {
        self.modem
            .control(ControlCommand::Traffic {
                executor: 0,
                settings: TrafficSettings {
                    session: 0,
                    sink_port: Some(5001),
                    source: Some(TrafficSource {
                        address: IpAddr::V4(HOST),
                        port: 5002,
                        source_port: 9,
                        rate,
                        size,
                    }),
                },
            })
            .unwrap();
    }

    /// Counts host → gateway UDP datagrams to port 5001, generates nothing.
    pub fn start_sink(&self) {
        self.modem
            .control(ControlCommand::Traffic {
                executor: 0,
                settings: TrafficSettings {
                    session: 0,
                    sink_port: Some(5001),
                    source: None,
                },
            })
            .unwrap();
    }

    /// A counter of the simulator's data plane (`sink_packets`, `ntbs_in`…).
    pub fn sim_counter(&self, name: &str) -> u64 {
        self.modem.with_model(|model, _| {
            model.status_report()["executors"][0]["data"][name]
                .as_u64()
                .unwrap()
        })
    }
}

/// OPEN, CONNECT session 0 of function 0 of the default dual-SIM scenario.
pub async fn connect() -> Connected {
    connect_with(NtbFormat::Ntb16).await
}

/// [`connect`], with the NTB format selected by SET_NTB_FORMAT first.
pub async fn connect_with(format: NtbFormat) -> Connected {
    let modem = SimModem::new(Scenario::default_dssa()).unwrap();
    let transport = InProcessFunction::new(modem.function(0).unwrap());
    let parameters = transport
        .control_in(ClassRequest::GetNtbParameters, 0, 28)
        .await
        .unwrap();
    let parameters = NtbParameters::parse(&parameters).unwrap();
    if format == NtbFormat::Ntb32 {
        transport
            .control_out(ClassRequest::SetNtbFormat, 1, Vec::new())
            .await
            .unwrap();
    }
    transport.set_data_alt_setting(1).await.unwrap();
    let (bulk_in, bulk_out) = transport.take_data_pipes().unwrap();
    let mut control = InProcessHost::new(transport, Duration::from_secs(5));
    control.open().await.unwrap();
    let connect = ConnectSet {
        session_id: 0,
        activation_command: ActivationCommand::Activate,
        access_string: "internet".to_owned(),
        user_name: String::new(),
        password: String::new(),
        compression: Compression::None,
        auth_protocol: AuthProtocol::None,
        ip_type: ContextIpType::Ipv4v6,
        context_type: ContextType::Internet.uuid(),
    };
    let (status, buffer) = control
        .request::<basic_connect::cid::Connect>(CommandType::Set, connect.encode())
        .await
        .unwrap();
    assert_eq!(status, Status::Success);
    assert_eq!(
        ConnectInfo::decode(&buffer).unwrap().activation_state,
        ActivationState::Activated
    );
    Connected {
        modem,
        pipes: Some((bulk_in, bulk_out)),
        parameters,
        format,
        control,
    }
}

/// An ICMP echo request from the host to the gateway.
pub fn ping(seq: u16, payload: usize) -> Vec<u8> {
    mbim_sim::model::net::icmpv4_echo_request(HOST, GATEWAY, 0x4d42, seq, &vec![0x5a; payload])
}

/// Whether `packet` is the gateway's echo reply to [`ping`] number `seq`.
pub fn is_reply(packet: &[u8], seq: u16) -> bool {
    packet.len() >= 28
        && packet[12..16] == GATEWAY.octets()
        && packet[16..20] == HOST.octets()
        && packet[20] == 0
        && packet[26..28] == seq.to_be_bytes()
        && mbim_sim::model::net::ipv4_checksums_ok(packet)
}

/// A UDP datagram from the host to the simulator's sink.
pub fn udp_to_sink(payload: usize) -> Vec<u8> {
    mbim_sim::model::net::udp_packet(IpAddr::V4(HOST), 4000, IpAddr::V4(GATEWAY), 5001, payload)
        .unwrap()
}

/// Wraps a bulk IN pipe and breaks the NTH signature of the next
/// `corrupt` successful completions: a modem sending a malformed NTB.
pub struct Corrupting<P> {
    pub inner: P,
    pub corrupt: Arc<Mutex<usize>>,
}

impl<P: InPipe<Buffer = Vec<u8>>> Pipe for Corrupting<P> {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        let mut completion = self.inner.next_complete().await;
        let mut left = self.corrupt.lock().unwrap();
        if completion.status.is_ok() && *left > 0 && completion.buffer.len() >= 4 {
            *left -= 1;
            completion.buffer[0] ^= 0xff;
        }
        completion
    }

    fn pending(&self) -> usize {
        self.inner.pending()
    }

    fn cancel_all(&mut self) {
        self.inner.cancel_all();
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        self.inner.clear_halt().await
    }
}

impl<P: InPipe<Buffer = Vec<u8>>> InPipe for Corrupting<P> {
    fn submit(&mut self, buffer: Vec<u8>, length: usize) {
        self.inner.submit(buffer, length);
    }
}

/// What a [`ScriptedIn`] completes its transfers with.
#[derive(Default)]
pub struct Script {
    pub blocks: VecDeque<Result<Vec<u8>, TransportError>>,
    /// Transfers submitted so far, and cancelled so far.
    pub submitted: usize,
    pub cancelled: usize,
    /// Largest number of transfers pending at once.
    pub max_pending: usize,
    /// Halts cleared so far, and how many transfers were pending then.
    pub halts_cleared: usize,
    pub pending_at_clear: usize,
}

/// A bulk IN pipe completing with scripted blocks, in order.
pub struct ScriptedIn {
    pub script: Arc<Mutex<Script>>,
    pub changed: Arc<Notify>,
    pending: VecDeque<(Vec<u8>, bool)>,
}

impl ScriptedIn {
    pub fn new() -> (ScriptedIn, Arc<Mutex<Script>>, Arc<Notify>) {
        let script = Arc::new(Mutex::new(Script::default()));
        let changed = Arc::new(Notify::new());
        (
            ScriptedIn {
                script: script.clone(),
                changed: changed.clone(),
                pending: VecDeque::new(),
            },
            script,
            changed,
        )
    }
}

impl Pipe for ScriptedIn {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        loop {
            let notified = self.changed.notified();
            let Some((_, cancelled)) = self.pending.front() else {
                return std::future::pending().await;
            };
            if *cancelled {
                let (buffer, _) = self.pending.pop_front().unwrap();
                self.script.lock().unwrap().cancelled += 1;
                return Completion {
                    buffer,
                    status: Err(TransportError::Cancelled),
                };
            }
            let next = self.script.lock().unwrap().blocks.pop_front();
            if let Some(next) = next {
                let (mut buffer, _) = self.pending.pop_front().unwrap();
                buffer.clear();
                let status = next.map(|block| buffer.extend_from_slice(&block));
                return Completion { buffer, status };
            }
            notified.await;
        }
    }

    fn pending(&self) -> usize {
        self.pending.len()
    }

    fn cancel_all(&mut self) {
        for (_, cancelled) in &mut self.pending {
            *cancelled = true;
        }
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        let mut script = self.script.lock().unwrap();
        script.halts_cleared += 1;
        script.pending_at_clear += self.pending.len();
        Ok(())
    }
}

impl InPipe for ScriptedIn {
    fn submit(&mut self, buffer: Vec<u8>, _length: usize) {
        self.pending.push_back((buffer, false));
        let mut script = self.script.lock().unwrap();
        script.submitted += 1;
        script.max_pending = script.max_pending.max(self.pending.len());
    }
}

/// Every block a [`RecordingOut`] was given, with when.
pub type SentBlocks = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A bulk OUT pipe that records every block and completes it at once.
pub struct RecordingOut {
    pub sent: SentBlocks,
    done: VecDeque<Completion>,
}

impl RecordingOut {
    pub fn new() -> (RecordingOut, SentBlocks) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        (
            RecordingOut {
                sent: sent.clone(),
                done: VecDeque::new(),
            },
            sent,
        )
    }
}

impl Pipe for RecordingOut {
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

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
}

impl OutPipe for RecordingOut {
    fn submit(&mut self, data: Vec<u8>) {
        self.sent
            .lock()
            .unwrap()
            .push((Instant::now(), data.clone()));
        self.done.push_back(Completion {
            buffer: data,
            status: Ok(()),
        });
    }
}

/// The simulated modem's NTB parameters (any valid ones do for a pump
/// that carries nothing).
pub fn sim_parameters() -> NtbParameters {
    Scenario::default_dssa().ntb.parameters()
}

/// A pump whose modem never sends anything and takes whatever it is sent.
pub fn quiet_pump() -> Pump<ScriptedIn, RecordingOut> {
    let (bulk_in, _, _) = ScriptedIn::new();
    let (bulk_out, _) = RecordingOut::new();
    Pump::new(
        bulk_in,
        bulk_out,
        PumpConfig::new(0, NtbFormat::Ntb16, sim_parameters()),
    )
    .unwrap()
}

/// A device whose first read panics.
pub struct Panicking;

impl PacketDevice for Panicking {
    async fn recv(&self, _buf: &mut [u8]) -> io::Result<usize> {
        panic!("the device read went wrong");
    }

    fn try_recv(&self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    fn send(&self, packet: &[u8]) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::ready(Ok(packet.len()))
    }

    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        Ok(packet.len())
    }

    fn send_vectored(
        &self,
        parts: &[IoSlice<'_>],
    ) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::ready(Ok(parts.iter().map(|part| part.len()).sum()))
    }

    fn try_send_vectored(&self, parts: &[IoSlice<'_>]) -> io::Result<usize> {
        Ok(parts.iter().map(|part| part.len()).sum())
    }
}
