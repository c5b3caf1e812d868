#!/bin/bash
# vmtest: timeout=1200
# Benchmark (not a test): the same bulk TCP through the kernel's cdc_mbim (wwan0) and through
# mbimd on usbfs (mbim0e0, offloads on and off), in one VM, with the same simulated modem on
# vhci-hcd. The simulator runs in the guest and forwards the session to the TUN device fwd0
# in the guest's network namespace "peer" (mbim-sim serve --forward fwd0@peer), where the
# TCP sink and source listen on 192.0.2.1. Per path and direction: Mb/s and CPU seconds per
# GB (guest-wide busy time, the simulator's process, mbimd's process, and QEMU's own CPU time
# on the host), medians of windows (lib/tcpbench.py); then the ratios mbimd/kernel. The
# kernel's path is measured first and again last, and the ratios are over both: the host's
# load drifts over the minutes of a run. Run by `tests/vm/run.sh --bench cdc`
# (tests/vm/README.md, docs/performance.md). VM_PROFILE=1 adds a perf profile of every path.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
[ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh --bench builds it)"
tcpbench=$VM_REPO/tests/vm/lib/tcpbench.py
perfsplit=$VM_REPO/tests/vm/lib/perfsplit.py
results=$VM_OUT/results.jsonl
: >"$results"
rm -f "$VM_OUT/profiled.jsonl" "$VM_OUT/perfsplit.jsonl"
WARMUP=${VM_BENCH_WARMUP:-2}
WINDOW=${VM_BENCH_WINDOW:-2}
WINDOWS=${VM_BENCH_WINDOWS:-7}
PROFILE=${VM_PROFILE:-0}

step "the network behind the modem: fwd0 in the namespace peer"
modprobe tun 2>/dev/null || true
ip netns add peer
ip -n peer link set lo up
ip -n peer tuntap add dev fwd0 mode tun
ip -n peer addr add 192.0.2.1/32 dev fwd0
ip -n peer link set fwd0 up
ip -n peer route add 10.64.0.0/16 dev fwd0
pass "peer namespace with fwd0 (192.0.2.1, route to 10.64.0.0/16)"

attach_modem dssa 1 --forward fwd0@peer
sim_pid=$SIM_PID
wwan=

mbimd_pid=
# start_mbimd NAME TOML: mbimd with that configuration, its log in $VM_OUT/mbimd-NAME.log.
start_mbimd() {
    printf '%s\n' "$2" >"/tmp/mbimd-$1.toml"
    "$mbimd" --config "/tmp/mbimd-$1.toml" >"$VM_OUT/mbimd-$1.log" 2>&1 &
    mbimd_pid=$!
}
# end_mbimd: SIGTERM, then SIGKILL after 30 s; no verdict (lib/guest.sh's stop_mbimd checks).
end_mbimd() {
    kill -TERM "$mbimd_pid" 2>/dev/null || true
    wait_for 30 eval '! kill -0 '"$mbimd_pid" || kill -9 "$mbimd_pid" 2>/dev/null || true
    wait "$mbimd_pid" 2>/dev/null || true
    mbimd_pid=
}
# shellcheck disable=SC2317 # called through wait_for
has_address() { [[ $(ip -4 addr show dev "$1" 2>/dev/null) == *"10.64.0.2/30"* ]]; }
# shellcheck disable=SC2317 # called through wait_for
reaches_sink() { ping -c 1 -W 2 -I "$1" 192.0.2.1 >/dev/null 2>&1; }

# measure LABEL DEV NAME: both directions through DEV (lib/tcpbench.py), then with
# VM_PROFILE=1 a perf profile of each direction (not part of the figures: perf costs CPU too),
# its files named after NAME (the kernel's path is measured twice under one LABEL).
measure() {
    local label=$1 dev=$2 name=$3 dir tids
    if ! wait_for 30 reaches_sink "$dev"; then
        fail "$label: 192.0.2.1 does not answer ping through $dev"
        return 1
    fi
    pass "$label: 192.0.2.1 answers through $dev"
    if python3 "$tcpbench" run --label "$label" --dev "$dev" --netns peer --server 192.0.2.1 \
        --pid "mbimd=$mbimd_pid" --pid "sim=$sim_pid" \
        --warmup "$WARMUP" --window "$WINDOW" --windows "$WINDOWS" --results "$results" \
        --qemu "$VM_OUT"; then
        pass "$label: measured"
    else
        fail "$label: tcpbench failed"
    fi
    [ "$PROFILE" = 1 ] && command -v perf >/dev/null || return 0
    for dir in tx rx; do
        perf record -q -e cpu-clock -F 499 -a -g -o "/tmp/perf-$name-$dir.data" -- \
            python3 "$tcpbench" run --label "$name" --dev "$dev" --netns peer --server 192.0.2.1 \
            --pid "mbimd=$mbimd_pid" --pid "sim=$sim_pid" \
            --only "$dir" --warmup 1 --window 4 --windows 1 --results "$VM_OUT/profiled.jsonl" \
            >/dev/null 2>>"$VM_OUT/perf.log" || true
        # Where that CPU went, per process and part of the path, in s/GB (lib/perfsplit.py).
        python3 "$perfsplit" --data "/tmp/perf-$name-$dir.data" --label "$name" --dir "$dir" \
            --results "$VM_OUT/profiled.jsonl" --group "mbimd=$mbimd_pid" --group "sim=$sim_pid" \
            --save "$VM_OUT/perf-$name-$dir.script.gz" --out "$VM_OUT/perfsplit.jsonl" \
            >"$VM_OUT/perfsplit-$name-$dir.txt" \
            2>>"$VM_OUT/perf.log" || true
        # Per process and object, then mbimd's own hottest symbols (percent of all samples).
        {
            perf report -q -i "/tmp/perf-$name-$dir.data" --no-children --sort pid,dso \
                --stdio -g none --percent-limit 0.5
            # Every thread of mbimd (perf report's --pid takes the main thread's alone).
            tids=$(cd "/proc/$mbimd_pid/task" && echo *)
            echo "--- mbimd (pid $mbimd_pid, threads ${tids// /,})"
            perf report -q -i "/tmp/perf-$name-$dir.data" --no-children --tid "${tids// /,}" \
                --sort sym --stdio -g none --percent-limit 0.2
        } >"$VM_OUT/perf-$name-$dir.txt" 2>>"$VM_OUT/perf.log" || true
    done
}

