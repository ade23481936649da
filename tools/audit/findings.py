"""The audit's findings: the release's installed policies judged on the real pods.

    report = audit(snapshot, user_values, release=None, namespace=None)

The engine is `make verify`'s: network-config-analyzer computes what every installed NetworkPolicy
lets through between the snapshot's pods (tools.connectivity.engine), and the model
(tools.connectivity.model) says what the documentation owes those pods, for these values, once each
pod's role is known (tools.audit.roles). Four kinds of finding:

selects-nothing  a policy of the release selects no pod (nca's parse of its podSelector)
cut-off          a pod of a namespace a deny-all isolates that no allow policy selects
blocked          a documented flow between the real pods that the installed policies block
beyond           a flow the installed policies let into (or, where the values restrict egress, out of)
                 the product's pods beyond the documented ones
"""

from __future__ import annotations

import copy
import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.audit.roles import Placement, Topology, place, topology
from tools.audit.snapshot import Snapshot, policy_key
from tools.connectivity.cluster import Workload
from tools.connectivity.engine import Result, Scenario, Selection, analyze
from tools.connectivity.flows import ANY_PORT, Flow, Port, expand_ports
from tools.connectivity.intervals import Interval, intersect, ip_peer_intervals, merge_intervals, subtract
from tools.connectivity.model import PROTOCOLS, Model, other_protocol_leaks, selector_matches
from tools.groups import group_table
from tools.policy import normal, policy_types
from tools.render import RELEASE as DEFAULT_RELEASE
from tools.render import render
from tools.values import Values, effective_values

Obj = dict[str, Any]
CHART_LABELS = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": "ibm-ep-network-policies"}
RELEASE_LABEL = "app.kubernetes.io/instance"
COMPONENT_LABEL = "app.kubernetes.io/component"
RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"
OTHER = "other protocols"
ALL_PORTS: tuple[Interval, ...] = ((0, 65535),)
KINDS = ("selects-nothing", "cut-off", "blocked", "beyond")


class AuditError(ValueError):
    """The input cannot be audited (no release, an ambiguous namespace); the message says what to pass."""


@dataclass(frozen=True)
class Finding:
    """One sentence of the report, and what it is about, for people and tests alike.
    subject: the policy (selects-nothing) or the pod (the others), `namespace/name`;
    flows: (source, destination, protocol, port) of blocked and beyond findings, the ends as `namespace/pod`
    or the addresses, the port a number, "lo-hi" or "*" (protocol "other protocols": any port);
    policies: those involved (the deny-all, those selecting the pod, those letting the flows through)."""

    kind: str
    subject: str
    text: str
    flows: tuple[tuple[str, str, str, str], ...] = ()
    policies: tuple[str, ...] = ()
    direction: str = "in"  # blocked/beyond: flows into the subject, or "out" of it

    @property
    def peers(self) -> set[str]:
        """The other ends of the flows."""
        return {src if self.direction == "in" else dst for src, dst, _, _ in self.flows}

    @property
    def ports(self) -> set[tuple[str, str]]:
        return {(proto, port) for _, _, proto, port in self.flows}


@dataclass
class Report:
    release: str
    namespace: str
    snapshot: Snapshot
    topology: Topology
    placement: Placement
    release_policies: list[str]
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the release


def chart_policies(snap: Snapshot, release: str | None) -> list[Obj]:
    """The policies this chart's helm releases installed (the chart's labels), of `release` if given."""
    out = []
    for p in snap.policies:
        labels = p["metadata"].get("labels") or {}
        if all(labels.get(k) == v for k, v in CHART_LABELS.items()) and (
            release is None or labels.get(RELEASE_LABEL) == release
        ):
            out.append(p)
    return out


