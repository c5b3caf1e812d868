//! The release `mbimd` as the whole-daemon benchmarks run it: in a network
//! namespace of the benchmark's own, on a private bus, with DNS kept out of
//! the machine's files and warnings only in its log.

use super::dbus_common::PrivateBus;
use super::netns_support::{Daemon, Namespace};
use std::path::PathBuf;
use std::process::Stdio;

/// Starts `mbimd ARGS… --config <a configuration of the bus's directory>`
/// in `namespace` on `bus`; its log is the returned file.
pub fn start(bus: &PrivateBus, namespace: &Namespace, args: &[String]) -> (Daemon, PathBuf) {
    let dir = bus.dir();
    let config = dir.join("mbimd.toml");
    std::fs::write(
        &config,
        format!(
            "[dns]\nbackend = \"none\"\n[logging]\nlevel = \"warn\"\ntarget = \"stderr\"\n\
             [modemmanager]\napi = \"off\"\n\
             [slot-policy]\nstate-file = \"{}/slots.toml\"\n",
            dir.display()
        ),
    )
    .unwrap();
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = config.display().to_string();
    all.extend(["--config", config.as_str()]);
    let log = dir.join("mbimd.log");
    let child = namespace
        .exec(env!("CARGO_BIN_EXE_mbimd"), &all)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (Daemon(child), log)
}
