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
//!
//! The life cycle's phases live beside this file, each an `impl
//! ExecutorMachine` block with the phase's next command, the handling of its
//! answers and what its indications change: `capabilities.rs` (DEVICE_CAPS,
//! subscriptions, radio), `slots.rs` (the multi-SIM CIDs), `sim.rs` (SIM and
//! PIN), `registration.rs` (registration and packet service), `connect.rs`
//! (CONNECT, IP configuration, loss), `sessions.rs` (the further PDN
//! sessions, by session id), `apn.rs` (the APN when no profile
//! names the SIM, and the LTE attach APN). `session.rs` holds the session's life
//! and the bookkeeping the phases share, `commands.rs` the supervisor's
//! commands, `step.rs` the command in flight, `request.rs` what is sent.

use crate::executor::api::{
    CommandFailure, ExecutorCommand, ExecutorConfig, ExecutorEvent, ExecutorState, ExecutorStatus,
};
use crate::executor::policy::AnomalyBudget;
use crate::executor::profile::{Profile, Secret};
use mbim_protocol::mbimex::MbimExVersion;
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::services::basic_connect::{self as bc, ActivationState, RadioSwitchState};
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::services::Cid;
use mbim_protocol::status::Status;
use mbim_protocol::Uuid;
use registration::register_set;
use sim::PinChange;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::ops::ControlFlow::Break;
use std::time::Instant;
use step::{state_for, Step};

mod apn;
mod attach;
mod capabilities;
mod commands;
mod connect;
mod fcc;
mod layouts;
mod pco;
mod power;
mod registration;
mod request;
mod scan;
mod session;
mod sessions;
mod sim;
mod slots;
mod step;
#[cfg(test)]
mod test_support;
mod version;

pub use request::{Request, RequestFailure};

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
    /// The driver's answer to [`Action::LookupApns`].
    ApnsFound(crate::apn::ApnsFound),
    /// The FCC unlock hook ended ([`Action::RunFccHook`]): `Err` says why
    /// it failed.
    FccHookDone(Result<(), String>),
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
    /// Look up the remembered APN and the provider database's for a SIM no
    /// profile names; the answer comes back as [`Input::ApnsFound`].
    LookupApns(crate::apn::ApnLookup),
    /// Remember that `candidate` connected the SIM with `iccid`.
    RememberApn {
        /// The store.
        store: std::path::PathBuf,
        /// The SIM.
        iccid: String,
        /// What connected it.
        candidate: crate::apn::ApnCandidate,
    },
    /// Run the administrator's FCC unlock hook; its outcome comes back as
    /// [`Input::FccHookDone`].
    RunFccHook(crate::executor::FccHook),
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

/// The activated context and the profile it was activated with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Active {
    profile: Profile,
}

