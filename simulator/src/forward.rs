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

use std::fmt;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

/// Reads from the device per wake-up before the model's lock is given
/// back: the pump's task takes the same lock.
const READ_BATCH: usize = 64;
/// Datagrams queued for the host per wake-up at most: with offloads one
/// read may carry dozens, and the queue towards the host is bounded.
const SEGMENT_BATCH: usize = 256;
/// The largest read from the device: a datagram (its MTU may exceed the
/// session's; what is longer than a session takes is dropped later), or a
/// super-packet behind its virtio-net header.
const READ_BUFFER: usize = 65_535 + tun_rs::VIRTIO_NET_HDR_LEN;
/// Segments one super-packet may be cut into, and their largest size (the
/// device's MTU; a larger one is dropped).
const SEGMENTS: usize = tun_rs::IDEAL_BATCH_SIZE;
const SEGMENT_SIZE: usize = 9216;
/// How long the reader waits for room in the queues towards the host
/// before reading on (and dropping what finds a queue full): a host that
/// stops reading one function must not stall the others for long.
const ROOM_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

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
    /// has them, else one packet per read and write. Needs a tokio runtime
    /// (the device is registered with its reactor).
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
            tun_rs::DeviceBuilder::new()
                .name(&device)
                .layer(tun_rs::Layer::L3)
                .packet_information(false)
                .offload(offload)
                .enable(true)
                .build_sync()
                .map_err(|source| ForwardError::Device {
                    device: device.clone(),
                    source,
                })
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

/// The open device, shared by the bulk OUT path (writes) and the reader.
pub(crate) type Uplink = Arc<tun_rs::AsyncDevice>;

/// Datagrams from the host gathered before they are written coalesced.
const WRITE_BATCH: usize = tun_rs::IDEAL_BATCH_SIZE;
/// A gathered datagram's buffer: room for the virtio-net header before
/// it, and for the super-packet coalescing builds in the first of a flow.
const WRITE_BUFFER: usize = 65_535 + 2 * tun_rs::VIRTIO_NET_HDR_LEN;

/// What goes from the host to the network: with offloads, the datagrams
/// of one NTB are gathered (in buffers kept from one NTB to the next) and
/// written coalesced into GSO super-packets per flow (tun-rs's GRO table),
/// as mbimd writes its own TUN device; without, each is written as it is.
#[derive(Default)]
pub(crate) struct Writer {
    batch: Vec<Vec<u8>>,
    gathered: usize,
    gro: Option<tun_rs::GROTable>,
}

impl Writer {
    /// Takes one datagram; `false` if the device did not take it (never
    /// waits: a full device drops, as a link does).
    pub(crate) fn send(&mut self, device: &tun_rs::AsyncDevice, datagram: &[u8]) -> bool {
        if !device.tcp_gso() {
            return device.try_send(datagram).is_ok();
        }
        if self.batch.len() <= self.gathered {
            self.batch.push(Vec::with_capacity(WRITE_BUFFER));
        }
        let Some(buffer) = self.batch.get_mut(self.gathered) else {
            return false;
        };
        buffer.clear();
        buffer.resize(tun_rs::VIRTIO_NET_HDR_LEN, 0);
        buffer.extend_from_slice(datagram);
        self.gathered = self.gathered.saturating_add(1);
        if self.gathered >= WRITE_BATCH {
            self.flush(device);
        }
        true
    }

    /// Writes what was gathered (the end of an NTB, or a full batch).
    pub(crate) fn flush(&mut self, device: &tun_rs::AsyncDevice) {
        let count = std::mem::take(&mut self.gathered);
        let Some(batch) = self.batch.get_mut(..count) else {
            return;
        };
        if batch.is_empty() {
            return;
        }
        let gro = self.gro.get_or_insert_with(tun_rs::GROTable::new);
        // The device's own (non-blocking) write of a batch, not the
        // AsyncDevice's, which would wait: this runs under the model's lock.
        let plain: &tun_rs::DeviceImpl = device;
        if let Err(error) = plain.send_multiple(gro, batch, tun_rs::VIRTIO_NET_HDR_LEN) {
            tracing::debug!("the real network did not take {count} datagram(s): {error}");
        }
    }
}

/// Reads what the network sends towards the modem's sessions and hands it
/// to the model, up to [`READ_BATCH`] reads and [`SEGMENT_BATCH`] datagrams
/// per wake-up and lock (a super-packet cut into its segments first), until
/// the device fails (it never ends otherwise). When the queues towards the
/// host are short of room it waits (at most [`ROOM_WAIT`]) for the host to
/// take some, so the namespace's TCP sees a slow link rather than losses.
pub(crate) async fn read_loop(device: Uplink, modem: crate::device::SimModem) {
    let mut buffer = vec![0u8; READ_BUFFER];
    let offload = device.tcp_gso();
    let mut segments: Vec<Vec<u8>> = if offload {
        vec![vec![0u8; SEGMENT_SIZE]; SEGMENTS]
    } else {
        Vec::new()
    };
    let mut sizes = vec![0usize; segments.len().max(1)];
    // After a wait for room that timed out, one batch reads regardless.
    let mut waited_in_vain = false;
    loop {
        if let Err(error) = device.readable().await {
            tracing::warn!("the real network's TUN device failed: {error}");
            return;
        }
        let outcome = modem.with_model(|model, _| {
            let mut queued = 0usize;
            for _ in 0..READ_BATCH {
                if queued >= SEGMENT_BATCH {
                    return Ok(false);
                }
                if !waited_in_vain && model.network_room() < SEGMENTS {
                    return Ok(true);
                }
                let read = if offload {
                    device.try_recv_multiple(&mut buffer, &mut segments, &mut sizes, 0)
                } else {
                    device.try_recv(&mut buffer).map(|length| {
                        if let Some(size) = sizes.first_mut() {
                            *size = length;
                        }
                        1
                    })
                };
                match read {
                    Ok(count) => {
                        for index in 0..count {
                            let size = sizes.get(index).copied().unwrap_or(0);
                            let packet = if offload {
                                segments.get(index).and_then(|segment| segment.get(..size))
                            } else {
                                buffer.get(..size)
                            };
                            if let Some(packet) = packet {
                                model.handle_network_in(packet);
                            }
                        }
                        queued = queued.saturating_add(count);
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    // A super-packet that could not be cut (larger segments
                    // than SEGMENT_SIZE, a header the kernel should not
                    // send): dropped, the device is fine.
                    Err(error) if error.raw_os_error().is_none() => {
                        tracing::debug!("a packet from the real network dropped: {error}");
                    }
                    Err(error) => return Err(error),
                }
            }
            Ok(false)
        });
        match outcome {
            Err(error) => {
                tracing::warn!("reading the real network's TUN device: {error}");
                return;
            }
            Ok(true) => {
                let room = modem.wait_for_network_room(SEGMENTS);
                waited_in_vain = tokio::time::timeout(ROOM_WAIT, room).await.is_err();
            }
            Ok(false) => waited_in_vain = false,
        }
    }
}

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
