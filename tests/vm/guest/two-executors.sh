#!/bin/bash
# The dual-executor "two-executors" modem (simulator/scenarios/two-executors.toml): two MBIM
# functions on one USB device, so cdc_mbim makes two cdc-wdm nodes and two wwan netdevs. Each
# node answers for its own executor (DEVICE_CAPS_V2 ExecutorIndex, its slot's SIM, its
# network), device-wide CIDs agree on both, and each netdev reaches its own gateway.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim (the prototype answers DEVICE_CAPS only)"
mbimcli_has ms-query-device-caps ||
    skip_all "mbimcli $(mbimcli --version | head -n 1) has no --ms-query-device-caps (libmbim < 1.26)"

attach_modem two-executors 2
[ -e /dev/cdc-wdm2 ] && fail "a third cdc-wdm node appeared"

# Per executor: ICCID, IMSI, provider, IPv4 address/prefix, gateway.
iccid=(8988200000000000011 8988200000000000012)
imsi=(001010000000011 001020000000012)
provider=("Simulated One" "Simulated Two")
address=(10.64.0.2 10.65.0.2)
gateway=(10.64.0.1 10.65.0.1)

seen=
for n in 0 1; do
    dev=/dev/cdc-wdm$n
    step "$dev"
    query "--ms-query-device-caps on $dev" $dev --ms-query-device-caps || continue
    ex=$(field "Executor Index")
    case $ex in
        0 | 1) pass "$dev answers for executor $ex" ;;
        *) fail "$dev: Executor Index '$ex'"; continue ;;
    esac
    case " $seen " in
        *" $ex "*) fail "executor $ex is behind two nodes" ;;
    esac
    seen="$seen $ex"
    eval "dev_of_$ex=$dev"

    if query "--ms-query-sys-caps on $dev" $dev --ms-query-sys-caps; then
        expect_field "Number of executors" 2 "$dev: Number of executors"
        expect_field "Number of slots" 2 "$dev: Number of slots"
        expect_field "Concurrency" 2 "$dev: Concurrency"
        expect_field "Modem ID" "$((0x6d62696d64000002))" "$dev: Modem ID"
    fi
    if query "--ms-query-device-slot-mappings on $dev" $dev --ms-query-device-slot-mappings; then
        expect_match "Executor '0': slot '0'" "$dev: executor 0 on slot 0"
        expect_match "Executor '1': slot '1'" "$dev: executor 1 on slot 1"
    fi
    for slot in 0 1; do
        if query "--ms-query-slot-info-status=$slot on $dev" $dev --ms-query-slot-info-status=$slot; then
            expect_slot "$slot" active "$dev: slot $slot is active"
        fi
    done
    if query "--query-subscriber-ready-status on $dev" $dev --query-subscriber-ready-status; then
        expect_field "Ready state" initialized "$dev: Ready state"
        expect_field "SIM ICCID" "${iccid[$ex]}" "$dev (executor $ex): SIM ICCID"
        expect_field "Subscriber ID" "${imsi[$ex]}" "$dev (executor $ex): Subscriber ID"
    fi
    if query "--query-registration-state on $dev" $dev --query-registration-state; then
        expect_field "Register state" home "$dev: Register state"
        expect_field "Provider name" "${provider[$ex]}" "$dev (executor $ex): Provider name"
    fi
done

step "both executors connected at once (concurrency 2), a ping through each netdev"
for ex in 0 1; do
    dev_var=dev_of_$ex
    dev=${!dev_var:-}
    [ -n "$dev" ] || { fail "no node answers for executor $ex"; continue; }
    wwan=$(wwan_of "$dev") || { fail "no netdev behind $dev"; continue; }
    session_begin "$dev"
    mbim "$dev" --attach-packet-service || true
    if query "--connect on $dev (executor $ex)" "$dev" --connect=access-string=internet,ip-type=ipv4; then
        expect_match "IP \[0\]: '${address[$ex]//./\\.}/30'" "executor $ex: address ${address[$ex]}/30"
        expect_match "Gateway: '${gateway[$ex]//./\\.}'" "executor $ex: gateway ${gateway[$ex]}"
    fi
    ip link set "$wwan" up
    ip addr add "${address[$ex]}/30" dev "$wwan"
    if ping -c 2 -i 0.2 -W 3 -I "$wwan" "${gateway[$ex]}" >"$VM_OUT/ping-$ex.txt" 2>&1; then
        pass "executor $ex: ping ${gateway[$ex]} through $wwan"
    else
        cat "$VM_OUT/ping-$ex.txt"
        fail "executor $ex: ping ${gateway[$ex]} through $wwan"
    fi
done
finish
