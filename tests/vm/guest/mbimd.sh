#!/bin/bash
# mbimd against the simulated modem on real USB (vhci-hcd): it takes the device from
# cdc_mbim, claims its interfaces through usbfs, connects with the dssa scenario, and the
# simulated gateway answers ping through mbim0e0; a stalled notification endpoint is
# cleared and the DNS update notified behind it still applied; an unplugged modem's device goes, a
# replugged one is taken again, and so is one whose configuration went away and came back;
# SIGTERM removes the device. Then the two-executors modem:
# one device, two functions, mbim0e0 and mbim0e1 each reach their gateway. No udevd runs
# in the guest, so this covers the watcher's polling.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
[ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh builds it)"

attach_modem dssa 1

step "mbimd takes the modem"
cat >/tmp/mbimd.toml <<'TOML'
[logging]
level = "info,mbimd=debug"
target = "stderr"

# The servers of each update land here, for the notification-endpoint step.
[dns]
backend = "file:/tmp/mbimd-resolv.conf"

[[profiles]]
name = "simulated"
apn = "internet"
TOML
RUST_BACKTRACE=1 "$mbimd" --config /tmp/mbimd.toml >"$VM_OUT/mbimd.log" 2>&1 &
mbimd_pid=$!
# shellcheck disable=SC2317 # called through wait_for
has_address() { [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"10.64.0.2/30"* ]]; }
# Each check starts a process, slow under TCG: wait for the device first, then its address.
if wait_for 60 exists /sys/class/net/mbim0e0 && wait_for 30 has_address; then
    pass "mbim0e0 has 10.64.0.2/30"
else
    echo "--- tail of mbimd.log"
    tail -n 40 "$VM_OUT/mbimd.log"
    abort "no mbim0e0 with 10.64.0.2"
fi
if wait_for 5 absent /dev/cdc-wdm0; then
    pass "cdc_mbim let the device go (no /dev/cdc-wdm0)"
else
    fail "/dev/cdc-wdm0 is still there"
fi

step "ping through mbim0e0"
if ping -c 3 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping.log" 2>&1; then
    pass "10.64.0.1 answers ping through mbim0e0"
else
    cat "$VM_OUT/ping.log"
    tail -n 30 "$VM_OUT/mbimd.log"
    fail "no ping reply from 10.64.0.1"
fi

# One echo request per size. The uplink NTB16 is a 12-byte header, the datagram (28 + size
# bytes) padded to 4, and a 16-byte NDP: sizes 453-456 make exactly 512 bytes, one
# high-speed packet, so mbimd follows the transfer with a zero-length packet; the uplink
# must keep flowing across it.
lost=
for size in $(seq 440 480); do
    ping -c 1 -W 3 -s "$size" -I mbim0e0 10.64.0.1 >/dev/null 2>&1 || lost="$lost $size"
done
if [ -z "$lost" ]; then
    pass "echo requests of 440-480 bytes all answered (ZLP-terminated NTBs among them)"
else
    fail "no reply to echo requests of sizes:$lost"
fi

step "a stalled notification endpoint"
# The interrupt endpoint stays halted until the host clears it
# (CLEAR_FEATURE(ENDPOINT_HALT)); mbimd must clear it and read on, or the DNS
# update announced on it would never arrive.
check "interrupt endpoint stalled" \
    ctl faults --function 0 --kind stall-endpoint --endpoint interrupt
check "DNS changed on the network's side" ctl set-dns --executor 0 --ipv4-dns 10.64.0.53
# shellcheck disable=SC2317 # called through wait_for
halt_cleared() { grep -q "notification endpoint: halt cleared" "$VM_OUT/mbimd.log"; }
if wait_for 30 halt_cleared; then
    pass "mbimd cleared the notification endpoint's halt"
else
    tail -n 30 "$VM_OUT/mbimd.log"
    fail "mbimd did not clear the notification endpoint's halt"
fi
# shellcheck disable=SC2317 # called through wait_for
dns_applied() { grep -q "^nameserver 10.64.0.53$" /tmp/mbimd-resolv.conf 2>/dev/null; }
if wait_for 30 dns_applied; then
    pass "the DNS update notified after the stall was applied (nameserver 10.64.0.53)"
else
    cat /tmp/mbimd-resolv.conf 2>/dev/null || echo "(no /tmp/mbimd-resolv.conf)"
    tail -n 30 "$VM_OUT/mbimd.log"
    fail "the DNS update after the stall was not applied"
fi
if ping -c 2 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping-stall.log" 2>&1 \
    && [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"10.64.0.2/30"* ]]; then
    pass "still connected after the stall: 10.64.0.1 answers ping, the address stays"
else
    cat "$VM_OUT/ping-stall.log"
    fail "the connection did not survive the notification endpoint's stall"
fi

