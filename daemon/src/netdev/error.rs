//! What failed in the netdev, and whether it may pass: a transient failure
//! is worth applying again later, a wrong request or a missing device is
//! not.

use super::DnsError;
use std::path::PathBuf;

/// What failed in the netdev.
#[derive(Debug, thiserror::Error)]
pub enum NetdevError {
    /// The TUN device could not be created.
    #[error("cannot create TUN device {name}")]
    CreateTun {
        /// The name asked for.
        name: String,
        /// The cause (no /dev/net/tun, name taken, no CAP_NET_ADMIN…).
        #[source]
        source: std::io::Error,
    },
    /// The rtnetlink socket could not be opened.
    #[error("cannot open an rtnetlink socket")]
    NetlinkSocket(#[source] std::io::Error),
    /// An rtnetlink request failed.
    #[error("rtnetlink: {what} failed")]
    Netlink {
        /// The request, with its arguments.
        what: String,
        /// The kernel's answer.
        #[source]
        source: Box<rtnetlink::Error>,
    },
    /// The device is not (or no longer) there.
    #[error("network device {name} not found")]
    LinkMissing {
        /// Its name or index.
        name: String,
    },
    /// A sysctl could not be written.
    #[error("cannot write sysctl {}", path.display())]
    Sysctl {
        /// The /proc/sys file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// DNS settings could not be applied or removed.
    #[error("DNS for {interface}")]
    Dns {
        /// The device.
        interface: String,
        /// What failed.
        #[source]
        source: Box<DnsError>,
    },
}

impl NetdevError {
    /// Whether the cause may pass, so doing it again later is worth it: the
    /// kernel being busy or short of memory, the link not ready yet, IPv6
    /// switched off for now, a DNS service or directory not there yet. Not
    /// so when the request itself is wrong (`EINVAL`, `ERANGE`, an address
    /// family or operation the kernel lacks) or the device is gone.
    pub fn is_transient(&self) -> bool {
        /// EINVAL, ERANGE, EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT.
        const WRONG_REQUEST: [i32; 5] = [22, 34, 95, 97, 93];
        match self {
            NetdevError::Netlink { source, .. } => match source.as_ref() {
                rtnetlink::Error::NetlinkError(message) => message
                    .code
                    .is_none_or(|code| !WRONG_REQUEST.contains(&code.get().abs())),
                _ => true,
            },
            NetdevError::Sysctl { source, .. } => source
                .raw_os_error()
                .is_none_or(|code| !WRONG_REQUEST.contains(&code)),
            NetdevError::Dns { .. } | NetdevError::NetlinkSocket(_) => true,
            NetdevError::CreateTun { .. } | NetdevError::LinkMissing { .. } => false,
        }
    }
}
