//! Modems behind the kernel's own drivers: an MBIM function whose control
//! channel is a character device (cdc-wdm under cdc_mbim, or a WWAN port of
//! a PCIe modem) and whose data path is the kernel's network device.
//!
//! * [`port`] — [`KernelPort`], the [`mbim_transport::FunctionTransport`]
//!   over the character device: whole messages written and read, no class
//!   requests, no bulk pipes.
//! * [`stream`] — [`MessageStream`], the messages cut out of whatever the
//!   reads returned (sans-IO).
//! * [`discovery`] — the ports kernel drivers offer, found in sysfs with
//!   their network devices and identities.
//! * [`manager`] — one supervised task per modem behind a kernel driver.

pub mod discovery;
pub mod manager;
pub mod port;
pub mod stream;

pub use port::{
    KernelPort, NoPipe, PortError, PortKind, PARTIAL_MESSAGE_TIMEOUT, WWAN_MAX_MESSAGE,
};
pub use stream::{MessageStream, StreamError};
