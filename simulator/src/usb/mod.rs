//! The USB side of the simulated modem: its descriptors, the USB/IP wire
//! format, the URB server that turns USB/IP traffic into calls on
//! [`crate::device::SimFunction`], and the direct vhci-hcd attach.
//!
//! * [`descriptors`] — device, configuration and string descriptors.
//! * [`usbip`] — the USB/IP codec (no I/O).

pub mod descriptors;
pub mod usbip;