# cdc_mbim_back: binds cdc_mbim to the MBIM function again if it has no driver (after mbimd
# on usbfs let it go).
# shellcheck disable=SC2317 # called through wait_for
cdc_mbim_back() {
    local i
    for i in /sys/bus/usb/devices/*:*; do
        if [ "$(cat "$i/bInterfaceClass" 2>/dev/null)" = 02 ] &&
            [ "$(cat "$i/bInterfaceSubClass" 2>/dev/null)" = 0e ] && [ ! -e "$i/driver" ]; then
            echo "${i##*/}" >/sys/bus/usb/drivers/cdc_mbim/bind 2>/dev/null || true
        fi
    done
    [ -e /dev/cdc-wdm0 ]
}

# kernel NAME: the kernel's path, wwan0 configured by mbimd with
# transport = kernel (its log: mbimd-NAME.log).
kernel() {
    step "($1) the kernel's cdc_mbim: mbimd with transport = kernel configures its netdev"
    if ! wait_for 10 exists /dev/cdc-wdm0 && ! wait_for 20 cdc_mbim_back; then
        fail "cdc_mbim does not have the function"
        return 0
    fi
    wwan=$(wwan_of /dev/cdc-wdm0) || { fail "no network device behind /dev/cdc-wdm0"; return 0; }
    start_mbimd "$1" '[logging]
level = "info"
target = "stderr"
[dns]
backend = "file:/tmp/mbimd-resolv.conf"
[[devices.rules]]
device = "1d6b:0104"
transport = "kernel"
[[profiles]]
name = "simulated"
apn = "internet"'
    if wait_for 90 has_address "$wwan"; then
        pass "$wwan has 10.64.0.2/30"
        # cdc_ncm's NTB sizes and transmit timer, for reading the figures.
        grep -H . "/sys/class/net/$wwan/cdc_ncm/"{rx_max,tx_max,tx_timer_usecs,min_tx_pkt} 2>/dev/null || true
        measure kernel "$wwan" "$1" || true
    else
        tail -n 20 "$VM_OUT/mbimd-$1.log"
        fail "no 10.64.0.2 on $wwan"
    fi
    end_mbimd
}
kernel kernel

# usbfs LABEL OFFLOAD: mbimd on usbfs (it takes the function from cdc_mbim), [datapath]
# offload = OFFLOAD, then the measurement through mbim0e0.
usbfs() {
    local label=$1 offload=$2
    step "($label) mbimd on usbfs, offload = $offload: mbim0e0"
    start_mbimd "$label" "[logging]
level = \"info\"
target = \"stderr\"
[dns]
backend = \"file:/tmp/mbimd-resolv.conf\"
[datapath]
offload = $offload
[[profiles]]
name = \"simulated\"
apn = \"internet\""
    if wait_for 90 exists /sys/class/net/mbim0e0 && wait_for 60 has_address mbim0e0; then
        pass "mbim0e0 has 10.64.0.2/30"
        measure "$label" mbim0e0 "$label" || true
    else
        tail -n 20 "$VM_OUT/mbimd-$label.log"
        fail "no 10.64.0.2 on mbim0e0"
    fi
    end_mbimd
}
usbfs mbimd+o true
usbfs mbimd false
kernel kernel-again

step "results"
python3 "$tcpbench" report --results "$results" --base kernel | tee "$VM_OUT/result.txt"
if [ "$PROFILE" = 1 ] && [ -s "$VM_OUT/perfsplit.jsonl" ]; then
    python3 "$perfsplit" report --out "$VM_OUT/perfsplit.jsonl" | tee "$VM_OUT/perfsplit.txt"
fi
ctl status >"$VM_OUT/sim-status.json" || true
finish
