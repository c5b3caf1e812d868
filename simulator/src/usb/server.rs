//! The USB/IP server: makes a [`SimModem`] a USB device to whoever speaks
//! USB/IP — the kernel's vhci-hcd (through `usbip attach` or a direct
//! attach) or a test acting as vhci.
//!
//! One imported device is one URB session ([`SimUsbDevice::serve_urbs`]):
//!
//! * a reader decodes `CMD_SUBMIT`/`CMD_UNLINK`; control transfers and bulk
//!   OUT complete at once (EP0 standard requests here, class requests in
//!   [`SimFunction::class_request`]);
//! * IN URBs (interrupt and bulk) are queued per endpoint and held; one task
//!   per IN endpoint waits on [`SimFunction::next_notification`] /
//!   [`SimFunction::next_bulk_in`] while a URB is queued and completes the
//!   oldest one. A fetch is never cancelled: if its URB is unlinked
//!   meanwhile, the data goes to the next URB, as a real device's FIFO would
//!   deliver it, so no notification or NTB is lost to a cancelled read;
//! * a writer task owns the socket's write half, so replies from the reader
//!   and the endpoint tasks never interleave.
//!
//! The session ends when the client closes the connection or the modem is
//! unplugged; the server then closes the socket, which vhci-hcd reports as a
//! disconnect.

use super::descriptors::{
    DescriptorBuildError, DeviceIdentity, FunctionLayout, MbimFunctionParams, UsbDescriptors,
    CONFIGURATION_VALUE, DT_CONFIGURATION, DT_DEVICE, DT_STRING,
};
use super::usbip::{
    errno, CmdSubmit, CmdUnlink, DevListEntry, Direction, OpHeader, OpReply, OpRequest, RetUnlink,
    UrbCommand, UrbReply, UsbDevice, UsbInterface, UsbipError, OP_HEADER_LEN, URB_HEADER_LEN,
    USB_SPEED_HIGH,
};
use crate::control::Endpoint;
use crate::device::{EndpointError, FunctionConfig, SimFunction, SimModem};
use mbim_protocol::usb::SetupPacket;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// The bus id the device is exported as (`usbip attach -b 1-1`).
pub const BUSID: &str = "1-1";
/// Bus number in `struct usb_device` and in the devid.
pub const BUSNUM: u32 = 1;
/// Device number in `struct usb_device` and in the devid.
pub const DEVNUM: u32 = 2;

/// Standard request codes (USB 2.0 Table 9-4).
mod request {
    pub(super) const GET_STATUS: u8 = 0x00;
    pub(super) const CLEAR_FEATURE: u8 = 0x01;
    pub(super) const SET_FEATURE: u8 = 0x03;
    pub(super) const SET_ADDRESS: u8 = 0x05;
    pub(super) const GET_DESCRIPTOR: u8 = 0x06;
    pub(super) const GET_CONFIGURATION: u8 = 0x08;
    pub(super) const SET_CONFIGURATION: u8 = 0x09;
    pub(super) const GET_INTERFACE: u8 = 0x0A;
    pub(super) const SET_INTERFACE: u8 = 0x0B;
}

/// Feature selector ENDPOINT_HALT.
const ENDPOINT_HALT: u16 = 0;

