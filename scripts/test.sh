#!/usr/bin/env bash
# Runs every test of obsgen on a fresh machine: installs the validators the tests use
# (scripts/install-validators.sh, idempotent; needs root or sudo for apt), puts them on
# PATH, then runs formatting, lint and the whole test suite. `.ci/run` calls this.
set -euo pipefail
cd "$(dirname "$0")/.."

PREFIX=${VALIDATORS_PREFIX:-/opt/infra-validators}
bash scripts/install-validators.sh "$PREFIX"
# shellcheck disable=SC1091
. "$PREFIX/env.sh"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
