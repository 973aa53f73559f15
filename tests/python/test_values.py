"""Rust values in the magics, through the real kernel: ITEMS and sweep
VALUES are Rust expressions evaluated in the session, and a result is bound
with the type a person would write (std collections, ranges, nested ones)."""

import pytest

from conftest import cell, notebook_kernel, ok, texts, value

nb = notebook_kernel("sluice-values-")


@pytest.mark.parametrize("items, expected", [
    ("0..n", "[0, 10, 20, 30, 40]"),
    ("(0..n).step_by(2)", "[0, 20, 40]"),
    ("data.iter().filter(|d| **d % 2 == 1).cloned()", "[10, 30, 50]"),
    ("&data[..2]", "[10, 20]"),
    ("vec![a, b]", "[70, 80]"),
    ("data", "[10, 20, 30, 40, 50]"),
])
def test_items_are_rust_expressions_of_the_notebook(nb, items, expected):
    _, kc, _ = nb
    ok(kc, "let n: u64 = 5; let data: Vec<u64> = vec![1, 2, 3, 4, 5]; let a: u64 = 7; let b: u64 = 8;")
    c = ok(kc, f"%%slurm map {items} -> tens\nfn f(x: u64) -> u64 {{ x * 10 }}")
    assert "bound `tens: Vec<u64>`" in texts(c)
    assert value(kc, "tens") == expected
    # The variables the expression borrowed are still there.
    assert value(kc, "data.len()") == "5"


def test_items_that_do_not_evaluate_say_why(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map (0..3).map(|i| i * undefined_thing)\nfn f(x: u64) -> u64 { x }")
    assert c.status == "error" and c.error()["ename"] == "ItemsError", c.error()
    assert "undefined_thing" in c.error()["evalue"] + "\n".join(c.error()["traceback"])
    assert value(kc, "1 + 1") == "2"


@pytest.mark.parametrize("body, shape, check, expected", [
    ("let mut m = std::collections::BTreeMap::new(); m.insert(\"a\".to_string(), 1usize); m.insert(\"b\".to_string(), 2); m",
     "std::collections::BTreeMap<String, usize>", "total.values().sum::<usize>()", "3"),
    ("[3u8, 1, 3].into_iter().collect::<std::collections::HashSet<u8>>()",
     "std::collections::HashSet<u8>", "{ let mut v: Vec<_> = total.into_iter().collect(); v.sort(); v }", "[1, 3]"),
    ("std::collections::VecDeque::from(vec![(1i32, 2.5f64)])",
     "std::collections::VecDeque<(i32, f64)>", "total[0].1", "2.5"),
    ("2u64..5", "std::ops::Range<u64>", "total.end - total.start", "3"),
    ("vec![Some(std::collections::BTreeMap::from([(1u8, vec![\"x\".to_string()])])), None]",
     "Vec<Option<std::collections::BTreeMap<u8, Vec<String>>>>", "total.len()", "2"),
])
def test_run_results_are_bound_with_the_type_a_person_writes(nb, body, shape, check, expected):
    _, kc, _ = nb
    c = ok(kc, f"%%slurm run -> total\n{body}")
    assert f"bound `total: {shape}`" in texts(c), texts(c)
    assert value(kc, check) == expected


def test_sweep_values_are_rust_expressions(nb):
    _, kc, _ = nb
    ok(kc, "let lrs: Vec<f32> = vec![0.5, 0.25]; let base: f64 = 2.0; let k: usize = 3;")
    c = ok(kc, "%%sweep lr in lrs, x in [base, base * 10.0], n in 0..k -> grid --maximize value\n"
               "(lr as f64) * x + n as f64")
    t = texts(c)
    assert "bound `grid: Vec<((f32, f64, usize,), f64)>` (12 of 12 configurations)" in t, t
    assert value(kc, "grid_best.0") == "(0.5, 20.0, 2)"
    assert value(kc, "lrs.len()") == "2"


def test_names_rust_cannot_bind_are_refused_and_raw_names_bind(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm run -> fn\n1u8")
    assert c.status == "error" and c.error()["ename"] == "MagicSyntaxError", c.error()
    assert "r#fn" in c.error()["evalue"]
    c = cell(kc, "%%sweep self in [1, 2]\nself")
    assert c.status == "error" and "keyword" in c.error()["evalue"], c.error()
    c = ok(kc, "%%slurm run -> r#fn\n41u8 + 1")
    assert "bound `r#fn: u8`" in texts(c), texts(c)
    assert value(kc, "r#fn") == "42"


@pytest.mark.parametrize("code, ename, needle", [
    # A result the notebook cannot hold is refused in the magic cell itself.
    ("%%slurm run -> okres\nOk::<i32, String>(5)", "BindError", "cannot be bound as `Result<i32, String>`"),
    ("%%slurm run -> s\n\"hello\"", "CompileError", "String, not &str"),
    ("%%slurm run -> w: u8\n300u32", "CompileError", "mismatched types"),
    ("%%slurm run -> nope: NoSuchType\n1", "CompileError", "NoSuchType"),
    # A value that would not read back fails its item, with the reason.
    ("%%slurm map 0..2 -> nn\nfn f(x: i32) -> f64 { if x == 0 { f64::NAN } else { 1.0 } }", "TaskFailed", "NaN"),
])
def test_results_that_cannot_be_bound_are_never_announced_as_bound(nb, code, ename, needle):
    _, kc, _ = nb
    c = cell(kc, code)
    assert c.status == "error", texts(c)
    err = c.error()
    assert err["ename"] == ename, err
    assert needle in err["evalue"] + "\n".join(err["traceback"]), err
    assert "bound `" not in texts(c)
    # The next cell runs as written: no bind waits for it.
    assert value(kc, "1 + 1") == "2"


def test_a_typed_arrow_may_hold_spaces(nb):
    _, kc, _ = nb
    ok(kc, ":dep serde = { version = \"1\", features = [\"derive\"] }")
    c = ok(kc, "%%slurm run -> r: Result<i32, String>\nOk(7)")
    assert "bound `r: Result<i32, String>`" in texts(c), texts(c)
    assert value(kc, "r") == "Ok(7)"
