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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from tools import facts
from tools.connectivity import (Cluster, Flow, FlowDiff, Interval, Result, UNRELATED_LABELS, Workload,
                                cidr_intervals, contains, diff_flows, expand_ports, intersect, ip_atoms,
                                namespace_labels, normalize)
from tools.paths import CHART
from tools.render import NAMESPACE as RELEASE_NAMESPACE

Values = dict[str, Any]
ANYWHERE = "anywhere"
FLINK_KINDS = {"flink", "flink-jobmanager", "flink-taskmanager"}



def port_keys() -> dict[int | str, str]:
    """Documented port -> the values key that moves it (facts: `valuesKey` on the page's rows and on
    `beyondPage.objectRows`): the page lets a user move only Flink's ports and the metrics port."""
    data = facts.load()
    rows_ = [*data["ingress"], *data["beyondPage"]["objectRows"]]
    return {r["port"]: r["valuesKey"] for r in rows_ if r.get("valuesKey")}


def kept_by() -> dict[tuple[str, int | str], str]:
    """Rows the chart may drop without leaving the page, with the values key that keeps them (facts:
    `keptBy`; decision flink-operator-443)."""
    return {(r["target"], r["port"]): r["keptBy"] for r in facts.load()["beyondPage"]["objectRows"] if r.get("keptBy")}


def source_keys() -> dict[tuple[str, int | str], str]:
    """(target, port) of an "Anywhere" row -> the values key that narrows its origin (facts: `sourceKey`)."""
    data = facts.load()
    return {(r["target"], r["port"]): r["sourceKey"] for r in [*data["ingress"], *data["beyondPage"]["objectRows"]]
            if r.get("sourceKey")}


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
                    optional = kept_by().get((target, port["port"]))
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
    taskmanagers, an unrelated pod in each namespace used, a pod in another namespace, and the outside
    world. Beyond the page, only what the values need (`fixture_extras`): the pods a source or an egress
    rule names (host-network, router, monitoring, Prometheus, DNS, Kafka, an extra rule's peers) and the
    outside world split by the values' CIDRs (the API server's, Kafka's, an extra rule's)."""
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
    namespaces: dict[str, dict[str, str]] = {n: namespace_labels(n) for n in used}
    extra_pods, regions = fixture_extras(values, lay, namespaces)
    wl += extra_pods
    taken = set(namespaces)
    other = next(f"elsewhere{i or ''}" for i in range(len(taken) + 1) if f"elsewhere{i or ''}" not in taken)
    wl.append(Workload("other-namespace", other, UNRELATED_LABELS, "other-namespace"))
    namespaces[other] = namespace_labels(other)
    return Cluster(namespaces, tuple(wl), ip_atoms(regions))


def _bp() -> dict[str, Any]:
    return facts.load()["beyondPage"]


def resolved_source(values: Values, key: str) -> str:
    """What a source value stands for: `auto` is anywhere, or the OpenShift variant on OpenShift."""
    v = get(values, key) or "auto"
    if v == "auto":
        return _bp()["sources"][key]["openshift"] if get(values, "platform") == "openshift" else ANYWHERE
    return str(v)


def dns_service(values: Values) -> tuple[str, dict[str, str], list[int]]:
    """cluster.dns, or the platform's (facts beyondPage.kubernetes/openshift.dns)."""
    d = _bp()["openshift" if get(values, "platform") == "openshift" else "kubernetes"]["dns"]
    return (get(values, "cluster.dns.namespace") or d["namespace"],
            dict(get(values, "cluster.dns.podSelector") or d["podSelector"]),
            list(get(values, "cluster.dns.ports") or d["ports"]))


