"""The Slurm backend against a real one-node cluster (install/slurm-local.sh)
and a real sshd on 127.0.0.1 (install/sshd-local.sh), both started by
tests/run.sh: the demo notebooks run unchanged with SLUICE_BACKEND=slurm, on
the login node and over SSH, with the same outputs as on local; failures,
limits, cancellation, a kernel restart and a dropped SSH connection map to
what the notebook shows; host keys are checked; injection never runs."""

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT
from test_magics import cell, texts, value
from test_semantics import check_retries_rerun_only_failed_elements
from test_values import check_values_cross_exactly
from test_notebooks import (check_fan_out_fan_in, check_parameter_sweep, check_pipeline, code_cells,
                            execute_notebook)

REPO = Path(__file__).resolve().parents[2]
SSHD_STATE = REPO / "install" / "state" / "sshd"
TIMEOUT = 600


def slurm_env():
    """The environment tests/run.sh exported; missing means the cluster was
    not started, which is a failure, never a skip."""
    conf = os.environ.get("SLURM_CONF")
    if not conf or not Path(conf).exists():
        pytest.fail("SLURM_CONF is not set: run the suite with tests/run.sh, which starts install/slurm-local.sh")
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    if out.returncode != 0 or "idle" not in out.stdout and "mix" not in out.stdout and "alloc" not in out.stdout:
        pytest.fail(f"the local Slurm cluster is not up: {out.stdout} {out.stderr}")
    return dict(os.environ, SLUICE_BACKEND="slurm")


def ssh_env():
    """SLUICE_HOST, SLUICE_IDENTITY, SLUICE_KNOWN_HOSTS from the env.sh that
    install/sshd-local.sh wrote (tests/run.sh says where)."""
    env = slurm_env()
    path = os.environ.get("SLUICE_TEST_SSH_ENV")
    if not path or not Path(path).exists():
        pytest.fail("SLUICE_TEST_SSH_ENV is not set: run the suite with tests/run.sh, which starts install/sshd-local.sh")
    for line in Path(path).read_text().splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            env[k] = v
    for k in ("SLUICE_HOST", "SLUICE_IDENTITY", "SLUICE_KNOWN_HOSTS"):
        if not env.get(k):
            pytest.fail(f"{k} is missing from {path}")
    return env


def login_env():
    env = slurm_env()
    for k in ("SLUICE_HOST", "SLUICE_IDENTITY", "SLUICE_KNOWN_HOSTS"):
        env.pop(k, None)
    return env


def sacct_names(wanted=()):
    """Job names in Slurm's accounting; records reach slurmdbd a moment after
    a job ends, so wait (bounded) for the wanted ones."""
    deadline = time.monotonic() + 60
    while True:
        out = subprocess.run(["sacct", "-n", "-X", "-P", "-S", "now-1hour", "-o", "JobName"],
                             capture_output=True, text=True, check=True)
        names = set(out.stdout.split())
        if set(wanted) <= names or time.monotonic() > deadline:
            return names
        time.sleep(1)


def run_notebook(name, tmp_path, env):
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        return code_cells(execute_notebook(name, tmp_path))
    finally:
        os.environ.clear()
        os.environ.update(old)


@pytest.mark.parametrize("via", ["login-node", "ssh"])
def test_fan_out_fan_in_notebook_on_slurm(tmp_path, via):
    env = login_env() if via == "login-node" else ssh_env()
    check_fan_out_fan_in(run_notebook("fan_out_fan_in.ipynb", tmp_path, env))
    # It really went through Slurm: the arrays are in its accounting.
    assert {"chunk_results", "merged"} <= sacct_names({"chunk_results", "merged"})
    ledger = tmp_path / ".sluice" / "ledger.sqlite"
    import sqlite3
    rows = sqlite3.connect(ledger).execute(
        "SELECT j.name, s.host, s.remote_dir FROM jobs j JOIN slurm_arrays s ON s.job = j.id").fetchall()
    assert {r[0] for r in rows} == {"chunk_results", "merged"}
    if via == "ssh":
        # Files were staged into the remote workdir and fetched back.
        assert all(r[1].startswith("ssh://") and ".sluice-remote" in r[2] for r in rows)
        assert all(Path(r[2], "results", "0.json").exists() for r in rows)
    else:
        assert all(r[1] == "" and r[2].startswith(str(tmp_path)) for r in rows)


