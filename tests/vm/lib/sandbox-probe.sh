#!/bin/bash
# What a process inside a unit's sandbox can reach. guest/sandbox.sh runs this as the
# ExecStart= of a copy of mbimd.service (every sandbox setting as packaged) and of a weakened
# copy, and reads the verdicts from stdout. Nothing is changed: each file is only opened for
# writing (the kernel checks write permission, and a read-only mount, at open), the D-Bus call
# starts a harmless canary unit, and kill sends signal 0.
#
#   sandbox-probe.sh MODEM_NODE OTHER_USB_NODE ROOT_PID
#
# One line per probe: "open PATH: writable" or "open PATH: refused (why)", "kill ROOT_PID: …",
# "dbus StartUnit: …", "proc PID 1: visible|hidden", "id: uid=… CapEff=…".
set -u
modem_node=$1 other_node=$2 root_pid=$3

echo "id: uid=$(id -u) CapEff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)"

probe_open() {
    local why
    if why=$( { exec 3>>"$1"; } 2>&1); then
        echo "open $1: writable"
    else
        echo "open $1: refused (${why##*: })"
    fi
}
for path in /proc/sys/kernel/core_pattern /sys/power/state /proc/sys/vm/drop_caches \
    /proc/sysrq-trigger /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/mbim0e0/accept_ra \
    /etc/mbimd/mbimd.toml /usr/bin/mbimd /dev/mem "$modem_node" "$other_node"; do
    probe_open "$path"
done

if why=$(kill -0 "$root_pid" 2>&1); then
    echo "kill $root_pid: allowed"
else
    echo "kill $root_pid: refused (${why##*: })"
fi

if [ -e /proc/1/status ]; then echo "proc PID 1: visible"; else echo "proc PID 1: hidden"; fi

if why=$(busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
    org.freedesktop.systemd1.Manager StartUnit ss vmtest-canary.service replace 2>&1); then
    echo "dbus StartUnit: allowed"
else
    echo "dbus StartUnit: refused ($why)"
fi
