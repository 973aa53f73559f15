"""Magics benchmark on the local executor. Prints figures and ratios:

(a) cold build of a task crate (empty build dir), rebuild after a one-line
    change, resubmit of an unchanged cell with 1,000 items (compiles: 0);
(b) 1,000 tiny elements end to end vs `xargs -P <cores>` running the same
    task binary over the same job directory;
(c) efficiency of 100 elements of ~1 s CPU work on this machine's cores;
(d) peak kernel memory (VmHWM) while 100,000 elements run and bind.

Usage: .venv/bin/python bench/magics_bench.py [--skip-d]
"""

import argparse
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))
from conftest import run_cell  # noqa: E402

CORES = os.cpu_count() or 1


def timed(kc, code, timeout=3600):
    t = time.perf_counter()
    c = run_cell(kc, code, timeout=timeout)
    dt = time.perf_counter() - t
    if c.status != "ok":
        raise RuntimeError(f"{code[:60]!r}: {c.error()}")
    compiled = any("compiling the task" in json.dumps(m["content"]) for m in c.outputs)
    return dt, compiled


def kernel_pid(km):
    return km.provisioner.process.pid


def peak_rss_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-d", action="store_true", help="skip the 100,000-element run")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    build = workdir / "build"
    os.environ["SLUICE_BUILD_DIR"] = str(build)
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=300, cwd=str(workdir))
    rows = []
    try:
        timed(kc, "1 + 1")
        # (a)
        cold, c1 = timed(kc, "%%slurm map 0..1000 -> a1 --chunk auto\nfn f(x: u64) -> u64 { x + 1 }")
        warm, c2 = timed(kc, "%%slurm map 0..1000 -> a2 --chunk auto\nfn f(x: u64) -> u64 { x + 2 }")
        timed(kc, "%%slurm map 0..1000 -> a3 --chunk auto\nfn f(x: u64) -> u64 { x + 2 }")
        resub = []
        compiles = 0
        for i in range(5):
            dt, c = timed(kc, "%%slurm map 0..1000 -> a3 --chunk auto\nfn f(x: u64) -> u64 { x + 2 }")
            resub.append(dt)
            compiles += c
        resub.sort()
        rows += [("(a) cold build + run, 1,000 items", f"{cold:.2f} s", f"compiled={c1}"),
                 ("(a) rebuild after 1-line change + run", f"{warm:.2f} s", f"compiled={c2}"),
                 ("(a) resubmit unchanged, 1,000 items (median of 5)", f"{resub[2]:.3f} s", f"compiles={compiles}, target <= 0.3 s")]
        # (b)
        # the same body once on 10 items first: (b) measures running, not compiling
        timed(kc, "%%slurm map 0..10 -> tiny\nfn tiny(x: u64) -> u64 { x * 3 }")
        dt_sluice, built = timed(kc, "%%slurm map 0..1000 -> tiny\nfn tiny(x: u64) -> u64 { x * 3 }")
        assert not built
        jobs = sorted((workdir / ".sluice" / "jobs").iterdir(), key=lambda p: int(p.name))
        job = jobs[-1]
        binary = max((build / "bin").iterdir(), key=lambda p: p.stat().st_mtime)
        xdir = workdir / "xargs-job"
        shutil.copytree(job, xdir, ignore=shutil.ignore_patterns("results", "status", "logs", "*.json"))
        for sub in ("results", "status", "logs"):
            (xdir / sub).mkdir(exist_ok=True)
        t = time.perf_counter()
        subprocess.run(f"seq 0 999 | SLUICE_JOB_DIR={xdir} xargs -P {CORES} -I{{}} env SLURM_ARRAY_TASK_ID={{}} {binary} > /dev/null",
                       shell=True, check=True)
        dt_xargs = time.perf_counter() - t
        assert len(list((xdir / "results").iterdir())) == 1000
        rows.append(("(b) 1,000 tiny elements: sluice cell", f"{dt_sluice:.2f} s", ""))
        rows.append(("(b) 1,000 tiny elements: xargs -P %d" % CORES, f"{dt_xargs:.2f} s",
                     f"ratio {dt_sluice / dt_xargs:.2f}x (target <= 1.2x)"))
        # (c)
        spin = ("%%slurm map 0..100 -> busy\nfn busy(seed: u64) -> u64 {\n"
                "    let t = std::time::Instant::now();\n    let mut x = seed;\n"
                "    while t.elapsed() < std::time::Duration::from_millis(1000) { for _ in 0..1000 { x = x.wrapping_mul(6364136223846793005).wrapping_add(1); } }\n"
                "    x\n}")
        timed(kc, "%%slurm map 0..2 -> warm\nfn busy(seed: u64) -> u64 { seed }")
        t = time.perf_counter()
        dt_c, _ = timed(kc, spin)
        job = sorted((workdir / ".sluice" / "jobs").iterdir(), key=lambda p: int(p.name))[-1]
        stats = [json.loads((job / "status" / f"{i}.json").read_text()) for i in range(100)]
        work = sum(s["end"] - s["start"] for s in stats)
        span = max(s["end"] for s in stats) - min(s["start"] for s in stats)
        rows.append(("(c) 100 x 1 s CPU elements: wall (cell)", f"{dt_c:.2f} s", f"ideal {100 / CORES:.1f} s on {CORES} cores"))
        rows.append(("(c) efficiency = work / (cores x span)", f"{100 * work / (CORES * span):.1f} %",
                     f"cell-level {100 * work / (CORES * dt_c):.1f} % (target >= 90%)"))
        # (d)
        if not args.skip_d:
            pid = kernel_pid(km)
            base = peak_rss_mib(pid)
            dt_d, _ = timed(kc, "%%slurm map 0..100000 -> huge\nfn h(x: u64) -> u64 { x ^ 5 }", timeout=7200)
            rows.append(("(d) 100,000 elements: wall", f"{dt_d:.1f} s", f"{100000 / dt_d:.0f} elements/s"))
            rows.append(("(d) kernel peak RSS (VmHWM)", f"{peak_rss_mib(pid):.0f} MiB", f"before: {base:.0f} MiB"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    w = max(len(r[0]) for r in rows)
    for name, val, note in rows:
        print(f"{name:<{w}}  {val:>10}  {note}")


if __name__ == "__main__":
    main()
