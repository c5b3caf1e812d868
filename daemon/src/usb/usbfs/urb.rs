//! The transfers of one bulk endpoint on the data interface's descriptor:
//! each URB at a fixed address from its submission until it is reaped,
//! reaped in whatever order the kernel hands them back (one descriptor
//! reaps both endpoints' URBs, and cancelled ones may overtake), and
//! handed to the caller in submission order, as the transport's pipes
//! promise.
//!
//! Each URB's buffer is, where the kernel allows it, a block of the
//! descriptor's memory mapped into mbimd (usbfs zero-copy, Linux 4.6 on):
//! usbfs then neither allocates a kernel buffer for the transfer (for a
//! 64 KiB NTB, four 16 KiB page allocations per URB) nor copies it at
//! submission or reap; the caller's `Vec` is filled from (IN) or copied
//! into (OUT) the block in user space. That was half of usbfs's CPU per
//! byte on the RX path in the cdc_mbim VM bench (docs/performance.md). A
//! descriptor that cannot be mapped (an older kernel, usbfs's memory
//! limit) uses the caller's buffer, as before.
#![allow(unsafe_code)] // URBs and buffers lent to the kernel; each use says why it is sound.

use super::ioctl::{self, Urb};
use mbim_transport::{Completion, TransportError};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{c_int, c_uint};
use std::ptr::NonNull;

/// A transfer's state.
enum Slot {
    /// Lent to the kernel: the URB (a leaked `Box`) and the buffer it
    /// points into (the mapped block, if any, else the caller's), neither
    /// touched until reaped.
    Flying {
        urb: NonNull<Urb>,
        buffer: Vec<u8>,
        mapped: Option<Mapped>,
    },
    /// Reaped (or refused at submission): waiting for the caller.
    Done(Completion),
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
    /// Mapped blocks not lent to the kernel, kept for the next submissions.
    maps: Vec<Mapped>,
    /// Whether to map blocks: until the first mapping fails.
    mapping: bool,
}

/// A block of a usbfs descriptor's memory, mapped shared: the kernel's
/// buffer for any URB that lies inside it.
pub(super) struct Mapped {
    start: NonNull<u8>,
    len: usize,
}

impl Mapped {
    /// Maps `len` bytes of `fd`'s memory (the kernel rounds the mapping
    /// up to whole pages, and `munmap` the same length back).
    fn new(fd: BorrowedFd<'_>, len: usize) -> Result<Self, Errno> {
        // SAFETY: a new mapping at an address of the kernel's choosing,
        // over no memory of ours; usbfs backs it with a kernel buffer of
        // its own, which it keeps until the last URB in it is reaped.
        let start = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
                fd,
                0,
            )
        }?;
        NonNull::new(start.cast::<u8>())
            .map(|start| Mapped { start, len })
            .ok_or(Errno::NOMEM)
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: the mapping is this value's alone, and no URB is in it:
        // a block lent to the kernel is only dropped once reaped (one
        // abandoned in flight is leaked instead).
        let _ = unsafe { rustix::mm::munmap(self.start.as_ptr().cast(), self.len) };
    }
}

