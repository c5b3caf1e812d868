//! mbimd as libmbim's `mbim-proxy`: libmbim's tools (`mbimcli -p`,
//! fwupd, anything built on libmbim with the proxy flag) reach a modem mbimd
//! holds through the abstract socket `mbim-proxy`, as they would reach a
//! modem shared by libmbim's own proxy, their transactions kept apart from
//! mbimd's.
//!
//! - `connection.rs`: one client's protocol, without I/O.
//! - `layouts.rs`: the CIDs MBIMEx 4.0 reshapes, carried to and from 3.0's
//!   layouts for a client that reads no 4.0.
//! - `names.rs`: the paths naming each executor (a FIFO per executor in
//!   `[mbim-proxy] directory`, named as its network device).
//! - `peer.rs`: who may connect (root, mbimd's user, `[dbus] admin-group`).
//! - `server.rs`: the listener and one task per client.
//!
//! The commands go out on the executor's own control session
//! (crate::executor's passthrough): one transaction id space, the device
//! never sees two hosts.

mod connection;
mod layouts;
mod names;
mod peer;
mod server;

pub use connection::{
    Output, ProxyConnection, LIBMBIM_READS, MAX_CLIENT_IN_FLIGHT, MAX_CLIENT_MESSAGE,
};
pub use names::{clear_directory, names, resolve, sync_directory, NameError, Target};
pub use peer::may_connect;
pub use server::{start, ProxyHandle, SOCKET_NAME};
