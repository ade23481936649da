"""The connectivity picture: the README's shows exactly the documented flows, nca agrees, and the
drawing never claims a flow for a group that holds for only some of its pods.

Expected flows come from the model (the facts file and the values), never from the render or the
picture; the picture is read back from its DOT text (docs/connectivity.dot, which test_generated
proves current).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tools.connectivity import picture
from tools.connectivity.cluster import cluster_for, default_cluster
from tools.connectivity.documented import deny_all_namespaces
from tools.connectivity.flows import ANY_PORT, Flow
from tools.connectivity.intervals import OUTSIDE_NAME
from tools.connectivity.model import PROTOCOLS, Model
from tools.connectivity.picture import ANYWHERE, draw
from tools.e2e.cases import DENY_ALL_METRICS, coverage_cases
from tools.generate import readme_picture
from tools.generate.readme_picture import PICTURE_VALUES
from tools.paths import ROOT
from tools.values import effective_values

DOT = ROOT / "docs" / "connectivity.dot"
ATTR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _attrs(text: str) -> dict[str, str]:
    return {k: v.replace("\\n", "\n").replace('\\"', '"') for k, v in ATTR.findall(text)}


def read_dot(text: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]], list[str]]:
    """(nodes by id with their attributes, edges (src, dst, attributes), namespace box labels)."""
    nodes, edges, boxes = {}, [], []
    for line in text.splitlines():
        line = line.strip()
        if m := re.fullmatch(r'"([^"]+)" -> "([^"]+)" \[(.*)\];', line):
            edges.append((m[1], m[2], _attrs(m[3])))
        elif m := re.fullmatch(r'"([^"]+)" \[(.*)\];', line):
            nodes[m[1]] = _attrs(m[2])
        elif line.startswith("graph [label=") and "namespace" in line:
            boxes.append(_attrs(line)["label"])
    return nodes, edges, boxes


def label_ports(label: str) -> set[tuple[str, str]]:
    """(protocol, port) pairs an edge label lists: `TCP 443, 9443`, wrapped lines, `all ports`."""
    if label == "any port, any protocol":
        return {(p, str(ANY_PORT)) for p in PROTOCOLS}
    out, proto = set(), ""
    for line in label.split("\n"):
        head, _, rest = line.partition(" ")
        if head in PROTOCOLS:
            proto, line = head, rest
        elif not line[:1].isdigit():
            continue  # "between its pods"
        if line == "all ports":
            out.add((proto, str(ANY_PORT)))
        else:
            out |= {(proto, p.strip()) for p in line.split(",") if p.strip()}
    return out


@pytest.fixture(scope="module")
def documented() -> tuple[Model, dict[str, set[Flow]]]:
    values = effective_values(PICTURE_VALUES)
    model = Model(values, cluster_for(values))
    return model, {p: model.flows(p)[0] for p in PROTOCOLS}


@pytest.fixture(scope="module")
def drawn() -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]], list[str]]:
    return read_dot(DOT.read_text())


def members(nodes: dict[str, dict[str, str]]) -> dict[str, str]:
    """Fixture pod -> the node that draws it (the node's tooltip lists its pods)."""
    return {pod: key for key, a in nodes.items() if key != ANYWHERE for pod in a["tooltip"].split(", ")}


def shown(edges: list[tuple[str, str, dict[str, str]]]) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(src node, dst node) -> (protocol, port), both ways for a double arrow."""
    out: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for src, dst, a in edges:
        out[(src, dst)] |= label_ports(a["label"])
        if a.get("dir") == "both":
            out[(dst, src)] |= label_ports(a["label"])
    return out


def test_every_documented_flow_into_the_chart_pods_is_a_labelled_arrow(documented, drawn) -> None:
    _, flows = documented
    nodes, edges, _ = drawn
    node_of, arrows = members(nodes), shown(edges)
    checked = 0
    for proto, fl in flows.items():
        for f in fl:
            if f.dst not in node_of or f.src == f.dst:
                continue  # the picture shows what reaches the chart's namespaces' pods
            want = (proto, str(f.port))
            direct = want in arrows.get((node_of.get(f.src, ""), node_of[f.dst]), set())
            assert direct or want in arrows.get((ANYWHERE, node_of[f.dst]), set()), f"{proto} {f} not drawn"
            checked += 1
    assert checked > 40


def test_every_arrow_is_documented_for_every_pod_it_joins(documented, drawn) -> None:
    """No undocumented arrow: each port of an arrow is a documented flow from each of its source's
    pods (for `anywhere`: from every pod and address) to each of its destination's pods."""
    model, flows = documented
    nodes, edges, _ = drawn
    node_of = members(nodes)
    pods_of: dict[str, set[str]] = defaultdict(set)
    for pod, key in node_of.items():
        pods_of[key].add(pod)
    everyone = {w.name for w in model.cluster.all_workloads()}
    for (src, dst), ports in shown(edges).items():
        for proto, port in ports:
            sources = everyone if src == ANYWHERE else pods_of[src]
            for s in sources:
                for d in pods_of[dst] - {s}:
                    p = ANY_PORT if port == ANY_PORT else int(port)
                    assert Flow(s, d, p) in flows[proto], f"{src} -> {dst} claims {proto} {port}: {s} -> {d} is not"


def test_one_node_per_group_and_deny_all_visible(documented, drawn) -> None:
    model, flows = documented
    nodes, _, boxes = drawn
    firsts = {a["label"].split("\n")[0] for a in nodes.values()}
    assert firsts == {
        "anywhere",
        "EP operator",
        "EP instance",
        "Flink operator",
        "Flink jobmanager",
        "Flink taskmanager",
        "other pods",
    }
    deny = deny_all_namespaces(model.values)
    assert deny and boxes == [f"namespace {ns}\n{picture.DENY_NOTE}" for ns in sorted(deny)]
    # the unrelated pod: isolated by the deny-all, no documented flow reaches it; the picture says so
    assert not any(f.dst == "unrelated" for fl in flows.values() for f in fl)
    assert nodes["unrelated/event-processing"]["label"] == "other pods\nnothing gets in"


def test_nca_computes_the_pictures_flows() -> None:
    assert readme_picture.nca_disagreement() == ""


# ---------------------------------------------------------------- the drawing, on hand-made flows


def open_egress(pods: list[str]) -> set[Flow]:
    return {Flow(p, OUTSIDE_NAME, ANY_PORT) for p in pods}


def test_a_port_every_source_reaches_is_one_arrow_from_anywhere() -> None:
    cluster = default_cluster()
    sources = [w.name for w in cluster.all_workloads() if w.name != "ep-operator"]
    flows = {Flow(s, "ep-operator", 8443) for s in sources} | open_egress([w.name for w in cluster.workloads])
    pic = draw(cluster, {"TCP": flows})
    assert [(e.src, e.dst, e.label) for e in pic.edges] == [(ANYWHERE, "ep-operator", "TCP 8443")]
    assert pic.locked == []


def test_an_egress_locked_pod_is_not_anywhere() -> None:
    """ep-instance-1/2 may dial nothing outside: `anywhere` names them as not included."""
    cluster = default_cluster()
    pods = [w.name for w in cluster.workloads if not w.name.startswith("ep-instance")]
    sources = [w.name for w in cluster.all_workloads() if w.name not in ("ep-operator", "ep-instance-1")]
    flows = {Flow(s, "ep-operator", 8443) for s in sources} | open_egress(pods)
    pic = draw(cluster, {"TCP": flows})
    assert pic.locked == ["EP instance"]
    # ep-instance-2 reaches it, ep-instance-1 does not: the group is drawn pod by pod
    assert [(e.src, e.dst) for e in pic.edges] == [
        ("anywhere", "ep-operator"),
        ("ep-instance/ep-instance-2", "ep-operator"),
    ]


def test_a_group_whose_pods_differ_is_drawn_pod_by_pod() -> None:
    cluster = default_cluster()
    flows = {Flow("taskmanager-1", "jobmanager", 6123)} | open_egress([w.name for w in cluster.workloads])
    pic = draw(cluster, {"TCP": flows})
    keys = {n.key for n in pic.nodes}
    assert {"flink-taskmanager/taskmanager-1", "flink-taskmanager/taskmanager-2"} <= keys
    assert "flink-taskmanager" not in keys
    assert [(e.src, e.dst, e.label) for e in pic.edges] == [
        ("flink-taskmanager/taskmanager-1", "flink-jobmanager", "TCP 6123")
    ]


def test_the_same_ports_both_ways_are_one_double_arrow_and_the_dot_is_sorted() -> None:
    cluster = default_cluster()
    tms = ["taskmanager-1", "taskmanager-2"]
    flows = {Flow(t, "jobmanager", 6123) for t in tms} | {Flow("jobmanager", t, 6123) for t in tms}
    flows |= open_egress([w.name for w in cluster.workloads])
    pic = draw(cluster, {"TCP": flows})
    assert [(e.src, e.dst, e.both) for e in pic.edges] == [("flink-jobmanager", "flink-taskmanager", True)]
    assert picture.to_dot(pic) == picture.to_dot(draw(cluster, {"TCP": set(reversed(sorted(flows)))}))


def test_the_pictures_values_are_a_dataplane_case_so_its_status_holds():
    """The status beside the README's picture says `make dataplane` and `make test` probe its flows on
    kube-router: true while the picture's values are one of the dataplane's coverage cases (the suite
    runs them all, tests/e2e/test_dataplane.py)."""
    cases = {c.id: c.values for c in coverage_cases()}
    assert cases[DENY_ALL_METRICS] == PICTURE_VALUES
    assert any("`make dataplane`" in check for check in readme_picture.CHECKS)
