"""The beyond-the-page matrix: platform, webhook sources (with and without the Flink operator's
Service port 443: the 1.0 and the 1.1-1.5 pages) and UI sources, egress on/off for all four
groups together and each alone, the beyond-page ingress groups (taskmanagerRpcData), metrics
variants, Kafka destinations, extra rules, two deployments with their own ports and each operator in
another namespace; both directions, and both sides of every connection (a locked pod's egress and
the destination's ingress)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tools import facts
from tools.connectivity import matrix
from tools.connectivity.flows import Flow
from tools.paths import CHART

COMBOS = matrix.beyond_combinations()


@pytest.fixture(scope="module")
def outcomes() -> dict[str, matrix.Outcome[matrix.BeyondCombo]]:
    return {o.combo.id: o for o in matrix.run_beyond(COMBOS)}


def _enum(dotted: str) -> set[str]:
    """The values a key may take, from the chart's schema."""
    node = json.loads((CHART / "values.schema.json").read_text())
    for part in dotted.split("."):
        node = node["properties"][part]
    return set(node["enum"])


def test_beyond_matrix_size() -> None:
    """Every platform x egress (none, all, each egress group of the facts alone) x layout x
    the facts' beyond-the-page ingress groups (all off, all on) x every webhook source, each once;
    every UI source appears."""
    egress_groups = len(facts.load()["beyondPage"]["egress"])
    size = (
        len(_enum("platform"))
        * (2 + egress_groups)
        * len(matrix.BEYOND_LAYOUTS)
        * 2
        * len(_enum("eventProcessing.operator.webhookFrom"))
    )
    assert len({c.id for c in COMBOS}) == len(COMBOS) == size
    assert {c.platform for c in COMBOS} == _enum("platform")
    assert (
        {c.webhook for c in COMBOS}
        == _enum("eventProcessing.operator.webhookFrom")
        == _enum("flink.operator.webhookFrom")
    )
    assert {c.ui for c in COMBOS} == _enum("eventProcessing.instance.uiFrom")
    for dim in ("ui", "metrics", "kafka", "extras", "deny"):
        for platform in _enum("platform"):
            seen = {getattr(c, dim) for c in COMBOS if c.platform == platform}
            assert len(seen) > 1, (dim, platform)
    # the EP 1.1-1.5 page's shapes: each webhook source with the 1.0 page's 443 and without it
    for webhook in matrix.WEBHOOK:
        for platform in ("kubernetes", "openshift"):
            assert {c.service_port for c in COMBOS if c.webhook == webhook and c.platform == platform} == {True, False}


@pytest.mark.parametrize("combo", COMBOS, ids=[c.id for c in COMBOS])
def test_beyond_combination(outcomes: dict[str, matrix.Outcome[matrix.BeyondCombo]], combo: matrix.BeyondCombo) -> None:
    o = outcomes[combo.id]
    assert not o.diff, f"{combo.id}:\n{o.diff}"


def test_extras_are_reported_as_allowed_by_values(outcomes: dict[str, matrix.Outcome[matrix.BeyondCombo]]) -> None:
    o = next(o for o in outcomes.values() if o.combo.extras and o.combo.egress in ("all", "eventProcessing.instance"))
    whys = set(o.diff.by_values.values())
    assert "extra, from eventProcessing.instance.egress.extraEgress[0]" in whys
    assert "extra, from flink.taskmanager.extraIngress[0]" in whys


def _mutated(tmp_path: Path, template: str, old: str, new: str) -> Path:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    tpl = chart / "templates" / template
    text = tpl.read_text()
    assert old in text, f"{template} no longer has {old!r}: update the mutation"
    tpl.write_text(text.replace(old, new, 1))
    return chart


def _egress_combos(group: str) -> list[matrix.BeyondCombo]:
    return [c for c in COMBOS if c.egress == group and c.platform == "kubernetes" and c.layout == "same"][:2]


def test_dropping_the_dns_namespace_selector_fails(tmp_path: Path) -> None:
    """The DNS allow rule without its namespaceSelector selects DNS-labelled pods of the policy's own
    namespace: the locked pods can no longer reach the cluster DNS."""
    chart = _mutated(
        tmp_path,
        "_egress.tpl",
        '"key" "cluster.dns.podSelector" "from" $ns "to" ""',
        '"key" "cluster.dns.podSelector" "from" "" "to" ""',
    )
    out = matrix.run_beyond(_egress_combos("all"), chart=chart)
    assert out and all(o.diff for o in out)
    text = str(out[0].diff)
    assert "expected but blocked (missing):" in text
    assert "ep-operator -> dns: 53" in text and "53/udp" in text, text


def test_dropping_a_to_from_flink_egress_fails(tmp_path: Path) -> None:
    """The Flink pods' RPC/blob/REST rule without its `to` lets them dial anyone on those ports."""
    chart = _mutated(tmp_path, "flink-egress.yaml", "\\n- to:\\n%s\\n  ports:", "\\n- ports:%.0s")
    out = matrix.run_beyond(_egress_combos("flink"), chart=chart)
    assert out and all(o.diff for o in out)
    d = out[0].diff
    assert not d.missing
    assert {Flow("jobmanager", "other-namespace", 6123), Flow("taskmanager-1", "outside", 6124)} <= d.extra, str(d)
    assert "allowed but not expected (extra):" in str(d) and "jobmanager -> outside: 6123,6124,8081" in str(d)
