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


def test_captures_and_items_from_the_session_together(nb):
    """A closure that captures a variable, over an ITEMS expression: the
    session writes both (one evaluation), and a failure names its part."""
    _, kc, _ = nb
    ok(kc, "let factor: u64 = 3; let base: Vec<u64> = vec![1, 2, 3];\n"
           "struct NoSerde(u64);\nlet opaque = NoSerde(4);")
    ok(kc, "%%slurm map base.iter().map(|b| b + 1) -> both\n|x: u64| x * factor")
    assert value(kc, "both") == "[6, 9, 12]"
    # The capture cannot be sent: the error names the variable, not the items.
    c = cell(kc, "%%slurm map base.iter().copied() -> bad_capture\n|x: u64| x * opaque.0")
    assert c.status == "error", c.error()
    assert "`opaque`" in c.error()["evalue"] and "Serialize" in c.error()["evalue"], c.error()
    # The items cannot be sent: the error names the items.
    c = cell(kc, "%%slurm map vec![NoSerde(1)] -> bad_items\n|x: u64| x * factor")
    assert c.status == "error", c.error()
    assert "vec![NoSerde(1)]" in c.error()["evalue"] and "serde::Serialize" in c.error()["evalue"], c.error()
    # The items panic after the captures were written: the items are blamed.
    c = cell(kc, "%%slurm map base.iter().map(|b| if *b == 2 { panic!(\"no two\") } else { *b }) -> bad_run\n|x: u64| x * factor")
    assert c.status == "error" and c.error()["ename"] == "ItemsError", c.error()
    assert "evaluating ITEMS" in c.error()["evalue"], c.error()
    assert value(kc, "factor + base.len() as u64") == "6"


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
    ("Ok::<i32, String>(5)", "Result<i32, String>", "total.clone().unwrap() + 1", "6"),
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
    ("%%slurm run -> s\n\"hello\"", "CompileError", "String for &str"),
    ("%%slurm run -> w: u8\n300u32", "CompileError", "mismatched types"),
    ("%%slurm run -> nope: NoSuchType\n1", "CompileError", "NoSuchType"),
    # A result whose Serialize and Deserialize disagree fails its item, with the reason.
    ("%%slurm run -> lossy\nstd::time::SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(1)", "TaskFailed", "cannot"),
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


def check_values_cross_exactly(kc):
    """Items, captured variables and results that JSON cannot hold (NaN,
    infinities, tuple map keys, Some(None)) or that must keep every bit
    (-0.0, 0.1 + 0.2, subnormals, u64::MAX, i128, u128) cross exactly.
    Used on both backends (test_slurm.py calls it too)."""
    ok(kc, "let odd: Vec<f64> = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.1 + 0.2, "
           "5e-324, 2.2250738585072011e-308, f64::MAX];")
    c = ok(kc, "%%slurm map odd.iter().cloned() -> back\n|x: f64| -> (u64, f64) { (x.to_bits(), x) }")
    assert "bound `back: Vec<(u64, f64)>`" in texts(c), texts(c)
    assert value(kc, "back.iter().zip(&odd).all(|((b, y), x)| *b == x.to_bits() && y.to_bits() == x.to_bits())") == "true"
    c = ok(kc, "%%slurm run -> pairs\n"
               "{ let mut m = std::collections::HashMap::new(); m.insert((1u64, 2u64), 3u64); m.insert((u64::MAX, 0), 4); m }")
    assert "bound `pairs: std::collections::HashMap<(u64, u64), u64>`" in texts(c), texts(c)
    assert value(kc, "(pairs[&(1, 2)], pairs[&(u64::MAX, 0)], pairs.len())") == "(3, 4, 2)"
    ok(kc, "%%slurm run -> wide\n(u64::MAX, i128::MIN, u128::MAX, Some(None::<u8>), -0.0f64, (f64::NAN, 1.5f32))")
    assert value(kc, "wide.0 == u64::MAX && wide.1 == i128::MIN && wide.2 == u128::MAX && wide.3 == Some(None) "
                     "&& wide.4.to_bits() == (-0.0f64).to_bits() && wide.5.0.is_nan() && wide.5.1 == 1.5") == "true"
    # Items that are maps with tuple keys, and a captured NaN.
    ok(kc, "let grids: Vec<std::collections::HashMap<(u8, u8), f64>> = "
           "vec![[((0, 0), 1.0), ((1, 2), f64::INFINITY)].into_iter().collect(), std::collections::HashMap::new()];\n"
           "let missing = f64::NAN;")
    ok(kc, "%%slurm map grids.iter() -> sizes\n"
           "|g: std::collections::HashMap<(u8, u8), f64>| -> (usize, bool, bool) "
           "{ (g.len(), g.get(&(1, 2)).is_some_and(|v| v.is_infinite()), missing.is_nan()) }")
    assert value(kc, "sizes") == "[(2, true, true), (0, false, true)]"
    # A NaN nested in a run job's result that feeds a later job.
    ok(kc, "%%slurm map 0..3 -> losses\n|x: u32| -> Option<f64> { if x == 1 { Some(f64::NAN) } else if x == 2 { None } else { Some(0.5) } }")
    assert value(kc, "(losses[0], losses[1].map(f64::is_nan), losses[2])") == "(Some(0.5), Some(true), None)"
    ok(kc, "%%slurm run -> nan_count\nlosses.iter().filter(|l| l.is_some_and(f64::is_nan)).count()")
    assert value(kc, "nan_count") == "1"
    # Sweep VALUES that JSON cannot hold: NaN, infinities, -0.0, i128.
    ok(kc, "let odd_xs: Vec<f64> = vec![f64::NAN, f64::INFINITY, -0.0];")
    ok(kc, "%%sweep x in odd_xs -> odd_sweep\nx.to_bits()")
    assert value(kc, "(odd_sweep.len(), odd_sweep.iter().all(|(p, b)| p.0.to_bits() == *b))") == "(3, true)"
    ok(kc, "%%sweep b in [i128::MIN, 5] -> wides\nb / 2")
    assert value(kc, "wides.iter().any(|(p, r)| p.0 == i128::MIN && *r == i128::MIN / 2)") == "true"


def test_values_cross_exactly(nb):
    _, kc, _ = nb
    check_values_cross_exactly(kc)


def test_endless_items_stop_at_the_cap(nb):
    _, kc, workdir = nb
    c = cell(kc, "%%slurm map std::iter::repeat(1u8) -> endless\n|x: u8| x")
    assert c.status == "error" and c.error()["ename"] == "ItemsError", c.error()
    assert "more than 10000000 items" in c.error()["evalue"], c.error()
    assert ".take(n)" in c.error()["evalue"]
    assert value(kc, "1 + 1") == "2"


def test_a_cell_ending_in_unit_shows_its_text_and_no_value(nb):
    # `print!` without `;` nor a newline: the text, and no `()` after it.
    _, kc, _ = nb
    c = ok(kc, 'print!("no newline")')
    assert c.stream() == "no newline", c.outputs
    assert not c.of_type("execute_result"), c.outputs
    c = ok(kc, "let mut pushed = vec![1];\npushed.push(2)")
    assert not c.of_type("execute_result"), c.outputs
    assert value(kc, "((), pushed.len())") == "((), 2)"
