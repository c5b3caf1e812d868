//! Why the configuration was not loaded: the file could not be read, is no
//! configuration file, says something invalid, or holds a PIN others could
//! read.

use super::Location;
use std::path::PathBuf;

/// Why the configuration was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file exists but the user mbimd runs as may not read it.
    #[error(
        "cannot read {}: mbimd runs as uid {daemon_uid}, which may not read it (the packaged \
         unit runs mbimd as the user mbimd: `chgrp mbimd {0} && chmod 0640 {0}`, or, for a \
         file with a PIN, `chown mbimd {0} && chmod 0600 {0}`)",
        path.display()
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The effective uid that was refused.
        daemon_uid: u32,
        /// The refusal.
        source: std::io::Error,
    },
    /// The file is not a regular file or is too large.
    #[error("{}: {reason}", path.display())]
    NotAConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A syntax error, unknown key, wrong type or bad value.
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A PIN in a file others could read or change.
    #[error(
        "{at}: a PIN is only accepted from a file owned by root (uid 0) or by the user mbimd \
         runs as (uid {daemon_uid}) that group and others cannot access (mode 0600); {} is \
         owned by uid {uid} with mode {mode:04o}; fix it with `chown {daemon_uid} {0} && \
         chmod 0600 {0}`, or remove the PIN",
        at.path.display()
    )]
    UnprotectedPin {
        /// Where the first PIN is.
        at: Location,
        /// The file's owner.
        uid: u32,
        /// The file's permission bits.
        mode: u32,
        /// The effective uid of the process that read it: the packaged
        /// unit runs mbimd as the system user `mbimd`, which cannot read a
        /// root-owned 0600 file, so that user may own it too.
        daemon_uid: u32,
    },
}
