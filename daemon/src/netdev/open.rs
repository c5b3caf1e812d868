//! Making the session's device: mbimd's own TUN device, a kernel driver's
//! device adopted as it is, or a VLAN or WWAN link created on a kernel
//! device for a further session (a link of that name left behind by an
//! earlier mbimd is deleted first).

use super::rtnl::Rtnl;
use super::{
    metric, sysctl, tun, Addressing, DnsBackend, DnsLink, Found, InterfaceName, Netdev,
    NetdevError, NetdevOptions, Origin,
};
use std::sync::Arc;

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
