"""What the magics print while and after they run, through the real kernel:
the build status (one MIME bundle for every frame, no count that reads as
the total), rustc's headers for denied lints, the task-failure report
(the panic once, sentences in the right number, lines broken between
words), and a sweep's live best-so-far with integers written exactly."""

import random
import re

from conftest import notebook_kernel, run_cell

TIMEOUT = 600


nb = notebook_kernel("sluice-render-")


def cell(kc, code):
    return run_cell(kc, code, timeout=TIMEOUT)


def frames(c):
    """Every display_data / update_display_data with a display id, by id."""
    by_id = {}
    for m in c.outputs:
        if m["msg_type"] not in ("display_data", "update_display_data"):
            continue
        did = (m["content"].get("transient") or {}).get("display_id")
        if did:
            by_id.setdefault(did, []).append(m["content"]["data"])
    return by_id


def test_every_frame_of_a_display_has_the_same_bundle_and_no_guessed_total(nb):
    _, kc, _ = nb
    # A body never built before, so cargo runs (tasks are cached by content).
    salt = random.randrange(1 << 30)
    c = cell(kc, f"%%slurm map 0..3 -> fresh\nfn f(x: u32) -> u32 {{ x + {salt} }}")
    assert c.status == "ok", c.error()
    shown = frames(c)
    builds = [frames for did, frames in shown.items() if did.startswith("sluice-build-")]
    progress = [frames for did, frames in shown.items() if did.startswith("sluice-progress-")]
    assert builds and progress, shown.keys()
    for display in builds + progress:
        for data in display:
            assert sorted(data) == ["text/html", "text/plain"], data
    texts = [d["text/plain"] for d in builds[0]]
    assert texts[-1].startswith("task built in"), texts
    for t in texts[:-1]:
        # Before cargo's total is known only the time shows; after it,
        # "N of M crates": never a bare count that reads as the total.
        assert re.fullmatch(
            r"compiling the task \(release build\)(… [\d.]+ m?s|: \d+ of \d+ crates · [\d.]+ m?s)", t
        ), t


def test_a_denied_lint_has_rustcs_header(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm run -> lint\nlet y: u8 = 256; y")
    assert c.status == "error"
    tb = "\n".join(c.error()["traceback"])
    assert "error: literal out of range for `u8`" in tb, tb
    assert "error[overflowing_literals]" not in tb, tb
    assert "#[deny(overflowing_literals)]" in tb, tb
    # E-codes still show in brackets.
    c = cell(kc, "%%slurm run -> mismatched\nlet y: u8 = \"a\"; y")
    assert "error[E0308]: mismatched types" in "\n".join(c.error()["traceback"])


def test_the_failure_report_says_each_panic_once_in_the_right_number(nb):
    _, kc, _ = nb
    name = "a_job_whose_name_is_long_enough_to_need_wrapping"
    c = cell(kc, f'%%slurm map 0..2 -> {name}\nfn f(x: u32) -> u32 {{ panic!("boom number {{x}}") }}')
    assert c.status == "error"
    err = c.error()
    tb = err["traceback"]
    text = "\n".join(tb)
    assert "holds the 0" not in text, text
    assert f"all 2 items of `{name}` failed" in text, text
    assert "none succeeded" in text and "reruns them" in text, text
    assert text.count("boom number 0") == 1, text
    assert text.count("boom number 1") == 1, text
    # The sentence is broken between words: each line is at most 100
    # columns and the long names are whole on their lines.
    head = [l for l in tb if not l.startswith("  item") and not l.startswith("      ")]
    assert len(head) > 1, tb
    assert all(len(l) <= 100 for l in head), head
    assert any(f"`{name}_partial`" in l for l in head), head
    # A quoted command is never split either.
    assert any(f"`%slurm retry {name}`" in l for l in head), head

    c = cell(kc, "%%slurm map 0..3 -> one_bad\nfn f(x: u32) -> u32 { if x == 1 { panic!(\"bad\") } x }")
    text = "\n".join(c.error()["traceback"])
    assert "1 of 3 items of `one_bad` failed" in text, text
    assert "holds the 2 that succeeded" in text and "reruns only the failed one" in text, text


def test_sweep_progress_writes_integers_exactly(nb):
    _, kc, _ = nb
    c = cell(kc, "%%sweep seed in 0..3 -> big --maximize value\n(seed as u64 + 1) * 102_880_658_436u64")
    assert c.status == "ok", c.error()
    notes = [d["text/plain"] for did, fs in frames(c).items() if did.startswith("sluice-progress-") for d in fs]
    assert "best so far: `value` 308641975308 at seed=2" in notes[-1], notes[-1]
    assert not any("e11" in n for n in notes), notes
    c = cell(kc, "%%sweep seed in 0..2 -> huge --maximize value\nu128::MAX - seed as u128")
    assert c.status == "ok", c.error()
    notes = [d["text/plain"] for did, fs in frames(c).items() if did.startswith("sluice-progress-") for d in fs]
    assert f"best so far: `value` {2**128 - 1} at seed=0" in notes[-1], notes[-1]
    table = "\n".join(
        m["content"]["data"]["text/plain"] for m in c.of_type("display_data") if "text/plain" in m["content"]["data"]
    )
    assert str(2**128 - 1) in table and str(2**128 - 2) in table, table


def test_text_tables_line_up_with_long_job_names(nb):
    _, kc, _ = nb
    long = "a_map_whose_name_is_far_longer_than_any_column_should_be"
    c = cell(kc, f"%%slurm map 0..2 -> {long}\nfn f(x: u32) -> u32 {{ x }}")
    assert c.status == "ok", c.error()
    for magic, column, values in (
        ("%slurm jobs", "kind", ("map", "run", "sweep")),
        ("%slurm status", "state", ("COMPLETED", "FAILED")),
    ):
        c = cell(kc, magic)
        assert c.status == "ok", c.error()
        text = next(
            m["content"]["data"]["text/plain"]
            for m in c.of_type("display_data")
            if m["content"]["data"]["text/plain"].lstrip().startswith("id")
        )
        lines = text.splitlines()
        at = lines[0].index(column)
        for line in lines[1:]:
            assert line[at - 1] == " " and line[at:].startswith(values), (magic, line, lines)
        # The long name is cut from the middle, both ends kept.
        assert any("a_map_whose_na" in l and "should_be" in l and "…" in l for l in lines), lines
