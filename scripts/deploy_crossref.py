#!/usr/bin/env python3
"""Cross-reference test of the deployment files, run offline by scripts/validate-deploy.sh.

It reads what a cluster would receive (the output of `kubectl kustomize infra/k8s`), skaffold.yaml, the
Dockerfiles, the Cargo workspace, docs/settings.json and README.md's Kubernetes section, and checks
that they agree with each other and with the contract:

  * every Service selects a workload, and its target ports exist in that workload's containers;
  * every StatefulSet's governing Service exists, and every volume mount has a volume or a claim;
  * the Ingress is class nginx at ticketing.dev, routes as the fleet's description says (docs/fleet.json), and every
    backend names an existing Service and port;
  * every Secret / ConfigMap reference (env, envFrom, volumes) is created by the manifests, or is a
    user-created Secret (with that key) documented in README.md's Kubernetes section;
  * the images of our services are exactly the images skaffold builds; other images carry a pinned tag;
  * each skaffold artifact's Dockerfile takes ARG SERVICE, and the SERVICE values are the workspace's
    binaries (auth, tickets, orders, payments, expiration, client);
  * container ports match the PORT setting, and the probes use /healthz and /readyz on that port;
  * every setting a service needs is in its Deployment: what its configuration requires (docs/settings.json,
    made from the code by `cargo run -p settings-docs -- write` and checked against it by that crate's
    test) and what the contract lists; the in-cluster URLs (MONGO_URL, NATS_URL, REDIS_URL, API_URL) point at
    Services and ports that exist, with the replica set and database names that the databases use;
  * every pod runs non-root, read-only, without privilege escalation or capabilities, under the
    RuntimeDefault seccomp profile, with requests and limits, without its service account token unless
    that account may only read (deploy_observability.read_only_token); state lives on volume claims;
  * with --observability (a render with infra/k8s/observability): the services' spans, metrics and logs reach
    the stack, and Prometheus, Alloy, Tempo, Loki and Grafana reach each other (deploy_observability.py).

Prints one line per check and ends with `N passed, M failed`; the exit status is 1 if any check failed.

Usage: deploy_crossref.py [--repo DIR] [--rendered FILE] [--kubectl PATH] [--production] [--observability]
                          [--strict]
Needs PyYAML (the validation venv has it).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from deploy_observability import check_observability, read_only_token
from deploy_scaling import check_scaling, mongo_hosts

# The fleet, as its description says (crates/fleet, written to docs/fleet.json by `cargo run -p fleet --
# describe --write` and checked against the crate by its test): the services, those owning a MongoDB
# database, and the route prefixes with their service (the local gateway is rendered from the same).
FLEET_DOC = "docs/fleet.json"
FLEET = json.loads((Path(__file__).resolve().parent.parent / FLEET_DOC).read_text())
SERVICES = [s["name"] for s in FLEET["services"]]
MONGO_OWNERS = [s["name"] for s in FLEET["services"] if "mongo" in s["needs"]]
ROUTES = {r["prefix"]: r["service"] for r in FLEET["routes"]}
INGRESS_HOST = "ticketing.dev"
INGRESS_CLASS = "nginx"
# Contract, section 6 (and the project's settings list): what each service must be given in Kubernetes.
# Used always, and alone while the code does not exist yet.
CONTRACT_SETTINGS = {
    "auth": ["PORT", "JWT_KEY", "MONGO_URL", "NATS_URL", "COOKIE_SECURE", "RUST_LOG"],
    "tickets": ["PORT", "JWT_KEY", "MONGO_URL", "NATS_URL", "COOKIE_SECURE", "RUST_LOG"],
    "orders": ["PORT", "JWT_KEY", "MONGO_URL", "NATS_URL", "EXPIRATION_WINDOW_SECONDS", "COOKIE_SECURE",
               "RUST_LOG"],
    "payments": ["PORT", "JWT_KEY", "MONGO_URL", "NATS_URL", "STRIPE_KEY", "COOKIE_SECURE", "RUST_LOG"],
    "expiration": ["PORT", "JWT_KEY", "REDIS_URL", "NATS_URL", "RUST_LOG"],
    "client": ["PORT", "JWT_KEY", "API_URL", "API_HOST", "COOKIE_SECURE", "RUST_LOG"],
}
# The settings each service's configuration reads, as the code lists them (crates/settings-docs).
SETTINGS_DOC = "docs/settings.json"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
OUR_IMAGE_PREFIX = "ticketing/"
PRODUCTION_OVERLAY = "infra/overlays/production"


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}" + (f": {why}" if why else ""))
        return ok

    def note(self, text: str) -> None:
        print(f"note {text}")


# ---------------------------------------------------------------------------------------------- loading

def load_rendered(args: argparse.Namespace, repo: Path) -> list[dict]:
    if args.rendered:
        text = Path(args.rendered).read_text()
    else:
        kubectl = args.kubectl or "kubectl"
        text = subprocess.run([kubectl, "kustomize", str(repo / "infra/k8s")], check=True,
                              capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(text) if d]


def pod_spec(obj: dict) -> dict | None:
    if obj.get("kind") in WORKLOAD_KINDS:
        return obj.get("spec", {}).get("template", {}).get("spec")
    if obj.get("kind") == "Pod":
        return obj.get("spec")
    return None


def pod_labels(obj: dict) -> dict:
    if obj.get("kind") == "Pod":
        return obj.get("metadata", {}).get("labels") or {}
    return obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}


def all_containers(spec: dict) -> list[dict]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def env_map(container: dict, objs: dict) -> dict[str, dict]:
    """Name -> {'value': str|None, 'source': str} for env and envFrom (ConfigMaps resolved)."""
    out: dict[str, dict] = {}
    for ef in container.get("envFrom") or []:
        prefix = ef.get("prefix", "")
        if "configMapRef" in ef:
            cm = objs.get(("ConfigMap", ef["configMapRef"]["name"]))
            for k, v in ((cm or {}).get("data") or {}).items():
                out[prefix + k] = {"value": v, "source": f"ConfigMap {ef['configMapRef']['name']}"}
        if "secretRef" in ef:
            out.setdefault("__secretRef__", {"value": None, "source": ef["secretRef"]["name"]})
    for e in container.get("env") or []:
        if "value" in e:
            out[e["name"]] = {"value": str(e["value"]), "source": "literal"}
        elif "valueFrom" in e:
            vf = e["valueFrom"]
            src = next(iter(vf))
            ref = vf[src]
            out[e["name"]] = {"value": None,
                              "source": f"{src} {ref.get('name', '')}/{ref.get('key', ref.get('fieldPath', ''))}"}
        else:
            out[e["name"]] = {"value": "", "source": "literal"}
    return out


def kubernetes_section(readme: Path) -> str:
    """The README's `## Kubernetes` section (up to the next second-level heading); empty if none."""
    if not readme.exists():
        return ""
    m = re.search(r"^## Kubernetes\n(.*?)(?=^## |\Z)", readme.read_text(), re.S | re.M)
    return m.group(1) if m else ""


