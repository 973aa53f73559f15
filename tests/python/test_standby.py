"""The standby kernel (kernel/src/standby/): a kernel that shut down (or sat
idle) leaves a warmed-up `sluice standby` behind, and the next launch with
the same environment becomes it. Everything runs in a private
SLUICE_SESSION_DIR, with SLUICE_STANDBY=1 (the suite turns it off elsewhere).

What is checked is what a person would notice: the adopted kernel works in
the new launch's directory with its JPY_SESSION_NAME, keeps variables and
runs magics; no standby warms up while cells keep coming; Jupyter's kill
of the launcher ends the kernel and its session; a launch whose environment,
umask, resource limits or evcxr settings (evcxr.toml) differ is refused and
starts afresh;
two launches at once both work; an unused standby leaves by itself; a kernel
that finds every kept slot taken gets a waiting standby's; at most three wait."""

import fcntl
import os
import signal
import tempfile
import time
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, result, run_cell, stop

CWD_AND_NAME = 'format!("{}|{}", std::env::current_dir().unwrap().display(), std::env::var("JPY_SESSION_NAME").unwrap_or_default())'


ROOTS = []


@pytest.fixture(scope="module")
def root():
    yield new_root("sluice-standby-")
    # No standby outlives the tests, warm or still warming up.
    for r in ROOTS:
        for pid in waiting_standbys(r, warm_only=False):
            os.kill(pid, signal.SIGTERM)


def new_root(prefix):
    r = Path(tempfile.mkdtemp(prefix=prefix))
    ROOTS.append(r)
    return r


def env_for(root, **extra):
    env = dict(os.environ, SLUICE_SESSION_DIR=str(root / "sessions"), SLUICE_STANDBY="1",
               SLUICE_STANDBY_IDLE="300")
    env.update(extra)
    env.pop("EVCXR_TMPDIR", None)
    # pytest names the running test here: a standby made in one test
    # would refuse the next test's launches.
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def start(root, cwd, name, log, **extra):
    env = env_for(root, **extra)
    env["JPY_SESSION_NAME"] = name
    return start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, env=env,
                            cwd=str(cwd), stderr=open(log, "w"))


def waiting_standby(root):
    """The pid of a warm standby waiting under `root`, or None."""
    pids = waiting_standbys(root)
    return pids[0] if pids else None


def waiting_standbys(root, warm_only=True):
    """The pids of the warm standbys waiting under `root` (each one's lock
    is held, it says it is ready, its socket exists); with `warm_only`
    false, of every standby holding its lock."""
    pids = []
    for lock in (root / "sessions").glob("standby-*.lock"):
        sock = lock.with_suffix(".sock")
        with open(lock) as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
                continue  # nobody holds it
            except BlockingIOError:
                lines = f.read().split("\n")
        # `<pid>\n<binary>\nready\n` once it has warmed up.
        if not warm_only and lines[0].strip():
            pids.append(int(lines[0]))
        elif sock.exists() and "ready" in lines:
            pids.append(int(lines[0]))
    return pids


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def wait_until(pred, limit=120, what="condition"):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def ensure_standby(root):
    """A standby waits under `root`: a kernel that shuts down leaves one."""
    pid = waiting_standby(root)
    if pid:
        return pid
    km, kc = start(root, root, "maker.ipynb", root / "maker.log")
    assert result(kc, "1 + 1") == "2"
    stop(km, kc)
    return wait_until(lambda: waiting_standby(root), what="a standby after shutdown")


