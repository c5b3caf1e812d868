//! `mbim-fuzz`: the fuzz targets on stable Rust.
//!
//! `mbim-fuzz run --execs N` (what CI runs), `mbim-fuzz run --seconds S`
//! (what `fuzz/run.sh` runs), `mbim-fuzz replay TARGET FILE…` (one input at
//! a time, with the panic shown), `mbim-fuzz list`.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use mbim_fuzz::campaign::{self, Budget};
use mbim_fuzz::{artifacts_dir, committed_inputs, target, Target, TARGETS};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The fuzz targets on stable Rust, from the committed corpus.
#[derive(Debug, Parser)]
#[command(name = "mbim-fuzz", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs targets (all by default) from their committed inputs.
    Run {
        /// Executions per target (committed inputs included).
        #[arg(long, conflicts_with = "seconds")]
        execs: Option<u64>,
        /// Seconds per target instead.
        #[arg(long)]
        seconds: Option<u64>,
        /// The mutator's seed (the same seed gives the same inputs).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Targets to run.
        targets: Vec<String>,
    },
    /// Runs inputs through a target, showing the panic of each that fails.
    Replay {
        /// The target.
        target: String,
        /// The input files.
        files: Vec<PathBuf>,
    },
    /// Lists the targets.
    List,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mbim-fuzz: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn named(name: &str) -> anyhow::Result<Target> {
    target(name).with_context(|| {
        let names: Vec<&str> = TARGETS.iter().map(|target| target.name).collect();
        format!("no target {name:?}; the targets are {}", names.join(", "))
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::List => {
            for target in TARGETS {
                println!("{}", target.name);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { target, files } => {
            let target = named(&target)?;
            let mut failed = 0;
            for file in &files {
                let input =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                match campaign::execute(&target, &input) {
                    Ok(()) => println!("{}: ok", file.display()),
                    Err(message) => {
                        failed += 1;
                        println!("{}: FAILED: {message}", file.display());
                    }
                }
            }
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            execs,
            seconds,
            seed,
            targets,
        } => {
            let budget = match (execs, seconds) {
                (_, Some(seconds)) => Budget::Time(Duration::from_secs(seconds)),
                (Some(execs), None) => Budget::Execs(execs),
                (None, None) => Budget::Execs(10_000),
            };
            let chosen: Vec<Target> = if targets.is_empty() {
                TARGETS.to_vec()
            } else {
                targets
                    .iter()
                    .map(|name| named(name))
                    .collect::<anyhow::Result<_>>()?
            };
            campaign::quiet_panics();
            println!("mbim-fuzz: seed {seed}, {budget:?} per target");
            let (mut passed, mut failed, mut total) = (0, 0, 0u64);
            for target in chosen {
                let seeds: Vec<Vec<u8>> = committed_inputs(target.name)
                    .with_context(|| format!("reading the committed inputs of {}", target.name))?
                    .into_iter()
                    .map(|(_, bytes)| bytes)
                    .collect();
                anyhow::ensure!(!seeds.is_empty(), "{} has no committed inputs", target.name);
                let outcome =
                    campaign::run(&target, &seeds, budget, seed, &artifacts_dir(target.name));
                total += outcome.execs;
                println!(
                    "{:<16} {:>10} execs in {:>7.1} s = {:>8.0} execs/s from {:>3} committed inputs: {}",
                    outcome.target,
                    outcome.execs,
                    outcome.elapsed.as_secs_f64(),
                    outcome.rate(),
                    outcome.seeds,
                    if outcome.crash.is_some() { "CRASH" } else { "ok" }
                );
                match outcome.crash {
                    None => passed += 1,
                    Some(crash) => {
                        failed += 1;
                        println!("  {}", crash.message);
                        match crash.saved {
                            Some(path) => println!(
                                "  input saved as {} (replay: cargo run -p mbim-fuzz -- replay {} {})",
                                path.display(),
                                target.name,
                                path.display()
                            ),
                            None => println!("  input (not saved): {:02x?}", crash.input),
                        }
                    }
                }
            }
            println!("mbim-fuzz: {total} execs");
            println!("fuzz: {passed} passed, {failed} failed");
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
