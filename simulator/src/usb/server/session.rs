//! One URB session's state, shared by its reader, the task of each IN
//! endpoint and its writer: the configuration and alternate settings, halted
//! endpoints, the IN URBs held until the function has data, and how the
//! session ends.

use super::SessionEnd;
use crate::device::{EndpointError, SimFunction};
use crate::usb::descriptors::{FunctionLayout, UsbDescriptors};
use crate::usb::usbip::{errno, CmdUnlink, RetSubmit, RetUnlink, UrbReply};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};
use tracing::{debug, warn};

/// What an IN endpoint carries.
#[derive(Debug, Clone, Copy)]
pub(super) enum InKind {
    Notification,
    BulkIn,
}

/// The IN URBs held for one endpoint.
#[derive(Default)]
struct InQueue {
    /// (seqnum, transfer length) of held URBs, oldest first.
    pending: VecDeque<(u32, usize)>,
    /// Data fetched for a URB that was unlinked while it was being fetched.
    leftover: VecDeque<Vec<u8>>,
}

#[derive(Default)]
struct SessionState {
    configuration: u8,
    data_alt: HashMap<usize, u8>,
    halted: HashSet<u8>,
    queues: HashMap<u8, InQueue>,
    /// Control URBs left unanswered (`hang-control`), until unlinked.
    unanswered: HashSet<u32>,
    end: Option<SessionEnd>,
}

/// State shared by the reader, the endpoint tasks and the writer of one session.
pub(super) struct Session {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    state: Mutex<SessionState>,
    wake: HashMap<u8, Arc<Notify>>,
    ended: Notify,
}

