"""Items-only cells (see the kernel's engine/deferred_items.rs): checked when
they run, built with the next cell. Everything a user can see must be as if
each cell had been built on its own: values, errors on the right cell and
lines, impls filed as evcxr files them, completions, commands and magics
in between, panics; a build-only error is reported, never swallowed."""

import os

from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, run_cell, run_interrupted


def ok(kc, code):
    c = run_cell(kc, code)
    assert c.status == "ok", (code, c.error())
    return c


def value(kc, code):
    res = ok(kc, code).of_type("execute_result")
    assert res, f"no result for {code!r}"
    return res[0]["content"]["data"]["text/plain"]


def traceback(c):
    return "\n".join(c.error()["traceback"])


# A constant that fails only when a full build monomorphizes `g::<u8>`:
# `cargo check` accepts it, `cargo build` does not.
BUILD_ONLY_ERROR = """pub struct Check<const N: usize>;
impl<const N: usize> Check<N> { pub const OK: () = assert!(N > 0, "N must be positive"); }
pub fn g<T>() { let _ = Check::<0>::OK; }
pub fn zero() { g::<u8>() }"""


def test_items_then_use_give_the_same_values(kernel):
    _, kc = kernel
    c = ok(kc, "#[derive(Debug, Clone)]\npub struct Point { pub x: i32, pub y: i32 }")
    assert not c.of_type("execute_result") and not c.of_type("error")
    ok(kc, "impl Point { pub fn norm1(&self) -> i32 { self.x.abs() + self.y.abs() } }")
    ok(kc, "pub fn origin() -> Point { Point { x: 0, y: 0 } }\nconst LIMIT: i32 = 10;")
    assert value(kc, "let p = Point { x: 3, y: -4 };\np.norm1() + origin().norm1() + LIMIT") == "17"
    assert value(kc, "p.clone()") == "Point { x: 3, y: -4 }", "the variable and the items stay"


def test_an_error_in_an_items_cell_is_reported_on_its_own_lines(kernel):
    _, kc = kernel
    ok(kc, "pub struct Waiting { pub v: u8 }")
    c = run_cell(kc, "pub struct Fine;\n\npub fn broken() -> u8 { \"not a number\" }")
    assert c.status == "error"
    err = c.error()
    assert err["ename"] == "CompileError", err
    tb = traceback(c)
    assert "mismatched types" in tb, tb
    assert "pub fn broken() -> u8" in tb, "the cell's own line is shown"
    assert "3 |" in tb or ":3:" in tb, f"line 3 of the cell: {tb}"
    # the failed cell defined nothing; the items waiting before it are intact
    assert run_cell(kc, "let f = Fine;").status == "error"
    assert value(kc, "Waiting { v: 7 }.v") == "7"


def test_an_error_in_the_next_cell_keeps_the_items_waiting(kernel):
    _, kc = kernel
    ok(kc, "pub fn answer() -> i64 { 42 }")
    c = run_cell(kc, "let wrong: i64 = \"text\";\nwrong")
    assert c.status == "error"
    tb = traceback(c)
    assert "let wrong: i64" in tb and "pub fn answer" not in tb, tb
    assert value(kc, "answer()") == "42"


def test_an_error_through_a_generic_bound_is_the_calls_and_the_items_stay(kernel):
    _, kc = kernel
    ok(kc, "pub fn framed<T: std::fmt::Display>(t: T) -> String { format!(\"[{t}]\") }")
    ok(kc, "pub struct Spot { pub x: i32 }")
    c = run_cell(kc, "framed(Spot { x: 1 })")
    err = c.error()
    # rustc's error at the call, on this cell's line; not a child `help:`
    # at the struct blaming the (correct) items cell.
    assert err["ename"] == "CompileError", err
    assert err["evalue"] == "`Spot` doesn't implement `std::fmt::Display`", err
    tb = traceback(c)
    assert tb.startswith("error[E0277]: `Spot` doesn't implement `std::fmt::Display`\n --> cell:1:8\n"), tb
    assert ("1 | framed(Spot { x: 1 })\n"
            "  | ------ ^^^^^^^^^^^^^ unsatisfied trait bound\n"
            "  | |\n"
            "  | required by a bound introduced by this call") in tb, tb
    # rustc's help at the struct and note at the bound, each on the line
    # of the cell that defined it.
    assert "help: the trait `std::fmt::Display` is not implemented for `Spot`\n --> cell[" in tb, tb
    assert "| pub struct Spot { pub x: i32 }" in tb, tb
    assert "note: required by a bound in `framed`\n --> cell[" in tb, tb
    assert "| pub fn framed<T: std::fmt::Display>(t: T)" in tb, tb
    assert "cell [" not in tb and "evcxr generates" not in tb, tb
    # Both earlier cells' items are defined.
    assert value(kc, "impl std::fmt::Display for Spot {\n"
                     "    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, \"{}\", self.x) }\n"
                     "}\nframed(Spot { x: 2 })") == '"[2]"'


