#!/bin/bash
# vmtest: timeout=600
# mbimd with transport = "kernel": the simulated modem stays bound to the stock kernel's
# cdc_mbim, mbimd speaks MBIM over /dev/cdc-wdm0 and configures cdc_mbim's own network
# device (wwan0): address, default route, MTU and DNS, but only once no other program holds
# the port; the simulated gateway answers ping
# through the kernel's NCM data path; a second PDN session rides on an 802.1Q VLAN link of
# wwan0 (VLAN id = session id, as cdc_mbim maps them) with its own address; the dual-SIM slot
# policy switches to the eSIM when the SIM is removed and the session comes back on wwan0;
# an unplugged modem is let go and a replugged one taken again; SIGTERM leaves wwan0 down
# and stripped of what mbimd added, and no VLAN link behind.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
[ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh builds it)"

step "a private system bus"
start_private_bus

# The dssa modem with an IPv4 MTU of 1400, so the MTU mbimd sets is not wwan0's default.
sed -e 's/^mtu = 1500$/mtu = 1400/' "$VM_REPO/simulator/scenarios/dssa.toml" >/tmp/dssa-1400.toml
attach_modem /tmp/dssa-1400.toml 1
wwan=$(wwan_of /dev/cdc-wdm0) || abort "no network device behind /dev/cdc-wdm0"
pass "cdc_mbim's network device: $wwan"
modprobe 8021q 2>/dev/null || true

step "mbimd takes the modem through /dev/cdc-wdm0"
cat >/tmp/mbimd-kernel.toml <<'TOML'
# mbimd connects by itself and serves ModemManager's API beside its own.
[modemmanager]
api = "auto"

[logging]
level = "info,mbimd=debug"
target = "stderr"

[dns]
backend = "file:/tmp/mbimd-resolv.conf"

[[devices.rules]]
device = "1d6b:0104"
transport = "kernel"

[[profiles]]
name = "simulated"
apn = "internet"

[[profiles.sessions]]
name = "ims"
apn = "ims"
context-type = "ims"

[slot-policy]
on-removal = "switch"
TOML
mbimd_pid=
start_mbimd() {
    RUST_BACKTRACE=1 "$mbimd" --config /tmp/mbimd-kernel.toml >>"$VM_OUT/mbimd.log" 2>&1 &
    mbimd_pid=$!
}
# shellcheck disable=SC2317 # called through wait_for
has_address() { [[ $(ip -4 addr show dev "$wwan" 2>/dev/null) == *"10.64.0.2/30"* ]]; }
# shellcheck disable=SC2317 # called through wait_for
online() { has_address && ping -c 1 -W 2 -I "$wwan" 10.64.0.1 >/dev/null 2>&1; }
# Another program holds the port (as ModemManager would): mbimd must not open it, and say who
# holds it; once it lets go, mbimd takes the modem.
sleep 600 3<>/dev/cdc-wdm0 &
holder_pid=$!
start_mbimd
# shellcheck disable=SC2317 # called through wait_for
told_held() { grep -q "/dev/cdc-wdm0 is held by sleep (pid $holder_pid)" "$VM_OUT/mbimd.log"; }
if wait_for 30 told_held; then
    pass "mbimd leaves /dev/cdc-wdm0 alone while another program holds it, and names it"
else
    tail -n 20 "$VM_OUT/mbimd.log"
    fail "no log line naming the program holding /dev/cdc-wdm0"
fi
if ! has_address; then
    pass "no session while the port is held"
else
    fail "$wwan was configured while another program held the port"
fi
kill "$holder_pid"
wait "$holder_pid" 2>/dev/null || true
if wait_for 90 has_address; then
    pass "$wwan has 10.64.0.2/30"
else
    echo "--- tail of mbimd.log"
    tail -n 40 "$VM_OUT/mbimd.log"
    abort "no 10.64.0.2 on $wwan"
fi
if [ -e /dev/cdc-wdm0 ] && [ "$(basename "$(readlink /sys/class/usbmisc/cdc-wdm0/device/driver)")" = cdc_mbim ]; then
    pass "cdc_mbim keeps the function (/dev/cdc-wdm0 is there)"
else
    fail "cdc_mbim lost the function"
fi
if grep -q "through the kernel's driver" "$VM_OUT/mbimd.log"; then
    pass "mbimd says it drives the modem through the kernel's driver"
else
    fail "no log line about the kernel's driver"
fi
mtu=$(cat "/sys/class/net/$wwan/mtu")
if [ "$mtu" = 1400 ]; then pass "$wwan MTU 1400 (the network's)"; else fail "$wwan MTU $mtu, not 1400"; fi
route=$(ip -4 route show default dev "$wwan")
if [[ $route == *"via 10.64.0.1"* && $route == *"metric 700"* ]]; then
    pass "default route via 10.64.0.1 on $wwan, metric 700"
else
    fail "default route on $wwan: '$route'"
fi
if [[ $(ip -6 addr show dev "$wwan") == *"fd00:6d62::2/64"* ]]; then
    pass "$wwan has fd00:6d62::2/64"
else
    fail "no fd00:6d62::2 on $wwan: $(ip -6 addr show dev "$wwan")"
