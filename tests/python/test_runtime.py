"""The session survives anything a cell does (issue 12): sluice's own
evaluation runtime, driven through jupyter_client against the real kernel.

Crashes and interrupts hand the session to the snapshot taken before the
cell (every variable keeps its value, names the cell defined are gone);
without a snapshot (a live thread, SLUICE_SNAPSHOT=0) the error says why
and lists what was lost. Output is framed apart from evcxr's protocol,
stdin reads become input requests (or end-of-file), and a cell fails only
when its own code panics uncaught."""

import os
import queue
import signal
import tempfile
import threading
import time

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, run_cell, run_interrupted

SLEEP_LOOP = "loop { std::thread::sleep(std::time::Duration::from_millis(50)); }"
BUSY_LOOP = "let mut spin = 0u64; loop { spin = std::hint::black_box(spin).wrapping_add(1); }"
SEGFAULT = "unsafe { std::ptr::write_volatile(std::hint::black_box(16usize) as *mut u8, 1) };"
RESTORED = "the session was restored to the state before this cell"


def value(kc, code):
    c = run_cell(kc, code)
    assert c.status == "ok", c.error()
    return c.of_type("execute_result")[0]["content"]["data"]["text/plain"]


def ok(kc, code):
    c = run_cell(kc, code)
    assert c.status == "ok", c.error()
    return c


def assert_untouched(kc):
    """`data` holds its value from before the crashing cell, and `fresh`
    (which that cell defined) does not exist."""
    assert value(kc, "data") == "[1, 2, 3]"
    c = run_cell(kc, "fresh")
    assert c.status == "error" and c.error()["ename"] == "CompileError", c.error()


def kernel_pid(km):
    return km.provisioner.process.pid


def children(pid):
    """(pid, state, name) of every direct child of `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(entry), fields[0], name))
    return out


def descendants(pid):
    seen = []
    todo = [pid]
    while todo:
        for child in children(todo.pop()):
            seen.append(child)
            todo.append(child[0])
    return seen


def session_processes(km):
    """The runtime's processes under the kernel (zombies included)."""
    return [p for p in descendants(kernel_pid(km)) if p[2].startswith("sluice-")]


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture(scope="module")
def session(kernel):
    km, kc = kernel
    ok(kc, "let mut data = vec![1, 2, 3];")
    return km, kc


# --- crashes: the snapshot takes over ---------------------------------------

DEEP = ("fn deep(n: u64) -> u64 {\n    let buf = [n; 64];\n    std::hint::black_box(&buf);\n"
        "    if n == 0 { 0 } else { deep(n - 1) + buf[(n % 64) as usize] }\n}\n")


@pytest.mark.parametrize("crash, cause", [
    ("std::process::abort();", "killed by SIGABRT (abort)"),
    (SEGFAULT, "killed by SIGSEGV (segmentation fault)"),
    ("println!(\"{}\", deep(u64::MAX));", "stack overflow"),
    ("std::process::exit(3);", "exited with code 3"),
    ("let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(1usize << 46));\nprintln!(\"{}\", v.capacity());",
     "out of memory (memory allocation of 70368744177664 bytes failed; aborted)"),
], ids=["abort", "sigsegv", "stack-overflow", "exit-3", "failed-allocation"])
def test_a_crash_keeps_every_variable(session, crash, cause):
    _, kc = session
    # The crash is behind a condition evcxr cannot see through, so the
    # cell's new variable is stored (were it to end normally).
    code = f"{DEEP}let fresh = 1;\ndata.push(4);\nif std::hint::black_box(true) {{\n{crash}\n}}"
    c = run_cell(kc, code)
    assert c.status == "error"
    err = c.error()
    assert err["ename"] == "ProcessDied", err
    assert err["evalue"] == f"{cause}; {RESTORED}", err
    assert c.reply["content"]["evalue"] == err["evalue"]
    assert_untouched(kc)
    assert run_cell(kc, "deep(1)").status == "error", "the crashing cell's items are gone too"


