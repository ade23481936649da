"""With defaults, the chart renders the page's objects: same names, selectors, ports, peers.

Expected values come from tools/facts/network-policies.yaml (the page transcribed),
never from a render. Rule grouping may differ; tools.policy.normal compares meaning.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import rendered
from tests.pages import assert_matches_table, assert_objects_are_the_pages, table_policy
from tools import facts
from tools.groups import group_table
from tools.paths import CHART, MAX_VALUES
from tools.policy import ANY_PEER, normal
from tools.render import NAMESPACE, by_name, render
from tools.scenarios import FULL_PAGE, METRICS_PORT
from tools.values import effective_values, get

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


def _components(values: dict[str, Any]) -> dict[str, str]:
    """{policy name: its group's id} for `values`, from the chart's group table (templates/_groups.tpl)."""
    v = effective_values(values)
    names: dict[str, str] = {}
    for g in group_table():
        if g["scope"] == "deployment":
            names.update({d["name"] + g["suffix"]: g["id"] for d in get(v, "flink.deployments")})
        elif "of" in g:
            names[next(n for n, i in names.items() if i == g["of"]) + g["suffix"]] = g["id"]
        else:  # policyName, else defaultName (prefixed with the block's `name` when it has one)
            block = get(v, g["values"])
            prefix = f"{block['name']}-" if block.get("name") else ""
            names[block.get("policyName") or prefix + g.get("defaultName", "")] = g["id"]
    return names


def test_every_object_carries_the_standard_labels_from_chart_yaml_and_the_common_labels():
    """The one owner of the standard labels (no suite spells them, nor the chart's version): every
    template's object in the max config (which sets commonLabels), under another release name."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load(MAX_VALUES.read_text())
    objs = render(values, release="other-release")
    components, common = _components(values), values["commonLabels"]
    assert common, "the max config sets commonLabels"
    assert {o["metadata"]["name"] for o in objs} <= set(components), "an object no group names"
    rendered_groups = {components[o["metadata"]["name"]] for o in objs}
    assert rendered_groups == {g["id"] for g in group_table()}, "the max config leaves a group out"
    for obj in objs:
        assert obj["metadata"]["labels"] == {
            "app.kubernetes.io/name": chart["name"],
            "app.kubernetes.io/instance": "other-release",
            "app.kubernetes.io/managed-by": "Helm",
            "app.kubernetes.io/component": components[obj["metadata"]["name"]],
            "app.kubernetes.io/part-of": "ibm-event-processing",
            "helm.sh/chart": f"{chart['name']}-{chart['version']}",
            **common,
        }, obj["metadata"]["name"]