step "stalled bulk endpoints"
# A halted bulk endpoint fails every transfer until the host clears it. The
# data interface is on a usbfs descriptor of mbimd's own, so its clear
# (USBDEVFS_CLEAR_HALT) and the cancelled transfers' reaping go through that
# one; the data must flow again afterwards.
for direction in IN OUT; do
    endpoint="bulk-${direction,,}"
    check "$endpoint endpoint stalled" \
        ctl faults --function 0 --kind stall-endpoint --endpoint "$endpoint"
    # An echo request makes the OUT endpoint's next transfer (and the reply
    # the IN endpoint's); it may be lost to the stall.
    ping -c 1 -W 2 -I mbim0e0 10.64.0.1 >/dev/null 2>&1 || true
    # shellcheck disable=SC2317 # called through wait_for
    bulk_stalled() { grep -q "bulk $direction stalled: clearing the halt" "$VM_OUT/mbimd.log"; }
    if wait_for 30 bulk_stalled; then
        pass "mbimd saw the $endpoint stall and cleared the halt"
    else
        tail -n 30 "$VM_OUT/mbimd.log"
        fail "mbimd did not see the $endpoint stall"
    fi
    if ping -c 2 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping-$endpoint.log" 2>&1; then
        pass "data flows again after the $endpoint stall: 10.64.0.1 answers ping"
    else
        cat "$VM_OUT/ping-$endpoint.log"
        tail -n 30 "$VM_OUT/mbimd.log"
        fail "no data after the $endpoint stall"
    fi
done

step "a UDP flow through mbim0e0, both ways"
# The simulator counts datagrams to 10.64.0.1:5001 and sends 200 a second of
# its own to 10.64.0.2:5002; a Python socket on each end does the rest.
check "traffic generator started" \
    ctl traffic --executor 0 --sink-port 5001 --to 10.64.0.2 --port 5002 --rate 200 --size 1000
udp_result=$(python3 - <<'PY' 2>&1
import socket, time
rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.bind(("10.64.0.2", 5002))
tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent = 0
for _ in range(100):
    tx.sendto(b"u" * 1200, ("10.64.0.1", 5001))
    sent += 1
    time.sleep(0.002)
received = 0
end = time.time() + 2
while time.time() < end:
    rx.settimeout(max(0.01, end - time.time()))
    try:
        rx.recv(2048)
        received += 1
    except socket.timeout:
        pass
print(sent, received)
PY
)
read -r udp_sent udp_received <<<"$udp_result" || true
if [ "${udp_received:-0}" -ge 50 ] 2>/dev/null; then
    pass "$udp_received UDP datagrams from the simulator arrived on 10.64.0.2:5002"
else
    fail "UDP from the simulator: $udp_result"
fi
if ctl status && printf '%s\n' "$OUT" >"$VM_OUT/status.json" \
    && python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"]["executors"][0]["data"]["sink_packets"])' \
        "$VM_OUT/status.json" >"$VM_OUT/sink.txt" 2>&1 \
    && [ "$(cat "$VM_OUT/sink.txt")" -ge "${udp_sent:-100}" ]; then
    pass "the simulator counted all ${udp_sent:-100} UDP datagrams sent to 10.64.0.1:5001"
else
    fail "UDP to the simulator: sent ${udp_sent:-?}, sink counted $(cat "$VM_OUT/sink.txt" 2>/dev/null)"
fi
check "traffic generator stopped" ctl traffic --executor 0

