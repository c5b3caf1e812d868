#!/bin/sh
# fuzz/run.sh SECONDS [TARGET...]: runs every fuzz target (or those named)
# for SECONDS each, from the committed corpus, and prints execs per target.
#
# By default on stable Rust with mbim-fuzz (fuzz/driver: the same target
# functions under a deterministic mutator, release build). With
# FUZZ_ENGINE=libfuzzer it runs cargo-fuzz (coverage-guided libFuzzer,
# installed with `cargo install cargo-fuzz --locked` when missing) on a
# copy of each corpus, so the committed seeds stay as they are.
# A crash's input is saved under fuzz/artifacts/<target>/; once fixed, it
# goes into fuzz/regressions/<target>/, which every run and `cargo test`
# replay.
set -eu
cd "$(dirname "$0")/.."
case "${1:-}" in
'' | *[!0-9]*)
    echo "usage: fuzz/run.sh SECONDS [TARGET...]" >&2
    exit 2
    ;;
esac
seconds=$1
shift
if [ "${FUZZ_ENGINE:-mbim-fuzz}" != libfuzzer ]; then
    exec cargo run --release --quiet -p mbim-fuzz -- run --seconds "$seconds" "$@"
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd fuzz
if [ $# -eq 0 ]; then
    set -- $(RUSTC_BOOTSTRAP=1 cargo fuzz list)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in "$@"; do
    mkdir -p "$work/$target"
    cp corpus/"$target"/* "$work/$target"/
    if [ -d regressions/"$target" ]; then
        cp regressions/"$target"/* "$work/$target"/
    fi
    echo "== $target: libFuzzer for $seconds s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" "$work/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1
done
