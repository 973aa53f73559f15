"""Results of expression cells, now compiled once (see the kernel's
engine/fast_display.rs): the same text evcxr shows, rich output of types
with their own `evcxr_display`, `:fmt` and `:types` followed, and types
without Debug still a clear error."""

from conftest import run_cell


def result(kc, code):
    c = run_cell(kc, code)
    assert c.status == "ok", c.error()
    res = c.of_type("execute_result")
    return res[0]["content"]["data"] if res else None


def test_debug_text_as_evcxr_shows_it(kernel):
    _, kc = kernel
    assert result(kc, "1 + 1")["text/plain"] == "2"
    assert result(kc, '"s"')["text/plain"] == '"s"'
    assert result(kc, "let v = vec![1, 2]; v")["text/plain"] == "[1, 2]"
    assert result(kc, "v")["text/plain"] == "[1, 2]", "the variable is still there"


def test_own_evcxr_display_still_wins(kernel):
    _, kc = kernel
    run_cell(kc, "#[derive(Debug)] pub struct Rich(pub i32);\n"
                 "impl Rich { pub fn evcxr_display(&self) { println!(\"EVCXR_BEGIN_CONTENT text/html\\n<b>{}</b>\\nEVCXR_END_CONTENT\", self.0); } }")
    c = run_cell(kc, "Rich(7)")
    assert c.status == "ok", c.error()
    shown = [m["content"]["data"] for m in c.outputs if m["msg_type"] in ("display_data", "execute_result")]
    assert shown == [{"text/html": "<b>7</b>"}], shown


def test_fmt_and_types_are_followed(kernel):
    _, kc = kernel
    assert run_cell(kc, ":fmt {:#?}").status == "ok"
    assert result(kc, "vec![1, 2]")["text/plain"] == "[\n    1,\n    2,\n]"
    assert run_cell(kc, ":fmt").status == "ok"
    assert result(kc, "vec![1, 2]")["text/plain"] == "[1, 2]"
    assert run_cell(kc, ":types").status == "ok"
    assert result(kc, "3u8")["text/plain"] == ": u8 = 3"
    assert run_cell(kc, ":types").status == "ok"
    assert result(kc, "3u8")["text/plain"] == "3"


def test_a_type_without_debug_is_still_an_error(kernel):
    _, kc = kernel
    run_cell(kc, "pub struct Opaque;")
    c = run_cell(kc, "Opaque")
    assert c.status == "error"
    assert "Debug" in "\n".join(c.error()["traceback"]), c.error()
