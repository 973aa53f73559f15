"""evcxr's compile cache joins the session at the first `:dep`, not before:
cells of a notebook without dependencies do not pay for its rustc wrapper."""

from conftest import run_cell


def cache_limit(kc):
    c = run_cell(kc, ":cache")
    assert c.status == "ok", c.error()
    text = "".join((m["content"].get("data") or {}).get("text/plain", "") for m in c.outputs)
    return text.strip().splitlines()[-1]


def test_cache_turns_on_at_the_first_dep(kernel):
    _, kc = kernel
    assert run_cell(kc, "1 + 1").status == "ok"
    assert cache_limit(kc) == "Size limit: 0 MiB"
    c = run_cell(kc, ':dep itoa = "1"', timeout=600)
    assert c.status == "ok", c.error()
    assert cache_limit(kc) == "Size limit: 500 MiB"
    c = run_cell(kc, "itoa::Buffer::new().format(42u32).to_string()")
    assert c.status == "ok", c.error()
