//! The external programs the tests run, each declared once with the Debian
//! package that has it.
//!
//! A test asks for a program through its [`Tool`] ([`Tool::command`] or
//! [`Tool::path`]). When the program is on this machine, that is all. When
//! it is missing and the test runs as root, as CI does on a bare Debian
//! machine, its package is installed with apt-get (non-interactive, without
//! recommends; one install at a time across every test process, through a
//! lock file, so parallel tests never meet on dpkg's lock; `apt-get update`
//! only when an install fails for want of package lists). When it cannot be
//! had, the test fails with `install PACKAGE (needed for PROGRAM)` and why:
//! a tool that is missing never turns into a skipped test.
//!
//! What a test can do in Rust it does without a program: ICMP echo
//! ([`crate::icmp`]) and signals ([`crate::process`]).

use std::fs::File;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, PoisonError};

/// A program a test runs, and the Debian package it comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// The program's name, as looked up on PATH.
    pub program: &'static str,
    /// The Debian package that installs it.
    pub package: &'static str,
}

/// iproute2's `ip`: network namespaces, and JSON views of their links,
/// addresses and routes.
pub const IP: Tool = Tool {
    program: "ip",
    package: "iproute2",
};

/// The message bus of the private buses the D-Bus tests start.
pub const DBUS_DAEMON: Tool = Tool {
    program: "dbus-daemon",
    package: "dbus-daemon",
};

/// systemd's D-Bus client: the tests' independent peer of mbimd's API.
pub const BUSCTL: Tool = Tool {
    program: "busctl",
    package: "systemd",
};

/// The reference D-Bus client, which names the D-Bus error it gets.
pub const DBUS_SEND: Tool = Tool {
    program: "dbus-send",
    package: "dbus-bin",
};

/// The reference bus monitor: names the D-Bus error of a reply whose
/// sender (busctl) prints only the message, and flushes each message as
/// it comes.
pub const DBUS_MONITOR: Tool = Tool {
    program: "dbus-monitor",
    package: "dbus-bin",
};

/// Runs a client as another user (util-linux: on every Debian machine,
/// declared all the same so that nothing is assumed).
pub const SETPRIV: Tool = Tool {
    program: "setpriv",
    package: "util-linux",
};

/// Runs mbimd in a network namespace of its own (util-linux).
pub const UNSHARE: Tool = Tool {
    program: "unshare",
    package: "util-linux",
};

/// ModemManager's command-line client, an independent peer of mbimd's
/// ModemManager API (the package's daemon is never started by the tests).
pub const MMCLI: Tool = Tool {
    program: "mmcli",
    package: "modemmanager",
};

/// libmbim's command-line client: with `-p`, an independent peer of
/// mbimd's `mbim-proxy`.
pub const MBIMCLI: Tool = Tool {
    program: "mbimcli",
    package: "libmbim-utils",
};

/// NetworkManager's command-line client.
pub const NMCLI: Tool = Tool {
    program: "nmcli",
    package: "network-manager",
};

/// The distribution's NetworkManager, run by the tests in a lab of their
/// own against mbimd's ModemManager API.
pub const NETWORK_MANAGER: Tool = Tool {
    program: "NetworkManager",
    package: "network-manager",
};

/// GLib's D-Bus client (the library NetworkManager and mmcli use), which
/// names the D-Bus error of a failed call.
pub const GDBUS: Tool = Tool {
    program: "gdbus",
    package: "libglib2.0-bin",
};

/// Bind mounts of NetworkManager's paths in the tests' mount namespace.
pub const MOUNT: Tool = Tool {
    program: "mount",
    package: "mount",
};

/// The reference TCP and UDP throughput tool: the `realnet` benchmark's
/// end-to-end traffic, as a user would measure a link.
pub const IPERF3: Tool = Tool {
    program: "iperf3",
    package: "iperf3",
};

