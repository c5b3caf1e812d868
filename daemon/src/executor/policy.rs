//! The executor's pure rules: reconnection back-off, IP configuration
//! merging, masking of personal data, and the budget for misbehaving devices.

use crate::types::{IpSettings, Ipv4Prefix, Ipv6Prefix};
use mbim_protocol::services::basic_connect::{IpConfigurationAvailable, IpConfigurationInfo};
use std::time::{Duration, Instant};

/// The wait before reconnection attempt `failures` (0 for the first attempt
/// after a loss): `base` doubled per failure, never above `cap`.
pub fn reconnect_delay(failures: u32, base: Duration, cap: Duration) -> Duration {
    let factor = 1u32.checked_shl(failures.min(31)).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// The IPv4 and IPv6 parts of an IP_CONFIGURATION, each taken only where its
/// availability flag says so; the rest comes from `previous` (seed 000: a
/// DNS-only update keeps the basic IP information obtained before). Prefix
/// lengths beyond the family's width are dropped, as are unspecified addresses.
pub fn merge_ip_configuration(previous: &IpSettings, info: &IpConfigurationInfo) -> IpSettings {
    let v4 = info.ipv4_configuration_available;
    let v6 = info.ipv6_configuration_available;
    let has = |flags: IpConfigurationAvailable, flag| flags.contains(flag);
    IpSettings {
        ipv4_addresses: if has(v4, IpConfigurationAvailable::ADDRESS) {
            info.ipv4_addresses
                .iter()
                .filter(|element| !element.ipv4_address.is_unspecified())
                .filter_map(|element| {
                    let prefix = u8::try_from(element.on_link_prefix_length).ok()?;
                    (prefix <= 32).then_some(Ipv4Prefix {
                        address: element.ipv4_address,
                        prefix,
                    })
                })
                .collect()
        } else {
            previous.ipv4_addresses.clone()
        },
        ipv4_gateway: if has(v4, IpConfigurationAvailable::GATEWAY) {
            info.ipv4_gateway
                .filter(|gateway| !gateway.is_unspecified())
        } else {
            previous.ipv4_gateway
        },
        ipv4_dns: if has(v4, IpConfigurationAvailable::DNS) {
            info.ipv4_dns_servers
                .iter()
                .copied()
                .filter(|dns| !dns.is_unspecified())
                .collect()
        } else {
            previous.ipv4_dns.clone()
        },
        ipv4_mtu: if has(v4, IpConfigurationAvailable::MTU) {
            info.ipv4_mtu
        } else {
            previous.ipv4_mtu
        },
        ipv6_addresses: if has(v6, IpConfigurationAvailable::ADDRESS) {
            info.ipv6_addresses
                .iter()
                .filter(|element| !element.ipv6_address.is_unspecified())
                .filter_map(|element| {
                    let prefix = u8::try_from(element.on_link_prefix_length).ok()?;
                    (prefix <= 128).then_some(Ipv6Prefix {
                        address: element.ipv6_address,
                        prefix,
                    })
                })
                .collect()
        } else {
            previous.ipv6_addresses.clone()
        },
        ipv6_gateway: if has(v6, IpConfigurationAvailable::GATEWAY) {
            info.ipv6_gateway
                .filter(|gateway| !gateway.is_unspecified())
        } else {
            previous.ipv6_gateway
        },
        ipv6_dns: if has(v6, IpConfigurationAvailable::DNS) {
            info.ipv6_dns_servers
                .iter()
                .copied()
                .filter(|dns| !dns.is_unspecified())
                .collect()
        } else {
            previous.ipv6_dns.clone()
        },
        ipv6_mtu: if has(v6, IpConfigurationAvailable::MTU) {
            info.ipv6_mtu
        } else {
            previous.ipv6_mtu
        },
    }
}

/// IMSI, ICCID and the like for logs, masked by the daemon's one rule
/// ([`crate::logging::personal`]: the operator prefix stays, the subscriber
/// part is hidden) unless `show` is set.
pub fn mask_personal(value: &str, show: bool) -> String {
    crate::logging::personal(value, show).to_string()
}

/// Counts device misbehaviour (malformed messages, unanswered commands,
/// undecodable payloads) in a sliding window: what to log, and when the
/// executor should give up on the session and reset it.
#[derive(Debug, Clone)]
pub struct AnomalyBudget {
    window: Duration,
    log_limit: u32,
    reset_threshold: u32,
    window_start: Option<Instant>,
    count: u32,
    suppressed: u32,
}

/// What to do about one anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyVerdict {
    /// Log it (false once `log_limit` were logged in the window).
    pub log: bool,
    /// Anomalies not logged in the window that just ended.
    pub suppressed_before: u32,
    /// Reset the executor's session (the threshold was reached).
    pub reset: bool,
}

impl AnomalyBudget {
    /// At most `log_limit` logs and `reset_threshold` anomalies per `window`.
    pub fn new(window: Duration, log_limit: u32, reset_threshold: u32) -> Self {
        AnomalyBudget {
            window,
            log_limit,
            reset_threshold: reset_threshold.max(1),
            window_start: None,
            count: 0,
            suppressed: 0,
        }
    }

