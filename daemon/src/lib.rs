//! # mbimd
//!
//! The daemon. One task per executor runs its control plane over an
//! [`mbim_transport::FunctionTransport`] (real USB, or the simulated modem in
//! process); what it learns (connected, IP configuration, lost) drives the
//! network device of that executor; the data path pumps NTBs between the bulk
//! pipes and the TUN device.
//!
//! * [`types`] — what the parts tell each other.
//! * [`executor`] — one executor's life: OPEN … CONNECT … IP configuration,
//!   PIN, loss and reconnection.
//! * [`kernel`] — modems behind the kernel's drivers: the cdc-wdm or WWAN
//!   character device as a transport, the kernel's network device.
//! * [`netdev`] — the TUN device, rtnetlink (addresses, routes, MTU, link), DNS.
//! * [`datapath`] — the NTB ↔ TUN pump.
//! * [`config`] — `/etc/mbimd/mbimd.toml`.
//! * [`supervisor`] — one modem: executor tasks, and the netdev and pump of
//!   each connected session.
//! * [`modem`] — the supervised modem as others see it: state snapshots,
//!   requests, slot signals, and the registry of modems present.
//! * [`policy`] — the dual-SIM single-active slot policy.
//! * [`service`] — systemd: readiness, status and the watchdog.
//! * [`mm`] — the ModemManager D-Bus API, for NetworkManager and mmcli.
//! * [`apn`] — the APN of a SIM no profile names: provisioned contexts,
//!   the provider database, the network's default, what worked before.
//! * [`state_file`] — state files replaced atomically.

pub mod apn;
pub mod config;
pub mod datapath;
pub mod dbus;
pub mod executor;
pub mod kernel;
pub mod logging;
pub mod mm;
pub mod modem;
pub mod netdev;
pub mod policy;
pub mod proxy;
pub mod service;
pub mod state_file;
pub mod supervisor;
pub mod types;
pub mod uevent;
pub mod usb;
