//! Removing what the netdev applied: its DNS servers, routes and addresses
//! when a client takes the device's IP over, and the device itself (or, for
//! an adopted one, its link state and IPv6 sysctls) when the session ends.

use super::{rtnl, sysctl, Addressing, Netdev, NetdevError, Origin};
use crate::logging::chain;

impl Netdev {
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
