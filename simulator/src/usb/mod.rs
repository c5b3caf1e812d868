//! The USB side of the simulated modem: its descriptors, the USB/IP wire
//! format, the URB server that turns USB/IP traffic into calls on
//! [`crate::device::SimFunction`], and the direct vhci-hcd attach.
//!
//! * [`descriptors`] — device, configuration and string descriptors.
//! * [`usbip`] — the USB/IP codec (no I/O).
//! * [`server`] — URB handling, the usbipd-compatible TCP server.
//! * [`vhci`] — attaching to the local vhci-hcd without TCP or `usbip`.

pub mod descriptors;
pub mod server;
pub mod usbip;
pub mod vhci;
