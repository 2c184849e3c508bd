#!/usr/bin/env bash
# Benchmarks trunkguard on the pinned OpenStack corpus against its own parse floor, ruff, bandit and
# semgrep, then on generated hostile files (bench/stress.py), and prints a Markdown report
# (BENCHMARKS.md holds the last one). Not part of CI.
#
#   bench/run.sh                        # neutron + the five-tree corpus; bandit and semgrep on neutron
#   SLOW_ON="neutron corpus" bench/run.sh   # bandit and semgrep on the corpus too (minutes)
#   RUNS=9 bench/run.sh                 # more rounds (see bench/measure.py for every knob)
#
# Needs python3 with pip and venv. ruff, bandit and semgrep are installed into target/bench-venv.
# Run it on an otherwise idle machine: commands alternate round by round; medians are reported.
set -euo pipefail
cd "$(dirname "$0")/.."
export TRUNKGUARD_CORPUS=${TRUNKGUARD_CORPUS:-corpus}
bench/fetch-corpus.sh all
cargo build --release --quiet
venv=target/bench-venv
if [ ! -x "$venv/bin/ruff" ] || [ ! -x "$venv/bin/bandit" ] || [ ! -x "$venv/bin/semgrep" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check ruff bandit semgrep
fi
export SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off
python3 bench/measure.py "$TRUNKGUARD_CORPUS" "$venv"
echo
python3 bench/stress.py target/release/trunkguard
