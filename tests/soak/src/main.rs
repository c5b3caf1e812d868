//! `mbim-soak soak --cycles N`: a fault soak of the real daemon.
//!
//! It builds (if needed) and runs `mbimd --simulate` as root in a network
//! namespace it creates and removes, on a private dbus-daemon, with a DNS
//! file backend and the simulator's control socket, playing systemd's part
//! (READY=1, the watchdog, a restart when it fires). Each cycle injects one
//! fault (`faults::FAULTS` in turn), then waits until every executor is
//! connected again with its network device, addresses, default route and DNS
//! entries matching D-Bus and packets flowing, and checks mbimd's file
//! descriptors, threads and memory against the first cycle's. It prints the
//! counts and the recovery times (median and maximum) and exits non-zero on
//! any fault not recovered from or any resource that grew past its bound.

mod daemon;
mod env;
mod faults;
mod soak;
mod state;

use anyhow::{bail, ensure, Context as _};
use clap::{Parser, Subcommand};
use daemon::{Mbimd, Resources};
use faults::{Fault, FAULTS};
use soak::Soak;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// A fault soak of mbimd against its simulated modem.
#[derive(Debug, Parser)]
#[command(name = "mbim-soak", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Injects one fault per cycle and checks that mbimd recovers.
    Soak(SoakArgs),
}

#[derive(Debug, clap::Args)]
struct SoakArgs {
    /// How many faults to inject.
    #[arg(long, default_value_t = 30)]
    cycles: usize,
    /// Only these faults (by name; all by default).
    #[arg(long = "fault")]
    faults: Vec<String>,
    /// Seconds a fault may take to recover.
    #[arg(long, default_value_t = 60)]
    recover_timeout: u64,
    /// The mbimd binary (default: built with cargo, release profile).
    #[arg(long)]
    mbimd: Option<PathBuf>,
}

/// How far file descriptors, threads and memory may grow past the first
/// cycle's: a leak per cycle passes them within a few dozen cycles.
const MAX_EXTRA_FDS: usize = 8;
const MAX_EXTRA_THREADS: usize = 16;
const MAX_EXTRA_RSS_KIB: u64 = 32 * 1024;

fn main() -> ExitCode {
    let Cli {
        command: Command::Soak(args),
    } = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("mbim-soak: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(soak(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("mbim-soak: {error:#}");
            println!("soak: 0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}

/// The mbimd binary: the one given, or the workspace's release build (cargo
/// builds it first; a no-op when it is up to date).
fn mbimd_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path);
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "mbimd",
            "--bin",
            "mbimd",
        ])
        .current_dir(&workspace)
        .status()
        .context("running cargo build for mbimd")?;
    ensure!(status.success(), "cargo build -p mbimd failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), PathBuf::from);
    Ok(target.join("release").join("mbimd"))
}

/// Median and maximum.
fn median_max(times: &[Duration]) -> (Duration, Duration) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    (median, sorted.last().copied().unwrap_or_default())
}

fn check_resources(first: Resources, now: Resources) -> anyhow::Result<()> {
    ensure!(
        now.fds <= first.fds + MAX_EXTRA_FDS,
        "file descriptors grew from {} to {}",
        first.fds,
        now.fds
    );
    ensure!(
        now.threads <= first.threads + MAX_EXTRA_THREADS,
        "threads grew from {} to {}",
        first.threads,
        now.threads
    );
    ensure!(
        now.rss_kib <= first.rss_kib + MAX_EXTRA_RSS_KIB,
        "resident memory grew from {} KiB to {} KiB",
        first.rss_kib,
        now.rss_kib
    );
    Ok(())
}

