//! The network device of one connected session: a TUN device, its
//! addresses, routes and MTU over rtnetlink, its IPv6 sysctls, and its DNS
//! servers.
//!
//! The executor creates a [`Netdev`] when a session connects, hands
//! [`Netdev::device`] to the data path, calls [`Netdev::apply`] with the
//! session's [`IpSettings`](crate::types::IpSettings) and link MTU
//! (`types::link_mtu`), [`Netdev::update`] on every later IP_CONFIGURATION,
//! and [`Netdev::teardown`] when the session ends.
//!
//! * Names: [`InterfaceName::default_for`] gives `mbim<modem>e<executor>`
//!   (`mbim0e0`); the configuration may name the device instead.
//! * Apply is a reconciliation against what the kernel reports: addresses
//!   and routes the netdev owns (permanent addresses, `proto static` routes
//!   on the device) are compared with the plan for the settings, and only
//!   the difference is added or removed. Applying twice changes nothing; a
//!   DNS-only change touches no address or route.
//! * IPv6 by router advertisement: when IP_CONFIGURATION brings no IPv6
//!   address but IPv6 is there (see [`Slaac`]), the device gets the
//!   link-local address `fe80::<interface id>` and `accept_ra = 2`; the
//!   kernel then forms the global address from the RA's prefix and that
//!   identifier (a TUN device has no hardware address, so SLAAC inherits the
//!   link-local's identifier). `addr_gen_mode = 1` (none) keeps the kernel
//!   from inventing a random link-local of its own first.
//! * Nothing is left behind: [`Netdev::teardown`] reverts DNS, deletes the
//!   routes and addresses it made and the device itself. A `Netdev` dropped
//!   without teardown loses its device when the last handle of the TUN file
//!   closes (the kernel then drops its addresses and routes), but DNS
//!   entries written to resolvconf or a file stay: call teardown.
//!
//! * Who configures IP ([`Addressing`]): mbimd itself (everything above),
//!   or a client of the ModemManager API (NetworkManager) that configures
//!   the device from the bearer's IP configuration; then the netdev only
//!   sets the link MTU and brings the link up, and [`Netdev::apply`] leaves
//!   addresses, routes, IPv6 sysctls and DNS alone, so nothing is configured
//!   twice.
//!
//! Every kernel-facing step returns a [`NetdevError`] naming what failed,
//! with the cause as its source. [`Netdev::apply`] does not stop at one: it
//! screens what the network handed out, tries every part, and returns a
//! [`ConfigReport`] of each part's outcome.
//!
//! The module map: this file holds the device, its options and the calls
//! that read or retune it; `open.rs` creates or adopts the device;
//! `apply.rs` reconciles it with a session's IP settings; `teardown.rs`
//! removes what it applied (for a client taking over, or at the end);
//! `error.rs` the errors. `plan.rs` turns settings into addresses, routes
//! and sysctls, `screen.rs` refuses what no network may assign,
//! `report.rs` records each part's outcome, `rtnl.rs`, `sysctl.rs` and
//! `tun.rs` are the kernel calls, `metric.rs` keeps default-route metrics
//! unique, `dns/` the DNS backends.

mod apply;
pub mod dns;
mod error;
mod metric;
mod name;
mod open;
mod plan;
mod report;
mod rtnl;
mod screen;
mod stats;
mod sysctl;
mod teardown;
mod tun;

use std::net::IpAddr;
use std::sync::Arc;

pub use dns::{DnsBackend, DnsError, DnsLink};
pub use error::NetdevError;
pub use name::{InterfaceName, InvalidName, MAX_NAME_LEN};
pub use plan::Slaac;
pub use report::{ConfigPart, ConfigReport, PartOutcome};
pub use screen::{screen, Refusal};
pub use stats::{KernelCounters, KernelTraffic};
pub use tun::TunOptions;

use crate::logging::chain;
use rtnl::Rtnl;

/// The route metric when the configuration names none. NetworkManager gives
/// mobile broadband 700, so a wired or Wi-Fi default route (100, 600) still
/// wins: the cellular link is the one that costs money.
pub const DEFAULT_ROUTE_METRIC: u32 = 700;

/// How one device is to be configured (from the configuration file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetdevOptions {
    /// The metric of the default routes through the device; `None` for no
    /// default route (addresses and their prefix routes only).
    pub default_route_metric: Option<u32>,
    /// Where DNS servers go.
    pub dns: DnsBackend,
    /// The IPv6 interface identifier when the network's address gives none:
    /// random but stable per SIM (derived from the ICCID by the caller), so
    /// the SLAAC address survives reconnections without tracking the user
    /// across SIMs.
    pub interface_id: [u8; 8],
    /// When to take the IPv6 prefix from router advertisements.
    pub slaac: Slaac,
    /// How the TUN device is opened.
    pub tun: TunOptions,
    /// Who configures the device's IP.
    pub addressing: Addressing,
}

/// Who configures a device's IP (addresses, routes, IPv6 sysctls, DNS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Addressing {
    /// mbimd: [`Netdev::apply`] reconciles all of it with the settings.
    #[default]
    Full,
    /// A client (a ModemManager client such as NetworkManager): the netdev
    /// sets the link MTU and brings the link up, nothing else; `dns` and
    /// `default_route_metric` are not used.
    LinkOnly,
}

impl Default for NetdevOptions {
    fn default() -> Self {
        NetdevOptions {
            default_route_metric: Some(DEFAULT_ROUTE_METRIC),
            dns: DnsBackend::Auto,
            // A fixed, locally administered identifier: callers are meant to
            // pass a per-SIM one; this keeps a default usable for tests.
            interface_id: [0x02, 0, 0, 0, 0, 0, 0, 0x01],
            slaac: Slaac::Auto,
            tun: TunOptions::default(),
            addressing: Addressing::Full,
        }
    }
}

