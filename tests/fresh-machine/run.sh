#!/usr/bin/env bash
# The README's test command on a bare Debian 12 machine with nothing but a Rust toolchain, as
# CI's machine starts: a debootstrap'd bookworm (variant minbase, what the debian:12 image
# holds) with the system part of a Rust toolchain (ca-certificates, gcc, libc6-dev: what Rust's
# own Debian images add), this machine's rustup toolchain bound in read-only, and a clean clone
# of the committed HEAD; the command runs there as root under chroot. What the tests install
# (apt-get) goes into that root only, and every run starts from the bare base again.
# See tests/README.md.
#
#   tests/fresh-machine/run.sh [COMMAND...]
#
# COMMAND (run in the clone, default: cargo test --workspace --no-fail-fast -- --show-output,
# the README's command going on past a failing test binary and printing what passing tests
# printed too, so that their SKIP lines show) may be anything,
# e.g. `bash .ci/run` or `packaging/check.sh`. Ends with "fresh-machine: N passed, M failed"
# (from cargo's "test result:" lines and any "N passed, M failed" line of a script), the SKIP
# lines seen, and the time each stage took; exits with COMMAND's status.
#
# Needs root (debootstrap, mounts, chroot) and Debian's mirror (apt); installs debootstrap if
# missing. Settings (environment): FRESH_DIR (default target/fresh-machine: base/ is the cached
# bare root, removed to rebuild it; root/ the root of the last run, log the last run's output),
# FRESH_MIRROR (default: the first Debian URI in this machine's apt sources), RUSTUP_HOME and
# CARGO_HOME (default ~/.rustup, ~/.cargo: where the toolchain comes from), FRESH_REUSE=1 (run
# in the last run's root, with what its tests installed and built, the clone moved to the
# committed HEAD: for a second command after a first, e.g. the scripts after the tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
FRESH_DIR=${FRESH_DIR:-$repo/target/fresh-machine}
RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
suite=bookworm
base=$FRESH_DIR/base
root=$FRESH_DIR/root
log=$FRESH_DIR/log

say() { echo "fresh-machine: $*"; }
die() {
    echo "fresh-machine: error: $*" >&2
    exit 2
}

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, mounts, chroot)"
[ -d "$RUSTUP_HOME/toolchains" ] || die "no rustup toolchain in $RUSTUP_HOME (set RUSTUP_HOME)"
[ -x "$CARGO_HOME/bin/cargo" ] || die "no $CARGO_HOME/bin/cargo (set CARGO_HOME)"
if [ "$#" -eq 0 ]; then
    set -- cargo test --workspace --no-fail-fast -- --show-output
fi

# Everything below runs in a mount namespace of its own: the mounts into the root vanish with
# it, however the run ends, and the machine's own mount table never sees them.
if [ -z "${FRESH_IN_NAMESPACE:-}" ]; then
    mkdir -p "$FRESH_DIR"
    exec 9>"$FRESH_DIR/.lock"
    flock -n 9 || die "another tests/fresh-machine/run.sh uses $FRESH_DIR"
    FRESH_IN_NAMESPACE=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

t0=$(date +%s)
stage() {
    local now
    now=$(date +%s)
    timings+=("$1 $((now - t0)) s")
    t0=$now
}
timings=()

apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }
}
command -v debootstrap >/dev/null || apt_install debootstrap >&2 || die "could not install debootstrap"

