"""What the magics show, message by message, against the real kernel: the
build's one line (live, then "built in" or "cached"), status messages as
HTML with names in <code> beside their text form, and the elapsed time of
finished jobs in `%slurm status` and `%slurm wait` on both executors."""

import os
import re
import time
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
    # A body no build root has seen: the build really compiles.
    body = f"%%slurm map [1u64, 2, 3] -> tripled\n|x: u64| x * 3 + {time.time_ns() % 1_000_000_007}"
    c = ok(kc, body)
    shown = displays(c)
    first = next(d for d in shown if "compiling the task (release build)" in d[2]["text/plain"])
    assert first[0] == "display_data" and first[1], first
    # Before cargo's total is known, only the time (a bare count would read
    # as the total); then "N of M crates".
    assert re.fullmatch(
        r"compiling the task \(release build\)(… |: \d+ of \d+ crates · )(\d+\.\d s|\d+ ms)", first[2]["text/plain"]
    ), first
    # The same display ends as one line saying how long the build took.
    last = [d for d in shown if d[1] == first[1]][-1]
    assert last[0] == "update_display_data"
    assert re.fullmatch(r"task built in (\d+\.\d s|\d+ ms)", last[2]["text/plain"]), last
    assert "sluice-build" in last[2]["text/html"]
    # The same cell again: nothing to compile.
    again = displays(ok(kc, body))
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


@pytest.mark.parametrize("backend", ["local", "slurm"])
def test_an_element_killed_by_a_signal_names_the_signal(nb, backend):
    _, kc, _ = nb
    if backend == "slurm" and not Path(os.environ.get("SLURM_CONF", "/nonexistent")).exists():
        pytest.fail("SLURM_CONF is not set: run the suite with tests/run.sh, which starts install/slurm-local.sh")
    # abort() ends the process before the runtime can write a status: the
    # executor's wait status (local) or sacct's ExitCode 0:6 (Slurm).
    c = cell(kc, f"%%slurm map 0..2u64 -> aborts_{backend} --backend {backend}\n"
                    "|x: u64| { if x == 1 { std::process::abort() } x }")
    assert c.status == "error", c.outputs
    text = "\n".join(c.error()["traceback"])
    assert "item 1: FAILED (killed by SIGABRT, signal 6)" in text, text
    assert "exit -1" not in text and "exit 0" not in text, text


def error_text(c):
    err = c.error()
    assert err, c.outputs
    return "\n".join(err["traceback"])


def test_errors_about_the_cells_value_point_at_its_last_expression(nb):
    _, kc, _ = nb
    ok(kc, "struct NoDebug;")
    text = error_text(cell(kc, "let a = NoDebug;\na"))
    assert "error[E0277]: `NoDebug` doesn't implement `Debug`\n --> cell:2:1\n  |\n2 | a\n  | ^ the cell's value, shown with `{:?}`" in text, text
    assert "end the line with `;` to show nothing" in text, text
    text = error_text(cell(kc, "[1u8, 2][5]"))
    assert "error: this operation will panic at runtime\n --> cell:1:1\n  |\n1 | [1u8, 2][5]\n  | ^^^^^^^^^^^" in text, text
    assert ok(kc, "let a = NoDebug;\n1 + 1")
    # Debug missing inside the value: rustc leaves only a note; it reads as the error.
    text = error_text(cell(kc, "vec![NoDebug]"))
    assert text.startswith("error[E0277]: `Vec<NoDebug>` doesn't implement `Debug`\n --> cell:1:1"), text
    assert "code evcxr generates" not in text, text


def test_a_failing_generic_constant_shows_each_place_once(nb):
    _, kc, _ = nb
    ok(kc, "struct Wd<const N: usize>;\nimpl<const N: usize> Wd<N> { const X: usize = 10 / N; }\n"
           "fn gd<const N: usize>() -> usize { Wd::<N>::X }")
    text = error_text(cell(kc, "gd::<0>()"))
    assert "error[E0080]: attempt to divide `10_usize` by zero" in text, text
    assert text.count("2 | impl<const N: usize> Wd<N>") == 1, text
    assert "3 | fn gd<const N: usize>() -> usize { Wd::<N>::X }" in text, text


def test_a_cell_that_ends_mid_statement_says_so_at_its_end(nb):
    # evcxr issue 422: `let a = std::` once stopped the kernel; then it read
    # "cannot find function <end of input> in crate `std`".
    _, kc, _ = nb
    for code, expected in [
        ("let a = std::", "error: expected identifier, `self`, `super`, `crate`, or `Self`, found the end of the cell\n --> cell:1:14"),
        ("let c = 1 +", "error: expected expression, found the end of the cell\n --> cell:1:12"),
        ("let d = Some(\n  1,", "error: this `(` never closes\n --> cell:1:13"),
    ]:
        text = error_text(cell(kc, code))
        assert text.startswith(expected), (code, text)
        assert "evcxr" not in text and "<end of input>" not in text, text
    assert ok(kc, "let a = std::cmp::max(1, 2);\na")


