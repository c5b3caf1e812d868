#!/bin/bash
# The harness itself: the simulated modem enumerates on vhci-hcd, cdc_mbim binds it,
# mbimcli gets an answer to DEVICE_CAPS. With VM_SIM_PROTOTYPE set, the Python prototype
# stands in for mbim-sim, and a ping through wwan0 (which it answers) checks the data path.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"

step "attach"
attach_modem dssa 1
dev=/dev/cdc-wdm0
driver=$(basename "$(readlink /sys/class/usbmisc/cdc-wdm0/device/driver)")
check "cdc-wdm0 belongs to cdc_mbim (driver: $driver)" [ "$driver" = cdc_mbim ] || true
wwan=$(wwan_of $dev) || true
check "$dev has a network interface ($wwan)" [ -n "$wwan" ] || true

step "DEVICE_CAPS"
if query "mbimcli --query-device-caps" $dev --query-device-caps; then
    echo "$OUT"
    expect_match "Device ID: '[0-9]+'" "DEVICE_CAPS carries a device id"
fi

if [ -n "$VM_SIM_PROTOTYPE" ]; then
    step "ping through $wwan (the prototype answers any echo request)"
    ip link set "$wwan" up
    ip addr add 10.66.0.1/24 dev "$wwan"
    if ping -c 3 -W 3 -I "$wwan" 10.66.0.2; then
        pass "ping 10.66.0.2 through $wwan"
    else
        fail "ping 10.66.0.2 through $wwan"
    fi
fi
finish
