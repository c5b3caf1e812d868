//! The transfers of one bulk endpoint on the data interface's descriptor:
//! each URB at a fixed address from its submission until it is reaped,
//! reaped in whatever order the kernel hands them back (one descriptor
//! reaps both endpoints' URBs, and cancelled ones may overtake), and
//! handed to the caller in submission order, as the transport's pipes
//! promise.
//!
//! Each URB's buffer is, where the kernel allows it, a block of the
//! descriptor's memory mapped into mbimd (`block.rs`): usbfs then neither
//! allocates a kernel buffer for the transfer (for a 64 KiB NTB, four
//! 16 KiB page allocations per URB) nor copies it at submission or reap.
//! An IN transfer is made into a block that then goes to the caller as
//! the completion's [`UsbfsBuffer`], and comes back when the caller
//! submits it again: the pump parses the NTB where the device put it. An
//! OUT transfer is sent from the caller's block as it is, or from a `Vec`
//! copied into a block kept here. A descriptor that cannot be mapped (an
//! older kernel, usbfs's memory limit) transfers through `Vec`s, as before.
#![allow(unsafe_code)] // URBs and buffers lent to the kernel; each use says why it is sound.

use super::block::{Mapped, Memory, UsbfsBuffer};
use super::ioctl::{self, Urb};
use mbim_transport::{Completion, TransportError};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{c_int, c_uint};
use std::ptr::NonNull;

/// A transfer's state.
enum Slot {
    /// Lent to the kernel: the URB (a leaked `Box`) and the memory it
    /// points into (`staged` if any, else `buffer`'s), neither touched
    /// until reaped.
    Flying {
        urb: NonNull<Urb>,
        buffer: UsbfsBuffer,
        /// An OUT `Vec`'s contents, copied into a block for the kernel.
        staged: Option<Mapped>,
    },
    /// Reaped (or refused at submission): waiting for the caller.
    Done(Completion<UsbfsBuffer>),
}

/// One endpoint's transfers, oldest first.
pub(super) struct Urbs {
    endpoint: u8,
    slots: VecDeque<Slot>,
    /// URBs reaped and kept for the next submissions, so a pump running
    /// steadily allocates none. Boxed: each is lent to the kernel at a
    /// fixed address, which a Vec's elements do not keep.
    #[allow(clippy::vec_box)]
    spare: Vec<Box<Urb>>,
    /// Mapped blocks held by no buffer, kept for the next submissions.
    maps: Vec<Mapped>,
    /// Whether to map blocks: until the first mapping fails.
    mapping: bool,
}

// SAFETY: the URBs behind the raw pointers are owned by this queue alone
// (leaked boxes, reclaimed when reaped); nothing of them is tied to a
// thread, and the kernel's side is per descriptor, not per thread.
unsafe impl Send for Urbs {}

/// A transfer status from an errno (a URB's negated status, or a failed
/// submission), as nusb maps them.
pub(super) fn errno_error(errno: Errno) -> TransportError {
    match errno {
        Errno::NODEV | Errno::SHUTDOWN => TransportError::Disconnected,
        Errno::PIPE => TransportError::Stall,
        Errno::NOENT | Errno::CONNRESET | Errno::TIMEDOUT => TransportError::Cancelled,
        other => TransportError::Other(format!("usbfs: {other}")),
    }
}

impl Urbs {
    /// An empty queue for `endpoint` (bEndpointAddress).
    pub(super) fn new(endpoint: u8) -> Self {
        Urbs {
            endpoint,
            slots: VecDeque::new(),
            spare: Vec::new(),
            maps: Vec::new(),
            mapping: true,
        }
    }

    /// bEndpointAddress.
    pub(super) fn endpoint(&self) -> u8 {
        self.endpoint
    }

    fn is_in(&self) -> bool {
        self.endpoint & 0x80 != 0
    }

