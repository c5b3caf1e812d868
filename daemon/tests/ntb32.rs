//! NTB32 end to end: `mbimd --simulate` with a simulated modem whose NTB
//! parameters offer 128 KiB blocks (more than NTB16's 16-bit lengths can
//! address) chooses NTB32, sets it on the function, and the session carries
//! a ping to the simulated gateway and back. With NTB16 the pump could not
//! even start (its input size would exceed the format), and NTB16 blocks
//! are refused by a function set to NTB32, so the ping passing is the proof
//! that both sides speak NTB32.
//!
//! Needs root and /dev/net/tun for the TUN device (skipped, saying so,
//! otherwise); runs in a network namespace of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod netns_support;

use mbimd_test_support::icmp::Echo;
use netns_support::{privileged, wait_until, Daemon, Namespace};
use std::io::Read;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// The built-in DSSA modem, the scenario `mbimd --simulate` runs by default.
const DSSA: &str = include_str!("../../simulator/scenarios/dssa.toml");

/// Files of the test's own, removed at the end.
struct Files(Vec<PathBuf>);

impl Drop for Files {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("{}-{name}", std::process::id()))
}

/// The DSSA scenario with NTB blocks of `size` bytes both ways.
fn scenario_with_blocks(size: u32) -> String {
    let scenario = DSSA
        .replace("in_max_size = 65535", &format!("in_max_size = {size}"))
        .replace("out_max_size = 65535", &format!("out_max_size = {size}"));
    assert!(scenario.contains(&format!("in_max_size = {size}")));
    assert!(scenario.contains(&format!("out_max_size = {size}")));
    assert!(scenario.contains("formats_supported = 3"));
    scenario
}

#[test]
fn a_function_with_blocks_beyond_ntb16_carries_its_session_in_ntb32() {
    if !privileged() {
        println!("SKIP: needs root and /dev/net/tun");
        return;
    }
    let scenario = temp_path("ntb32-scenario.toml");
    let config = temp_path("ntb32-mbimd.toml");
    let log = temp_path("ntb32-mbimd.log");
    let _files = Files(vec![scenario.clone(), config.clone(), log.clone()]);
    std::fs::write(&scenario, scenario_with_blocks(131_072)).unwrap();
    // DNS stays out of the host's files.
    std::fs::write(
        &config,
        "[dns]\nbackend = \"none\"\n\n[logging]\ntarget = \"stderr\"\n",
    )
    .unwrap();

    let namespace = Namespace::create("mbimd-ntb32");
    let stderr = std::fs::File::create(&log).unwrap();
    let daemon = namespace
        .exec(
            env!("CARGO_BIN_EXE_mbimd"),
            &[
                "--simulate",
                scenario.to_str().unwrap(),
                "--config",
                config.to_str().unwrap(),
            ],
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut daemon = Daemon(daemon);

    wait_until("mbim0e0 with its address", || {
        namespace
            .ip(&["-j", "addr", "show", "dev", "mbim0e0"])
            .contains("\"10.64.0.2\"")
    });
    namespace.ping("10.64.0.1", &Echo::new(3));
    // Larger than one MTU's worth of replies in a block: several datagrams.
    namespace.ping(
        "10.64.0.1",
        &Echo {
            payload: 1400,
            interval: Duration::from_millis(10),
            ..Echo::new(20)
        },
    );

    daemon.terminate();
    let mut text = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        text.contains("mbim0e0 is up") && text.contains("NTB32"),
        "mbimd did not report choosing NTB32:\n{text}"
    );
    assert!(!text.contains("data path:"), "{text}");
}
