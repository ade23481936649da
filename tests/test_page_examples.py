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
from tools.policy import ANY_PEER, normal
from tools.render import by_name, render
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


def test_the_openshift_example_narrows_the_ui_and_metrics_the_page_leaves_open():
    """Decision ep-1.5-ui-metrics-anywhere: the page keeps the UI and metrics from anywhere; the example
    leaves both at `auto`, which on OpenShift admits only the router and the monitoring namespaces, and
    the page's objects need the two `anywhere` values on top (the variant's `values` in the facts)."""
    example = yaml.safe_load((EXAMPLES / PAGE_1_5.variants()["openshift"]["example"]).read_text())
    assert "uiFrom" not in example.get("eventProcessing", {}).get("instance", {})
    assert "from" not in example.get("flink", {}).get("metrics", {})
    got = by_name(rendered(merge(example, FULL_PAGE)))
    want = by_name(PAGE_1_5.objects("openshift", metrics_port=METRICS_PORT))
    monitoring = "ibm-eventautomation-flink-jobmanager-monitoring"
    [ep_instance] = TABULATED
    assert ANY_PEER in {peer for peer, _ in normal(want[monitoring]).ingress}  # the page: anywhere
    for name in (monitoring, ep_instance):
        assert ANY_PEER not in {peer for peer, _ in normal(got[name]).ingress}, name  # the example: narrower
    with pytest.raises(AssertionError):  # the page's table: the UI from anywhere
        assert_matches_table(got[ep_instance], "ep-instance")


# The release examples are the ones a later page's variants name; the others are environments.
# second-instance.yaml layers on a first release's values, not on a release example: it names its own
# instance, so its policies select other pods than either release example's.
RELEASE_EXAMPLES = sorted({EXAMPLES / spec["example"] for p, v in VARIANTS for spec in [p.variants()[v]]})
ENVIRONMENT_EXAMPLES = sorted(
    p for p in EXAMPLES.glob("*.yaml") if p not in RELEASE_EXAMPLES and p.name != "second-instance.yaml"
)


def _sources(objects: list[dict[str, Any]]) -> dict[tuple[Any, ...], frozenset[Any]]:
    """Who may reach each (pods, port), over every policy of a render (policies add up). Keyed without
    the namespace: an environment example may move the pods, a release example leaves them."""
    out: dict[tuple[Any, ...], set[Any]] = {}
    for obj in objects:
        n = normal(obj)
        for peer, port in n.ingress:
            out.setdefault((n.pod_selector, port), set()).add(peer)
    return {k: frozenset(v) for k, v in out.items()}


@pytest.mark.parametrize("env", ENVIRONMENT_EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("release", RELEASE_EXAMPLES, ids=lambda p: p.stem)
def test_an_environment_example_layered_with_a_release_example_keeps_the_narrower_sources(env, release):
    """Decision ep-1.5-examples-layer: `-f <environment> -f <release>` renders what the reverse order
    renders, and every port's sources are one of the two examples' own, never `anywhere` where either
    example alone narrows that port."""
    layered = render(args=["-f", str(env), "-f", str(release)])
    assert layered == render(args=["-f", str(release), "-f", str(env)])
    alone = [_sources(render(args=["-f", str(p)])) for p in (env, release)]
    for key, peers in _sources(layered).items():
        own = [a[key] for a in alone if key in a]
        assert own, f"{key}: opened by neither example alone"
        assert peers in own, f"{key}: sources {sorted(map(str, peers))} are neither example's own"
        if ANY_PEER in peers:
            assert all(ANY_PEER in o for o in own), f"{key}: open to anywhere, narrower in one example alone"


def test_the_layering_test_covers_every_example():
    assert {*ENVIRONMENT_EXAMPLES, *RELEASE_EXAMPLES, EXAMPLES / "second-instance.yaml"} == set(EXAMPLES.glob("*.yaml"))
    assert ENVIRONMENT_EXAMPLES and RELEASE_EXAMPLES
