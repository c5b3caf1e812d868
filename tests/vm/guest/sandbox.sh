#!/bin/bash
# vmtest: init=systemd
# vmtest: timeout=600
# The packaged unit under a real systemd (PID 1 in this VM): mbimd installed as the packages
# install it (unit, sysusers.d user, udev rule, bus policies, ModemManager's drop-in), the
# simulated modem plugged in. With the packaged api = "auto", the user mbimd owns
# org.freedesktop.ModemManager1 and, with no NetworkManager, connects and configures the modem
# itself until a Simple.Connect takes over and gets a raised device without addresses;
# ModemManager.service is skipped; with api = "off", ModemManager runs and leaves the modem alone.
# The udev rule gives the user mbimd the modem's usbfs node and nothing else; mbimd.service
# runs as that user with CAP_NET_ADMIN alone, takes the modem, configures mbim0e0 (its IPv6
# sysctls included) and carries ping; libmbim's `mbimcli -p` reaches the modem through mbimd's
# proxy (root only); `systemctl reload` works. A probe run with every sandbox
# setting of the unit finds the kernel's tunables, power state, other processes, device nodes
# and systemd's D-Bus API closed to it; the same probe in a weakened copy (root, no
# ProtectKernelTunables) finds them open, so the probe itself is shown able to see a hole.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
[ "$(cat /proc/1/comm)" = systemd ] || abort "PID 1 is $(cat /proc/1/comm), not systemd"

install_packaged_mbimd
# systemd-resolved (the Debian package, unpacked on the host by lib/prepare.sh) with its bus
# policy and polkit actions, so that `auto` picks it: resolved lets only root set a link's DNS
# without asking polkit, and the packaged polkit rule is what lets the user mbimd through.
resolved=no
if [ -n "${VM_RESOLVED:-}" ] && [ -x /usr/lib/polkit-1/polkitd ]; then
    install -m 0644 "$VM_RESOLVED/usr/share/dbus-1/system.d/org.freedesktop.resolve1.conf" \
        /usr/share/dbus-1/system.d/
    install -D -m 0644 "$VM_RESOLVED/usr/share/polkit-1/actions/org.freedesktop.resolve1.policy" \
        /usr/share/polkit-1/actions/org.freedesktop.resolve1.policy
    getent passwd systemd-resolve >/dev/null ||
        useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin systemd-resolve
    # The bus reads the new policy now, as at boot.
    busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
    resolved=yes
else
    skip "systemd-resolved and polkit: no unpacked resolved or no polkitd; DNS goes to a file"
    sed -i 's|^backend = "auto"$|backend = "file:/run/mbimd/resolv.conf"|' /etc/mbimd/mbimd.toml
fi
# shellcheck disable=SC2317 # also called through wait_for
has_address_now() { [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"inet "* ]]; }
# A harmless unit only root may start: the probe's D-Bus call asks for it.
cat >/etc/systemd/system/vmtest-canary.service <<'UNIT'
[Service]
Type=oneshot
ExecStart=/bin/touch /run/vmtest-canary
UNIT
systemctl daemon-reload

