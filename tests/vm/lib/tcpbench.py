#!/usr/bin/env python3
"""Bulk TCP through one network device, with the CPU time it costs (tests/vm/bench/cdc.sh).

    tcpbench.py run --label NAME --dev DEV --netns NS --server ADDR [--pid NAME=PID]...
                    [--warmup S] [--window S] [--windows N] [--only tx|rx] --results FILE
    tcpbench.py report --results FILE --base LABEL
    tcpbench.py qemu-sampler --out DIR        (on the host, beside the VM)

`run` measures one path, both directions: TX, a client in this network namespace sends
through DEV (SO_BINDTODEVICE) to a sink listening on ADDR in the namespace NS (the network
behind the simulated modem); RX, a source there sends back to the client. Each direction:
one TCP connection, 1 MiB per system call, WARMUP seconds, then WINDOWS windows of WINDOW
seconds. Per window: the receiver's byte count (TCP payload), the guest-wide busy CPU time
(every CPU's time less its idle and iowait time in /proc/stat: the kernel's softirq work
counts wherever it ran), and each named process's utime+stime from /proc/PID/stat. The
medians over the windows are printed and appended to FILE as one JSON object per direction.

With --qemu DIR (the results share), each window also gets the emulator's own CPU time on
the host: at every window boundary the guest writes a mark into DIR, `qemu-sampler` (run by
tests/vm/run.sh on the host, polling every 10 ms) answers with QEMU's utime+stime at that
moment, and the guest waits for the answer. This is the work the whole VM cost, whatever the
host's load: inside the guest, time a vCPU's thread waited for the host's CPU counts as busy.

`report` prints every run of FILE in order, with the ratios over LABEL: throughput (higher is
better) and CPU seconds per gigabyte (lower is better). LABEL's figures are the medians of the
windows of all its runs: a base measured before and after the others evens out a host whose
load drifts meanwhile.

One process holds both ends: the listener is made inside NS (setns on this thread, then
back), and a socket stays in the namespace it was made in. Python's own cost per byte is
small at 1 MiB per call, and it is the same on every path.
"""
import argparse
import ctypes
import json
import os
import socket
import statistics
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
CHUNK = 1 << 20
PORT = 5201
TICK = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


def in_netns(name, make):
    """Runs make() with this thread in the network namespace /run/netns/NAME."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    target = os.open(os.path.join("/run/netns", name), os.O_RDONLY)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
        try:
            return make()
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns back: {os.strerror(err)}")
    finally:
        os.close(own)
        os.close(target)


def idle_seconds():
    """Idle and iowait time, and the tick-sampled busy time, of all CPUs together (the first
    line of /proc/stat), in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (fields[3] + fields[4]) / TICK, sum(fields[i] for i in (0, 1, 2, 5, 6, 7)) / TICK


def process_ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    # Fields 14 and 15 of proc(5); rest[0] is field 3.
    return int(rest[11]) + int(rest[12])


class Counter:
    """Bytes a receiver thread has read so far, and whether to stop."""

    def __init__(self):
        self.bytes = 0
        self.stop = False
        self.error = None


def receive(sock, counter):
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    try:
        while not counter.stop:
            n = sock.recv_into(view)
            if n == 0:
                return
            counter.bytes += n
    except OSError as e:
        if not counter.stop:
            counter.error = e


def send(sock, counter):
    data = memoryview(b"\x5a" * CHUNK)
    try:
        while not counter.stop:
            sock.sendall(data)
    except OSError as e:
        if not counter.stop:
            counter.error = e


class QemuMarks:
    """The guest's side of the mark exchange with `qemu-sampler` (see the module's doc)."""

    def __init__(self, directory):
        self.directory = directory
        self.seq = 0

    def cpu_seconds(self):
        """QEMU's CPU time on the host now, in seconds; None if the host did not answer."""
        self.seq += 1
        mark = f"{os.getpid()}-{self.seq}"
        tmp = os.path.join(self.directory, "mark.tmp")
        with open(tmp, "w") as f:
            f.write(mark + "\n")
        os.rename(tmp, os.path.join(self.directory, "mark"))
        answers = os.path.join(self.directory, "qemu-marks")
        end = time.monotonic() + 2
        while time.monotonic() < end:
            try:
                with open(answers) as f:
                    for line in f:
                        fields = line.split()
                        if len(fields) == 2 and fields[0] == mark:
                            return int(fields[1]) / TICK
            except OSError:
                pass
            time.sleep(0.01)
        return None


