#!/usr/bin/env bash
# System tests in a VM: boots a stock Debian kernel in QEMU (TCG) once per guest test script
# (tests/vm/guest/*.sh, or the ones named on the command line), with the host's root mounted
# read-only in the guest, and the simulated modem (target/debug/mbim-sim) attached to the
# guest kernel over USB/IP. See tests/vm/README.md.
#
#   tests/vm/run.sh [TEST...]      TEST: a script name in tests/vm/guest, with or without .sh
#   tests/vm/run.sh --bench NAME   a benchmark: tests/vm/bench/NAME.sh, with release builds
#
# Ends with the line "N passed, M failed"; exits 1 if any test failed. A benchmark ends with
# its table of figures instead (and exits 1 if it could not measure everything); it is never
# part of the tests' totals.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
export VM_DIR=${VM_DIR:-$target_dir/vm}
VM_TIMEOUT=${VM_TIMEOUT:-300}     # seconds per VM, boot to power-off
VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-240} # seconds for the guest to reach its test (then one retry); a
# systemd boot (sandbox.sh) under TCG on a loaded 2-core machine has taken over 120 s
VM_MEM=${VM_MEM:-1024}            # MiB
VM_SMP=${VM_SMP:-2}
VM_NICE=${VM_NICE:-5}
VM_VERBOSE=${VM_VERBOSE:-0}       # 1: stream the guest console while it runs
VM_SIM_PROTOTYPE=${VM_SIM_PROTOTYPE:-} # a Python prototype simulator to use instead of mbim-sim
VM_PROFILE=${VM_PROFILE:-0}       # 1: a benchmark adds perf profiles (tests/vm/bench/*.sh)

say() { echo "vm: $*"; }
die() { echo "vm: error: $*" >&2; exit 2; }

case "$repo$VM_DIR" in
    *[[:space:],]*) die "paths with spaces or commas are not supported: $repo, $VM_DIR" ;;
esac

# --- tools: install what is missing (CI runs as root on Debian bookworm) -----------------------
missing=()
need() { # need COMMAND PACKAGE
    # On the guest's PATH (lib/stage2.sh's), which a tool on this shell's PATH alone is not.
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$1" >/dev/null 2>&1 ||
        missing+=("$2")
}
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need depmod kmod
need modprobe kmod
need usbip usbip
need mbimcli libmbim-utils
need ip iproute2
need ping iputils-ping
need timeout coreutils
need gzip gzip
# For the tests with systemd as PID 1 (guest/sandbox.sh): the host's systemd, system bus,
# udevd and busctl, which the guest sees through its root.
need systemctl systemd
need udevadm udev
need busctl systemd
# guest/networkmanager.sh: the distribution's NetworkManager, run only in the guest.
need nmcli network-manager
# The harness's and the guest tests' scripts are checked before anything boots.
need shellcheck shellcheck
dpkg-query -W -f='${Status}' dbus 2>/dev/null | grep -q 'ok installed' || missing+=(dbus)
# polkitd: resolved asks it whether the user mbimd may set a link's DNS (packaged rule).
[ -x /usr/lib/polkit-1/polkitd ] || missing+=(polkitd)
# The other guest tests run this machine's programs too: the D-Bus tests' private bus and
# clients, and python3 (JSON and UDP in dssa.sh, mbimd.sh).
need dbus-daemon dbus-daemon
need dbus-send dbus-bin
need python3 python3
# busybox must be the static one: it is PID 1 of the initramfs.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' ||
    missing+=(busybox-static)
if [ "${#missing[@]}" -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    [ "$(id -u)" = 0 ] || die "missing packages (install them as root): ${missing[*]}"
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}"; then
        apt-get update -q
        apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
fi

