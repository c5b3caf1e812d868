//! The paths that name each executor to libmbim's tools.
//!
//! libmbim's client checks that the path it is given is a special file
//! (`g_file_query_info`: G_FILE_TYPE_SPECIAL) before it speaks to the proxy
//! and then sends the path in PROXY_CONTROL CONFIGURATION. mbimd's modems
//! have no cdc-wdm node (mbimd drives them through usbfs), so mbimd makes a
//! FIFO per executor in `[mbim-proxy] directory`, named as the executor's
//! network device: `mbimcli -p -d /run/mbimd/mbim-proxy/mbim0e0`. Nothing
//! ever reads or writes the FIFO; it is a name.

use crate::config::{Config, DeviceIdentity};
use crate::modem::ModemSnapshot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An executor, as the proxy reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The modem's number (its registry key).
    pub modem: u32,
    /// The executor's number.
    pub executor: u32,
}

/// Why a path given by a client names no executor.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    /// Not in the proxy's directory.
    #[error("{path} is not in {directory}, where mbimd names its modems' executors")]
    ElsewherePath {
        /// The path (resolved).
        path: String,
        /// The directory.
        directory: String,
    },
    /// In the directory, but no executor has that name (now).
    #[error("no executor is named {0} (the modem may be gone)")]
    Unknown(String),
}

/// The file names the modems present give their executors.
pub fn names<'a>(
    config: &Config,
    modems: impl IntoIterator<Item = (u32, &'a ModemSnapshot)>,
) -> BTreeMap<String, Target> {
    let mut names = BTreeMap::new();
    for (modem, snapshot) in modems {
        let identity = DeviceIdentity {
            vid: snapshot.vid,
            pid: snapshot.pid,
            usb_path: &snapshot.usb_path,
            serial: (!snapshot.serial.is_empty()).then_some(snapshot.serial.as_str()),
        };
        for executor in 0..snapshot.executors.len() {
            let Ok(executor) = u32::try_from(executor) else {
                break;
            };
            let name = crate::supervisor::netdev_name(config, &identity, modem, executor)
                .map(|name| name.as_str().to_owned())
                .unwrap_or_else(|| format!("mbim{modem}e{executor}"));
            names.insert(name, Target { modem, executor });
        }
    }
    names
}

/// The executor `path` names: a file of `directory` whose name is in
/// `names`. A symbolic link is followed first (libmbim's proxy does too, so
/// clients using different links to one device share it).
pub fn resolve(
    directory: &Path,
    names: &BTreeMap<String, Target>,
    path: &Path,
) -> Result<Target, NameError> {
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let directory = std::fs::canonicalize(directory).unwrap_or_else(|_| directory.to_path_buf());
    let elsewhere = || NameError::ElsewherePath {
        path: resolved.display().to_string(),
        directory: directory.display().to_string(),
    };
    if resolved.parent() != Some(directory.as_path()) {
        return Err(elsewhere());
    }
    let name = resolved
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(elsewhere)?;
    names
        .get(name)
        .copied()
        .ok_or_else(|| NameError::Unknown(name.to_owned()))
}

/// Makes `directory` hold exactly one FIFO per name: missing ones are made,
/// FIFOs no executor has any more removed. Anything that is not a FIFO is
/// left alone (and its name not served).
pub fn sync_directory(directory: &Path, names: &BTreeMap<String, Target>) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, FileTypeExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(directory)?;
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        let stale = entry
            .file_name()
            .to_str()
            .is_none_or(|name| !names.contains_key(name));
        if stale && entry.file_type()?.is_fifo() {
            std::fs::remove_file(entry.path())?;
        }
    }
    for name in names.keys() {
        let path = directory.join(name);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => make_fifo(&path)?,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Removes every FIFO of `directory` (mbimd stops serving).
pub fn clear_directory(directory: &Path) {
    let empty = BTreeMap::new();
    if let Err(error) = sync_directory(directory, &empty) {
        tracing::debug!(
            "cannot clear {}: {}",
            directory.display(),
            crate::logging::chain(&error)
        );
    }
}

fn make_fifo(path: &PathBuf) -> std::io::Result<()> {
    use rustix::fs::{FileType, Mode, CWD};
    rustix::fs::mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o660), 0)
        .map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modem::ExecutorSnapshot;

    fn snapshot(executors: usize) -> ModemSnapshot {
        ModemSnapshot {
            executors: vec![ExecutorSnapshot::default(); executors],
            ..ModemSnapshot::default()
        }
    }

    #[test]
    fn every_executor_is_named_as_its_network_device() {
        let config = Config::default();
        let (one, two) = (snapshot(1), snapshot(2));
        let names = names(&config, [(0, &one), (3, &two)]);
        let listed: Vec<(&str, Target)> = names.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            listed,
            [
                (
                    "mbim0e0",
                    Target {
                        modem: 0,
                        executor: 0
                    }
                ),
                (
                    "mbim3e0",
                    Target {
                        modem: 3,
                        executor: 0
                    }
                ),
                (
                    "mbim3e1",
                    Target {
                        modem: 3,
                        executor: 1
                    }
                ),
            ]
        );
    }

    #[test]
    fn paths_resolve_inside_the_directory_only() {
        let directory = std::env::temp_dir().join(format!("mbimd-names-{}", std::process::id()));
        let config = Config::default();
        let two = snapshot(2);
        let table = names(&config, [(0, &two)]);
        sync_directory(&directory, &table).unwrap();
        std::fs::write(directory.join("notes"), "kept").unwrap();
        let link = directory.with_extension("link");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(directory.join("mbim0e1"), &link).unwrap();

        assert_eq!(
            resolve(&directory, &table, &directory.join("mbim0e1")),
            Ok(Target {
                modem: 0,
                executor: 1
            })
        );
        assert_eq!(
            resolve(&directory, &table, &link),
            Ok(Target {
                modem: 0,
                executor: 1
            })
        );
        assert!(matches!(
            resolve(&directory, &table, Path::new("/dev/null")),
            Err(NameError::ElsewherePath { .. })
        ));
        assert_eq!(
            resolve(&directory, &table, &directory.join("mbim9e9")),
            Err(NameError::Unknown("mbim9e9".to_owned()))
        );

        // The modem goes: its FIFOs go, the file that is not one stays.
        sync_directory(&directory, &BTreeMap::new()).unwrap();
        let left: Vec<_> = std::fs::read_dir(&directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(left, ["notes"]);
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_dir_all(&directory).unwrap();
    }
}
