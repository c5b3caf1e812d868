//! One executor's decisions, without I/O: [`ExecutorMachine`] takes what
//! happened ([`Input`]: session events, responses, indications, commands,
//! the passing of time) and says what to do ([`Action`]: OPEN, CLOSE, send a
//! command, report an event).
//!
//! It reconciles rather than scripts: it keeps what it knows of the device
//! (radio, SIM, registration, packet service, context) and what is wanted
//! (radio on, connected), and whenever no command is in flight it sends the
//! one command that closes the first gap. Indications only update what it
//! knows, so their order, repetition or arrival in the middle of a command
//! cannot derail the life cycle. One command is in flight at a time: the
//! life cycle is a sequence, and the device is never asked twice at once.

use super::api::{
    CommandFailure, Connection, DeviceInfo, ExecutorCommand, ExecutorConfig, ExecutorEvent,
    ExecutorState, ExecutorStatus, SystemCaps,
};
use super::policy::{mask_personal, merge_ip_configuration, reconnect_delay, AnomalyBudget};
use super::profile::{select_profile, Auth, IpType, Profile, Secret};
use crate::types::IpSettings;
use mbim_protocol::codec::{Empty, Payload};
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::services::basic_connect::{
    self as bc, ActivationCommand, ActivationState, AuthProtocol, Compression, ContextIpType,
    ContextType, PacketServiceAction, PacketServiceState, PinOperation, PinState, PinType,
    RadioSwitchState, RegisterAction, RegisterState, SubscriberReadyState,
};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::{Cid, Scope};
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::Uuid;
use std::collections::VecDeque;
use std::time::Instant;

/// One command for the device, ready for the session.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// Service UUID.
    pub service: Uuid,
    /// CID number.
    pub cid: u32,
    /// CID name, for logs.
    pub name: &'static str,
    /// Executor or device scope: device-wide SETs take the modem's lock.
    pub scope: Scope,
    /// Query or set.
    pub command_type: CommandType,
    /// The encoded information buffer (may hold a PIN: never printed).
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The payload is left out: a PIN set or CONNECT carries secrets.
        f.debug_struct("Request")
            .field("name", &self.name)
            .field("command_type", &self.command_type)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Request {
    fn query<C: Cid>(payload: &C::Query) -> Request {
        Request {
            service: C::SERVICE,
            cid: C::ID,
            name: C::NAME,
            scope: C::SCOPE,
            command_type: CommandType::Query,
            payload: payload.encode(),
        }
    }

    fn set<C: Cid>(payload: &C::Set) -> Request {
        Request {
            service: C::SERVICE,
            cid: C::ID,
            name: C::NAME,
            scope: C::SCOPE,
            command_type: CommandType::Set,
            payload: payload.encode(),
        }
    }

    /// Whether the modem's device-wide lock must be held while it runs.
    pub fn needs_device_lock(&self) -> bool {
        self.scope == Scope::Device && self.command_type == CommandType::Set
    }
}

/// Why the command in flight got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestFailure {
    /// No answer within the command timeout.
    TimedOut,
    /// The device answered with FUNCTION_ERROR.
    FunctionError(ProtocolError),
    /// The session dropped it (closed under it).
    Cancelled,
    /// The session refused to send it.
    Refused(String),
}

/// What happened, for the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// OPEN_DONE with success.
    Opened,
    /// OPEN_DONE with a failure (a device that believes it is open may say so).
    OpenFailed(Status),
    /// No OPEN_DONE in time.
    OpenTimedOut,
    /// The session is closed (CLOSE_DONE, or CLOSE unanswered).
    Closed,
    /// The answer to the command in flight.
    Response {
        /// Its status.
        status: Status,
        /// Its information buffer.
        information_buffer: Vec<u8>,
    },
    /// The command in flight ended without an answer.
    RequestFailed(RequestFailure),
    /// FUNCTION_ERROR NOT_OPENED: the device has no session.
    NotOpened,
    /// An INDICATE_STATUS.
    Indication {
        /// Service.
        service: Uuid,
        /// CID.
        cid: u32,
        /// Information buffer.
        information_buffer: Vec<u8>,
    },
    /// The device sent something malformed, fragmented wrong or unexpected.
    DeviceMisbehaved(String),
    /// A command from the supervisor.
    Command(ExecutorCommand),
    /// The transport reports the device gone.
    TransportGone,
}

/// What the driver should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send OPEN.
    Open,
    /// Send CLOSE.
    Close,
    /// Send this command; its outcome comes back as `Response` or `RequestFailed`.
    Send(Request),
    /// Tell the supervisor.
    Report(ExecutorEvent),
    /// The task is over.
    Finish,
}

/// What the machine asked of the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Closed,
    Opening,
    Open,
    Closing,
}

/// The command in flight, so its answer can be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    DeviceCaps,
    DeviceCapsV2,
    SysCaps,
    SlotMappings,
    Subscribe,
    RadioQuery,
    RadioSet,
    ReadyQuery,
    PinQuery,
    PinEnter {
        configured: bool,
        tracked: Option<u64>,
    },
    PukEnter {
        tracked: Option<u64>,
    },
    /// ChangePin or SetPinEnabled; the operation is kept so that a BUSY
    /// answer can put an untracked one back in line.
    PinChange {
        op: PinChange,
        tracked: Option<u64>,
    },
    HomeProvider,
    RegisterSet,
    RegisterQuery,
    PacketQuery,
    Attach,
    Connect {
        profile: String,
        route_metric: Option<u32>,
    },
    IpQuery,
    Deactivate,
    SignalQuery,
    SlotInfoQuery(u32),
    SlotMappingSet {
        slots: Vec<u32>,
        tracked: Option<u64>,
    },
}

impl Step {
    /// The tracked command whose outcome is this step's answer.
    fn tracked(&self) -> Option<u64> {
        match self {
            Step::PinEnter { tracked, .. }
            | Step::PukEnter { tracked }
            | Step::PinChange { tracked, .. }
            | Step::SlotMappingSet { tracked, .. } => *tracked,
            _ => None,
        }
    }
}

/// A PIN1 operation other than entering it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PinChange {
    Change { old: Secret, new: Secret },
    Enabled { pin: Secret, enabled: bool },
}

impl PinChange {
    fn name(&self) -> &'static str {
        match self {
            PinChange::Change { .. } => "PIN change",
            PinChange::Enabled { enabled: true, .. } => "enabling PIN1",
            PinChange::Enabled { enabled: false, .. } => "disabling PIN1",
        }
    }

    fn request(&self) -> Request {
        let set = match self {
            PinChange::Change { old, new } => bc::PinSet {
                pin_type: PinType::Pin1,
                pin_operation: PinOperation::Change,
                pin: old.expose().to_owned(),
                new_pin: new.expose().to_owned(),
            },
            PinChange::Enabled { pin, enabled } => bc::PinSet {
                pin_type: PinType::Pin1,
                pin_operation: if *enabled {
                    PinOperation::Enable
                } else {
                    PinOperation::Disable
                },
                pin: pin.expose().to_owned(),
                new_pin: String::new(),
            },
        };
        Request::set::<bc::cid::Pin>(&set)
    }
}

/// More slots than any modem has: a device claiming more is not believed
/// (the status keeps one entry per slot).
const MAX_SLOTS: u32 = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Active {
    profile: String,
    route_metric: Option<u32>,
}

/// The sans-IO executor.
#[derive(Debug)]
pub struct ExecutorMachine {
    config: ExecutorConfig,
    status: ExecutorStatus,
    actions: VecDeque<Action>,
    link: Link,
    open_refusals: u32,
    step: Option<Step>,
    ntb: Option<NtbParameters>,
    // What is known of the device (None/false: ask).
    caps: bool,
    multi_sim: Option<bool>,
    sys_caps: bool,
    slot_mapping: bool,
    subscribed: bool,
    radio_sw: Option<RadioSwitchState>,
    radio_hw: Option<RadioSwitchState>,
    pin_known: bool,
    home_provider: bool,
    signal_known: bool,
    register_requested: bool,
    active: Option<Active>,
    // What is wanted.
    want_radio: bool,
    want_connect: bool,
    profile_override: Option<Profile>,
    pending_pin: Option<(Secret, Option<u64>)>,
    pending_puk: Option<(Secret, Secret, Option<u64>)>,
    pending_pin_changes: VecDeque<(PinChange, Option<u64>)>,
    pending_slot_mapping: Option<(Vec<u32>, Option<u64>)>,
    /// Slots whose SLOT_INFO_STATUS is to be asked for, in order.
    slots_to_query: VecDeque<u32>,
    // Tracked commands waiting for an outcome that no single step carries.
    radio_waiters: Vec<u64>,
    slot_query_waiters: Vec<u64>,
    slot_query_failure: Option<CommandFailure>,
    mapping_waiters: Vec<u64>,
    configured_pin_tried: bool,
    shutting_down: bool,
    finished: bool,
    // Gates in time.
    busy_until: Option<Instant>,
    retry_at: Option<Instant>,
    /// The kind of command `retry_at` holds back; others go ahead, so a
    /// failed attach does not hide that registration was lost meanwhile.
    retry_kind: Option<std::mem::Discriminant<Step>>,
    /// The kind of the command whose outcome is being handled.
    handling: Option<std::mem::Discriminant<Step>>,
    step_failures: u32,
    connect_at: Option<Instant>,
    reopen_at: Option<Instant>,
    ready_requery_at: Option<Instant>,
    /// How long the device's own attach is waited for before asking for it.
    auto_attach_until: Option<Instant>,
    auto_attach_expired: bool,
    anomalies: AnomalyBudget,
}

impl ExecutorMachine {
    /// A machine for one executor; the first action is OPEN.
    pub fn new(config: ExecutorConfig) -> Self {
        let anomalies = AnomalyBudget::new(
            config.anomaly_window,
            config.anomaly_log_limit,
            config.anomaly_reset_threshold,
        );
        let status = ExecutorStatus {
            executor: config.index,
            ..ExecutorStatus::default()
        };
        let want_connect = config.autoconnect;
        let mut machine = ExecutorMachine {
            config,
            status,
            actions: VecDeque::new(),
            link: Link::Opening,
            open_refusals: 0,
            step: None,
            ntb: None,
            caps: false,
            multi_sim: None,
            sys_caps: false,
            slot_mapping: false,
            subscribed: false,
            radio_sw: None,
            radio_hw: None,
            pin_known: false,
            home_provider: false,
            signal_known: false,
            register_requested: false,
            active: None,
            want_radio: true,
            want_connect,
            profile_override: None,
            pending_pin: None,
            pending_puk: None,
            pending_pin_changes: VecDeque::new(),
            pending_slot_mapping: None,
            slots_to_query: VecDeque::new(),
            radio_waiters: Vec::new(),
            slot_query_waiters: Vec::new(),
            slot_query_failure: None,
            mapping_waiters: Vec::new(),
            configured_pin_tried: false,
            shutting_down: false,
            finished: false,
            busy_until: None,
            retry_at: None,
            retry_kind: None,
            handling: None,
            step_failures: 0,
            connect_at: None,
            reopen_at: None,
            ready_requery_at: None,
            auto_attach_until: None,
            auto_attach_expired: false,
            anomalies,
        };
        machine.actions.push_back(Action::Open);
        machine
    }

    /// The function's NTB parameters, handed on in [`Connection`].
    pub fn set_ntb_parameters(&mut self, parameters: Option<NtbParameters>) {
        self.ntb = parameters;
    }

    /// The executor's number in logs: its DEVICE_CAPS_V2 ExecutorIndex once
    /// known and within SYS_CAPS' count (the number the supervisor, D-Bus
    /// and the netdev name use), else the function order it was started in.
    pub fn log_number(&self) -> usize {
        let executors = self.status.sys_caps.map_or(u32::MAX, |caps| caps.executors);
        self.status
            .device_executor_index
            .filter(|index| *index < executors)
            .and_then(|index| usize::try_from(index).ok())
            .unwrap_or(self.config.index)
    }

    /// The current snapshot.
    pub fn status(&self) -> &ExecutorStatus {
        &self.status
    }

