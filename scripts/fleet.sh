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
LOG_DIR=$FLEET_DIR/logs
RUN_DIR=$FLEET_DIR/run
NGX_DIR=$FLEET_DIR/nginx
ENV_FILE=$FLEET_DIR/env.sh
INFRA_DIR_FLEET=${FLEET_INFRA_DIR:-$FLEET_DIR/infra}
GATEWAY_PORT=${TICKETING_PORT:-8080}
PROFILE=${FLEET_PROFILE:-local}
READY_TIMEOUT=${FLEET_READY_TIMEOUT:-120}
STOP_GRACE=${FLEET_STOP_GRACE:-10}
REPLICAS=${FLEET_REPLICAS:-1}
JWT_KEY_FILE=$FLEET_DIR/jwt_key

ALL_SERVICES=(auth tickets orders payments expiration client)

say() { printf 'fleet: %s\n' "$*"; }
die() {
    printf 'fleet: error: %s\n' "$*" >&2
    exit 1
}
now_ms() { date +%s%3N; }
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1fs", (b - a) / 1000 }'; }
read_file() { if [[ -s $1 ]]; then cat "$1"; fi; }
infra() { INFRA_DIR=$INFRA_DIR_FLEET "$SCRIPT_DIR/infra.sh" "$@"; }
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

instances_of() {
    local inst
    for inst in "${INSTANCES[@]}"; do [[ ${inst%%#*} == "$1" ]] && echo "$inst"; done
    return 0
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
            # renders the gateway's config.
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

# Prints N free loopback ports (all sockets held open together so none repeats), never the
# gateway's port.
free_ports() {
    python3 - "$1" "$GATEWAY_PORT" <<'EOF'
import socket, sys
n, avoid = int(sys.argv[1]), sys.argv[2]
socks, out = [], []
while len(out) < n:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
    p = str(s.getsockname()[1])
    if p != avoid: out.append(p)
print(" ".join(out))
EOF
}

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

# The environment of one service: the contract's settings, pointed at the fleet's infra.
service_env() {
    local name=$1 port=$2 metrics_port=$3
    # BIND_ADDRESS: only the gateway (and this machine) reaches the services, as in Kubernetes.
    SVC_ENV=(PORT="$port" METRICS_PORT="$metrics_port" BIND_ADDRESS=127.0.0.1 JWT_KEY="$JWT" NATS_URL="$I_NATS_URL" COOKIE_SECURE=false)
    case $name in
    auth | tickets | orders | payments)
        # Each owning service has a database server of its own, as in Kubernetes.
        SVC_ENV+=(MONGO_URL="mongodb://127.0.0.1:$(infra_var "${name^^}_MONGO_PORT")/$name?directConnection=true")
        ;;
    esac
    case $name in
    payments)
        # With the user's STRIPE_KEY: the real Stripe (their STRIPE_API_BASE, if any, passes through).
        if [[ -z ${STRIPE_KEY:-} ]]; then
            SVC_ENV+=(STRIPE_KEY=sk_test_mock STRIPE_API_BASE="$I_STRIPE_API_BASE")
        fi
        ;;
    expiration) SVC_ENV+=(REDIS_URL="$I_REDIS_URL") ;;
    client) SVC_ENV+=(API_URL="http://127.0.0.1:$GATEWAY_PORT") ;;
    esac
}

