#!/usr/bin/env bash
# The whole test suite, from a clean clone: sets up what it needs
# (install/install.sh: Debian packages, release build, venv, kernelspec),
# checks formatting and lints, runs the Rust tests, then drives the real
# kernel with real Jupyter clients (pytest under tests/python).
# Usage: tests/run.sh [extra pytest args]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

install/install.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --release --locked --all-targets -- -D warnings
echo "==> cargo test"
cargo test --release --locked --workspace

echo "==> pytest (real kernel, real Jupyter clients)"
.venv/bin/python -m pytest -q tests/python "$@"
