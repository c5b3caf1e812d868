//! What mbimd's tests share so that `cargo test --workspace` passes on a
//! bare Debian machine with nothing but a Rust toolchain, as CI's is:
//!
//! - [`tools`]: the external programs the tests run (iproute2's `ip`,
//!   `dbus-daemon`, `busctl`, …), each declared once with its Debian
//!   package; a missing one is installed with apt-get when the test runs as
//!   root, and otherwise the test fails naming the package to install.
//! - [`icmp`]: ICMP echo (what `ping` does) from inside a test's network
//!   namespace, over a raw socket, so no test needs iputils.
//! - [`process`]: signals to a test's child processes without procps's
//!   `kill`.
//! - [`scenarios`]: simulated modems for runs of several at once.
//!
//! A dev-dependency only: nothing here ships in mbimd or mbimctl.

pub mod icmp;
pub mod process;
pub mod scenarios;
pub mod tools;
