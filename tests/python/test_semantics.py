"""Slurm's semantics as sbatch spells them, on the local executor, through
the real kernel: --retries (failed elements only; twice the memory after
OUT_OF_MEMORY), %slurm retry with new resources, --time 0 as no limit,
refused zero counts, overflowing numbers that never stop the kernel, and
help that is output rather than an error."""

import os
import re

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, cell, notebook_kernel, ok, texts, value

nb = notebook_kernel("sluice-semantics-")


def check_retries_rerun_only_failed_elements(kc, workdir):
    """Elements 1 and 3 fail on their first attempt only; every attempt
    leaves a mark, so the marks count the runs of each element. Used on both
    backends (test_slurm.py calls it too)."""
    marks = workdir / "marks"
    marks.mkdir()
    ok(kc, f'let marks = String::from(r#"{marks}"#);')
    c = cell(kc, "%%slurm map 0..4 -> flaky --retries 2\n"
                 "|x: u32| -> u32 {\n"
                 "    let n = std::fs::read_dir(&marks).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with(&format!(\"{x}-\"))).count();\n"
                 "    std::fs::write(format!(\"{marks}/{x}-{n}\"), \"\").unwrap();\n"
                 "    if x % 2 == 1 && n == 0 { panic!(\"first try of {x}\") }\n"
                 "    x * 10\n"
                 "}")
    assert c.status == "ok", c.error()
    t = texts(c)
    assert "2 elements failed in attempt 1 (2 FAILED); retrying them" in t, t
    assert "attempt 2 of 3" in t, t
    assert value(kc, "flaky") == "[0, 10, 20, 30]"
    runs = sorted(p.name for p in marks.iterdir())
    assert runs == ["0-0", "1-0", "1-1", "2-0", "3-0", "3-1"], runs


def test_retries_rerun_only_failed_elements(nb):
    _, kc, workdir = nb
    check_retries_rerun_only_failed_elements(kc, workdir)


def test_retries_double_memory_after_out_of_memory(nb):
    _, kc, _ = nb
    # 200 MB held for a second: over --mem 128M, under the doubled 256M.
    c = cell(kc, "%%slurm map 0..1 -> big --mem 128M --retries 1\n"
                 "fn f(x: u32) -> usize { let v = std::hint::black_box(vec![1u8; 200 << 20]); std::thread::sleep(std::time::Duration::from_millis(1500)); v.iter().map(|b| *b as usize).sum::<usize>() + x as usize }")
    assert c.status == "ok", c.error()
    t = texts(c)
    assert "1 element failed in attempt 1 (1 OUT_OF_MEMORY); retrying it with --mem 256M" in t, t
    assert value(kc, "big[0]") == str(200 << 20)


def test_retries_give_up_and_keep_partial_results(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..3 -> stubborn --retries 1\n"
                 "fn f(x: u32) -> u32 { if x == 2 { panic!(\"always\") } x }")
    assert c.status == "error" and c.error()["ename"] == "TaskFailed", c.error()
    assert "attempt 2 of 2" in texts(c)
    assert value(kc, "stubborn_partial") == "[Some(0), Some(1), None]"


def test_manual_retry_with_more_memory(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..1 -> hungry --mem 64M\n"
                 "fn f(x: u32) -> usize { let v = std::hint::black_box(vec![1u8; 150 << 20]); std::thread::sleep(std::time::Duration::from_millis(1500)); v.iter().map(|b| *b as usize).sum::<usize>() + x as usize }")
    assert c.status == "error" and c.error()["ename"] == "TaskFailed", c.error()
    assert "OUT_OF_MEMORY" in "\n".join(c.error()["traceback"])
    c = ok(kc, "%slurm retry hungry --mem 512M")
    assert "bound `hungry: Vec<usize>`" in texts(c)
    assert value(kc, "hungry[0]") == str(150 << 20)


def test_time_zero_is_no_limit(nb):
    _, kc, _ = nb
    c = ok(kc, "%%slurm map 0..2 -> patient --time 0\n"
               "fn f(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(300)); x }")
    assert "bound `patient: Vec<u64>`" in texts(c)
    assert value(kc, "patient") == "[0, 1]"


@pytest.mark.parametrize("line, needle", [
    ("%%slurm map 0..2 --max-concurrent 0", "`--max-concurrent` takes a whole number from 1 to"),
    ("%%slurm map 0..2 --cpus-per-task 0", "`--cpus-per-task` takes a whole number from 1 to"),
    ("%%slurm map 0..2 --time 99999999999999999999", "time"),
    ("%%slurm map 0..2 --time 99999999999999999-0", "too long"),
    # sbatch itself would wrap this one silently to 19:44:00.
    ("%%slurm map 0..2 --time 2982617-00:00:00", "at most 2982616-04:12:00"),
    ("%%slurm map 0..2 --mem 99999999999999999T", "too large"),
    ("%%sweep a in -9223372036854775808..9223372036854775807\na", "more than"),
    ("%%sweep a in linspace(0, 1, 18446744073709551615)\na", "n is a whole number from 1 to 100000"),
])
def test_extreme_numbers_are_clear_errors_and_the_kernel_goes_on(nb, line, needle):
    _, kc, _ = nb
    code = line if "\n" in line else line + "\nfn f(x: u32) -> u32 { x }"
    c = cell(kc, code, timeout=120)
    assert c.status == "error", code
    err = c.error()
    assert err["ename"] == "MagicSyntaxError", err
    assert needle in err["evalue"] + "\n".join(err["traceback"]), err
    assert value(kc, "1 + 1") == "2"