    /// Transfers not yet handed back.
    pub(super) fn pending(&self) -> usize {
        self.slots.len()
    }

    /// Whether any transfer is still the kernel's.
    pub(super) fn has_flying(&self) -> bool {
        self.slots
            .iter()
            .any(|slot| matches!(slot, Slot::Flying { .. }))
    }

    /// A new buffer of at least `capacity` bytes: a mapped block if the
    /// descriptor maps, else a `Vec`.
    pub(super) fn lend(&mut self, fd: BorrowedFd<'_>, capacity: usize) -> UsbfsBuffer {
        match self.map(fd, capacity) {
            Some(block) => UsbfsBuffer::mapped(block),
            None => Vec::with_capacity(capacity).into(),
        }
    }

    /// Submits a transfer through `buffer`: for IN, of at most `length`
    /// bytes into it (its contents dropped); for OUT, of its contents
    /// (`length` = their length). A submission the kernel refuses
    /// completes at once, in its turn, with the reason.
    pub(super) fn submit(
        &mut self,
        fd: BorrowedFd<'_>,
        buffer: UsbfsBuffer,
        length: usize,
        flags: c_uint,
    ) {
        if c_int::try_from(length).is_err() {
            self.slots.push_back(Slot::Done(Completion {
                buffer,
                status: Err(TransportError::Other(format!(
                    "a transfer of {length} bytes is longer than usbfs takes"
                ))),
            }));
            return;
        }
        let is_in = self.is_in();
        let (mut buffer, staged) = if is_in {
            (self.receive_into(fd, buffer, length), None)
        } else {
            self.stage(fd, buffer, length)
        };
        // The memory the URB points into, and how much of it it may use.
        let (target, room) = match (&staged, &mut buffer.0) {
            (Some(block), Memory::Owned(data)) => (block.as_ptr(), block.len().min(data.len())),
            // `stage` never stages a block's contents: the block is sent.
            (_, Memory::Mapped { block, len }) if is_in => {
                *len = 0;
                (block.as_ptr(), block.len())
            }
            (_, Memory::Mapped { block, len }) => (block.as_ptr(), (*len).min(block.len())),
            (None, Memory::Owned(data)) if is_in => (data.as_mut_ptr(), data.capacity()),
            (None, Memory::Owned(data)) => (data.as_mut_ptr(), data.len()),
        };
        // At most `length`, which fits (checked above).
        let urb_length = c_int::try_from(length.min(room)).unwrap_or(0);
        let urb = Urb::bulk(self.endpoint, flags, target, urb_length);
        let boxed = match self.spare.pop() {
            Some(mut spare) => {
                *spare = urb;
                spare
            }
            None => Box::new(urb),
        };
        let urb = NonNull::from(Box::leak(boxed));
        // SAFETY: the URB is a leaked box, and its buffer `urb_length`
        // bytes of a mapped block or of a Vec's heap block (capacity for
        // IN, contents for OUT); the slot below keeps all of them,
        // untouched, until `reaped` or `abandon` (which leaks them) takes
        // them back.
        match unsafe { ioctl::submit(fd, urb.as_ptr()) } {
            Ok(()) => self.slots.push_back(Slot::Flying {
                urb,
                buffer,
                staged,
            }),
            Err(errno) => {
                // SAFETY: the kernel refused the URB, so it holds no
                // reference to it: the box is ours again.
                self.spare.push(unsafe { Box::from_raw(urb.as_ptr()) });
                self.maps.extend(staged);
                self.slots.push_back(Slot::Done(Completion {
                    buffer,
                    status: Err(errno_error(errno)),
                }));
            }
        }
    }

