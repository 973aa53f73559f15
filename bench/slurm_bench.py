"""Slurm backend benchmark on the local one-node cluster
(install/slurm-local.sh). Prints figures and ratios:

(a) 100 and 1,000 tiny items (x*x): sluice `--chunk auto`, sluice with one
    item per array element, submitit's map_array, and a raw
    `sbatch --array` + squeue polling, each from submit to all results;
(b) scheduler calls per poll while 20 sluice jobs are active (counted by
    sluice and, independently, by a PATH shim around squeue and sacct);
(c) a 3-stage pipeline with unequal stage times per item: element-wise
    (aftercorr) vs stage by stage (each stage waits for the whole previous).

Usage: . install/state/slurm/env.sh && .venv/bin/python bench/slurm_bench.py [--skip-submitit]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
from conftest import run_cell  # noqa: E402


def need_cluster():
    if not os.environ.get("SLURM_CONF"):
        sys.exit("SLURM_CONF is not set: start install/slurm-local.sh and source install/state/slurm/env.sh")
    subprocess.run(["sinfo"], check=True, capture_output=True)


def cell(kc, code, timeout=3600):
    t = time.perf_counter()
    c = run_cell(kc, code, timeout=timeout)
    if c.status != "ok":
        raise RuntimeError(f"{code[:70]!r}: {c.error()}")
    return time.perf_counter() - t, c


def texts(c):
    return "\n".join((m["content"].get("data") or {}).get("text/plain", m["content"].get("text", ""))
                     for m in c.outputs)


def kernel(workdir, extra_env=None):
    env = dict(os.environ, SLUICE_BACKEND="slurm", SLUICE_WORKDIR=str(workdir), **(extra_env or {}))
    for k in ("SLUICE_HOST", "SLUICE_IDENTITY", "SLUICE_KNOWN_HOSTS"):
        env.pop(k, None)
    return start_new_kernel(kernel_name="sluice", startup_timeout=120, cwd=str(workdir), env=env)


def queue_empty_wait():
    while subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip():
        time.sleep(0.5)


def raw_sbatch(n, workdir):
    """A user's minimal version: one array of shell one-liners, poll squeue."""
    out = workdir / f"raw{n}"
    out.mkdir()
    t = time.perf_counter()
    jid = subprocess.run(
        ["sbatch", "--parsable", f"--array=0-{n - 1}", "--output=/dev/null",
         "--wrap", f"echo $((SLURM_ARRAY_TASK_ID*SLURM_ARRAY_TASK_ID)) > {out}/$SLURM_ARRAY_TASK_ID"],
        check=True, capture_output=True, text=True).stdout.strip().split(";")[0]
    while subprocess.run(["squeue", "-h", "-j", jid], capture_output=True, text=True).stdout.strip():
        time.sleep(0.5)
    dt = time.perf_counter() - t
    got = sum(1 for _ in out.iterdir())
    assert got == n, f"raw sbatch wrote {got} of {n}"
    return dt


def submitit_map(n, workdir):
    import submitit

    def square(x):
        return x * x

    ex = submitit.AutoExecutor(folder=str(workdir / f"submitit{n}"), cluster="slurm")
    ex.update_parameters(timeout_min=10, slurm_array_parallelism=n, mem_gb=0.25, cpus_per_task=1)
    t = time.perf_counter()
    jobs = ex.map_array(square, list(range(n)))
    res = [j.result() for j in jobs]
    dt = time.perf_counter() - t
    assert res == [x * x for x in range(n)]
    return dt


def ensure_submitit():
    try:
        import submitit  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "submitit==1.5.3"], check=True)


def part_a(kc, workdir, skip_submitit):
    print("(a) tiny items (x*x), submit to all results, seconds")
    rows = []
    for n in (100, 1000):
        t_auto, c = cell(kc, f"%%slurm map 0..{n} -> auto{n} --chunk auto\nfn f(x: i64) -> i64 {{ x * x }}")
        assert f"({n} items)" in texts(c), texts(c)
        queue_empty_wait()
        t_one, _ = cell(kc, f"%%slurm map 0..{n} -> one{n}\nfn f(x: i64) -> i64 {{ x * x }}")
        queue_empty_wait()
        t_raw = raw_sbatch(n, workdir)
        queue_empty_wait()
        t_sub = float("nan") if skip_submitit else submitit_map(n, workdir)
        queue_empty_wait()
        rows.append((n, t_auto, t_one, t_sub, t_raw))
        print(f"  n={n:5d}: sluice --chunk auto {t_auto:7.2f}  one item/element {t_one:7.2f}  "
              f"submitit map_array {t_sub:7.2f}  raw sbatch --array {t_raw:7.2f}")
        print(f"           speed-up of --chunk auto: {t_one / t_auto:6.1f}x vs one/element, "
              f"{t_sub / t_auto:6.1f}x vs submitit, {t_raw / t_auto:6.1f}x vs raw sbatch")
    return rows


