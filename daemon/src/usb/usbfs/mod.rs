//! mbimd's own usbfs backend for an MBIM function's data interface.
//!
//! nusb reaps every URB of a device on its event thread and wakes the
//! waiting task from there: one cross-thread hop per bulk completion (1.2
//! to 4.6 µs, docs/performance.md). Here the device node is opened a
//! second time and only the data interface is claimed on that descriptor
//! (usbfs claims are per descriptor, and a URB is reaped only on the
//! descriptor that submitted it), so its bulk pipes are reaped by whoever
//! polls them: the pump, on its own thread. The communication interface
//! (class requests, the interrupt endpoint) stays on nusb's descriptor.
//!
//! * `ioctl.rs` — the usbfs ioctls and structures, checked against the
//!   kernel header's values;
//! * `block.rs` — the mapped blocks URBs transfer in, and [`UsbfsBuffer`],
//!   the buffer the IN pipe lends the pump: the received block itself;
//! * `urb.rs` — one endpoint's URBs, handed back in submission order;
//! * `pipe.rs` — [`UsbfsBulkIn`] and [`UsbfsBulkOut`], the transport's
//!   pipes over them.

mod block;
mod ioctl;
mod pipe;
mod urb;

pub use block::UsbfsBuffer;
pub use pipe::{UsbfsBulkIn, UsbfsBulkOut};

use mbim_transport::TransportError;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{Mode, OFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

/// Why the data interface could not be taken on a descriptor of mbimd's.
#[derive(Debug, thiserror::Error)]
pub enum UsbfsError {
    /// The device node could not be opened.
    #[error("opening {}", path.display())]
    Open {
        /// /dev/bus/usb/BBB/DDD.
        path: PathBuf,
        /// What open(2) said.
        #[source]
        source: std::io::Error,
    },
    /// The interface could not be claimed (another program holds it, or
    /// the device went away).
    #[error("claiming interface {interface} on {}", path.display())]
    Claim {
        /// The device node.
        path: PathBuf,
        /// bInterfaceNumber.
        interface: u8,
        /// What USBDEVFS_DISCONNECT_CLAIM said.
        #[source]
        source: std::io::Error,
    },
}

/// The endpoints of the data interface's MBIM setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataEndpoints {
    /// The bulk IN endpoint's address.
    pub bulk_in: u8,
    /// Its wMaxPacketSize.
    pub bulk_in_packet_size: u16,
    /// The bulk OUT endpoint's address.
    pub bulk_out: u8,
    /// Its wMaxPacketSize.
    pub bulk_out_packet_size: u16,
}

/// A data interface claimed on a descriptor of mbimd's own.
pub struct DataInterface {
    fd: OwnedFd,
    number: u8,
    endpoints: DataEndpoints,
    /// The pipes taken last, while either lives: one pair at a time, as
    /// nusb allows one open endpoint.
    taken: Mutex<Weak<pipe::Shared>>,
}

impl std::fmt::Debug for DataInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataInterface")
            .field("number", &self.number)
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

/// The usbfs node of a device: `/dev/bus/usb/BBB/DDD`.
pub fn device_node(bus: u8, address: u8) -> PathBuf {
    PathBuf::from(format!("/dev/bus/usb/{bus:03}/{address:03}"))
}

impl DataInterface {
    /// Opens `node` and claims interface `number` on the new descriptor,
    /// detaching a kernel driver from it. Blocking (a driver's unbind).
    pub fn claim(node: &Path, number: u8, endpoints: DataEndpoints) -> Result<Self, UsbfsError> {
        // Read-write: usbfs reports completed URBs (POLLOUT) only to a
        // descriptor opened for writing.
        let fd = rustix::fs::open(node, OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).map_err(
            |errno| UsbfsError::Open {
                path: node.to_owned(),
                source: errno.into(),
            },
        )?;
        ioctl::disconnect_claim(fd.as_fd(), number).map_err(|errno| UsbfsError::Claim {
            path: node.to_owned(),
            interface: number,
            source: errno.into(),
        })?;
        Ok(DataInterface {
            fd,
            number,
            endpoints,
            taken: Mutex::new(Weak::new()),
        })
    }

    /// bInterfaceNumber.
    pub fn number(&self) -> u8 {
        self.number
    }

    /// Selects the interface's alternate setting (on the blocking pool: a
    /// control transfer).
    pub async fn set_alt_setting(self: &Arc<Self>, setting: u8) -> Result<(), TransportError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            ioctl::set_interface(this.fd.as_fd(), this.number, setting)
        })
        .await
        .map_err(|error| {
            TransportError::Other(format!("selecting the alternate setting: {error}"))
        })?
        .map_err(urb::errno_error)
    }

    /// The bulk pipes, once per selection: while an earlier pair lives,
    /// [`TransportError::AlreadyTaken`]. `out_max_size` is dwNtbOutMaxSize
    /// if known (the ZLP rule).
    pub fn take_pipes(
        self: &Arc<Self>,
        out_max_size: Option<usize>,
    ) -> Result<(UsbfsBulkIn, UsbfsBulkOut), TransportError> {
        let mut taken = self
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if taken.strong_count() > 0 {
            return Err(TransportError::AlreadyTaken("the data pipes"));
        }
        let endpoints = self.endpoints;
        let shared = Arc::new(pipe::Shared::new(
            self.clone(),
            endpoints.bulk_in,
            endpoints.bulk_out,
        ));
        *taken = Arc::downgrade(&shared);
        Ok((
            UsbfsBulkIn::new(
                shared.clone(),
                usize::from(endpoints.bulk_in_packet_size & 0x07FF),
            ),
            UsbfsBulkOut::new(
                shared,
                usize::from(endpoints.bulk_out_packet_size & 0x07FF),
                out_max_size,
            ),
        ))
    }
}

impl Drop for DataInterface {
    fn drop(&mut self) {
        // As nusb does for an interface it detached a driver from: release
        // it and let the kernel's drivers have it again. Closing the
        // descriptor would release it too, but not reattach.
        let released = ioctl::release_interface(self.fd.as_fd(), self.number);
        if released.is_ok() {
            let _ = ioctl::connect_driver(self.fd.as_fd(), self.number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_nodes_are_named_as_usbfs_names_them() {
        assert_eq!(device_node(1, 2), PathBuf::from("/dev/bus/usb/001/002"));
        assert_eq!(device_node(12, 127), PathBuf::from("/dev/bus/usb/012/127"));
    }

    #[test]
    fn a_node_that_is_not_usbfs_cannot_be_claimed() {
        let endpoints = DataEndpoints {
            bulk_in: 0x81,
            bulk_in_packet_size: 512,
            bulk_out: 0x02,
            bulk_out_packet_size: 512,
        };
        let error = DataInterface::claim(Path::new("/dev/null"), 1, endpoints).unwrap_err();
        assert!(
            matches!(error, UsbfsError::Claim { interface: 1, .. }),
            "{error:?}"
        );
        let error =
            DataInterface::claim(Path::new("/nonexistent/usb/node"), 1, endpoints).unwrap_err();
        assert!(matches!(error, UsbfsError::Open { .. }), "{error:?}");
    }
}
