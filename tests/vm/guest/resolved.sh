#!/bin/bash
# mbimd's DNS through the real systemd-resolved (the Debian package, unpacked on the host by
# lib/prepare.sh, never installed), on a system bus of the guest's own. With
# backend = "auto" and resolved running, mbim0e0 gets exactly the simulated network's DNS
# servers, no search domains, and the default-route flag; a DNS-only change from the network
# (ctl set-dns) follows; resolved restarted with its saved link state gone and the servers
# changed while it was down gets the current ones again; unplugging the modem reverts the
# link. Then mbimd with backend = "resolved" started before resolved: the connection comes up
# without it, and resolved gets the servers when it starts; SIGTERM reverts the link.
set -eu
# shellcheck source=tests/vm/lib/guest.sh
. "$VM_REPO/tests/vm/lib/guest.sh"
[ -z "$VM_SIM_PROTOTYPE" ] || skip_all "needs mbim-sim"
[ -n "${VM_RESOLVED:-}" ] || skip_all "no unpacked systemd-resolved (lib/prepare.sh could not fetch it)"
mbimd=$(dirname "$VM_MBIM_SIM")/mbimd
[ -x "$mbimd" ] || abort "no $mbimd (tests/vm/run.sh builds it)"

resolved_bin=$VM_RESOLVED/lib/systemd/systemd-resolved
shared_lib=$(find "$VM_RESOLVED" -name 'libsystemd-shared-*.so' -printf '%h\n' | head -n 1)
# The unpacked binaries find their private library of the same version first.
resolvectl() { LD_LIBRARY_PATH=$shared_lib "$VM_RESOLVED/usr/bin/resolvectl" "$@"; }

step "a system bus and systemd-resolved of the guest's own"
start_private_bus

# What the package's sysusers.d and the unit's RuntimeDirectory= would have made. resolved
# drops to this user when started as root. No stub listener: nothing needs port 53 here.
getent passwd systemd-resolve >/dev/null ||
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin systemd-resolve
mkdir -p /run/systemd/resolve /run/systemd/resolved.conf.d
chown systemd-resolve:systemd-resolve /run/systemd/resolve
printf '[Resolve]\nDNSStubListener=no\nLLMNR=no\nMulticastDNS=no\n' \
    >/run/systemd/resolved.conf.d/vmtest.conf

# Every RevertLink that reaches resolved, one line each, for the whole test.
busctl --system monitor --match "type='method_call',interface='org.freedesktop.resolve1.Manager',member='RevertLink'" \
    >"$VM_OUT/revert-calls.log" 2>&1 &

# shellcheck disable=SC2317 # called through wait_for
resolved_owned() {
    [ "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
        NameHasOwner s org.freedesktop.resolve1 2>/dev/null)" = "b true" ]
}
resolved_pid=
resolved_n=0
start_resolved() {
    resolved_n=$((resolved_n + 1))
    LD_LIBRARY_PATH=$shared_lib SYSTEMD_LOG_LEVEL=debug "$resolved_bin" \
        >"$VM_OUT/resolved-$resolved_n.log" 2>&1 &
    resolved_pid=$!
    if wait_for 30 resolved_owned; then
        pass "systemd-resolved ($resolved_n) owns org.freedesktop.resolve1"
    else
        tail -n 20 "$VM_OUT/resolved-$resolved_n.log"
        abort "systemd-resolved did not come up"
    fi
}
stop_resolved() {
    kill -TERM "$resolved_pid" 2>/dev/null || true
    wait_for 15 eval '! kill -0 '"$resolved_pid" || kill -KILL "$resolved_pid" 2>/dev/null || true
    wait "$resolved_pid" 2>/dev/null || true
    if wait_for 10 eval '! resolved_owned'; then
        pass "systemd-resolved stopped"
    else
        abort "org.freedesktop.resolve1 still owned after resolved stopped"
    fi
}
start_resolved

mbimd_pid=
start_mbimd() { # start_mbimd BACKEND
    cat >/tmp/mbimd-resolved.toml <<TOML
[modemmanager]
api = "off"

[logging]
level = "info,mbimd=debug"
target = "stderr"

[dns]
backend = "$1"

[[profiles]]
name = "simulated"
apn = "internet"
TOML
    RUST_BACKTRACE=1 "$mbimd" --config /tmp/mbimd-resolved.toml >>"$VM_OUT/mbimd.log" 2>&1 &
    mbimd_pid=$!
}
# shellcheck disable=SC2317 # called through wait_for
has_address() { [[ $(ip -4 addr show dev mbim0e0 2>/dev/null) == *"10.64.0.2/30"* ]]; }
wait_connected() {
    if wait_for 60 exists /sys/class/net/mbim0e0 && wait_for 30 has_address; then
        pass "mbim0e0 has 10.64.0.2/30"
    else
        tail -n 40 "$VM_OUT/mbimd.log"
        abort "no mbim0e0 with 10.64.0.2"
    fi
    ifindex=$(cat /sys/class/net/mbim0e0/ifindex)
}