def test_a_new_launch_becomes_the_standby_in_its_own_directory(root):
    standby = ensure_standby(root)
    here = root / "notebooks" / "b"
    here.mkdir(parents=True)
    log = root / "b.log"
    km, kc = start(root, here, "b.ipynb", log)
    try:
        # A magic first: its tasks get the launch's variables (the session
        # has not yet applied the adoption, so its environment is asked).
        task_env = '%%slurm run -> {}\nstd::env::var("JPY_SESSION_NAME").unwrap_or_default()'
        c = run_cell(kc, task_env.format("first"), timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, CWD_AND_NAME) == f"{here}|b.ipynb"
        assert result(kc, "first") == "b.ipynb"
        c = run_cell(kc, task_env.format("later"), timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, "later") == "b.ipynb"

        assert "adopted" in log.read_text(), log.read_text()
        # The process serving is the standby, not the launcher.
        assert km.provisioner.process.pid != standby
        assert result(kc, "let v = vec![1, 2, 3]; v.len()") == "3"
        assert result(kc, "v.iter().sum::<i32>()") == "6"
        c = run_cell(kc, "%%slurm map 0..3 -> sq\n|x: i64| -> i64 { x * x }", timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, "sq.iter().sum::<i64>()") == "5"
        # Job directories land under the new directory.
        assert any(here.rglob("*")), list(here.iterdir())
        # The next launch will find a standby already: the adopted kernel
        # started one once it had a second without requests, without
        # waiting to shut down.
        wait_until(lambda: [p for p in waiting_standbys(root) if p != standby], limit=120,
                   what="the next standby while the adopted kernel runs")
    finally:
        stop(km, kc)
    wait_until(lambda: not alive(standby), limit=30, what="the adopted kernel to end")


