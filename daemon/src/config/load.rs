//! Reading the file and checking it: its owner and mode (a PIN is accepted
//! only from a protected file), its size, the TOML against the schema, the
//! rules that span values, the admin group and the simulator's scenario;
//! relative paths are taken from the file's directory.

use super::{groups, locate, validate, Config, ConfigError, Location, DEFAULT_PATH, MAX_FILE_SIZE};
use crate::logging::chain;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How the text was protected, for the PIN rule.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// Read from a file with this owner and mode.
    File { uid: u32, mode: u32 },
    /// Given as text: no protection to speak of.
    Text,
}

impl Config {
    /// Reads and checks the file at `path`.
    ///
    /// A PIN is accepted only when the file is owned by root or by the user
    /// mbimd runs as, and its mode gives group and others nothing
    /// (`mode & 0o077 == 0`): anyone who can read the PIN can unlock the
    /// SIM, and anyone who can write the file can make mbimd enter wrong
    /// PINs until the SIM locks to its PUK.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let read_error = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::PermissionDenied {
                ConfigError::Unreadable {
                    path: path.to_owned(),
                    daemon_uid: rustix::process::geteuid().as_raw(),
                    source,
                }
            } else {
                ConfigError::Read {
                    path: path.to_owned(),
                    source,
                }
            }
        };
        // Owner and mode come from the opened file, not the path, so they
        // describe the bytes read even if the path is replaced meanwhile.
        let file = File::open(path).map_err(read_error)?;
        let metadata = file.metadata().map_err(read_error)?;
        if !metadata.is_file() {
            return Err(ConfigError::NotAConfigFile {
                path: path.to_owned(),
                reason: "not a regular file".to_owned(),
            });
        }
        if metadata.len() > MAX_FILE_SIZE {
            return Err(ConfigError::NotAConfigFile {
                path: path.to_owned(),
                reason: format!("larger than {MAX_FILE_SIZE} bytes"),
            });
        }
        let mut text = String::new();
        file.take(MAX_FILE_SIZE)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        let origin = Origin::File {
            uid: metadata.uid(),
            mode: metadata.mode() & 0o7777,
        };
        let mut config = parse(&text, path, origin)?;
        config.resolve_paths(path);
        Ok(config)
    }

    /// The configuration mbimd runs with: `--config`'s file when given (it
    /// must exist), else [`DEFAULT_PATH`] when it exists, else
    /// [`Config::default`].
    pub fn load_or_default(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        match explicit {
            Some(path) => Config::load(path),
            None => match Config::load(Path::new(DEFAULT_PATH)) {
                Err(ConfigError::Read { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Ok(Config::default())
                }
                other => other,
            },
        }
    }

    /// Checks `text` as if it were the file `origin` (which is only used in
    /// error locations and to resolve relative paths). A PIN is refused: text
    /// that did not come through [`Config::load`] has no owner and mode to
    /// check.
    pub fn parse(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let mut config = parse(text, origin, Origin::Text)?;
        config.resolve_paths(origin);
        Ok(config)
    }

    fn resolve_paths(&mut self, origin: &Path) {
        for path in [
            self.simulate.scenario.as_mut(),
            self.simulate.control.as_mut(),
            Some(&mut self.slot_policy.state_file),
            Some(&mut self.apn_sources.provider_database)
                .filter(|path| !path.as_os_str().is_empty()),
        ]
        .into_iter()
        .flatten()
        {
            *path = relative_to(origin, path);
        }
    }
}

/// `path` as the configuration file `origin` means it: a relative path is
/// taken from the file's directory.
fn relative_to(origin: &Path, path: &Path) -> PathBuf {
    match origin.parent() {
        Some(directory) if path.is_relative() => directory.join(path),
        _ => path.to_owned(),
    }
}

fn parse(text: &str, path: &Path, origin: Origin) -> Result<Config, ConfigError> {
    let invalid = |span: Option<std::ops::Range<usize>>, message: String| ConfigError::Invalid {
        at: Location::at(path, text, span.map_or(0, |span| span.start)),
        message,
    };
    let document = toml::de::DeTable::parse(text)
        .map_err(|error| invalid(error.span(), error.message().to_owned()))?;
    let mut config: Config = toml::from_str(text).map_err(|error| {
        let span = error.span();
        // serde's messages quote the value (``invalid type: integer `1234` ``);
        // for a password or PIN that would print the secret.
        let message = match &span {
            Some(span) if locate::is_secret_at(document.get_ref(), span.start) => {
                "expected a quoted string (the value is a secret and not shown)".to_owned()
            }
            _ => error.message().to_owned(),
        };
        invalid(span, message)
    })?;
    if let Some((span, message)) = validate::first_problem(&config, document.get_ref(), text) {
        return Err(invalid(span, message));
    }
    if let Some(group) = &config.dbus.admin_group {
        match groups::gid_of(Path::new(groups::GROUP_FILE), group) {
            Some(gid) => config.dbus.admin_gid = Some(gid),
            None => {
                let span = locate::span_of(
                    document.get_ref(),
                    &[locate::Step::Key("dbus"), locate::Step::Key("admin-group")],
                );
                return Err(invalid(
                    span,
                    format!(
                        "unknown group {group:?}: admin-group names a group of {} (create it \
                         with `groupadd`, or leave the key out for root only)",
                        groups::GROUP_FILE
                    ),
                ));
            }
        }
    }
    // A scenario that does not load would stop mbimd at its start; say so
    // now, at the key that names it. (Text checked by `Config::parse` comes
    // from no file: its paths may name files of another machine.)
    if let (Origin::File { .. }, Some(scenario)) = (origin, &config.simulate.scenario) {
        let resolved = relative_to(path, scenario);
        if let Err(error) = mbim_sim::scenario::Scenario::load(&resolved) {
            let span = locate::span_of(
                document.get_ref(),
                &[locate::Step::Key("simulate"), locate::Step::Key("scenario")],
            );
            return Err(invalid(
                span,
                format!(
                    "the scenario does not load ({}); expected a simulator scenario file such as \
                     simulator/scenarios/dssa.toml, or leave the key out for the built-in one",
                    chain(&error)
                ),
            ));
        }
    }
    if let Some(first_pin) = validate::first_pin(&config, document.get_ref()) {
        let at = Location::at(path, text, first_pin.map_or(0, |span| span.start));
        match origin {
            Origin::File { uid, mode } => {
                let daemon_uid = rustix::process::geteuid().as_raw();
                if !((uid == 0 || uid == daemon_uid) && mode & 0o077 == 0) {
                    return Err(ConfigError::UnprotectedPin {
                        at,
                        uid,
                        mode,
                        daemon_uid,
                    });
                }
            }
            Origin::Text => {
                return Err(ConfigError::Invalid {
                    at,
                    message: "a PIN is only accepted from a file read by Config::load, whose \
                              owner and mode can be checked"
                        .to_owned(),
                })
            }
        }
    }
    Ok(config)
}