    /// The memory an IN transfer of `length` bytes goes into: `buffer`'s
    /// block if it is large enough, else a kept or new block (a `Vec` it
    /// came in is then dropped: the pump's buffers become blocks on their
    /// first submission), else the `Vec` with room reserved.
    fn receive_into(
        &mut self,
        fd: BorrowedFd<'_>,
        buffer: UsbfsBuffer,
        length: usize,
    ) -> UsbfsBuffer {
        let data = match buffer.0 {
            Memory::Mapped { block, len } if block.len() >= length => {
                return UsbfsBuffer(Memory::Mapped { block, len });
            }
            Memory::Mapped { block, .. } => {
                self.maps.push(block);
                Vec::new()
            }
            Memory::Owned(data) => data,
        };
        match self.map(fd, length) {
            Some(block) => UsbfsBuffer::mapped(block),
            None => {
                let mut data = data;
                data.clear();
                data.reserve(length);
                UsbfsBuffer(Memory::Owned(data))
            }
        }
    }

    /// An OUT transfer's memory: `buffer`'s block as it is, or a `Vec`'s
    /// first `length` bytes copied into a kept or new block (`staged`),
    /// else the `Vec` itself.
    fn stage(
        &mut self,
        fd: BorrowedFd<'_>,
        buffer: UsbfsBuffer,
        length: usize,
    ) -> (UsbfsBuffer, Option<Mapped>) {
        let Memory::Owned(data) = &buffer.0 else {
            return (buffer, None);
        };
        let length = length.min(data.len());
        let staged = self.map(fd, length);
        if let Some(block) = &staged {
            // SAFETY: the block holds at least `length` bytes (`map`), at
            // most the Vec's contents; it is not the kernel's until
            // submitted.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), block.as_ptr(), length) };
        }
        (buffer, staged)
    }

    /// A mapped block of at least `len` bytes for a transfer: a kept one,
    /// else a new one; `None` for an empty transfer, or once mapping has
    /// failed (the transfer then uses a `Vec`).
    fn map(&mut self, fd: BorrowedFd<'_>, len: usize) -> Option<Mapped> {
        if len == 0 || !self.mapping {
            return None;
        }
        if let Some(index) = self.maps.iter().position(|block| block.len() >= len) {
            return Some(self.maps.swap_remove(index));
        }
        match Mapped::new(fd, len) {
            Ok(block) => Some(block),
            Err(errno) => {
                tracing::debug!(
                    endpoint = self.endpoint,
                    "usbfs: no mapped transfer buffers ({errno}); the kernel copies each transfer"
                );
                self.mapping = false;
                None
            }
        }
    }

    /// Takes back `urb` if it is one of this endpoint's, now reaped: the
    /// kernel has written its status (and an IN transfer's data). Returns
    /// whether it was.
    pub(super) fn reaped(&mut self, urb: *mut Urb) -> bool {
        let is_in = self.is_in();
        let Some(slot) = self
            .slots
            .iter_mut()
            .find(|slot| matches!(slot, Slot::Flying { urb: ours, .. } if ours.as_ptr() == urb))
        else {
            return false;
        };
        let Slot::Flying {
            urb,
            mut buffer,
            staged,
        } = std::mem::replace(
            slot,
            Slot::Done(Completion {
                buffer: Vec::new().into(),
                status: Ok(()),
            }),
        )
        else {
            return false;
        };
        // SAFETY: the kernel handed the URB back (reaped), so it no longer
        // refers to it or its buffer; the box was leaked at submission.
        let urb = unsafe { Box::from_raw(urb.as_ptr()) };
        let status = match urb.status {
            0 => Ok(()),
            status => Err(errno_error(Errno::from_raw_os_error(
                status.saturating_abs(),
            ))),
        };
        if is_in {
            // Never more than `buffer_length`, itself at most the block's
            // length or the Vec's capacity, to which it is capped anyway.
            let received = usize::try_from(urb.actual_length).unwrap_or(0);
            match &mut buffer.0 {
                Memory::Mapped { block, len } => *len = received.min(block.len()),
                Memory::Owned(data) => {
                    let received = received.min(data.capacity());
                    // SAFETY: the kernel copied `actual_length` bytes into
                    // the Vec's capacity when it was reaped.
                    unsafe { data.set_len(received) };
                }
            }
        }
        self.maps.extend(staged);
        self.spare.push(urb);
        *slot = Slot::Done(Completion { buffer, status });
        true
    }

