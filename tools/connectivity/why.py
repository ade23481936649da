"""Why a connection is allowed or denied, rule by rule, from nca's own parse of the policies
(engine.PolicyRules: whom each policy selects, what each of its rules admits); shared by `make diff`
and `make explain`.

A connection needs both ends: the destination's ingress (open when no policy isolates it for ingress,
else some rule of a policy selecting it must admit the source) and the source's egress (the same,
for egress; an address outside the cluster has no egress policies). Connections are kept as port
intervals per (source, destination, protocol): TCP, UDP, SCTP, and OTHER for every other protocol
(ICMP...), which NetworkPolicy allows only with a rule that names no port.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from tools.connectivity.engine import PROTOCOL_NUMBERS, Conn, PolicyRules
from tools.connectivity.intervals import (
    Interval,
    IpAtom,
    cidrs_str,
    intersect,
    ip_peer_intervals,
    merge_intervals,
    subtract,
)
from tools.connectivity.rules import RuleNames

OTHER = "other"
PROTOCOLS = (*PROTOCOL_NUMBERS, OTHER)
ALL_PORTS: tuple[Interval, ...] = ((1, 65535),)  # port 0 is not a destination port; nca's domain starts at 1
Key = tuple[str, str, str]  # (source, destination, protocol)
PortMap = dict[Key, tuple[Interval, ...]]


def _protocols(c: Conn) -> list[str]:
    out = [p for p, n in PROTOCOL_NUMBERS.items() if c.allows_protocol(n)]
    if c.protocols is None or any(
        n not in PROTOCOL_NUMBERS.values() for lo, hi in c.protocols for n in range(lo, min(hi, 255) + 1)
    ):
        out.append(OTHER)
    return out


def port_map(conns: Iterable[Conn], ips: Sequence[IpAtom]) -> PortMap:
    """nca's connections as port intervals per (source, destination, protocol), its IP peers named by
    the fixture's blocks of the outside world: a block reached whole by its name, in part as
    `block[cidrs]` (an address range no value of the fixture names). OTHER's ports are ALL_PORTS."""
    pods: dict[Key, list[Interval]] = defaultdict(list)
    # (pod, protocol, inbound) -> [(addresses, ports)]: cut by port boundaries, then by block
    ip_side: dict[tuple[str, str, bool], list[tuple[tuple[Interval, ...], tuple[Interval, ...]]]] = defaultdict(list)
    for c in conns:
        if c.other_dims:
            raise ValueError(f"{c}: connection restricted on {c.other_dims}; cannot be expressed as ports")
        for proto in _protocols(c):
            ports = ALL_PORTS if proto == OTHER or c.ports is None else intersect(c.ports, ALL_PORTS)
            if not ports:
                continue
            s_ip, d_ip = c.src.startswith("ip:"), c.dst.startswith("ip:")
            if s_ip and d_ip:
                continue
            if s_ip:
                ip_side[(c.dst, proto, True)].append((ip_peer_intervals(c.src), ports))
            elif d_ip:
                ip_side[(c.src, proto, False)].append((ip_peer_intervals(c.dst), ports))
            else:
                pods[(c.src, c.dst, proto)] += ports
    out: dict[Key, list[Interval]] = {k: list(v) for k, v in pods.items()}
    for (pod, proto, inbound), entries in ip_side.items():
        for seg in _segments([p for _, ports in entries for p in ports]):
            addrs = merge_intervals(a for addr, ports in entries if intersect(ports, (seg,)) for a in addr)
            for atom in ips:
                part = intersect(addrs, atom.intervals)
                if part:
                    name = atom.name if part == atom.intervals else f"{atom.name}[{cidrs_str(part)}]"
                    key = (name, pod, proto) if inbound else (pod, name, proto)
                    out.setdefault(key, []).append(seg)
    return {k: merge_intervals(v) for k, v in out.items() if v}


def _segments(ivs: Iterable[Interval]) -> list[Interval]:
    """The elementary intervals the given ones cut their union into."""
    ivs = list(ivs)
    cuts = sorted({b for lo, hi in ivs for b in (lo, hi + 1)})
    out = []
    for lo, nxt in pairwise(cuts):
        if any(a <= lo <= b for a, b in ivs):
            out.append((lo, nxt - 1))
    return out


