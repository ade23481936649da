"""The page as it reads for EP 1.1 to 1.5: each example renders its variant's objects, object for object,
names included.

Expected objects come from tools/facts/network-policies-ep-1.5.yaml (the 1.5 page transcribed and checked
against it by test_facts.py), never from a render. The defaults stay on the 1.0 page (test_defaults.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import rendered
from tests.pages import FULL_PAGE, assert_matches_table, assert_objects_are_the_pages
from tools import facts
from tools.paths import CHART, REPO_CHART, ROOT
from tools.policy import normal
from tools.render import by_name
from tools.values import merge

EXAMPLES = CHART / "examples"
# The values that reproduce each of the page's variants (decision ep-1.5-two-allow-apiserver-ep-webhook:
# the page's second allow-apiserver-ep-webhook is the Kubernetes example under that name).
VARIANTS: dict[str, tuple[Path, dict[str, Any]]] = {
    "kubernetes": (EXAMPLES / "ep-1.5-kubernetes.yaml", {}),
    "openshift": (EXAMPLES / "ep-1.5-openshift.yaml", {}),
    "openshift-cidr": (
        EXAMPLES / "ep-1.5-kubernetes.yaml",
        {"eventProcessing": {"operator": {"policyName": "allow-apiserver-ep-webhook"}}},
    ),
}
# The EP instance's policy: the 1.5 page, like the 1.0 page, only tabulates it.
TABULATED = facts.switches()["deployNetworkPolicies"]
EP_OPERATOR_NAMES = ("ibm-ep-allow-webhook", "allow-apiserver-ep-webhook")


def example_values(variant: str, *more: dict[str, Any]) -> dict[str, Any]:
    path, extra = VARIANTS[variant]
    values = merge(yaml.safe_load(path.read_text()), extra)
    for m in more:
        values = merge(values, m)
    return values


def test_every_variant_of_the_page_has_its_values():
    assert set(VARIANTS) == set(facts.ep15_variants())
    assert {p.name for p, _ in VARIANTS.values()} == {p.name for p in EXAMPLES.glob("ep-1.5-*.yaml")}


@pytest.mark.parametrize("variant", VARIANTS)
def test_with_deny_all_and_metrics_the_example_renders_the_variants_objects(variant):
    assert_objects_are_the_pages(
        rendered(example_values(variant, FULL_PAGE)), facts.ep15_objects(variant, metrics_port=9250), TABULATED
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_example_alone_renders_the_variants_objects_but_the_optional_two(variant):
    page = [o for o in facts.ep15_objects(variant) if o["metadata"]["name"] != "default-deny-ingress"]
    assert_objects_are_the_pages(rendered(example_values(variant)), page, TABULATED)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_ep_instance_policy_is_the_pages_table(variant):
    [name] = TABULATED
    assert_matches_table(by_name(rendered(example_values(variant, FULL_PAGE)))[name], "ep-instance")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("ep-1.5-*.yaml")), ids=lambda p: p.stem)
def test_the_examples_header_says_what_it_reproduces_and_how_to_install_it(path):
    header = "\n".join(ln for ln in path.read_text().splitlines() if ln.startswith("#"))
    assert "EP 1.1 to 1.5" in header
    m = re.search(r"helm install \S+ (\S+) .*?-f (\S+)", header.replace("\\\n#", " "), flags=re.S)
    assert m, header
    assert (ROOT / m.group(1)).resolve() == REPO_CHART.resolve()  # the path in the repository
    assert (ROOT / m.group(2)).resolve() == (REPO_CHART / path.relative_to(CHART)).resolve()


def test_flink_operator_443_holds_for_the_1_0_page_only():
    """Decision flink-operator-443: the 1.5 page's Flink operator objects open 9443 only, and so do both
    1.5 examples' renders; the defaults (the 1.0 page) keep 443."""
    [flink_op] = facts.switches()["flink.operator.enabled"]
    for variant in VARIANTS:
        [page_obj] = [o for o in facts.ep15_objects(variant) if o["metadata"]["name"] == flink_op]
        ports = {port for _, port in normal(page_obj).ingress}
        assert ports == {("TCP", 9443, None)}, variant
        got = normal(by_name(rendered(example_values(variant)))[flink_op])
        assert {port for _, port in got.ingress} == ports, variant
    assert ("TCP", 443, None) in {port for _, port in normal(by_name(rendered())[flink_op]).ingress}


def test_two_allow_apiserver_ep_webhook_objects_are_two_variants():
    """Decision ep-1.5-two-allow-apiserver-ep-webhook: the page's two objects of that name differ; the first
    (host-network) is the OpenShift variant's, the second is ibm-ep-allow-webhook under another name."""
    named = [
        (o, v)
        for o, v in zip(facts.ep15_page_objects(), facts.load_ep15()["objects"], strict=True)
        if o["metadata"]["name"] == "allow-apiserver-ep-webhook"
    ]
    assert [v["variants"] for _, v in named] == [["openshift"], ["openshift-cidr"]]
    (host_network, _), (cidr, _) = named
    assert normal(host_network) != normal(cidr)
    [k8s] = [o for o in facts.ep15_objects("kubernetes") if o["metadata"]["name"] == "ibm-ep-allow-webhook"]
    assert cidr["spec"] == k8s["spec"]
    got = by_name(rendered(example_values("openshift-cidr")))
    assert "ibm-ep-allow-webhook" not in got and normal(got["allow-apiserver-ep-webhook"]) == normal(cidr)


def test_example_cidr_is_the_pages_and_the_header_says_to_replace_it():
    """Decision ep-1.5-example-cidr: the page's objects all use one example address; the Kubernetes
    example uses it for both operators (so the render is the page's), and tells the user to replace it."""
    cidr = facts.load_ep15()["exampleCidr"]
    blocks = {
        p["ipBlock"]["cidr"]
        for o in facts.ep15_page_objects()
        for r in o["spec"].get("ingress", [])
        for p in r.get("from", [])
        if "ipBlock" in p
    }
    assert blocks == {cidr}
    path, _ = VARIANTS["kubernetes"]
    values = yaml.safe_load(path.read_text())
    assert values["eventProcessing"]["operator"]["webhookCIDRs"] == [cidr]
    assert values["flink"]["operator"]["webhookCIDRs"] == [cidr]
    header = " ".join(ln.lstrip("# ") for ln in path.read_text().splitlines() if ln.startswith("#"))
    assert f"REPLACE {cidr}" in header and "example address" in header
    # One place to replace it: the two keys are one YAML anchor.
    assert path.read_text().count(cidr) - header.count(cidr) == 1


def test_ui_and_metrics_stay_open_on_the_openshift_example():
    """Decision ep-1.5-ui-metrics-anywhere: the page keeps the UI and metrics from anywhere; without the
    example's two lines, platform=openshift's `auto` would narrow both, and the render would leave the page."""
    page = facts.ep15_objects("openshift", metrics_port=9250)
    as_printed = rendered(example_values("openshift", FULL_PAGE))
    assert_objects_are_the_pages(as_printed, page, TABULATED)
    narrowed = example_values(
        "openshift",
        FULL_PAGE,
        {"eventProcessing": {"instance": {"uiFrom": "auto"}}, "flink": {"metrics": {"from": "auto"}}},
    )
    got, want = by_name(rendered(narrowed)), by_name(page)
    monitoring = "ibm-eventautomation-flink-jobmanager-monitoring"
    assert normal(got[monitoring]) != normal(want[monitoring])
    with pytest.raises(AssertionError):
        assert_matches_table(got[TABULATED[0]], "ep-instance")