def part_b(workdir):
    print("(b) scheduler calls per poll, 20 jobs active")
    shim = workdir / "shim"
    shim.mkdir()
    log = workdir / "calls.log"
    for prog in ("squeue", "sacct"):
        real = subprocess.run(["which", prog], capture_output=True, text=True, check=True).stdout.strip()
        (shim / prog).write_text(f"#!/bin/sh\necho {prog} >> {log}\nexec {real} \"$@\"\n")
        (shim / prog).chmod(0o755)
    (workdir / "b").mkdir()
    km, kc = kernel(workdir / "b", {"PATH": f"{shim}:{os.environ['PATH']}"})
    try:
        cell(kc, "%slurm config --backend slurm")
        for j in range(20):
            cell(kc, f"%%slurm map 0..2 -> w{j} --no-wait\n"
                     f"fn f(x: i64) -> i64 {{ std::thread::sleep(std::time::Duration::from_secs(6)); x + {j} }}")
        before = log.read_text().split() if log.exists() else []
        _, c0 = cell(kc, "%slurm config")
        for j in range(20):
            cell(kc, f"%slurm wait w{j}")
        _, c1 = cell(kc, "%slurm config")
        after = log.read_text().split()
        stats = [re.search(r"polls (\d+), squeue calls (\d+), sacct calls (\d+)", texts(c)).groups()
                 for c in (c0, c1)]
        polls, sq, sa = (int(b) - int(a) for a, b in zip(*stats))
        shim_sq = after.count("squeue") - before.count("squeue")
        shim_sa = after.count("sacct") - before.count("sacct")
        print(f"  while waiting for 20 jobs: {polls} polls, {sq} squeue + {sa} sacct calls "
              f"(shim counted {shim_sq} squeue, {shim_sa} sacct) -> {(sq + sa) / max(polls, 1):.2f} calls per poll, "
              f"{sq / max(polls, 1):.2f} squeue per poll")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


PIPE = """%%slurm map {src} -> {name}{extra}
fn f(x: i64) -> i64 {{
    let secs = [{times}][(x as usize) % 4];
    std::thread::sleep(std::time::Duration::from_millis(secs));
    x
}}"""


def part_c(kc):
    print("(c) 3-stage pipeline, 4 items, stage times per item (ms): "
          "s1 [4000,1000,1000,1000] s2 [1000,4000,1000,1000] s3 [1000,1000,4000,1000]")
    s1, s2, s3 = "4000, 1000, 1000, 1000", "1000, 4000, 1000, 1000", "1000, 1000, 4000, 1000"
    cell(kc, "let pipe_items: Vec<i64> = vec![0, 1, 2, 3];")
    queue_empty_wait()
    t = time.perf_counter()
    cell(kc, PIPE.format(src="pipe_items", name="c1", extra=" --no-wait", times=s1))
    cell(kc, PIPE.format(src="c1", name="c2", extra=" --no-wait", times=s2))
    cell(kc, PIPE.format(src="c2", name="c3", extra="", times=s3))
    corr = time.perf_counter() - t
    queue_empty_wait()
    t = time.perf_counter()
    cell(kc, PIPE.format(src="pipe_items", name="o1", extra="", times=s1))
    cell(kc, "let o1v = o1.clone();")
    cell(kc, PIPE.format(src="o1v", name="o2", extra="", times=s2))
    cell(kc, "let o2v = o2.clone();")
    cell(kc, PIPE.format(src="o2v", name="o3", extra="", times=s3))
    staged = time.perf_counter() - t
    print(f"  aftercorr (element-wise) {corr:6.2f} s   stage by stage (afterok) {staged:6.2f} s   "
          f"-> aftercorr takes {corr / staged:.2f}x the time")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-submitit", action="store_true")
    ap.add_argument("--parts", default="abc")
    args = ap.parse_args()
    need_cluster()
    if not args.skip_submitit and "a" in args.parts:
        ensure_submitit()
    workdir = Path(tempfile.mkdtemp(prefix="sluice-slurm-bench-"))
    print(f"cluster: {subprocess.run(['sinfo', '-h', '-o', '%N %c CPUs %T'], capture_output=True, text=True).stdout.strip()}")
    km, kc = kernel(workdir)
    try:
        cell(kc, "%slurm config --backend slurm")
        # Build the task once so (a) times submission and running, not cargo.
        cell(kc, "%%slurm map 0..2 -> warm --chunk auto\nfn f(x: i64) -> i64 { x * x }")
        if "a" in args.parts:
            part_a(kc, workdir, args.skip_submitit)
        if "c" in args.parts:
            part_c(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    if "b" in args.parts:
        part_b(workdir)


if __name__ == "__main__":
    main()
