"""Flows (source -> destination : port), their differences, and how both print."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tools.connectivity.intervals import Interval, merge_intervals

Port = int | str  # an int, "*" (every port of the protocol) or "lo-hi" (a range that is neither)
ANY_PORT = "*"


@dataclass(frozen=True, order=True)
class Flow:
    src: str
    dst: str
    port: Port

    def __str__(self) -> str:
        return f"{self.src} -> {self.dst} :{self.port}"


def expand_ports(ivs: Iterable[Interval]) -> list[Port]:
    """Merged port intervals as flow ports: ANY_PORT, single ports, or "lo-hi" for wide ranges."""
    out: list[Port] = []
    for lo, hi in merge_intervals(ivs):
        if lo <= 1 and hi >= 65535:
            out.append(ANY_PORT)
        elif hi - lo < 64:
            out.extend(range(lo, hi + 1))
        else:
            out.append(f"{lo}-{hi}")
    return out


def normalize(flows: Iterable[Flow]) -> set[Flow]:
    """Drop per-port flows of a pair that also has ANY_PORT, so equal connectivity compares equal."""
    flows = set(flows)
    wide = {(f.src, f.dst) for f in flows if f.port == ANY_PORT}
    return {f for f in flows if f.port == ANY_PORT or (f.src, f.dst) not in wide}


@dataclass
class FlowDiff:
    extra: set[Flow]  # allowed but not expected: the control leaks
    missing: set[Flow]  # expected but blocked: the product breaks
    everyone: frozenset[str] = frozenset()  # all sources; a port that all others share prints as `anyone`
    by_values: dict[Flow, str] = field(default_factory=dict)  # allowed by the values' own rules: not a failure

    def __bool__(self) -> bool:
        return bool(self.extra or self.missing)

    def __str__(self) -> str:
        if not self:
            return "no differences"
        lines = []
        for title, flows in (
            ("allowed but not expected (extra)", self.extra),
            ("expected but blocked (missing)", self.missing),
        ):
            if flows:
                lines.append(f"{title}:")
                lines += [f"  {src} -> {dst}: {ports}" for (src, dst), ports in self._grouped(flows).items()]
        return "\n".join(lines)

    def _grouped(self, flows: set[Flow]) -> dict[tuple[str, str], str]:
        shared = set()
        if self.everyone:
            for dst, port in {(f.dst, f.port) for f in flows}:
                if {f.src for f in flows if f.dst == dst and f.port == port} >= self.everyone - {dst}:
                    shared.add((dst, port))
        rest = {f for f in flows if (f.dst, f.port) not in shared}
        return group_ports([*rest, *(Flow("anyone", d, p) for d, p in shared)])


def diff_flows(actual: Iterable[Flow], expected: Iterable[Flow], everyone: Iterable[str] = ()) -> FlowDiff:
    a, e = normalize(actual), normalize(expected)
    return FlowDiff(a - e, e - a, frozenset(everyone))


def _port_key(p: Port) -> tuple[int, int, str]:
    """Numbers first, in order; ranges by their start; then words (ANY_PORT, "non-TCP")."""
    if isinstance(p, int):
        return (0, p, "")
    head = str(p).split("-")[0]
    return (0, int(head), str(p)) if head.isdigit() else (1, 0, str(p))


def group_ports(flows: Iterable[Flow]) -> dict[tuple[str, str], str]:
    """{(src, dst): "3000,7000,8888"} sorted by pair, for tables and diffs."""
    by_pair: dict[tuple[str, str], list[Port]] = defaultdict(list)
    for f in flows:
        by_pair[(f.src, f.dst)].append(f.port)
    return {
        pair: ",".join(str(p) for p in sorted(set(ports), key=_port_key)) for pair, ports in sorted(by_pair.items())
    }


def table(flows: Iterable[Flow], title: str = "") -> str:
    rows = group_ports(normalize(flows))
    w = max((len(f"{s} -> {d}") for s, d in rows), default=10)
    body = [f"{s + ' -> ' + d:<{w}}  {ports}" for (s, d), ports in rows.items()]
    return "\n".join(([title] if title else []) + body)