def test_jupyters_kill_of_the_launcher_ends_the_adopted_kernel(root):
    standby = ensure_standby(root)
    km, kc = start(root, root, "k.ipynb", root / "k.log")
    try:
        assert result(kc, "let kept = 7; kept") == "7"
        assert alive(standby)
        # Its runtime; not the next standby it started (which outlives it).
        session = [int(p) for t in Path(f"/proc/{standby}/task").iterdir()
                   for p in (t / "children").read_text().split()
                   if b"standby" not in Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")]
        assert session
        # What jupyter_client's kill does: SIGKILL to the launcher's group.
        os.killpg(os.getpgid(km.provisioner.process.pid), signal.SIGKILL)
        wait_until(lambda: not alive(standby), limit=30, what="the adopted kernel to end")
        wait_until(lambda: not any(alive(p) for p in session), limit=30, what="its runtime to end")
    finally:
        kc.stop_channels()
        km.cleanup_resources()


def test_a_launch_with_another_environment_gets_its_own_standby(root):
    standby = ensure_standby(root)
    log = root / "other.log"
    km, kc = start(root, root, "o.ipynb", log, SLUICE_SOMETHING_ELSE="1")
    try:
        assert result(kc, "2 + 3") == "5"
        text = log.read_text()
        assert "no standby waits for this binary and environment" in text, text
        assert "adopted" not in text, text
    finally:
        stop(km, kc)
    # The first environment's standby still waits, and the other
    # environment now has one of its own.
    assert alive(standby)
    wait_until(lambda: len(waiting_standbys(root)) == 2, what="a second standby")
    km, kc = start(root, root, "o2.ipynb", root / "other2.log", SLUICE_SOMETHING_ELSE="1")
    try:
        assert result(kc, "2 + 4") == "6"
        assert "a standby kernel took this connection" in (root / "other2.log").read_text()
        assert alive(standby)
    finally:
        stop(km, kc)


def opt_toggled(kc):
    """What evcxr's `:opt` (no level) says: it toggles 2 to 0 and anything
    else to 2, so "Optimization: 0" means the kernel's cells were at 2."""
    c = run_cell(kc, ":opt", timeout=300)
    assert c.status == "ok", c.error()
    texts = [m["content"]["data"]["text/plain"] for m in c.of_type("execute_result")]
    return (c.stream() + "".join(texts)).strip()


def test_a_launch_with_other_evcxr_settings_gets_its_own_standby():
    # evcxr reads ./evcxr.toml, else its configuration directory's, when
    # its context is made: a standby warmed up with other settings must
    # not serve a launch whose fresh kernel would start from these.
    other = new_root("sluice-standby-settings-")
    config = other / "config"
    config.mkdir()
    plain = other / "plain"
    plain.mkdir()
    tuned = other / "tuned"
    tuned.mkdir()
    (tuned / "evcxr.toml").write_text('[evcxr]\nopt_level = "2"\n')

    def launch(cwd, tag):
        log = other / f"{tag}.log"
        km, kc = start(other, cwd, f"{tag}.ipynb", log, EVCXR_CONFIG_DIR=str(config))
        try:
            said = opt_toggled(kc)
        finally:
            stop(km, kc)
        return said, "a standby kernel took this connection" in log.read_text()

    assert launch(plain, "p1") == ("Optimization: 2", False)
    first = wait_until(lambda: waiting_standby(other), what="a standby after shutdown")
    # The standby (made in `plain`, without settings) does not serve
    # `tuned`, whose evcxr.toml sets opt_level 2.
    assert launch(tuned, "t1") == ("Optimization: 0", False)
    wait_until(lambda: len(waiting_standbys(other)) == 2, what="a standby for the tuned directory")
    assert alive(first)
    # ... which the next launch there takes, with the same settings.
    assert launch(tuned, "t2") == ("Optimization: 0", True)
    # Settings edited while a standby waits: it no longer matches a
    # launch, so it leaves, and the launch starts from the new settings.
    (config / "evcxr.toml").write_text('[evcxr]\nopt_level = "2"\n')
    wait_until(lambda: not alive(first), limit=60, what="the stale standby to leave")
    assert launch(plain, "p2") == ("Optimization: 0", False)


MASK_AND_NOFILE = (
    'use std::os::unix::fs::PermissionsExt; std::fs::write("mask-probe", "x").unwrap(); '
    'let mode = std::fs::metadata("mask-probe").unwrap().permissions().mode() & 0o777; '
    'std::fs::remove_file("mask-probe").unwrap(); '
    'let limits = std::fs::read_to_string("/proc/self/limits").unwrap(); '
    'let nofile = limits.lines().find(|l| l.starts_with("Max open files")).unwrap()'
    '.split_whitespace().nth(3).unwrap().to_string(); '
    'let stat = std::fs::read_to_string("/proc/self/stat").unwrap(); '
    'let nice = stat.rsplit(") ").next().unwrap().split_whitespace().nth(16).unwrap().to_string(); '
    'let status = std::fs::read_to_string("/proc/self/status").unwrap(); '
    'let cpus = status.lines().find(|l| l.starts_with("Cpus_allowed_list")).unwrap()'
    '.split_whitespace().nth(1).unwrap().to_string(); '
    'format!("{mode:o} {nofile} {nice} {cpus}")')


def test_a_launch_with_another_umask_or_limit_gets_its_own_standby():
    # `umask 002` for a group's project directory, `ulimit -n`/`-v`,
    # `nice` or `taskset` before starting Jupyter: what the notebook
    # writes and may use must be what the user set, not what the
    # standby's maker had.
    import resource
    other = new_root("sluice-standby-limits-")
    km, kc = start(other, other, "plain.ipynb", other / "plain.log")
    try:
        plain = result(kc, MASK_AND_NOFILE)
    finally:
        stop(km, kc)
    first = wait_until(lambda: waiting_standby(other), what="a standby after shutdown")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 4096) - 7
    old_mask = os.umask(0o077)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
    old_nice = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, old_nice + 3)
    old_cpus = os.sched_getaffinity(0)
    cpu = min(old_cpus)
    os.sched_setaffinity(0, {cpu})
    tight = f"600 {lowered} {old_nice + 3} {cpu}"
    try:
        def launch(tag):
            log = other / f"{tag}.log"
            km, kc = start(other, other, f"{tag}.ipynb", log)
            try:
                return result(kc, MASK_AND_NOFILE), log.read_text()
            finally:
                stop(km, kc)

        said, log = launch("tight1")
        assert said == tight, (said, plain)
        assert "a standby kernel took this connection" not in log, log
        assert alive(first)
        wait_until(lambda: len(waiting_standbys(other)) == 2, what="a standby with the new limits")
        # Its standby has the launch's mask and limits, and serves the next.
        said, log = launch("tight2")
        assert said == tight
        assert "a standby kernel took this connection" in log, log
    finally:
        os.umask(old_mask)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        os.sched_setaffinity(0, old_cpus)
        # Lowering the nice value again needs root, as the test run has.
        os.setpriority(os.PRIO_PROCESS, 0, old_nice)
    assert plain.split()[0] == f"{0o666 & ~old_mask:o}", plain


def test_two_launches_at_once_both_work(root):
    import concurrent.futures
    ensure_standby(root)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        fa = pool.submit(start, root, root, "a.ipynb", root / "a2.log")
        fb = pool.submit(start, root, root, "b.ipynb", root / "b2.log")
        a, b = fa.result(), fb.result()
    try:
        assert result(a[1], "let x = 1; x + 1") == "2"
        assert result(b[1], "let x = 2; x + 2") == "4"
        assert result(a[1], "x") == "1" and result(b[1], "x") == "2"
        logs = (root / "a2.log").read_text() + (root / "b2.log").read_text()
        assert logs.count("a standby kernel took this connection") == 1, logs
    finally:
        stop(*a)
        stop(*b)


