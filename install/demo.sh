#!/usr/bin/env bash
# The main job: sets sluice up (install/install.sh) and executes the demo
# notebook with nbconvert on the local executor, saving the executed
# notebook and an HTML rendering under out/.
# Usage: install/demo.sh [NOTEBOOK]   (default: notebooks/fan_out_fan_in.ipynb)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
install/install.sh
nb=${1:-notebooks/fan_out_fan_in.ipynb}
[ -f "$nb" ] || nb=notebooks/tour.ipynb
name=$(basename "$nb" .ipynb)
mkdir -p out
echo "==> executing $nb"
.venv/bin/jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1800 \
  "$nb" --output-dir out --output "$name.executed"
.venv/bin/jupyter nbconvert --to html out/"$name.executed.ipynb" --output-dir out --output "$name"
echo
echo "Executed notebook: out/$name.executed.ipynb"
echo "Rendered page:     out/$name.html"
