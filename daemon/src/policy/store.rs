//! Remembered slot choices, one per modem, in one small TOML file
//! (`/var/lib/mbimd/slots.toml`), written atomically: a crash leaves either
//! the old file or the new one, never a mix.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::slots::ModemId;

/// Where the choices live by default.
pub const DEFAULT_PATH: &str = "/var/lib/mbimd/slots.toml";

/// Errors reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not a store (hand-edited, or not ours).
    #[error("{path} is not a slot store")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: toml::de::Error,
    },
    /// The choices could not be turned into text.
    #[error("encoding the slot store")]
    Encode(#[from] toml::ser::Error),
    /// The new file could not be written or put in place.
    #[error("writing {path}")]
    Write {
        /// The file being written (the temporary one, or the store).
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    #[serde(default)]
    slots: BTreeMap<String, u32>,
}

/// The remembered slot of every modem, kept in one file.
#[derive(Debug, Clone)]
pub struct SlotStore {
    path: PathBuf,
}

impl SlotStore {
    /// A store in this file (its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SlotStore { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every remembered choice; none if the file does not exist yet.
    pub fn load(&self) -> Result<BTreeMap<ModemId, u32>, StoreError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
            Err(source) => {
                return Err(StoreError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let file: StoreFile = toml::from_str(&text).map_err(|source| StoreError::Parse {
            path: self.path.clone(),
            source,
        })?;
        Ok(file
            .slots
            .into_iter()
            .map(|(id, slot)| (ModemId::new(id), slot))
            .collect())
    }

    /// The slot remembered for one modem.
    pub fn get(&self, modem_id: &ModemId) -> Result<Option<u32>, StoreError> {
        Ok(self.load()?.get(modem_id).copied())
    }

    /// Remembers `slot` for `modem_id`, keeping the other modems' choices.
    pub fn remember(&self, modem_id: &ModemId, slot: u32) -> Result<(), StoreError> {
        let mut choices = self.load()?;
        if choices.get(modem_id) == Some(&slot) {
            return Ok(());
        }
        choices.insert(modem_id.clone(), slot);
        self.save(&choices)
    }

    /// Replaces the store with these choices: written to a temporary file,
    /// flushed to disk, renamed over the store, and the directory flushed so
    /// the rename itself survives a power cut.
    pub fn save(&self, choices: &BTreeMap<ModemId, u32>) -> Result<(), StoreError> {
        let file = StoreFile {
            slots: choices
                .iter()
                .map(|(id, &slot)| (id.as_str().to_owned(), slot))
                .collect(),
        };
        let text = toml::to_string(&file)?;
        crate::state_file::write_atomically(&self.path, text.as_bytes())
            .map_err(|(path, source)| StoreError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mbimd-store-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_crash_before_the_rename_leaves_the_old_file() {
        let dir = temp_dir("crash");
        let store = SlotStore::new(dir.join("slots.toml"));
        let modem = ModemId::new("2c7c:0125:ABC");
        store.remember(&modem, 0).unwrap();
        // The crash: the new contents reached only the temporary file, and
        // only in part.
        let temp = crate::state_file::temp_path(store.path());
        crate::state_file::write_temp(&temp, b"[slots]\n\"2c7c:0125:A").unwrap();
        assert_eq!(store.get(&modem).unwrap(), Some(0));
        // The next write replaces the leftover and lands whole.
        store.remember(&modem, 1).unwrap();
        assert_eq!(store.get(&modem).unwrap(), Some(1));
        assert!(!temp.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
