//! The systemd-resolved backend: per-link DNS over
//! org.freedesktop.resolve1.Manager.

use std::net::IpAddr;

use super::DnsError;

/// The bus name systemd-resolved owns while it runs.
pub const RESOLVED_BUS_NAME: &str = "org.freedesktop.resolve1";
const RESOLVED_PATH: &str = "/org/freedesktop/resolve1";
const MANAGER_INTERFACE: &str = "org.freedesktop.resolve1.Manager";

/// `AF_INET` and `AF_INET6` as resolved's address arrays carry them.
const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

/// systemd-resolved's settings of one link.
#[derive(Debug, Clone)]
pub struct Resolved {
    connection: zbus::Connection,
    ifindex: u32,
}

impl Resolved {
    /// The backend for link `ifindex` over `connection` (the system bus, or a
    /// test bus).
    pub fn new(connection: zbus::Connection, ifindex: u32) -> Self {
        Resolved {
            connection,
            ifindex,
        }
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
    /// and says whether it may answer for every domain.
    pub async fn set(&self, servers: &[IpAddr], default_route: bool) -> Result<(), DnsError> {
        let index = link_index(self.ifindex);
        self.call("SetLinkDNS", &(index, set_link_dns_addresses(servers)))
            .await?;
        self.call("SetLinkDomains", &(index, Vec::<(String, bool)>::new()))
            .await?;
        self.call("SetLinkDefaultRoute", &(index, default_route))
            .await
    }

    /// Forgets everything set on the link.
    pub async fn revert(&self) -> Result<(), DnsError> {
        self.call("RevertLink", &(link_index(self.ifindex),)).await
    }

    async fn call<B>(&self, method: &'static str, body: &B) -> Result<(), DnsError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.connection
            .call_method(
                Some(RESOLVED_BUS_NAME),
                RESOLVED_PATH,
                Some(MANAGER_INTERFACE),
                method,
                body,
            )
            .await
            .map(drop)
            .map_err(|source| DnsError::Resolved {
                method,
                ifindex: self.ifindex,
                source: Box::new(source),
            })
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
