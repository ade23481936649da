"""A probe and its three answers (documented, nca, dataplane), and what decides the first two.

Probe, Answer, CaseReport     a source -> destination:port/protocol; who allows it; a case's answers
probe_ports                   the ports a case probes: every one a policy or documented grant names
NcaIndex                      nca's answer for a probe; PodAddressModel: the documented model with
                              ipBlocks matching pod addresses (implementation-defined, explained)
kube_router_explains          the named upstream defect behind a difference, or ''
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools.connectivity.cluster import Cluster, Workload
from tools.connectivity.engine import Result
from tools.connectivity.intervals import cidr_intervals, contains, ip_peer_intervals
from tools.connectivity.layout import dns_service
from tools.connectivity.model import Model, selector_matches
from tools.e2e.cases import Case
from tools.values import Values

Obj = dict[str, Any]

# Ports no policy mentions (the first few not mentioned by the case are probed), per protocol.
CONTROL_PORTS = {"tcp": (2, 1234, 4444, 31337, 50000), "udp": (1053, 5354)}


@dataclass(frozen=True, order=True)
class Probe:
    src: str  # workload or outside block names
    dst: str
    port: int
    proto: str  # "tcp" | "udp"

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst}:{self.port}{'/udp' if self.proto == 'udp' else ''}"


@dataclass
class Answer:
    probe: Probe
    documented: bool
    nca: bool
    dataplane: bool
    why: str = ""  # documented ("") or "extra, from <values key>" (the values' own rules)
    note: str = ""  # why a difference is not counted (implementation-defined), when it is not

    @property
    def disagree(self) -> str:
        """'' when all three agree, else which of them stand apart."""
        if self.note:
            return ""
        trio = {"documented": self.documented, "nca": self.nca, "dataplane": self.dataplane}
        if len(set(trio.values())) == 1:
            return ""
        odd = [k for k, v in trio.items() if list(trio.values()).count(v) == 1]
        return (
            f"{odd[0]} says {'allowed' if trio[odd[0]] else 'denied'}, "
            f"{' and '.join(k for k in trio if k != odd[0])} say {'denied' if trio[odd[0]] else 'allowed'}"
        )


@dataclass
class CaseReport:
    case: Case
    answers: list[Answer]
    cluster: Cluster
    seconds: float = 0.0
    sync_ms: float = 0.0
    applied: int = 0
    phases: dict[str, float] = field(default_factory=dict)  # seconds: place, apply, sync, probe+compare, probe

    @property
    def undocumented_allowed(self) -> list[Answer]:
        return [a for a in self.answers if a.dataplane and not a.documented and not a.note]

    @property
    def documented_blocked(self) -> list[Answer]:
        return [a for a in self.answers if a.documented and not a.dataplane and not a.note]

    @property
    def disagreements(self) -> list[Answer]:
        return [a for a in self.answers if a.disagree]


def policy_ports(objs: Iterable[Obj]) -> dict[str, set[int]]:
    """Numeric ports the policies mention, per protocol: each port, a range's ends, middle and
    the port after it."""
    out: dict[str, set[int]] = {"tcp": set(), "udp": set()}
    for o in objs:
        for direction in ("ingress", "egress"):
            for rule in o.get("spec", {}).get(direction) or []:
                for p in rule.get("ports") or []:
                    port, proto = p.get("port"), (p.get("protocol") or "TCP").lower()
                    if not isinstance(port, int) or proto not in out:
                        continue
                    end = p.get("endPort")
                    out[proto] |= {port} if end is None else {port, (port + end) // 2, end, end + 1}
    return out


def probe_ports(objs: Sequence[Obj], values: Values, model: Model) -> dict[str, list[int]]:
    """Every port a policy or a documented grant mentions (ranges by their ends), DNS's, and a few
    no policy mentions."""
    ports = policy_ports(objs)
    for grants in (*model.ingress.values(), *model.egress.values()):
        for g in grants:
            if g.protocol.lower() in ports:
                for lo, hi in g.ports:
                    ports[g.protocol.lower()] |= set(range(lo, hi + 1)) if hi - lo < 4 else {lo, hi}
    dns_ports = set(dns_service(values)[2])
    ports["udp"] |= dns_ports
    ports["tcp"] |= dns_ports
    for proto, control in CONTROL_PORTS.items():
        ports[proto] |= set([p for p in control if p not in ports[proto]][:3])
    ports["tcp"].discard(0)
    return {k: sorted(v) for k, v in ports.items()}


class NcaIndex:
    """Is a probe allowed in nca's answer? Pods by name, the outside by address."""

    def __init__(self, result: Result) -> None:
        self.pods: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.ips: list[tuple[Any, tuple[tuple[int, int], ...], bool]] = []  # (conn, addresses, address is src)
        for c in result.conns:
            if c.src.startswith("ip:"):
                self.ips.append((c, ip_peer_intervals(c.src), True))
            elif c.dst.startswith("ip:"):
                self.ips.append((c, ip_peer_intervals(c.dst), False))
            else:
                self.pods[(c.src, c.dst)].append(c)

    def ports(self, src: str, dst: str, proto: str, src_ip: int | None, dst_ip: int | None) -> list[tuple[int, int]]:
        """The port intervals nca allows from src to dst (an outside block by its address)."""
        number = 6 if proto == "tcp" else 17
        if src_ip is None and dst_ip is None:
            conns = self.pods.get((src, dst), [])
        elif src_ip is not None:
            conns = [c for c, ivs, is_src in self.ips if is_src and c.dst == dst and contains(ivs, src_ip)]
        else:
            assert dst_ip is not None
            conns = [c for c, ivs, is_src in self.ips if not is_src and c.src == src and contains(ivs, dst_ip)]
        return [iv for c in conns if c.allows_protocol(number) for iv in (c.ports or ((0, 65535),))]