# --- the scripts: clean under shellcheck (tests/vm/README.md, "Shell style") ------------------
(cd "$repo" && shellcheck -x tests/vm/run.sh tests/vm/lib/*.sh tests/vm/guest/*.sh tests/vm/bench/*.sh &&
    shellcheck -s sh tests/vm/lib/init) || die "shellcheck found problems in the VM scripts (above)"

# --- tests to run -------------------------------------------------------------------------------
# A benchmark runs the same way as a guest test, from tests/vm/bench, with the release
# binaries (a debug build's speed says nothing), and reports figures rather than a verdict.
bench=
scripts=$here/guest
if [ "${1:-}" = --bench ]; then
    [ "$#" = 2 ] || die "usage: $0 --bench NAME (one of: $(cd "$here/bench" && echo *.sh))"
    bench=$(basename "${2%.sh}")
    scripts=$here/bench
    [ -f "$scripts/$bench.sh" ] || die "no such benchmark: $scripts/$bench.sh"
    set --
fi
tests=()
if [ -n "$bench" ]; then
    tests=("$bench")
elif [ "$#" -gt 0 ]; then
    for t in "$@"; do
        t=$(basename "${t%.sh}")
        [ -f "$here/guest/$t.sh" ] || die "no such guest test: $here/guest/$t.sh"
        tests+=("$t")
    done
else
    for f in "$here"/guest/*.sh; do tests+=("$(basename "${f%.sh}")"); done
fi

# One run at a time per VM_DIR: the results directories are shared.
mkdir -p "$VM_DIR"
exec 9>"$VM_DIR/.lock"
if ! flock -n 9; then
    say "waiting for another tests/vm/run.sh using $VM_DIR"
    flock 9
fi

t_start=$(date +%s)

# --- the simulator ------------------------------------------------------------------------------
profile=debug
[ -z "$bench" ] || profile=release
mbim_sim=$target_dir/$profile/mbim-sim
if [ -n "$bench" ]; then
    [ -z "$VM_SIM_PROTOTYPE" ] || die "a benchmark needs mbim-sim, not VM_SIM_PROTOTYPE"
    missing=()
    [ "$VM_PROFILE" != 1 ] || need perf linux-perf
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
            die "apt-get install ${missing[*]} failed"
    fi
    say "cargo build --release -p mbim-sim -p mbimd"
    (cd "$repo" && cargo build -q --release -p mbim-sim -p mbimd) ||
        die "cargo build --release -p mbim-sim -p mbimd failed"
elif [ -n "$VM_SIM_PROTOTYPE" ]; then
    [ -r "$VM_SIM_PROTOTYPE" ] || die "VM_SIM_PROTOTYPE=$VM_SIM_PROTOTYPE is not readable"
    say "simulator: prototype $VM_SIM_PROTOTYPE"
else
    # mbimd too: guest/mbimd.sh runs the daemon against the simulator on vhci-hcd.
    say "cargo build -p mbim-sim -p mbimd"
    (cd "$repo" && cargo build -q -p mbim-sim -p mbimd) || die "cargo build -p mbim-sim -p mbimd failed"
    [ -x "$mbim_sim" ] || die "no $mbim_sim after cargo build"
fi

# --- kernel and initramfs (cached) -------------------------------------------------------------
prepared=$("$here/lib/prepare.sh") || die "preparing the kernel failed"
kver=$(sed -n 's/^KVER=//p' <<<"$prepared")
[ -n "$kver" ] || die "preparing the kernel failed"
# systemd-resolved unpacked for guest/resolved.sh (empty: not available, that test skips).
resolved_dir=$(sed -n 's/^RESOLVED=//p' <<<"$prepared")
kdir=$VM_DIR/kernel/$kver
initrd=$VM_DIR/initramfs-$kver.cpio.gz
say "kernel $kver, $(nproc) host CPUs, ${#tests[@]} test(s), prepared in $(($(date +%s) - t_start)) s"

# --- one VM per test ----------------------------------------------------------------------------
# boot_vm OUT: runs the VM of one test with its console in OUT/console.log and returns qemu's
# exit status (124 or 137: killed at VM_TIMEOUT), or BOOT_HUNG when the guest has not started
# its test (no VMTEST-START) within VM_BOOT_TIMEOUT: under TCG a boot very rarely hangs, and
# that says nothing about the test.
BOOT_HUNG=200
boot_vm() {
    local out=$1 qpid waited=0 follow=
    timeout -k 10 "$vm_timeout" nice -n "$VM_NICE" qemu-system-x86_64 \
        -nodefaults -no-user-config -accel tcg,thread=multi -smp "$VM_SMP" -m "$VM_MEM" \
        -display none -monitor none -serial stdio -no-reboot -pidfile "$out/qemu.pid" \
        -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
        -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=$out,mount_tag=vmout,security_model=none,multidevs=remap" \
        -append "console=ttyS0 quiet loglevel=4 panic=-1 vmtest.out=$out vmtest.kver=$kver vmtest.mods=$kdir/lib/modules/$kver vmtest.stage2=$here/lib/stage2.sh" \
        </dev/null >"$out/console.log" 2>&1 &
    qpid=$!
    # The guest console streams to the terminal too with VM_VERBOSE=1.
    if [ "$VM_VERBOSE" = 1 ]; then
        tail -n +1 -f --pid="$qpid" "$out/console.log" &
        follow=$!
    fi
    while ! grep -q VMTEST-START "$out/console.log" 2>/dev/null; do
        kill -0 "$qpid" 2>/dev/null || break
        if [ "$waited" -ge "$VM_BOOT_TIMEOUT" ]; then
            kill "$qpid" 2>/dev/null
            wait "$qpid" 2>/dev/null
            [ -z "$follow" ] || wait "$follow" 2>/dev/null
            return "$BOOT_HUNG"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    wait "$qpid"
    local rc=$?
    [ -z "$follow" ] || wait "$follow" 2>/dev/null
    return "$rc"
}

passed=0
failed=0
failed_names=()
skipped_names=()
for t in "${tests[@]}"; do
    out=$VM_DIR/out/$t
    [ -z "$bench" ] || out=$VM_DIR/out/bench-$t
    rm -rf "$out"
    mkdir -p "$out"
    # "# vmtest: timeout=SECONDS" in a guest script: a longer life for that VM (a systemd boot
    # under TCG takes a while), never a shorter one than VM_TIMEOUT.
    vm_timeout=$(sed -n 's/^# vmtest: timeout=\([0-9]*\)$/\1/p' "$scripts/$t.sh")
    [ -n "$vm_timeout" ] && [ "$vm_timeout" -gt "$VM_TIMEOUT" ] || vm_timeout=$VM_TIMEOUT
    {
        printf 'VM_REPO=%q\n' "$repo"
        printf 'VM_TEST=%q\n' "$t"
        printf 'VM_TEST_SCRIPT=%q\n' "$scripts/$t.sh"
        printf 'VM_OUT=%q\n' "$out"
        printf 'VM_MBIM_SIM=%q\n' "$mbim_sim"
        printf 'VM_SIM_PROTOTYPE=%q\n' "$VM_SIM_PROTOTYPE"
        printf 'VM_RESOLVED=%q\n' "$resolved_dir"
        printf 'VM_GUEST_TIMEOUT=%q\n' "$((vm_timeout > 40 ? vm_timeout - 20 : vm_timeout))"
        printf 'VM_PROFILE=%q\n' "$VM_PROFILE"
        for v in VM_BENCH_WARMUP VM_BENCH_WINDOW VM_BENCH_WINDOWS; do
            [ -z "${!v:-}" ] || printf '%s=%q\n' "$v" "${!v}"
        done
        # "# vmtest: init=systemd" in a guest script: systemd is PID 1 (lib/stage2.sh).
        printf 'VM_INIT=%q\n' "$(sed -n 's/^# vmtest: init=\([a-z]*\)$/\1/p' "$scripts/$t.sh")"
    } >"$out/env"

    t0=$(date +%s)
    # A benchmark also gets QEMU's own CPU time at the guest's window boundaries (the marks
    # of lib/tcpbench.py): what the VM cost the host, whatever the host's load.
    sampler=
    if [ -n "$bench" ]; then
        python3 "$here/lib/tcpbench.py" qemu-sampler --out "$out" &
        sampler=$!
    fi
    set +e
    boot_vm "$out"
    qrc=$?
    if [ "$qrc" = "$BOOT_HUNG" ]; then
        # The emulator, not the code under test: a guest that never reached its test
        # script is booted once more, and the first attempt's console kept.
        say "$t: the VM did not reach the test within ${VM_BOOT_TIMEOUT} s; booting it again"
        mv "$out/console.log" "$out/console-boot-hang.log"
        boot_vm "$out"
        qrc=$?
    fi
    set -e
    [ -z "$sampler" ] || wait "$sampler" || true
    secs=$(($(date +%s) - t0))

    rc=$(cat "$out/rc" 2>/dev/null || true)
    if [ "$rc" = 0 ]; then
        passed=$((passed + 1))
        say "PASS $t (${secs} s)"
    elif [ "$rc" = 77 ]; then
        skipped_names+=("$t")
        say "SKIP $t (${secs} s): $(grep -m1 '^SKIP' "$out/test.log" || true)"
    else
        failed=$((failed + 1))
        failed_names+=("$t")
        if [ "$qrc" = "$BOOT_HUNG" ]; then
            why="the VM did not reach the test in two boots"
        elif [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
            why="the VM hung (killed after ${vm_timeout} s)"
        elif [ -z "$rc" ]; then
            why="the guest left no exit status (qemu exit $qrc)"
        elif [ "$rc" = 124 ]; then
            why="the guest test timed out"
        else
            why="guest test exit status $rc"
        fi
        say "FAIL $t (${secs} s): $why"
        echo "---- $t: FAIL lines"
        grep -E '^FAIL' "$out/test.log" 2>/dev/null || true
        echo "---- $t: last 40 lines of the guest console ($out/console.log)"
        tail -n 40 "$out/console.log" | tr -d '\r'
        echo "----"
    fi
done

if [ -n "$bench" ]; then
    say "benchmark $bench: $(($(date +%s) - t_start)) s; logs in $out/"
    [ -s "$out/result.txt" ] && cat "$out/result.txt"
    [ "$failed" -eq 0 ]
    exit
fi
say "total $(($(date +%s) - t_start)) s; logs in $VM_DIR/out/<test>/"
[ "${#skipped_names[@]}" -eq 0 ] || say "skipped: ${skipped_names[*]}"
[ "$failed" -eq 0 ] || say "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
