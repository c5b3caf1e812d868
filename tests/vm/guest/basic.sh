#!/bin/bash
# Basic Connect through the kernel's cdc_mbim driver and libmbim's mbimcli, against the
# "dssa" scenario (simulator/scenarios/dssa.toml): device caps, subscriber, radio, PIN,
# registration, packet service, connect, and a ping through wwan0 to the simulated gateway.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim (the prototype answers DEVICE_CAPS only)"

attach_modem dssa 1
dev=/dev/cdc-wdm0
wwan=$(wwan_of $dev) || abort "no network interface behind $dev"

step "DEVICE_CAPS"
if query "--query-device-caps" $dev --query-device-caps; then
    expect_field "Device ID" 350000000000001
    expect_field "Firmware info" "mbim-sim 0.1"
    expect_field "Hardware info" "simulated DSSA"
    expect_field "Max sessions" 4
    expect_field "Data class" "umts, lte"
    expect_field "Device type" embedded
fi

step "SUBSCRIBER_READY_STATUS"
if query "--query-subscriber-ready-status" $dev --query-subscriber-ready-status; then
    expect_field "Ready state" initialized
    expect_field "Subscriber ID" 001010000000001
    expect_field "SIM ICCID" 8988200000000000001
    expect_match "\+15550000001" "telephone number +15550000001 listed"
fi

step "RADIO_STATE"
if query "--query-radio-state" $dev --query-radio-state; then
    expect_field "Hardware radio state" on
    expect_field "Software radio state" on
fi

step "PIN"
if query "--query-pin-state" $dev --query-pin-state; then
    expect_field "PIN state" unlocked
fi
# PIN1 is disabled in this scenario: entering it is "not expected" (seed 000: FAILURE with
# PinType None). pin.sh covers a locked card.
if mbim $dev --enter-pin=1234; then
    fail "--enter-pin=1234 with PIN1 disabled succeeded; seed 000 wants a failure"
else
    expect_match "[Ff]ailure|failed" "--enter-pin=1234 with PIN1 disabled is refused"
fi

step "REGISTER_STATE"
if query "--query-registration-state" $dev --query-registration-state; then
    expect_field "Register state" home
    expect_field "Provider ID" 00101
    expect_field "Provider name" Simulated
fi

step "PACKET_SERVICE"
if query "--attach-packet-service" $dev --attach-packet-service; then
    expect_match "Successfully attached to packet service" "attach acknowledged"
    expect_field "Packet service state" attached
fi

step "CONNECT (in one MBIM session: closing it would drop the context)"
session_begin $dev
if query "--connect=access-string=internet,ip-type=ipv4v6" $dev \
    --connect=session-id=0,access-string=internet,ip-type=ipv4v6; then
    echo "$OUT"
    expect_match "Successfully connected" "connect acknowledged"
    expect_match "IP \[0\]: '10\.64\.0\.2/30'" "IPv4 address 10.64.0.2/30"
    expect_match "Gateway: '10\.64\.0\.1'" "IPv4 gateway 10.64.0.1"
    expect_match "DNS \[0\]: '10\.64\.0\.1'" "IPv4 DNS 10.64.0.1"
    expect_match "IP \[0\]: 'fd00:6d62::2/64'" "IPv6 address fd00:6d62::2/64"
    expect_match "MTU: '1500'" "MTU 1500"
fi
if query "--query-connection-state" $dev --query-connection-state=0; then
    expect_field "Activation state" activated
fi

step "data path: ping through $wwan, IPv4 and IPv6"
ip link set "$wwan" up
ip addr add 10.64.0.2/30 dev "$wwan"
if ping -c 3 -i 0.2 -W 3 -I "$wwan" 10.64.0.1 >"$VM_OUT/ping.txt" 2>&1; then
    pass "ping 10.64.0.1 (the simulated gateway) through $wwan"
else
    cat "$VM_OUT/ping.txt"
    fail "ping 10.64.0.1 through $wwan"
fi
grep -E 'packets transmitted' "$VM_OUT/ping.txt" || true
ip -6 addr add fd00:6d62::2/64 dev "$wwan" nodad
if ping -6 -c 3 -i 0.2 -W 3 -I "$wwan" fd00:6d62::1 >"$VM_OUT/ping6.txt" 2>&1; then
    pass "ping fd00:6d62::1 (the simulated IPv6 gateway) through $wwan"
else
    cat "$VM_OUT/ping6.txt"
    fail "ping fd00:6d62::1 through $wwan"
fi

step "DISCONNECT"
if query "--disconnect" $dev --disconnect=0; then
    expect_match "Successfully disconnected" "disconnect acknowledged"
fi
if query "--query-connection-state after disconnect" $dev --query-connection-state=0; then
    expect_field "Activation state" deactivated
fi
session_end $dev
finish