/// Where a [`Netdev`]'s device came from, which decides what teardown does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// mbimd's own TUN device, fed by its pump; deleted at teardown.
    Tun,
    /// A kernel driver's device (cdc_mbim's or a WWAN driver's `wwan0`):
    /// adopted, never deleted; teardown removes what mbimd added and sets
    /// it down.
    Adopted,
    /// A link mbimd created on a kernel device (a VLAN or wwan link for a
    /// further session); deleted at teardown.
    Created,
}

/// What opening a device found: the rtnetlink connection, the device's
/// index, and whether it has IPv6.
struct Found {
    rtnl: Rtnl,
    index: u32,
    ipv6: bool,
}

/// The device of one connected session.
pub struct Netdev {
    name: InterfaceName,
    index: u32,
    /// The TUN device, for [`Origin::Tun`] only.
    device: Option<Arc<tun_rs::SyncDevice>>,
    origin: Origin,
    /// An adopted device's IPv6 sysctls as the driver left them, written
    /// back at teardown.
    restore: Vec<(&'static str, String)>,
    options: NetdevOptions,
    rtnl: Rtnl,
    dns: DnsLink,
    ipv6: bool,
    /// The DNS servers last handed to the backend, so an update that does
    /// not change them does not call it again.
    applied_dns: Option<(Vec<IpAddr>, bool)>,
    /// The metric its default routes take, unique among mbimd's devices
    /// (taken at the first apply).
    metric: Option<metric::MetricReservation>,
    /// The network namespace it was made in, which its metric is unique in.
    namespace: u64,
}

impl std::fmt::Debug for Netdev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The TUN device has no Debug of its own; its name says which it is.
        f.debug_struct("Netdev")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("options", &self.options)
            .field("dns", &self.dns)
            .field("ipv6", &self.ipv6)
            .field("applied_dns", &self.applied_dns)
            .finish_non_exhaustive()
    }
}

impl Netdev {
    /// Where the device came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The TUN device for the data path (`None` for a kernel device, whose
    /// driver carries the data), registered with no reactor: whoever drives
    /// it registers it with its own runtime
    /// ([`TunDevice`](crate::datapath::TunDevice); the pump does so on its
    /// thread). With [`TunOptions::multi_queue`], `try_clone` opens further
    /// queues.
    pub fn device(&self) -> Option<Arc<tun_rs::SyncDevice>> {
        self.device.clone()
    }

    /// How the data path frames the device's reads and writes: virtio-net
    /// headers when it was opened with offloads (and the kernel took them).
    pub fn framing(&self) -> crate::datapath::ReadFraming {
        match &self.device {
            Some(device) => tun::framing(device),
            None => crate::datapath::ReadFraming::default(),
        }
    }

    /// Whether the kernel hands over and takes UDP super-packets too (USO,
    /// Linux 6.2 on), not only TCP ones.
    pub fn udp_offload(&self) -> bool {
        self.device.as_ref().is_some_and(|device| device.udp_gso())
    }

    /// The device's name.
    pub fn name(&self) -> &InterfaceName {
        &self.name
    }

    /// The device's interface index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The kernel's traffic counters of the device (for a kernel
    /// driver's device, whose packets mbimd's pump never sees).
    pub async fn kernel_counters(&self) -> Result<KernelCounters, NetdevError> {
        self.rtnl.counters(self.index).await
    }

    /// The DNS backend in use.
    pub fn dns(&self) -> &DnsLink {
        &self.dns
    }

    /// The options the device was created with (or last retuned to).
    pub fn options(&self) -> &NetdevOptions {
        &self.options
    }

    /// Whether `options` can be taken by this device in place
    /// ([`Netdev::retune`]): the TUN's own options and who configures the
    /// device are fixed when it is created; a change there needs a new
    /// device.
    pub fn can_retune_to(&self, options: &NetdevOptions) -> bool {
        self.options.tun == options.tun && self.options.addressing == options.addressing
    }

    /// Takes new options in place (a reloaded configuration): the next
    /// [`Netdev::apply`] reconciles the routes, interface identifier and
    /// IPv6 settings with them. A different DNS backend takes over from the
    /// old one, whose entries are removed first. Only for options
    /// [`Netdev::can_retune_to`] accepts; on an error the old backend stays.
    pub async fn retune(&mut self, options: NetdevOptions) -> Result<(), NetdevError> {
        if options.dns != self.options.dns && self.options.addressing == Addressing::Full {
            let dns = DnsLink::select(&options.dns, self.name.as_str(), self.index)
                .await
                .map_err(|source| NetdevError::Dns {
                    interface: self.name.to_string(),
                    source: Box::new(source),
                })?;
            if self.applied_dns.take().is_some() {
                if let Err(error) = self.dns.revert().await {
                    // The new backend is taken anyway: the old one's entries
                    // are stale either way, and the log says which are left.
                    tracing::warn!(
                        interface = self.name.as_str(),
                        "removing the DNS entries of the previous backend: {}",
                        chain(&error)
                    );
                }
            }
            self.dns = dns;
        }
        // A change of the default route's presence changes the DNS domain
        // routing too: hand the servers over again.
        if options.default_route_metric.is_some() != self.options.default_route_metric.is_some() {
            self.applied_dns = None;
        }
        self.options = options;
        Ok(())
    }

    /// Brings the link up or down without touching its configuration (the
    /// session's "link down" while it may come back). Addresses of a down
    /// device stay but the kernel withdraws its routes; the next
    /// [`Netdev::apply`] brings the link up and restores them.
    pub async fn set_up(&self, up: bool) -> Result<(), NetdevError> {
        self.rtnl.set_up(self.index, up).await
    }
}
