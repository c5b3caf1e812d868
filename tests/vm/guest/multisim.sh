#!/bin/bash
# Microsoft multi-SIM CIDs (seed 004) through mbimcli on the one-executor dual-slot "dssa"
# modem: SYS_CAPS, DEVICE_CAPS_V2, DEVICE_SLOT_MAPPINGS (query, switch to the eSIM slot and
# back, an invalid mapping refused) and SLOT_INFO_STATUS of every slot.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim (the prototype answers DEVICE_CAPS only)"
mbimcli_has ms-query-sys-caps ||
    skip_all "mbimcli $(mbimcli --version | head -n 1) has no --ms-query-sys-caps (libmbim < 1.26)"

attach_modem dssa 1
dev=/dev/cdc-wdm0

step "SYS_CAPS"
if query "--ms-query-sys-caps" $dev --ms-query-sys-caps; then
    expect_field "Number of executors" 1
    expect_field "Number of slots" 2
    expect_field "Concurrency" 1
    expect_field "Modem ID" "$((0x6d62696d64000001))"
fi

step "DEVICE_CAPS_V2"
if query "--ms-query-device-caps" $dev --ms-query-device-caps; then
    expect_field "Executor Index" 0
    expect_field "Device ID" 350000000000001
    expect_field "Hardware info" "simulated DSSA"
fi

step "SLOT_INFO_STATUS, executor on slot 0"
if query "--ms-query-device-slot-mappings" $dev --ms-query-device-slot-mappings; then
    expect_match "Executor '0': slot '0'" "executor 0 is mapped to slot 0"
fi
if query "--ms-query-slot-info-status=0" $dev --ms-query-slot-info-status=0; then
    expect_slot 0 active "slot 0 (physical, SIM) is active"
fi
if query "--ms-query-slot-info-status=1" $dev --ms-query-slot-info-status=1; then
    expect_slot 1 active-esim "slot 1 (embedded, active profile) is active-esim"
fi
if mbim $dev --ms-query-slot-info-status=2; then
    fail "--ms-query-slot-info-status=2 (no such slot) succeeded: $(echo "$OUT" | tr '\n' ' ')"
else
    pass "--ms-query-slot-info-status=2 (no such slot) is refused"
fi

step "switch executor 0 to slot 1 (the eSIM)"
if query "--ms-set-device-slot-mappings=1" $dev --ms-set-device-slot-mappings=1; then
    expect_match "Executor '0': slot '1'" "the set answers with the new mapping"
fi
if query "--ms-query-device-slot-mappings" $dev --ms-query-device-slot-mappings; then
    expect_match "Executor '0': slot '1'" "executor 0 is mapped to slot 1"
fi
# The executor now works from the eSIM: its subscriber identity follows (it may take a moment
# to become ready after the switch).
if wait_for 10 subscriber_ready $dev 8988200000000000002; then
    pass "subscriber is the eSIM's (ICCID 8988200000000000002), ready"
else
    fail "subscriber after the switch: $(echo "$OUT" | tr '\n' ' ')"
fi
# Both slots keep their cards' states whichever is mapped (seed 004's DSSA trace).
if query "--ms-query-slot-info-status=0" $dev --ms-query-slot-info-status=0; then
    expect_slot 0 active "slot 0 is still active"
fi
if query "--ms-query-slot-info-status=1" $dev --ms-query-slot-info-status=1; then
    expect_slot 1 active-esim "slot 1 is active-esim"
fi

step "an invalid mapping is refused and changes nothing"
if mbim $dev --ms-set-device-slot-mappings=5; then
    fail "--ms-set-device-slot-mappings=5 (no such slot) succeeded"
else
    pass "--ms-set-device-slot-mappings=5 (no such slot) is refused"
fi
if query "--ms-query-device-slot-mappings" $dev --ms-query-device-slot-mappings; then
    expect_match "Executor '0': slot '1'" "the mapping is still slot 1"
fi

step "back to slot 0"
if query "--ms-set-device-slot-mappings=0" $dev --ms-set-device-slot-mappings=0; then
    expect_match "Executor '0': slot '0'" "the set answers with slot 0"
fi
if wait_for 10 subscriber_ready $dev 8988200000000000001; then
    pass "subscriber is slot 0's SIM again (ICCID 8988200000000000001), ready"
else
    fail "subscriber after switching back: $(echo "$OUT" | tr '\n' ' ')"
fi
if query "--ms-query-slot-info-status=0" $dev --ms-query-slot-info-status=0; then
    expect_slot 0 active
fi
finish