/// Why a program could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// Missing, and only root may install packages.
    #[error(
        "install {package} (needed for {program}): it is missing, and only root can install it"
    )]
    NotRoot {
        /// The program.
        program: &'static str,
        /// Its package.
        package: &'static str,
    },
    /// Missing, on a machine without apt-get.
    #[error("install {package} (needed for {program}): it is missing, and there is no apt-get")]
    NoAptGet {
        /// The program.
        program: &'static str,
        /// Its package.
        package: &'static str,
    },
    /// apt-get could not be run.
    #[error("install {package} (needed for {program}): running apt-get failed")]
    AptGetSpawn {
        /// The program.
        program: &'static str,
        /// Its package.
        package: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// apt-get ran and failed, also after `apt-get update`.
    #[error("install {package} (needed for {program}): apt-get failed: {output}")]
    AptGetFailed {
        /// The program.
        program: &'static str,
        /// Its package.
        package: &'static str,
        /// The end of what apt-get printed.
        output: String,
    },
    /// The package installed, and still no program by that name.
    #[error("{package} is installed, and still there is no {program} on PATH")]
    StillMissing {
        /// The program.
        program: &'static str,
        /// Its package.
        package: &'static str,
    },
    /// The lock that keeps installs one at a time could not be taken.
    #[error("locking {path} (installs by the tests go one at a time)")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl Tool {
    /// The program's path, its package installed first if it is missing.
    /// Panics with [`ToolError`]'s message (which names the package to
    /// install) when it cannot be had: the test cannot run without it.
    pub fn path(&self) -> PathBuf {
        match self.ensure() {
            Ok(path) => path,
            Err(error) => panic!("{}", chain(&error)),
        }
    }

    /// A command for the program (installed first if missing, as in
    /// [`Tool::path`]).
    pub fn command(&self) -> Command {
        Command::new(self.path())
    }

    /// The program's path, installing its package when it is missing and
    /// this process is root.
    pub fn ensure(&self) -> Result<PathBuf, ToolError> {
        match find(self.program) {
            Some(path) => Ok(path),
            None => self.install(),
        }
    }

    fn install(&self) -> Result<PathBuf, ToolError> {
        // Threads of one test binary queue here; other processes (other
        // test binaries, a script) on the lock file.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _in_process = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let _across_processes = lock_installs()?;
        // Whoever held the lock before may have installed it.
        if let Some(path) = find(self.program) {
            return Ok(path);
        }
        let (program, package) = (self.program, self.package);
        if !rustix::process::geteuid().is_root() {
            return Err(ToolError::NotRoot { program, package });
        }
        let apt_get = find("apt-get").ok_or(ToolError::NoAptGet { program, package })?;
        eprintln!("installing {package} (for {program}) with apt-get");
        let run = |args: &[&str]| {
            Command::new(&apt_get)
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdin(Stdio::null())
                .output()
                .map_err(|source| ToolError::AptGetSpawn {
                    program,
                    package,
                    source,
                })
        };
        let install = [
            "install",
            "-y",
            "-q",
            "--no-install-recommends",
            // dpkg's own lock, for installs that do not go through this
            // module (packaging/check.sh, an admin).
            "-o",
            "DPkg::Lock::Timeout=600",
            package,
        ];
        let mut output = run(&install)?;
        if !output.status.success() {
            // A fresh machine has no package lists yet, an old one stale
            // lists: refresh them once and try again.
            let update = run(&["update", "-q", "-o", "DPkg::Lock::Timeout=600"])?;
            output = if update.status.success() {
                run(&install)?
            } else {
                update
            };
        }
        if !output.status.success() {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            return Err(ToolError::AptGetFailed {
                program,
                package,
                output: last_lines(&text, 8),
            });
        }
        find(program).ok_or(ToolError::StillMissing { program, package })
    }
}

/// Takes the lock file that keeps the tests' installs one at a time; held
/// until the returned file is dropped.
fn lock_installs() -> Result<File, ToolError> {
    let path = std::env::temp_dir().join("mbimd-tests-apt-get.lock");
    let lock = |path: &Path| -> io::Result<File> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(file)
    };
    lock(&path).map_err(|source| ToolError::Lock { path, source })
}

/// `program`'s path: the first executable file of that name on PATH, then
/// in the sbin directories that a non-login root shell may lack.
pub fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/local/sbin",
                "/usr/local/bin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    lines
        .get(lines.len().saturating_sub(count)..)
        .unwrap_or_default()
        .join(" | ")
}

/// An error and its causes on one line, for a panic message.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_on_path_is_found_and_an_absent_one_is_not() {
        // sh is on every machine this runs on.
        assert!(find("sh").is_some());
        assert_eq!(find("mbimd-no-such-program"), None);
    }

    #[test]
    fn every_failure_to_get_a_program_names_its_package() {
        let (program, package) = ("busctl", "systemd");
        let errors = [
            ToolError::NotRoot { program, package },
            ToolError::NoAptGet { program, package },
            ToolError::AptGetSpawn {
                program,
                package,
                source: io::Error::from(io::ErrorKind::NotFound),
            },
            ToolError::AptGetFailed {
                program,
                package,
                output: "E: Unable to locate package systemd".to_owned(),
            },
        ];
        for error in errors {
            let text = chain(&error);
            assert!(
                text.starts_with("install systemd (needed for busctl): "),
                "{text}"
            );
        }
    }

    #[test]
    fn apt_get_output_is_cut_to_its_last_lines() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(last_lines("a\n", 5), "a");
    }
}
