"""What a newcomer sees for a magic written wrong, through the real kernel on
the local executor: line magics before any job ran, a body that is not
Rust, a %%sweep line missing a part, numeric options out of range, typos,
element indices past a job's end, and an objective of a struct with no
fields. Each answer is one plain line (or, for a body, the body's own line
with a caret), never a usage text, and the kernel keeps running."""

from conftest import cell, notebook_kernel, ok, texts, value

nb = notebook_kernel("sluice-magic-errors-")

NO_JOB_YET = ("no job has run yet in this notebook: run a `%%slurm map`, `%%slurm run` or "
              "`%%sweep` cell first")
SWEEP_EXAMPLE = "%%sweep lr in [0.1, 0.01] -> fit"


def one_line_error(kc, code, ename, evalue):
    """The cell fails with `ename: evalue` and nothing else."""
    err = cell(kc, code).error()
    assert (err["ename"], err["evalue"]) == (ename, evalue), (code, err)
    assert err["traceback"] == [f"{ename}: {evalue}"], (code, err)


def test_before_any_job_every_line_magic_says_so(nb):
    _, kc, _ = nb
    for code in ["%slurm report", "%slurm report --json", "%slurm jobs", "%slurm graph",
                 "%slurm graph --dot", "%slurm status"]:
        c = ok(kc, code)
        assert texts(c).startswith(NO_JOB_YET), (code, texts(c))
    for code in ["%slurm wait fit", "%slurm cancel fit", "%slurm logs fit[3]", "%slurm retry fit",
                 "%slurm load fit", "%slurm status fit", "%slurm report fit --json"]:
        one_line_error(kc, code, "UnknownJob", f"no job named `fit`: {NO_JOB_YET}")


def test_a_body_that_is_not_rust_points_at_its_line(nb):
    _, kc, _ = nb
    for code, where, line, caret in [
        ("%%sweep lr in [1, 2] -> s\nlet a = lr;\nlet x = ;\nx", "cell:3:9", "3 | let x = ;",
         "  |         ^"),
        ("%%slurm map 0..3\nfn f(x: u32) -> u32 {\n    x + )\n}", "cell:3:9", "3 |     x + )",
         "  |         ^"),
        ("%%slurm run\n\n1 + )", "cell:3:5", "3 | 1 + )", "  |     ^"),
    ]:
        err = cell(kc, code).error()
        assert err["ename"] == "MagicBodyError", (code, err)
        assert err["evalue"].startswith("the body is not valid Rust: "), (code, err)
        assert len(err["traceback"]) == 1, (code, err)
        tb = err["traceback"][0]
        assert f"--> {where}" in tb and f"{line}\n{caret}" in tb, (code, tb)
        assert "OPTIONS" not in tb and "usage" not in tb.lower(), (code, tb)
    # A body of the wrong shape: what it should be, with an example; no usage.
    for code, what in [
        ("%%slurm map 0..3\nfn f(a: u8, b: u8) -> u8 { a }", "a function of one argument"),
        ("%%slurm map 0..3\n|x| x + 1", "give the argument a type"),
    ]:
        err = cell(kc, code).error()
        assert err["ename"] == "MagicBodyError" and what in err["evalue"], (code, err)
        assert len(err["traceback"]) == 1 and "OPTIONS" not in err["traceback"][0], (code, err)
    assert value(kc, "40 + 2") == "42"


def test_an_unclosed_string_or_bracket_says_which_and_where(nb):
    _, kc, _ = nb
    for code, evalue, where, caret in [
        ('%%slurm map 0..2u64\n|x: u64| { let s = "abc; x }',
         'this string never closes: a `"` is missing', "cell:2:20", "  |                    ^"),
        ("%%slurm map 0..2u64\n|x: u64| { x + 1", "this `{` never closes", "cell:2:10", "  |          ^"),
        ('%%slurm run\nlet s = "abc;', 'this string never closes: a `"` is missing', "cell:2:9",
         "  |         ^"),
        ("%%slurm run\nlet v = vec![1, 2;\nv.len()", "this `[` never closes", "cell:2:13",
         "  |             ^"),
        ("%%slurm map 0..2u64\nfn f(x: u64) -> u64 {\n    x[0\n}",
         "this `}` does not close the `[` on line 2, column 6, which never closes", "cell:4:1", "  | ^"),
    ]:
        err = cell(kc, code).error()
        assert err["ename"] == "MagicBodyError", (code, err)
        assert err["evalue"] == f"the body is not valid Rust: {evalue}", (code, err)
        tb = err["traceback"][0]
        assert f"--> {where}" in tb and caret in tb.splitlines(), (code, tb)
    assert value(kc, "40 + 2") == "42"


