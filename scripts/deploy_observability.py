"""Observability cross-references of a rendered deployment, run by deploy_crossref.py.

On every render: a pod that mounts its service account token is one whose account is bound only to
namespaced Roles that read (get, list, watch) and never write (read_only_token, used by the pod security
check).

With observability=True (a render with the component infra/k8s/observability) also, each link of the stack
followed to the port at its end:
  * every service exports its spans to OTEL_EXPORTER_OTLP_ENDPOINT = a Service whose port reaches the port
    Alloy's OTLP/HTTP receiver listens on (config.alloy), and serves /metrics on METRICS_PORT, declared as its
    container port `metrics`;
  * Prometheus scrapes each service: a headless Service <service>-metrics selects the service's pods on that
    port, and the in-cluster prometheus.yml names it in dns_sd_configs with that port, its job relabelled to the
    service (the alert rules and the dashboard group by job);
  * Prometheus's --config.file is the mounted prometheus.yml, its rule_files find the mounted rules, and those
    rules are infra/prometheus/alerts.yml byte for byte (one source for the local fleet and the cluster);
  * Alloy writes logs to Loki's push port and traces to Tempo's OTLP/gRPC port, as their configs listen;
  * Grafana's data sources reach Prometheus, Tempo and Loki, and their links (trace -> logs, log -> trace)
    name data sources that exist; the dashboard provider reads the mounted dashboards; every panel's data source
    exists and every metric a panel queries is one the code defines (crates/common/src/metrics.rs), and the
    dashboard shows what it must (requests, 5xx, latency, consumer pending, outbox, dead letters, payments);
    its log queries and the trace -> logs link select by labels Alloy gives the log streams;
  * skaffold has the profiles observability and production-observability deploying the overlays.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

OBSERVABILITY_PROFILES = {
    "observability": "infra/overlays/observability",
    "production-observability": "infra/overlays/production-observability",
}
RULES_SOURCE = "infra/prometheus/alerts.yml"
METRICS_SOURCE = "crates/common/src/metrics.rs"
READ_VERBS = {"get", "list", "watch"}
# The stack's workloads, found by image (the name before the tag).
STACK_IMAGES = {"alloy": "grafana/alloy", "tempo": "grafana/tempo", "loki": "grafana/loki",
                "prometheus": "prom/prometheus", "grafana": "grafana/grafana"}
# What the dashboard must show (issue: per service request rate, errors, latency; event lag, outbox backlog
# and oldest age, dead letters, payments).
DASHBOARD_METRICS = ["http_requests_total", "http_request_duration_seconds", "consumer_pending_messages",
                     "outbox_pending_events", "outbox_oldest_pending_age_seconds",
                     "consumer_messages_dead_lettered_total", "payments_total"]
# Series Prometheus makes itself.
BUILTIN_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile", "abs", "clamp_min",
    "clamp_max", "round", "vector", "scalar", "time", "label_replace", "label_join", "sort", "sort_desc",
    "absent", "changes", "resets", "avg_over_time", "max_over_time", "min_over_time", "sum_over_time",
    "count_over_time", "last_over_time", "predict_linear", "inf", "nan",
}


# ----------------------------------------------------------------------------------------------- RBAC

def read_only_token(spec: dict, objs: dict) -> tuple[bool, str]:
    """Whether a pod mounting its service account token is allowed to: its account is bound only to
    namespaced Roles whose rules only read. Returns (ok, why)."""
    account = spec.get("serviceAccountName") or "default"
    if account == "default":
        return False, "token of the default service account mounted"
    bindings = [o for (k, _), o in objs.items() if k in ("RoleBinding", "ClusterRoleBinding")
                and any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                        for s in o.get("subjects") or [])]
    if not bindings:
        return False, f"service account {account} token mounted but bound to no Role"
    for b in bindings:
        ref = b.get("roleRef") or {}
        if b["kind"] == "ClusterRoleBinding" or ref.get("kind") != "Role":
            return False, f"{b['kind']} {b['metadata']['name']} grants {ref.get('kind')} {ref.get('name')} " \
                          "(only namespaced Roles)"
        role = objs.get(("Role", ref.get("name")))
        if role is None:
            return False, f"RoleBinding {b['metadata']['name']}: no Role {ref.get('name')} in the manifests"
        verbs = {v for rule in role.get("rules") or [] for v in rule.get("verbs") or []}
        if not verbs <= READ_VERBS:
            return False, f"Role {ref.get('name')} may {sorted(verbs - READ_VERBS)}"
    return True, ""


# ------------------------------------------------------------------------------------------ helpers

def alloy_attributes(text: str) -> list[tuple[tuple[str, ...], str, str]]:
    """(enclosing blocks, attribute, value) for each `name = value` line of an Alloy config: one statement a
    line, as `alloy fmt` writes it, comments on lines of their own. A block is `otelcol.receiver.otlp "x"`,
    `http`, ..."""
    out, stack = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        if line.endswith("{"):
            stack.append(" ".join(line[:-1].split()))
        elif line == "}":
            stack.pop()
        elif "=" in line:
            name, _, value = line.partition("=")
            out.append((tuple(stack), name.strip(), value.strip().strip('"')))
    return out


def alloy_value(attrs: list, block_prefix: str, inner: tuple[str, ...], name: str) -> str | None:
    for blocks, attr, value in attrs:
        if blocks and blocks[0].startswith(block_prefix) and blocks[1:] == inner and attr == name:
            return value
    return None


def code_metrics(repo: Path) -> set[str]:
    """The metric names the code defines (`pub const X: &str = "name";` in metrics.rs), with the series a
    histogram adds."""
    src = (repo / METRICS_SOURCE).read_text() if (repo / METRICS_SOURCE).exists() else ""
    names = set(re.findall(r'pub const [A-Z_]+: &str = "([a-z_:][a-z0-9_:]*)";', src))
    return names | {f"{n}_{s}" for n in names if n.endswith("_seconds") for s in ("bucket", "sum", "count")}


def promql_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, strings, ranges and grouping removed)."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", e))
    return {w for w in words if w not in PROMQL_WORDS and not w.startswith("$")}


def service_target(services: dict, workloads: dict, helpers: dict, host: str, port: int) \
        -> tuple[dict | None, int | None, str]:
    """The workload and container port a Service host:port reaches, or why not."""
    svc = services.get(host)
    if svc is None:
        return None, None, f"no Service {host}"
    sport = next((p for p in svc["spec"].get("ports") or [] if p.get("port") == port), None)
    if sport is None:
        return None, None, f"Service {host} has no port {port}"
    sel = svc["spec"].get("selector") or {}
    ws = [w for w in workloads.values() if sel and all(helpers["pod_labels"](w).get(k) == v for k, v in sel.items())]
    if len(ws) != 1:
        return None, None, f"Service {host} selects {len(ws)} workloads"
    target = sport.get("targetPort", port)
    for c in helpers["pod_spec"](ws[0]).get("containers") or []:
        for p in c.get("ports") or []:
            if target in (p.get("name"), p.get("containerPort")):
                return ws[0], p["containerPort"], ""
    return None, None, f"Service {host} port {port} targets {target}, not a container port"


def image_of(w: dict | None, helpers: dict) -> str:
    return helpers["pod_spec"](w)["containers"][0]["image"].rsplit(":", 1)[0] if w else ""


def mounted_files(w: dict, objs: dict, helpers: dict) -> dict[str, str]:
    """Path -> content of every file the workload's first container mounts from a ConfigMap (configMap and
    projected volumes)."""
    spec = helpers["pod_spec"](w)
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    files: dict[str, str] = {}
    for m in spec["containers"][0].get("volumeMounts") or []:
        v = volumes.get(m["name"]) or {}
        sources = [s["configMap"] for s in (v.get("projected") or {}).get("sources") or [] if "configMap" in s]
        if "configMap" in v:
            sources.append(v["configMap"])
        for src in sources:
            data = (objs.get(("ConfigMap", src["name"])) or {}).get("data") or {}
            items = src.get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                if item["key"] in data:
                    files[posixpath.join(m["mountPath"], item["path"])] = data[item["key"]]
    return files


def arg_value(w: dict, helpers: dict, flag: str) -> str | None:
    c = helpers["pod_spec"](w)["containers"][0]
    for a in list(c.get("command") or []) + list(c.get("args") or []):
        if str(a).startswith(flag + "="):
            return str(a).split("=", 1)[1]
    return None


def by_image(workloads: dict, helpers: dict) -> dict[str, dict]:
    found = {}
    for w in workloads.values():
        for part, image in STACK_IMAGES.items():
            if image_of(w, helpers) == image:
                found[part] = w
    return found


def config_file(w: dict | None, objs: dict, helpers: dict, flag: str) -> tuple[str | None, dict, str]:
    """(path, parsed YAML, why not) of the config file a workload is started with (`flag=path`)."""
    if w is None:
        return None, {}, "no such workload"
    path = arg_value(w, helpers, flag)
    text = mounted_files(w, objs, helpers).get(path or "")
    if text is None:
        return path, {}, f"{flag}={path} is not a mounted ConfigMap file"
    parsed, why = parse_yaml(text)
    return path, parsed, why and f"{path}: {why}"


def parse_yaml(text: str | None) -> tuple[dict, str]:
    """A mounted YAML file, {} and why when it does not parse (reported, not a crash)."""
    try:
        parsed = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as e:
        return {}, f"not YAML: {str(e).splitlines()[0]}"
    return (parsed, "") if isinstance(parsed, dict) else ({}, "not a mapping")


def port_of(endpoint: str) -> int | None:
    m = re.search(r":(\d+)$", endpoint or "")
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------------------------------- checks

def check_observability(r, repo: Path, objs: dict, workloads: dict, services: dict, helpers: dict,
                        skaffold: dict) -> None:
    pod_spec, env_map = helpers["pod_spec"], helpers["env_map"]
    stack = by_image(workloads, helpers)
    r.check(sorted(stack) == sorted(STACK_IMAGES), "observability: one workload each of "
            + ", ".join(f"{k} ({v})" for k, v in STACK_IMAGES.items()),
            f"found {sorted(stack)}")
    alloy = stack.get("alloy")
    alloy_text = next((t for p, t in (mounted_files(alloy, objs, helpers) if alloy else {}).items()
                       if p.endswith(".alloy")), "")
    attrs = alloy_attributes(alloy_text)
    r.check(bool(alloy_text) and alloy is not None and alloy["spec"].get("replicas", 1) == 1,
            "Alloy: one replica, config.alloy mounted from a ConfigMap",
            "two collectors would each tail every pod's log" if alloy_text else "no .alloy file mounted")
    otlp_http = port_of(alloy_value(attrs, "otelcol.receiver.otlp", ("http",), "endpoint") or "")

    # --- services: spans to Alloy, metrics port, scraped by Prometheus ---------------------------------------
    prom = stack.get("prometheus")
    prom_path, prom_conf, why = config_file(prom, objs, helpers, "--config.file")
    r.check(not why, f"Prometheus: --config.file={prom_path} is the mounted prometheus.yml", why)
    scraped: dict[str, tuple[int, str]] = {}
    for job in prom_conf.get("scrape_configs") or []:
        for sd in job.get("dns_sd_configs") or []:
            for name in sd.get("names") or []:
                label = job.get("job_name")
                for rule in job.get("relabel_configs") or []:
                    if rule.get("source_labels") == ["__meta_dns_name"] and rule.get("target_label") == "job":
                        m = re.fullmatch(rule.get("regex", "(.*)"), name)
                        if m:
                            label = m.expand(rule.get("replacement", "$1").replace("$", "\\"))
                scraped[name] = (sd.get("port"), label)
    for svc in helpers["services"]:
        w = workloads.get(svc)
        if w is None:
            continue
        c = pod_spec(w)["containers"][0]
        env = env_map(c, objs)
        endpoint = (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or {}).get("value") or ""
        url = urlsplit(endpoint)
        target, cport, why = service_target(services, workloads, helpers, url.hostname or "", url.port or 4318)
        if not why and target is not alloy:
            why = f"{url.hostname} is not Alloy"
        elif not why and cport != otlp_http:
            why = f"reaches port {cport}, Alloy's OTLP/HTTP receiver listens on {otlp_http}"
        r.check(url.scheme == "http" and not why,
                f"Deployment {svc}: OTEL_EXPORTER_OTLP_ENDPOINT {endpoint or '-'} -> Alloy's OTLP/HTTP receiver", why)
        metrics_port = (env.get("METRICS_PORT") or {}).get("value")
        declared = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        r.check(metrics_port is not None and declared.get("metrics") == int(metrics_port),
                f"Deployment {svc}: METRICS_PORT {metrics_port} declared as container port metrics",
                f"container ports {declared}")
        msvc = services.get(f"{svc}-metrics")
        sport = next((p.get("port") for p in (msvc or {}).get("spec", {}).get("ports") or []), None)
        _, reached, why = service_target(services, workloads, helpers, f"{svc}-metrics", sport or 0)
        if not why and msvc["spec"].get("clusterIP") != "None":
            why = "not headless: its name would resolve to one address, not to every pod"
        elif not why and metrics_port is not None and reached != int(metrics_port):
            why = f"reaches port {reached}, not METRICS_PORT {metrics_port}"
        r.check(not why, f"Service {svc}-metrics: headless, port {sport} -> {svc}'s metrics port", why)
        port, job = scraped.get(f"{svc}-metrics", (None, None))
        r.check(port == sport and job == svc, f"Prometheus scrapes {svc}-metrics:{sport} as job={svc}",
                f"dns_sd_configs: port {port}, job {job}")

    # --- Prometheus's rules are infra/prometheus/alerts.yml -----------------------------------------------------
    if prom is not None and prom_path:
        files = mounted_files(prom, objs, helpers)
        base = posixpath.dirname(prom_path)
        globs = [g if g.startswith("/") else posixpath.join(base, g) for g in prom_conf.get("rule_files") or []]
        rules = {p: t for p, t in files.items() if any(fnmatch.fnmatch(p, g) for g in globs)}
        source = (repo / RULES_SOURCE).read_text()
        r.check(len(rules) == 1 and list(rules.values())[0] == source,
                f"Prometheus: rule_files {prom_conf.get('rule_files')} find {', '.join(rules) or 'nothing'}, "
                f"which is {RULES_SOURCE} as it is", "no rules mounted" if not rules else "differs from the file")

    # --- Alloy -> Loki, Alloy -> Tempo --------------------------------------------------------------------------
    loki_url = urlsplit(alloy_value(attrs, "loki.write", ("endpoint",), "url") or "")
    loki_w, loki_port, why = service_target(services, workloads, helpers, loki_url.hostname or "", loki_url.port or 80)
    _, loki_conf, cwhy = config_file(stack.get("loki"), objs, helpers, "-config.file")
    if not why and loki_w is not stack.get("loki"):
        why = f"{loki_url.hostname} is not Loki"
    elif not why and loki_port != (loki_conf.get("server") or {}).get("http_listen_port"):
        why = f"reaches {loki_port}, Loki listens on {(loki_conf.get('server') or {}).get('http_listen_port')}"
    r.check(not why and not cwhy and loki_url.path == "/loki/api/v1/push",
            f"Alloy: loki.write {loki_url.geturl()} -> Loki's push API", why or cwhy)
    tempo_ep = alloy_value(attrs, "otelcol.exporter.otlp", ("client",), "endpoint") or ""
    host, _, port = tempo_ep.rpartition(":")
    tempo_w, tempo_port, why = service_target(services, workloads, helpers, host, int(port or 0))
    _, tempo_conf, cwhy = config_file(stack.get("tempo"), objs, helpers, "-config.file")
    grpc = (((tempo_conf.get("distributor") or {}).get("receivers") or {}).get("otlp") or {}) \
        .get("protocols", {}).get("grpc") or {}
    if not why and tempo_w is not stack.get("tempo"):
        why = f"{host} is not Tempo"
    elif not why and tempo_port != port_of(grpc.get("endpoint", "")):
        why = f"reaches {tempo_port}, Tempo's OTLP/gRPC receiver listens on {grpc.get('endpoint')}"
    r.check(not why and not cwhy, f"Alloy: otelcol.exporter.otlp {tempo_ep} -> Tempo's OTLP/gRPC receiver",
            why or cwhy)

    # The labels Alloy gives the log streams (discovery.relabel's target labels): what Grafana may select by.
    log_labels = {v for blocks, attr, v in attrs if blocks and blocks[0].startswith("discovery.relabel")
                  and attr == "target_label"}
    check_grafana(r, repo, objs, workloads, services, helpers, stack,
                  {"prometheus": 9090, "tempo": (tempo_conf.get("server") or {}).get("http_listen_port"),
                   "loki": (loki_conf.get("server") or {}).get("http_listen_port")}, log_labels)

    profiles = {p.get("name"): p for p in skaffold.get("profiles") or []}
    for name, path in OBSERVABILITY_PROFILES.items():
        paths = profiles.get(name, {}).get("deploy", {}).get("kustomize", {}).get("paths", [])
        r.check(paths == [path], f"skaffold profile {name} deploys kustomize paths {paths}", f"want [{path!r}]")


def stream_labels(logql: str) -> set[str]:
    """The label names of a LogQL query's stream selector (`{app=~"x", component="service"} | json`)."""
    m = re.match(r"\s*\{([^}]*)\}", logql)
    return set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", m.group(1))) if m else set()