@pytest.mark.parametrize("via", ["login-node", "ssh"])
def test_pipeline_notebook_on_slurm(tmp_path, via):
    env = login_env() if via == "login-node" else ssh_env()
    check_pipeline(run_notebook("pipeline.ipynb", tmp_path, env))


def test_parameter_sweep_notebook_on_slurm(tmp_path):
    cells = run_notebook("parameter_sweep.ipynb", tmp_path, login_env())
    check_parameter_sweep(cells, tmp_path, epochs=10)
    assert "runs" in sacct_names({"runs"})


def test_chunk_auto_packs_items_on_slurm(tmp_path):
    km, kc = start(login_env(), tmp_path)
    try:
        c = ok(kc, "%%slurm map 0..200 -> packed --chunk auto\nfn f(x: i64) -> i64 { x * 3 }")
        t = texts(c)
        assert "bound `packed: Vec<i64>` (200 items)" in t, t
        assert value(kc, "packed.iter().sum::<i64>()") == str(3 * sum(range(200)))
        # Fewer elements than items: 4 per CPU of the cluster.
        cpus = int(subprocess.run(["sinfo", "-h", "-o", "%C"], capture_output=True, text=True).stdout.strip().split("/")[-1])
        chunk = int((tmp_path / ".sluice" / "jobs" / "1" / "chunk").read_text())
        assert chunk == -(-200 // (cpus * 4)), chunk
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# --- one kernel per backend mode, for the cell-level tests ---------------

def start(env, workdir):
    env = dict(env, SLUICE_WORKDIR=str(workdir))
    return start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=str(workdir), env=env)


@pytest.fixture(scope="module")
def login():
    workdir = Path(tempfile.mkdtemp(prefix="sluice-slurm-"))
    km, kc = start(login_env(), workdir)
    try:
        yield km, kc, workdir
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def ok(kc, code):
    c = cell(kc, code)
    assert c.status == "ok", c.error()
    return c


def slurm_ids(name):
    out = subprocess.run(["squeue", "-h", "--name", name, "-o", "%A"], capture_output=True, text=True)
    return sorted(set(out.stdout.split()))


def test_config_connects_and_describes_the_cluster(login):
    _, kc, _ = login
    c = ok(kc, "%slurm config --backend slurm")
    t = texts(c)
    assert "backend: slurm" in t and "MaxArraySize 10001" in t and "this machine" in t


def test_unreachable_host_is_a_clear_error_and_changes_nothing(login):
    _, kc, _ = login
    c = cell(kc, "%slurm config --backend slurm --host ssh://root@127.0.0.1:1")
    assert c.status == "error" and c.error()["ename"] == "ClusterError", c.error()
    assert "cannot connect to ssh://root@127.0.0.1:1" in c.error()["evalue"], c.error()
    t = texts(ok(kc, "%slurm config"))
    assert "host: (none)" in t and "this machine" in t, t


def test_failed_element_cancels_afterok_and_runs_afterany(login):
    _, kc, _ = login
    ok(kc, "%%slurm map 0..4 -> shaky --no-wait\n"
           "fn f(x: i64) -> i64 { std::thread::sleep(std::time::Duration::from_secs(2)); "
           "if x == 2 { panic!(\"bad item {x}\") } x * 10 }")
    ok(kc, "%%slurm run -> strict --after shaky --no-wait\n1 + 1")
    ok(kc, "%%slurm run -> lenient --after shaky --dependency afterany --no-wait\n40 + 2")
    c = cell(kc, "%slurm wait shaky")
    assert c.status == "error" and c.error()["ename"] == "TaskFailed", c.error()
    tb = "\n".join(c.error()["traceback"])
    assert "item 2: FAILED" in tb and "bad item 2" in tb
    assert value(kc, "shaky_partial") == "[Some(0), Some(10), None, Some(30)]"
    c = cell(kc, "%slurm wait strict")
    assert c.status == "error"
    assert "DependencyNeverSatisfied" in "\n".join(c.error()["traceback"]), c.error()
    ok(kc, "%slurm wait lenient")
    assert value(kc, "lenient") == "42"


