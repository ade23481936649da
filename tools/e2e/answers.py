"""A probe and its answers (documented, nca, and each engine's), and what decides the first two.

Probe, Answer, CaseReport     a source -> destination:port/protocol; who allows it on one engine's
                              run (documented, nca, the engine); a case's answers on that engine
Row, compare_engines          a probe's four answers (documented, nca, kube-router, felix) from the
                              engines' runs of one case, and which engines disagree
probe_ports                   the ports a case probes: every one a policy or documented grant names
NcaIndex                      nca's answer for a probe; PodAddressModel: the documented model with
                              ipBlocks matching pod addresses (implementation-defined, explained)
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
from tools.connectivity.model import Model
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


def who_disagrees(answers: Mapping[str, bool]) -> str:
    """'' when all agree, else `kube-router says allowed, documented, nca and felix say denied`:
    the smaller side first (on a tie, the side the page is on)."""
    sides = {v: [k for k, a in answers.items() if a == v] for v in (True, False)}
    if not sides[True] or not sides[False]:
        return ""
    first = min((True, False), key=lambda v: (len(sides[v]), "documented" not in sides[v], not v))

    def say(names: list[str], allowed: bool) -> str:
        who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"{who} {'says' if len(names) == 1 else 'say'} {'allowed' if allowed else 'denied'}"

    return f"{say(sides[first], first)}, {say(sides[not first], not first)}"


@dataclass
class Answer:
    probe: Probe
    documented: bool
    nca: bool
    dataplane: bool  # the engine's answer
    why: str = ""  # documented ("") or "extra, from <values key>" (the values' own rules)
    note: str = ""  # why a difference is not counted (implementation-defined), when it is not
    engine: str = "dataplane"  # whose answer `dataplane` is: kube-router, felix

    @property
    def disagree(self) -> str:
        """'' when all three agree, else which of them stand apart."""
        if self.note:
            return ""
        return who_disagrees({"documented": self.documented, "nca": self.nca, self.engine: self.dataplane})


@dataclass
class CaseReport:
    case: Case
    answers: list[Answer]
    cluster: Cluster
    engine: str = "dataplane"  # whose answers: kube-router, felix
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


@dataclass
class Row:
    """One probe of one case, four answers: documented, nca, and each engine's (by its answer name),
    with the note that excuses an engine's answer (implementation-defined, or a named defect)."""

    case: str
    probe: Probe
    documented: bool
    nca: bool
    engines: dict[str, bool]
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def answers(self) -> dict[str, bool]:
        return {"documented": self.documented, "nca": self.nca, **self.engines}

    @property
    def differ(self) -> bool:
        """The engines answer differently (excused or not)."""
        return len(set(self.engines.values())) > 1

    @property
    def disagree(self) -> str:
        """'' unless engines whose answers no note excuses differ; then who says what, all four."""
        counted = {k for k in self.engines if k not in self.notes}
        if len({self.engines[k] for k in counted}) < 2:
            return ""
        return who_disagrees(self.answers)

    @property
    def excused(self) -> str:
        """The notes that excuse a difference between the engines, or ''."""
        if not self.differ or self.disagree:
            return ""
        return "; ".join(f"{k}'s answer by {n}" for k, n in sorted(self.notes.items()))


def compare_engines(runs: Mapping[str, Sequence[CaseReport]]) -> list[Row]:
    """The engines' runs of the same cases (engine answer name -> reports), probe by probe. Every
    engine must have probed the same cases and probes: a missing answer is an error, not a pass."""
    if not runs:
        return []
    names = list(runs)
    by_case = {n: {r.case.id: r for r in reps} for n, reps in runs.items()}
    case_ids = [r.case.id for r in runs[names[0]]]
    for n in names:
        if list(by_case[n]) != case_ids:
            raise ValueError(f"{n} ran other cases than {names[0]}: {list(by_case[n])} vs {case_ids}")
    rows = []
    for cid in case_ids:
        answers = {n: {a.probe: a for a in by_case[n][cid].answers} for n in names}
        probes = list(answers[names[0]])
        for n in names:
            if set(answers[n]) != set(probes):
                odd = sorted(set(answers[n]) ^ set(probes))[:5]
                raise ValueError(f"{cid}: {n} probed other probes than {names[0]}, e.g. {', '.join(map(str, odd))}")
        for p in probes:
            first = answers[names[0]][p]
            rows.append(
                Row(
                    cid,
                    p,
                    first.documented,
                    first.nca,
                    {n: answers[n][p].dataplane for n in names},
                    {n: answers[n][p].note for n in names if answers[n][p].note},
                )
            )
    return rows


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


def every_probe(cluster: Cluster, ports: Mapping[str, Sequence[int]]) -> list[Probe]:
    """Every source -> destination:port of the fixture, both protocols (the outside never to itself)."""
    every = cluster.all_workloads()
    return [
        Probe(s.name, d.name, port, proto)
        for s in every
        for d in every
        if s.name != d.name and not (s.is_outside and d.is_outside)
        for proto in ("tcp", "udp")
        for port in ports[proto]
    ]


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
    and felix do (the API leaves it to the implementation). Only used to explain a difference, never to
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


def grant_allows(grants: Sequence[tuple[Sequence[tuple[int, int]], str]], port: int) -> tuple[bool, str]:
    """Is port in one of Model.allowed's grants, and why (documented "" first)."""
    whys = [why for ivs, why in grants if any(lo <= port <= hi for lo, hi in ivs)]
    if not whys:
        return False, ""
    return True, "" if "" in whys else whys[0]
