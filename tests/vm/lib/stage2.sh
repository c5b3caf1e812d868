#!/bin/bash
# PID 1 inside the guest after switch_root (the host's root, read-only, under a tmpfs overlay).
# Reads the run's settings from "$out/env" (written by run.sh on the host) and runs the guest
# test through lib/run-test.sh (time limit, log, exit status and kernel log in the results
# share), then powers the VM off. Never exits: PID 1 exiting would panic the kernel.
#
# A test that asks for systemd as PID 1 (VM_INIT=systemd) gets the host's systemd instead:
# stage2 makes the overlay bootable (no fstab, nothing of the host's own timers and services
# beyond sysinit.target), adds vmtest.target with vmtest.service (run-test.sh, then power off
# whatever its outcome) and execs systemd with that target.
set -u
exec </dev/console >/dev/console 2>&1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LC_ALL=C.UTF-8

off() {
    sync
    if [ -n "${out:-}" ]; then umount "$out" 2>/dev/null; fi
    busybox poweroff -f 2>/dev/null
    echo o >/proc/sysrq-trigger
    sleep 30
}

out=$(sed -n 's/.*[[:space:]]vmtest\.out=\([^[:space:]]*\).*/\1/p' /proc/cmdline)
if [ -z "$out" ] || [ ! -r "$out/env" ]; then
    echo "VMTEST-STAGE2-FAIL: no settings at '$out/env'"
    off
fi
# shellcheck source=/dev/null
. "$out/env"
here=$VM_REPO/tests/vm/lib

hostname vmtest 2>/dev/null
ip link set lo up

if [ "${VM_INIT:-}" = systemd ]; then
    # The host's fstab names the host's disks; its enabled timers and services are its own.
    : >/etc/fstab
    for unit in timers.target getty.target systemd-timesyncd.service systemd-pstore.service \
        e2scrub_reap.service remote-fs.target; do
        ln -sf /dev/null "/etc/systemd/system/$unit"
    done
    # No progress spinner over the test's output on the console.
    mkdir -p /etc/systemd/system.conf.d
    printf '[Manager]\nShowStatus=no\n' >/etc/systemd/system.conf.d/vmtest.conf
    cat >/etc/systemd/system/vmtest.target <<UNIT
[Unit]
Description=The VM's guest test
Requires=vmtest.service basic.target
After=vmtest.service basic.target
AllowIsolate=yes
UNIT
    cat >/etc/systemd/system/vmtest.service <<UNIT
[Unit]
Description=Guest test $VM_TEST
After=basic.target dbus.socket systemd-udevd.service
Wants=dbus.socket
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=$here/run-test.sh
TimeoutStartSec=infinity
UNIT
    # shellcheck disable=SC2093 # what follows runs only when exec fails
    exec /lib/systemd/systemd --unit=vmtest.target --log-level=warning
    echo "VMTEST-STAGE2-FAIL: cannot exec systemd"
    off
fi

"$here/run-test.sh"
off
