"""Shared fixtures: a real sluice kernel started by jupyter_client, and a
helper that runs one cell and collects what it published."""

import os
import queue
import threading
import time

import pytest
from jupyter_client.manager import start_new_kernel

STARTUP_TIMEOUT = 120

# Kernels here each start in their own environment, and a standby left by
# one test would only hold memory and CPU; test_standby.py turns it on.
os.environ.setdefault("SLUICE_STANDBY", "0")


class Cell:
    """What one execute_request produced."""

    def __init__(self, reply, outputs):
        self.reply = reply
        self.outputs = outputs

    @property
    def status(self):
        return self.reply["content"]["status"]

    def of_type(self, msg_type):
        return [m for m in self.outputs if m["msg_type"] == msg_type]

    def stream(self, name="stdout"):
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == name)

    def error(self):
        errs = self.of_type("error")
        return errs[0]["content"] if errs else None


def run_cell(kc, code, timeout=120, **kwargs):
    """Executes `code`, returns a Cell with the reply and every iopub message
    up to the request's idle status (busy/execute_input excluded)."""
    msg_id = kc.execute(code, **kwargs)
    reply = None
    outputs = []
    idle = False
    deadline = time.monotonic() + timeout
    while not (reply and idle):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply/idle for {code[:60]!r} within {timeout}s")
        if reply is None:
            try:
                msg = kc.get_shell_msg(timeout=min(left, 0.2))
                if msg["parent_header"].get("msg_id") == msg_id:
                    reply = msg
            except queue.Empty:
                pass
            if reply and idle:
                # The idle status came first: waiting for one more iopub
                # message here would add its whole timeout to the cell.
                break
        try:
            msg = kc.get_iopub_msg(timeout=0.05 if reply is None else min(left, 5))
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            idle = msg["content"]["execution_state"] == "idle"
            continue
        if msg["msg_type"] == "execute_input":
            continue
        outputs.append(msg)
    return Cell(reply, outputs)


def run_interrupted(km, kc, code, after, timeout=120):
    """Runs `code` on a thread, sends an interrupt `after` seconds later (the
    cell is running by then) and returns its Cell."""
    result = {}
    t = threading.Thread(target=lambda: result.update(cell=run_cell(kc, code, timeout=timeout)))
    t.start()
    time.sleep(after)
    km.interrupt_kernel()
    t.join(timeout)
    return result["cell"]


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


MAGIC_TIMEOUT = 600


def notebook_kernel(prefix):
    """A module-scoped fixture: a kernel started in a fresh directory,
    yielding (km, kc, workdir)."""

    @pytest.fixture(scope="module")
    def fixture():
        import tempfile
        from pathlib import Path
        workdir = tempfile.mkdtemp(prefix=prefix)
        km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=workdir)
        try:
            yield km, kc, Path(workdir)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)

    return fixture


def stop(km, kc):
    """Shuts a kernel down as Jupyter does (a shutdown request, then waits)."""
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def result(kc, code):
    """The text/plain result of a cell that must succeed, without quotes."""
    c = run_cell(kc, code, timeout=300)
    assert c.status == "ok", (code, c.error())
    return c.of_type("execute_result")[0]["content"]["data"]["text/plain"].strip('"')


def cell(kc, code, timeout=MAGIC_TIMEOUT):
    """Runs a cell with the magics' generous timeout."""
    return run_cell(kc, code, timeout=timeout)


def ok(kc, code):
    """Runs a cell that must succeed."""
    c = cell(kc, code)
    assert c.status == "ok", (code, c.error())
    return c


def value(kc, expr):
    """The text/plain result of an expression cell."""
    return ok(kc, expr).of_type("execute_result")[0]["content"]["data"]["text/plain"]


def texts(c):
    """Every text/plain output and stream text of a cell, one per line."""
    out = []
    for m in c.outputs:
        data = m["content"].get("data") or {}
        out.append(data.get("text/plain", m["content"].get("text", "")))
    return "\n".join(out)