impl Session {
    pub(super) fn new(tx: mpsc::UnboundedSender<Vec<u8>>, descriptors: &UsbDescriptors) -> Self {
        let wake = descriptors
            .layouts()
            .iter()
            .flat_map(|l| [l.notification_endpoint, l.bulk_in_endpoint])
            .map(|address| (address, Arc::new(Notify::new())))
            .collect();
        Session {
            tx,
            state: Mutex::new(SessionState::default()),
            wake,
            ended: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SessionState> {
        // A panic elsewhere cannot leave the plain data inconsistent; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, bytes: Vec<u8>) {
        // The writer only goes away when the session is ending.
        let _ = self.tx.send(bytes);
    }

    pub(super) fn complete(&self, seqnum: u32, status: i32, data: &[u8]) {
        self.send(UrbReply::submit_with_data(seqnum, status, data));
    }

    pub(super) fn complete_out(&self, seqnum: u32, status: i32, written: usize) {
        let len = u32::try_from(written).unwrap_or(u32::MAX);
        let reply = UrbReply::Submit(RetSubmit::new(seqnum, status, len));
        self.send(reply.encode().to_vec());
    }

    pub(super) fn end(&self, end: SessionEnd) {
        let mut state = self.lock();
        if state.end.is_none() {
            state.end = Some(end);
        }
        drop(state);
        self.ended.notify_one();
    }

    pub(super) async fn ended(&self) -> SessionEnd {
        loop {
            if let Some(end) = self.lock().end {
                return end;
            }
            self.ended.notified().await;
        }
    }

    pub(super) fn configuration(&self) -> u8 {
        self.lock().configuration
    }

    pub(super) fn set_configuration(&self, value: u8) {
        let mut state = self.lock();
        state.configuration = value;
        state.data_alt.clear();
        state.halted.clear();
        for queue in state.queues.values_mut() {
            queue.leftover.clear();
        }
    }

    pub(super) fn data_alt(&self, function: usize) -> u8 {
        self.lock().data_alt.get(&function).copied().unwrap_or(0)
    }

    pub(super) fn set_data_alt(&self, layout: &FunctionLayout, alt: u8) {
        let mut state = self.lock();
        state.data_alt.insert(layout.index, alt);
        // Selecting a setting resets its endpoints' halt state (USB 2.0 §9.4.10).
        state.halted.remove(&layout.bulk_in_endpoint);
        state.halted.remove(&layout.bulk_out_endpoint);
        if let Some(queue) = state.queues.get_mut(&layout.bulk_in_endpoint) {
            queue.leftover.clear();
        }
    }

    pub(super) fn is_halted(&self, address: u8) -> bool {
        self.lock().halted.contains(&address)
    }

    /// Halts an endpoint: its held URBs fail with `-EPIPE`, and so do new
    /// ones until CLEAR_FEATURE(ENDPOINT_HALT).
    pub(super) fn halt(&self, address: u8) {
        let mut state = self.lock();
        state.halted.insert(address);
        let failed: Vec<u32> = state
            .queues
            .get_mut(&address)
            .map(|q| q.pending.drain(..).map(|(seqnum, _)| seqnum).collect())
            .unwrap_or_default();
        drop(state);
        for seqnum in failed {
            self.complete(seqnum, -errno::EPIPE, &[]);
        }
    }

    pub(super) fn clear_halt(&self, address: u8) {
        self.lock().halted.remove(&address);
        self.wake_endpoint(address);
    }

    fn wake_endpoint(&self, address: u8) {
        if let Some(wake) = self.wake.get(&address) {
            wake.notify_one();
        }
    }

    pub(super) fn queue_in(&self, address: u8, seqnum: u32, len: usize) {
        self.lock()
            .queues
            .entry(address)
            .or_default()
            .pending
            .push_back((seqnum, len));
        self.wake_endpoint(address);
    }

    /// A control URB the device does not answer: it stays pending until
    /// the host gives up on it (CMD_UNLINK).
    pub(super) fn hold_unanswered(&self, seqnum: u32) {
        // Bounded by the host: each held URB is one it submitted and has
        // not unlinked yet.
        self.lock().unanswered.insert(seqnum);
    }

    pub(super) fn unlink(&self, cmd: &CmdUnlink) {
        let mut state = self.lock();
        let found = state.unanswered.remove(&cmd.unlink_seqnum)
            || state.queues.values_mut().any(|q| {
                let before = q.pending.len();
                q.pending.retain(|(seqnum, _)| *seqnum != cmd.unlink_seqnum);
                q.pending.len() != before
            });
        drop(state);
        debug!(
            seqnum = cmd.seqnum,
            unlink = cmd.unlink_seqnum,
            found,
            "unlink"
        );
        // Found: the URB is cancelled and gets no RET_SUBMIT. Not found: its
        // RET_SUBMIT is already queued ahead of this reply.
        let status = if found { -errno::ECONNRESET } else { 0 };
        let reply = UrbReply::Unlink(RetUnlink {
            seqnum: cmd.seqnum,
            status,
        });
        self.send(reply.encode().to_vec());
    }

    /// The transfer length of the oldest held URB of `address`, after
    /// handing any leftover data to held URBs; `None` if none is held.
    fn next_wanted(&self, address: u8) -> Option<usize> {
        let mut state = self.lock();
        if state.halted.contains(&address) {
            return None;
        }
        let queue = state.queues.entry(address).or_default();
        let mut ready = Vec::new();
        while !queue.leftover.is_empty() && !queue.pending.is_empty() {
            if let (Some(data), Some((seqnum, len))) =
                (queue.leftover.pop_front(), queue.pending.pop_front())
            {
                ready.push((seqnum, len, data));
            }
        }
        let wanted = queue.pending.front().map(|&(_, len)| len);
        drop(state);
        for (seqnum, len, data) in ready {
            self.complete(seqnum, 0, data.get(..len).unwrap_or(&data));
        }
        wanted
    }

    /// Completes the oldest held URB of `address` with `data` (copied into
    /// the reply; the buffer stays the caller's, for the next transfer), or
    /// keeps the data for the next URB if its URB was unlinked meanwhile.
    fn deliver(&self, address: u8, data: &mut Vec<u8>) {
        let mut state = self.lock();
        let queue = state.queues.entry(address).or_default();
        match queue.pending.pop_front() {
            Some((seqnum, len)) => {
                drop(state);
                if data.len() > len {
                    warn!(
                        address,
                        len,
                        have = data.len(),
                        "IN data truncated to the URB"
                    );
                }
                debug!(
                    seqnum,
                    address,
                    len = data.len().min(len),
                    "IN URB completed"
                );
                self.complete(seqnum, 0, data.get(..len).unwrap_or(data));
            }
            None => queue.leftover.push_back(std::mem::take(data)),
        }
    }
}

/// Feeds one IN endpoint: while a URB is held, fetch from the function and
/// complete it.
pub(super) async fn in_endpoint_task(
    session: Arc<Session>,
    function: SimFunction,
    address: u8,
    kind: InKind,
) {
    let Some(wake) = session.wake.get(&address).cloned() else {
        return;
    };
    // Bulk IN blocks trade places with this buffer in the modem (a block
    // built ahead is not copied), so it is kept from one transfer to the next.
    let mut buffer = Vec::new();
    loop {
        let Some(max_len) = session.next_wanted(address) else {
            wake.notified().await;
            continue;
        };
        let fetched = match kind {
            InKind::Notification => function
                .next_notification()
                .await
                .map(|n| buffer = n.emit()),
            InKind::BulkIn => function.next_bulk_in_into(max_len, &mut buffer).await,
        };
        match fetched {
            Ok(()) => session.deliver(address, &mut buffer),
            // Only control transfers go unanswered.
            Err(EndpointError::Stall | EndpointError::Unanswered) => {
                debug!(address, "IN endpoint stalled");
                session.halt(address);
            }
            Err(EndpointError::Unplugged) => {
                session.end(SessionEnd::Unplugged);
                return;
            }
        }
    }
}

pub(super) async fn write_loop<W: AsyncWrite>(
    writer: W,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    session: Arc<Session>,
) {
    let mut writer = std::pin::pin!(writer);
    while let Some(bytes) = rx.recv().await {
        if let Err(error) = writer.write_all(&bytes).await {
            warn!(%error, "writing to the USB/IP client failed");
            session.end(SessionEnd::WriteFailed);
            return;
        }
    }
}