attach_modem dssa 1
udevadm settle
# The simulated modem is the one USB device that is not a root hub.
modem_node='' other_node=''
for d in /sys/bus/usb/devices/*; do
    [ -f "$d/busnum" ] || continue
    node=$(printf '/dev/bus/usb/%03d/%03d' "$(cat "$d/busnum")" "$(cat "$d/devnum")")
    case $(basename "$d") in
        usb*) other_node=$node ;;
        *) modem_node=$node ;;
    esac
done
[ -n "$modem_node" ] && [ -n "$other_node" ] || abort "no modem or root hub node in /sys/bus/usb/devices"
# shellcheck disable=SC2317 # called through wait_for
owned_by_mbimd() { [ "$(stat -c %U "$modem_node")" = mbimd ]; }
if wait_for 10 owned_by_mbimd; then
    pass "udev gave the modem's node $modem_node to mbimd"
else
    fail "$modem_node belongs to $(stat -c %U "$modem_node"), not mbimd"
    udevadm info "$modem_node" || true
    journalctl -u systemd-udevd --no-pager | tail -n 20
fi
owner=$(stat -c %U "$other_node")
[ "$owner" = root ] && pass "the root hub's node $other_node stays root's" ||
    fail "$other_node belongs to $owner"
# The rules for the kernel transport: cdc_mbim's cdc-wdm node is mbimd's (before mbimd
# starts and takes the function through usbfs, cdc_mbim has it), and the modem is hidden
# from ModemManager.
# shellcheck disable=SC2317 # called through wait_for
wdm_owned_by_mbimd() { [ "$(stat -c %U /dev/cdc-wdm0 2>/dev/null)" = mbimd ]; }
if wait_for 10 wdm_owned_by_mbimd; then
    pass "udev gave cdc_mbim's /dev/cdc-wdm0 to mbimd"
else
    fail "/dev/cdc-wdm0 belongs to $(stat -c %U /dev/cdc-wdm0 2>/dev/null || echo nobody), not mbimd"
    udevadm info /dev/cdc-wdm0 || true
fi
if udevadm info -q property -n "$modem_node" | grep -qx 'ID_MM_DEVICE_IGNORE=1'; then
    pass "the modem carries ID_MM_DEVICE_IGNORE=1: ModemManager leaves it to mbimd"
else
    fail "no ID_MM_DEVICE_IGNORE=1 on $modem_node"
    udevadm info -q property -n "$modem_node" || true
fi
# A mistake in the rules file is only logged by udevd: make it fail the test.
rule_errors=$(journalctl -u systemd-udevd --no-pager 2>/dev/null | grep '70-mbimd.rules' || true)
if [ -z "$rule_errors" ]; then
    pass "udevd logged no complaint about 70-mbimd.rules"
else
    fail "udevd complained about 70-mbimd.rules: $rule_errors"
fi

if [ "$resolved" = yes ]; then
    shared_lib=$(find "$VM_RESOLVED" -name 'libsystemd-shared-*.so' -printf '%h\n' | head -n 1)
    mkdir -p /run/systemd/resolve /run/systemd/resolved.conf.d
    chown systemd-resolve:systemd-resolve /run/systemd/resolve
    printf '[Resolve]\nDNSStubListener=no\nLLMNR=no\nMulticastDNS=no\n' \
        >/run/systemd/resolved.conf.d/vmtest.conf
    # It drops to the user systemd-resolve itself, as in its own unit.
    if systemd-run --unit=vmtest-resolved --property=Type=dbus \
        --property=BusName=org.freedesktop.resolve1 \
        --setenv=LD_LIBRARY_PATH="$shared_lib" "$VM_RESOLVED/lib/systemd/systemd-resolved"; then
        pass "systemd-resolved runs"
    else
        journalctl -u vmtest-resolved --no-pager | tail -n 20
        abort "systemd-resolved did not start"
    fi
fi

step "the ModemManager API (api = \"auto\"): mbimd owns its name, connects alone until a client takes over"
# ModemManager's unit, where the machine has ModemManager (the cargo tests install it for mmcli).
mm_unit=no
mm_absent="ModemManager is not installed on this machine"
systemctl cat ModemManager.service >/dev/null 2>&1 && mm_unit=yes
start_unit mbimd.service
owner=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    GetConnectionUnixUser s org.freedesktop.ModemManager1 2>&1)
[ "$owner" = "u $mbimd_uid" ] &&
    pass "org.freedesktop.ModemManager1 is owned by uid $mbimd_uid (the packaged policy lets it)" ||
    fail "org.freedesktop.ModemManager1 owner: $owner"
api=$(busctl --system get-property dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1 dev.mbimd.Manager1 ModemManagerApi)
[ "$api" = 's "serving"' ] && pass "dev.mbimd.Manager1.ModemManagerApi serving" || fail "ModemManagerApi $api"
modem=/org/freedesktop/ModemManager1/Modem/0
# shellcheck disable=SC2317 # called through wait_for
connected() {
    [ "$(busctl --system get-property org.freedesktop.ModemManager1 "$modem" \
        org.freedesktop.ModemManager1.Modem State 2>/dev/null)" = "i 11" ]
}
# No NetworkManager here: mbimd connects and configures the modem itself.
if wait_for 60 connected && wait_for 10 has_address_now; then
    pass "Modem/0 connected (State 11) by mbimd itself, mbim0e0 configured by mbimd"
else
    journalctl -u mbimd.service --no-pager | tail -n 30
    fail "Modem/0 State: $(busctl --system get-property org.freedesktop.ModemManager1 $modem \
        org.freedesktop.ModemManager1.Modem State 2>&1); $(ip addr show dev mbim0e0 2>&1)"
fi
# A client's Simple.Connect takes the sessions over: mbimd's configuration goes.
bearer=$(busctl --system --timeout=120 call org.freedesktop.ModemManager1 $modem \
    org.freedesktop.ModemManager1.Modem.Simple Connect 'a{sv}' 1 apn s internet 2>&1)
if [[ $bearer == 'o "/org/freedesktop/ModemManager1/Bearer/'* ]]; then
    pass "Simple.Connect as root: $bearer"
else
    journalctl -u mbimd.service --no-pager | tail -n 30
    fail "Simple.Connect: $bearer"
fi
link=$(ip -o link show dev mbim0e0 2>&1)
[[ $link == *"state UNKNOWN"* || $link == *",UP"* ]] && ! has_address_now &&
    pass "mbim0e0 up, its addresses left to the client" || fail "mbim0e0: $link $(ip addr show dev mbim0e0 2>&1)"
if [ "$mm_unit" = yes ]; then
    systemctl start ModemManager.service || true
    # The unit's own conditions (Debian's: ConditionVirtualization=!container) are checked before
    # the ExecCondition: where they fail (the ExecCondition never ran), ModemManager cannot run
    # here at all, and neither the skip nor the api = "off" step says anything.
    condition=$(systemctl show -p ExecCondition --value ModemManager.service)
    if [[ $condition == *"pid=0 ;"* ]] &&
        [ "$(systemctl show -p ConditionResult --value ModemManager.service)" = no ]; then
        mm_unit=no
        mm_absent="its unit conditions fail in this VM (systemd-detect-virt: \
$(systemd-detect-virt 2>&1)), so its skip while mbimd owns the name cannot be checked here"
    fi
fi
if [ "$mm_unit" = yes ]; then
    result=$(systemctl show -p Result --value ModemManager.service)
    # systemd 252 may leave Result=success after a skip, and its journal may not hold the
    # "Skipped due to 'exec-condition'" line yet: the condition's own exit status (1: the name
    # is owned) and a main process that never started say it for sure.
    main_start=$(systemctl show -p ExecMainStartTimestampMonotonic --value ModemManager.service)
    skipped=no
    { [ "$result" = exec-condition ] ||
        { [[ $condition == *"status=1 "* || $condition == *"status=1}"* ]] &&
            [ "${main_start:-0}" = 0 ]; } ||
        journalctl -u ModemManager.service --no-pager 2>/dev/null | grep -q "exec-condition"; } &&
        skipped=yes
    owner=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        GetConnectionUnixUser s org.freedesktop.ModemManager1 2>&1)
    [ "$skipped" = yes ] && [ "$owner" = "u $mbimd_uid" ] &&
        ! systemctl is-active --quiet ModemManager.service &&
        pass "ModemManager.service skipped (ExecCondition) while mbimd owns the name" ||
        fail "ModemManager.service: Result=$result, $(systemctl is-active ModemManager.service), \
name owner $owner, ExecCondition $condition, main started at ${main_start:-?}; \
$(journalctl -u ModemManager.service --no-pager 2>&1 | tail -n 5)"
else
    skip "ModemManager.service: $mm_absent"
fi
out=$(busctl --system call org.freedesktop.ModemManager1 $modem \
    org.freedesktop.ModemManager1.Modem.Simple Disconnect o / 2>&1) &&
    pass "Simple.Disconnect" || fail "Simple.Disconnect: $out"
systemctl stop mbimd.service
# The rest is mbimd's own configuration of the session: no ModemManager API.
sed -i 's|^api = "auto"$|api = "off"|' /etc/mbimd/mbimd.toml
grep -q '^api = "off"$' /etc/mbimd/mbimd.toml || abort "the packaged mbimd.toml has no api = \"auto\""
if [ "$mm_unit" = yes ]; then
    # api = "off": the name is ModemManager's, and it leaves the MBIM modem alone
    # (ID_MM_DEVICE_IGNORE from 70-mbimd.rules).
    if systemctl start ModemManager.service && systemctl is-active --quiet ModemManager.service; then
        pass "ModemManager.service starts with mbimd's API off"
    else
        fail "ModemManager.service did not start: $(systemctl status ModemManager.service | tail -n 3)"
    fi
fi

step "mbimd.service runs as mbimd with CAP_NET_ADMIN alone"
start_unit mbimd.service
pid=$(systemctl show -p MainPID --value mbimd.service)
uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status")
caps=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")
[ "$uid" = "$mbimd_uid" ] && pass "mbimd (PID $pid) runs as uid $uid (mbimd)" || fail "mbimd runs as uid $uid"
# CAP_NET_ADMIN is capability 12.
[ "$caps" = 0000000000001000 ] && pass "its effective capabilities are CAP_NET_ADMIN alone" ||
    fail "its effective capabilities are $caps"
owner=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    GetConnectionUnixUser s dev.mbimd.Mbimd1)
[ "$owner" = "u $mbimd_uid" ] && pass "dev.mbimd.Mbimd1 is owned by uid $mbimd_uid" ||
    fail "dev.mbimd.Mbimd1 owner: $owner"

step "mbimd works in its sandbox"
# shellcheck disable=SC2317 # called through wait_for
has_address() { [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"10.64.0.2/30"* ]]; }
if wait_for 60 exists /sys/class/net/mbim0e0 && wait_for 30 has_address; then
    pass "mbim0e0 has 10.64.0.2/30"
else
    journalctl -u mbimd.service --no-pager | tail -n 40
    abort "no mbim0e0 with 10.64.0.2"
fi
if ping -c 3 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping.log" 2>&1; then
    pass "10.64.0.1 answers ping through mbim0e0"
else
    cat "$VM_OUT/ping.log"
    fail "no ping reply from 10.64.0.1"
fi
# mbimd writes addr_gen_mode=1 (no kernel link-local address) through the one writable
# part of /proc/sys.
mode=$(cat /proc/sys/net/ipv6/conf/mbim0e0/addr_gen_mode)
[ "$mode" = 1 ] && pass "mbimd set net.ipv6.conf.mbim0e0.addr_gen_mode=1" ||
    fail "net.ipv6.conf.mbim0e0.addr_gen_mode is $mode"
if [ "$resolved" = yes ]; then
    # shellcheck disable=SC2317 # called through wait_for
    link_dns() {
        [[ $(LD_LIBRARY_PATH=$shared_lib "$VM_RESOLVED/usr/bin/resolvectl" dns mbim0e0 2>&1) == \
            *"10.64.0.1 fd00:6d62::1"* ]]
    }
    if wait_for 20 link_dns; then
        pass "resolved holds mbim0e0's DNS servers, set by the user mbimd through the polkit rule"
    else
        LD_LIBRARY_PATH=$shared_lib "$VM_RESOLVED/usr/bin/resolvectl" dns mbim0e0 || true
        journalctl -u mbimd.service -u polkit.service --no-pager | tail -n 20
        fail "resolved has no DNS servers for mbim0e0"
    fi
else
    # shellcheck disable=SC2317 # called through wait_for
    has_dns() { grep -q '^nameserver ' /run/mbimd/resolv.conf; }
    wait_for 10 has_dns && pass "DNS servers in /run/mbimd/resolv.conf (its RuntimeDirectory)" ||
        fail "no nameserver in /run/mbimd/resolv.conf"
fi
# Type=notify: the status line systemd shows, and the watchdog pinged.
# shellcheck disable=SC2317 # called through wait_for
status_connected() { [ "$(systemctl show -p StatusText --value mbimd.service)" = "1 modem, 1 connected" ]; }
wait_for 10 status_connected && pass "systemctl status: \"1 modem, 1 connected\"" ||
    fail "StatusText: $(systemctl show -p StatusText --value mbimd.service)"
state=$(busctl --system get-property dev.mbimd.Mbimd1 /dev/mbimd/Mbimd1/Modem0/Executor0 \
    dev.mbimd.Executor1 State)
[ "$state" = 's "connected"' ] && pass "D-Bus: Executor0 State connected" || fail "D-Bus: State $state"
step "libmbim's tools reach the modem through mbimd's proxy, in the sandbox"
# mbimd serves libmbim's proxy protocol on the abstract socket mbim-proxy and names each
# executor by a FIFO in its RuntimeDirectory; root may use it, other users may not.
proxy_path=/run/mbimd/mbim-proxy/mbim0e0
if wait_for 10 exists "$proxy_path"; then
    pass "$proxy_path names executor 0"
else
    ls -l /run/mbimd /run/mbimd/mbim-proxy 2>&1 || true
    journalctl -u mbimd.service --no-pager | grep -i proxy | tail -n 10
    fail "no $proxy_path"
fi
if out=$(timeout 30 mbimcli -p -d "$proxy_path" --query-device-caps 2>&1) &&
    [[ $out == *"mbim-sim"* ]]; then
    pass "mbimcli -p --query-device-caps through mbimd"
else
    echo "$out"
    fail "mbimcli -p --query-device-caps"
fi
if out=$(timeout 30 mbimcli -p -d "$proxy_path" --query-connection-state 2>&1) &&
    [[ $out == *"activated"* ]]; then
    pass "mbimcli -p sees mbimd's session activated"
else
    echo "$out"
    fail "mbimcli -p --query-connection-state"
fi
if out=$(timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
    mbimcli -p -d "$proxy_path" --query-device-caps 2>&1); then
    echo "$out"
    fail "an unprivileged user reached the modem through the proxy"
else
    pass "an unprivileged user is refused by the proxy"
fi
systemctl is-active --quiet mbimd.service && pass "mbimd.service active after the proxy clients" ||
    fail "mbimd.service not active after the proxy clients"
if systemctl reload mbimd.service; then
    pass "systemctl reload mbimd.service (ExecReload= as the user mbimd)"
else
    journalctl -u mbimd.service --no-pager | tail -n 10
    fail "systemctl reload mbimd.service"
fi
systemctl is-active --quiet mbimd.service && pass "mbimd.service still active" || fail "mbimd.service not active"
if [ "$mm_unit" = yes ] && systemctl is-active --quiet ModemManager.service; then
    # ModemManager ran beside mbimd all along and never took the modem.
    modems=$(busctl --system call org.freedesktop.ModemManager1 /org/freedesktop/ModemManager1 \
        org.freedesktop.DBus.ObjectManager GetManagedObjects 2>&1)
    [ "$modems" = "a{oa{sa{sv}}} 0" ] &&
        pass "ModemManager lists no modem: the MBIM modem is mbimd's alone" ||
        fail "ModemManager lists: $modems"
    systemctl stop ModemManager.service
fi

# probe_unit NAME SED-SCRIPT: a copy of the packaged unit, edited by SED-SCRIPT, whose
# ExecStart= is the probe; its verdicts land in $VM_OUT/NAME.log.
root_pid=$(systemctl show -p MainPID --value systemd-journald.service)
probe_unit() {
    local name=$1 edit=$2
    sed -e '/^ExecStart=/c ExecStart='"$VM_REPO/tests/vm/lib/sandbox-probe.sh $modem_node $other_node $root_pid" \
        -e '/^Type=/c Type=oneshot' \
        -e '/^\(BusName\|ExecReload\|Restart\|RestartSec\|StateDirectory\|StateDirectoryMode\|RuntimeDirectory\)=/d' \
        -e '/^\[Service\]$/a StandardOutput=file:'"$VM_OUT/$name.log" \
        -e "$edit" /usr/lib/systemd/system/mbimd.service >"/etc/systemd/system/$name.service"
    systemctl daemon-reload
    rm -f /run/vmtest-canary
    systemctl start "$name.service" || fail "$name.service failed: $(systemctl status "$name.service" | tail -n 3)"
    cat "$VM_OUT/$name.log"
}
# verdict LOG PATTERN DESC: PASS when a line of LOG matches PATTERN (a grep -E).
verdict() {
    if grep -Eq "$2" "$VM_OUT/$1.log"; then pass "$3"; else fail "$3: $(grep -F "${4:-$3}" "$VM_OUT/$1.log" || true)"; fi
}

step "a probe with the packaged unit's sandbox"
probe_unit probe-packaged ''
verdict probe-packaged "^id: uid=$mbimd_uid CapEff=0000000000001000$" "the probe runs as mbimd with CAP_NET_ADMIN" "id:"
for path in /proc/sys/kernel/core_pattern /sys/power/state /proc/sys/vm/drop_caches \
    /proc/sysrq-trigger /proc/sys/net/ipv4/ip_forward /etc/mbimd/mbimd.toml /usr/bin/mbimd \
    /dev/mem "$other_node"; do
    verdict probe-packaged "^open $path: refused" "$path cannot be opened for writing" "open $path:"
done
verdict probe-packaged "^open /proc/sys/net/ipv6/conf/mbim0e0/accept_ra: writable$" \
    "the IPv6 sysctls of mbim0e0 stay writable" "open /proc/sys/net/ipv6/conf/mbim0e0"
verdict probe-packaged "^open $modem_node: writable$" "the modem's usbfs node is writable" "open $modem_node:"
verdict probe-packaged "^kill $root_pid: refused" "no signal to a root process (journald)" "kill "
verdict probe-packaged "^proc PID 1: hidden$" "other processes are hidden in /proc" "proc PID 1"
verdict probe-packaged "^dbus StartUnit: refused" "systemd refuses to start a unit for it over D-Bus" "dbus StartUnit"
[ ! -e /run/vmtest-canary ] && pass "the canary unit did not run" || fail "the canary unit ran"

step "the same probe, weakened (root, no ProtectKernelTunables), sees the holes"
# The unit's posture before the user mbimd: root with CAP_NET_ADMIN, /proc/sys writable.
probe_unit probe-weakened '/^\(User\|Group\|ProtectKernelTunables\|ProtectProc\)=/d'
verdict probe-weakened "^id: uid=0 " "the weakened probe runs as root" "id:"
verdict probe-weakened "^open /proc/sys/kernel/core_pattern: writable$" \
    "as root, core_pattern is writable (what the packaged unit prevents)" "open /proc/sys/kernel/core_pattern"
verdict probe-weakened "^dbus StartUnit: allowed$" \
    "as root, systemd starts a unit for it over D-Bus (what the packaged unit prevents)" "dbus StartUnit"
wait_for 5 exists /run/vmtest-canary && pass "the canary unit ran for root" || fail "the canary unit did not run for root"

step "systemd's own score of the unit"
score=$(systemd-analyze security mbimd.service 2>/dev/null |
    sed -n 's/.*Overall exposure level for mbimd.service: \([0-9.]*\).*/\1/p')
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    pass "systemd-analyze security mbimd.service: $score (at most 2.0)"
else
    fail "systemd-analyze security mbimd.service: ${score:-no score}"
