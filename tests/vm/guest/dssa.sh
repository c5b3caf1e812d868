#!/bin/bash
# The dual-SIM single-active slot policy end to end on real USB (vhci-hcd): mbimd takes the
# "dssa" modem (physical SIM in slot 0, eSIM in slot 1) with on-removal = "switch" and
# auto-switch = true. Removing the SIM makes mbimd map the executor to the eSIM slot and
# reconnect; putting it straight back is only suggested (the hold-down against
# oscillation); the user's SwitchToSlot over D-Bus moves it; each choice is remembered, and
# a restarted mbimd facing a fresh modem re-applies it. The modem's own mapping (mbim-sim ctl
# status) is the truth checked; the D-Bus API (a private dbus-daemon, busctl as the client)
# must show the same mapping and emit SlotSwitched for each switch.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
[ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh builds it)"

step "a private system bus"
start_private_bus

attach_modem dssa 1
state_file=/tmp/mbimd-slots.toml
rm -f "$state_file"
cat >/tmp/mbimd-dssa.toml <<TOML
# mbimd connects by itself: this is about its own API and slot policy.
[modemmanager]
api = "off"

[logging]
level = "info,mbimd=debug"
target = "stderr"

[[profiles]]
name = "simulated"
apn = "internet"

[slot-policy]
on-removal = "switch"
auto-switch = true
state-file = "$state_file"
TOML

mbimd_pid=
start_mbimd() {
    RUST_BACKTRACE=1 "$mbimd" --config /tmp/mbimd-dssa.toml >>"$VM_OUT/mbimd.log" 2>&1 &
    mbimd_pid=$!
}
# end_mbimd: SIGTERM, then SIGKILL after 30 s; no verdict (lib/guest.sh's stop_mbimd checks).
end_mbimd() {
    kill -TERM "$mbimd_pid" 2>/dev/null || true
    wait_for 30 eval '! kill -0 '"$mbimd_pid" || kill -KILL "$mbimd_pid" 2>/dev/null || true
}
# Signals from mbimd, one line each, for the whole test.
busctl monitor --system --match "type='signal',interface='dev.mbimd.Manager1'" \
    >"$VM_OUT/signals.log" 2>&1 &
monitor_pid=$!

# shellcheck disable=SC2317 # called through wait_for
sim_mapping_is() {
    ctl status && [ "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["status"]["slot_mapping"])))')" = "$1" ]
}
# shellcheck disable=SC2317 # called through wait_for
dbus_mapping_is() {
    [ "$(busctl --system get-property dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1/Modem0 dev.mbimd.Modem1 SlotMapping 2>/dev/null)" = "au 1 $1" ]
}
# shellcheck disable=SC2317 # called through wait_for
remembered_is() { grep -q "= $1\$" "$state_file" 2>/dev/null; }
# shellcheck disable=SC2317 # called through wait_for
online() {
    [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"10.64.0.2/30"* ]] &&
        ping -c 1 -W 2 -I mbim0e0 10.64.0.1 >/dev/null 2>&1
}
expect_slot_in_use() {
    local slot=$1 why=$2
    if wait_for 90 sim_mapping_is "$slot"; then
        pass "$why: the modem maps the executor to slot $slot"
    else
        tail -n 40 "$VM_OUT/mbimd.log"
        abort "$why: the modem's mapping is not [$slot]: $OUT"
    fi
    if wait_for 10 dbus_mapping_is "$slot"; then
        pass "$why: Modem0's SlotMapping on D-Bus is [$slot]"
    else
        fail "$why: SlotMapping on D-Bus: $(busctl --system get-property dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1/Modem0 dev.mbimd.Modem1 SlotMapping 2>&1)"
    fi
    if wait_for 10 remembered_is "$slot"; then
        pass "$why: slot $slot is remembered in $state_file"
    else
        fail "$why: $state_file: $(cat "$state_file" 2>&1)"
    fi
    if wait_for 60 online; then
        pass "$why: mbim0e0 is connected again and 10.64.0.1 answers ping"
    else
        tail -n 40 "$VM_OUT/mbimd.log"
        fail "$why: no connection through mbim0e0"
    fi
}