    /// The oldest transfer, if it is done.
    pub(super) fn pop_done(&mut self) -> Option<Completion<UsbfsBuffer>> {
        if !matches!(self.slots.front(), Some(Slot::Done(_))) {
            return None;
        }
        match self.slots.pop_front() {
            Some(Slot::Done(completion)) => Some(completion),
            _ => None,
        }
    }

    /// Asks the kernel to end every transfer still in flight; each is then
    /// reaped as cancelled (one that completed meanwhile, as it completed).
    pub(super) fn discard_all(&self, fd: BorrowedFd<'_>) {
        for slot in &self.slots {
            if let Slot::Flying { urb, .. } = slot {
                // EINVAL: completed already, to be reaped; ENODEV: the
                // device is gone and the kernel ended it itself.
                let _ = ioctl::discard(fd, urb.as_ptr());
            }
        }
    }

    /// Gives up on every transfer still in flight, completing each with
    /// `status` and an empty buffer: the URB and its memory are leaked on
    /// purpose, since the kernel may still write into them when (if ever)
    /// they are reaped. Only for when they cannot be reaped.
    pub(super) fn abandon(&mut self, status: &TransportError) -> usize {
        let mut abandoned = 0;
        for slot in &mut self.slots {
            if matches!(slot, Slot::Flying { .. }) {
                let done = Slot::Done(Completion {
                    buffer: Vec::new().into(),
                    status: Err(status.clone()),
                });
                if let Slot::Flying { buffer, staged, .. } = std::mem::replace(slot, done) {
                    std::mem::forget(buffer);
                    std::mem::forget(staged);
                    abandoned += 1;
                }
            }
        }
        abandoned
    }
}

