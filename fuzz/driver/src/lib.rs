//! The fuzz targets on stable Rust.
//!
//! cargo-fuzz (libFuzzer) needs nightly-only compiler flags; CI and a fresh
//! machine have a stable toolchain and nothing else. This crate runs the very
//! same target functions (`fuzz/targets.rs` and `fuzz/executor_target.rs`,
//! which the cargo-fuzz targets include too) under a deterministic mutator
//! ([`mutate`]) seeded from the committed corpus, for a fixed number of
//! executions or a time budget ([`campaign`]). It is blind to coverage,
//! which libFuzzer is not, so `fuzz/run.sh --libfuzzer` keeps the
//! coverage-guided route for long runs; what this one buys is a repeatable
//! run in every CI build, the same inputs on every machine.
//!
//! A crash is saved under `fuzz/artifacts/<target>/`; once fixed, the input
//! moves to `fuzz/regressions/<target>/`, which every run starts from and
//! `cargo test -p mbim-fuzz` replays.

pub mod campaign;
pub mod mutate;

// The target files are shared with cargo-fuzz's crate, which includes them
// the same way; their helpers carry their own lint allowances.
#[path = "../../executor_target.rs"]
mod executor_target;
#[path = "../../targets.rs"]
mod protocol_targets;

use std::path::{Path, PathBuf};

/// A fuzz target: a name (its corpus directory) and its entry point, which
/// panics on an invariant violation.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// The name, as in `fuzz/corpus/<name>`.
    pub name: &'static str,
    /// The entry point.
    pub run: fn(&[u8]),
}

/// Every target, in the order runs report them.
pub const TARGETS: [Target; 7] = [
    Target {
        name: "control_message",
        run: protocol_targets::control_message,
    },
    Target {
        name: "reassembly",
        run: protocol_targets::reassembly,
    },
    Target {
        name: "payloads",
        run: protocol_targets::payloads,
    },
    Target {
        name: "ntb",
        run: protocol_targets::ntb,
    },
    Target {
        name: "descriptors",
        run: protocol_targets::descriptors,
    },
    Target {
        name: "session",
        run: protocol_targets::session,
    },
    Target {
        name: "executor",
        run: executor_target::executor,
    },
];

/// How many times the `executor` target's machine connected on `input`
/// (for tests of its seeds).
pub fn executor_connections(input: &[u8]) -> u32 {
    executor_target::executor_connections(input)
}

/// The target called `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().copied().find(|target| target.name == name)
}

/// The repository's `fuzz/` directory.
pub fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `fuzz/corpus/<target>`: the seeds.
pub fn corpus_dir(target: &str) -> PathBuf {
    fuzz_dir().join("corpus").join(target)
}

/// `fuzz/regressions/<target>`: inputs that once crashed, kept after the fix.
pub fn regressions_dir(target: &str) -> PathBuf {
    fuzz_dir().join("regressions").join(target)
}

/// `fuzz/artifacts/<target>`: crashes found (not committed).
pub fn artifacts_dir(target: &str) -> PathBuf {
    fuzz_dir().join("artifacts").join(target)
}

/// The files of a directory, sorted by name; a missing directory has none.
pub fn read_inputs(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut inputs = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            inputs.push((path, bytes));
        }
    }
    inputs.sort();
    Ok(inputs)
}

/// The committed inputs of `target`: its corpus and its regressions.
pub fn committed_inputs(target: &str) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut inputs = read_inputs(&corpus_dir(target))?;
    inputs.extend(read_inputs(&regressions_dir(target))?);
    Ok(inputs)
}