def test_sigkill_from_outside_keeps_every_variable(session):
    km, kc = session
    pid_file = os.path.join(tempfile.mkdtemp(), "pid")
    result = {}
    code = (f'let fresh = 1;\ndata.push(4);\nstd::fs::write("{pid_file}", std::process::id().to_string()).unwrap();\n'
            f'if std::hint::black_box(true) {{ {SLEEP_LOOP} }}')
    t = threading.Thread(target=lambda: result.update(cell=run_cell(kc, code)))
    t.start()
    assert wait_for(lambda: os.path.exists(pid_file) and open(pid_file).read().strip(), 60)
    pid = int(open(pid_file).read())
    assert pid in [p[0] for p in session_processes(km)], "the cell runs in the session process"
    os.kill(pid, signal.SIGKILL)
    t.join(60)
    err = result["cell"].error()
    assert err["ename"] == "ProcessDied"
    assert err["evalue"] == f"killed by SIGKILL (killed); {RESTORED}"
    assert_untouched(kc)


def test_a_session_killed_between_cells_sends_tasks_nothing_of_it():
    """A magic after the session process was killed while idle sends
    neither a variable it kept from that process nor its environment; after
    `:clear` the magics bring their crates back."""
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT,
                              cwd=tempfile.mkdtemp())
    try:
        ok(kc, 'let y: i64 = 6; unsafe { std::env::set_var("SLUICE_TEST_KILLED", "before") };')
        ok(kc, "%%slurm run -> o\ny * 2")
        os.kill(int(value(kc, "std::process::id()")), signal.SIGKILL)
        time.sleep(1)
        c = run_cell(kc, "%%slurm run -> o2\ny * 3")
        assert c.status == "error" and "`y`" in c.error()["evalue"], c.error()
        ok(kc, '%%slurm run -> o3\nstd::env::var("SLUICE_TEST_KILLED").is_err()')
        assert value(kc, "o3") == "true"
        ok(kc, ":clear")
        ok(kc, "%%slurm run -> o4\n5i64")
        assert value(kc, "o4") == "5"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# --- interrupts ------------------------------------------------------------

@pytest.mark.parametrize("loop", [SLEEP_LOOP, BUSY_LOOP], ids=["sleeping", "busy"])
def test_an_interrupt_undoes_the_cells_mutation(session, loop):
    km, kc = session
    c = run_interrupted(km, kc, f"let fresh = 1;\ndata.push(4);\nif std::hint::black_box(true) {{ {loop} }}", after=3)
    assert c.status == "error"
    err = c.error()
    assert err["ename"] == "Interrupted"
    assert err["evalue"] == f"interrupted; {RESTORED}"
    assert_untouched(kc)


def test_an_interrupt_reaches_a_cell_that_prints(session):
    km, kc = session
    c = run_interrupted(km, kc, 'data.push(4);\nloop { println!("tick"); std::thread::sleep(std::time::Duration::from_millis(20)); }',
                        after=3)
    assert c.error()["ename"] == "Interrupted"
    assert "tick\n" in c.stream()
    assert value(kc, "data") == "[1, 2, 3]"
    assert run_cell(kc, 'println!("after");').stream() == "after\n"


# --- no snapshot: the fallback says so ---------------------------------------

def test_a_live_thread_means_no_snapshot_and_the_lost_variables_are_listed():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        ok(kc, "fn helper() -> u32 { 7 }\nlet kept = 5u32;")
        ok(kc, 'std::thread::Builder::new().name("ticker".into()).spawn(|| loop {\n'
               '    std::thread::sleep(std::time::Duration::from_millis(100));\n}).unwrap();')
        c = run_interrupted(km, kc, SLEEP_LOOP, after=3)
        err = c.error()
        assert err["ename"] == "Interrupted", err
        assert "could not be restored because the session held 1 other thread (ticker)" in err["evalue"], err
        assert "a snapshot copies only one thread" in err["evalue"]
        assert err["evalue"].endswith("variables lost: kept"), err
        assert "Variables lost: kept: u32" in err["traceback"], err
        # a new process: no thread, so snapshots work again; items survived
        assert value(kc, "helper()") == "7"
        ok(kc, "let again = 1u8;")
        c = run_cell(kc, "std::process::abort();")
        assert c.error()["evalue"] == f"killed by SIGABRT (abort); {RESTORED}"
        assert value(kc, "again") == "1"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_snapshots_off_restarts_as_evcxr_does():
    env = dict(os.environ, SLUICE_SNAPSHOT="0")
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, env=env)
    try:
        ok(kc, "let kept = 5u32;")
        c = run_cell(kc, "std::process::abort();")
        err = c.error()
        assert err["ename"] == "ProcessDied"
        assert "killed by SIGABRT (abort); the session could not be restored because snapshots are off (SLUICE_SNAPSHOT=0)" in err["evalue"], err
        assert err["evalue"].endswith("variables lost: kept")
        c = run_cell(kc, "kept")
        assert c.status == "error"
        assert value(kc, "1 + 1") == "2"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


