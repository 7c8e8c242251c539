"""Scaling cross-references of a rendered deployment, run by deploy_crossref.py on every render.

On any render: every HorizontalPodAutoscaler and PodDisruptionBudget targets an existing workload and
its selector matches that workload's pods; a NATS StatefulSet of more than one server is a cluster whose
routes list every peer (by the governing Service's names, on the cluster port), and the services' stream
copies (NATS_STREAM_REPLICAS) fit in it; a MongoDB StatefulSet's rs-init sidecar initiates as many members
as it has replicas, and a MONGO_URL names only members that exist.

With production=True (infra/overlays/production) also: every service runs 2+ pods with an autoscaler
and a disruption budget, spread by topology; NATS is a cluster of three with streams of three copies;
each MongoDB is a three-member replica set written with majority write concern, one member per node;
the expiration Redis persists every write.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

NATS_CLUSTER = 3
MONGO_MEMBERS = 3


def selects(selector: dict, labels: dict) -> bool:
    match = (selector or {}).get("matchLabels") or {}
    return bool(match) and all(labels.get(k) == v for k, v in match.items())


def mongo_hosts(url: str) -> tuple[list[str], dict]:
    """The hosts of a mongodb:// URL (several, comma-separated) and its query."""
    rest = url.split("://", 1)[-1]
    hosts, _, tail = rest.partition("/")
    _, _, query = tail.partition("?")
    return [h if ":" in h else f"{h}:27017" for h in hosts.split(",") if h], parse_qs(query)