/// Why the server stopped.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The descriptors could not be built from the scenario.
    #[error("building the USB descriptors: {0}")]
    Descriptors(#[from] DescriptorBuildError),
    /// The client sent something that is not USB/IP.
    #[error("USB/IP protocol error from the client: {0}")]
    Protocol(#[from] UsbipError),
    /// The socket failed.
    #[error("USB/IP socket: {0}")]
    Io(#[from] std::io::Error),
}

/// How a URB session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// The client closed the connection (vhci detached).
    ClientClosed,
    /// The modem was unplugged; the server closed the connection.
    Unplugged,
    /// Writing to the client failed.
    WriteFailed,
}

/// A [`SimModem`] as a USB device: its descriptors and its functions.
pub struct SimUsbDevice {
    modem: SimModem,
    functions: Vec<SimFunction>,
    descriptors: Arc<UsbDescriptors>,
    /// Whether a client has the device imported (one at a time, as usbipd).
    imported: AtomicBool,
}

/// The descriptor parameters of a function as the device model sets them.
fn params_of(config: &FunctionConfig) -> MbimFunctionParams {
    MbimFunctionParams {
        max_control_message: config.max_control_message,
        max_segment_size: config.max_segment_size,
        mbim_version: config.mbim_version,
        extended_version: config.extended_version,
        max_outstanding_commands: config.max_outstanding_commands,
        mtu: config.mtu,
        network_capabilities: config.network_capabilities,
        number_filters: config.number_filters,
        max_filter_size: config.max_filter_size,
    }
}

impl SimUsbDevice {
    /// The USB face of `modem`: ids and strings from its scenario, one MBIM
    /// function per executor.
    pub fn new(modem: SimModem) -> Result<Self, ServerError> {
        let scenario = modem.scenario();
        let identity = DeviceIdentity {
            vendor_id: scenario.usb.vid,
            product_id: scenario.usb.pid,
            bcd_device: DeviceIdentity::default().bcd_device,
            manufacturer: scenario.usb.manufacturer.clone(),
            product: scenario.usb.product.clone(),
            serial: scenario.usb.serial.clone(),
        };
        let functions: Vec<SimFunction> = (0..modem.function_count())
            .filter_map(|i| modem.function(i))
            .collect();
        let params: Vec<MbimFunctionParams> =
            functions.iter().map(|f| params_of(&f.config())).collect();
        let descriptors = Arc::new(UsbDescriptors::build(&identity, &params)?);
        Ok(SimUsbDevice {
            modem,
            functions,
            descriptors,
            imported: AtomicBool::new(false),
        })
    }

    /// The descriptors the device answers with.
    pub fn descriptors(&self) -> &UsbDescriptors {
        &self.descriptors
    }

    /// The modem behind the device.
    pub fn modem(&self) -> &SimModem {
        &self.modem
    }

    /// `struct usb_device` for `OP_REP_DEVLIST` and `OP_REP_IMPORT`.
    pub fn usbip_device(&self) -> UsbDevice {
        let identity = self.descriptors.identity();
        UsbDevice {
            path: format!("/sys/devices/platform/mbim-sim/{BUSID}"),
            busid: BUSID.to_owned(),
            busnum: BUSNUM,
            devnum: DEVNUM,
            speed: USB_SPEED_HIGH,
            vendor_id: identity.vendor_id,
            product_id: identity.product_id,
            bcd_device: identity.bcd_device,
            device_class: 0xEF,
            device_subclass: 0x02,
            device_protocol: 0x01,
            configuration_value: CONFIGURATION_VALUE,
            num_configurations: 1,
            num_interfaces: self.descriptors.num_interfaces(),
        }
    }

    fn devlist_entry(&self) -> DevListEntry {
        DevListEntry {
            device: self.usbip_device(),
            interfaces: self
                .descriptors
                .interface_classes()
                .into_iter()
                .map(|(class, subclass, protocol)| UsbInterface {
                    class,
                    subclass,
                    protocol,
                })
                .collect(),
        }
    }

    /// Serves URBs on `stream` (after an import, or on a vhci socket) until
    /// the client closes it or the modem is unplugged, then closes it.
    /// The functions are reset afterwards, so a new session starts fresh.
    pub async fn serve_urbs<S>(&self, stream: S) -> Result<SessionEnd, ServerError>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut reader, writer) = tokio::io::split(stream);
        let (tx, rx) = mpsc::unbounded_channel();
        let session = Arc::new(Session::new(tx, &self.descriptors));
        let mut tasks = JoinSet::new();
        tasks.spawn(write_loop(writer, rx, session.clone()));
        for (layout, function) in self.descriptors.layouts().iter().zip(&self.functions) {
            for (address, kind) in [
                (layout.notification_endpoint, InKind::Notification),
                (layout.bulk_in_endpoint, InKind::BulkIn),
            ] {
                tasks.spawn(in_endpoint_task(
                    session.clone(),
                    function.clone(),
                    address,
                    kind,
                ));
            }
        }
        info!(functions = self.functions.len(), "USB/IP session started");
        let result = tokio::select! {
            end = self.read_loop(&mut reader, &session) => end,
            () = self.modem.unplugged() => Ok(SessionEnd::Unplugged),
            end = session.ended() => Ok(end),
        };
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        drop(reader);
        for function in &self.functions {
            function.set_data_alt_setting(0);
            function.reset();
        }
        match &result {
            Ok(end) => info!(?end, "USB/IP session ended"),
            Err(error) => warn!(%error, "USB/IP session failed"),
        }
        result
    }

    async fn read_loop<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        session: &Session,
    ) -> Result<SessionEnd, ServerError> {
        loop {
            let mut header = [0u8; URB_HEADER_LEN];
            match reader.read_exact(&mut header).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(SessionEnd::ClientClosed)
                }
                Err(e) => return Err(e.into()),
            }
            match UrbCommand::decode(&header)? {
                UrbCommand::Submit(cmd) => {
                    let mut data = vec![0u8; cmd.out_data_len()];
                    reader.read_exact(&mut data).await?;
                    // No endpoint is isochronous; the descriptors are read only to stay in frame.
                    let mut iso = vec![0u8; cmd.iso_len()];
                    reader.read_exact(&mut iso).await?;
                    self.submit(session, &cmd, data);
                }
                UrbCommand::Unlink(cmd) => session.unlink(&cmd),
            }
        }
    }

    fn submit(&self, session: &Session, cmd: &CmdSubmit, data: Vec<u8>) {
        if cmd.ep == 0 {
            self.control(session, cmd, &data);
            return;
        }
        let address = match cmd.direction {
            Direction::In => 0x80 | cmd.ep,
            Direction::Out => cmd.ep,
        };
        let Some(layout) = self.descriptors.function_of_endpoint(address) else {
            debug!(seqnum = cmd.seqnum, address, "URB to an unknown endpoint");
            session.complete(cmd.seqnum, -errno::EPIPE, &[]);
            return;
        };
        if session.is_halted(address) {
            session.complete(cmd.seqnum, -errno::EPIPE, &[]);
            return;
        }
        if address == layout.bulk_out_endpoint {
            let Some(function) = self.functions.get(layout.index) else {
                session.complete(cmd.seqnum, -errno::EPIPE, &[]);
                return;
            };
            debug!(seqnum = cmd.seqnum, address, len = data.len(), "bulk OUT");
            match function.bulk_out(&data) {
                Ok(()) => session.complete_out(cmd.seqnum, 0, data.len()),
                // Only control transfers go unanswered.
                Err(EndpointError::Stall | EndpointError::Unanswered) => {
                    session.halt(address);
                    session.complete(cmd.seqnum, -errno::EPIPE, &[]);
                }
                Err(EndpointError::Unplugged) => {
                    session.complete(cmd.seqnum, -errno::ESHUTDOWN, &[]);
                    session.end(SessionEnd::Unplugged);
                }
            }
        } else {
            debug!(
                seqnum = cmd.seqnum,
                address,
                len = cmd.in_len(),
                "IN URB held"
            );
            session.queue_in(address, cmd.seqnum, cmd.in_len());
        }
    }

    /// A control transfer on endpoint 0.
    fn control(&self, session: &Session, cmd: &CmdSubmit, data: &[u8]) {
        let Some(setup) = SetupPacket::parse(&cmd.setup) else {
            session.complete(cmd.seqnum, -errno::EPIPE, &[]);
            return;
        };
        let result = match (setup.request_type >> 5) & 0x03 {
            0 => self.standard_request(session, &setup),
            1 => self.class_request(session, &setup, data),
            _ => Err(Refusal::Stall),
        };
        match result {
            Ok(reply) => {
                debug!(
                    seqnum = cmd.seqnum,
                    request_type = setup.request_type,
                    request = setup.request,
                    value = setup.value,
                    index = setup.index,
                    reply_len = reply.len(),
                    "control"
                );
                if cmd.direction == Direction::In {
                    let limit = usize::from(setup.length).min(cmd.in_len());
                    session.complete(cmd.seqnum, 0, reply.get(..limit).unwrap_or(&reply));
                } else {
                    session.complete_out(cmd.seqnum, 0, data.len());
                }
            }
            Err(Refusal::Stall) => {
                debug!(
                    seqnum = cmd.seqnum,
                    request_type = setup.request_type,
                    request = setup.request,
                    value = setup.value,
                    index = setup.index,
                    "control request stalled"
                );
                session.complete(cmd.seqnum, -errno::EPIPE, &[]);
            }
            Err(Refusal::Unanswered) => {
                debug!(seqnum = cmd.seqnum, "control request left unanswered");
                session.hold_unanswered(cmd.seqnum);
            }
        }
    }

    /// A real device's halted endpoint works again once the host clears it;
    /// so does the simulated function's (its `stall-endpoint` fault).
    fn clear_function_halt(&self, address: u8) {
        let Some(layout) = self.descriptors.function_of_endpoint(address) else {
            return;
        };
        let endpoint = if address == layout.bulk_in_endpoint {
            Endpoint::BulkIn
        } else if address == layout.bulk_out_endpoint {
            Endpoint::BulkOut
        } else {
            Endpoint::Interrupt
        };
        if let Some(function) = self.functions.get(layout.index) {
            function.clear_halt(endpoint);
        }
    }

    fn standard_request(&self, session: &Session, setup: &SetupPacket) -> Result<Vec<u8>, Refusal> {
        let recipient = setup.request_type & 0x1F;
        let [index_low, _] = setup.index.to_le_bytes();
        let [descriptor_index, descriptor_type] = setup.value.to_le_bytes();
        match setup.request {
            request::GET_STATUS => match recipient {
                // Endpoint: bit 0 is Halt.
                2 => Ok(vec![u8::from(session.is_halted(index_low)), 0]),
                // Device (bus-powered, no remote wakeup) and interfaces: all zero.
                _ => Ok(vec![0, 0]),
            },
            request::CLEAR_FEATURE | request::SET_FEATURE => {
                if recipient == 2 && setup.value == ENDPOINT_HALT {
                    if setup.request == request::SET_FEATURE {
                        session.halt(index_low);
                    } else {
                        session.clear_halt(index_low);
                        self.clear_function_halt(index_low);
                    }
                }
                Ok(Vec::new())
            }
            // vhci-hcd assigns addresses itself; accept one if it is forwarded.
            request::SET_ADDRESS => Ok(Vec::new()),
            request::GET_DESCRIPTOR => match descriptor_type {
                DT_DEVICE => Ok(self.descriptors.device().to_vec()),
                DT_CONFIGURATION if descriptor_index == 0 => {
                    Ok(self.descriptors.configuration().to_vec())
                }
                DT_STRING => self
                    .descriptors
                    .string(descriptor_index)
                    .ok_or(Refusal::Stall),
                // Device qualifier, BOS, …: a high-speed-only USB 2.0 device has none.
                _ => Err(Refusal::Stall),
            },
            request::GET_CONFIGURATION => Ok(vec![session.configuration()]),
            request::SET_CONFIGURATION => {
                let value = u8::try_from(setup.value).map_err(|_| Refusal::Stall)?;
                if value != 0 && value != CONFIGURATION_VALUE {
                    return Err(Refusal::Stall);
                }
                info!(configuration = value, "SET_CONFIGURATION");
                session.set_configuration(value);
                // MBIM's RESET_FUNCTION is defined as "back to the state after
                // SET_CONFIGURATION", so a (re)configuration resets every function.
                for function in &self.functions {
                    function.set_data_alt_setting(0);
                    function.reset();
                }
                Ok(Vec::new())
            }
            request::GET_INTERFACE => {
                let layout = self
                    .descriptors
                    .function_of_interface(index_low)
                    .ok_or(Refusal::Stall)?;
                if index_low == layout.data_interface {
                    Ok(vec![session.data_alt(layout.index)])
                } else {
                    Ok(vec![0])
                }
            }
            request::SET_INTERFACE => {
                let layout = *self
                    .descriptors
                    .function_of_interface(index_low)
                    .ok_or(Refusal::Stall)?;
                let alt = u8::try_from(setup.value).map_err(|_| Refusal::Stall)?;
                if index_low == layout.comm_interface {
                    return if alt == 0 {
                        Ok(Vec::new())
                    } else {
                        Err(Refusal::Stall)
                    };
                }
                if alt > 1 {
                    return Err(Refusal::Stall);
                }
                info!(
                    function = layout.index,
                    interface = index_low,
                    alt,
                    "SET_INTERFACE"
                );
                session.set_data_alt(&layout, alt);
                if let Some(function) = self.functions.get(layout.index) {
                    function.set_data_alt_setting(alt);
                }
                Ok(Vec::new())
            }
            _ => Err(Refusal::Stall),
        }
    }

    fn class_request(
        &self,
        session: &Session,
        setup: &SetupPacket,
        data: &[u8],
    ) -> Result<Vec<u8>, Refusal> {
        // Class requests of an MBIM function go to an interface (recipient 1).
        if setup.request_type & 0x1F != 1 {
            return Err(Refusal::Stall);
        }
        let [interface, _] = setup.index.to_le_bytes();
        let layout = self
            .descriptors
            .function_of_interface(interface)
            .ok_or(Refusal::Stall)?;
        let function = self.functions.get(layout.index).ok_or(Refusal::Stall)?;
        match function.class_request(*setup, data) {
            Ok(reply) => Ok(reply),
            Err(EndpointError::Stall) => Err(Refusal::Stall),
            Err(EndpointError::Unanswered) => Err(Refusal::Unanswered),
            Err(EndpointError::Unplugged) => {
                session.end(SessionEnd::Unplugged);
                Err(Refusal::Stall)
            }
        }
    }
}

