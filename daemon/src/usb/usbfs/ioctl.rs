//! The usbfs ioctls the data interface's backend uses, with their structures
//! as linux/usbdevice_fs.h lays them out. The opcodes are computed from the
//! structures' sizes, as the header's `_IOR`/`_IOW` do, so a wrong layout
//! shows as a wrong opcode in the tests below (which hold them to the
//! header's values on x86-64 and aarch64, the same on both: LP64 and the
//! generic ioctl encoding).
#![allow(unsafe_code)] // ioctls on the usbfs descriptor; each call says why it is sound.

use rustix::fd::BorrowedFd;
use rustix::io::Result;
use rustix::ioctl::{self, opcode, Getter, Ioctl, IoctlOutput, Opcode, Setter};
use std::ffi::{c_int, c_uchar, c_uint, c_void};

/// `USBDEVFS_URB_TYPE_BULK`.
pub(super) const URB_TYPE_BULK: c_uchar = 3;
/// `USBDEVFS_URB_ZERO_PACKET`: the host controller ends an OUT transfer
/// that fills its last packet with a zero-length packet.
pub(super) const URB_ZERO_PACKET: c_uint = 0x40;
/// `USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER`: detach any driver but the one
/// named (usbfs: another program's claim is left alone, and fails ours).
const DISCONNECT_CLAIM_EXCEPT_DRIVER: c_uint = 0x02;

/// `struct usbdevfs_urb` without its isochronous frame tail (bulk URBs
/// have none).
#[repr(C)]
#[derive(Debug)]
pub(super) struct Urb {
    /// `type`: [`URB_TYPE_BULK`].
    pub(super) kind: c_uchar,
    /// bEndpointAddress.
    pub(super) endpoint: c_uchar,
    /// 0 or a negative errno, written by the kernel when reaped.
    pub(super) status: c_int,
    /// `USBDEVFS_URB_*` flags.
    pub(super) flags: c_uint,
    /// The transfer buffer.
    pub(super) buffer: *mut c_void,
    /// Its length (IN: the most to receive).
    pub(super) buffer_length: c_int,
    /// The bytes moved, written by the kernel when reaped.
    pub(super) actual_length: c_int,
    /// Isochronous only.
    pub(super) start_frame: c_int,
    /// `number_of_packets` (isochronous) or `stream_id` (bulk streams).
    pub(super) stream_id: c_uint,
    /// Isochronous only.
    pub(super) error_count: c_int,
    /// A signal on completion; 0, none.
    pub(super) signr: c_uint,
    /// Left to the caller; unused.
    pub(super) usercontext: *mut c_void,
}

impl Urb {
    /// A bulk URB on `endpoint` over `length` bytes at `buffer`.
    pub(super) fn bulk(endpoint: u8, flags: c_uint, buffer: *mut u8, length: c_int) -> Self {
        Urb {
            kind: URB_TYPE_BULK,
            endpoint,
            status: 0,
            flags,
            buffer: buffer.cast(),
            buffer_length: length,
            actual_length: 0,
            start_frame: 0,
            stream_id: 0,
            error_count: 0,
            signr: 0,
            usercontext: std::ptr::null_mut(),
        }
    }
}

/// `struct usbdevfs_setinterface`.
#[repr(C)]
struct SetInterface {
    interface: c_uint,
    altsetting: c_uint,
}

/// `struct usbdevfs_disconnect_claim`.
#[repr(C)]
struct DisconnectClaim {
    interface: c_uint,
    flags: c_uint,
    /// `USBDEVFS_MAXDRIVERNAME + 1` bytes, NUL-terminated.
    driver: [u8; 256],
}

/// `struct usbdevfs_ioctl`: an ioctl for the driver of one interface.
#[repr(C)]
struct InterfaceIoctl {
    ifno: c_int,
    ioctl_code: c_int,
    data: *mut c_void,
}

const SETINTERFACE: Opcode = opcode::read::<SetInterface>(b'U', 4);
const SUBMITURB: Opcode = opcode::read::<Urb>(b'U', 10);
const DISCARDURB: Opcode = opcode::none(b'U', 11);
const REAPURBNDELAY: Opcode = opcode::write::<*mut c_void>(b'U', 13);
const RELEASEINTERFACE: Opcode = opcode::read::<c_uint>(b'U', 16);
const IOCTL: Opcode = opcode::read_write::<InterfaceIoctl>(b'U', 18);
const CLEAR_HALT: Opcode = opcode::read::<c_uint>(b'U', 21);
const CONNECT: Opcode = opcode::none(b'U', 23);
const DISCONNECT_CLAIM: Opcode = opcode::read::<DisconnectClaim>(b'U', 27);