/// A registration asked for: the network chosen by hand (`None`:
/// automatic) and the data classes to prefer (0: the device's choice).
type RegisterChoice = (Option<String>, u32);

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
    /// The FCC unlock since the last OPEN.
    fcc: fcc::FccPhase,
    pin_known: bool,
    home_provider: bool,
    signal_known: bool,
    register_requested: bool,
    /// HOME_PROVIDER's name: the SIM's service provider name.
    home_provider_name: String,
    /// The MBIM extensions version agreed with the function (1.0 until
    /// MBIM_CID_VERSION says otherwise): it picks the CIDs' layouts.
    mbimex: MbimExVersion,
    /// Whether MBIM_CID_VERSION was asked since the last OPEN.
    version_asked: bool,
    /// The APNs of a SIM no profile names.
    auto: apn::AutoApn,
    /// MBIM_CID_MS_PCO was asked for since the activation (pco.rs), and
    /// is to be asked next.
    pco_asked: bool,
    pco_wanted: bool,
    active: Option<Active>,
    /// The further sessions (ids 1 and up) of the active profile.
    extras: Vec<sessions::Extra>,
    // What is wanted.
    want_radio: bool,
    want_connect: bool,
    profile_override: Option<Profile>,
    /// A Connect came since the context was activated: if it asks for other
    /// settings than the active ones, the context is deactivated and
    /// activated again with them.
    connect_requested: bool,
    /// The context is being deactivated to be activated again with other
    /// settings (the link-down reason says so).
    reconnecting: bool,
    /// A deactivation went unanswered or failed: whether the context is
    /// still active is unknown (the device may have deactivated it and its
    /// answer been lost), so it is deactivated again, whatever is wanted,
    /// before it counts as connected.
    deactivation_unconfirmed: bool,
    /// An activation went unanswered: the device may have activated the
    /// context and its answer been lost, so it is deactivated before it is
    /// activated again (a second activation of an active session is refused
    /// or ambiguous on real devices).
    activation_unconfirmed: bool,
    pending_pin: Option<(Secret, Option<u64>)>,
    pending_puk: Option<(Secret, Secret, Option<u64>)>,
    pending_pin_changes: VecDeque<(PinChange, Option<u64>)>,
    pending_slot_mapping: Option<(Vec<u32>, Option<u64>)>,
    /// A provider scan asked for (its tracked id), not sent yet.
    pending_scan: Option<Option<u64>>,
    /// The network registered with by hand (a client's Register), which
    /// every REGISTER_STATE set asks for; `None`: automatic registration.
    register_choice: Option<String>,
    /// A registration a client asked for (the network, its tracked id),
    /// not sent yet.
    pending_register: Option<(RegisterChoice, Option<u64>)>,
    /// The data classes every REGISTER_STATE set asks the device to prefer
    /// (a client's SetDataClasses; 0: the device's choice).
    register_data_classes: u32,
    /// A device reset asked for (its tracked id), not sent yet.
    pending_reset: Option<Option<u64>>,
    /// Slots whose SLOT_INFO_STATUS is to be asked for, in order.
    slots_to_query: VecDeque<u32>,
    // Tracked commands waiting for an outcome that no single step carries.
    radio_waiters: Vec<u64>,
    slot_query_waiters: Vec<u64>,
    slot_query_failure: Option<CommandFailure>,
    mapping_waiters: Vec<u64>,
    configured_pin_tried: bool,
    shutting_down: bool,
    /// Going to sleep (Suspend): down, MS_HOST_SHUTDOWN, CLOSE.
    suspending: Option<power::Suspending>,
    /// Closed for the host's sleep, until Resume.
    suspended: bool,
    /// Whether DEVICE_SERVICES lists MS Host Shutdown (`None`: not asked).
    host_shutdown_listed: Option<bool>,
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

