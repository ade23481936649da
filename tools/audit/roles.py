"""Which documented role each real pod plays, and the cluster the engine and the model run on.

A pod plays a role when it matches that role's selector as the values define it (tools.connectivity
.layout: the selectors the chart's policies use): the EP operator, a pod of the EP instance, the
Flink operator, a pod of one of `flink.deployments`, its jobmanager or its taskmanagers by
`flink.componentLabels`. A pod the values miss but that carries the labels IBM's operators put on
the product's pods (the facts' workloads; a Flink deployment's pods carry its name as
`app.kubernetes.io/instance`) plays that role too, "found by its labels", when it lives where the
release's policies do and no allow policy selects it: a FlinkDeployment renamed without the values
following is still Flink, and its documented flows are still owed to it.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tools import facts
from tools.audit.snapshot import Pod, Snapshot
from tools.connectivity.cluster import Cluster, Workload, fixture_extras
from tools.connectivity.intervals import OUTSIDE_NAME, Interval, cidr_intervals, cidrs_str, ip_atoms
from tools.connectivity.layout import INSTANCE_LABEL, Layout, layout
from tools.values import Values, get


@dataclass(frozen=True)
class Role:
    kinds: frozenset[str]  # the facts' workload keys (flink, flink-jobmanager, ...), as the model reads them
    cell: str  # the EP instance or Flink deployment the pod belongs to
    text: str  # "jobmanager of Flink deployment my-flink"
    by_labels: bool = False  # found by the product's own labels, not by the values' selectors

    @property
    def group(self) -> str:
        if self.kinds & {"flink", "flink-jobmanager", "flink-taskmanager"}:
            return "flink-deployment"
        return next(iter(sorted(self.kinds)), "")


def _has(labels: Mapping[str, str], wanted: Mapping[str, object]) -> bool:
    return all(labels.get(k) == str(v) for k, v in wanted.items())


def _flink_role(pod: Pod, name: str, lay: Layout, by_labels: bool) -> Role:
    kinds = {"flink"}
    parts = []
    for component in ("jobmanager", "taskmanager"):
        if _has(pod.labels, lay.component_labels[component]):
            kinds.add(f"flink-{component}")
            parts.append(component)
    what = " and ".join(parts) or "pod"
    return Role(frozenset(kinds), name, f"a {what} of Flink deployment {name}", by_labels)


def by_values(pod: Pod, lay: Layout) -> Role | None:
    """The role the values' selectors give the pod (where the values put that group), if any."""
    if pod.namespace == lay.namespaces["ep-operator"] and _has(pod.labels, lay.labels["ep-operator"]):
        return Role(frozenset({"ep-operator"}), "", "the EP operator")
    instance = {**lay.labels["ep-instance"], **({INSTANCE_LABEL: lay.instance} if lay.instance else {})}
    if pod.namespace == lay.namespaces["ep-instance"] and _has(pod.labels, instance):
        cell = pod.labels.get(INSTANCE_LABEL, lay.instance)
        return Role(frozenset({"ep-instance"}), cell, f"a pod of EP instance {cell}" if cell else "an EP pod")
    if pod.namespace == lay.namespaces["flink-operator"] and _has(pod.labels, lay.labels["flink-operator"]):
        return Role(frozenset({"flink-operator"}), "", "the Flink operator")
    for d in lay.deployments:
        if pod.namespace == d.namespace and _has(pod.labels, d.labels):
            return _flink_role(pod, d.name, lay, False)
    return None


def by_product_labels(pod: Pod, lay: Layout) -> Role | None:
    """The role the labels IBM's operators set give the pod (the facts' workloads), if any."""
    for key, text in (("ep-operator", "the EP operator"), ("flink-operator", "the Flink operator")):
        if _has(pod.labels, facts.labels(key)):
            return Role(frozenset({key}), "", f"{text} (by its labels)", True)
    if _has(pod.labels, facts.labels("ep-instance")):
        cell = pod.labels.get(INSTANCE_LABEL, "")
        return Role(frozenset({"ep-instance"}), cell, f"a pod of EP instance {cell or '?'} (by its labels)", True)
    flink = {k: v for k, v in facts.labels("flink").items() if k != INSTANCE_LABEL}
    if INSTANCE_LABEL in pod.labels and _has(pod.labels, flink):
        return _flink_role(pod, pod.labels[INSTANCE_LABEL], lay, True)
    return None


