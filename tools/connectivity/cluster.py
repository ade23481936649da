"""The fixture cluster: one pod per role, placed and labelled as the values describe the user's pods,
plus the pods and IP blocks the values' sources and rules name. `cluster_for` is the one builder;
`default_cluster` describes the page's own pods (labels from the facts) and builds through it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools import facts
from tools.connectivity.intervals import OUTSIDE_NAME, WHOLE, Interval, IpAtom, cidr_intervals, ip_atoms
from tools.connectivity.layout import (
    INSTANCE_LABEL,
    Layout,
    beyond_page,
    component_labels,
    dns_service,
    extra_rule_sets,
    kafka_destinations,
    layout,
    resolved_source,
    witness_labels,
)
from tools.render import NAMESPACE as RELEASE_NAMESPACE
from tools.values import Values, effective_values, get, put

Labels = Mapping[str, str]


@dataclass(frozen=True)
class Workload:
    """One pod of the fixture (each pod is its own workload so flows name it exactly).
    group: which placement group it belongs to (GROUPS, or unrelated/other-namespace/outside);
    kinds: the facts file's workload keys it is an instance of (flink, flink-jobmanager, ...);
    cell: which EP instance or Flink deployment it belongs to ("any pod in the instance")."""

    name: str
    namespace: str
    labels: Labels = field(default_factory=dict, hash=False, compare=False)
    group: str = ""
    kinds: frozenset[str] = frozenset()
    cell: str = ""

    @property
    def is_outside(self) -> bool:
        """An address outside the cluster (the whole outside world, or a named block of it)."""
        return self.group in ("outside", "ip")


# The outside world: nca models every address outside the cluster as the IP block 0.0.0.0/0 (IPv6 is
# left out, as nca does by default); an ingress rule without `from` admits it, a podSelector does not.
OUTSIDE = Workload(OUTSIDE_NAME, "", {}, "outside")
OUTSIDE_PEER = "ip:0.0.0.0/0"
GROUPS = ("ep-operator", "ep-instance", "flink-operator", "flink-deployment")
UNRELATED_LABELS = {"app": "unrelated"}


def ip_workload(atom: IpAtom) -> Workload:
    """A block of the outside world as a flow's source or destination."""
    return Workload(atom.name, "", {}, "outside" if atom.name == OUTSIDE_NAME else "ip", atom.kinds)


@dataclass(frozen=True)
class Cluster:
    namespaces: Mapping[str, Labels]  # name -> labels
    workloads: tuple[Workload, ...]
    ips: tuple[IpAtom, ...] = (WHOLE,)  # the outside world, as named blocks (a partition of IPv4)

    def __post_init__(self) -> None:
        names = [w.name for w in self.workloads]
        names += [a.name for a in self.ips]
        if len(set(names)) != len(names):
            raise ValueError(f"workload and IP block names must be unique: {names}")
        missing = {w.namespace for w in self.workloads} - set(self.namespaces)
        if missing:
            raise ValueError(f"workloads in undeclared namespaces: {sorted(missing)}")

    def workload(self, name: str) -> Workload:
        return next(w for w in self.all_workloads() if w.name == name)

    def all_workloads(self) -> list[Workload]:
        return [*self.workloads, *(ip_workload(a) for a in self.ips)]

    def of_kind(self, kind: str) -> list[Workload]:
        return [w for w in self.workloads if kind in w.kinds]

    def to_json(self) -> dict[str, Any]:
        return {
            "namespaces": [{"name": n, "labels": dict(lb)} for n, lb in self.namespaces.items()],
            "pods": [{"name": w.name, "namespace": w.namespace, "labels": dict(w.labels)} for w in self.workloads],
        }


def namespace_labels(name: str, extra: Labels | None = None) -> dict[str, str]:
    # kubernetes.io/metadata.name is set by the API server on every namespace; the chart selects on it
    return {"kubernetes.io/metadata.name": name, **(extra or {})}


def page_values(namespaces: Mapping[str, str] | None = None) -> Values:
    """Full values describing the page's pods: every selector is the facts' labels for its workload,
    each group (GROUPS) in `namespaces`' namespace, or the release namespace."""
    ns = dict(namespaces or {})
    if unknown := set(ns) - set(GROUPS):
        raise ValueError(f"unknown groups {sorted(unknown)}; groups are {GROUPS}")
    flink = facts.labels("flink")
    v = effective_values()
    put(v, "eventProcessing.operator.namespace", ns.get("ep-operator", ""))
    put(v, "eventProcessing.operator.podSelector", facts.labels("ep-operator"))
    put(v, "eventProcessing.instance.namespace", ns.get("ep-instance", ""))
    put(v, "eventProcessing.instance.podSelector", facts.labels("ep-instance"))
    put(v, "flink.operator.namespace", ns.get("flink-operator", ""))
    put(v, "flink.operator.podSelector", facts.labels("flink-operator"))
    put(v, "flink.componentLabels", {c: component_labels(c) for c in ("jobmanager", "taskmanager")})
    put(
        v,
        "flink.deployments",
        [{"name": flink[INSTANCE_LABEL], "namespace": ns.get("flink-deployment", ""), "podSelector": flink}],
    )
    return v


def default_cluster(namespaces: Mapping[str, str] | None = None, default_namespace: str = "ep") -> Cluster:
    """The page's fixture (page_values): every group in `default_namespace` unless `namespaces` (group
    -> namespace) moves it."""
    return cluster_for(page_values(namespaces), default_namespace)


