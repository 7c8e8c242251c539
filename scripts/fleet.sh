#!/usr/bin/env bash
# Runs the whole fleet locally: the infra servers (scripts/infra.sh), every service that exists,
# and nginx as the gateway with the ingress's routing.
#
# Usage:
#   scripts/fleet.sh             build, start, print `ready: http://localhost:8080`, run until
#                                Ctrl-C/SIGTERM, then stop everything it started
#   scripts/fleet.sh --detach    same, but exit once ready and leave the fleet running;
#                                target/fleet/env.sh then describes it (GATEWAY_URL, AUTH_URL, ...),
#                                and target/fleet/fleet.json the same for programs (fleet::State)
#   scripts/fleet.sh stop        stop a detached fleet (services, gateway, its infra servers);
#                                `stop --keep-infra` leaves the infra servers running
#   scripts/fleet.sh status      what runs
# One instance of a service of a running detached fleet (fault tests). INSTANCE is SERVICE (its
# first instance) or SERVICE#i (its i-th, with FLEET_REPLICAS > 1):
#   scripts/fleet.sh kill INSTANCE     SIGKILL, no cleanup: a crash
#   scripts/fleet.sh start INSTANCE    start it again: same binary, port and environment; waits for
#                                      its /readyz and updates its pid in env.sh
#   scripts/fleet.sh restart INSTANCE  graceful stop (SIGTERM, then SIGKILL after the grace), start
#   scripts/fleet.sh infra ARGS...    scripts/infra.sh ARGS on the fleet's infra servers, e.g.
#                                     `infra restart nats`; refreshes env.sh afterwards
#
# Settings (environment):
#   TICKETING_PORT        gateway port (default 8080)
#   FLEET_PROFILE         local | release | debug (default local: light optimisation, no
#                         cross-crate LTO, so a first run builds in about 12 minutes on 2 cores;
#                         the benchmark and the images use release)
#   FLEET_NO_BUILD=1      skip `cargo build`; use the binaries already built
#   FLEET_BIN_DIR         take the binaries from this directory (implies FLEET_NO_BUILD=1)
#   FLEET_SERVICES        the services to run (default: those whose Cargo.toml exists), e.g. "auth tickets"
#   FLEET_REPLICAS        instances of every service (default 1), each on ports of its own, behind
#                         the gateway round robin (a killed instance's requests go to the others);
#                         env.sh names the first AUTH_URL, AUTH_PID, ..., the i-th AUTH_i_URL, ...
#   FLEET_READY_TIMEOUT   seconds to wait for every service's /readyz (default 120)
#   FLEET_STOP_GRACE      seconds between SIGTERM and SIGKILL when stopping (default 10)
#   FLEET_ACCESS_LOG=1    write the gateway's access log (off by default: it is benchmarked)
#   FLEET_PROMETHEUS_PORT Prometheus's port (default: a free one); FLEET_PROMETHEUS=0 starts none.
#                         Prometheus (Debian's `prometheus`, installed by scripts/infra.sh install)
#                         scrapes every service's /metrics (METRICS_PORT, a port of its own) with
#                         the alert rules of infra/prometheus/alerts.yml; without it the fleet runs
#                         all the same
#   FLEET_DIR             state dir: logs, pids, gateway config, env.sh (default target/fleet);
#                         a second fleet beside the first needs its own (and its own TICKETING_PORT)
#   FLEET_INFRA_DIR       infra state dir of the fleet (default $FLEET_DIR/infra)
#   GATEWAY_SIGN_IN_RATE  sign-ins + sign-ups per second per client address at the gateway, before
#                         any service (default 20; a burst of 60 times that passes at once)
#   JWT_KEY               default: a random key made on the fleet's first start and kept in
#                         $FLEET_DIR/jwt_key (sessions survive a restart of the same fleet)
#   STRIPE_KEY            when set, payments talks to the real Stripe; else to the local Stripe mock
#   Every other setting of the contract (EXPIRATION_WINDOW_SECONDS, RUST_LOG, ...) passes through.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
FLEET_DIR=${FLEET_DIR:-$REPO_ROOT/target/fleet}
mkdir -p "$FLEET_DIR"
FLEET_DIR=$(cd "$FLEET_DIR" && pwd)
RUN_DIR=$FLEET_DIR/run
ENV_FILE=$FLEET_DIR/env.sh
INFRA_DIR_FLEET=${FLEET_INFRA_DIR:-$FLEET_DIR/infra}
GATEWAY_PORT=${TICKETING_PORT:-8080}
PROFILE=${FLEET_PROFILE:-local}
REPLICAS=${FLEET_REPLICAS:-1}
JWT_KEY_FILE=$FLEET_DIR/jwt_key