def test_errors_at_a_call_of_another_cells_function_are_the_calls(kernel):
    _, kc = kernel
    ok(kc, "pub fn takes2(a: i32, b: i32) -> i32 { a + b }")
    tb = traceback(run_cell(kc, "takes2(1)"))
    assert tb.startswith("error[E0061]: this function takes 2 arguments but 1 argument was supplied\n"
                         " --> cell:1:1\n"), tb
    assert "1 | takes2(1)\n  | ^^^^^^--- argument #2 of type `i32` is missing\n" in tb, tb
    assert "error: this function" not in tb.split("\n", 1)[1], "the header once"
    assert "help: provide the argument" in tb, tb
    tb = traceback(run_cell(kc, "takes2(1u8, 2)"))
    assert tb.startswith("error[E0308]: mismatched types\n --> cell:1:8\n"), tb
    assert value(kc, "takes2(2, 3)") == "5"


def test_an_error_a_call_makes_inside_waiting_items_is_the_calls(kernel):
    _, kc = kernel
    # Type-checks alone and builds alone; only `positive::<0>` fails.
    ok(kc, "pub struct Positive<const N: usize>;\n"
           "impl<const N: usize> Positive<N> { pub const OK: () = assert!(N > 0, \"N must be positive\"); }\n"
           "pub fn positive<const N: usize>() -> usize { let _ = Positive::<N>::OK; N }")
    c = run_cell(kc, "positive::<0>()")
    err = c.error()
    assert err["ename"] == "CompileError", err
    tb = traceback(c)
    assert "N must be positive" in tb, tb
    assert "the above error was encountered while instantiating `fn positive::<0>`" in tb, tb
    assert "cell [" not in tb, tb
    assert value(kc, "positive::<3>()") == "3"


def test_uses_wait_with_the_items(kernel):
    _, kc = kernel
    ok(kc, "use std::collections::HashMap;\nuse std::fmt::{self, Display};\n"
           "pub struct Index(pub HashMap<String, u32>);\n"
           "impl Display for Index { fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result { write!(f, \"{} keys\", self.0.len()) } }")
    assert value(kc, "let mut m = HashMap::new();\nm.insert(\"a\".to_string(), 1);\nIndex(m).to_string()") == '"1 keys"'
    c = run_cell(kc, "use std::nope::Thing;\npub struct Uses(Thing);")
    assert c.status == "error" and "use std::nope::Thing" in traceback(c), c.error()
    ok(kc, "use std::collections::HashMap;")  # already defined: built at once, still fine
    assert value(kc, "HashMap::<u8, u8>::new().len()") == "0"


def test_an_impl_that_begins_a_running_cell_after_a_waiting_struct(kernel):
    _, kc = kernel
    ok(kc, "pub struct Meters(pub f64);")
    assert value(kc, "impl Meters { pub fn double(&self) -> f64 { self.0 * 2.0 } }\nMeters(1.5).double()") == "3.0"
    # redefining the struct keeps that impl, as evcxr does cell by cell
    ok(kc, "pub struct Meters(pub f64, pub u8);")
    assert value(kc, "Meters(2.0, 0).double()") == "4.0"


