//! The systemd-resolved backend: per-link DNS over
//! org.freedesktop.resolve1.Manager.
//!
//! resolved may start after mbimd, or be restarted while a link is up (a
//! package upgrade, an administrator's `systemctl restart`). Each link
//! therefore remembers what it wants and watches the bus for resolved's name:
//! whenever resolved (re)appears, the link's servers are set again. A link
//! whose settings cannot reach resolved because it is not running is not an
//! error; the servers follow when it starts.

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use zbus::proxy::{CacheProperties, MethodFlags};

use super::DnsError;
use crate::logging::chain;

/// The bus name systemd-resolved owns while it runs.
pub const RESOLVED_BUS_NAME: &str = "org.freedesktop.resolve1";
const RESOLVED_PATH: &str = "/org/freedesktop/resolve1";
const MANAGER_INTERFACE: &str = "org.freedesktop.resolve1.Manager";

/// `AF_INET` and `AF_INET6` as resolved's address arrays carry them.
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

/// What a link asks of resolved: its servers and whether it answers for
/// every domain.
type Wanted = (Vec<IpAddr>, bool);

/// systemd-resolved's settings of one link.
#[derive(Debug)]
pub struct Resolved {
    link: Arc<Link>,
    /// Re-applies `link.wanted` whenever resolved's name gets an owner;
    /// ends with the backend.
    watcher: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Link {
    manager: zbus::Proxy<'static>,
    connection: zbus::Connection,
    ifindex: u32,
    /// `None` until the first `set` and after `revert`. The lock is held
    /// across the calls so that a re-apply by the watcher and a `revert`
    /// cannot interleave (a late SetLinkDNS after RevertLink would leave
    /// servers behind).
    wanted: tokio::sync::Mutex<Option<Wanted>>,
}

impl Resolved {
    /// The backend for link `ifindex` over `connection` (the system bus, or a
    /// test bus). Subscribes to resolved's name changes before it returns,
    /// so a resolved that starts from now on is seen; needs a tokio runtime.
    pub async fn new(connection: zbus::Connection, ifindex: u32) -> Result<Self, DnsError> {
        let bus_error = |e: zbus::Error| DnsError::Bus(Box::new(e));
        // NoAutoStart on every call (below) and no property cache: talking
        // to a resolved the administrator left stopped must not start it.
        let manager = zbus::proxy::Builder::new(&connection)
            .destination(RESOLVED_BUS_NAME)
            .and_then(|b| b.path(RESOLVED_PATH))
            .and_then(|b| b.interface(MANAGER_INTERFACE))
            .map_err(bus_error)?
            .cache_properties(CacheProperties::No)
            .build()
            .await
            .map_err(bus_error)?;
        let bus = zbus::fdo::DBusProxy::new(&connection)
            .await
            .map_err(bus_error)?;
        let owners = bus
            .receive_name_owner_changed_with_args(&[(0, RESOLVED_BUS_NAME)])
            .await
            .map_err(bus_error)?;
        let link = Arc::new(Link {
            manager,
            connection,
            ifindex,
            wanted: tokio::sync::Mutex::new(None),
        });
        let watcher = tokio::spawn(watch(Arc::clone(&link), owners));
        Ok(Resolved { link, watcher })
    }

    /// Whether resolved runs: its bus name has an owner. Asking, rather than
    /// calling it, avoids D-Bus-activating a resolved the administrator left
    /// stopped.
    pub async fn is_running(connection: &zbus::Connection) -> Result<bool, DnsError> {
        let bus = zbus::fdo::DBusProxy::new(connection)
            .await
            .map_err(|e| DnsError::Bus(Box::new(e)))?;
        let name = zbus::names::BusName::try_from(RESOLVED_BUS_NAME)
            .map_err(|e| DnsError::Bus(Box::new(e.into())))?;
        bus.name_has_owner(name)
            .await
            .map_err(|e| DnsError::Bus(Box::new(e.into())))
    }

    /// Sets the link's servers, clears its search domains (MBIM gives none)
    /// and says whether it may answer for every domain. With resolved not
    /// running this succeeds: the settings are applied when it starts.
    pub async fn set(&self, servers: &[IpAddr], default_route: bool) -> Result<(), DnsError> {
        let mut wanted = self.link.wanted.lock().await;
        *wanted = Some((servers.to_vec(), default_route));
        match self.link.apply(servers, default_route).await {
            Err(error) if !self.link.resolved_runs().await => {
                tracing::info!(
                    ifindex = self.link.ifindex,
                    error = %chain(&error),
                    "systemd-resolved is not running; the link's DNS servers are set when it starts"
                );
                Ok(())
            }
            result => result,
        }
    }