/// A control request the device does not complete normally.
enum Refusal {
    /// Answered with STALL (`-EPIPE`).
    Stall,
    /// Not answered at all (`hang-control`): the URB stays pending until the
    /// host unlinks it.
    Unanswered,
}

/// What an IN endpoint carries.
#[derive(Debug, Clone, Copy)]
enum InKind {
    Notification,
    BulkIn,
}

/// The IN URBs held for one endpoint.
#[derive(Default)]
struct InQueue {
    /// (seqnum, transfer length) of held URBs, oldest first.
    pending: VecDeque<(u32, usize)>,
    /// Data fetched for a URB that was unlinked while it was being fetched.
    leftover: VecDeque<Vec<u8>>,
}

#[derive(Default)]
struct SessionState {
    configuration: u8,
    data_alt: HashMap<usize, u8>,
    halted: HashSet<u8>,
    queues: HashMap<u8, InQueue>,
    /// Control URBs left unanswered (`hang-control`), until unlinked.
    unanswered: HashSet<u32>,
    end: Option<SessionEnd>,
}

/// State shared by the reader, the endpoint tasks and the writer of one session.
struct Session {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    state: Mutex<SessionState>,
    wake: HashMap<u8, Arc<Notify>>,
    ended: Notify,
}

impl Session {
    fn new(tx: mpsc::UnboundedSender<Vec<u8>>, descriptors: &UsbDescriptors) -> Self {
        let wake = descriptors
            .layouts()
            .iter()
            .flat_map(|l| [l.notification_endpoint, l.bulk_in_endpoint])
            .map(|address| (address, Arc::new(Notify::new())))
            .collect();
        Session {
            tx,
            state: Mutex::new(SessionState::default()),
            wake,
            ended: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // A panic elsewhere cannot leave the plain data inconsistent; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, bytes: Vec<u8>) {
        // The writer only goes away when the session is ending.
        let _ = self.tx.send(bytes);
    }

    fn complete(&self, seqnum: u32, status: i32, data: &[u8]) {
        self.send(UrbReply::submit_with_data(seqnum, status, data));
    }

    fn complete_out(&self, seqnum: u32, status: i32, written: usize) {
        let len = u32::try_from(written).unwrap_or(u32::MAX);
        let reply = UrbReply::Submit(super::usbip::RetSubmit::new(seqnum, status, len));
        self.send(reply.encode().to_vec());
    }

    fn end(&self, end: SessionEnd) {
        let mut state = self.lock();
        if state.end.is_none() {
            state.end = Some(end);
        }
        drop(state);
        self.ended.notify_one();
    }

    async fn ended(&self) -> SessionEnd {
        loop {
            if let Some(end) = self.lock().end {
                return end;
            }
            self.ended.notified().await;
        }
    }

    fn configuration(&self) -> u8 {
        self.lock().configuration
    }

    fn set_configuration(&self, value: u8) {
        let mut state = self.lock();
        state.configuration = value;
        state.data_alt.clear();
        state.halted.clear();
        for queue in state.queues.values_mut() {
            queue.leftover.clear();
        }
    }

    fn data_alt(&self, function: usize) -> u8 {
        self.lock().data_alt.get(&function).copied().unwrap_or(0)
    }

    fn set_data_alt(&self, layout: &FunctionLayout, alt: u8) {
        let mut state = self.lock();
        state.data_alt.insert(layout.index, alt);
        // Selecting a setting resets its endpoints' halt state (USB 2.0 §9.4.10).
        state.halted.remove(&layout.bulk_in_endpoint);
        state.halted.remove(&layout.bulk_out_endpoint);
        if let Some(queue) = state.queues.get_mut(&layout.bulk_in_endpoint) {
            queue.leftover.clear();
        }
    }

    fn is_halted(&self, address: u8) -> bool {
        self.lock().halted.contains(&address)
    }

    /// Halts an endpoint: its held URBs fail with `-EPIPE`, and so do new
    /// ones until CLEAR_FEATURE(ENDPOINT_HALT).
    fn halt(&self, address: u8) {
        let mut state = self.lock();
        state.halted.insert(address);
        let failed: Vec<u32> = state
            .queues
            .get_mut(&address)
            .map(|q| q.pending.drain(..).map(|(seqnum, _)| seqnum).collect())
            .unwrap_or_default();
        drop(state);
        for seqnum in failed {
            self.complete(seqnum, -errno::EPIPE, &[]);
        }
    }

    fn clear_halt(&self, address: u8) {
        self.lock().halted.remove(&address);
        self.wake_endpoint(address);
    }

    fn wake_endpoint(&self, address: u8) {
        if let Some(wake) = self.wake.get(&address) {
            wake.notify_one();
        }
    }

    fn queue_in(&self, address: u8, seqnum: u32, len: usize) {
        self.lock()
            .queues
            .entry(address)
            .or_default()
            .pending
            .push_back((seqnum, len));
        self.wake_endpoint(address);
    }

    /// A control URB the device does not answer: it stays pending until
    /// the host gives up on it (CMD_UNLINK).
    fn hold_unanswered(&self, seqnum: u32) {
        // Bounded by the host: each held URB is one it submitted and has
        // not unlinked yet.
        self.lock().unanswered.insert(seqnum);
    }

    fn unlink(&self, cmd: &CmdUnlink) {
        let mut state = self.lock();
        let found = state.unanswered.remove(&cmd.unlink_seqnum)
            || state.queues.values_mut().any(|q| {
                let before = q.pending.len();
                q.pending.retain(|(seqnum, _)| *seqnum != cmd.unlink_seqnum);
                q.pending.len() != before
            });
        drop(state);
        debug!(
            seqnum = cmd.seqnum,
            unlink = cmd.unlink_seqnum,
            found,
            "unlink"
        );
        // Found: the URB is cancelled and gets no RET_SUBMIT. Not found: its
        // RET_SUBMIT is already queued ahead of this reply.
        let status = if found { -errno::ECONNRESET } else { 0 };
        let reply = UrbReply::Unlink(RetUnlink {
            seqnum: cmd.seqnum,
            status,
        });
        self.send(reply.encode().to_vec());
    }

    /// The transfer length of the oldest held URB of `address`, after
    /// handing any leftover data to held URBs; `None` if none is held.
    fn next_wanted(&self, address: u8) -> Option<usize> {
        let mut state = self.lock();
        if state.halted.contains(&address) {
            return None;
        }
        let queue = state.queues.entry(address).or_default();
        let mut ready = Vec::new();
        while !queue.leftover.is_empty() && !queue.pending.is_empty() {
            if let (Some(data), Some((seqnum, len))) =
                (queue.leftover.pop_front(), queue.pending.pop_front())
            {
                ready.push((seqnum, len, data));
            }
        }
        let wanted = queue.pending.front().map(|&(_, len)| len);
        drop(state);
        for (seqnum, len, data) in ready {
            self.complete(seqnum, 0, data.get(..len).unwrap_or(&data));
        }
        wanted
    }

    /// Completes the oldest held URB of `address` with `data` (copied into
    /// the reply; the buffer stays the caller's, for the next transfer), or
    /// keeps the data for the next URB if its URB was unlinked meanwhile.
    fn deliver(&self, address: u8, data: &mut Vec<u8>) {
        let mut state = self.lock();
        let queue = state.queues.entry(address).or_default();
        match queue.pending.pop_front() {
            Some((seqnum, len)) => {
                drop(state);
                if data.len() > len {
                    warn!(
                        address,
                        len,
                        have = data.len(),
                        "IN data truncated to the URB"
                    );
                }
                debug!(
                    seqnum,
                    address,
                    len = data.len().min(len),
                    "IN URB completed"
                );
                self.complete(seqnum, 0, data.get(..len).unwrap_or(data));
            }
            None => queue.leftover.push_back(std::mem::take(data)),
        }
    }
}

/// Feeds one IN endpoint: while a URB is held, fetch from the function and
/// complete it.
async fn in_endpoint_task(session: Arc<Session>, function: SimFunction, address: u8, kind: InKind) {
    let Some(wake) = session.wake.get(&address).cloned() else {
        return;
    };
    // Bulk IN blocks trade places with this buffer in the modem (a block
    // built ahead is not copied), so it is kept from one transfer to the next.
    let mut buffer = Vec::new();
    loop {
        let Some(max_len) = session.next_wanted(address) else {
            wake.notified().await;
            continue;
        };
        let fetched = match kind {
            InKind::Notification => function
                .next_notification()
                .await
                .map(|n| buffer = n.emit()),
            InKind::BulkIn => function.next_bulk_in_into(max_len, &mut buffer).await,
        };
        match fetched {
            Ok(()) => session.deliver(address, &mut buffer),
            // Only control transfers go unanswered.
            Err(EndpointError::Stall | EndpointError::Unanswered) => {
                debug!(address, "IN endpoint stalled");
                session.halt(address);
            }
            Err(EndpointError::Unplugged) => {
                session.end(SessionEnd::Unplugged);
                return;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite>(
    writer: W,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    session: Arc<Session>,
) {
    let mut writer = std::pin::pin!(writer);
    while let Some(bytes) = rx.recv().await {
        if let Err(error) = writer.write_all(&bytes).await {
            warn!(%error, "writing to the USB/IP client failed");
            session.end(SessionEnd::WriteFailed);
            return;
        }
    }
}

/// Serves USB/IP on `listener` like usbipd: `OP_REQ_DEVLIST` lists the
/// device, `OP_REQ_IMPORT` of [`BUSID`] attaches it (one client at a time).
/// Returns when the modem is unplugged.
pub async fn serve_tcp(
    listener: TcpListener,
    device: Arc<SimUsbDevice>,
) -> Result<(), ServerError> {
    if let Ok(address) = listener.local_addr() {
        info!(%address, busid = BUSID, "USB/IP server listening");
    }
    loop {
        tokio::select! {
            () = device.modem.unplugged() => {
                info!("modem unplugged; USB/IP server stops");
                return Ok(());
            }
            accepted = listener.accept() => {
                let (stream, peer) = accepted?;
                debug!(%peer, "USB/IP client connected");
                let device = device.clone();
                tokio::spawn(async move {
                    if let Err(error) = handle_client(stream, &device).await {
                        warn!(%error, "USB/IP client");
                    }
                });
            }
        }
    }
}

/// One usbipd connection: an operation request, then URBs if it imports.
async fn handle_client(mut stream: TcpStream, device: &SimUsbDevice) -> Result<(), ServerError> {
    // URBs are small and latency-bound (RESPONSE_AVAILABLE, control replies).
    stream.set_nodelay(true)?;
    let mut header = [0u8; OP_HEADER_LEN];
    stream.read_exact(&mut header).await?;
    let header = OpHeader::decode(&header)?;
    let mut body = vec![0u8; OpRequest::body_len(&header)?];
    stream.read_exact(&mut body).await?;
    match OpRequest::decode(&header, &body)? {
        OpRequest::DevList => {
            let entries = if device.modem.is_unplugged() {
                Vec::new()
            } else {
                vec![device.devlist_entry()]
            };
            stream
                .write_all(&OpReply::DevList(entries).encode()?)
                .await?;
            Ok(())
        }
        OpRequest::Import { busid } => {
            let refuse = busid != BUSID
                || device.modem.is_unplugged()
                || device.imported.swap(true, Ordering::SeqCst);
            if refuse {
                info!(%busid, "import refused");
                stream.write_all(&OpReply::Import(None).encode()?).await?;
                return Ok(());
            }
            let reply = OpReply::Import(Some(device.usbip_device())).encode();
            let result = match reply {
                Ok(bytes) => match stream.write_all(&bytes).await {
                    Ok(()) => {
                        info!(%busid, "device imported");
                        device.serve_urbs(stream).await.map(|_| ())
                    }
                    Err(e) => Err(e.into()),
                },
                Err(e) => Err(e.into()),
            };
            device.imported.store(false, Ordering::SeqCst);
            result
        }
    }
}
