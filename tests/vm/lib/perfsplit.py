#!/usr/bin/env python3
"""Where a profiled path's CPU went, in seconds per GB (tests/vm/bench/cdc.sh, VM_PROFILE=1).

    perfsplit.py --data PERF.DATA|SAVED.script.gz --label NAME --dir tx|rx --results FILE
                 [--group NAME=PID]... [--save SAVED.script.gz] --out FILE
    perfsplit.py report --out FILE

Reads `perf script` of a `perf record -a -g` (cpu-clock) taken while lib/tcpbench.py ran one
direction, and files every sample that is not idle under a process group (each --group's
threads, the TCP benchmark's own python3, and "other": kernel threads such as vhci_rx and
softirq work that ran on an idle CPU) and a part of the path, by the first marker found in
its call chain (PARTS: user space first, then what a write into the TUN device does, usbfs,
epoll...). Each part's share of the busy samples times the guest-wide busy s/GB of the same
profiled run (its line in FILE) gives seconds per GB. Prints the table and appends one JSON
line to --out, which `perfsplit.py report --out FILE` prints side by side for every path.

The shares are what the call chains say, not exact: under TCG a cpu-clock sample is taken
when interrupts come back on, so a leaf symbol is often where interrupts were re-enabled,
while the chain above it (which function the CPU was in) still holds.
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys

# (part, markers, within): a sample belongs to the first part one of whose markers is a
# function in its call chain, and, where `within` names functions, one of those too. "tun
# write: stack" is the network stack under a write into the TUN device (IP, TCP, waking the
# receiver, its ACKs), the same work cdc_mbim's path does in softirq ("stack rx"); "tun write:
# syscall+tun" is the rest of that write: the system call (less its entry and exit, which
# are "other syscalls"), tun_get_user's skb and copy.
# write(2) and writev(2): mbimd's data path writes only into its TUN device, the simulator
# into fwd0 (and its USB/IP socket, which goes through tcp_sendmsg below them).
WRITES = ("tun_chr_write_iter", "ksys_write", "__x64_sys_write", "do_writev", "__x64_sys_writev")
STACK = ("__netif_receive_skb_one_core", "__netif_receive_skb_core", "netif_receive_skb",
         "process_backlog")
PARTS = [
    ("tun write: stack", STACK, ("tun_chr_write_iter",)),
    ("tun write: syscall+tun", WRITES, ()),
    ("tun read", ("tun_chr_read_iter",), ()),
    ("usbfs", ("usbdev_ioctl", "usbdev_poll", "usbdev_read"), ()),
    ("epoll", ("do_epoll_wait", "ep_poll"), ()),
    ("cdc_ncm/usbnet", ("usbnet_bh", "cdc_ncm_rx_fixup", "cdc_ncm_tx_fixup", "usbnet_start_xmit",
                        "rx_complete", "usbnet_skb_return"), ()),
    ("vhci", ("vhci_rx_loop", "vhci_tx_loop", "vhci_urb_enqueue", "vhci_recv_ret_submit"), ()),
    ("stack rx", STACK + ("net_rx_action",), ()),
    ("tcp socket calls", ("tcp_sendmsg", "tcp_recvmsg"), ()),
    ("other syscalls", ("entry_SYSCALL_64", "do_syscall_64"), ()),
]
# The leaf of a sample on an idle CPU (TCG: the halt, where interrupts come back on).
IDLE_LEAVES = {"default_idle", "native_safe_halt", "pv_native_safe_halt", "arch_cpu_idle",
               "cpu_idle_poll", "acpi_idle_do_entry", "mwait_idle"}
KERNEL = "[kernel.kallsyms]"
# mbimd's TUN writes short of the stack, in perfsplit.jsonl's keys.
WRITE = "mbimd: tun write: syscall+tun"


def script(data, save):
    """`perf script` of DATA (or DATA itself, a saved .script.gz); saved to SAVE if given."""
    if data.endswith(".script.gz"):
        with gzip.open(data, "rt") as f:
            return f.read()
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,ip,sym,dso"],
                         capture_output=True, text=True, check=True).stdout
    if save:
        with gzip.open(save, "wt") as f:
            f.write(out)
    return out


def samples(out):
    """(comm, tid, chain) per sample of `perf script`; chain: [(symbol, dso)], leaf first."""
    head, chain = None, []
    for line in out.splitlines() + [""]:
        if not line.strip():
            if head is not None:
                yield head[0], head[1], chain
            head, chain = None, []
        elif not line[0].isspace():
            fields = line.split()
            try:
                head = (" ".join(fields[:-1]), int(fields[-1]))
            except (ValueError, IndexError):
                head = (line.strip(), -1)
        else:
            fields = line.split(None, 1)
            rest = fields[1] if len(fields) > 1 else ""
            sym, _, dso = rest.rpartition(" (")
            chain.append((sym.split("+")[0], dso.rstrip(")")))


def part_of(chain):
    if chain and chain[0][1] != KERNEL:
        return "user space"
    functions = {sym for sym, _ in chain}
    for part, markers, within in PARTS:
        if functions.intersection(markers) and (not within or functions.intersection(within)):
            return part
    return "other kernel"


def threads(pid):
    try:
        return {int(t) for t in os.listdir(f"/proc/{pid}/task")}
    except OSError:
        return {pid}


def split(args):
    groups = []
    for item in args.group:
        name, _, pid = item.partition("=")
        groups.append((name, threads(int(pid))))
    # The threads are gone once the VM is: a saved script keeps them beside it.
    sidecar = (args.save or args.data).replace(".script.gz", ".groups.json")
    if args.data.endswith(".script.gz") and not groups and os.path.exists(sidecar):
        with open(sidecar) as f:
            groups = [(name, set(tids)) for name, tids in json.load(f)]
    elif args.save:
        with open(sidecar, "w") as f:
            json.dump([(name, sorted(tids)) for name, tids in groups], f)
    counts, busy, idle = {}, 0, 0
    for comm, tid, chain in samples(script(args.data, args.save)):
        if tid == 0 and chain and chain[0][0] in IDLE_LEAVES:
            idle += 1
            continue
        group = next((name for name, tids in groups if tid in tids), None)
        if group is None:
            group = "tcpbench" if comm.startswith("python") else "other"
        key = (group, part_of(chain))
        counts[key] = counts.get(key, 0) + 1
        busy += 1
    run = None
    with open(args.results) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                if r["label"] == args.label and r["dir"] == args.dir:
                    run = r
    if run is None or busy == 0:
        print(f"perfsplit: no profiled run or no busy samples for {args.label} {args.dir}", file=sys.stderr)
        return 1
    s_per_gb = run["cpu_s_per_gb"]
    parts = {f"{g}: {p}": n / busy * s_per_gb for (g, p), n in counts.items()}
    row = {"label": args.label, "dir": args.dir, "mbps": run["mbps"], "guest_s_per_gb": s_per_gb,
           "samples": busy, "idle": idle, "parts": parts}
    print(f"{args.label} {args.dir}: {run['mbps']:.1f} Mb/s under perf, {s_per_gb:.1f} guest s/GB, "
          f"{busy} busy samples ({idle} idle); s/GB by process and part:")
    for key, v in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {v:7.2f}  {key}")
    with open(args.out, "a") as out:
        out.write(json.dumps(row) + "\n")
    return 0


def report(args):
    rows = []
    with open(args.out) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows:
        return 1
    keys = sorted({k for r in rows for k in r["parts"]},
                  key=lambda k: -max(r["parts"].get(k, 0) for r in rows))
    names = [f"{r['label']} {r['dir']}" for r in rows]
    print("profiled runs (perf on): guest CPU s/GB by process: part (call chains, see perfsplit.py)")
    print(f"{'':34}" + "".join(f"{n:>17}" for n in names))
    print(f"{'Mb/s under perf':34}" + "".join(f"{r['mbps']:17.1f}" for r in rows))
    print(f"{'guest s/GB':34}" + "".join(f"{r['guest_s_per_gb']:17.1f}" for r in rows))
    for k in keys:
        print(f"{k[:34]:34}" + "".join(f"{r['parts'].get(k, 0):17.2f}" for r in rows))
    # The floor of a path that writes each datagram into a TUN device: its host CPU per byte
    # (guest less the simulated modem) without what those writes cost short of the stack
    # (the system call's own work in tun_get_user: the skb, the copy), which cdc_mbim does
    # not pay; against the kernel's host CPU per byte in the same profiled run.
    print("floor: host s/GB (guest less sim) without mbimd's TUN writes short of the stack "
          f"(\"{WRITE}\"), x over the kernel's host s/GB in the same direction")
    # The base: the mean of the kernel's profiled runs (cdc.sh profiles it first and last, as
    # the host's load drifts over a run).
    kernel = {}
    for r in rows:
        r["host"] = r["guest_s_per_gb"] - sum(v for k, v in r["parts"].items() if k.startswith("sim: "))
        if r["label"].startswith("kernel"):
            kernel.setdefault(r["dir"], []).append(r["host"])
    kernel = {d: statistics.mean(v) for d, v in kernel.items()}
    for name, figure in (("host s/GB", lambda r: r["host"]),
                         ("host s/GB less the writes", lambda r: r["host"] - r["parts"].get(WRITE, 0))):
        print(f"{name:34}" + "".join(f"{figure(r):17.2f}" for r in rows))
        print(f"{'  x kernel':34}" + "".join(
            f"{figure(r) / kernel[r['dir']]:16.2f}x" if kernel.get(r["dir"]) else f"{'-':>17}" for r in rows))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=("split", "report"), default="split")
    parser.add_argument("--data")
    parser.add_argument("--label")
    parser.add_argument("--dir")
    parser.add_argument("--results")
    parser.add_argument("--save", help="keep the perf script text here (.script.gz), for --data later")
    parser.add_argument("--group", action="append", default=[], help="NAME=PID: that process's threads")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    return report(args) if args.command == "report" else split(args)


if __name__ == "__main__":
    sys.exit(main())
