#!/usr/bin/env bash
# The benchmark (issue 7): builds the release binaries, starts a fleet of its own on fresh data
# (target/bench/fleet, its own ports), measures it beside its floors, and stops it.
#
# Usage: scripts/bench.sh
# Output: the table on stdout; JSON in target/bench/report.json; progress and the fleet's
# output on stderr / target/bench/fleet.log. About 4-5 minutes after the build.
#
# Settings (environment):
#   BENCH_SECONDS          measured seconds per HTTP workload (default 5), after BENCH_WARMUP (1)
#   BENCH_LAG_SECONDS      measured seconds of the event-lag runs (default 10)
#   BENCH_FLOW_SECONDS     measured seconds of the purchase flow (default 10)
#   BENCH_EVENT_RATES      open-loop rates of the event-lag rows, events/s (default 100,200: rows
#                          event_lag_100, event_lag_200; the JetStream floor runs at the highest)
#   BENCH_UPSERT_WRITERS   closed-loop writers of the raw upsert floor (default 16, the listeners' lanes)
#   BENCH_BACKLOG_EVENTS   events published at once for the saturation row event_backlog (2000; 0: none)
#   BENCH_BACKLOG_POLL_MS  how often that row reads the orders consumer's progress from JetStream (10)
#   BENCH_POLL_MS          how often the bench polls the replicas for what it waits on (default 5)
#   BENCH_READY_RUNS       start-up measurements per service (default 5)
#   BENCH_CONNS_FAST, BENCH_CONNS_DB, BENCH_CONNS_WRITE, BENCH_CONNS_SIGNUP,
#   BENCH_FLOW_CONCURRENCY connections per workload kind (64, 32, 16, 2; 8 buyers)
#   BENCH_DIAG=1           also the floor inside the services' HTTP shell, without/with tracing
#   BENCH_ONLY=a,b         only these workloads (currentuser traces by_id list create_tickets
#                          orders signup lag flow startup; traces = currentuser in the services'
#                          shell before traces, with spans, with spans exported; lag = the JetStream and raw upsert floors, the
#                          lag rows and the backlog), on a fleet that may be dirty (investigation)
#   BENCH_NO_BUILD=1       use the release binaries already built
#   BENCH_REPLICAS="1 2"   instead of the whole benchmark: currentuser through the gateway and the
#                          purchase flow on a fresh fleet with each number of instances per service
#                          (FLEET_REPLICAS), side by side (target/bench/replicas-N.json)
#   CARGO_BUILD_JOBS       passed to cargo (set it to 1 on a shared machine)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
BENCH_DIR=$TARGET_DIR/bench
export FLEET_DIR=$BENCH_DIR/fleet
export FLEET_PROFILE=release
# The benchmark measures throughput from one address and one buyer, which the rate limits are
# there to stop: it lifts them (unless the caller set them) rather than measure them.
export ORDER_LIMIT_PER_USER=${ORDER_LIMIT_PER_USER:-1000000}
export PAYMENT_LIMIT_PER_USER=${PAYMENT_LIMIT_PER_USER:-1000000}
export SIGN_IN_LIMIT_PER_ADDRESS=${SIGN_IN_LIMIT_PER_ADDRESS:-1000000}
export GATEWAY_SIGN_IN_RATE=${GATEWAY_SIGN_IN_RATE:-100000}
FLEET_LOG=$BENCH_DIR/fleet.log

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

cd "$REPO_ROOT"
mkdir -p "$BENCH_DIR"

if [[ ${BENCH_NO_BUILD:-0} != 1 ]]; then
    say "building the release binaries (services, fleet, bench)"
    cargo build --release -p auth -p tickets -p orders -p payments -p expiration -p client -p fleet -p bench >&2 ||
        die "cargo build failed"
fi
[[ -x $TARGET_DIR/release/bench ]] || die "no $TARGET_DIR/release/bench (unset BENCH_NO_BUILD)"

# A fresh fleet every time: the figures must not depend on what an earlier run left behind.
if [[ -d $FLEET_DIR ]]; then
    scripts/fleet.sh stop >>"$FLEET_LOG" 2>&1 || true
    rm -rf "$FLEET_DIR"
fi
: >"$FLEET_LOG"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_fleet() {
    say "stopping the benchmark's fleet"
    scripts/fleet.sh stop >>"$FLEET_LOG" 2>&1 || say "stopping failed; see $FLEET_LOG"
}
trap stop_fleet EXIT

# start_fleet N: a fresh fleet of its own with N instances of every service.
start_fleet() {
    say "starting a fleet of its own, $1 instance(s) per service (gateway port $PORT; log ${FLEET_LOG#"$REPO_ROOT"/})"
    if ! FLEET_REPLICAS=$1 FLEET_NO_BUILD=1 FLEET_BIN_DIR="$TARGET_DIR/release" TICKETING_PORT=$PORT \
        scripts/fleet.sh --detach >>"$FLEET_LOG" 2>&1; then
        tail -n 40 "$FLEET_LOG" >&2
        die "the fleet did not start"
    fi
}

# run_bench OUT [VAR=value...]: the benchmark against the running fleet (it reads the fleet's
# state, $FLEET_DIR/fleet.json).
run_bench() {
    local out=$1
    shift
    env "$@" BENCH_BIN_DIR="$TARGET_DIR/release" BENCH_OUT="$out" "$TARGET_DIR/release/bench"
}

if [[ -z ${BENCH_REPLICAS:-} ]]; then
    start_fleet 1
    run_bench "$BENCH_DIR/report.json"
    exit 0
fi

for n in $BENCH_REPLICAS; do
    [[ $n =~ ^[1-9][0-9]?$ ]] || die "BENCH_REPLICAS: '$n' is not a number of instances"
    start_fleet "$n"
    run_bench "$BENCH_DIR/replicas-$n.json" BENCH_ONLY=currentuser,flow >/dev/null
    stop_fleet
    rm -rf "$FLEET_DIR"
done
trap - EXIT
python3 - "$BENCH_DIR" $BENCH_REPLICAS <<'PY'
import json, sys
out, counts = sys.argv[1], sys.argv[2:]
rows = ("currentuser_gateway", "purchase_flow")
print("| instances per service | " + " | ".join(rows) + " |")
print("|---|" + "---|" * len(rows))
for n in counts:
    report = {row["key"]: row for row in json.load(open(f"{out}/replicas-{n}.json"))["rows"]}
    cells = []
    for key in rows:
        row = report.get(key)
        cells.append("-" if row is None else
                     f"{row['throughput']:,.0f} {row['unit']}/s, p99 {row['p99_ms']:.1f} ms")
    print(f"| {n} | " + " | ".join(cells) + " |")
PY