# The mirror this machine's apt uses (deb822 or one-line sources), else Debian's own.
mirror=${FRESH_MIRROR:-$(
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *\([^ ]*debian\/*\)$/\1/p' || true
    sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*debian\/*\) .*/\2/p' /etc/apt/sources.list 2>/dev/null || true
)}
mirror=$(sed -n 1p <<<"$mirror")
mirror=${mirror:-http://deb.debian.org/debian}

# --- the bare base (cached) ----------------------------------------------------------------------
if [ ! -e "$base/.ready" ]; then
    say "debootstrap --variant=minbase $suite from $mirror"
    rm -rf --one-file-system "$base" "$base.tmp"
    debootstrap --variant=minbase "$suite" "$base.tmp" "$mirror" >"$FRESH_DIR/debootstrap.log" 2>&1 ||
        die "debootstrap failed (see $FRESH_DIR/debootstrap.log)"
    # apt's sources as on the debian:12 image (the release, its updates and security).
    rm -f "$base.tmp/etc/apt/sources.list"
    sec=${mirror%/debian}/debian-security
    [ "$sec" != "$mirror/debian-security" ] || sec=http://deb.debian.org/debian-security
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$mirror" "$suite" "$suite" "$sec" "$suite" >"$base.tmp/etc/apt/sources.list.d/debian.sources"
    cp /etc/resolv.conf "$base.tmp/etc/resolv.conf"
    mount -t proc proc "$base.tmp/proc"
    # The system part of a Rust toolchain: TLS roots for crates.io, the linker and libc.
    chroot "$base.tmp" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -q && apt-get install -y -q --no-install-recommends ca-certificates gcc libc6-dev &&
               apt-get clean && rm -rf /var/lib/apt/lists/*' >>"$FRESH_DIR/debootstrap.log" 2>&1 ||
        die "installing ca-certificates gcc libc6-dev in the base failed (see $FRESH_DIR/debootstrap.log)"
    umount "$base.tmp/proc"
    touch "$base.tmp/.ready"
    mv "$base.tmp" "$base"
fi
stage "base"

# --- this run's root: the base copied, the committed HEAD cloned, the toolchain bound ----------
head=$(git -C "$repo" rev-parse HEAD)
if [ "${FRESH_REUSE:-0}" = 1 ] && [ -d "$root/src/.git" ]; then
    say "reusing the last run's root (FRESH_REUSE=1)"
    git -C "$root/src" fetch -q "$repo" "$head"
    git -C "$root/src" checkout -q --detach "$head"
else
    rm -rf --one-file-system "$root"
    cp -a "$base" "$root"
    git clone -q --no-local --no-checkout "$repo" "$root/src"
    git -C "$root/src" checkout -q --detach "$head"
    mkdir -p "$root/root/.rustup" "$root/root/.cargo"
    cp -a "$CARGO_HOME/bin" "$root/root/.cargo/bin"
fi
# This machine's way out, as the machine's own setup rather than the project's: its resolver,
# and its TLS roots (its network may reach crates.io through a CA of its own).
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
# / is a mount point on a machine (ip -n NS makes it a slave mount: EINVAL on a plain directory).
mount --bind "$root" "$root"
mount --bind "$RUSTUP_HOME" "$root/root/.rustup"
mount -o remount,bind,ro "$root/root/.rustup"
# What a booted machine has: /proc, /sys, /dev (/dev/net/tun among it), a tmpfs /run.
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mkdir -p "$root/run/lock"
stage "root"
say "running \`$*\` at $(git -C "$repo" log -1 --format='%h %s' "$head" | cut -c1-70) as root in $root"

set +e
chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root TERM="${TERM:-dumb}" \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    RUSTUP_HOME=/root/.rustup CARGO_HOME=/root/.cargo ${CI:+CI=$CI} \
    sh -c 'cd /src && exec "$@"' sh "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
stage "command"

# The command's own closing total if it prints one (.ci/run, the scripts), else cargo's
# "test result:" lines added up.
total=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 || true)
if [ -n "$total" ]; then
    passed=${total%% *}
    failed=$(awk '{print $3}' <<<"$total")
else
    passed=$(grep -E '^test result:' "$log" | grep -Eo '[0-9]+ passed' | awk '{s += $1} END {print s + 0}')
    failed=$(grep -E '^test result:' "$log" | grep -Eo '[0-9]+ failed' | awk '{s += $1} END {print s + 0}')
fi
installed=$(grep -E '^installing .* with apt-get$' "$log" | sed 's/^installing \(.*\) with apt-get$/\1/' | sort -u)
say "packages the tests installed: $(tr '\n' ';' <<<"$installed" | sed 's/;$//; s/;/; /g')"
say "SKIP lines: $(grep -c 'SKIP' "$log" || true)"
grep 'SKIP' "$log" | sed 's/^/  /' || true
say "times: ${timings[*]}; exit status $status; output in $log"
say "$passed passed, $failed failed"
exit "$status"