def sample(counter, pids, qemu):
    cpu = qemu.cpu_seconds() if qemu else None
    return (time.monotonic(), counter.bytes, idle_seconds(), {k: process_ticks(p) for k, p in pids.items()}, cpu)


def measure(direction, listener, args, pids, qemu):
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, args.dev.encode())
    client.settimeout(30)
    client.connect((args.server, PORT))
    peer, _ = listener.accept()
    peer.settimeout(10)
    client.settimeout(10)
    sender, receiver = (client, peer) if direction == "tx" else (peer, client)
    counter = Counter()
    threads = [
        threading.Thread(target=send, args=(sender, counter), daemon=True),
        threading.Thread(target=receive, args=(receiver, counter), daemon=True),
    ]
    for t in threads:
        t.start()
    time.sleep(args.warmup)
    windows = []
    last = sample(counter, pids, qemu)
    for _ in range(args.windows):
        time.sleep(args.window)
        now = sample(counter, pids, qemu)
        secs = now[0] - last[0]
        nbytes = now[1] - last[1]
        gb = nbytes / 1e9
        # Busy = every CPU's share of the window less its idle time. Not /proc/stat's busy
        # counters: those are sampled at the timer tick, and a tick that comes late (a vCPU
        # the emulator's host did not run for a while) is counted once, while the idle time
        # and each process's utime+stime are clock time; under TCG on a loaded host the
        # ticks undercount the busy time by half.
        busy = max(0.0, secs * CPUS - (now[2][0] - last[2][0]))
        w = {
            "mbps": nbytes * 8 / secs / 1e6,
            "cpu_util": busy / secs,
            "cpu_s_per_gb": busy / gb if gb else float("inf"),
            "ticks_s_per_gb": (now[2][1] - last[2][1]) / gb if gb else float("inf"),
        }
        for name in pids:
            w[f"{name}_s_per_gb"] = (now[3][name] - last[3][name]) / TICK / gb if gb else float("inf")
        if now[4] is not None and last[4] is not None:
            w["qemu_s_per_gb"] = (now[4] - last[4]) / gb if gb else float("inf")
        windows.append(w)
        last = now
    counter.stop = True
    for s in (client, peer):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
    for t in threads:
        t.join(timeout=10)
    if counter.error is not None:
        print(f"tcpbench: {args.label} {direction}: {counter.error}", file=sys.stderr)
    return dict(summary(windows), label=args.label, dir=direction, windows=windows)


def summary(windows):
    """The median of each figure over the windows."""
    result = {}
    for key in windows[0]:
        values = [w[key] for w in windows if key in w]
        if values:
            result[key] = statistics.median(values)
    # Guest-wide CPU without the simulated modem's process: what the host side costs, the
    # modem's work (NTB parsing and building, the network device behind it) being hardware
    # on a real one.
    if "sim_s_per_gb" in windows[0]:
        result["host_s_per_gb"] = statistics.median(w["cpu_s_per_gb"] - w["sim_s_per_gb"] for w in windows)
    return result


def run(args):
    pids = {}
    for item in args.pid:
        name, _, pid = item.partition("=")
        pids[name] = int(pid)

    def make_listener():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.server, PORT))
        s.listen(2)
        return s

    listener = in_netns(args.netns, make_listener)
    listener.settimeout(30)
    with open(args.results, "a") as out:
        for direction in [args.only] if args.only else ("tx", "rx"):
            r = measure(direction, listener, args, pids, QemuMarks(args.qemu) if args.qemu else None)
            out.write(json.dumps(r) + "\n")
            extra = " ".join(f"{k}={r[k]:.1f}" for k in r if k.endswith("_s_per_gb") and k != "cpu_s_per_gb")
            print(
                f"{args.label:>10} {direction}: {r['mbps']:8.1f} Mb/s, CPU {r['cpu_util']:.2f} busy, "
                f"{r['cpu_s_per_gb']:.1f} s/GB guest-wide, {extra}; windows (Mb/s) "
                + " ".join(f"{w['mbps']:.0f}" for w in r["windows"]),
                flush=True,
            )
    listener.close()


