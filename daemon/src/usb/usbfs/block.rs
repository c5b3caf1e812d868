//! The memory of usbfs transfers: blocks of the data interface's
//! descriptor mapped into mbimd (usbfs zero-copy, Linux 4.6 on), which the
//! kernel transfers into and out of directly, and the buffer the pipes lend
//! the pump, which parses received NTBs and builds outgoing ones in it:
//! such a block, or a plain `Vec` where the descriptor cannot be mapped (an
//! older kernel, usbfs's memory limit).
//!
//! A block is the kernel's only while a URB in it is in flight, and then
//! only the URB's slot in `urb.rs` holds it; whoever holds a
//! [`UsbfsBuffer`] holds memory the kernel does not touch, so it can be
//! read and written as plain bytes.
#![allow(unsafe_code)] // Mapping, unmapping and viewing the blocks; each use says why it is sound.

use mbim_protocol::ntb::BlockBuffer;
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use std::ptr::NonNull;

/// A block of a usbfs descriptor's memory, mapped shared: the kernel's
/// buffer for a URB that lies inside it.
pub(super) struct Mapped {
    start: NonNull<u8>,
    /// Whole pages: what the kernel allocated and mapped.
    len: usize,
}

impl Mapped {
    /// Maps at least `len` bytes of `fd`'s memory, rounded up to whole
    /// pages (the kernel maps and allocates whole pages anyway).
    pub(super) fn new(fd: BorrowedFd<'_>, len: usize) -> Result<Self, Errno> {
        let page = rustix::param::page_size();
        let len = len.checked_next_multiple_of(page).ok_or(Errno::NOMEM)?;
        // SAFETY: a new mapping at an address of the kernel's choosing,
        // over no memory of ours; usbfs backs it with a kernel buffer of
        // its own, which it keeps until the mapping is gone and the last
        // URB in it is reaped (the mapping also holds the descriptor's
        // file open, so it may outlive the pipes).
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

    /// Its length in bytes.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Where it starts, for a URB's buffer.
    pub(super) fn as_ptr(&self) -> *mut u8 {
        self.start.as_ptr()
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

/// A transfer buffer of the usbfs pipes: a mapped block the kernel
/// transferred into (or will transfer from), or a plain `Vec` where none
/// could be mapped. Submitting it again reuses its block; dropping it
/// unmaps the block.
pub struct UsbfsBuffer(pub(super) Memory);

/// What a [`UsbfsBuffer`] holds.
pub(super) enum Memory {
    /// Memory of mbimd's heap: the kernel copies to and from it.
    Owned(Vec<u8>),
    /// A mapped block, whose first `len` bytes are the buffer's contents.
    Mapped { block: Mapped, len: usize },
}

impl UsbfsBuffer {
    /// An empty buffer over `block`.
    pub(super) fn mapped(block: Mapped) -> Self {
        UsbfsBuffer(Memory::Mapped { block, len: 0 })
    }

    /// Whether it is a mapped block.
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Memory::Mapped { .. })
    }
}

impl AsRef<[u8]> for UsbfsBuffer {
    fn as_ref(&self) -> &[u8] {
        match &self.0 {
            Memory::Owned(data) => data,
            Memory::Mapped { block, len } => {
                // SAFETY: `len` is at most the block's length (set only
                // from a reaped URB's length, capped to the block); the
                // block is mapped for as long as this value lives, and no
                // URB is in it while a buffer holds it (module docs), so
                // nothing writes it under this shared view.
                unsafe { std::slice::from_raw_parts(block.as_ptr(), (*len).min(block.len())) }
            }
        }
    }
}

impl AsMut<[u8]> for UsbfsBuffer {
    fn as_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            Memory::Owned(data) => data,
            Memory::Mapped { block, len } => {
                // SAFETY: as for `as_ref`; `&mut self` makes this view the
                // only one, and the kernel does not touch the block while
                // the buffer holds it.
                unsafe { std::slice::from_raw_parts_mut(block.as_ptr(), (*len).min(block.len())) }
            }
        }
    }
}

impl BlockBuffer for UsbfsBuffer {
    fn set_len_zeroed(&mut self, new_len: usize) -> bool {
        match &mut self.0 {
            Memory::Owned(data) => data.set_len_zeroed(new_len),
            Memory::Mapped { block, len } => {
                if new_len > block.len() {
                    return false;
                }
                let old = *len;
                *len = new_len;
                if new_len > old {
                    if let Some(gained) = self.as_mut().get_mut(old..) {
                        gained.fill(0);
                    }
                }
                true
            }
        }
    }
}

impl From<Vec<u8>> for UsbfsBuffer {
    fn from(data: Vec<u8>) -> Self {
        UsbfsBuffer(Memory::Owned(data))
    }
}

impl From<UsbfsBuffer> for Vec<u8> {
    /// The `Vec` itself, or a copy of a block's contents (a block given
    /// to a pipe that takes only `Vec`s, which the data interface's own
    /// pipes never do).
    fn from(buffer: UsbfsBuffer) -> Vec<u8> {
        match buffer.0 {
            Memory::Owned(data) => data,
            Memory::Mapped { .. } => buffer.as_ref().to_vec(),
        }
    }
}

impl std::fmt::Debug for UsbfsBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsbfsBuffer")
            .field("mapped", &self.is_mapped())
            .field("len", &self.as_ref().len())
            .finish()
    }
}