step "unplug mid-transfer and plug again"
# What mbimd holds open while connected: usbfs, the TUN device, netlink and
# its own sockets. The same set (the modem's usbfs node gets a new number) must come back after an unplug and a replug,
# and no usbfs or TUN descriptor may outlive the modem.
fd_targets() { for fd in /proc/"$mbimd_pid"/fd/*; do readlink "$fd"; done 2>/dev/null | sed -e 's/:\[[0-9]*\]$/:[]/' -e 's#^/dev/bus/usb/.*#/dev/bus/usb/(the modem)#' | sort; }
fd_targets >"$VM_OUT/fds-connected.txt"
# Traffic in flight when the modem goes: bulk IN transfers complete with errors mid-stream.
check "traffic generator running" \
    ctl traffic --executor 0 --to 10.64.0.2 --port 5002 --rate 2000 --size 1400
sleep 1
check "unplug accepted" ctl unplug || true
if wait_for 30 absent /sys/class/net/mbim0e0; then
    pass "mbim0e0 is gone after ctl unplug"
else
    fail "mbim0e0 still there 30 s after ctl unplug"
fi
# shellcheck disable=SC2317 # called through wait_for
no_device_fds() { ! fd_targets | grep -qE '^/dev/(bus/usb/|net/tun)'; }
if wait_for 10 no_device_fds; then
    pass "no usbfs or TUN descriptor outlives the unplugged modem"
else
    fd_targets | grep -E '^/dev/' || true
    fail "mbimd still holds device descriptors after the unplug"
fi
sim_kill
if kill -0 "$mbimd_pid" 2>/dev/null; then pass "mbimd outlives its modem"; else abort "mbimd exited on unplug"; fi
# Not attach_modem: mbimd takes the device from cdc_mbim within a second, so
# /dev/cdc-wdm0 may come and go before a wait sees it.
# shellcheck disable=SC2046 # two words, no globbing characters
sim_start serve $(scenario_args dssa) --attach --control "$SIM_CONTROL"
if wait_for 60 exists /sys/class/net/mbim0e0 && wait_for 30 has_address; then
    pass "the replugged modem is taken again: mbim0e0 has 10.64.0.2/30"
else
    tail -n 40 "$VM_OUT/mbimd.log"
    abort "no mbim0e0 with 10.64.0.2 after the replug"
fi
if ping -c 2 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping2.log" 2>&1; then
    pass "10.64.0.1 answers ping after the replug"
else
    cat "$VM_OUT/ping2.log"
    fail "no ping reply after the replug"
fi
# A directory scan of the watcher may hold a descriptor for a moment: compare until equal.
# shellcheck disable=SC2317 # called through wait_for
same_fds() {
    fd_targets >"$VM_OUT/fds-replugged.txt"
    diff -u "$VM_OUT/fds-connected.txt" "$VM_OUT/fds-replugged.txt" >"$VM_OUT/fds.diff"
}
if wait_for 3 same_fds; then
    pass "after the unplug and replug mbimd holds the same $(wc -l <"$VM_OUT/fds-connected.txt") descriptors as before"
else
    cat "$VM_OUT/fds.diff"
    fail "mbimd's descriptors changed across the unplug and replug (leak)"
fi

step "the modem's configuration taken away and given back"
# As a USB reset into another configuration, or usb_modeswitch, does: the MBIM functions vanish
# while the device stays, then come back. mbimd's supervisor ends with them; the device seen
# anew is taken again, under its old number.
cfg=/sys/bus/usb/devices/1-1/bConfigurationValue
echo 0 >"$cfg"
if wait_for 30 absent /sys/class/net/mbim0e0; then
    pass "configuration 0: mbim0e0 is gone"
else
    fail "mbim0e0 still there 30 s after the configuration went"
fi
echo 1 >"$cfg"
if wait_for 60 exists /sys/class/net/mbim0e0 && wait_for 30 has_address; then
    pass "configuration 1 again: the modem is taken again, mbim0e0 has 10.64.0.2/30"
else
    echo "--- tail of mbimd.log"
    tail -n 40 "$VM_OUT/mbimd.log"
    fail "the modem was not taken again after its configuration came back"
fi

step "SIGTERM, and cdc_mbim has the modem again"
stop_mbimd "$mbimd_pid" mbim0e0
# mbimd detached cdc_mbim to claim the interfaces; stopping it must give the modem back. The
# data interface is on mbimd's own usbfs descriptor, apart from nusb's: it must be free by the
# time cdc_mbim, bound again to the communication interface, claims it in its probe.
# shellcheck disable=SC2317 # called through wait_for
cdc_port() { compgen -G "/dev/cdc-wdm*" >/dev/null; }
if wait_for 15 cdc_port && port=$(compgen -G "/dev/cdc-wdm*" | head -n 1) &&
    wait_for 15 wwan_of "$port"; then
    pass "cdc_mbim bound again: $port with $(wwan_of "$port")"
else
    ls -l /sys/bus/usb/devices/1-1:1.*/driver 2>&1 || true
    fail "no cdc-wdm port with a network device 15 s after mbimd stopped"
fi

step "two executors on one device"
sim_kill
wait_for 15 absent /sys/bus/usb/devices/1-1 || true
cat >/tmp/mbimd-two.toml <<'TOML'
[logging]
level = "info,mbimd=debug"
target = "stderr"

[[profiles]]
name = "simulated"
apn = "internet"

[[sims]]
iccid = "8988200000000000011"
pin = "1111"

[[sims]]
iccid = "8988200000000000012"
pin = "2222"
TOML
chmod 600 /tmp/mbimd-two.toml
# shellcheck disable=SC2046 # two words, no globbing characters
sim_start serve $(scenario_args two-executors) --attach --control "$SIM_CONTROL"
RUST_BACKTRACE=1 "$mbimd" --config /tmp/mbimd-two.toml >"$VM_OUT/mbimd-two.log" 2>&1 &
mbimd_pid=$!
# shellcheck disable=SC2317 # called through wait_for
has_addresses() {
    [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"10.64.0.2/30"* ]] &&
        [[ $(ip -4 addr show dev mbim0e1 2>/dev/null) == *"10.65.0.2/30"* ]]
}
if wait_for 60 exists /sys/class/net/mbim0e1 && wait_for 30 has_addresses; then
    pass "mbim0e0 has 10.64.0.2/30 and mbim0e1 has 10.65.0.2/30"
else
    tail -n 40 "$VM_OUT/mbimd-two.log"
    abort "no mbim0e0 and mbim0e1 with their addresses"
fi
for i in 0 1; do
    gw=10.$((64 + i)).0.1
    if ping -c 2 -W 5 -I mbim0e$i "$gw" >"$VM_OUT/ping-e$i.log" 2>&1; then
        pass "$gw answers ping through mbim0e$i"
    else
        cat "$VM_OUT/ping-e$i.log"
        fail "no ping reply from $gw through mbim0e$i"
    fi
done
stop_mbimd "$mbimd_pid" mbim0e0 mbim0e1
finish
