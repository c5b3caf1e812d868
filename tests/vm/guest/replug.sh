#!/bin/bash
# Unplug and re-plug: `mbim-sim ctl unplug` and killing the simulator both make the device go
# away (/dev/cdc-wdm0 and the netdev disappear); starting the simulator again brings it back,
# and it answers.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"

dev=/dev/cdc-wdm0
replugged() {
    if query "--query-device-caps after plug $1" $dev --query-device-caps; then
        expect_match "Device ID: '[0-9]+'" "plug $1: DEVICE_CAPS answers"
    fi
}

step "plug 1"
attach_modem dssa 1
replugged 1

if [ -z "$VM_SIM_PROTOTYPE" ]; then
    step "mbim-sim ctl unplug"
    check "unplug accepted" ctl unplug || true
    if wait_for 15 absent $dev; then pass "$dev is gone after ctl unplug"; else fail "$dev still there 15 s after ctl unplug"; fi
    sim_kill
    step "plug 2"
    attach_modem dssa 1
    replugged 2
else
    skip "ctl unplug (the prototype has no control socket)"
fi

step "kill -9 the simulator"
kill -9 "$SIM_PID"
wait "$SIM_PID" 2>/dev/null || true
SIM_PID=
if wait_for 15 absent $dev; then pass "$dev is gone after the simulator died"; else fail "$dev still there 15 s after kill -9"; fi
if wait_for 5 eval '! ip -br link | grep -q ^wwan'; then pass "the wwan netdev is gone"; else fail "a wwan netdev remains: $(ip -br link)"; fi

step "plug 3"
attach_modem dssa 1
replugged 3
finish
