#!/bin/bash
# Two PDN sessions at once on mbimd's own usbfs path: the simulated modem on real USB
# (vhci-hcd), mbimd takes it from cdc_mbim, connects the internet session on mbim0e0 and
# the profile's IMS session ([[profiles.sessions]]) on mbim0e0s1, each with its own
# address; both gateways answer ping at the same time, the IMS device has no default
# route, each session's UDP reaches its own sink in the simulator (counted per session),
# and SIGTERM removes both devices.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
[ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh builds it)"

attach_modem dssa 1

step "mbimd brings up two sessions"
cat >/tmp/mbimd-sessions.toml <<'TOML'
[logging]
level = "info,mbimd=debug"
target = "stderr"

[dns]
backend = "none"

[[profiles]]
name = "simulated"
apn = "internet"

[[profiles.sessions]]
name = "ims"
apn = "ims"
context-type = "ims"
TOML
RUST_BACKTRACE=1 "$mbimd" --config /tmp/mbimd-sessions.toml >"$VM_OUT/mbimd.log" 2>&1 &
mbimd_pid=$!
# has_address DEVICE ADDRESS: DEVICE has the IPv4 address ADDRESS.
# shellcheck disable=SC2317 # called through wait_for
has_address() { [[ $(ip -4 addr show dev "$1" 2>/dev/null) == *"$2"* ]]; }
if wait_for 60 exists /sys/class/net/mbim0e0 && wait_for 30 has_address mbim0e0 10.64.0.2/30; then
    pass "session 0: mbim0e0 has 10.64.0.2/30"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    abort "no mbim0e0 with 10.64.0.2"
fi
if wait_for 60 exists /sys/class/net/mbim0e0s1 \
    && wait_for 30 has_address mbim0e0s1 10.64.0.6/30; then
    pass "session 1 (ims): mbim0e0s1 has 10.64.0.6/30"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    abort "no mbim0e0s1 with 10.64.0.6"
fi
if wait_for 5 absent /dev/cdc-wdm0; then
    pass "mbimd drives the modem over usbfs (cdc_mbim let it go)"
else
    fail "/dev/cdc-wdm0 is still there"
fi

step "both gateways at once"
ping -c 5 -i 0.2 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping0.log" 2>&1 &
ping0=$!
ping -c 5 -i 0.2 -W 5 -I mbim0e0s1 10.64.0.5 >"$VM_OUT/ping1.log" 2>&1 &
ping1=$!
if wait "$ping0"; then
    pass "10.64.0.1 answers ping through mbim0e0"
else
    cat "$VM_OUT/ping0.log"
    fail "no ping reply from 10.64.0.1 through mbim0e0"
fi
if wait "$ping1"; then
    pass "10.64.0.5 answers ping through mbim0e0s1 at the same time"
else
    cat "$VM_OUT/ping1.log"
    fail "no ping reply from 10.64.0.5 through mbim0e0s1"
fi
if [ -n "$(ip -4 route show default dev mbim0e0 2>/dev/null)" ] \
    && [ -z "$(ip -4 route show default dev mbim0e0s1 2>/dev/null)" ]; then
    pass "the default route is session 0's; the IMS session has none"
else
    ip -4 route show
    fail "default routes: not session 0's alone"
fi

step "each session's UDP reaches its own sink"
check "session 0's sink on 10.64.0.1:5001" ctl traffic --executor 0 --session 0 --sink-port 5001
check "session 1's sink on 10.64.0.5:5001" ctl traffic --executor 0 --session 1 --sink-port 5001
# 40 datagrams on session 0 and 25 on session 1, interleaved, so both travel in the same
# NTBs: each must be counted by its own session's sink.
udp_result=$(python3 - <<'PY' 2>&1
import socket, time
s0 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s0.bind(("10.64.0.2", 0))
s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s1.bind(("10.64.0.6", 0))
for i in range(40):
    s0.sendto(b"0" * 300, ("10.64.0.1", 5001))
    if i < 25:
        s1.sendto(b"1" * 200, ("10.64.0.5", 5001))
    time.sleep(0.002)
print("sent")
PY
)
[ "$udp_result" = sent ] || fail "sending UDP: $udp_result"
# sink_count SESSION: what the simulator's sink of SESSION counted (packets bytes).
sink_count() {
    ctl status >/dev/null || return 1
    printf '%s\n' "$OUT" | python3 -c '
import json, sys
sinks = json.load(sys.stdin)["status"]["executors"][0]["sinks"]
sink = sinks.get(sys.argv[1], {"packets": 0, "bytes": 0})
print(sink["packets"], sink["bytes"])' "$1"
}
# shellcheck disable=SC2317 # called through wait_for
sinks_full() { [ "$(sink_count 0)" = "40 12000" ] && [ "$(sink_count 1)" = "25 5000" ]; }
if wait_for 10 sinks_full; then
    pass "session 0's sink counted 40 datagrams (12000 bytes), session 1's 25 (5000 bytes)"
else
    fail "per-session sinks: session 0 $(sink_count 0 || true), session 1 $(sink_count 1 || true)"
fi
check "traffic stopped" ctl traffic --executor 0 --session 0
check "traffic stopped" ctl traffic --executor 0 --session 1

step "SIGTERM"
stop_mbimd "$mbimd_pid" mbim0e0 mbim0e0s1
finish
