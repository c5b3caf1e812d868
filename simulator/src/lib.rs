//! # mbim-sim
//!
//! A simulated multi-SIM MBIM modem. One USB composite device with N
//! executors (one MBIM function each) and M ≥ N UICC slots, configured from a
//! TOML scenario, behaving as the Microsoft guidelines (seeds 000 and 004)
//! require of devices, and scriptable at run time (SIM insertion and removal,
//! signal loss, faults).
//!
//! * [`scenario`] — the TOML scenario.
//! * [`model`] — the modem's behaviour, without I/O: control messages in,
//!   responses and indications out; NTBs in, NTBs out; time as an argument.
//! * [`device`] — [`device::SimModem`] / [`device::SimFunction`], thread-safe
//!   handles that drive the model and expose each function the way its USB
//!   interfaces see it (class requests, interrupt IN, bulk IN/OUT).
//! * [`control`] — run-time control commands (also spoken over the control socket).
//! * [`usb`] — descriptors and the USB/IP server that makes the modem a real
//!   USB device to the kernel's vhci-hcd.
//! * [`ctl`] — the control socket and its client (`mbim-sim ctl …`).
//! * [`forward`] — a real network (a TUN device in another namespace)
//!   behind the modem's sessions.
//! * [`inprocess`] — the modem as an in-process `mbim_transport::FunctionTransport`.

pub mod control;
pub mod ctl;
pub mod device;
pub mod forward;
pub mod inprocess;
pub mod model;
pub mod scenario;
pub mod usb;