    /// Whether the task is over.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The next thing to do.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        [
            self.busy_until,
            self.retry_at,
            self.connect_at,
            self.reopen_at,
            self.ready_requery_at,
            self.auto_attach_until,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Lets time pass: gates that are due open.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due = |gate: &mut Option<Instant>| {
            if gate.is_some_and(|at| at <= now) {
                *gate = None;
                true
            } else {
                false
            }
        };
        due(&mut self.busy_until);
        due(&mut self.retry_at);
        due(&mut self.connect_at);
        if due(&mut self.auto_attach_until) {
            self.auto_attach_expired = true;
        }
        if due(&mut self.ready_requery_at) {
            self.status.ready_state = None;
        }
        if due(&mut self.reopen_at) && self.link == Link::Closed && !self.finished {
            self.open();
        }
        self.reconcile(now);
    }

    /// Takes one input.
    pub fn handle(&mut self, now: Instant, input: Input) {
        if self.finished {
            // Nobody waits forever, not even for an executor that has ended.
            if let Input::Command(ExecutorCommand::Tracked { id, .. }) = input {
                self.fail(id, None, "the executor has ended");
            }
            return;
        }
        let opening = self.link == Link::Opening;
        match input {
            // Answers to an OPEN that is no longer awaited change nothing.
            Input::Opened | Input::OpenFailed(_) | Input::OpenTimedOut if !opening => {}
            Input::Opened => {
                tracing::info!(executor = self.log_number(), "session open");
                self.link = Link::Open;
                self.open_refusals = 0;
            }
            Input::OpenFailed(status) => self.open_refused(now, &format!("OPEN refused: {status}")),
            Input::OpenTimedOut => {
                self.link = Link::Closed;
                self.open_refused(now, "the device did not answer OPEN");
            }
            Input::Closed => self.closed(),
            Input::Response {
                status,
                information_buffer,
            } => {
                if let Some(step) = self.step.take() {
                    self.response(now, step, status, &information_buffer);
                }
            }
            Input::RequestFailed(failure) => {
                if let Some(step) = self.step.take() {
                    self.request_failed(now, &step, &failure);
                }
            }
            Input::NotOpened => {
                self.reset("the device has no session (NOT_OPENED)");
            }
            Input::Indication {
                service,
                cid,
                information_buffer,
            } => {
                // Seed 000: a BUSY device says it is ready again by notifying.
                self.busy_until = None;
                self.indication(now, service, cid, &information_buffer);
            }
            Input::DeviceMisbehaved(what) => self.misbehaved(now, &what),
            Input::Command(command) => self.command(command, None),
            Input::TransportGone => {
                self.abandon("the device is gone");
                self.lost("the device is gone");
                self.status.state = ExecutorState::Gone;
                self.status.reason = Some("the device is gone".to_owned());
                self.report(ExecutorEvent::Gone);
                self.finish();
                return;
            }
        }
        self.reconcile(now);
    }

    // ----- session -----

    fn open(&mut self) {
        self.link = Link::Opening;
        self.status.state = ExecutorState::Opening;
        self.actions.push_back(Action::Open);
    }

    fn open_refused(&mut self, now: Instant, reason: &str) {
        self.open_refusals = self.open_refusals.saturating_add(1);
        tracing::warn!(executor = self.log_number(), "{reason}");
        if self.link != Link::Closed && self.open_refusals <= 2 {
            // A device that still believes in an earlier session refuses
            // OPEN; CLOSE ends that session, then OPEN again.
            self.link = Link::Closing;
            self.actions.push_back(Action::Close);
            return;
        }
        self.link = Link::Closed;
        self.status.state = ExecutorState::Failed;
        self.status.reason = Some(reason.to_owned());
        let delay = reconnect_delay(
            self.open_refusals.saturating_sub(1),
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.reopen_at = Some(now.checked_add(delay).unwrap_or(now));
    }

    fn closed(&mut self) {
        self.link = Link::Closed;
        self.abandon("the session closed");
        if self.shutting_down {
            self.status.state = ExecutorState::Stopped;
            self.status.reason = None;
            self.report(ExecutorEvent::Stopped);
            self.finish();
        } else if self.reopen_at.is_none() {
            self.open();
        }
    }

    /// Forgets what the session knew and starts a new one (CLOSE, OPEN).
    fn reset(&mut self, reason: &str) {
        tracing::warn!(
            executor = self.log_number(),
            "resetting the session: {reason}"
        );
        self.abandon(reason);
        self.lost(reason);
        self.forget_device();
        self.status.resets = self.status.resets.saturating_add(1);
        self.status.state = ExecutorState::Resetting;
        self.status.reason = Some(reason.to_owned());
        self.retry_at = None;
        self.busy_until = None;
        match self.link {
            Link::Open | Link::Opening => {
                self.link = Link::Closing;
                self.actions.push_back(Action::Close);
            }
            Link::Closed => self.open(),
            Link::Closing => {}
        }
    }

    fn forget_device(&mut self) {
        self.step = None;
        self.caps = false;
        self.multi_sim = None;
        self.sys_caps = false;
        self.slot_mapping = false;
        self.subscribed = false;
        self.radio_sw = None;
        self.radio_hw = None;
        self.pin_known = false;
        self.home_provider = false;
        self.signal_known = false;
        self.register_requested = false;
        self.status.ready_state = None;
        self.status.register_state = None;
        self.status.packet_service = None;
    }

    fn finish(&mut self) {
        self.finished = true;
        self.actions.push_back(Action::Finish);
    }

    fn report(&mut self, event: ExecutorEvent) {
        self.actions.push_back(Action::Report(event));
    }

    /// Reports a tracked command's outcome (nothing for an untracked one).
    fn done(&mut self, tracked: Option<u64>, result: Result<(), CommandFailure>) {
        if let Some(id) = tracked {
            self.report(ExecutorEvent::Done { id, result });
        }
    }

    fn fail(&mut self, id: u64, status: Option<Status>, message: &str) {
        self.done(
            Some(id),
            Err(CommandFailure {
                status,
                message: message.to_owned(),
            }),
        );
    }

    fn fail_all(&mut self, ids: Vec<u64>, status: Option<Status>, message: &str) {
        for id in ids {
            self.fail(id, status, message);
        }
    }

    /// The session (or the task) ends under whatever was asked of it: every
    /// tracked command in flight or waiting fails, so that nobody waits for
    /// an answer that cannot come. Untracked requests stay wanted and go to
    /// the next session.
    fn abandon(&mut self, reason: &str) {
        if let Some(id) = self.step.take().and_then(|step| step.tracked()) {
            self.fail(id, None, reason);
        }
        self.abandon_pending(reason);
    }

    fn abandon_pending(&mut self, reason: &str) {
        if let Some((_, Some(id))) = self.pending_pin {
            self.pending_pin = None;
            self.fail(id, None, reason);
        }
        if let Some((_, _, Some(id))) = self.pending_puk {
            self.pending_puk = None;
            self.fail(id, None, reason);
        }
        let (tracked, untracked): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending_pin_changes)
            .into_iter()
            .partition(|(_, tracked)| tracked.is_some());
        self.pending_pin_changes = untracked.into();
        self.fail_all(
            tracked.into_iter().filter_map(|(_, id)| id).collect(),
            None,
            reason,
        );
        if let Some((_, Some(id))) = self.pending_slot_mapping {
            self.pending_slot_mapping = None;
            self.fail(id, None, reason);
        }
        self.slots_to_query.clear();
        self.slot_query_failure = None;
        let waiters = std::mem::take(&mut self.radio_waiters);
        self.fail_all(waiters, None, reason);
        let waiters = std::mem::take(&mut self.slot_query_waiters);
        self.fail_all(waiters, None, reason);
        let waiters = std::mem::take(&mut self.mapping_waiters);
        self.fail_all(waiters, None, reason);
    }

    /// Fails the tracked PIN or PUK entries waiting for the SIM to ask.
    fn fail_pending_entries(&mut self, pin: bool, puk: bool, message: &str) {
        if let (true, Some((_, Some(id)))) = (pin, &self.pending_pin) {
            let id = *id;
            self.pending_pin = None;
            self.fail(id, None, message);
        }
        if let (true, Some((_, _, Some(id)))) = (puk, &self.pending_puk) {
            let id = *id;
            self.pending_puk = None;
            self.fail(id, None, message);
        }
    }

    /// The context is gone (however): the supervisor takes the link down.
    fn lost(&mut self, reason: &str) {
        if self.active.take().is_some() {
            tracing::info!(executor = self.log_number(), "link down: {reason}");
            self.status.ip = None;
            self.report(ExecutorEvent::LinkDown {
                reason: reason.to_owned(),
            });
        }
    }

    /// Loss by the network: reconnect once it returns, after the back-off.
    fn lost_to_network(&mut self, now: Instant, reason: &str) {
        if self.active.is_none() {
            return;
        }
        self.lost(reason);
        let delay = reconnect_delay(
            self.status.connect_failures,
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.connect_at = Some(now.checked_add(delay).unwrap_or(now));
        self.status.reason = Some(reason.to_owned());
    }

    fn misbehaved(&mut self, now: Instant, what: &str) {
        let verdict = self.anomalies.record(now);
        if verdict.suppressed_before > 0 {
            tracing::warn!(
                executor = self.log_number(),
                "{} more device anomalies were not logged",
                verdict.suppressed_before
            );
        }
        if verdict.log {
            tracing::warn!(executor = self.log_number(), "device anomaly: {what}");
        }
        if verdict.reset {
            self.reset("too many device anomalies");
        }
    }

    // ----- commands -----

    /// Why a command that needs the device cannot run now, if it cannot.
    fn cannot_run(&self) -> Option<&'static str> {
        if self.shutting_down {
            Some("the executor is shutting down")
        } else if self.link != Link::Open {
            Some("the session is not open")
        } else {
            None
        }
    }

    #[allow(clippy::too_many_lines)] // One arm per command.
    fn command(&mut self, command: ExecutorCommand, tracked: Option<u64>) {
        let needs_device = !matches!(
            command,
            ExecutorCommand::Connect(_)
                | ExecutorCommand::Disconnect
                | ExecutorCommand::Reconfigure { .. }
                | ExecutorCommand::Shutdown
                | ExecutorCommand::Tracked { .. }
        );
        if let (Some(id), true) = (tracked, needs_device) {
            if let Some(reason) = self.cannot_run() {
                self.fail(id, None, reason);
                return;
            }
        }
        match command {
            ExecutorCommand::Tracked { id, command } => {
                if tracked.is_some() || matches!(*command, ExecutorCommand::Tracked { .. }) {
                    self.fail(id, None, "a tracked command cannot hold another");
                    return;
                }
                self.command(*command, Some(id));
            }
            ExecutorCommand::Connect(profile) => {
                tracing::info!(executor = self.log_number(), "connect requested");
                self.want_connect = true;
                self.connect_at = None;
                self.status.connect_failures = 0;
                self.profile_override = profile;
                self.done(tracked, Ok(()));
            }
            ExecutorCommand::Disconnect => {
                tracing::info!(executor = self.log_number(), "disconnect requested");
                self.want_connect = false;
                self.done(tracked, Ok(()));
            }
            ExecutorCommand::Reconfigure { profiles, pins } => {
                tracing::info!(executor = self.log_number(), "new profiles and PINs");
                let before = self.configured_pin().cloned();
                self.config.profiles = profiles;
                self.config.pins = pins;
                if self.configured_pin() != before.as_ref() {
                    // Only the refusal of the old PIN is forgotten: a new PIN
                    // for this SIM gets its one try, the same one never twice.
                    self.configured_pin_tried = false;
                    self.status.pin.configured_pin_refused = false;
                }
                self.done(tracked, Ok(()));
            }
            ExecutorCommand::EnterPin(pin) => {
                tracing::info!(executor = self.log_number(), "PIN entered by request");
                if let Some((_, Some(old))) = self.pending_pin.replace((pin, tracked)) {
                    self.fail(old, None, "superseded by another PIN");
                }
            }
            ExecutorCommand::EnterPuk { puk, new_pin } => {
                tracing::info!(executor = self.log_number(), "PUK entered by request");
                if let Some((_, _, Some(old))) = self.pending_puk.replace((puk, new_pin, tracked)) {
                    self.fail(old, None, "superseded by another PUK");
                }
            }
            ExecutorCommand::ChangePin { old, new } => {
                tracing::info!(executor = self.log_number(), "PIN change requested");
                self.pending_pin_changes
                    .push_back((PinChange::Change { old, new }, tracked));
            }
            ExecutorCommand::SetPinEnabled { pin, enabled } => {
                tracing::info!(
                    executor = self.log_number(),
                    enabled,
                    "PIN1 check switch requested"
                );
                self.pending_pin_changes
                    .push_back((PinChange::Enabled { pin, enabled }, tracked));
            }
            ExecutorCommand::SetSlotMapping(slots) => {
                tracing::info!(
                    executor = self.log_number(),
                    ?slots,
                    "slot mapping requested"
                );
                if let Some((_, Some(old))) = self.pending_slot_mapping.replace((slots, tracked)) {
                    self.fail(old, None, "superseded by another slot mapping");
                }
            }
            ExecutorCommand::QuerySlots => {
                if self.multi_sim == Some(false) {
                    if let Some(id) = tracked {
                        self.fail(id, None, "the device has no multi-SIM extensions");
                    }
                    return;
                }
                self.queue_slot_queries();
                if let Some(id) = tracked {
                    self.slot_query_waiters.push(id);
                }
            }
            ExecutorCommand::QuerySlotMapping => {
                if self.multi_sim == Some(false) {
                    if let Some(id) = tracked {
                        self.fail(id, None, "the device has no multi-SIM extensions");
                    }
                    return;
                }
                self.slot_mapping = false;
                if let Some(id) = tracked {
                    self.mapping_waiters.push(id);
                }
            }
            ExecutorCommand::SetRadio(on) => {
                tracing::info!(executor = self.log_number(), on, "radio switch requested");
                self.want_radio = on;
                if let Some(id) = tracked {
                    self.radio_waiters.push(id);
                }
            }
            ExecutorCommand::Shutdown => {
                tracing::info!(executor = self.log_number(), "shutdown requested");
                self.done(tracked, Ok(()));
                self.shutting_down = true;
                self.abandon_pending("the executor is shutting down");
                match self.link {
                    Link::Closed => {
                        self.closed();
                    }
                    Link::Opening => {
                        self.link = Link::Closing;
                        self.actions.push_back(Action::Close);
                    }
                    Link::Open | Link::Closing => {}
                }
            }
        }
    }

    /// Every slot the modem has (as far as known) is asked about again.
    fn queue_slot_queries(&mut self) {
        let known = self.status.sys_caps.map_or(0, |caps| caps.slots);
        let seen = u32::try_from(self.status.slots.len()).unwrap_or(MAX_SLOTS);
        for slot in 0..known.max(seen).min(MAX_SLOTS) {
            if !self.slots_to_query.contains(&slot) {
                self.slots_to_query.push_back(slot);
            }
        }
    }

    // ----- deciding -----

    fn send(&mut self, step: Step, request: Request) {
        tracing::debug!(executor = self.log_number(), cid = request.name, "sending");
        self.status.state = state_for(&step, self.status.state);
        self.step = Some(step);
        self.actions.push_back(Action::Send(request));
    }

    fn wait(&mut self, state: ExecutorState, reason: Option<String>) {
        self.status.state = state;
        self.status.reason = reason;
    }

    fn reconcile(&mut self, now: Instant) {
        if self.finished || self.link != Link::Open || self.step.is_some() {
            return;
        }
        if self.busy_until.is_some_and(|until| now < until) {
            return;
        }
        self.busy_until = None;
        if self.shutting_down {
            if self.active.is_some() {
                self.send(Step::Deactivate, self.deactivate_request());
            } else {
                self.status.state = ExecutorState::Disconnecting;
                self.link = Link::Closing;
                self.actions.push_back(Action::Close);
            }
            return;
        }
        if let Some((slots, tracked)) = self.pending_slot_mapping.take() {
            let set = ms::DeviceSlotMappingInfo::from_slots(&slots);
            let request = Request::set::<ms::cid::DeviceSlotMappings>(&set);
            self.send(Step::SlotMappingSet { slots, tracked }, request);
            return;
        }
        if let Some((op, tracked)) = self.pending_pin_changes.pop_front() {
            tracing::info!(executor = self.log_number(), "{}", op.name());
            let request = op.request();
            self.send(Step::PinChange { op, tracked }, request);
            return;
        }
        if let Some((step, request)) = self.next_request(now) {
            let kind = std::mem::discriminant(&step);
            if self.retry_kind == Some(kind) && self.retry_at.is_some_and(|at| now < at) {
                // Held back after a failure; the reason stays as it was.
                self.status.state = state_for(&step, self.status.state);
                return;
            }
            self.retry_at = None;
            self.retry_kind = None;
            self.send(step, request);
        }
    }

    /// The command that closes the first gap between what is known and what
    /// is wanted, or `None` (with the waiting state set) when there is none.
    fn next_request(&mut self, now: Instant) -> Option<(Step, Request)> {
        if !self.caps {
            return Some((
                Step::DeviceCaps,
                Request::query::<bc::cid::DeviceCaps>(&Empty),
            ));
        }
        let Some(multi_sim) = self.multi_sim else {
            return Some((
                Step::DeviceCapsV2,
                Request::query::<ms::cid::DeviceCapsV2>(&Empty),
            ));
        };
        if !multi_sim {
            let waiters = std::mem::take(&mut self.slot_query_waiters);
            self.fail_all(waiters, None, "the device has no multi-SIM extensions");
            let waiters = std::mem::take(&mut self.mapping_waiters);
            self.fail_all(waiters, None, "the device has no multi-SIM extensions");
        }
        if multi_sim && !self.sys_caps {
            return Some((Step::SysCaps, Request::query::<ms::cid::SysCaps>(&Empty)));
        }
        if multi_sim && !self.slot_mapping {
            return Some((
                Step::SlotMappings,
                Request::query::<ms::cid::DeviceSlotMappings>(&Empty),
            ));
        }
        if let Some(&slot) = self.slots_to_query.front() {
            let query = ms::SlotInfoRequest { slot_index: slot };
            return Some((
                Step::SlotInfoQuery(slot),
                Request::query::<ms::cid::SlotInfoStatus>(&query),
            ));
        }
        if !self.slot_query_waiters.is_empty() {
            let result = self.slot_query_failure.take().map_or(Ok(()), Err);
            for id in std::mem::take(&mut self.slot_query_waiters) {
                self.done(Some(id), result.clone());
            }
        }
        if !self.subscribed {
            return Some((Step::Subscribe, self.subscribe_request(multi_sim)));
        }
        let want_radio = if self.want_radio {
            RadioSwitchState::On
        } else {
            RadioSwitchState::Off
        };
        match self.radio_sw {
            None => {
                return Some((
                    Step::RadioQuery,
                    Request::query::<bc::cid::RadioState>(&Empty),
                ));
            }
            Some(state) if state != want_radio => {
                let set = bc::RadioStateSet {
                    radio_state: want_radio,
                };
                return Some((Step::RadioSet, Request::set::<bc::cid::RadioState>(&set)));
            }
            Some(_) => {
                for id in std::mem::take(&mut self.radio_waiters) {
                    self.done(Some(id), Ok(()));
                }
            }
        }
        if !self.want_radio || self.radio_hw == Some(RadioSwitchState::Off) {
            self.fail_pending_entries(true, true, "the radio is off");
        }
        if !self.want_radio {
            self.wait(
                ExecutorState::RadioOff,
                Some("radio switched off by request".to_owned()),
            );
            return None;
        }
        if self.radio_hw == Some(RadioSwitchState::Off) {
            self.wait(
                ExecutorState::RadioOff,
                Some("the hardware radio switch is off".to_owned()),
            );
            return None;
        }
        match self.status.ready_state {
            None => {
                return Some((
                    Step::ReadyQuery,
                    Request::query::<bc::cid::SubscriberReadyStatus>(&Empty),
                ));
            }
            Some(SubscriberReadyState::Initialized) => {
                self.fail_pending_entries(true, false, "PIN1 is not required");
                self.fail_pending_entries(false, true, "PUK1 is not required");
            }
            Some(SubscriberReadyState::DeviceLocked) => return self.unlock(),
            Some(other) => {
                if other != SubscriberReadyState::NotInitialized {
                    self.fail_pending_entries(true, true, &format!("SIM {other}"));
                }
                if other == SubscriberReadyState::NotInitialized && self.ready_requery_at.is_none()
                {
                    // Not every device notifies the end of SIM initialization.
                    self.ready_requery_at = now.checked_add(self.config.command_timeout);
                }
                self.wait(ExecutorState::WaitingForSim, Some(format!("SIM {other}")));
                return None;
            }
        }
        if !self.home_provider {
            return Some((
                Step::HomeProvider,
                Request::query::<bc::cid::HomeProvider>(&Empty),
            ));
        }
        if !self.signal_known {
            return Some((
                Step::SignalQuery,
                Request::query::<bc::cid::SignalState>(&Empty),
            ));
        }
        if !self.register_requested {
            let set = bc::RegisterStateSet {
                provider_id: String::new(),
                register_action: RegisterAction::Automatic,
                data_class: bc::DataClass::empty(),
            };
            return Some((
                Step::RegisterSet,
                Request::set::<bc::cid::RegisterState>(&set),
            ));
        }
        match self.status.register_state {
            None => {
                return Some((
                    Step::RegisterQuery,
                    Request::query::<bc::cid::RegisterState>(&Empty),
                ));
            }
            Some(RegisterState::Home | RegisterState::Roaming | RegisterState::Partner) => {}
            Some(other) => {
                self.wait(
                    ExecutorState::Registering,
                    Some(format!("registration {other}")),
                );
                return None;
            }
        }
        if self.active.is_none() && !self.want_connect {
            self.wait(
                ExecutorState::Idle,
                Some("not connected by request".to_owned()),
            );
            return None;
        }
        match self.status.packet_service {
            None => {
                return Some((
                    Step::PacketQuery,
                    Request::query::<bc::cid::PacketService>(&Empty),
                ));
            }
            Some(PacketServiceState::Attached) => {
                self.auto_attach_until = None;
                self.auto_attach_expired = false;
            }
            Some(PacketServiceState::Attaching) if !self.auto_attach_expired => {
                // Seed 000: the device attaches by itself; wait for it. An
                // attach request now would complete with the auto attach's
                // status anyway; it is sent only if the wait runs long.
                if self.auto_attach_until.is_none() {
                    self.auto_attach_until = now.checked_add(self.config.command_timeout);
                }
                self.wait(
                    ExecutorState::Attaching,
                    Some("the device is attaching".to_owned()),
                );
                return None;
            }
            Some(_) => {
                self.auto_attach_until = None;
                self.auto_attach_expired = false;
                let set = bc::PacketServiceSet {
                    packet_service_action: PacketServiceAction::Attach,
                };
                return Some((Step::Attach, Request::set::<bc::cid::PacketService>(&set)));
            }
        }
        if let Some(active) = &self.active {
            let other_profile = self
                .profile_override
                .as_ref()
                .is_some_and(|profile| profile.name != active.profile);
            if !self.want_connect || other_profile {
                return Some((Step::Deactivate, self.deactivate_request()));
            }
            if self.status.ip.is_none() {
                let query = bc::IpConfigurationInfo {
                    session_id: self.config.session_id,
                    ..bc::IpConfigurationInfo::default()
                };
                return Some((
                    Step::IpQuery,
                    Request::query::<bc::cid::IpConfiguration>(&query),
                ));
            }
            self.wait(ExecutorState::Connected, None);
            return None;
        }
        if self.connect_at.is_some_and(|at| now < at) {
            let reason = self.status.reason.take();
            self.wait(ExecutorState::WaitingToReconnect, reason);
            return None;
        }
        self.connect_at = None;
        let profile = match &self.profile_override {
            Some(profile) => profile.clone(),
            None => match select_profile(
                &self.config.profiles,
                &self.status.iccid,
                &self.status.imsi,
                &self.status.home_provider,
            ) {
                Some(profile) => profile.clone(),
                None => {
                    self.wait(
                        ExecutorState::Failed,
                        Some("no profile matches this SIM".to_owned()),
                    );
                    return None;
                }
            },
        };
        self.status.profile = Some(profile.name.clone());
        let set = connect_set(self.config.session_id, &profile);
        Some((
            Step::Connect {
                profile: profile.name,
                route_metric: profile.route_metric,
            },
            Request::set::<bc::cid::Connect>(&set),
        ))
    }

    /// The configured PIN for the SIM present: by its ICCID, else the
    /// executor-wide one.
    fn configured_pin(&self) -> Option<&Secret> {
        self.config
            .pins
            .iter()
            .find(|(iccid, _)| !iccid.is_empty() && *iccid == self.status.iccid)
            .map(|(_, pin)| pin)
            .or(self.config.pin.as_ref())
    }

    fn unlock(&mut self) -> Option<(Step, Request)> {
        if !self.pin_known {
            return Some((Step::PinQuery, Request::query::<bc::cid::Pin>(&Empty)));
        }
        let pin = self.status.pin;
        match pin.pin_type {
            Some(PinType::Pin1) => {
                self.fail_pending_entries(false, true, "PUK1 is not required");
                let (secret, configured, tracked) =
                    if let Some((pin, tracked)) = self.pending_pin.take() {
                        (pin, false, tracked)
                    } else if let (Some(pin), false) =
                        (self.configured_pin().cloned(), self.configured_pin_tried)
                    {
                        self.configured_pin_tried = true;
                        (pin, true, None)
                    } else {
                        let reason = if pin.configured_pin_refused {
                            "PIN1 required; the configured PIN was refused"
                        } else {
                            "PIN1 required"
                        };
                        self.wait(ExecutorState::Locked, Some(reason.to_owned()));
                        return None;
                    };
                tracing::info!(executor = self.log_number(), configured, "entering PIN1");
                let set = bc::PinSet {
                    pin_type: PinType::Pin1,
                    pin_operation: PinOperation::Enter,
                    pin: secret.expose().to_owned(),
                    new_pin: String::new(),
                };
                Some((
                    Step::PinEnter {
                        configured,
                        tracked,
                    },
                    Request::set::<bc::cid::Pin>(&set),
                ))
            }
            Some(PinType::Puk1) => {
                self.fail_pending_entries(true, false, "PIN1 is blocked; PUK1 required");
                let Some((puk, new_pin, tracked)) = self.pending_puk.take() else {
                    self.wait(ExecutorState::Locked, Some("PUK1 required".to_owned()));
                    return None;
                };
                tracing::info!(executor = self.log_number(), "entering PUK1");
                let set = bc::PinSet {
                    pin_type: PinType::Puk1,
                    pin_operation: PinOperation::Enter,
                    pin: puk.expose().to_owned(),
                    new_pin: new_pin.expose().to_owned(),
                };
                Some((
                    Step::PukEnter { tracked },
                    Request::set::<bc::cid::Pin>(&set),
                ))
            }
            other => {
                let reason = match other {
                    Some(PinType::None) | None => "the SIM is blocked".to_owned(),
                    Some(other) => format!("{other} required"),
                };
                self.fail_pending_entries(true, true, &reason);
                self.wait(ExecutorState::Locked, Some(reason));
                None
            }
        }
    }

    fn subscribe_request(&self, multi_sim: bool) -> Request {
        let mut events = vec![bc::EventEntry {
            device_service_id: bc::SERVICE.uuid,
            cids: vec![
                bc::cid::SubscriberReadyStatus::ID,
                bc::cid::RadioState::ID,
                bc::cid::RegisterState::ID,
                bc::cid::PacketService::ID,
                bc::cid::SignalState::ID,
                bc::cid::Connect::ID,
                bc::cid::IpConfiguration::ID,
            ],
        }];
        if multi_sim {
            events.push(bc::EventEntry {
                device_service_id: ms::SERVICE.uuid,
                cids: vec![ms::cid::SlotInfoStatus::ID],
            });
        }
        Request::set::<bc::cid::DeviceServiceSubscribeList>(&bc::EventEntries { events })
    }

    fn deactivate_request(&self) -> Request {
        let set = bc::ConnectSet {
            session_id: self.config.session_id,
            activation_command: ActivationCommand::Deactivate,
            access_string: String::new(),
            user_name: String::new(),
            password: String::new(),
            compression: Compression::None,
            auth_protocol: AuthProtocol::None,
            ip_type: ContextIpType::Default,
            context_type: ContextType::Internet.uuid(),
        };
        Request::set::<bc::cid::Connect>(&set)
    }

    // ----- answers -----

    fn decode<T: Payload>(&mut self, now: Instant, what: &str, bytes: &[u8]) -> Option<T> {
        match T::decode(bytes) {
            Ok(value) => Some(value),
            Err(error) => {
                self.misbehaved(now, &format!("undecodable {what}: {error}"));
                None
            }
        }
    }

    /// A lifecycle command failed: retry it after a growing pause.
    fn retry_later(&mut self, now: Instant, reason: String) {
        let delay = reconnect_delay(
            self.step_failures,
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.step_failures = self.step_failures.saturating_add(1);
        self.retry_at = Some(now.checked_add(delay).unwrap_or(now));
        self.retry_kind = self.handling;
        self.status.reason = Some(reason);
    }

    fn request_failed(&mut self, now: Instant, step: &Step, failure: &RequestFailure) {
        self.handling = Some(std::mem::discriminant(step));
        let message = match failure {
            RequestFailure::TimedOut => "the device did not answer".to_owned(),
            RequestFailure::FunctionError(error) => format!("the device failed it ({error})"),
            RequestFailure::Cancelled => "the session ended".to_owned(),
            RequestFailure::Refused(why) => why.clone(),
        };
        if let Some(id) = step.tracked() {
            self.fail(id, None, &message);
        }
        // Waiters fail too: the step is retried, but maybe not soon.
        let waiters = match step {
            Step::RadioQuery | Step::RadioSet => std::mem::take(&mut self.radio_waiters),
            Step::SlotMappings => std::mem::take(&mut self.mapping_waiters),
            Step::SlotInfoQuery(_) => std::mem::take(&mut self.slot_query_waiters),
            _ => Vec::new(),
        };
        self.fail_all(waiters, None, &message);
        match failure {
            RequestFailure::FunctionError(ProtocolError::NotOpened) => {
                self.reset("the device has no session (NOT_OPENED)");
            }
            RequestFailure::Cancelled => {}
            other => {
                self.misbehaved(now, &format!("{step:?} failed: {other:?}"));
                if self.step.is_none() && self.link == Link::Open {
                    self.retry_later(now, format!("{step:?} failed: {other:?}"));
                }
            }
        }
    }

    #[allow(clippy::too_many_lines)] // One arm per step reads as the life cycle.
    fn response(&mut self, now: Instant, step: Step, status: Status, buffer: &[u8]) {
        self.handling = Some(std::mem::discriminant(&step));
        if status == Status::Busy {
            match &step {
                Step::SlotMappingSet { slots, tracked } => {
                    self.slot_mapping_answer(now, true, status, buffer);
                    match tracked {
                        // Its owner retries (on the next notification).
                        Some(id) => self.fail(*id, Some(status), "the device is busy"),
                        // Asked for once by the supervisor: it stays asked for.
                        None => {
                            self.pending_slot_mapping
                                .get_or_insert_with(|| (slots.clone(), None));
                        }
                    }
                }
                Step::PinChange { op, tracked: None } => {
                    self.pending_pin_changes.push_front((op.clone(), None))
                }
                other => {
                    if let Some(id) = other.tracked() {
                        self.fail(id, Some(status), "the device is busy");
                    }
                }
            }
            // Retried on the device's next notification (or after busy_retry).
            tracing::info!(executor = self.log_number(), "device busy; {step:?} waits");
            self.busy_until = now.checked_add(self.config.busy_retry);
            return;
        }
        if status.is_success() {
            self.step_failures = 0;
        }
        match step {
            Step::DeviceCaps => {
                self.caps = true;
                if status.is_success() {
                    if let Some(caps) =
                        self.decode::<bc::DeviceCapsInfo>(now, "DEVICE_CAPS", buffer)
                    {
                        self.status.device = DeviceInfo {
                            firmware: caps.firmware_info.clone(),
                            hardware: caps.hardware_info.clone(),
                            device_id: caps.device_id.clone(),
                        };
                        tracing::info!(
                            executor = self.log_number(),
                            firmware = caps.firmware_info,
                            max_sessions = caps.max_sessions,
                            "device capabilities"
                        );
                    }
                } else {
                    tracing::warn!(executor = self.log_number(), "DEVICE_CAPS failed: {status}");
                }
            }
            Step::DeviceCapsV2 => {
                let caps = if status.is_success() {
                    self.decode::<ms::DeviceCapsInfoV2>(now, "DEVICE_CAPS_V2", buffer)
                } else {
                    None
                };
                // NO_DEVICE_SUPPORT: a single-executor device without the
                // multi-SIM extensions.
                self.multi_sim = Some(caps.is_some());
                self.status.multi_sim = caps.is_some();
                if let Some(caps) = &caps {
                    // The same facts as DEVICE_CAPS; an empty one adds nothing.
                    let device = &mut self.status.device;
                    for (field, value) in [
                        (&mut device.firmware, &caps.firmware_info),
                        (&mut device.hardware, &caps.hardware_info),
                        (&mut device.device_id, &caps.device_id),
                    ] {
                        if !value.is_empty() {
                            field.clone_from(value);
                        }
                    }
                }
                self.status.device_executor_index = caps.map(|caps| caps.executor_index);
            }
            Step::SysCaps => {
                self.sys_caps = true;
                if status.is_success() {
                    if let Some(caps) = self.decode::<ms::SysCapsInfo>(now, "SYS_CAPS", buffer) {
                        tracing::info!(
                            executor = self.log_number(),
                            executors = caps.number_of_executors,
                            slots = caps.number_of_slots,
                            concurrency = caps.concurrency,
                            "modem capabilities"
                        );
                        self.status.sys_caps = Some(SystemCaps {
                            executors: caps.number_of_executors,
                            slots: caps.number_of_slots,
                            concurrency: caps.concurrency,
                            modem_id: caps.modem_id,
                        });
                        let slots = caps.number_of_slots.min(MAX_SLOTS);
                        if let Ok(slots) = usize::try_from(slots) {
                            if self.status.slots.len() < slots {
                                self.status.slots.resize(slots, None);
                            }
                        }
                        self.queue_slot_queries();
                    }
                }
            }
            Step::SlotMappings => {
                self.slot_mapping = true;
                let mapping = if status.is_success() {
                    self.slot_mapping_answer(now, false, status, buffer)
                } else {
                    self.slot_mapping_answer(now, false, status, &[])
                };
                let result = match mapping {
                    Some(_) => Ok(()),
                    None => Err(CommandFailure {
                        status: Some(status),
                        message: format!("DEVICE_SLOT_MAPPINGS query failed: {status}"),
                    }),
                };
                for id in std::mem::take(&mut self.mapping_waiters) {
                    self.done(Some(id), result.clone());
                }
            }
            Step::SlotInfoQuery(slot) => {
                if self.slots_to_query.front() == Some(&slot) {
                    self.slots_to_query.pop_front();
                }
                let info = if status.is_success() {
                    self.decode::<ms::SlotInfo>(now, "SLOT_INFO_STATUS", buffer)
                } else {
                    None
                };
                match info {
                    Some(info) => self.slot_info(now, info),
                    None => {
                        tracing::warn!(
                            executor = self.log_number(),
                            slot,
                            "SLOT_INFO_STATUS failed: {status}"
                        );
                        self.slot_query_failure.get_or_insert(CommandFailure {
                            status: Some(status),
                            message: format!("SLOT_INFO_STATUS of slot {slot} failed: {status}"),
                        });
                    }
                }
            }
            Step::Subscribe => {
                // Without the list the device indicates everything; go on.
                self.subscribed = true;
                if !status.is_success() {
                    tracing::warn!(executor = self.log_number(), "subscribing failed: {status}");
                }
            }
            Step::RadioQuery | Step::RadioSet => {
                let info = if status.is_success() {
                    self.decode::<bc::RadioStateInfo>(now, "RADIO_STATE", buffer)
                } else {
                    None
                };
                match info {
                    Some(info) => self.apply_radio(&info),
                    None => {
                        let waiters = std::mem::take(&mut self.radio_waiters);
                        let message = format!("RADIO_STATE failed: {status}");
                        self.fail_all(waiters, Some(status), &message);
                        self.retry_later(now, message);
                    }
                }
            }
            Step::ReadyQuery => {
                let info = if status.is_success() {
                    self.decode::<bc::SubscriberReadyInfo>(now, "SUBSCRIBER_READY_STATUS", buffer)
                } else {
                    None
                };
                match (info, status) {
                    (Some(info), _) => self.apply_ready(now, &info),
                    (None, Status::SimNotInserted | Status::BadSim | Status::NotInitialized) => {
                        let state = match status {
                            Status::SimNotInserted => SubscriberReadyState::SimNotInserted,
                            Status::BadSim => SubscriberReadyState::BadSim,
                            _ => SubscriberReadyState::NotInitialized,
                        };
                        self.status.ready_state = Some(state);
                    }
                    (None, _) => {
                        self.retry_later(now, format!("SUBSCRIBER_READY_STATUS failed: {status}"));
                    }
                }
            }
            Step::PinQuery => {
                let info = self.decode::<bc::PinInfo>(now, "PIN", buffer);
                self.pin_known = true;
                match info {
                    Some(info) if status.is_success() => self.apply_pin(&info),
                    _ => {
                        self.status.pin.pin_type = None;
                        if status != Status::BadSim {
                            self.retry_later(now, format!("PIN query failed: {status}"));
                            self.pin_known = false;
                        }
                    }
                }
            }
            Step::PinEnter {
                configured,
                tracked,
            } => {
                if status.is_success() {
                    tracing::info!(executor = self.log_number(), "PIN1 accepted");
                    self.unlocked();
                    self.done(tracked, Ok(()));
                } else {
                    let info = self.decode::<bc::PinInfo>(now, "PIN", buffer);
                    if configured {
                        self.status.pin.configured_pin_refused = true;
                    }
                    if let Some(info) = &info {
                        self.apply_pin(info);
                    }
                    let message = pin_failure("PIN entry", status, info.as_ref());
                    self.done(
                        tracked,
                        Err(CommandFailure {
                            status: Some(status),
                            message,
                        }),
                    );
                    let left = self.status.pin.remaining_attempts.unwrap_or(0);
                    tracing::warn!(
                        executor = self.log_number(),
                        configured,
                        "PIN1 refused ({status}); {left} attempts left"
                    );
                    self.status.reason = Some(format!("PIN1 refused; {left} attempts left"));
                    self.status.state = ExecutorState::Locked;
                }
            }
            Step::PukEnter { tracked } => {
                if status.is_success() {
                    tracing::info!(executor = self.log_number(), "PUK1 accepted");
                    self.unlocked();
                    self.done(tracked, Ok(()));
                } else {
                    let info = self.decode::<bc::PinInfo>(now, "PIN", buffer);
                    if let Some(info) = &info {
                        self.apply_pin(info);
                    }
                    let message = pin_failure("PUK entry", status, info.as_ref());
                    self.done(
                        tracked,
                        Err(CommandFailure {
                            status: Some(status),
                            message,
                        }),
                    );
                    let left = self.status.pin.remaining_attempts.unwrap_or(0);
                    tracing::warn!(
                        executor = self.log_number(),
                        "PUK1 refused ({status}); {left} attempts left"
                    );
                    self.status.state = ExecutorState::Locked;
                }
            }
            Step::HomeProvider => {
                self.home_provider = true;
                if status.is_success() {
                    if let Some(provider) =
                        self.decode::<bc::Provider>(now, "HOME_PROVIDER", buffer)
                    {
                        self.status.home_provider = provider.provider_id;
                    }
                }
            }
            Step::RegisterSet | Step::RegisterQuery => {
                self.register_requested = true;
                let info = if status.is_success() {
                    self.decode::<bc::RegistrationStateInfo>(now, "REGISTER_STATE", buffer)
                } else {
                    None
                };
                match info {
                    Some(info) => self.apply_registration(now, &info),
                    None if step == Step::RegisterSet => {
                        // Automatic registration may be the device's own
                        // default already; ask where it is instead.
                        tracing::info!(
                            executor = self.log_number(),
                            "REGISTER_STATE set: {status}"
                        );
                        self.status.register_state = None;
                    }
                    None => self.retry_later(now, format!("REGISTER_STATE failed: {status}")),
                }
            }
            Step::PacketQuery | Step::Attach => {
                // A failure may come without the state; only a buffer says it.
                if !buffer.is_empty() {
                    if let Some(info) =
                        self.decode::<bc::PacketServiceInfo>(now, "PACKET_SERVICE", buffer)
                    {
                        self.apply_packet(now, &info);
                    }
                }
                if !status.is_success() {
                    self.retry_later(now, format!("packet service: {status}"));
                }
            }
            Step::Connect {
                profile,
                route_metric,
            } => {
                let info = if status.is_success() {
                    self.decode::<bc::ConnectInfo>(now, "CONNECT", buffer)
                } else {
                    None
                };
                match info {
                    Some(info) if info.activation_state == ActivationState::Activated => {
                        tracing::info!(executor = self.log_number(), profile, "context activated");
                        self.active = Some(Active {
                            profile,
                            route_metric,
                        });
                        self.status.ip = None;
                    }
                    other => {
                        let detail = other.map_or_else(
                            || format!("CONNECT failed: {status}"),
                            |info| {
                                format!("CONNECT: {} ({})", info.activation_state, info.nw_error)
                            },
                        );
                        self.connect_failed(now, detail);
                    }
                }
            }
            Step::IpQuery => {
                let info = if status.is_success() {
                    self.decode::<bc::IpConfigurationInfo>(now, "IP_CONFIGURATION", buffer)
                } else {
                    None
                };
                match (info, self.active.clone()) {
                    (Some(info), Some(active)) => {
                        let ip = merge_ip_configuration(&IpSettings::default(), &info);
                        let connection = Connection {
                            session_id: self.config.session_id,
                            profile: active.profile,
                            route_metric: active.route_metric,
                            ip: ip.clone(),
                            ntb: self.ntb,
                        };
                        tracing::info!(executor = self.log_number(), ?ip, "connected");
                        self.status.ip = Some(ip);
                        self.status.connect_failures = 0;
                        self.status.reason = None;
                        self.report(ExecutorEvent::Connected(connection));
                    }
                    (None, Some(_)) => {
                        self.retry_later(now, format!("IP_CONFIGURATION failed: {status}"));
                    }
                    (_, None) => {}
                }
            }
            Step::SignalQuery => {
                self.signal_known = true;
                if status.is_success() {
                    if let Some(info) =
                        self.decode::<bc::SignalStateInfo>(now, "SIGNAL_STATE", buffer)
                    {
                        self.status.rssi = Some(info.rssi);
                        self.status.error_rate = Some(info.error_rate);
                    }
                }
            }
            Step::PinChange { op, tracked } => {
                let info = if buffer.is_empty() {
                    None
                } else {
                    self.decode::<bc::PinInfo>(now, "PIN", buffer)
                };
                if status.is_success() {
                    tracing::info!(executor = self.log_number(), "{} done", op.name());
                    self.done(tracked, Ok(()));
                } else {
                    if let Some(info) = &info {
                        if info.pin_state == PinState::Locked {
                            // Blocked by the wrong PIN: the SIM now waits for the PUK.
                            self.apply_pin(info);
                            self.pin_known = true;
                        } else if info.pin_type == PinType::Pin1 {
                            self.status.pin.remaining_attempts = Some(info.remaining_attempts);
                        }
                    }
                    let message = pin_failure(op.name(), status, info.as_ref());
                    tracing::warn!(executor = self.log_number(), "{message}");
                    self.done(
                        tracked,
                        Err(CommandFailure {
                            status: Some(status),
                            message,
                        }),
                    );
                }
            }
            Step::SlotMappingSet { slots, tracked } => {
                // The response carries the mapping in force, success or not (seed 004).
                let mapping = self.slot_mapping_answer(now, true, status, buffer);
                let applied = mapping.as_ref() == Some(&slots);
                let result = if status.is_success() && applied {
                    Ok(())
                } else if status.is_success() {
                    let message = match &mapping {
                        Some(mapping) => format!("the device kept the mapping {mapping:?}"),
                        None => "the device did not say which mapping is in force".to_owned(),
                    };
                    Err(CommandFailure {
                        status: Some(status),
                        message,
                    })
                } else {
                    Err(CommandFailure {
                        status: Some(status),
                        message: format!("slot mapping refused: {status}"),
                    })
                };
                self.done(tracked, result);
                if status.is_success() {
                    tracing::info!(executor = self.log_number(), ?slots, "slot mapping set");
                } else {
                    tracing::warn!(
                        executor = self.log_number(),
                        ?slots,
                        "slot mapping refused: {status}"
                    );
                    self.status.reason = Some(format!("slot mapping refused: {status}"));
                }
            }
            Step::Deactivate => {
                let reason = if self.shutting_down {
                    "shutting down"
                } else {
                    "disconnected by request"
                };
                self.lost(reason);
                self.status.reason = Some(reason.to_owned());
            }
        }
    }

    fn connect_failed(&mut self, now: Instant, detail: String) {
        tracing::warn!(executor = self.log_number(), "{detail}");
        let delay = reconnect_delay(
            self.status.connect_failures,
            self.config.backoff_base,
            self.config.backoff_cap,
        );
        self.status.connect_failures = self.status.connect_failures.saturating_add(1);
        self.connect_at = Some(now.checked_add(delay).unwrap_or(now));
        self.status.reason = Some(detail);
        // The network may have changed under the failure; look again.
        self.status.packet_service = None;
    }

    fn unlocked(&mut self) {
        self.status.pin.pin_type = None;
        self.status.pin.state = Some(PinState::Unlocked);
        self.status.pin.remaining_attempts = None;
        self.status.reason = None;
        self.pin_known = false;
        // The ready state moves on; the indication may come, the query will.
        self.status.ready_state = None;
    }

    // ----- what the device says -----

    /// A DEVICE_SLOT_MAPPINGS answer: kept, reported, and its mapping (if
    /// it carried one) returned.
    fn slot_mapping_answer(
        &mut self,
        now: Instant,
        set: bool,
        status: Status,
        buffer: &[u8],
    ) -> Option<Vec<u32>> {
        let mapping = if buffer.is_empty() {
            None
        } else {
            self.decode::<ms::DeviceSlotMappingInfo>(now, "DEVICE_SLOT_MAPPINGS", buffer)
                .map(|mapping| mapping.slots())
        };
        if let Some(mapping) = &mapping {
            let index = self.status.device_executor_index.unwrap_or(0);
            self.status.slot = usize::try_from(index)
                .ok()
                .and_then(|index| mapping.get(index).copied());
            self.status.mapping.clone_from(mapping);
        }
        self.report(ExecutorEvent::SlotMapping {
            set,
            status,
            mapping: mapping.clone(),
        });
        mapping
    }

    /// A slot's state, answered or notified.
    fn slot_info(&mut self, now: Instant, info: ms::SlotInfo) {
        let slot = info.slot_index;
        let Some(index) = usize::try_from(slot).ok().filter(|_| slot < MAX_SLOTS) else {
            self.misbehaved(
                now,
                &format!("SLOT_INFO_STATUS of slot {slot}, beyond any modem"),
            );
            return;
        };
        if self.status.slots.len() <= index {
            self.status.slots.resize(index.saturating_add(1), None);
        }
        if let Some(entry) = self.status.slots.get_mut(index) {
            *entry = Some(info.state);
        }
        tracing::info!(executor = self.log_number(), slot, state = %info.state, "slot state");
        self.report(ExecutorEvent::SlotInfo {
            slot,
            state: info.state,
        });
    }

    fn apply_radio(&mut self, info: &bc::RadioStateInfo) {
        self.radio_sw = Some(info.sw_radio_state);
        self.radio_hw = Some(info.hw_radio_state);
        self.status.radio_software = Some(info.sw_radio_state);
        self.status.radio_hardware = Some(info.hw_radio_state);
    }

    fn apply_pin(&mut self, info: &bc::PinInfo) {
        self.status.pin.pin_type = Some(info.pin_type).filter(|t| *t != PinType::None);
        self.status.pin.state = Some(info.pin_state);
        self.status.pin.remaining_attempts = Some(info.remaining_attempts);
        if info.pin_type == PinType::None && info.pin_state == PinState::Locked {
            self.status.pin.remaining_attempts = Some(0);
        }
    }

    /// Records the ICCID of the SIM present; another SIM than before gets
    /// its provider and profile chosen afresh.
    fn note_iccid(&mut self, iccid: &str) {
        if iccid != self.status.iccid {
            self.home_provider = false;
            self.status.home_provider.clear();
            self.status.iccid = iccid.to_owned();
        }
    }

    fn apply_ready(&mut self, now: Instant, info: &bc::SubscriberReadyInfo) {
        let previous = self.status.ready_state;
        let state = info.ready_state;
        self.status.ready_state = Some(state);
        self.ready_requery_at = None;
        if state == SubscriberReadyState::Initialized {
            if info.sim_iccid != self.status.iccid || previous != Some(state) {
                tracing::info!(
                    executor = self.log_number(),
                    iccid = mask_personal(&info.sim_iccid, self.config.show_personal_info),
                    imsi = mask_personal(&info.subscriber_id, self.config.show_personal_info),
                    "SIM ready"
                );
            }
            self.note_iccid(&info.sim_iccid);
            self.status.imsi.clone_from(&info.subscriber_id);
        } else {
            if previous != Some(state) {
                tracing::info!(executor = self.log_number(), "SIM {state}");
            }
            self.register_requested = false;
            self.pin_known = false;
            if state == SubscriberReadyState::DeviceLocked && !info.sim_iccid.is_empty() {
                // A locked card's ICCID is readable without its PIN; it
                // picks the PIN configured for this SIM.
                self.note_iccid(&info.sim_iccid);
            }
            if state != SubscriberReadyState::DeviceLocked {
                // A removed or swapped card: the next one gets the configured PIN once.
                self.configured_pin_tried = false;
                self.status.pin = super::api::PinStatus::default();
            }
            self.lost_to_network(now, &format!("SIM {state}"));
        }
    }

    fn apply_registration(&mut self, now: Instant, info: &bc::RegistrationStateInfo) {
        let state = info.register_state;
        self.status.register_state = Some(state);
        self.status.provider_id.clone_from(&info.provider_id);
        self.status.provider_name.clone_from(&info.provider_name);
        self.status.roaming = matches!(state, RegisterState::Roaming | RegisterState::Partner);
        let registered = matches!(
            state,
            RegisterState::Home | RegisterState::Roaming | RegisterState::Partner
        );
        if !registered {
            self.status.packet_service = None;
            self.lost_to_network(now, &format!("registration {state}"));
        }
    }

    fn apply_packet(&mut self, now: Instant, info: &bc::PacketServiceInfo) {
        let state = info.packet_service_state;
        self.status.packet_service = Some(state);
        if state != PacketServiceState::Attached {
            self.lost_to_network(now, &format!("packet service {state}"));
        }
    }

    fn indication(&mut self, now: Instant, service: Uuid, cid: u32, buffer: &[u8]) {
        if service == bc::SERVICE.uuid {
            match cid {
                bc::cid::SubscriberReadyStatus::ID => {
                    if let Some(info) = self.decode::<bc::SubscriberReadyInfo>(now, "ready", buffer)
                    {
                        self.apply_ready(now, &info);
                    }
                }
                bc::cid::RadioState::ID => {
                    if let Some(info) = self.decode::<bc::RadioStateInfo>(now, "radio", buffer) {
                        self.apply_radio(&info);
                    }
                }
                bc::cid::RegisterState::ID => {
                    if let Some(info) =
                        self.decode::<bc::RegistrationStateInfo>(now, "registration", buffer)
                    {
                        self.apply_registration(now, &info);
                    }
                }
                bc::cid::PacketService::ID => {
                    if let Some(info) = self.decode::<bc::PacketServiceInfo>(now, "packet", buffer)
                    {
                        self.apply_packet(now, &info);
                    }
                }
                bc::cid::SignalState::ID => {
                    if let Some(info) = self.decode::<bc::SignalStateInfo>(now, "signal", buffer) {
                        self.status.rssi = Some(info.rssi);
                        self.status.error_rate = Some(info.error_rate);
                    }
                }
                bc::cid::Connect::ID => {
                    if let Some(info) = self.decode::<bc::ConnectInfo>(now, "connect", buffer) {
                        if info.session_id == self.config.session_id
                            && info.activation_state == ActivationState::Deactivated
                        {
                            self.lost_to_network(now, "the network deactivated the context");
                        }
                    }
                }
                bc::cid::IpConfiguration::ID => {
                    if let Some(info) = self.decode::<bc::IpConfigurationInfo>(now, "ip", buffer) {
                        self.ip_update(&info);
                    }
                }
                _ => {}
            }
        } else if service == ms::SERVICE.uuid && cid == ms::cid::SlotInfoStatus::ID {
            if let Some(info) = self.decode::<ms::SlotInfo>(now, "slot info", buffer) {
                self.slot_info(now, info);
            }
            return;
        }
        // The slot policy's cue to retry a SET answered BUSY (seed 004).
        self.report(ExecutorEvent::Notification);
    }

    fn ip_update(&mut self, info: &bc::IpConfigurationInfo) {
        if info.session_id != self.config.session_id || self.active.is_none() {
            return;
        }
        let Some(previous) = &self.status.ip else {
            return;
        };
        let merged = merge_ip_configuration(previous, info);
        if &merged != previous {
            tracing::info!(executor = self.log_number(), ip = ?merged, "IP configuration updated");
            self.status.ip = Some(merged.clone());
            self.report(ExecutorEvent::IpUpdated(merged));
        }
    }
}

