//! The `executor` fuzz target: mbimd's executor state machine
//! ([`ExecutorMachine`], sans-IO) against the simulated modem's model
//! (`mbim_sim::model`, sans-IO too), with the fuzz input deciding what the
//! "device" does with every command the machine sends: the model's real
//! answer, that answer mutated or with another status, arbitrary bytes, no
//! answer at all; and, between commands, what else happens: the model's real
//! notifications after a fault (signal, packet service, SIM, slot mapping),
//! arbitrary notifications, the supervisor's commands, session events and
//! the passing of time.
//!
//! Included with `#[path]` by the stable driver (`fuzz/driver`) and by the
//! cargo-fuzz target `fuzz/fuzz_targets/executor.rs`, so both run the same
//! code. Invariants checked beyond "no panic":
//!
//! * one command in flight at a time (the machine never asks twice at once);
//! * a handful of actions per input, never a runaway queue;
//! * without time passing, a bounded number of commands (no livelock);
//! * no second `Connected` without a `LinkDown` between, `IpUpdated` only
//!   while connected;
//! * each tracked command is answered (`Done`) at most once, and once the
//!   device is gone every tracked command has been answered.
//!
//! Input: `[config] ([op] [operands…])*`; see [`executor`].

#![allow(dead_code)]
#![allow(unreachable_pub)]

use mbim_protocol::message::Message;
use mbim_protocol::services::basic_connect as bc;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::{ProtocolError, Status};
use mbim_protocol::Uuid;
use mbim_sim::control::{ControlCommand, SlotMappingFault};
use mbim_sim::model::host::Host;
use mbim_sim::scenario::{CardConfig, Scenario};
use mbimd::apn::{ApnSources, ApnsFound};
use mbimd::executor::{
    Action, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorMachine, Input, Profile,
    Request, RequestFailure, Secret,
};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The dual-executor scenario, compiled in so the target reads no file.
const TWO_EXECUTORS: &str = include_str!("../simulator/scenarios/two-executors.toml");

/// Most actions one input may cause (OPEN, a command and a few reports).
const MAX_ACTIONS_PER_INPUT: usize = 64;

/// Most commands sent without time passing: a machine that keeps asking the
/// device without waiting for anything is in a livelock.
const MAX_SENDS_WITHOUT_TIME: usize = 400;

/// Statuses a device answers with, picked by one input byte.
const STATUSES: [Status; 8] = [
    Status::Busy,
    Status::Failure,
    Status::SimNotInserted,
    Status::BadSim,
    Status::PinRequired,
    Status::NotInitialized,
    Status::NoDeviceSupport,
    Status::ContextNotActivated,
];

/// Reads the input one byte at a time; zeros once it runs out.
struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&first, rest)) => {
                self.data = rest;
                first
            }
            None => 0,
        }
    }

    /// A length byte, then that many bytes (fewer at the end).
    fn chunk(&mut self) -> &'a [u8] {
        let length = usize::from(self.byte());
        let (chunk, rest) = self.data.split_at(length.min(self.data.len()));
        self.data = rest;
        chunk
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// What the harness keeps of the machine's reports, to check them.
#[derive(Default)]
struct Ledger {
    connected: bool,
    /// How many times the machine reported `Connected`.
    connections: u32,
    /// Tracked command id → whether its `Done` came.
    tracked: BTreeMap<u64, bool>,
    next_id: u64,
    finished: bool,
}

impl Ledger {
    fn report(&mut self, event: &ExecutorEvent) {
        match event {
            ExecutorEvent::Connected(_) => {
                assert!(!self.connected, "Connected twice without LinkDown");
                self.connected = true;
                self.connections += 1;
            }
            // Also said when an attempt fails; the supervisor takes down
            // whatever link there is, which may be none.
            ExecutorEvent::LinkDown { .. } => self.connected = false,
            ExecutorEvent::IpUpdated(_) => {
                assert!(self.connected, "IpUpdated while not connected");
            }
            ExecutorEvent::Done { id, .. } => match self.tracked.get_mut(id) {
                Some(done) => {
                    assert!(!*done, "command {id} answered twice");
                    *done = true;
                }
                None => panic!("Done for command {id}, which was never sent"),
            },
            _ => {}
        }
    }
}

/// The machine, the modem model and what is between them.
struct Harness {
    machine: ExecutorMachine,
    host: Host,
    function: usize,
    /// The command in flight, if any.
    pending: Option<Request>,
    /// OPEN sent and not yet answered.
    opening: bool,
    ledger: Ledger,
    sends_without_time: usize,
}

