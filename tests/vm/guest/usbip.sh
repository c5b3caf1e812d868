#!/bin/bash
# The usbipd-compatible server: `mbim-sim serve --listen 127.0.0.1:3240`, listed and attached
# with the stock usbip tool, bound by cdc_mbim, answering mbimcli; `usbip detach` removes it.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"

modprobe vhci-hcd || abort "modprobe vhci-hcd"
modprobe cdc_mbim || abort "modprobe cdc_mbim"
if [ -n "$VM_SIM_PROTOTYPE" ]; then
    sim_start serve --functions 1 --port 3240
else
    sim_start serve --scenario-name dssa --listen 127.0.0.1:3240 --control "$SIM_CONTROL"
fi
# shellcheck disable=SC2317 # called through wait_for
listed() { OUT=$(usbip list -r 127.0.0.1 2>&1) && echo "$OUT" | grep -Eq '^ +[0-9]+-[0-9.]+:'; }
if wait_for 20 listed; then
    pass "usbip list -r 127.0.0.1 shows an exported device"
    echo "$OUT"
else
    abort "usbip list -r 127.0.0.1: $OUT"
fi
busid=$(echo "$OUT" | sed -n 's/^ *\([0-9][0-9]*-[0-9.][0-9.]*\):.*/\1/p' | head -n 1)

if OUT=$(usbip attach -r 127.0.0.1 -b "$busid" 2>&1); then
    pass "usbip attach -r 127.0.0.1 -b $busid"
else
    abort "usbip attach -r 127.0.0.1 -b $busid: $OUT"
fi
if wait_for 30 exists /dev/cdc-wdm0; then pass "cdc_mbim bound it: /dev/cdc-wdm0"; else abort "no /dev/cdc-wdm0 after usbip attach"; fi
if query "--query-device-caps" /dev/cdc-wdm0 --query-device-caps; then
    expect_match "Device ID: '[0-9]+'" "DEVICE_CAPS answers"
fi

port=$(usbip port 2>/dev/null | sed -n 's/^Port \([0-9][0-9]*\):.*/\1/p' | head -n 1)
if [ -n "$port" ] && usbip detach -p "$port" >/dev/null 2>&1; then
    pass "usbip detach -p $port"
else
    fail "usbip detach (port '$port'): $(usbip port 2>&1 | tr '\n' ' ')"
fi
if wait_for 15 absent /dev/cdc-wdm0; then pass "/dev/cdc-wdm0 is gone after detach"; else fail "/dev/cdc-wdm0 still there after detach"; fi
finish
