//! The network device of one connected session: a TUN device, its
//! addresses, routes and MTU over rtnetlink, its IPv6 sysctls, and its DNS
//! servers.
//!
//! The executor creates a [`Netdev`] when a session connects, hands
//! [`Netdev::device`] to the data path, calls [`Netdev::apply`] with the
//! session's [`IpSettings`] and link MTU (`types::link_mtu`), [`Netdev::update`]
//! on every later IP_CONFIGURATION, and [`Netdev::teardown`] when the session
//! ends.
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

pub mod dns;
mod metric;
mod name;
mod plan;
mod report;
mod rtnl;
mod screen;
mod stats;
mod sysctl;
mod tun;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use dns::{DnsBackend, DnsError, DnsLink};
pub use name::{InterfaceName, InvalidName, MAX_NAME_LEN};
pub use plan::Slaac;
pub use report::{ConfigPart, ConfigReport, PartOutcome};
pub use screen::{screen, Refusal};
pub use stats::{KernelCounters, KernelTraffic};
pub use tun::TunOptions;

use crate::logging::chain;
use crate::types::IpSettings;
use plan::{Plan, RouteSpec};
use rtnl::Rtnl;
use screen::address_part;

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

/// What failed in the netdev.
#[derive(Debug, thiserror::Error)]
pub enum NetdevError {
    /// The TUN device could not be created.
    #[error("cannot create TUN device {name}")]
    CreateTun {
        /// The name asked for.
        name: String,
        /// The cause (no /dev/net/tun, name taken, no CAP_NET_ADMIN…).
        #[source]
        source: std::io::Error,
    },
    /// The rtnetlink socket could not be opened.
    #[error("cannot open an rtnetlink socket")]
    NetlinkSocket(#[source] std::io::Error),
    /// An rtnetlink request failed.
    #[error("rtnetlink: {what} failed")]
    Netlink {
        /// The request, with its arguments.
        what: String,
        /// The kernel's answer.
        #[source]
        source: Box<rtnetlink::Error>,
    },
    /// The device is not (or no longer) there.
    #[error("network device {name} not found")]
    LinkMissing {
        /// Its name or index.
        name: String,
    },
    /// A sysctl could not be written.
    #[error("cannot write sysctl {}", path.display())]
    Sysctl {
        /// The /proc/sys file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// DNS settings could not be applied or removed.
    #[error("DNS for {interface}")]
    Dns {
        /// The device.
        interface: String,
        /// What failed.
        #[source]
        source: Box<DnsError>,
    },
}

impl NetdevError {
    /// Whether the cause may pass, so doing it again later is worth it: the
    /// kernel being busy or short of memory, the link not ready yet, IPv6
    /// switched off for now, a DNS service or directory not there yet. Not
    /// so when the request itself is wrong (`EINVAL`, `ERANGE`, an address
    /// family or operation the kernel lacks) or the device is gone.
    pub fn is_transient(&self) -> bool {
        /// EINVAL, ERANGE, EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT.
        const WRONG_REQUEST: [i32; 5] = [22, 34, 95, 97, 93];
        match self {
            NetdevError::Netlink { source, .. } => match source.as_ref() {
                rtnetlink::Error::NetlinkError(message) => message
                    .code
                    .is_none_or(|code| !WRONG_REQUEST.contains(&code.get().abs())),
                _ => true,
            },
            NetdevError::Sysctl { source, .. } => source
                .raw_os_error()
                .is_none_or(|code| !WRONG_REQUEST.contains(&code)),
            NetdevError::Dns { .. } | NetdevError::NetlinkSocket(_) => true,
            NetdevError::CreateTun { .. } | NetdevError::LinkMissing { .. } => false,
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
    /// Creates the TUN device `name`, down and without addresses, and picks
    /// the DNS backend. Must run inside a tokio runtime: the rtnetlink
    /// connection is a task on it. The device lives in the network namespace
    /// of the calling thread.
    pub async fn create(
        name: InterfaceName,
        options: NetdevOptions,
    ) -> Result<Netdev, NetdevError> {
        let rtnl = Rtnl::connect()?;
        let device = tun::create(&name, options.tun)?;
        let link = rtnl.link_by_name(name.as_str()).await?;
        let ipv6 = sysctl::ipv6_present(name.as_str());
        if ipv6 {
            // Before the link first goes up: from then on the kernel would
            // add a random link-local address to an ARPHRD_NONE device.
            sysctl::set_ipv6(name.as_str(), "addr_gen_mode", "1")?;
        }
        let found = Found {
            rtnl,
            index: link.index,
            ipv6,
        };
        Self::assemble(name, options, found, Some(device), Origin::Tun, Vec::new()).await
    }

    /// Takes the kernel's existing network device `name` (a kernel driver's
    /// `wwan0`, or a link [`Netdev::created`] made) as the session's device,
    /// to be configured by [`Netdev::apply`] exactly as a TUN device is.
    /// There is no TUN file: the kernel's driver carries the data. A device
    /// that is down gets `addr_gen_mode = 1` first, as a TUN device does,
    /// so the link-local address is the session's interface identifier's.
    pub async fn adopt(name: InterfaceName, options: NetdevOptions) -> Result<Netdev, NetdevError> {
        Self::without_tun(name, options, Origin::Adopted).await
    }

    /// Like [`Netdev::adopt`], for a link mbimd itself created on a kernel
    /// device (a VLAN or wwan link): teardown deletes it.
    pub async fn created(
        name: InterfaceName,
        options: NetdevOptions,
    ) -> Result<Netdev, NetdevError> {
        Self::without_tun(name, options, Origin::Created).await
    }

    async fn without_tun(
        name: InterfaceName,
        options: NetdevOptions,
        origin: Origin,
    ) -> Result<Netdev, NetdevError> {
        let rtnl = Rtnl::connect()?;
        let link = rtnl.link_by_name(name.as_str()).await?;
        let ipv6 = sysctl::ipv6_present(name.as_str());
        let restore = match origin {
            Origin::Adopted => sysctl::WRITTEN
                .iter()
                .filter_map(|key| Some((*key, sysctl::read_ipv6(name.as_str(), key)?)))
                .collect(),
            Origin::Tun | Origin::Created => Vec::new(),
        };
        if ipv6 && !link.up && options.addressing == Addressing::Full {
            sysctl::set_ipv6(name.as_str(), "addr_gen_mode", "1")?;
        }
        let found = Found {
            rtnl,
            index: link.index,
            ipv6,
        };
        Self::assemble(name, options, found, None, origin, restore).await
    }

    /// The device found as `found`, with its DNS backend picked (none for
    /// a device a client configures: it sets the DNS too).
    async fn assemble(
        name: InterfaceName,
        options: NetdevOptions,
        found: Found,
        device: Option<Arc<tun_rs::SyncDevice>>,
        origin: Origin,
        restore: Vec<(&'static str, String)>,
    ) -> Result<Netdev, NetdevError> {
        let backend = match options.addressing {
            Addressing::Full => &options.dns,
            Addressing::LinkOnly => &DnsBackend::None,
        };
        let dns = DnsLink::select(backend, name.as_str(), found.index)
            .await
            .map_err(|source| NetdevError::Dns {
                interface: name.to_string(),
                source: Box::new(source),
            })?;
        Ok(Netdev {
            name,
            index: found.index,
            device,
            origin,
            restore,
            options,
            rtnl: found.rtnl,
            dns,
            ipv6: found.ipv6,
            applied_dns: None,
            metric: None,
            namespace: metric::current_namespace(),
        })
    }

    /// Creates the 802.1Q VLAN link `name` with VLAN id `id` on the kernel
    /// device `base` (cdc_mbim carries IP session N on VLAN N), then takes
    /// it as [`Netdev::created`]: teardown deletes it. A link of that name
    /// left behind (mbimd killed) is deleted and made again.
    pub async fn create_vlan(
        name: InterfaceName,
        base: &InterfaceName,
        id: u16,
        options: NetdevOptions,
    ) -> Result<Netdev, NetdevError> {
        let rtnl = Rtnl::connect()?;
        let base = rtnl.link_by_name(base.as_str()).await?;
        remove_stale(&rtnl, &name).await?;
        rtnl.add_vlan(name.as_str(), base.index, id).await?;
        Self::created(name, options).await
    }

    /// Creates the WWAN link `name` with link id `linkid` on the WWAN
    /// device `parent` (`wwan0` in /sys/class/wwan), then takes it as
    /// [`Netdev::created`]. A link of that name left behind is deleted and
    /// made again.
    pub async fn create_wwan_link(
        name: InterfaceName,
        parent: &str,
        linkid: u32,
        options: NetdevOptions,
    ) -> Result<Netdev, NetdevError> {
        let rtnl = Rtnl::connect()?;
        remove_stale(&rtnl, &name).await?;
        rtnl.add_wwan(name.as_str(), parent, linkid).await?;
        Self::created(name, options).await
    }

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

    /// Brings the device to `settings` with link MTU `mtu`: MTU, IPv6
    /// sysctls, link up, addresses, routes, DNS (with
    /// [`Addressing::LinkOnly`]: MTU and link up only, the rest is the
    /// client's). Idempotent; only what differs from the kernel's state is
    /// changed.
    ///
    /// What the network hands out is screened first (`screen`): an address,
    /// gateway or DNS server no network may assign is refused on its own.
    /// Every part is then tried even when another failed, and the report
    /// says how each went: a device can end up partly configured, and
    /// applying again (when [`ConfigReport::worth_retrying`]) reconciles
    /// what is still missing.
    pub async fn apply(&mut self, settings: &IpSettings, mtu: u16) -> ConfigReport {
        let mut report = ConfigReport::default();
        let (settings, refusals) = screen(settings);
        for refusal in refusals {
            report.refused(refusal);
        }
        let metric = self.default_route_metric();
        let plan = Plan::new(
            &settings,
            metric,
            self.options.interface_id,
            self.options.slaac,
        );
        let plan = if self.ipv6 { plan } else { without_ipv6(plan) };

        let link = match self.rtnl.link_by_index(self.index).await {
            Ok(link) => link,
            Err(error) => {
                // Without the device nothing else can be applied.
                report.failed(format!("network device {}", self.name), &error);
                return report;
            }
        };
        let part = format!("mtu {mtu}");
        if link.mtu == Some(u32::from(mtu)) {
            report.applied(part);
        } else {
            let result = self.rtnl.set_mtu(self.index, u32::from(mtu)).await;
            report.outcome(part, &result);
        }
        let addressing = self.options.addressing == Addressing::Full;
        if self.ipv6 && addressing {
            let result = self.set_ipv6_sysctls(&plan);
            let part = format!(
                "ipv6 router advertisements (accept_ra {})",
                plan.ipv6.accept_ra
            );
            report.outcome(part, &result);
        }
        if link.up {
            report.applied("link up");
        } else {
            let result = self.rtnl.set_up(self.index, true).await;
            report.outcome("link up", &result);
        }
        if !addressing {
            return report;
        }
        // Addresses before routes: a route's gateway and source need them.
        self.apply_addresses(&plan, &mut report).await;
        self.apply_routes(&plan, &mut report).await;
        self.apply_dns(&plan, &mut report).await;
        report
    }

    /// The IPv6 sysctls of `plan`: each is written even if one before it
    /// failed; the first failure is returned.
    fn set_ipv6_sysctls(&self, plan: &Plan) -> Result<(), NetdevError> {
        let name = self.name.as_str();
        let results = [
            sysctl::set_ipv6(name, "accept_ra", &plan.ipv6.accept_ra.to_string()),
            sysctl::set_ipv6(
                name,
                "accept_ra_defrtr",
                if plan.ipv6.accept_ra_defrtr { "1" } else { "0" },
            ),
            sysctl::set_ipv6_if_present(
                name,
                "ra_defrtr_metric",
                &plan.ipv6.ra_defrtr_metric.to_string(),
            ),
        ];
        results.into_iter().collect()
    }

    async fn apply_addresses(&self, plan: &Plan, report: &mut ConfigReport) {
        let present = match self.rtnl.addresses(self.index).await {
            Ok(present) => present,
            Err(error) => {
                for spec in &plan.addresses {
                    report.failed(address_part(spec.address, spec.prefix), &error);
                }
                return;
            }
        };
        let mut kept = Vec::new();
        for (spec, message) in present {
            if plan.addresses.contains(&spec) {
                kept.push(spec);
            } else if let Err(error) = self.rtnl.delete_address(message).await {
                report.failed(
                    format!("removing {}", address_part(spec.address, spec.prefix)),
                    &error,
                );
            }
        }
        for spec in &plan.addresses {
            let part = address_part(spec.address, spec.prefix);
            if kept.contains(spec) {
                report.applied(part);
            } else {
                let result = self.rtnl.add_address(self.index, *spec).await;
                report.outcome(part, &result);
            }
        }
    }

    async fn apply_routes(&self, plan: &Plan, report: &mut ConfigReport) {
        let present = match self.rtnl.routes(self.index).await {
            Ok(present) => present,
            Err(error) => {
                for spec in &plan.routes {
                    report.failed(route_part(spec), &error);
                }
                return;
            }
        };
        let mut kept = Vec::new();
        for (spec, message) in present {
            if plan.routes.contains(&spec) {
                kept.push(spec);
            } else if let Err(error) = self.rtnl.delete_route(spec, message).await {
                report.failed(format!("removing {}", route_part(&spec)), &error);
            }
        }
        for spec in &plan.routes {
            if kept.contains(spec) {
                report.applied(route_part(spec));
            } else {
                let result = self.rtnl.add_route(self.index, *spec).await;
                report.outcome(route_part(spec), &result);
            }
        }
    }

    /// The metric of the device's default routes (`None`: it takes none):
    /// the configured one, or the next free one above it when another of
    /// mbimd's devices has that (see `metric`).
    fn default_route_metric(&mut self) -> Option<u32> {
        let configured = match self.options.addressing {
            Addressing::Full => self.options.default_route_metric,
            // A client's routes are its own business.
            Addressing::LinkOnly => None,
        };
        let Some(configured) = configured else {
            self.metric = None;
            return None;
        };
        let reservation = match self.metric.take() {
            Some(held) if held.configured() == configured => held,
            // Released before the new one is taken, so a device whose
            // configured metric changes back gets its own first.
            other => {
                drop(other);
                metric::MetricReservation::reserve(self.namespace, configured, self.name.as_str())
            }
        };
        let metric = reservation.metric();
        self.metric = Some(reservation);
        Some(metric)
    }

    async fn apply_dns(&mut self, plan: &Plan, report: &mut ConfigReport) {
        let dns = (
            plan.dns.clone(),
            self.options.default_route_metric.is_some(),
        );
        if self.applied_dns.as_ref() == Some(&dns) {
            report.applied("dns");
            return;
        }
        let result = self
            .dns
            .set(&dns.0, dns.1)
            .await
            .map_err(|source| NetdevError::Dns {
                interface: self.name.to_string(),
                source: Box::new(source),
            });
        if result.is_ok() {
            self.applied_dns = Some(dns);
        }
        report.outcome("dns", &result);
    }

    /// Applies a later IP_CONFIGURATION (the network's "IP updated"). The
    /// same reconciliation as [`Netdev::apply`]: unchanged addresses and
    /// routes are not touched, so open connections survive a DNS-only change.
    pub async fn update(&mut self, settings: &IpSettings, mtu: u16) -> ConfigReport {
        self.apply(settings, mtu).await
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

    /// From now on a client configures the device's IP
    /// ([`Addressing::LinkOnly`]): the DNS servers, routes and addresses
    /// this netdev applied are removed, the link and its MTU stay. Every
    /// step is tried even if one fails; the first failure is returned.
    pub async fn leave_addressing_to_client(&mut self) -> Result<(), NetdevError> {
        let result = if self.options.addressing == Addressing::Full {
            self.remove_addressing().await
        } else {
            Ok(())
        };
        self.options.addressing = Addressing::LinkOnly;
        self.applied_dns = None;
        result
    }

    /// Removes the DNS servers this netdev applied, and every route and
    /// address of the device; the first failure is returned.
    async fn remove_addressing(&self) -> Result<(), NetdevError> {
        let mut first_error = None;
        let mut note = |result: Result<(), NetdevError>| {
            if let Err(error) = result {
                tracing::warn!(error = %chain(&error), "netdev teardown step failed");
                first_error.get_or_insert(error);
            }
        };
        // Only what this netdev applied: a `file:` target it never wrote may
        // be someone else's.
        if self.applied_dns.is_some() {
            note(self.dns.revert().await.map_err(|source| NetdevError::Dns {
                interface: self.name.to_string(),
                source: Box::new(source),
            }));
        }
        match self.rtnl.routes(self.index).await {
            Ok(routes) => {
                for (spec, message) in routes {
                    note(self.rtnl.delete_route(spec, message).await);
                }
            }
            Err(error) => note(Err(error)),
        }
        match self.rtnl.addresses(self.index).await {
            Ok(addresses) => {
                for (_, message) in addresses {
                    note(self.rtnl.delete_address(message).await);
                }
            }
            Err(error) => note(Err(error)),
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Removes everything: DNS entries, routes, addresses, and the device
    /// (an adopted kernel device is never deleted: it is set down, its IPv6
    /// sysctls as the driver left them). Every step is tried even if one fails; the first
    /// failure is returned. The data path's handles of the device fail
    /// from then on; it should drop them.
    pub async fn teardown(self) -> Result<(), NetdevError> {
        let stripped = self.remove_addressing().await;
        let deleted = match self.origin {
            Origin::Tun | Origin::Created => self.rtnl.delete_link(self.index).await,
            Origin::Adopted => match self.rtnl.set_up(self.index, false).await {
                // Unplugged meanwhile: nothing is left to set down.
                Err(NetdevError::Netlink { source, .. }) if rtnl::is_gone(&source) => Ok(()),
                other => other,
            },
        };
        for (key, value) in &self.restore {
            // A device gone meanwhile has no sysctls left to restore.
            if let Err(error) = sysctl::set_ipv6_if_present(self.name.as_str(), key, value) {
                tracing::debug!(
                    interface = self.name.as_str(),
                    "restoring {key}: {}",
                    chain(&error)
                );
            }
        }
        if let Err(error) = &deleted {
            tracing::warn!(error = %chain(error), "netdev teardown step failed");
        }
        drop(self.device);
        stripped.and(deleted)
    }
}

/// Deletes a link called `name` left behind by an earlier mbimd (killed
/// before its teardown), so the session's link can be made again.
async fn remove_stale(rtnl: &Rtnl, name: &InterfaceName) -> Result<(), NetdevError> {
    match rtnl.link_by_name(name.as_str()).await {
        Ok(stale) => {
            tracing::info!(
                interface = name.as_str(),
                "a link of this name is left from before: deleting it to make the session's"
            );
            rtnl.delete_link(stale.index).await
        }
        Err(NetdevError::LinkMissing { .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

/// The name of a route part: `route 0.0.0.0/0 via 10.64.0.1 metric 700`.
fn route_part(spec: &RouteSpec) -> String {
    match spec.gateway {
        Some(gateway) => format!(
            "route {}/{} via {gateway} metric {}",
            spec.destination, spec.prefix, spec.metric
        ),
        None => format!(
            "route {}/{} metric {}",
            spec.destination, spec.prefix, spec.metric
        ),
    }
}

/// The plan on a kernel without IPv6: its IPv4 part.
fn without_ipv6(mut plan: Plan) -> Plan {
    plan.addresses.retain(|a| a.address.is_ipv4());
    plan.routes.retain(|r| r.destination.is_ipv4());
    plan
}