impl Harness {
    fn new(config_byte: u8) -> Option<Harness> {
        let now = Instant::now();
        let scenario = if config_byte & 0x01 == 0 {
            Scenario::default_dssa()
        } else {
            Scenario::from_toml_str(TWO_EXECUTORS, "two-executors.toml").ok()?
        };
        let host = Host::new(scenario, now).ok()?;
        let function = usize::from((config_byte >> 1) & 0x01) % host.modem.function_count();
        let mut profiles = vec![Profile::new("internet", "internet")];
        if config_byte & 0x04 != 0 {
            profiles.clear();
        }
        let config = ExecutorConfig {
            index: function,
            profiles,
            pin: (config_byte & 0x08 != 0).then(|| Secret::new("1234")),
            session_id: u32::from((config_byte >> 4) & 0x01),
            autoconnect: config_byte & 0x20 == 0,
            ..ExecutorConfig::default()
        };
        Some(Harness {
            machine: ExecutorMachine::new(config),
            host,
            function,
            pending: None,
            opening: false,
            ledger: Ledger::default(),
            sends_without_time: 0,
        })
    }

    fn now(&self) -> Instant {
        self.host.now
    }

    /// Hands `input` to the machine and takes every action it causes.
    fn feed(&mut self, input: Input) {
        let now = self.now();
        self.machine.handle(now, input);
        self.take_actions();
    }

    fn take_actions(&mut self) {
        let mut count = 0;
        // A CLOSE is answered at once, which may cause more actions.
        while let Some(action) = self.machine.poll_action() {
            count += 1;
            assert!(
                count <= MAX_ACTIONS_PER_INPUT,
                "more than {MAX_ACTIONS_PER_INPUT} actions for one input"
            );
            assert!(!self.ledger.finished, "{action:?} after Finish");
            match action {
                Action::Open => self.opening = true,
                Action::Close => {
                    self.pending = None;
                    let tid = self.host.tid();
                    let _ = self.host.send(
                        self.function,
                        &Message::Close {
                            transaction_id: tid,
                        },
                    );
                    self.host.drain(self.function);
                    let now = self.now();
                    self.machine.handle(now, Input::Closed);
                }
                Action::Send(request) => {
                    assert!(
                        self.pending.is_none(),
                        "{} sent while {:?} is in flight",
                        request.name,
                        self.pending
                    );
                    self.sends_without_time += 1;
                    assert!(
                        self.sends_without_time <= MAX_SENDS_WITHOUT_TIME,
                        "{MAX_SENDS_WITHOUT_TIME} commands without time passing: a livelock"
                    );
                    self.pending = Some(request);
                }
                Action::Report(event) => self.ledger.report(&event),
                // The driver reads files for this; the harness has none to
                // offer: nothing remembered, no provider database.
                Action::LookupApns(lookup) => {
                    let now = self.now();
                    self.machine.handle(
                        now,
                        Input::ApnsFound(ApnsFound {
                            iccid: lookup.iccid,
                            remembered: None,
                            database: Vec::new(),
                        }),
                    );
                }
                Action::RememberApn { .. } => {}
                // The fuzzed executor has no FCC unlock configured.
                Action::RunFccHook(hook) => panic!("an FCC hook ran unasked: {hook:?}"),
                Action::Finish => self.ledger.finished = true,
            }
        }
    }

    /// What the model answers to `request`: its status and buffer, or
    /// `None` when no answer came at once.
    fn real_answer(&mut self, request: &Request) -> Option<(Status, Vec<u8>)> {
        let done = self.host.command(
            self.function,
            request.service,
            request.cid,
            request.command_type,
            request.payload.clone(),
        )?;
        Some((done.status, done.buffer))
    }

    /// Answers OPEN the way `op` says.
    fn answer_open(&mut self, op: u8, bytes: &mut Bytes<'_>) {
        self.opening = false;
        let input = match op {
            4 | 5 => Input::OpenFailed(status(bytes.byte())),
            6 => Input::OpenTimedOut,
            _ => match self.host.open(self.function) {
                Some(Status::Success) => Input::Opened,
                Some(status) => Input::OpenFailed(status),
                None => Input::OpenTimedOut,
            },
        };
        self.feed(input);
    }

