#!/usr/bin/env bash
# The whole test suite, from a clean clone: sets up what it needs
# (install/install.sh: Debian packages, release build, venv, kernelspec),
# starts a real one-node Slurm cluster and an sshd on 127.0.0.1 (both fail
# the run loudly if they cannot start), checks formatting and lints, runs the
# Rust tests, then drives the real kernel with real Jupyter clients (pytest
# under tests/python). The daemons keep running afterwards; stop them with
# install/slurm-stop.sh and install/sshd-local.sh stop.
# Usage: tests/run.sh [extra pytest args]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

install/install.sh

# Graphviz checks the DOT text `%slurm graph --dot` writes (a test tool only).
if ! command -v dot >/dev/null 2>&1; then
  echo "==> installing graphviz (for the DOT test)"
  # shellcheck source=/dev/null
  . install/apt-quiet.sh
  apt_install graphviz || { echo "error: cannot install graphviz, which the DOT test needs" >&2; exit 1; }
fi

# Headless Chromium and its WebDriver look at the exported notebooks
# (tests/python/test_browser.py; test tools only).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "==> installing chromium and chromium-driver (for the browser check)"
  # shellcheck source=/dev/null
  . install/apt-quiet.sh
  apt_install chromium chromium-driver fonts-dejavu-core || { echo "error: cannot install chromium, which the browser check needs" >&2; exit 1; }
fi

echo "==> local Slurm cluster and sshd on 127.0.0.1 (for the Slurm and SSH tests)"
install/slurm-local.sh
install/sshd-local.sh
# shellcheck source=/dev/null
. install/state/slurm/env.sh
# The SSH settings (SLUICE_HOST, ...) are read by the tests that want them.
export SLUICE_TEST_SSH_ENV=$repo/install/state/sshd/env.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --release --locked --all-targets -- -D warnings
echo "==> cargo test"
cargo test --release --locked --workspace

echo "==> pytest (real kernel, real Jupyter clients)"
.venv/bin/python -m pytest -q tests/python "$@"