    /// Records one anomaly at `now`.
    pub fn record(&mut self, now: Instant) -> AnomalyVerdict {
        let mut suppressed_before = 0;
        let expired = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.window);
        if expired {
            suppressed_before = std::mem::take(&mut self.suppressed);
            self.window_start = Some(now);
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        let log = self.count <= self.log_limit;
        if !log {
            self.suppressed = self.suppressed.saturating_add(1);
        }
        let reset = self.count >= self.reset_threshold;
        if reset {
            // The reset starts a fresh session; its budget starts afresh too.
            self.window_start = None;
            self.count = 0;
        }
        AnomalyVerdict {
            log,
            suppressed_before,
            reset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mbim_protocol::services::basic_connect::{Ipv4Element, Ipv6Element};
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        // (failures, base, cap) -> delay
        let table = [
            (0, s(1), s(60), s(1)),
            (1, s(1), s(60), s(2)),
            (2, s(1), s(60), s(4)),
            (5, s(1), s(60), s(32)),
            (6, s(1), s(60), s(60)),
            (31, s(1), s(60), s(60)),
            (u32::MAX, s(1), s(60), s(60)),
            (3, s(5), s(30), s(30)),
            (0, s(0), s(30), s(0)),
            (40, Duration::from_millis(100), s(3600), s(3600)),
        ];
        for (failures, base, cap, expected) in table {
            assert_eq!(reconnect_delay(failures, base, cap), expected, "{failures}");
        }
    }

    fn full() -> IpConfigurationInfo {
        let all = IpConfigurationAvailable::ADDRESS
            | IpConfigurationAvailable::GATEWAY
            | IpConfigurationAvailable::DNS
            | IpConfigurationAvailable::MTU;
        IpConfigurationInfo {
            session_id: 0,
            ipv4_configuration_available: all,
            ipv6_configuration_available: all,
            ipv4_addresses: vec![Ipv4Element {
                on_link_prefix_length: 30,
                ipv4_address: Ipv4Addr::new(10, 64, 0, 2),
            }],
            ipv6_addresses: vec![Ipv6Element {
                on_link_prefix_length: 64,
                ipv6_address: "fd00:6d62::2".parse().unwrap(),
            }],
            ipv4_gateway: Some(Ipv4Addr::new(10, 64, 0, 1)),
            ipv6_gateway: Some("fd00:6d62::1".parse().unwrap()),
            ipv4_dns_servers: vec![Ipv4Addr::new(10, 64, 0, 1)],
            ipv6_dns_servers: vec!["fd00:6d62::1".parse().unwrap()],
            ipv4_mtu: 1500,
            ipv6_mtu: 1400,
        }
    }

    #[test]
    fn ip_configuration_merges_per_flag() {
        let first = merge_ip_configuration(&IpSettings::default(), &full());
        assert_eq!(first.ipv4_addresses[0].prefix, 30);
        assert_eq!(first.ipv6_gateway, Some("fd00:6d62::1".parse().unwrap()));
        assert_eq!(first.ipv6_mtu, 1400);

        let dns_only = IpConfigurationInfo {
            ipv4_configuration_available: IpConfigurationAvailable::DNS,
            ipv6_configuration_available: IpConfigurationAvailable::DNS,
            ipv4_addresses: Vec::new(),
            ipv6_addresses: Vec::new(),
            ipv4_gateway: None,
            ipv6_gateway: None,
            ipv4_dns_servers: vec![Ipv4Addr::new(9, 9, 9, 9)],
            ipv6_dns_servers: vec![Ipv6Addr::LOCALHOST],
            ..full()
        };
        let merged = merge_ip_configuration(&first, &dns_only);
        let expected = IpSettings {
            ipv4_dns: vec![Ipv4Addr::new(9, 9, 9, 9)],
            ipv6_dns: vec![Ipv6Addr::LOCALHOST],
            ..first.clone()
        };
        assert_eq!(merged, expected);

        // Nothing flagged: nothing changes.
        let nothing = IpConfigurationInfo {
            ipv4_configuration_available: IpConfigurationAvailable::empty(),
            ipv6_configuration_available: IpConfigurationAvailable::empty(),
            ..full()
        };
        assert_eq!(merge_ip_configuration(&first, &nothing), first);

        // Invalid prefixes and unspecified addresses are dropped.
        let mut broken = full();
        broken.ipv4_addresses[0].on_link_prefix_length = 33;
        broken.ipv6_addresses[0].ipv6_address = Ipv6Addr::UNSPECIFIED;
        broken.ipv4_gateway = Some(Ipv4Addr::UNSPECIFIED);
        let cleaned = merge_ip_configuration(&IpSettings::default(), &broken);
        assert!(cleaned.ipv4_addresses.is_empty());
        assert!(cleaned.ipv6_addresses.is_empty());
        assert_eq!(cleaned.ipv4_gateway, None);
    }

    #[test]
    fn personal_data_is_masked_unless_asked_for() {
        let table = [
            ("001010000000001", false, "00101**********"),
            ("001010000000001", true, "001010000000001"),
            ("0010", false, crate::logging::MASK),
            ("", false, ""),
        ];
        for (value, show, expected) in table {
            assert_eq!(mask_personal(value, show), expected);
        }
    }

    #[test]
    fn anomaly_budget_limits_logs_and_resets_at_the_threshold() {
        let start = Instant::now();
        let mut budget = AnomalyBudget::new(Duration::from_secs(60), 2, 4);
        let verdicts: Vec<_> = (0..4u64)
            .map(|i| budget.record(start + Duration::from_secs(i)))
            .collect();
        assert_eq!(
            verdicts
                .iter()
                .map(|v| (v.log, v.reset))
                .collect::<Vec<_>>(),
            [(true, false), (true, false), (false, false), (false, true)]
        );
        // A quiet window forgets, and reports what was not logged.
        let mut budget = AnomalyBudget::new(Duration::from_secs(10), 1, 100);
        budget.record(start);
        budget.record(start + Duration::from_secs(1));
        let later = budget.record(start + Duration::from_secs(30));
        assert_eq!(
            later,
            AnomalyVerdict {
                log: true,
                suppressed_before: 1,
                reset: false
            }
        );
    }
}