def spread_selectors(spec: dict) -> list[dict]:
    """The label selectors of the pod's topology spread constraints and required pod anti-affinity."""
    out = [c.get("labelSelector") or {} for c in spec.get("topologySpreadConstraints") or []]
    anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
    out += [t.get("labelSelector") or {} for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []]
    out += [(t.get("podAffinityTerm") or {}).get("labelSelector") or {}
            for t in anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
    return out


def check_scaling(r, objs: dict, workloads: dict, services: dict, helpers: dict, production: bool) -> None:
    pod_spec, pod_labels, env_map = helpers["pod_spec"], helpers["pod_labels"], helpers["env_map"]
    service_names = helpers["services"]

    def args_of(w: dict) -> list[str]:
        c = pod_spec(w)["containers"][0]
        return [str(a) for a in list(c.get("command") or []) + list(c.get("args") or [])]

    # --- Autoscalers and disruption budgets target existing workloads ---------------------------------
    hpas = {n: o for (k, n), o in objs.items() if k == "HorizontalPodAutoscaler"}
    pdbs = {n: o for (k, n), o in objs.items() if k == "PodDisruptionBudget"}
    hpa_of: dict[str, dict] = {}
    for name, hpa in sorted(hpas.items()):
        ref = hpa["spec"].get("scaleTargetRef") or {}
        w = workloads.get(ref.get("name"))
        ok = w is not None and w["kind"] == ref.get("kind") and ref.get("apiVersion") == "apps/v1"
        lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"].get("maxReplicas", 0)
        cpu_metric = any((m.get("resource") or {}).get("name") == "cpu" for m in hpa["spec"].get("metrics") or [])
        cpu_requested = w is not None and all("cpu" in ((c.get("resources") or {}).get("requests") or {})
                                              for c in pod_spec(w)["containers"])
        why = ("no such workload" if w is None else "kind/apiVersion differ" if not ok
               else f"minReplicas {lo} > maxReplicas {hi}" if lo > hi
               else "CPU utilisation target without CPU requests" if cpu_metric and not cpu_requested else "")
        r.check(not why, f"HorizontalPodAutoscaler {name}: scales {ref.get('kind')} {ref.get('name')} "
                f"between {lo} and {hi}", why)
        if w is not None:
            hpa_of[w["metadata"]["name"]] = hpa
    pdb_of: dict[str, dict] = {}
    for name, pdb in sorted(pdbs.items()):
        sel = pdb["spec"].get("selector") or {}
        matched = [w for w in workloads.values() if selects(sel, pod_labels(w))]
        own = [w for w in matched if selects(w["spec"].get("selector") or {}, pod_labels(w))
               and (w["spec"]["selector"].get("matchLabels") or {}) == (sel.get("matchLabels") or {})]
        r.check(len(matched) == 1 and len(own) == 1,
                f"PodDisruptionBudget {name}: selector {sel.get('matchLabels')} is the selector of "
                + (", ".join(f"{w['kind']} {w['metadata']['name']}" for w in matched) or "a workload"),
                f"matches {len(matched)} workload(s); the budget's selector must be exactly one workload's")
        for w in matched:
            pdb_of[w["metadata"]["name"]] = pdb

    # --- NATS: a cluster's routes list every peer -----------------------------------------------------------
    nats_sets = [w for w in workloads.values() if w["kind"] == "StatefulSet"
                 and pod_spec(w)["containers"][0]["image"].split(":")[0] == "nats"]
    nats_servers = max((w["spec"].get("replicas", 1) for w in nats_sets), default=0)
    for w in nats_sets:
        name, replicas = w["metadata"]["name"], w["spec"].get("replicas", 1)
        args = args_of(w)
        joined = " ".join(args)
        if replicas == 1 and not production:
            r.check("--routes" not in args, f"StatefulSet {name}: one NATS server, no routes")
            continue
        gov = w["spec"].get("serviceName")
        gsvc = services.get(gov) or {}
        cluster = re.search(r"--cluster nats://[^: ]*:(\d+)", joined)
        port = int(cluster.group(1)) if cluster else None
        routes_arg = args[args.index("--routes") + 1] if "--routes" in args[:-1] else ""
        routes = sorted(u.strip() for u in routes_arg.split(",") if u.strip())
        want = sorted(f"nats://{name}-{i}.{gov}:{port}" for i in range(replicas))
        cports = {p.get("containerPort") for p in pod_spec(w)["containers"][0].get("ports") or []}
        why = ("no --cluster nats://HOST:PORT" if port is None
               else "no --cluster_name" if "--cluster_name" not in args
               else f"routes {routes} != every peer {want}" if routes != want
               else f"governing Service {gov} is not headless" if (gsvc.get("spec") or {}).get("clusterIP") != "None"
               else f"Service {gov} has no port {port}" if not any(p.get("port") == port
                                                                   for p in gsvc["spec"].get("ports") or [])
               else f"container has no port {port}" if port not in cports
               else f"{replicas} servers, production wants {NATS_CLUSTER}" if production and replicas < NATS_CLUSTER
               else "")
        r.check(not why, f"StatefulSet {name}: a NATS cluster of {replicas} whose routes list every peer", why)
        r.check(not production or any(selects(s, pod_labels(w)) for s in spread_selectors(pod_spec(w))),
                f"StatefulSet {name}: servers spread over nodes (anti-affinity or topology spread)")

    # --- MongoDB: members initiated = replicas; MONGO_URL names members that exist ---------------------------
    mongo_sets = {w["metadata"]["name"]: w for w in workloads.values() if w["kind"] == "StatefulSet"
                  and pod_spec(w)["containers"][0]["image"].split(":")[0] == "mongo"}
    for name, w in sorted(mongo_sets.items()):
        replicas = w["spec"].get("replicas", 1)
        init = next((c for c in pod_spec(w)["containers"] if c["name"] == "rs-init"), None)
        members = int((env_map(init, objs).get("MEMBERS") or {}).get("value") or 1) if init else None
        why = ("no rs-init sidecar" if init is None else f"rs-init MEMBERS {members} != replicas {replicas}"
               if members != replicas else f"{replicas} members, production wants {MONGO_MEMBERS}"
               if production and replicas < MONGO_MEMBERS else "")
        r.check(not why, f"StatefulSet {name}: rs-init initiates all {replicas} member(s)", why)
        if production:
            r.check(any(selects(s, pod_labels(w)) for s in spread_selectors(pod_spec(w))),
                    f"StatefulSet {name}: members spread over nodes (anti-affinity or topology spread)")

    # --- Services: replicas, autoscaler, budget, spread; their stores' settings -------------------------
    for svc in service_names:
        w = workloads.get(svc)
        if w is None:
            continue
        env = env_map(pod_spec(w)["containers"][0], objs)
        copies = int((env.get("NATS_STREAM_REPLICAS") or {}).get("value") or 1)
        if "NATS_URL" in env:
            r.check(copies <= max(nats_servers, 1) and (not production or copies == NATS_CLUSTER),
                    f"Deployment {svc}: streams of {copies} copies on {nats_servers} NATS server(s)",
                    f"production wants {NATS_CLUSTER}" if copies <= nats_servers else "more copies than servers")
        url = (env.get("MONGO_URL") or {}).get("value")
        if url:
            hosts, query = mongo_hosts(url)
            pods = [h.split(".")[0] for h in hosts]
            sts = next((s for s in mongo_sets.values() if all(p.startswith(s["metadata"]["name"] + "-")
                                                               for p in pods)), None)
            members = [f"{sts['metadata']['name']}-{i}.{sts['spec']['serviceName']}:27017"
                       for i in range(sts["spec"].get("replicas", 1))] if sts else []
            why = ("hosts are not the members of one MongoDB StatefulSet" if sts is None
                   else f"{sorted(set(hosts) - set(members))} are not members" if not set(hosts) <= set(members)
                   else f"production lists every member {members}" if production and sorted(hosts) != members
                   else "production writes with w=majority" if production and query.get("w") != ["majority"]
                   else "")
            r.check(not why, f"Deployment {svc}: MONGO_URL names members of its replica set"
                    + (" with w=majority" if production else ""), why)
        if not production:
            continue
        hpa, pdb = hpa_of.get(svc), pdb_of.get(svc)
        replicas = w["spec"].get("replicas", 1)
        r.check(replicas >= 2 and hpa is not None and hpa["spec"].get("minReplicas", 1) >= 2,
                f"Deployment {svc}: {replicas} replicas, autoscaled from "
                f"{hpa and hpa['spec'].get('minReplicas')} to {hpa and hpa['spec'].get('maxReplicas')}",
                "production wants 2+ replicas and a HorizontalPodAutoscaler with minReplicas 2+")
        r.check(pdb is not None, f"Deployment {svc}: PodDisruptionBudget {pdb and pdb['metadata']['name']}")
        r.check(any(selects(s, pod_labels(w)) for s in spread_selectors(pod_spec(w))),
                f"Deployment {svc}: pods spread by topology (their own labels)")

    if production:
        for w in workloads.values():
            if w["kind"] == "StatefulSet" and pod_spec(w)["containers"][0]["image"].split(":")[0] == "redis":
                joined = " ".join(args_of(w))
                r.check("--appendonly yes" in joined and "--appendfsync always" in joined,
                        f"StatefulSet {w['metadata']['name']}: Redis writes every scheduled expiry to disk "
                        "before answering (--appendonly yes, --appendfsync always)")