def test_no_standby_warms_up_while_cells_keep_coming(root):
    # A Run All sends cells back to back: a standby warming up then would
    # take a core from them. It comes once the kernel has been idle.
    other = new_root("sluice-standby-busy-")
    km, kc = start(other, other, "r.ipynb", other / "r.log")
    try:
        started = time.monotonic()
        n = 0
        while time.monotonic() - started < 6 or n < 5:
            assert result(kc, f"{n} + 1") == str(n + 1)
            n += 1
            assert waiting_standbys(other, warm_only=False) == [], f"a standby started after cell {n}"
        wait_until(lambda: waiting_standbys(other, warm_only=False), limit=30,
                   what="a standby once the kernel idles")
    finally:
        stop(km, kc)


def test_an_unused_standby_leaves_and_shutdown_makes_another(root):
    # A kernel whose idle standby left (a 3 s limit) starts a new one when
    # it shuts down, so a Restart after a long pause still finds one.
    other = new_root("sluice-standby-idle-")
    km, kc = start(other, other, "i.ipynb", other / "i.log", SLUICE_STANDBY_IDLE="3")
    try:
        assert result(kc, "1") == "1"
        pid = wait_until(lambda: waiting_standby(other), what="the idle kernel's standby")
        wait_until(lambda: not alive(pid), limit=120, what="the unused standby to leave")
        assert not list((other / "sessions").glob("standby-*.sock"))
    finally:
        stop(km, kc)
    again = wait_until(lambda: waiting_standby(other), what="a standby after shutdown")
    assert again != pid


def test_an_unreachable_standby_leaves(root):
    # Its socket deleted (say the session directory was cleaned), nobody
    # can reach it: it leaves instead of holding memory for 15 minutes.
    other = new_root("sluice-standby-gone-")
    km, kc = start(other, other, "g.ipynb", other / "g.log")
    assert result(kc, "1") == "1"
    stop(km, kc)
    pid = wait_until(lambda: waiting_standby(other), what="a standby")
    for sock in (other / "sessions").glob("standby-*.sock"):
        sock.unlink()
    wait_until(lambda: not alive(pid), limit=60, what="the unreachable standby to leave")


def test_standby_off_makes_none(root):
    other = new_root("sluice-standby-off-")
    km, kc = start(other, other, "n.ipynb", other / "n.log", SLUICE_STANDBY="0")
    assert result(kc, "1") == "1"
    time.sleep(2)  # idle: a kernel with standbys on would start one now
    stop(km, kc)
    time.sleep(2)
    assert waiting_standby(other) is None


def test_a_toolchain_change_while_it_waits_is_refused(root):
    # `rustc` on PATH is a wrapper whose `-vV` ends with a line read from a
    # file: changing the file is a toolchain update (rustup update) that
    # leaves every environment variable as it was.
    import shutil
    import subprocess
    other = new_root("sluice-standby-toolchain-")
    bin_dir = other / "bin"
    bin_dir.mkdir()
    real = shutil.which("rustc")
    marker = other / "toolchain"
    marker.write_text("one\n")
    wrapper = bin_dir / "rustc"
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = "-vV" ]; then "{real}" -vV; cat "{marker}"; '
                       f'else exec "{real}" "$@"; fi\n')
    wrapper.chmod(0o755)
    path = f"{bin_dir}:{os.environ['PATH']}"
    assert subprocess.run(["rustc", "-vV"], env=dict(os.environ, PATH=path), capture_output=True,
                          text=True).stdout.endswith("one\n")
    km, kc = start(other, other, "t.ipynb", other / "t1.log", PATH=path)
    assert result(kc, "1") == "1"
    stop(km, kc)
    pid = wait_until(lambda: waiting_standby(other), what="a standby")
    marker.write_text("two\n")
    log = other / "t2.log"
    km, kc = start(other, other, "t.ipynb", log, PATH=path)
    try:
        assert result(kc, "3 * 3") == "9"
        text = log.read_text()
        assert "refused" in text and "toolchain changed" in text, text
        # The stale standby leaves instead of waiting for nobody.
        wait_until(lambda: not alive(pid), limit=30, what="the stale standby to leave")
    finally:
        stop(km, kc)