/// An ioctl whose argument is a pointer the caller vouches for. Marked
/// mutating: the kernel writes back into a reaped URB and its buffer.
struct PointerArg<const OPCODE: Opcode> {
    pointer: *mut c_void,
}

// SAFETY: the opcode and the pointer's meaning are those of the kernel's
// ioctl (each use below names them), and IS_MUTATING is true, so the
// compiler assumes user memory may change across the call.
unsafe impl<const OPCODE: Opcode> Ioctl for PointerArg<OPCODE> {
    type Output = ();
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        OPCODE
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.pointer
    }

    unsafe fn output_from_ptr(_: IoctlOutput, _: *mut c_void) -> Result<()> {
        Ok(())
    }
}

/// Claims `interface` for this descriptor, detaching a kernel driver
/// (cdc_mbim) from it first, but not another program's usbfs claim.
pub(super) fn disconnect_claim(fd: BorrowedFd<'_>, interface: u8) -> Result<()> {
    let mut driver = [0u8; 256];
    for (byte, name) in driver.iter_mut().zip(b"usbfs") {
        *byte = *name;
    }
    let claim = DisconnectClaim {
        interface: c_uint::from(interface),
        flags: DISCONNECT_CLAIM_EXCEPT_DRIVER,
        driver,
    };
    // SAFETY: USBDEVFS_DISCONNECT_CLAIM reads one usbdevfs_disconnect_claim,
    // whose layout DisconnectClaim is (tested), and writes nothing back.
    unsafe { ioctl::ioctl(fd, Setter::<DISCONNECT_CLAIM, DisconnectClaim>::new(claim)) }
}

/// Releases `interface`.
pub(super) fn release_interface(fd: BorrowedFd<'_>, interface: u8) -> Result<()> {
    // SAFETY: USBDEVFS_RELEASEINTERFACE reads one unsigned int.
    unsafe {
        ioctl::ioctl(
            fd,
            Setter::<RELEASEINTERFACE, c_uint>::new(c_uint::from(interface)),
        )
    }
}

/// Lets the kernel bind its drivers to `interface` again (as nusb does on
/// releasing an interface it detached a driver from).
pub(super) fn connect_driver(fd: BorrowedFd<'_>, interface: u8) -> Result<()> {
    let command = InterfaceIoctl {
        ifno: c_int::from(interface),
        ioctl_code: c_int::try_from(CONNECT).unwrap_or(c_int::MAX),
        data: std::ptr::null_mut(),
    };
    // SAFETY: USBDEVFS_IOCTL reads one usbdevfs_ioctl; USBDEVFS_CONNECT has
    // no data, so nothing is read or written through `data`.
    unsafe { ioctl::ioctl(fd, Setter::<IOCTL, InterfaceIoctl>::new(command)) }
}

/// Selects `interface`'s alternate setting (a SET_INTERFACE request; the
/// kernel ends every URB of the interface's endpoints first).
pub(super) fn set_interface(fd: BorrowedFd<'_>, interface: u8, setting: u8) -> Result<()> {
    let arg = SetInterface {
        interface: c_uint::from(interface),
        altsetting: c_uint::from(setting),
    };
    // SAFETY: USBDEVFS_SETINTERFACE reads one usbdevfs_setinterface.
    unsafe { ioctl::ioctl(fd, Setter::<SETINTERFACE, SetInterface>::new(arg)) }
}

/// CLEAR_FEATURE(ENDPOINT_HALT) on `endpoint`, resetting its data toggle.
pub(super) fn clear_halt(fd: BorrowedFd<'_>, endpoint: u8) -> Result<()> {
    // SAFETY: USBDEVFS_CLEAR_HALT reads one unsigned int.
    unsafe {
        ioctl::ioctl(
            fd,
            Setter::<CLEAR_HALT, c_uint>::new(c_uint::from(endpoint)),
        )
    }
}

/// Submits `urb`.
///
/// # Safety
///
/// `urb` points to a valid [`Urb`] whose buffer holds `buffer_length`
/// bytes; both stay allocated, and are neither read nor written by Rust
/// code, until the URB is reaped (the kernel writes its status into the
/// URB and, for IN, the data into the buffer when it is reaped).
pub(super) unsafe fn submit(fd: BorrowedFd<'_>, urb: *mut Urb) -> Result<()> {
    // SAFETY: the caller keeps the URB and its buffer as USBDEVFS_SUBMITURB
    // requires (above).
    unsafe {
        ioctl::ioctl(
            fd,
            PointerArg::<SUBMITURB> {
                pointer: urb.cast(),
            },
        )
    }
}

