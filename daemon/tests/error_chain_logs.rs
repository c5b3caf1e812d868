//! A logged error carries its cause: the real `mbimd --simulate` with a
//! slot store it cannot read logs what it could not do *and* why (the
//! operating system's reason), not only "reading …".
//!
//! As root mbimd runs in a network namespace of its own (`unshare --net`),
//! so its TUN device never touches the machine's interfaces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A hang guard, not a timing expectation.
const HANG_GUARD: Duration = Duration::from_secs(60);

struct Mbimd(Child);

impl Drop for Mbimd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_unreadable_slot_store_is_logged_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("mbimd-error-chain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The store's path is a directory: reading it fails with EISDIR.
    let store = dir.join("slots.toml");
    std::fs::create_dir_all(&store).unwrap();
    let config = dir.join("mbimd.toml");
    std::fs::write(
        &config,
        format!(
            "[dbus]\nenable = false\n[dns]\nbackend = \"none\"\n\
             [logging]\nlevel = \"info\"\ntarget = \"stderr\"\n\
             [slot-policy]\nstate-file = \"{}\"\n",
            store.display()
        ),
    )
    .unwrap();
    let mbimd = env!("CARGO_BIN_EXE_mbimd");
    let mut command = if rustix::process::geteuid().is_root() {
        let mut command = mbimd_test_support::tools::UNSHARE.command();
        command.args(["--net", "--", mbimd]);
        command
    } else {
        Command::new(mbimd)
    };
    let mut child = command
        .arg("--simulate")
        .arg("--config")
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _mbimd = Mbimd(child);

    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let line = loop {
        let line = lines
            .recv_timeout(HANG_GUARD)
            .unwrap_or_else(|_| panic!("no line about the slot store; mbimd said:\n{seen:#?}"));
        if line.contains("no remembered slot choice") {
            break line;
        }
        seen.push(line);
    };
    // What failed, the file, and the operating system's reason.
    assert!(
        line.contains(&format!("reading {}", store.display())),
        "{line}"
    );
    assert!(line.contains("Is a directory"), "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}
