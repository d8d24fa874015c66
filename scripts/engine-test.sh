#!/usr/bin/env bash
# engine-test.sh — run the generated stacks of the examples under a real container engine
# (issue 17; what it proves and what it cannot: docs/engine.md).
#
#   usage: scripts/engine-test.sh [--examples minimal,shop] [--envs production,development]
#
# Starts dockerd when none runs (and stops only that one), builds stand-in images from a
# debootstrap rootfs (cached under $VALIDATORS_PREFIX/engine/) and Debian's binaries, tags them
# obsgen-standin/*:test only, points each generated stack at them with a test-only override
# file in a temporary copy, runs `docker-compose up` and checks the running stack; removes
# every container, network, volume and image it created.
# Exit: 0 pass, 1 failure, 77 skipped (no engine; never under CI=true, where that is a failure).
# Env: OBSGEN_BIN (default target/debug/obsgen), OBSGEN_ENGINE_KEEP_IMAGES=1 (keep the
# stand-in images for a faster next run), ENGINE_DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${VALIDATORS_PREFIX:-/opt/infra-validators}
export VALIDATORS_PREFIX=$PREFIX
# A python3 with PyYAML (Debian's python3-yaml, installed by scripts/install-validators.sh).
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import yaml, tomllib' 2>/dev/null; then exec "$py" tests/engine/run.py "$@"; fi
done
if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
  echo "engine test FAILED: no python3 (>= 3.11) with PyYAML; run scripts/install-validators.sh" >&2
  exit 1
fi
echo "engine test SKIPPED: no python3 (>= 3.11) with PyYAML; run scripts/install-validators.sh" >&2
exit 77