def test_timeout_is_mapped(login):
    _, kc, _ = login
    ok(kc, "%%slurm map 0..1 -> sleepy --time 5 --no-wait\n"
           "fn f(x: i64) -> i64 { std::thread::sleep(std::time::Duration::from_secs(600)); x }")
    deadline = time.monotonic() + 60
    while not slurm_ids("sleepy"):
        assert time.monotonic() < deadline, "sleepy never showed up in squeue"
        time.sleep(0.5)
    for jid in slurm_ids("sleepy"):
        subprocess.run(["scontrol", "update", f"JobId={jid}", "TimeLimit=0"], check=True)
    c = cell(kc, "%slurm wait sleepy")
    assert c.status == "error", texts(c)
    assert "TIMEOUT" in "\n".join(c.error()["traceback"]), c.error()
    # Killed before it wrote a status: how long it ran comes from sacct's
    # Start and End (whole seconds), not "0 ms".
    progress = texts(c).strip().splitlines()[-1]
    assert not progress.endswith("| 0 ms"), progress
    row = next(line for line in texts(ok(kc, "%slurm status sleepy")).splitlines() if "sleepy" in line)
    assert "1 TIMEOUT" in row and " 0 ms" not in row, row
    assert re.search(r"\d+(\.\d)? s|\d+ min", row), row


def test_out_of_memory_is_mapped(login):
    _, kc, _ = login
    c = cell(kc, "%%slurm map 0..1 -> hungry --mem 64M\n"
                 "fn f(x: i64) -> usize { let mut v: Vec<Vec<u8>> = Vec::new(); "
                 "for _ in 0..64 { v.push(vec![1u8; 16 << 20]); std::thread::sleep(std::time::Duration::from_millis(20)); } "
                 "v.iter().map(|b| b.len()).sum::<usize>() + x as usize }")
    assert c.status == "error", texts(c)
    tb = "\n".join(c.error()["traceback"])
    assert "OUT_OF_MEMORY" in tb, tb


def test_cancel_is_scancel(login):
    _, kc, _ = login
    ok(kc, "%%slurm map 0..3 -> doomed --max-concurrent 1 --no-wait\n"
           "fn f(x: i64) -> i64 { std::thread::sleep(std::time::Duration::from_secs(300)); x }")
    deadline = time.monotonic() + 30
    while not slurm_ids("doomed"):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    # Pending reasons from squeue show in the status line.
    deadline = time.monotonic() + 30
    while "held by --max-concurrent" not in texts(ok(kc, "%slurm status doomed")):
        assert time.monotonic() < deadline, texts(ok(kc, "%slurm status doomed"))
        time.sleep(0.5)
    c = ok(kc, "%slurm cancel doomed")
    assert "CANCELLED" in texts(c) or "cancelled" in texts(c)
    deadline = time.monotonic() + 30
    while slurm_ids("doomed"):
        assert time.monotonic() < deadline, "scancel did not empty the queue"
        time.sleep(0.5)
    c = ok(kc, "%slurm status doomed")
    assert "3 cancelled" in texts(c) or "cancelled 3" in texts(c), texts(c)


def test_a_job_that_can_never_start_says_so(login):
    _, kc, _ = login
    # More CPUs than the node has: Slurm keeps the job pending with reason
    # PartitionConfig, forever. The status line says why and what to do.
    ok(kc, "%%slurm run -> greedy --cpus-per-task 64 --no-wait\n1 + 1")
    deadline = time.monotonic() + 30
    while "can never start as asked" not in texts(ok(kc, "%slurm status greedy")):
        assert time.monotonic() < deadline, texts(ok(kc, "%slurm status greedy"))
        time.sleep(0.5)
    assert "--cpus-per-task" in texts(ok(kc, "%slurm status greedy"))
    ok(kc, "%slurm cancel greedy")
    # A job sbatch refuses is recorded as never submitted, not as stopped.
    c = cell(kc, "%%slurm map 0..3 -> refused --mem 999999G\n|x: u8| x")
    assert c.status == "error", texts(c)
    t = texts(ok(kc, "%slurm status refused"))
    assert "not submitted" in t and "kernel that ran it stopped" not in t, t


