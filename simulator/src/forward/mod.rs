//! A real network behind the simulated modem: a TUN device, usually in
//! another network namespace, that carries a session's datagrams to and
//! from the kernel's own IP stack there.
//!
//! A modem session carries bare IP packets with no link layer, and so does
//! a TUN device (`IFF_TUN | IFF_NO_PI`): what the host sends on a session,
//! unless it is for the simulated gateway's own services (echo, sink), is
//! written to the device as it stands in the NTB; what the kernel routes
//! into the device for a session's address goes to the host in NTBs. The
//! namespace on the other side routes, answers TCP, DNS and ICMP (path MTU
//! included) as any Linux host does.
//!
//! The device is opened by name in the target namespace (a persistent one
//! made with `ip tuntap add dev NAME mode tun` is attached to, keeping its
//! addresses and routes; a missing one is created, and goes when the modem
//! does) on a short-lived thread that enters the namespace, so the process
//! itself stays where it is.

mod cut;
mod reader;
mod writer;

pub use reader::Forwarder;
pub(crate) use writer::Writer;

use std::fmt;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// Where the real network is: a TUN device name and the network namespace
/// it is in (`None`: the process's own). Written `DEVICE[@NETNS]`, NETNS a
/// name under /run/netns (`ip netns add`) or an absolute path such as
/// /proc/PID/ns/net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTarget {
    /// The TUN device's name.
    pub device: String,
    /// Its network namespace.
    pub netns: Option<String>,
}