def release_namespace(policies: Sequence[Obj], namespace: str | None) -> str:
    if namespace:
        return namespace
    found = {(p["metadata"].get("annotations") or {}).get(RELEASE_NAMESPACE) for p in policies} - {None}
    if len(found) == 1:
        return str(found.pop())
    if not found:
        raise AuditError(
            "the release's policies carry no meta.helm.sh/release-namespace annotation (not installed by "
            "helm?): say which namespace the release is in (NAMESPACE=, --namespace)"
        )
    raise AuditError(
        f"the policies belong to releases in several namespaces ({', '.join(sorted(map(str, found)))}): "
        "name one (RELEASE=, --release; NAMESPACE=, --namespace)"
    )


# ---------------------------------------------------------------- the engine's runs


def _ingress_only(policies: Iterable[Obj]) -> list[Obj]:
    return _one_direction(policies, "Ingress", "egress")


def _egress_only(policies: Iterable[Obj]) -> list[Obj]:
    return _one_direction(policies, "Egress", "ingress")


def _one_direction(policies: Iterable[Obj], keep: str, drop: str) -> list[Obj]:
    """The policies as they act in one direction only (what blocks a flow at one end)."""
    out = []
    for p in policies:
        if keep not in policy_types(p["spec"]):
            continue
        q = copy.deepcopy(p)
        q["spec"]["policyTypes"] = [keep]
        q["spec"].pop(drop, None)
        out.append(q)
    return out


def _is_deny_all(p: Obj) -> bool:
    spec = p["spec"]
    sel = spec.get("podSelector") or {}
    return (
        not sel.get("matchLabels")
        and not sel.get("matchExpressions")
        and "Ingress" in policy_types(spec)
        and not spec.get("ingress")
    )


def _has_allow_rules(p: Obj) -> bool:
    return "Ingress" in policy_types(p["spec"]) and bool(p["spec"].get("ingress"))


# ---------------------------------------------------------------- flows as intervals


def _port_intervals(port: Port) -> tuple[Interval, ...]:
    if port == ANY_PORT:
        return ALL_PORTS
    if isinstance(port, int):
        return ((port, port),)
    lo, hi = str(port).split("-")
    return ((int(lo), int(hi)),)


def _by_pair(flows: Iterable[Flow]) -> dict[tuple[str, str], tuple[Interval, ...]]:
    acc: dict[tuple[str, str], list[Interval]] = defaultdict(list)
    for f in flows:
        acc[(f.src, f.dst)] += _port_intervals(f.port)
    return {k: merge_intervals(v) for k, v in acc.items()}


Unit = tuple[str, Port]  # (protocol, port as flows print it)


def _units(protocol: str, ivs: Iterable[Interval]) -> list[Unit]:
    return [(protocol, p) for p in expand_ports(ivs)]


# ---------------------------------------------------------------- the audit


def audit(
    snap: Snapshot,
    user: Values | None = None,
    release: str | None = None,
    namespace: str | None = None,
) -> Report:
    mine = chart_policies(snap, release)
    if not mine:
        every = sorted(
            {(p["metadata"].get("labels") or {}).get(RELEASE_LABEL, "?") for p in chart_policies(snap, None)}
        )
        raise AuditError(
            f"no NetworkPolicy of release {release} in the input"
            + (f" (the chart's releases there: {', '.join(every)})" if every else "")
            if release
            else "no NetworkPolicy of this chart in the input (labelled "
            + ", ".join(f"{k}={v}" for k, v in CHART_LABELS.items())
            + "): is the chart installed, and is this the right cluster?"
        )
    releases = sorted({str((p["metadata"].get("labels") or {}).get(RELEASE_LABEL, "")) for p in mine})
    ns = release_namespace(mine, namespace)
    values = effective_values(user or {})
    rendered = render(user or {}, release=releases[0] if len(releases) == 1 else DEFAULT_RELEASE, namespace=ns)

    topo = topology(snap, values, ns)
    policies = list(snap.policies)
    first = analyze(
        [
            Scenario(policies, topo.cluster, "installed", selected=True),
            Scenario(_ingress_only(policies), topo.cluster, "ingress-only"),
            Scenario(_egress_only(policies), topo.cluster, "egress-only"),
        ]
    )
    installed, ingress_only, egress_only = first
    sel = installed.selected
    allow = {policy_key(p) for p in policies if _has_allow_rules(p) and not _is_deny_all(p)}
    allowed = {w for k in allow if k in sel for w in sel[k].pods}
    home = {p["metadata"]["namespace"] for p in mine}
    placement = place(topo, values, ns, home, allowed)

    report = Report(", ".join(releases), ns, snap, topo, placement, sorted(policy_key(p) for p in mine))
    report.notes += _notes(snap, mine, rendered, placement, topo)
    report.findings += _selects_nothing(snap, mine, sel, topo, allowed)
    report.findings += _cut_off(snap, home, sel, allow, placement, topo)
    flows = _flow_findings(placement, topo, installed, ingress_only, egress_only, policies)
    report.findings += flows
    return report