# --- processes --------------------------------------------------------------

def test_100_cells_with_20_restores_leave_no_extra_process():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        ok(kc, "let mut n = 0u32;")
        before = session_processes(km)
        assert sorted(p[2] for p in before) == ["sluice-runtime", "sluice-session"], before
        for i in range(100):
            if i % 5 == 4:
                c = run_cell(kc, "n += 1000;\nstd::process::abort();")
                assert c.error()["evalue"].endswith(RESTORED), c.error()
            else:
                ok(kc, "n += 1;")
        assert value(kc, "n") == "80"
        assert wait_for(lambda: len(session_processes(km)) == 2), session_processes(km)
        after = session_processes(km)
        assert sorted(p[2] for p in after) == ["sluice-runtime", "sluice-session"], after
        assert all(state != "Z" for _, state, _ in descendants(kernel_pid(km)))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_clear_restart_and_shutdown_leave_no_process():
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        ok(kc, "let a = 1;")
        first = {p[0] for p in session_processes(km)}
        assert len(first) == 2
        ok(kc, ":clear")
        assert wait_for(lambda: len(session_processes(km)) == 2), session_processes(km)
        second = {p[0] for p in session_processes(km)}
        assert not first & second, "the runtime was replaced"
        assert all(not os.path.exists(f"/proc/{pid}") for pid in first), "the old processes were reaped"
        assert run_cell(kc, "a").status == "error"
        ok(kc, ":restart")
        assert wait_for(lambda: len(session_processes(km)) == 2)
        third = {p[0] for p in session_processes(km)}
        assert all(not os.path.exists(f"/proc/{pid}") for pid in second)
        assert value(kc, "2 + 2") == "4"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert all(not os.path.exists(f"/proc/{pid}") for pid in third), "shutdown ended the session"


def test_restart_drops_the_variables_and_keeps_items_and_every_later_cell_runs():
    """evcxr 0.22's own `:restart` left its variables listed, and every later
    cell aborted with "Variable 'y' has gone missing"."""
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT)
    try:
        ok(kc, "let y = 5;\nlet names = vec![String::from(\"a\")];\nfn f() -> i32 { 3 }")
        before = {p[0] for p in session_processes(km)}
        c = ok(kc, ":restart")
        assert "restarted" in c.of_type("execute_result")[0]["content"]["data"]["text/plain"]
        assert wait_for(lambda: len(session_processes(km)) == 2)
        assert not before & {p[0] for p in session_processes(km)}, "a new session process"
        assert value(kc, "let z = 2;\nz + f()") == "5"
        for gone in ("y", "names"):
            c = run_cell(kc, gone)
            assert c.status == "error" and c.error()["ename"] == "CompileError", c.error()
        # Commands run before the cell's code, as in evcxr: `w` is the new
        # session's.
        assert value(kc, "let w = 1;\n:restart\nlet v = 7;\nv + w") == "8"
        assert value(kc, "w") == "1"
        c = run_cell(kc, "z")
        assert c.status == "error", "z went with the second restart"
        # A magic after a restart captures the new session's values.
        c = ok(kc, "%%slurm map 0..2 -> got\n|i: u64| i + w as u64")
        assert value(kc, "got") == "[1, 2]"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


# --- output ----------------------------------------------------------------