def test_compile_errors_show_rustcs_suggestions_and_lists(nb):
    _, kc, _ = nb
    moved = cell(kc, "let a = vec![1, 2, 3];\nlet b = a;\nprintln!(\"{:?} {:?}\", a, b);")
    text = error_text(moved)
    assert "help: consider cloning the value if the performance cost is acceptable\n  |\n2 | let b = a.clone();\n  |          ++++++++" in text, text
    added = cell(kc, "let x: i64 = 1;\nlet y = x + 2.5f32;")
    text = error_text(added)
    assert "the following other types implement trait `Add<Rhs>`:" in text, text
    assert "`i64` implements `Add`" in text.split("the following other types implement trait")[1], text
    # The same in a task's body: the suggestion on the cell's line.
    task = cell(kc, "%%slurm map [1u64, 2] -> labels\n|x: u64| -> String { x }")
    text = error_text(task)
    assert "help: try using a conversion method" in text, text
    assert "2 | |x: u64| -> String { x.to_string() }" in text, text


def count_of(c):
    return c.reply["content"]["execution_count"]


def test_spans_in_earlier_cells_show_their_lines_named_by_cell(nb):
    _, kc, _ = nb
    # rustc's "function defined here" note, at a function an earlier cell defined.
    defined = cell(kc, "fn add_one_e(x: i32) -> i32 { x + 1 }")
    n = count_of(defined)
    text = error_text(cell(kc, "add_one_e(\"three\")"))
    assert ("note: function defined here\n"
            f" --> cell[{n}]:1:4\n"
            "  |\n"
            "1 | fn add_one_e(x: i32) -> i32 { x + 1 }\n"
            "  |    ^^^^^^^^^ ------") in text, text
    # E0382's note at the parameter that took the value, in an earlier cell.
    took = cell(kc, "fn take_e(v: Vec<i32>) -> usize { v.len() }")
    text = error_text(cell(kc, "let v = vec![1, 2, 3];\nlet n = take_e(v);\nv.len() + n"))
    assert f" --> cell[{count_of(took)}]:1:14\n" in text, text
    assert "this parameter takes ownership of the value" in text.split(f"cell[{count_of(took)}]")[1], text
    # E0119: the first implementation, in an earlier cell, under the conflicting one.
    first = cell(kc, "struct Pe;\nimpl Clone for Pe { fn clone(&self) -> Pe { Pe } }")
    ok(kc, "let z_e = 1;")
    text = error_text(cell(kc, "impl Clone for Pe { fn clone(&self) -> Pe { Pe } }"))
    assert (f" ::: cell[{count_of(first)}]:2:1\n"
            "  |\n"
            "2 | impl Clone for Pe { fn clone(&self) -> Pe { Pe } }\n"
            "  | ----------------- first implementation here") in text, text
    # ... and while the first one still waits (both cells only define items).
    first = cell(kc, "struct Pw;\nimpl Clone for Pw { fn clone(&self) -> Pw { Pw } }")
    text = error_text(cell(kc, "impl Clone for Pw { fn clone(&self) -> Pw { Pw } }"))
    assert (f" ::: cell[{count_of(first)}]:2:1\n"
            "  |\n"
            "2 | impl Clone for Pw { fn clone(&self) -> Pw { Pw } }\n"
            "  | ----------------- first implementation here") in text, text
    # An item that shared its line with a statement is found on that line.
    shared = cell(kc, "let y_e = 5; fn fe_shared() -> i32 { 3 }")
    text = error_text(cell(kc, "fe_sharex()"))
    assert f" ::: cell[{count_of(shared)}]:1:14\n" in text, text
    assert "1 - fe_sharex()\n1 + fe_shared()" in text, text


def test_a_name_defined_twice_in_one_cell_is_rusts_e0428(nb):
    """evcxr kept the second `fn d` silently; Rust refuses it."""
    _, kc, _ = nb
    c = cell(kc, "fn twice_d() -> u8 { 1 }\nfn twice_d() -> u8 { 2 }")
    assert c.status == "error"
    text = error_text(c)
    assert text.startswith("error[E0428]: the name `twice_d` is defined multiple times\n --> cell:2:1\n"), text
    assert "previous definition of the value `twice_d` here" in text, text
    # Later cells may redefine it, as any notebook edit does.
    ok(kc, "fn twice_d() -> u8 { 1 }")
    ok(kc, "fn twice_d() -> u8 { 3 }")
    assert cell(kc, "twice_d()").of_type("execute_result")[0]["content"]["data"]["text/plain"] == "3"


