//! The thin async part: owns the session and the transport, moves bytes and
//! time between them and the [`ExecutorMachine`], and talks to the supervisor.
//!
//! A device-wide SET waits for the modem's lock (seed 004: the SETs of one
//! modem's executors never overlap), possibly for as long as another
//! executor's SET takes. The wait is one more branch of the task's loop, not
//! an await inside it: the request is parked, and meanwhile notifications,
//! commands and timers are handled as usual, so this executor's indications
//! (a DNS change, a lost network) are not held back by another's SET.

use super::api::{ExecutorCommand, ExecutorConfig, ExecutorReport, ExecutorStatus};
use super::machine::{Action, ExecutorMachine, Input, Request, RequestFailure};
use super::passthrough::{
    DeviceIndication, Passthrough, PassthroughAnswer, PassthroughEnd, MAX_PASSTHROUGH_IN_FLIGHT,
};
use crate::logging::chain;
use crate::service::Pulse;
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::session::{Session, SessionConfig, SessionEvent, TransactionId};
use mbim_protocol::status::{CommandType, ProtocolError, Status};
use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_transport::{FunctionTransport, TransportError};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Mutex, OwnedMutexGuard};

/// How an executor task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorExit {
    /// The device went away.
    Gone,
    /// Shut down by command (or because the command channel closed).
    Stopped,
}

/// The GET_NTB_PARAMETERS structure's length.
const NTB_PARAMETERS_LENGTH: u16 = 28;
/// A failing notification endpoint is not polled faster than this.
const ENDPOINT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Waiting for the modem's lock; owns its `Arc`, so it can live in the driver.
type LockWait = Pin<Box<dyn Future<Output = OwnedMutexGuard<()>> + Send>>;

/// The clock, as tokio sees it, so tests with paused time drive the machine.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

struct Driver<T: FunctionTransport> {
    transport: Arc<T>,
    config: ExecutorConfig,
    session: Session,
    machine: ExecutorMachine,
    events_tx: mpsc::Sender<ExecutorReport>,
    status_tx: watch::Sender<ExecutorStatus>,
    device_lock: Arc<Mutex<()>>,
    /// The command the machine waits on.
    in_flight: Option<TransactionId>,
    /// The OPEN in flight, to recognize a FUNCTION_ERROR answering it.
    opening: Option<TransactionId>,
    /// Held while a device-wide SET is in flight (seed 004).
    lock_guard: Option<OwnedMutexGuard<()>>,
    /// Requests the machine sent while the lock was taken: the device-wide
    /// SET waiting for it first, anything after it behind it (in order).
    parked: VecDeque<Request>,
    /// The lock being waited for, while `parked` is not empty. Kept across
    /// loop turns so the place in the lock's queue is not lost.
    lock_wait: Option<LockWait>,
    gone: bool,
    /// APN lookups done off the loop come back here.
    apns_tx: mpsc::Sender<crate::apn::ApnsFound>,
    /// The FCC unlock hook's outcome comes back here.
    fcc_tx: mpsc::Sender<Result<(), String>>,
    /// Proxy clients' commands and the device's indications for them.
    passthrough: Option<PassthroughEnd>,
    /// Proxy clients' commands in flight, by the session's transaction id.
    proxied: HashMap<TransactionId, Proxied>,
}

/// A proxy client's command in flight.
struct Proxied {
    service: mbim_protocol::Uuid,
    cid: u32,
    command_type: CommandType,
    reply: tokio::sync::oneshot::Sender<PassthroughAnswer>,
}

