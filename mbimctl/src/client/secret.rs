//! PINs and PUKs from the terminal (echo off) or from standard input.
//!
//! Never from arguments: every user can read every process's argv in
//! /proc. The daemon checks the digits; this only collects them.

use std::fs::File;
use std::io::{BufRead, Read, Write};

/// A PIN or PUK; its bytes are overwritten when it is dropped.
pub(crate) struct Secret(String);

impl Secret {
    /// The digits.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keeps the compiler from dropping the fill as a dead store.
        std::hint::black_box(&bytes);
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// Why no secret could be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SecretError {
    /// No terminal to ask on.
    #[error("no terminal to read the {0} from (use --stdin to read it from standard input)")]
    NoTerminal(&'static str),
    /// The terminal could not be used.
    #[error("cannot read the {what} from the terminal: {error}")]
    Terminal {
        /// What was asked for.
        what: &'static str,
        /// Why.
        error: std::io::Error,
    },
    /// Standard input ended or failed.
    #[error("standard input has no line for the {0}")]
    StdinEnded(&'static str),
    /// The user gave up (Ctrl-C, Ctrl-D).
    #[error("cancelled")]
    Cancelled,
    /// The two entries of a new PIN differ.
    #[error("the two entries of the {0} differ; nothing was changed")]
    Mismatch(&'static str),
}

/// Where the secrets come from.
pub(crate) enum SecretReader {
    /// Asked for on the controlling terminal.
    Terminal,
    /// One per line of standard input, in the order asked.
    Stdin(std::io::Lines<std::io::StdinLock<'static>>),
}

impl SecretReader {
    /// A reader from standard input (`true`) or the terminal.
    pub(crate) fn new(stdin: bool) -> Self {
        if stdin {
            SecretReader::Stdin(std::io::stdin().lock().lines())
        } else {
            SecretReader::Terminal
        }
    }

    /// One secret, `what` naming it in the prompt and in errors.
    pub(crate) fn read(&mut self, what: &'static str) -> Result<Secret, SecretError> {
        match self {
            SecretReader::Terminal => read_terminal(what, what),
            SecretReader::Stdin(lines) => match lines.next() {
                Some(Ok(line)) => Ok(Secret(line.trim_end_matches('\r').to_owned())),
                _ => Err(SecretError::StdinEnded(what)),
            },
        }
    }

    /// A new secret: asked twice on the terminal (a typo would lock the
    /// user out), read once from standard input.
    pub(crate) fn read_new(&mut self, what: &'static str) -> Result<Secret, SecretError> {
        let first = self.read(what)?;
        if let SecretReader::Terminal = self {
            let again = read_terminal(what, &format!("{what} again"))?;
            if again.as_str() != first.as_str() {
                return Err(SecretError::Mismatch(what));
            }
        }
        Ok(first)
    }
}

/// Restores the terminal's modes however the read ends.
struct RawGuard<'a> {
    tty: &'a File,
    saved: rustix::termios::Termios,
}

impl Drop for RawGuard<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            self.tty,
            rustix::termios::OptionalActions::Flush,
            &self.saved,
        );
    }
}

fn read_terminal(what: &'static str, prompt: &str) -> Result<Secret, SecretError> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions, SpecialCodeIndex};
    let terminal_error = |error: std::io::Error| SecretError::Terminal { what, error };
    let mut tty = match File::options().read(true).write(true).open("/dev/tty") {
        Ok(tty) => tty,
        Err(_) => return Err(SecretError::NoTerminal(what)),
    };
    let saved = tcgetattr(&tty).map_err(|error| terminal_error(error.into()))?;
    let mut raw = saved.clone();
    // Without ICANON and ISIG the keys arrive one by one, Ctrl-C included,
    // so an interrupted prompt still restores echo instead of leaving the
    // terminal silent.
    raw.local_modes
        .remove(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG);
    raw.special_codes[SpecialCodeIndex::VMIN] = 1;
    raw.special_codes[SpecialCodeIndex::VTIME] = 0;
    write!(tty, "{prompt}: ")
        .and_then(|()| tty.flush())
        .map_err(terminal_error)?;
    tcsetattr(&tty, OptionalActions::Flush, &raw).map_err(|error| terminal_error(error.into()))?;
    let guard = RawGuard { tty: &tty, saved };
    let mut secret = Secret(String::new());
    let outcome = loop {
        let mut byte = [0u8; 1];
        match (&tty).read(&mut byte) {
            Ok(0) => break Err(SecretError::Cancelled),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => break Err(terminal_error(error)),
        }
        match byte {
            [b'\r' | b'\n'] => break Ok(()),
            // Ctrl-C, or Ctrl-D on an empty line.
            [0x03] => break Err(SecretError::Cancelled),
            [0x04] if secret.0.is_empty() => break Err(SecretError::Cancelled),
            // Backspace, Delete.
            [0x08 | 0x7f] => {
                secret.0.pop();
            }
            // Ctrl-U: start again.
            [0x15] => secret.0.clear(),
            [byte] if byte.is_ascii_graphic() => secret.0.push(char::from(byte)),
            _ => {}
        }
    };
    drop(guard);
    let _ = writeln!(tty);
    outcome.map(|()| secret)
}