def parse_documented_secrets(section: str) -> dict[str, set[str]]:
    """`kubectl create secret generic NAME --from-literal=KEY=...` commands in the README section."""
    text = section.replace("\\\n", " ")
    documented: dict[str, set[str]] = {}
    for line in text.splitlines():
        m = re.search(r"kubectl\s+create\s+secret\s+generic\s+([a-z0-9.-]+)(.*)", line)
        if m:
            keys = set(re.findall(r"--from-(?:literal|file)=([A-Za-z0-9_.-]+)=", m.group(2)))
            documented.setdefault(m.group(1), set()).update(keys)
    return documented


def workspace_binaries(repo: Path) -> tuple[set[str] | None, str]:
    root = repo / "Cargo.toml"
    if not root.exists():
        return None, "no Cargo.toml at the repository root yet"
    manifest = tomllib.loads(root.read_text())
    members = manifest.get("workspace", {}).get("members", [])
    bins: set[str] = set()
    for pattern in members:
        for member in sorted(glob.glob(str(repo / pattern))):
            cargo = Path(member) / "Cargo.toml"
            if not cargo.exists():
                continue
            pkg = tomllib.loads(cargo.read_text())
            name = pkg.get("package", {}).get("name")
            for b in pkg.get("bin", []) or []:
                if b.get("name"):
                    bins.add(b["name"])
            autobins = pkg.get("package", {}).get("autobins", True)
            if autobins and (Path(member) / "src/main.rs").exists() and name:
                bins.add(name)
            if autobins:
                bins.update(Path(p).stem for p in glob.glob(str(Path(member) / "src/bin/*.rs")))
    return bins, f"{len(members)} workspace member pattern(s) in Cargo.toml"


