//! The `file:<path>` backend: a resolv.conf-format file the administrator
//! points their resolver at (or includes).
//!
//! Several devices may share one file (two executors, or an executor's
//! further sessions): the file lists every device's servers, each device's
//! under its own comment, in the order of the devices' names (so session 0's
//! `mbim0e0` comes before its `mbim0e0s1`, and the resolver's first three
//! are the internet session's). One device's servers going never takes
//! another's with them; the file goes when the last device's do.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use super::{resolv_conf_text, DnsError};

/// What each shared file lists: per path, each device's servers.
type Listings = BTreeMap<PathBuf, BTreeMap<String, Vec<IpAddr>>>;

/// Every file this process writes, so that writing one device's servers
/// keeps the others'. Process-wide because the devices sharing a file
/// belong to different supervisors.
static LISTINGS: Mutex<Listings> = Mutex::new(BTreeMap::new());

fn listings() -> MutexGuard<'static, Listings> {
    // A panic while holding the lock leaves a map that is still whole
    // (every change is one insert or remove).
    LISTINGS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One device's DNS servers in a file of the administrator's choosing.
#[derive(Debug, Clone)]
pub struct FileDns {
    path: PathBuf,
    interface: String,
}

impl FileDns {
    /// The backend writing `path` for `interface`.
    pub fn new(path: PathBuf, interface: &str) -> Self {
        FileDns {
            path,
            interface: interface.to_owned(),
        }
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lists `servers` for this device in the file (beside other devices'),
    /// written atomically: a temporary file in the same directory, synced,
    /// then renamed over the target, so a resolver never reads half a file.
    /// An empty list takes this device's servers out, as [`FileDns::remove`].
    /// When writing fails the servers stay listed, so the next write of any
    /// device (or a retry) puts them in.
    pub fn set(&self, servers: &[IpAddr]) -> Result<(), DnsError> {
        if servers.is_empty() {
            return self.remove();
        }
        let mut listings = listings();
        let devices = listings.entry(self.path.clone()).or_default();
        devices.insert(self.interface.clone(), servers.to_vec());
        let text = listing_text(devices);
        self.write(&text)
    }

    /// Takes this device's servers out of the file; the file goes with the
    /// last device's. A file already gone is not an error.
    pub fn remove(&self) -> Result<(), DnsError> {
        let mut listings = listings();
        let remaining = listings.get_mut(&self.path).map(|devices| {
            devices.remove(&self.interface);
            listing_text(devices)
        });
        match remaining {
            Some(text) if !text.is_empty() => return self.write(&text),
            Some(_) => {
                listings.remove(&self.path);
            }
            None => {}
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(DnsError::File {
                action: "remove",
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn write(&self, text: &str) -> Result<(), DnsError> {
        let temporary = self.temporary_path();
        let written = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)
        })();
        if written.is_err() {
            // Leave no temporary file behind; the write error is what matters.
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(|source| DnsError::File {
            action: "write",
            path: self.path.clone(),
            source,
        })
    }

    /// `.<name>.mbimd-<pid>` beside the target: same file system, so the
    /// rename is atomic, and hidden from `*.conf` globs.
    fn temporary_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.path
            .with_file_name(format!(".{name}.mbimd-{}", std::process::id()))
    }
}

/// Every device's section, in the order of their names.
fn listing_text(devices: &BTreeMap<String, Vec<IpAddr>>) -> String {
    devices
        .iter()
        .map(|(interface, servers)| resolv_conf_text(interface, servers))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    #[test]
    fn devices_sharing_a_file_keep_each_others_servers() {
        let dir = std::env::temp_dir().join(format!("mbimd-filedns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("resolv.conf");
        let session0 = FileDns::new(path.clone(), "mbim0e0");
        let session1 = FileDns::new(path.clone(), "mbim0e0s1");
        session1.set(&["10.64.0.5".parse().unwrap()]).unwrap();
        session0.set(&["10.64.0.1".parse().unwrap()]).unwrap();
        let text = read(&path).unwrap();
        let first = text.find("nameserver 10.64.0.1").unwrap();
        let second = text.find("nameserver 10.64.0.5").unwrap();
        assert!(first < second, "session 0's servers come first: {text}");
        assert!(text.contains("for mbim0e0s1"), "{text}");

        // A new list replaces the device's own servers only.
        session0.set(&["192.0.2.53".parse().unwrap()]).unwrap();
        let text = read(&path).unwrap();
        assert!(!text.contains("10.64.0.1"), "{text}");
        assert!(text.contains("nameserver 10.64.0.5"), "{text}");

        // One device going leaves the other's; the last takes the file.
        session0.remove().unwrap();
        let text = read(&path).unwrap();
        assert!(!text.contains("192.0.2.53"), "{text}");
        assert!(text.contains("nameserver 10.64.0.5"), "{text}");
        session1.set(&[]).unwrap();
        assert_eq!(read(&path), None);
        session1.remove().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn servers_that_could_not_be_written_are_written_later() {
        let dir = std::env::temp_dir().join(format!("mbimd-filedns-late-{}", std::process::id()));
        let path = dir.join("resolv.conf");
        let session0 = FileDns::new(path.clone(), "mbim1e0");
        let session1 = FileDns::new(path.clone(), "mbim1e0s1");
        assert!(session0.set(&["10.64.0.1".parse().unwrap()]).is_err());
        std::fs::create_dir_all(&dir).unwrap();
        session1.set(&["10.64.0.5".parse().unwrap()]).unwrap();
        let text = read(&path).unwrap();
        assert!(text.contains("nameserver 10.64.0.1"), "{text}");
        assert!(text.contains("nameserver 10.64.0.5"), "{text}");
        session0.remove().unwrap();
        session1.remove().unwrap();
        assert_eq!(read(&path), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
