//! One claimed MBIM function as an [`FunctionTransport`] over nusb.
//!
//! The mapping is thin on purpose (the transport interface was shaped after
//! nusb): class requests go to the communication interface's number, the
//! interrupt endpoint always has one transfer in flight, and the bulk pipes
//! are the data interface's (`data.rs`): on mbimd's own usbfs descriptor
//! (`usbfs/`), or nusb endpoints, whose queues already complete in
//! submission order.
//!
//! A stalled interrupt endpoint stays halted until the host clears it, so
//! resubmitting into it would fail forever: the stall is reported once to
//! the caller (the executor counts it as device misbehaviour), the halt is
//! cleared (CLEAR_FEATURE(ENDPOINT_HALT) with nothing in flight, as nusb
//! requires) and the transfer goes back in flight. The clear is a stored
//! future driven by the poll function, so polling never blocks the task.

use super::data::{DataHandle, DataIn, DataOut};
use crate::logging::chain;
use mbim_protocol::ntb::NtbParameters;
use mbim_protocol::usb::{ClassRequest, Notification};
use mbim_transport::{Completion, FunctionTransport, InPipe, OutPipe, Pipe, TransportError};
use nusb::transfer::{
    Buffer, Bulk, ControlIn, ControlOut, ControlType, In, Interrupt, Out, Recipient, TransferError,
};
use nusb::{Endpoint, Interface};
use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

/// How long a class request may take. MBIM functions answer control
/// requests at once (the MBIM-level timeouts are the executor's); a request
/// the device does not answer in this time is a hung device.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest bulk IN transfer a caller may ask for: dwNtbInMaxSize is a
/// u32, but no function offers more than a few hundred KiB, and nusb's buffers
/// are limited to u32 lengths.
const MAX_IN_TRANSFER: usize = 1 << 24;

/// An nusb transfer error as the transport reports it.
pub(crate) fn transfer_error(error: TransferError) -> TransportError {
    match error {
        TransferError::Stall => TransportError::Stall,
        TransferError::Disconnected => TransportError::Disconnected,
        TransferError::Cancelled => TransportError::Cancelled,
        other => TransportError::Other(other.to_string()),
    }
}

/// For control transfers nusb reports its own timeout as a cancellation: no
/// one else cancels them.
pub(crate) fn control_error(error: TransferError) -> TransportError {
    match error {
        TransferError::Cancelled => TransportError::Timeout,
        other => transfer_error(other),
    }
}

/// An nusb error (claiming, alternate settings, opening endpoints).
pub(crate) fn nusb_error(error: &nusb::Error) -> TransportError {
    match error.kind() {
        nusb::ErrorKind::Disconnected => TransportError::Disconnected,
        _ => TransportError::Other(chain(error).to_string()),
    }
}

/// The length to request on an IN endpoint: nusb (like usbfs) wants a
/// nonzero multiple of wMaxPacketSize. Rounding up is harmless: the device
/// never sends more than the NTB input size the host set.
pub(crate) fn in_request_length(length: usize, max_packet_size: usize) -> usize {
    let packet = max_packet_size.max(1);
    let length = length.clamp(1, MAX_IN_TRANSFER);
    length.div_ceil(packet).saturating_mul(packet)
}

/// Whether an OUT transfer of `length` bytes needs a zero-length packet after
/// it (NCM 1.0 §3.2.2): a transfer ending on a packet boundary is otherwise
/// not seen to end, unless it is exactly dwNtbOutMaxSize, which the device
/// knows to be complete. With the maximum unknown, send the ZLP: an extra
/// empty transfer is harmless, a missing one stalls the uplink.
pub(crate) fn needs_zlp(
    length: usize,
    max_packet_size: usize,
    out_max_size: Option<usize>,
) -> bool {
    length > 0
        && max_packet_size > 0
        && length % max_packet_size == 0
        && out_max_size != Some(length)
}

