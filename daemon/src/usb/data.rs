//! An MBIM function's data interface: on a usbfs descriptor of mbimd's own
//! (the `usbfs` module: completions reaped on the pump's thread), or, when
//! that could not be opened or claimed, through nusb as the communication
//! interface is. The pipes are one type either way, so the executor and
//! the pump do not care which.

use super::function::{nusb_error, NusbBulkIn, NusbBulkOut};
use super::usbfs::{DataInterface, UsbfsBuffer, UsbfsBulkIn, UsbfsBulkOut};
use mbim_transport::{Completion, InPipe, OutPipe, Pipe, TransportError};
use nusb::transfer::{Bulk, In, Out};
use nusb::Interface;
use std::sync::Arc;

/// The claimed data interface.
#[derive(Debug)]
pub enum DataHandle {
    /// On mbimd's own descriptor.
    Usbfs(Arc<DataInterface>),
    /// On nusb's.
    Nusb(Interface),
}

impl DataHandle {
    /// Selects alternate setting `setting`.
    pub async fn set_alt_setting(&self, setting: u8) -> Result<(), TransportError> {
        match self {
            DataHandle::Usbfs(interface) => interface.set_alt_setting(setting).await,
            DataHandle::Nusb(interface) => interface
                .set_alt_setting(setting)
                .await
                .map_err(|error| nusb_error(&error)),
        }
    }

    /// bInterfaceNumber.
    pub fn number(&self) -> u8 {
        match self {
            DataHandle::Usbfs(interface) => interface.number(),
            DataHandle::Nusb(interface) => interface.interface_number(),
        }
    }

    /// The bulk pipes at `bulk_in`/`bulk_out` (nusb's descriptor; mbimd's
    /// knows its own); `out_max_size` is dwNtbOutMaxSize if known.
    pub fn take_pipes(
        &self,
        bulk_in: u8,
        bulk_out: u8,
        out_max_size: Option<usize>,
    ) -> Result<(DataIn, DataOut), TransportError> {
        match self {
            DataHandle::Usbfs(interface) => {
                let (bulk_in, bulk_out) = interface.take_pipes(out_max_size)?;
                Ok((DataIn::Usbfs(bulk_in), DataOut::Usbfs(bulk_out)))
            }
            DataHandle::Nusb(interface) => {
                let open_error = |error: nusb::Error| match error.kind() {
                    nusb::ErrorKind::Busy => TransportError::AlreadyTaken("the data pipes"),
                    _ => nusb_error(&error),
                };
                let bulk_in = interface
                    .endpoint::<Bulk, In>(bulk_in)
                    .map_err(open_error)?;
                let bulk_out = interface
                    .endpoint::<Bulk, Out>(bulk_out)
                    .map_err(open_error)?;
                Ok((
                    DataIn::Nusb(NusbBulkIn::new(bulk_in)),
                    DataOut::Nusb(NusbBulkOut::new(bulk_out, out_max_size)),
                ))
            }
        }
    }
}

/// The bulk IN pipe of a function's data interface.
#[derive(Debug)]
pub enum DataIn {
    /// On mbimd's own descriptor.
    Usbfs(UsbfsBulkIn),
    /// Through nusb.
    Nusb(NusbBulkIn),
}

/// The bulk OUT pipe of a function's data interface.
#[derive(Debug)]
pub enum DataOut {
    /// On mbimd's own descriptor.
    Usbfs(UsbfsBulkOut),
    /// Through nusb.
    Nusb(NusbBulkOut),
}

/// Forwards the [`Pipe`] methods to whichever pipe it is, `$buffer` being
/// the usbfs pipe's buffer type (nusb's `Vec`s convert to and from it: a
/// `Vec` in it is moved, never copied, and nusb is lent no block).
macro_rules! forward_pipe {
    ($name:ident, $buffer:ty) => {
        impl Pipe for $name {
            type Buffer = $buffer;

            fn buffer(&mut self, capacity: usize) -> $buffer {
                match self {
                    $name::Usbfs(pipe) => pipe.buffer(capacity),
                    $name::Nusb(pipe) => pipe.buffer(capacity).into(),
                }
            }

            async fn next_complete(&mut self) -> Completion<$buffer> {
                match self {
                    $name::Usbfs(pipe) => pipe.next_complete().await,
                    $name::Nusb(pipe) => {
                        let done = pipe.next_complete().await;
                        Completion {
                            buffer: done.buffer.into(),
                            status: done.status,
                        }
                    }
                }
            }

            fn pending(&self) -> usize {
                match self {
                    $name::Usbfs(pipe) => pipe.pending(),
                    $name::Nusb(pipe) => pipe.pending(),
                }
            }

            fn cancel_all(&mut self) {
                match self {
                    $name::Usbfs(pipe) => pipe.cancel_all(),
                    $name::Nusb(pipe) => pipe.cancel_all(),
                }
            }

            async fn clear_halt(&mut self) -> Result<(), TransportError> {
                match self {
                    $name::Usbfs(pipe) => pipe.clear_halt().await,
                    $name::Nusb(pipe) => pipe.clear_halt().await,
                }
            }
        }
    };
}

forward_pipe!(DataIn, UsbfsBuffer);
forward_pipe!(DataOut, UsbfsBuffer);

impl InPipe for DataIn {
    fn submit(&mut self, buffer: UsbfsBuffer, length: usize) {
        match self {
            DataIn::Usbfs(pipe) => pipe.submit(buffer, length),
            DataIn::Nusb(pipe) => pipe.submit(buffer.into(), length),
        }
    }
}

impl OutPipe for DataOut {
    fn submit(&mut self, data: UsbfsBuffer) {
        match self {
            DataOut::Usbfs(pipe) => pipe.submit(data),
            DataOut::Nusb(pipe) => pipe.submit(data.into()),
        }
    }
}
