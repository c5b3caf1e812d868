//! The real network's reader: what the network sends towards the modem's
//! sessions, read from the forwarder's device and cut into the NTBs the
//! functions' bulk IN hands the host.
//!
//! It runs on a thread of its own with a current-thread tokio runtime, the
//! device registered with that runtime's reactor (opened there), as
//! mbimd's pump does with its own device: the device's readiness wakes
//! this thread directly. On a multi-thread runtime (mbimd's main one, where
//! it ran before) each readiness woke the worker parked in the reactor,
//! which woke another to run the reader, and the reader's lock and
//! hand-offs to the pump woke them again: at line rate, thousands of
//! wake-ups between threads per second (docs/performance.md, "The floor
//! with offloads").

use super::cut::Cutter;
use super::{ForwardError, ForwardTarget, Uplink};
use crate::device::SimModem;
use mbim_offload::segment::{ReadFraming, Segmenter, READ_BUFFER_LEN};
use mbim_transport::{DataJob, DataThread};
use std::os::fd::AsFd;
use std::sync::Arc;

/// Reads from the device per wake-up at most, before bulk IN's waiters are
/// woken once for all of them and the reader waits for readiness again.
const READ_BATCH: usize = 64;
/// Datagrams queued for the host per wake-up at most: with offloads one
/// read may carry dozens, and the queue towards the host is bounded.
const SEGMENT_BATCH: usize = 256;
/// Room in the queues towards the host asked for before each read: what a
/// super-packet of 64 KiB makes at the smallest segments a 1280-byte IPv6
/// link carries. A read that makes more finds the queue full for the rest,
/// which are dropped (counted) as a link's queue drops.
const READ_ROOM: usize = 64;
/// Room in the queues towards the host a reader that found too little
/// waits for: half of what they hold, so that once the host falls behind
/// the reader and the host's bulk IN wake each other once per several
/// blocks, not once per block, and the host still finds blocks waiting
/// while the reader catches up.
const ROOM_RESUME: usize = crate::model::data::MAX_FORWARDED_DATAGRAMS / 2;
/// How long the reader waits for room in the queues towards the host
/// before reading on (and dropping what finds a queue full): a host that
/// stops reading one function must not stall the others for long.
const ROOM_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// The real network's reader, running on its thread (`fwd-DEVICE`): it
/// reads until the device fails; the thread, and the host's jobs on it
/// ([`DataThread`]), run until this handle is dropped.
#[derive(Debug)]
pub struct Forwarder {
    /// Dropped with the handle, which ends the reader's loop and thread.
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Forwarder {
    /// Starts the reader's thread, which opens `target` (see
    /// [`ForwardTarget::open`]) inside its own runtime and gives it to
    /// `modem` as its uplink; resolves once the device is open, or with why
    /// it could not be.
    pub(crate) async fn start(
        modem: SimModem,
        target: ForwardTarget,
        offload: bool,
    ) -> Result<Forwarder, ForwardError> {
        let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let device = target.device.clone();
        std::thread::Builder::new()
            // Linux keeps 15 bytes of a thread's name; std cuts it there.
            .name(format!("fwd-{device}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(source) => {
                        let _ = opened_tx.send(Err(ForwardError::Reader { source }));
                        return;
                    }
                };
                // The host's jobs (its pumps, `DataThread`) run beside the
                // reader as tasks of this thread's own.
                let local = tokio::task::LocalSet::new();
                local.block_on(&runtime, async move {
                    // Opened here, so that its readiness is this runtime's.
                    let device = match target.open(offload).map(Arc::new) {
                        Ok(device) => device,
                        Err(error) => {
                            let _ = opened_tx.send(Err(error));
                            return;
                        }
                    };
                    let (jobs_tx, mut jobs_rx) = tokio::sync::mpsc::unbounded_channel::<DataJob>();
                    let thread = Arc::new(ReaderThread { jobs: jobs_tx });
                    if let Err(error) = modem.set_uplink(Arc::clone(&device), thread) {
                        let _ = opened_tx.send(Err(error));
                        return;
                    }
                    if opened_tx.send(Ok(())).is_err() {
                        // Whoever started it is gone: nobody would stop it.
                        return;
                    }
                    tokio::task::spawn_local(async move {
                        while let Some(job) = jobs_rx.recv().await {
                            job();
                        }
                    });
                    // A device that fails ends the reading, not the
                    // thread: the host's pumps on it go on carrying the
                    // sessions' other traffic (the simulated gateway's)
                    // until the handle is dropped.
                    let reading = async move {
                        read_loop(device, modem).await;
                        std::future::pending::<()>().await;
                    };
                    tokio::select! {
                        () = reading => {}
                        // Sent or dropped: either way, stop.
                        _ = stop_rx => {}
                    }
                });
            })
            .map_err(|source| ForwardError::Reader { source })?;
        match opened_rx.await {
            Ok(result) => result.map(|()| Forwarder { _stop: stop_tx }),
            Err(_) => Err(ForwardError::Reader {
                source: std::io::Error::other(
                    "the reader's thread ended before it opened the device",
                ),
            }),
        }
    }
}

