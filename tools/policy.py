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

import yaml

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


def policy_types(spec: Obj) -> list[str]:
    """`spec.policyTypes`, or what the API server defaults it to: Ingress, plus Egress with egress rules."""
    return list(spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"]))


def normal(obj: Obj) -> Normal:
    spec = obj["spec"]
    return Normal(
        name=obj["metadata"]["name"],
        pod_selector=_selector(spec.get("podSelector")),
        policy_types=frozenset(policy_types(spec)),
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


# ---------------------------------------------------------------- the normal form, for people


def _flow(node: Any) -> str:
    """One line of YAML, flow style (`{matchLabels: {app: x}}`)."""
    return str(yaml.safe_dump(node, default_flow_style=True, sort_keys=False, width=10**6)).strip()


def selector_yaml(sel: tuple[Labels, tuple[Any, ...]]) -> dict[str, Any]:
    """A normal-form selector back as a LabelSelector (keys sorted)."""
    labels, exprs = sel
    out: dict[str, Any] = {}
    if labels:
        out["matchLabels"] = dict(sorted(labels))
    if exprs:
        out["matchExpressions"] = [
            {"key": k, "operator": op, **({"values": list(vs)} if vs else {})} for k, op, vs in exprs
        ]
    return out


def peer_text(peer: Any) -> str:
    """A normal-form peer as the YAML it stands for; a rule without peers is `anywhere`."""
    if peer == ANY_PEER:
        return "anywhere"
    if peer[0] == "ipBlock":
        return _flow({"ipBlock": {"cidr": peer[1], **({"except": list(peer[2])} if peer[2] else {})}})
    _, pods, namespaces = peer
    out: dict[str, Any] = {}
    if namespaces is not None:
        out["namespaceSelector"] = selector_yaml(namespaces)
    if pods is not None:
        out["podSelector"] = selector_yaml(pods)
    return _flow(out)


def port_text(port: Any) -> str:
    """`TCP 8081`, `TCP 6121-6124`, `every TCP port`; a rule without ports is every port of every protocol."""
    if port == ANY_PORT:
        return "every port, every protocol"
    protocol, number, end = port
    if number is None:
        return f"every {protocol} port"
    return f"{protocol} {number}-{end}" if end is not None else f"{protocol} {number}"


def differences(a: Normal, b: Normal, left: str, right: str) -> list[str]:
    """How two policies differ in meaning, as YAML-ish lines: the selector and types side by side, and
    each (peer, port) pair that only one of them admits. Empty when they are equal."""
    lines: list[str] = []
    width = max(len(left), len(right)) + 1
    if a.pod_selector != b.pod_selector:
        lines += [
            "podSelector:",
            f"  {left + ':':<{width}} {_flow(selector_yaml(a.pod_selector))}",
            f"  {right + ':':<{width}} {_flow(selector_yaml(b.pod_selector))}",
        ]
    if a.policy_types != b.policy_types:
        lines += [
            "policyTypes:",
            f"  {left + ':':<{width}} {', '.join(sorted(a.policy_types))}",
            f"  {right + ':':<{width}} {', '.join(sorted(b.policy_types))}",
        ]
    for direction, side in (("ingress", "from"), ("egress", "to")):
        mine, theirs = getattr(a, direction), getattr(b, direction)
        for who, only in ((left, mine - theirs), (right, theirs - mine)):
            if only:
                lines.append(f"{direction} only in the {who}:")
                for peer, port in sorted(only, key=repr):
                    lines += [f"  - {side}: {peer_text(peer)}", f"    port: {port_text(port)}"]
    return lines