async fn soak(args: SoakArgs) -> anyhow::Result<bool> {
    ensure!(
        rustix::process::geteuid().is_root(),
        "the soak needs root: it makes a network namespace and TUN devices"
    );
    ensure!(
        Path::new("/dev/net/tun").exists(),
        "the soak needs /dev/net/tun"
    );
    let faults: Vec<Fault> = if args.faults.is_empty() {
        FAULTS.to_vec()
    } else {
        args.faults
            .iter()
            .map(|name| {
                Fault::by_name(name).with_context(|| {
                    let names: Vec<&str> = FAULTS.iter().map(|f| f.name()).collect();
                    format!("no fault {name:?}; the faults are {}", names.join(", "))
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    let binary = mbimd_binary(args.mbimd)?;
    let id = std::process::id();
    let dir = env::WorkDir::create(std::env::temp_dir().join(format!("mbim-soak-{id}")))?;
    let namespace = env::Namespace::create(&format!("mbim-soak-{id}"))?;
    let bus = env::PrivateBus::start(&dir.path)?;
    eprintln!("mbim-soak: private bus at {}", bus.address);
    let connecting = zbus::connection::Builder::address(bus.address.as_str())?.build();
    let connection = tokio::time::timeout(state::CALL_TIMEOUT, connecting)
        .await
        .context("the private bus did not answer within 5 s")?
        .context("connecting to the private bus")?;
    eprintln!("mbim-soak: starting {}", binary.display());
    let mbimd = Mbimd::start(&binary, &namespace.name, &dir.path, &bus.address)?;
    let mut soak = Soak {
        namespace,
        dir: dir.path.clone(),
        bus: connection,
        mbimd,
        scenario: mbim_sim::scenario::Scenario::default_dssa(),
        recover_timeout: Duration::from_secs(args.recover_timeout),
    };
    println!(
        "mbim-soak: {} cycles over {} fault kinds; mbimd {} in namespace {}; log {}",
        args.cycles,
        faults.len(),
        binary.display(),
        soak.namespace.name,
        daemon::log_file(&soak.dir).display()
    );

    // The start counts as the first recovery: connected, consistent, flowing.
    let start = faults::Injected {
        cleared: Instant::now(),
        slot: None,
        needs_restart: false,
    };
    let first_connect = soak.recover(&start).await.context("the first connection")?;
    let first = soak.resources()?;
    println!(
        "connected in {:.2} s; mbimd has {} fds, {} threads, {} KiB resident",
        first_connect.time.as_secs_f64(),
        first.fds,
        first.threads,
        first.rss_kib
    );

    let mut times: Vec<Duration> = Vec::new();
    let mut by_fault: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let (mut injected, mut recovered, mut restarts) = (0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    let mut peak = first;
    let mut last = first;
    for cycle in 0..args.cycles {
        let Some(&fault) = faults.get(cycle % faults.len()) else {
            bail!("no faults to inject");
        };
        injected += 1;
        let outcome = async {
            let injection = fault.inject(&mut soak).await?;
            soak.recover(&injection).await
        }
        .await;
        match outcome {
            Ok(recovery) => {
                recovered += 1;
                restarts += usize::from(recovery.restarted);
                times.push(recovery.time);
                by_fault
                    .entry(fault.name())
                    .or_default()
                    .push(recovery.time);
                // A restarted mbimd is a new process: its resources are
                // measured against the first one's all the same.
                let now = soak.resources()?;
                peak = Resources {
                    fds: peak.fds.max(now.fds),
                    threads: peak.threads.max(now.threads),
                    rss_kib: peak.rss_kib.max(now.rss_kib),
                };
                last = now;
                println!(
                    "cycle {cycle:>4} {:<27} recovered in {:>6.2} s{}  fds {} threads {} rss {} KiB",
                    fault.name(),
                    recovery.time.as_secs_f64(),
                    if recovery.restarted { " (by restart)" } else { "" },
                    now.fds,
                    now.threads,
                    now.rss_kib
                );
                if let Err(leak) = check_resources(first, now) {
                    println!("cycle {cycle:>4} LEAK: {leak:#}");
                    failures.push(format!("cycle {cycle} ({}): {leak:#}", fault.name()));
                    break;
                }
            }
            Err(error) => {
                println!(
                    "cycle {cycle:>4} {:<27} NOT RECOVERED: {error:#}",
                    fault.name()
                );
                failures.push(format!("cycle {cycle} ({}): {error:#}", fault.name()));
                break;
            }
        }
    }

    let (median, max) = median_max(&times);
    println!("== soak report");
    println!(
        "faults injected {injected}, recovered {recovered} ({restarts} by restart); \
         time to recover: median {:.2} s, max {:.2} s",
        median.as_secs_f64(),
        max.as_secs_f64()
    );
    for (name, times) in &by_fault {
        let (median, max) = median_max(times);
        println!(
            "  {name:<27} {:>4} x  median {:>6.2} s  max {:>6.2} s",
            times.len(),
            median.as_secs_f64(),
            max.as_secs_f64()
        );
    }
    println!(
        "mbimd resources: fds {} -> {} (max {}), threads {} -> {} (max {}), rss {} -> {} KiB (max {})",
        first.fds,
        last.fds,
        peak.fds,
        first.threads,
        last.threads,
        peak.threads,
        first.rss_kib,
        last.rss_kib,
        peak.rss_kib
    );
    // SIGTERM must leave nothing behind: no device, no route, no DNS entry.
    let Soak {
        mbimd,
        namespace,
        dir: work,
        ..
    } = soak;
    let status = mbimd.stop()?;
    if !status.success() {
        failures.push(format!("mbimd exited with {status} on SIGTERM"));
    }
    if let Err(error) = state::check_consistent(&namespace, &daemon::dns_file(&work), &[]) {
        failures.push(format!("after SIGTERM: {error:#}"));
    }
    for failure in &failures {
        println!("FAILED: {failure}");
        if let Ok(log) = std::fs::read_to_string(daemon::log_file(&work)) {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            println!("--- mbimd's log, last lines ---");
            for line in tail.iter().rev() {
                println!("{line}");
            }
        }
    }
    let failed = usize::from(!failures.is_empty());
    println!(
        "soak: {} passed, {failed} failed",
        recovered.min(injected - failed)
    );
    drop(namespace);
    drop(bus);
    drop(dir);
    Ok(failures.is_empty())
}