/// A CLEAR_FEATURE(ENDPOINT_HALT) under way. nusb runs it on a blocking
/// thread; its future holds no borrow of the endpoint.
type ClearHalt = Pin<Box<dyn Future<Output = Result<(), nusb::Error>> + Send>>;

/// The interrupt endpoint and the buffer length used on it.
struct NotificationPipe {
    endpoint: Endpoint<Interrupt, In>,
    length: usize,
    /// Set after a stall: no transfer is submitted until the halt is cleared.
    clearing: Option<ClearHalt>,
}

impl NotificationPipe {
    fn keep_in_flight(&mut self) {
        if self.clearing.is_none() && self.endpoint.pending() == 0 {
            self.endpoint.submit(Buffer::new(self.length));
        }
    }

    /// Drives a halt clear to its end; `Ready(Err)` only for a device gone or
    /// a clear that failed (the next poll tries the endpoint again anyway).
    fn poll_clearing(
        &mut self,
        cx: &mut Context<'_>,
        interface: u8,
    ) -> Poll<Result<(), TransportError>> {
        let Some(clearing) = self.clearing.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let result = match clearing.as_mut().poll(cx) {
            Poll::Ready(result) => result,
            Poll::Pending => return Poll::Pending,
        };
        self.clearing = None;
        Poll::Ready(match result {
            Ok(()) => {
                tracing::info!(
                    interface,
                    "notification endpoint: halt cleared, notifications resume"
                );
                Ok(())
            }
            Err(error) => {
                tracing::warn!(
                    interface,
                    "notification endpoint: clearing its halt failed: {}",
                    chain(&error)
                );
                Err(nusb_error(&error))
            }
        })
    }
}

/// One claimed MBIM function.
pub struct NusbFunction {
    /// Before `comm`, so it is released first: nusb's release of the
    /// communication interface lets cdc_mbim bind again, and it claims the
    /// data interface when it does.
    data: DataHandle,
    comm: Interface,
    comm_number: u8,
    /// The data interface's setting that carries MBIM NTBs (1, or 2 on an
    /// NCM/MBIM function).
    data_mbim_setting: u8,
    bulk_in_address: u8,
    bulk_out_address: u8,
    /// Behind a mutex because the transport is shared (`&self`) while an
    /// endpoint needs `&mut`; the lock is held only while polling, never
    /// across an await, so a dropped `next_notification` loses nothing: the
    /// transfer stays in the endpoint's queue.
    notification: Mutex<NotificationPipe>,
    /// dwNtbOutMaxSize, learnt from the GET_NTB_PARAMETERS answer that passes
    /// through [`FunctionTransport::control_in`]; 0 while unknown.
    out_max_size: AtomicU32,
}

impl std::fmt::Debug for NusbFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NusbFunction")
            .field("comm", &self.comm_number)
            .field("data", &self.data.number())
            .field("data_mbim_setting", &self.data_mbim_setting)
            .finish_non_exhaustive()
    }
}

/// Where a function's endpoints are, as its descriptors say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionEndpoints {
    /// The interrupt IN endpoint's address.
    pub notification: u8,
    /// Its wMaxPacketSize (the length of each notification transfer, as
    /// Linux's usbnet uses).
    pub notification_packet_size: u16,
    /// The data interface's MBIM alternate setting.
    pub data_mbim_setting: u8,
    /// The bulk IN endpoint's address.
    pub bulk_in: u8,
    /// The bulk OUT endpoint's address.
    pub bulk_out: u8,
    /// The bulk IN endpoint's wMaxPacketSize.
    pub bulk_in_packet_size: u16,
    /// The bulk OUT endpoint's wMaxPacketSize.
    pub bulk_out_packet_size: u16,
}

