#!/bin/sh
# Regenerates the seed corpus in fuzz/corpus/<target>/ from the libmbim
# captures (tests/captures/*.hex), the configuration descriptors of
# protocol/tests/descriptors.rs, and NTBs and messages built with the
# protocol crate's own builders. The generator is the ignored test
# `write_seed_corpus` in protocol/tests/fuzz_corpus.rs (stable Rust, no
# cargo-fuzz needed); seeds are overwritten by name, other files are left alone.
set -eu
cd "$(dirname "$0")/.."
exec cargo test -p mbim-protocol --test fuzz_corpus -- --ignored --exact write_seed_corpus
