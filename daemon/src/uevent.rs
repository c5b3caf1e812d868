//! The kernel's own device events (`NETLINK_KOBJECT_UEVENT`, multicast
//! group 1), which arrive whether or not udevd runs: what lets the device
//! watchers sleep until a device comes or goes instead of rescanning sysfs
//! every second.
//!
//! udev's group (2, what nusb's hotplug watch hears) is sent only by udevd,
//! after its rules ran; where no udevd runs (containers, an initramfs, small
//! routers) it stays silent. The kernel's group has every event at once,
//! and only the kernel may send to it (messages from any other sender are
//! dropped here all the same).
//!
//! A message is `ACTION@DEVPATH` then `KEY=VALUE` fields, each ended by a
//! NUL byte. The socket's queue can overflow on a burst (the kernel then
//! drops messages and says ENOBUFS once): that is reported as
//! [`UeventError::Overrun`], after which a watcher must rescan, since it
//! no longer knows what it missed.

use std::os::fd::OwnedFd;

use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{recvfrom, AddressFamily, RecvFlags, SocketFlags, SocketType};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// The kernel's multicast group of `NETLINK_KOBJECT_UEVENT`.
const KERNEL_GROUP: u32 = 1;

/// The largest message taken whole: the kernel builds them in a 2 KiB
/// environment buffer (`UEVENT_BUFFER_SIZE`) plus the `ACTION@DEVPATH`
/// header; anything longer is cut and parsed as far as it goes.
const MAX_MESSAGE: usize = 8192;

/// The receive queue asked for, so a burst (a modem's dozen interfaces
/// and their drivers appearing at once) does not overflow it.
const RECEIVE_BUFFER: usize = 1 << 20;