/// Asks the kernel to end `urb` early; it still has to be reaped (with
/// status -ENOENT or -ECONNRESET). EINVAL: it had already completed.
pub(super) fn discard(fd: BorrowedFd<'_>, urb: *mut Urb) -> Result<()> {
    // SAFETY: USBDEVFS_DISCARDURB only compares the pointer with those of
    // the descriptor's URBs in flight; it reads and writes no user memory.
    unsafe {
        ioctl::ioctl(
            fd,
            PointerArg::<DISCARDURB> {
                pointer: urb.cast(),
            },
        )
    }
}

/// The next completed URB of this descriptor, or EAGAIN when none has
/// completed (ENODEV: none has, and the device is gone).
pub(super) fn reap_nonblocking(fd: BorrowedFd<'_>) -> Result<*mut Urb> {
    // SAFETY: USBDEVFS_REAPURBNDELAY writes one pointer, the address the
    // URB was submitted at, into the Getter's slot; it also writes the URB's
    // status and data into memory its submitter keeps for it (`submit`).
    unsafe { ioctl::ioctl(fd, Getter::<REAPURBNDELAY, *mut Urb>::new()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    /// linux/usbdevice_fs.h's values, the same on x86-64 and aarch64.
    #[test]
    fn opcodes_are_the_kernel_header_s() {
        let expected: [(Opcode, u64); 9] = [
            (SETINTERFACE, 0x8008_5504),
            (SUBMITURB, 0x8038_550a),
            (DISCARDURB, 0x0000_550b),
            (REAPURBNDELAY, 0x4008_550d),
            (RELEASEINTERFACE, 0x8004_5510),
            (IOCTL, 0xc010_5512),
            (CLEAR_HALT, 0x8004_5515),
            (CONNECT, 0x0000_5517),
            (DISCONNECT_CLAIM, 0x8108_551b),
        ];
        for (opcode, value) in expected {
            assert_eq!(u64::from(opcode), value, "{value:#x}");
        }
    }

    /// And the host's, as linux-raw-sys generated them from its headers.
    #[test]
    fn opcodes_are_linux_raw_sys_s() {
        use linux_raw_sys::ioctl as sys;
        assert_eq!(
            u64::from(SETINTERFACE),
            u64::from(sys::USBDEVFS_SETINTERFACE)
        );
        assert_eq!(u64::from(SUBMITURB), u64::from(sys::USBDEVFS_SUBMITURB));
        assert_eq!(u64::from(DISCARDURB), u64::from(sys::USBDEVFS_DISCARDURB));
        assert_eq!(
            u64::from(REAPURBNDELAY),
            u64::from(sys::USBDEVFS_REAPURBNDELAY)
        );
        assert_eq!(
            u64::from(RELEASEINTERFACE),
            u64::from(sys::USBDEVFS_RELEASEINTERFACE)
        );
        assert_eq!(u64::from(IOCTL), u64::from(sys::USBDEVFS_IOCTL));
        assert_eq!(u64::from(CLEAR_HALT), u64::from(sys::USBDEVFS_CLEAR_HALT));
        assert_eq!(u64::from(CONNECT), u64::from(sys::USBDEVFS_CONNECT));
        assert_eq!(
            u64::from(DISCONNECT_CLAIM),
            u64::from(sys::USBDEVFS_DISCONNECT_CLAIM)
        );
    }

    /// offsetof() of struct usbdevfs_urb's fields on LP64 (x86-64, aarch64).
    #[test]
    fn the_urb_is_laid_out_as_the_kernel_s() {
        assert_eq!(size_of::<Urb>(), 56);
        assert_eq!(offset_of!(Urb, kind), 0);
        assert_eq!(offset_of!(Urb, endpoint), 1);
        assert_eq!(offset_of!(Urb, status), 4);
        assert_eq!(offset_of!(Urb, flags), 8);
        assert_eq!(offset_of!(Urb, buffer), 16);
        assert_eq!(offset_of!(Urb, buffer_length), 24);
        assert_eq!(offset_of!(Urb, actual_length), 28);
        assert_eq!(offset_of!(Urb, start_frame), 32);
        assert_eq!(offset_of!(Urb, stream_id), 36);
        assert_eq!(offset_of!(Urb, error_count), 40);
        assert_eq!(offset_of!(Urb, signr), 44);
        assert_eq!(offset_of!(Urb, usercontext), 48);
        assert_eq!(size_of::<SetInterface>(), 8);
        assert_eq!(size_of::<DisconnectClaim>(), 264);
        assert_eq!(size_of::<InterfaceIoctl>(), 16);
        assert_eq!(offset_of!(InterfaceIoctl, data), 8);
    }
}
