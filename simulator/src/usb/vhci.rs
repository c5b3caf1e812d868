//! Attaching the simulated device to the local vhci-hcd directly, without
//! TCP, usbipd or the `usbip` tool: the kernel's vhci-hcd accepts any
//! connected stream socket through its sysfs `attach` file, so a
//! socketpair(AF_UNIX) stands in for the TCP connection. The kernel takes a
//! reference to one end; this process serves URBs on the other.
//!
//! Needs root (or CAP_SYS_ADMIN) and the `vhci-hcd` module loaded.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The first vhci-hcd controller's sysfs directory.
pub const VHCI_SYSFS: &str = "/sys/devices/platform/vhci_hcd.0";

/// `sta` of a free port: VDEV_ST_NULL in the kernel's `enum usbip_device_status`.
pub const PORT_FREE: u32 = 4;

/// Why the attach failed.
#[derive(Debug, Error)]
pub enum VhciError {
    /// The status file could not be read.
    #[error("reading {path}: {source} (is the vhci-hcd module loaded? `modprobe vhci-hcd`)")]
    Status {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A status line that does not have the expected columns.
    #[error("{path}: line {line} is not `hub port sta spd dev sockfd local_busid`: {text:?}")]
    StatusFormat {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The line.
        text: String,
    },
    /// Every high-speed port is in use.
    #[error("no free high-speed port in {0}")]
    NoFreePort(PathBuf),
    /// The socket pair could not be made.
    #[error("socketpair(AF_UNIX): {0}")]
    Socket(std::io::Error),
    /// The kernel refused the attach.
    #[error("writing {path}: {source} (root is needed; the port may have been taken)")]
    Attach {
        /// The attach file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Port speed class of a vhci port (the `hub` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hub {
    /// A USB 2.0 root hub port (`hs`).
    High,
    /// A USB 3 root hub port (`ss`).
    Super,
}

/// One line of vhci-hcd's `status` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortStatus {
    /// Which root hub the port is on.
    pub hub: Hub,
    /// The port number to write to `attach`.
    pub port: u32,
    /// The port's state (`sta`); [`PORT_FREE`] when free.
    pub status: u32,
}

/// Parses a vhci-hcd `status` file (kernel ≥ 4.13 layout):
///
/// ```text
/// hub port sta spd dev      sockfd local_busid
/// hs  0000 004 000 00000000 000000 0-0
/// ```
pub fn parse_status(text: &str, path: &Path) -> Result<Vec<PortStatus>, VhciError> {
    let mut ports = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let bad = || VhciError::StatusFormat {
            path: path.to_owned(),
            line: number + 1,
            text: line.to_owned(),
        };
        let hub = match columns.first().copied() {
            None | Some("hub") => continue,
            Some("hs") => Hub::High,
            Some("ss") => Hub::Super,
            Some(_) => return Err(bad()),
        };
        let field = |i: usize| -> Result<u32, VhciError> {
            columns
                .get(i)
                .and_then(|c| c.parse::<u32>().ok())
                .ok_or_else(bad)
        };
        ports.push(PortStatus {
            hub,
            port: field(1)?,
            status: field(2)?,
        });
    }
    Ok(ports)
}

/// The first free high-speed port.
pub fn free_high_speed_port(ports: &[PortStatus]) -> Option<u32> {
    ports
        .iter()
        .find(|p| p.hub == Hub::High && p.status == PORT_FREE)
        .map(|p| p.port)
}

/// A device attached to vhci-hcd: the port and the socket to serve URBs on.
#[derive(Debug)]
pub struct Attached {
    /// The vhci port the device sits on.
    pub port: u32,
    /// This process's end of the socket pair.
    pub socket: UnixStream,
}

/// Attaches a device to a free high-speed port of the vhci-hcd controller
/// at `sysfs` (normally [`VHCI_SYSFS`]): writes `port fd devid speed` to
/// its `attach` file, where `fd` is the kernel's end of a fresh AF_UNIX
/// socket pair, which is closed here once the kernel holds it.
pub fn attach(sysfs: &Path, devid: u32, speed: u32) -> Result<Attached, VhciError> {
    let status_path = sysfs.join("status");
    let text = std::fs::read_to_string(&status_path).map_err(|source| VhciError::Status {
        path: status_path.clone(),
        source,
    })?;
    let ports = parse_status(&text, &status_path)?;
    let port = free_high_speed_port(&ports).ok_or(VhciError::NoFreePort(status_path))?;
    let (ours, theirs) = UnixStream::pair().map_err(VhciError::Socket)?;
    let attach_path = sysfs.join("attach");
    let line = format!("{port} {} {devid} {speed}", theirs.as_raw_fd());
    // One write(2): the kernel parses the whole line from a single store call.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .open(&attach_path)
        .and_then(|mut file| file.write_all(line.as_bytes()));
    written.map_err(|source| VhciError::Attach {
        path: attach_path,
        source,
    })?;
    // The kernel took its own reference to the socket in the write above.
    drop(theirs);
    Ok(Attached { port, socket: ours })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "\
hub port sta spd dev      sockfd local_busid
hs  0000 006 003 00010002 000005 1-1
hs  0001 004 000 00000000 000000 0-0
ss  0008 004 000 00000000 000000 0-0
";

    #[test]
    fn the_first_free_high_speed_port_is_picked() {
        let ports = parse_status(STATUS, Path::new("status")).unwrap();
        assert_eq!(ports.len(), 3);
        assert_eq!(
            ports[0],
            PortStatus {
                hub: Hub::High,
                port: 0,
                status: 6
            }
        );
        assert_eq!(free_high_speed_port(&ports), Some(1));
        let busy = "hub port sta spd dev sockfd local_busid\nhs 0000 006 003 00010002 000005 1-1\nss 0001 004 000 00000000 000000 0-0\n";
        let ports = parse_status(busy, Path::new("status")).unwrap();
        assert_eq!(free_high_speed_port(&ports), None);
    }

    #[test]
    fn malformed_status_is_an_error_with_its_line() {
        let err = parse_status("hub port\nhs zz 004\n", Path::new("s")).unwrap_err();
        assert!(matches!(err, VhciError::StatusFormat { line: 2, .. }));
        assert!(parse_status("prt sta\n0000 004\n", Path::new("s")).is_err());
    }

    #[test]
    fn attach_writes_port_fd_devid_speed() {
        let dir = std::env::temp_dir().join(format!("mbim-sim-vhci-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("status"), STATUS).unwrap();
        std::fs::write(dir.join("attach"), "").unwrap();
        let attached = attach(&dir, 0x0001_0002, 3).unwrap();
        assert_eq!(attached.port, 1);
        let written = std::fs::read_to_string(dir.join("attach")).unwrap();
        let fields: Vec<&str> = written.split(' ').collect();
        assert_eq!(fields.len(), 4);
        assert_eq!(fields[0], "1");
        assert!(fields[1].parse::<i32>().is_ok());
        assert_eq!(fields[2], "65538");
        assert_eq!(fields[3], "3");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(attach(&dir, 1, 3), Err(VhciError::Status { .. })));
    }
}