def cluster_for(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> Cluster:
    """The issue's fixture, placed and labelled as the values describe the user's pods: the EP operator,
    two pods of one EP instance, the Flink operator, per Flink deployment a jobmanager and two
    taskmanagers, an unrelated pod in each namespace used, a pod in another namespace, and the outside
    world. Beyond the page, only what the values need (`fixture_extras`): the pods a source or an egress
    rule names (host-network, router, monitoring, Prometheus, DNS, Kafka, an extra rule's peers) and the
    outside world split by the values' CIDRs (the API server's, Kafka's, an extra rule's)."""
    lay = layout(values, release_namespace)
    inst = lay.instance or "my-ep"  # real EP pods always carry their instance's name
    wl = [
        Workload(
            "ep-operator",
            lay.namespaces["ep-operator"],
            lay.labels["ep-operator"],
            "ep-operator",
            frozenset({"ep-operator"}),
        )
    ]
    wl += [
        Workload(
            f"ep-instance-{i}",
            lay.namespaces["ep-instance"],
            {**lay.labels["ep-instance"], INSTANCE_LABEL: inst},
            "ep-instance",
            frozenset({"ep-instance"}),
            inst,
        )
        for i in (1, 2)
    ]
    wl.append(
        Workload(
            "flink-operator",
            lay.namespaces["flink-operator"],
            lay.labels["flink-operator"],
            "flink-operator",
            frozenset({"flink-operator"}),
        )
    )
    for d in lay.deployments:
        prefix = "" if len(lay.deployments) == 1 else f"{d.name}-"
        wl.append(
            Workload(
                f"{prefix}jobmanager",
                d.namespace,
                {**d.labels, **lay.component_labels["jobmanager"]},
                "flink-deployment",
                frozenset({"flink", "flink-jobmanager"}),
                d.name,
            )
        )
        wl += [
            Workload(
                f"{prefix}taskmanager-{i}",
                d.namespace,
                {**d.labels, **lay.component_labels["taskmanager"]},
                "flink-deployment",
                frozenset({"flink", "flink-taskmanager"}),
                d.name,
            )
            for i in (1, 2)
        ]
    used = list(dict.fromkeys([*lay.namespaces.values(), *(d.namespace for d in lay.deployments)]))
    wl += [
        Workload("unrelated" if len(used) == 1 else f"unrelated-{n}", n, UNRELATED_LABELS, "unrelated") for n in used
    ]
    namespaces: dict[str, dict[str, str]] = {n: namespace_labels(n) for n in used}
    extra_pods, regions = fixture_extras(values, lay, namespaces)
    wl += extra_pods
    taken = set(namespaces)
    other = next(f"elsewhere{i or ''}" for i in range(len(taken) + 1) if f"elsewhere{i or ''}" not in taken)
    wl.append(Workload("other-namespace", other, UNRELATED_LABELS, "other-namespace"))
    namespaces[other] = namespace_labels(other)
    return Cluster(namespaces, tuple(wl), ip_atoms(regions))


def fixture_extras(
    values: Values, lay: Layout, namespaces: dict[str, dict[str, str]]
) -> tuple[list[Workload], list[tuple[str, tuple[Interval, ...]]]]:
    """The pods and IP regions beyond the page's fixture that these values need (namespaces added to
    `namespaces`)."""
    bp, pods = beyond_page(), []
    names: set[str] = set()

    def add(
        name: str, ns: str, labels: Mapping[str, str], kind: str, ns_labels: Mapping[str, str] | None = None
    ) -> None:
        namespaces.setdefault(ns, namespace_labels(ns))
        namespaces[ns].update(ns_labels or {})
        base, i = name, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.add(name)
        pods.append(Workload(name, ns, dict(labels), "fixture", frozenset({kind})))

    sources = {
        resolved_source(values, k) for k in ("eventProcessing.operator.webhookFrom", "flink.operator.webhookFrom")
    }
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
    if "ingressController" in sources:
        controller = get(values, bp["sources"]["eventProcessing.instance.uiFrom"]["controllerKey"])
        fx = bp["fixture"]["ingressController"]
        add(fx["pod"], controller["namespace"], controller["podSelector"], "ingress-controller")
        add(f"{fx['pod']}-neighbour", controller["namespace"], UNRELATED_LABELS, "neighbour")
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
        for entry in kafka_destinations(kafka) or []:
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
                    regions.append(
                        ("extra", cidr_intervals(peer["ipBlock"]["cidr"], peer["ipBlock"].get("except") or []))
                    )
                    continue
                pod_labels = witness_labels(peer.get("podSelector")) or {"app": "extra-peer"}
                if "namespaceSelector" in peer:
                    ns_labels = witness_labels(peer["namespaceSelector"])
                    ns = (
                        ns_labels.get("kubernetes.io/metadata.name")
                        or "ns-"
                        + "-".join(f"{k}-{v}" for k, v in sorted(ns_labels.items()))
                        .replace("/", "-")
                        .replace(".", "-")[:50]
                    )
                    targets = [(ns, ns_labels)]
                else:
                    targets = [(n, {}) for n in nss]
                for ns, ns_labels in targets:
                    if not any(p.namespace == ns and dict(p.labels) == pod_labels for p in pods):
                        add("extra-peer", ns, pod_labels, "extra-peer", ns_labels)
    return pods, regions