def test_completion_and_inspection_see_waiting_items(kernel):
    _, kc = kernel
    ok(kc, "pub struct Deferred { pub field_one: i32, pub field_two: i32 }")
    code = "let d = Deferred { field_one: 1, field_two: 2 };\nd.field_o"
    kc.complete(code, len(code))
    reply = kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok"
    assert "field_one" in reply["content"]["matches"], reply["content"]
    assert reply["content"]["cursor_start"] == len(code) - len("field_o")
    assert value(kc, code.replace("d.field_o", "d.field_one + d.field_two")) == "3"


def test_commands_and_panics_between_items(kernel):
    _, kc = kernel
    ok(kc, "pub fn helper() -> u32 { 41 }")
    ok(kc, ":fmt {:?}")
    assert value(kc, "helper() + 1") == "42"
    ok(kc, "pub fn other() -> u32 { 1 }")
    c = run_cell(kc, 'panic!("boom")')
    assert c.status == "error" and "boom" in c.error()["evalue"]
    assert value(kc, "other() + helper()") == "42", "the panicking cell's build kept the items"


def test_an_interrupted_cell_keeps_the_waiting_items(kernel):
    km, kc = kernel
    ok(kc, "pub fn still_here() -> u8 { 9 }")
    c = run_interrupted(km, kc, "loop { std::thread::sleep(std::time::Duration::from_millis(50)); }", after=3)
    assert c.status == "error"
    assert c.error()["ename"] == "Interrupted", c.error()
    assert value(kc, "still_here()") == "9"


def test_a_magic_cell_sees_waiting_items(kernel, tmp_path):
    _, kc = kernel
    ok(kc, "pub fn triple(x: i64) -> i64 { 3 * x }")
    c = run_cell(kc, "%%slurm map 0..4 -> tripled\n|x: i64| triple(x)")
    assert c.status == "ok", c.error()
    ok(kc, "%slurm wait tripled")
    assert value(kc, "tripled.iter().sum::<i64>()") == "18"


def test_a_build_only_error_is_reported_at_the_next_cell_and_clears():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        ok(kc, BUILD_ONLY_ERROR)  # type-checks: it waits
        c = run_cell(kc, "1 + 1")
        assert c.status == "error"
        err = c.error()
        assert err["ename"] == "DeferredItemsError", err
        tb = traceback(c)
        assert "cell [1]" in tb and "N must be positive" in tb, tb
        # the items are dropped: later cells work, and do not see them
        assert value(kc, "2 + 2") == "4"
        assert run_cell(kc, "zero()").status == "error"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_turned_off_the_items_cell_is_built_at_once():
    os.environ["SLUICE_DEFER_ITEMS"] = "0"
    try:
        km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    finally:
        del os.environ["SLUICE_DEFER_ITEMS"]
    try:
        c = run_cell(kc, BUILD_ONLY_ERROR)
        assert c.status == "error" and c.error()["ename"] == "CompileError", c.error()
        assert "N must be positive" in traceback(c)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def matches(kc, code):
    kc.complete(code, len(code))
    reply = kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok"
    return reply["content"]["matches"]


def test_completion_offers_no_private_std_methods(kernel):
    _, kc = kernel
    ok(kc, "let mut s = String::new(); let mut v: Vec<u8> = Vec::new(); "
           "let m: std::collections::HashMap<u8, u8> = std::collections::HashMap::new();")
    assert matches(kc, "s.push_st") == ["push_str"]
    # Private fields too (HashMap's `base`, String's `vec`).
    assert "base" not in matches(kc, "m.ba")
    assert "vec" not in matches(kc, "s.ve")
    got = matches(kc, "v.extend_")
    assert "extend_from_slice" in got and "extend_from_within" in got, got
    assert not {"extend_with", "extend_desugared", "extend_trusted"} & set(got), got
    # A method of the notebook's own with a name std keeps private is offered.
    ok(kc, "pub struct Bag(Vec<u8>);\nimpl Bag { pub fn extend_with(&mut self, n: u8) { self.0.push(n) } }")
    ok(kc, "let mut bag = Bag(vec![]);")
    assert "extend_with" in matches(kc, "bag.extend_"), matches(kc, "bag.extend_")
