//! # mbim-protocol
//!
//! The Mobile Broadband Interface Model (USB-IF MBIM 1.0, with Microsoft's
//! extensions up to MBIMEx 4.0) as data: control messages, their
//! fragmentation, every CID payload of the supported services in each
//! extensions version's layout, TLV information elements, NTB data framing,
//! the USB descriptors of an MBIM function, and the host's session logic.
//!
//! This crate does no I/O and reads no clock. Bytes come in through `parse` /
//! `decode` / `handle_*` calls, bytes go out through `emit` / `encode` /
//! `poll_*` calls, and the current time is an argument. The daemon, the
//! simulator and the tests drive it; a test that needs an hour to pass can
//! pass an `Instant` an hour later.
//!
//! Everything that parses untrusted bytes checks every offset and length and
//! returns a typed error that says what was wrong and where; nothing panics on
//! device input, and no allocation is sized by an unchecked count.

extern crate self as mbim_protocol;

pub mod codec;
pub mod describe;
pub mod descriptors;
pub mod fragment;
pub mod mbimex;
pub mod message;
pub mod ntb;
pub mod pco;
pub mod services;
pub mod session;
pub mod status;
pub mod tlv;
pub mod usb;
pub mod uuid;

pub use codec::{Empty, Payload, PayloadError, Raw};
pub use mbim_protocol_macros::mbim_struct;
pub use mbimex::MbimExVersion;
pub use uuid::Uuid;
