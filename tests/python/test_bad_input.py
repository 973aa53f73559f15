"""Bad input never kills or hangs the kernel: compile errors, panics, empty
and huge cells, forged and malformed messages, interrupts. Each test checks
the answer and then that the session still works."""

import json
import os
import tempfile
import threading
import time
import uuid

import zmq

from conftest import run_cell, run_interrupted


def still_works(kc):
    cell = run_cell(kc, "40 + 2")
    assert cell.status == "ok", cell.reply
    assert cell.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_compile_error_points_at_the_cell_line(kernel):
    _, kc = kernel
    cell = run_cell(kc, "let ok = 1;\nlet x: i32 = \"text\";")
    assert cell.status == "error"
    err = cell.error()
    assert err["ename"] == "CompileError"
    assert "mismatched types" in err["evalue"]
    text = "\n".join(err["traceback"])
    assert "cell:2:" in text and 'let x: i32 = "text";' in text
    assert cell.reply["content"]["ename"] == "CompileError"
    still_works(kc)


def test_panic_is_an_error_and_keeps_variables(kernel):
    _, kc = kernel
    assert run_cell(kc, "let survivor = vec![1, 2, 3];").status == "ok"
    cell = run_cell(kc, 'let v: Vec<i32> = Vec::new();\npanic!("boom {}", v.len());')
    assert cell.status == "error"
    err = cell.error()
    assert err["ename"] == "Panic"
    assert "boom 0" in err["evalue"]
    assert "panicked" not in cell.stream("stderr")
    after = run_cell(kc, "survivor.len()")
    assert after.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "3"


def test_empty_cell_is_ok(kernel):
    _, kc = kernel
    cell = run_cell(kc, "")
    assert cell.status == "ok"
    assert cell.outputs == []
    cell = run_cell(kc, "   \n\n")
    assert cell.status == "ok"


def test_one_megabyte_cell(kernel):
    _, kc = kernel
    body = "// " + "x" * 1000 + "\n"
    code = body * (1024 * 1024 // len(body)) + "7 * 6"
    assert len(code) >= 1_000_000
    cell = run_cell(kc, code, timeout=300)
    assert cell.status == "ok", cell.error()
    assert cell.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"


def _raw_shell(km):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://{km.ip}:{km.shell_port}")
    return sock


def _execute_parts(code, session):
    header = {
        "msg_id": uuid.uuid4().hex,
        "session": session,
        "username": "attacker",
        "date": "2026-01-01T00:00:00Z",
        "msg_type": "execute_request",
        "version": "5.3",
    }
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    return [json.dumps(header).encode(), b"{}", b"{}", json.dumps(content).encode()]


def test_forged_signature_is_never_executed(kernel):
    km, kc = kernel
    marker = os.path.join(tempfile.mkdtemp(), "forged")
    parts = _execute_parts(f'std::fs::write("{marker}", "pwned").unwrap();', "forger")
    sock = _raw_shell(km)
    sock.send_multipart([b"<IDS|MSG>", b"0" * 64] + parts)  # wrong HMAC
    sock.send_multipart([b"<IDS|MSG>", b""] + parts)  # missing HMAC
    time.sleep(1.0)
    still_works(kc)
    assert not os.path.exists(marker), "a message with a forged signature was executed"
    sock.close()


def test_invalid_utf8_message_is_dropped(kernel):
    km, kc = kernel
    header = {
        "msg_id": uuid.uuid4().hex, "session": "s", "username": "u", "date": "2026-01-01T00:00:00Z",
        "msg_type": "execute_request", "version": "5.3",
    }
    parts = [json.dumps(header).encode(), b"{}", b"{}", b'{"code": "\xff\xfe 1 + 1"}']
    sig = kc.session.sign(parts)  # correctly signed, unreadable content
    sock = _raw_shell(km)
    sock.send_multipart([b"<IDS|MSG>", sig] + parts)
    time.sleep(0.5)
    still_works(kc)
    sock.close()


def test_heartbeat_and_control_answer_during_a_long_cell(kernel):
    _, kc = kernel
    result = {}

    def long_cell():
        result["cell"] = run_cell(kc, "std::thread::sleep(std::time::Duration::from_secs(6)); 1")

    t = threading.Thread(target=long_cell)
    t.start()
    time.sleep(2.5)  # the cell is compiled and sleeping by now
    ctx = zmq.Context.instance()
    hb = ctx.socket(zmq.REQ)
    hb.setsockopt(zmq.LINGER, 0)
    hb.connect(f"tcp://{kc.ip}:{kc.hb_port}")
    hb.send(b"ping")
    assert hb.poll(1000), "heartbeat not answered while a cell runs"
    assert hb.recv() == b"ping"
    hb.close()
    msg = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=2)
    assert reply["msg_type"] == "kernel_info_reply"
    t.join(60)
    assert result["cell"].status == "ok"


def test_interrupt_keeps_the_variables_and_items(kernel):
    km, kc = kernel
    assert run_cell(kc, "fn double(x: i32) -> i32 { x * 2 }\nlet counter = 10u64;").status == "ok"
    cell = run_interrupted(km, kc, "loop { std::thread::sleep(std::time::Duration::from_millis(50)); }", after=3)
    assert cell.status == "error"
    err = cell.error()
    assert err["ename"] == "Interrupted"
    assert err["evalue"] == "interrupted; the session was restored to the state before this cell"
    after = run_cell(kc, "double(21) + counter as i32")
    assert after.status == "ok", after.error()
    assert after.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "52"


def test_an_interrupt_while_the_kernel_warms_up_stops_the_waiting_cell(tmp_path):
    """A cell sent right after the kernel starts waits for evcxr's warm-up;
    an interrupt then stops it before it runs (it had run to the end), and
    the next cell works."""
    from jupyter_client.manager import start_new_kernel
    from conftest import STARTUP_TIMEOUT
    marker = tmp_path / "ran"
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        code = (f'std::fs::write(r#"{marker}"#, "x").unwrap();\n'
                "std::thread::sleep(std::time::Duration::from_secs(8));")
        cell = run_interrupted(km, kc, code, after=0.5)
        assert cell.status == "error", "the cell ran"
        err = cell.error()
        assert err["ename"] == "Interrupted" and "before it started" in err["evalue"], err
        assert not marker.exists(), "the interrupted cell ran"
        after = run_cell(kc, "6 * 7")
        assert after.status == "ok", after.error()
        assert after.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_a_dep_of_a_crate_that_does_not_exist_says_so_without_cargos_progress(kernel):
    """evcxr issue-style input: `:dep` of a crate crates.io does not have.
    The error is cargo's, without its `Updating … index` line dressed as an
    error, and the kernel goes on."""
    _, kc = kernel
    c = run_cell(kc, ':dep this_crate_does_not_exist_sluice = "1"', timeout=300)
    assert c.status == "error"
    err = c.error()
    assert err["evalue"].startswith("no matching package named `this_crate_does_not_exist_sluice` found"), err
    assert "Updating" not in "\n".join(err["traceback"]), err["traceback"]
    after = run_cell(kc, "6 * 7")
    assert after.status == "ok", after.error()