def test_help_is_output_and_lists_only_what_exists(nb):
    _, kc, _ = nb
    for code, needle in [("%slurm --help", "%%slurm map"), ("%slurm help map", "--max-concurrent"),
                         ("%%slurm map --help", "--chunk"), ("%%sweep --help", "--maximize"),
                         ("%slurm help sweep", "--zip"), ("%slurm", "%%slurm map")]:
        c = ok(kc, code)
        assert needle in texts(c), (code, texts(c))
        assert not c.of_type("error")
    t = texts(ok(kc, "%lsmagic"))
    assert "%%sweep" in t and "report" in t, t
    c = cell(kc, "%slurm help frobnicate")
    assert c.status == "error" and "topics" in c.error()["evalue"]


def test_status_is_a_table_with_slurm_states_and_elapsed_time(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..3 -> slowpoke --time 0:06\n"
                 "fn f(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_millis(if x == 1 { 60_000 } else { 2_500 })); x }")
    assert c.status == "error" and c.error()["ename"] == "TaskFailed", c.error()
    t = texts(ok(kc, "%slurm status slowpoke"))
    row = next(line for line in t.splitlines() if "slowpoke" in line)
    assert "FAILED" in row and "2 completed, 1 TIMEOUT" in row, t
    elapsed = float(re.search(r"(\d+\.\d) s\b", row).group(1))
    assert elapsed >= 2.0, row
    # Every element timed out: the elapsed time still counts their run.
    c = cell(kc, "%%slurm map 0..2 -> stuck --time 0:02\n"
                 "fn f(x: u64) -> u64 { std::thread::sleep(std::time::Duration::from_secs(60)); x }")
    assert c.status == "error", c.error()
    row = next(line for line in texts(ok(kc, "%slurm status stuck")).splitlines() if "stuck" in line)
    assert "2 TIMEOUT" in row, row
    elapsed = float(re.search(r"(\d+\.\d) s\b", row).group(1))
    assert elapsed >= 1.5, row


def test_status_lists_this_notebooks_jobs_and_all_lists_the_folder(tmp_path):
    kernels = []
    try:
        for nb_name in ("first.ipynb", "second.ipynb"):
            km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=str(tmp_path),
                                      env={**os.environ, "JPY_SESSION_NAME": str(tmp_path / nb_name)})
            kernels.append((km, kc))
        ok(kernels[0][1], "%%slurm map 0..2 -> from_first\nfn f(x: u8) -> u8 { x }")
        ok(kernels[1][1], "%%slurm map 0..2 -> from_second\nfn f(x: u8) -> u8 { x }")
        mine = texts(ok(kernels[1][1], "%slurm status"))
        assert "from_second" in mine and "from_first" not in mine, mine
        every = texts(ok(kernels[1][1], "%slurm status --all"))
        assert "from_second" in every and "from_first" in every, every
    finally:
        for km, kc in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_tasks_start_in_the_submission_directory_or_chdir(nb):
    _, kc, workdir = nb
    (workdir / "params.txt").write_text("beside the notebook")
    (workdir / "sub").mkdir()
    (workdir / "sub" / "params.txt").write_text("in sub")
    ok(kc, "%%slurm run -> here\nstd::fs::read_to_string(\"params.txt\").unwrap()")
    assert value(kc, "here") == '"beside the notebook"'
    ok(kc, "%%slurm run -> there --chdir sub\nstd::fs::read_to_string(\"params.txt\").unwrap()")
    assert value(kc, "there") == '"in sub"'


def test_export_as_sbatch_spells_it(nb):
    _, kc, _ = nb
    ok(kc, 'unsafe { std::env::set_var("SLUICE_TEST_GREETING", "set in a cell") };')
    ok(kc, "%%slurm run -> all_env\nstd::env::var(\"SLUICE_TEST_GREETING\").unwrap_or_default()")
    assert value(kc, "all_env") == '"set in a cell"'
    ok(kc, "%%slurm run -> no_env --export NONE\n"
           "(std::env::var(\"SLUICE_TEST_GREETING\").is_err(), std::env::var(\"HOME\").is_err(), std::env::var(\"SLURM_ARRAY_TASK_ID\").is_ok())")
    assert value(kc, "no_env") == "(true, true, true)"
    ok(kc, "%%slurm run -> named_env --export SLUICE_TEST_GREETING,ODD=a=b\n"
           "(std::env::var(\"SLUICE_TEST_GREETING\").unwrap(), std::env::var(\"ODD\").unwrap(), std::env::var(\"HOME\").is_err())")
    assert value(kc, "named_env") == '("set in a cell", "a=b", true)'
    c = cell(kc, "%%slurm run --export 'A B'\n1u8")
    assert c.status == "error" and c.error()["ename"] == "MagicSyntaxError", c.error()