def test_a_result_serde_cannot_carry_is_one_error_on_its_line(nb):
    _, kc, _ = nb
    ok(kc, "pub struct Plain { pub a: u64 }")
    for code, ty, lacks, line, hint in [
        ("%%slurm map 0..2u64 -> rcs\n|x: u64| std::rc::Rc::new(x)", "Rc<u64>",
         "`serde::Serialize` or `serde::Deserialize`", "2 | |x: u64| std::rc::Rc::new(x)", "instead of `Rc<u64>`"),
        ("%%slurm map 0..2u64 -> plains\nfn mk(x: u64) -> Plain { Plain { a: x } }", "Plain",
         "`serde::Serialize` or `serde::Deserialize`", "2 | fn mk(x: u64) -> Plain { Plain { a: x } }",
         "#[derive(serde::Serialize, serde::Deserialize)]"),
        ("%%slurm run -> r\nlet v = 3u64;\nstd::rc::Rc::new(v)", "Rc<u64>",
         "`serde::Serialize` or `serde::Deserialize`", "3 | std::rc::Rc::new(v)", "instead of `Rc<u64>`"),
        ("%%slurm map 0..2u64 -> strs\n|x: u64| -> &'static str { \"a\" }", "&str",
         "`serde::de::DeserializeOwned`", "2 | |x: u64| -> &'static str { \"a\" }", "String for &str"),
    ]:
        c = cell(kc, code)
        assert c.status == "error", code
        text = "\n".join(c.error()["traceback"])
        assert f"error[E0277]: the task's result `{ty}` does not implement {lacks}" in text, text
        assert line in text and "the task's result comes from here" in text, text
        assert hint in text, text
        # One error, no list of the 140 other types serde knows.
        assert text.count("error") == 1 and "other types implement" not in text, text
    assert value(kc, "40 + 2") == "42"


def test_a_sweep_missing_a_part_is_one_line_with_a_line_that_works(nb):
    _, kc, _ = nb
    for code, what in [
        ("%%sweep\nlr", "`%%sweep` needs a parameter and its values: PARAM in VALUES"),
        ("%%sweep -> fit\nlr", "`%%sweep` needs a parameter and its values: PARAM in VALUES"),
        ("%%sweep lr [0.1, 0.01]\nlr", "`lr [0.1, 0.01]` has no `in`: write PARAM in VALUES (`lr in [..]`)"),
        ("%%sweep lr in -> fit\nlr", "parameter `lr` has no values after `in`: give a list, a range, "
                                     "linspace(..) or logspace(..)"),
        ("%%sweep in [1, 2]\n1", "`in [1, 2]` has no parameter name before `in`: write PARAM in VALUES"),
        ("%%sweep lr in [1, 2] ->\nlr", "`->` needs a NAME after it"),
    ]:
        one_line_error(kc, code, "MagicSyntaxError", f"{what}; for example `{SWEEP_EXAMPLE}`")
    # The line offered runs.
    c = ok(kc, f"{SWEEP_EXAMPLE}\nlr * 2.0")
    assert "fit" in texts(c)
    assert value(kc, "fit.len()") == "2"


def test_numeric_options_name_the_option_and_its_range(nb):
    _, kc, _ = nb
    map_ = "%%slurm map 0..4 -> out"
    for code, option, bad, allowed, example in [
        ("%%sweep a in [1, 2] --random -3\na", "--random", "-3", "1 to 100000",
         f"{SWEEP_EXAMPLE} --random 20"),
        ("%%sweep a in [1, 2] --random 0\na", "--random", "0", "1 to 100000", f"{SWEEP_EXAMPLE} --random 20"),
        ("%%sweep a in [1, 2] --seed -1\na", "--seed", "-1", "0 to 18446744073709551615",
         f"{SWEEP_EXAMPLE} --seed 7"),
        ("%%slurm map 0..3 --retries -1\n|x: u32| x", "--retries", "-1", "0 to 100", f"{map_} --retries 2"),
        ("%%slurm map 0..3 --max-concurrent 0\n|x: u32| x", "--max-concurrent", "0", "1 to 4294967295",
         f"{map_} --max-concurrent 8"),
        ("%%slurm map 0..3 --cpus-per-task 99999999999999999999999\n|x: u32| x", "--cpus-per-task",
         "99999999999999999999999", "1 to 4294967295", f"{map_} --cpus-per-task 4"),
        ("%slurm retry j --cpus-per-task -1", "--cpus-per-task", "-1", "1 to 4294967295",
         "%slurm retry NAME --cpus-per-task 4"),
    ]:
        one_line_error(kc, code, "MagicSyntaxError",
                       f"`{option}` takes a whole number from {allowed}, not `{bad}`; for example `{example}`")
    one_line_error(kc, "%%sweep a in linspace(0, 1, -3)\na", "MagicSyntaxError",
                   "a: linspace(start, stop, n): n is a whole number from 1 to 100000, not `-3`; "
                   f"for example `{SWEEP_EXAMPLE}`")
    one_line_error(kc, "%%slurm map 0..3 --chunk 0\n|x: u32| x", "MagicSyntaxError",
                   "`--chunk` takes a whole number from 1 to 4294967295, not `0` (or `auto`); "
                   f"for example `{map_} --chunk auto`")


