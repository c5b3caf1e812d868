//! mbimd as a systemd service: the readiness, status and watchdog
//! notifications (`sd_notify`), and the liveness of the tasks the watchdog
//! vouches for.
//!
//! systemd restarts a service that stops pinging its watchdog. A ping sent
//! from a timer alone would only prove that the timer runs; mbimd pings only
//! while every registered event loop (each modem's supervisor, each
//! executor, the USB device watcher) answers a poke in time, so an executor
//! stuck in an await that never ends makes systemd restart the daemon
//! rather than leave a modem half-driven.
//!
//! * [`notify`] — the `NOTIFY_SOCKET` datagram protocol, written out (a
//!   handful of lines; no library needed).
//! * [`liveness`] — [`Pulse`]: a loop's registration; the poke/answer
//!   rounds the watchdog runs.
//! * [`watchdog`] — the task that runs the rounds and pings.
//! * [`status`] — the one-line `STATUS=` ("2 modems, 1 connected") from
//!   the registry.
//! * [`sleep`] — the host's sleep as systemd-logind announces it: modems
//!   closed under a delay inhibitor lock, opened again on wake.

pub mod liveness;
pub mod notify;
pub mod sleep;
pub mod status;
pub mod watchdog;

pub use liveness::Pulse;
pub use notify::Notifier;
