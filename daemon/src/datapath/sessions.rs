//! Further IP sessions on one pump: the function's bulk pipes carry every
//! session's datagrams, each NDP signed `IPS<session id>`. Session 0 is the
//! pump's own device (its path is unchanged); each further session's device
//! is attached here while the session is up.
//!
//! ```text
//!  bulk IN ─ NTB ─ IPS0 ─▶ pump's device (as before)
//!                └ IPSn ─▶ SessionTable::deliver ─▶ session n's device
//!  session n's device ─ reader task ─▶ channel ─▶ pump's transmit half
//!                                        ─▶ NDP IPSn in the next NTB
//! ```
//!
//! Further sessions' devices are plain (one packet per read and write, no
//! offloads): their traffic (IMS signalling, MMS) is light, and it keeps
//! their path to one copy into the channel and one write. For the same
//! reason each of their packets is counted as it passes (two relaxed
//! atomics), per session id for as long as the table lives, so the pump's
//! totals can be split into session 0's share and each further session's.

use super::counters::len64;
use super::PacketDevice;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Packets read from further sessions' devices waiting for the transmit
/// half, at most: a reader waits (its device queues) beyond this.
const UPLINK_QUEUE: usize = 256;

/// The longest packet read from a further session's device (its MTU is at
/// most 1500; the margin takes whatever the kernel hands over).
const READ_LEN: usize = 2048;

/// What the receive half writes a further session's datagrams to.
trait SessionSink: Send + Sync {
    fn try_send(&self, packet: &[u8]) -> io::Result<usize>;
}

impl<D: PacketDevice> SessionSink for D {
    fn try_send(&self, packet: &[u8]) -> io::Result<usize> {
        PacketDevice::try_send(self, packet)
    }
}

/// A packet from a further session for the transmit half.
pub(super) type Uplink = (u8, Vec<u8>);

/// The live traffic counters of one further session.
#[derive(Debug, Default)]
struct Traffic {
    rx_packets: AtomicU64,
    rx_bytes: AtomicU64,
    tx_packets: AtomicU64,
    tx_bytes: AtomicU64,
}

impl Traffic {
    fn received(&self, bytes: usize) {
        self.rx_packets.fetch_add(1, Ordering::Relaxed);
        self.rx_bytes.fetch_add(len64(bytes), Ordering::Relaxed);
    }

    fn sent(&self, bytes: usize) {
        self.tx_packets.fetch_add(1, Ordering::Relaxed);
        self.tx_bytes.fetch_add(len64(bytes), Ordering::Relaxed);
    }

    fn snapshot(&self, session: u8) -> SessionTraffic {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        SessionTraffic {
            session,
            rx_packets: get(&self.rx_packets),
            rx_bytes: get(&self.rx_bytes),
            tx_packets: get(&self.tx_packets),
            tx_bytes: get(&self.tx_bytes),
        }
    }
}

/// What one further session carried since its table was made (across
/// detaching and attaching again): "rx" modem → host, "tx" host → modem.
/// The pump's own [`Counters`](super::Counters) include these packets too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SessionTraffic {
    /// The session id (1 and up).
    pub session: u8,
    /// IP packets written to the session's device.
    pub rx_packets: u64,
    /// Bytes of those packets.
    pub rx_bytes: u64,
    /// IP packets read from the session's device for the modem.
    pub tx_packets: u64,
    /// Bytes of those packets.
    pub tx_bytes: u64,
}

/// The further sessions' devices of one pump; cloneable, shared by the
/// pump and whoever attaches and detaches sessions.
#[derive(Clone)]
pub struct SessionTable {
    inner: Arc<Inner>,
}

/// An attached session: its id, where its datagrams go, its counters.
type Attached = (u8, Arc<dyn SessionSink>, Arc<Traffic>);

