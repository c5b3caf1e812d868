//! The protocol crate does no I/O and reads no clock (ARCHITECTURE.md).

// A test binary: a panic here is a failed test, not a crashed daemon.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn dependency_tree_has_no_async_runtime_or_usb_stack() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "mbim-protocol",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{output:?}");
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(tree.contains("mbim-protocol"), "{tree}");
    for forbidden in ["tokio", "nusb", "async-std", "smol", "mio", "libc"] {
        assert!(
            !tree
                .lines()
                .any(|line| line.starts_with(&format!("{forbidden} "))),
            "mbim-protocol depends on {forbidden}:\n{tree}"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn source_reads_no_clock_and_opens_no_file_or_socket() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(!files.is_empty());
    let forbidden = [
        "Instant::now",
        "SystemTime",
        "std::fs",
        "std::io::stdin",
        "TcpStream",
        "UdpSocket",
        "UnixStream",
        "thread::sleep",
        "std::process",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests may use the clock to build `Instant`s to pass in.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for needle in forbidden {
            assert!(
                !code.contains(needle),
                "{} uses {needle}; the protocol crate takes time and bytes as arguments",
                file.display()
            );
        }
    }
}
