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
//!
//! The module map: this file holds the device and one URB session's
//! reader, which routes each URB to its endpoint; `control.rs` answers
//! endpoint 0 (the standard requests, and the class requests handed to the
//! function); `session.rs` is the session's state, its IN endpoints' tasks
//! and its writer; `usbipd.rs` the TCP server's operation phase (device
//! list and import) before a session.

mod control;
mod session;
mod usbipd;

pub use usbipd::serve_tcp;

use session::{in_endpoint_task, write_loop, InKind, Session};

use super::descriptors::{
    DescriptorBuildError, DeviceIdentity, MbimFunctionParams, UsbDescriptors, CONFIGURATION_VALUE,
};
use super::usbip::{
    errno, CmdSubmit, DevListEntry, Direction, UrbCommand, UsbDevice, UsbInterface, UsbipError,
    URB_HEADER_LEN, USB_SPEED_HIGH,
};
use crate::device::{EndpointError, FunctionConfig, SimFunction, SimModem};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

/// The bus id the device is exported as (`usbip attach -b 1-1`).
pub const BUSID: &str = "1-1";
/// Bus number in `struct usb_device` and in the devid.
pub const BUSNUM: u32 = 1;
/// Device number in `struct usb_device` and in the devid.
pub const DEVNUM: u32 = 2;

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
}
