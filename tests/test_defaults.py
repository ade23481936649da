"""With defaults, the chart renders the page's objects: same names, selectors, ports, peers.

Expected values come from tools/facts/network-policies.yaml (the page transcribed),
never from a render. Rule grouping may differ; tools.policy.normal compares meaning.
"""

from __future__ import annotations

import pytest

from tests.conftest import rendered
from tools import facts
from tools.policy import ANY_PEER, normal
from tools.render import NAMESPACE, by_name

FULL_PAGE = {"denyAllIngress": {"enabled": True}, "flink": {"metrics": {"enabled": True, "port": 9250}}}


def _page_policies(metrics_port: int | None) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in facts.documented_objects(metrics_port)}


def _chart_only(objs: dict[str, dict]) -> dict[str, dict]:
    """The two EP policies the page tabulates but does not print (compared with its tables below)."""
    ep = set(facts.switches()["deployOperatorNetworkPolicy"] + facts.switches()["deployNetworkPolicies"])
    return {k: v for k, v in objs.items() if k not in ep}


def test_defaults_render_the_pages_flink_policies_and_nothing_the_page_leaves_off():
    page = _page_policies(None)
    page.pop("default-deny-ingress")  # "not created by default"
    got = _chart_only(by_name(rendered()))
    assert sorted(got) == sorted(page)
    for name, obj in page.items():
        assert normal(got[name]) == normal(obj), name


def test_with_deny_all_and_metrics_every_page_object_is_rendered_object_for_object():
    page = _page_policies(9250)
    got = _chart_only(by_name(rendered(FULL_PAGE)))
    assert sorted(got) == sorted(page)
    for name, obj in page.items():
        assert normal(got[name]) == normal(obj), name


def _table_policy(target: str) -> dict:
    """The policy the page's table for `target` describes, built from its rows."""
    ingress = []
    for row in facts.ingress_rows():
        if row.target != target:
            continue
        rule: dict = {"ports": [{"protocol": "TCP", "port": row.port}]}
        if row.origin != "anywhere":
            rule["from"] = [{"podSelector": {"matchLabels": facts.labels(row.origin)}}]
        ingress.append(rule)
    return {"metadata": {"name": target},
            "spec": {"podSelector": {"matchLabels": facts.labels(target)}, "ingress": ingress, "policyTypes": ["Ingress"]}}


@pytest.mark.parametrize("switch, target", [("deployOperatorNetworkPolicy", "ep-operator"),
                                            ("deployNetworkPolicies", "ep-instance")])
def test_ep_policies_match_the_pages_tables(switch, target):
    [name] = facts.switches()[switch]
    got, want = normal(by_name(rendered())[name]), normal(_table_policy(target))
    assert (got.pod_selector, got.policy_types, got.ingress, got.egress) == \
        (want.pod_selector, want.policy_types, want.ingress, want.egress)


def test_flink_operator_policy_is_its_table_plus_the_yamls_443():
    """Decision flink-operator-443: the table's 9443, and the YAML's extra 443."""
    [name] = facts.switches()["flink.operator.enabled"]
    got = normal(by_name(rendered())[name])
    table = normal(_table_policy("flink-operator"))
    assert table.ingress < got.ingress
    assert got.ingress - table.ingress == {(ANY_PEER, ("TCP", 443, None))}


def test_everything_lands_in_the_release_namespace_by_default():
    assert {o["metadata"]["namespace"] for o in rendered(FULL_PAGE)} == {NAMESPACE}


def test_every_object_carries_the_standard_labels():
    for obj in rendered(FULL_PAGE):
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "ibm-ep-network-policies"
        assert labels["app.kubernetes.io/instance"] == "ibm-ep-network-policies"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"].startswith("ibm-ep-network-policies-")
        assert labels["app.kubernetes.io/component"]