ALL_SERVICES=(auth tickets orders payments expiration client)

say() { printf 'fleet: %s\n' "$*"; }
die() {
    printf 'fleet: error: %s\n' "$*" >&2
    exit 1
}
read_file() { if [[ -s $1 ]]; then cat "$1"; fi; }
# scripts/infra.sh on the fleet's servers, run by the fleet binary this fleet is started with (once
# built), else by the one it was last started with.
infra() {
    local bin=${BIN_DIR:+$BIN_DIR/fleet}
    [[ -x $bin ]] || bin=$(read_file "$RUN_DIR/fleet.bin")
    [[ -x $bin ]] || bin=""
    INFRA_DIR=$INFRA_DIR_FLEET FLEET_BIN=$bin "$SCRIPT_DIR/infra.sh" "$@"
}
# One value of the infra's env.sh (lines `export NAME=value` or `export NAME='value'`).
infra_var() { sed -n "s/^export $1='\{0,1\}\([^']*\)'\{0,1\}\$/\1/p" "$INFRA_DIR_FLEET/env.sh"; }

service_dir() {
    if [[ $1 == client ]]; then echo "$REPO_ROOT/client"; else echo "$REPO_ROOT/services/$1"; fi
}

# The services to run: FLEET_SERVICES, or every one whose crate exists.
discover_services() {
    SERVICES=()
    if [[ -n ${FLEET_SERVICES:-} ]]; then
        local s
        for s in $FLEET_SERVICES; do
            has_known_service "$s" || die "unknown service '$s' in FLEET_SERVICES (one of: ${ALL_SERVICES[*]})"
            SERVICES+=("$s")
        done
        return
    fi
    local s
    for s in "${ALL_SERVICES[@]}"; do
        [[ -f $(service_dir "$s")/Cargo.toml ]] && SERVICES+=("$s")
    done
    return 0
}

has_known_service() {
    local k
    for k in "${ALL_SERVICES[@]}"; do [[ $k == "$1" ]] && return 0; done
    return 1
}

# The instances of the running services: SERVICE for the first, SERVICE#i for the i-th.
discover_instances() {
    [[ $REPLICAS =~ ^[1-9][0-9]*$ ]] || die "FLEET_REPLICAS must be a whole number from 1, not '$REPLICAS'"
    INSTANCES=()
    local s i
    for s in "${SERVICES[@]}"; do
        INSTANCES+=("$s")
        for ((i = 2; i <= REPLICAS; i++)); do INSTANCES+=("$s#$i"); done
    done
}

# ---------------------------------------------------------------------------------------------
# build
# ---------------------------------------------------------------------------------------------

build_services() {
    local target_dir=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
    case $PROFILE in
    local | release | debug) ;;
    *) die "FLEET_PROFILE must be local, release or debug, not '$PROFILE'" ;;
    esac
    if [[ -n ${FLEET_BIN_DIR:-} ]]; then
        BIN_DIR=$(cd "$FLEET_BIN_DIR" && pwd)
        say "using the binaries in $BIN_DIR (FLEET_BIN_DIR; no build)"
    else
        BIN_DIR=$target_dir/$PROFILE
        if [[ ${FLEET_NO_BUILD:-0} == 1 ]]; then
            say "FLEET_NO_BUILD=1: using the binaries in $BIN_DIR"
        else
            local -a flags=()
            [[ $PROFILE != debug ]] && flags+=(--profile "$PROFILE")
            local s
            say "building ($PROFILE): ${SERVICES[*]} fleet"
            # One cargo call, so shared crates are built once; the fleet's own binary (crates/fleet)
            # starts and stops the rest.
            for s in "${SERVICES[@]}" fleet; do flags+=(--bin "$s"); done
            (cd "$REPO_ROOT" && cargo build "${flags[@]}") || die "cargo build failed"
        fi
    fi
    local s
    for s in "${SERVICES[@]}" fleet; do
        [[ -x $BIN_DIR/$s ]] || die "no binary $BIN_DIR/$s (build it, or unset FLEET_NO_BUILD)"
    done
}

