//! DNS servers of a connected session, handed to whatever resolves names on
//! this machine: systemd-resolved over D-Bus when it runs, else what the
//! configuration names (resolvconf(8), a file, or nothing).
//!
//! `/etc/resolv.conf` is never written unless the configuration names it as
//! the `file:` target.

mod file;
mod resolvconf;
mod resolved;

use crate::logging::chain;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

pub use file::FileDns;
pub use resolvconf::Resolvconf;
pub use resolved::{set_link_dns_addresses, Resolved, RESOLVED_BUS_NAME};

/// Which DNS backend the configuration asks for (`dns = "…"`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum DnsBackend {
    /// `auto`: systemd-resolved if its bus name is owned on the system bus,
    /// else resolvconf(8) if installed, else systemd-resolved if there is a
    /// system bus (its servers follow if it starts), else none (with a
    /// warning).
    #[default]
    Auto,
    /// `resolved`: systemd-resolved; an error without a system bus. One not
    /// running yet gets the servers when it starts.
    Resolved,
    /// `resolvconf`: `resolvconf -a <if>.mbimd` / `-d <if>.mbimd`.
    Resolvconf,
    /// `file:<path>`: a resolv.conf-format file, written atomically and
    /// removed at teardown.
    File(PathBuf),
    /// `none`: DNS servers are only published, not applied.
    None,
}

/// A `dns` setting that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown DNS backend `{0}`: expected auto, resolved, resolvconf, file:<path> or none")]
pub struct UnknownDnsBackend(pub String);

impl FromStr for DnsBackend {
    type Err = UnknownDnsBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(DnsBackend::Auto),
            "resolved" => Ok(DnsBackend::Resolved),
            "resolvconf" => Ok(DnsBackend::Resolvconf),
            "none" => Ok(DnsBackend::None),
            _ => match s.strip_prefix("file:") {
                Some(path) if path.starts_with('/') => Ok(DnsBackend::File(PathBuf::from(path))),
                _ => Err(UnknownDnsBackend(s.to_owned())),
            },
        }
    }
}

impl TryFrom<String> for DnsBackend {
    type Error = UnknownDnsBackend;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for DnsBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsBackend::Auto => f.write_str("auto"),
            DnsBackend::Resolved => f.write_str("resolved"),
            DnsBackend::Resolvconf => f.write_str("resolvconf"),
            DnsBackend::File(path) => write!(f, "file:{}", path.display()),
            DnsBackend::None => f.write_str("none"),
        }
    }
}