impl Drop for Urbs {
    fn drop(&mut self) {
        // Whoever owns the queue reaps or abandons every URB before it
        // goes (the pipe's drop); one still flying here is leaked with its
        // buffer rather than freed under the kernel.
        let left = self.abandon(&TransportError::Cancelled);
        if left > 0 {
            tracing::warn!(
                endpoint = self.endpoint,
                "usbfs: {left} transfers still in flight were leaked"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbim_protocol::ntb::BlockBuffer;
    use rustix::fd::{AsFd, OwnedFd};

    /// A descriptor that is no usbfs node: every submission is refused
    /// (ENOTTY) and nothing maps, so the queue's bookkeeping runs without
    /// a device.
    fn not_usbfs() -> OwnedFd {
        rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap()
    }

    /// A descriptor that maps like usbfs's (shared memory) but takes no
    /// URB (ENOTTY): a memfd of `len` bytes.
    fn mappable(len: u64) -> OwnedFd {
        let fd = rustix::fs::memfd_create("urbs", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&fd, len).unwrap();
        fd
    }

    /// Where a buffer's memory starts.
    fn address(buffer: &UsbfsBuffer) -> *const u8 {
        match &buffer.0 {
            Memory::Owned(data) => data.as_ptr(),
            Memory::Mapped { block, .. } => block.as_ptr(),
        }
    }

    /// Puts an IN transfer in flight into `buffer` as the kernel would have
    /// taken it, for the ordering tests.
    fn fly(urbs: &mut Urbs, buffer: impl Into<UsbfsBuffer>) -> *mut Urb {
        let mut buffer = buffer.into();
        let (target, room) = match &mut buffer.0 {
            Memory::Owned(data) => (data.as_mut_ptr(), data.capacity()),
            Memory::Mapped { block, .. } => (block.as_ptr(), block.len()),
        };
        let length = c_int::try_from(room).unwrap();
        let urb = Box::into_raw(Box::new(Urb::bulk(urbs.endpoint, 0, target, length)));
        urbs.slots.push_back(Slot::Flying {
            urb: NonNull::new(urb).unwrap(),
            buffer,
            staged: None,
        });
        urb
    }

    /// What the kernel does when reaping: status, length, data.
    fn complete(urb: *mut Urb, status: c_int, data: &[u8]) {
        // SAFETY: the test's own URB, flying, with a buffer of at least
        // `data.len()` bytes of capacity.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), (*urb).buffer.cast::<u8>(), data.len());
            (*urb).status = status;
            (*urb).actual_length = c_int::try_from(data.len()).unwrap();
        }
    }

    #[test]
    fn completions_come_back_in_submission_order_whatever_the_reaping_order() {
        let mut urbs = Urbs::new(0x81);
        let first = fly(&mut urbs, Vec::with_capacity(64));
        let second = fly(&mut urbs, Vec::with_capacity(64));
        let third = fly(&mut urbs, Vec::with_capacity(64));
        complete(third, 0, b"three");
        assert!(urbs.reaped(third));
        assert!(urbs.pop_done().is_none(), "the first is still flying");
        complete(first, 0, b"one");
        assert!(urbs.reaped(first));
        let done = urbs.pop_done().unwrap();
        assert_eq!(done.buffer.as_ref(), b"one");
        assert!(done.status.is_ok());
        assert!(urbs.pop_done().is_none(), "the second is still flying");
        complete(second, -libc_errno(Errno::CONNRESET), b"tw");
        assert!(urbs.reaped(second));
        let done = urbs.pop_done().unwrap();
        assert_eq!(done.status, Err(TransportError::Cancelled));
        assert_eq!(
            done.buffer.as_ref(),
            b"tw",
            "a cancelled transfer keeps its data"
        );
        assert_eq!(urbs.pop_done().unwrap().buffer.as_ref(), b"three");
        assert_eq!(urbs.pending(), 0);
        assert!(!urbs.has_flying());
        assert_eq!(urbs.spare.len(), 3, "the URBs are kept for reuse");
    }

    #[test]
    fn a_urb_of_another_endpoint_is_not_taken() {
        let mut ours = Urbs::new(0x81);
        let mut theirs = Urbs::new(0x02);
        let their_urb = fly(&mut theirs, Vec::with_capacity(8));
        let _ = fly(&mut ours, Vec::with_capacity(8));
        assert!(!ours.reaped(their_urb));
        complete(their_urb, -libc_errno(Errno::PIPE), b"");
        assert!(theirs.reaped(their_urb));
        assert_eq!(
            theirs.pop_done().unwrap().status,
            Err(TransportError::Stall)
        );
        assert!(ours.pop_done().is_none());
        ours.abandon(&TransportError::Disconnected);
    }

    #[test]
    fn a_refused_submission_completes_in_its_turn() {
        let fd = not_usbfs();
        let mut urbs = Urbs::new(0x02);
        let flying = fly(&mut urbs, Vec::with_capacity(8));
        urbs.submit(fd.as_fd(), b"data".to_vec().into(), 4, 0);
        assert_eq!(urbs.pending(), 2);
        assert!(urbs.pop_done().is_none(), "behind the one in flight");
        complete(flying, 0, b"");
        assert!(urbs.reaped(flying));
        assert!(urbs.pop_done().unwrap().status.is_ok());
        let refused = urbs.pop_done().unwrap();
        assert_eq!(refused.buffer.as_ref(), b"data", "the data comes back");
        assert!(matches!(refused.status, Err(TransportError::Other(_))));
    }

    #[test]
    fn an_out_vec_is_copied_into_a_mapped_block_kept_for_the_next() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x02);
        urbs.submit(fd.as_fd(), b"data".to_vec().into(), 4, 0);
        let refused = urbs.pop_done().unwrap();
        assert_eq!(refused.buffer.as_ref(), b"data", "the data comes back");
        assert!(!refused.buffer.is_mapped(), "the caller's Vec itself");
        assert!(matches!(refused.status, Err(TransportError::Other(_))));
        assert!(urbs.mapping);
        assert_eq!(urbs.maps.len(), 1, "the block is kept");
        let block = &urbs.maps[0];
        // SAFETY: the block holds at least the 4 bytes copied into it.
        let copied = unsafe { std::slice::from_raw_parts(block.as_ptr(), 4) };
        assert_eq!(copied, b"data", "what the URB pointed at");
        urbs.submit(fd.as_fd(), b"more".to_vec().into(), 4, 0);
        assert_eq!(urbs.pop_done().unwrap().buffer.as_ref(), b"more");
        assert_eq!(urbs.maps.len(), 1, "the same block again, no new one");
    }