def test_a_constant_in_a_block_is_named_as_rustc_names_it(nb):
    _, kc, _ = nb
    text = error_text(cell(kc, "let q_c: u8 = { const B: u8 = 255 + 1; B };"))
    assert "evaluation of `B` failed here" in text, text
    assert "evcxr" not in text, text


def test_a_constant_that_fails_to_evaluate_names_the_cell_of_its_item(nb):
    _, kc, _ = nb
    items = cell(kc, "struct We<T>(T);\n"
                     "impl<T> We<T> { const BAD: usize = 1 / (std::mem::size_of::<T>() - std::mem::size_of::<T>()); }")
    c = cell(kc, "let q = We::<u8>::BAD;\nq")
    assert c.error()["evalue"] == "attempt to divide `1_usize` by zero", c.error()
    text = error_text(c)
    assert f" --> cell[{count_of(items)}]:2:36\n" in text, text
    assert "2 | impl<T> We<T> { const BAD: usize = 1 / (" in text, text
    assert "evaluation of `We::<u8>::BAD` failed here" in text, text


def test_suggestions_that_add_lines_are_shown_as_lines(nb):
    _, kc, _ = nb
    text = error_text(cell(kc, "trait ShapeE { fn area(&self) -> f64; fn name(&self) -> String; }\n"
                               "struct SqE(f64);\n"
                               "impl ShapeE for SqE { fn name(&self) -> String { \"sq\".into() } }"))
    assert ("3 ~ impl ShapeE for SqE { fn name(&self) -> String { \"sq\".into() } fn area(&self) -> f64 { todo!() }\n"
            "4 ~ }") in text, text
    # No line of the help is a cell line with a break spliced into it.
    help_part = text.split("help: implement the missing item")[1]
    assert all(re.match(r"^(\d+ [~+|] |\s+\|)", line) for line in help_part.splitlines()[1:]), text
    text = error_text(cell(kc, "enum DirE { N, S, E }\n"
                               "fn f_e(d: DirE) -> i32 {\n"
                               "    match d {\n"
                               "        DirE::N => 1,\n"
                               "    }\n"
                               "}"))
    help_part = text.split("help: ensure that all possible cases are being handled")[1]
    assert re.search(r"\n4 ~         DirE::N => 1,\n5 [~+]         DirE::S \| DirE::E => todo!\(\),?(\n|$)",
                     help_part), text


def test_a_line_with_several_labels_is_shown_once(nb):
    _, kc, _ = nb
    c = cell(kc, "struct P2 { y: i32 }\n"
                 "fn show2<T: std::fmt::Display>(t: T) -> String { format!(\"{t}\") }\n"
                 "let z = show2(P2 { y: 1 });")
    text = error_text(c)
    assert ("3 | let z = show2(P2 { y: 1 });\n"
            "  |         ----- ^^^^^^^^^^^ unsatisfied trait bound\n"
            "  |         |\n"
            "  |         required by a bound introduced by this call\n") in text, text
    assert text.count("let z = show2") == 1, text


def test_a_typo_says_what_was_meant_in_one_line(nb):
    _, kc, _ = nb
    err = cell(kc, "%slurm statu").error()
    assert err["ename"] == "MagicSyntaxError"
    assert err["evalue"] == "unknown %slurm sub-command `statu`; did you mean `status`?"
    assert "Usage" not in "\n".join(err["traceback"]) and len(err["traceback"]) == 1, err


def test_the_pager_hides_rustdocs_hidden_lines(nb):
    _, kc, _ = nb
    c = ok(kc, "?Vec::new")
    page = c.reply["content"]["payload"][0]["data"]
    assert "Constructs a new, empty" in page["text/plain"]
    assert "# #![allow" not in page["text/plain"] and "# #![allow" not in page["text/html"]
    assert "let mut vec: Vec<i32> = Vec::new();" in page["text/plain"]
    assert "\nExamples\n" in page["text/plain"]


def test_live_sweep_progress_shows_the_best_so_far(nb):
    _, kc, _ = nb
    c = ok(kc, "%%sweep x in 0..6 -> live --maximize value --max-concurrent 2\n"
               "{ std::thread::sleep(std::time::Duration::from_millis(300)); (x * 10) as f64 }")
    progress = [d[2]["text/plain"] for d in displays(c) if "(job " in d[2]["text/plain"]]
    assert any(re.search(r"[1-5] of 6 configurations finished; best so far: `value` \d+ at x=\d", p)
               for p in progress), progress
    assert "6 of 6 configurations finished; best so far: `value` 50 at x=5 (configuration 5)" in progress[-1]
    html = [d[2]["text/html"] for d in displays(c) if "(job " in d[2]["text/plain"]][-1]
    assert "<code>value</code>" in html
