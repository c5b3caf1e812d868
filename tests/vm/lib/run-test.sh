#!/bin/bash
# Runs the guest test script of this VM with its time limit, leaving its log, exit status and
# the kernel log in the results share. Started by stage2.sh as PID 1's child, or, for tests
# that ask for systemd as PID 1 (a "# vmtest: init=systemd" line), as the service vmtest.service
# that stage2.sh has systemd start. Either way the caller powers the VM off afterwards.
set -u
exec </dev/null >/dev/console 2>&1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb LC_ALL=C.UTF-8

out=$(sed -n 's/.*[[:space:]]vmtest\.out=\([^[:space:]]*\).*/\1/p' /proc/cmdline)
# shellcheck source=/dev/null
. "$out/env"
export VM_OUT VM_REPO VM_TEST VM_MBIM_SIM VM_SIM_PROTOTYPE VM_RESOLVED VM_INIT VM_PROFILE \
    VM_BENCH_WARMUP VM_BENCH_WINDOW VM_BENCH_WINDOWS

echo "VMTEST-START $VM_TEST (uptime $(cut -d' ' -f1 /proc/uptime) s, PID 1: $(cat /proc/1/comm))"
cd /tmp || exit 1
set -o pipefail
timeout -k 5 "$VM_GUEST_TIMEOUT" bash "$VM_TEST_SCRIPT" 2>&1 | tee "$out/test.log"
rc=${PIPESTATUS[0]}
[ "$rc" = 124 ] && echo "VMTEST-TIMEOUT: $VM_TEST ran longer than ${VM_GUEST_TIMEOUT}s"

dmesg >"$out/dmesg.txt" 2>&1
echo "$rc" >"$out/rc"
sync
echo "VMTEST-END $VM_TEST rc=$rc (uptime $(cut -d' ' -f1 /proc/uptime) s)"
