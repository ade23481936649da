"""The engine (nca via tools/libexec/nca-driver.py) against the spec page's own objects and their semantics.

These check the engine, not the chart: if they fail, the flows the matrix reasons about are wrong.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tools.connectivity.cluster import OUTSIDE, default_cluster
from tools.connectivity.engine import Engine, EngineError, Result, Scenario, analyze, semantic_diff
from tools.connectivity.flows import ANY_PORT, Flow, diff_flows, table

Policies = list[dict[str, Any]]
FLINK = ["jobmanager", "taskmanager-1", "taskmanager-2"]


@pytest.fixture(scope="module")
def results(page_policies: Policies, page_without_deny_all: Policies) -> dict[str, Result]:
    """One driver run for the whole module, as the matrix will do."""
    split = default_cluster(namespaces={"flink-operator": "flink-op", "flink-deployment": "flink"})
    scs = [
        Scenario(page_policies, id="deny"),
        Scenario(page_without_deny_all, id="open"),
        Scenario(page_policies, split, id="split", namespace="flink"),
    ]
    return {r.id: r for r in analyze(scs)}


@pytest.fixture(scope="module")
def deny(results: dict[str, Result]) -> set[Flow]:
    return results["deny"].flows()


def test_taskmanager_to_jobmanager_rest(deny: set[Flow]) -> None:
    assert Flow("taskmanager-1", "jobmanager", 8081) in deny


def test_unrelated_to_jobmanager_blocked(deny: set[Flow]) -> None:
    assert Flow("unrelated", "jobmanager", 8081) not in deny
    # only the metrics policy (no `from`) lets it in at all
    into_jm = {f for f in deny if f.src == "unrelated" and f.dst == "jobmanager"}
    assert into_jm == {Flow("unrelated", "jobmanager", 9250)}


def test_anywhere_to_flink_operator_webhook(deny: set[Flow]) -> None:
    for src in ["unrelated", "other-namespace", OUTSIDE.name, "ep-instance-1", "jobmanager"]:
        assert {Flow(src, "flink-operator", 9443), Flow(src, "flink-operator", 443)} <= deny, src


def test_flink_rpc_and_blob(deny: set[Flow]) -> None:
    for src, dst in [
        ("jobmanager", "taskmanager-1"),
        ("taskmanager-1", "taskmanager-2"),
        ("taskmanager-2", "jobmanager"),
    ]:
        assert {Flow(src, dst, 6123), Flow(src, dst, 6124)} <= deny


def test_ep_instance_to_jobmanager(deny: set[Flow]) -> None:
    assert {Flow("ep-instance-1", "jobmanager", 8081), Flow("ep-instance-2", "jobmanager", 8081)} <= deny
    assert Flow("ep-instance-1", "taskmanager-1", 8081) not in deny  # stream-authoring selects the jobmanager only


def test_exact_ingress_into_selected_pods(deny: set[Flow]) -> None:
    """Everything the page's objects let into the Flink pods, and nothing more (port 8081 from
    "Anywhere" in the table is restricted by the YAML to Flink pods, the Flink operator and EP)."""
    everyone = [w.name for w in default_cluster().all_workloads()]
    expected = {Flow(s, "flink-operator", p) for s in everyone if s != "flink-operator" for p in (9443, 443)}
    for dst in FLINK:
        peers = [s for s in FLINK if s != dst]
        expected |= {Flow(s, dst, p) for s in peers for p in (6123, 6124, 8081)}
    expected |= {Flow(s, "jobmanager", 8081) for s in ["flink-operator", "ep-instance-1", "ep-instance-2"]}
    expected |= {Flow(s, "jobmanager", 9250) for s in everyone if s != "jobmanager"}  # metrics: no `from`
    got = {f for f in deny if f.dst in [*FLINK, "flink-operator"]}
    assert not diff_flows(got, expected), str(diff_flows(got, expected))


def test_deny_all_blocks_unselected_pods(deny: set[Flow]) -> None:
    assert not {f for f in deny if f.dst in ("unrelated", "ep-operator", "ep-instance-1")}


def test_other_namespace_untouched(deny: set[Flow]) -> None:
    """Policies live in "ep": a pod elsewhere keeps default-allow ingress."""
    assert Flow(OUTSIDE.name, "other-namespace", ANY_PORT) in deny


def test_egress_unrestricted(deny: set[Flow]) -> None:
    assert Flow("jobmanager", OUTSIDE.name, ANY_PORT) in deny


def test_without_deny_all_unselected_reachable_on_every_port(results: dict[str, Result]) -> None:
    flows = results["open"].flows()
    for src in ["jobmanager", "other-namespace", OUTSIDE.name, "ep-instance-1"]:
        assert Flow(src, "unrelated", ANY_PORT) in flows
        assert Flow(src, "ep-operator", ANY_PORT) in flows
    # a selected pod is still restricted to what its policies allow
    assert not {f for f in flows if f.src == "unrelated" and f.dst == "taskmanager-1"}
    # UDP too: "every port" means every protocol for an unselected pod
    assert Flow("jobmanager", "unrelated", ANY_PORT) in results["open"].flows("UDP")


def test_operator_in_other_namespace_needs_namespace_selector(
    results: dict[str, Result], page_policies: Policies
) -> None:
    """The page's podSelector-only `from` does not reach across namespaces (hence its commented
    namespaceSelector); with a namespaceSelector ANDed to the podSelector the operator gets in."""
    assert Flow("flink-operator", "jobmanager", 8081) not in results["split"].flows()
    fixed = copy.deepcopy(page_policies)
    jm = next(p for p in fixed if p["metadata"]["name"] == "ibm-eventautomation-flink-jobmanager")
    peer = jm["spec"]["ingress"][0]["from"][2]
    assert peer["podSelector"]["matchLabels"]["name"] == "ibm-eventautomation-flink-operator"
    peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "flink-op"}}
    split = default_cluster(namespaces={"flink-operator": "flink-op", "flink-deployment": "flink"})
    flows = analyze([Scenario(fixed, split, namespace="flink")])[0].flows()
    assert Flow("flink-operator", "jobmanager", 8081) in flows
    assert Flow("unrelated-flink-op", "jobmanager", 8081) not in flows


def test_the_page_objects_are_all_there(page_policies: Policies) -> None:
    assert [p["metadata"]["name"] for p in page_policies] == [
        "default-deny-ingress",
        "ibm-eventautomation-flink-operator",
        "ibm-eventautomation-flink-jobmanager",
        "ibm-eventautomation-flink-jobmanager-rpc-blob",
        "ibm-eventautomation-flink-jobmanager-stream-authoring",
        "ibm-eventautomation-flink-taskmanager",
        "ibm-eventautomation-flink-jobmanager-monitoring",
    ]


def test_parse_cache_changes_nothing(page_policies: Policies) -> None:
    """The driver parses each policy once per fixture; the answers are those of a fresh parse."""
    split = default_cluster(namespaces={"flink-operator": "flink-op"})
    scs = [
        Scenario(page_policies[:i], cl, id=f"{n}{i}")
        for i in range(len(page_policies) + 1)
        for n, cl in (("same", default_cluster()), ("split", split))
    ]
    cached, fresh = analyze(scs), analyze(scs, cache=False)
    assert [r.conns for r in cached] == [r.conns for r in fresh]


def test_batch_keeps_order_and_ids(page_policies: Policies) -> None:
    scs = [Scenario(page_policies[: i + 1], id=f"s{i}") for i in range(len(page_policies))]
    assert [r.id for r in analyze(scs)] == [s.id for s in scs]


def test_bad_policy_names_the_scenario() -> None:
    bad = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "bad"},
        "spec": {"podSelector": {}, "ingress": [{"ports": [{"protocol": "TCP", "port": 70000}]}]},
    }
    with pytest.raises(EngineError, match="broken"):
        analyze([Scenario([bad], id="broken")])


def test_semantic_diff(page_policies: Policies) -> None:
    same = semantic_diff(page_policies, copy.deepcopy(page_policies))
    assert not same.differs
    dropped = [p for p in page_policies if p["metadata"]["name"] != "ibm-eventautomation-flink-taskmanager"]
    d = semantic_diff(page_policies, dropped)
    assert d.differs and "Removed connections" in d.text and "8081" in d.text


def test_table_and_diff_are_readable(deny: set[Flow]) -> None:
    assert "taskmanager-1 -> jobmanager" in table(deny)
    actual = (deny | {Flow("unrelated", "jobmanager", 8081)}) - {Flow("taskmanager-1", "jobmanager", 8081)}
    d = diff_flows(actual, deny)
    text = str(d)
    assert "extra" in text and "unrelated -> jobmanager: 8081" in text
    assert "missing" in text and "taskmanager-1 -> jobmanager: 8081" in text


def test_persistent_engine_matches_one_shot(page_policies: Policies, deny: set[Flow]) -> None:
    with Engine() as engine:
        first = engine.analyze([Scenario(page_policies)])[0].flows()
        second = engine.analyze([Scenario(page_policies), Scenario([], id="none")])
    assert first == deny == second[0].flows()
    assert Flow(OUTSIDE.name, "jobmanager", ANY_PORT) in second[1].flows()
