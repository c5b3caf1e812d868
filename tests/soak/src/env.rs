//! The soak's surroundings: a network namespace and a private dbus-daemon,
//! each removed when dropped.

use anyhow::{bail, ensure, Context as _};
use mbimd_test_support::tools::{Tool, DBUS_DAEMON, IP};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Runs `tool args`, failing with its standard error unless it succeeds.
/// The tool is installed first when missing (mbimd-test-support).
pub(crate) fn run(tool: Tool, args: &[&str]) -> anyhow::Result<String> {
    let program = tool.program;
    let output = Command::new(tool.ensure()?)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A network namespace of the soak's own (`ip netns add`), deleted on drop.
#[derive(Debug)]
pub(crate) struct Namespace {
    /// Its name.
    pub(crate) name: String,
}

impl Namespace {
    /// Creates `name` with its loopback up.
    pub(crate) fn create(name: &str) -> anyhow::Result<Self> {
        // A namespace left by a soak that was killed goes first.
        let _ = run(IP, &["netns", "del", name]);
        run(IP, &["netns", "add", name])?;
        let namespace = Namespace {
            name: name.to_owned(),
        };
        namespace.ip(&["link", "set", "lo", "up"])?;
        Ok(namespace)
    }

    /// `ip -n NAME args…`.
    pub(crate) fn ip(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run(IP, &all)
    }

    /// `ip -n NAME -j args…`, parsed.
    pub(crate) fn ip_json(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let mut all = vec!["-j"];
        all.extend_from_slice(args);
        let text = self.ip(&all)?;
        if text.trim().is_empty() {
            return Ok(serde_json::Value::Array(Vec::new()));
        }
        serde_json::from_str(&text).with_context(|| format!("ip -j {}: {text}", args.join(" ")))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Err(error) = run(IP, &["netns", "del", &self.name]) {
            eprintln!("mbim-soak: removing namespace {}: {error:#}", self.name);
        }
    }
}

/// A dbus-daemon of the soak's own on a socket in `dir`, where anyone may
/// own and send: mbimd's own access checks let root through, and the soak
/// runs as root.
#[derive(Debug)]
pub(crate) struct PrivateBus {
    daemon: Child,
    /// Its address.
    pub(crate) address: String,
}

impl PrivateBus {
    /// Starts one with its socket and configuration in `dir`.
    pub(crate) fn start(dir: &Path) -> anyhow::Result<Self> {
        let socket = dir.join("bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .context("writing the bus configuration")?;
        let mut daemon = Command::new(DBUS_DAEMON.ensure()?)
            .arg(format!("--config-file={}", config.display()))
            .args(["--print-address", "--nofork"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-daemon")?;
        let mut line = String::new();
        if let Some(stdout) = daemon.stdout.take() {
            BufReader::new(stdout)
                .read_line(&mut line)
                .context("reading dbus-daemon's address")?;
        }
        let address = line.trim().to_owned();
        let bus = PrivateBus { daemon, address };
        ensure!(
            bus.address.starts_with("unix:"),
            "dbus-daemon printed {line:?}, not an address"
        );
        Ok(bus)
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

/// A directory of the soak's own, removed on drop.
#[derive(Debug)]
pub(crate) struct WorkDir {
    /// Its path.
    pub(crate) path: PathBuf,
}

impl WorkDir {
    /// Creates `path` afresh.
    pub(crate) fn create(path: PathBuf) -> anyhow::Result<Self> {
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
