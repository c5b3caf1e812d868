//! `sd_notify(3)`: newline-separated `KEY=VALUE` lines in one datagram to the
//! AF_UNIX socket named by `$NOTIFY_SOCKET` (a path, or `@name` for an
//! abstract socket). Outside systemd the variable is unset and every
//! notification is a no-op.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;

/// Sends notifications to the service manager; cloneable, cheap.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    target: Option<Arc<Target>>,
}

#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    address: SocketAddr,
    /// `$NOTIFY_SOCKET` as given, for messages.
    name: String,
}

/// Why the notification socket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// `$NOTIFY_SOCKET` is neither an absolute path nor `@name`.
    #[error("NOTIFY_SOCKET={0:?} is neither an absolute path nor an abstract name (@name)")]
    BadAddress(String),
    /// The socket could not be created, or the datagram not sent.
    #[error("cannot notify the service manager at {name}")]
    Io {
        /// `$NOTIFY_SOCKET`.
        name: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl Notifier {
    /// The notifier `$NOTIFY_SOCKET` names, or one that does nothing when it
    /// is unset (mbimd not started by systemd, or not as `Type=notify`).
    pub fn from_env() -> Result<Notifier, NotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(name) if !name.is_empty() => Notifier::to(&name),
            _ => Ok(Notifier::default()),
        }
    }

    /// A notifier for the socket `name` (`$NOTIFY_SOCKET`'s syntax).
    pub fn to(name: &str) -> Result<Notifier, NotifyError> {
        let address = if let Some(abstract_name) = name.strip_prefix('@') {
            use std::os::linux::net::SocketAddrExt as _;
            SocketAddr::from_abstract_name(abstract_name.as_bytes())
        } else if name.starts_with('/') {
            SocketAddr::from_pathname(name)
        } else {
            return Err(NotifyError::BadAddress(name.to_owned()));
        }
        .map_err(|source| NotifyError::Io {
            name: name.to_owned(),
            source,
        })?;
        let socket = UnixDatagram::unbound().map_err(|source| NotifyError::Io {
            name: name.to_owned(),
            source,
        })?;
        Ok(Notifier {
            target: Some(Arc::new(Target {
                socket,
                address,
                name: name.to_owned(),
            })),
        })
    }

    /// Whether notifications go anywhere.
    pub fn is_active(&self) -> bool {
        self.target.is_some()
    }

    /// Sends `state` (one or more `KEY=VALUE` lines) as one datagram.
    pub fn send(&self, state: &str) -> Result<(), NotifyError> {
        let Some(target) = &self.target else {
            return Ok(());
        };
        target
            .socket
            .send_to_addr(state.as_bytes(), &target.address)
            .map(drop)
            .map_err(|source| NotifyError::Io {
                name: target.name.clone(),
                source,
            })
    }

    /// Like [`send`](Self::send), with a failure logged rather than
    /// returned: a lost notification must not stop a modem.
    pub fn send_or_log(&self, state: &str) {
        if let Err(error) = self.send(state) {
            tracing::warn!("{}", crate::logging::chain(&error));
        }
    }

    /// `READY=1` with a status line: startup is complete.
    pub fn ready(&self, status: &str) {
        self.send_or_log(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// `STATUS=`: what `systemctl status` shows.
    pub fn status(&self, status: &str) {
        self.send_or_log(&format!("STATUS={}", one_line(status)));
    }

    /// `RELOADING=1`, with the monotonic time systemd 253's
    /// `Type=notify-reload` asks for (older versions ignore it).
    pub fn reloading(&self) {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        let usec = u64::try_from(now.tv_sec)
            .unwrap_or(0)
            .saturating_mul(1_000_000)
            .saturating_add(u64::try_from(now.tv_nsec / 1000).unwrap_or(0));
        self.send_or_log(&format!("RELOADING=1\nMONOTONIC_USEC={usec}"));
    }

    /// `STOPPING=1`: shutting down.
    pub fn stopping(&self) {
        self.send_or_log("STOPPING=1\nSTATUS=stopping: disconnecting the modems");
    }

    /// `WATCHDOG=1`: alive.
    pub fn watchdog(&self) {
        self.send_or_log("WATCHDOG=1");
    }
}

/// A status on one line: the protocol separates assignments by newlines.
fn one_line(status: &str) -> String {
    status.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_socket_notifications_are_no_ops() {
        let notifier = Notifier::default();
        assert!(!notifier.is_active());
        assert!(notifier.send("READY=1").is_ok());
    }

    #[test]
    fn a_relative_path_is_refused() {
        assert!(matches!(
            Notifier::to("run/notify"),
            Err(NotifyError::BadAddress(_))
        ));
    }

    #[test]
    fn datagrams_reach_a_path_socket_and_an_abstract_one() {
        let dir = std::env::temp_dir().join(format!("mbimd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::to(path.to_str().unwrap()).unwrap();
        notifier.ready("1 modem,\n1 connected");
        let mut buffer = [0u8; 256];
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=1 modem, 1 connected");
        std::fs::remove_dir_all(&dir).unwrap();

        use std::os::linux::net::SocketAddrExt as _;
        let name = format!("mbimd-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixDatagram::bind_addr(&address).unwrap();
        Notifier::to(&format!("@{name}")).unwrap().watchdog();
        let n = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"WATCHDOG=1");
    }
}
