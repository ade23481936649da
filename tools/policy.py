"""NetworkPolicy objects in a form that compares by meaning, not by layout.

Two policies are equal here when they select the same pods and admit the same
(peer, port) pairs, however those pairs are grouped into rules or ordered. This is
a structural normal form for comparing with the page's objects; connectivity
itself (what reaches what) is the analyzer's job (tools/connectivity/).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Labels = frozenset[tuple[str, str]]

ANY_PEER = "any-peer"  # a rule with no `from`
ANY_PORT = "any-port"  # a rule with no `ports`


def _selector(sel: dict[str, Any] | None) -> tuple[Labels, tuple[Any, ...]]:
    sel = sel or {}
    exprs = tuple(
        sorted(
            (e["key"], e["operator"], tuple(sorted(e.get("values") or []))) for e in sel.get("matchExpressions") or []
        )
    )
    return frozenset((sel.get("matchLabels") or {}).items()), exprs


def _peer(peer: Obj) -> tuple[Any, ...]:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        return ("ipBlock", block["cidr"], tuple(sorted(block.get("except") or [])))
    pods = _selector(peer["podSelector"]) if "podSelector" in peer else None
    namespaces = _selector(peer["namespaceSelector"]) if "namespaceSelector" in peer else None
    return ("pods", pods, namespaces)


def _port(port: Obj) -> tuple[Any, ...]:
    return (port.get("protocol", "TCP"), port.get("port"), port.get("endPort"))


def pairs(rules: Iterable[Obj] | None, peers_key: str) -> frozenset[tuple[Any, Any]]:
    """Flatten rules into the set of (peer, port) pairs they admit."""
    out: set[tuple[Any, Any]] = set()
    for rule in rules or []:
        peers: list[Any] = [_peer(p) for p in rule.get(peers_key) or []] or [ANY_PEER]
        ports: list[Any] = [_port(p) for p in rule.get("ports") or []] or [ANY_PORT]
        out.update((peer, port) for peer in peers for port in ports)
    return frozenset(out)


@dataclass(frozen=True)
class Normal:
    name: str
    pod_selector: tuple[Labels, tuple[Any, ...]]
    policy_types: frozenset[str]
    ingress: frozenset[tuple[Any, Any]]
    egress: frozenset[tuple[Any, Any]]


def normal(obj: Obj) -> Normal:
    spec = obj["spec"]
    types = spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"])
    return Normal(
        name=obj["metadata"]["name"],
        pod_selector=_selector(spec.get("podSelector")),
        policy_types=frozenset(types),
        ingress=pairs(spec.get("ingress"), "from"),
        egress=pairs(spec.get("egress"), "to"),
    )


def admitted_ports(obj: Obj, peer_labels: dict[str, str] | None) -> set[tuple[Any, Any]]:
    """Ports the policy's ingress rules admit from a same-namespace pod with `peer_labels`
    (None: a client outside the cluster). Enough to tell which rule serves a table row;
    it reads selectors literally and leaves namespaces and expressions to the analyzer."""
    out = set()
    for peer, port in normal(obj).ingress:
        if peer == ANY_PEER or (
            peer_labels is not None
            and peer[0] == "pods"
            and peer[2] is None
            and not peer[1][1]
            and peer[1][0] <= frozenset(peer_labels.items())
        ):
            out.add(port)
    return out


def selects(obj: Obj, pod_labels: dict[str, str]) -> bool:
    """Does the policy's podSelector (matchLabels only) select a pod with these labels?"""
    labels, exprs = _selector(obj["spec"].get("podSelector"))
    return not exprs and labels <= frozenset(pod_labels.items())