step "first sight: the physical SIM is there"
start_mbimd
expect_slot_in_use 0 "first sight"

step "the SIM is removed: mbimd switches to the eSIM"
check "remove-sim accepted" ctl remove-sim --slot 0 || true
expect_slot_in_use 1 "after the removal"
if wait_for 10 grep -q sim-removed "$VM_OUT/signals.log"; then
    pass "SlotSwitched(… 0 → 1, sim-removed) was signalled"
else
    cat "$VM_OUT/signals.log"
    fail "no SlotSwitched to slot 1"
fi

step "the SIM is inserted again within the hold-down: only a suggestion"
# A switch holds further automatic switches back for a minute (no oscillation with a
# flapping card): the insertion right after the removal is suggested, not done.
check "insert-sim accepted" ctl insert-sim --slot 0 || true
if wait_for 30 grep -q sim-inserted "$VM_OUT/signals.log"; then
    pass "SlotSwitchSuggested(… 1 → 0, sim-inserted) was signalled"
else
    cat "$VM_OUT/signals.log"
    fail "no SlotSwitchSuggested with reason sim-inserted"
fi
if grep -B1 -A8 'Member=SlotSwitchSuggested' "$VM_OUT/signals.log" | grep -q sim-inserted; then
    pass "it is a suggestion, not a switch"
else
    fail "the sim-inserted signal is not SlotSwitchSuggested"
fi
if sim_mapping_is 1; then pass "the modem stays on slot 1"; else fail "the mapping moved: $OUT"; fi

step "the user switches with SwitchToSlot (busctl)"
modem_call() { busctl --system call dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1/Modem0 dev.mbimd.Modem1 "$@"; }
if modem_call SwitchToSlot u 0 >"$VM_OUT/call.log" 2>&1; then
    pass "SwitchToSlot(0) accepted"
else
    fail "SwitchToSlot(0): $(cat "$VM_OUT/call.log")"
fi
expect_slot_in_use 0 "after SwitchToSlot(0)"
# dbus-send, a second client, because it prints the error's name.
if dbus-send --system --print-reply --dest=dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1/Modem0 \
    dev.mbimd.Modem1.SwitchToSlot uint32:7 >"$VM_OUT/call.log" 2>&1; then
    fail "SwitchToSlot(7) on a two-slot modem was accepted"
elif grep -q 'org.freedesktop.DBus.Error.InvalidArgs' "$VM_OUT/call.log" && sim_mapping_is 0; then
    pass "SwitchToSlot(7) is refused as invalid and changes nothing: $(cat "$VM_OUT/call.log")"
else
    fail "SwitchToSlot(7): $(cat "$VM_OUT/call.log"); mapping $OUT"
fi
if modem_call SwitchToSlot u 1 >"$VM_OUT/call.log" 2>&1; then
    pass "SwitchToSlot(1) accepted"
else
    fail "SwitchToSlot(1): $(cat "$VM_OUT/call.log")"
fi
expect_slot_in_use 1 "after SwitchToSlot(1)"

step "a restart remembers the choice"
end_mbimd
if absent /sys/class/net/mbim0e0; then pass "mbim0e0 removed with mbimd"; else fail "mbim0e0 outlived mbimd"; fi
# A fresh modem: its SIM in slot 0 and the executor mapped there.
sim_kill
# shellcheck disable=SC2046 # two words, no globbing characters
sim_start serve $(scenario_args dssa) --attach --control "$SIM_CONTROL"
if wait_for 30 sim_mapping_is 0; then pass "the fresh modem starts on slot 0"; else abort "fresh modem: $OUT"; fi
start_mbimd
expect_slot_in_use 1 "after the restart"

step "SIGTERM"
end_mbimd
kill "$monitor_pid" 2>/dev/null || true
finish
