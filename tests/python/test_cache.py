"""The opt-in result cache (`--cache`, `%slurm config --cache on`,
`SLUICE_CACHE=1`, `%slurm cache clear`). Submissions are counted by a side
effect: every task appends its item to a log file, so a line is an item
that ran; timing plays no part. Each line is one `write` on an O_APPEND
file (`writeln!` on a `File` writes the item and the newline separately,
and concurrent elements interleaved them: "01\n\n")."""

from pathlib import Path

import pytest

from conftest import notebook_kernel, ok, cell, texts, value

cache_kernel = notebook_kernel("sluice-cache-")


def ran(log):
    """The items that ran, in the order they ran."""
    p = Path(log)
    return sorted(p.read_text().split()) if p.exists() else []


def logging_map(log, expr="x * k", flags="--cache", items="0..4", name="doubled"):
    return (f"%%slurm map {items} -> {name} {flags}\n"
            f"|x: i64| -> i64 {{ use std::io::Write as _; "
            f"let mut f = std::fs::OpenOptions::new().create(true).append(true).open(r#\"{log}\"#).unwrap(); "
            f"f.write_all(format!(\"{{x}}\\n\").as_bytes()).unwrap(); {expr} }}")


def test_unchanged_rerun_submits_nothing_and_binds_the_same(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "unchanged.log"
    ok(kc, "let k: i64 = 2;")
    ok(kc, logging_map(log))
    assert ran(log) == ["0", "1", "2", "3"]
    c = ok(kc, logging_map(log))
    assert ran(log) == ["0", "1", "2", "3"], "an unchanged re-run submitted items"
    assert "4 of 4 results from the cache; 0 elements submitted" in texts(c), texts(c)
    assert value(kc, "doubled") == "[0, 2, 4, 6]"


def test_one_more_item_runs_only_that_item(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "more.log"
    ok(kc, logging_map(log, items="0..3", name="grown"))
    ok(kc, logging_map(log, items="0..4", name="grown"))
    assert ran(log) == ["0", "1", "2", "3"], ran(log)
    assert value(kc, "grown") == "[0, 2, 4, 6]"


def test_a_changed_capture_resubmits_what_uses_it(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "capture.log"
    ok(kc, "let k: i64 = 2;")
    ok(kc, logging_map(log, name="scaled"))
    ok(kc, "let k: i64 = 3;")
    ok(kc, logging_map(log, name="scaled"))
    assert len(ran(log)) == 8, ran(log)
    assert value(kc, "scaled") == "[0, 3, 6, 9]"
    ok(kc, "let k: i64 = 2;")


def test_a_changed_body_rebuilds_and_resubmits(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "body.log"
    ok(kc, logging_map(log, name="bodied"))
    c = ok(kc, logging_map(log, expr="x * k + 1", name="bodied"))
    assert "compiling the task" in texts(c), texts(c)
    assert len(ran(log)) == 8, ran(log)
    assert value(kc, "bodied") == "[1, 3, 5, 7]"


def test_failed_items_are_resubmitted(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "failed.log"
    marker = workdir / "failed.marker"
    expr = f"if x == 1 && !std::path::Path::new(r#\"{marker}\"#).exists() {{ panic!(\"not yet\") }} x * k"
    c = cell(kc, logging_map(log, expr=expr, name="flaky"))
    assert c.status == "error", texts(c)
    assert ran(log) == ["0", "1", "2", "3"]
    marker.write_text("x")
    c = ok(kc, logging_map(log, expr=expr, name="flaky"))
    assert ran(log) == ["0", "1", "1", "2", "3"], "only the failed item runs again"
    assert "3 of 4 results from the cache; 1 element submitted" in texts(c), texts(c)
    assert value(kc, "flaky") == "[0, 2, 4, 6]"


def test_without_cache_everything_resubmits(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "off.log"
    ok(kc, logging_map(log, name="plain"))
    ok(kc, logging_map(log, name="plain", flags=""))
    assert len(ran(log)) == 8, ran(log)


def test_sweep_with_one_more_value_runs_only_the_new_configurations(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "sweep.log"
    body = (f"{{ use std::io::Write as _; "
            f"let mut f = std::fs::OpenOptions::new().create(true).append(true).open(r#\"{log}\"#).unwrap(); "
            f"f.write_all(format!(\"{{a}}-{{b}}\\n\").as_bytes()).unwrap(); a * 10 + b }}")
    ok(kc, f"%%sweep a in [1, 2], b in [0, 1] -> grid --cache\n{body}")
    assert len(ran(log)) == 4
    c = ok(kc, f"%%sweep a in [1, 2, 3], b in [0, 1] -> grid --cache\n{body}")
    assert sorted(ran(log)) == sorted(["1-0", "1-1", "2-0", "2-1", "3-0", "3-1"]), ran(log)
    assert "4 of 6 results from the cache" in texts(c), texts(c)
    assert value(kc, "grid.len()") == "6"


def test_config_switch_and_clear(cache_kernel):
    _, kc, workdir = cache_kernel
    log = workdir / "config.log"
    assert "result cache: on" in texts(ok(kc, "%slurm config --cache on"))
    ok(kc, logging_map(log, name="configured", flags=""))
    ok(kc, logging_map(log, name="configured", flags=""))
    assert len(ran(log)) == 4, "the session-wide switch reuses results"
    c = ok(kc, "%slurm cache clear")
    assert "result cache cleared" in texts(c)
    ok(kc, logging_map(log, name="configured", flags=""))
    assert len(ran(log)) == 8, "after a clear everything runs"
    assert "result cache: off" in texts(ok(kc, "%slurm config --cache off"))
    c = cell(kc, "%slurm config --cache maybe")
    assert c.status == "error" and "neither on nor off" in texts(c) + str(c.error()), texts(c)


# --- over SSH, switched on for the whole run by SLUICE_CACHE=1 -------------

@pytest.fixture(scope="module")
def remote_cached():
    import tempfile
    from jupyter_client.manager import start_new_kernel
    from conftest import STARTUP_TIMEOUT
    from test_slurm import ssh_env
    workdir = Path(tempfile.mkdtemp(prefix="sluice-cache-ssh-"))
    env = dict(ssh_env(), SLUICE_CACHE="1", SLUICE_WORKDIR=str(workdir))
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=str(workdir), env=env)
    try:
        yield km, kc, workdir
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_cache_over_ssh_with_the_environment_switch(remote_cached):
    _, kc, workdir = remote_cached
    log = workdir / "ssh.log"
    assert "result cache: on" in texts(ok(kc, "%slurm config"))
    ok(kc, "let k: i64 = 5;")
    ok(kc, logging_map(log, name="remote", flags=""))
    assert ran(log) == ["0", "1", "2", "3"]
    assert value(kc, "remote") == "[0, 5, 10, 15]"
    c = ok(kc, logging_map(log, name="remote", flags=""))
    assert ran(log) == ["0", "1", "2", "3"], "an unchanged re-run over SSH submitted items"
    assert "4 of 4 results from the cache" in texts(c), texts(c)
    assert value(kc, "remote") == "[0, 5, 10, 15]"
    ok(kc, logging_map(log, name="remote", items="0..5"))
    assert ran(log) == ["0", "1", "2", "3", "4"], ran(log)
    assert value(kc, "remote") == "[0, 5, 10, 15, 20]"


def test_a_job_after_an_unfinished_one_does_not_use_the_cache(cache_kernel):
    _, kc, _ = cache_kernel
    ok(kc, "%%slurm map 0..2 -> slowup --no-wait\n"
           "|x: i64| -> i64 { std::thread::sleep(std::time::Duration::from_secs(20)); x }")
    c = ok(kc, "%%slurm map slowup -> down --cache\n|x: i64| x + 1")
    assert "has not finished" in texts(c), texts(c)
    assert value(kc, "down") == "[1, 2]"


def test_sluice_cache_hits_across_separate_nbconvert_runs(tmp_path):
    """SLUICE_CACHE=1 for a CI run: two `jupyter nbconvert --execute` of one
    notebook are two kernels with other parent processes (JPY_PARENT_PID)
    and maybe other kept slots (EVCXR_TMPDIR), all in the tasks'
    environment; none of that may change the key (version 1 kept them, and
    no second run ever hit)."""
    import json
    import os
    import subprocess
    from test_notebooks import JUPYTER
    log = tmp_path / "ran.log"
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": [line] if isinstance(line, str) else line, "id": f"c{i}"}
                    for i, line in enumerate(["let k: i64 = 3;", logging_map(log, name="tripled", flags="")])],
          "metadata": {"kernelspec": {"name": "sluice", "display_name": "Rust (sluice)", "language": "rust"}},
          "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "cached.ipynb").write_text(json.dumps(nb))
    outputs = []
    for run in range(2):
        out = tmp_path / f"run{run}.ipynb"
        subprocess.run([str(JUPYTER), "nbconvert", "--to", "notebook", "--execute", "cached.ipynb",
                        "--output", str(out)], check=True, cwd=tmp_path,
                       env=dict(os.environ, SLUICE_CACHE="1", SLUICE_WORKDIR=str(tmp_path)))
        magic = json.loads(out.read_text())["cells"][1]
        outputs.append("".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                               for o in magic["outputs"]))
    assert ran(log) == ["0", "1", "2", "3"], f"the second run submitted items: {ran(log)}\n{outputs[1]}"
    assert "4 of 4 results from the cache" in outputs[1], outputs[1]


def test_a_job_bound_by_slurm_wait_keeps_its_results(cache_kernel):
    """`--no-wait` (or an interrupt) leaves the binding to `%slurm wait`:
    the results are kept then, and an unchanged re-run submits nothing."""
    _, kc, workdir = cache_kernel
    log = workdir / "later.log"
    ok(kc, "let k: i64 = 7;")
    ok(kc, logging_map(log, name="later", flags="--cache --no-wait"))
    ok(kc, "%slurm wait later")
    assert ran(log) == ["0", "1", "2", "3"]
    c = ok(kc, logging_map(log, name="later", flags="--cache"))
    assert ran(log) == ["0", "1", "2", "3"], "the re-run submitted items"
    assert "4 of 4 results from the cache" in texts(c), texts(c)
    assert value(kc, "later") == "[0, 7, 14, 21]"


def test_a_sluice_cache_value_that_is_neither_on_nor_off_is_said(tmp_path):
    """`SLUICE_CACHE=2` is not silently off: `%slurm config` names it, a
    job is refused with the reason, and `%slurm config --cache off` settles
    it."""
    import os
    from jupyter_client.manager import start_new_kernel
    from conftest import STARTUP_TIMEOUT, stop
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=str(tmp_path),
                              env=dict(os.environ, SLUICE_CACHE="2"))
    try:
        shown = texts(ok(kc, "%slurm config"))
        assert "not used: SLUICE_CACHE: `2` is neither on nor off" in shown, shown
        c = cell(kc, "%%slurm map 0..2 -> refused\n|x: i64| x")
        assert c.status == "error" and "SLUICE_CACHE" in c.error()["evalue"], c.error()
        assert "not used" not in texts(ok(kc, "%slurm config --cache off"))
        ok(kc, "%%slurm map 0..2 -> fine\n|x: i64| x + 1")
        assert value(kc, "fine") == "[1, 2]"
    finally:
        stop(km, kc)
