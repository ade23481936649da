"""With defaults, the chart renders the page's objects: same names, selectors, ports, peers.

Expected values come from tools/facts/network-policies.yaml (the page transcribed),
never from a render. Rule grouping may differ; tools.policy.normal compares meaning.
"""

from __future__ import annotations

import pytest

from tests.conftest import rendered
from tests.pages import assert_matches_table, assert_objects_are_the_pages, table_policy
from tools import facts
from tools.policy import ANY_PEER, normal
from tools.render import NAMESPACE, by_name
from tools.scenarios import FULL_PAGE, METRICS_PORT

# The two EP policies the page tabulates but does not print (compared with its tables below).
TABULATED = facts.switches()["deployOperatorNetworkPolicy"] + facts.switches()["deployNetworkPolicies"]


def test_defaults_render_the_pages_flink_policies_and_nothing_the_page_leaves_off():
    page = [
        o for o in facts.documented_objects(None) if o["metadata"]["name"] != "default-deny-ingress"
    ]  # "not created by default"
    assert_objects_are_the_pages(rendered(), page, TABULATED)


def test_with_deny_all_and_metrics_every_page_object_is_rendered_object_for_object():
    assert_objects_are_the_pages(rendered(FULL_PAGE), facts.documented_objects(METRICS_PORT), TABULATED)


@pytest.mark.parametrize(
    "switch, target", [("deployOperatorNetworkPolicy", "ep-operator"), ("deployNetworkPolicies", "ep-instance")]
)
def test_ep_policies_match_the_pages_tables(switch, target):
    [name] = facts.switches()[switch]
    assert_matches_table(by_name(rendered())[name], target)


def test_flink_operator_policy_is_its_table_plus_the_yamls_443():
    """Decision flink-operator-443: the table's 9443, and the YAML's extra 443."""
    [name] = facts.switches()["flink.operator.enabled"]
    got = normal(by_name(rendered())[name])
    table = normal(table_policy("flink-operator"))
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
