//! One target's run: every committed input once, then mutated copies until
//! the budget is spent or an input fails.
//!
//! A failure is a panic (the targets panic on invariant violations) or an
//! execution that outlasts [`HANG_LIMIT`], which a watchdog thread notices:
//! a hang cannot be interrupted inside the process, so the watchdog saves
//! the input and ends the process.

use crate::mutate::Mutator;
use crate::Target;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// One execution longer than this is a hang.
pub const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Longest input the mutator makes (the largest seed is about 2 KiB).
pub const MAX_INPUT_LEN: usize = 8192;

/// The exit status when the watchdog ends a hung run.
pub const HANG_EXIT_CODE: i32 = 70;

/// How long a run goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// This many executions, committed inputs included.
    Execs(u64),
    /// Until this much time has passed.
    Time(Duration),
}

/// An input that failed.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
    /// Where the input was saved, if it could be.
    pub saved: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The target's name.
    pub target: &'static str,
    /// Inputs executed.
    pub execs: u64,
    /// Committed inputs it started from.
    pub seeds: usize,
    /// How long it took.
    pub elapsed: Duration,
    /// The first failing input, if any (the run stops there).
    pub crash: Option<Crash>,
}

impl Outcome {
    /// Executions per second.
    pub fn rate(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            // Exec counts stay far below 2^52: the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let execs = self.execs as f64;
            execs / seconds
        } else {
            0.0
        }
    }
}

/// The message of the last panic, recorded by [`quiet_panics`]' hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the panic hook with one that records the message instead of
/// printing it: a run catches panics by the thousand and reports the one
/// that counts.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|at| format!(" at {}:{}", at.file(), at.line()))
            .unwrap_or_default();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        *LAST_PANIC.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(format!("{payload}{location}"));
    }));
}

/// Runs `input` through `target`; the panic message if it panicked.
pub fn execute(target: &Target, input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).map_err(|_| {
        LAST_PANIC
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_else(|| "panicked".to_owned())
    })
}

/// FNV-1a: a stable name for an input.
pub fn input_hash(input: &[u8]) -> u64 {
    input.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Saves a failing input as `<dir>/<kind>-<hash>`.
fn save(dir: &Path, kind: &str, input: &[u8]) -> Option<PathBuf> {
    std::fs::create_dir_all(dir).ok()?;
    let path = dir.join(format!("{kind}-{:016x}", input_hash(input)));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

/// The execution in progress, for the watchdog: when it started and its input.
type InFlight = Arc<Mutex<Option<(Instant, Vec<u8>)>>>;

/// Watches the execution in flight until `done`; a hung one is saved to
/// `artifacts` and ends the process.
fn watchdog(target: &'static str, artifacts: PathBuf, in_flight: InFlight, done: Arc<AtomicBool>) {
    while !done.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let guard = in_flight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((started, input)) = guard.as_ref() {
            if started.elapsed() > HANG_LIMIT {
                let saved = save(&artifacts, "hang", input);
                eprintln!(
                    "{target}: an execution has run for more than {HANG_LIMIT:?}: a hang; input saved as {}",
                    saved.map_or_else(|| "(not saved)".to_owned(), |p| p.display().to_string())
                );
                std::process::exit(HANG_EXIT_CODE);
            }
        }
    }
}

/// Runs `target` from `seeds` within `budget`, mutating with `seed`.
/// Failures are saved under `artifacts`.
pub fn run(
    target: &Target,
    seeds: &[Vec<u8>],
    budget: Budget,
    seed: u64,
    artifacts: &Path,
) -> Outcome {
    let in_flight: InFlight = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (name, artifacts) = (target.name, artifacts.to_path_buf());
        let (in_flight, done) = (Arc::clone(&in_flight), Arc::clone(&done));
        std::thread::spawn(move || watchdog(name, artifacts, in_flight, done))
    };
    // Each target gets its own stream, so adding a target changes no other's inputs.
    let mut mutator = Mutator::new(
        seed ^ input_hash(target.name.as_bytes()),
        MAX_INPUT_LEN.max(seeds.iter().map(Vec::len).max().unwrap_or(0)),
    );
    let start = Instant::now();
    let mut execs: u64 = 0;
    let mut crash = None;
    let empty = Vec::new();
    loop {
        let more = match budget {
            Budget::Execs(limit) => execs < limit,
            Budget::Time(limit) => start.elapsed() < limit,
        };
        if !more {
            break;
        }
        // The committed inputs as they are first, then mutated copies.
        let input = match usize::try_from(execs)
            .ok()
            .and_then(|index| seeds.get(index))
        {
            Some(input) => input.clone(),
            None => {
                let rng = mutator.rng();
                let mut input = seeds
                    .get(rng.below(seeds.len()))
                    .cloned()
                    .unwrap_or_default();
                let other = seeds.get(rng.below(seeds.len())).unwrap_or(&empty);
                mutator.mutate(&mut input, other);
                input
            }
        };
        *in_flight.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), input.clone()));
        let result = execute(target, &input);
        execs += 1;
        if let Err(message) = result {
            let saved = save(artifacts, "crash", &input);
            crash = Some(Crash {
                input,
                message,
                saved,
            });
            break;
        }
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    // The watchdog only sleeps and reads; it cannot fail.
    let _ = watcher.join();
    Outcome {
        target: target.name,
        execs,
        seeds: seeds.len(),
        elapsed,
        crash,
    }
}