class PodAddressModel(Model):
    """The documented model with the values' ipBlocks also matching pod addresses, as kube-router
    does (the API leaves it to the implementation). Only used to explain a difference, never to
    accept one that the strict model does not also produce from the same ipBlock."""

    def __init__(self, values: Values, cluster: Cluster, pod_ips: Mapping[str, int]) -> None:
        self.pod_ips = pod_ips
        super().__init__(values, cluster)

    def k8s_peer(self, peer: Mapping[str, Any], policy_ns: str) -> Callable[[Workload], bool]:
        base = super().k8s_peer(peer, policy_ns)
        if "ipBlock" not in peer:
            return base
        ivs = cidr_intervals(peer["ipBlock"]["cidr"], peer["ipBlock"].get("except") or [])
        return lambda w: base(w) or (w.name in self.pod_ips and contains(ivs, self.pod_ips[w.name]))


# Upstream defects the lab meets in the chart's renders (each has a test reproducing it alone, in
# tests/e2e/test_dataplane.py); a disagreement is only ever excused by one of these, named.
KR_UNRESOLVED_NAMED_PORT = (
    "kube-router v2.1.0 bug: a rule whose ports are all names that no pod it applies to declares "
    "matches EVERY port (pkg/controllers/netpol/policy.go, processIngressRules/processEgressRules: "
    "`len(rule.ports) == 0 && len(rule.namedPorts) == 0` is taken for a rule without ports)"
)


def kube_router_explains(a: Answer, objs: Sequence[Obj], model: Model, by_name: Mapping[str, Workload]) -> str:
    """The named upstream defect that makes kube-router allow what the API denies, or ''. The lab's
    pods declare no container ports, so every named port is unresolved."""
    if not a.dataplane or a.documented:
        return ""
    s, d = by_name[a.probe.src], by_name[a.probe.dst]
    for o in objs:
        spec, ns = o["spec"], o["metadata"]["namespace"]
        for direction, side, me, peer in (("ingress", "from", d, s), ("egress", "to", s, d)):
            if me.is_outside or me.namespace != ns or not selector_matches(spec.get("podSelector"), me.labels):
                continue
            for rule in spec.get(direction) or []:
                ports = rule.get("ports") or []
                if not ports or not all(isinstance(p.get("port"), str) for p in ports):
                    continue
                peers = rule.get(side) or []
                if direction == "egress" and not peers:
                    continue  # no `to`: the name resolves to nothing, so nothing is opened
                if not peers or any(model.k8s_peer(p, ns)(peer) for p in peers):
                    return KR_UNRESOLVED_NAMED_PORT
    return ""


def grant_allows(grants: Sequence[tuple[Sequence[tuple[int, int]], str]], port: int) -> tuple[bool, str]:
    """Is port in one of Model.allowed's grants, and why (documented "" first)."""
    whys = [why for ivs, why in grants if any(lo <= port <= hi for lo, hi in ivs)]
    if not whys:
        return False, ""
    return True, "" if "" in whys else whys[0]
