//! The resolvconf(8) backend: one record per device, `<if>.mbimd`.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::{resolv_conf_text, DnsError};

/// resolvconf(8) for one device.
#[derive(Debug, Clone)]
pub struct Resolvconf {
    program: PathBuf,
    interface: String,
}

impl Resolvconf {
    /// The backend running `program` (normally `resolvconf`) for `interface`.
    pub fn new(program: PathBuf, interface: &str) -> Self {
        Resolvconf {
            program,
            interface: interface.to_owned(),
        }
    }

    /// The record name: `<if>.mbimd`, so resolvconf's interface-order rules
    /// can match it and it never clashes with another manager's record of
    /// the same device.
    pub fn record(&self) -> String {
        format!("{}.mbimd", self.interface)
    }

    /// The arguments that add (or replace) the record; the servers go on
    /// standard input.
    pub fn add_args(&self) -> Vec<String> {
        vec!["-a".to_owned(), self.record()]
    }

    /// The arguments that delete the record.
    pub fn delete_args(&self) -> Vec<String> {
        vec!["-d".to_owned(), self.record()]
    }

    /// Adds the record with `servers` (deletes it when there are none).
    pub async fn set(&self, servers: &[IpAddr]) -> Result<(), DnsError> {
        if servers.is_empty() {
            return self.revert().await;
        }
        let input = resolv_conf_text(&self.interface, servers);
        self.run(self.add_args(), Some(input)).await
    }

    /// Deletes the record.
    pub async fn revert(&self) -> Result<(), DnsError> {
        self.run(self.delete_args(), None).await
    }

    async fn run(&self, args: Vec<String>, input: Option<String>) -> Result<(), DnsError> {
        let program = self.program.clone();
        // resolvconf runs hook scripts that may take a while: keep it off the
        // runtime's worker threads.
        tokio::task::spawn_blocking(move || run_blocking(program, args, input))
            .await
            .map_err(DnsError::Join)?
    }
}

fn run_blocking(
    program: PathBuf,
    args: Vec<String>,
    input: Option<String>,
) -> Result<(), DnsError> {
    let spawn_error = |source| DnsError::ResolvconfSpawn {
        program: program.display().to_string(),
        args: args.join(" "),
        source,
    };
    let mut child = Command::new(&program)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.unwrap_or_default().as_bytes())
            .map_err(spawn_error)?;
        // Dropping stdin closes it: resolvconf reads to end of file.
    }
    let output = child.wait_with_output().map_err(spawn_error)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(DnsError::ResolvconfFailed {
            program: program.display().to_string(),
            args: args.join(" "),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