/// The reader's thread as the host sees it ([`DataThread`]): the jobs it
/// is given run there beside the reader, so a pump started by one takes
/// the blocks the reader builds without a thread between them.
#[derive(Debug)]
struct ReaderThread {
    jobs: tokio::sync::mpsc::UnboundedSender<DataJob>,
}

impl DataThread for ReaderThread {
    fn run(&self, job: DataJob) -> Result<(), DataJob> {
        self.jobs.send(job).map_err(|refused| refused.0)
    }
}

/// Reads what the network sends towards the modem's sessions and hands it
/// to the model, up to [`READ_BATCH`] reads and [`SEGMENT_BATCH`] datagrams
/// per wake-up, until the device fails (it never ends otherwise). With
/// offloads a super-packet is cut by mbim-offload's [`Segmenter`], each
/// segment written straight into its place in an NTB of the reader's own
/// ([`Cutter`]), outside the model's lock; the lock is taken to hand over
/// a block that is full, and once at the end of each batch for what the
/// batch left (so the host gets it as soon as the device runs dry), when
/// bulk IN's waiters are woken once. When the queues towards the host are
/// short of room, the read in hand waits (at most [`ROOM_WAIT`]) for the
/// host to take some, so the namespace's TCP sees a slow link rather than
/// losses.
async fn read_loop(device: Uplink, modem: SimModem) {
    let mut buffer = vec![0u8; READ_BUFFER_LEN];
    let (framing, header) = if device.tcp_gso() {
        (ReadFraming::VirtioNet, tun_rs::VIRTIO_NET_HDR_LEN)
    } else {
        (ReadFraming::PlainPacket, 0)
    };
    let mut segmenter = Segmenter::new(framing);
    let mut cutter = Cutter::default();
    // The length of a read in `buffer` that found no room, delivered after
    // the wait for room.
    let mut held: Option<usize> = None;
    loop {
        let mut queued = 0usize;
        // After a wait for room that timed out, the read in hand and the
        // rest of the batch go in regardless (what finds a queue full is
        // dropped, counted).
        let mut waited_in_vain = false;
        match held.take() {
            Some(length) => {
                let room = modem.wait_for_network_room(ROOM_RESUME);
                waited_in_vain = tokio::time::timeout(ROOM_WAIT, room).await.is_err();
                let read = buffer.get_mut(..length).unwrap_or_default();
                queued = cutter.cut(&modem, header, &mut segmenter, read);
            }
            None => {
                if let Err(error) = device.readable().await {
                    tracing::warn!("the real network's TUN device failed: {error}");
                    return;
                }
            }
        }
        for _ in 0..READ_BATCH {
            if queued >= SEGMENT_BATCH {
                break;
            }
            let length = match read(&device, &mut buffer) {
                Ok(length) => length,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    tracing::warn!("reading the real network's TUN device: {error}");
                    return;
                }
            };
            // Short of room as far as the reader knows: what it has built
            // goes over, and the model says how much room there is.
            if !waited_in_vain && cutter.room() < READ_ROOM {
                cutter.hand_over(&modem, true);
                if cutter.room() < READ_ROOM {
                    held = Some(length);
                    break;
                }
            }
            let read = buffer.get_mut(..length).unwrap_or_default();
            queued = queued.saturating_add(cutter.cut(&modem, header, &mut segmenter, read));
        }
        if cutter.hand_over(&modem, false) || queued > 0 {
            modem.network_queued();
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
