"""evcxr's session crate kept across kernel starts (kernel/src/kept_session.rs),
in a private SLUICE_SESSION_DIR: two kernels at once get two slots and both
work; a slot left without its ready marker, or whose build state is
corrupted, is emptied and rebuilt; a toolchain change gets its own
directory and the old one is deleted; cells build at opt-level 0 and the
dependencies at 2 (the cargo configuration above the slots); opt_level in
the user's evcxr.toml is the level evcxr starts at (evcxr_config.rs)."""

import os
import stat
import subprocess
import tempfile
import tomllib
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from conftest import STARTUP_TIMEOUT, ok, result, run_cell, stop

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


def probe_crate():
    """A path dependency whose constant is the opt-level cargo built it at
    (build scripts get the package's OPT_LEVEL)."""
    d = Path(tempfile.mkdtemp(prefix="optprobe-"))
    (d / "src").mkdir()
    (d / "Cargo.toml").write_text(
        '[package]\nname = "optprobe"\nversion = "0.1.0"\nedition = "2021"\nbuild = "build.rs"\n')
    (d / "build.rs").write_text(
        'fn main() { println!("cargo:rustc-env=PROBE_OPT_LEVEL={}", '
        'std::env::var("OPT_LEVEL").unwrap()); }\n')
    (d / "src" / "lib.rs").write_text('pub const OPT_LEVEL: &str = env!("PROBE_OPT_LEVEL");\n')
    return d


def cell_opt_level(slot):
    """The opt-level evcxr wrote for the session crate (its [profile.dev])."""
    text = (slot / "Cargo.toml").read_text()
    profile = text.split("[profile.dev]", 1)[1]
    return next(line.split("=", 1)[1].strip() for line in profile.splitlines()
                if line.startswith("opt-level"))


def test_cells_build_at_opt_level_0_and_dependencies_at_2():
    root = Path(tempfile.mkdtemp(prefix="sluice-kept-"))
    probe = probe_crate()
    km, kc = start(root)
    try:
        slot = slot_of(kc)
        assert cell_opt_level(slot) == "0"
        ok(kc, f':dep optprobe = {{ path = "{probe}" }}')
        assert result(kc, "optprobe::OPT_LEVEL") == "2"
        rlibs = {p: p.stat().st_mtime_ns for p in slot.glob("target/*/debug/deps/liboptprobe-*.rlib")}
        assert rlibs, "the dependency's build was not found"
        # `:opt 2` builds the cells at 2; the dependency is not rebuilt.
        ok(kc, ":opt 2")
        assert result(kc, "format!(\"dependency {}\", optprobe::OPT_LEVEL)") == "dependency 2"
        assert cell_opt_level(slot) == "2"
        assert {p: p.stat().st_mtime_ns for p in slot.glob("target/*/debug/deps/liboptprobe-*.rlib")} == rlibs
        # A level Cargo does not have is refused on its cell, and the cells
        # after it still build; `s` and `z` reach the manifest quoted.
        c = run_cell(kc, ":opt fast")
        assert c.status == "error" and "0, 1, 2, 3, s or z" in c.error()["evalue"], c.error()
        assert result(kc, "6 * 7") == "42"
        ok(kc, ":opt s")
        assert result(kc, "6 * 8") == "48"
        assert cell_opt_level(slot) == '"s"'
    finally:
        stop(km, kc)
    # SLUICE_CELL_OPT chooses the cells' level, checked as `:opt` is (`s`
    # quoted); a level Cargo does not have, or an empty value (which evcxr
    # took as `:opt` alone, a toggle to 2), falls back to 0 and cells build.
    for value, level in (("3", "3"), ("s", '"s"'), ("fast", "0"), ("", "0")):
        km, kc = start(root, SLUICE_CELL_OPT=value)
        try:
            assert result(kc, "40 + 2") == "42"
            assert cell_opt_level(slot_of(kc)) == level, value
        finally:
            stop(km, kc)


def test_the_users_evcxr_settings_choose_the_level_evcxr_starts_at():
    """opt_level in the user's evcxr.toml is the cells' level (SLUICE_CELL_OPT
    unset), given to evcxr before its first build through the slot's copy of
    the settings; the user's other files stay readable by `:load_config`."""
    root = Path(tempfile.mkdtemp(prefix="sluice-kept-"))
    user = Path(tempfile.mkdtemp(prefix="evcxr-config-"))
    (user / "init.evcxr").write_text("let from_init = 40 + 2;\n")
    for value, level in (("1", "1"), ("s", '"s"'), ("fast", "0")):
        (user / "evcxr.toml").write_text(f'[evcxr]\nopt_level = "{value}"\n')
        km, kc = start(root, EVCXR_CONFIG_DIR=str(user))
        try:
            slot = slot_of(kc)
            assert result(kc, "6 * 7") == "42"
            assert cell_opt_level(slot) == level, value
            overlay = Path(result(kc, 'std::env::var("EVCXR_CONFIG_DIR").unwrap()').strip('"'))
            assert overlay == slot / "evcxr-config"
            assert tomllib.loads((overlay / "evcxr.toml").read_text())["evcxr"]["opt_level"] == level
            if value == "1":
                ok(kc, ":load_config")
                assert result(kc, "from_init") == "42"
        finally:
            stop(km, kc)
