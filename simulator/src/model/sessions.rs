//! An active session's addressing: the gateway the data plane answers as,
//! the IP configuration reported in IP_CONFIGURATION, and the network's
//! PCO carrying its DNS servers.
//!
//! Each session has its own addresses (see `scenario/ip.rs`), derived here
//! from the executor's configuration and the context's IP type.

use super::{ip_families, net, Modem};
use mbim_protocol::services::basic_connect as bc;
use std::collections::BTreeMap;
use std::time::Instant;

impl Modem {
    /// The gateway of each active session of `function`'s executor.
    pub(super) fn gateways(&self, function: usize) -> BTreeMap<u8, net::Gateway> {
        let Some(executor) = self.executors.get(function) else {
            return BTreeMap::new();
        };
        executor
            .contexts
            .iter()
            .filter_map(|(session, context)| {
                let session = u8::try_from(*session).ok()?;
                let (v4, v6) = ip_families(context.ip_type);
                let id = u32::from(session);
                Some((
                    session,
                    net::Gateway {
                        ipv4: executor
                            .ipv4
                            .as_ref()
                            .filter(|_| v4)
                            .map(|c| c.session_addresses(id).1),
                        ipv6: executor
                            .ipv6
                            .as_ref()
                            .filter(|_| v6)
                            .map(|c| c.session_addresses(id).1),
                        sink_port: None,
                    },
                ))
            })
            .collect()
    }

    /// The network's protocol configuration options for an active session
    /// of `index`: its DNS servers when the scenario gives them there.
    pub(crate) fn session_pco(&self, index: usize, session: u32) -> Option<Vec<u8>> {
        let executor = self.executors.get(index)?;
        let context = executor.contexts.get(&session)?;
        if !executor.config.network.dns_in_pco {
            return None;
        }
        let (v4, v6) = ip_families(context.ip_type);
        let options = mbim_protocol::pco::SessionOptions {
            dns_ipv4: executor
                .ipv4
                .as_ref()
                .filter(|_| v4)
                .map(|c| c.dns.clone())
                .unwrap_or_default(),
            dns_ipv6: executor
                .ipv6
                .as_ref()
                .filter(|_| v6)
                .map(|c| c.dns.clone())
                .unwrap_or_default(),
            ..mbim_protocol::pco::SessionOptions::default()
        };
        Some(options.to_pco())
    }

    /// The IP configuration of an active session.
    pub(crate) fn ip_configuration(
        &self,
        index: usize,
        session: u32,
    ) -> Option<bc::IpConfigurationInfo> {
        let executor = self.executors.get(index)?;
        let context = executor.contexts.get(&session)?;
        let (v4, v6) = ip_families(context.ip_type);
        let mut info = bc::IpConfigurationInfo {
            session_id: session,
            ..bc::IpConfigurationInfo::default()
        };
        // Each session its own addresses and gateway (scenario/ip.rs); DNS
        // here unless the network gives it in the PCO only.
        let dns_here = !executor.config.network.dns_in_pco;
        let ipv4 = executor.ipv4.as_ref().map(|c| c.for_session(session));
        let ipv6 = executor.ipv6.as_ref().map(|c| c.for_session(session));
        if let Some(config) = ipv4.as_ref().filter(|_| v4) {
            info.ipv4_configuration_available =
                bc::IpConfigurationAvailable::ADDRESS | bc::IpConfigurationAvailable::GATEWAY;
            info.ipv4_addresses = vec![bc::Ipv4Element {
                on_link_prefix_length: config.prefix,
                ipv4_address: config.address,
            }];
            info.ipv4_gateway = Some(config.gateway);
            if dns_here && !config.dns.is_empty() {
                info.ipv4_configuration_available |= bc::IpConfigurationAvailable::DNS;
                info.ipv4_dns_servers.clone_from(&config.dns);
            }
            if config.mtu != 0 {
                info.ipv4_configuration_available |= bc::IpConfigurationAvailable::MTU;
                info.ipv4_mtu = config.mtu;
            }
        }
        if let Some(config) = ipv6.as_ref().filter(|_| v6) {
            info.ipv6_configuration_available =
                bc::IpConfigurationAvailable::ADDRESS | bc::IpConfigurationAvailable::GATEWAY;
            info.ipv6_addresses = vec![bc::Ipv6Element {
                on_link_prefix_length: config.prefix,
                ipv6_address: config.address,
            }];
            info.ipv6_gateway = Some(config.gateway);
            if dns_here && !config.dns.is_empty() {
                info.ipv6_configuration_available |= bc::IpConfigurationAvailable::DNS;
                info.ipv6_dns_servers.clone_from(&config.dns);
            }
            if config.mtu != 0 {
                info.ipv6_configuration_available |= bc::IpConfigurationAvailable::MTU;
                info.ipv6_mtu = config.mtu;
            }
        }
        Some(info)
    }

    pub(crate) fn notify_ip_configuration(&mut self, now: Instant, index: usize) {
        let sessions: Vec<u32> = self
            .executors
            .get(index)
            .map(|executor| executor.contexts.keys().copied().collect())
            .unwrap_or_default();
        for session in sessions {
            if let Some(info) = self.ip_configuration(index, session) {
                self.indicate::<bc::cid::IpConfiguration>(now, index, &info);
            }
        }
    }
}
