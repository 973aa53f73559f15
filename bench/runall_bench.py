"""Run All benchmark (issue 16): time to the first result, Run All of the
example notebooks, the overhead of a magic cell whose task binary is
cached, and where the time goes. Warm caches (one untimed run of each
figure first), medians of --runs runs, a baseline in the same run:

  usable      launch -> first cell's result, sluice vs evcxr_jupyter (the
              kernels alternate, so all see the same machine): `sluice`
              with a warm standby waiting (the usual case after a first
              kernel on the machine: a kernel leaves one when it shuts down
              or idles; the wait for it is not timed), `sluice-fresh` with
              standbys off (SLUICE_STANDBY=0: every start warms up);
  run all     `jupyter nbconvert --execute` of notebooks/parameter_sweep.ipynb
              and notebooks/fan_out_fan_in.ipynb, against the issue's
              targets (8 s, 6 s) — or, with --baseline-kernel, against
              another sluice build in the same run; both notebooks start
              with the same `:dep` cell, so from the second run on the
              standby has usually added it already (standby/first_deps.rs;
              each line says in how many runs it had);
  magic       a `%%slurm map` cell whose binary is cached, minus the time
              its elements took (submit to last state, from the kernel's
              phase log): with its captured variable unchanged (its value
              is kept) and changed by a cell before each magic (sent
              again: one session evaluation);
  breakdown   each cell of both notebooks, one kernel, with the kernel's
              phase log (SLUICE_LOG=sluice::phase=debug): evcxr's
              EvalContext::new, its first build, and each round trip of
              a magic through the session.

--cold adds one run of each with empty caches (a fresh kept-session
directory, task build directory and evcxr cache).

Usage: .venv/bin/python bench/runall_bench.py [--runs N] [--cold]
       [--kernel PATH] [--baseline-kernel PATH] [--evcxr PATH] [--skip-evcxr]
       [--skip-runall] [--skip-breakdown]
CPU-sensitive: on a shared machine the figures move; read the ratios.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client import KernelManager

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "python"))
from conftest import run_cell  # noqa: E402

# conftest turns standbys off for the test suite; here each kernelspec says.
os.environ.pop("SLUICE_STANDBY", None)

NOTEBOOKS = {"parameter_sweep.ipynb": 8.0, "fan_out_fan_in.ipynb": 6.0}
PHASE = re.compile(r"sluice::phase: (.*)$")


def kernelspec_root(name, argv, env=None):
    """A JUPYTER_PATH root holding one kernelspec `name`."""
    root = Path(tempfile.mkdtemp(prefix="bench-kernels-"))
    d = root / "kernels" / name
    d.mkdir(parents=True)
    spec = {"argv": argv, "display_name": name, "language": "rust", "interrupt_mode": "message"}
    if env:
        spec["env"] = env
    (d / "kernel.json").write_text(json.dumps(spec))
    return root


def sluice_argv(binary):
    return [str(binary), "kernel", "--connection-file", "{connection_file}"]


def session_root():
    if os.environ.get("SLUICE_SESSION_DIR"):
        return Path(os.environ["SLUICE_SESSION_DIR"])
    return Path(f"/var/tmp/sluice-{os.getuid()}/sessions")


def wait_for_standby(binary, limit=300):
    """Waits (untimed) until a warm standby of `binary` waits: its lock is
    held and reads `<pid>\n<binary>\nready\n`, without an `adding` line
    (it is done adding the notebooks' first `:dep` lines). False after
    `limit` s."""
    import fcntl
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for lock in session_root().glob("standby-*.lock"):
            try:
                with open(lock) as f:
                    try:
                        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.flock(f, fcntl.LOCK_UN)
                        continue
                    except BlockingIOError:
                        lines = f.read().split("\n")
            except FileNotFoundError:
                continue
            # `adding` while it adds the notebooks' first `:dep` lines.
            if len(lines) > 2 and lines[1] == str(binary) and lines[2] == "ready" \
                    and "adding" not in lines:
                return True
        time.sleep(0.2)
    return False


def usable(spec_root, name, log=None):
    """Seconds from launch to the result of `1 + 1`."""
    os.environ["JUPYTER_PATH"] = str(spec_root)
    km = KernelManager(kernel_name=name)
    t0 = time.perf_counter()
    km.start_kernel(stderr=log or subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=300)
        c = run_cell(kc, "1 + 1", timeout=300)
        dt = time.perf_counter() - t0
        if c.status != "ok":
            raise RuntimeError(f"1 + 1 failed on {name}: {c.error()}")
        return dt
    finally:
        kc.stop_channels()
        # Graceful, as Jupyter's restart and nbclient shut kernels down.
        km.shutdown_kernel(now=False)


FLOOR_NOTEBOOK = "one_cell.ipynb"


def one_cell_notebook(code):
    """An nbformat 4.5 notebook of one code cell."""
    return {"cells": [{"cell_type": "code", "id": "only", "metadata": {}, "execution_count": None,
                       "outputs": [], "source": code}],
            "metadata": {"kernelspec": {"name": "rust", "display_name": "Rust", "language": "rust"}},
            "nbformat": 4, "nbformat_minor": 5}


def run_all(spec_root, name, notebook, workdir):
    """Seconds for nbconvert --execute of `notebook` (one of notebooks/, or
    already in `workdir`) in `workdir`."""
    env = dict(os.environ, JUPYTER_PATH=str(spec_root))
    src = workdir / notebook
    if (REPO / "notebooks" / notebook).exists():
        shutil.copy(REPO / "notebooks" / notebook, src)
    t0 = time.perf_counter()
    p = subprocess.run(
        [str(REPO / ".venv/bin/jupyter"), "nbconvert", "--to", "notebook", "--execute",
         f"--ExecutePreprocessor.kernel_name={name}", "--ExecutePreprocessor.timeout=600",
         "--output", f"out-{notebook}", str(src)],
        cwd=workdir, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"nbconvert {notebook} failed:\n{p.stderr[-3000:]}")
    # The kernel's log (SLUICE_LOG=info) says when the standby it was made
    # from had added the notebook's first `:dep` cell (standby/first_deps.rs).
    PREPARED.append("the first cell asks for them" in p.stderr)
    return dt


# Per run_all call: whether the standby had prepared the first `:dep` cell.
PREPARED = []


def cells_of(notebook):
    nb = json.loads((REPO / "notebooks" / notebook).read_text())
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


class Kernel:
    """One kernel with its phase log in a file."""

    def __init__(self, spec_root, name, workdir):
        os.environ["JUPYTER_PATH"] = str(spec_root)
        self.log_path = workdir / f"kernel-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "w")
        self.km = KernelManager(kernel_name=name)
        self.t0 = time.perf_counter()
        self.km.start_kernel(stderr=self.log, cwd=str(workdir))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=300)

    def cell(self, code):
        t = time.perf_counter()
        c = run_cell(self.kc, code, timeout=600)
        if c.status != "ok":
            raise RuntimeError(f"{code[:60]!r} failed: {c.error()}")
        return time.perf_counter() - t

    def phases(self):
        self.log.flush()
        return [m.group(1) for line in self.log_path.read_text().splitlines()
                if (m := PHASE.search(line))]

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)
        self.log.close()


def breakdown(spec_root, name, workdir):
    """Per cell (client-side seconds) and the kernel's phase lines."""
    rows = []
    for nb in NOTEBOOKS:
        k = Kernel(spec_root, name, workdir)
        rows.append((f"[{nb}] launch -> ready", time.perf_counter() - k.t0, []))
        seen = 0
        for code in cells_of(nb):
            dt = k.cell(code)
            phases = k.phases()
            rows.append((code.splitlines()[0][:64], dt, phases[seen:]))
            seen = len(phases)
        k.close()
    return rows


def magic_overhead(spec_root, name, workdir, runs, change_capture):
    """(magic cell s, its elements s, overhead s, plain cell s) medians.
    With `change_capture`, a cell assigns the captured `k` before each
    magic, so the magic sends it again (a session evaluation); without, the
    value kept from the last magic is sent."""
    k = Kernel(spec_root, name, workdir)
    k.cell("let mut k: i64 = 3;")
    cell = "%%slurm map 0..4 -> doubled\n|x: i64| x * k"
    k.cell(cell)  # builds the task binary once
    k.cell("doubled.len()")
    cells, elements, plain = [], [], []
    for _ in range(runs):
        if change_capture:
            k.cell("k += 1;")
        seen = len(k.phases())
        cells.append(k.cell(cell))
        ms = [float(m.group(1)) for p in k.phases()[seen:]
              if (m := re.match(r"magic: elements \(submit to last state\) ([0-9.]+) ms", p))]
        elements.append(ms[0] / 1e3 if ms else 0.0)
        plain.append(k.cell("doubled.len()"))
    k.close()
    overhead = [c - e for c, e in zip(cells, elements)]
    return (statistics.median(cells), statistics.median(elements),
            statistics.median(overhead), statistics.median(plain))


def ensure_evcxr(path):
    if not Path(path).exists():
        print("installing evcxr_jupyter 0.22.0 into bench/.tools (once)", file=sys.stderr)
        subprocess.run(["cargo", "install", "--locked", "evcxr_jupyter", "--version", "0.22.0",
                        "--root", str(REPO / "bench/.tools")], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--kernel", default=str(REPO / "target/release/sluice"))
    ap.add_argument("--baseline-kernel", help="another sluice binary, measured in the same run")
    ap.add_argument("--evcxr", default=str(REPO / "bench/.tools/bin/evcxr_jupyter"))
    ap.add_argument("--skip-evcxr", action="store_true")
    ap.add_argument("--cold", action="store_true", help="also one run with empty caches")
    ap.add_argument("--skip-breakdown", action="store_true")
    ap.add_argument("--skip-runall", action="store_true", help="skip the nbconvert Run All figures")
    args = ap.parse_args()
    runs = max(args.runs, 1)
    work = Path(tempfile.mkdtemp(prefix="sluice-runall-"))
    # Standbys the run leaves behind (one per binary and kernelspec) leave soon.
    log_env = {"SLUICE_LOG": "warn,sluice=info,sluice::phase=debug", "SLUICE_STANDBY_IDLE": "120"}
    kernels = {"sluice": kernelspec_root("sluice-bench", sluice_argv(args.kernel), log_env),
               "sluice-fresh": kernelspec_root("sluice-fresh", sluice_argv(args.kernel),
                                               dict(log_env, SLUICE_STANDBY="0"))}
    names = {"sluice": "sluice-bench", "sluice-fresh": "sluice-fresh"}
    standby = {"sluice": args.kernel}
    if args.baseline_kernel:
        standby["baseline"] = args.baseline_kernel
    if args.baseline_kernel:
        kernels["baseline"] = kernelspec_root("sluice-baseline", sluice_argv(args.baseline_kernel), log_env)
        names["baseline"] = "sluice-baseline"
    if not args.skip_evcxr:
        ensure_evcxr(args.evcxr)
        kernels["evcxr_jupyter"] = kernelspec_root(
            "evcxr-bench", [args.evcxr, "--control_file", "{connection_file}"])
        names["evcxr_jupyter"] = "evcxr-bench"

    print(f"# usable: launch -> result of `1 + 1` (median of {runs}, after one untimed run each)")
    times = {k: [] for k in kernels}
    for r in range(runs + 1):
        for k, root in kernels.items():
            if r and k in standby and not wait_for_standby(standby[k]):
                print(f"  ({k}: no standby came; this run starts afresh)")
            dt = usable(root, names[k])
            if r:
                times[k].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in med.items():
        extra = f"   {v / med['evcxr_jupyter']:.2f}x evcxr_jupyter" if "evcxr_jupyter" in med and k != "evcxr_jupyter" else ""
        print(f"  {k:<14} {v:7.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times[k])}){extra}")

    if not args.skip_runall:
        print(f"\n# run all: nbconvert --execute (median of {runs}, after one untimed run; "
              "the kernels take turns)")
        floor_nb = work / FLOOR_NOTEBOOK
        floor_nb.write_text(json.dumps(one_cell_notebook("1 + 1")))
        for nb, target in [(FLOOR_NOTEBOOK, None), *NOTEBOOKS.items()]:
            ts = {k: [] for k in kernels if k != "evcxr_jupyter"}
            prepared = {k: 0 for k in ts}
            for r in range(runs + 1):
                for k in ts:
                    if r and k in standby and not wait_for_standby(standby[k]):
                        print(f"  ({k}: no standby came; this run starts afresh)")
                    dt = run_all(kernels[k], names[k], nb, work)
                    if r:
                        ts[k].append(dt)
                        prepared[k] += PREPARED[-1]
            for k, v in ts.items():
                m = statistics.median(v)
                against = (f"target {target:.0f} s: {m / target:.2f}x" if target
                           else "nbconvert's floor: start, one cell, shut down")
                print(f"  {nb:<24} {k:<12} {m:7.2f} s  {against}  "
                      f"(runs: {', '.join(f'{t:.2f}' for t in v)}; "
                      f"first :dep cell prepared by the standby in {prepared[k]})")

    print(f"\n# magic cell with a cached task binary (%%slurm map 0..4, median of {runs})")
    for k in (x for x in kernels if x not in ("evcxr_jupyter", "sluice-fresh")):
        for change, label in ((False, "captured k unchanged"), (True, "k changed before each")):
            cell, elements, overhead, plain = magic_overhead(kernels[k], names[k], work, runs, change)
            print(f"  {k:<9} {label}: cell {cell:6.3f} s, elements {elements:6.3f} s, overhead {overhead:6.3f} s "
                  f"(target 0.5 s: {overhead / 0.5:.2f}x); plain cell using the result {plain:6.3f} s")

    if not args.skip_breakdown:
        for k in (x for x in kernels if x not in ("evcxr_jupyter", "sluice-fresh")):
            print(f"\n# breakdown ({k}): seconds per cell, client side; the kernel's phases under each")
            for label, dt, phases in breakdown(kernels[k], names[k], work):
                print(f"  {dt:7.2f}  {label}")
                for p in phases:
                    if not p.startswith("cell "):
                        print(f"             {p}")

    if args.cold:
        print("\n# cold: empty kept-session, task build and evcxr cache directories (one run)")
        for k in (x for x in kernels if x != "evcxr_jupyter"):
            fresh = Path(tempfile.mkdtemp(prefix="sluice-cold-"))
            saved = {v: os.environ.get(v) for v in ("SLUICE_SESSION_DIR", "SLUICE_BUILD_DIR", "XDG_CACHE_HOME")}
            os.environ.update(SLUICE_SESSION_DIR=str(fresh / "sessions"), SLUICE_BUILD_DIR=str(fresh / "build"),
                              XDG_CACHE_HOME=str(fresh / "cache"))
            try:
                u = usable(kernels[k], names[k])
                print(f"  {k:<9} usable {u:7.2f} s")
                for nb in NOTEBOOKS:
                    t = run_all(kernels[k], names[k], nb, work)
                    print(f"  {k:<9} {nb:<24} {t:7.2f} s")
            finally:
                for v, val in saved.items():
                    if val is None:
                        os.environ.pop(v, None)
                    else:
                        os.environ[v] = val
            shutil.rmtree(fresh, ignore_errors=True)
    print(f"\n(work directory {work}; CPU-sensitive: figures from a shared machine move, ratios less)")


if __name__ == "__main__":
    main()
