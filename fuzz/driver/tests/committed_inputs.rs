//! Every committed input of every target, replayed: the corpus
//! (`fuzz/corpus/<target>/`) and the regressions (`fuzz/regressions/<target>/`:
//! inputs that once crashed, kept so the bug stays fixed). Also writes the
//! `executor` target's seeds (ignored test, run by `fuzz/make-corpus.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use mbim_fuzz::campaign::{self, Budget};
use mbim_fuzz::{committed_inputs, corpus_dir, TARGETS};

#[test]
fn every_committed_input_passes_its_target() {
    let mut failures = Vec::new();
    for target in TARGETS {
        let inputs = committed_inputs(target.name).unwrap();
        assert!(
            !inputs.is_empty(),
            "{} has no committed inputs",
            target.name
        );
        for (path, bytes) in inputs {
            if let Err(message) = campaign::execute(&target, &bytes) {
                failures.push(format!("{}: {}: {message}", target.name, path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "inputs that fail: {failures:#?}");
}

#[test]
fn a_short_run_is_the_same_on_every_machine_and_finds_nothing() {
    let target = mbim_fuzz::target("executor").unwrap();
    let seeds: Vec<Vec<u8>> = committed_inputs(target.name)
        .unwrap()
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect();
    let artifacts = std::env::temp_dir().join("mbim-fuzz-test-artifacts");
    let outcome = campaign::run(&target, &seeds, Budget::Execs(300), 5, &artifacts);
    assert_eq!(outcome.execs, 300);
    assert!(outcome.crash.is_none(), "{:?}", outcome.crash);
}

#[test]
fn a_panicking_target_is_reported_with_its_input_saved() {
    fn fragile(data: &[u8]) {
        assert!(!data.contains(&0xEE), "found the byte");
    }
    let target = mbim_fuzz::Target {
        name: "fragile",
        run: fragile,
    };
    campaign::quiet_panics();
    let artifacts = std::env::temp_dir().join(format!("mbim-fuzz-fragile-{}", std::process::id()));
    let outcome = campaign::run(
        &target,
        &[vec![0u8; 16]],
        Budget::Execs(1_000_000),
        1,
        &artifacts,
    );
    let _ = std::panic::take_hook();
    let crash = outcome.crash.expect("the mutator finds one byte");
    assert!(crash.input.contains(&0xEE));
    assert!(
        crash.message.starts_with("found the byte"),
        "{}",
        crash.message
    );
    let saved = crash.saved.unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), crash.input);
    std::fs::remove_dir_all(&artifacts).unwrap();
}

/// `[config]` then ops (see `fuzz/executor_target.rs`).
fn seed(config: u8, ops: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![config];
    for op in ops {
        out.extend_from_slice(op);
    }
    out
}

/// Op 0 (the model's real answer) `n` times: the life cycle goes on.
fn answers(n: usize) -> Vec<u8> {
    vec![0; n]
}

/// Writes `fuzz/corpus/executor/`: the life cycle to Connected and the
/// faults the soak injects, each with real answers around it.
#[test]
#[ignore = "writes fuzz/corpus/executor; run by fuzz/make-corpus.sh"]
fn write_executor_seeds() {
    let life = answers(40);
    let settle: &[u8] = &[11, 8]; // 2 s pass
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("connect.bin", seed(0x00, &[&life])),
        ("connect-second-function.bin", seed(0x03, &[&life])),
        ("connect-session-1-no-autoconnect.bin", {
            seed(0x30, &[&life, &[10, 0x80], &answers(20)])
        }),
        (
            "lose-and-regain-signal.bin",
            seed(
                0x00,
                &[
                    &life,
                    &[8, 0, 0],
                    &answers(8),
                    &[8, 1, 0, 7],
                    settle,
                    &answers(30),
                ],
            ),
        ),
        (
            "lose-and-regain-packet-service.bin",
            seed(
                0x00,
                &[
                    &life,
                    &[8, 2, 0],
                    &answers(8),
                    &[8, 3, 0, 7],
                    settle,
                    &answers(30),
                ],
            ),
        ),
        (
            "remove-and-insert-sim.bin",
            seed(
                0x00,
                &[
                    &life,
                    &[8, 4, 0],
                    &answers(10),
                    &[8, 5, 0, 7],
                    settle,
                    &answers(40),
                ],
            ),
        ),
        (
            "busy-and-failure-answers.bin",
            seed(
                0x00,
                &[
                    &answers(6),
                    &[4, 0],
                    &[11, 44],
                    &answers(4),
                    &[4, 1],
                    &[11, 20],
                    &answers(40),
                ],
            ),
        ),
        (
            "mutated-and-garbage-answers.bin",
            seed(
                0x00,
                &[
                    &answers(3),
                    &[3, 9, 0x40],
                    &answers(3),
                    &[5, 0, 6, 1, 2, 3, 4, 5, 6],
                    &[3, 200, 0],
                    &[11, 40],
                    &life,
                ],
            ),
        ),
        (
            "timeouts-and-function-errors.bin",
            seed(
                0x00,
                &[&answers(4), &[6, 0], &[11, 8], &[6, 1, 5], &[11, 8], &life],
            ),
        ),
        (
            "arbitrary-notifications.bin",
            seed(
                0x00,
                &[
                    &life,
                    &[9, 0, 11, 8, 1, 0, 0, 0, 0, 0, 0, 0],
                    &[9, 0, 12, 3, 0xff, 0xff, 0xff],
                    &[9, 1, 10, 0],
                    &[9, 2, 1, 4, 1, 2, 3, 4],
                    &answers(10),
                ],
            ),
        ),
        (
            "tracked-commands.bin",
            seed(
                0x08,
                &[
                    &life,
                    &[10, 0x82],
                    &answers(6),
                    &[10, 0x80],
                    &answers(30),
                    &[10, 0x8b, 1, 1],
                    &answers(10),
                    &[10, 0x83, 0],
                    &answers(6),
                    &[10, 0x87, 1],
                    &answers(10),
                    &[10, 0x8c],
                    &answers(10),
                ],
            ),
        ),
        (
            "slot-mapping-busy-then-notification.bin",
            seed(
                0x00,
                &[
                    &life,
                    &[8, 7, 0],
                    &[10, 0x8b, 1, 1],
                    &answers(4),
                    &[8, 0, 0, 7],
                    settle,
                    &answers(30),
                ],
            ),
        ),
        (
            "pin-blocked-and-session-events.bin",
            seed(
                0x08,
                &[
                    &life,
                    &[8, 6, 0],
                    &[12, 1],
                    &answers(20),
                    &[12, 4],
                    &[12, 3],
                    &[11, 80],
                    &answers(30),
                ],
            ),
        ),
        (
            "two-executors-slot-switch.bin",
            seed(
                0x01,
                &[
                    &life,
                    &[10, 0x8b, 2, 1, 0],
                    &answers(20),
                    &[8, 9, 2, 7],
                    &answers(20),
                ],
            ),
        ),
    ];
    let dir = corpus_dir("executor");
    std::fs::create_dir_all(&dir).unwrap();
    let target = mbim_fuzz::target("executor").unwrap();
    for (name, bytes) in seeds {
        campaign::execute(&target, &bytes).unwrap_or_else(|message| panic!("{name}: {message}"));
        // Each seed reaches the state its faults are injected in; those
        // named for a loss and its end connect again afterwards.
        let connections = mbim_fuzz::executor_connections(&bytes);
        let expected = if name.contains("-and-regain") || name.contains("-and-insert") {
            2
        } else {
            1
        };
        println!("{name}: connected {connections} time(s)");
        assert!(
            connections >= expected,
            "{name} connected {connections} time(s)"
        );
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
