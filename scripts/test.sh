#!/usr/bin/env bash
# Runs every test of the project against real servers, on a fresh machine as on a warm one:
#   1. installs (if missing) NATS, Redis, MongoDB/SecantusDB and the Stripe mock;
#   2. builds the workspace once;
#   3. starts the servers (the fleet binary of that build runs them), one set for the whole
#      run, on free ports, data under target/infra-test;
#   4. runs the unit and integration tests (each test uses its own database, NATS namespace
#      and queue, so they run in parallel on the shared servers);
#   5. runs the end-to-end tests through the gateway of the running fleet, the purchase flow
#      over HTTP and a buyer's journey in headless Chromium (installed if missing), then, alone,
#      the fault tests (services killed, servers restarted under a purchase workload); then
#      the purchase flows and the fault tests again with two instances of every service;
#   6. validates the Kubernetes/Docker/skaffold deployment offline;
# then stops the servers. Exits non-zero if any step failed.
#
# Nothing hangs: every test has a time bound (.config/nextest.toml), and a watchdog bounds each
# step and checks every few seconds that the servers still answer. When a step runs past its
# bound or a server stops answering, the watchdog prints what is stuck (the tests still running,
# a thread dump of each MongoDB stand-in with py-spy, where the logs are), stops the step and
# the run fails.
#
# Settings: TEST_THREADS (default 8), SKIP_E2E=1, SKIP_DEPLOY=1,
#   TEST_TIME_SCALE     how much longer than usual tests wait for background work (default 1)
#   TEST_STEP_LIMIT     bound of each test step in seconds (default 1200)
#   TEST_STALL_SECONDS  how long a server may go without answering before the run is stopped
#                       (default 45; a server restarted by the fault test is back in seconds)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"
# A CI run builds from scratch once: incremental compilation would only add time and several
# GiB of disk.
if [[ -n ${CI:-} ]]; then export CARGO_INCREMENTAL=0; fi
export INFRA_DIR=${INFRA_DIR:-$REPO_ROOT/target/infra-test}
# The fleet binary of this build runs the servers (scripts/infra.sh passes it where they are).
export FLEET_BIN=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/fleet
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
THREADS=${TEST_THREADS:-8}
STEP_LIMIT=${TEST_STEP_LIMIT:-1200}
STALL_SECONDS=${TEST_STALL_SECONDS:-45}
WATCH_EVERY=10
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/ticketing/venv
STALL_FILE=$REPO_ROOT/target/test-stall
failed=()
mkdir -p "$REPO_ROOT/target"
rm -f "$STALL_FILE"

step() { printf '\n== %s ==\n' "$*"; }
now() { date +%s; }
started=$(now)

STEP_PID=""
cleanup() {
  [[ -z $STEP_PID ]] || kill -KILL -- "-$STEP_PID" 2>/dev/null || true
  step "stopping the test servers"
  scripts/fleet.sh stop >/dev/null 2>&1 || true
  # Servers run only once the build made the fleet binary that runs them.
  [[ ! -x $FLEET_BIN ]] || scripts/infra.sh stop || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The servers that do not answer a trivial request within a few seconds, space-separated:
# each MongoDB server (a read through its storage, not just a ping), NATS, Redis.
MONGO_PROBE='
import sys, pymongo
c = pymongo.MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/?directConnection=true",
                        serverSelectionTimeoutMS=4000, socketTimeoutMS=4000, connectTimeoutMS=2000)
probe = c["test_watchdog"]["probe"]
if probe.find_one({"_id": 1}) is None:
    probe.replace_one({"_id": 1}, {"_id": 1}, upsert=True)
