"""The documented flows: what the spec page says must (and may only) reach each pod, for chart values.

Derived from the facts file (tools/facts/network-policies.yaml), never written per test:
- the page's YAML objects give the Flink rows, with the chart switch that creates each object
  (the chart follows the YAML where it is narrower or wider than the tables: decisions
  rest-8081-origin, flink-operator-443, taskmanager-8081, rpc-blob-targets);
- the page's tables give the rows of the groups the page has no YAML for (EP operator, EP instance);
- `check_tables_covered` proves every table row is served by one of those rows.
The values only choose which rows are on, where the groups live, and the Flink ports the page lets a
user customise; everything else stays the page's number, so a values file that moves it is reported.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from tools import facts
from tools.connectivity import (ANY_PORT, Cluster, Conn, Flow, FlowDiff, Result, UNRELATED_LABELS,
                                Workload, diff_flows, namespace_labels)
from tools.paths import CHART
from tools.render import NAMESPACE as RELEASE_NAMESPACE

Values = dict[str, Any]
ANYWHERE = "anywhere"
FLINK_KINDS = {"flink", "flink-jobmanager", "flink-taskmanager"}

# The page lets a user move only Flink's ports ("If you customize Flink ports in the FlinkDeployment
# custom resource, ensure the ports used in the network policies match") and the metrics port (user
# supplied). Documented Flink port -> the chart's values key for it.
FLINK_PORT_KEYS: dict[int | str, str] = {8081: "flink.ports.rest", 6123: "flink.ports.rpc",
                                         6124: "flink.ports.blob"}
# Rows the chart may drop without leaving the page, with the values key that keeps them:
# decision flink-operator-443 (443 is the webhook Service's port, not the pod's).
OPTIONAL_ROWS: dict[tuple[str, int], str] = {("flink-operator", 443): "flink.operator.webhookServicePort.enabled"}


@dataclass(frozen=True)
class Row:
    """One documented ingress: pods of `target` admit `origin` on `port` when all `switches` are on."""
    target: str  # a facts workload key
    origin: str  # a facts workload key or ANYWHERE
    port: int | str  # a number, or the facts' metrics placeholder
    switches: tuple[str, ...]
    source: str  # where the row comes from, for messages

    def __str__(self) -> str:
        return f"{self.origin} -> {self.target}:{self.port} [{' & '.join(self.switches)}] ({self.source})"


# ---------------------------------------------------------------- rows from the facts file

def _workload_key(labels: Mapping[str, str], where: str) -> str:
    """The facts workload whose labels a page selector spells out exactly."""
    for key, wl in facts.load()["workloads"].items():
        if dict(wl["labels"]) == dict(labels):
            return key
    raise ValueError(f"{where}: selector {dict(labels)} is not a workload of the facts file")


@cache
def rows() -> tuple[Row, ...]:
    data = facts.load()
    switch_of = {obj: sw for sw, objs in facts.switches().items() for obj in objs}
    out: list[Row] = []
    covered_targets: set[str] = set()
    for obj in data["objects"]:
        name, spec = obj["metadata"]["name"], obj["spec"]
        if not spec["podSelector"] and not spec.get("ingress"):
            continue  # the deny-all: it isolates, it admits nothing (see deny_all_namespaces)
        target = _workload_key(spec["podSelector"]["matchLabels"], name)
        covered_targets.add(target)
        for rule in spec["ingress"]:
            origins = [_workload_key(p["podSelector"]["matchLabels"], name) for p in rule.get("from", [])]
            for origin in origins or [ANYWHERE]:
                for port in rule["ports"]:
                    optional = OPTIONAL_ROWS.get((target, port["port"]))
                    out.append(Row(target, origin, port["port"],
                                   (switch_of[name],) + ((optional,) if optional else ()), f"object {name}"))
    for r in facts.ingress_rows():
        if r.target not in covered_targets:  # the page has tables only for the EP groups
            out.append(Row(r.target, r.origin, r.port, (r.switch,), f"table {r.table}"))
    return tuple(out)


def check_tables_covered() -> list[str]:
    """Table rows no documented row serves: same target and port, and the table's origin or the
    peers a decision narrows it to (`servedFrom`)."""
    problems = []
    ours = rows()
    for r in facts.ingress_rows():
        origins = set(r.servedFrom) or {r.origin}
        served = {x.origin for x in ours if x.port == r.port and _covers(x.target, r.target)}
        if not origins <= served:
            problems.append(f"{r.table} {r.origin}->{r.target}:{r.port}: served only from {sorted(served)}")
    return problems


def _covers(row_target: str, table_target: str) -> bool:
    return row_target == table_target or (table_target == "flink" and row_target in FLINK_KINDS)


# ---------------------------------------------------------------- values

def get(values: Values, dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def merge(base: Values, override: Values) -> Values:
    """helm's values merge: maps merge key by key, anything else replaces, null deletes."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@cache