/// What went wrong with the event socket.
#[derive(Debug, thiserror::Error)]
pub enum UeventError {
    /// The socket could not be opened or bound (a kernel without netlink,
    /// or a sandbox that forbids it).
    #[error("cannot listen to the kernel's device events")]
    Open(#[source] std::io::Error),
    /// Events were lost because the socket's queue was full.
    #[error("device events were lost (the queue overflowed)")]
    Overrun,
    /// Reading the socket failed.
    #[error("reading the kernel's device events")]
    Read(#[source] std::io::Error),
}

/// One device event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// `add`, `remove`, `change`, `bind`, `unbind`, `move`, …
    pub action: String,
    /// The device's path under /sys (`/devices/pci0000:00/…`).
    pub devpath: String,
    /// Its subsystem (`usb`, `usbmisc`, `net`, `wwan`…), empty if the
    /// message has none.
    pub subsystem: String,
    /// Its device type within the subsystem (`usb_device`,
    /// `usb_interface`, `wwan_port`…), empty if none.
    pub devtype: String,
}

impl Uevent {
    /// Parses a kernel message; `None` for anything that is not one (no
    /// `ACTION@DEVPATH` header, or libudev's own framing).
    pub fn parse(message: &[u8]) -> Option<Uevent> {
        let mut fields = message
            .split(|&byte| byte == 0)
            .filter(|field| !field.is_empty())
            .map(String::from_utf8_lossy);
        let header = fields.next()?;
        let (action, devpath) = header.split_once('@')?;
        if action.is_empty() || !devpath.starts_with('/') {
            return None;
        }
        let mut event = Uevent {
            action: action.to_owned(),
            devpath: devpath.to_owned(),
            subsystem: String::new(),
            devtype: String::new(),
        };
        for field in fields {
            if let Some(value) = field.strip_prefix("SUBSYSTEM=") {
                event.subsystem = value.to_owned();
            } else if let Some(value) = field.strip_prefix("DEVTYPE=") {
                event.devtype = value.to_owned();
            }
        }
        Some(event)
    }
}

/// A socket hearing the kernel's device events, in the network namespace
/// of the thread that opened it (events of devices of other namespaces,
/// network devices among them, are not heard there).
#[derive(Debug)]
pub struct UeventSocket {
    socket: AsyncFd<OwnedFd>,
    buffer: Box<[u8]>,
}

impl UeventSocket {
    /// Opens and binds it. Must be called inside a tokio runtime.
    pub fn open() -> Result<UeventSocket, UeventError> {
        let io = |error: rustix::io::Errno| UeventError::Open(error.into());
        let socket = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(netlink::KOBJECT_UEVENT),
        )
        .map_err(io)?;
        // More room than the default where mbimd may take it
        // (CAP_NET_ADMIN); the default otherwise, with the overrun handled.
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&socket, RECEIVE_BUFFER).is_err()
        {
            let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, RECEIVE_BUFFER);
        }
        rustix::net::bind(&socket, &SocketAddrNetlink::new(0, KERNEL_GROUP)).map_err(io)?;
        // SAFETY: the AsyncFd owns the OwnedFd, which closes its descriptor
        // only when dropped with it and always returns the same descriptor,
        // which is all registration asks.
        #[allow(unsafe_code)]
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|error| UeventError::Open(error.into()))?;
        Ok(UeventSocket {
            socket,
            buffer: vec![0; MAX_MESSAGE].into_boxed_slice(),
        })
    }

    /// The next event from the kernel. Cancel-safe: a message is taken off
    /// the socket only when it is returned.
    pub async fn next(&mut self) -> Result<Uevent, UeventError> {
        loop {
            let mut ready = self.socket.readable().await.map_err(UeventError::Read)?;
            let received = recvfrom(ready.get_inner(), &mut self.buffer[..], RecvFlags::empty());
            match received {
                Ok((_, length, sender)) => {
                    let from_kernel = sender
                        .and_then(|address| SocketAddrNetlink::try_from(address).ok())
                        .is_some_and(|address| address.pid() == 0);
                    let taken = length.min(self.buffer.len());
                    if !from_kernel {
                        continue;
                    }
                    if let Some(event) = self.buffer.get(..taken).and_then(Uevent::parse) {
                        return Ok(event);
                    }
                }
                Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                Err(rustix::io::Errno::INTR) => {}
                Err(rustix::io::Errno::NOBUFS) => return Err(UeventError::Overrun),
                Err(error) => return Err(UeventError::Read(error.into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn kernel_messages_parse_to_their_action_path_and_subsystem() {
        // As the kernel sent them when a modem was plugged in (udevadm
        // monitor --kernel --property).
        let usb = b"add@/devices/pci0000:00/0000:00:14.0/usb1/1-2\0ACTION=add\0\
DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1/1-2\0SUBSYSTEM=usb\0MAJOR=189\0MINOR=3\0\
DEVNAME=bus/usb/001/004\0DEVTYPE=usb_device\0PRODUCT=2cb7/7/100\0TYPE=239/2/1\0\
BUSNUM=001\0DEVNUM=004\0SEQNUM=4321\0";
        assert_eq!(
            Uevent::parse(usb),
            Some(Uevent {
                action: "add".to_owned(),
                devpath: "/devices/pci0000:00/0000:00:14.0/usb1/1-2".to_owned(),
                subsystem: "usb".to_owned(),
                devtype: "usb_device".to_owned(),
            })
        );
        let wdm = b"remove@/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/usbmisc/cdc-wdm0\0\
ACTION=remove\0SUBSYSTEM=usbmisc\0DEVNAME=cdc-wdm0\0SEQNUM=4400\0";
        let event = Uevent::parse(wdm).unwrap();
        assert_eq!(
            (
                event.action.as_str(),
                event.subsystem.as_str(),
                event.devtype.as_str()
            ),
            ("remove", "usbmisc", "")
        );
    }

    #[test]
    fn other_framings_and_garbage_are_not_events() {
        // libudev's messages start with "libudev\0" and a binary header.
        assert_eq!(Uevent::parse(b"libudev\0\xfe\xed\xca\xfe"), None);
        assert_eq!(Uevent::parse(b""), None);
        assert_eq!(Uevent::parse(b"\0\0\0"), None);
        assert_eq!(Uevent::parse(b"add@relative/path\0"), None);
        assert_eq!(Uevent::parse(b"@/devices/x\0"), None);
        // A message cut short still gives what it has.
        let cut = Uevent::parse(b"change@/devices/virtual/net/wwan0\0SUBSYS").unwrap();
        assert_eq!(
            (cut.action.as_str(), cut.subsystem.as_str()),
            ("change", "")
        );
    }
}
