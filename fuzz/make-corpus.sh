#!/bin/sh
# Regenerates the seed corpus in fuzz/corpus/<target>/ from the libmbim
# captures (tests/captures/*.hex), the configuration descriptors of
# protocol/tests/descriptors.rs, NTBs and messages built with the protocol
# crate's own builders, and (for the executor target) scripts of the
# simulated modem's answers and faults. The generators are the ignored tests
# `write_seed_corpus` in protocol/tests/fuzz_corpus.rs and
# `write_executor_seeds` in fuzz/driver/tests/committed_inputs.rs (stable
# Rust, no cargo-fuzz needed); seeds are overwritten by name, other files
# are left alone.
set -eu
cd "$(dirname "$0")/.."
cargo test -p mbim-protocol --test fuzz_corpus -- --ignored --exact write_seed_corpus
cargo test -p mbim-fuzz --test committed_inputs -- --ignored --exact write_executor_seeds
