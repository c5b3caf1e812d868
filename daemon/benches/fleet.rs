//! What many modems cost when nothing moves: `mbimd` (the release build)
//! driving 32 simulated dual-SIM modems, 64 executors, each modem's active
//! SIM connected with its own TUN device, addresses, routes and DNS, and
//! its D-Bus objects published on a private bus, against the same daemon
//! with one modem, measured in the same run.
//!
//! Printed for each: resident memory (VmRSS), threads, open file
//! descriptors, and wake-ups per second while idle (the daemon's voluntary
//! and involuntary context switches over every thread, counted by the
//! kernel over a 10 s window after the last modem connected and 2 s of
//! settling), and how long the modems took to connect. Targets: at most
//! 32 MB for the 32 modems and 0 wake-ups per second. Nothing here fails
//! on a slow or busy machine; the figures and their targets are printed.
//!
//! The daemon runs in a network namespace of the benchmark's own (deleted
//! when it ends): nothing touches the machine's interfaces. Each modem
//! hands out its own subnets (10.64.0.2/30 for the first, 10.65.0.2/30 for
//! the second, …), as modems of different operators would.
//!
//! Run as root: `cargo bench -p mbimd --bench fleet` (`-- N` for another
//! number of modems).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    dead_code,
    missing_docs,
    unreachable_pub
)]

#[path = "common/daemon.rs"]
mod daemon;
#[path = "../tests/dbus_common/mod.rs"]
mod dbus_common;
#[path = "../tests/netns_support/mod.rs"]
mod netns_support;

use dbus_common::PrivateBus;
use mbimd_test_support::scenarios::dual_sim_with_own_subnets;
use netns_support::{privileged, Namespace};
use std::time::{Duration, Instant};

/// The modems of the main measurement.
const MODEMS: usize = 32;
/// How long the daemon is left alone after the last modem connected.
const SETTLE: Duration = Duration::from_secs(2);
/// The idle window the context switches are counted over.
const WINDOW: Duration = Duration::from_secs(10);
/// How long the modems may take to connect before the benchmark gives up
/// (a hang guard: the time taken is printed, not judged).
const CONNECT_GUARD: Duration = Duration::from_secs(300);
/// The targets of issue 9, printed beside the figures.
const TARGET_RSS_MB: f64 = 32.0;

/// One daemon's figures.
struct Figures {
    modems: usize,
    connect: Duration,
    rss_kb: u64,
    threads: u64,
    fds: usize,
    wakeups_per_second: f64,
    configured: usize,
}

fn main() {
    if !privileged() {
        println!("SKIP: the fleet benchmark needs root and /dev/net/tun");
        return;
    }
    let modems = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(MODEMS)
        .clamp(1, 191);
    println!(
        "idle cost of {modems} simulated dual-SIM modems ({} executors) against 1, same run",
        modems * 2
    );
    let one = measure(1);
    let many = measure(modems);
    println!(
        "{:>7} {:>10} {:>9} {:>8} {:>5} {:>12} {:>11}",
        "modems", "connected", "RSS MB", "threads", "fds", "wakeups/s", "configured"
    );
    for figures in [&one, &many] {
        println!(
            "{:>7} {:>8}ms {:>9.1} {:>8} {:>5} {:>12.2} {:>8}/{}",
            figures.modems,
            figures.connect.as_millis(),
            figures.rss_kb as f64 / 1024.0,
            figures.threads,
            figures.fds,
            figures.wakeups_per_second,
            figures.configured,
            figures.modems,
        );
    }
    let per_modem = (many.rss_kb.saturating_sub(one.rss_kb)) as f64
        / 1024.0
        / (modems.saturating_sub(1).max(1)) as f64;
    println!(
        "each further modem: {per_modem:.2} MB; {modems} modems: {:.1} MB (target <= {TARGET_RSS_MB} MB), \
         {:.2} wake-ups/s idle (target 0)",
        many.rss_kb as f64 / 1024.0,
        many.wakeups_per_second
    );
}

/// Runs the daemon with `modems` simulated modems until each has its
/// device configured, then reads its costs.
fn measure(modems: usize) -> Figures {
    let bus = PrivateBus::start();
    let namespace = Namespace::create(&format!("mbimd-fleet{modems}"));
    let mut args = Vec::new();
    for modem in 0..modems {
        let scenario = bus.dir().join(format!("modem{modem}.toml"));
        let index = u8::try_from(modem).unwrap();
        std::fs::write(&scenario, dual_sim_with_own_subnets(index)).unwrap();
        args.push(format!("--simulate={}", scenario.display()));
    }
    let started = Instant::now();
    let (mut daemon, log) = daemon::start(&bus, &namespace, &args);
    let pid = daemon.0.id();
    // `ip netns exec` execs mbimd in place: the child is the daemon.
    loop {
        if connected(&namespace) >= modems {
            break;
        }
        if let Some(exit) = daemon.0.try_wait().unwrap() {
            panic!(
                "mbimd ended ({exit}) before its modems connected:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < CONNECT_GUARD,
            "{} of {modems} modems connected after {CONNECT_GUARD:?}:\n{}",
            connected(&namespace),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let connect = started.elapsed();
    std::thread::sleep(SETTLE);
    let before = context_switches(pid);
    std::thread::sleep(WINDOW);
    let after = context_switches(pid);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let figures = Figures {
        modems,
        connect,
        rss_kb: status_field(&status, "VmRSS:"),
        threads: status_field(&status, "Threads:"),
        fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count(),
        wakeups_per_second: after.saturating_sub(before) as f64 / WINDOW.as_secs_f64(),
        configured: default_routes(&namespace),
    };
    let exit = daemon.terminate();
    assert!(exit.success(), "mbimd exited with {exit}");
    figures
}

/// Devices with an IPv4 address from their modem: one per connected modem.
fn connected(namespace: &Namespace) -> usize {
    namespace
        .ip(&["-4", "-o", "addr", "show"])
        .lines()
        .filter(|line| line.contains(" mbim") && line.contains(" inet 10."))
        .count()
}

/// Default routes through the modems' devices: those whose configuration
/// went through to the routes.
fn default_routes(namespace: &Namespace) -> usize {
    namespace
        .ip(&["-4", "route", "show", "default"])
        .lines()
        .filter(|line| line.contains("dev mbim"))
        .count()
}

/// Voluntary and involuntary context switches of every thread of `pid`:
/// each is the thread going to sleep or being woken, so over an idle
/// window they count the wake-ups.
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .map(|status| {
            status_field(&status, "voluntary_ctxt_switches:")
                + status_field(&status, "nonvoluntary_ctxt_switches:")
        })
        .sum()
}

/// The number after `field` in a /proc status text (0 if absent).
fn status_field(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}