def _notes(
    snap: Snapshot, mine: Sequence[Obj], rendered: Sequence[Obj], placement: Placement, topo: Topology
) -> list[str]:
    notes = [f"left out: {x}" for x in snap.left_out]
    for name in placement.found:
        pods = sorted(str(topo.pods[w]) for w, r in placement.roles.items() if r.cell == name and r.by_labels)
        notes.append(
            f"Flink deployment {name} ({', '.join(pods)}) is not in the values' flink.deployments: its pods carry "
            f"the Flink operator's labels with app.kubernetes.io/instance={name}, so the audit holds it to the "
            "documented Flink flows"
        )
    have = {policy_key(p): p for p in mine}
    want = {policy_key(p): p for p in rendered if p.get("kind") == "NetworkPolicy"}
    edited = sorted(k for k in have.keys() & want.keys() if normal(have[k]) != normal(want[k]))
    drift = [
        *(f"{k} (not rendered by these values)" for k in sorted(have.keys() - want.keys())),
        *(f"{k} (rendered by these values, not installed)" for k in sorted(want.keys() - have.keys())),
        *(f"{k} (its spec differs from the render)" for k in edited),
    ]
    if drift:
        notes.append(
            "the release's policies differ from what these values render (`make verify LIVE=` shows how): "
            + "; ".join(drift)
            + ". The findings judge the installed policies."
        )
    return notes


# ---------------------------------------------------------------- selects nothing, cut off


def _values_keys(policy: Obj) -> str:
    """The values keys that choose the pods a policy of the chart selects (by its component label)."""
    groups = {g["id"]: g for g in group_table()}
    g = groups.get((policy["metadata"].get("labels") or {}).get(COMPONENT_LABEL, ""))
    if g is None:
        return ""
    if g.get("of"):
        g = groups[g["of"]]
    if g["scope"] == "deployment":
        return "flink.deployments (name, namespace, podSelector) and flink.componentLabels"
    if g["scope"] == "namespace":
        return ""
    return f"{g['values']}.podSelector and {g['values']}.namespace"