def test_print_without_a_newline_shows_in_its_own_cell(kernel):
    _, kc = kernel
    c = ok(kc, 'print!("a");\nprint!("b");\neprint!("c");')
    assert c.stream() == "ab"
    assert c.stream("stderr") == "c"
    c = ok(kc, 'println!("next");')
    assert c.stream() == "next\n" and c.stream("stderr") == ""
    c = ok(kc, 'print!("value follows: ");\n40 + 2')
    assert c.stream() == "value follows: "
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_carriage_return_and_flush_show_while_the_cell_runs(kernel):
    _, kc = kernel
    c = ok(kc, "use std::io::Write as _;\nfor i in 0..5 {\n    print!(\"\\r{i} of 5\");\n"
               "    std::io::stdout().flush().unwrap();\n"
               "    std::thread::sleep(std::time::Duration::from_millis(150));\n}")
    assert c.stream() == "".join(f"\r{i} of 5" for i in range(5))
    pieces = [m for m in c.of_type("stream") if m["content"]["name"] == "stdout"]
    assert len(pieces) >= 3, "each flush shows on its own, not at the cell's end"


def test_invalid_utf8_becomes_replacement_characters_and_stays_in_its_cell(kernel):
    _, kc = kernel
    c = ok(kc, 'use std::io::Write as _;\nstd::io::stdout().write_all(b"bad \\xff\\xfe end\\n").unwrap();\n'
               'std::io::stderr().write_all(b"err \\xc3\\x28\\n").unwrap();\n'
               'std::io::stdout().write_all(b"cut \\xe2\\x82").unwrap();')
    assert c.stream() == "bad \ufffd\ufffd end\ncut \ufffd"
    assert c.stream("stderr") == "err \ufffd(\n"
    c = ok(kc, 'println!("clean");\neprintln!("err too");')
    assert c.stream() == "clean\n" and c.stream("stderr") == "err too\n"
    c = run_cell(kc, 'panic!("still reported")')
    assert c.error()["ename"] == "Panic" and c.error()["evalue"] == "still reported"


def test_three_thousand_lines_keep_their_order(kernel):
    _, kc = kernel
    c = ok(kc, 'for i in 0..3000 {\n    println!("line {i}");\n}')
    assert c.stream() == "".join(f"line {i}\n" for i in range(3000))


def test_protocol_lookalikes_are_just_text(kernel):
    _, kc = kernel
    c = ok(kc, 'println!("EVCXR_EXECUTION_COMPLETE");\nprintln!("SLUICE_CLEAR_OUTPUT now");\n'
               'print!("\\u{1e}not a frame");\n7')
    assert c.stream() == "EVCXR_EXECUTION_COMPLETE\nSLUICE_CLEAR_OUTPUT now\n\x1enot a frame"
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "7"
    assert not c.of_type("clear_output")
    c = ok(kc, 'println!("EVCXR_BEGIN_CONTENT text/html");\nprintln!("<b>never closed</b>");')
    assert c.of_type("execute_result") or c.of_type("display_data")
    assert ok(kc, 'println!("fine");').stream() == "fine\n"


def test_output_between_cells_never_reaches_a_later_cell(kernel):
    _, kc = kernel
    ok(kc, 'std::thread::spawn(|| {\n    std::thread::sleep(std::time::Duration::from_millis(300));\n'
           '    println!("EVCXR_BEGIN_CONTENT text/html");\n    println!("<b>late</b>");\n    print!("partial");\n});')
    time.sleep(1.5)  # the thread printed (and ended) between the cells
    c = ok(kc, "1 + 1")
    assert c.of_type("execute_result")[0]["content"]["data"] == {"text/plain": "2"}
    assert not c.of_type("display_data")
    assert "late" not in c.stream() and "partial" not in c.stream()


# --- stdin -----------------------------------------------------------------

def run_with_input(kc, code, answer, timeout=120):
    """Runs `code` with allow_stdin, answering each input_request with `answer`."""
    result = {}
    t = threading.Thread(target=lambda: result.update(cell=run_cell(kc, code, allow_stdin=True, timeout=timeout)))
    t.start()
    requests = []
    deadline = time.monotonic() + timeout
    while t.is_alive() and time.monotonic() < deadline:
        try:
            msg = kc.get_stdin_msg(timeout=0.2)
        except queue.Empty:
            continue
        if msg["msg_type"] == "input_request":
            requests.append(msg)
            kc.input(answer)
    t.join(timeout)
    return result["cell"], requests


READ_LINE = "let mut line = String::new();\nlet n = std::io::stdin().read_line(&mut line).unwrap();\nformat!(\"{n}:{}\", line.trim().to_uppercase())"