impl NusbFunction {
    /// A transport over the claimed interfaces `comm` (at its MBIM setting)
    /// and `data` (at setting 0). Opens the interrupt endpoint and puts the
    /// first notification transfer in flight.
    pub fn new(
        comm: Interface,
        data: DataHandle,
        endpoints: FunctionEndpoints,
    ) -> Result<Self, TransportError> {
        let endpoint = comm
            .endpoint::<Interrupt, In>(endpoints.notification)
            .map_err(|error| nusb_error(&error))?;
        let length = in_request_length(
            usize::from(endpoints.notification_packet_size),
            endpoint.max_packet_size(),
        );
        let mut pipe = NotificationPipe {
            endpoint,
            length,
            clearing: None,
        };
        pipe.keep_in_flight();
        Ok(NusbFunction {
            comm_number: comm.interface_number(),
            comm,
            data,
            data_mbim_setting: endpoints.data_mbim_setting,
            bulk_in_address: endpoints.bulk_in,
            bulk_out_address: endpoints.bulk_out,
            notification: Mutex::new(pipe),
            out_max_size: AtomicU32::new(0),
        })
    }

    fn poll_notification(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Notification, TransportError>> {
        let Ok(mut pipe) = self.notification.lock() else {
            return Poll::Ready(Err(TransportError::Other(
                "the notification endpoint's lock is poisoned".to_owned(),
            )));
        };
        loop {
            match pipe.poll_clearing(cx, self.comm_number) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
            pipe.keep_in_flight();
            let completion = match pipe.endpoint.poll_next_complete(cx) {
                Poll::Ready(completion) => completion,
                Poll::Pending => return Poll::Pending,
            };
            if let Err(error) = completion.status {
                if error == TransferError::Stall && pipe.endpoint.pending() == 0 {
                    tracing::warn!(
                        interface = self.comm_number,
                        "notification endpoint stalled: clearing its halt"
                    );
                    pipe.clearing = Some(Box::pin(pipe.endpoint.clear_halt().into_future()));
                }
                // The next call finishes the clear (if one started) and
                // submits a fresh transfer; after a disconnect there is no
                // next call.
                return Poll::Ready(Err(transfer_error(error)));
            }
            let parsed = Notification::parse(&completion.buffer);
            // Back in flight before anything else, so no notification is
            // missed while the caller handles this one.
            let mut buffer = completion.buffer;
            buffer.clear();
            pipe.endpoint.submit(buffer);
            match parsed {
                Ok(notification) => return Poll::Ready(Ok(notification)),
                Err(error) => {
                    // One bad notification is not worth failing the function
                    // for; RESPONSE_AVAILABLE will come again.
                    tracing::debug!(
                        interface = self.comm_number,
                        "bad notification: {}",
                        chain(&error)
                    );
                }
            }
        }
    }

    fn out_max_size(&self) -> Option<usize> {
        match self.out_max_size.load(Ordering::Relaxed) {
            0 => None,
            size => usize::try_from(size).ok(),
        }
    }
}

impl FunctionTransport for NusbFunction {
    type BulkIn = DataIn;
    type BulkOut = DataOut;

    fn control_out(
        &self,
        request: ClassRequest,
        value: u16,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        let transfer = self.comm.control_out(
            ControlOut {
                control_type: ControlType::Class,
                recipient: Recipient::Interface,
                request: class_request_code(request),
                value,
                index: u16::from(self.comm_number),
                data: &data,
            },
            CONTROL_TIMEOUT,
        );
        async move { transfer.await.map_err(control_error) }
    }

    fn control_in(
        &self,
        request: ClassRequest,
        value: u16,
        length: u16,
    ) -> impl Future<Output = Result<Vec<u8>, TransportError>> + Send {
        let transfer = self.comm.control_in(
            ControlIn {
                control_type: ControlType::Class,
                recipient: Recipient::Interface,
                request: class_request_code(request),
                value,
                index: u16::from(self.comm_number),
                length,
            },
            CONTROL_TIMEOUT,
        );
        let out_max_size = &self.out_max_size;
        async move {
            let data = transfer.await.map_err(control_error)?;
            if request == ClassRequest::GetNtbParameters {
                if let Ok(parameters) = NtbParameters::parse(&data) {
                    out_max_size.store(parameters.out_max_size, Ordering::Relaxed);
                }
            }
            Ok(data)
        }
    }

