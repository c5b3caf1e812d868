#!/bin/bash
# vmtest: init=systemd
# vmtest: timeout=600
# A new user's machine: systemd as PID 1, the distribution's NetworkManager as its own system
# service, mbimd installed as the packages install it (the packaged configuration: api =
# "auto"), the simulated modem plugged in. Brought up from nmcli alone: NetworkManager sees the
# modem through mbimd's ModemManager API as a gsm device, `nmcli connection add type gsm` +
# `nmcli connection up` connect it and NetworkManager configures mbim0e0 (address, default
# route, MTU, DNS in its resolv.conf) over which the simulated gateway answers ping;
# `nmcli connection down` takes it down again and mbimd configured nothing itself meanwhile.
# The host test daemon/tests/mm_networkmanager.rs covers the rest against the same
# NetworkManager on a private bus; this one checks the packaged unit, bus policies and polkit
# with NetworkManager on the real system bus.
# It found the packaged bus policy keeping mbimd's signals from NetworkManager (whose own
# policy denies what users other than root send it): the modem stayed "initializing" there.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
[ "$(cat /proc/1/comm)" = systemd ] || abort "PID 1 is $(cat /proc/1/comm), not systemd"
systemctl cat NetworkManager.service >/dev/null 2>&1 ||
    skip_all "NetworkManager is not installed on this machine (tests/vm/run.sh installs network-manager)"

install_packaged_mbimd
nmcli() { command nmcli --wait 120 "$@"; }
# shellcheck disable=SC2317 # called through wait_for
gsm_device() { command nmcli -t -f DEVICE,TYPE device 2>/dev/null | sed -n 's/^\(.*\):gsm$/\1/p' | head -n 1; }
# shellcheck disable=SC2317 # called through wait_for
has_gsm_device() { [ -n "$(gsm_device)" ]; }
# shellcheck disable=SC2317 # called through wait_for
has_address_now() { [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"inet "* ]]; }
# shellcheck disable=SC2317 # called through wait_for
no_address_now() { ! has_address_now; }

# mbimd's debug log in the journal (left in the results share), the unit otherwise as packaged.
mkdir -p /run/systemd/system/mbimd.service.d
printf '[Service]\nEnvironment=RUST_LOG=info,mbimd=debug\n' >/run/systemd/system/mbimd.service.d/debug.conf
systemctl daemon-reload

step "NetworkManager and mbimd as system services, the modem plugged in"
attach_modem dssa 1
udevadm settle
start_unit NetworkManager.service
start_unit mbimd.service

step "nmcli sees the modem"
if wait_seconds 90 has_gsm_device; then
    device=$(gsm_device)
    pass "nmcli device lists a gsm device: $device"
else
    command nmcli device 2>&1 || true
    journalctl -u NetworkManager.service --no-pager | tail -n 30
    journalctl -u mbimd.service --no-pager | tail -n 30
    abort "no gsm device in nmcli device"
fi
# shellcheck disable=SC2317 # called through wait_for
available() { [[ $(command nmcli -g GENERAL.STATE device show "$device" 2>/dev/null) == 30* ]]; }
# Enabled, SIM ready and registered: the device is "disconnected", ready to connect.
if wait_seconds 120 available; then
    pass "$device is available: $(command nmcli -g GENERAL.STATE device show "$device")"
else
    journalctl -u NetworkManager.service --no-pager | tail -n 20
    journalctl -u mbimd.service --no-pager -o verbose >"$VM_OUT/mbimd.log" 2>&1 || true
    busctl --system introspect dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1/Modem0/Executor0 >"$VM_OUT/executor.txt" 2>&1 || true
    journalctl -u mbimd.service --no-pager | tail -n 40
    abort "$device: $(command nmcli -g GENERAL.STATE,GENERAL.REASON device show "$device" 2>&1); \
Modem/0 State $(busctl --system get-property org.freedesktop.ModemManager1 \
        /org/freedesktop/ModemManager1/Modem/0 org.freedesktop.ModemManager1.Modem State 2>&1)"