/// What a phase decides: the command to send next (or, with `None`, that
/// the executor waits), or to leave it to the next phase.
type Next = ControlFlow<Option<(Step, Request)>>;

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
            fcc: fcc::FccPhase::default(),
            pin_known: false,
            home_provider: false,
            signal_known: false,
            register_requested: false,
            home_provider_name: String::new(),
            mbimex: MbimExVersion::V1,
            version_asked: false,
            auto: apn::AutoApn::default(),
            pco_asked: false,
            pco_wanted: false,
            active: None,
            extras: Vec::new(),
            want_radio: true,
            want_connect,
            profile_override: None,
            connect_requested: false,
            reconnecting: false,
            deactivation_unconfirmed: false,
            activation_unconfirmed: false,
            pending_pin: None,
            pending_puk: None,
            pending_pin_changes: VecDeque::new(),
            pending_slot_mapping: None,
            pending_scan: None,
            register_choice: None,
            pending_register: None,
            register_data_classes: 0,
            pending_reset: None,
            slots_to_query: VecDeque::new(),
            radio_waiters: Vec::new(),
            slot_query_waiters: Vec::new(),
            slot_query_failure: None,
            mapping_waiters: Vec::new(),
            configured_pin_tried: false,
            shutting_down: false,
            suspending: None,
            suspended: false,
            host_shutdown_listed: None,
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

    /// The function's NTB parameters, handed on in [`Connection`](crate::executor::Connection).
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
            self.sessions_timeout(),
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
        if due(&mut self.reopen_at)
            && self.link == Link::Closed
            && !self.finished
            && !self.suspended
        {
            self.open();
        }
        self.reconcile(now);
        self.publish_sessions();
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
            Input::ApnsFound(found) => self.apns_found(found),
            Input::FccHookDone(result) => self.fcc_hook_done(result),
            Input::Command(command) => self.command(command, None),
            Input::TransportGone => {
                self.abandon("the device is gone");
                self.lost("the device is gone");
                self.status.state = ExecutorState::Gone;
                self.status.reason = Some("the device is gone".to_owned());
                self.report(ExecutorEvent::Gone);
                self.finish();
                self.publish_sessions();
                return;
            }
        }
        self.reconcile(now);
        self.publish_sessions();
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
                let (step, request) = self.deactivation();
                self.send(step, request);
            } else {
                self.status.state = ExecutorState::Disconnecting;
                self.link = Link::Closing;
                self.actions.push_back(Action::Close);
            }
            return;
        }
        if self.suspending.is_some() {
            self.next_suspend_step();
            return;
        }
        if let Some((slots, tracked)) = self.pending_slot_mapping.take() {
            let set = ms::DeviceSlotMappingInfo::from_slots(&slots);
            let request = Request::set::<ms::cid::DeviceSlotMappings>(&set);
            self.send(Step::SlotMappingSet { slots, tracked }, request);
            return;
        }
        if let Some(tracked) = self.pending_reset.take() {
            tracing::info!(executor = self.log_number(), "resetting the device");
            let request = Request::set::<ms::cid::DeviceReset>(&mbim_protocol::codec::Empty);
            self.send(Step::DeviceReset { tracked }, request);
            return;
        }
        if let Some(((provider, data_classes), tracked)) = self.pending_register.take() {
            let request = Request::set::<bc::cid::RegisterState>(&register_set(
                provider.as_deref(),
                data_classes,
            ));
            self.send(
                Step::RegisterChoice {
                    provider,
                    data_classes,
                    tracked,
                },
                request,
            );
            return;
        }
        if let Some(tracked) = self.pending_scan.take() {
            tracing::info!(executor = self.log_number(), "scanning for networks");
            let query = bc::VisibleProvidersQuery {
                action: bc::VisibleProvidersAction::FullScan,
            };
            let request = Request::query::<bc::cid::VisibleProviders>(&query);
            self.send(Step::ProviderScan { tracked }, request);
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
    /// The phases are asked in the life cycle's order; each either decides
    /// or leaves it to the next.
    fn next_request(&mut self, now: Instant) -> Option<(Step, Request)> {
        if let Break(next) = self.next_version_query() {
            return next;
        }
        if let Break(next) = self.next_capability_query() {
            return next;
        }
        if let Break(next) = self.next_slot_request() {
            return next;
        }
        if let Break(next) = self.next_subscription_or_radio() {
            return next;
        }
        if let Break(next) = self.next_sim_request(now) {
            return next;
        }
        if let Break(next) = self.next_registration_request(now) {
            return next;
        }
        self.next_connect_request(now)
    }

    /// The answer to the command in flight, handed to its phase.
    fn response(&mut self, now: Instant, step: Step, status: Status, buffer: &[u8]) {
        self.handling = Some(std::mem::discriminant(&step));
        if status == Status::Busy {
            self.busy(now, &step, status, buffer);
            return;
        }
        if status.is_success() {
            self.step_failures = 0;
        }
        match step {
            Step::Version => self.version_answer(now, status, buffer),
            Step::DeviceCaps => self.device_caps_answer(now, status, buffer),
            Step::DeviceCapsV2 => self.device_caps_v2_answer(now, status, buffer),
            Step::SysCaps => self.sys_caps_answer(now, status, buffer),
            Step::SlotMappings => self.slot_mapping_query_answer(now, status, buffer),
            Step::SlotInfoQuery(slot) => self.slot_info_answer(now, slot, status, buffer),
            Step::Subscribe => self.subscribe_answer(status),
            Step::RadioQuery => self.radio_answer(now, false, status, buffer),
            Step::RadioSet => self.radio_answer(now, true, status, buffer),
            Step::FccQuectel => self.fcc_quectel_answer(now, status, buffer),
            Step::FccChallenge => self.fcc_challenge_answer(now, status, buffer),
            Step::FccResponse => self.fcc_response_answer(now, status, buffer),
            Step::ReadyQuery => self.ready_answer(now, status, buffer),
            Step::PinQuery => self.pin_query_answer(now, status, buffer),
            Step::PinEnter {
                configured,
                tracked,
            } => self.pin_entry_answer(now, configured, tracked, status, buffer),
            Step::PukEnter { tracked } => self.puk_entry_answer(now, tracked, status, buffer),
            Step::HomeProvider => self.home_provider_answer(now, status, buffer),
            Step::RegisterSet => self.registration_answer(now, true, status, buffer),
            Step::RegisterQuery => self.registration_answer(now, false, status, buffer),
            Step::PacketQuery | Step::Attach => self.packet_answer(now, status, buffer),
            Step::Connect { profile, candidate } => {
                self.connect_answer(now, *profile, candidate.map(|c| *c), status, buffer);
            }
            Step::ProvisionedQuery { extended } => {
                self.provisioned_answer(now, extended, status, buffer);
            }
            Step::LteAttachQuery { profile } => {
                self.attach_query_answer(now, *profile, status, buffer);
            }
            Step::LteAttachSet { attach, why } => self.attach_set_answer(attach, why, status),
            Step::IpQuery => self.ip_answer(now, status, buffer),
            Step::PcoQuery => self.pco_answer(now, status, buffer),
            Step::SignalQuery => self.signal_answer(now, status, buffer),
            Step::PinChange { op, tracked } => {
                self.pin_change_answer(now, op, tracked, status, buffer);
            }
            Step::SlotMappingSet { slots, tracked } => {
                self.slot_mapping_set_answer(now, slots, tracked, status, buffer);
            }
            Step::Deactivate => self.deactivate_answer(),
            Step::SessionConnect { session_id } => {
                self.session_connect_answer(now, session_id, status, buffer);
            }
            Step::SessionIpQuery { session_id } => {
                self.session_ip_answer(now, session_id, status, buffer);
            }
            Step::SessionDeactivate { session_id } => self.session_deactivate_answer(session_id),
            Step::DeviceServices => self.device_services_answer(now, status, buffer),
            Step::HostShutdown => self.host_shutdown_answer(status),
            Step::ProviderScan { tracked } => self.scan_answer(now, tracked, status, buffer),
            Step::RegisterChoice {
                provider,
                data_classes,
                tracked,
            } => {
                self.register_choice_answer(now, (provider, data_classes), tracked, status, buffer);
            }
            Step::DeviceReset { tracked } => self.device_reset_answer(tracked, status),
        }
    }

    fn indication(&mut self, now: Instant, service: Uuid, cid: u32, buffer: &[u8]) {
        if service == bc::SERVICE.uuid {
            match cid {
                bc::cid::SubscriberReadyStatus::ID => {
                    if let Some(info) = self.decode_ready(now, "ready", buffer) {
                        self.apply_ready(&info);
                    }
                }
                bc::cid::RadioState::ID => {
                    if let Some(info) = self.decode::<bc::RadioStateInfo>(now, "radio", buffer) {
                        self.apply_radio(&info);
                    }
                }
                bc::cid::RegisterState::ID => {
                    if let Some(info) = self.decode_registration(now, "registration", buffer) {
                        self.apply_registration(now, &info);
                    }
                }
                bc::cid::PacketService::ID => {
                    if let Some(info) = self.decode_packet(now, "packet", buffer) {
                        self.apply_packet(now, &info);
                    }
                }
                bc::cid::SignalState::ID => {
                    if let Some(info) = self.decode_signal(now, "signal", buffer) {
                        self.status.rssi = Some(info.rssi);
                        self.status.error_rate = Some(info.error_rate);
                    }
                }
                bc::cid::Connect::ID => {
                    if let Some(info) = self.decode_connect(now, "connect", buffer) {
                        if info.session_id != self.config.session_id {
                            self.session_connect_indication(now, &info);
                        } else if info.activation_state == ActivationState::Deactivated {
                            self.lost_to_network(now, "the network deactivated the context");
                        }
                    }
                }
                bc::cid::IpConfiguration::ID => {
                    if let Some(info) = self.decode::<bc::IpConfigurationInfo>(now, "ip", buffer) {
                        if info.session_id == self.config.session_id {
                            self.ip_update(&info);
                        } else {
                            self.session_ip_update(&info);
                        }
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
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::executor::api::{ExecutorConfig, ExecutorEvent, ExecutorState, SystemCaps};
    use mbim_protocol::services::basic_connect::{self as bc};
    use mbim_protocol::services::ms_basic_connect_extensions as ms;
    use mbim_protocol::status::Status;
    use std::time::Instant;

    const LIFE: [(&str, bool); 16] = [
        ("version", false),
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
