//! The thin async part: owns the session and the transport, moves bytes and
//! time between them and the [`ExecutorMachine`], and talks to the supervisor.

use super::api::{ExecutorCommand, ExecutorConfig, ExecutorReport, ExecutorStatus};
use super::machine::{Action, ExecutorMachine, Input, RequestFailure};
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::session::{Session, SessionConfig, SessionEvent, TransactionId};
use mbim_protocol::status::{ProtocolError, Status};
use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_transport::{FunctionTransport, TransportError};
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
    gone: bool,
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
    mut commands_rx: mpsc::Receiver<ExecutorCommand>,
    status_tx: watch::Sender<ExecutorStatus>,
    device_lock: Arc<Mutex<()>>,
) -> ExecutorExit {
    let session = Session::new(SessionConfig {
        max_control_transfer: u32::from(config.max_control_message),
        open_timeout: config.open_timeout,
        command_timeout: config.command_timeout,
        ..SessionConfig::default()
    });
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
        gone: false,
    };
    let parameters = driver.ntb_parameters().await;
    driver.machine.set_ntb_parameters(parameters);
    let mut commands_open = true;
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
        }
        driver.session_events();
    }
}

impl<T: FunctionTransport> Driver<T> {
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
                    tracing::warn!(executor = self.config.index, "bad NTB parameters: {error}");
                    None
                }
            },
            Err(TransportError::Disconnected) => {
                self.gone = true;
                None
            }
            Err(error) => {
                tracing::warn!(executor = self.config.index, "GET_NTB_PARAMETERS: {error}");
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
                        tracing::warn!(executor = self.config.index, "OPEN: {error}");
                    }
                },
                Action::Close => {
                    self.in_flight = None;
                    self.lock_guard = None;
                    if self.session.close(now()).is_err() {
                        // Already closed (an OPEN that failed closes it).
                        self.machine.handle(now(), Input::Closed);
                    }
                }
                Action::Send(request) => {
                    if request.needs_device_lock() {
                        let lock = Arc::clone(&self.device_lock);
                        self.lock_guard = Some(lock.lock_owned().await);
                    }
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
                            let failure = RequestFailure::Refused(error.to_string());
                            self.machine.handle(now(), Input::RequestFailed(failure));
                        }
                    }
                }
                Action::Report(event) => {
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
                    let what = format!("SEND_ENCAPSULATED_COMMAND: {error}");
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
                        let what = format!("GET_ENCAPSULATED_RESPONSE: {error}");
                        self.machine.handle(now(), Input::DeviceMisbehaved(what));
                    }
                }
            }
            Ok(other) => {
                tracing::debug!(executor = self.config.index, ?other, "notification");
            }
            Err(TransportError::Disconnected) => self.gone = true,
            Err(error) => {
                let what = format!("notification endpoint: {error}");
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
                    self.in_flight = None;
                    self.lock_guard = None;
                    Input::Closed
                }
                SessionEvent::Response {
                    transaction_id,
                    status,
                    information_buffer,
                    ..
                } => {
                    if self.answered(transaction_id) {
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
                    if !self.answered(transaction_id) {
                        continue;
                    }
                    Input::RequestFailed(RequestFailure::TimedOut)
                }
                SessionEvent::CommandCancelled { transaction_id } => {
                    if !self.answered(transaction_id) {
                        continue;
                    }
                    Input::RequestFailed(RequestFailure::Cancelled)
                }
                SessionEvent::Indication {
                    service,
                    cid,
                    information_buffer,
                } => Input::Indication {
                    service,
                    cid,
                    information_buffer,
                },
                SessionEvent::FunctionError {
                    transaction_id,
                    error,
                } => {
                    let answered = self.answered(transaction_id);
                    if error == ProtocolError::NotOpened {
                        self.in_flight = None;
                        self.lock_guard = None;
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
                    Input::DeviceMisbehaved(format!("malformed message: {error}"))
                }
                SessionEvent::FragmentError(error) => {
                    Input::DeviceMisbehaved(format!("fragmentation: {error}"))
                }
                SessionEvent::Anomaly(anomaly) => {
                    Input::DeviceMisbehaved(format!("unexpected message: {anomaly:?}"))
                }
                SessionEvent::EventsDropped { count } => {
                    Input::DeviceMisbehaved(format!("{count} session events dropped"))
                }
            };
            self.machine.handle(now(), input);
        }
    }
}
