#!/usr/bin/env bash
# Runs every test of the project against real servers, on a fresh machine as on a warm one:
#   1. installs (if missing) and starts NATS, Redis, MongoDB/SecantusDB and the Stripe mock,
#      one set for the whole run, on free ports, data under target/infra-test;
#   2. builds the workspace once;
#   3. runs the unit and integration tests (each test uses its own database, NATS namespace
#      and queue, so they run in parallel on the shared servers);
#   4. runs the end-to-end tests through the gateway of the running fleet, the purchase flow
#      over HTTP and a buyer's journey in headless Chromium (installed if missing), then, alone,
#      the fault tests (services killed, servers restarted under a purchase workload);
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

# run_tests SELECTION... [--ignored-only] [--only=NAME | --skip=NAME]: nextest when installed (it is
# on the project's machines), else cargo test. NAME: a part of the test names to run or leave out.
if cargo nextest --version >/dev/null 2>&1; then
  run_tests() {
    local args=()
    for a in "$@"; do
      case $a in
      --ignored-only) args+=(--run-ignored ignored-only) ;;
      --only=*) args+=(-E "test(/${a#--only=}/)") ;;
      --skip=*) args+=(-E "not test(/${a#--skip=}/)") ;;
      *) args+=("$a") ;;
      esac
    done
    cargo nextest run --no-fail-fast --test-threads "$THREADS" "${args[@]}"
  }
else
  echo "cargo-nextest not found; using cargo test"
  run_tests() {
    local args=() harness=(--test-threads "$THREADS")
    for a in "$@"; do
      case $a in
      --ignored-only) harness+=(--ignored) ;;
      --only=*) harness+=("${a#--only=}") ;;
      --skip=*) harness+=(--skip "${a#--skip=}") ;;
      *) args+=("$a") ;;
      esac
    done
    cargo test --no-fail-fast "${args[@]}" -- "${harness[@]}"
  }
fi

step "unit and integration tests"
run_tests --workspace || failed+=("unit and integration tests")

# The browser test needs Debian's Chromium and its driver; without them it skips, loudly.
ensure_browser() {
  command -v chromedriver >/dev/null 2>&1 && return 0
  echo "installing chromium and chromium-driver (Debian) for the browser test"
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  if ! "${sudo[@]}" apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -q >/dev/null 2>&1 || true
    "${sudo[@]}" apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 ||
      echo "!!! could not install chromium: the browser test will be SKIPPED !!!"
  fi
}

# The fleet runs the binaries just built, on the same servers, with a short expiration window
# so the "don't pay" flow finishes in seconds.
run_e2e() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  EXPIRATION_WINDOW_SECONDS=${E2E_EXPIRATION_WINDOW_SECONDS:-8} FLEET_PROFILE=debug FLEET_NO_BUILD=1 \
    FLEET_INFRA_DIR=$INFRA_DIR TICKETING_PORT=$port scripts/fleet.sh --detach || return 1
  # shellcheck source=/dev/null
  source target/fleet/env.sh
  export GATEWAY_URL
  ensure_browser
  run_tests -p e2e -p client --ignored-only --skip=under_faults
}
if [[ ${SKIP_E2E:-} != 1 ]]; then
  step "end-to-end: the running fleet through its gateway"
  run_e2e || failed+=("end-to-end tests")
  # Alone, last: it kills the services and restarts the servers the other tests share.
  if [[ -f target/fleet/env.sh ]]; then
    step "end-to-end: faults (services killed, servers restarted) under a purchase workload"
    run_tests -p e2e --ignored-only --only=under_faults || failed+=("fault tests")
  fi
  # Stops the fleet's services and gateway, and with them the shared servers.
  scripts/fleet.sh stop || true
fi

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
