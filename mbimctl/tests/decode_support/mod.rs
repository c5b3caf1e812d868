//! What the `mbimctl decode` tests share: the captures in tests/captures and
//! running the real binary.

// Each test binary uses some of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub(crate) fn captures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/captures")
}

pub(crate) fn capture(name: &str) -> String {
    let text = std::fs::read_to_string(captures_dir().join(name)).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn mbimctl(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mbimctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The MBIMEx version a capture is to be decoded with, from its
/// `# mbimex-version: N` comment line ("1" when it has none).
pub(crate) fn capture_mbimex_version(name: &str) -> String {
    let text = std::fs::read_to_string(captures_dir().join(name)).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("# mbimex-version:"))
        .map_or_else(|| "1".to_owned(), |version| version.trim().to_owned())
}