def test_stdin_with_allow_stdin_asks_the_front_end(kernel):
    _, kc = kernel
    c, requests = run_with_input(kc, 'print!("name? ");\nuse std::io::Write as _;\nstd::io::stdout().flush().unwrap();\n'
                                 + READ_LINE, "ada")
    assert c.status == "ok", c.error()
    assert len(requests) == 1
    assert c.stream() == "name? "
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == '"4:ADA"'


def test_stdin_without_allow_stdin_is_end_of_file_at_once(kernel):
    _, kc = kernel
    started = time.monotonic()
    c = run_cell(kc, READ_LINE + ";\nlet all = std::io::read_to_string(std::io::stdin()).unwrap();\nall.len()",
                 allow_stdin=False)
    assert c.status == "ok", c.error()
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "0"
    assert time.monotonic() - started < 30
    c = run_cell(kc, READ_LINE, allow_stdin=False)
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == '"0:"'


# --- panics ----------------------------------------------------------------

def test_a_panic_points_at_the_cells_own_line(kernel):
    _, kc = kernel
    c = run_cell(kc, "let a = 1;\nif a == 1 {\n    panic!(\"at line three\");\n}")
    err = c.error()
    assert err["ename"] == "Panic" and err["evalue"] == "at line three"
    assert "  at cell:3:5" in err["traceback"], err
    assert "src/lib.rs" not in "\n".join(err["traceback"])


@pytest.mark.parametrize("code, where", [
    # evcxr starts each statement on a line of its own without its
    # indentation: the column is the cell's, not the generated line's.
    ("let x = 1;\n  panic!(\"indented\");", "cell:2:3"),
    ("let v: Vec<i32> = vec![];\n    v[3]", "cell:2:6"),
    ('let h = std::thread::spawn(|| {\n    let v: Vec<i32> = vec![];\n    v[3]\n});\nh.join().is_err()', "cell:3:6"),
], ids=["indented-statement", "indented-final-expression", "spawned-thread"])
def test_a_panic_in_an_indented_statement_keeps_the_cells_column(kernel, code, where):
    _, kc = kernel
    c = run_cell(kc, code)
    shown = "\n".join(c.error()["traceback"]) if c.error() else c.stream("stderr")
    assert f"at {where}" in shown, shown
    assert "src/lib.rs" not in shown and "generated" not in shown, shown


def test_a_crash_while_a_magic_evaluates_its_items_keeps_the_session(session):
    _, kc = session
    c = run_cell(kc, "%%slurm map (0..3).map(|i| if i == 2 { std::process::abort() } else { i })\n"
                     "|item: i32| item * 2", timeout=600)
    err = c.error()
    assert err["ename"] == "ItemsError", err
    assert "killed by SIGABRT (abort); the session was restored to the state before this cell" in err["evalue"], err
    assert "UTF-8" not in err["evalue"]
    assert_untouched(kc)
    c = run_cell(kc, '%%slurm map (0..3).map(|i| { if i == 1 { panic!("no one") }; i })\n|item: i32| item * 2',
                 timeout=600)
    err = c.error()
    assert "in the session failed: panicked: no one" in err["evalue"], err
    c = run_cell(kc, "let k: i32 = 3;", timeout=600)
    c = run_cell(kc, "%%slurm map (0..k).map(|i| { std::thread::sleep(std::time::Duration::from_secs(i)); i })\n"
                     "|item: u64| item", timeout=600)
    assert "mismatched types: expected `u64`, found `i32`" in c.error()["evalue"], c.error()


def test_a_panic_in_an_earlier_cells_function_points_at_that_cell(kernel):
    _, kc = kernel
    ok(kc, "fn checked(n: i32) -> i32 {\n    if n < 0 {\n        panic!(\"negative\");\n    }\n    n\n}")
    count = ok(kc, "1").reply["content"]["execution_count"] - 1
    c = run_cell(kc, "checked(-1)")
    assert c.error()["evalue"] == "negative"
    assert f"  at cell[{count}]:3:9" in c.error()["traceback"], c.error()


def test_caught_panics_and_joined_threads_are_values(kernel):
    _, kc = kernel
    c = ok(kc, 'std::panic::catch_unwind(|| { panic!("caught one"); }).is_err()')
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "true"
    assert "caught one" in c.stream("stderr") and "cell:1:" in c.stream("stderr")
    c = ok(kc, 'std::thread::spawn(|| panic!("joined one")).join().is_err()')
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "true"
    assert "joined one" in c.stream("stderr")