def test_tasks_get_the_environment_the_session_has_now(nb):
    """--export ALL sends the session's environment as it stands when the
    magic runs: changed by a cell, by a thread after its cell ended, undone
    with a crashed cell's other changes; the kernel's own variables are
    never in it."""
    _, kc, _ = nb
    ok(kc, 'unsafe { std::env::set_var("SLUICE_TEST_STEP", "one") };')
    ok(kc, 'std::thread::spawn(|| { std::thread::sleep(std::time::Duration::from_millis(100)); '
           'unsafe { std::env::set_var("SLUICE_TEST_LATE", "from a thread") } });')
    ok(kc, "std::thread::sleep(std::time::Duration::from_millis(400));")
    c = cell(kc, 'unsafe { std::env::set_var("SLUICE_TEST_STEP", "two") }; std::process::abort();')
    assert c.status == "error" and "restored" in c.error()["evalue"], c.error()
    ok(kc, "%%slurm run -> seen\n"
           "(std::env::var(\"SLUICE_TEST_STEP\").unwrap_or_default(), std::env::var(\"SLUICE_TEST_LATE\").unwrap_or_default(), "
           "std::env::vars().any(|(k, _)| k.starts_with(\"SLUICE_ENVIRONMENT\") || k.starts_with(\"SLUICE_ADOPTION\")))")
    assert value(kc, "seen") == '("one", "from a thread", false)'
    ok(kc, 'unsafe { std::env::remove_var("SLUICE_TEST_STEP") };')
    ok(kc, "%%slurm map 0..2 -> gone\n|_i: u32| std::env::var(\"SLUICE_TEST_STEP\").is_err()")
    assert value(kc, "gone") == "[true, true]"
    assert value(kc, 'std::env::var("SLUICE_ENVIRONMENT_FILE").is_err()') == "true"


def test_retry_after_a_kernel_restart_reruns_only_the_failed(tmp_path):
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=str(tmp_path))
    try:
        c = cell(kc, "%%slurm map 0..3 -> hb\nfn f(x: u64) -> u64 { if x == 2 && !std::path::Path::new(\"fixed\").exists() { panic!(\"x\") } x }")
        assert c.status == "error" and c.error()["ename"] == "TaskFailed", c.error()
        km.restart_kernel(now=True)
        kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        (tmp_path / "fixed").write_text("")
        c = cell(kc, "%slurm retry hb", timeout=300)
        assert c.status == "ok", c.error()
        assert "retrying 1 failed element of `hb`: [2]" in texts(c)
        assert value(kc, "hb") == "[0, 1, 2]"
        t = texts(ok(kc, "%slurm status hb"))
        assert "COMPLETED" in t and "3 completed" in t, t
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_task_panic_points_at_the_magic_cells_line(nb):
    _, kc, _ = nb
    c = cell(kc, "%%slurm map 0..2 -> located\nfn f(x: u32) -> u32 {\n    if x == 1 {\n        panic!(\"boom {x}\")\n    }\n    x\n}")
    assert c.status == "error" and c.error()["ename"] == "TaskFailed", c.error()
    tb = "\n".join(c.error()["traceback"])
    assert "cell:4:9" in tb and "boom 1" in tb, tb
    assert "src/main.rs" not in tb, tb


def test_an_interrupt_during_the_task_build_stops_cargo_and_submits_nothing(nb):
    km, kc, _ = nb
    before = texts(ok(kc, "%slurm jobs"))
    # A constant that takes rustc a long time to evaluate keeps cargo busy.
    code = ("%%slurm map 0..2 -> never_built\n"
            "|x: u64| -> u64 {\n"
            "    #[allow(long_running_const_eval)]\n"
            "    const SLOW: u64 = { let mut i = 0u64; let mut s = 0u64; while i < 400_000_000 { s = s.wrapping_add(i ^ 7); i += 1; } s };\n"
            "    x + SLOW\n"
            "}")
    from conftest import run_interrupted
    c = run_interrupted(km, kc, code, after=4)
    assert c.status == "error" and c.error()["ename"] == "Interrupted", c.error()
    assert "nothing was submitted" in c.error()["evalue"], c.error()
    assert "never_built" not in texts(ok(kc, "%slurm jobs")), before
    import subprocess
    rustc = subprocess.run(["pgrep", "-f", "crate-name sluice_task"], capture_output=True, text=True).stdout
    assert value(kc, "1 + 1") == "2"
    assert not rustc.strip(), rustc
