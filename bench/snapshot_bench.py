"""Snapshot benchmark: what the copy-on-write snapshot taken before every
cell costs, on a session that holds 1 GiB of data.

Starts two sluice kernels in the same run — snapshots on (the default) and
SLUICE_SNAPSHOT=0 — puts the same 1 GiB vector in each, then runs the same
cells in both, alternating, so both see the same machine. Prints, per
kernel, the median time of a trivial cell and of a cell that writes to
64 MiB of the data (copy-on-write pays a page copy per page written), and
for snapshots on, the median time the runtime measured for taking the
snapshot itself (the fork; read from the kernel's debug log), before the
trivial cells and before the writing ones (which run after them: written
huge pages are split, and their page tables cost later forks more).

Usage: .venv/bin/python bench/snapshot_bench.py [--runs N] [--gib G]
"""

import argparse
import os
import queue
import re
import statistics
import tempfile
import time
from pathlib import Path

from jupyter_client import KernelManager


def execute(kc, code, timeout=600):
    """Runs `code`; returns seconds from request to idle."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    reply = None
    while reply is None:
        m = kc.get_shell_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id:
            reply = m
    while True:
        try:
            m = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            break
        if (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle"):
            break
    dt = time.perf_counter() - t0
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r} failed: {reply['content']}")
    return dt


def start(snapshots, log):
    env = dict(os.environ, SLUICE_LOG="warn,sluice=debug")
    if not snapshots:
        env["SLUICE_SNAPSHOT"] = "0"
    km = KernelManager(kernel_name="sluice")
    km.start_kernel(env=env, stderr=log)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=180)
    execute(kc, "1 + 1")
    return km, kc


def snapshot_ms(log_path):
    text = Path(log_path).read_text(errors="replace")
    return [float(m) for m in re.findall(r"snapshot taken in ([0-9.]+) ms", text)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30, help="cells of each kind per kernel")
    ap.add_argument("--gib", type=int, default=1, help="GiB of data the session holds")
    args = ap.parse_args()
    logs = {name: tempfile.NamedTemporaryFile(prefix=f"snapshot-bench-{name}-", suffix=".log", delete=False)
            for name in ("on", "off")}
    kernels = {name: start(name == "on", logs[name]) for name in ("on", "off")}
    words = args.gib << 27  # u64s in G GiB
    slice_words = 8 << 20  # 64 MiB of u64
    for km, kc in kernels.values():
        execute(kc, f"let mut data: Vec<u64> = vec![1u64; {words}];\ndata.len()")
    times = {name: {"trivial": [], "write_64mib": []} for name in kernels}
    forks = {}
    # Trivial cells first, then cells that write: writing splits the huge
    # pages it touches, and later forks copy those page tables too.
    for kind, code in (("trivial", lambda i: f"let x{i % 4} = {i};"),
                       ("write_64mib", lambda i: f"for x in data[..{slice_words}].iter_mut() {{ *x += 1; }}")):
        before = len(snapshot_ms(logs["on"].name))
        for i in range(args.runs):
            for name, (km, kc) in kernels.items():
                times[name][kind].append(execute(kc, code(i)))
        time.sleep(0.5)  # the log line of the last cell
        forks[kind] = snapshot_ms(logs["on"].name)[before:]
    for km, kc in kernels.values():
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    med = {name: {k: statistics.median(v) * 1000 for k, v in t.items()} for name, t in times.items()}
    print(f"session holding {args.gib} GiB; medians of {args.runs} cells each, kernels alternating")
    print(f"{'cell':<28}{'snapshots on':>14}{'SLUICE_SNAPSHOT=0':>20}{'difference':>12}")
    for k in ("trivial", "write_64mib"):
        on, off = med["on"][k], med["off"][k]
        print(f"{k + ' (ms)':<28}{on:>14.1f}{off:>20.1f}{on - off:>12.1f}")
    for kind, label in (("trivial", "before trivial cells"), ("write_64mib", "before writing cells")):
        f = forks.get(kind) or []
        if f:
            print(f"{'snapshot (fork), ' + label:<40}{statistics.median(f):>8.3f} ms  "
                  f"(median of {len(f)}, max {max(f):.3f})")
        else:
            print(f"no snapshot timings found in the kernel's log for {kind}")


if __name__ == "__main__":
    main()
