//! Logging: `tracing` to the systemd journal or to standard error.
//!
//! # Conventions
//!
//! Events about one modem or executor carry structured fields rather than
//! putting the identity in the message, so `journalctl MODEM=1-1.2` or
//! `journalctl EXECUTOR=1` finds them:
//!
//! * `modem` — the modem's USB port path (`1-1.2`), or `sim` for the
//!   simulated one;
//! * `executor` — the executor's index within its modem;
//! * `slot` — the UICC slot index, where a slot is concerned.
//!
//! In the journal each field becomes a journal field of its upper-case name
//! (`MODEM`, `EXECUTOR`, `SLOT`), without tracing-journald's `F_` prefix, so
//! they read like the journal's own fields.
//!
//! IMSI, ICCID, IMEI and telephone numbers are logged through [`personal`],
//! which masks them unless `show-personal-info` is set; PINs, PUKs and
//! passwords are never logged at all.
//!
//! # Filter
//!
//! `RUST_LOG`, when set and valid, wins over the configured `level`, so a
//! developer can turn on tracing without editing the file.
//!
//! # Errors
//!
//! An error is logged with its whole chain of causes, through [`chain`]:
//! `"configuring mbim0e0: DNS for mbim0e0: cannot write the DNS file …: No
//! such file or directory (os error 2)"`. mbimd's own error types therefore
//! say only what failed in their `#[error]` message and keep the cause as
//! `#[source]`, never both, or the cause would be printed twice.

use std::error::Error;
use std::fmt;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::{LogTarget, Logging};

/// The journal's native socket: its presence means journald runs.
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// The syslog identifier of mbimd's journal entries.
const SYSLOG_IDENTIFIER: &str = "mbimd";

/// What personal data is replaced with when it is too short to show a tail.
pub const MASK: &str = "<hidden>";

/// Whether `show-personal-info` was set by [`init`]; read by [`personal_info`].
static SHOW_PERSONAL_INFO: AtomicBool = AtomicBool::new(false);

/// Where [`init`] sent the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// The systemd journal.
    Journald,
    /// Standard error.
    Stderr,
}

/// Why logging was not set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// A global subscriber was installed already (by an earlier [`init`]);
    /// logging keeps working through it.
    #[error("logging is already initialized")]
    AlreadyInitialized,
    /// `target = "journald"` but the journal could not be reached.
    #[error("cannot log to the journal")]
    Journal(#[source] std::io::Error),
}

/// Installs the global subscriber described by `settings`. Calling it again
/// returns [`LoggingError::AlreadyInitialized`] and changes nothing (tests
/// and restarts within one process must not panic).
pub fn init(settings: &Logging) -> Result<Destination, LoggingError> {
    let journal = match settings.target {
        LogTarget::Journald => Some(tracing_journald::layer().map_err(LoggingError::Journal)?),
        LogTarget::Stderr => None,
        // A journal that cannot be reached is no reason not to log at all.
        LogTarget::Auto if journal_expected() => tracing_journald::layer().ok(),
        LogTarget::Auto => None,
    };
    let filter = filter(settings.level.as_str());
    let (installed, destination) = match journal {
        Some(layer) => {
            let layer = layer
                .with_field_prefix(None)
                .with_syslog_identifier(SYSLOG_IDENTIFIER.to_owned());
            let installed = tracing_subscriber::registry()
                .with(filter)
                .with(layer)
                .try_init();
            (installed, Destination::Journald)
        }
        None => {
            let installed = tracing_subscriber::registry()
                .with(filter)
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        // Colour codes only help a terminal; in a file or
                        // the journal they are noise.
                        .with_ansi(std::io::stderr().is_terminal()),
                )
                .try_init();
            (installed, Destination::Stderr)
        }
    };
    installed.map_err(|_| LoggingError::AlreadyInitialized)?;
    SHOW_PERSONAL_INFO.store(settings.show_personal_info, Ordering::Relaxed);
    Ok(destination)
}

/// Whether `auto` means the journal: it runs and standard error is not a
/// terminal (mbimd runs as a service); someone running mbimd by hand sees
/// its logs on the terminal.
fn journal_expected() -> bool {
    Path::new(JOURNAL_SOCKET).exists() && !std::io::stderr().is_terminal()
}

