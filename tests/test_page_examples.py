"""The later versions of the page (EP 1.1 to 1.5, ...): each variant's example renders the variant's
objects, object for object, names included.

Expected objects come from each page's facts file (tools/facts/, transcribed and checked against the
page by test_facts.py), never from a render; the facts name the example (and values) that reproduce a
variant. The defaults stay on the 1.0 page (test_defaults.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.conftest import rendered
from tests.pages import assert_matches_table, assert_objects_are_the_pages
from tools import facts
from tools.paths import CHART, REPO_CHART, ROOT
from tools.policy import normal
from tools.render import by_name
from tools.scenarios import FULL_PAGE, METRICS_PORT
from tools.values import merge

EXAMPLES = CHART / "examples"
# (page, variant) of every page the examples reproduce (the defaults reproduce the other).
VARIANTS = [(p, v) for p in facts.pages() if not p.meta.get("defaults") for v in p.variants()]
PAGE_1_5 = facts.page("1.5")
# The EP instance's policy: the later pages, like the 1.0 page, only tabulate it.
TABULATED = facts.switches()["deployNetworkPolicies"]


def _id(pv: tuple[facts.Page, str]) -> str:
    return f"{pv[0]}-{pv[1]}"


def example_values(page: facts.Page, variant: str, *more: dict[str, Any]) -> dict[str, Any]:
    """The values that reproduce a page's variant: its example, with the facts' `values` on top."""
    spec = page.variants()[variant]
    values = merge(yaml.safe_load((EXAMPLES / spec["example"]).read_text()), spec.get("values") or {})
    for m in more:
        values = merge(values, m)
    return values


def test_every_variant_of_the_page_has_its_values():
    """Each variant names an example, and each EP release example (ep-<version>-*.yaml) reproduces
    some variant of its page."""
    for p in facts.pages():
        named = {v["example"] for v in p.variants().values()}
        assert named == {f.name for f in EXAMPLES.glob(f"ep-{p.version}-*.yaml")}, p
    assert VARIANTS


@pytest.mark.parametrize(("page", "variant"), VARIANTS, ids=[_id(pv) for pv in VARIANTS])
def test_with_deny_all_and_metrics_the_example_renders_the_variants_objects(page, variant):
    assert_objects_are_the_pages(
        rendered(example_values(page, variant, FULL_PAGE)), page.objects(variant, metrics_port=METRICS_PORT), TABULATED
    )


@pytest.mark.parametrize(("page", "variant"), VARIANTS, ids=[_id(pv) for pv in VARIANTS])
def test_the_example_alone_renders_the_variants_objects_but_the_optional_two(page, variant):
    objs = [o for o in page.objects(variant) if o["metadata"]["name"] != "default-deny-ingress"]
    assert_objects_are_the_pages(rendered(example_values(page, variant)), objs, TABULATED)


@pytest.mark.parametrize(("page", "variant"), VARIANTS, ids=[_id(pv) for pv in VARIANTS])
def test_the_ep_instance_policy_is_the_pages_table(page, variant):
    [name] = TABULATED
    assert_matches_table(by_name(rendered(example_values(page, variant, FULL_PAGE)))[name], "ep-instance")


EXAMPLE_FILES = [(p, f) for p in facts.pages() for f in sorted(EXAMPLES.glob(f"ep-{p.version}-*.yaml"))]


@pytest.mark.parametrize(("page", "path"), EXAMPLE_FILES, ids=[f.stem for _, f in EXAMPLE_FILES])
def test_the_examples_header_says_what_it_reproduces_and_how_to_install_it(page, path):
    header = "\n".join(ln for ln in path.read_text().splitlines() if ln.startswith("#"))
    assert f"EP {page.releases}" in header
    m = re.search(r"helm install \S+ (\S+) .*?-f (\S+)", header.replace("\\\n#", " "), flags=re.S)
    assert m, header
    assert (ROOT / m.group(1)).resolve() == REPO_CHART.resolve()  # the path in the repository
    assert (ROOT / m.group(2)).resolve() == (REPO_CHART / path.relative_to(CHART)).resolve()


def test_flink_operator_443_holds_for_the_1_0_page_only():
    """Decision flink-operator-443: the 1.5 page's Flink operator objects open 9443 only, and so do both
    1.5 examples' renders; the defaults (the 1.0 page) keep 443."""
    [flink_op] = facts.switches()["flink.operator.enabled"]
    for variant in PAGE_1_5.variants():
        [page_obj] = [o for o in PAGE_1_5.objects(variant) if o["metadata"]["name"] == flink_op]
        ports = {port for _, port in normal(page_obj).ingress}
        assert ports == {("TCP", 9443, None)}, variant
        got = normal(by_name(rendered(example_values(PAGE_1_5, variant)))[flink_op])
        assert {port for _, port in got.ingress} == ports, variant
    assert ("TCP", 443, None) in {port for _, port in normal(by_name(rendered())[flink_op]).ingress}


def test_two_allow_apiserver_ep_webhook_objects_are_two_variants():
    """Decision ep-1.5-two-allow-apiserver-ep-webhook: the page's two objects of that name differ; the first
    (host-network) is the OpenShift variant's, the second is ibm-ep-allow-webhook under another name."""
    named = [
        (o, v)
        for o, v in zip(PAGE_1_5.page_objects(), PAGE_1_5.data["objects"], strict=True)
        if o["metadata"]["name"] == "allow-apiserver-ep-webhook"
    ]
    assert [v["variants"] for _, v in named] == [["openshift"], ["openshift-cidr"]]
    (host_network, _), (cidr, _) = named
    assert normal(host_network) != normal(cidr)
    [k8s] = [o for o in PAGE_1_5.objects("kubernetes") if o["metadata"]["name"] == "ibm-ep-allow-webhook"]
    assert cidr["spec"] == k8s["spec"]
    got = by_name(rendered(example_values(PAGE_1_5, "openshift-cidr")))
    assert "ibm-ep-allow-webhook" not in got and normal(got["allow-apiserver-ep-webhook"]) == normal(cidr)


def test_example_cidr_is_the_pages_and_the_header_says_to_replace_it():
    """Decision ep-1.5-example-cidr: the page's objects all use one example address; the Kubernetes
    example uses it for both operators (so the render is the page's), and tells the user to replace it."""
    cidr = PAGE_1_5.data["exampleCidr"]
    blocks = {
        p["ipBlock"]["cidr"]
        for o in PAGE_1_5.page_objects()
        for r in o["spec"].get("ingress", [])
        for p in r.get("from", [])
        if "ipBlock" in p
    }
    assert blocks == {cidr}
    path = EXAMPLES / PAGE_1_5.variants()["kubernetes"]["example"]
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
    page = PAGE_1_5.objects("openshift", metrics_port=METRICS_PORT)
    as_printed = rendered(example_values(PAGE_1_5, "openshift", FULL_PAGE))
    assert_objects_are_the_pages(as_printed, page, TABULATED)
    narrowed = example_values(
        PAGE_1_5,
        "openshift",
        FULL_PAGE,
        {"eventProcessing": {"instance": {"uiFrom": "auto"}}, "flink": {"metrics": {"from": "auto"}}},
    )
    got, want = by_name(rendered(narrowed)), by_name(page)
    monitoring = "ibm-eventautomation-flink-jobmanager-monitoring"
    assert normal(got[monitoring]) != normal(want[monitoring])
    with pytest.raises(AssertionError):
        assert_matches_table(got[TABULATED[0]], "ep-instance")
