"""What the magics show, message by message, against the real kernel: the
build's one line (live, then "built in" or "cached"), status messages as
HTML with names in <code> beside their text form, and the elapsed time of
finished jobs in `%slurm status` and `%slurm wait` on both executors."""

import os
import re
from pathlib import Path

import pytest

from conftest import cell, notebook_kernel, ok

nb = notebook_kernel("sluice-outputs-")


def displays(c):
    """Every display_data / update_display_data of a cell, in order, as
    (msg_type, display_id, data)."""
    return [(m["msg_type"], m["content"].get("transient", {}).get("display_id"), m["content"]["data"])
            for m in c.outputs if m["msg_type"] in ("display_data", "update_display_data")]


def test_build_line_is_live_then_replaced_by_how_it_ended(nb):
    _, kc, _ = nb
    c = ok(kc, "%%slurm map [1u64, 2, 3] -> tripled\n|x: u64| x * 3 + 17")
    shown = displays(c)
    first = next(d for d in shown if "compiling the task (release build)" in d[2]["text/plain"])
    assert first[0] == "display_data" and first[1], first
    assert re.search(r"compiling the task \(release build\): \d+( of \d+)? crates · \d+\.\d s", first[2]["text/plain"])
    # The same display ends as one line saying how long the build took.
    last = [d for d in shown if d[1] == first[1]][-1]
    assert last[0] == "update_display_data"
    assert re.fullmatch(r"task built in \d+\.\d s", last[2]["text/plain"]), last
    assert "sluice-build" in last[2]["text/html"]
    # The same cell again: nothing to compile.
    again = displays(ok(kc, "%%slurm map [1u64, 2, 3] -> tripled\n|x: u64| x * 3 + 17"))
    assert any(d[2]["text/plain"] == "task cached (unchanged since it was built)" for d in again)
    assert not any("compiling the task" in d[2]["text/plain"] for d in again)


def test_status_messages_are_html_with_names_in_code_and_text_kept(nb):
    _, kc, _ = nb
    c = ok(kc, "%%slurm map [1u64, 2] -> doubled\n|x: u64| x * 2")
    bound = next(d[2] for d in displays(c) if d[2]["text/plain"].startswith("bound `doubled"))
    assert bound["text/plain"] == "bound `doubled: Vec<u64>` (2 items)"
    html = bound["text/html"]
    assert "<code>doubled: Vec&lt;u64&gt;</code>" in html and "`" not in html
    assert "<pre" not in html and "white-space:normal" in html


@pytest.mark.parametrize("backend", ["local", "slurm"])
def test_finished_jobs_show_how_long_they_ran(nb, backend):
    _, kc, _ = nb
    if backend == "slurm" and not Path(os.environ.get("SLURM_CONF", "/nonexistent")).exists():
        pytest.fail("SLURM_CONF is not set: run the suite with tests/run.sh, which starts install/slurm-local.sh")
    name = f"slow_{backend}"
    # Two elements of 1.5 s each: whatever runs them, 1.5 s at least passed
    # between the first start and the last end.
    ok(kc, f"%%slurm map [1u64, 2] -> {name} --backend {backend} --time 2 --mem 256M\n"
           "|x: u64| { std::thread::sleep(std::time::Duration::from_millis(1500)); x }")
    status = ok(kc, f"%slurm status {name}")
    table = next(d[2]["text/plain"] for d in displays(status) if "elapsed" in d[2]["text/plain"])
    row = next(line for line in table.splitlines() if name in line)
    seconds = float(re.search(r"COMPLETED .* (\d+\.\d) s", row).group(1))
    assert 1.4 <= seconds < 60, row
    waited = ok(kc, f"%slurm wait {name}")
    progress = next(d[2]["text/plain"] for d in displays(waited) if "(job " in d[2]["text/plain"])
    shown = float(re.search(r"\| (\d+\.\d) s", progress).group(1))
    assert 1.4 <= shown < 60, progress