@dataclass(frozen=True)
class Topology:
    """The real pods as the engine's workloads (no roles yet), and the outside world split by every CIDR
    in play: the values' (the API server's, Kafka's, an extra rule's) and the installed policies'."""

    cluster: Cluster
    pods: Mapping[str, Pod]  # workload name -> pod

    def show(self, name: str) -> str:
        """`namespace/pod` for a pod's workload; an outside block as the addresses it stands for."""
        if name in self.pods:
            return str(self.pods[name])
        atom = next((a for a in self.cluster.ips if a.name == name), None)
        if atom is None:
            return name
        if atom.name == OUTSIDE_NAME:
            return "any address outside the cluster" if len(self.cluster.ips) == 1 else "other outside addresses"
        return f"addresses {cidrs_str(atom.intervals)}"


@dataclass(frozen=True)
class Placement:
    """The pods' roles, and the values the model judges them by."""

    values: Values  # the user's, with every Flink deployment found by its labels added to flink.deployments
    layout: Layout
    cluster: Cluster  # the topology's, each workload with its role's kinds and cell
    roles: Mapping[str, Role]  # workload name -> role (the product's pods only)
    found: tuple[str, ...]  # Flink deployments found by their labels, not in the values
    release_namespace: str


def workload_names(pods: Sequence[Pod], reserved: Iterable[str]) -> dict[str, Pod]:
    """A unique workload name per pod: its own name, or `<name>.<namespace>` when the name is taken."""
    taken = Counter(p.name for p in pods) + Counter(set(reserved))
    out = {}
    for p in pods:
        name = p.name if taken[p.name] == 1 else f"{p.name}.{p.namespace}"
        if name in out:
            raise ValueError(f"two pods would both be called {name}")
        out[name] = p
    return out


def policy_regions(policies: Iterable[Mapping[str, object]]) -> list[tuple[str, tuple[Interval, ...]]]:
    """Every ipBlock of the installed policies, as a region of the outside world named by its CIDR."""
    out = []
    for pol in policies:
        spec = pol.get("spec")
        if not isinstance(spec, dict):
            continue
        for direction, side in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction) or []:
                for peer in rule.get(side) or []:
                    if "ipBlock" in peer:
                        block = peer["ipBlock"]
                        out.append((str(block["cidr"]), cidr_intervals(block["cidr"], block.get("except") or [])))
    return out


def topology(snap: Snapshot, values: Values, release_namespace: str) -> Topology:
    lay = layout(values, release_namespace)
    nss = {n: dict(lb) for n, lb in snap.namespaces.items()}
    _, regions = fixture_extras(values, lay, copy.deepcopy(nss))  # only the CIDRs the values name
    atoms = ip_atoms([*regions, *policy_regions(snap.policies)])
    names = workload_names(snap.pods, (a.name for a in atoms))
    workloads = tuple(Workload(w, p.namespace, dict(p.labels), "pod", ports=p.ports) for w, p in names.items())
    return Topology(Cluster(nss, workloads, atoms), names)


def place(topo: Topology, values: Values, release_namespace: str, home: set[str], allowed: set[str]) -> Placement:
    """Roles for the topology's pods. `home`: the namespaces of the release's policies, where pods are
    also known by their labels; `allowed`: the workloads some allow policy selects, which are not."""
    lay = layout(values, release_namespace)
    roles: dict[str, Role] = {}
    for wname, pod in topo.pods.items():
        role = by_values(pod, lay)
        if role is None and pod.namespace in home and wname not in allowed:
            role = by_product_labels(pod, lay)
        if role is not None:
            roles[wname] = role
    known = {d.name for d in lay.deployments}
    found: dict[str, str] = {}
    for wname, role in roles.items():
        if role.by_labels and role.group == "flink-deployment" and role.cell not in known:
            found.setdefault(role.cell, topo.pods[wname].namespace)
    audit_values = copy.deepcopy(values)
    if found:
        deployments = list(get(audit_values, "flink.deployments") or [])
        deployments += [{"name": n, "namespace": ns} for n, ns in found.items()]
        audit_values["flink"]["deployments"] = deployments
        lay = layout(audit_values, release_namespace)
    workloads = tuple(
        Workload(w.name, w.namespace, w.labels, roles[w.name].group, roles[w.name].kinds, roles[w.name].cell, w.ports)
        if w.name in roles
        else w
        for w in topo.cluster.workloads
    )
    cluster = Cluster(topo.cluster.namespaces, workloads, topo.cluster.ips)
    return Placement(audit_values, lay, cluster, roles, tuple(found), release_namespace)
