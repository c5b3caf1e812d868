//! Virtio-net offloads done in user space, for a program that carries IP
//! packets between a TUN device opened with `IFF_VNET_HDR` and something
//! that wants whole datagrams (an MBIM modem's NTBs): mbimd's data path and
//! the simulated modem's real-network forwarder share it.
//!
//! * [`checksum`] — the Internet checksum both directions finish or check;
//! * [`segment`] — a device read (plain, or a TSO/USO super-packet behind a
//!   `virtio_net_hdr`) cut into the datagrams it carries ([`Segmenter`]);
//! * [`gro`] — the datagrams of one block coalesced per flow into GSO
//!   super-packets, planned as gather lists over the block
//!   ([`Coalescer`](gro::Coalescer)).
//!
//! No I/O: the caller reads and writes the device.

pub mod checksum;
pub mod gro;
pub mod segment;

pub use segment::{ReadFraming, Segmenter};