fi
# NetworkManager on the bus: mbimd left the sessions to it and configured nothing.
no_address_now && pass "mbimd configured no address itself (NetworkManager is the client)" ||
    fail "mbim0e0 has addresses NetworkManager did not ask for: $(ip -4 addr show dev mbim0e0)"

step "nmcli connection up"
if nmcli connection add type gsm ifname '*' con-name mobile gsm.apn internet \
    connection.autoconnect no >"$VM_OUT/nmcli-add.log" 2>&1; then
    pass "nmcli connection add type gsm ifname '*' con-name mobile gsm.apn internet"
else
    cat "$VM_OUT/nmcli-add.log"
    abort "nmcli connection add failed"
fi
if nmcli connection up mobile >"$VM_OUT/nmcli-up.log" 2>&1; then
    pass "nmcli connection up mobile: $(tr '\n' ' ' <"$VM_OUT/nmcli-up.log")"
else
    cat "$VM_OUT/nmcli-up.log"
    journalctl -u NetworkManager.service --no-pager | tail -n 40
    journalctl -u mbimd.service --no-pager | tail -n 30
    abort "nmcli connection up failed"
fi
ip_iface=$(command nmcli -g GENERAL.IP-IFACE device show "$device" 2>/dev/null || true)
[ "$ip_iface" = mbim0e0 ] && pass "the gsm device's IP interface is mbim0e0" ||
    fail "IP interface of $device: '$ip_iface'"
wait_for 10 has_address_now || true
address=$(ip -4 -o addr show dev mbim0e0 | awk '{print $4}')
[ "$address" = 10.64.0.2/30 ] && pass "NetworkManager gave mbim0e0 the network's address $address" ||
    fail "mbim0e0 addresses: $(ip -4 addr show dev mbim0e0)"
route=$(ip -4 route show default dev mbim0e0)
[[ $route == "default via 10.64.0.1 "*"proto static"* ]] &&
    pass "the default route via mbim0e0 is NetworkManager's: $route" ||
    fail "default route: '$route' ($(ip -4 route))"
mtu=$(cat /sys/class/net/mbim0e0/mtu)
[ "$mtu" -ge 1280 ] && [ "$mtu" -le 1500 ] && pass "mbim0e0 MTU $mtu" || fail "mbim0e0 MTU $mtu"
if grep -q '^nameserver ' /run/NetworkManager/resolv.conf 2>/dev/null; then
    pass "NetworkManager's resolv.conf: $(grep '^nameserver' /run/NetworkManager/resolv.conf | tr '\n' ' ')"
else
    fail "no nameserver in /run/NetworkManager/resolv.conf: $(cat /run/NetworkManager/resolv.conf 2>&1)"
fi
if ping -c 3 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping.log" 2>&1; then
    pass "10.64.0.1 answers ping through mbim0e0"
else
    cat "$VM_OUT/ping.log"
    fail "no ping reply from 10.64.0.1"
fi
state=$(command nmcli -g GENERAL.STATE device show "$device" 2>/dev/null || true)
[[ $state == 100* ]] && pass "$device: $state" || fail "$device state: $state"

step "nmcli connection down"
if nmcli connection down mobile >"$VM_OUT/nmcli-down.log" 2>&1; then
    pass "nmcli connection down mobile"
else
    cat "$VM_OUT/nmcli-down.log"
    fail "nmcli connection down failed"
fi
wait_for 30 no_address_now && pass "mbim0e0 has no address any more" ||
    fail "mbim0e0 after down: $(ip -4 addr show dev mbim0e0 2>&1)"
modem_state=$(busctl --system get-property org.freedesktop.ModemManager1 \
    /org/freedesktop/ModemManager1/Modem/0 org.freedesktop.ModemManager1.Modem State 2>&1)
[ "$modem_state" = "i 8" ] && pass "the modem is registered, not connected (State 8)" ||
    fail "Modem/0 State: $modem_state"

systemctl stop mbimd.service NetworkManager.service || true
journalctl -u mbimd.service --no-pager >"$VM_OUT/mbimd.log" 2>&1 || true
journalctl -u NetworkManager.service --no-pager >"$VM_OUT/NetworkManager.log" 2>&1 || true
finish
