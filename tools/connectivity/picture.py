"""The connectivity picture: who may connect to whom, one node per workload group, drawn by Graphviz.

- `documented_picture(values)`: the documented flows of `values`, from the model (facts + values, never
  a render); the README's picture is the whole page's (tools/generate/readme_picture.py, `make generate`).
- `make verify --svg`: the flows nca computes for the user's values, drawn the same way.

How it reads: a box per namespace (saying so when default-deny-ingress is there), a node per workload
group (EP operator, EP instance, Flink operator, Flink jobmanager and taskmanagers per deployment, the
other pods of a namespace, the pods and address blocks the values name), and an arrow per pair that
may connect, labelled with the destination's ports. Ports every source reaches (every address and
every pod whose egress is open) are one arrow from `anywhere` instead of one from each; arrows with the
same ports both ways are one double arrow. A group whose pods do not all have the same flows is drawn
pod by pod, so no arrow claims more (or less) than holds for every pod it joins.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tools.connectivity.cluster import GROUPS, Cluster, Workload, cluster_for
from tools.connectivity.documented import deny_all_namespaces
from tools.connectivity.flows import ANY_PORT, Flow, Port, group_ports, normalize
from tools.connectivity.intervals import OUTSIDE_NAME, cidrs_str, merge_intervals
from tools.connectivity.model import Model
from tools.values import Values, effective_values

PROTOCOLS = ("TCP", "UDP", "SCTP")
ANYWHERE = "anywhere"
Flows = Mapping[str, Iterable[Flow]]  # protocol -> flows

LABELS = {
    "ep-operator": "EP operator",
    "ep-instance": "EP instance",
    "flink-operator": "Flink operator",
    "flink-jobmanager": "Flink jobmanager",
    "flink-taskmanager": "Flink taskmanager",
    "unrelated": "other pods",
    "other-namespace": "a pod in another namespace",
}


class PictureError(Exception):
    """The picture cannot be drawn truthfully (nca disagrees with the documented flows)."""


@dataclass(frozen=True)
class Node:
    key: str  # the DOT id
    label: str
    namespace: str  # "" outside every namespace box
    members: frozenset[str]  # fixture workloads (pods, address blocks)
    destination: bool = False  # a pod of the chart's namespaces: the picture shows all that reaches it


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    ports: tuple[tuple[str, tuple[Port, ...]], ...]  # (protocol, ports), PROTOCOLS order
    both: bool = False  # the same ports dst -> src too

    @property
    def label(self) -> str:
        if len(self.ports) == len(PROTOCOLS) and all(ps == (ANY_PORT,) for _, ps in self.ports):
            return "any port, any protocol"
        return "\n".join(f"{proto} {_ports_text(ps)}" for proto, ps in self.ports)


def _ports_text(ports: tuple[Port, ...]) -> str:
    if ANY_PORT in ports:
        return "all ports"
    text = [str(p) for p in ports]
    return ",\n".join(", ".join(text[i : i + 5]) for i in range(0, len(text), 5))  # 5 ports a line


@dataclass
class Picture:
    nodes: list[Node]
    edges: list[Edge]
    deny_all: set[str] = field(default_factory=set)  # namespaces with default-deny-ingress
    locked: list[str] = field(default_factory=list)  # labels of groups whose egress is not open


# ---------------------------------------------------------------- groups


def groups(cluster: Cluster) -> list[Node]:
    """One node per workload group of the fixture (see the module's docstring)."""
    many = len({w.cell for w in cluster.workloads if w.group == "flink-deployment"}) > 1
    found: dict[str, tuple[str, str, set[str], bool]] = {}
    for w in cluster.all_workloads():
        key, label = _group(w, many)
        dst = w.group in (*GROUPS, "unrelated")
        found.setdefault(key, (label, w.namespace, set(), dst))[2].add(w.name)
    atoms = {a.name: a for a in cluster.ips}
    if len(atoms) > 1 and OUTSIDE_NAME in found:
        found[OUTSIDE_NAME] = ("other addresses\noutside the cluster", *found[OUTSIDE_NAME][1:])
    for key, (label, ns, members, dst) in found.items():
        if members <= atoms.keys() and key != OUTSIDE_NAME:  # a named block: its addresses under its name
            blocks = merge_intervals(iv for m in members for iv in atoms[m].intervals)
            found[key] = (f"{label}\n{cidrs_str(blocks).replace(',', ', ')}", ns, members, dst)
    return [Node(k, lab, ns, frozenset(m), dst) for k, (lab, ns, m, dst) in sorted(found.items())]


def _group(w: Workload, many_deployments: bool) -> tuple[str, str]:
    if w.group == "flink-deployment":
        kind = "flink-jobmanager" if "flink-jobmanager" in w.kinds else "flink-taskmanager"
        return (f"{kind}/{w.cell}", f"{LABELS[kind]}\n{w.cell}") if many_deployments else (kind, LABELS[kind])
    if w.group == "unrelated":
        return f"unrelated/{w.namespace}", LABELS["unrelated"]
    if w.group in LABELS:
        return w.group, LABELS[w.group]
    if w.name == OUTSIDE_NAME:
        return w.name, "outside the cluster"
    if w.is_outside:  # the blocks the values name (api-server, kafka, ...), by the names they share
        name = "+".join(sorted(w.kinds)) or w.name
        return f"ip/{name}", name
    return w.name, w.name  # a pod the values name: DNS, Kafka, Prometheus, an extra rule's peer


# ---------------------------------------------------------------- flows to edges


def _from_anywhere(cluster: Cluster, flows: set[Flow], dsts: set[str]) -> tuple[set[Flow], set[str]]:
    """The flows into `dsts`, with a port of d that every open source reaches (every address, and every
    pod that may dial anything outside) as one flow from ANYWHERE; and the pods that are not open."""
    flows = normalize(flows)
    atoms = {a.name for a in cluster.ips}
    open_ = atoms | {f.src for f in flows if f.dst == OUTSIDE_NAME and f.port == ANY_PORT}
    locked = {w.name for w in cluster.workloads} - open_
    wide: dict[str, set[str]] = defaultdict(set)  # dst -> sources reaching every port of it
    srcs: dict[tuple[str, Port], set[str]] = defaultdict(set)
    for f in flows:
        srcs[(f.dst, f.port)].add(f.src)
        if f.port == ANY_PORT:
            wide[f.dst].add(f.src)
    out = {f for f in flows if f.dst in dsts}
    for (d, p), who in srcs.items():
        universe = open_ - {d}
        if d in dsts and universe <= who | wide[d]:
            out = {f for f in out if not (f.dst == d and f.port == p and f.src in universe)}
            out.add(Flow(ANYWHERE, d, p))
    return out, locked


def _lift(
    nodes: list[Node], flows: Mapping[str, set[Flow]]
) -> tuple[dict[tuple[str, str], dict[str, set[Port]]], set[str]]:
    """Pod flows as node pairs' ports; and the nodes where some pod pair lacks a port its group has."""
    of = {m: n.key for n in nodes for m in n.members} | {ANYWHERE: ANYWHERE}
    members = {n.key: n.members for n in nodes} | {ANYWHERE: frozenset({ANYWHERE})}
    pairs: dict[tuple[str, str, str, Port], set[tuple[str, str]]] = defaultdict(set)
    for proto, fl in flows.items():
        for f in fl:
            pairs[(of[f.src], of[f.dst], proto, f.port)].add((f.src, f.dst))
    ports: dict[tuple[str, str], dict[str, set[Port]]] = defaultdict(lambda: defaultdict(set))
    uneven: set[str] = set()
    for (a, b, proto, port), got in pairs.items():
        if got == {(s, d) for s in members[a] for d in members[b] if s != d}:
            ports[(a, b)][proto].add(port)
        else:
            uneven |= {a, b} - {ANYWHERE}
    return ports, uneven


def draw(cluster: Cluster, flows: Flows, deny_all: Iterable[str] = ()) -> Picture:
    """The picture of `flows` (per protocol) on `cluster`: what reaches the chart's namespaces' pods."""
    nodes = groups(cluster)
    dsts = {m for n in nodes if n.destination for m in n.members}
    lifted: dict[str, set[Flow]] = {}
    locked: set[str] = set()
    for proto in PROTOCOLS:
        if fl := normalize(flows.get(proto, ())):
            lifted[proto], lk = _from_anywhere(cluster, fl, dsts)
            # where egress-locked pods may go besides the chart's pods: DNS, the API server, Kafka, ...
            lifted[proto] |= {f for f in fl if f.src in lk and f.dst not in dsts}
            locked |= lk
    while True:
        ports, uneven = _lift(nodes, lifted)
        split = [n for n in nodes if n.key in uneven and len(n.members) > 1]
        if not uneven:
            break
        if not split:
            raise PictureError(f"cannot draw {sorted(uneven)}: their flows differ from pod to pod")
        nodes = [n for n in nodes if n not in split] + [
            replace(n, key=f"{n.key}/{m}", label=f"{n.label}\n{m}", members=frozenset({m}))
            for n in split
            for m in sorted(n.members)
        ]
    edges = {
        pair: tuple((p, tuple(_sorted_ports(by[p]))) for p in PROTOCOLS if by.get(p)) for pair, by in ports.items()
    }
    out = []
    for (a, b), ps in sorted(edges.items()):
        both = a != b and edges.get((b, a)) == ps
        if both and (b, a) < (a, b):
            continue  # drawn once, from the pair's first
        out.append(Edge(a, b, ps, both))
    used = {e.src for e in out} | {e.dst for e in out}
    shown = [n for n in nodes if n.destination or n.key in used]
    if ANYWHERE in used:
        shown.append(Node(ANYWHERE, "anywhere", "", frozenset({ANYWHERE})))
    by_member = {m: n.label.split("\n")[0] for n in nodes for m in n.members}
    return Picture(sorted(shown, key=lambda n: n.key), out, set(deny_all), sorted({by_member[w] for w in locked}))


def _sorted_ports(ports: set[Port]) -> list[Port]:
    ordered = group_ports(Flow("", "", p) for p in ports)[("", "")].split(",")
    return [int(p) if p.isdigit() else p for p in ordered]


# ---------------------------------------------------------------- DOT and SVG

HEAD = """\
// The connectivity picture, generated by tools/connectivity/picture.py: do not edit.
digraph connectivity {
  graph [rankdir=TB, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.8, newrank=true];
  node [shape=box, style="rounded,filled", fillcolor="#e8f0fb", color="#3b6ea5", fontname="Helvetica", fontsize=12];
  edge [fontname="Helvetica", fontsize=11, color="#3b6ea5", fontcolor="#1f3b5c"];"""
DENY_NOTE = "default-deny-ingress: all other ingress refused"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(**kw: str) -> str:
    return "[" + ", ".join(f"{k}={_q(v)}" for k, v in kw.items()) + "]"


def to_dot(pic: Picture, caption: str = "") -> str:
    """The picture as Graphviz DOT text, sorted (the same picture always gives the same text)."""
    incoming = {e.dst for e in pic.edges} | {e.src for e in pic.edges if e.both}
    lines = [HEAD]

    def node(n: Node, indent: str) -> str:
        if n.key == ANYWHERE:
            but = ",\n".join(", ".join(pic.locked[i : i + 2]) for i in range(0, len(pic.locked), 2))
            extra = f"\nany address; any pod but\n{but}" if pic.locked else "\nany pod, any address"
            return f"{indent}{_q(n.key)} " + _attrs(
                label=n.label + extra, shape="oval", fillcolor="#fdf0d5", color="#b7791f"
            )
        if not n.namespace:  # a block of addresses outside the cluster
            return f"{indent}{_q(n.key)} " + _attrs(label=n.label, shape="oval", fillcolor="#f4f4f4", color="#777777")
        members = ", ".join(sorted(n.members))
        if n.destination and n.key not in incoming:
            return f"{indent}{_q(n.key)} " + _attrs(
                label=f"{n.label}\nnothing gets in", tooltip=members, style="rounded,dashed", fillcolor="#f4f4f4"
            )
        return f"{indent}{_q(n.key)} {_attrs(label=n.label, tooltip=members)}"

    lines += [node(n, "  ") + ";" for n in pic.nodes if not n.namespace]
    for ns in sorted({n.namespace for n in pic.nodes if n.namespace}):
        deny = ns in pic.deny_all
        label = f"namespace {ns}" + (f"\n{DENY_NOTE}" if deny else "")
        lines.append(f"  subgraph {_q('cluster_' + ns)} {{")
        lines.append(f"    graph {_attrs(label=label, style='rounded', color='#b83232' if deny else '#999999')};")
        lines += [node(n, "    ") + ";" for n in pic.nodes if n.namespace == ns]
        lines.append("  }")
    for e in pic.edges:
        style = {"color": "#b7791f", "fontcolor": "#7a4f0f"} if e.src == ANYWHERE else {}
        if e.both:
            style["dir"] = "both"
        label = e.label + ("\nbetween its pods" if e.src == e.dst else "")
        lines.append(f"  {_q(e.src)} -> {_q(e.dst)} {_attrs(label=label, **style)};")
    if caption:  # last: subgraphs inherit the graph attributes set before them
        lines.append(f"  graph {_attrs(label=caption, labelloc='b', fontsize='11', fontcolor='#555555')};")
    return "\n".join([*lines, "}", ""])


def to_svg(dot_text: str) -> bytes:
    """Graphviz's SVG of `dot_text`, stamped with the DOT's hash (see `svg_stamp`)."""
    dot = shutil.which("dot")
    if not dot:
        raise PictureError("Graphviz `dot` not found: apt-get install graphviz (make tools does)")
    proc = subprocess.run([dot, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise PictureError(f"dot failed: {proc.stderr.decode()[-2000:]}")
    return proc.stdout.replace(b"<svg", f"<!-- dot-sha256: {dot_hash(dot_text)} -->\n<svg".encode(), 1)


def dot_hash(dot_text: str) -> str:
    return hashlib.sha256(dot_text.encode()).hexdigest()


def svg_stamp(svg: bytes) -> str | None:
    """The hash of the DOT an SVG was drawn from: the staleness check compares it with today's DOT,
    so a different Graphviz version (whose SVG differs) does not make the picture stale."""
    m = re.search(rb"<!-- dot-sha256: ([0-9a-f]{64}) -->", svg)
    return m.group(1).decode() if m else None


# ---------------------------------------------------------------- documented flows, drawn


def deny_all_in(policies: Iterable[Mapping[str, Any]]) -> set[str]:
    """Namespaces where a policy selects every pod for ingress and admits nothing (default-deny-ingress)."""
    return {
        p["metadata"].get("namespace", "")
        for p in policies
        if not p["spec"].get("podSelector")
        and "Ingress" in p["spec"].get("policyTypes", [])
        and not p["spec"].get("ingress")
    }


def documented_picture(values: Values) -> Picture:
    """The documented flows (the model: facts + values) of `values`, drawn."""
    v = effective_values(values)
    cluster = cluster_for(v)
    model = Model(v, cluster)
    return draw(cluster, {p: model.flows(p)[0] for p in PROTOCOLS}, deny_all_namespaces(v))