    fn next_notification(
        &self,
    ) -> impl Future<Output = Result<Notification, TransportError>> + Send {
        std::future::poll_fn(move |cx| self.poll_notification(cx))
    }

    fn set_data_alt_setting(
        &self,
        alt: u8,
    ) -> impl Future<Output = Result<(), TransportError>> + Send {
        // The transport's "1" means "the data pipes open": on an NCM/MBIM
        // function that is the MBIM setting, 2.
        let setting = if alt == 0 { 0 } else { self.data_mbim_setting };
        self.data.set_alt_setting(setting)
    }

    fn take_data_pipes(&self) -> Result<(Self::BulkIn, Self::BulkOut), TransportError> {
        self.data.take_pipes(
            self.bulk_in_address,
            self.bulk_out_address,
            self.out_max_size(),
        )
    }
}

fn class_request_code(request: ClassRequest) -> u8 {
    u8::try_from(u32::from(request)).unwrap_or(u8::MAX)
}

fn completion(completion: nusb::transfer::Completion) -> Completion {
    Completion {
        // Zero-cost: the buffer came from a Vec (the default allocator).
        buffer: completion.buffer.into_vec(),
        status: completion.status.map_err(transfer_error),
    }
}

/// The bulk IN pipe of an [`NusbFunction`] whose data interface is nusb's.
#[derive(Debug)]
pub struct NusbBulkIn {
    endpoint: Endpoint<Bulk, In>,
}

impl NusbBulkIn {
    pub(crate) fn new(endpoint: Endpoint<Bulk, In>) -> Self {
        NusbBulkIn { endpoint }
    }
}

impl Pipe for NusbBulkIn {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        if self.endpoint.pending() == 0 {
            // nusb panics when asked with nothing pending; the trait says
            // "never resolves" instead.
            return std::future::pending().await;
        }
        completion(self.endpoint.next_complete().await)
    }

    fn pending(&self) -> usize {
        self.endpoint.pending()
    }

    fn cancel_all(&mut self) {
        self.endpoint.cancel_all();
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        self.endpoint
            .clear_halt()
            .await
            .map_err(|error| nusb_error(&error))
    }
}

impl InPipe for NusbBulkIn {
    fn submit(&mut self, mut buffer: Vec<u8>, length: usize) {
        let requested = in_request_length(length, self.endpoint.max_packet_size());
        buffer.clear();
        buffer.reserve(requested);
        // The Vec's own allocation is the transfer buffer, and comes back as
        // the completion's Vec: no copy on the way in or out.
        let mut transfer = Buffer::from(buffer);
        transfer.set_requested_len(requested.min(transfer.capacity()));
        self.endpoint.submit(transfer);
    }
}

/// The bulk OUT pipe of an [`NusbFunction`]. nusb has no ZLP flag, so a
/// transfer that needs a zero-length packet is followed by an empty
/// transfer; callers see one completion per [`OutPipe::submit`].
#[derive(Debug)]
pub struct NusbBulkOut {
    endpoint: Endpoint<Bulk, Out>,
    out_max_size: Option<usize>,
    /// Per submitted transfer, oldest first: whether an empty transfer
    /// follows it in the endpoint's queue.
    submitted: VecDeque<bool>,
    /// The data transfer's completion while its ZLP is awaited, kept here
    /// so a dropped `next_complete` loses nothing.
    held: Option<Completion>,
}

impl NusbBulkOut {
    pub(crate) fn new(endpoint: Endpoint<Bulk, Out>, out_max_size: Option<usize>) -> Self {
        NusbBulkOut {
            endpoint,
            out_max_size,
            submitted: VecDeque::new(),
            held: None,
        }
    }
}