def _chart_defaults() -> Values:
    return yaml.safe_load((CHART / "values.yaml").read_text())


def effective_values(overrides: Values | None = None) -> Values:
    """The chart's values.yaml with `overrides` merged in, as helm sees them (merge copies)."""
    return merge(_chart_defaults(), overrides or {})


@dataclass(frozen=True)
class Deployment:
    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int]  # flink.ports, overridden by the entry's own `ports`


@dataclass(frozen=True)
class Layout:
    """Where each group lives and which pod labels its selectors use, as the values say."""
    namespaces: Mapping[str, str]  # ep-operator, ep-instance, flink-operator -> namespace
    labels: Mapping[str, Mapping[str, str]]  # ep-operator, ep-instance, flink-operator -> labels
    instance: str
    deployments: tuple[Deployment, ...]
    component_labels: Mapping[str, Mapping[str, str]]  # jobmanager, taskmanager -> extra labels


def layout(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> Layout:
    def ns(n: str | None) -> str:
        return n or release_namespace

    ep, fl = values["eventProcessing"], values["flink"]
    deps = tuple(Deployment(d["name"], ns(d.get("namespace")), dict(d.get("podSelector") or {
        "app.kubernetes.io/instance": d["name"],  # the chart's default for a deployment without labels
        "app.kubernetes.io/managed-by": "ibm-eventautomation-flink-operator",
        "app.kubernetes.io/name": "ibm-eventautomation-flink"}), {**fl["ports"], **(d.get("ports") or {})})
        for d in fl["deployments"])
    return Layout({"ep-operator": ns(ep["operator"]["namespace"]), "ep-instance": ns(ep["instance"]["namespace"]),
                   "flink-operator": ns(fl["operator"]["namespace"])},
                  {"ep-operator": dict(ep["operator"]["podSelector"]),
                   "ep-instance": dict(ep["instance"]["podSelector"]),
                   "flink-operator": dict(fl["operator"]["podSelector"])},
                  ep["instance"]["name"], deps, {k: dict(v) for k, v in fl["componentLabels"].items()})


def cluster_for(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> Cluster:
    """The issue's fixture, placed and labelled as the values describe the user's pods: the EP operator,
    two pods of one EP instance, the Flink operator, per Flink deployment a jobmanager and two
    taskmanagers, an unrelated pod in each namespace used, a pod in another namespace (+ outside)."""
    lay = layout(values, release_namespace)
    inst = lay.instance or "my-ep"  # real EP pods always carry their instance's name
    wl = [Workload("ep-operator", lay.namespaces["ep-operator"], lay.labels["ep-operator"], "ep-operator",
                   frozenset({"ep-operator"}))]
    wl += [Workload(f"ep-instance-{i}", lay.namespaces["ep-instance"],
                    {**lay.labels["ep-instance"], "app.kubernetes.io/instance": inst}, "ep-instance",
                    frozenset({"ep-instance"}), inst) for i in (1, 2)]
    wl.append(Workload("flink-operator", lay.namespaces["flink-operator"], lay.labels["flink-operator"],
                       "flink-operator", frozenset({"flink-operator"})))
    for d in lay.deployments:
        prefix = "" if len(lay.deployments) == 1 else f"{d.name}-"
        wl.append(Workload(f"{prefix}jobmanager", d.namespace, {**d.labels, **lay.component_labels["jobmanager"]},
                           "flink-deployment", frozenset({"flink", "flink-jobmanager"}), d.name))
        wl += [Workload(f"{prefix}taskmanager-{i}", d.namespace,
                        {**d.labels, **lay.component_labels["taskmanager"]}, "flink-deployment",
                        frozenset({"flink", "flink-taskmanager"}), d.name) for i in (1, 2)]
    used = list(dict.fromkeys([*lay.namespaces.values(), *(d.namespace for d in lay.deployments)]))
    wl += [Workload("unrelated" if len(used) == 1 else f"unrelated-{n}", n, UNRELATED_LABELS, "unrelated")
           for n in used]
    other = next(f"elsewhere{i or ''}" for i in range(len(used) + 1) if f"elsewhere{i or ''}" not in used)
    wl.append(Workload("other-namespace", other, UNRELATED_LABELS, "other-namespace"))
    return Cluster({n: namespace_labels(n) for n in [*used, other]}, tuple(wl))


# ---------------------------------------------------------------- expected flows

def enabled_rows(values: Values) -> list[Row]:
    out = []
    for r in rows():
        if not all(get(values, s) for s in r.switches):
            continue
        if r.port == facts.load()["metricsPortPlaceholder"] and get(values, "flink.metrics.port") is None:
            continue  # the chart refuses metrics without a port; nothing to expect
        out.append(r)
    return out


def row_port(r: Row, values: Values, dst: Workload, lay: Layout) -> int:
    """The port a row opens on `dst`: the page's number, but Flink's ports as the values set them for
    dst's deployment (flink.ports, or the deployment entry's own), and the metrics port."""
    if r.port == facts.load()["metricsPortPlaceholder"]:
        return int(get(values, "flink.metrics.port"))
    if r.target in FLINK_KINDS and r.port in FLINK_PORT_KEYS:
        dep = next(d for d in lay.deployments if d.name == dst.cell)
        return int(dep.ports[FLINK_PORT_KEYS[r.port].removeprefix("flink.ports.")])
    return int(r.port)


def deny_all_namespaces(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> set[str]:
    """Decision deny-all-namespaces: the listed namespaces, else every namespace an enabled group lives in."""
    if not get(values, "denyAllIngress.enabled"):
        return set()
    if listed := get(values, "denyAllIngress.namespaces"):
        return set(listed)
    lay = layout(values, release_namespace)
    nss = {lay.namespaces[_group_of(r.target)] for r in enabled_rows(values) if _group_of(r.target) in lay.namespaces}
    if any(r.target in FLINK_KINDS for r in enabled_rows(values)):
        nss |= {d.namespace for d in lay.deployments}
    return nss or {release_namespace}


def _group_of(kind: str) -> str:
    return "flink-deployment" if kind in FLINK_KINDS else kind


def _origins(r: Row, dst: Workload, cluster: Cluster) -> list[Workload]:
    if r.origin == ANYWHERE:
        return cluster.all_workloads()
    pods = cluster.of_kind(r.origin)
    same_family = (r.origin in FLINK_KINDS and r.target in FLINK_KINDS) or r.origin == r.target
    # "Flink pods" / "any pod in the EP instance": of the same Flink deployment / EP instance
    return [p for p in pods if p.cell == dst.cell] if same_family else pods


def isolated(values: Values, cluster: Cluster, release_namespace: str = RELEASE_NAMESPACE) -> set[str]:
    """Pods some enabled policy selects, or in a namespace of the deny-all."""
    deny = deny_all_namespaces(values, release_namespace)
    targets = {r.target for r in enabled_rows(values)}
    return {w.name for w in cluster.workloads if w.namespace in deny or w.kinds & targets}


def expected_flows(values: Values, cluster: Cluster, release_namespace: str = RELEASE_NAMESPACE) -> set[Flow]:
    """TCP flows into the fixture's pods that the documentation says are allowed; a pod no policy
    selects stays open to everyone on every port (that is what NetworkPolicy does, and why the page
    suggests the deny-all)."""
    iso = isolated(values, cluster, release_namespace)
    on = enabled_rows(values)
    lay = layout(values, release_namespace)
    out: set[Flow] = set()
    for dst in cluster.workloads:
        if dst.name not in iso:
            out |= {Flow(s.name, dst.name, ANY_PORT) for s in cluster.all_workloads() if s.name != dst.name}
            continue
        for r in on:
            if r.target in dst.kinds:
                port = row_port(r, values, dst, lay)
                out |= {Flow(s.name, dst.name, port) for s in _origins(r, dst, cluster) if s.name != dst.name}
    return out


def actual_flows(result: Result, cluster: Cluster) -> set[Flow]:
    """TCP flows into the fixture's pods (egress to the outside world is not the chart's business)."""
    pods = {w.name for w in cluster.workloads}
    return {f for f in result.flows() if f.dst in pods}


def non_tcp_leaks(result: Result, isolated_pods: Iterable[str]) -> set[Flow]:
    """Any non-TCP connection into an isolated pod: the page documents TCP only."""
    iso = set(isolated_pods)
    return {Flow(c.src, c.dst, "non-TCP") for c in result.conns if c.dst in iso and _non_tcp(c)}


def _non_tcp(c: Conn) -> bool:
    return c.protocols is None or any(not (lo == hi == 6) for lo, hi in c.protocols)


def compare(values: Values, result: Result, cluster: Cluster,
            release_namespace: str = RELEASE_NAMESPACE) -> FlowDiff:
    d = diff_flows(actual_flows(result, cluster), expected_flows(values, cluster, release_namespace),
                   everyone=[w.name for w in cluster.all_workloads()])
    d.extra |= non_tcp_leaks(result, isolated(values, cluster, release_namespace))
    return d
