#!/usr/bin/env bash
# Downloads real OpenStack trees (wheels from PyPI, verified by sha256) and unpacks them under
# $TRUNKGUARD_CORPUS (default: ./corpus, gitignored). Already unpacked trees are reused.
# Fails loudly — never skips — when a download or a checksum fails.
#
#   bench/fetch-corpus.sh            # neutron only (what the CI smoke test needs)
#   bench/fetch-corpus.sh all        # neutron, neutron-lib, nova, keystone, cinder (benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${TRUNKGUARD_CORPUS:-corpus}
mkdir -p "$corpus/wheels"

# name version sha256
pins=(
  "neutron 29.0.0 6e998e2e55d233ff757f3ae1d53dd8dfd2cb455a01868e494c22fd6b8b0aba36"
)
if [ "${1:-}" = all ]; then
  pins+=(
    "neutron-lib 5.0.1 4196c465ac7c9292e8019499873ac6ac92246d44cf6d6c91269ef1951c6ede24"
    "nova 34.0.0 8b46997836961762608e6e46e6d4945325d8a1fb8004e79e552e55839061f10c"
    "keystone 30.0.0 d0fa097278b1c1eda5b2c727766322a6a8afac0ed848d3104253855d4d483515"
    "cinder 29.0.0 da8b1441740fb2dcfd76138607c6a96fc14d2548826741a6246bbd0d73f88860"
  )
fi

for pin in "${pins[@]}"; do
  read -r name version sha <<<"$pin"
  dest="$corpus/$name-$version"
  wheel_name=$(echo "$name" | tr - _)-$version-py3-none-any.whl
  if [ ! -f "$corpus/wheels/$wheel_name" ]; then
    echo "fetch-corpus: downloading $name==$version" >&2
    rm -f "$dest/.complete"
    python3 -m pip download --quiet --no-deps --no-binary :none: --only-binary :all: \
      -d "$corpus/wheels" "$name==$version" \
      || { echo "fetch-corpus: ERROR: download of $name==$version failed" >&2; exit 1; }
  fi
  # Every run checks every wheel: a tree is only trusted while its pinned wheel is there, intact.
  got=$(sha256sum "$corpus/wheels/$wheel_name" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "fetch-corpus: ERROR: $wheel_name has sha256 $got, expected $sha" >&2
    exit 1
  fi
  if [ -f "$dest/.complete" ]; then
    continue
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  python3 -m zipfile -e "$corpus/wheels/$wheel_name" "$dest"
  touch "$dest/.complete"
  echo "fetch-corpus: $dest ready ($(find "$dest" -name '*.py' | wc -l) Python files)" >&2
done