# ---------------------------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------------------------

pid_alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

port_free() {
    python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# The fleet's session key when the caller gives none: random, made once, readable by the owner only.
fleet_jwt_key() {
    if [[ ! -s $JWT_KEY_FILE ]]; then
        (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' >"$JWT_KEY_FILE.tmp")
        mv "$JWT_KEY_FILE.tmp" "$JWT_KEY_FILE"
    fi
    cat "$JWT_KEY_FILE"
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------

# After an infra server was started again: its pid in the fleet's state (fleet.json and env.sh,
# written by the fleet binary from the run dir and the infra's infra.json). The session key is
# kept from the state already there.
refresh_env() {
    [[ -f $ENV_FILE ]] || return 0
    "$(fleet_bin)" state --dir "$FLEET_DIR" --infra-dir "$INFRA_DIR_FLEET" \
        --gateway-port "$(read_file "$RUN_DIR/gateway.port")" || die "fleet state failed"
}

# The fleet binary this fleet was started with.
fleet_bin() {
    local bin
    bin=$(read_file "$RUN_DIR/fleet.bin")
    [[ -x $bin ]] || die "no fleet was started in ${FLEET_DIR#"$REPO_ROOT"/} (no run/fleet.bin)"
    echo "$bin"
}

# Everything this fleet may have started: the gateway, Prometheus and the services (the fleet
# binary it was started with stops them), then the infra (unless $1 is --keep-infra). Safe to call
# repeatedly.
stop_all() {
    trap '' INT TERM # a second Ctrl-C must not cut the shutdown short
    local bin
    bin=$(read_file "$RUN_DIR/fleet.bin")
    if [[ -x $bin ]]; then
        "$bin" stop --dir "$FLEET_DIR" || true
    fi
    # Without a fleet binary (the build failed before any start) no server was started.
    if [[ ${1:-} != --keep-infra && -x $bin ]]; then
        infra stop | sed 's/^/  /' || true
    fi
    rm -f "$ENV_FILE" "$FLEET_DIR/fleet.json" "$RUN_DIR"/*.env "$RUN_DIR/instances"
}

running_pids() {
    local f pid
    for f in "$RUN_DIR"/*.pid; do
        [[ -f $f ]] || continue
        pid=$(read_file "$f")
        pid_alive "$pid" && echo "$(basename "$f" .pid):$pid"
    done
    return 0
}

CLEANUP=0
on_exit() {
    local rc=$?
    if [[ $CLEANUP -eq 1 ]]; then
        CLEANUP=0
        say "stopping the fleet"
        stop_all
        say "stopped"
    fi
    exit "$rc"
}

cmd_up() {
    local detach=0 arg
    for arg in "$@"; do
        case $arg in
        --detach | -d) detach=1 ;;
        *) die "unknown argument '$arg' (usage: scripts/fleet.sh [--detach] | stop | status | kill|start|restart SERVICE | infra ARGS; see --help)" ;;
        esac
    done
    mkdir -p "$RUN_DIR"
    local running
    running=$(running_pids)
    [[ -z $running ]] || die "a fleet is still running ($(echo "$running" | tr '\n' ' ')); stop it with: scripts/fleet.sh stop"
    # The records of an earlier fleet (a 2-instance one leaves auth#2.port) would make its
    # instances look like this one's to kill/start/status.
    rm -f "$RUN_DIR"/*.pid "$RUN_DIR"/*.port "$RUN_DIR"/*.metrics_port "$RUN_DIR"/*.bin \
        "$RUN_DIR"/*.env "$RUN_DIR/instances"
    # Installs what is missing first: the checks below need python3, curl and nginx.
    infra install | sed 's/^/  /'
    port_free "$GATEWAY_PORT" || die "port $GATEWAY_PORT is in use; free it or set TICKETING_PORT"
    discover_services
    discover_instances
    [[ ${#SERVICES[@]} -gt 0 ]] || say "no service exists yet (no services/*/Cargo.toml, client/Cargo.toml); starting the gateway alone"

    echo "$INFRA_DIR_FLEET" >"$RUN_DIR/infra_dir"
    echo "foreground $$" >"$RUN_DIR/mode"
    CLEANUP=1
    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    # The binaries first: the fleet binary runs the infra servers too.
    build_services
    echo "$BIN_DIR/fleet" >"$RUN_DIR/fleet.bin"
    say "starting the infra servers (${INFRA_DIR_FLEET#"$REPO_ROOT"/})"
    infra start | sed 's/^/  /'
    JWT=${JWT_KEY:-$(fleet_jwt_key)}
    [[ -n ${JWT_KEY:-} ]] || say "JWT_KEY is not set: using this fleet's own random key (${JWT_KEY_FILE#"$REPO_ROOT"/})"
    if [[ -n ${STRIPE_KEY:-} ]]; then
        say "STRIPE_KEY is set: payments charges through the real Stripe API"
    else
        say "payments charges through the local Stripe mock ($(infra_var STRIPE_API_BASE))"
    fi

    # The fleet binary (crates/fleet) starts the services, the gateway and Prometheus, records
    # each start in $RUN_DIR and writes the state; it prints the `ready:` line.
    local -a up=(up --dir "$FLEET_DIR" --infra-dir "$INFRA_DIR_FLEET" --bin-dir "$BIN_DIR"
        --repo "$REPO_ROOT" --gateway-port "$GATEWAY_PORT")
    local inst
    for inst in ${INSTANCES[@]+"${INSTANCES[@]}"}; do up+=(--instance "$inst"); done
    if [[ $detach -eq 1 ]]; then
        JWT_KEY=$JWT "$BIN_DIR/fleet" "${up[@]}" --detach || die "the fleet did not start"
        CLEANUP=0
        echo detached >"$RUN_DIR/mode"
        say "detached; stop it with: scripts/fleet.sh stop (env: ${ENV_FILE#"$REPO_ROOT"/})"
        return 0
    fi
    # Watched by the fleet binary until a process exits or it is told to stop; it stops what it
    # started, this script's exit the infra. In the background, so that a signal to this script is
    # passed on at once (a trap would wait for a foreground command to end).
    JWT_KEY=$JWT "$BIN_DIR/fleet" "${up[@]}" &
    local fleet_pid=$! rc=0 signalled=""
    trap 'signalled=130; kill -TERM "$fleet_pid" 2>/dev/null || true' INT
    trap 'signalled=143; kill -TERM "$fleet_pid" 2>/dev/null || true' TERM
    wait "$fleet_pid" || rc=$?
    while pid_alive "$fleet_pid"; do
        rc=0
        wait "$fleet_pid" || rc=$?
    done
    exit "${signalled:-$rc}"
}

# The infra dir the fleet was started with, so later commands need no FLEET_INFRA_DIR again.
use_recorded_infra_dir() {
    if [[ -z ${FLEET_INFRA_DIR:-} && -s $RUN_DIR/infra_dir ]]; then
        INFRA_DIR_FLEET=$(cat "$RUN_DIR/infra_dir")
    fi
}

cmd_stop() {
    [[ $# -eq 0 || $1 == --keep-infra ]] || die "usage: scripts/fleet.sh stop [--keep-infra]"
    mkdir -p "$RUN_DIR"
    use_recorded_infra_dir
    say "stopping the fleet"
    stop_all "$@"
    say "stopped"
}

cmd_status() {
    local bin
    bin=$(read_file "$RUN_DIR/fleet.bin")
    if [[ -x $bin ]]; then
        "$bin" status --dir "$FLEET_DIR"
    else
        echo "no fleet process runs"
    fi
    use_recorded_infra_dir
    infra status || true
}

# kill | start | restart INSTANCE on a detached fleet: the fleet binary's supervisor (the fault
# tests use the same, crates/fleet's Supervisor).
cmd_service() {
    [[ $# -eq 2 ]] || die "usage: scripts/fleet.sh $1 SERVICE[#i] (one of: ${ALL_SERVICES[*]})"
    "$(fleet_bin)" "$1" --dir "$FLEET_DIR" "$2"
}

cmd_infra() {
    use_recorded_infra_dir
    local rc=0
    infra "$@" || rc=$?
    refresh_env
    return $rc
}

main() {
    case ${1:-} in
    stop)
        shift
        cmd_stop "$@"
        ;;
    status) cmd_status ;;
    kill | start | restart) cmd_service "$@" ;;
    infra)
        shift
        cmd_infra "$@"
        ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' ;;
    *) cmd_up "$@" ;;
    esac
}

main "$@"
