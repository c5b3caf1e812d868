#!/bin/bash
# PID 1 inside the guest after switch_root (the host's root, read-only, under a tmpfs overlay).
# Reads the run's settings from "$out/env" (written by run.sh on the host), runs the guest test
# script as root with a time limit, leaves its log, exit status and the kernel log in the
# results share, and powers the VM off. Never exits: PID 1 exiting would panic the kernel.
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
export VM_OUT VM_REPO VM_TEST VM_MBIM_SIM VM_SIM_PROTOTYPE VM_RESOLVED

hostname vmtest 2>/dev/null
ip link set lo up
echo "VMTEST-START $VM_TEST (uptime $(cut -d' ' -f1 /proc/uptime) s)"

cd /tmp || off
set -o pipefail
timeout -k 5 "$VM_GUEST_TIMEOUT" bash "$VM_TEST_SCRIPT" 2>&1 | tee "$out/test.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && echo "VMTEST-TIMEOUT: $VM_TEST ran longer than ${VM_GUEST_TIMEOUT}s"

dmesg >"$out/dmesg.txt" 2>&1
echo "$rc" >"$out/rc"
echo "VMTEST-END $VM_TEST rc=$rc (uptime $(cut -d' ' -f1 /proc/uptime) s)"
off