fi
# shellcheck disable=SC2317 # called through wait_for
dns_applied() { grep -q "^nameserver 10.64.0.1$" /tmp/mbimd-resolv.conf 2>/dev/null; }
if wait_for 10 dns_applied; then
    pass "DNS 10.64.0.1 written for $wwan"
else
    fail "DNS not written: $(cat /tmp/mbimd-resolv.conf 2>&1)"
fi

step "ping through the kernel's NCM data path"
if ping -c 3 -W 5 -I "$wwan" 10.64.0.1 >"$VM_OUT/ping.log" 2>&1; then
    pass "10.64.0.1 answers ping through $wwan"
else
    cat "$VM_OUT/ping.log"
    fail "no ping reply from 10.64.0.1 through $wwan"
fi
if ping -6 -c 2 -W 5 -I "$wwan" fd00:6d62::1 >"$VM_OUT/ping6.log" 2>&1; then
    pass "fd00:6d62::1 answers ping through $wwan"
else
    cat "$VM_OUT/ping6.log"
    fail "no IPv6 ping reply from fd00:6d62::1"
fi
rx=$(cat "/sys/class/net/$wwan/statistics/rx_packets")
if [ "$rx" -ge 3 ]; then pass "the kernel's $wwan received $rx packets"; else fail "$wwan rx_packets $rx"; fi

step "a second session on a VLAN link"
vlan="$wwan.1"
# shellcheck disable=SC2317 # called through wait_for
vlan_address() { [[ $(ip -4 addr show dev "$vlan" 2>/dev/null) == *"10.64.0.6/30"* ]]; }
if wait_for 60 exists "/sys/class/net/$vlan" && wait_for 30 vlan_address; then
    pass "$vlan has 10.64.0.6/30"
else
    ip -d link show 2>&1 | tail -n 20
    tail -n 40 "$VM_OUT/mbimd.log"
    fail "no $vlan with 10.64.0.6"
fi
details=$(ip -d link show dev "$vlan" 2>&1)
if [[ $details == *"vlan protocol 802.1Q id 1 "* && $details == *"@$wwan"* ]]; then
    pass "$vlan is VLAN 1 on $wwan (session 1)"
else
    fail "$vlan: $details"
fi
if ping -c 3 -W 5 -I "$vlan" 10.64.0.5 >"$VM_OUT/ping-vlan.log" 2>&1; then
    pass "session 1's gateway 10.64.0.5 answers ping through $vlan"
else
    cat "$VM_OUT/ping-vlan.log"
    fail "no ping reply from 10.64.0.5 through $vlan"
fi
if [ -z "$(ip -4 route show default dev "$vlan")" ]; then
    pass "the IMS session takes no default route"
else
    fail "default route on $vlan: $(ip -4 route show default dev "$vlan")"
fi

step "D-Bus names the transport and the network device"
executor=/dev/mbimd/Mbimd1/Modem0/Executor0
transport=$(busctl --system get-property dev.mbimd.Mbimd1 "$executor" dev.mbimd.Executor1 Transport 2>&1)
netdev=$(busctl --system get-property dev.mbimd.Mbimd1 "$executor" dev.mbimd.Executor1 Netdev 2>&1)
if [ "$transport" = 's "kernel"' ] && [ "$netdev" = "s \"$wwan\"" ]; then
    pass "Executor0: Transport $transport, Netdev $netdev"
else
    fail "Executor0: Transport $transport, Netdev $netdev"
fi

# ModemManager's API names the same ports: the modem's data port is wwan0.
objects=$(busctl --system call org.freedesktop.ModemManager1 /org/freedesktop/ModemManager1 \
    org.freedesktop.DBus.ObjectManager GetManagedObjects 2>&1)
if [[ $objects == *"\"Ports\" a(su) 2 \"$wwan-ctl\" 7 \"$wwan\" 2"* ]]; then
    pass "ModemManager API: the modem's Ports are $wwan-ctl (mbim) and $wwan (net)"
else
    printf '%s\n' "$objects" | tr ' ' '\n' | grep -A6 '"Ports"' || printf '%s\n' "$objects" | head -c 600
    fail "ModemManager API: Ports do not name $wwan"
fi

step "the SIM is removed: the slot policy switches to the eSIM"
# shellcheck disable=SC2317 # called through wait_for
sim_mapping_is() {
    ctl status && [ "$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["status"]["slot_mapping"])))')" = "$1" ]
}
ups_before=$(grep -c "$wwan is up" "$VM_OUT/mbimd.log" || true)
# shellcheck disable=SC2317 # called through wait_for
up_again() { [ "$(grep -c "$wwan is up" "$VM_OUT/mbimd.log")" -gt "$ups_before" ]; }
check "remove-sim accepted" ctl remove-sim --slot 0 || true
if wait_for 90 sim_mapping_is 1; then
    pass "the modem maps the executor to slot 1 (the eSIM)"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    fail "the modem's mapping is not [1]: $OUT"
fi
if wait_for 90 up_again && wait_for 60 online; then
    pass "connected again on the eSIM: $wwan is up anew, has 10.64.0.2 and 10.64.0.1 answers ping"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    fail "no connection through $wwan on the eSIM"