fi

step "the watchdog is fed"
# WatchdogSec=60s: a service that did not ping would have been killed by now.
started=$(systemctl show -p ExecMainStartTimestampMonotonic --value mbimd.service)
while [ $(($(awk '{printf "%d", $1 * 1000000}' /proc/uptime) - started)) -lt 75000000 ]; do sleep 1; done
if systemctl is-active --quiet mbimd.service &&
    [ "$(systemctl show -p NRestarts --value mbimd.service)" = 0 ] &&
    [ "$(systemctl show -p ExecMainPID --value mbimd.service)" = "$pid" ]; then
    pass "75 s after its start mbimd is the same process, never restarted (watchdog $(systemctl show -p WatchdogUSec --value mbimd.service))"
else
    journalctl -u mbimd.service --no-pager | grep -i watchdog | tail -n 5
    fail "mbimd was restarted or stopped: $(systemctl show -p Result -p NRestarts mbimd.service | tr '\n' ' ')"
fi

step "SIGTERM (systemctl stop) removes the device"
systemctl stop mbimd.service
wait_for 10 absent /sys/class/net/mbim0e0 && pass "mbim0e0 removed on stop" || fail "mbim0e0 left after stop"
journalctl -u mbimd.service --no-pager >"$VM_OUT/mbimd.log" 2>&1 || true
finish
