#!/bin/bash
# SIM removal and insertion driven through the control socket (mbim-sim ctl remove-sim /
# insert-sim) show up in MS SLOT_INFO_STATUS and SUBSCRIBER_READY_STATUS, on the "dssa" modem.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim (control socket)"
mbimcli_has ms-query-slot-info-status ||
    skip_all "mbimcli $(mbimcli --version | head -n 1) has no --ms-query-slot-info-status (libmbim < 1.26)"

attach_modem dssa 1
dev=/dev/cdc-wdm0

# slot_is SLOT STATE: SLOT_INFO_STATUS reports STATE for SLOT (for wait_for).
# shellcheck disable=SC2317 # called through wait_for
slot_is() {
    mbim "$dev" --ms-query-slot-info-status="$1" && slot_state_in_out "$1" "$2"
}
# ready_state_is STATE: SUBSCRIBER_READY_STATUS's ReadyState is STATE (for wait_for).
# shellcheck disable=SC2317 # called through wait_for
ready_state_is() {
    mbim "$dev" --query-subscriber-ready-status && [ "$(field "Ready state")" = "$1" ]
}

step "before"
if wait_for 10 slot_is 0 active; then pass "slot 0 is active"; else fail "slot 0: $OUT"; fi
if wait_for 10 subscriber_ready $dev 8988200000000000001; then
    pass "subscriber ready on slot 0's SIM"
else
    fail "subscriber: $(echo "$OUT" | tr '\n' ' ')"
fi

step "mbim-sim ctl remove-sim --slot 0"
check "remove-sim accepted" ctl remove-sim --slot 0 || true
if wait_for 10 slot_is 0 empty; then pass "slot 0 is empty"; else fail "slot 0 after removal: $OUT"; fi
if wait_for 10 ready_state_is sim-not-inserted; then
    pass "subscriber ready state is sim-not-inserted"
else
    fail "subscriber after removal: $(echo "$OUT" | tr '\n' ' ')"
fi
if wait_for 5 slot_is 1 active-esim; then pass "slot 1 is untouched (active-esim)"; else fail "slot 1: $OUT"; fi
if ctl remove-sim --slot 0; then
    fail "a second remove-sim from the empty slot 0 was accepted"
else
    pass "remove-sim from the empty slot 0 is refused: $OUT"
fi

step "mbim-sim ctl insert-sim --slot 0"
check "insert-sim accepted" ctl insert-sim --slot 0 || true
if wait_for 10 slot_is 0 active; then pass "slot 0 is active again"; else fail "slot 0 after insertion: $OUT"; fi
if wait_for 10 subscriber_ready $dev; then
    pass "subscriber ready again (ICCID $(field "SIM ICCID"))"
else
    fail "subscriber after insertion: $(echo "$OUT" | tr '\n' ' ')"
fi
if ctl insert-sim --slot 0; then
    fail "insert-sim into the occupied slot 0 was accepted"
else
    pass "insert-sim into the occupied slot 0 is refused: $OUT"
fi
finish