def _labels_text(labels: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(every pod)"


def _selects_nothing(
    snap: Snapshot, mine: Sequence[Obj], sel: Mapping[str, Selection], topo: Topology, allowed: set[str]
) -> list[Finding]:
    out = []
    for p in sorted(mine, key=policy_key):
        key = policy_key(p)
        if key in sel and sel[key].pods:
            continue
        ns = p["metadata"]["namespace"]
        selector = p["spec"].get("podSelector") or {}
        wanted = {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
        here = [pod for pod in snap.pods if pod.namespace == ns]
        text = f"Policy {key} selects no pod: "
        if not here:
            text += f"namespace {ns} has no pod."
        else:
            what = _labels_text(wanted) + (" (and matchExpressions)" if selector.get("matchExpressions") else "")
            text += f"none of the {len(here)} pods of namespace {ns} carries {what}."
            misses = {str(pod): sum(pod.labels.get(k) != v for k, v in wanted.items()) for pod in here}
            fewest = min(misses.values())
            near = sorted((pod for pod in here if misses[str(pod)] == fewest), key=str)[:3]
            if 0 < fewest < len(wanted):
                text += (
                    " Nearest: "
                    + "; ".join(
                        f"{pod} has "
                        + ", ".join(
                            f"{k}={pod.labels[k]}" if k in pod.labels else f"no {k}"
                            for k, v in sorted(wanted.items())
                            if pod.labels.get(k) != v
                        )
                        for pod in near
                    )
                    + "."
                )
        # pods it would select elsewhere, that no allow policy looks after: is its namespace wrong?
        elsewhere = sorted(
            str(pod)
            for w, pod in topo.pods.items()
            if pod.namespace != ns and w not in allowed and selector_matches(selector, pod.labels)
        )
        if elsewhere:
            text += " Pods it would select, that no allow policy selects, live in other namespaces: "
            text += ", ".join(elsewhere[:5]) + (f" and {len(elsewhere) - 5} more." if len(elsewhere) > 5 else ".")
        keys = _values_keys(p)
        text += f" Check {keys} against the pods' labels." if keys else ""
        out.append(Finding("selects-nothing", key, text, policies=(key,)))
    return out


def _cut_off(
    snap: Snapshot,
    home: set[str],
    sel: Mapping[str, Selection],
    allow: set[str],
    placement: Placement,
    topo: Topology,
) -> list[Finding]:
    out = []
    allowed = {w for k in allow if k in sel for w in sel[k].pods}
    seen: set[str] = set()
    for p in sorted(snap.policies, key=policy_key):
        key = policy_key(p)
        if p["metadata"]["namespace"] not in home or not _is_deny_all(p) or key not in sel:
            continue
        for w in sorted(sel[key].pods - allowed - seen, key=topo.show):
            seen.add(w)
            role = placement.roles.get(w)
            text = (
                f"Pod {topo.show(w)} is cut off: {key} isolates namespace {p['metadata']['namespace']} and no "
                "other policy selects this pod, so nothing reaches it."
            )
            if role is not None:
                text += f" It is {role.text}" + (
                    ", which the values do not name: see the note above."
                    if role.by_labels
                    else "; its policy is off or does not select it."
                )
            else:
                text += (
                    " If it is not part of Event Processing, give it a policy of its own, or leave its namespace "
                    "out of the deny-all (denyAllIngress.exceptNamespaces)."
                )
            out.append(Finding("cut-off", topo.show(w), text, policies=(key,)))
    return out


# ---------------------------------------------------------------- blocked and beyond


def _flow_findings(
    placement: Placement,
    topo: Topology,
    installed: Result,
    ingress_only: Result,
    egress_only: Result,
    policies: Sequence[Obj],
) -> list[Finding]:
    cluster = placement.cluster
    model = Model(placement.values, cluster, placement.release_namespace)
    product = set(placement.roles)
    every = [w.name for w in cluster.all_workloads()]
    pods = {w.name for w in cluster.workloads}
    by_name = {w.name: w for w in cluster.all_workloads()}

    def concerns(src: str, dst: str) -> str | None:
        """Whose flow it is: "in" (into a product pod), "out" (out of one whose egress the values restrict)."""
        if dst in product:
            return "in"
        if src in product and src in model.egress:
            return "out"
        return None

    blocked: dict[tuple[str, str], dict[Unit, set[str]]] = defaultdict(lambda: defaultdict(set))
    beyond: dict[tuple[str, str], dict[Unit, set[str]]] = defaultdict(lambda: defaultdict(set))
    documented: dict[tuple[str, str], dict[Unit, set[str]]] = defaultdict(lambda: defaultdict(set))

    def relevant(src: str, dst: str) -> bool:
        return concerns(src, dst) is not None

    # only the pairs that touch the product's pods: a real cluster's pairs are many
    near = _near(installed, product)
    ingress_only, egress_only = _near(ingress_only, product), _near(egress_only, product)
    for proto in PROTOCOLS:
        doc_flows, extra = model.flows(proto, relevant)
        expected = _by_pair([*doc_flows, *extra])
        actual = {k: v for k, v in _by_pair(near.flows(proto)).items() if relevant(*k)}
        for (s, d), ivs in expected.items():
            if (way := concerns(s, d)) is None:
                continue
            subject, peer = (d, s) if way == "in" else (s, d)
            for u in _units(proto, ivs):
                documented[(subject, way)][u].add(peer)
            if missing := subtract(ivs, actual.get((s, d), ())):
                for u in _units(proto, missing):
                    blocked[(subject, way)][u].add(peer)
        for (s, d), ivs in actual.items():
            if concerns(s, d) is None or not (more := subtract(ivs, expected.get((s, d), ()))):
                continue
            # beyond what the destination's ingress documents: the destination's finding; within it,
            # beyond what the source's egress documents: the source's (egress restricted by the values)
            at_dst = subtract(more, _ingress_documented(model, by_name[s], by_name[d], proto))
            for span, way in ((at_dst, "in"), (subtract(more, at_dst), "out")):
                if way == "in" and d not in product:
                    way = "out"
                if span and (way == "in" or (s in product and s in model.egress)):
                    subject, peer = (d, s) if way == "in" else (s, d)
                    for u in _units(proto, span):
                        beyond[(subject, way)][u].add(peer)
    for f in other_protocol_leaks(near, model):
        for s in _names(f.src, cluster.ips):
            for d in _names(f.dst, cluster.ips):
                if d in product and d in model.ingress:
                    beyond[(d, "in")][(OTHER, ANY_PORT)].add(s)
                elif s in product and s in model.egress:
                    beyond[(s, "out")][(OTHER, ANY_PORT)].add(d)

    out: list[Finding] = []
    selecting = _selecting(installed.selected)
    caches: dict[str, dict[str, Any]] = {"in": {}, "out": {}}
    for (subject, way), units in sorted(blocked.items(), key=lambda kv: (topo.show(kv[0][0]), kv[0][1])):
        flows = [(p, subject, u) if way == "in" else (subject, p, u) for u, ps in units.items() for p in ps]
        at_in = not any(_allows(ingress_only, caches["in"], *f) for f in flows)
        at_out = not any(_allows(egress_only, caches["out"], *f) for f in flows)
        direction = "ingress" if way == "in" else "egress"
        by = tuple(selecting[direction].get(subject, []))
        me = topo.show(subject)
        if at_in and not at_out:
            why = f"blocked at {me}'s ingress" if way == "in" else "blocked at the destinations' ingress"
        elif at_out and not at_in:
            why = "blocked at the sources' egress" if way == "in" else f"blocked at {me}'s egress"
        else:
            why = "blocked at both ends, or by the policies together"
        if by and ((way == "in" and at_in) or (way == "out" and at_out)):
            why += f", where the policies that select it ({', '.join(by)}) allow none of it"
        parts = [
            f"{_ports_text(us)} {'from' if way == 'in' else 'to'} {_peers_text(peers, every, pods, topo, subject)}"
            for peers, us in _grouped(units)
        ]
        verb = "does not get the documented" if way == "in" else "cannot open the documented"
        text = f"{_who(subject, topo, placement)} {verb} {'; '.join(parts)}: {why}."
        out.append(_finding("blocked", subject, text, units, by, way, topo))

    todo = sorted(beyond.items(), key=lambda kv: (topo.show(kv[0][0]), kv[0][1]))
    admitted = _admitted_by([(s, w, u) for (s, w), u in todo], installed, topo, policies)
    for ((subject, way), units), letting in zip(todo, admitted, strict=True):
        direction = "ingress" if way == "in" else "egress"
        me = topo.show(subject)
        if not selecting[direction].get(subject):
            doc = "; ".join(
                f"{_ports_text(us)} {'from' if way == 'in' else 'to'} {_peers_text(ps, every, pods, topo, subject)}"
                for ps, us in _grouped(documented[(subject, way)])
            )
            reach = "is reached from" if way == "in" else "may dial"
            text = (
                f"{_who(subject, topo, placement)} {reach} anywhere on every port: no policy selects {me} for "
                f"{direction}, so NetworkPolicy leaves it open; "
                + (f"documented only {doc}." if doc else "nothing is documented for it.")
            )
            out.append(_finding("beyond", subject, text, units, (), way, topo))
            continue
        parts = []
        for group, us in _grouped(units):
            known = sorted({p for u in us for p in documented[(subject, way)].get(u, set())})
            # the peers beyond and the documented ones together are often everyone: say so
            shown = list(group) if set(group) | set(known) < set(every) - {subject} else list(every)
            them = _peers_text(shown, every, pods, topo, subject)
            part = f"{_ports_text(us)} from {them}" if way == "in" else f"{them} on {_ports_text(us)}"
            if known:
                part += f" (documented only {'from' if way == 'in' else 'to'} "
                part += f"{_peers_text(known, every, pods, topo, subject)})"
            parts.append(part)
        reach = "admits, beyond the documented flows," if way == "in" else "may dial, beyond the documented flows,"
        why = f"let through by {', '.join(letting)}" if letting else "let through by the policies together"
        text = f"{_who(subject, topo, placement)} {reach} {'; '.join(parts)}: {why}."
        out.append(_finding("beyond", subject, text, units, letting, way, topo))
    return out


def _who(subject: str, topo: Topology, placement: Placement) -> str:
    role = placement.roles.get(subject)
    return topo.show(subject) + (f" ({role.text})" if role else "")


def _near(result: Result, pods: set[str]) -> Result:
    """The result with only the connections from or to `pods`."""
    return dataclasses.replace(result, conns=[c for c in result.conns if c.dst in pods or c.src in pods])


def _ingress_documented(model: Model, src: Workload, dst: Workload, protocol: str) -> tuple[Interval, ...]:
    """The ports the model's ingress side of `dst` documents from `src` (every port if none isolates it)."""
    grants = model.ingress.get(dst.name)
    if grants is None:
        return ALL_PORTS
    return merge_intervals(iv for g in grants if g.protocol == protocol and g.peers(src) for iv in g.ports)


def _names(name: str, atoms: Sequence[Any]) -> list[str]:
    """A flow end as workload names: nca's `ip:<cidrs>` as the outside blocks it covers."""
    if not name.startswith("ip:"):
        return [name]
    ivs = ip_peer_intervals(name)
    return [a.name for a in atoms if intersect(ivs, a.intervals)]


def _selecting(selected: Mapping[str, Selection]) -> dict[str, dict[str, list[str]]]:
    """direction -> workload -> the policies that select it in that direction."""
    out: dict[str, dict[str, list[str]]] = {"ingress": defaultdict(list), "egress": defaultdict(list)}
    for key, s in sorted(selected.items()):
        for direction, on in (("ingress", s.ingress), ("egress", s.egress)):
            if on:
                for w in s.pods:
                    out[direction][w].append(key)
    return out


_ORDER = {p: i for i, p in enumerate((*PROTOCOLS, OTHER))}


def _unit_key(u: Unit) -> tuple[int, int, str]:
    proto, port = u
    lo = _port_intervals(port)[0][0] if port != ANY_PORT else -1
    return (_ORDER[proto], lo, str(port))


def _grouped(units: Mapping[Unit, set[str]]) -> list[tuple[tuple[str, ...], list[Unit]]]:
    """Ports grouped by the set of peers they concern: one finding per group."""
    by_peers: dict[frozenset[str], list[Unit]] = defaultdict(list)
    for u, peers in units.items():
        by_peers[frozenset(peers)].append(u)
    return sorted(
        ((tuple(sorted(peers)), sorted(us, key=_unit_key)) for peers, us in by_peers.items()),
        key=lambda t: (_unit_key(t[1][0]), t[0]),
    )


def _ports_text(units: Sequence[Unit]) -> str:
    """`TCP 6123, 6124, 8081 and UDP 1-52, 54-65535 and every SCTP port and other protocols`."""
    parts = []
    for proto in (*PROTOCOLS, OTHER):
        ivs = merge_intervals(iv for q, p in units if q == proto for iv in _port_intervals(p))
        if not ivs:
            continue
        if proto == OTHER:
            parts.append(OTHER)
        elif ivs[0][0] <= 1 and ivs[-1][1] == 65535 and len(ivs) == 1:
            parts.append(f"every {proto} port")
        else:  # the engine's ranges start at port 0, which no server listens on
            ports = [", ".join(map(str, range(lo, hi + 1))) if hi - lo < 3 else f"{max(lo, 1)}-{hi}" for lo, hi in ivs]
            parts.append(f"{proto} {', '.join(ports)}")
    return " and ".join(parts)


def _peers_text(peers: Sequence[str], every: Sequence[str], pods: set[str], topo: Topology, subject: str) -> str:
    others = set(every) - {subject}
    if set(peers) >= others:
        return "anywhere"  # every pod, and every address outside the cluster
    if set(peers) >= pods - {subject}:
        return "every pod"
    shown = [topo.show(p) for p in sorted(peers, key=topo.show)]
    return ", ".join(shown[:6]) + (f" and {len(shown) - 6} more" if len(shown) > 6 else "")


def _finding(
    kind: str,
    subject: str,
    text: str,
    units: Mapping[Unit, set[str]],
    policies: tuple[str, ...],
    way: str,
    topo: Topology,
) -> Finding:
    me = topo.show(subject)
    flows = sorted(
        (topo.show(p), me, proto, str(port)) if way == "in" else (me, topo.show(p), proto, str(port))
        for (proto, port), peers in units.items()
        for p in peers
    )
    return Finding(kind, me, text, tuple(flows), policies, way)


def _allows(result: Result, cache: dict[str, Any], src: str, dst: str, unit: Unit) -> bool:
    proto, port = unit
    if proto == OTHER:
        return any(
            src in _names(c.src, result.ips)
            and dst in _names(c.dst, result.ips)
            and (c.protocols is None or any(n not in (6, 17, 132) for lo, hi in c.protocols for n in range(lo, hi + 1)))
            for c in result.conns
        )
    if proto not in cache:
        cache[proto] = _by_pair(result.flows(proto))
    return bool(intersect(cache[proto].get((src, dst), ()), _port_intervals(port)))


def _admitted_by(
    beyond: Sequence[tuple[str, str, Mapping[Unit, set[str]]]],
    installed: Result,
    topo: Topology,
    policies: Sequence[Obj],
) -> list[tuple[str, ...]]:
    """Per subject of beyond-flows, the policies that let some of them through on their own (each
    policy analysed alone, by the engine)."""
    selecting = _selecting(installed.selected)
    candidates = sorted(
        {k for subject, way, _ in beyond for k in selecting["ingress" if way == "in" else "egress"].get(subject, [])}
    )
    if not candidates:
        return [() for _ in beyond]
    by_key = {policy_key(p): p for p in policies}
    subjects = {subject for subject, _, _ in beyond}
    solo = {
        k: _near(r, subjects)
        for k, r in zip(candidates, analyze([Scenario([by_key[k]], topo.cluster, k) for k in candidates]), strict=True)
    }
    caches: dict[str, dict[str, Any]] = {k: {} for k in candidates}
    out = []
    for subject, way, units in beyond:
        mine = selecting["ingress" if way == "in" else "egress"].get(subject, [])
        out.append(
            tuple(
                k
                for k in mine
                if any(
                    _allows(solo[k], caches[k], *((p, subject) if way == "in" else (subject, p)), u)
                    for u, peers in units.items()
                    for p in peers
                )
            )
        )
    return out