/// The state an executor is in while `step` is in flight (or held back).
fn state_for(step: &Step, current: ExecutorState) -> ExecutorState {
    match step {
        Step::DeviceCaps
        | Step::DeviceCapsV2
        | Step::SysCaps
        | Step::Subscribe
        | Step::RadioQuery
        | Step::RadioSet => ExecutorState::Initializing,
        Step::ReadyQuery | Step::PinQuery | Step::PinEnter { .. } | Step::PukEnter { .. } => {
            if current == ExecutorState::Locked {
                ExecutorState::Locked
            } else {
                ExecutorState::WaitingForSim
            }
        }
        Step::HomeProvider | Step::RegisterSet | Step::RegisterQuery => ExecutorState::Registering,
        Step::PacketQuery | Step::Attach => ExecutorState::Attaching,
        Step::Connect { .. } | Step::IpQuery => ExecutorState::Connecting,
        Step::Deactivate => ExecutorState::Disconnecting,
        Step::SignalQuery => ExecutorState::Registering,
        // Asked for at any time; they say nothing of the life cycle.
        Step::SlotMappings
        | Step::SlotInfoQuery(_)
        | Step::PinChange { .. }
        | Step::SlotMappingSet { .. } => current,
    }
}

/// Why a PIN operation failed, in words, from the device's answer (never
/// the PIN itself).
fn pin_failure(what: &str, status: Status, info: Option<&bc::PinInfo>) -> String {
    match (status, info) {
        (Status::PinDisabled, _) => "PIN1 is disabled".to_owned(),
        (Status::PinRequired, Some(info)) if info.pin_type != PinType::None => {
            format!("{} must be entered first", info.pin_type)
        }
        (Status::Failure, Some(info)) if info.pin_type == PinType::Pin1 => {
            format!("wrong PIN, {} attempts left", info.remaining_attempts)
        }
        (Status::Failure, Some(info)) if info.pin_type == PinType::Puk1 => {
            if what == "PUK entry" {
                format!("wrong PUK, {} attempts left", info.remaining_attempts)
            } else {
                format!(
                    "wrong PIN; PIN1 is blocked, PUK1 required ({} attempts left)",
                    info.remaining_attempts
                )
            }
        }
        (Status::Failure, Some(info)) if info.pin_state == PinState::Locked => {
            "the SIM is blocked".to_owned()
        }
        _ => format!("{what} refused: {status}"),
    }
}