/// What failed while applying or removing DNS settings.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The system bus could not be reached.
    #[error("cannot connect to the D-Bus system bus")]
    Bus(#[source] Box<zbus::Error>),
    /// A call to systemd-resolved failed.
    #[error("systemd-resolved {method} for interface index {ifindex} failed")]
    Resolved {
        /// The method of org.freedesktop.resolve1.Manager.
        method: &'static str,
        /// The interface it was about.
        ifindex: u32,
        /// The D-Bus error.
        #[source]
        source: Box<zbus::Error>,
    },
    /// resolvconf could not be run.
    #[error("cannot run `{program} {args}`")]
    ResolvconfSpawn {
        /// The program.
        program: String,
        /// Its arguments, space-separated.
        args: String,
        /// Why it could not run.
        #[source]
        source: std::io::Error,
    },
    /// resolvconf ran and failed.
    #[error("`{program} {args}` failed ({status}): {stderr}")]
    ResolvconfFailed {
        /// The program.
        program: String,
        /// Its arguments, space-separated.
        args: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it wrote on standard error.
        stderr: String,
    },
    /// The DNS file could not be written or removed.
    #[error("cannot {action} the DNS file {path}")]
    File {
        /// `write` or `remove`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A blocking helper task ended without an answer (the runtime is
    /// shutting down).
    #[error("the DNS helper task did not finish")]
    Join(#[source] tokio::task::JoinError),
}

/// The DNS backend chosen for one device.
#[derive(Debug)]
pub enum DnsLink {
    /// systemd-resolved, per link.
    Resolved(Resolved),
    /// resolvconf(8), one record per device.
    Resolvconf(Resolvconf),
    /// A file of the administrator's choosing.
    File(FileDns),
    /// Nothing is applied.
    None,
}

/// Where `auto` looks for resolvconf, in order.
const RESOLVCONF_PATHS: [&str; 3] = [
    "/usr/sbin/resolvconf",
    "/sbin/resolvconf",
    "/usr/bin/resolvconf",
];

impl DnsLink {
    /// Picks the backend `backend` names for the device `interface` (index
    /// `ifindex`), probing the system bus for `auto` and `resolved`.
    ///
    /// `resolved` needs the system bus but not a running resolved: one that
    /// starts later gets the link's servers then. `auto` takes resolved when
    /// it runs, else resolvconf(8) when installed, else resolved all the
    /// same when there is a system bus (in case it starts), else nothing.
    pub async fn select(
        backend: &DnsBackend,
        interface: &str,
        ifindex: u32,
    ) -> Result<DnsLink, DnsError> {
        match backend {
            DnsBackend::Resolved => {
                let connection = zbus::Connection::system()
                    .await
                    .map_err(|e| DnsError::Bus(Box::new(e)))?;
                if !Resolved::is_running(&connection).await? {
                    tracing::warn!(
                        interface,
                        "systemd-resolved is not running: the network's DNS servers are applied when it starts"
                    );
                }
                Ok(DnsLink::Resolved(Resolved::new(connection, ifindex).await?))
            }
            DnsBackend::Auto => {
                let bus = system_bus_probe().await;
                if let Some((connection, true)) = bus {
                    return Ok(DnsLink::Resolved(Resolved::new(connection, ifindex).await?));
                }
                if let Some(program) = RESOLVCONF_PATHS
                    .iter()
                    .map(PathBuf::from)
                    .find(|p| p.exists())
                {
                    return Ok(DnsLink::Resolvconf(Resolvconf::new(program, interface)));
                }
                if let Some((connection, false)) = bus {
                    tracing::warn!(
                        interface,
                        "neither systemd-resolved nor resolvconf found: the network's DNS servers are applied if systemd-resolved starts"
                    );
                    return Ok(DnsLink::Resolved(Resolved::new(connection, ifindex).await?));
                }
                tracing::warn!(
                    interface,
                    "neither systemd-resolved nor resolvconf found: the network's DNS servers are not applied"
                );
                Ok(DnsLink::None)
            }
            DnsBackend::Resolvconf => Ok(DnsLink::Resolvconf(Resolvconf::new(
                PathBuf::from("resolvconf"),
                interface,
            ))),
            DnsBackend::File(path) => Ok(DnsLink::File(FileDns::new(path.clone(), interface))),
            DnsBackend::None => Ok(DnsLink::None),
        }
    }

    /// Applies `servers`. `default_route` tells resolved that this link may
    /// answer queries for every domain (it carries the default route).
    pub async fn set(&self, servers: &[IpAddr], default_route: bool) -> Result<(), DnsError> {
        match self {
            DnsLink::Resolved(r) => r.set(servers, default_route).await,
            DnsLink::Resolvconf(r) => r.set(servers).await,
            DnsLink::File(f) => f.set(servers),
            DnsLink::None => Ok(()),
        }
    }

    /// Removes everything `set` applied.
    pub async fn revert(&self) -> Result<(), DnsError> {
        match self {
            DnsLink::Resolved(r) => r.revert().await,
            DnsLink::Resolvconf(r) => r.revert().await,
            DnsLink::File(f) => f.remove(),
            DnsLink::None => Ok(()),
        }
    }
}

/// How long `auto` waits for the system bus to answer: a wedged bus must
/// not hold up bringing the connection up.
const BUS_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The system bus, if it answers, and whether systemd-resolved owns its name
/// there. No bus is a normal state on small systems: `auto` then falls
/// through to resolvconf rather than failing the connection.
async fn system_bus_probe() -> Option<(zbus::Connection, bool)> {
    let probe = async {
        let connection = zbus::Connection::system()
            .await
            .map_err(|e| DnsError::Bus(Box::new(e)))?;
        let running = Resolved::is_running(&connection).await?;
        Ok::<_, DnsError>((connection, running))
    };
    match tokio::time::timeout(BUS_PROBE_TIMEOUT, probe).await {
        Ok(Ok(found)) => Some(found),
        Ok(Err(error)) => {
            tracing::debug!(error = %chain(&error), "no system bus to find systemd-resolved on");
            None
        }
        Err(_) => {
            tracing::warn!("the system bus did not answer in time; not using systemd-resolved");
            None
        }
    }
}

/// The resolv.conf text for `servers` of `interface`: a comment naming the
/// writer (so an administrator finds out who wrote it), one `nameserver` line
/// each; link-local IPv6 servers get their zone, without which the resolver
/// cannot reach them.
pub fn resolv_conf_text(interface: &str, servers: &[IpAddr]) -> String {
    let mut text =
        format!("# Written by mbimd for {interface}; removed when the connection ends.\n");
    for server in servers {
        match server {
            IpAddr::V6(v6) if super::plan::is_link_local(*v6) => {
                text.push_str(&format!("nameserver {v6}%{interface}\n"));
            }
            _ => text.push_str(&format!("nameserver {server}\n")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_and_print() {
        for (text, backend) in [
            ("auto", DnsBackend::Auto),
            ("resolved", DnsBackend::Resolved),
            ("resolvconf", DnsBackend::Resolvconf),
            ("none", DnsBackend::None),
            (
                "file:/run/mbimd/resolv.conf",
                DnsBackend::File("/run/mbimd/resolv.conf".into()),
            ),
        ] {
            assert_eq!(text.parse::<DnsBackend>().unwrap(), backend);
            assert_eq!(backend.to_string(), text);
        }
        for bad in ["", "file:", "file:relative", "systemd"] {
            assert!(bad.parse::<DnsBackend>().is_err(), "{bad}");
        }
    }

    #[test]
    fn resolv_conf_lists_servers_with_zones() {
        let text = resolv_conf_text(
            "mbim0e0",
            &[
                "192.0.2.53".parse().unwrap(),
                "fe80::1".parse().unwrap(),
                "2001:db8::53".parse().unwrap(),
            ],
        );
        assert_eq!(
            text,
            "# Written by mbimd for mbim0e0; removed when the connection ends.\n\
             nameserver 192.0.2.53\nnameserver fe80::1%mbim0e0\nnameserver 2001:db8::53\n"
        );
    }
}