'
unresponsive_servers() {
  local down=() name port
  for name in AUTH TICKETS ORDERS PAYMENTS; do
    port=$(printenv "${name}_MONGO_PORT" || true)
    [[ -n $port ]] || continue
    timeout 10 "$VENV/bin/python" -c "$MONGO_PROBE" "$port" >/dev/null 2>&1 || down+=("${name,,}-mongo")
  done
  [[ -z ${NATS_MONITOR_URL:-} ]] || curl -sf -o /dev/null --max-time 4 "$NATS_MONITOR_URL/healthz" ||
    down+=(nats)
  [[ -z ${REDIS_PORT:-} ]] || [[ $(timeout 5 redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] ||
    down+=(redis)
  echo "${down[*]}"
}

# What a stalled step was doing: the tests still running (their names are in the test
# processes' arguments), a thread dump of every MongoDB stand-in, and where the logs are.
report_stall() { # step why
  printf '
!!! WATCHDOG: %s: %s
' "$1" "$2"
  echo "!!! tests still running (seconds running, test):"
  ps -eo etimes=,args= | grep -e ' --exact ' | grep -v -e awk -e grep |
    awk '{ t = $0; sub(/.* --exact /, "", t); sub(/ .*/, "", t); print "!!!   " $1 "s  " t }' || true
  local name pid state
  for name in AUTH TICKETS ORDERS PAYMENTS; do
    pid=$(printenv "${name}_MONGO_PID" || true)
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || continue
    state=$(ps -o stat= -p "$pid" || true)
    printf '!!! %s-mongo (pid %s, state %s), its threads:
' "${name,,}" "$pid" "$state"
    if [[ $state == T* ]]; then
      echo "!!!     none: the process is stopped (SIGSTOP)"
    elif [[ -x $VENV/bin/py-spy ]]; then
      timeout 30 "$VENV/bin/py-spy" dump --nonblocking --pid "$pid" 2>&1 | head -n 200 | sed 's/^/!!!     /' || true
    else
      echo "!!!     none: py-spy is not installed (scripts/infra.sh install)"
    fi
  done
  echo "!!! look at: the SLOW/TIMEOUT lines above (what each test waited on), the servers' logs in $INFRA_DIR/*/log"
}

# Watches the step running as process group PID: stops it when it runs past LIMIT seconds or a
# server stays unresponsive for STALL_SECONDS, after reporting what is stuck.
watch_step() { # step limit pid
  local name=$1 limit=$2 pid=$3 start=$SECONDS since="" down="" why=""
  while sleep "$WATCH_EVERY"; do
    kill -0 "$pid" 2>/dev/null || return 0
    if ((SECONDS - start >= limit)); then
      why="ran past its bound of ${limit}s (TEST_STEP_LIMIT)"
      break
    fi
    down=$(unresponsive_servers)
    if [[ -z $down ]]; then
      since=""
    elif [[ -z $since ]]; then
      since=$SECONDS
    elif ((SECONDS - since >= STALL_SECONDS)); then
      why="no answer from: $down for $((SECONDS - since))s (TEST_STALL_SECONDS)"
      break
    fi
  done
  report_stall "$name" "$why"
  echo "$name: $why" >"$STALL_FILE"
  kill -TERM -- "-$pid" 2>/dev/null || true
  sleep 15
  kill -KILL -- "-$pid" 2>/dev/null || true
}

# bounded STEP COMMAND...: runs COMMAND (a shell function too) in a process group of its own,
# under the watchdog.
bounded() {
  local name=$1 rc=0 watcher
  shift
  set -m
  "$@" &
  STEP_PID=$!
  set +m
  watch_step "$name" "$STEP_LIMIT" "$STEP_PID" &
  watcher=$!
  wait "$STEP_PID" || rc=$?
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  STEP_PID=""
  return "$rc"
}

# After a stall the servers can not be trusted: the run stops there.
stop_if_stalled() {
  [[ -e $STALL_FILE ]] || return 0
  step "stopped by the watchdog: $(cat "$STALL_FILE")"
  printf 'FAILED: %s
' "${failed[@]}"
  exit 1
}

step "servers: installing what is missing (NATS, Redis, MongoDB, Stripe mock)"
scripts/infra.sh install

step "build (once, for every test binary)"
cargo build --workspace --all-targets

step "servers: starting them"
scripts/infra.sh start
# shellcheck source=/dev/null
source "$INFRA_DIR/env.sh"

# run_tests SELECTION... [--ignored-only] [--only=NAME | --skip=NAME] [--binaries=A|B]: nextest when
# installed (it is on the project's machines), else cargo test. NAME: a part of the test names to
# run or leave out; --binaries: the test binaries (files under tests/) to take them from.
if cargo nextest --version >/dev/null 2>&1; then
  # Always the whole workspace, the selection made by one filter expression: `-p` would resolve
  # the dependencies' features anew for the selected packages and rebuild them (minutes).
  run_tests() {
    local args=() packages=() filter=""
    while (($#)); do
      case $1 in
      --workspace) ;;
      -p) packages+=("package($2)") && shift ;;
      --ignored-only) args+=(--run-ignored ignored-only) ;;
      --only=*) filter+=" & test(/${1#--only=}/)" ;;
      --skip=*) filter+=" & not test(/${1#--skip=}/)" ;;
      --binaries=*) filter+=" & binary(/^(${1#--binaries=})\$/)" ;;
      *) args+=("$1") ;;
      esac
      shift
    done
    local selected="all()"
    if ((${#packages[@]})); then
      selected=$(printf ' | %s' "${packages[@]}")
      selected="(${selected:3})"
    fi
    # Past 10 failures the servers are in trouble rather than the code: stop there.
    cargo nextest run --workspace --max-fail 10 --test-threads "$THREADS" "${args[@]}" \
      -E "$selected$filter"
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
      --binaries=*) for b in ${a#--binaries=}; do args+=(--test "$b"); done ;;
      *) args+=("$a") ;;
      esac
    done
    cargo test --no-fail-fast "${args[@]}" -- "${harness[@]}"
  }
fi

step "unit and integration tests"
bounded "unit and integration tests" run_tests --workspace || failed+=("unit and integration tests")
stop_if_stalled

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
# so the "don't pay" flow finishes in seconds; $1 instances of every service.
start_fleet() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # The fleet exports its traces (batches every second) to the trace test's OTLP receiver, which
  # listens only while that test runs: an export finding nobody there is a line in a service's log.
  OTLP_RECEIVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export OTLP_RECEIVER_PORT
  export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$OTLP_RECEIVER_PORT OTEL_BSP_SCHEDULE_DELAY=1000
  # The fault workload's shoppers retry orders and payments through every outage, far faster
  # than a person: the per-user limits (tested by the services' own tests) are lifted for it.
  ORDER_LIMIT_PER_USER=${ORDER_LIMIT_PER_USER:-100000} PAYMENT_LIMIT_PER_USER=${PAYMENT_LIMIT_PER_USER:-100000} \
  EXPIRATION_WINDOW_SECONDS=${E2E_EXPIRATION_WINDOW_SECONDS:-8} FLEET_PROFILE=debug FLEET_NO_BUILD=1 \
    FLEET_REPLICAS=$1 FLEET_INFRA_DIR=$INFRA_DIR TICKETING_PORT=$port scripts/fleet.sh --detach || return 1
  # shellcheck source=/dev/null
  source target/fleet/env.sh
  export GATEWAY_URL
}
run_e2e() {
  start_fleet 1 || return 1
  ensure_browser
  local rc=0
  run_tests -p e2e -p client --ignored-only --skip=under_faults || rc=$?
  # The API's own description against the same fleet: schemathesis, bounded by FUZZ_MAX_SECONDS.
  step "end-to-end: schemathesis fuzzes the API through the gateway"
  scripts/fuzz-api.sh || rc=$?
  return "$rc"
}
# The fault tests drive the fleet run_e2e started (each step runs in a shell of its own, so
# the fleet's env.sh is read again here).
run_faults() {
  # shellcheck source=/dev/null
  source target/fleet/env.sh
  export GATEWAY_URL
  run_tests -p e2e --ignored-only --only=under_faults
}
# Two instances of every service behind the gateway: the purchase flows, then the faults (the
# first instance of each service killed in turn while the other serves). The rate limits count
# per instance: their tests ran with one.
run_replicated() {
  scripts/fleet.sh stop --keep-infra >/dev/null || return 1
  start_fleet 2 || return 1
  run_tests -p e2e --ignored-only --binaries='flow|price_lock' || return 1
  run_tests -p e2e --ignored-only --only=under_faults
}
if [[ ${SKIP_E2E:-} != 1 ]]; then
  step "end-to-end: the running fleet through its gateway"
  bounded "end-to-end tests" run_e2e || failed+=("end-to-end tests")
  stop_if_stalled
  # Alone, last: it kills the services and restarts the servers the other tests share.
  if [[ -f target/fleet/env.sh ]]; then
    step "end-to-end: faults (services killed, servers restarted) under a purchase workload"
    bounded "fault tests" run_faults || failed+=("fault tests")
    stop_if_stalled
    step "end-to-end with 2 instances of every service: purchase flows, then faults"
    bounded "two-instance tests" run_replicated || failed+=("two-instance tests")
    stop_if_stalled
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