/// Runs one executor until the device is gone or it is shut down.
///
/// `transport` is shared so the data path can take the bulk pipes of the
/// same function. Events go to `events_tx`, the status snapshot to
/// `status_tx`; `device_lock` is the modem's lock for device-wide SETs,
/// shared by all executors of one modem.
///
/// Events are sent with back-pressure: a supervisor that falls behind slows
/// the executor rather than losing a LinkDown. A closed command channel is
/// taken as Shutdown.
pub async fn run_executor<T: FunctionTransport>(
    transport: Arc<T>,
    config: ExecutorConfig,
    events_tx: mpsc::Sender<ExecutorReport>,
    commands_rx: mpsc::Receiver<ExecutorCommand>,
    status_tx: watch::Sender<ExecutorStatus>,
    device_lock: Arc<Mutex<()>>,
) -> ExecutorExit {
    run_executor_shared(
        transport,
        config,
        events_tx,
        commands_rx,
        status_tx,
        device_lock,
        None,
    )
    .await
}

/// [`run_executor`], also serving proxy clients' commands through
/// `passthrough` (crate::proxy) when given.
pub async fn run_executor_shared<T: FunctionTransport>(
    transport: Arc<T>,
    config: ExecutorConfig,
    events_tx: mpsc::Sender<ExecutorReport>,
    mut commands_rx: mpsc::Receiver<ExecutorCommand>,
    status_tx: watch::Sender<ExecutorStatus>,
    device_lock: Arc<Mutex<()>>,
    passthrough: Option<PassthroughEnd>,
) -> ExecutorExit {
    let session = Session::new(SessionConfig {
        max_control_transfer: u32::from(config.max_control_message),
        open_timeout: config.open_timeout,
        command_timeout: config.command_timeout,
        ..SessionConfig::default()
    });
    let (apns_tx, mut apns_rx) = mpsc::channel(4);
    let (fcc_tx, mut fcc_rx) = mpsc::channel(1);
    let mut driver = Driver {
        transport,
        machine: ExecutorMachine::new(config.clone()),
        config,
        session,
        events_tx,
        status_tx,
        device_lock,
        in_flight: None,
        opening: None,
        lock_guard: None,
        parked: VecDeque::new(),
        lock_wait: None,
        gone: false,
        apns_tx,
        fcc_tx,
        passthrough,
        proxied: HashMap::new(),
    };
    // A kernel driver's character device has no NCM data channel to ask
    // about: the driver runs the data path itself.
    if driver.transport.carries_ncm_data() {
        let parameters = driver.ntb_parameters().await;
        driver.machine.set_ntb_parameters(parameters);
    }
    let mut commands_open = true;
    // The watchdog pings only while this loop turns (crate::service).
    let pulse = Pulse::register(format!(
        "modem {} executor {}",
        driver.config.modem, driver.config.index
    ));
    loop {
        if let Some(exit) = driver.act().await {
            driver.refuse_remaining(&mut commands_rx);
            return exit;
        }
        driver.flush().await;
        if driver.gone {
            driver.machine.handle(now(), Input::TransportGone);
            continue;
        }
        let deadline = [driver.session.poll_timeout(), driver.machine.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let sleep = async {
            match deadline {
                Some(deadline) => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let transport = Arc::clone(&driver.transport);
        tokio::select! {
            notification = transport.next_notification() => {
                driver.notification(notification).await;
            }
            guard = lock_acquired(&mut driver.lock_wait) => driver.send_parked(guard),
            Some(found) = apns_rx.recv() => {
                driver.machine.handle(now(), Input::ApnsFound(found));
            }
            Some(result) = fcc_rx.recv() => {
                driver.machine.handle(now(), Input::FccHookDone(result));
            }
            command = commands_rx.recv(), if commands_open => {
                let command = command.unwrap_or_else(|| {
                    // Nobody can command this executor any more: stop it cleanly.
                    commands_open = false;
                    ExecutorCommand::Shutdown
                });
                driver.machine.handle(now(), Input::Command(command));
            }
            () = sleep => {
                let now = now();
                driver.session.handle_timeout(now);
                driver.machine.handle_timeout(now);
            }
            request = passthrough_request(&mut driver.passthrough) => {
                driver.passthrough(request);
            }
            () = pulse.poked() => pulse.answer(),
        }
        driver.session_events();
    }
}

/// Resolves when the awaited lock is held; never while none is awaited.
async fn lock_acquired(wait: &mut Option<LockWait>) -> OwnedMutexGuard<()> {
    match wait {
        Some(wait) => wait.as_mut().await,
        None => std::future::pending().await,
    }
}

/// The next proxy client's command; never while there is no proxy, or
/// when every proxy client is gone (the channel is then let go).
async fn passthrough_request(end: &mut Option<PassthroughEnd>) -> Passthrough {
    let Some(channel) = end.as_mut() else {
        return std::future::pending().await;
    };
    match channel.commands.recv().await {
        Some(request) => request,
        None => {
            // The proxy side is gone for good: stop polling, keep nothing.
            *end = None;
            std::future::pending().await
        }
    }
}

impl<T: FunctionTransport> Driver<T> {
    /// Sends a proxy client's command on the session, or answers it at once
    /// when it cannot go (no session, too many in flight, too large).
    fn passthrough(&mut self, request: Passthrough) {
        if !matches!(
            self.session.state(),
            mbim_protocol::session::SessionState::Open
        ) {
            let _ = request
                .reply
                .send(PassthroughAnswer::FunctionError(ProtocolError::NotOpened));
            return;
        }
        if self.proxied.len() >= MAX_PASSTHROUGH_IN_FLIGHT {
            let _ = request.reply.send(PassthroughAnswer::Done {
                status: Status::Busy,
                information_buffer: Vec::new(),
            });
            return;
        }
        match self.session.command(
            now(),
            request.service,
            request.cid,
            request.command_type,
            request.payload,
        ) {
            Ok(transaction_id) => {
                self.proxied.insert(
                    transaction_id,
                    Proxied {
                        service: request.service,
                        cid: request.cid,
                        command_type: request.command_type,
                        reply: request.reply,
                    },
                );
            }
            Err(error) => {
                let _ = request
                    .reply
                    .send(PassthroughAnswer::NoAnswer(chain(&error).to_string()));
            }
        }
    }

    /// A proxy client's command is answered; `Some` is the input the
    /// machine takes from it (a successful SET, seen as an indication).
    fn proxied_answered(
        &mut self,
        transaction_id: TransactionId,
        status: Status,
        information_buffer: Vec<u8>,
    ) -> Option<Input> {
        let proxied = self.proxied.remove(&transaction_id)?;
        let follow =
            (proxied.command_type == CommandType::Set && status == Status::Success).then(|| {
                Input::Indication {
                    service: proxied.service,
                    cid: proxied.cid,
                    information_buffer: information_buffer.clone(),
                }
            });
        tracing::debug!(
            executor = self.machine.log_number(),
            service = %proxied.service,
            cid = proxied.cid,
            %status,
            "proxy client's command answered"
        );
        let _ = proxied.reply.send(PassthroughAnswer::Done {
            status,
            information_buffer,
        });
        follow
    }

    /// The MBIM extensions version the machine agreed with the function
    /// (1.0 again after a new OPEN), for proxy clients: the machine's, not
    /// the device's answer, which a device may give above what was offered.
    fn publish_version(&self) {
        if let Some(end) = &self.passthrough {
            let agreed = self.machine.status().mbimex;
            end.version.send_if_modified(|version| {
                let changed = *version != agreed;
                *version = agreed;
                changed
            });
        }
    }

    /// The task ends: tracked commands still queued get their failure (from
    /// the finished machine) instead of no answer at all.
    fn refuse_remaining(&mut self, commands_rx: &mut mpsc::Receiver<ExecutorCommand>) {
        commands_rx.close();
        while let Ok(command) = commands_rx.try_recv() {
            self.machine.handle(now(), Input::Command(command));
            while let Some(action) = self.machine.poll_action() {
                if let Action::Report(event) = action {
                    let report = ExecutorReport {
                        executor: self.config.index,
                        event,
                    };
                    // No waiting here: a supervisor that stopped reading
                    // must not keep a finished task alive.
                    let _ = self.events_tx.try_send(report);
                }
            }
        }
    }

    async fn ntb_parameters(&mut self) -> Option<NtbParameters> {
        match self
            .transport
            .control_in(ClassRequest::GetNtbParameters, 0, NTB_PARAMETERS_LENGTH)
            .await
        {
            Ok(bytes) => match NtbParameters::parse(&bytes) {
                Ok(parameters) => Some(parameters),
                Err(error) => {
                    tracing::warn!(
                        executor = self.machine.log_number(),
                        "bad NTB parameters: {}",
                        chain(&error)
                    );
                    None
                }
            },
            Err(TransportError::Disconnected) => {
                self.gone = true;
                None
            }
            Err(error) => {
                tracing::warn!(
                    executor = self.machine.log_number(),
                    "GET_NTB_PARAMETERS: {}",
                    chain(&error)
                );
                None
            }
        }
    }

    fn publish(&self) {
        let status = self.machine.status();
        self.status_tx.send_if_modified(|current| {
            if current == status {
                false
            } else {
                status.clone_into(current);
                true
            }
        });
    }

    /// Carries out the machine's actions; `Some` when the task is over.
    async fn act(&mut self) -> Option<ExecutorExit> {
        while let Some(action) = self.machine.poll_action() {
            match action {
                Action::Open => match self.session.open(now()) {
                    Ok(transaction_id) => self.opening = Some(transaction_id),
                    Err(error) => {
                        tracing::warn!(
                            executor = self.machine.log_number(),
                            "OPEN: {}",
                            chain(&error)
                        );
                    }
                },
                Action::Close => {
                    self.forget_requests();
                    if self.session.close(now()).is_err() {
                        // Already closed (an OPEN that failed closes it).
                        self.machine.handle(now(), Input::Closed);
                    }
                }
                Action::Send(request) => self.send_or_park(request),
                Action::LookupApns(lookup) => {
                    // Files are read off the loop; the answer comes back
                    // through `apns_tx`.
                    let tx = self.apns_tx.clone();
                    let executor = self.machine.log_number();
                    let iccid = lookup.iccid.clone();
                    tokio::spawn(async move {
                        let found = tokio::task::spawn_blocking(move || {
                            crate::apn::look_up(&lookup, executor)
                        })
                        .await
                        // A lookup that died found nothing; the machine
                        // must not wait for it forever.
                        .unwrap_or_else(|_| crate::apn::ApnsFound {
                            iccid,
                            ..crate::apn::ApnsFound::default()
                        });
                        let _ = tx.send(found).await;
                    });
                }
                Action::RunFccHook(hook) => {
                    // The hook runs off the loop, which goes on serving
                    // the proxy: a hook may unlock through mbim-proxy.
                    let tx = self.fcc_tx.clone();
                    let executor =
                        format!("modem {} executor {}", self.config.modem, self.config.index);
                    tokio::spawn(async move {
                        let result = crate::executor::run_hook(&hook, &executor).await;
                        let _ = tx.send(result).await;
                    });
                }
                Action::RememberApn {
                    store,
                    iccid,
                    candidate,
                } => {
                    let executor = self.machine.log_number();
                    tokio::task::spawn_blocking(move || {
                        crate::apn::remember(&store, &iccid, &candidate, executor);
                    });
                }
                Action::Report(event) => {
                    // The status first: whoever an event wakes (a tracked
                    // command's asker reading the modem's snapshot, such as
                    // a network scan's) finds the state that came with it.
                    self.publish();
                    let report = ExecutorReport {
                        executor: self.config.index,
                        event,
                    };
                    // A supervisor that stopped listening does not stop the executor.
                    let _ = self.events_tx.send(report).await;
                }
                Action::Finish => {
                    self.publish();
                    return Some(if self.gone {
                        ExecutorExit::Gone
                    } else {
                        ExecutorExit::Stopped
                    });
                }
            }
        }
        self.publish();
        None
    }

    /// Sends `request`, or parks it until the modem's lock is free.
    fn send_or_park(&mut self, request: Request) {
        if !self.parked.is_empty() {
            // Nothing overtakes the SET waiting for the lock.
            self.parked.push_back(request);
            return;
        }
        if request.needs_device_lock() && self.lock_guard.is_none() {
            match Arc::clone(&self.device_lock).try_lock_owned() {
                Ok(guard) => self.lock_guard = Some(guard),
                Err(_) => {
                    tracing::debug!(
                        executor = self.machine.log_number(),
                        "device-wide SET waits for the modem's lock"
                    );
                    self.lock_wait = Some(Box::pin(Arc::clone(&self.device_lock).lock_owned()));
                    self.parked.push_back(request);
                    return;
                }
            }
        }
        self.send(request);
    }

    /// The lock is ours: the parked requests go out, in the machine's order.
    fn send_parked(&mut self, guard: OwnedMutexGuard<()>) {
        self.lock_wait = None;
        self.lock_guard = Some(guard);
        while let Some(request) = self.parked.pop_front() {
            self.send(request);
        }
    }

    fn send(&mut self, request: Request) {
        match self.session.command(
            now(),
            request.service,
            request.cid,
            request.command_type,
            request.payload,
        ) {
            Ok(transaction_id) => self.in_flight = Some(transaction_id),
            Err(error) => {
                self.lock_guard = None;
                let failure = RequestFailure::Refused(chain(&error).to_string());
                self.machine.handle(now(), Input::RequestFailed(failure));
            }
        }
    }

    /// The session closed or forgot its commands: nothing is in flight or
    /// waiting to be sent any more, and the lock is let go.
    fn forget_requests(&mut self) {
        self.in_flight = None;
        self.lock_guard = None;
        self.parked.clear();
        self.lock_wait = None;
        for (_, proxied) in self.proxied.drain() {
            let _ = proxied.reply.send(PassthroughAnswer::NoAnswer(
                "the session with the device was closed".to_owned(),
            ));
        }
    }

    async fn flush(&mut self) {
        while let Some(bytes) = self.session.poll_transmit() {
            let sent = self
                .transport
                .control_out(ClassRequest::SendEncapsulatedCommand, 0, bytes)
                .await;
            match sent {
                Ok(()) => {}
                Err(TransportError::Disconnected) => {
                    self.gone = true;
                    return;
                }
                Err(error) => {
                    // The command's own timeout ends its transaction.
                    let what = format!("SEND_ENCAPSULATED_COMMAND: {}", chain(&error));
                    self.machine.handle(now(), Input::DeviceMisbehaved(what));
                }
            }
        }
    }

    async fn notification(&mut self, notification: Result<Notification, TransportError>) {
        match notification {
            Ok(Notification::ResponseAvailable { .. }) => {
                let length = self.config.max_control_message;
                match self
                    .transport
                    .control_in(ClassRequest::GetEncapsulatedResponse, 0, length)
                    .await
                {
                    Ok(bytes) => self.session.handle_message(now(), &bytes),
                    Err(TransportError::Disconnected) => self.gone = true,
                    Err(error) => {
                        let what = format!("GET_ENCAPSULATED_RESPONSE: {}", chain(&error));
                        self.machine.handle(now(), Input::DeviceMisbehaved(what));
                    }
                }
            }
            Ok(other) => {
                tracing::debug!(executor = self.machine.log_number(), ?other, "notification");
            }
            Err(TransportError::Disconnected) => self.gone = true,
            Err(error) => {
                let what = format!("notification endpoint: {}", chain(&error));
                self.machine.handle(now(), Input::DeviceMisbehaved(what));
                tokio::time::sleep(ENDPOINT_ERROR_PAUSE).await;
            }
        }
    }

    fn answered(&mut self, transaction_id: TransactionId) -> bool {
        if self.in_flight == Some(transaction_id) {
            self.in_flight = None;
            self.lock_guard = None;
            true
        } else {
            false
        }
    }

    fn session_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            let input = match event {
                SessionEvent::Opened => {
                    self.opening = None;
                    Input::Opened
                }
                SessionEvent::OpenFailed(status) => {
                    self.opening = None;
                    Input::OpenFailed(status)
                }
                SessionEvent::OpenTimedOut => {
                    self.opening = None;
                    Input::OpenTimedOut
                }
                SessionEvent::Closed { .. } => {
                    self.forget_requests();
                    Input::Closed
                }
                SessionEvent::Response {
                    transaction_id,
                    status,
                    information_buffer,
                    ..
                } => {
                    if self.proxied.contains_key(&transaction_id) {
                        match self.proxied_answered(transaction_id, status, information_buffer) {
                            Some(input) => input,
                            None => continue,
                        }
                    } else if self.answered(transaction_id) {
                        Input::Response {
                            status,
                            information_buffer,
                        }
                    } else {
                        Input::DeviceMisbehaved(format!(
                            "response to transaction {transaction_id}, which is no longer awaited"
                        ))
                    }
                }
                SessionEvent::CommandTimedOut { transaction_id } => {
                    if let Some(proxied) = self.proxied.remove(&transaction_id) {
                        let _ = proxied.reply.send(PassthroughAnswer::NoAnswer(
                            "the device did not answer in time".to_owned(),
                        ));
                        continue;
                    }
                    if !self.answered(transaction_id) {
                        continue;
                    }
                    Input::RequestFailed(RequestFailure::TimedOut)
                }
                SessionEvent::CommandCancelled { transaction_id } => {
                    if let Some(proxied) = self.proxied.remove(&transaction_id) {
                        let _ = proxied.reply.send(PassthroughAnswer::NoAnswer(
                            "the session was closed".to_owned(),
                        ));
                        continue;
                    }
                    if !self.answered(transaction_id) {
                        continue;
                    }
                    Input::RequestFailed(RequestFailure::Cancelled)
                }
                SessionEvent::Indication {
                    service,
                    cid,
                    information_buffer,
                } => {
                    if let Some(end) = &self.passthrough {
                        // No receiver (no proxy client) is not an error.
                        let _ = end.indications.send(DeviceIndication {
                            service,
                            cid,
                            information_buffer: Arc::from(information_buffer.as_slice()),
                        });
                    }
                    Input::Indication {
                        service,
                        cid,
                        information_buffer,
                    }
                }
                SessionEvent::FunctionError {
                    transaction_id,
                    error,
                } => {
                    if let Some(proxied) = self.proxied.remove(&transaction_id) {
                        let _ = proxied.reply.send(PassthroughAnswer::FunctionError(error));
                        if error != ProtocolError::NotOpened {
                            continue;
                        }
                    }
                    let answered = self.answered(transaction_id);
                    if error == ProtocolError::NotOpened {
                        self.forget_requests();
                        Input::NotOpened
                    } else if self.opening == Some(transaction_id) {
                        self.opening = None;
                        Input::OpenFailed(Status::Failure)
                    } else if answered {
                        Input::RequestFailed(RequestFailure::FunctionError(error))
                    } else {
                        Input::DeviceMisbehaved(format!(
                            "FUNCTION_ERROR {error} for transaction {transaction_id}"
                        ))
                    }
                }
                SessionEvent::Malformed(error) => {
                    Input::DeviceMisbehaved(format!("malformed message: {}", chain(&error)))
                }
                SessionEvent::FragmentError(error) => {
                    Input::DeviceMisbehaved(format!("fragmentation: {}", chain(&error)))
                }
                SessionEvent::Anomaly(anomaly) => {
                    Input::DeviceMisbehaved(format!("unexpected message: {anomaly:?}"))
                }
                SessionEvent::EventsDropped { count } => {
                    Input::DeviceMisbehaved(format!("{count} session events dropped"))
                }
            };
            self.machine.handle(now(), input);
            self.publish_version();
        }
    }
}