/// Why the real network could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The target is not `DEVICE[@NETNS]`.
    #[error("{given:?} is not DEVICE[@NETNS] ({why})")]
    Syntax {
        /// What was given.
        given: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The network namespace could not be opened or entered.
    #[error("cannot enter the network namespace {}", path.display())]
    Namespace {
        /// Its file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TUN device could not be opened.
    #[error("cannot open the TUN device {device:?}")]
    Device {
        /// Its name.
        device: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The modem already forwards to a network.
    #[error("the simulated modem already forwards to a real network")]
    AlreadyForwarding,
    /// The reader's thread or its runtime could not be started.
    #[error("cannot start the real network's reader")]
    Reader {
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl FromStr for ForwardTarget {
    type Err = ForwardError;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        let syntax = |why| ForwardError::Syntax {
            given: given.to_owned(),
            why,
        };
        let (device, netns) = match given.split_once('@') {
            Some((device, netns)) => (device, Some(netns)),
            None => (given, None),
        };
        // IFNAMSIZ is 16 with the terminating NUL.
        if device.is_empty() || device.len() > 15 {
            return Err(syntax("the device name must be 1 to 15 bytes"));
        }
        if device.contains(['/', ' ', '\0']) || device == "." || device == ".." {
            return Err(syntax("the device name holds a character Linux refuses"));
        }
        if let Some(netns) = netns {
            if netns.is_empty() || netns.contains('\0') {
                return Err(syntax("the namespace is empty"));
            }
            if !netns.starts_with('/') && (netns.contains('/') || netns == "." || netns == "..") {
                return Err(syntax(
                    "the namespace is a name under /run/netns or an absolute path",
                ));
            }
        }
        Ok(ForwardTarget {
            device: device.to_owned(),
            netns: netns.map(str::to_owned),
        })
    }
}

impl fmt::Display for ForwardTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.netns {
            Some(netns) => write!(f, "{}@{netns}", self.device),
            None => f.write_str(&self.device),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ForwardTarget {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl ForwardTarget {
    /// The namespace's file, if the target names one.
    fn netns_path(&self) -> Option<PathBuf> {
        self.netns.as_ref().map(|netns| {
            if netns.starts_with('/') {
                PathBuf::from(netns)
            } else {
                PathBuf::from("/run/netns").join(netns)
            }
        })
    }

    /// Opens (or creates) the device, up, in its namespace; with `offload`,
    /// with `IFF_VNET_HDR` offloads (TSO/USO and checksum: the namespace
    /// hands over super-packets, cut here into datagrams) where the kernel
    /// has them, else one packet per read and write. Runs inside the
    /// reader's runtime (the device is registered with its reactor).
    pub(crate) fn open(&self, offload: bool) -> Result<tun_rs::AsyncDevice, ForwardError> {
        if !offload {
            return self.open_with(false);
        }
        match self.open_with(true) {
            // Only the device may refuse offloads; a namespace that cannot
            // be entered fails the same either way.
            Err(error @ ForwardError::Device { .. }) => {
                tracing::warn!(
                    "{}: no TUN offloads ({error}); one packet per read and write",
                    self.device
                );
                self.open_with(false)
            }
            other => other,
        }
    }

    fn open_with(&self, offload: bool) -> Result<tun_rs::AsyncDevice, ForwardError> {
        let path = self.netns_path();
        let device = self.device.clone();
        let open = move || -> Result<tun_rs::SyncDevice, ForwardError> {
            if let Some(path) = &path {
                let file = std::fs::File::open(path).map_err(|source| ForwardError::Namespace {
                    path: path.clone(),
                    source,
                })?;
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .map_err(|errno| ForwardError::Namespace {
                    path: path.clone(),
                    source: errno.into(),
                })?;
            }
            let opened = tun_rs::DeviceBuilder::new()
                .name(&device)
                .layer(tun_rs::Layer::L3)
                .packet_information(false)
                .offload(offload)
                .enable(true)
                .build_sync()
                .map_err(|source| ForwardError::Device {
                    device: device.clone(),
                    source,
                })?;
            // Asked here, in the namespace: the flags are read through a
            // socket of the thread's namespace.
            wait_until_running(&device, &opened);
            Ok(opened)
        };
        // A thread of its own: entering a namespace is for the thread, and
        // this one ends right after.
        let sync = std::thread::spawn(open)
            .join()
            .map_err(|_| ForwardError::Device {
                device: self.device.clone(),
                source: std::io::Error::other("the thread opening it panicked"),
            })??;
        tun_rs::AsyncDevice::new(sync).map_err(|source| ForwardError::Device {
            device: self.device.clone(),
            source,
        })
    }
}

/// Waits, at most [`RUNNING_WAIT`], until the kernel passes packets to
/// the device just opened. Opening attaches a queue to it, which turns its
/// carrier on, but its transmit queue is started later, by the kernel's
/// link-watch work: until then what the namespace sends through the device
/// is dropped before it reaches the queue the reader reads (counted as the
/// device's TX drops). The device reports itself running
/// (`IFF_RUNNING`) from that same work on, so a caller told the device is
/// open can send through it at once. A device that never says so is used
/// as it is, with a warning: packets may still flow.
fn wait_until_running(name: &str, device: &tun_rs::SyncDevice) {
    let deadline = std::time::Instant::now() + RUNNING_WAIT;
    loop {
        match device.is_running() {
            Ok(true) => return,
            Ok(false) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Ok(false) => {
                tracing::warn!("{name}: not running {RUNNING_WAIT:?} after it was opened");
                return;
            }
            Err(error) => {
                tracing::warn!("{name}: cannot tell whether it runs: {error}");
                return;
            }
        }
    }
}

/// How long opening the device waits for the kernel to start its queue
/// ([`wait_until_running`]); it takes a few milliseconds, a busy machine's
/// link-watch work longer.
const RUNNING_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The open device, shared by the bulk OUT path (writes) and the reader.
pub(crate) type Uplink = Arc<tun_rs::AsyncDevice>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_are_device_at_namespace() {
        let target: ForwardTarget = "fwd0@peer".parse().unwrap();
        assert_eq!(target.device, "fwd0");
        assert_eq!(target.netns.as_deref(), Some("peer"));
        assert_eq!(target.netns_path(), Some(PathBuf::from("/run/netns/peer")));
        assert_eq!(target.to_string(), "fwd0@peer");
        let target: ForwardTarget = "fwd0@/proc/1/ns/net".parse().unwrap();
        assert_eq!(target.netns_path(), Some(PathBuf::from("/proc/1/ns/net")));
        let target: ForwardTarget = "fwd0".parse().unwrap();
        assert_eq!(target.netns, None);
        assert_eq!(target.to_string(), "fwd0");
        for bad in [
            "",
            "@peer",
            "a-name-that-is-too-long",
            "fwd0@",
            "fwd0@../x",
            "a/b@x",
        ] {
            assert!(bad.parse::<ForwardTarget>().is_err(), "{bad:?}");
        }
    }
}
