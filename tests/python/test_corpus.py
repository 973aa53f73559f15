"""A corpus of malformed and extreme magic lines and bodies, sent to one
kernel: every reply is `ok` or an `error` with an ename, within a bounded
time, and the kernel still runs `1 + 1` at the end (and in between)."""

import itertools
import tempfile

import pytest
from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, run_cell

OPTIONS = ["--time", "--mem", "--cpus-per-task", "--max-concurrent", "--chunk", "--retries",
           "--partition", "--account", "--qos", "--gres", "--name", "--after", "--dependency",
           "--backend", "--chdir"]
NUMBERS = ["0", "-1", "-9223372036854775808", "9223372036854775807", "18446744073709551616",
           "340282366920938463463374607431768211456", "1e309", "NaN", "0x10", "1_000", ""]
INJECTIONS = ["$(touch /tmp/sluice-pwned)", "`reboot`", "a;rm -rf ~", "x' y", "'", "\"", "a\nb", "--help",
              "../../etc/passwd", "\u202e", "é", "a" * 5000]
NAMES = ["fn", "self", "Self", "_", "r#self", "9x", "a-b", "", "r#", "crate", "union", "x" * 300]


def corpus():
    lines = []
    # Unterminated quotes and brackets.
    for magic in ["%%slurm map", "%%slurm run", "%%sweep", "%slurm", "%slurm status", "%slurm logs"]:
        lines += [f"{magic} \"", f"{magic} '", f"{magic} [", f"{magic} (", f"{magic} {{", f"{magic} \"a b"]
    # Every option with extreme numbers.
    for opt, num in itertools.product(OPTIONS, NUMBERS):
        lines.append(f"%%slurm map 0..2 {opt} {num}\nfn f(x: u8) -> u8 {{ x }}")
    # Injection strings in every option.
    for opt, inj in itertools.product(OPTIONS, INJECTIONS[:6]):
        lines.append(f"%%slurm run {opt} '{inj}'\n1u8")
    # Keywords and odd names.
    for name in NAMES:
        lines += [f"%%slurm run -> {name}\n1u8", f"%%sweep {name} in [1]\n1u8", f"%%slurm map 0..1 -> {name}\nfn f(x: u8) -> u8 {{ x }}"]
    # Ranges and sweeps at the edges.
    for r in ["0..0", "5..2", "-9223372036854775808..9223372036854775807", "0..=18446744073709551615",
              "0..99999999999999999999999999999999999999999", "1..=0", "..", "0..", "..5"]:
        lines += [f"%%slurm map {r}\nfn f(x: i64) -> i64 {{ x }}", f"%%sweep a in {r}\na"]
    for values in ["linspace(0, 1, 0)", "linspace(0, 1, -1)", "logspace(400, 500, 3)", "[]", "[,]",
                   "[1, \"a\"]", "linspace(a, b)", "[1] --random 0", "0..3 --random 999999999999"]:
        lines.append(f"%%sweep a in {values}\na")
    # Empty, odd and huge bodies.
    lines += ["%%slurm map 0..2\n", "%%slurm run\n", "%%sweep a in [1]\n", "%%slurm map 0..2\n}}}}",
              "%%slurm run\n" + "1 + " * 3000 + "1", "%%slurm map 0..2\nfn f(x: u8) -> u8 { x }\n" + "// pad\n" * 5000,
              "%%slurm map 0..2\n|x| x", "%%slurm map 0..2\nfn f() {}", "%%slurm run\npanic!()"]
    # Line magics with junk.
    for sub in ["wait", "cancel", "logs", "retry", "load", "status", "graph", "config", "help", "jobs", "report", "frob"]:
        lines += [f"%slurm {sub} nobody", f"%slurm {sub} --bogus", f"%slurm {sub} " + INJECTIONS[0]]
    lines += ["%slurm logs x[99999999999999999999999]", "%slurm logs x[-1]", "%slurm logs [", "%lsmagic extra",
              "%%bogus", "%", "%%", "%%slurm", "%%slurm map", "%slurm config --workdir ''"]
    return lines


def test_corpus_has_two_hundred_cases():
    assert len(corpus()) >= 200


@pytest.fixture(scope="module")
def kc():
    workdir = tempfile.mkdtemp(prefix="sluice-corpus-")
    km, kc = start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, cwd=workdir)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_every_malformed_line_is_ok_or_a_named_error_and_the_kernel_goes_on(kc):
    failures = []
    for i, code in enumerate(corpus()):
        c = run_cell(kc, code, timeout=300)
        status = c.reply["content"]["status"]
        if status == "error":
            if not c.reply["content"].get("ename"):
                failures.append((code[:80], "error reply without ename"))
        elif status != "ok":
            failures.append((code[:80], status))
        if i % 40 == 39:
            check = run_cell(kc, "1 + 1", timeout=120)
            assert check.of_type("execute_result"), (code[:80], check.error())
    assert not failures, failures[:10]
    end = run_cell(kc, "1 + 1", timeout=120)
    assert end.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "2"
    import os
    assert not os.path.exists("/tmp/sluice-pwned")