def difference(a: Mapping[Key, tuple[Interval, ...]], b: Mapping[Key, tuple[Interval, ...]]) -> PortMap:
    """What `a` has that `b` has not."""
    out = {}
    for k, ivs in a.items():
        if rest := subtract(ivs, b.get(k, ())):
            out[k] = rest
    return out


# ---------------------------------------------------------------- one end of a connection


@dataclass(frozen=True)
class Rule:
    policy: str  # namespace/name
    direction: str
    index: int
    name: str  # its `# source --> destination` comment (rules.RuleNames)

    @property
    def policy_name(self) -> str:
        return self.policy.split("/", 1)[-1]

    def __str__(self) -> str:
        return f"{self.policy_name} (rule: {self.name})"


@dataclass(frozen=True)
class End:
    """One end of a connection under one set of policies: the policies isolating that end in this
    direction (none: open), and the rules of theirs that admit the connection."""

    direction: str  # ingress: the destination's; egress: the source's
    workload: str
    isolated_by: tuple[str, ...]  # policy names
    admitted_by: tuple[Rule, ...]

    @property
    def allows(self) -> bool:
        return not self.isolated_by or bool(self.admitted_by)


class Policies:
    """A set of policies as nca parsed them, with their rules' names and each rule's connections of
    interest as a PortMap (engine.PolicyRules cut them down to a change, or to one connection)."""

    def __init__(self, policies: Iterable[PolicyRules], names: RuleNames, ips: Sequence[IpAtom]) -> None:
        self.policies = list(policies)
        self.rules: list[tuple[Rule, PortMap]] = []
        for p in self.policies:
            for d in ("ingress", "egress"):
                for i, conns in enumerate(p.rules(d)):
                    rule = Rule(p.policy, d, i, names.name(p.namespace, p.name, d, i))
                    self.rules.append((rule, port_map(conns, ips)))

    def isolating(self, direction: str, workload: str) -> tuple[str, ...]:
        return tuple(sorted(p.name for p in self.policies if p.isolates(direction) and workload in p.selects))

    def boundaries(self, key: Key) -> list[Interval]:
        return [iv for _, pm in self.rules for iv in pm.get(key, ())]

    def end(self, direction: str, key: Key, seg: Interval) -> End:
        src, dst, _ = key
        who = dst if direction == "ingress" else src
        iso = self.isolating(direction, who)
        admitted = tuple(r for r, pm in self.rules if r.direction == direction and intersect(pm.get(key, ()), (seg,)))
        return End(direction, who, iso, admitted if iso else ())

    def ends(self, key: Key, seg: Interval) -> tuple[End, End]:
        return self.end("ingress", key, seg), self.end("egress", key, seg)


def pieces(changed: Mapping[Key, tuple[Interval, ...]], *policy_sets: Policies) -> list[tuple[Key, Interval]]:
    """The changed intervals cut wherever any rule of the given policy sets starts or ends, so each
    piece is admitted by the same rules throughout."""
    out: list[tuple[Key, Interval]] = []
    for key, ivs in changed.items():
        bounds = [iv for ps in policy_sets for iv in ps.boundaries(key)]
        for seg in _segments([*ivs, *bounds]):
            if intersect(ivs, (seg,)):
                out.append((key, seg))
    return out


def point_end(policies: Iterable[PolicyRules], names: RuleNames, direction: str, workload: str) -> End:
    """One end of the one connection an explanation asks about (engine.Explanation: a rule's conns
    are that connection where the rule admits it, else empty)."""
    pols = list(policies)
    iso = tuple(sorted(p.name for p in pols if p.isolates(direction) and workload in p.selects))
    admitted = tuple(
        Rule(p.policy, direction, i, names.name(p.namespace, p.name, direction, i))
        for p in pols
        if p.isolates(direction) and workload in p.selects
        for i, conns in enumerate(p.rules(direction))
        if conns
    )
    return End(direction, workload, iso, admitted)


def rules_of(policies: Iterable[PolicyRules], names: RuleNames, direction: str, workload: str) -> list[Rule]:
    """Every rule, in this direction, of the policies selecting `workload`."""
    return [
        Rule(p.policy, direction, i, names.name(p.namespace, p.name, direction, i))
        for p in policies
        if p.isolates(direction) and workload in p.selects
        for i in range(len(p.rules(direction)))
    ]
