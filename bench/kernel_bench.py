"""Kernel benchmark: sluice vs evcxr_jupyter, same machine, same run.

Prints, for each kernel: time from launch to the first kernel_info reply
("ready"), to the first executed cell ("usable"), the kernel_info round
trip, and the execute latency of a trivial expression, a struct definition
and the first use of that struct (medians of N runs), then the ratios.
Usage: .venv/bin/python bench/kernel_bench.py [--runs N] [--evcxr PATH]
"""

import argparse
import json
import os
import queue
import statistics
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


def bench(name, argv, runs):
    os.environ["JUPYTER_PATH"] = str(kernelspec_dir(name, argv))
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    ready = time.perf_counter() - t0
    execute(kc, "1 + 1")
    usable = time.perf_counter() - t0
    rt = []
    for _ in range(max(runs, 20)):
        t = time.perf_counter()
        kc.kernel_info()
        kc.get_shell_msg(timeout=10)
        rt.append(time.perf_counter() - t)
    trivial, define, use = [], [], []
    for i in range(runs):
        trivial.append(execute(kc, f"{i} + 1"))
        define.append(execute(kc, f"pub struct Bench{i} {{ pub x: i32 }}"))
        use.append(execute(kc, f"let b{i} = Bench{i} {{ x: {i} }}; b{i}.x"))
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return {
        "ready_s": ready,
        "usable_s": usable,
        "kernel_info_rt_ms": statistics.median(rt) * 1000,
        "trivial_ms": statistics.median(trivial) * 1000,
        "struct_def_ms": statistics.median(define) * 1000,
        "struct_use_ms": statistics.median(use) * 1000,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--evcxr", default=str(REPO / "bench/.tools/bin/evcxr_jupyter"))
    args = ap.parse_args()
    sluice = bench("sluice-bench", [str(REPO / "target/release/sluice"), "kernel", "--connection-file", "{connection_file}"], args.runs)
    results = {"sluice": sluice}
    if Path(args.evcxr).exists():
        results["evcxr_jupyter"] = bench("evcxr-bench", [args.evcxr, "--control_file", "{connection_file}"], args.runs)
    else:
        print(f"evcxr_jupyter not found at {args.evcxr}: install it with "
              f"`cargo install --locked evcxr_jupyter --root bench/.tools`", file=sys.stderr)
    keys = list(sluice)
    print(f"{'metric':<20}" + "".join(f"{k:>16}" for k in results) + ("      ratio" if len(results) == 2 else ""))
    for k in keys:
        row = f"{k:<20}" + "".join(f"{r[k]:>16.3f}" for r in results.values())
        if len(results) == 2:
            row += f"   {results['sluice'][k] / results['evcxr_jupyter'][k]:>7.2f}x"
        print(row)
    print(f"(medians of {args.runs} runs; ratio = sluice / evcxr_jupyter, lower is better)")


if __name__ == "__main__":
    main()