    /// Forgets everything set on the link. With resolved not running there
    /// is nothing to forget, and it will not be told later.
    pub async fn revert(&self) -> Result<(), DnsError> {
        let mut wanted = self.link.wanted.lock().await;
        *wanted = None;
        match self
            .link
            .call("RevertLink", &(link_index(self.link.ifindex),))
            .await
        {
            Err(_) if !self.link.resolved_runs().await => Ok(()),
            result => result,
        }
    }
}

impl Drop for Resolved {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

impl Link {
    async fn apply(&self, servers: &[IpAddr], default_route: bool) -> Result<(), DnsError> {
        let index = link_index(self.ifindex);
        self.call("SetLinkDNS", &(index, set_link_dns_addresses(servers)))
            .await?;
        self.call("SetLinkDomains", &(index, Vec::<(String, bool)>::new()))
            .await?;
        self.call("SetLinkDefaultRoute", &(index, default_route))
            .await
    }

    /// Whether resolved runs; a bus that cannot answer counts as no.
    async fn resolved_runs(&self) -> bool {
        Resolved::is_running(&self.connection)
            .await
            .unwrap_or(false)
    }

    async fn call<B>(&self, method: &'static str, body: &B) -> Result<(), DnsError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.manager
            .call_with_flags::<_, _, ()>(method, MethodFlags::NoAutoStart.into(), body)
            .await
            .map(drop)
            .map_err(|source| DnsError::Resolved {
                method,
                ifindex: self.ifindex,
                source: Box::new(source),
            })
    }
}

/// The watcher of one link: every time resolved's name gets a new owner,
/// the link's settings (if any) go to it.
async fn watch(link: Arc<Link>, mut owners: zbus::fdo::NameOwnerChangedStream) {
    while let Some(signal) = owners.next().await {
        let appeared = signal
            .args()
            .map(|args| args.new_owner().is_some())
            .unwrap_or(false);
        if !appeared {
            tracing::info!(
                ifindex = link.ifindex,
                "systemd-resolved left the bus; the link's DNS servers are set again when it returns"
            );
            continue;
        }
        let wanted = link.wanted.lock().await;
        let Some((servers, default_route)) = wanted.as_ref() else {
            continue;
        };
        match link.apply(servers, *default_route).await {
            Ok(()) => tracing::info!(
                ifindex = link.ifindex,
                "systemd-resolved started: the link's DNS servers set again"
            ),
            Err(error) => tracing::warn!(
                ifindex = link.ifindex,
                error = %chain(&error),
                "systemd-resolved started, but setting the link's DNS servers failed"
            ),
        }
    }
}

/// resolved takes the index as a D-Bus `i`; kernel indices are positive
/// `int`s, so this never saturates in practice.
fn link_index(ifindex: u32) -> i32 {
    i32::try_from(ifindex).unwrap_or(i32::MAX)
}

/// SetLinkDNS's `a(iay)`: (address family, address bytes) per server.
pub fn set_link_dns_addresses(servers: &[IpAddr]) -> Vec<(i32, Vec<u8>)> {
    servers
        .iter()
        .map(|server| match server {
            IpAddr::V4(v4) => (AF_INET, v4.octets().to_vec()),
            IpAddr::V6(v6) => (AF_INET6, v6.octets().to_vec()),
        })
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use zbus::zvariant::{serialized::Context, to_bytes, DynamicType, LE};

    #[test]
    fn set_link_dns_has_resolveds_signature() {
        let body = (
            7_i32,
            set_link_dns_addresses(&["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()]),
        );
        assert_eq!(body.signature().to_string(), "(ia(iay))");
        assert_eq!(body.1[0], (2, vec![192, 0, 2, 1]));
        assert_eq!(body.1[1].0, 10);
        assert_eq!(body.1[1].1.len(), 16);
        // It serialises as D-Bus would send it.
        let ctxt = Context::new_dbus(LE, 0);
        assert!(to_bytes(ctxt, &body).is_ok());
        assert_eq!(
            (7_i32, Vec::<(String, bool)>::new())
                .signature()
                .to_string(),
            "(ia(sb))"
        );
        assert_eq!((7_i32, true).signature().to_string(), "(ib)");
    }
}