# ------------------------------------------------------------------------------------ settings the code reads

def code_requirements(repo: Path) -> tuple[dict[str, dict[str, str]], bool]:
    """Service -> {setting: why} from docs/settings.json; second value: whether the document was found."""
    path = repo / SETTINGS_DOC
    if not path.is_file():
        return {}, False
    listed = json.loads(path.read_text())
    needs = {svc: {s: f"required by its configuration, {SETTINGS_DOC}" for s in listed.get(svc, {}).get("required", [])}
             for svc in SERVICES}
    return needs, True


# ------------------------------------------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--rendered", help="output of `kubectl kustomize infra/k8s` (rendered now if omitted)")
    ap.add_argument("--kubectl", help="kubectl to render with (default: kubectl on PATH)")
    ap.add_argument("--production", action="store_true",
                    help="the render is infra/overlays/production: check its scaling (see deploy_scaling.py)")
    ap.add_argument("--observability", action="store_true",
                    help="the render has infra/k8s/observability: check the stack (see deploy_observability.py)")
    ap.add_argument("--strict", action="store_true", default=os.environ.get("DEPLOY_CROSSREF_STRICT") == "1",
                    help="a service crate that does not exist yet fails instead of being reported as pending")
    args = ap.parse_args()
    production = args.production
    observability = args.observability
    repo = Path(args.repo)
    r = Report()

    try:
        docs = load_rendered(args, repo)
    except Exception as e:  # noqa: BLE001 - report, not crash
        r.check(False, "render infra/k8s", str(e))
        return finish(r)
    objs = {(d.get("kind"), d.get("metadata", {}).get("name")): d for d in docs}
    kinds: dict[str, int] = {}
    for d in docs:
        kinds[d.get("kind")] = kinds.get(d.get("kind"), 0) + 1
    r.check(len(objs) == len(docs), f"rendered manifests: {len(docs)} objects, names unique per kind",
            "duplicate kind/name")
    print("     " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))

    workloads = {n: o for (k, n), o in objs.items() if k in WORKLOAD_KINDS}
    services = {n: o for (k, n), o in objs.items() if k == "Service"}
    skaffold = yaml.safe_load((repo / "skaffold.yaml").read_text())
    readme = kubernetes_section(repo / "README.md")
    documented = parse_documented_secrets(readme)

    def selected_workloads(svc: dict) -> list[dict]:
        sel = svc.get("spec", {}).get("selector") or {}
        if not sel:
            return []
        return [w for w in workloads.values() if all(pod_labels(w).get(k) == v for k, v in sel.items())]

    def container_ports(w: dict) -> list[dict]:
        return [p for c in all_containers(pod_spec(w)) for p in (c.get("ports") or [])]

    # --- Services select workloads; target ports exist -------------------------------------------------
    for name, svc in sorted(services.items()):
        ws = selected_workloads(svc)
        sel = svc.get("spec", {}).get("selector")
        if not r.check(len(ws) >= 1, f"Service {name}: selector {sel} matches pod labels of "
                       + (", ".join(f"{w['kind']} {w['metadata']['name']}" for w in ws) or "a workload"),
                       "no workload's pod template carries these labels"):
            continue
        bad = []
        for p in svc["spec"].get("ports", []):
            tp = p.get("targetPort", p.get("port"))
            for w in ws:
                cps = container_ports(w)
                if not any(tp in (cp.get("name"), cp.get("containerPort")) for cp in cps):
                    bad.append(f"{tp} not a container port of {w['metadata']['name']}")
        ports = ", ".join(f"{p.get('port')}->{p.get('targetPort', p.get('port'))}" for p in svc["spec"]["ports"])
        r.check(not bad, f"Service {name}: ports {ports} reach container ports", "; ".join(bad))

    # --- StatefulSets: governing Service, claims mounted -----------------------------------------------
    for name, w in sorted(workloads.items()):
        spec = pod_spec(w)
        vols = {v["name"] for v in spec.get("volumes") or []}
        if w["kind"] == "StatefulSet":
            gov = w["spec"].get("serviceName")
            gsvc = services.get(gov)
            r.check(gsvc is not None and w in selected_workloads(gsvc),
                    f"StatefulSet {name}: governing Service {gov} exists and selects it")
            claims = {c["metadata"]["name"] for c in w["spec"].get("volumeClaimTemplates") or []}
            mounted = {m["name"] for c in all_containers(spec) for m in c.get("volumeMounts") or []}
            r.check(bool(claims) and claims <= mounted,
                    f"StatefulSet {name}: volume claims {sorted(claims)} are mounted",
                    f"claims {sorted(claims)}, mounts {sorted(mounted)}")
            vols |= claims
        missing = [m["name"] for c in all_containers(spec) for m in c.get("volumeMounts") or []
                   if m["name"] not in vols]
        r.check(not missing, f"{w['kind']} {name}: every volumeMount has a volume", f"missing {missing}")

    # --- Ingress ---------------------------------------------------------------------------------------
    ingresses = [o for (k, _), o in objs.items() if k == "Ingress"]
    r.check(len(ingresses) == 1, f"one Ingress ({len(ingresses)} found)")
    seen_routes: dict[str, str] = {}
    for ing in ingresses:
        iname = ing["metadata"]["name"]
        spec = ing.get("spec", {})
        r.check(spec.get("ingressClassName") == INGRESS_CLASS,
                f"Ingress {iname}: ingressClassName {spec.get('ingressClassName')!r} == {INGRESS_CLASS!r}")
        hosts = [rule.get("host") for rule in spec.get("rules", [])]
        r.check(hosts == [INGRESS_HOST], f"Ingress {iname}: host {hosts} == [{INGRESS_HOST!r}]")
        for rule in spec.get("rules", []):
            for p in rule.get("http", {}).get("paths", []):
                be = p.get("backend", {}).get("service", {})
                sname, port = be.get("name"), be.get("port", {})
                svc = services.get(sname)
                port_ok = svc is not None and any(
                    (port.get("name") is not None and sp.get("name") == port.get("name"))
                    or (port.get("number") is not None and sp.get("port") == port.get("number"))
                    for sp in svc["spec"].get("ports", []))
                ws = selected_workloads(svc) if svc else []
                target = ws[0]["metadata"]["name"] if len(ws) == 1 else None
                seen_routes[p.get("path")] = target or "?"
                r.check(svc is not None and port_ok and p.get("pathType") == "Prefix",
                        f"Ingress {iname}: {rule.get('host')}{p.get('path')} ({p.get('pathType')}) -> Service "
                        f"{sname} port {port.get('name', port.get('number'))} -> {target}",
                        "no such Service" if svc is None else "no such port on the Service"
                        if not port_ok else "pathType must be Prefix")
    r.check(seen_routes == ROUTES, f"Ingress routes = the fleet's ({FLEET_DOC}) "
            + ", ".join(f"{k} -> {v}" for k, v in ROUTES.items()), f"found {seen_routes}")

    # --- Secret / ConfigMap references ------------------------------------------------------------------
    refs: dict[tuple, set[str]] = {}
    for name, w in workloads.items():
        spec = pod_spec(w)
        for c in all_containers(spec):
            for e in c.get("env") or []:
                vf = e.get("valueFrom") or {}
                if "secretKeyRef" in vf:
                    ref = vf["secretKeyRef"]
                    refs.setdefault(("Secret", ref["name"], ref["key"], bool(ref.get("optional"))), set()).add(name)
                if "configMapKeyRef" in vf:
                    ref = vf["configMapKeyRef"]
                    refs.setdefault(("ConfigMap", ref["name"], ref["key"], bool(ref.get("optional"))),
                                    set()).add(name)
            for ef in c.get("envFrom") or []:
                if "configMapRef" in ef:
                    refs.setdefault(("ConfigMap", ef["configMapRef"]["name"], None, False), set()).add(name)
                if "secretRef" in ef:
                    refs.setdefault(("Secret", ef["secretRef"]["name"], None, False), set()).add(name)
        for v in spec.get("volumes") or []:
            if "configMap" in v:
                refs.setdefault(("ConfigMap", v["configMap"]["name"], None, False), set()).add(name)
            for source in (v.get("projected") or {}).get("sources") or []:
                if "configMap" in source:
                    refs.setdefault(("ConfigMap", source["configMap"]["name"], None, False), set()).add(name)
            if "secret" in v:
                refs.setdefault(("Secret", v["secret"]["secretName"], None, False), set()).add(name)
            if "persistentVolumeClaim" in v:
                refs.setdefault(("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"], None, False),
                                set()).add(name)
    for (kind, rname, key, optional), users in sorted(refs.items(), key=lambda i: (i[0][0], i[0][1], i[0][2] or "")):
        what = f"{kind} {rname}" + (f" key {key}" if key else "") + (" (optional)" if optional else "") \
            + f" used by {', '.join(sorted(users))}"
        obj = objs.get((kind, rname))
        if obj is not None:
            data = set((obj.get("data") or {}).keys()) | set((obj.get("stringData") or {}).keys())
            r.check(key is None or key in data, f"{what}: created by the manifests", f"key {key} not in {sorted(data)}")
        elif kind == "Secret" and rname in documented and (key is None or key in documented[rname]):
            r.check(True, f"{what}: user-created, documented in README.md's Kubernetes section")
        else:
            r.check(False, what, "neither in the manifests nor documented (kubectl create secret generic ...) "
                    "in README.md's Kubernetes section")

    # --- Images <-> skaffold artifacts ----------------------------------------------------------------------
    artifacts = skaffold.get("build", {}).get("artifacts", [])
    built = {a["image"]: a for a in artifacts}
    used: dict[str, set[str]] = {}
    for name, w in workloads.items():
        for c in all_containers(pod_spec(w)):
            used.setdefault(c["image"], set()).add(name)
    ours_used = {img for img in used if img.startswith(OUR_IMAGE_PREFIX) or img in built}
    for img in sorted(set(built) | ours_used):
        r.check(img in built and img in used,
                f"image {img}: built by skaffold and deployed by {', '.join(sorted(used.get(img, []))) or '-'}",
                "not built by skaffold (build.artifacts)" if img not in built else "built but used by no workload")
    for svc in SERVICES:
        w = workloads.get(svc)
        imgs = [c["image"] for c in all_containers(pod_spec(w))] if w else []
        r.check(w is not None and w["kind"] == "Deployment" and imgs == [f"{OUR_IMAGE_PREFIX}{svc}"],
                f"Deployment {svc} runs image {OUR_IMAGE_PREFIX}{svc}", f"found {w and w['kind']} with {imgs}")
    for img in sorted(set(used) - ours_used):
        tag = img.rsplit("/", 1)[-1].partition(":")[2]
        r.check(bool(tag) and tag != "latest", f"third-party image {img}: pinned tag", "no tag or :latest")

    # --- Dockerfiles and SERVICE build args vs the workspace ----------------------------------------------
    bins, how = workspace_binaries(repo)
    if bins is None:
        bins = set(SERVICES)
        r.note(f"{how}: using the binaries the project defines ({', '.join(SERVICES)})")
    else:
        print(f"     workspace binaries ({how}): {', '.join(sorted(bins))}")
    service_args = {}
    for a in artifacts:
        img = a["image"]
        d = a.get("docker", {})
        dockerfile = repo / a.get("context", ".") / d.get("dockerfile", "Dockerfile")
        svc = (d.get("buildArgs") or {}).get("SERVICE")
        service_args[img] = svc
        text = dockerfile.read_text() if dockerfile.exists() else ""
        r.check(dockerfile.exists() and re.search(r"(?m)^ARG SERVICE\b", text) is not None
                and re.search(r'--bin "?\$\{?SERVICE\}?"?', text) is not None,
                f"artifact {img}: {dockerfile.relative_to(repo)} takes ARG SERVICE and builds --bin $SERVICE",
                "missing Dockerfile" if not dockerfile.exists() else "no ARG SERVICE / --bin $SERVICE")
        crate_dir = repo / ("client" if svc == "client" else f"services/{svc}")
        if svc not in bins and svc in SERVICES and not (crate_dir / "Cargo.toml").exists() and not args.strict:
            # The workspace is being written service by service: a crate that does not exist yet is pending,
            # not wrong (--strict, or DEPLOY_CROSSREF_STRICT=1, makes it a failure).
            r.check(img == f"{OUR_IMAGE_PREFIX}{svc}",
                    f"artifact {img}: SERVICE={svc} (pending: {crate_dir.relative_to(repo)} not written yet)")
            continue
        r.check(svc in bins and img == f"{OUR_IMAGE_PREFIX}{svc}",
                f"artifact {img}: SERVICE={svc} is a workspace binary",
                f"workspace binaries: {sorted(bins)}" + (f" ({crate_dir.relative_to(repo)} exists but is not a "
                                                          "workspace member with that binary)"
                                                          if (crate_dir / "Cargo.toml").exists() else ""))
    r.check(sorted(service_args.values()) == sorted(SERVICES),
            f"skaffold builds one image per service ({', '.join(SERVICES)})",
            f"SERVICE values {sorted(map(str, service_args.values()))}")
    kpaths = skaffold.get("deploy", {}).get("kustomize", {}).get("paths", [])
    r.check(skaffold.get("apiVersion") == "skaffold/v2beta22" and "infra/k8s" in kpaths,
            f"skaffold {skaffold.get('apiVersion')} deploys kustomize paths {kpaths}")

    # --- Ports, probes ------------------------------------------------------------------------------------
    for svc in SERVICES:
        w = workloads.get(svc)
        if not w:
            r.check(False, f"Deployment {svc}: exists")
            continue
        c = pod_spec(w)["containers"][0]
        env = env_map(c, objs)
        port = env.get("PORT", {}).get("value")
        http = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
        # The API's port, and the metrics port when METRICS_PORT is set (deploy_observability checks it).
        r.check(port is not None and http.get("http") == int(port) and len(http) == 1 + ("METRICS_PORT" in env),
                f"Deployment {svc}: containerPort http {http.get('http')} == PORT {port}",
                f"container ports {http}")
        probes = {k: c.get(k, {}).get("httpGet", {}) for k in ("livenessProbe", "readinessProbe", "startupProbe")}
        ok = (probes["readinessProbe"].get("path") == "/readyz" and probes["livenessProbe"].get("path") == "/healthz"
              and all(p.get("port") in ("http", http.get("http")) for p in probes.values() if p))
        r.check(ok, f"Deployment {svc}: readiness /readyz, liveness /healthz on the http port",
                f"{ {k: (v.get('path'), v.get('port')) for k, v in probes.items()} }")

    # --- Settings: the code's required() and the contract ---------------------------------------------------
    needs, found_code = code_requirements(repo)
    if not found_code:
        r.note(f"no {SETTINGS_DOC} (cargo run -p settings-docs -- write): "
               "settings checked against the contract table in this script only")
    for svc in SERVICES:
        w = workloads.get(svc)
        env = env_map(pod_spec(w)["containers"][0], objs) if w else {}
        want = {s: "contract" for s in CONTRACT_SETTINGS[svc]}
        want.update(needs.get(svc, {}))
        missing = sorted(s for s in want if s not in env)
        r.check(not missing, f"Deployment {svc}: provides {', '.join(sorted(want))}",
                "missing " + ", ".join(f"{s} ({want[s]})" for s in missing))
        if needs.get(svc):
            print(f"     {svc}: code requires {', '.join(sorted(needs[svc]))}")

    def service_port(host: str, port: int) -> tuple[dict | None, str]:
        svc = services.get(host)
        if svc is None:
            return None, f"no Service {host}"
        if not any(p.get("port") == port for p in svc["spec"].get("ports", [])):
            return None, f"Service {host} has no port {port}"
        return svc, ""

    mongo_users: dict[str, str] = {}
    for svc in SERVICES:
        w = workloads.get(svc)
        if not w:
            continue
        env = env_map(pod_spec(w)["containers"][0], objs)
        if "MONGO_URL" in env:
            url = urlsplit(env["MONGO_URL"]["value"] or "")
            q = parse_qs(url.query)
            # The first member; deploy_scaling checks the others of a multi-member URL.
            first, _, first_port = mongo_hosts(env["MONGO_URL"]["value"] or "")[0][0].rpartition(":")
            host, mongo_port = first, int(first_port)
            pod, _, gov = host.partition(".")
            sts = next((s for s in workloads.values() if s["kind"] == "StatefulSet"
                        and s["spec"].get("serviceName") == gov and pod.startswith(s["metadata"]["name"] + "-")), None)
            why = ""
            if sts is None:
                why = f"{host} is not <pod>.<governing service> of a StatefulSet"
            else:
                ordinal = pod[len(sts["metadata"]["name"]) + 1:]
                gsvc = services.get(gov, {})
                margs = " ".join(pod_spec(sts)["containers"][0].get("args") or [])
                rs = re.search(r"--replSet[ =](\S+)", margs)
                if not (ordinal.isdigit() and int(ordinal) < sts["spec"].get("replicas", 1)):
                    why = f"pod {pod} does not exist (replicas {sts['spec'].get('replicas', 1)})"
                elif gsvc.get("spec", {}).get("clusterIP") != "None":
                    why = f"Service {gov} is not headless, so {host} does not resolve"
                elif not any(p.get("port") == mongo_port for p in gsvc["spec"].get("ports", [])):
                    why = f"Service {gov} has no port {mongo_port}"
                elif rs is None or q.get("replicaSet", [None])[0] != rs.group(1):
                    why = f"replicaSet {q.get('replicaSet')} != mongod --replSet {rs and rs.group(1)}"
                elif url.path.strip("/") != svc:
                    why = f"database {url.path.strip('/')!r} != {svc!r}"
                else:
                    prev = mongo_users.get(sts["metadata"]["name"])
                    if prev:
                        why = f"{sts['metadata']['name']} already owned by {prev}"
                    mongo_users[sts["metadata"]["name"]] = svc
            r.check(not why, f"Deployment {svc}: MONGO_URL {env['MONGO_URL']['value']} -> its own replica set", why)
        if "NATS_URL" in env:
            url = urlsplit(env["NATS_URL"]["value"] or "")
            nsvc, why = service_port(url.hostname or "", url.port or 4222)
            if nsvc:
                args = " ".join(a for w2 in selected_workloads(nsvc) for c in all_containers(pod_spec(w2))
                                for a in c.get("args") or [])
                if not re.search(r"(^| )(-js|--jetstream)( |$)", args):
                    why = "the NATS server behind it does not enable JetStream"
            r.check(not why, f"Deployment {svc}: NATS_URL {env['NATS_URL']['value']} -> JetStream server", why)
        if "REDIS_URL" in env:
            url = urlsplit(env["REDIS_URL"]["value"] or "")
            _, why = service_port(url.hostname or "", url.port or 6379)
            r.check(not why, f"Deployment {svc}: REDIS_URL {env['REDIS_URL']['value']} -> Redis Service", why)
        if "API_HOST" in env:
            r.check(env["API_HOST"]["value"] == INGRESS_HOST and (env.get("API_URL", {}).get("value") or "")
                    .startswith("http"), f"Deployment {svc}: API_URL {env.get('API_URL', {}).get('value')} "
                    f"with Host {env['API_HOST']['value']} (the ingress host)")
        if "COOKIE_SECURE" in env:
            r.check(env["COOKIE_SECURE"]["value"] == "true", f"Deployment {svc}: COOKIE_SECURE=true")
    r.check(sorted(mongo_users.values()) == sorted(MONGO_OWNERS),
            f"one MongoDB per owning service: {', '.join(f'{v}->{k}' for k, v in sorted(mongo_users.items()))}")

    # --- Scaling: autoscalers, disruption budgets, clusters (deploy_scaling.py) ---------------------------
    check_scaling(r, objs, workloads, services, {"pod_spec": pod_spec, "pod_labels": pod_labels,
                                                 "env_map": env_map, "services": SERVICES}, production)
    if production:
        profile = next((p for p in skaffold.get("profiles") or [] if p.get("name") == "production"), {})
        ppaths = profile.get("deploy", {}).get("kustomize", {}).get("paths", [])
        r.check(ppaths == [PRODUCTION_OVERLAY], f"skaffold profile production deploys kustomize paths {ppaths}",
                f"want [{PRODUCTION_OVERLAY!r}]")

    if observability:
        check_observability(r, repo, objs, workloads, services, {"pod_spec": pod_spec, "pod_labels": pod_labels,
                                                                 "env_map": env_map, "services": SERVICES}, skaffold)

    # --- Pod security, resources --------------------------------------------------------------------------
    for name, w in sorted(workloads.items()):
        spec = pod_spec(w)
        psc = spec.get("securityContext") or {}
        problems = []
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append("pod seccompProfile not RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            token_ok, why = read_only_token(spec, objs)
            if not token_ok:
                problems.append(why)
        for c in all_containers(spec):
            sc = c.get("securityContext") or {}
            non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True \
                and sc.get("runAsUser", psc.get("runAsUser", 1)) != 0
            if not non_root:
                problems.append(f"{c['name']}: may run as root")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{c['name']}: allowPrivilegeEscalation not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{c['name']}: root filesystem writable")
            if "ALL" not in (sc.get("capabilities", {}).get("drop") or []) or sc.get("capabilities", {}).get("add"):
                problems.append(f"{c['name']}: capabilities not all dropped")
            res = c.get("resources") or {}
            for kind in ("requests", "limits"):
                for rsrc in ("cpu", "memory"):
                    if rsrc not in (res.get(kind) or {}):
                        problems.append(f"{c['name']}: no {kind}.{rsrc}")
        r.check(not problems, f"{w['kind']} {name}: non-root, read-only root fs, no privilege escalation, "
                "caps dropped, seccomp RuntimeDefault, requests+limits", "; ".join(problems))

    # --- Persistence of state --------------------------------------------------------------------------------
    def claim_mounts(w: dict) -> dict[str, str]:
        claims = {c["metadata"]["name"] for c in w["spec"].get("volumeClaimTemplates") or []}
        return {m["mountPath"]: m["name"] for c in all_containers(pod_spec(w)) for m in c.get("volumeMounts") or []
                if m["name"] in claims}

    for name, w in sorted(workloads.items()):
        if w["kind"] != "StatefulSet":
            continue
        c = pod_spec(w)["containers"][0]
        args = list(c.get("command") or []) + list(c.get("args") or [])
        mounts = claim_mounts(w)
        image = c["image"].split(":")[0]
        if image == "mongo":
            ok, what = "/data/db" in mounts and "--replSet" in args, "mongod --replSet, /data/db on a volume claim"
        elif image == "redis":
            joined = " ".join(args)
            d = re.search(r"--dir (\S+)", joined)
            ok = "--appendonly yes" in joined and d is not None and d.group(1) in mounts
            what = "redis --appendonly yes, --dir on a volume claim"
        elif image == "nats":
            joined = " ".join(args)
            d = re.search(r"(?:-sd|--store_dir) (\S+)", joined)
            ok = re.search(r"(^| )(-js|--jetstream)( |$)", joined) is not None and d is not None and any(
                d.group(1).rstrip("/").startswith(m.rstrip("/")) for m in mounts)
            what = "nats --jetstream, --store_dir on a volume claim"
        else:
            ok, what = bool(mounts), "state on a volume claim"
        r.check(ok, f"StatefulSet {name}: {what}", f"args {args}, claim mounts {mounts}")
    rs_init = [w for w in workloads.values() if pod_spec(w) and any(c["name"] == "rs-init"
                                                                     for c in pod_spec(w)["containers"])]
    r.check(sorted(w["metadata"]["name"] for w in rs_init) == sorted(f"{o}-mongo" for o in MONGO_OWNERS),
            "every MongoDB StatefulSet initiates its replica set (rs-init sidecar)")

    # --- README section -----------------------------------------------------------------------------------------
    needed = ["/etc/hosts", "skaffold dev", INGRESS_HOST, "ingress-nginx", "jwt-secret", "stripe-secret",
              "scripts/validate-deploy.sh"]
    r.check(bool(readme) and all(n in readme for n in needed),
            "README.md's Kubernetes section covers " + ", ".join(needed),
            f"missing {[n for n in needed if n not in readme]}")
    return finish(r)


def finish(r: Report) -> int:
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