def test_a_kernel_takes_the_slot_of_a_waiting_standby_when_none_is_free(root):
    """Standbys never starve kernels of kept slots: with every slot held
    (here seven by this test and one by a waiting standby), a kernel of
    another environment asks the standby to leave and gets its slot (warm:
    no rebuild); and at most three standbys wait at once, the longest-waiting
    leaving first. (The `root` fixture only for its teardown, which ends
    the standbys of every root.)"""
    root = new_root("sluice-evict-")
    first = ensure_standby(root)
    slot_of = 'std::env::var("EVCXR_TMPDIR").unwrap()'
    held = []
    try:
        base = next((root / "sessions").glob("*/slot-0.lock")).parent
        standby_slot = next(n for n in range(8)
                            if (base / f"slot-{n}.lock").read_text().strip() == str(first))
        for n in range(8):
            if n == standby_slot:
                continue
            f = open(base / f"slot-{n}.lock", "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(f)
            except BlockingIOError:
                f.close()
        assert len(held) == 7, "a slot was held by something else"
        km, kc = start(root, root, "other.ipynb", root / "other.log", SLUICE_TEST_ENV="other")
        try:
            assert result(kc, slot_of) == str(base / f"slot-{standby_slot}")
            assert result(kc, "6 * 7") == "42"
            wait_until(lambda: not alive(first), what="the standby to leave")
        finally:
            stop(km, kc)
    finally:
        for f in held:
            f.close()
    # Four environments' standbys: the first to wait leaves when the fourth
    # is ready.
    def standby_of(tag):
        for pid in waiting_standbys(root):
            try:
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if f"SLUICE_TEST_ENV={tag}".encode() in env:
                return pid
        return None

    pids = []
    for n in range(4):
        km, kc = start(root, root, f"e{n}.ipynb", root / f"e{n}.log", SLUICE_TEST_ENV=f"cap{n}")
        assert result(kc, "1 + 1") == "2"
        stop(km, kc)
        pids.append(wait_until(lambda: standby_of(f"cap{n}"), what=f"standby {n}"))
    wait_until(lambda: not alive(pids[0]), what="the longest-waiting standby to leave")
    assert sorted(waiting_standbys(root)) == sorted(pids[1:])


def prepared_standby(root, line):
    """The pid of a waiting standby whose lock file says it added `line`."""
    for lock in (root / "sessions").glob("standby-*.lock"):
        pid = waiting_standby_of(lock)
        if pid and f"added {line}" in lock.read_text().split("\n"):
            return pid
    return None


def waiting_standby_of(lock):
    with open(lock) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
            return None
        except BlockingIOError:
            lines = f.read().split("\n")
    # `adding` while it still adds the notebooks' first `:dep` lines.
    ready = "ready" in lines and "adding" not in lines
    return int(lines[0]) if lock.with_suffix(".sock").exists() and ready else None


def settled_standby(root):
    """A waiting standby done adding `:dep` lines (whether it added any)."""
    return next(filter(None, map(waiting_standby_of, (root / "sessions").glob("standby-*.lock"))), None)


def test_a_standby_adds_the_dep_lines_notebooks_start_with(root):
    """After two notebooks in a row started with the same `:dep` cell, the
    next standby adds those crates ahead of the launch
    (standby/first_deps.rs; its lock file lists them): a notebook starting
    with that cell has them at once, and one starting otherwise never sees
    them, nor one whose first cell fails. (Its own root: the history of
    first cells lives beside the kept slots.)"""
    root = new_root("sluice-firstdeps-")
    dep = ':dep itoa = "1"'
    use_itoa = "itoa::Buffer::new().format(1234).len()"

    def until_prepared():
        # Kernels starting with `dep` until the standby one leaves has
        # added it (the first two make the history; a standby only adds
        # crates its slot built before, so under load it can take one more).
        for n in range(5):
            pid = prepared_standby(root, dep)
            if pid:
                return pid
            km, kc = start(root, root, f"d{n}.ipynb", root / f"d{n}.log")
            try:
                c = run_cell(kc, dep, timeout=600)
                assert c.status == "ok", c.error()
                assert result(kc, use_itoa) == "4"
            finally:
                stop(km, kc)
            wait_until(lambda: settled_standby(root), limit=300, what="a standby")
        raise AssertionError("no standby added itoa after five notebooks started with it")

    # A hit: the first cell asks for the crate the standby added.
    until_prepared()
    here = root / "hit"
    here.mkdir()
    log = root / "hit.log"
    km, kc = start(root, here, "hit.ipynb", log)
    try:
        c = run_cell(kc, dep, timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, use_itoa) == "4"
        assert result(kc, CWD_AND_NAME) == f"{here}|hit.ipynb"
        c = run_cell(kc, "%%slurm map 0..3 -> sq\n|x: i64| -> i64 { x * x }", timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, "sq.iter().sum::<i64>()") == "5"
        text = log.read_text()
        assert "adopted" in text and "the first cell asks for them" in text, text
    finally:
        stop(km, kc)

    # A miss: the notebook never asked for itoa, so it does not have it.
    until_prepared()
    here = root / "miss"
    here.mkdir()
    log = root / "miss.log"
    km, kc = start(root, here, "miss.ipynb", log)
    try:
        # A magic first: it binds its result through the session the
        # :clear made.
        c = run_cell(kc, "%%slurm map 0..4 -> cubes\n|x: i64| -> i64 { x * x * x }", timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, "let x = 20; x + 1") == "21"
        assert result(kc, "cubes.iter().sum::<i64>()") == "36"
        c = run_cell(kc, use_itoa)
        assert c.status == "error" and "itoa" in c.error()["evalue"], c.error()
        assert result(kc, "x * 2") == "40"
        assert result(kc, CWD_AND_NAME) == f"{here}|miss.ipynb"
        # What the session items give still works after the :clear.
        c = run_cell(kc, 'sluice::display("text/plain", "shown")')
        assert c.status == "ok", c.error()
        assert c.of_type("display_data"), c.outputs
        c = run_cell(kc, dep, timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, use_itoa) == "4"
        text = log.read_text()
        assert "does not ask for them" in text, text
    finally:
        stop(km, kc)

    # A hit whose cell evcxr does not keep (a build error after the
    # `:dep`): a fresh kernel would not have itoa, so neither does this one.
    until_prepared()
    log = root / "failed.log"
    km, kc = start(root, root, "failed.ipynb", log)
    try:
        c = run_cell(kc, dep + '\nlet bad: u8 = "oops";', timeout=600)
        assert c.status == "error", c.outputs
        c = run_cell(kc, use_itoa)
        assert c.status == "error" and "itoa" in c.error()["evalue"], c.error()
        assert result(kc, "6 * 7") == "42"
        text = log.read_text()
        assert "the first cell asks for them" in text and "was not kept" in text, text
    finally:
        stop(km, kc)


def built_itoa(root):
    """A kernel of `root`, with standbys off, builds itoa in a kept slot."""
    km, kc = start(root, root, "itoa.ipynb", root / "itoa.log", SLUICE_STANDBY="0")
    try:
        c = run_cell(kc, ':dep itoa = "1"', timeout=900)
        assert c.status == "ok", c.error()
    finally:
        stop(km, kc)


def test_a_fifo_in_the_kept_state_never_hangs_a_kernel():
    # Reading a FIFO blocks until someone writes it: the first-deps
    # history and the slots' lock files are read without blocking, and
    # anything but a regular file counts as no file.
    other = new_root("sluice-standby-fifo-")
    built_itoa(other)
    (toolchain,) = [d for d in (other / "sessions").iterdir() if d.is_dir()]
    history = toolchain / "first-deps"
    history.unlink()
    os.mkfifo(history)
    for lock in toolchain.glob("slot-*.lock"):
        lock.unlink()
        os.mkfifo(lock)
    # Where evcxr writes the session crate: a slot holding a FIFO is
    # emptied and built again.
    for lib in toolchain.glob("slot-*/src/lib.rs"):
        lib.unlink()
        os.mkfifo(lib)
    km, kc = start(other, other, "f2.ipynb", other / "f2.log")
    try:
        c = run_cell(kc, ':dep itoa = "1"', timeout=600)
        assert c.status == "ok", c.error()
        assert result(kc, "itoa::Buffer::new().format(42).to_string()") == "42"
    finally:
        stop(km, kc)


def test_damaged_build_products_in_a_kept_slot_are_rebuilt():
    # A crash or a full disk mid-build can leave a dependency's .rlib
    # truncated; cargo goes by modification times and never rebuilds it,
    # so every later kernel's `:dep` failed (rustc E0786) until someone
    # deleted the directory.
    other = new_root("sluice-standby-damaged-")
    built_itoa(other)
    rlibs = list((other / "sessions").glob("*/slot-*/target/**/*.rlib"))
    assert rlibs
    for f in rlibs:
        f.write_bytes(b"")
    km, kc = start(other, other, "d2.ipynb", other / "d2.log", SLUICE_STANDBY="0")
    try:
        c = run_cell(kc, ':dep itoa = "1"', timeout=900)
        assert c.status == "ok", c.error()
        assert "build products did not load" in c.stream("stderr"), c.stream("stderr")
        assert result(kc, "itoa::Buffer::new().format(42).to_string()") == "42"
    finally:
        stop(km, kc)


def slot_of(root, pid):
    """The kept slot whose lock file names `pid`."""
    for lock in (root / "sessions").glob("*/slot-*.lock"):
        if lock.read_text().strip() == str(pid):
            return lock.with_suffix("")
    return None


def test_the_next_standby_gets_the_slot_that_built_the_notebooks_crates():
    # A kernel starts a standby once idle, while it holds its own slot:
    # that standby gets another slot, where the notebook's crates were
    # never built, and the next launch's `:dep` cell built them all again
    # (30 s instead of 5). At shutdown the kernel hands its slot over.
    other = new_root("sluice-standby-handover-")
    km, kc = start(other, other, "h1.ipynb", other / "h1.log")
    try:
        c = run_cell(kc, ':dep itoa = "1"', timeout=900)
        assert c.status == "ok", c.error()
        early = wait_until(lambda: waiting_standby(other), limit=180,
                           what="the standby a kernel starts once idle")
        assert not list(slot_of(other, early).glob("target/**/deps/libitoa-*.rlib"))
    finally:
        stop(km, kc)
    wait_until(lambda: not alive(early), limit=30, what="the standby without itoa to leave")
    pid = wait_until(lambda: waiting_standby(other), limit=180, what="the standby after shutdown")
    slot = slot_of(other, pid)
    assert list(slot.glob("target/**/deps/libitoa-*.rlib")), slot
    log = other / "h2.log"
    km, kc = start(other, other, "h2.ipynb", log)
    try:
        assert "a standby kernel took this connection" in log.read_text()
        c = run_cell(kc, ':dep itoa = "1"\nitoa::Buffer::new().format(7).to_string()', timeout=900)
        assert c.status == "ok", c.error()
        assert "Compiling itoa" not in c.stream("stderr")
    finally:
        stop(km, kc)


def test_a_standby_whose_slot_was_deleted_leaves():
    # The slot deleted (a cleanup of /var/tmp) under a standby that had
    # added the notebook's crates: the adopted kernel's second cell failed
    # with "Failed to write .../src/lib.rs". The standby refuses instead,
    # and the launch starts afresh.
    other = new_root("sluice-standby-slotgone-")
    dep = ':dep itoa = "1"'
    built_itoa(other)
    built_itoa(other)
    km, kc = start(other, other, "s1.ipynb", other / "s1.log")
    try:
        c = run_cell(kc, dep, timeout=900)
        assert c.status == "ok", c.error()
    finally:
        stop(km, kc)
    pid = wait_until(lambda: prepared_standby(other, dep), limit=300, what="a standby that added itoa")
    import shutil
    shutil.rmtree(slot_of(other, pid))
    log = other / "s2.log"
    km, kc = start(other, other, "s2.ipynb", log)
    try:
        c = run_cell(kc, dep, timeout=900)
        assert c.status == "ok", c.error()
        assert result(kc, "let n = 5; itoa::Buffer::new().format(n * 9).to_string()") == "45"
        assert result(kc, "n + 1") == "6"
        assert "a standby kernel took this connection" not in log.read_text()
    finally:
        stop(km, kc)
    wait_until(lambda: not alive(pid), limit=30, what="the standby without a slot to leave")