def test_chdir_and_export_as_sbatch(login):
    _, kc, workdir = login
    (workdir / "params.txt").write_text("beside the notebook")
    (workdir / "sub").mkdir(exist_ok=True)
    (workdir / "sub" / "params.txt").write_text("in sub")
    ok(kc, "%%slurm run -> here\nstd::fs::read_to_string(\"params.txt\").unwrap()")
    assert value(kc, "here") == '"beside the notebook"'
    ok(kc, "%%slurm run -> there --chdir sub\nstd::fs::read_to_string(\"params.txt\").unwrap()")
    assert value(kc, "there") == '"in sub"'
    ok(kc, 'unsafe { std::env::set_var("SLUICE_TEST_GREETING", "set in a cell") };')
    ok(kc, "%%slurm run -> all_env\nstd::env::var(\"SLUICE_TEST_GREETING\").unwrap_or_default()")
    assert value(kc, "all_env") == '"set in a cell"'
    # --export=NONE: Slurm's own variables only (sbatch(1)).
    ok(kc, "%%slurm run -> no_env --export NONE\n"
           "(std::env::var(\"SLUICE_TEST_GREETING\").is_err(), std::env::var(\"SLURM_JOB_ID\").is_ok())")
    assert value(kc, "no_env") == "(true, true)"
    ok(kc, "%%slurm run -> named_env --export SLUICE_TEST_GREETING,ODD=a=b\n"
           "(std::env::var(\"SLUICE_TEST_GREETING\").unwrap(), std::env::var(\"ODD\").unwrap())")
    assert value(kc, "named_env") == '("set in a cell", "a=b")'


def test_retries_on_slurm(login):
    _, kc, workdir = login
    check_retries_rerun_only_failed_elements(kc, workdir)
    # OUT_OF_MEMORY (cgroup limit) → the retry asks sbatch for twice --mem.
    c = cell(kc, "%%slurm map 0..1 -> big --mem 100M --retries 1\n"
                 "fn f(x: u32) -> usize { let mut v: Vec<Vec<u8>> = Vec::new(); "
                 "for _ in 0..10 { v.push(vec![1u8; 15 << 20]); std::thread::sleep(std::time::Duration::from_millis(100)); } "
                 "v.iter().map(|b| b.len()).sum::<usize>() + x as usize }")
    assert c.status == "ok", (texts(c), c.error())
    assert "retrying it with --mem 200M" in texts(c), texts(c)
    assert value(kc, "big[0]") == str(150 << 20)


def test_values_cross_exactly_on_slurm(login):
    _, kc, _ = login
    check_values_cross_exactly(kc)


def test_injection_in_options_never_runs(login, tmp_path):
    _, kc, _ = login
    marker = tmp_path / "pwned"
    for opt in [f"--partition 'debug; touch {marker}'", f"--account '$(touch {marker})'",
                f"--name '`touch {marker}`'"]:
        c = cell(kc, f"%%slurm map 0..2 -> evil {opt}\nfn f(x: i64) -> i64 {{ x }}")
        assert c.status == "error", (opt, texts(c))
        assert "not a Slurm" in c.error()["evalue"], c.error()
    assert not marker.exists()


def test_restart_reattaches_and_binds(login):
    km, kc, workdir = login
    ok(kc, "%%slurm map 0..4 -> survivor --no-wait\n"
           "fn f(x: i64) -> i64 { std::thread::sleep(std::time::Duration::from_secs(6)); x * x }")
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
    # The front end names no notebook: the folder's jobs are still listed.
    assert "survivor" in texts(ok(kc, "%slurm status"))
    c = ok(kc, "%slurm wait survivor")
    assert "bound `survivor: Vec<i64>`" in texts(c)
    assert value(kc, "survivor") == "[0, 1, 4, 9]"


# --- over SSH -------------------------------------------------------------

@pytest.fixture(scope="module")
def remote():
    workdir = Path(tempfile.mkdtemp(prefix="sluice-ssh-"))
    km, kc = start(ssh_env(), workdir)
    try:
        yield km, kc, workdir
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
        subprocess.run([str(REPO / "install" / "sshd-local.sh")], check=False, capture_output=True)


def test_ssh_config_connects(remote):
    _, kc, _ = remote
    t = texts(ok(kc, "%slurm config --backend slurm"))
    assert "ssh://" in t and "127.0.0.1:2222" in t and "1 SSH session" in t, t


