//! Bringing the device to a session's IP settings: a reconciliation against
//! what the kernel reports (MTU, IPv6 sysctls, link, addresses, routes,
//! DNS), each part tried even when another failed and reported on its
//! own.

use super::plan::{Plan, RouteSpec};
use super::screen::address_part;
use super::{metric, screen, sysctl, Addressing, ConfigReport, Netdev, NetdevError};
use crate::types::IpSettings;

impl Netdev {
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
