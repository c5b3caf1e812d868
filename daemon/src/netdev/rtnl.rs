//! The rtnetlink side: link state, MTU, addresses and routes of one device.
//! The connection runs as its own task, which lives as long as the handle.

use std::net::IpAddr;

use futures_util::TryStreamExt;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol,
};
use netlink_packet_route::AddressFamily;
use rtnetlink::{Handle, LinkUnspec, LinkVlan, LinkWwan, RouteMessageBuilder};

use super::plan::{AddressSpec, RouteSpec};
use super::stats::KernelCounters;
use super::NetdevError;

/// `ENODEV`, `ESRCH`, `EADDRNOTAVAIL`: what the kernel answers when the thing
/// to delete is already gone.
const GONE: [i32; 4] = [19, 3, 99, 2];
/// `EEXIST`.
const EXISTS: i32 = 17;

/// An rtnetlink connection and the task that drives it.
#[derive(Debug)]
pub(crate) struct Rtnl {
    handle: Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Rtnl {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the kernel reports of the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkState {
    pub(crate) index: u32,
    pub(crate) up: bool,
    pub(crate) mtu: Option<u32>,
}

fn netlink_error(what: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetdevError {
    let what = what.into();
    move |source| NetdevError::Netlink {
        what,
        source: Box::new(source),
    }
}

/// The errno of a netlink error answer, as a positive number.
fn errno(error: &rtnetlink::Error) -> Option<i32> {
    match error {
        rtnetlink::Error::NetlinkError(message) => message.code.map(|c| c.get().abs()),
        _ => None,
    }
}

/// Whether `error` says the device (or what was asked about it) is gone.
pub(crate) fn is_gone(error: &rtnetlink::Error) -> bool {
    errno(error).is_some_and(|n| GONE.contains(&n))
}

impl Rtnl {
    /// Opens a connection in the calling thread's network namespace.
    pub(crate) fn connect() -> Result<Rtnl, NetdevError> {
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(NetdevError::NetlinkSocket)?;
        let task = tokio::spawn(connection);
        Ok(Rtnl { handle, task })
    }

    /// The device called `name`.
    pub(crate) async fn link_by_name(&self, name: &str) -> Result<LinkState, NetdevError> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        let message = match links.try_next().await {
            // The kernel answers a name it does not know with ENODEV.
            Err(error) if is_gone(&error) => None,
            other => other.map_err(netlink_error(format!("looking up link {name}")))?,
        };
        message
            .map(|m| link_state(&m))
            .ok_or_else(|| NetdevError::LinkMissing {
                name: name.to_owned(),
            })
    }

    /// The device with index `index`.
    pub(crate) async fn link_by_index(&self, index: u32) -> Result<LinkState, NetdevError> {
        let mut links = self.handle.link().get().match_index(index).execute();
        let message = links
            .try_next()
            .await
            .map_err(netlink_error(format!("looking up link {index}")))?;
        message
            .map(|m| link_state(&m))
            .ok_or_else(|| NetdevError::LinkMissing {
                name: index.to_string(),
            })
    }

    /// The kernel's traffic counters of the device with index `index`.
    pub(crate) async fn counters(&self, index: u32) -> Result<KernelCounters, NetdevError> {
        let mut links = self.handle.link().get().match_index(index).execute();
        let message = links
            .try_next()
            .await
            .map_err(netlink_error(format!(
                "reading the counters of link {index}"
            )))?
            .ok_or_else(|| NetdevError::LinkMissing {
                name: index.to_string(),
            })?;
        Ok(message
            .attributes
            .iter()
            .find_map(|attribute| match attribute {
                LinkAttribute::Stats64(stats) => Some(KernelCounters {
                    rx_packets: stats.rx_packets,
                    rx_bytes: stats.rx_bytes,
                    tx_packets: stats.tx_packets,
                    tx_bytes: stats.tx_bytes,
                }),
                _ => None,
            })
            .unwrap_or_default())
    }

    /// Sets the MTU.
    pub(crate) async fn set_mtu(&self, index: u32, mtu: u32) -> Result<(), NetdevError> {
        self.handle
            .link()
            .set(LinkUnspec::new_with_index(index).mtu(mtu).build())
            .execute()
            .await
            .map_err(netlink_error(format!("setting MTU {mtu} on link {index}")))
    }

    /// Brings the link up or down.
    pub(crate) async fn set_up(&self, index: u32, up: bool) -> Result<(), NetdevError> {
        let builder = LinkUnspec::new_with_index(index);
        let message = if up { builder.up() } else { builder.down() }.build();
        self.handle
            .link()
            .set(message)
            .execute()
            .await
            .map_err(netlink_error(format!(
                "setting link {index} {}",
                if up { "up" } else { "down" }
            )))
    }

    /// Adds the 802.1Q VLAN link `name` with id `id` on the device `base`,
    /// down, without ARP (a cdc_mbim session carries IP only).
    pub(crate) async fn add_vlan(&self, name: &str, base: u32, id: u16) -> Result<(), NetdevError> {
        self.handle
            .link()
            .add(LinkVlan::new(name, base, id).arp(false).build())
            .execute()
            .await
            .map_err(netlink_error(format!(
                "adding VLAN link {name} (id {id}) on link {base}"
            )))
    }

    /// Adds the WWAN link `name` with link id `linkid` on the WWAN device
    /// `parent` (`ip link add NAME parentdev PARENT type wwan linkid N`).
    pub(crate) async fn add_wwan(
        &self,
        name: &str,
        parent: &str,
        linkid: u32,
    ) -> Result<(), NetdevError> {
        self.handle
            .link()
            .add(
                LinkWwan::new(name)
                    .parent_dev_name(parent)
                    .linkid(linkid)
                    .build(),
            )
            .execute()
            .await
            .map_err(netlink_error(format!(
                "adding WWAN link {name} (link id {linkid}) on {parent}"
            )))
    }

    /// Deletes the device; one already gone is not an error.
    pub(crate) async fn delete_link(&self, index: u32) -> Result<(), NetdevError> {
        match self.handle.link().del(index).execute().await {
            Err(e) if errno(&e).is_some_and(|n| GONE.contains(&n)) => Ok(()),
            other => other.map_err(netlink_error(format!("deleting link {index}"))),
        }
    }

    /// The addresses on the device the netdev manages: permanent ones. The
    /// kernel's own (SLAAC, temporary) lack `IFA_F_PERMANENT` and stay.
    pub(crate) async fn addresses(
        &self,
        index: u32,
    ) -> Result<Vec<(AddressSpec, AddressMessage)>, NetdevError> {
        let messages: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(index)
            .execute()
            .try_collect()
            .await
            .map_err(netlink_error(format!("listing addresses of link {index}")))?;
        Ok(messages
            .into_iter()
            .filter(|m| m.header.index == index && is_permanent(m))
            .filter_map(|m| address_spec(&m).map(|spec| (spec, m)))
            .collect())
    }

    /// Adds an address. IPv6 ones skip duplicate address detection: the
    /// other end of the link is the network that assigned it, no one there
    /// can answer, and DAD would only hold the address back a second.
    pub(crate) async fn add_address(
        &self,
        index: u32,
        spec: AddressSpec,
    ) -> Result<(), NetdevError> {
        let mut request = self.handle.address().add(index, spec.address, spec.prefix);
        if spec.address.is_ipv6() {
            let message = request.message_mut();
            message.header.flags |= AddressHeaderFlags::Nodad;
            message
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match request.execute().await {
            Err(e) if errno(&e) == Some(EXISTS) => Ok(()),
            other => other.map_err(netlink_error(format!(
                "adding address {}/{} to link {index}",
                spec.address, spec.prefix
            ))),
        }
    }

    /// Deletes an address as the kernel listed it.
    pub(crate) async fn delete_address(&self, message: AddressMessage) -> Result<(), NetdevError> {
        let what = match address_spec(&message) {
            Some(spec) => format!("deleting address {}/{}", spec.address, spec.prefix),
            None => "deleting an address".to_owned(),
        };
        match self.handle.address().del(message).execute().await {
            Err(e) if errno(&e).is_some_and(|n| GONE.contains(&n)) => Ok(()),
            other => other.map_err(netlink_error(what)),
        }
    }

    /// The routes the netdev owns on the device: protocol `static` in the
    /// main table through it.
    pub(crate) async fn routes(
        &self,
        index: u32,
    ) -> Result<Vec<(RouteSpec, RouteMessage)>, NetdevError> {
        let mut all = Vec::new();
        for query in [
            RouteMessageBuilder::<std::net::Ipv4Addr>::new().build(),
            RouteMessageBuilder::<std::net::Ipv6Addr>::new().build(),
        ] {
            let messages: Vec<RouteMessage> = self
                .handle
                .route()
                .get(query)
                .execute()
                .try_collect()
                .await
                .map_err(netlink_error(format!("listing routes of link {index}")))?;
            all.extend(messages);
        }
        Ok(all
            .into_iter()
            .filter(|m| {
                m.header.protocol == RouteProtocol::Static
                    && route_table(m) == u32::from(RouteHeader::RT_TABLE_MAIN)
            })
            .filter(|m| m.attributes.contains(&RouteAttribute::Oif(index)))
            .filter_map(|m| route_spec(&m).map(|spec| (spec, m)))
            .collect())
    }

    /// Adds a route through the device. A gateway is marked on-link: the
    /// device is point-to-point and the network's gateway need not lie in
    /// the address's prefix (a /32 is common).
    pub(crate) async fn add_route(&self, index: u32, spec: RouteSpec) -> Result<(), NetdevError> {
        let message = match (spec.destination, spec.gateway) {
            (IpAddr::V4(destination), gateway) => {
                let mut builder = RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                    .destination_prefix(destination, spec.prefix)
                    .output_interface(index)
                    .priority(spec.metric);
                if let Some(IpAddr::V4(gateway)) = gateway {
                    builder = builder.gateway(gateway).onlink();
                }
                builder.build()
            }
            (IpAddr::V6(destination), gateway) => {
                let mut builder = RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                    .destination_prefix(destination, spec.prefix)
                    .output_interface(index)
                    .priority(spec.metric);
                if let Some(IpAddr::V6(gateway)) = gateway {
                    builder = builder.gateway(gateway).onlink();
                }
                builder.build()
            }
        };
        match self.handle.route().add(message).execute().await {
            Err(e) if errno(&e) == Some(EXISTS) => Ok(()),
            other => other.map_err(netlink_error(format!(
                "adding route {}/{} via {:?} metric {} on link {index}",
                spec.destination, spec.prefix, spec.gateway, spec.metric
            ))),
        }
    }

    /// Deletes a route as the kernel listed it.
    pub(crate) async fn delete_route(
        &self,
        spec: RouteSpec,
        message: RouteMessage,
    ) -> Result<(), NetdevError> {
        match self.handle.route().del(message).execute().await {
            Err(e) if errno(&e).is_some_and(|n| GONE.contains(&n)) => Ok(()),
            other => other.map_err(netlink_error(format!(
                "deleting route {}/{} metric {}",
                spec.destination, spec.prefix, spec.metric
            ))),
        }
    }
}

fn link_state(message: &LinkMessage) -> LinkState {
    LinkState {
        index: message.header.index,
        up: message.header.flags.contains(LinkFlags::Up),
        mtu: message.attributes.iter().find_map(|a| match a {
            LinkAttribute::Mtu(mtu) => Some(*mtu),
            _ => None,
        }),
    }
}

fn is_permanent(message: &AddressMessage) -> bool {
    // The 32-bit IFA_FLAGS attribute, when present, supersedes the header's
    // 8 bits.
    message
        .attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Flags(flags) => Some(flags.contains(AddressFlags::Permanent)),
            _ => None,
        })
        .unwrap_or_else(|| message.header.flags.contains(AddressHeaderFlags::Permanent))
}

fn address_spec(message: &AddressMessage) -> Option<AddressSpec> {
    // On a point-to-point device IFA_ADDRESS may be the peer; IFA_LOCAL is
    // always the device's own address when present.
    let local = message.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(address) => Some(*address),
        _ => None,
    });
    let address = local.or_else(|| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(address) => Some(*address),
            _ => None,
        })
    })?;
    Some(AddressSpec {
        address,
        prefix: message.header.prefix_len,
    })
}

fn route_table(message: &RouteMessage) -> u32 {
    message
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(message.header.table))
}

fn route_spec(message: &RouteMessage) -> Option<RouteSpec> {
    let address = |a: &RouteAddress| match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    };
    let destination = message
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Destination(d) => address(d),
            _ => None,
        })
        .or(match message.header.address_family {
            AddressFamily::Inet => Some(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            AddressFamily::Inet6 => Some(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)),
            _ => None,
        })?;
    let gateway = message.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => address(g),
        _ => None,
    });
    // The kernel reports IPv6 routes without RTA_PRIORITY as metric 1024, and
    // IPv4 ones as 0.
    let metric = message
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Priority(p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0);
    Some(RouteSpec {
        destination,
        prefix: message.header.destination_prefix_length,
        gateway,
        metric,
    })
}
