"""evcxr's session crate kept across kernel starts (kernel/src/kept_session.rs),
in a private SLUICE_SESSION_DIR: two kernels at once get two slots and both
work; a slot left without its ready marker, or whose build state is
corrupted, is emptied and rebuilt; a toolchain change gets its own
directory and the old one is deleted."""

import os
import stat
import subprocess
import tempfile
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, result, stop

TMPDIR_OF_SESSION = 'std::env::var("EVCXR_TMPDIR").unwrap_or_default()'


def start(root, **extra):
    env = dict(os.environ, SLUICE_SESSION_DIR=str(root), **extra)
    env.pop("EVCXR_TMPDIR", None)
    return start_new_kernel(kernel_name="sluice", startup_timeout=STARTUP_TIMEOUT, env=env)


def slot_of(kc):
    return Path(result(kc, TMPDIR_OF_SESSION))


def test_two_kernels_at_once_get_two_slots_and_both_work():
    root = Path(tempfile.mkdtemp(prefix="sluice-kept-"))
    a, b = start(root), start(root)
    try:
        sa, sb = slot_of(a[1]), slot_of(b[1])
        assert sa != sb and sa.parent == sb.parent and sa.parent.parent == root, (sa, sb)
        assert result(a[1], "let x = 20; x + 1") == "21"
        assert result(b[1], "let x = 40; x + 2") == "42"
        assert result(a[1], "x") == "20" and result(b[1], "x") == "40"
        assert (sa / "sluice-ready").exists() and (sb / "sluice-ready").exists()
    finally:
        stop(*a)
        stop(*b)
    # The next kernel reuses the first free slot, warm.
    km, kc = start(root)
    try:
        assert slot_of(kc) == sa
        assert result(kc, "6 * 7") == "42"
    finally:
        stop(km, kc)


def test_a_slot_not_left_ready_is_emptied_and_a_corrupted_one_rebuilt():
    root = Path(tempfile.mkdtemp(prefix="sluice-kept-"))
    km, kc = start(root)
    slot = slot_of(kc)
    stop(km, kc)
    # A kernel died mid-warm-up: no marker, leftovers.
    (slot / "sluice-ready").unlink()
    (slot / "leftover").write_text("x")
    km, kc = start(root)
    try:
        assert slot_of(kc) == slot
        assert not (slot / "leftover").exists(), "the slot was not emptied"
        assert result(kc, "1 + 1") == "2"
    finally:
        stop(km, kc)
    # Marked ready, but its build directory is broken: cargo cannot build
    # there, the warm-up fails once, the slot is emptied and built afresh.
    target = slot / "target"
    subprocess.run(["rm", "-rf", str(target)], check=True)
    target.write_text("not a directory")
    km, kc = start(root)
    try:
        assert slot_of(kc) == slot
        assert result(kc, "2 + 2") == "4"
        assert target.is_dir()
    finally:
        stop(km, kc)


def test_a_toolchain_change_gets_its_own_directory_and_the_old_one_goes():
    root = Path(tempfile.mkdtemp(prefix="sluice-kept-"))
    km, kc = start(root)
    old_key = slot_of(kc).parent
    stop(km, kc)
    # Same compiler, but `rustc -vV` says another commit: what an update
    # of the toolchain looks like to the key.
    real = subprocess.run(["sh", "-c", "command -v rustc"], capture_output=True, text=True).stdout.strip()
    bindir = Path(tempfile.mkdtemp(prefix="fake-rustc-"))
    fake = bindir / "rustc"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-vV" ]; then "{real}" -vV | sed "s/^commit-hash: /commit-hash: 0other/"; '
        f'else exec "{real}" "$@"; fi\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    km, kc = start(root, PATH=f"{bindir}:{os.environ['PATH']}")
    try:
        new_key = slot_of(kc).parent
        assert new_key != old_key
        assert result(kc, "3 + 3") == "6"
        assert not old_key.exists(), "the other toolchain's kept sessions were not deleted"
    finally:
        stop(km, kc)