impl Pipe for NusbBulkOut {
    type Buffer = Vec<u8>;

    async fn next_complete(&mut self) -> Completion {
        let Some(&zlp) = self.submitted.front() else {
            return std::future::pending().await;
        };
        if self.held.is_none() {
            self.held = Some(completion(self.endpoint.next_complete().await));
        }
        if zlp {
            let end = self.endpoint.next_complete().await;
            if let Some(held) = self.held.as_mut() {
                if held.status.is_ok() {
                    held.status = end.status.map_err(transfer_error);
                }
            }
        }
        self.submitted.pop_front();
        self.held.take().unwrap_or(Completion {
            buffer: Vec::new(),
            status: Err(TransportError::Other("lost completion".to_owned())),
        })
    }

    fn pending(&self) -> usize {
        self.submitted.len()
    }

    fn cancel_all(&mut self) {
        self.endpoint.cancel_all();
    }

    async fn clear_halt(&mut self) -> Result<(), TransportError> {
        self.endpoint
            .clear_halt()
            .await
            .map_err(|error| nusb_error(&error))
    }
}

impl OutPipe for NusbBulkOut {
    fn submit(&mut self, data: Vec<u8>) {
        let zlp = needs_zlp(
            data.len(),
            self.endpoint.max_packet_size(),
            self.out_max_size,
        );
        self.endpoint.submit(Buffer::from(data));
        if zlp {
            self.endpoint.submit(Buffer::from(Vec::<u8>::new()));
        }
        self.submitted.push_back(zlp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_errors_map_to_the_transport_s() {
        assert_eq!(transfer_error(TransferError::Stall), TransportError::Stall);
        assert_eq!(
            transfer_error(TransferError::Disconnected),
            TransportError::Disconnected
        );
        assert_eq!(
            transfer_error(TransferError::Cancelled),
            TransportError::Cancelled
        );
        assert!(matches!(
            transfer_error(TransferError::Fault),
            TransportError::Other(_)
        ));
        assert!(matches!(
            transfer_error(TransferError::Unknown(5)),
            TransportError::Other(_)
        ));
        assert_eq!(
            control_error(TransferError::Cancelled),
            TransportError::Timeout
        );
        assert_eq!(control_error(TransferError::Stall), TransportError::Stall);
    }

    #[test]
    fn in_requests_are_whole_packets() {
        assert_eq!(in_request_length(16384, 512), 16384);
        assert_eq!(in_request_length(16385, 512), 16896);
        assert_eq!(in_request_length(0, 64), 64);
        assert_eq!(in_request_length(8, 64), 64);
        assert_eq!(in_request_length(100, 0), 100);
        assert_eq!(in_request_length(usize::MAX, 512), MAX_IN_TRANSFER);
    }

    #[test]
    fn a_zlp_ends_transfers_on_a_packet_boundary_below_the_maximum() {
        assert!(needs_zlp(512, 512, Some(16384)));
        assert!(needs_zlp(1024, 512, None));
        assert!(!needs_zlp(16384, 512, Some(16384)));
        assert!(needs_zlp(16384, 512, None));
        assert!(!needs_zlp(513, 512, Some(16384)));
        assert!(!needs_zlp(0, 512, Some(16384)));
        assert!(!needs_zlp(64, 0, None));
    }

    #[test]
    fn class_request_codes_are_the_wire_s() {
        assert_eq!(
            class_request_code(ClassRequest::SendEncapsulatedCommand),
            0x00
        );
        assert_eq!(
            class_request_code(ClassRequest::GetEncapsulatedResponse),
            0x01
        );
        assert_eq!(class_request_code(ClassRequest::GetNtbParameters), 0x80);
        assert_eq!(class_request_code(ClassRequest::SetNtbInputSize), 0x86);
    }
}