    /// Answers the command in flight the way `op` says.
    fn answer(&mut self, op: u8, request: Request, bytes: &mut Bytes<'_>) {
        let input = match op {
            0..=2 => match self.real_answer(&request) {
                Some((status, information_buffer)) => Input::Response {
                    status,
                    information_buffer,
                },
                None => Input::RequestFailed(RequestFailure::TimedOut),
            },
            3 => {
                let (status, mut buffer) = self.real_answer(&request).unwrap_or_default();
                let at = usize::from(bytes.byte());
                let value = bytes.byte();
                mutate(&mut buffer, at, value);
                Input::Response {
                    status,
                    information_buffer: buffer,
                }
            }
            4 => {
                let (_, buffer) = self.real_answer(&request).unwrap_or_default();
                Input::Response {
                    status: status(bytes.byte()),
                    information_buffer: buffer,
                }
            }
            5 => Input::Response {
                status: status(bytes.byte()),
                information_buffer: bytes.chunk().to_vec(),
            },
            _ => Input::RequestFailed(match bytes.byte() % 4 {
                0 => RequestFailure::TimedOut,
                1 => RequestFailure::FunctionError(ProtocolError::from(u32::from(bytes.byte()))),
                2 => RequestFailure::Cancelled,
                _ => RequestFailure::Refused("fuzz".to_owned()),
            }),
        };
        self.feed(input);
    }

    /// The model's notifications for this function, handed to the machine.
    fn deliver_indications(&mut self) {
        for indication in self.host.take_indications() {
            if indication.function == self.function {
                self.feed(Input::Indication {
                    service: indication.service,
                    cid: indication.cid,
                    information_buffer: indication.buffer,
                });
            }
        }
    }

    /// A fault on the model, chosen by `choice`.
    fn fault(&mut self, choice: u8, argument: u8) {
        let executor = self.function;
        let slot = u32::from(argument & 0x01);
        let command = match choice % 10 {
            0 => ControlCommand::LoseSignal { executor },
            1 => ControlCommand::RegainSignal { executor },
            2 => ControlCommand::LosePacketService { executor },
            3 => ControlCommand::RegainPacketService { executor },
            4 => ControlCommand::RemoveSim { slot },
            5 => ControlCommand::InsertSim {
                slot,
                card: CardConfig::default(),
            },
            6 => ControlCommand::BlockPin { slot },
            7 => ControlCommand::NextSlotMappingStatus {
                status: SlotMappingFault::Busy,
            },
            8 => ControlCommand::SetDns {
                executor,
                ipv4_dns: vec![std::net::Ipv4Addr::new(10, 64, 0, argument)],
                ipv6_dns: Vec::new(),
            },
            _ => ControlCommand::MisreportSlot {
                slot,
                state: (argument & 0x02 != 0).then(|| "empty".to_owned()),
            },
        };
        let now = self.now();
        // A refusal (no card to remove, say) is a fault that did not happen.
        let _ = self.host.modem.control(now, command);
        self.deliver_indications();
    }

    /// A supervisor command, chosen by the input.
    fn command(&mut self, bytes: &mut Bytes<'_>) {
        let choice = bytes.byte();
        let pin = |byte: u8| Secret::new(if byte & 1 == 0 { "1234" } else { "0000" });
        let command = match (choice & 0x7F) % 13 {
            0 => ExecutorCommand::Connect(None),
            1 => {
                let apn = String::from_utf8_lossy(bytes.chunk()).into_owned();
                ExecutorCommand::Connect(Some(Profile::new("fuzz", apn)))
            }
            2 => ExecutorCommand::Disconnect,
            3 => ExecutorCommand::EnterPin(pin(bytes.byte())),
            4 => ExecutorCommand::EnterPuk {
                puk: Secret::new("12345678"),
                new_pin: pin(bytes.byte()),
            },
            5 => ExecutorCommand::ChangePin {
                old: pin(bytes.byte()),
                new: pin(bytes.byte()),
            },
            6 => ExecutorCommand::SetPinEnabled {
                pin: pin(bytes.byte()),
                enabled: bytes.byte() & 1 == 0,
            },
            7 => ExecutorCommand::SetRadio(bytes.byte() & 1 == 0),
            8 => ExecutorCommand::QuerySlots,
            9 => ExecutorCommand::QuerySlotMapping,
            10 => ExecutorCommand::Reconfigure {
                profiles: vec![Profile::new("internet", "internet")],
                pins: Vec::new(),
                apn_sources: ApnSources::default(),
            },
            11 => {
                let slots = bytes.chunk().iter().map(|b| u32::from(b % 4)).collect();
                ExecutorCommand::SetSlotMapping(slots)
            }
            _ => ExecutorCommand::Shutdown,
        };
        let command = if choice & 0x80 != 0 {
            let id = self.ledger.next_id;
            self.ledger.next_id += 1;
            self.ledger.tracked.insert(id, false);
            ExecutorCommand::Tracked {
                id,
                command: Box::new(command),
            }
        } else {
            command
        };
        self.feed(Input::Command(command));
    }