    #[test]
    fn an_in_transfer_is_received_into_a_block_lent_to_the_caller() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x81);
        let lent = urbs.lend(fd.as_fd(), 64);
        assert!(lent.is_mapped());
        assert!(lent.as_ref().is_empty());
        let block = address(&lent);
        let urb = fly(&mut urbs, lent);
        // SAFETY: the test's own URB, flying.
        assert_eq!(unsafe { (*urb).buffer.cast::<u8>() }.cast_const(), block);
        complete(urb, 0, b"received");
        assert!(urbs.reaped(urb));
        let done = urbs.pop_done().unwrap();
        assert!(done.status.is_ok());
        assert!(done.buffer.is_mapped(), "the block itself, not a copy");
        assert_eq!(address(&done.buffer), block);
        assert_eq!(done.buffer.as_ref(), b"received");
        assert!(urbs.maps.is_empty(), "the caller holds the block");
    }

    #[test]
    fn a_lent_block_submitted_again_is_used_again() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x81);
        // A Vec becomes a block on its first submission (which the memfd
        // refuses, so it comes straight back).
        urbs.submit(fd.as_fd(), Vec::with_capacity(100).into(), 100, 0);
        let first = urbs.pop_done().unwrap().buffer;
        assert!(first.is_mapped());
        let block = address(&first);
        urbs.submit(fd.as_fd(), first, 100, 0);
        let again = urbs.pop_done().unwrap().buffer;
        assert_eq!(address(&again), block, "the same block");
        assert!(again.as_ref().is_empty(), "its old contents are dropped");
        assert!(urbs.maps.is_empty());
        // Too small for a longer transfer: kept here, and a larger one lent.
        let page = rustix::param::page_size();
        urbs.submit(fd.as_fd(), again, page + 1, 0);
        let larger = urbs.pop_done().unwrap().buffer;
        assert!(larger.is_mapped());
        assert_ne!(address(&larger), block);
        assert_eq!(urbs.maps.len(), 1, "the smaller block is kept");
        assert_eq!(urbs.maps[0].as_ptr().cast_const(), block);
        // And lent again for a transfer it fits.
        assert_eq!(address(&urbs.lend(fd.as_fd(), 64)), block);
    }

    #[test]
    fn a_lent_block_stays_readable_after_the_queue_is_cancelled_and_gone() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x81);
        let first = urbs.lend(fd.as_fd(), 64);
        let second = urbs.lend(fd.as_fd(), 64);
        let done = fly(&mut urbs, first);
        let _still_flying = fly(&mut urbs, second);
        complete(done, 0, b"kept");
        assert!(urbs.reaped(done));
        let held = urbs.pop_done().unwrap().buffer;
        // The rest is cancelled and cannot be reaped: abandoned, its block
        // leaked (never unmapped under the kernel); the caller's is its own.
        assert_eq!(urbs.abandon(&TransportError::Cancelled), 1);
        let abandoned = urbs.pop_done().unwrap();
        assert_eq!(abandoned.status, Err(TransportError::Cancelled));
        assert!(abandoned.buffer.as_ref().is_empty());
        drop(urbs);
        drop(fd);
        assert_eq!(held.as_ref(), b"kept");
        assert_eq!(Vec::from(held), b"kept", "a block turns into a Vec copy");
    }

    #[test]
    fn an_out_block_lent_is_sent_from_where_it_was_built() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x02);
        let mut lent = urbs.lend(fd.as_fd(), 100);
        assert!(lent.is_mapped());
        let page = rustix::param::page_size();
        assert!(!lent.set_len_zeroed(page + 1), "no more than the block");
        assert!(lent.set_len_zeroed(8));
        assert_eq!(lent.as_ref(), [0; 8], "gained bytes are zeroed");
        lent.as_mut()[..4].copy_from_slice(b"data");
        assert!(lent.set_len_zeroed(4));
        let block = address(&lent);
        urbs.submit(fd.as_fd(), lent, 4, 0);
        let refused = urbs.pop_done().unwrap();
        assert!(matches!(refused.status, Err(TransportError::Other(_))));
        assert_eq!(address(&refused.buffer), block, "the block itself");
        assert_eq!(refused.buffer.as_ref(), b"data");
        assert!(urbs.maps.is_empty(), "nothing was staged");
        let mut again = refused.buffer;
        assert!(again.set_len_zeroed(6));
        assert_eq!(again.as_ref(), b"data\0\0", "stale bytes are zeroed");
    }

    #[test]
    fn a_descriptor_that_does_not_map_uses_vecs() {
        let fd = not_usbfs();
        let mut urbs = Urbs::new(0x02);
        urbs.submit(fd.as_fd(), b"data".to_vec().into(), 4, 0);
        assert!(
            !urbs.mapping,
            "mapping /dev/null fails, and is not tried again"
        );
        assert!(urbs.maps.is_empty());
        assert_eq!(urbs.pop_done().unwrap().buffer.as_ref(), b"data");
        let mut bulk_in = Urbs::new(0x81);
        let lent = bulk_in.lend(fd.as_fd(), 64);
        assert!(!lent.is_mapped(), "a Vec instead");
        assert!(!bulk_in.mapping);
        bulk_in.submit(fd.as_fd(), lent, 64, 0);
        let back = bulk_in.pop_done().unwrap().buffer;
        assert!(!back.is_mapped());
        let Memory::Owned(data) = &back.0 else {
            unreachable!()
        };
        assert!(data.capacity() >= 64, "room reserved for the transfer");
        let urb = fly(&mut bulk_in, back);
        complete(urb, 0, b"received");
        assert!(bulk_in.reaped(urb));
        assert_eq!(bulk_in.pop_done().unwrap().buffer.as_ref(), b"received");
    }

    #[test]
    fn abandoned_transfers_complete_with_the_reason_and_no_buffer() {
        let mut urbs = Urbs::new(0x81);
        let _ = fly(&mut urbs, Vec::with_capacity(16));
        assert_eq!(urbs.abandon(&TransportError::Disconnected), 1);
        let done = urbs.pop_done().unwrap();
        assert_eq!(done.status, Err(TransportError::Disconnected));
        assert!(done.buffer.as_ref().is_empty());
    }

    #[test]
    fn urb_statuses_map_to_the_transport_s() {
        assert_eq!(errno_error(Errno::NODEV), TransportError::Disconnected);
        assert_eq!(errno_error(Errno::SHUTDOWN), TransportError::Disconnected);
        assert_eq!(errno_error(Errno::PIPE), TransportError::Stall);
        assert_eq!(errno_error(Errno::NOENT), TransportError::Cancelled);
        assert_eq!(errno_error(Errno::CONNRESET), TransportError::Cancelled);
        assert!(matches!(
            errno_error(Errno::PROTO),
            TransportError::Other(_)
        ));
    }

    fn libc_errno(errno: Errno) -> c_int {
        errno.raw_os_error()
    }
}