# setsid: a Ctrl-C in the terminal reaches only this script, which then stops everything in
# order (gateway, services, infra) instead of every process dying at once.
# The binary and the whole environment are recorded (the environment readable by the owner only:
# it holds the keys) so that `start SERVICE` runs it again exactly as it ran.
start_service() {
    local name=$1 port=$2 metrics_port=$3 log=$LOG_DIR/$1.log service=${1%%#*}
    service_env "$service" "$port" "$metrics_port"
    : >"$log"
    echo "$BIN_DIR/$service" >"$RUN_DIR/$name.bin"
    (umask 077 && env "${SVC_ENV[@]}" env -0 >"$RUN_DIR/$name.env")
    setsid env "${SVC_ENV[@]}" "$BIN_DIR/$service" >>"$log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/$name.pid"
    echo "$port" >"$RUN_DIR/$name.port"
    echo "$metrics_port" >"$RUN_DIR/$name.metrics_port"
    say "started $name (pid $!, port $port, metrics port $metrics_port, log ${log#"$REPO_ROOT"/})"
}

log_tail() {
    printf -- '----- last lines of %s -----\n' "${1#"$REPO_ROOT"/}" >&2
    tail -n 30 "$1" >&2 || true
    printf -- '-----\n' >&2
}

# Waits for every service's GET /readyz to answer 200; fails fast when one exits.
wait_services() {
    local -a pending=("${INSTANCES[@]}")
    local deadline=$((SECONDS + READY_TIMEOUT)) t0 name pid port
    t0=$(now_ms)
    # (no word "ready" in progress lines: callers wait for the one `ready:` line)
    say "waiting for the health checks of: ${pending[*]}"
    while [[ ${#pending[@]} -gt 0 ]]; do
        local -a still=()
        for name in "${pending[@]}"; do
            pid=$(read_file "$RUN_DIR/$name.pid")
            port=$(read_file "$RUN_DIR/$name.port")
            if ! pid_alive "$pid"; then
                log_tail "$LOG_DIR/$name.log"
                die "$name exited during startup"
            fi
            if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; then
                say "$name is up on 127.0.0.1:$port ($(elapsed "$t0"))"
            else
                still+=("$name")
            fi
        done
        pending=(${still[@]+"${still[@]}"})
        [[ ${#pending[@]} -eq 0 ]] && break
        if ((SECONDS >= deadline)); then
            for name in "${pending[@]}"; do
                port=$(read_file "$RUN_DIR/$name.port")
                say "$name: /readyz answered: $(curl -s --max-time 2 -w ' (HTTP %{http_code})' \
                    "http://127.0.0.1:$port/readyz" 2>/dev/null || echo 'nothing')"
                log_tail "$LOG_DIR/$name.log"
            done
            die "not up after ${READY_TIMEOUT}s: ${pending[*]}"
        fi
        sleep 0.2
    done
}

# Stops the processes named by the given pid files: SIGTERM, then SIGKILL after the grace period.
stop_pidfiles() {
    local f pid
    local -a pids=() files=()
    for f in "$@"; do
        [[ -f $f ]] || continue
        pid=$(read_file "$f")
        if pid_alive "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            files+=("$f")
        else
            rm -f "$f"
        fi
    done
    local i deadline=$((SECONDS + STOP_GRACE))
    for i in "${!pids[@]}"; do
        while pid_alive "${pids[$i]}" && ((SECONDS < deadline)); do sleep 0.1; done
        if pid_alive "${pids[$i]}"; then
            say "$(basename "${files[$i]}" .pid) ignored SIGTERM for ${STOP_GRACE}s; SIGKILL"
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
        while pid_alive "${pids[$i]}"; do sleep 0.05; done
        rm -f "${files[$i]}"
        say "stopped $(basename "${files[$i]}" .pid) (pid ${pids[$i]})"
    done
}

# ---------------------------------------------------------------------------------------------
# gateway
# ---------------------------------------------------------------------------------------------

nginx_bin() { command -v nginx || echo /usr/sbin/nginx; }

# The config comes from the fleet's description (crates/fleet) through infra/local/nginx.conf.j2:
# the ingress's routes, each to its service's instances.
write_nginx_conf() {
    local conf=$NGX_DIR/nginx.conf s inst ports
    local -a args=(--port "$GATEWAY_PORT" --nginx-dir "$NGX_DIR" --log-dir "$LOG_DIR"
        --sign-in-rate "${GATEWAY_SIGN_IN_RATE:-20}")
    mkdir -p "$NGX_DIR/tmp"
    [[ ${FLEET_ACCESS_LOG:-0} == 1 ]] && args+=(--access-log)
    # As root the workers would switch to `nobody`, who cannot write our temp dirs.
    [[ $(id -u) -eq 0 ]] && args+=(--user root)
    for s in ${SERVICES[@]+"${SERVICES[@]}"}; do
        ports=""
        for inst in $(instances_of "$s"); do ports+="${ports:+,}$(read_file "$RUN_DIR/$inst.port")"; done
        args+=(--instances "$s=$ports")
    done
    "$BIN_DIR/fleet" gateway-config "${args[@]}" >"$conf.tmp" || die "fleet gateway-config failed"
    mv "$conf.tmp" "$conf"
}

start_gateway() {
    local nginx conf=$NGX_DIR/nginx.conf code=000
    nginx=$(nginx_bin)
    [[ -x $nginx ]] || die "nginx not found (scripts/infra.sh install installs it)"
    write_nginx_conf
    "$nginx" -t -q -p "$NGX_DIR" -c "$conf" -e "$LOG_DIR/gateway-error.log" ||
        die "the generated gateway config is invalid: $conf"
    : >"$LOG_DIR/gateway.log"
    : >"$LOG_DIR/gateway-error.log"
    setsid "$nginx" -p "$NGX_DIR" -c "$conf" -e "$LOG_DIR/gateway-error.log" </dev/null \
        >>"$LOG_DIR/gateway.log" 2>&1 &
    echo $! >"$RUN_DIR/gateway.pid"
    echo "$GATEWAY_PORT" >"$RUN_DIR/gateway.port"
    local deadline=$((SECONDS + 20))
    while [[ $code == 000 ]]; do
        if ! pid_alive "$(read_file "$RUN_DIR/gateway.pid")"; then
            log_tail "$LOG_DIR/gateway.log"
            log_tail "$LOG_DIR/gateway-error.log"
            die "the gateway (nginx) exited during startup"
        fi
        ((SECONDS < deadline)) || die "the gateway does not answer on port $GATEWAY_PORT"
        sleep 0.1
        code=$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' \
            "http://127.0.0.1:$GATEWAY_PORT/api/users/currentuser" || true)
    done
    say "gateway (nginx) on port $GATEWAY_PORT, config ${conf#"$REPO_ROOT"/}"
}

# ---------------------------------------------------------------------------------------------
# prometheus
# ---------------------------------------------------------------------------------------------

PROM_DIR=$FLEET_DIR/prometheus

# The checked-in configuration and alert rules (infra/prometheus), and the services' metrics
# addresses as file-based service discovery (the `job` label of each is the service's name).
write_prometheus_conf() {
    local s sep=""
    cp "$REPO_ROOT/infra/prometheus/prometheus.yml" "$REPO_ROOT/infra/prometheus/alerts.yml" "$PROM_DIR/"
    {
        echo "["
        for s in "${INSTANCES[@]}"; do
            printf '%s  {"targets": ["127.0.0.1:%s"], "labels": {"job": "%s"}}\n' \
                "$sep" "$(read_file "$RUN_DIR/$s.metrics_port")" "${s%%#*}"
            sep=","
        done
        echo "]"
    } >"$PROM_DIR/targets.json"
}

# Starts Prometheus when it is installed; never fails the fleet (it is a window on it, not part).
start_prometheus() {
    rm -f "$RUN_DIR/prometheus.port"
    if [[ ${FLEET_PROMETHEUS:-1} == 0 ]]; then
        say "FLEET_PROMETHEUS=0: no Prometheus"
        return 0
    fi
    local prometheus port
    prometheus=$(command -v prometheus || true)
    if [[ -z $prometheus ]]; then
        say "prometheus is not installed (apt-get install prometheus): no metrics are collected"
        return 0
    fi
    port=${FLEET_PROMETHEUS_PORT:-$(free_ports 1)}
    # A fresh database per fleet: the series of an earlier fleet's ports would still answer.
    rm -rf "$PROM_DIR/data"
    mkdir -p "$PROM_DIR/data"
    write_prometheus_conf
    : >"$LOG_DIR/prometheus.log"
    setsid "$prometheus" --config.file="$PROM_DIR/prometheus.yml" \
        --storage.tsdb.path="$PROM_DIR/data" --storage.tsdb.retention.time=1d \
        --web.listen-address="127.0.0.1:$port" </dev/null >>"$LOG_DIR/prometheus.log" 2>&1 &
    echo $! >"$RUN_DIR/prometheus.pid"
    local deadline=$((SECONDS + 30))
    until curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/-/ready"; do
        if ! pid_alive "$(read_file "$RUN_DIR/prometheus.pid")" || ((SECONDS >= deadline)); then
            log_tail "$LOG_DIR/prometheus.log"
            stop_pidfiles "$RUN_DIR/prometheus.pid"
            say "prometheus did not start; the fleet runs without it"
            return 0
        fi
        sleep 0.2
    done
    echo "$port" >"$RUN_DIR/prometheus.port"
    say "prometheus: http://127.0.0.1:$port (scraping ${SERVICES[*]} every 5 s; alerts: /alerts)"
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------

# The fleet's state, written by the fleet binary (crates/fleet) from the run dir and the infra's
# infra.json: $FLEET_DIR/fleet.json for programs (fleet::State: the benchmark and the tests read
# it) and env.sh, the same to source. The session key is kept from the state already there when
# this shell does not know it (an infra restart).
write_env() {
    JWT_KEY=${JWT:-} "$(fleet_bin)" state --dir "$FLEET_DIR" --infra-dir "$INFRA_DIR_FLEET" \
        --gateway-port "$(read_file "$RUN_DIR/gateway.port")" || die "fleet state failed"
}

# After an infra server was started again: its pid in the state.
refresh_env() {
    [[ -f $ENV_FILE ]] || return 0
    write_env
}

# The fleet binary this fleet was started with.
fleet_bin() {
    local bin
    bin=$(read_file "$RUN_DIR/fleet.bin")
    [[ -x $bin ]] || die "no fleet was started in ${FLEET_DIR#"$REPO_ROOT"/} (no run/fleet.bin)"
    echo "$bin"
}

# Everything this fleet may have started: services, gateway, infra (unless $1 is --keep-infra).
# Safe to call repeatedly.
stop_all() {
    trap '' INT TERM # a second Ctrl-C must not cut the shutdown short
    local -a files=()
    local f
    for f in "$RUN_DIR"/*.pid; do
        case $(basename "$f") in gateway.pid | prometheus.pid) ;; *) files+=("$f") ;; esac
    done
    stop_pidfiles "$RUN_DIR/gateway.pid" "$RUN_DIR/prometheus.pid"
    stop_pidfiles ${files[@]+"${files[@]}"}
    [[ ${1:-} == --keep-infra ]] || infra stop | sed 's/^/  /' || true
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
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$NGX_DIR"
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

    say "starting the infra servers (${INFRA_DIR_FLEET#"$REPO_ROOT"/})"
    infra start | sed 's/^/  /'
    # The infra's URLs under names of our own: the caller's NATS_URL, STRIPE_API_BASE, ... stay
    # untouched in the environment the services inherit.
    I_NATS_URL=$(infra_var NATS_URL)
    I_REDIS_URL=$(infra_var REDIS_URL)
    I_STRIPE_API_BASE=$(infra_var STRIPE_API_BASE)

    JWT=${JWT_KEY:-$(fleet_jwt_key)}
    [[ -n ${JWT_KEY:-} ]] || say "JWT_KEY is not set: using this fleet's own random key (${JWT_KEY_FILE#"$REPO_ROOT"/})"
    if [[ -n ${STRIPE_KEY:-} ]]; then
        say "STRIPE_KEY is set: payments charges through the real Stripe API"
    else
        say "payments charges through the local Stripe mock ($I_STRIPE_API_BASE)"
    fi

    build_services
    echo "$BIN_DIR/fleet" >"$RUN_DIR/fleet.bin"
    if [[ ${#SERVICES[@]} -gt 0 ]]; then
        # An API port and a metrics port per instance.
        local -a ports
        read -r -a ports <<<"$(free_ports $((2 * ${#INSTANCES[@]})))"
        local i n=${#INSTANCES[@]}
        echo "${INSTANCES[*]}" >"$RUN_DIR/instances"
        for i in "${!INSTANCES[@]}"; do
            start_service "${INSTANCES[$i]}" "${ports[$i]}" "${ports[$((n + i))]}"
        done
        wait_services
    fi
    start_gateway
    start_prometheus
    write_env
    echo "ready: http://localhost:$GATEWAY_PORT"

    if [[ $detach -eq 1 ]]; then
        CLEANUP=0
        echo detached >"$RUN_DIR/mode"
        say "detached; stop it with: scripts/fleet.sh stop (env: ${ENV_FILE#"$REPO_ROOT"/})"
        return 0
    fi
    say "running; Ctrl-C stops everything"
    watch_children
}

# Foreground: any service or the gateway exiting ends the fleet (with that process's log).
watch_children() {
    local pid name f rc
    while true; do
        pid="" rc=0
        wait -n -p pid || rc=$?
        if [[ -z $pid ]]; then
            [[ $rc -eq 127 ]] && die "no fleet process is left to watch"
            continue
        fi
        name=unknown
        for f in "$RUN_DIR"/*.pid; do
            [[ $(read_file "$f") == "$pid" ]] && name=$(basename "$f" .pid)
        done
        if [[ $name == prometheus ]]; then
            log_tail "$LOG_DIR/prometheus.log"
            rm -f "$RUN_DIR/prometheus.pid"
            say "prometheus (pid $pid) exited; the fleet runs on without it"
            continue
        elif [[ $name == gateway ]]; then
            log_tail "$LOG_DIR/gateway.log"
            log_tail "$LOG_DIR/gateway-error.log"
        elif [[ $name != unknown ]]; then
            log_tail "$LOG_DIR/$name.log"
        else
            continue # some helper child (not a service)
        fi
        rm -f "$RUN_DIR/$name.pid"
        die "$name (pid $pid) exited unexpectedly"
    done
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