/// `RUST_LOG` when set and valid, else the configured directives (already
/// checked when the configuration was loaded), else `info`.
fn filter(configured: &str) -> EnvFilter {
    if let Ok(from_environment) = EnvFilter::try_from_default_env() {
        return from_environment;
    }
    EnvFilter::try_new(configured).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Whether personal data is logged in full (`show-personal-info`, as set by
/// [`init`]; `false` before).
pub fn personal_info() -> bool {
    SHOW_PERSONAL_INFO.load(Ordering::Relaxed)
}

/// Personal data (IMSI, ICCID, IMEI, telephone number) for a log field or
/// message: in full when `show` is set, else masked.
///
/// Masking keeps the first five characters of a value of ten or more (an
/// IMSI's MCC+MNC, an ICCID's issuer, a telephone number's country and
/// network code) and replaces every other character by `*`: the part that
/// names an operator, never the part that names a subscriber. (Which SIM is
/// meant is clear from the `slot` and `executor` fields.) A shorter value is
/// replaced by [`MASK`] entirely; an empty one stays empty, so "no value"
/// still reads as such. The executor's logs use the same rule.
///
/// ```
/// use mbimd::logging::personal;
/// assert_eq!(personal("001010123456789", false).to_string(), "00101**********");
/// assert_eq!(personal("001010123456789", true).to_string(), "001010123456789");
/// assert_eq!(personal("12345", false).to_string(), "<hidden>");
/// ```
pub fn personal(value: &str, show: bool) -> Personal<'_> {
    Personal { value, show }
}

/// Personal data as [`personal`] renders it.
#[derive(Clone, Copy)]
pub struct Personal<'a> {
    value: &'a str,
    show: bool,
}

/// The shortest value that keeps a visible prefix when masked.
const MIN_LENGTH_FOR_PREFIX: usize = 10;

/// How many leading characters stay visible.
const VISIBLE_PREFIX: usize = 5;

impl fmt::Display for Personal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.show || self.value.is_empty() {
            return f.write_str(self.value);
        }
        let length = self.value.chars().count();
        if length < MIN_LENGTH_FOR_PREFIX {
            return f.write_str(MASK);
        }
        for (index, c) in self.value.chars().enumerate() {
            if index < VISIBLE_PREFIX {
                write!(f, "{c}")?;
            } else {
                f.write_str("*")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Personal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Debug masks too: `?field` must not be a way around the rule.
        write!(f, "\"{self}\"")
    }
}

/// `error` with its causes, `what failed: why: why that`, for a log line or
/// a message: an error type's own message says only what failed and leaves
/// the cause to its `source`, so printing the message alone loses the cause.
///
/// A cause whose text the message so far already holds (an error type of
/// another crate that prints its source itself) is not repeated.
///
/// ```
/// use mbimd::logging::chain;
/// #[derive(Debug, thiserror::Error)]
/// #[error("writing the slot store")]
/// struct Store(#[source] std::io::Error);
/// let error = Store(std::io::Error::other("disk full"));
/// assert_eq!(chain(&error).to_string(), "writing the slot store: disk full");
/// ```
pub fn chain<'a>(error: &'a (dyn Error + 'static)) -> ErrorChain<'a> {
    ErrorChain(error)
}

/// An error and its sources as [`chain`] renders them.
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(&'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = self.0.to_string();
        f.write_str(&written)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let text = error.to_string();
            if !text.is_empty() && !written.contains(&text) {
                write!(f, ": {text}")?;
                written.push_str(": ");
                written.push_str(&text);
            }
            cause = error.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{what}")]
    struct Layer {
        what: &'static str,
        #[source]
        source: Option<Box<dyn Error + Send + Sync + 'static>>,
    }

    fn layers(texts: &[&'static str]) -> Option<Box<dyn Error + Send + Sync + 'static>> {
        texts.iter().rev().fold(None, |source, what| {
            Some(Box::new(Layer { what, source }) as Box<dyn Error + Send + Sync>)
        })
    }

    #[test]
    fn a_chain_lists_every_cause_once() {
        // (messages from the outermost error in, rendered chain)
        let table: [(&[&'static str], &str); 5] = [
            (&["alone"], "alone"),
            (&["outer", "inner"], "outer: inner"),
            (&["a", "b", "c"], "a: b: c"),
            // A message that already prints its source: not twice.
            (
                &["listing: os error 5", "os error 5"],
                "listing: os error 5",
            ),
            // An empty message in between adds no empty segment.
            (&["outer", "", "inner"], "outer: inner"),
        ];
        for (texts, expected) in table {
            let error = layers(texts).unwrap();
            assert_eq!(chain(error.as_ref()).to_string(), expected, "{texts:?}");
        }
    }
}
