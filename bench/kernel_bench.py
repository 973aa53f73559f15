"""Kernel benchmark: sluice vs evcxr_jupyter, same machine, same run.

Prints, for each kernel: time from launch to the first kernel_info reply
("ready"), to the first executed cell ("usable"), the kernel_info round
trip, and the execute latency of a trivial expression, a struct definition
and the first use of that struct (medians of N runs), then the ratios.
Cells alternate between the two running kernels so both see the same
machine. evcxr_jupyter is installed into bench/.tools on first use.
Usage: .venv/bin/python bench/kernel_bench.py [--runs N] [--evcxr PATH]
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client import KernelManager

REPO = Path(__file__).resolve().parents[1]


def kernelspec_dir(name, argv):
    d = Path(tempfile.mkdtemp(prefix="bench-kernels-")) / "kernels" / name
    d.mkdir(parents=True)
    (d / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": name, "language": "rust",
                                               "interrupt_mode": "message"}))
    return d.parent.parent


def execute(kc, code, timeout=300):
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    # wait for idle so the next request starts clean
    while True:
        try:
            m = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            break
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" \
                and m["content"]["execution_state"] == "idle":
            break
    dt = time.perf_counter() - t0
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r} failed: {reply['content']}")
    return dt


def start(name, argv):
    """Launches a kernel; returns (km, kc, ready seconds, usable seconds)."""
    os.environ["JUPYTER_PATH"] = str(kernelspec_dir(name, argv))
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    ready = time.perf_counter() - t0
    execute(kc, "1 + 1")
    return km, kc, ready, time.perf_counter() - t0


def kernel_info_rt(kc, runs):
    rt = []
    for _ in range(max(runs, 20)):
        t = time.perf_counter()
        kc.kernel_info()
        kc.get_shell_msg(timeout=10)
        rt.append(time.perf_counter() - t)
    return statistics.median(rt)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--evcxr", default=str(REPO / "bench/.tools/bin/evcxr_jupyter"))
    args = ap.parse_args()
    if not Path(args.evcxr).exists():
        print("installing evcxr_jupyter 0.22.0 into bench/.tools (once)", file=sys.stderr)
        subprocess.run(["cargo", "install", "--locked", "evcxr_jupyter", "--version", "0.22.0",
                        "--root", str(REPO / "bench/.tools")], check=True)
    kernels = {
        "sluice": [str(REPO / "target/release/sluice"), "kernel", "--connection-file", "{connection_file}"],
        "evcxr_jupyter": [args.evcxr, "--control_file", "{connection_file}"],
    }
    results, running = {}, {}
    for name, argv in kernels.items():
        km, kc, ready, usable = start(name + "-bench", argv)
        running[name] = (km, kc)
        results[name] = {"ready_s": ready, "usable_s": usable, "kernel_info_rt_ms": kernel_info_rt(kc, args.runs) * 1000}
    # Cells alternate between the kernels, so both see the same machine.
    cells = {name: {"trivial_ms": [], "struct_def_ms": [], "struct_use_ms": []} for name in kernels}
    for i in range(args.runs):
        for name, (km, kc) in running.items():
            c = cells[name]
            c["trivial_ms"].append(execute(kc, f"{i} + 1"))
            c["struct_def_ms"].append(execute(kc, f"pub struct Bench{i} {{ pub x: i32 }}"))
            c["struct_use_ms"].append(execute(kc, f"let b{i} = Bench{i} {{ x: {i} }}; b{i}.x"))
    for name, (km, kc) in running.items():
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        for k, v in cells[name].items():
            results[name][k] = statistics.median(v) * 1000
    keys = list(results["sluice"])
    print(f"{'metric':<20}" + "".join(f"{k:>16}" for k in results) + "      ratio")
    for k in keys:
        row = f"{k:<20}" + "".join(f"{r[k]:>16.3f}" for r in results.values())
        row += f"   {results['sluice'][k] / results['evcxr_jupyter'][k]:>7.2f}x"
        print(row)
    print(f"(medians of {args.runs} runs, cells alternating between the kernels; "
          f"ratio = sluice / evcxr_jupyter, lower is better)")


if __name__ == "__main__":
    main()