def test_a_caught_panic_kept_in_a_variable(kernel):
    _, kc = kernel
    # evcxr names the type `Result<i32, Box<dyn Any + Send>>`: the kernel
    # adds the import rustc suggests and builds the cell again.
    c = ok(kc, 'let caught = std::panic::catch_unwind(|| { if std::hint::black_box(true) { panic!("kept") }; 5 });\n'
               'caught.is_err()')
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "true"
    assert value(kc, "caught.is_err()") == "true"
    # A type no code can write (`!` is unstable): the error says what to do.
    c = run_cell(kc, 'let never = std::panic::catch_unwind(|| -> ! { panic!("outer") });')
    err = c.error()
    assert err["ename"] == "CompileError", err
    assert "evcxr keeps `never` for later cells as `Result<!," in "\n".join(err["traceback"]), err
    c = run_cell(kc, "let z = 1; z +")
    assert "evcxr keeps" not in "\n".join(c.error()["traceback"])
    assert "around the cell" not in "\n".join(c.error()["traceback"])
    # After a build that failed, panics still point at the cell's lines.
    c = ok(kc, 'std::panic::catch_unwind(|| { panic!("located"); }).is_err()')
    assert "panicked at cell:1:" in c.stream("stderr"), c.stream("stderr")
    # The error is shown, not a warning that came with it.
    c = run_cell(kc, "let _spinner = std::thread::spawn(|| loop {});\nstd::process::abort();")
    err = c.error()
    # (evcxr hands over only rustc's warning here; the error, in its own
    # code, is said in words.)
    assert err["ename"] == "CompileError", err
    shown = "\n".join(err["traceback"])
    assert "evcxr keeps `_spinner`" in shown or "the error is in the code evcxr generates" in shown, err


def test_a_detached_threads_panic_is_stderr_of_the_running_cell(kernel):
    _, kc = kernel
    c = ok(kc, 'std::thread::spawn(|| panic!("detached boom"));\n'
               'std::thread::sleep(std::time::Duration::from_millis(500));\n11')
    assert "detached boom" in c.stream("stderr")
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "11"


def test_a_panic_message_on_stderr_is_not_a_panic(kernel):
    _, kc = kernel
    c = ok(kc, 'eprintln!("thread \'main\' panicked at src/lib.rs:1:1:\\nfake");\nprintln!("EVCXR_PANIC_MESSAGE");\n5')
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "5"
    assert "fake" in c.stream("stderr")


# 0.1 s: the interrupt usually comes while evcxr still analyses the cell,
# before cargo starts; the build it starts afterwards is stopped too.
@pytest.mark.parametrize("after", [3, 0.1], ids=["during-rustc", "before-cargo"])
def test_an_interrupt_during_compilation_stops_the_build(kernel, after):
    km, kc = kernel
    import subprocess
    run_cell(kc, "let kept_over_a_build = 41;", timeout=120)
    # A constant that takes rustc minutes to evaluate keeps the build busy.
    code = ("#[allow(long_running_const_eval)]\n"
            "const BIG: u64 = { let mut i = 0u64; let mut s = 0u64; while i < 3_000_000_000 { s = s.wrapping_add(i ^ (s >> 3)); i += 1; } s };\n"
            "BIG")
    started = time.monotonic()
    c = run_interrupted(km, kc, code, after=after, timeout=120)
    assert c.status == "error", c.outputs
    assert c.error()["ename"] == "Interrupted", c.error()
    assert "nothing of it ran" in c.error()["evalue"] or "before the cell ran" in c.error()["evalue"], c.error()
    assert time.monotonic() - started < 60, "the interrupt waited for the build"
    left = subprocess.run(["pgrep", "-P", str(km.provisioner.process.pid), "-x", "cargo"],
                          capture_output=True, text=True).stdout
    assert not left.strip(), left
    c = run_cell(kc, "kept_over_a_build + 1", timeout=120)
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "42"


def test_programs_a_cell_starts_get_termination_signals(kernel):
    _, kc = kernel
    c = run_cell(kc, 'let o = std::process::Command::new("timeout").args(["1", "sleep", "30"]).status().unwrap(); o.code()', timeout=120)
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "Some(124)", c.outputs
