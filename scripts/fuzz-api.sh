#!/usr/bin/env bash
# Fuzzes the running fleet's API through its gateway with schemathesis (PyPI), a fuzzer nobody
# here wrote, driven by the API's own description: the merged OpenAPI document the gateway
# serves at /api/docs/openapi.json.
#
#   GATEWAY_URL=http://127.0.0.1:8080 scripts/fuzz-api.sh
#
# Every operation, as a signed-in user (a fresh account; its session cookie goes with every
# request), the document's links followed in a stateful phase (a ticket listed → shown, edited,
# ordered; an order → shown, cancelled, paid). Checks: not_a_server_error,
# status_code_conformance, content_type_conformance, response_schema_conformance. Prints the
# number of generated cases and exits non-zero on any failure.
#
# Settings: FUZZ_MAX_EXAMPLES (cases per operation and phase, default 30), FUZZ_MAX_SECONDS
# (bound of the whole run, default 180), FUZZ_SEED (a fixed seed repeats a run).
# schemathesis is installed into a venv of its own in the machine cache (like the servers'
# Python tools, see scripts/infra.sh), pinned so that every machine fuzzes alike.
set -euo pipefail

SCHEMATHESIS_PIP_REQ='schemathesis==4.32.5'
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/ticketing
VENV=$CACHE_DIR/schemathesis-venv
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPORT_DIR=$REPO_ROOT/target/fuzz
: "${GATEWAY_URL:?must name the gateway of the running fleet (scripts/fleet.sh)}"

say() { printf 'fuzz: %s\n' "$*"; }

install_schemathesis() {
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.schemathesis.lock"
    flock 9
    if ! "$VENV/bin/python" -m pip show -q schemathesis >/dev/null 2>&1 ||
        [[ $("$VENV/bin/st" --version 2>/dev/null) != *"${SCHEMATHESIS_PIP_REQ#*==}"* ]]; then
        say "installing $SCHEMATHESIS_PIP_REQ (pip, into $VENV)"
        [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$SCHEMATHESIS_PIP_REQ" \
            >"$CACHE_DIR/schemathesis-pip.log" 2>&1 || {
            tail -n 20 "$CACHE_DIR/schemathesis-pip.log" >&2
            exit 1
        }
    fi
    exec 9>&-
}

# A fresh account for the run; prints its session cookie (`session=...`).
sign_up() {
    local email="fuzz-$(date +%s)-$RANDOM@example.com"
    curl -sS -o /dev/null -D - -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"fuzz-secret\"}" "$GATEWAY_URL/api/users/signup" |
        sed -n 's/^[Ss]et-[Cc]ookie: \(session=[^;]*\).*/\1/p' | head -n 1
}

install_schemathesis
cookie=$(sign_up)
[[ -n $cookie ]] || {
    say "could not sign up through $GATEWAY_URL"
    exit 1
}
rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
say "schemathesis $("$VENV/bin/st" --version | sed 's/.* //') against $GATEWAY_URL/api/docs/openapi.json"
rc=0
# Sign-out is left out: it would end the session the other operations use (it is tested with
# its own cookie in the end-to-end tests).
"$VENV/bin/st" run "$GATEWAY_URL/api/docs/openapi.json" \
    --url "$GATEWAY_URL" \
    --header "Cookie: $cookie" \
    --exclude-operation-id signOut \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "${FUZZ_MAX_EXAMPLES:-30}" \
    --max-time "${FUZZ_MAX_SECONDS:-180}" \
    --request-timeout 20 \
    --workers 2 \
    ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
    --report junit,ndjson --report-dir "$REPORT_DIR" \
    --generation-with-security-parameters false --generation-database none \
    --warnings off --no-color || rc=$?
say "report: $REPORT_DIR"
exit "$rc"