fn connect_set(session_id: u32, profile: &Profile) -> bc::ConnectSet {
    bc::ConnectSet {
        session_id,
        activation_command: ActivationCommand::Activate,
        access_string: profile.apn.clone(),
        user_name: profile.user.clone(),
        password: profile.password.expose().to_owned(),
        compression: Compression::None,
        auth_protocol: match profile.auth {
            Auth::None => AuthProtocol::None,
            Auth::Pap => AuthProtocol::Pap,
            Auth::Chap => AuthProtocol::Chap,
            Auth::MsChapV2 => AuthProtocol::MsChapV2,
        },
        ip_type: match profile.ip_type {
            IpType::Ipv4 => ContextIpType::Ipv4,
            IpType::Ipv6 => ContextIpType::Ipv6,
            IpType::Ipv4v6 => ContextIpType::Ipv4v6,
        },
        context_type: ContextType::Internet.uuid(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn logs_name_the_executor_index_once_known_and_plausible() {
        let mut machine = ExecutorMachine::new(ExecutorConfig {
            index: 0,
            ..ExecutorConfig::default()
        });
        assert_eq!(machine.log_number(), 0, "function order until capabilities");
        machine.status.sys_caps = Some(SystemCaps {
            executors: 2,
            slots: 2,
            concurrency: 1,
            modem_id: 1,
        });
        machine.status.device_executor_index = Some(1);
        assert_eq!(machine.log_number(), 1);
        machine.status.device_executor_index = Some(7);
        assert_eq!(machine.log_number(), 0, "an index out of range is not used");
    }

    /// A scripted device answering the machine's requests from a few facts.
    struct FakeDevice {
        multi_sim: bool,
        radio_on: bool,
        pin_locked: bool,
        attached: bool,
        attaching: bool,
        busy_connects: u32,
        /// The slot of each executor.
        mapping: Vec<u32>,
        /// Mapping SETs answered BUSY before one is taken.
        busy_mappings: u32,
        /// Mapping SETs refused with FAILURE (the mapping kept).
        refuse_mappings: bool,
        slots: Vec<ms::UiccSlotState>,
        /// PIN1 (for PIN sets other than entering it, whose PIN is 1234).
        pin: String,
    }

    impl Default for FakeDevice {
        fn default() -> Self {
            FakeDevice {
                multi_sim: true,
                radio_on: true,
                pin_locked: false,
                attached: true,
                attaching: false,
                busy_connects: 0,
                mapping: vec![1],
                busy_mappings: 0,
                refuse_mappings: false,
                slots: vec![ms::UiccSlotState::Active, ms::UiccSlotState::ActiveEsim],
                pin: "1234".to_owned(),
            }
        }
    }

    fn ready(state: SubscriberReadyState) -> Vec<u8> {
        bc::SubscriberReadyInfo {
            ready_state: state,
            subscriber_id: "001010000000001".to_owned(),
            sim_iccid: "8988200000000000001".to_owned(),
            ready_info: bc::ReadyInfoFlags::empty(),
            telephone_numbers: Vec::new(),
        }
        .encode()
    }

    fn registration(state: RegisterState) -> Vec<u8> {
        bc::RegistrationStateInfo {
            nw_error: bc::NwError::None,
            register_state: state,
            register_mode: bc::RegisterMode::Automatic,
            available_data_classes: bc::DataClass::empty(),
            current_cellular_class: bc::CellularClass::GSM,
            provider_id: "00101".to_owned(),
            provider_name: "Simulated".to_owned(),
            roaming_text: String::new(),
            registration_flag: bc::RegistrationFlags::empty(),
        }
        .encode()
    }

    fn packet(state: PacketServiceState) -> Vec<u8> {
        bc::PacketServiceInfo {
            nw_error: bc::NwError::None,
            packet_service_state: state,
            highest_available_data_class: bc::DataClass::empty(),
            uplink_speed: 0,
            downlink_speed: 0,
        }
        .encode()
    }

    fn connect_info(state: ActivationState) -> Vec<u8> {
        bc::ConnectInfo {
            session_id: 0,
            activation_state: state,
            voice_call_state: bc::VoiceCallState::None,
            ip_type: ContextIpType::Ipv4,
            context_type: ContextType::Internet.uuid(),
            nw_error: bc::NwError::None,
        }
        .encode()
    }

    fn ip_info(dns: std::net::Ipv4Addr, flags: bc::IpConfigurationAvailable) -> Vec<u8> {
        bc::IpConfigurationInfo {
            session_id: 0,
            ipv4_configuration_available: flags,
            ipv6_configuration_available: bc::IpConfigurationAvailable::empty(),
            ipv4_addresses: vec![bc::Ipv4Element {
                on_link_prefix_length: 30,
                ipv4_address: std::net::Ipv4Addr::new(10, 64, 0, 2),
            }],
            ipv6_addresses: Vec::new(),
            ipv4_gateway: Some(std::net::Ipv4Addr::new(10, 64, 0, 1)),
            ipv6_gateway: None,
            ipv4_dns_servers: vec![dns],
            ipv6_dns_servers: Vec::new(),
            ipv4_mtu: 1500,
            ipv6_mtu: 0,
        }
        .encode()
    }

    fn full_ip() -> bc::IpConfigurationAvailable {
        bc::IpConfigurationAvailable::ADDRESS
            | bc::IpConfigurationAvailable::GATEWAY
            | bc::IpConfigurationAvailable::DNS
    }

    impl FakeDevice {
        fn answer(&mut self, request: &Request) -> (Status, Vec<u8>) {
            let set = request.command_type == CommandType::Set;
            match (request.name, set) {
                ("device-caps", _) => (
                    Status::Success,
                    bc::DeviceCapsInfo {
                        firmware_info: "fw 1.0".to_owned(),
                        hardware_info: "hw A".to_owned(),
                        device_id: "350000000000009".to_owned(),
                        ..bc::DeviceCapsInfo::default()
                    }
                    .encode(),
                ),
                ("device-caps-v2", _) if self.multi_sim => {
                    (Status::Success, ms::DeviceCapsInfoV2::default().encode())
                }
                ("sys-caps", _) => (
                    Status::Success,
                    ms::SysCapsInfo {
                        number_of_executors: 1,
                        number_of_slots: 2,
                        concurrency: 1,
                        modem_id: 1,
                    }
                    .encode(),
                ),
                ("device-slot-mappings", set) => {
                    let status = if !set {
                        Status::Success
                    } else if self.busy_mappings > 0 {
                        self.busy_mappings -= 1;
                        Status::Busy
                    } else if self.refuse_mappings {
                        Status::Failure
                    } else {
                        let wanted = ms::DeviceSlotMappingInfo::decode(&request.payload).unwrap();
                        self.mapping = wanted.slots();
                        Status::Success
                    };
                    // Seed 004: the answer is the mapping in force, whatever the status.
                    let info = ms::DeviceSlotMappingInfo::from_slots(&self.mapping);
                    (status, info.encode())
                }
                ("slot-info-status", _) => {
                    let query = ms::SlotInfoRequest::decode(&request.payload).unwrap();
                    match self.slots.get(query.slot_index as usize) {
                        Some(&state) => (
                            Status::Success,
                            ms::SlotInfo {
                                slot_index: query.slot_index,
                                state,
                            }
                            .encode(),
                        ),
                        None => (Status::InvalidParameters, Vec::new()),
                    }
                }
                ("device-service-subscribe-list", _) => (Status::Success, request.payload.clone()),
                ("radio-state", set) => {
                    if set {
                        self.radio_on = true;
                    }
                    let state = if self.radio_on {
                        RadioSwitchState::On
                    } else {
                        RadioSwitchState::Off
                    };
                    let info = bc::RadioStateInfo {
                        hw_radio_state: RadioSwitchState::On,
                        sw_radio_state: state,
                    };
                    (Status::Success, info.encode())
                }
                ("subscriber-ready-status", _) => {
                    let state = if self.pin_locked {
                        SubscriberReadyState::DeviceLocked
                    } else {
                        SubscriberReadyState::Initialized
                    };
                    (Status::Success, ready(state))
                }
                ("pin", false) => {
                    let info = bc::PinInfo {
                        pin_type: if self.pin_locked {
                            PinType::Pin1
                        } else {
                            PinType::None
                        },
                        pin_state: PinState::Locked,
                        remaining_attempts: 3,
                    };
                    (Status::Success, info.encode())
                }
                ("pin", true)
                    if bc::PinSet::decode(&request.payload).unwrap().pin_operation
                        != PinOperation::Enter =>
                {
                    let request = bc::PinSet::decode(&request.payload).unwrap();
                    if request.pin == self.pin {
                        if request.pin_operation == PinOperation::Change {
                            self.pin = request.new_pin;
                        }
                        let info = bc::PinInfo {
                            pin_type: PinType::None,
                            pin_state: PinState::Unlocked,
                            remaining_attempts: 0,
                        };
                        (Status::Success, info.encode())
                    } else {
                        let info = bc::PinInfo {
                            pin_type: PinType::Pin1,
                            pin_state: PinState::Unlocked,
                            remaining_attempts: 2,
                        };
                        (Status::Failure, info.encode())
                    }
                }
                ("pin", true) => {
                    let request = bc::PinSet::decode(&request.payload).unwrap();
                    if request.pin == "1234" {
                        self.pin_locked = false;
                        let info = bc::PinInfo {
                            pin_type: PinType::None,
                            pin_state: PinState::Unlocked,
                            remaining_attempts: 0,
                        };
                        (Status::Success, info.encode())
                    } else {
                        let info = bc::PinInfo {
                            pin_type: PinType::Pin1,
                            pin_state: PinState::Locked,
                            remaining_attempts: 2,
                        };
                        (Status::Failure, info.encode())
                    }
                }
                ("home-provider", _) => (
                    Status::Success,
                    bc::Provider {
                        provider_id: "00101".to_owned(),
                        ..bc::Provider::default()
                    }
                    .encode(),
                ),
                ("register-state", _) => (Status::Success, registration(RegisterState::Home)),
                ("packet-service", set) => {
                    if set {
                        self.attached = true;
                        self.attaching = false;
                    }
                    let state = if self.attaching {
                        PacketServiceState::Attaching
                    } else if self.attached {
                        PacketServiceState::Attached
                    } else {
                        PacketServiceState::Detached
                    };
                    (Status::Success, packet(state))
                }
                ("connect", _) => {
                    if self.busy_connects > 0 {
                        self.busy_connects -= 1;
                        return (Status::Busy, Vec::new());
                    }
                    let request = bc::ConnectSet::decode(&request.payload).unwrap();
                    let state = if request.activation_command == ActivationCommand::Activate {
                        ActivationState::Activated
                    } else {
                        ActivationState::Deactivated
                    };
                    (Status::Success, connect_info(state))
                }
                ("ip-configuration", _) => (
                    Status::Success,
                    ip_info(std::net::Ipv4Addr::new(10, 64, 0, 1), full_ip()),
                ),
                _ => (Status::NoDeviceSupport, Vec::new()),
            }
        }
    }

    fn test_config() -> ExecutorConfig {
        ExecutorConfig {
            profiles: vec![Profile::new("default", "internet")],
            pin: Some(Secret::new("1234")),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(8),
            busy_retry: Duration::from_secs(10),
            ..ExecutorConfig::default()
        }
    }

    /// Events of the slot and notification kind, which most tests ignore.
    fn is_noise(event: &ExecutorEvent) -> bool {
        matches!(
            event,
            ExecutorEvent::SlotInfo { .. }
                | ExecutorEvent::SlotMapping { .. }
                | ExecutorEvent::Notification
        )
    }

    /// Runs the machine against `device` until it has nothing more to do;
    /// returns the commands sent (name, set?) and the events reported, but
    /// for slot states, slot mappings and notifications.
    fn run(
        machine: &mut ExecutorMachine,
        device: &mut FakeDevice,
        now: Instant,
    ) -> (Vec<(&'static str, bool)>, Vec<ExecutorEvent>) {
        let (sent, mut events) = run_all(machine, device, now);
        events.retain(|event| !is_noise(event));
        (sent, events)
    }

    /// [`run`] with every event.
    fn run_all(
        machine: &mut ExecutorMachine,
        device: &mut FakeDevice,
        now: Instant,
    ) -> (Vec<(&'static str, bool)>, Vec<ExecutorEvent>) {
        let mut sent = Vec::new();
        let mut events = Vec::new();
        for _ in 0..100 {
            let Some(action) = machine.poll_action() else {
                break;
            };
            match action {
                Action::Open => machine.handle(now, Input::Opened),
                Action::Close => machine.handle(now, Input::Closed),
                Action::Send(request) => {
                    sent.push((request.name, request.command_type == CommandType::Set));
                    let (status, information_buffer) = device.answer(&request);
                    machine.handle(
                        now,
                        Input::Response {
                            status,
                            information_buffer,
                        },
                    );
                }
                Action::Report(event) => events.push(event),
                Action::Finish => break,
            }
        }
        (sent, events)
    }

    fn indicate(machine: &mut ExecutorMachine, now: Instant, cid: u32, buffer: Vec<u8>) {
        machine.handle(
            now,
            Input::Indication {
                service: bc::SERVICE.uuid,
                cid,
                information_buffer: buffer,
            },
        );
    }

    const LIFE: [(&str, bool); 15] = [
        ("device-caps", false),
        ("device-caps-v2", false),
        ("sys-caps", false),
        ("device-slot-mappings", false),
        ("slot-info-status", false),
        ("slot-info-status", false),
        ("device-service-subscribe-list", true),
        ("radio-state", false),
        ("subscriber-ready-status", false),
        ("home-provider", false),
        ("signal-state", false),
        ("register-state", true),
        ("packet-service", false),
        ("connect", true),
        ("ip-configuration", false),
    ];

    #[test]
    fn the_life_cycle_follows_what_the_device_says() {
        let without = |names: &[&str]| -> Vec<(&'static str, bool)> {
            LIFE.iter()
                .copied()
                .filter(|(n, _)| !names.contains(n))
                .collect()
        };
        let insert = |at: &str, extra: &[(&'static str, bool)]| -> Vec<(&'static str, bool)> {
            let mut list = LIFE.to_vec();
            let index = list.iter().position(|(n, _)| *n == at).unwrap() + 1;
            for (offset, item) in extra.iter().enumerate() {
                list.insert(index + offset, *item);
            }
            list
        };
        // (device, expected commands up to Connected)
        let table: Vec<(FakeDevice, Vec<(&'static str, bool)>)> = vec![
            (FakeDevice::default(), LIFE.to_vec()),
            (
                FakeDevice {
                    multi_sim: false,
                    ..FakeDevice::default()
                },
                without(&["sys-caps", "device-slot-mappings", "slot-info-status"]),
            ),
            (
                FakeDevice {
                    radio_on: false,
                    ..FakeDevice::default()
                },
                insert("radio-state", &[("radio-state", true)]),
            ),
            (
                FakeDevice {
                    attached: false,
                    ..FakeDevice::default()
                },
                insert("packet-service", &[("packet-service", true)]),
            ),
            (
                FakeDevice {
                    pin_locked: true,
                    ..FakeDevice::default()
                },
                insert(
                    "subscriber-ready-status",
                    &[
                        ("pin", false),
                        ("pin", true),
                        ("subscriber-ready-status", false),
                    ],
                ),
            ),
        ];
        let now = Instant::now();
        for (mut device, expected) in table {
            let mut machine = ExecutorMachine::new(test_config());
            let (sent, events) = run(&mut machine, &mut device, now);
            assert_eq!(sent, expected);
            assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
            assert_eq!(machine.status().state, ExecutorState::Connected);
        }
    }

    fn tracked(id: u64, command: ExecutorCommand) -> Input {
        Input::Command(ExecutorCommand::Tracked {
            id,
            command: Box::new(command),
        })
    }

    fn failure(status: Option<Status>, message: &str) -> Result<(), CommandFailure> {
        Err(CommandFailure {
            status,
            message: message.to_owned(),
        })
    }

    fn done(id: u64, result: Result<(), CommandFailure>) -> ExecutorEvent {
        ExecutorEvent::Done { id, result }
    }

    fn indicate_ms(machine: &mut ExecutorMachine, now: Instant, cid: u32, buffer: Vec<u8>) {
        machine.handle(
            now,
            Input::Indication {
                service: ms::SERVICE.uuid,
                cid,
                information_buffer: buffer,
            },
        );
    }

    #[test]
    fn the_status_holds_the_device_the_modem_its_slots_and_the_mapping() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        let (_, events) = run_all(&mut machine, &mut device, now);
        assert_eq!(
            events[..3],
            [
                ExecutorEvent::SlotMapping {
                    set: false,
                    status: Status::Success,
                    mapping: Some(vec![1]),
                },
                ExecutorEvent::SlotInfo {
                    slot: 0,
                    state: ms::UiccSlotState::Active,
                },
                ExecutorEvent::SlotInfo {
                    slot: 1,
                    state: ms::UiccSlotState::ActiveEsim,
                },
            ]
        );
        assert!(matches!(events[3..], [ExecutorEvent::Connected(_)]));
        let status = machine.status();
        assert_eq!(
            status.device,
            DeviceInfo {
                firmware: "fw 1.0".to_owned(),
                hardware: "hw A".to_owned(),
                device_id: "350000000000009".to_owned(),
            }
        );
        assert_eq!(
            status.sys_caps,
            Some(SystemCaps {
                executors: 1,
                slots: 2,
                concurrency: 1,
                modem_id: 1,
            })
        );
        assert_eq!(
            status.slots,
            [
                Some(ms::UiccSlotState::Active),
                Some(ms::UiccSlotState::ActiveEsim)
            ]
        );
        assert_eq!(status.mapping, [1]);
        assert_eq!(status.slot, Some(1));
        assert_eq!(status.radio_software, Some(RadioSwitchState::On));
        assert_eq!(status.radio_hardware, Some(RadioSwitchState::On));
    }

    #[test]
    fn slot_notifications_are_kept_and_reported_and_other_notifications_reported() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        // (service is ms?, cid, buffer) -> events
        let table: Vec<(bool, u32, Vec<u8>, Vec<ExecutorEvent>)> = vec![
            (
                true,
                ms::cid::SlotInfoStatus::ID,
                ms::SlotInfo {
                    slot_index: 0,
                    state: ms::UiccSlotState::Empty,
                }
                .encode(),
                vec![ExecutorEvent::SlotInfo {
                    slot: 0,
                    state: ms::UiccSlotState::Empty,
                }],
            ),
            // A slot beyond those SYS_CAPS named grows the list.
            (
                true,
                ms::cid::SlotInfoStatus::ID,
                ms::SlotInfo {
                    slot_index: 3,
                    state: ms::UiccSlotState::OffEmpty,
                }
                .encode(),
                vec![ExecutorEvent::SlotInfo {
                    slot: 3,
                    state: ms::UiccSlotState::OffEmpty,
                }],
            ),
            // No modem has that many slots: not believed, not reported.
            (
                true,
                ms::cid::SlotInfoStatus::ID,
                ms::SlotInfo {
                    slot_index: 4000,
                    state: ms::UiccSlotState::Active,
                }
                .encode(),
                vec![],
            ),
            (
                false,
                bc::cid::SignalState::ID,
                bc::SignalStateInfo {
                    rssi: 7,
                    error_rate: 0,
                    signal_strength_interval: 0,
                    rssi_threshold: 0,
                    error_rate_threshold: 0,
                }
                .encode(),
                vec![ExecutorEvent::Notification],
            ),
            (true, 42, vec![1, 2, 3], vec![ExecutorEvent::Notification]),
        ];
        for (ms_service, cid, buffer, expected) in table {
            if ms_service {
                indicate_ms(&mut machine, now, cid, buffer);
            } else {
                indicate(&mut machine, now, cid, buffer);
            }
            let (_, events) = run_all(&mut machine, &mut device, now);
            assert_eq!(events, expected, "{cid}");
        }
        let status = machine.status();
        assert_eq!(
            status.slots,
            [
                Some(ms::UiccSlotState::Empty),
                Some(ms::UiccSlotState::ActiveEsim),
                None,
                Some(ms::UiccSlotState::OffEmpty),
            ]
        );
        assert_eq!(status.rssi, Some(7));
        assert_eq!(status.state, ExecutorState::Connected);
    }

    #[test]
    fn tracked_pin_changes_report_their_outcome_and_never_the_pin() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        // (command, expected outcome)
        let table = [
            (
                ExecutorCommand::ChangePin {
                    old: Secret::new("9999"),
                    new: Secret::new("4321"),
                },
                failure(Some(Status::Failure), "wrong PIN, 2 attempts left"),
            ),
            (
                ExecutorCommand::ChangePin {
                    old: Secret::new("1234"),
                    new: Secret::new("4321"),
                },
                Ok(()),
            ),
            (
                ExecutorCommand::SetPinEnabled {
                    pin: Secret::new("1234"),
                    enabled: false,
                },
                failure(Some(Status::Failure), "wrong PIN, 2 attempts left"),
            ),
            (
                ExecutorCommand::SetPinEnabled {
                    pin: Secret::new("4321"),
                    enabled: false,
                },
                Ok(()),
            ),
        ];
        for (id, (command, expected)) in (1..).zip(table) {
            machine.handle(now, tracked(id, command.clone()));
            let (sent, events) = run(&mut machine, &mut device, now);
            assert_eq!(sent, [("pin", true)], "{command:?}");
            assert_eq!(events, [done(id, expected)], "{command:?}");
            assert!(!format!("{events:?}").contains("4321"));
            assert!(!format!("{events:?}").contains("1234"));
        }
        assert_eq!(device.pin, "4321");
        // A refused change leaves the SIM unlocked and the session up.
        assert_eq!(machine.status().state, ExecutorState::Connected);
        assert_eq!(machine.status().pin.pin_type, None);
    }

    #[test]
    fn tracked_pin_entry_reports_its_outcome_or_that_no_pin_is_wanted() {
        let now = Instant::now();
        let mut config = test_config();
        config.pin = None;
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice {
            pin_locked: true,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        assert_eq!(machine.status().state, ExecutorState::Locked);
        machine.handle(
            now,
            tracked(1, ExecutorCommand::EnterPin(Secret::new("0000"))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("pin", true)]);
        assert_eq!(
            events,
            [done(
                1,
                failure(Some(Status::Failure), "wrong PIN, 2 attempts left")
            )]
        );
        // A PUK while the SIM wants PIN1 is refused without asking the SIM.
        machine.handle(
            now,
            tracked(
                2,
                ExecutorCommand::EnterPuk {
                    puk: Secret::new("12345678"),
                    new_pin: Secret::new("1111"),
                },
            ),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(2, failure(None, "PUK1 is not required"))]);

        machine.handle(
            now,
            tracked(3, ExecutorCommand::EnterPin(Secret::new("1234"))),
        );
        let (_, events) = run(&mut machine, &mut device, now);
        assert_eq!(events[0], done(3, Ok(())));
        assert!(matches!(events[1..], [ExecutorEvent::Connected(_)]));
        // Unlocked: a PIN is not wanted, and says so.
        machine.handle(
            now,
            tracked(4, ExecutorCommand::EnterPin(Secret::new("1234"))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(4, failure(None, "PIN1 is not required"))]);
    }

    #[test]
    fn a_tracked_slot_mapping_is_done_only_when_applied() {
        let now = Instant::now();
        // (device, expected SlotMapping event, expected outcome, mapping after)
        let table = [
            (
                FakeDevice::default(),
                (Status::Success, Some(vec![0])),
                Ok(()),
                vec![0],
            ),
            (
                FakeDevice {
                    refuse_mappings: true,
                    ..FakeDevice::default()
                },
                (Status::Failure, Some(vec![1])),
                failure(Some(Status::Failure), "slot mapping refused: failure"),
                vec![1],
            ),
            // BUSY: its owner (the slot policy) retries on the next
            // notification; the machine does not send it again itself.
            (
                FakeDevice {
                    busy_mappings: 1,
                    ..FakeDevice::default()
                },
                (Status::Busy, Some(vec![1])),
                failure(Some(Status::Busy), "the device is busy"),
                vec![1],
            ),
        ];
        for (mut device, (status, mapping), outcome, after) in table {
            let mut machine = ExecutorMachine::new(test_config());
            run(&mut machine, &mut device, now);
            machine.handle(now, tracked(7, ExecutorCommand::SetSlotMapping(vec![0])));
            let (sent, events) = run_all(&mut machine, &mut device, now);
            assert_eq!(sent, [("device-slot-mappings", true)]);
            assert_eq!(
                events,
                [
                    ExecutorEvent::SlotMapping {
                        set: true,
                        status,
                        mapping,
                    },
                    done(7, outcome),
                ]
            );
            assert_eq!(machine.status().mapping, after);
            indicate(
                &mut machine,
                now,
                bc::cid::SignalState::ID,
                bc::SignalStateInfo::default().encode(),
            );
            let (sent, events) = run_all(&mut machine, &mut device, now);
            assert!(sent.is_empty(), "{sent:?}");
            assert_eq!(events, [ExecutorEvent::Notification]);
        }
    }

    #[test]
    fn an_untracked_busy_slot_mapping_is_sent_again_on_the_next_notification() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice {
            busy_mappings: 1,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        machine.handle(
            now,
            Input::Command(ExecutorCommand::SetSlotMapping(vec![0])),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("device-slot-mappings", true)]);
        indicate_ms(
            &mut machine,
            now,
            ms::cid::SlotInfoStatus::ID,
            ms::SlotInfo {
                slot_index: 1,
                state: ms::UiccSlotState::ActiveEsim,
            }
            .encode(),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("device-slot-mappings", true)]);
        assert_eq!(machine.status().mapping, [0]);
    }

    #[test]
    fn tracked_queries_and_radio_are_done_when_answered() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        device.slots[0] = ms::UiccSlotState::Empty;
        device.mapping = vec![0];
        // (command, commands sent, events)
        let table = [
            (
                ExecutorCommand::QuerySlots,
                vec![("slot-info-status", false), ("slot-info-status", false)],
                vec![
                    ExecutorEvent::SlotInfo {
                        slot: 0,
                        state: ms::UiccSlotState::Empty,
                    },
                    ExecutorEvent::SlotInfo {
                        slot: 1,
                        state: ms::UiccSlotState::ActiveEsim,
                    },
                    done(1, Ok(())),
                ],
            ),
            (
                ExecutorCommand::QuerySlotMapping,
                vec![("device-slot-mappings", false)],
                vec![
                    ExecutorEvent::SlotMapping {
                        set: false,
                        status: Status::Success,
                        mapping: Some(vec![0]),
                    },
                    done(2, Ok(())),
                ],
            ),
            // Already on: nothing to set.
            (
                ExecutorCommand::SetRadio(true),
                vec![],
                vec![done(3, Ok(()))],
            ),
            (
                ExecutorCommand::Connect(None),
                vec![],
                vec![done(4, Ok(()))],
            ),
        ];
        for (id, (command, expected_sent, expected_events)) in (1..).zip(table) {
            machine.handle(now, tracked(id, command.clone()));
            let (sent, events) = run_all(&mut machine, &mut device, now);
            assert_eq!(sent, expected_sent, "{command:?}");
            assert_eq!(events, expected_events, "{command:?}");
        }
        assert_eq!(machine.status().slot, Some(0));
    }

    #[test]
    fn a_tracked_radio_switch_is_done_on_the_sets_answer() {
        let now = Instant::now();
        let mut config = test_config();
        config.autoconnect = false;
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice {
            radio_on: false,
            ..FakeDevice::default()
        };
        // The machine switches the radio on by itself; then off by request.
        run(&mut machine, &mut device, now);
        assert_eq!(machine.status().state, ExecutorState::Idle);
        machine.handle(now, tracked(1, ExecutorCommand::SetRadio(false)));
        let mut sent = Vec::new();
        let mut events = Vec::new();
        while let Some(action) = machine.poll_action() {
            match action {
                Action::Send(request) => {
                    sent.push((request.name, request.command_type == CommandType::Set));
                    let info = bc::RadioStateInfo {
                        hw_radio_state: RadioSwitchState::On,
                        sw_radio_state: RadioSwitchState::Off,
                    };
                    machine.handle(
                        now,
                        Input::Response {
                            status: Status::Success,
                            information_buffer: info.encode(),
                        },
                    );
                }
                Action::Report(event) => events.push(event),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sent, [("radio-state", true)]);
        assert_eq!(events, [done(1, Ok(()))]);
        assert_eq!(machine.status().state, ExecutorState::RadioOff);
        assert_eq!(machine.status().radio_software, Some(RadioSwitchState::Off));
    }

    #[test]
    fn tracked_commands_that_cannot_run_or_finish_get_a_failure() {
        let now = Instant::now();
        let pin = || ExecutorCommand::ChangePin {
            old: Secret::new("1234"),
            new: Secret::new("4321"),
        };
        // Before the session is open.
        let mut machine = ExecutorMachine::new(test_config());
        assert_eq!(machine.poll_action(), Some(Action::Open));
        machine.handle(now, tracked(1, pin()));
        machine.handle(now, tracked(2, ExecutorCommand::Disconnect));
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                1,
                failure(None, "the session is not open")
            )))
        );
        assert_eq!(machine.poll_action(), Some(Action::Report(done(2, Ok(())))));

        // In flight when the device goes away; waiting behind it too.
        let mut device = FakeDevice::default();
        machine.handle(now, Input::Opened);
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(3, pin()));
        machine.handle(now, tracked(4, ExecutorCommand::QuerySlotMapping));
        let Some(Action::Send(request)) = machine.poll_action() else {
            panic!("the PIN change is sent");
        };
        assert_eq!(request.name, "pin");
        machine.handle(now, Input::TransportGone);
        let mut events = Vec::new();
        while let Some(action) = machine.poll_action() {
            if let Action::Report(event) = action {
                events.push(event);
            }
        }
        assert_eq!(
            events,
            [
                done(3, failure(None, "the device is gone")),
                done(4, failure(None, "the device is gone")),
                ExecutorEvent::Gone,
            ]
        );
        // After the end.
        machine.handle(now, tracked(5, ExecutorCommand::QuerySlots));
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                5,
                failure(None, "the executor has ended")
            )))
        );

        // Unanswered, and a session reset.
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(6, pin()));
        assert!(matches!(machine.poll_action(), Some(Action::Send(_))));
        machine.handle(now, Input::RequestFailed(RequestFailure::TimedOut));
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                6,
                failure(None, "the device did not answer")
            )))
        );
        machine.handle(now, tracked(7, pin()));
        assert!(matches!(machine.poll_action(), Some(Action::Send(_))));
        machine.handle(now, Input::NotOpened);
        assert_eq!(
            machine.poll_action(),
            Some(Action::Report(done(
                7,
                failure(None, "the device has no session (NOT_OPENED)")
            )))
        );

        // Shutdown is accepted at once; what waits behind it fails.
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(8, ExecutorCommand::Shutdown));
        machine.handle(now, tracked(9, ExecutorCommand::QuerySlots));
        let (_, events) = run_all(&mut machine, &mut device, now);
        assert_eq!(
            events,
            [
                done(8, Ok(())),
                done(9, failure(None, "the executor is shutting down")),
                ExecutorEvent::LinkDown {
                    reason: "shutting down".to_owned()
                },
                ExecutorEvent::Stopped,
            ]
        );

        // A device without the multi-SIM extensions has no slots to ask about.
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice {
            multi_sim: false,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        machine.handle(now, tracked(10, ExecutorCommand::QuerySlots));
        let (sent, events) = run_all(&mut machine, &mut device, now);
        assert!(sent.is_empty());
        assert_eq!(
            events,
            [done(
                10,
                failure(None, "the device has no multi-SIM extensions")
            )]
        );
    }

    #[test]
    fn reconfigure_takes_new_profiles_and_gives_a_new_pin_its_one_try() {
        let now = Instant::now();
        let mut config = test_config();
        config.pin = None;
        config.pins = vec![("8988200000000000001".to_owned(), Secret::new("0000"))];
        let mut machine = ExecutorMachine::new(config.clone());
        let mut device = FakeDevice {
            pin_locked: true,
            ..FakeDevice::default()
        };
        run(&mut machine, &mut device, now);
        assert!(machine.status().pin.configured_pin_refused);
        // The same PIN again: not tried again.
        machine.handle(
            now,
            tracked(
                1,
                ExecutorCommand::Reconfigure {
                    profiles: config.profiles.clone(),
                    pins: config.pins.clone(),
                },
            ),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(events, [done(1, Ok(()))]);
        assert!(machine.status().pin.configured_pin_refused);
        // A new PIN for this SIM (and a new profile): tried once, and used.
        machine.handle(
            now,
            Input::Command(ExecutorCommand::Reconfigure {
                profiles: vec![Profile::new("new", "internet")],
                pins: vec![("8988200000000000001".to_owned(), Secret::new("1234"))],
            }),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent.first(), Some(&("pin", true)));
        let [ExecutorEvent::Connected(connection)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(connection.profile, "new");
        assert!(!machine.status().pin.configured_pin_refused);
    }

    #[test]
    fn a_wrong_configured_pin_is_not_retried() {
        let now = Instant::now();
        let mut config = test_config();
        config.pin = Some(Secret::new("0000"));
        let mut machine = ExecutorMachine::new(config);
        let mut device = FakeDevice {
            pin_locked: true,
            ..FakeDevice::default()
        };
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent.iter().filter(|s| **s == ("pin", true)).count(), 1);
        let status = machine.status();
        assert_eq!(status.state, ExecutorState::Locked);
        assert!(status.pin.configured_pin_refused);
        assert_eq!(status.pin.remaining_attempts, Some(2));
        // A ready indication (DeviceLocked again) does not bring it back.
        indicate(
            &mut machine,
            now,
            bc::cid::SubscriberReadyStatus::ID,
            ready(SubscriberReadyState::DeviceLocked),
        );
        let (sent, _) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("pin", false)]);
        // The user's PIN is tried once.
        machine.handle(
            now,
            Input::Command(ExecutorCommand::EnterPin(Secret::new("1234"))),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent.first(), Some(&("pin", true)));
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
    }

    #[test]
    fn loss_in_the_guideline_order_takes_the_link_down_once_and_reconnects_after_back_off() {
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, start);
        // (cid, indication) -> (events, commands), all at `start`.
        let down = [
            (
                bc::cid::Connect::ID,
                connect_info(ActivationState::Deactivated),
            ),
            (
                bc::cid::PacketService::ID,
                packet(PacketServiceState::Detached),
            ),
            (
                bc::cid::RegisterState::ID,
                registration(RegisterState::Deregistered),
            ),
        ];
        let mut events = Vec::new();
        for (cid, buffer) in down {
            indicate(&mut machine, start, cid, buffer);
            let (sent, reported) = run(&mut machine, &mut device, start);
            assert!(
                sent.is_empty() || sent == [("packet-service", true)],
                "{sent:?}"
            );
            events.extend(reported);
        }
        assert_eq!(
            events,
            [ExecutorEvent::LinkDown {
                reason: "the network deactivated the context".to_owned()
            }]
        );
        assert_eq!(machine.status().state, ExecutorState::Registering);
        assert_eq!(machine.status().ip, None);

        // The network returns before the back-off has passed: wait for it.
        indicate(
            &mut machine,
            start,
            bc::cid::RegisterState::ID,
            registration(RegisterState::Home),
        );
        indicate(
            &mut machine,
            start,
            bc::cid::PacketService::ID,
            packet(PacketServiceState::Attached),
        );
        let (sent, _) = run(&mut machine, &mut device, start);
        assert!(!sent.contains(&("connect", true)), "{sent:?}");
        assert_eq!(machine.status().state, ExecutorState::WaitingToReconnect);
        let due = machine.poll_timeout().unwrap();
        assert_eq!(due, start + Duration::from_secs(1));
        machine.handle_timeout(due);
        let (sent, events) = run(&mut machine, &mut device, due);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
    }

    #[test]
    fn failed_connects_back_off_exponentially_to_the_cap() {
        let start = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        // Every CONNECT fails: the device answers FAILURE.
        let mut now = start;
        let mut waits = Vec::new();
        for _ in 0..6 {
            for _ in 0..100 {
                let Some(action) = machine.poll_action() else {
                    break;
                };
                match action {
                    Action::Open => machine.handle(now, Input::Opened),
                    Action::Send(request) if request.name == "connect" => machine.handle(
                        now,
                        Input::Response {
                            status: Status::Failure,
                            information_buffer: Vec::new(),
                        },
                    ),
                    Action::Send(request) => {
                        let (status, information_buffer) = device.answer(&request);
                        machine.handle(
                            now,
                            Input::Response {
                                status,
                                information_buffer,
                            },
                        );
                    }
                    _ => {}
                }
            }
            let due = machine.poll_timeout().unwrap();
            waits.push(due.duration_since(now).as_secs());
            now = due;
            machine.handle_timeout(now);
        }
        assert_eq!(waits, [1, 2, 4, 8, 8, 8]);
        assert_eq!(machine.status().connect_failures, 6);
    }

    #[test]
    fn busy_waits_for_the_next_notification() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice {
            busy_connects: 1,
            ..FakeDevice::default()
        };
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent.last(), Some(&("connect", true)));
        assert!(events.is_empty());
        assert_eq!(machine.poll_timeout(), Some(now + Duration::from_secs(10)));
        // Any indication is the device saying it can take commands again.
        indicate(
            &mut machine,
            now,
            bc::cid::SignalState::ID,
            bc::SignalStateInfo {
                rssi: 20,
                error_rate: 0,
                signal_strength_interval: 0,
                rssi_threshold: 0,
                error_rate_threshold: 0,
            }
            .encode(),
        );
        let (sent, events) = run(&mut machine, &mut device, now);
        assert_eq!(sent, [("connect", true), ("ip-configuration", false)]);
        assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        assert_eq!(machine.status().rssi, Some(20));
    }

    #[test]
    fn dns_only_updates_keep_the_addresses() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        let mut device = FakeDevice::default();
        run(&mut machine, &mut device, now);
        let before = machine.status().ip.clone().unwrap();
        let dns = std::net::Ipv4Addr::new(9, 9, 9, 9);
        // Flags say DNS only; the addresses in the buffer are ignored.
        let mut update =
            bc::IpConfigurationInfo::decode(&ip_info(dns, bc::IpConfigurationAvailable::DNS))
                .unwrap();
        update.ipv4_addresses.clear();
        indicate(
            &mut machine,
            now,
            bc::cid::IpConfiguration::ID,
            update.encode(),
        );
        let (_, events) = run(&mut machine, &mut device, now);
        let expected = IpSettings {
            ipv4_dns: vec![dns],
            ..before
        };
        assert_eq!(events, [ExecutorEvent::IpUpdated(expected.clone())]);
        assert_eq!(machine.status().ip, Some(expected));
        // The same again changes nothing and reports nothing.
        indicate(
            &mut machine,
            now,
            bc::cid::IpConfiguration::ID,
            update.encode(),
        );
        assert!(run(&mut machine, &mut device, now).1.is_empty());
    }

    #[test]
    fn session_troubles_reopen() {
        let now = Instant::now();
        // (input while connected) -> actions it leads to before the reopen
        let table = [
            (Input::NotOpened, vec!["link-down", "close", "open"]),
            (Input::OpenFailed(Status::Failure), vec![]),
            (Input::TransportGone, vec!["link-down", "gone", "finish"]),
            (
                Input::Command(ExecutorCommand::Shutdown),
                vec!["send connect", "link-down", "close", "stopped", "finish"],
            ),
        ];
        for (input, expected) in table {
            let mut machine = ExecutorMachine::new(test_config());
            let mut device = FakeDevice::default();
            run(&mut machine, &mut device, now);
            machine.handle(now, input.clone());
            let mut seen = Vec::new();
            while let Some(action) = machine.poll_action() {
                seen.push(match action {
                    Action::Open => "open",
                    Action::Close => {
                        machine.handle(now, Input::Closed);
                        "close"
                    }
                    Action::Send(request) => {
                        let (status, information_buffer) = device.answer(&request);
                        machine.handle(
                            now,
                            Input::Response {
                                status,
                                information_buffer,
                            },
                        );
                        if request.name == "connect" {
                            "send connect"
                        } else {
                            "send"
                        }
                    }
                    Action::Report(ExecutorEvent::LinkDown { .. }) => "link-down",
                    Action::Report(ExecutorEvent::Gone) => "gone",
                    Action::Report(ExecutorEvent::Stopped) => "stopped",
                    Action::Report(_) => "report",
                    Action::Finish => "finish",
                });
                if seen.last() == Some(&"open") {
                    break;
                }
            }
            assert_eq!(seen, expected, "{input:?}");
        }
    }

    #[test]
    fn a_refused_open_is_closed_and_opened_again_then_backed_off() {
        let now = Instant::now();
        let mut machine = ExecutorMachine::new(test_config());
        assert_eq!(machine.poll_action(), Some(Action::Open));
        let mut seen = Vec::new();
        for _ in 0..3 {
            machine.handle(now, Input::OpenFailed(Status::Failure));
            while let Some(action) = machine.poll_action() {
                if action == Action::Close {
                    machine.handle(now, Input::Closed);
                }
                seen.push(action);
            }
        }
        assert_eq!(
            seen,
            [Action::Close, Action::Open, Action::Close, Action::Open]
        );
        assert_eq!(machine.status().state, ExecutorState::Failed);
        let due = machine.poll_timeout().unwrap();
        assert_eq!(due, now + Duration::from_secs(4));
        machine.handle_timeout(due);
        assert_eq!(machine.poll_action(), Some(Action::Open));
    }

    #[test]
    fn requests_never_print_their_payload() {
        let set = bc::PinSet {
            pin_type: PinType::Pin1,
            pin_operation: PinOperation::Enter,
            pin: "1234".to_owned(),
            new_pin: String::new(),
        };
        let request = Request::set::<bc::cid::Pin>(&set);
        assert!(!format!("{request:?}").contains("1234"));
        assert!(!request.needs_device_lock());
        let mapping =
            Request::set::<ms::cid::DeviceSlotMappings>(&ms::DeviceSlotMappingInfo::from_slots(&[
                0,
            ]));
        assert!(mapping.needs_device_lock());
        assert!(!Request::query::<ms::cid::DeviceSlotMappings>(&Empty).needs_device_lock());
    }

    #[test]
    fn the_devices_own_attach_is_waited_for_then_asked_for() {
        let start = Instant::now();
        for indication_comes in [true, false] {
            let mut machine = ExecutorMachine::new(test_config());
            let mut device = FakeDevice {
                attached: false,
                attaching: true,
                ..FakeDevice::default()
            };
            let (sent, events) = run(&mut machine, &mut device, start);
            assert_eq!(sent.last(), Some(&("packet-service", false)));
            assert!(events.is_empty());
            assert_eq!(machine.status().state, ExecutorState::Attaching);
            let (sent, events) = if indication_comes {
                device.attaching = false;
                device.attached = true;
                indicate(
                    &mut machine,
                    start,
                    bc::cid::PacketService::ID,
                    packet(PacketServiceState::Attached),
                );
                run(&mut machine, &mut device, start)
            } else {
                let due = machine.poll_timeout().unwrap();
                assert_eq!(due, start + Duration::from_secs(30));
                machine.handle_timeout(due);
                run(&mut machine, &mut device, due)
            };
            let mut expected = vec![("connect", true), ("ip-configuration", false)];
            if !indication_comes {
                expected.insert(0, ("packet-service", true));
            }
            assert_eq!(sent, expected, "{indication_comes}");
            assert!(matches!(events.as_slice(), [ExecutorEvent::Connected(_)]));
        }
    }

    proptest::proptest! {
        /// Whatever the device sends, in whatever order, the machine neither
        /// panics nor stops answering with actions it can justify.
        #[test]
        fn arbitrary_device_input_never_panics(
            inputs in proptest::collection::vec(
                (0u8..6, 0u32..32, proptest::collection::vec(proptest::num::u8::ANY, 0..96)),
                0..64,
            )
        ) {
            let now = Instant::now();
            let mut machine = ExecutorMachine::new(test_config());
            let mut device = FakeDevice::default();
            run(&mut machine, &mut device, now);
            for (kind, cid, bytes) in inputs {
                let input = match kind {
                    0 => Input::Indication {
                        service: bc::SERVICE.uuid,
                        cid,
                        information_buffer: bytes,
                    },
                    1 => Input::Indication {
                        service: ms::SERVICE.uuid,
                        cid,
                        information_buffer: bytes,
                    },
                    2 => Input::Response {
                        status: Status::from(cid),
                        information_buffer: bytes,
                    },
                    3 => Input::RequestFailed(RequestFailure::TimedOut),
                    4 => Input::DeviceMisbehaved("fuzz".to_owned()),
                    _ => Input::Opened,
                };
                machine.handle(now, input);
                while let Some(action) = machine.poll_action() {
                    if let Action::Close = action {
                        machine.handle(now, Input::Closed);
                    }
                }
                if let Some(due) = machine.poll_timeout() {
                    machine.handle_timeout(due);
                }
            }
        }
    }
}
