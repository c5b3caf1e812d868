//! The simulated modem as an in-process [`FunctionTransport`]: the daemon's
//! tests drive a [`SimFunction`] through the same interface the daemon uses
//! for a real USB function, with no kernel, USB/IP or root involved.

use crate::device::{EndpointError, SimFunction};
use mbim_protocol::usb::{ClassRequest, Notification, SetupPacket};
use mbim_transport::{Completion, FunctionTransport, InPipe, OutPipe, Pipe, TransportError};
use std::collections::VecDeque;
use std::future::Future;

fn transport_error(error: EndpointError) -> TransportError {
    match error {
        // Only control transfers go unanswered (see `control_outcome`).
        EndpointError::Stall | EndpointError::Unanswered => TransportError::Stall,
        EndpointError::Unplugged => TransportError::Disconnected,
    }
}

/// A control transfer's outcome as the host sees it: an unanswered one
/// (`hang-control`) never completes, as with a transport that has no
/// timeout of its own.
async fn control_outcome<T>(result: Result<T, EndpointError>) -> Result<T, TransportError> {
    match result {
        Err(EndpointError::Unanswered) => std::future::pending().await,
        other => other.map_err(transport_error),
    }
}

/// One simulated MBIM function, reached in process.
#[derive(Debug, Clone)]
pub struct InProcessFunction {
    function: SimFunction,
}

impl InProcessFunction {
    /// A transport to `function`.
    pub fn new(function: SimFunction) -> Self {
        InProcessFunction { function }
    }

    /// The communication interface number the simulator's descriptors give
    /// this function (two interfaces per function).
    fn interface(&self) -> u8 {
        u8::try_from(self.function.index().saturating_mul(2)).unwrap_or(u8::MAX)
    }
}

impl FunctionTransport for InProcessFunction {
    type BulkIn = InProcessBulkIn;
    type BulkOut = InProcessBulkOut;

    fn data_thread(&self) -> Option<std::sync::Arc<dyn mbim_transport::DataThread>> {
        self.function.data_thread()
    }

    fn control_out(
        &self,
        request: ClassRequest,
        value: u16,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
        let setup = SetupPacket::class(request, self.interface(), value, length, false);
        control_outcome(self.function.class_request(setup, &data).map(drop))
    }

    fn control_in(
        &self,
        request: ClassRequest,
        value: u16,
        length: u16,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send {
        let setup = SetupPacket::class(request, self.interface(), value, length, true);
        control_outcome(self.function.class_request(setup, &[]).map(|mut data| {
            data.truncate(usize::from(length));
            data
        }))
    }

    fn next_notification(
        &self,
    ) -> impl Future<Output = Result<Notification, TransportError>> + Send {
        let function = self.function.clone();
        async move { function.next_notification().await.map_err(transport_error) }
    }

    fn set_data_alt_setting(
        &self,
        alt: u8,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        self.function.set_data_alt_setting(alt);
        async { Ok(()) }
    }

    fn take_data_pipes(&self) -> Result<(Self::BulkIn, Self::BulkOut), TransportError> {
        Ok((
            InProcessBulkIn {
                function: self.function.clone(),
                pending: VecDeque::new(),
            },
            InProcessBulkOut {
                function: self.function.clone(),
                done: VecDeque::new(),
            },
        ))
    }
}

/// A bulk IN request waiting for data.
#[derive(Debug)]
struct InRequest {
    buffer: Vec<u8>,
    length: usize,
    cancelled: bool,
}

/// The bulk IN pipe of an [`InProcessFunction`].
#[derive(Debug)]
pub struct InProcessBulkIn {
    function: SimFunction,
    pending: VecDeque<InRequest>,
}

impl Pipe for InProcessBulkIn {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        let Some(front) = self.pending.front_mut() else {
            return std::future::pending().await;
        };
        if front.cancelled {
            let mut buffer = self
                .pending
                .pop_front()
                .map(|r| r.buffer)
                .unwrap_or_default();
            buffer.clear();
            return Completion {
                buffer,
                status: Err(TransportError::Cancelled),
            };
        }
        // The request stays queued until data arrives, so dropping this
        // future (a `select!` that took another branch) loses nothing: the
        // block goes into its buffer only once it is ready.
        let result = self
            .function
            .next_bulk_in_into(front.length, &mut front.buffer)
            .await;
        let mut buffer = self
            .pending
            .pop_front()
            .map(|r| r.buffer)
            .unwrap_or_default();
        let status = result.map_err(|error| {
            buffer.clear();
            transport_error(error)
        });
        Completion { buffer, status }
    }

    fn pending(&self) -> usize {
        self.pending.len()
    }

    fn cancel_all(&mut self) {
        for request in &mut self.pending {
            request.cancelled = true;
        }
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        self.function.clear_halt(crate::control::Endpoint::BulkIn);
        Ok(())
    }
}

