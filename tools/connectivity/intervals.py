"""IPv4 addresses as sorted, merged intervals, and the outside world split into named blocks."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

IPV4_LAST = 2**32 - 1
Interval = tuple[int, int]
# The name of every address outside the cluster that no CIDR of the values names.
OUTSIDE_NAME = "outside"


def cidr_intervals(cidr: str, except_: Iterable[str] = ()) -> tuple[Interval, ...]:
    """IPv4 addresses of an ipBlock as sorted, merged intervals; IPv6 gives none (nca leaves IPv6 out
    by default, and so does the fixture)."""
    net = ipaddress.ip_network(cidr, strict=False)
    if net.version != 4:
        return ()
    out: tuple[Interval, ...] = ((int(net.network_address), int(net.broadcast_address)),)
    for ex in except_:
        out = subtract(out, cidr_intervals(ex))
    return out


def merge_intervals(ivs: Iterable[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(ivs):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    return merge_intervals(
        (max(x[0], y[0]), min(x[1], y[1])) for x in a for y in b if max(x[0], y[0]) <= min(x[1], y[1])
    )


def subtract(a: Iterable[Interval], b: Iterable[Interval]) -> tuple[Interval, ...]:
    out = list(merge_intervals(a))
    for blo, bhi in merge_intervals(b):
        nxt = []
        for lo, hi in out:
            if bhi < lo or blo > hi:
                nxt.append((lo, hi))
                continue
            if lo < blo:
                nxt.append((lo, blo - 1))
            if bhi < hi:
                nxt.append((bhi + 1, hi))
        out = nxt
    return tuple(out)


def contains(ivs: Iterable[Interval], point: int) -> bool:
    return any(lo <= point <= hi for lo, hi in ivs)


def cidrs_str(ivs: Iterable[Interval]) -> str:
    return ",".join(
        str(n)
        for lo, hi in ivs
        for n in ipaddress.summarize_address_range(ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi))
    )


def ip_peer_intervals(peer: str) -> tuple[Interval, ...]:
    """nca's IP peer ("ip:10.0.0.0/8,11.0.0.0/16") as intervals."""
    return merge_intervals(
        iv for c in peer.removeprefix("ip:").split(",") if c.strip() for iv in cidr_intervals(c.strip())
    )


@dataclass(frozen=True)
class IpAtom:
    """A named part of the outside world: the addresses that fall in the same CIDRs of the values (the
    API server's, Kafka's, an extra rule's), so every policy admits all of it or none of it.
    `outside` is what no CIDR of the values names."""

    name: str
    intervals: tuple[Interval, ...]
    kinds: frozenset[str] = frozenset()

    @property
    def point(self) -> int:  # any address of the atom stands for all of it
        return self.intervals[0][0]


WHOLE = IpAtom(OUTSIDE_NAME, ((0, IPV4_LAST),))


def ip_atoms(regions: Sequence[tuple[str, tuple[Interval, ...]]]) -> tuple[IpAtom, ...]:
    """Split the IPv4 space by labelled regions: one atom per set of regions an address falls in."""
    regions = [(label, ivs) for label, ivs in regions if ivs]
    if not regions:
        return (WHOLE,)
    cuts = sorted({0, IPV4_LAST + 1} | {b for _, ivs in regions for lo, hi in ivs for b in (lo, hi + 1)})
    groups: dict[frozenset[int], list[Interval]] = defaultdict(list)
    for lo, nxt in pairwise(cuts):
        groups[frozenset(i for i, (_, ivs) in enumerate(regions) if contains(ivs, lo))].append((lo, nxt - 1))
    named: list[tuple[str, frozenset[str], tuple[Interval, ...]]] = []
    for sig, ivs in groups.items():
        labels = frozenset(regions[i][0] for i in sig)
        named.append(("+".join(sorted(labels)) or OUTSIDE_NAME, labels, merge_intervals(ivs)))
    counts: dict[str, int] = defaultdict(int)
    for n, _, _ in named:
        counts[n] += 1
    return tuple(
        sorted(
            (IpAtom(n if counts[n] == 1 else f"{n}({cidrs_str(ivs[:1])})", ivs, labels) for n, labels, ivs in named),
            key=lambda a: a.intervals,
        )
    )