fi

step "unplug and replug"
check "unplug accepted" ctl unplug || true
if wait_for 30 absent "/sys/class/net/$wwan"; then
    pass "$wwan is gone with the modem"
else
    fail "$wwan still there 30 s after ctl unplug"
fi
# shellcheck disable=SC2317 # called through wait_for
released() { grep -q "modem .* released" "$VM_OUT/mbimd.log"; }
if wait_for 30 released; then
    pass "mbimd let the unplugged modem go"
else
    tail -n 20 "$VM_OUT/mbimd.log"
    fail "mbimd did not release the unplugged modem"
fi
# shellcheck disable=SC2317 # called through wait_for
no_port_fd() { ! for fd in /proc/"$mbimd_pid"/fd/*; do readlink "$fd"; done 2>/dev/null | grep -q cdc-wdm; }
if wait_for 10 no_port_fd; then
    pass "no descriptor of the cdc-wdm node outlives the modem"
else
    fail "mbimd still holds the cdc-wdm node"
fi
sim_kill
if kill -0 "$mbimd_pid" 2>/dev/null; then pass "mbimd outlives its modem"; else abort "mbimd exited on unplug"; fi
# shellcheck disable=SC2046 # two words, no globbing characters
sim_start serve $(scenario_args /tmp/dssa-1400.toml) --attach --control "$SIM_CONTROL"
if wait_for 30 exists /dev/cdc-wdm0; then
    wwan=$(wwan_of /dev/cdc-wdm0) || abort "no network device behind the replugged /dev/cdc-wdm0"
    vlan="$wwan.1"
    pass "replugged: /dev/cdc-wdm0 with $wwan"
else
    abort "no /dev/cdc-wdm0 after the replug"
fi
if wait_for 90 online; then
    pass "the replugged modem is taken again: $wwan has 10.64.0.2 and 10.64.0.1 answers ping"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    abort "not connected after the replug"
fi
if wait_for 60 exists "/sys/class/net/$vlan" && wait_for 30 vlan_address; then
    pass "$vlan is back with 10.64.0.6/30"
else
    fail "no $vlan after the replug"
fi

step "a reload applies [[devices.rules]]: denied, the modem is released; allowed again, it is taken"
cp /tmp/mbimd-kernel.toml /tmp/mbimd-kernel.toml.orig
sed -i 's/^\[\[devices.rules\]\]$/[devices]\ndeny = ["1d6b:0104"]\n\n[[devices.rules]]/' /tmp/mbimd-kernel.toml
kill -HUP "$mbimd_pid"
# shellcheck disable=SC2317 # called through wait_for
released_by_reload() { grep -q "released after the reload" "$VM_OUT/mbimd.log"; }
if wait_for 30 released_by_reload && wait_for 30 no_port_fd; then
    pass "the denied modem is released: mbimd holds no cdc-wdm descriptor"
else
    tail -n 30 "$VM_OUT/mbimd.log"
    fail "the modem was not released after the reload denied it"
fi
if wait_for 30 eval '! has_address'; then
    pass "$wwan lost mbimd's address with the release"
else
    fail "$wwan still has 10.64.0.2 after the release"
fi
cp /tmp/mbimd-kernel.toml.orig /tmp/mbimd-kernel.toml
kill -HUP "$mbimd_pid"
if wait_for 90 online; then
    pass "allowed again by a reload: taken and online through $wwan"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    fail "not taken again after the reload allowed it"
fi
if kill -0 "$mbimd_pid" 2>/dev/null; then pass "mbimd ran through both reloads"; else abort "mbimd exited on reload"; fi

step "SIGTERM leaves no links behind"
kill -TERM "$mbimd_pid"
if wait_for 30 eval '! kill -0 '"$mbimd_pid"; then
    pass "mbimd stopped"
else
    fail "mbimd still running 30 s after SIGTERM"
    kill -9 "$mbimd_pid" 2>/dev/null || true
fi
wait "$mbimd_pid" 2>/dev/null || true
if [ -e "/sys/class/net/$wwan" ]; then
    pass "$wwan stays (the kernel's device is never deleted)"
else
    fail "$wwan was deleted"
fi
if [[ $(ip link show dev "$wwan") != *",UP"* && $(ip link show dev "$wwan") != *"<UP"* ]]; then
    pass "$wwan is down"
else
    fail "$wwan is still up: $(ip link show dev "$wwan")"
fi
left=$(ip -4 addr show dev "$wwan"; ip -6 addr show dev "$wwan" scope global; ip -4 route show dev "$wwan")
if [ -z "$left" ]; then
    pass "no address or route of mbimd's is left on $wwan"
else
    fail "left on $wwan: $left"
fi
vlans=$(ip -d link show type vlan 2>/dev/null)
if [ -z "$vlans" ]; then pass "no VLAN link is left"; else fail "VLAN links left: $vlans"; fi
if [ ! -e /tmp/mbimd-resolv.conf ]; then pass "the DNS file is removed"; else fail "DNS file left: $(cat /tmp/mbimd-resolv.conf)"; fi

finish
