//! Per-device IPv6 sysctls, written under /proc/sys, which shows the network
//! namespace of the writing thread: the daemon's own, or a test's.

use std::path::PathBuf;

use super::NetdevError;

/// The file of `net.ipv6.conf.<interface>.<key>`.
fn ipv6_conf_path(interface: &str, key: &str) -> PathBuf {
    PathBuf::from(format!("/proc/sys/net/ipv6/conf/{interface}/{key}"))
}

/// Whether the kernel has IPv6 on `interface` at all (disabled at boot or
/// built without it: then the netdev configures IPv4 only).
pub(crate) fn ipv6_present(interface: &str) -> bool {
    ipv6_conf_path(interface, "accept_ra").exists()
}

/// The IPv6 sysctls a netdev writes, which an adopted kernel device gets
/// back as they were ([`read_ipv6`] at adoption, written at teardown).
pub(crate) const WRITTEN: [&str; 4] = [
    "addr_gen_mode",
    "accept_ra",
    "accept_ra_defrtr",
    "ra_defrtr_metric",
];

/// `net.ipv6.conf.<interface>.<key>` as it is now, if the kernel has it.
pub(crate) fn read_ipv6(interface: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(ipv6_conf_path(interface, key))
        .ok()
        .map(|value| value.trim().to_owned())
}

/// Writes `value` to `net.ipv6.conf.<interface>.<key>`.
pub(crate) fn set_ipv6(interface: &str, key: &'static str, value: &str) -> Result<(), NetdevError> {
    let path = ipv6_conf_path(interface, key);
    std::fs::write(&path, value).map_err(|source| NetdevError::Sysctl { path, source })
}

/// Like [`set_ipv6`], for keys newer kernels have (`ra_defrtr_metric` is
/// 5.13): a missing key is logged, not an error.
pub(crate) fn set_ipv6_if_present(
    interface: &str,
    key: &'static str,
    value: &str,
) -> Result<(), NetdevError> {
    match set_ipv6(interface, key, value) {
        Err(NetdevError::Sysctl { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            tracing::debug!(
                interface,
                key,
                "sysctl not known to this kernel, left alone"
            );
            Ok(())
        }
        other => other,
    }
}
