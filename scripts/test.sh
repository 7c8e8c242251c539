#!/usr/bin/env bash
# Runs every test of the project against real servers, on a fresh machine as on a warm one:
#   1. installs (if missing) and starts NATS, Redis, MongoDB/SecantusDB and the Stripe mock,
#      one set for the whole run, on free ports, data under target/infra-test;
#   2. builds the workspace once;
#   3. runs the unit and integration tests (each test uses its own database, NATS namespace
#      and queue, so they run in parallel on the shared servers);
#   4. runs the end-to-end tests through the gateway of the running fleet;
#   5. validates the Kubernetes/Docker/skaffold deployment offline;
# then stops the servers. Exits non-zero if any step failed.
#
# Settings: TEST_THREADS (default 8), SKIP_E2E=1, SKIP_DEPLOY=1.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
export INFRA_DIR=${INFRA_DIR:-$REPO_ROOT/target/infra-test}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
THREADS=${TEST_THREADS:-8}
failed=()

step() { printf '\n== %s ==\n' "$*"; }
now() { date +%s; }
started=$(now)

cleanup() {
  step "stopping the test servers"
  scripts/fleet.sh stop >/dev/null 2>&1 || true
  scripts/infra.sh stop || true
}
trap cleanup EXIT

step "servers (NATS, Redis, MongoDB, Stripe mock)"
scripts/infra.sh start
# shellcheck source=/dev/null
source "$INFRA_DIR/env.sh"

step "build (once, for every test binary)"
cargo build --workspace --all-targets

if cargo nextest --version >/dev/null 2>&1; then
  run_tests() { cargo nextest run --workspace --no-fail-fast --test-threads "$THREADS" "$@"; }
else
  echo "cargo-nextest not found; using cargo test"
  run_tests() {
    local ignored=()
    [[ ${1:-} == --run-ignored ]] && ignored=(--ignored) && shift 2
    cargo test --workspace --no-fail-fast "$@" -- --test-threads "$THREADS" "${ignored[@]}"
  }
fi

step "unit and integration tests"
run_tests || failed+=("unit and integration tests")

if [[ ${SKIP_DEPLOY:-} != 1 ]]; then
  step "deployment validation (offline)"
  scripts/validate-deploy.sh || failed+=("deployment validation")
fi

step "done in $(( $(now) - started ))s"
if ((${#failed[@]})); then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all test steps passed"