def qemu_sampler(args):
    """Answers the guest's marks with QEMU's CPU time until QEMU exits (see the module's doc)."""
    pidfile = os.path.join(args.out, "qemu.pid")
    mark_path = os.path.join(args.out, "mark")
    end = time.monotonic() + 600
    pid = None
    while pid is None:
        try:
            with open(pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            if time.monotonic() > end:
                return
            time.sleep(0.1)
    last = None
    with open(os.path.join(args.out, "qemu-marks"), "a") as out:
        while os.path.exists(f"/proc/{pid}"):
            try:
                with open(mark_path) as f:
                    mark = f.read().strip()
            except OSError:
                mark = None
            if mark and mark != last:
                out.write(f"{mark} {process_ticks(pid)}\n")
                out.flush()
                last = mark
            time.sleep(0.01)


def report(args):
    rows = []
    with open(args.results) as f:
        for line in f:
            if line.strip():
                rows.append(json.loads(line))
    pooled = {}
    for r in rows:
        if r["label"] == args.base:
            pooled.setdefault(r["dir"], []).extend(r["windows"])
    base = {d: summary(windows) for d, windows in pooled.items()}
    print("medians; CPU in seconds per GB of TCP payload; x = over the same direction's "
          f"{args.base} (throughput: target >= 1.0x; CPU per byte: target <= 1.0x)")
    print(f"{'path':>10} {'dir':>3} {'Mb/s':>8} {'x':>6} {'guest s/GB':>10} {'x':>6} "
          f"{'host s/GB':>9} {'x':>6} {'mbimd s/GB':>10} {'sim s/GB':>8} {'qemu s/GB':>9} {'x':>6}")

    def ratio(a, b):
        return f"{a / b:5.2f}x" if b else "    -"

    def line(r, b):
        print(
            f"{r['label']:>10} {r['dir']:>3} {r['mbps']:8.1f} {ratio(r['mbps'], b['mbps'])} "
            f"{r['cpu_s_per_gb']:10.1f} {ratio(r['cpu_s_per_gb'], b['cpu_s_per_gb'])} "
            f"{r.get('host_s_per_gb', 0):9.1f} {ratio(r.get('host_s_per_gb', 0), b.get('host_s_per_gb', 0))} "
            f"{r.get('mbimd_s_per_gb', 0):10.1f} {r.get('sim_s_per_gb', 0):8.1f} "
            f"{r.get('qemu_s_per_gb', 0):9.1f} {ratio(r.get('qemu_s_per_gb', 0), b.get('qemu_s_per_gb', 0))}"
        )

    for r in rows:
        if r["dir"] in base:
            line(r, base[r["dir"]])
    for d, b in base.items():
        line(dict(b, label=f"{args.base}*", dir=d), b)
    print(f"{args.base}*: the medians of all {args.base} runs' windows, the base of the ratios")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--label", required=True)
    p.add_argument("--dev", required=True)
    p.add_argument("--netns", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--pid", action="append", default=[], help="NAME=PID, a process whose CPU time counts")
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--window", type=float, default=2.0)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--only", choices=("tx", "rx"), help="one direction only")
    p.add_argument("--qemu", metavar="DIR", help="the results share, for QEMU's CPU time")
    p.add_argument("--results", required=True)
    p = sub.add_parser("report")
    p.add_argument("--results", required=True)
    p.add_argument("--base", required=True)
    p = sub.add_parser("qemu-sampler")
    p.add_argument("--out", required=True, help="the VM's results directory")
    args = parser.parse_args()
    try:
        {"run": run, "report": report, "qemu-sampler": qemu_sampler}[args.command](args)
    except (OSError, ValueError) as e:
        print(f"tcpbench: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
