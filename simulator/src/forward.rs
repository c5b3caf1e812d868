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

use crate::model::NetworkRoute;
use mbim_offload::gro::{Coalescer, MAX_PARTS};
use mbim_offload::segment::{ReadFraming, Segmenter, Segments, READ_BUFFER_LEN};
use std::fmt;
use std::io::IoSlice;
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
/// Room in the queues towards the host asked for before each read: what a
/// super-packet of 64 KiB makes at the smallest segments a 1280-byte IPv6
/// link carries. A read that makes more finds the queue full for the rest,
/// which are dropped (counted) as a link's queue drops.
const READ_ROOM: usize = 64;
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

/// What goes from the host to the network: with offloads, the datagrams
/// of one NTB planned into writes coalesced per flow (mbim-offload's GRO,
/// as mbimd writes its own TUN device) and each write gathered straight
/// from the NTB, no datagram copied; without, each written as it is.
#[derive(Default)]
pub(crate) struct Writer {
    /// Made on the first datagram with offloads; its storage is kept from
    /// one NTB to the next.
    coalescer: Option<Coalescer>,
}

impl Writer {
    /// Takes one datagram of `block` (the NTB); `false` if it was not
    /// taken. Never waits: a full device drops, as a link does. With
    /// offloads the datagram is only planned here, and written by
    /// [`flush`](Self::flush).
    pub(crate) fn send(
        &mut self,
        device: &tun_rs::AsyncDevice,
        block: &[u8],
        datagram: &[u8],
    ) -> bool {
        if !device.tcp_gso() {
            // write(2) straight, as the gathered writes below: tun-rs's
            // try_send goes through tokio's readiness and libc's
            // cancellation point per datagram, for a write never waited for.
            return rustix::io::write(device.as_fd(), datagram).is_ok();
        }
        self.coalescer
            .get_or_insert_with(|| Coalescer::new(device.udp_gso()))
            .push(block, datagram)
    }

    /// Writes what was planned for `block` (at the end of the NTB): one
    /// gathered `writev` per super-packet or lone datagram.
    pub(crate) fn flush(&mut self, device: &tun_rs::AsyncDevice, block: &[u8]) {
        let Some(coalescer) = self.coalescer.as_mut() else {
            return;
        };
        coalescer.finish(block);
        let mut dropped = 0u64;
        for index in 0..coalescer.len() {
            let mut parts = [IoSlice::new(&[]); MAX_PARTS];
            let Some(gathered) = coalescer.gather(block, index, &mut parts) else {
                continue;
            };
            let parts = parts.get(..gathered.parts).unwrap_or_default();
            // The device's descriptor itself, non-blocking: this runs
            // under the model's lock, and tokio's readiness has nothing to
            // add to a write that is never waited for.
            if let Err(error) = rustix::io::writev(device.as_fd(), parts) {
                dropped = dropped.saturating_add(gathered.datagrams);
                tracing::trace!("the real network did not take a write: {error}");
            }
        }
        if dropped > 0 {
            tracing::debug!("the real network did not take {dropped} datagram(s)");
        }
        coalescer.clear();
    }
}

/// Reads what the network sends towards the modem's sessions and hands it
/// to the model, up to [`READ_BATCH`] reads and [`SEGMENT_BATCH`] datagrams
/// per wake-up and lock, until the device fails (it never ends otherwise).
/// With offloads a super-packet is cut by mbim-offload's [`Segmenter`],
/// each segment written straight into its place in the NTB the function's
/// bulk IN will send (see `model::network_in`). When the queues towards
/// the host are short of room it waits (at most [`ROOM_WAIT`]) for the
/// host to take some, so the namespace's TCP sees a slow link rather than
/// losses.
pub(crate) async fn read_loop(device: Uplink, modem: crate::device::SimModem) {
    let mut buffer = vec![0u8; READ_BUFFER_LEN];
    let (framing, header) = if device.tcp_gso() {
        (ReadFraming::VirtioNet, tun_rs::VIRTIO_NET_HDR_LEN)
    } else {
        (ReadFraming::PlainPacket, 0)
    };
    let mut segmenter = Segmenter::new(framing);
    // After a wait for room that timed out, one batch reads regardless.
    let mut waited_in_vain = false;
    loop {
        if let Err(error) = device.readable().await {
            tracing::warn!("the real network's TUN device failed: {error}");
            return;
        }
        let outcome = modem.with_network(|model, _| {
            let mut queued = 0usize;
            for _ in 0..READ_BATCH {
                if queued >= SEGMENT_BATCH {
                    return Ok(false);
                }
                if !waited_in_vain && model.network_room() < READ_ROOM {
                    return Ok(true);
                }
                let length = match read(&device, &mut buffer) {
                    Ok(length) => length,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error),
                };
                let read = buffer.get_mut(..length).unwrap_or_default();
                // Every segment has the super-packet's addresses: one
                // look-up for all, before anything is cut.
                let Some(route) = read.get(header..).and_then(|ip| model.network_route(ip)) else {
                    continue;
                };
                queued = queued.saturating_add(deliver(model, route, &mut segmenter, read));
            }
            Ok(false)
        });
        match outcome {
            Err(error) => {
                tracing::warn!("reading the real network's TUN device: {error}");
                return;
            }
            Ok(true) => {
                let room = modem.wait_for_network_room(READ_ROOM);
                waited_in_vain = tokio::time::timeout(ROOM_WAIT, room).await.is_err();
            }
            Ok(false) => waited_in_vain = false,
        }
    }
}

/// One read(2) on the device's non-blocking descriptor, straight: tun-rs's
/// `try_recv` polls and drops a tokio readiness future per read, which was
/// the reader's largest cost when it drains the device. Only when the
/// device runs dry is `try_recv` asked once more, for it clears tokio's
/// readiness on `WouldBlock` (else the next `readable()` would return at
/// once and the loop spin); a packet that came in between is read by it.
fn read(device: &tun_rs::AsyncDevice, buffer: &mut [u8]) -> std::io::Result<usize> {
    match rustix::io::read(device.as_fd(), &mut *buffer) {
        Err(rustix::io::Errno::AGAIN) => device.try_recv(buffer),
        result => result.map_err(std::io::Error::from),
    }
}

/// Queues the packets of one device read for `route`; returns how many
/// datagrams it made. A read that cannot be cut (a header the kernel should
/// not send) is dropped; the device is fine.
fn deliver(
    model: &mut crate::model::Modem,
    route: NetworkRoute,
    segmenter: &mut Segmenter,
    read: &mut [u8],
) -> usize {
    match segmenter.segments(read) {
        Ok(Segments::Whole(packet)) => {
            model.push_network_in(route, packet.len(), |buffer| {
                buffer.copy_from_slice(packet);
                true
            });
            1
        }
        Ok(Segments::Split(split)) => {
            for index in 0..split.count() {
                model.push_network_in(route, split.len(index), |buffer| split.write(index, buffer));
            }
            split.count()
        }
        Err(error) => {
            tracing::debug!("a packet from the real network dropped: {error}");
            0
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