# What resolved holds for mbim0e0, as resolvectl prints it ("Link 5 (mbim0e0): a b").
link_value() { # link_value VERB
    local line
    line=$(resolvectl "$1" mbim0e0 2>&1) || return 1
    line=${line#*:}
    printf '%s\n' "${line# }"
}
# shellcheck disable=SC2317 # called through wait_for
link_dns_is() { [ "$(link_value dns)" = "$1" ]; }
expect_link_dns() { # expect_link_dns SERVERS DESC
    if wait_for 30 link_dns_is "$1"; then
        pass "$2: resolved has mbim0e0's DNS servers '$1'"
    else
        resolvectl status mbim0e0 || true
        tail -n 20 "$VM_OUT/mbimd.log"
        fail "$2: resolved has mbim0e0's DNS servers '$(link_value dns)', expected '$1'"
    fi
}
expect_link_flags() {
    local got
    got=$(link_value default-route)
    if [ "$got" = yes ]; then
        pass "mbim0e0 is resolved's default route for every domain (the device has the default route)"
    else
        fail "resolvectl default-route mbim0e0: '$got', expected 'yes'"
    fi
    got=$(link_value domain)
    if [ -z "$got" ]; then
        pass "mbim0e0 has no search domains"
    else
        fail "mbim0e0's search domains: '$got', expected none"
    fi
}
# shellcheck disable=SC2317 # called through wait_for
reverted() { # reverted N: N RevertLink calls for ifindex $ifindex seen so far
    [ "$(awk -v i="$ifindex" '/Member=RevertLink/ { m = 1; next } m && /INT32/ { sub(/;$/, "", $2); if ($2 == i) n++; m = 0 } END { print n + 0 }' \
        "$VM_OUT/revert-calls.log")" -ge "$1" ]
}
# No 10.64.0.x or fd00:6d62:: server is left anywhere in resolved.
no_modem_servers() {
    local all
    all=$(resolvectl dns 2>&1)
    if [[ $all == *10.64.0.* ]] || [[ $all == *fd00:6d62::* ]]; then
        fail "$1: resolved still has a server of the modem: $(echo "$all" | tr '\n' ' ')"
    else
        pass "$1: no server of the modem is left in resolved"
    fi
}

step "backend auto, resolved running"
attach_modem dssa 1
start_mbimd auto
wait_connected
expect_link_dns "10.64.0.1 fd00:6d62::1" "connected"
expect_link_flags
if grep -q "^nameserver 10.64.0.1$" /run/systemd/resolve/resolv.conf; then
    pass "resolved's resolv.conf lists 10.64.0.1"
else
    cat /run/systemd/resolve/resolv.conf || true
    fail "resolved's resolv.conf does not list 10.64.0.1"
fi

step "a DNS-only change from the network"
check "DNS changed on the network's side" \
    ctl set-dns --executor 0 --ipv4-dns 10.64.0.53 --ipv6-dns fd00:6d62::53 || true
expect_link_dns "10.64.0.53 fd00:6d62::53" "after ctl set-dns"
expect_link_flags

step "resolved restarted while mbimd runs"
stop_resolved
# resolved keeps per-link settings in /run/systemd/resolve/netif across its own restarts;
# removed, only mbimd can put them back. The servers also change while resolved is down.
rm -rf /run/systemd/resolve/netif
check "DNS changed on the network's side while resolved is down" \
    ctl set-dns --executor 0 --ipv4-dns 10.64.0.54 --ipv6-dns fd00:6d62::54 || true
# shellcheck disable=SC2317 # called through wait_for
deferred() { grep -q "systemd-resolved is not running; the link's DNS servers are set when it starts" "$VM_OUT/mbimd.log"; }
if wait_for 30 deferred; then
    pass "mbimd took the update while resolved was down (and kept it for later)"
else
    tail -n 20 "$VM_OUT/mbimd.log"
    fail "mbimd did not take the DNS update while resolved was down"
fi
start_resolved
expect_link_dns "10.64.0.54 fd00:6d62::54" "resolved restarted"
expect_link_flags
if has_address && kill -0 "$mbimd_pid" 2>/dev/null; then
    pass "the connection stayed up while resolved was away"
else
    fail "the connection did not survive resolved's restart"
fi

step "unplug"
ctl unplug || true
if wait_for 30 absent /sys/class/net/mbim0e0; then
    pass "mbim0e0 is gone after ctl unplug"
else
    fail "mbim0e0 still there 30 s after ctl unplug"
fi
if wait_for 10 reverted 1; then
    pass "mbimd reverted link $ifindex in resolved (RevertLink)"
else
    cat "$VM_OUT/revert-calls.log"
    fail "no RevertLink for link $ifindex after the unplug"
fi
no_modem_servers "after the unplug"
sim_kill
stop_mbimd "$mbimd_pid" mbim0e0

step "backend resolved, mbimd started before resolved"
stop_resolved
# shellcheck disable=SC2046 # two words, no globbing characters
sim_start serve $(scenario_args dssa) --attach --control "$SIM_CONTROL"
start_mbimd resolved
wait_connected
if ping -c 2 -W 5 -I mbim0e0 10.64.0.1 >"$VM_OUT/ping.log" 2>&1; then
    pass "connected without resolved: 10.64.0.1 answers ping through mbim0e0"
else
    cat "$VM_OUT/ping.log"
    fail "no ping reply from 10.64.0.1 without resolved"
fi
start_resolved
expect_link_dns "10.64.0.1 fd00:6d62::1" "resolved started after mbimd"
expect_link_flags

step "SIGTERM"
stop_mbimd "$mbimd_pid" mbim0e0
if [ -e /sys/class/net/mbim0e0 ]; then fail "mbim0e0 outlived mbimd"; else pass "mbim0e0 removed"; fi
if wait_for 10 reverted 1; then
    pass "mbimd reverted link $ifindex in resolved on SIGTERM (RevertLink)"
else
    cat "$VM_OUT/revert-calls.log"
    fail "no RevertLink for link $ifindex on SIGTERM"
fi
no_modem_servers "after SIGTERM"
stop_resolved
finish