def check_grafana(r, repo: Path, objs: dict, workloads: dict, services: dict, helpers: dict, stack: dict,
                  listen: dict, log_labels: set[str]) -> None:
    grafana = stack.get("grafana")
    files = mounted_files(grafana, objs, helpers) if grafana else {}
    ds_file = next((t for p, t in files.items() if "/provisioning/datasources/" in p), None)
    provider = next((t for p, t in files.items() if "/provisioning/dashboards/" in p), None)
    datasources, why = parse_yaml(ds_file)
    r.check(ds_file is not None and not why, "Grafana: data sources provisioned from a mounted ConfigMap", why)
    sources = {d.get("uid"): d for d in datasources.get("datasources") or []}
    for uid, ds in sorted(sources.items(), key=lambda i: str(i[0])):
        url = urlsplit(ds.get("url") or "")
        w, port, why = service_target(services, workloads, helpers, url.hostname or "", url.port or 80)
        if not why and w is not stack.get(ds.get("type")):
            why = f"{url.hostname} is not {ds.get('type')}"
        elif not why and port != listen.get(ds.get("type")):
            why = f"reaches port {port}, {ds.get('type')} listens on {listen.get(ds.get('type'))}"
        r.check(not why, f"Grafana data source {uid} ({ds.get('type')}): {ds.get('url')} -> {ds.get('type')}", why)
    links = []
    for uid, ds in sources.items():
        jd = ds.get("jsonData") or {}
        links += [(uid, k, (jd.get(k) or {}).get("datasourceUid")) for k in ("tracesToLogsV2", "tracesToMetrics",
                                                                             "lokiSearch", "serviceMap") if k in jd]
        links += [(uid, "derivedFields", f.get("datasourceUid")) for f in jd.get("derivedFields") or []]
    kinds = {(sources.get(a) or {}).get("type"): (sources.get(b) or {}).get("type") for a, k, b in links
             if k in ("tracesToLogsV2", "derivedFields")}
    r.check(all(b in sources for _, _, b in links) and kinds.get("tempo") == "loki" and kinds.get("loki") == "tempo",
            "Grafana: traces link to logs (Tempo -> Loki) and logs to traces (Loki -> Tempo); every link names a "
            "data source", f"links {links}")
    # A trace's service.name is looked up in Loki under a label that Alloy sets.
    tag_labels = {t.get("value") or t.get("key") for ds in sources.values()
                  for t in ((ds.get("jsonData") or {}).get("tracesToLogsV2") or {}).get("tags") or []}
    r.check(bool(log_labels) and tag_labels <= log_labels,
            f"Grafana: traces find their logs by Loki label(s) {sorted(tag_labels)}, which Alloy sets",
            f"Alloy's labels: {sorted(log_labels)}")

    folder = (((parse_yaml(provider)[0].get("providers") or [{}])[0]).get("options") or {}).get("path")
    boards = {p: t for p, t in files.items()
              if folder and p.startswith(folder.rstrip("/") + "/") and p.endswith(".json")}
    r.check(bool(boards), f"Grafana: the dashboard provider reads {folder}, where "
            f"{', '.join(posixpath.basename(p) for p in boards) or 'no dashboard'} is mounted")
    known = code_metrics(repo)
    for path, text in sorted(boards.items()):
        try:
            board = json.loads(text)
        except json.JSONDecodeError as e:
            r.check(False, f"dashboard {path}: valid JSON", str(e))
            continue
        panels = [p for p in board.get("panels") or [] if p.get("type") != "row"]
        exprs, logql, bad_ds = [], [], []
        for p in panels:
            for t in p.get("targets") or []:
                uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
                if uid not in sources:
                    bad_ds.append(f"{p.get('title')}: {uid}")
                elif sources[uid].get("type") == "prometheus":
                    exprs.append((p.get("title"), t.get("expr", "")))
                elif sources[uid].get("type") == "loki":
                    logql.append((p.get("title"), t.get("expr", "")))
        r.check(not bad_ds, f"dashboard {board.get('title')}: {len(panels)} panels, each on a provisioned data "
                "source", "; ".join(bad_ds))
        unknown = sorted({f"{m} ({title})" for title, e in exprs for m in promql_metrics(e)
                          if m not in known and m not in BUILTIN_SERIES})
        r.check(bool(known) and not unknown, f"dashboard {board.get('title')}: every metric it queries is "
                f"defined in {METRICS_SOURCE}", "unknown: " + ", ".join(unknown))
        unlabelled = sorted({f"{label} ({title})" for title, e in logql for label in stream_labels(e) - log_labels})
        r.check(not unlabelled, f"dashboard {board.get('title')}: its log queries select by labels Alloy sets "
                f"({', '.join(sorted(log_labels))})", "unknown: " + ", ".join(unlabelled))
        used = {m for _, e in exprs for m in promql_metrics(e)}
        missing = [m for m in DASHBOARD_METRICS if not ({m, f"{m}_bucket"} & used)]
        r.check(not missing, f"dashboard {board.get('title')} shows {', '.join(DASHBOARD_METRICS)}",
                f"missing {missing}")
