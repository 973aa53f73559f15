"""evcxr's compile cache joins the session at the first `:dep`, not before:
cells of a notebook without dependencies do not pay for its rustc wrapper.
In a kept session (the default, kernel/src/kept_session.rs) it stays off:
the kept build directory already holds the dependencies, and evcxr's cache
would restore dep-info naming another directory's files."""

import os

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, run_cell


def cache_limit(kc):
    c = run_cell(kc, ":cache")
    assert c.status == "ok", c.error()
    text = "".join((m["content"].get("data") or {}).get("text/plain", "") for m in c.outputs)
    return text.strip().splitlines()[-1]


@pytest.fixture(params=["not kept", "kept"])
def session(request):
    env = dict(os.environ)
    env.pop("EVCXR_TMPDIR", None)
    if request.param == "not kept":
        env["SLUICE_KEEP_SESSION"] = "0"
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, env=env)
    try:
        yield request.param, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_cache_turns_on_at_the_first_dep_unless_the_session_is_kept(session):
    kind, kc = session
    assert run_cell(kc, "1 + 1").status == "ok"
    assert cache_limit(kc) == "Size limit: 0 MiB"
    c = run_cell(kc, ':dep itoa = "1"', timeout=600)
    assert c.status == "ok", c.error()
    want = "Size limit: 500 MiB" if kind == "not kept" else "Size limit: 0 MiB"
    assert cache_limit(kc) == want
    c = run_cell(kc, "itoa::Buffer::new().format(42u32).to_string()")
    assert c.status == "ok", c.error()


def test_a_first_dep_cell_that_goes_on_with_code(session):
    # The magics' crates join the user's first `:dep` cell; they go before
    # its Rust code, where evcxr reads commands.
    _, kc = session
    c = run_cell(kc, ':dep itoa = "1"\nlet kept_after_dep = 41;', timeout=600)
    assert c.status == "ok", c.error()
    c = run_cell(kc, "kept_after_dep + 1")
    assert c.status == "ok", c.error()
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"
