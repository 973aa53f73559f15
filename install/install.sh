#!/usr/bin/env bash
# Sets sluice up on a Debian machine that has the Rust toolchain (idempotent):
#   - Debian packages the build and the Python side need (only if missing),
#   - the release build of the `sluice` kernel (cargo --locked),
#   - a Python venv in .venv with the pinned Jupyter clients (install/requirements.txt)
#     and the papermill translator for Rust (install/papermill_rust),
#   - the kernelspec installed into that venv, so its jupyter finds "sluice".
# Prints what to run next. Usage: install/install.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev)
dpkg -s zlib1g-dev >/dev/null 2>&1 || need_apt+=(zlib1g-dev)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need_apt+=(python3-venv)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}"
fi

command -v cargo >/dev/null 2>&1 || {
  echo "error: cargo not found. sluice needs the Rust toolchain (rustup) on this machine." >&2
  exit 1
}

say "building the sluice kernel (release; the first build takes about 5 minutes)"
cargo build --release --locked -p sluice

say "creating the Python environment in .venv"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# The pinned clients, and sluice's papermill translator (install/papermill_rust);
# reinstalled only when either changes.
stamp=.venv/.sluice-requirements
want=$(cat install/requirements.txt install/papermill_rust/pyproject.toml install/papermill_rust/*.py | sha256sum)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r install/requirements.txt
  .venv/bin/pip install -q --force-reinstall --no-deps ./install/papermill_rust
  echo "$want" > "$stamp"
fi

say "installing the kernelspec into .venv"
VIRTUAL_ENV="$repo/.venv" target/release/sluice install --sys-prefix
.venv/bin/jupyter kernelspec list | grep -q sluice || {
  echo "error: jupyter does not list the sluice kernelspec" >&2
  exit 1
}

cat <<MSG

sluice is installed.
  Run the demo notebook:   install/demo.sh
  Run every test:          tests/run.sh
  Use it in JupyterLab:    .venv/bin/jupyter lab    (pick the "Rust (sluice)" kernel)
MSG
