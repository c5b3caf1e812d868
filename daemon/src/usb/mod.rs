//! Real USB modems, through nusb (usbfs on Linux), with the data interface
//! on a usbfs descriptor of mbimd's own.
//!
//! * [`function`] — [`NusbFunction`], the [`mbim_transport::FunctionTransport`]
//!   of one claimed MBIM function: class requests on the communication
//!   interface, the interrupt endpoint's notifications, the data interface's
//!   alternate setting and its bulk pipes.
//! * [`data`] — the data interface and its pipes, on mbimd's own usbfs
//!   descriptor ([`usbfs`]: completions reaped on the pump's thread) or,
//!   failing that, through nusb.
//! * [`discovery`] — which USB devices are MBIM modems mbimd takes
//!   ([`find_mbim_devices`]), and claiming their functions ([`open_modem`]).
//! * [`watch`] — [`DeviceWatcher`], devices arriving and leaving.
//! * [`manager`] — one supervised task per modem present.
//!
//! One USB device is one modem; each of its MBIM functions is one executor,
//! in the order of their communication interfaces.

pub mod data;
pub mod discovery;
pub mod function;
pub mod manager;
pub mod usbfs;
pub mod watch;

pub use discovery::{
    find_mbim_devices, open_modem, port_path, MbimDevice, OpenedModem, UsbIdentity,
};
pub use function::{NusbBulkIn, NusbBulkOut, NusbFunction};
pub use watch::{DeviceEvent, DeviceWatcher};

/// Why a USB device could not be listed, opened or claimed.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    /// Listing the USB devices failed (no usbfs or sysfs).
    #[error("listing USB devices")]
    List(#[source] nusb::Error),
    /// Opening the device failed (permissions, or it went away).
    #[error("opening USB device {path}")]
    Open {
        /// The port path.
        path: String,
        /// What nusb said.
        #[source]
        source: nusb::Error,
    },
    /// The device has no active configuration mbimd can read.
    #[error("USB device {path}: {reason}")]
    Configuration {
        /// The port path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Claiming an interface (or selecting its setting) failed.
    #[error("USB device {path}, interface {interface}: {what}")]
    Interface {
        /// The port path.
        path: String,
        /// bInterfaceNumber.
        interface: u8,
        /// What was being done.
        what: &'static str,
        /// What nusb said.
        #[source]
        source: nusb::Error,
    },
}