// SAFETY: the mapping is owned by this value alone and tied to no thread.
unsafe impl Send for Mapped {}

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

    /// Submits a transfer over `buffer`: for IN, into its first `length`
    /// bytes of capacity (the caller reserved them); for OUT, of its
    /// contents (`length` = its len). A submission the kernel refuses
    /// completes at once, in its turn, with the reason.
    pub(super) fn submit(
        &mut self,
        fd: BorrowedFd<'_>,
        mut buffer: Vec<u8>,
        length: usize,
        flags: c_uint,
    ) {
        let capacity = if self.is_in() {
            buffer.capacity()
        } else {
            buffer.len()
        };
        let Ok(urb_length) = c_int::try_from(length.min(capacity)) else {
            self.slots.push_back(Slot::Done(Completion {
                buffer,
                status: Err(TransportError::Other(format!(
                    "a transfer of {length} bytes is longer than usbfs takes"
                ))),
            }));
            return;
        };
        let mapped = self.map(fd, length.min(capacity));
        let target = match &mapped {
            Some(block) => {
                if !self.is_in() {
                    // SAFETY: the block holds at least `length.min(capacity)`
                    // bytes (`map`), which for OUT is at most the buffer's
                    // contents; the block is not the kernel's until submitted.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            buffer.as_ptr(),
                            block.start.as_ptr(),
                            length.min(capacity),
                        );
                    }
                }
                block.start.as_ptr()
            }
            None => buffer.as_mut_ptr(),
        };
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
        // bytes of a mapped block or of the Vec's heap block (capacity for
        // IN, contents for OUT); the slot below keeps all of them,
        // untouched, until `reaped` or `abandon` (which leaks them) takes
        // them back.
        match unsafe { ioctl::submit(fd, urb.as_ptr()) } {
            Ok(()) => self.slots.push_back(Slot::Flying {
                urb,
                buffer,
                mapped,
            }),
            Err(errno) => {
                // SAFETY: the kernel refused the URB, so it holds no
                // reference to it: the box is ours again.
                self.spare.push(unsafe { Box::from_raw(urb.as_ptr()) });
                self.maps.extend(mapped);
                self.slots.push_back(Slot::Done(Completion {
                    buffer,
                    status: Err(errno_error(errno)),
                }));
            }
        }
    }

    /// A mapped block of at least `len` bytes for a transfer: a kept one,
    /// else a new one; `None` for an empty transfer, or once mapping has
    /// failed (the transfer then uses the caller's buffer).
    fn map(&mut self, fd: BorrowedFd<'_>, len: usize) -> Option<Mapped> {
        if len == 0 || !self.mapping {
            return None;
        }
        if let Some(index) = self.maps.iter().position(|block| block.len >= len) {
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
            buffer,
            mapped,
        } = std::mem::replace(
            slot,
            Slot::Done(Completion {
                buffer: Vec::new(),
                status: Ok(()),
            }),
        )
        else {
            return false;
        };
        // SAFETY: the kernel handed the URB back (reaped), so it no longer
        // refers to it or its buffer; the box was leaked at submission.
        let urb = unsafe { Box::from_raw(urb.as_ptr()) };
        let mut buffer = buffer;
        let status = match urb.status {
            0 => Ok(()),
            status => Err(errno_error(Errno::from_raw_os_error(
                status.saturating_abs(),
            ))),
        };
        if is_in {
            let mut received = usize::try_from(urb.actual_length)
                .unwrap_or(0)
                .min(buffer.capacity());
            if let Some(block) = &mapped {
                received = received.min(block.len);
                // SAFETY: the kernel wrote `actual_length` bytes (at most
                // `buffer_length`, itself at most the block's length and
                // the buffer's capacity) into the block, and handed it back.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        block.start.as_ptr(),
                        buffer.as_mut_ptr(),
                        received,
                    );
                }
            }
            // SAFETY: the kernel copied `actual_length` bytes into the
            // buffer when it was reaped, or they were copied from the block
            // just above (never more than `buffer_length`, itself at most
            // the capacity, to which the length is capped).
            unsafe { buffer.set_len(received) };
        }
        self.maps.extend(mapped);
        self.spare.push(urb);
        *slot = Slot::Done(Completion { buffer, status });
        true
    }

    /// The oldest transfer, if it is done.
    pub(super) fn pop_done(&mut self) -> Option<Completion> {
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
    /// `status` and an empty buffer: the URB and its buffer are leaked on
    /// purpose, since the kernel may still write into them when (if ever)
    /// they are reaped. Only for when they cannot be reaped.
    pub(super) fn abandon(&mut self, status: &TransportError) -> usize {
        let mut abandoned = 0;
        for slot in &mut self.slots {
            if matches!(slot, Slot::Flying { .. }) {
                let done = Slot::Done(Completion {
                    buffer: Vec::new(),
                    status: Err(status.clone()),
                });
                if let Slot::Flying { buffer, mapped, .. } = std::mem::replace(slot, done) {
                    std::mem::forget(buffer);
                    std::mem::forget(mapped);
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
    use rustix::fd::{AsFd, OwnedFd};

    /// A descriptor that is no usbfs node: every submission is refused
    /// (ENOTTY), so the queue's bookkeeping runs without a device.
    fn not_usbfs() -> OwnedFd {
        rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap()
    }

    /// Puts a transfer in flight as the kernel would have taken it, for
    /// the ordering tests.
    fn fly(urbs: &mut Urbs, mut buffer: Vec<u8>) -> *mut Urb {
        let length = c_int::try_from(buffer.capacity()).unwrap();
        let urb = Box::into_raw(Box::new(Urb::bulk(
            urbs.endpoint,
            0,
            buffer.as_mut_ptr(),
            length,
        )));
        urbs.slots.push_back(Slot::Flying {
            urb: NonNull::new(urb).unwrap(),
            buffer,
            mapped: None,
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
        assert_eq!(done.buffer, b"one");
        assert!(done.status.is_ok());
        assert!(urbs.pop_done().is_none(), "the second is still flying");
        complete(second, -libc_errno(Errno::CONNRESET), b"tw");
        assert!(urbs.reaped(second));
        let done = urbs.pop_done().unwrap();
        assert_eq!(done.status, Err(TransportError::Cancelled));
        assert_eq!(done.buffer, b"tw", "a cancelled transfer keeps its data");
        assert_eq!(urbs.pop_done().unwrap().buffer, b"three");
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
        urbs.submit(fd.as_fd(), b"data".to_vec(), 4, 0);
        assert_eq!(urbs.pending(), 2);
        assert!(urbs.pop_done().is_none(), "behind the one in flight");
        complete(flying, 0, b"");
        assert!(urbs.reaped(flying));
        assert!(urbs.pop_done().unwrap().status.is_ok());
        let refused = urbs.pop_done().unwrap();
        assert_eq!(refused.buffer, b"data", "the data comes back");
        assert!(matches!(refused.status, Err(TransportError::Other(_))));
    }

    /// A descriptor that maps like usbfs's (shared memory) but takes no
    /// URB (ENOTTY): a memfd of `len` bytes.
    fn mappable(len: u64) -> OwnedFd {
        let fd = rustix::fs::memfd_create("urbs", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&fd, len).unwrap();
        fd
    }

    #[test]
    fn an_out_transfer_is_copied_into_a_mapped_block_kept_for_the_next() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x02);
        urbs.submit(fd.as_fd(), b"data".to_vec(), 4, 0);
        let refused = urbs.pop_done().unwrap();
        assert_eq!(refused.buffer, b"data", "the data comes back");
        assert!(matches!(refused.status, Err(TransportError::Other(_))));
        assert!(urbs.mapping);
        assert_eq!(urbs.maps.len(), 1, "the block is kept");
        let block = &urbs.maps[0];
        // SAFETY: the block holds at least the 4 bytes copied into it.
        let copied = unsafe { std::slice::from_raw_parts(block.start.as_ptr(), 4) };
        assert_eq!(copied, b"data", "what the URB pointed at");
        urbs.submit(fd.as_fd(), b"more".to_vec(), 4, 0);
        assert_eq!(urbs.pop_done().unwrap().buffer, b"more");
        assert_eq!(urbs.maps.len(), 1, "the same block again, no new one");
    }

    #[test]
    fn an_in_transfer_into_a_mapped_block_reaches_the_caller_s_buffer() {
        let fd = mappable(1 << 16);
        let mut urbs = Urbs::new(0x81);
        let block = Mapped::new(fd.as_fd(), 64).unwrap();
        let urb = Box::into_raw(Box::new(Urb::bulk(0x81, 0, block.start.as_ptr(), 64)));
        urbs.slots.push_back(Slot::Flying {
            urb: NonNull::new(urb).unwrap(),
            buffer: Vec::with_capacity(64),
            mapped: Some(block),
        });
        complete(urb, 0, b"received");
        assert!(urbs.reaped(urb));
        let done = urbs.pop_done().unwrap();
        assert!(done.status.is_ok());
        assert_eq!(done.buffer, b"received");
        assert_eq!(urbs.maps.len(), 1, "the block is kept for the next");
    }

    #[test]
    fn a_descriptor_that_does_not_map_uses_the_caller_s_buffer() {
        let fd = not_usbfs();
        let mut urbs = Urbs::new(0x02);
        urbs.submit(fd.as_fd(), b"data".to_vec(), 4, 0);
        assert!(
            !urbs.mapping,
            "mapping /dev/null fails, and is not tried again"
        );
        assert!(urbs.maps.is_empty());
        assert_eq!(urbs.pop_done().unwrap().buffer, b"data");
    }

    #[test]
    fn abandoned_transfers_complete_with_the_reason_and_no_buffer() {
        let mut urbs = Urbs::new(0x81);
        let _ = fly(&mut urbs, Vec::with_capacity(16));
        assert_eq!(urbs.abandon(&TransportError::Disconnected), 1);
        let done = urbs.pop_done().unwrap();
        assert_eq!(done.status, Err(TransportError::Disconnected));
        assert!(done.buffer.is_empty());
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
