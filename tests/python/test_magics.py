"""%%slurm map / run and the %slurm line magics on the local executor,
driven through the real kernel: results bound as typed variables, Slurm's
semantics (limits, dependencies, states), failures that keep results, the
ledger across a restart, and bad input."""

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, ok, run_cell, run_interrupted

TIMEOUT = 600


@pytest.fixture(scope="module")
def nb():
    workdir = tempfile.mkdtemp(prefix="sluice-magics-")
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=workdir)
    try:
        yield km, kc, Path(workdir)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def cell(kc, code, timeout=TIMEOUT):
    return run_cell(kc, code, timeout=timeout)


def value(kc, expr):
    c = cell(kc, expr)
    assert c.status == "ok", c.error()
    return c.of_type("execute_result")[0]["content"]["data"]["text/plain"]


def texts(c):
    out = []
    for m in c.outputs:
        data = m["content"].get("data") or {}
        out.append(data.get("text/plain", m["content"].get("text", "")))
    return "\n".join(out)


def test_map_over_a_range_binds_a_vec_with_live_progress(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..10 -> squares\nfn square(x: i64) -> i64 { x * x }")
    assert c.status == "ok", c.error()
    # The progress display (the build status, when the task is built, is
    # another display updated in place).
    progress_id = next(m["content"]["transient"]["display_id"] for m in c.of_type("display_data")
                       if "(job " in m["content"]["data"].get("text/plain", ""))
    updates = [u for u in c.of_type("update_display_data")
               if "(job " in u["content"]["data"].get("text/plain", "")]
    assert updates and all(u["content"]["transient"]["display_id"] == progress_id for u in updates)
    assert "10/10" in updates[-1]["content"]["data"]["text/plain"]
    assert "bound `squares: Vec<i64>`" in texts(c)
    assert value(kc, "squares.iter().sum::<i64>()") == "285"


def test_fan_out_over_a_variable_then_fan_in(nb):
    _, kc, _ = nb
    assert cell(kc, "let chunks: Vec<Vec<u64>> = (0..40u64).collect::<Vec<_>>().chunks(10).map(|c| c.to_vec()).collect();").status == "ok"
    c = cell(kc, "%%slurm map chunks -> partial_sums --max-concurrent 2\nfn process(chunk: Vec<u64>) -> u64 { chunk.iter().sum() }")
    assert c.status == "ok", c.error()
    c = cell(kc, "%%slurm run -> total\npartial_sums.iter().sum::<u64>()")
    assert c.status == "ok", c.error()
    assert value(kc, "total") == str(sum(range(40)))


def test_failed_item_keeps_the_others_and_retry_completes(nb):
    _, kc, workdir = nb
    marker = workdir / "allow-item-3"
    body = (
        "%%slurm map 0..6 -> flaky\n"
        "fn f(x: u32) -> u32 {\n"
        f"    if x == 3 && !std::path::Path::new(r\"{marker}\").exists() {{ panic!(\"item three is bad\") }}\n"
        "    x * 10\n}"
    )
    c = cell(kc, body)
    assert c.status == "error"
    err = c.error()
    assert err["ename"] == "TaskFailed"
    assert "1 of 6 items" in err["evalue"] and "flaky_partial" in err["evalue"]
    tb = "\n".join(err["traceback"])
    assert "item 3" in tb and "item three is bad" in tb
    assert value(kc, "flaky_partial") == "[Some(0), Some(10), Some(20), None, Some(40), Some(50)]"
    assert cell(kc, "flaky").status == "error"  # not bound while an item is missing
    marker.write_text("ok")
    c = cell(kc, "%slurm retry flaky")
    assert c.status == "ok", c.error()
    assert "retrying 1 failed element" in texts(c)
    assert value(kc, "flaky") == "[0, 10, 20, 30, 40, 50]"


def test_time_limit_gives_timeout_and_mem_limit_gives_out_of_memory(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..2 -> sleepy --time 0:01\nfn f(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_secs(60)); x }")
    assert c.status == "error"
    assert "TIMEOUT" in "\n".join(c.error()["traceback"])
    c = cell(kc, "%%slurm map 0..1 -> hungry --mem 64M\nfn f(x: u64) -> u64 {\n    let v = vec![1u8; 400 << 20];\n    std::thread::sleep(std::time::Duration::from_secs(5));\n    v.iter().map(|b| *b as u64).sum::<u64>() + x\n}")
    assert c.status == "error"
    assert "OUT_OF_MEMORY" in "\n".join(c.error()["traceback"])


def test_afterok_dependent_of_a_failed_job_is_cancelled_afterany_runs(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..2 -> doomed --no-wait\nfn f(x: u32) -> u32 { std::thread::sleep(std::time::Duration::from_millis(500)); if x == 1 { std::process::exit(3) } x }")
    assert c.status == "ok", c.error()
    c = cell(kc, "%%slurm run -> after_ok --after doomed\n7u32")
    assert c.status == "error"
    tb = "\n".join(c.error()["traceback"])
    assert "CANCELLED" in tb and "DependencyNeverSatisfied" in tb
    c = cell(kc, "%%slurm run -> after_any --after doomed --dependency afterany\n8u32")
    assert c.status == "ok", c.error()
    assert value(kc, "after_any") == "8"
    # Depending on a job already known to have failed is refused at once.
    c = cell(kc, "%%slurm run --after doomed\n9u32")
    assert c.status == "error" and c.error()["ename"] == "DependencyNeverSatisfied"


def test_aftercorr_pipeline_is_element_wise(nb):
    _, kc, workdir = nb
    marker = workdir / "b0-ran"
    ok(kc, f'let marker = String::from(r#"{marker}"#);')
    # a[2] runs until b[0] has run (at most 2 minutes): it ends first only
    # if b[0] waited for a[0] alone, as aftercorr says — no timing involved.
    c = cell(kc, "%%slurm map 0..3 -> stage_a --no-wait\n"
                 "|x: u64| -> u64 { if x == 2 { let t = std::time::Instant::now(); "
                 "while !std::path::Path::new(&marker).exists() && t.elapsed().as_secs() < 120 { std::thread::sleep(std::time::Duration::from_millis(50)); } } "
                 "if x == 1 { panic!(\"a1 fails\") } x }")
    assert c.status == "ok", c.error()
    c = cell(kc, "%%slurm map stage_a -> stage_b\n|x: u64| -> u64 { if x == 0 { std::fs::write(&marker, \"\").unwrap(); } x + 100 }")
    assert c.status == "error"
    assert value(kc, "stage_b_partial") == "[Some(100), None, Some(102)]"
    tb = "\n".join(c.error()["traceback"])
    assert "DependencyNeverSatisfied" in tb
    jobs = sorted((workdir / ".sluice" / "jobs").iterdir(), key=lambda p: int(p.name))
    a_dir, b_dir = jobs[-2], jobs[-1]
    b0_end = json.loads((b_dir / "status" / "0.json").read_text())["end"]
    a2_end = json.loads((a_dir / "status" / "2.json").read_text())["end"]
    assert b0_end <= a2_end, (b0_end, a2_end)


def test_no_wait_then_wait_and_logs(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..4 -> later --no-wait\nfn f(x: u32) -> u32 { println!(\"hello from {x}\"); x + 1 }")
    assert c.status == "ok" and "queued" in texts(c)
    c = cell(kc, "%slurm wait later")
    assert c.status == "ok", c.error()
    assert value(kc, "later") == "[1, 2, 3, 4]"
    c = cell(kc, "%slurm logs later[2]")
    assert "hello from 2" in texts(c)


def test_interrupt_stops_waiting_not_the_job(nb):
    km, kc, _ = nb
    c = run_interrupted(km, kc, "%%slurm map 0..2 -> patient\nfn f(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_secs(4)); x }",
                        after=2.0, timeout=TIMEOUT)
    assert c.status == "error"
    assert c.error()["ename"] == "Interrupted"
    assert "keeps running" in c.error()["evalue"]
    c = cell(kc, "%slurm wait patient")
    assert c.status == "ok", c.error()
    assert value(kc, "patient") == "[0, 1]"


def test_cancel_stops_a_job(nb):
    _, kc, _ = nb
    assert cell(kc, "%%slurm map 0..3 -> forever --no-wait\nfn f(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_secs(120)); x }").status == "ok"
    time.sleep(1)
    c = cell(kc, "%slurm cancel forever")
    assert c.status == "ok", c.error()
    assert "cancelled 3" in texts(c)
    c = cell(kc, "%slurm status forever")
    assert "CANCELLED" in texts(c)


def test_bad_input_is_a_clear_error(nb):
    _, kc, _ = nb
    cases = [
        ("%%slurm frobnicate xs", "MagicSyntaxError", "%%slurm takes map, run"),
        ("%%slurm map 0..3 --tiem 5\nfn f(x: u32) -> u32 { x }", "MagicSyntaxError", "--tiem"),
        ("%%bogus", "MagicSyntaxError", "unknown magic"),
        ("%%slurm map no_such_thing\nfn f(x: u32) -> u32 { x }", "ItemsError", "no_such_thing"),
        ("%%slurm map 0..3\nfn f(a: u32, b: u32) -> u32 { a }", "MagicBodyError", "one argument"),
        ("%%slurm map 0..3\nlet x = 5;", "MagicBodyError", "one argument"),
        ("%%slurm map 0..0\nfn f(x: u32) -> u32 { x }", "ItemsError", "empty"),
        ("%%slurm run --after nobody\n1", "UnknownJob", "nobody"),
        ("%slurm logs", "MagicSyntaxError", "JOB"),
    ]
    for code, ename, needle in cases:
        c = cell(kc, code)
        assert c.status == "error", code
        err = c.error()
        assert err["ename"] == ename, (code, err)
        assert needle in err["evalue"] + "\n".join(err["traceback"]), (code, err)
    # A variable whose items are not Serialize.
    assert cell(kc, "struct Opaque(u8);\nlet opaque = vec![Opaque(1)];").status == "ok"
    c = cell(kc, "%%slurm map opaque\nfn f(x: u32) -> u32 { x }")
    assert c.error()["ename"] == "ItemsError" and "Serialize" in c.error()["evalue"]
    # A compile error is shown against the cell's own lines.
    c = cell(kc, "%%slurm map 0..3\nfn f(x: u32) -> u32 {\n    x + \"one\"\n}")
    err = c.error()
    assert err["ename"] == "CompileError"
    tb = "\n".join(err["traceback"])
    assert "--> cell:3:" in tb and 'x + "one"' in tb
    # Empty lines before the magic are lines of the cell too.
    c = cell(kc, "\n\n%%slurm map 0..3\nfn f(x: u32) -> u32 {\n    x + \"one\"\n}")
    tb = "\n".join(c.error()["traceback"])
    assert "--> cell:5:" in tb and '5 |     x + "one"' in tb, tb
    c = cell(kc, "\n%%slurm map 0..3\nfn f(x: u32) -> u32 {\n    assert!(x != 1, \"body\");\n    x\n}")
    assert panicked_at("\n".join(c.error()["traceback"]), "cell:4:5", "body"), c.error()
    still = value(kc, "1 + 1")
    assert still == "2"


def count_of(c):
    return c.reply["content"]["execution_count"]


def panicked_at(text, place, message):
    """Rust's panic report (`panicked at PLACE:` then the message on the
    next line) or a one-line summary of it."""
    return re.search(rf"panicked at {re.escape(place)}:\s+{re.escape(message)}", text) is not None


def test_errors_and_panics_in_earlier_cells_items_show_on_their_lines(nb):
    _, kc, workdir = nb
    # An earlier cell's fn that uses what only the session has (its
    # `sluice` module): it compiles there, not in a task.
    shows = cell(kc, "let unrelated = 1;\n\nfn shown(x: u32) -> u32 {\n    sluice::display(\"text/plain\", &x.to_string());\n    x\n}")
    assert shows.status == "ok", shows.error()
    c = cell(kc, "%%slurm map 0..3\nfn g(x: u32) -> u32 { shown(x) }")
    err = c.error()
    assert err["ename"] == "CompileError", err
    tb = "\n".join(err["traceback"])
    n = count_of(shows)
    assert f" --> cell[{n}]:4:5\n" in tb, tb
    assert '4 |     sluice::display("text/plain", &x.to_string());\n' in tb, tb
    assert "src/main.rs" not in tb, tb
    assert "the notebook session's own module" in tb and "cargo add" not in tb, tb
    # Redefined in a later cell: the later one is the task's, on its lines.
    later = cell(kc, "fn shown(x: u32) -> u32 {\n    assert!(x != 1, \"one\");\n    x\n}")
    assert later.status == "ok", later.error()
    c = cell(kc, "%%slurm map 0..3\nfn g(x: u32) -> u32 { shown(x) }")
    tb = "\n".join(c.error()["traceback"])
    assert panicked_at(tb, f"cell[{count_of(later)}]:2:5", "one"), tb
    # The same for a single job and a sweep's configurations (whose table
    # shows the message; the place is in the job's status files).
    c = cell(kc, "%%slurm run -> single\nshown(1)")
    tb = "\n".join(c.error()["traceback"])
    assert panicked_at(tb, f"cell[{count_of(later)}]:2:5", "one"), tb
    c = cell(kc, "%%sweep x in 0..3 -> sw --minimize value\nshown(x as u32) as f64")
    assert c.error()["ename"] == "SweepFailed", c.error()
    job = re.search(r"sw \(job (\d+)\)", texts(c)).group(1)
    status = (workdir / ".sluice" / "jobs" / job / "status" / "1.json").read_text()
    assert f"panicked at cell[{count_of(later)}]:2:5: one" in status, status
    # A bound the task adds (results cross as JSON): rustc's help points
    # at the struct's line in its cell, under its derive.
    typed = cell(kc, "#[derive(Debug, Clone)]\nstruct Opaque2 {\n    x: u32,\n}")
    assert typed.status == "ok", typed.error()
    c = cell(kc, "%%slurm map 0..3\nfn h(x: u32) -> Opaque2 { Opaque2 { x } }")
    tb = "\n".join(c.error()["traceback"])
    assert f" --> cell[{count_of(typed)}]:2:1\n" in tb, tb
    assert "2 | struct Opaque2 {" in tb, tb
    # A panic in an earlier cell's method (an impl block after a derived,
    # multi-line struct) is placed on that cell's line, also after the
    # cell runs again with a new count (same code: the task is not rebuilt).
    defs = (
        "#[derive(Debug, Clone)]\n"
        "struct Pt {\n"
        "    x: u32,\n"
        "}\n"
        "impl Pt {\n"
        "    fn check(&self) -> u32 {\n"
        "        if self.x == 2 {\n"
        "            panic!(\"two is bad\");\n"
        "        }\n"
        "        self.x\n"
        "    }\n"
        "}"
    )
    body = "%%slurm map 0..4\nfn k(x: u32) -> u32 { Pt { x }.check() }"
    for again in (False, True):
        first = cell(kc, defs)
        assert first.status == "ok", first.error()
        c = cell(kc, body)
        err = c.error()
        assert err["ename"] == "TaskFailed", err
        tb = "\n".join(err["traceback"])
        assert panicked_at(tb, f"cell[{count_of(first)}]:8:13", "two is bad"), tb
        assert not again or "task cached" in texts(c), texts(c)


def test_a_missing_or_bad_argument_is_one_line_with_a_correct_example(nb):
    _, kc, _ = nb
    cases = [
        ("%slurm wait", "`%slurm wait` needs JOB, a job name; for example `%slurm wait NAME`"),
        ("%slurm cancel", "`%slurm cancel` needs JOB, a job name; for example `%slurm cancel NAME`"),
        ("%slurm retry", "`%slurm retry` needs JOB, a job name; for example `%slurm retry NAME`"),
        ("%slurm load", "`%slurm load` needs JOB, a job name; for example `%slurm load NAME`"),
        ("%slurm cache", "`%slurm cache` needs ACTION, what to do (clear); for example `%slurm cache clear`"),
        ("%slurm config --cache", "`--cache` needs a value; for example `%slurm config --cache on`"),
        ("%slurm report --save", "`--save` needs a value; for example `%slurm report NAME --save results.json`"),
        ("%slurm retry j --mem", "`--mem` needs a value; for example `%slurm retry NAME --mem 2G`"),
        ("%slurm retry j --cpus-per-task 99999999999",
         "`--cpus-per-task` takes a whole number from 1 to 4294967295, not `99999999999`; "
         "for example `%slurm retry NAME --cpus-per-task 4`"),
        ("%slurm status --all=3", "`--all` takes no value; for example `%slurm status NAME --all`"),
        ("%slurm jobs x", "unexpected argument 'x' found; for example `%slurm jobs`"),
    ]
    c = cell(kc, "%slurm logs some_job[abc]")
    assert c.error()["evalue"] == ("`some_job[abc]`: the item's index is a whole number 0, 1, 2, ...; "
                                   "for example `%slurm logs NAME[3]`"), c.error()
    for code, message in cases:
        c = cell(kc, code)
        err = c.error()
        assert err["ename"] == "MagicSyntaxError", (code, err)
        assert err["evalue"] == message, (code, err)
        # No usage text: the traceback is the one line.
        assert err["traceback"] == [f"MagicSyntaxError: {message}"], (code, err)
    assert value(kc, "40 + 2") == "42"


def test_name_that_shadows_a_variable_says_so(nb):
    _, kc, _ = nb
    assert cell(kc, "let shadowed = String::from(\"old\");").status == "ok"
    c = cell(kc, "%%slurm map 0..2 -> shadowed\nfn f(x: u8) -> u8 { x }")
    assert c.status == "ok", c.error()
    assert "replaces the earlier variable `shadowed: String`" in texts(c)
    assert value(kc, "shadowed") == "[0, 1]"


def test_the_newest_definition_of_a_job_name_wins(nb):
    """A variable a cell set after the job of that name is the variable, in
    ITEMS and run bodies; a new job of that name is the job again; a run
    job's bound value serves later run bodies and ITEMS."""
    _, kc, _ = nb
    assert cell(kc, "%%slurm map 0..3 -> owned\nfn f(i: u64) -> u64 { i * i }").status == "ok"
    assert cell(kc, "let owned: Vec<u64> = vec![10, 20];").status == "ok"
    c = cell(kc, "%%slurm map owned -> owned_plus\nfn g(x: u64) -> u64 { x + 1 }")
    assert c.status == "ok", c.error()
    assert value(kc, "owned_plus") == "[11, 21]"
    c = cell(kc, "%%slurm run -> owned_total\nowned.iter().sum::<u64>()")
    assert c.status == "ok", c.error()
    assert value(kc, "owned_total") == "30"
    c = cell(kc, "%%slurm run -> owned_twice\nowned_total * 2")
    assert c.status == "ok", c.error()
    assert value(kc, "owned_twice") == "60"
    # Straight after the run job, with its bind still waiting.
    c = cell(kc, "%%slurm run -> owned_base\n40u64 + 2")
    assert c.status == "ok", c.error()
    c = cell(kc, "%%slurm run -> owned_next\nowned_base + 1")
    assert c.status == "ok", c.error()
    assert value(kc, "owned_next") == "43"
    c = cell(kc, "%%slurm run -> owned_list\nvec![1u64, 2, 3]")
    assert c.status == "ok", c.error()
    c = cell(kc, "%%slurm map owned_list -> owned_tens\nfn h(x: u64) -> u64 { x * 10 }")
    assert c.status == "ok", c.error()
    assert value(kc, "owned_tens") == "[10, 20, 30]"
    assert cell(kc, "%%slurm map 0..2 -> owned\nfn k(i: u64) -> u64 { i + 100 }").status == "ok"
    c = cell(kc, "%%slurm map owned -> owned_again\nfn m(x: u64) -> u64 { x }")
    assert c.status == "ok", c.error()
    assert value(kc, "owned_again") == "[100, 101]"


def test_a_variable_too_long_for_linux_is_left_out_and_said(nb):
    """A 200 kB variable made every element fail with "Argument list too long"."""
    _, kc, _ = nb
    ok(kc, 'unsafe { std::env::set_var("BIG_ENV_E", "x".repeat(200_000)); std::env::set_var("SMALL_ENV_E", "s"); }')
    c = cell(kc, '%%slurm map 0..2 -> env_seen\nfn f(i: u8) -> bool { std::env::var("BIG_ENV_E").is_err() && std::env::var("SMALL_ENV_E").as_deref() == Ok("s") }')
    assert c.status == "ok", c.error()
    assert "the elements run without `BIG_ENV_E` (196 KiB)" in texts(c), texts(c)
    assert value(kc, "env_seen") == "[true, true]"
    ok(kc, 'unsafe { std::env::remove_var("BIG_ENV_E"); }')


def test_a_cell_that_returns_early_never_breaks_the_session(nb):
    """evcxr recorded the variables of a cell that returned early as kept,
    and every later cell aborted with "Variable 'q' has gone missing"."""
    _, kc, _ = nb
    c = cell(kc, "let q_r = vec![1];\nif q_r.len() == 1 {\n    return;\n}")
    assert c.error()["ename"] == "CompileError", c.error()
    text = "\n".join(c.error()["traceback"])
    assert "--> cell:3:5" in text and "`return` at the top level" in text, text
    c = cell(kc, "return 5;")
    assert "`return` with a value at the top level of a cell" in c.error()["evalue"], c.error()
    assert "Evcxr" not in "\n".join(c.error()["traceback"]), c.error()
    text = "\n".join(cell(kc, 'let x_r: i32 = "a";\nlet y_r = 5').error()["traceback"])
    assert "evcxr" not in text, text
    # A magic's bind waits for the next cell; a bare `return;` there is built
    # apart from it.
    assert cell(kc, "%%slurm map 0..2 -> ret_m\nfn f(x: u64) -> u64 { x }").status == "ok"
    assert cell(kc, "return;").status == "ok"
    assert value(kc, "ret_m") == "[0, 1]"
    assert value(kc, "1 + 1") == "2"


def test_an_error_returned_by_question_mark_fails_the_cell(nb):
    """evcxr printed the error and the cell ended "ok": nbconvert and
    papermill ran on past it."""
    _, kc, _ = nb
    assert cell(kc, "%%slurm map 0..2 -> qm_m\nfn f(x: u64) -> u64 { x }").status == "ok"
    c = cell(kc, 'let qm_k = 5;\nlet qm_f: Vec<u8> = std::fs::read("/nonexistent/sluice")?;')
    assert c.status == "error" and c.error()["ename"] == "Error", c.error()
    assert "No such file or directory" in c.stream("stderr"), c.stream("stderr")
    assert "not kept" in c.error()["evalue"], c.error()
    assert cell(kc, "qm_k").status == "error", "the cell's variables are not kept"
    assert value(kc, "qm_m") == "[0, 1]", "the waiting bind survived"
    assert value(kc, 'let qm_ok: u8 = "7".parse()?;\nqm_ok') == "7"


def test_names_outside_ascii_are_names(nb):
    """Rust reads `数据` as a name: a job may be called so, and a cell that
    binds it again is seen (the kept capture was sent stale)."""
    _, kc, _ = nb
    ok(kc, "let 数据: i64 = 5;")
    c = cell(kc, "%%slurm map 0..2 -> 结果_a\n|x: i64| x + 数据")
    assert c.status == "ok", c.error()
    assert value(kc, "结果_a") == "[5, 6]"
    ok(kc, "let 数据: i64 = 10;")
    c = cell(kc, "%%slurm map 0..2 -> élément_b\n|x: i64| x + 数据")
    assert c.status == "ok", c.error()
    assert value(kc, "élément_b") == "[10, 11]"


def test_hundred_thousand_items_with_packing(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..100000 -> many --chunk auto\nfn f(x: u64) -> u64 { x % 7 }")
    assert c.status == "ok", c.error()
    assert value(kc, "many.len()") == "100000"
    assert value(kc, "many.iter().sum::<u64>()") == str(sum(x % 7 for x in range(100000)))


def test_results_are_bound_with_the_next_cell_even_after_a_failed_one(nb):
    _, kc, _ = nb
    assert cell(kc, "%%slurm map 0..3 -> later_bound\nfn f(x: i64) -> i64 { x + 100 }").status == "ok"
    bad = cell(kc, "let oops: i64 = \"not a number\";")
    assert bad.status == "error"
    # the error points at the cell's own line 1, not at the bind before it
    assert any("cell:1:" in line for line in bad.error()["traceback"]), bad.error()["traceback"]
    assert value(kc, "later_bound") == "[100, 101, 102]"
    assert cell(kc, "%%slurm map 0..2 -> via_vars\nfn g(x: i64) -> i64 { x }").status == "ok"
    c = cell(kc, ":vars")
    assert c.status == "ok" and "via_vars" in texts(c)


def test_bodies_use_notebook_variables_without_rebuilding(nb):
    _, kc, _ = nb
    assert cell(kc, "let scale: i64 = 3;\nlet label: String = \"x\".into();").status == "ok"
    c = cell(kc, "%%slurm map 0..4 -> scaled\n|x: i64| format!(\"{label}{}\", x * scale)")
    assert c.status == "ok", c.error()
    assert value(kc, "scaled") == '["x0", "x3", "x6", "x9"]'
    # a new value is sent to the same binary: no compile
    assert cell(kc, "let scale: i64 = 10;").status == "ok"
    c = cell(kc, "%%slurm map 0..4 -> scaled\n|x: i64| format!(\"{label}{}\", x * scale)")
    assert c.status == "ok", c.error()
    assert "compiling" not in texts(c)
    assert value(kc, "scaled") == '["x0", "x10", "x20", "x30"]'
    c = cell(kc, "%%slurm run -> offset\nscaled.len() as i64 * scale")
    assert c.status == "ok", c.error()
    assert value(kc, "offset") == "40"


def test_captured_values_are_sent_again_whenever_they_may_have_changed(nb):
    """Values a magic sent are reused only while nothing may have changed
    them: every way a cell can change a variable is seen by the next magic."""
    _, kc, _ = nb
    ok(kc, "let mut step: i64 = 1;\nlet shared = std::rc::Rc::new(std::cell::RefCell::new(10i64));\nlet alias = shared.clone();")
    # `shared` is not serde: its value goes through a plain i64.
    body = "%%slurm map 0..1 -> seen\n|_x: i64| (step, inner)"
    ok(kc, "let inner: i64 = *shared.borrow();")
    ok(kc, body)
    assert value(kc, "seen") == "[(1, 10)]"
    ok(kc, "step += 1;")                       # assignment
    ok(kc, body)
    assert value(kc, "seen") == "[(2, 10)]"
    ok(kc, "let mut step: i64 = step * 10;")   # shadowing
    ok(kc, body)
    assert value(kc, "seen") == "[(20, 10)]"
    ok(kc, "fn bump(s: &mut i64) { *s += 5 }\nbump(&mut step);")  # through &mut
    ok(kc, body)
    assert value(kc, "seen") == "[(25, 10)]"
    ok(kc, "%%slurm map (0..1).map(|i| { step -= 1; i }) -> other\n|x: i64| x")  # a magic's ITEMS
    ok(kc, body)
    assert value(kc, "seen") == "[(24, 10)]"
    # Nothing touched them: the same values again.
    ok(kc, "let unrelated = 3;")
    ok(kc, body)
    assert value(kc, "seen") == "[(24, 10)]"
    # The captured variable itself is rebound by a magic's `-> NAME`.
    ok(kc, "%%slurm run -> step\n100i64")
    ok(kc, body)
    assert value(kc, "seen") == "[(100, 10)]"
    # A kept value's type changes.
    ok(kc, "let step: u8 = 7;")
    ok(kc, "%%slurm map 0..1 -> typed\n|_x: i64| step")
    assert value(kc, "typed") == "[7]"
    ok(kc, "*alias.borrow_mut() = 11;\nlet inner: i64 = *shared.borrow();")
    ok(kc, body.replace("seen", "seen2").replace("(step, inner)", "inner"))
    assert value(kc, "seen2") == "[11]"


def test_a_variable_that_cannot_be_sent_is_a_clear_error(nb):
    _, kc, _ = nb
    assert cell(kc, "struct Opaque(i64);\nlet opaque = Opaque(2);").status == "ok"
    c = cell(kc, "%%slurm map 0..2 -> nope\n|x: i64| x * opaque.0")
    assert c.status == "error"
    assert "`opaque`" in c.error()["evalue"] and "Serialize" in c.error()["evalue"]
    assert value(kc, "opaque.0") == "2"


def test_ledger_survives_a_restart(nb):
    km, kc, _ = nb
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
    c = cell(kc, "%slurm jobs")
    assert c.status == "ok"
    assert "squares" in texts(c) and "COMPLETED" in texts(c)
    c = cell(kc, "%slurm load squares")
    assert c.status == "ok", c.error()
    assert value(kc, "squares[9]") == "81"


def test_serde_json_joins_the_session_at_the_first_magic_and_says_what_it_dropped():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT,
                              cwd=tempfile.mkdtemp(prefix="sluice-lazy-"))
    try:
        # plain cells do not pay for serde_json: it is not in the session yet
        c = cell(kc, "serde_json::to_string(&1).unwrap()")
        assert c.status == "error"
        assert cell(kc, "struct Local(i64);\nlet local = Local(7);\nlet plain: i64 = 5;").status == "ok"
        c = cell(kc, "%%slurm map 0..3 -> doubled\n|x: i64| x * plain")
        assert c.status == "ok", c.error()
        assert "local: Local" in texts(c) and "Re-run the cells" in texts(c)
        assert value(kc, "doubled") == "[0, 5, 10]"
        assert value(kc, "serde_json::to_string(&plain).unwrap()") == '"5"'
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_retry_asks_for_the_same_limits(nb):
    _, kc, _ = nb
    code = ("%%slurm map 0..2 -> capped --time 0:1\n"
            "fn f(x: i64) -> i64 { if x == 1 { std::thread::sleep(std::time::Duration::from_secs(4)); } x }")
    c = cell(kc, code)
    assert c.status == "error" and "TIMEOUT" in "\n".join(c.error()["traceback"]), c.error()
    # The retried element gets the same --time, so it times out again
    # (without it, it would run to completion).
    c = cell(kc, "%slurm retry capped")
    assert c.status == "error", texts(c)
    assert "retrying 1 failed element" in texts(c)
    assert "TIMEOUT" in "\n".join(c.error()["traceback"]), c.error()
