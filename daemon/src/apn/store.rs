//! The APN that worked for each SIM, by ICCID, in one small TOML file
//! beside the slot store (`/var/lib/mbimd/apns.toml`), replaced atomically.
//! It is tried first the next time that SIM connects without a profile.
//! The file may hold a password: it lives in mbimd's state directory, which
//! only mbimd can read.

use super::ApnCandidate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Errors reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum ApnStoreError {
    /// The file could not be read.
    #[error("reading {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The file is not an APN store (hand-edited, or not ours).
    #[error("{} is not an APN store", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        source: toml::de::Error,
    },
    /// The APNs could not be turned into text.
    #[error("encoding the APN store")]
    Encode(#[from] toml::ser::Error),
    /// The new file could not be written or put in place.
    #[error("writing {}", path.display())]
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
    sims: BTreeMap<String, ApnCandidate>,
}

/// The remembered APN of every SIM, kept in one file.
#[derive(Debug, Clone)]
pub struct ApnStore {
    path: PathBuf,
}

impl ApnStore {
    /// A store in this file (its directory must exist to remember).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ApnStore { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load(&self) -> Result<StoreFile, ApnStoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(StoreFile::default())
            }
            Err(source) => {
                return Err(ApnStoreError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        toml::from_str(&text).map_err(|source| ApnStoreError::Parse {
            path: self.path.clone(),
            source,
        })
    }

    /// What worked last time for the SIM with `iccid`.
    pub fn get(&self, iccid: &str) -> Result<Option<ApnCandidate>, ApnStoreError> {
        Ok(self.load()?.sims.remove(iccid))
    }

    /// Remembers `candidate` for `iccid`, keeping the other SIMs'.
    pub fn remember(&self, iccid: &str, candidate: &ApnCandidate) -> Result<(), ApnStoreError> {
        let mut file = self.load()?;
        if file.sims.get(iccid) == Some(candidate) {
            return Ok(());
        }
        file.sims.insert(iccid.to_owned(), candidate.clone());
        let text = toml::to_string(&file)?;
        crate::state_file::write_atomically(&self.path, text.as_bytes())
            .map_err(|(path, source)| ApnStoreError::Write { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apn::ApnSource;
    use crate::executor::{Auth, Secret};

    #[test]
    fn remembered_per_iccid_across_instances() {
        let dir = std::env::temp_dir().join(format!("mbimd-apn-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("apns.toml");
        let store = ApnStore::new(&path);
        assert_eq!(store.get("8988200000000000001").unwrap(), None);
        let web = ApnCandidate {
            source: ApnSource::ProviderDatabase,
            apn: "web.example".to_owned(),
            auth: Auth::Pap,
            user: "u".to_owned(),
            password: Secret::new("p"),
            attach_apn: Some("ia.example".to_owned()),
            ..ApnCandidate::network_default()
        };
        store.remember("8988200000000000001", &web).unwrap();
        store
            .remember("8988200000000000002", &ApnCandidate::network_default())
            .unwrap();
        let again = ApnStore::new(&path);
        assert_eq!(again.get("8988200000000000001").unwrap(), Some(web));
        assert_eq!(
            again.get("8988200000000000002").unwrap(),
            Some(ApnCandidate::network_default())
        );
        std::fs::write(&path, "[sims.x]\napn = 1\n").unwrap();
        assert!(matches!(again.get("x"), Err(ApnStoreError::Parse { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