def witness_labels(selector: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels that a selector matches (matchLabels, and In/Exists expressions)."""
    out = {str(k): str(v) for k, v in ((selector or {}).get("matchLabels") or {}).items()}
    for e in (selector or {}).get("matchExpressions") or []:
        if e["operator"] == "In":
            out[e["key"]] = str(e["values"][0])
        elif e["operator"] == "Exists":
            out[e["key"]] = "x"
    return out


def kafka_peer(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A `kafka.to` entry as the NetworkPolicy peer it stands for (values semantics)."""
    if entry.get("cidr"):
        return {"ipBlock": {"cidr": entry["cidr"], "except": list(entry.get("except") or [])}}
    peer: dict[str, Any] = {}
    if entry.get("namespace"):
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": entry["namespace"]}}
    if entry.get("podSelector"):
        peer["podSelector"] = {"matchLabels": dict(entry["podSelector"])}
    return peer


def extra_rule_sets(values: Values, lay: Layout) -> list[tuple[str, str, list[str], str]]:
    """(values key of the rules, "from"|"to", namespaces of the policies they go in, target kind) of
    every enabled extraIngress/extraEgress list."""
    dep_ns = list(dict.fromkeys(d.namespace for d in lay.deployments))
    out = [("eventProcessing.operator.extraIngress", "from", [lay.namespaces["ep-operator"]], "ep-operator",
            "deployOperatorNetworkPolicy"),
           ("eventProcessing.instance.extraIngress", "from", [lay.namespaces["ep-instance"]], "ep-instance",
            "deployNetworkPolicies"),
           ("flink.operator.extraIngress", "from", [lay.namespaces["flink-operator"]], "flink-operator",
            "flink.operator.enabled"),
           ("flink.jobmanager.extraIngress", "from", dep_ns, "flink-jobmanager", "flink.jobmanager.enabled"),
           ("flink.taskmanager.extraIngress", "from", dep_ns, "flink-taskmanager", "flink.taskmanager.enabled")]
    for group, eg in _bp()["egress"].items():
        nss = dep_ns if group == "flink" else [lay.namespaces[group]]
        out.append((eg["switch"].removesuffix(".enabled") + ".extraEgress", "to", nss, group, eg["switch"]))
    return [(key, peers, nss, kind) for key, peers, nss, kind, switch in out if get(values, switch)]


def fixture_extras(values: Values, lay: Layout, namespaces: dict[str, dict[str, str]]
                   ) -> tuple[list[Workload], list[tuple[str, tuple[Interval, ...]]]]:
    """The pods and IP regions beyond the page's fixture that these values need (namespaces added to
    `namespaces`)."""
    bp, pods = _bp(), []
    names: set[str] = set()

    def add(name: str, ns: str, labels: Mapping[str, str], kind: str, ns_labels: Mapping[str, str] | None = None) -> None:
        namespaces.setdefault(ns, namespace_labels(ns))
        namespaces[ns].update(ns_labels or {})
        base, i = name, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.add(name)
        pods.append(Workload(name, ns, dict(labels), "fixture", frozenset({kind})))

    sources = {resolved_source(values, k) for k in ("eventProcessing.operator.webhookFrom", "flink.operator.webhookFrom")}
    if get(values, "eventProcessing.instance.uiFrom") is not None:
        sources.add(resolved_source(values, "eventProcessing.instance.uiFrom"))
    metrics = bool(get(values, "flink.metrics.enabled"))
    if metrics:
        sources.add(resolved_source(values, "flink.metrics.from"))
    prom = dict(get(values, "flink.metrics.podSelector") or bp["prometheusPod"]["labels"])
    for src in ("hostNetwork", "router", "monitoring"):
        if src in sources:
            fx = bp["fixture"][src]
            ns_labels = bp["openshift"][bp["sourceNamespaces"][src]]["labels"]
            add(fx["pod"], fx["namespace"], prom if src == "monitoring" else UNRELATED_LABELS, src, ns_labels)
            if src == "monitoring" and get(values, "flink.metrics.podSelector"):
                add(f"{fx['pod']}-neighbour", fx["namespace"], UNRELATED_LABELS, "neighbour")
    if "namespaces" in sources:
        for ns in get(values, "flink.metrics.namespaces") or []:
            add(f"prometheus-{ns}", ns, prom, "prometheus")
            if get(values, "flink.metrics.podSelector") and ns not in lay.namespaces.values():
                add(f"neighbour-{ns}", ns, UNRELATED_LABELS, "neighbour")
    regions: list[tuple[str, tuple[Interval, ...]]] = []
    for key in ("eventProcessing.operator.webhookFrom", "flink.operator.webhookFrom"):
        if resolved_source(values, key) == "cidrs":
            regions += [("api-server", cidr_intervals(c)) for c in get(values, bp["sources"][key]["cidrsKey"]) or []]
    egress_on = [(g, eg) for g, eg in bp["egress"].items() if get(values, eg["switch"])]
    if egress_on:
        ns, labels, _ = dns_service(values)
        add("dns", ns, labels, "dns")
        if any(get(values, eg["allowRules"] + ".kubernetesApi") for _, eg in egress_on):
            regions += [("api-server", cidr_intervals(c)) for c in get(values, "cluster.kubernetesApi.cidrs") or []]
    for g, eg in egress_on:
        kafka = get(values, eg["kafka"]) if eg.get("kafka") else None
        if not kafka or not kafka.get("ports"):
            continue
        policy_ns = [d.namespace for d in lay.deployments] if g == "flink" else [lay.namespaces[g]]
        for entry in kafka.get("to") or []:
            if entry.get("cidr"):
                regions.append(("kafka", cidr_intervals(entry["cidr"], entry.get("except") or [])))
                continue
            labels = dict(entry.get("podSelector") or {"app": "kafka"})
            for ns in [entry["namespace"]] if entry.get("namespace") else policy_ns:
                if not any(p.namespace == ns and p.labels == labels for p in pods):
                    add("kafka", ns, labels, "kafka")
    for key, side, nss, _ in extra_rule_sets(values, lay):
        for rule in get(values, key) or []:
            for peer in rule.get(side) or []:
                if "ipBlock" in peer:
                    regions.append(("extra", cidr_intervals(peer["ipBlock"]["cidr"], peer["ipBlock"].get("except") or [])))
                    continue
                pod_labels = witness_labels(peer.get("podSelector")) or {"app": "extra-peer"}
                if "namespaceSelector" in peer:
                    ns_labels = witness_labels(peer["namespaceSelector"])
                    ns = ns_labels.get("kubernetes.io/metadata.name") or \
                        "ns-" + "-".join(f"{k}-{v}" for k, v in sorted(ns_labels.items())).replace("/", "-").replace(".", "-")[:50]
                    targets = [(ns, ns_labels)]
                else:
                    targets = [(n, {}) for n in nss]
                for ns, ns_labels in targets:
                    if not any(p.namespace == ns and dict(p.labels) == pod_labels for p in pods):
                        add("extra-peer", ns, pod_labels, "extra-peer", ns_labels)
    return pods, regions


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


def row_ports(r: Row, values: Values, dst: Workload, lay: Layout) -> tuple[int, int]:
    """The ports a row opens on `dst`: the page's number, but a port the page lets the user move as
    the values set it (facts `valuesKey`): Flink's for dst's deployment (flink.ports, or the deployment
    entry's own), and the metrics port, with its range's end (`endKey`, beyond the page)."""
    if r.port == facts.load()["metricsPortPlaceholder"]:
        lo = int(get(values, "flink.metrics.port"))
        end = get(values, "flink.metrics.endPort")
        return lo, int(end) if end is not None else lo
    p = row_port(r, values, dst, lay)
    return p, p


def row_port(r: Row, values: Values, dst: Workload, lay: Layout) -> int:
    if r.port == facts.load()["metricsPortPlaceholder"]:
        return int(get(values, "flink.metrics.port"))
    key = port_keys().get(r.port)
    if r.target in FLINK_KINDS and key and key.startswith("flink.ports."):
        dep = next(d for d in lay.deployments if d.name == dst.cell)
        return int(dep.ports[key.removeprefix("flink.ports.")])
    return int(r.port)


def deny_all_namespaces(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> set[str]:
    """Decision deny-all-namespaces: the listed namespaces, else every namespace an enabled (ingress)
    policy lives in."""
    if not get(values, "denyAllIngress.enabled"):
        return set()
    if listed := get(values, "denyAllIngress.namespaces"):
        return set(listed)
    lay = layout(values, release_namespace)
    nss = {lay.namespaces[_group_of(r.target)] for r in enabled_rows(values) if _group_of(r.target) in lay.namespaces}
    if any(r.target in FLINK_KINDS for r in enabled_rows(values)) or \
            any(get(values, r["switch"]) for r in _bp()["ingress"]):
        nss |= {d.namespace for d in lay.deployments}
    return nss or {release_namespace}


def _group_of(kind: str) -> str:
    return "flink-deployment" if kind in FLINK_KINDS else kind


# ---------------------------------------------------------------- the two sides of a connection

ANY_PORTS: tuple[Interval, ...] = ((0, 65535),)
DOCUMENTED = ""
Pred = Callable[[Workload], bool]


def everyone(_: Workload) -> bool:
    return True


@dataclass(frozen=True)
class Grant:
    """What one side of a connection allows: to/from `peers` (fixture pods and IP blocks), on `ports`
    of `protocol`; `why` is DOCUMENTED, or "extra, from <values key>" for the user's own rules."""
    peers: Pred
    ports: tuple[Interval, ...]
    protocol: str = "TCP"
    why: str = DOCUMENTED


def selector_matches(sel: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if not sel:
        return True
    if any(labels.get(k) != str(v) for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], [str(v) for v in e.get("values") or []]
        ok = {"In": k in labels and labels[k] in vals, "NotIn": k not in labels or labels[k] not in vals,
              "Exists": k in labels, "DoesNotExist": k not in labels}[op]
        if not ok:
            return False
    return True


class Model:
    """Both sides of every connection, from the facts and the values (never from a render):
    `ingress[pod]` the grants of a pod some ingress policy (or the deny-all) isolates, `egress[pod]`
    those of a pod an egress policy isolates. A connection is expected when both sides allow it."""

    def __init__(self, values: Values, cluster: Cluster, release_namespace: str = RELEASE_NAMESPACE) -> None:
        self.values, self.cluster = values, cluster
        self.lay = layout(values, release_namespace)
        self.atoms = {a.name: a for a in cluster.ips}
        self.ingress: dict[str, list[Grant]] = {}
        self.egress: dict[str, list[Grant]] = {}
        deny = deny_all_namespaces(values, release_namespace)
        for w in cluster.workloads:
            if w.namespace in deny:
                self.ingress[w.name] = []
        self._page_rows()
        self._beyond_ingress()
        self._extras()
        self._egress()

    # peers -------------------------------------------------------------------------------------
    def k8s_peer(self, peer: Mapping[str, Any], policy_ns: str) -> Pred:
        """A NetworkPolicy peer the values spell out (kafka.to, extra rules), on the fixture."""
        if "ipBlock" in peer:
            ivs = cidr_intervals(peer["ipBlock"]["cidr"], peer["ipBlock"].get("except") or [])
            return lambda w: w.name in self.atoms and contains(ivs, self.atoms[w.name].point)
        ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
        nss = self.cluster.namespaces

        def pred(w: Workload) -> bool:
            if w.is_outside:
                return False
            in_ns = selector_matches(ns_sel, nss[w.namespace]) if ns_sel is not None else w.namespace == policy_ns
            return in_ns and selector_matches(pod_sel, w.labels)
        return pred

    def source(self, key: str | None) -> Pred:
        """The origin of an "Anywhere" row, as its source value narrows it (facts beyondPage.sources)."""
        if key is None:
            return everyone
        bp, spec = _bp(), _bp()["sources"][key]
        src = resolved_source(self.values, key)
        pods = get(self.values, spec["podSelectorKey"]) if spec.get("podSelectorKey") else None
        nss = self.cluster.namespaces
        if src == ANYWHERE:
            return everyone
        if src in bp["sourceNamespaces"]:
            labels = bp["openshift"][bp["sourceNamespaces"][src]]["labels"]
            return lambda w: (not w.is_outside and all(nss[w.namespace].get(k) == v for k, v in labels.items())
                              and all(w.labels.get(k) == v for k, v in (pods or {}).items()))
        if src == "cidrs":
            ivs = tuple(iv for c in get(self.values, spec["cidrsKey"]) or [] for iv in cidr_intervals(c))
            return lambda w: w.name in self.atoms and contains(ivs, self.atoms[w.name].point)
        if src == "namespaces":
            listed = set(get(self.values, spec["namespacesKey"]) or [])
            return lambda w: (not w.is_outside and w.namespace in listed
                              and all(w.labels.get(k) == v for k, v in (pods or {}).items()))
        raise ValueError(f"{key}: unknown source {src!r}")

    def _origin(self, origin: str, target: str, dst: Workload) -> Pred:
        """A row's workload origin: "Flink pods" / "any pod in the EP instance" are those of dst's own
        deployment / instance; other origins are every pod of that kind."""
        same = (origin in FLINK_KINDS and target in FLINK_KINDS) or origin == target
        return lambda w: origin in w.kinds and (not same or w.cell == dst.cell)

    # ingress ------------------------------------------------------------------------------------
    def _grant_in(self, dst: Workload, g: Grant) -> None:
        self.ingress.setdefault(dst.name, []).append(g)

    def _page_rows(self) -> None:
        srcs = source_keys()
        placeholder = facts.load()["metricsPortPlaceholder"]
        for r in enabled_rows(self.values):
            targets = {r.target}
            if r.port == placeholder and get(self.values, "flink.metrics.taskmanagers"):
                targets.add("flink-taskmanager")  # beyond the page: <deployment>-taskmanager-monitoring
            for dst in self.cluster.workloads:
                if not dst.kinds & targets:
                    continue
                peers = self.source(srcs.get((r.target, r.port))) if r.origin == ANYWHERE \
                    else self._origin(r.origin, r.target, dst)
                self._grant_in(dst, Grant(peers, (row_ports(r, self.values, dst, self.lay),)))

    def _beyond_ingress(self) -> None:
        for r in _bp()["ingress"]:
            if not get(self.values, r["switch"]):
                continue
            for dst in self.cluster.of_kind(r["target"]):
                dep = next(d for d in self.lay.deployments if d.name == dst.cell)
                port = int(dep.ports[r["valuesKey"].removeprefix("flink.ports.")])
                self._grant_in(dst, Grant(self._origin(r["origin"], r["target"], dst), ((port, port),)))

    def _rule_grants(self, key: str, i: int, rule: Mapping[str, Any], side: str, policy_ns: str) -> list[Grant]:
        peers = [self.k8s_peer(p, policy_ns) for p in rule.get(side) or []]
        pred: Pred = (lambda w: any(p(w) for p in peers)) if peers else everyone
        out = []
        for port in rule.get("ports") or [{}]:
            p = port.get("port")
            if isinstance(p, str):
                continue  # a named port: the fixture's pods declare none, so it opens nothing here
            ivs = ANY_PORTS if p is None else ((int(p), int(port.get("endPort") or p)),)
            out.append(Grant(pred, ivs, port.get("protocol") or "TCP", f"extra, from {key}[{i}]"))
        return out

    def _extras(self) -> None:
        for key, side, _, kind in extra_rule_sets(self.values, self.lay):
            if side != "from":
                continue
            for w in self.cluster.of_kind(kind):
                for i, rule in enumerate(get(self.values, key) or []):
                    for g in self._rule_grants(key, i, rule, side, w.namespace):
                        self._grant_in(w, g)

    # egress -------------------------------------------------------------------------------------
    def _egress(self) -> None:
        v = self.values
        for group, eg in _bp()["egress"].items():
            if not get(v, eg["switch"]):
                continue
            for src in self.cluster.of_kind(group):
                self.egress[src.name] = self._egress_grants(src, group, eg)

    def _egress_grants(self, src: Workload, group: str, eg: Mapping[str, Any]) -> list[Grant]:
        v, out = self.values, []
        if get(v, eg["allowRules"] + ".dns"):
            ns, labels, ports = dns_service(v)
            dns: Pred = lambda w: (not w.is_outside and w.namespace == ns  # noqa: E731
                                   and all(w.labels.get(k) == x for k, x in labels.items()))
            out += [Grant(dns, tuple((p, p) for p in ports), proto) for proto in ("TCP", "UDP")]
        if get(v, eg["allowRules"] + ".kubernetesApi"):
            cidrs = get(v, "cluster.kubernetesApi.cidrs") or []
            api: Pred | None = None
            if cidrs:
                ivs = tuple(iv for c in cidrs for iv in cidr_intervals(c))
                api = lambda w: w.name in self.atoms and contains(ivs, self.atoms[w.name].point)  # noqa: E731
            out.append(Grant(api or everyone, tuple((int(p), int(p)) for p in get(v, "cluster.kubernetesApi.ports"))))
        kafka = get(v, eg["kafka"]) if eg.get("kafka") else None
        if kafka and kafka.get("ports"):
            peers = [self.k8s_peer(kafka_peer(t), src.namespace) for t in kafka.get("to") or []]
            pred: Pred = (lambda w: any(p(w) for p in peers)) if peers else everyone
            out.append(Grant(pred, tuple((int(p), int(p)) for p in kafka["ports"])))
        for rule in eg.get("rules") or []:
            if rule.get("when") and not get(v, rule["when"]):
                continue
            dest = rule["destination"]
            if dest in FLINK_KINDS:  # the ports of each destination deployment
                for d in self.lay.deployments:
                    if group in FLINK_KINDS and d.name != src.cell:
                        continue  # a deployment's pods dial their own deployment
                    ports = tuple((int(d.ports[k.removeprefix("flink.ports.")]),) * 2 for k in rule["ports"])
                    out.append(Grant(lambda w, d=d, dest=dest: dest in w.kinds and w.cell == d.name, ports))
            else:
                ports = tuple((int(get(v, k)),) * 2 for k in rule["ports"])
                out.append(Grant(self._origin(dest, group, src), ports))
        key = eg["switch"].removesuffix(".enabled") + ".extraEgress"
        for i, rule in enumerate(get(v, key) or []):
            out += self._rule_grants(key, i, rule, "to", src.namespace)
        return out

    # flows --------------------------------------------------------------------------------------
    def allowed(self, s: Workload, d: Workload, protocol: str) -> list[tuple[tuple[Interval, ...], str]]:
        """(ports, why) s may open to d: each pair of an egress grant of s and an ingress grant of d."""
        ins = self.ingress.get(d.name)
        outs = self.egress.get(s.name)
        a = [(g.ports, g.why) for g in ins if g.protocol == protocol and g.peers(s)] if ins is not None \
            else [(ANY_PORTS, DOCUMENTED)]
        if not a:
            return []
        b = [(g.ports, g.why) for g in outs if g.protocol == protocol and g.peers(d)] if outs is not None \
            else [(ANY_PORTS, DOCUMENTED)]
        return [(ivs, wa or wb) for pa, wa in a for pb, wb in b if (ivs := intersect(pa, pb))]

    def flows(self, protocol: str = "TCP") -> tuple[set[Flow], dict[Flow, str]]:
        """(documented flows, {flow allowed by the values' own rules: why})."""
        doc: set[Flow] = set()
        extra: dict[Flow, str] = {}
        every = self.cluster.all_workloads()
        for s in every:
            for d in every:
                if s.name == d.name or (s.is_outside and d.is_outside):
                    continue
                grants = self.allowed(s, d, protocol)
                if not grants:
                    continue
                doc_ports = set(expand_ports(iv for ivs, why in grants if not why for iv in ivs))
                doc |= {Flow(s.name, d.name, p) for p in doc_ports}
                for ivs, why in grants:
                    if why:
                        for p in expand_ports(ivs):
                            if p not in doc_ports:
                                extra.setdefault(Flow(s.name, d.name, p), why)
        return doc, extra


def isolated(values: Values, cluster: Cluster, release_namespace: str = RELEASE_NAMESPACE) -> set[str]:
    """Pods some enabled ingress policy selects, or in a namespace of the deny-all."""
    return set(Model(values, cluster, release_namespace).ingress)


def expected_flows(values: Values, cluster: Cluster, release_namespace: str = RELEASE_NAMESPACE) -> set[Flow]:
    """TCP flows the documentation (and the values' own rules) say are allowed: both sides must allow
    it; a pod no ingress (egress) policy selects is open to (may dial) everyone on every port."""
    doc, extra = Model(values, cluster, release_namespace).flows()
    return doc | set(extra)


def actual_flows(result: Result, cluster: Cluster, protocol: str = "TCP") -> set[Flow]:
    """What nca computes, between the fixture's pods and the outside world's named blocks."""
    return result.flows(protocol)


PROTOCOLS = ("TCP", "UDP", "SCTP")


def _suffix(flows: Iterable[Flow], protocol: str) -> set[Flow]:
    return set(flows) if protocol == "TCP" else {Flow(f.src, f.dst, f"{f.port}/{protocol.lower()}") for f in flows}


def other_protocol_leaks(result: Result, model: Model) -> set[Flow]:
    """A protocol the model does not compare (not TCP, UDP or SCTP) into an isolated pod or out of one."""
    def other(c: Any) -> bool:
        return c.protocols is None or any(n not in (6, 17, 132) for lo, hi in c.protocols for n in range(lo, hi + 1))
    return {Flow(c.src, c.dst, "other-protocol") for c in result.conns
            if (c.dst in model.ingress or c.src in model.egress) and other(c)}


def compare(values: Values, result: Result, cluster: Cluster,
            release_namespace: str = RELEASE_NAMESPACE) -> FlowDiff:
    """Actual (nca) vs expected (facts + values), TCP, UDP and SCTP. The values' own rules' flows
    (extraIngress/extraEgress) are expected too, and listed apart in `by_values`."""
    model = Model(values, cluster, release_namespace)
    names = [w.name for w in cluster.all_workloads()]
    out = FlowDiff(set(), set(), frozenset(names))
    for proto in PROTOCOLS:
        doc, extra = model.flows(proto)
        d = diff_flows(result.flows(proto), doc | set(extra), everyone=names)
        out.extra |= _suffix(d.extra, proto)
        out.missing |= _suffix(d.missing, proto)
        allowed = normalize(result.flows(proto))
        out.by_values.update({f2: why for f, why in extra.items()
                              if f in allowed and (f2 := next(iter(_suffix([f], proto))))})
    out.extra |= other_protocol_leaks(result, model)
    return out