struct Inner {
    /// Few entries (MaxSessions is small): a scan beats a map.
    devices: RwLock<Vec<Attached>>,
    /// Every session's counters ever attached, kept when it is detached.
    traffic: Mutex<Vec<(u8, Arc<Traffic>)>>,
    /// Whether `devices` has any: the receive half's only cost while no
    /// further session is up is this load.
    any: AtomicBool,
    uplink: mpsc::Sender<Uplink>,
    /// Taken by the pump's transmit half when it starts.
    uplink_rx: Mutex<Option<mpsc::Receiver<Uplink>>>,
}

impl std::fmt::Debug for SessionTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionTable")
            .field("sessions", &self.sessions())
            .finish()
    }
}

impl Default for SessionTable {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionTable {
    /// A table with no further session.
    pub fn new() -> Self {
        let (uplink, uplink_rx) = mpsc::channel(UPLINK_QUEUE);
        SessionTable {
            inner: Arc::new(Inner {
                devices: RwLock::new(Vec::new()),
                traffic: Mutex::new(Vec::new()),
                any: AtomicBool::new(false),
                uplink,
                uplink_rx: Mutex::new(Some(uplink_rx)),
            }),
        }
    }

    /// The session ids attached.
    pub fn sessions(&self) -> Vec<u8> {
        match self.inner.devices.read() {
            Ok(devices) => devices.iter().map(|(id, _, _)| *id).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Carries session `session` (1 and up) to and from `device` until
    /// [`detach`](Self::detach): its datagrams are written to the device,
    /// and a task reads the device for the pump's transmit half. Dropping
    /// or aborting the returned handle stops the reading.
    pub fn attach<D: PacketDevice + 'static>(&self, session: u8, device: Arc<D>) -> SessionReader {
        self.detach(session);
        let traffic = self.traffic_of(session);
        if let Ok(mut devices) = self.inner.devices.write() {
            devices.push((session, device.clone(), traffic.clone()));
            self.inner.any.store(true, Ordering::Release);
        }
        let uplink = self.inner.uplink.clone();
        let task = tokio::spawn(async move {
            let mut buffer = vec![0u8; READ_LEN];
            let mut failures = 0u32;
            loop {
                match device.recv(&mut buffer).await {
                    Ok(len) => {
                        failures = 0;
                        let Some(packet) = buffer.get(..len) else {
                            continue;
                        };
                        if uplink.send((session, packet.to_vec())).await.is_err() {
                            return;
                        }
                        traffic.sent(len);
                    }
                    Err(error) => {
                        failures = failures.saturating_add(1);
                        if failures >= super::MAX_CONSECUTIVE_FAILURES {
                            tracing::warn!(
                                session,
                                "session device reads keep failing: {}",
                                crate::logging::chain(&error)
                            );
                            return;
                        }
                    }
                }
            }
        });
        SessionReader { task: Some(task) }
    }

    /// Stops carrying `session`: its datagrams are dropped (counted) again.
    pub fn detach(&self, session: u8) {
        if let Ok(mut devices) = self.inner.devices.write() {
            devices.retain(|(id, _, _)| *id != session);
            self.inner.any.store(!devices.is_empty(), Ordering::Release);
        }
    }

    /// Writes a datagram of `session` to its device; `None` when no device
    /// carries the session (the caller counts it dropped). A device that
    /// cannot take it now drops it, as a full TUN queue does.
    pub(super) fn deliver(&self, session: u8, data: &[u8]) -> Option<io::Result<usize>> {
        if !self.inner.any.load(Ordering::Acquire) {
            return None;
        }
        let devices = self.inner.devices.read().ok()?;
        let (_, device, traffic) = devices.iter().find(|(id, _, _)| *id == session)?;
        let written = device.try_send(data);
        if written.is_ok() {
            traffic.received(data.len());
        }
        Some(written)
    }

    /// What each further session ever attached carried, by session id.
    pub fn traffic(&self) -> Vec<SessionTraffic> {
        match self.inner.traffic.lock() {
            Ok(traffic) => traffic
                .iter()
                .map(|(session, counters)| counters.snapshot(*session))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The counters of `session`, made on its first attach.
    fn traffic_of(&self, session: u8) -> Arc<Traffic> {
        let Ok(mut traffic) = self.inner.traffic.lock() else {
            return Arc::default();
        };
        if let Some((_, counters)) = traffic.iter().find(|(id, _)| *id == session) {
            return counters.clone();
        }
        let counters = Arc::new(Traffic::default());
        traffic.push((session, counters.clone()));
        counters
    }

    /// The receiving end of the further sessions' packets, for the one
    /// transmit half that runs (`None` once taken).
    pub(super) fn take_uplink(&self) -> Option<mpsc::Receiver<Uplink>> {
        self.inner.uplink_rx.lock().ok()?.take()
    }

    /// Gives the receiving end back when the transmit half stops, so a
    /// pump started again on the same table finds it.
    pub(super) fn return_uplink(&self, uplink: mpsc::Receiver<Uplink>) {
        if let Ok(mut slot) = self.inner.uplink_rx.lock() {
            *slot = Some(uplink);
        }
    }
}

/// The task reading a further session's device; stops when dropped.
#[derive(Debug)]
pub struct SessionReader {
    task: Option<JoinHandle<()>>,
}

impl Drop for SessionReader {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapath::MemoryDevice;

    #[tokio::test]
    async fn datagrams_reach_the_attached_session_only_until_detached() {
        let table = SessionTable::new();
        assert!(table.deliver(1, b"x").is_none(), "nothing attached");
        let (device, peer) = MemoryDevice::new(8);
        let device = Arc::new(device);
        let mut uplink = table.take_uplink().unwrap();
        let _reader = table.attach(1, device);
        assert_eq!(table.sessions(), [1]);
        assert!(table.deliver(2, b"x").is_none(), "another session");
        assert_eq!(table.deliver(1, b"down").unwrap().unwrap(), 4);
        assert_eq!(peer.receive().await.unwrap(), b"down");
        // What the session's device sends comes out signed with its id.
        peer.inject(b"up").await.unwrap();
        assert_eq!(uplink.recv().await.unwrap(), (1, b"up".to_vec()));
        table.detach(1);
        assert!(table.deliver(1, b"x").is_none());
        assert!(table.sessions().is_empty());
    }

    #[tokio::test]
    async fn each_session_counts_its_own_traffic_across_attachments() {
        let table = SessionTable::new();
        let mut uplink = table.take_uplink().unwrap();
        let (first, first_peer) = MemoryDevice::new(8);
        let (second, _second_peer) = MemoryDevice::new(8);
        let _one = table.attach(1, Arc::new(first));
        let _two = table.attach(2, Arc::new(second));
        table.deliver(1, b"down").unwrap().unwrap();
        table.deliver(1, b"more").unwrap().unwrap();
        table.deliver(2, b"x").unwrap().unwrap();
        // Not attached: not counted anywhere.
        assert!(table.deliver(3, b"lost").is_none());
        first_peer.inject(b"uplink").await.unwrap();
        assert_eq!(uplink.recv().await.unwrap(), (1, b"uplink".to_vec()));
        let mut traffic = table.traffic();
        traffic.sort_by_key(|each| each.session);
        let expected_first = SessionTraffic {
            session: 1,
            rx_packets: 2,
            rx_bytes: 8,
            tx_packets: 1,
            tx_bytes: 6,
        };
        let expected_second = SessionTraffic {
            session: 2,
            rx_packets: 1,
            rx_bytes: 1,
            ..SessionTraffic::default()
        };
        assert_eq!(traffic, [expected_first, expected_second]);
        // Detached and attached again (the session reconnected): it goes on
        // from where it was, as the pump's totals do.
        table.detach(1);
        let (again, _again_peer) = MemoryDevice::new(8);
        let _again = table.attach(1, Arc::new(again));
        table.deliver(1, b"abc").unwrap().unwrap();
        let first = table
            .traffic()
            .into_iter()
            .find(|each| each.session == 1)
            .unwrap();
        assert_eq!((first.rx_packets, first.rx_bytes), (3, 11));
    }
}