impl InPipe for InProcessBulkIn {
    fn submit(&mut self, buffer: Vec<u8>, length: usize) {
        // Not cleared: a block is swapped in whole (see
        // `SimFunction::next_bulk_in_into`), and a buffer the modem keeps
        // is written over where a block is built in it, so its length
        // saves zeroing it again.
        self.pending.push_back(InRequest {
            buffer,
            length,
            cancelled: false,
        });
    }
}

/// The bulk OUT pipe of an [`InProcessFunction`]: the simulator takes an NTB
/// at once, so a transfer is complete when submitted.
#[derive(Debug)]
pub struct InProcessBulkOut {
    function: SimFunction,
    done: VecDeque<Completion>,
}

impl Pipe for InProcessBulkOut {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        {
            match self.done.pop_front() {
                Some(completion) => completion,
                None => std::future::pending().await,
            }
        }
    }

    fn pending(&self) -> usize {
        self.done.len()
    }

    fn cancel_all(&mut self) {
        // Every transfer has already completed; there is nothing to cancel.
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        self.function.clear_halt(crate::control::Endpoint::BulkOut);
        Ok(())
    }
}

impl OutPipe for InProcessBulkOut {
    fn submit(&mut self, data: Vec<u8>) {
        let status = self.function.bulk_out(&data).map_err(transport_error);
        self.done.push_back(Completion {
            buffer: data,
            status,
        });
    }
}

/// Why an [`InProcessHost`] call failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The session refused the call.
    #[error("session: {0}")]
    Session(#[from] mbim_protocol::session::SessionError),
    /// The modem did not answer in time.
    #[error("no answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The modem refused OPEN.
    #[error("OPEN failed: {0}")]
    OpenFailed(String),
}

/// A minimal MBIM host over the in-process transport — the protocol crate's
/// [`Session`](mbim_protocol::session::Session) and nothing else — for tests
/// and benchmarks that need a function opened and a session connected
/// without the daemon.
#[derive(Debug)]
pub struct InProcessHost {
    transport: InProcessFunction,
    session: mbim_protocol::session::Session,
    timeout: std::time::Duration,
}

impl InProcessHost {
    /// A host for `transport`; answers are awaited up to `timeout`.
    pub fn new(transport: InProcessFunction, timeout: std::time::Duration) -> Self {
        let session = mbim_protocol::session::Session::new(mbim_protocol::session::SessionConfig {
            max_control_transfer: 4096,
            ..mbim_protocol::session::SessionConfig::default()
        });
        InProcessHost {
            transport,
            session,
            timeout,
        }
    }

    /// The transport, for class requests and the data pipes.
    pub fn transport(&self) -> &InProcessFunction {
        &self.transport
    }

    async fn flush(&mut self) -> Result<(), HostError> {
        while let Some(bytes) = self.session.poll_transmit() {
            self.transport
                .control_out(ClassRequest::SendEncapsulatedCommand, 0, bytes)
                .await?;
        }
        Ok(())
    }

    /// Reads responses until an event `keep` accepts arrives.
    async fn wait_for<T>(
        &mut self,
        mut keep: impl FnMut(mbim_protocol::session::SessionEvent) -> Option<T>,
    ) -> Result<T, HostError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            while let Some(event) = self.session.poll_event() {
                if let Some(found) = keep(event) {
                    return Ok(found);
                }
            }
            let notification =
                tokio::time::timeout_at(deadline, self.transport.next_notification())
                    .await
                    .map_err(|_| HostError::Timeout(self.timeout))??;
            if let Notification::ResponseAvailable { .. } = notification {
                let bytes = self
                    .transport
                    .control_in(ClassRequest::GetEncapsulatedResponse, 0, 4096)
                    .await?;
                self.session
                    .handle_message(std::time::Instant::now(), &bytes);
                self.flush().await?;
            }
        }
    }

    /// OPEN, waiting for OPEN_DONE.
    pub async fn open(&mut self) -> Result<(), HostError> {
        use mbim_protocol::session::SessionEvent;
        self.session.open(std::time::Instant::now())?;
        self.flush().await?;
        self.wait_for(|event| match event {
            SessionEvent::Opened => Some(Ok(())),
            SessionEvent::OpenFailed(status) => Some(Err(status.to_string())),
            SessionEvent::OpenTimedOut => Some(Err("timed out".to_owned())),
            _ => None,
        })
        .await?
        .map_err(HostError::OpenFailed)
    }

    /// A command of CID `C`, answered with its status and information buffer.
    pub async fn request<C: mbim_protocol::services::Cid>(
        &mut self,
        command_type: mbim_protocol::status::CommandType,
        payload: Vec<u8>,
    ) -> Result<(mbim_protocol::status::Status, Vec<u8>), HostError> {
        use mbim_protocol::session::SessionEvent;
        let id = self.session.command(
            std::time::Instant::now(),
            C::SERVICE,
            C::ID,
            command_type,
            payload,
        )?;
        self.flush().await?;
        self.wait_for(|event| match event {
            SessionEvent::Response {
                transaction_id,
                status,
                information_buffer,
                ..
            } if transaction_id == id => Some((status, information_buffer)),
            _ => None,
        })
        .await
    }
}
