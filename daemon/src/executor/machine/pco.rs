//! DNS from the network's protocol configuration options when
//! IP_CONFIGURATION gives none: some networks (and modems) put the DNS
//! servers only in the PCO (3GPP TS 24.008 containers 0x000D IPv4 and
//! 0x0003 IPv6). From MBIMEx 3.0 on CONNECT carries the PCO as an unnamed
//! IE (layouts.rs keeps it); otherwise MBIM_CID_MS_PCO is asked for once
//! per activation, and IP_CONFIGURATION again after it.

use super::step::Step;
use super::{ExecutorMachine, Request};
use crate::types::IpSettings;
use mbim_protocol::pco::SessionOptions;
use mbim_protocol::services::ms_basic_connect_extensions as ms;
use mbim_protocol::status::Status;
use std::time::Instant;

/// Whether the PCO has DNS servers for a family `ip` has addresses of but
/// no DNS servers for.
fn fills_a_gap(ip: &IpSettings, pco: &SessionOptions) -> bool {
    let v4 = !ip.ipv4_addresses.is_empty() && ip.ipv4_dns.is_empty() && !pco.dns_ipv4.is_empty();
    let v6 = !ip.ipv6_addresses.is_empty() && ip.ipv6_dns.is_empty() && !pco.dns_ipv6.is_empty();
    v4 || v6
}

/// Whether a family of `ip` has addresses but no DNS servers.
fn lacks_dns(ip: &IpSettings) -> bool {
    (!ip.ipv4_addresses.is_empty() && ip.ipv4_dns.is_empty())
        || (!ip.ipv6_addresses.is_empty() && ip.ipv6_dns.is_empty())
}

/// `ip` with the PCO's DNS servers for each family that has addresses but
/// no DNS servers of its own (IP_CONFIGURATION's win where it gave some).
pub(crate) fn with_pco_dns(mut ip: IpSettings, pco: &SessionOptions) -> IpSettings {
    if !ip.ipv4_addresses.is_empty() && ip.ipv4_dns.is_empty() {
        ip.ipv4_dns.clone_from(&pco.dns_ipv4);
    }
    if !ip.ipv6_addresses.is_empty() && ip.ipv6_dns.is_empty() {
        ip.ipv6_dns.clone_from(&pco.dns_ipv6);
    }
    ip
}

impl ExecutorMachine {
    /// Session 0's IP configuration as IP_CONFIGURATION gave it, with the
    /// PCO's DNS where it gave none; `None` when MBIM_CID_MS_PCO is to be
    /// asked first (no PCO came with CONNECT, and it was not asked yet).
    pub(super) fn dns_from_pco(&mut self, ip: IpSettings) -> Option<IpSettings> {
        if !lacks_dns(&ip) {
            return Some(ip);
        }
        match &self.status.pco {
            Some(pco) if fills_a_gap(&ip, pco) => {
                tracing::info!(
                    executor = self.log_number(),
                    dns_ipv4 = ?pco.dns_ipv4,
                    dns_ipv6 = ?pco.dns_ipv6,
                    "IP_CONFIGURATION gave no DNS servers: those of the network's PCO are used"
                );
                Some(with_pco_dns(ip, pco))
            }
            Some(_) => Some(ip),
            None if self.pco_asked => Some(ip),
            None => {
                self.pco_asked = true;
                self.pco_wanted = true;
                None
            }
        }
    }

    /// MBIM_CID_MS_PCO for session 0, when [`Self::dns_from_pco`] asked
    /// for it (IP_CONFIGURATION is asked again after the answer).
    pub(super) fn next_pco_query(&mut self) -> Option<(Step, Request)> {
        if !std::mem::take(&mut self.pco_wanted) {
            return None;
        }
        let query = ms::PcoValue {
            session_id: self.config.session_id,
            pco_data_type: ms::PcoType::Complete,
            pco_data_buffer: Vec::new(),
        };
        Some((Step::PcoQuery, Request::query::<ms::cid::Pco>(&query)))
    }

    /// MBIM_CID_MS_PCO answered: its options kept (a device without it
    /// leaves the session without PCO).
    pub(super) fn pco_answer(&mut self, now: Instant, status: Status, buffer: &[u8]) {
        if !status.is_success() {
            tracing::info!(
                executor = self.log_number(),
                "MS_PCO: {status}; no DNS servers from the network's PCO"
            );
            return;
        }
        let Some(value) = self.decode::<ms::PcoValue>(now, "MS_PCO", buffer) else {
            return;
        };
        if value.pco_data_buffer.is_empty() {
            // The network sent none for the session.
            return;
        }
        match value.session_options() {
            Ok(options) => self.status.pco = Some(options),
            Err(error) => self.misbehaved(
                now,
                &format!("undecodable PCO: {}", crate::logging::chain(&error)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Ipv4Prefix, Ipv6Prefix};
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn the_pcos_dns_fills_only_the_families_without_their_own() {
        let v4 = Ipv4Addr::new(10, 64, 0, 53);
        let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53);
        let own = Ipv4Addr::new(10, 0, 0, 1);
        let pco = SessionOptions {
            dns_ipv4: vec![v4],
            dns_ipv6: vec![v6],
            ..SessionOptions::default()
        };
        let address4 = Ipv4Prefix {
            address: Ipv4Addr::new(10, 64, 0, 2),
            prefix: 30,
        };
        let address6 = Ipv6Prefix {
            address: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
            prefix: 64,
        };
        // (IPv4 addresses, IPv4 DNS, IPv6 addresses) → (IPv4 DNS, IPv6 DNS)
        let table = [
            (vec![address4], vec![], vec![address6], vec![v4], vec![v6]),
            (
                vec![address4],
                vec![own],
                vec![address6],
                vec![own],
                vec![v6],
            ),
            (vec![address4], vec![], vec![], vec![v4], vec![]),
            (vec![], vec![], vec![address6], vec![], vec![v6]),
        ];
        for (ipv4_addresses, ipv4_dns, ipv6_addresses, want4, want6) in table {
            let ip = IpSettings {
                ipv4_addresses,
                ipv4_dns,
                ipv6_addresses,
                ..IpSettings::default()
            };
            assert!(lacks_dns(&ip));
            assert!(fills_a_gap(&ip, &pco));
            let filled = with_pco_dns(ip, &pco);
            assert_eq!((filled.ipv4_dns, filled.ipv6_dns), (want4, want6));
        }
        let complete = IpSettings {
            ipv4_addresses: vec![address4],
            ipv4_dns: vec![own],
            ..IpSettings::default()
        };
        assert!(!lacks_dns(&complete));
        assert!(!fills_a_gap(&complete, &pco));
    }
}
