//! The `file:<path>` backend: a resolv.conf-format file the administrator
//! points their resolver at (or includes).

use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::{resolv_conf_text, DnsError};

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

    /// Writes the file atomically: a temporary file in the same directory,
    /// synced, then renamed over the target, so a resolver never reads half
    /// a file. An empty server list removes the file instead.
    pub fn set(&self, servers: &[IpAddr]) -> Result<(), DnsError> {
        if servers.is_empty() {
            return self.remove();
        }
        let error = |source| DnsError::File {
            action: "write",
            path: self.path.clone(),
            source,
        };
        let text = resolv_conf_text(&self.interface, servers);
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
        written.map_err(error)
    }

    /// Removes the file; a file already gone is not an error.
    pub fn remove(&self) -> Result<(), DnsError> {
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
