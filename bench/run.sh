#!/usr/bin/env bash
# Benchmarks trunkguard on real OpenStack trees and prints a Markdown report (BENCHMARKS.md holds the
# last one). Compares, for context, with ruff and bandit running their closest rules.
#
#   bench/run.sh            # needs python3 and pip (ruff, bandit are installed into target/bench-venv)
#
# Run it on an otherwise idle machine: wall times are medians of $RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
export TRUNKGUARD_CORPUS=${TRUNKGUARD_CORPUS:-corpus}
bench/fetch-corpus.sh all
cargo build --release --quiet
venv=target/bench-venv
if [ ! -x "$venv/bin/ruff" ] || [ ! -x "$venv/bin/bandit" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check ruff bandit
fi
python3 bench/measure.py "$RUNS" "$TRUNKGUARD_CORPUS" "$venv"
