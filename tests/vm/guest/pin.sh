#!/bin/bash
# PIN1 and PUK1 through mbimcli: the "dssa" scenario with PIN1 enabled on slot 0's card (a copy
# of simulator/scenarios/dssa.toml made in the guest), so the card starts locked.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim (the prototype answers DEVICE_CAPS only)"

# The first card's pin_enabled = false becomes true; its PIN is 1234, its PUK 12345678.
scenario=/tmp/dssa-pin.toml
sed -e '0,/^pin_enabled = false/s//pin_enabled = true/' -e 's/^name = "dssa"/name = "dssa-pin"/' \
    "$VM_REPO/simulator/scenarios/dssa.toml" >"$scenario"
grep -q '^pin_enabled = true' "$scenario" || abort "could not enable PIN1 in a copy of dssa.toml"
attach_modem "$scenario" 1
dev=/dev/cdc-wdm0

step "locked at power-on"
if query "--query-subscriber-ready-status" $dev --query-subscriber-ready-status; then
    expect_field "Ready state" device-locked
fi
if query "--query-pin-state" $dev --query-pin-state; then
    expect_field "PIN state" locked
    expect_field "PIN type" pin1
    expect_field "Remaining attempts" 3
fi

step "a wrong PIN"
if mbim $dev --enter-pin=0000; then
    fail "--enter-pin=0000 (wrong) succeeded"
else
    pass "--enter-pin=0000 (wrong) is refused"
fi
if query "--query-pin-state" $dev --query-pin-state; then
    expect_field "PIN state" locked
    expect_field "Remaining attempts" 2
fi

step "the right PIN"
if query "--enter-pin=1234" $dev --enter-pin=1234; then
    expect_match "PIN operation successful" "PIN accepted"
fi
if query "--query-pin-state" $dev --query-pin-state; then
    expect_field "PIN state" unlocked
fi
if query "--query-subscriber-ready-status" $dev --query-subscriber-ready-status; then
    expect_field "Ready state" initialized
    expect_field "SIM ICCID" 8988200000000000001
fi
if query "--query-registration-state" $dev --query-registration-state; then
    expect_field "Register state" home
fi

step "PIN1 blocked (mbim-sim ctl block-pin --slot 0), unblocked with the PUK"
if check "mbim-sim ctl block-pin --slot 0" ctl block-pin --slot 0; then
    if query "--query-pin-state" $dev --query-pin-state; then
        expect_field "PIN state" locked
        expect_field "PIN type" puk1
    fi
    if query "--enter-puk=12345678,4321" $dev --enter-puk=12345678,4321; then
        expect_match "PIN operation successful" "PUK accepted"
    fi
    if query "--query-pin-state" $dev --query-pin-state; then
        expect_field "PIN state" unlocked
    fi
fi
finish
