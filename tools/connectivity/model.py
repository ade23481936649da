"""Both sides of every connection, from the facts and the values (never from a render), and how nca's
answer compares with them: `compare` is what `make verify`, the matrix and the property test check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tools import facts
from tools.connectivity.cluster import Cluster, Workload
from tools.connectivity.documented import deny_all_namespaces, enabled_rows, row_ports, source_keys
from tools.connectivity.engine import Result
from tools.connectivity.flows import Flow, FlowDiff, diff_flows, expand_ports, normalize
from tools.connectivity.intervals import Interval, cidr_intervals, contains, intersect
from tools.connectivity.layout import (
    ANYWHERE,
    FLINK_KINDS,
    beyond_page,
    dns_service,
    extra_rule_sets,
    kafka_destinations,
    kafka_peer,
    layout,
    resolved_source,
)
from tools.render import NAMESPACE as RELEASE_NAMESPACE
from tools.values import Values, get

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


def _of_deployment(kind: str, deployment: str) -> Pred:
    """Pods of `kind` in Flink deployment `deployment`."""
    return lambda w: kind in w.kinds and w.cell == deployment


def selector_matches(sel: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if not sel:
        return True
    if any(labels.get(k) != str(v) for k, v in (sel.get("matchLabels") or {}).items()):
        return False
    for e in sel.get("matchExpressions") or []:
        k, op, vals = e["key"], e["operator"], [str(v) for v in e.get("values") or []]
        ok = {
            "In": k in labels and labels[k] in vals,
            "NotIn": k not in labels or labels[k] not in vals,
            "Exists": k in labels,
            "DoesNotExist": k not in labels,
        }[op]
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
        bp, spec = beyond_page(), beyond_page()["sources"][key]
        src = resolved_source(self.values, key)
        pods = get(self.values, spec["podSelectorKey"]) if spec.get("podSelectorKey") else None
        nss = self.cluster.namespaces
        if src == ANYWHERE:
            return everyone
        if src in bp["sourceNamespaces"]:
            labels = bp["openshift"][bp["sourceNamespaces"][src]]["labels"]
            return lambda w: (
                not w.is_outside
                and all(nss[w.namespace].get(k) == v for k, v in labels.items())
                and all(w.labels.get(k) == v for k, v in (pods or {}).items())
            )
        if src == "cidrs":
            ivs = tuple(iv for c in get(self.values, spec["cidrsKey"]) or [] for iv in cidr_intervals(c))
            return lambda w: w.name in self.atoms and contains(ivs, self.atoms[w.name].point)
        if src == "ingressController":
            controller = get(self.values, spec["controllerKey"])
            return lambda w: (
                not w.is_outside
                and w.namespace == controller["namespace"]
                and all(w.labels.get(k) == v for k, v in controller["podSelector"].items())
            )
        if src == "namespaces":
            listed = set(get(self.values, spec["namespacesKey"]) or [])
            return lambda w: (
                not w.is_outside
                and w.namespace in listed
                and all(w.labels.get(k) == v for k, v in (pods or {}).items())
            )
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
                peers = (
                    self.source(srcs.get((r.target, r.port)))
                    if r.origin == ANYWHERE
                    else self._origin(r.origin, r.target, dst)
                )
                self._grant_in(dst, Grant(peers, (row_ports(r, self.values, dst, self.lay),)))

    def _beyond_ingress(self) -> None:
        for r in beyond_page()["ingress"]:
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
        for group, eg in beyond_page()["egress"].items():
            if not get(v, eg["switch"]):
                continue
            for src in self.cluster.of_kind(group):
                self.egress[src.name] = self._egress_grants(src, group, eg)

    def _egress_grants(self, src: Workload, group: str, eg: Mapping[str, Any]) -> list[Grant]:
        v, out = self.values, []
        if get(v, eg["allowRules"] + ".dns"):
            ns, labels, dns_ports = dns_service(v)

            def dns(w: Workload) -> bool:
                return not w.is_outside and w.namespace == ns and all(w.labels.get(k) == x for k, x in labels.items())

            out += [Grant(dns, tuple((p, p) for p in dns_ports), proto) for proto in ("TCP", "UDP")]
        if get(v, eg["allowRules"] + ".kubernetesApi"):
            cidrs = get(v, "cluster.kubernetesApi.cidrs") or []
            api: Pred = everyone
            if cidrs:
                ivs = tuple(iv for c in cidrs for iv in cidr_intervals(c))

                def to_api_server(w: Workload) -> bool:
                    return w.name in self.atoms and contains(ivs, self.atoms[w.name].point)

                api = to_api_server
            out.append(Grant(api, tuple((int(p), int(p)) for p in get(v, "cluster.kubernetesApi.ports"))))
        kafka = get(v, eg["kafka"]) if eg.get("kafka") else None
        if kafka and kafka.get("ports"):
            to = kafka_destinations(kafka)
            peers = [self.k8s_peer(kafka_peer(t), src.namespace) for t in to or []]
            pred: Pred = everyone if to is None else (lambda w: any(p(w) for p in peers))
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
                    out.append(Grant(_of_deployment(dest, d.name), ports))
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
        a = (
            [(g.ports, g.why) for g in ins if g.protocol == protocol and g.peers(s)]
            if ins is not None
            else [(ANY_PORTS, DOCUMENTED)]
        )
        if not a:
            return []
        b = (
            [(g.ports, g.why) for g in outs if g.protocol == protocol and g.peers(d)]
            if outs is not None
            else [(ANY_PORTS, DOCUMENTED)]
        )
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

    return {
        Flow(c.src, c.dst, "other-protocol")
        for c in result.conns
        if (c.dst in model.ingress or c.src in model.egress) and other(c)
    }


def compare(values: Values, result: Result, cluster: Cluster, release_namespace: str = RELEASE_NAMESPACE) -> FlowDiff:
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
        out.by_values.update(
            {f2: why for f, why in extra.items() if f in allowed and (f2 := next(iter(_suffix([f], proto))))}
        )
    out.extra |= other_protocol_leaks(result, model)
    return out