def test_a_typo_is_one_line_saying_what_was_meant(nb):
    _, kc, _ = nb
    for code, evalue in [
        ("%%slurm mpa 0..3\n|x: u32| x", "unknown %%slurm mode `mpa`; did you mean `map`?"),
        ("%%slurm rn\n1", "unknown %%slurm mode `rn`; did you mean `run`?"),
        ("%slurm graph --dto", "unknown option `--dto` of `%slurm graph`; did you mean `--dot`?"),
        ("%slurm stauts", "unknown %slurm sub-command `stauts`; did you mean `status`?"),
        ("%slurm report --jsn", "unknown option `--jsn` of `%slurm report`; did you mean `--json`?"),
        ("%slurm cache clera", "unknown value `clera` of `%slurm cache`; did you mean `clear`?"),
        ("%%sweep a in [1] --zipp\na", "unknown option `--zipp` of `%%sweep`; did you mean `--zip`?"),
        ("%%slurm map 0..3 --backend slrum\n|x: u32| x", "unknown value `slrum` of `--backend`; did you mean `slurm`?"),
        ("%%slurm run --dependency afterk --after m\n1",
         "unknown value `afterk` of `--dependency`; did you mean `afterok`?"),
    ]:
        one_line_error(kc, code, "MagicSyntaxError", evalue)


def test_an_element_or_name_that_is_not_there_says_what_is(nb):
    _, kc, _ = nb
    ok(kc, "%%slurm map 0..3 -> m3\n|x: u32| x * 2")
    for index in ["999", "3", "99999999999999999999999"]:
        one_line_error(kc, f"%slurm logs m3[{index}]", "ItemsError",
                       f"`m3` has 3 elements (indices 0..2); `m3[{index}]` is past its end")
    assert "== m3[2] (element 2) stdout ==" in texts(ok(kc, "%slurm logs m3[2]"))
    for magic in ["retry", "wait", "cancel", "load", "status"]:
        one_line_error(kc, f"%slurm {magic} m3[1]", "UnknownJob",
                       "`m3[1]` is one element of `m3`; this magic takes the whole job: `m3`")
    one_line_error(kc, "%slurm load m3x", "UnknownJob", "no job named `m3x` in this notebook; did you mean `m3`?")
    one_line_error(kc, "%slurm wait nothing_like_it", "UnknownJob",
                   "no job named `nothing_like_it` in this notebook (see `%slurm jobs`)")


def test_an_objective_of_a_struct_with_no_fields(nb):
    _, kc, _ = nb
    ok(kc, ':dep serde = { version = "1", features = ["derive"] }')
    ok(kc, "#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]\npub struct Empty;\n"
           "#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]\npub struct Bare {}")
    for body in ["Empty", "Bare {}"]:
        ty = body.split()[0]
        one_line_error(kc, f"%%sweep a in [1, 2] -> e --maximize x\n{body}", "ItemsError",
                       f"the objective `x`: `{ty}` has no fields; return a struct with a numeric field `x`, "
                       "or a number (`--maximize value`); nothing was submitted")
    assert value(kc, "40 + 2") == "42"


def test_a_cell_magic_without_a_mode_a_help_typo_a_cut_index_and_a_finished_cancel(nb):
    _, kc, _ = nb
    err = cell(kc, "%%slurm\n1").error()
    assert err["evalue"].startswith("`%%slurm` needs a mode, `map` or `run`"), err
    assert len(err["traceback"]) == 1 and "Usage" not in err["traceback"][0], err
    err = cell(kc, "%slurm help mpa").error()
    assert err["evalue"] == "no help on `mpa`; did you mean `map`?", err
    assert cell(kc, "%%slurm map 0..2 -> ended_e\n|x: u64| x").status == "ok"
    c = ok(kc, "%slurm cancel ended_e")
    assert "already ended (COMPLETED); nothing to cancel" in texts(c), texts(c)
    err = cell(kc, "%slurm logs ended_e[1").error()
    assert err["evalue"] == "`ended_e[1` has no closing `]`; for example `%slurm logs ended_e[0]`", err