def test_ssh_logs_and_retry(remote):
    _, kc, workdir = remote
    ok(kc, "let flaky_marker: String = \"%s\".to_string();" % (workdir / "second-try"))
    c = cell(kc, "%%slurm map 0..3 -> flaky\n"
                 "|x: i64| -> i64 { if x == 1 && !std::path::Path::new(&flaky_marker).exists() { "
                 "eprintln!(\"first try fails\"); std::fs::write(&flaky_marker, \"x\").ok(); panic!(\"once\") } x + 100 }")
    assert c.status == "error", texts(c)
    logs = texts(ok(kc, "%slurm logs flaky[1]"))
    assert "first try fails" in logs, logs
    c = ok(kc, "%slurm retry flaky")
    assert "retrying 1 failed element" in texts(c)
    assert value(kc, "flaky") == "[100, 101, 102]"


def test_ssh_results_arriving_over_many_polls_all_come_back(remote):
    _, kc, _ = remote
    # Elements end at different times, so results come back in several
    # fetches (each only what changed since the last).
    c = ok(kc, "%%slurm map 0..300 -> trickle --chunk 7\n"
               "fn f(x: i64) -> i64 { std::thread::sleep(std::time::Duration::from_millis(((x / 7) % 6 * 150) as u64)); x * 2 }")
    assert "bound `trickle: Vec<i64>` (300 items)" in texts(c), texts(c)
    assert value(kc, "trickle.iter().sum::<i64>()") == str(2 * sum(range(300)))
    t = texts(ok(kc, "%slurm config"))
    fetches = int(re.search(r"fetches (\d+)", t).group(1))
    assert fetches >= 2, t


def test_ssh_dropped_connection_resumes(remote):
    _, kc, _ = remote
    ok(kc, "%%slurm map 0..2 -> patient --no-wait\n"
           "fn f(x: i64) -> i64 { std::thread::sleep(std::time::Duration::from_secs(8)); x + 1 }")
    msg_id = kc.execute("%slurm wait patient")
    time.sleep(2)
    subprocess.run([str(REPO / "install" / "sshd-local.sh"), "stop"], check=True, capture_output=True)
    time.sleep(4)
    subprocess.run([str(REPO / "install" / "sshd-local.sh")], check=True, capture_output=True)
    reply = kc.get_shell_msg(timeout=TIMEOUT)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert value(kc, "patient") == "[1, 2]"
    t = texts(ok(kc, "%slurm config"))
    assert "2 SSH sessions" in t or "3 SSH sessions" in t, t


def test_ssh_injection_never_runs(remote, tmp_path):
    _, kc, _ = remote
    marker = tmp_path / "pwned-ssh"
    c = cell(kc, f"%%slurm map 0..2 -> evil2 --partition 'debug; touch {marker}'\nfn f(x: i64) -> i64 {{ x }}")
    assert c.status == "error" and "not a Slurm" in c.error()["evalue"], c.error()
    assert not marker.exists()


def unknown_key_kernel_env(tmp_path, known_hosts_text):
    kh = tmp_path / "known_hosts"
    kh.write_text(known_hosts_text)
    return dict(ssh_env(), SLUICE_KNOWN_HOSTS=str(kh))


@pytest.mark.parametrize("case", ["unknown", "changed"])
def test_untrusted_host_key_is_refused(tmp_path, case):
    if case == "unknown":
        text = ""
    else:
        key = tmp_path / "other"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        text = "[127.0.0.1]:2222 " + " ".join(key.with_suffix(".pub").read_text().split()[:2]) + "\n"
    km, kc = start(unknown_key_kernel_env(tmp_path, text), tmp_path)
    try:
        c = cell(kc, "%%slurm map 0..2 -> never\nfn f(x: i64) -> i64 { x }")
        assert c.status == "error"
        err = c.error()
        assert err["ename"] == "ClusterError", err
        text = "\n".join(err["traceback"])
        if case == "unknown":
            assert "not in" in text and "ssh-keyscan -p 2222 127.0.0.1" in text, text
        else:
            assert "CHANGED" in text and "ssh-keygen" in text, text
        # The kernel still works.
        assert value(kc, "1 + 1") == "2"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