    /// Lets `steps × 250 ms` pass on both sides.
    fn advance(&mut self, steps: u8) {
        self.host
            .advance(Duration::from_millis(250 * u64::from(steps)));
        self.sends_without_time = 0;
        let now = self.now();
        if self.machine.poll_timeout().is_some_and(|due| due <= now) {
            self.machine.handle_timeout(now);
            self.take_actions();
        }
    }

    /// One step of the input.
    fn step(&mut self, bytes: &mut Bytes<'_>) {
        let op = bytes.byte() % 13;
        if op <= 6 {
            if self.opening {
                self.answer_open(op, bytes);
            } else if let Some(request) = self.pending.take() {
                self.answer(op, request, bytes);
            }
            return;
        }
        match op {
            7 => self.deliver_indications(),
            8 => {
                let (choice, argument) = (bytes.byte(), bytes.byte());
                self.fault(choice, argument);
            }
            9 => {
                let service = match bytes.byte() % 3 {
                    0 => bc::SERVICE.uuid,
                    1 => ms::SERVICE.uuid,
                    _ => Uuid::from_str_const("00000000-0000-0000-0000-000000000001"),
                };
                let cid = u32::from(bytes.byte() % 32);
                let information_buffer = bytes.chunk().to_vec();
                self.feed(Input::Indication {
                    service,
                    cid,
                    information_buffer,
                });
            }
            10 => self.command(bytes),
            11 => {
                let steps = bytes.byte();
                self.advance(steps);
            }
            _ => {
                let input = match bytes.byte() % 5 {
                    0 => Input::Opened,
                    1 => Input::NotOpened,
                    2 => Input::OpenTimedOut,
                    3 => Input::Closed,
                    _ => Input::DeviceMisbehaved("fuzz".to_owned()),
                };
                if matches!(input, Input::Closed) {
                    self.pending = None;
                }
                self.feed(input);
            }
        }
    }
}

/// A status from one input byte: one a device really answers with, or any.
fn status(byte: u8) -> Status {
    match STATUSES.get(usize::from(byte)) {
        Some(status) => *status,
        None => Status::from(u32::from(byte)),
    }
}

/// Flips `value` into the byte at `at` (modulo the length), or truncates the
/// buffer there when `value` is 0.
fn mutate(buffer: &mut Vec<u8>, at: usize, value: u8) {
    if buffer.is_empty() {
        buffer.push(value);
        return;
    }
    let at = at % buffer.len();
    if value == 0 {
        buffer.truncate(at);
    } else if let Some(byte) = buffer.get_mut(at) {
        *byte ^= value;
    }
}

/// `[config] ([op] [operands…])*`. The config byte picks the scenario (bit
/// 0: two executors), the function (bit 1), no profile (bit 2), a configured
/// PIN (bit 3), the session id (bit 4) and no autoconnect (bit 5). Each op
/// (modulo 13): 0–2 the model's answer to the command in flight (or OPEN),
/// 3 that answer with a byte flipped or cut `[at] [xor]`, 4 that answer with
/// another status `[status]`, 5 an arbitrary answer `[status] [len] bytes`,
/// 6 no answer `[kind] ([error])`, 7 the model's pending notifications, 8 a
/// fault on the model `[fault] [argument]`, 9 an arbitrary notification
/// `[service] [cid] [len] bytes`, 10 a supervisor command `[command]
/// [operands]` (bit 7: tracked), 11 time passing `[× 250 ms]`, 12 a session
/// event `[event]`. At the end the device goes away, and every tracked
/// command must have been answered.
pub fn executor(data: &[u8]) {
    executor_connections(data);
}

/// [`executor`], returning how many times the machine connected: the seeds'
/// test holds each seed to what its name says.
pub fn executor_connections(data: &[u8]) -> u32 {
    let mut bytes = Bytes { data };
    let Some(mut harness) = Harness::new(bytes.byte()) else {
        return 0;
    };
    harness.take_actions();
    while !bytes.is_empty() && !harness.ledger.finished {
        harness.step(&mut bytes);
    }
    if !harness.ledger.finished {
        harness.feed(Input::TransportGone);
        assert!(
            harness.ledger.finished,
            "no Finish after the device went away"
        );
    }
    let waiting: Vec<u64> = harness
        .ledger
        .tracked
        .iter()
        .filter(|(_, done)| !**done)
        .map(|(id, _)| *id)
        .collect();
    assert!(
        waiting.is_empty(),
        "tracked commands never answered: {waiting:?}"
    );
    // The snapshot renders: D-Bus and the logs show it.
    let _ = format!("{:?}", harness.machine.status());
    harness.ledger.connections
}
