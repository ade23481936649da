"""The beyond-the-page matrix (issue 4): platform, webhook and UI sources, egress on/off for all four
groups together and each alone, taskmanagerRpcData, metrics variants, Kafka destinations, extra rules,
two deployments with their own ports and each operator in another namespace; both directions, and both
sides of every connection (a locked pod's egress and the destination's ingress)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import matrix
from tools.connectivity import Flow
from tools.paths import CHART

COMBOS = matrix.beyond_combinations()


@pytest.fixture(scope="module")
def outcomes() -> dict[str, matrix.Outcome]:
    return {o.combo.id: o for o in matrix.run_beyond(COMBOS)}


def test_beyond_matrix_size() -> None:
    """2 platforms x 6 egress settings x 2 layouts x taskmanagerRpcData on/off x 4 webhook sources."""
    assert len({c.id for c in COMBOS}) == len(COMBOS) == 2 * 6 * 2 * 2 * 4 == 192
    for dim in ("ui", "metrics", "kafka", "extras", "deny"):
        for platform in ("kubernetes", "openshift"):
            seen = {getattr(c, dim) for c in COMBOS if c.platform == platform}
            assert len(seen) > 1, (dim, platform)


@pytest.mark.parametrize("combo", COMBOS, ids=[c.id for c in COMBOS])
def test_beyond_combination(outcomes: dict[str, matrix.Outcome], combo: matrix.BeyondCombo) -> None:
    o = outcomes[combo.id]
    assert not o.diff, f"{combo.id}:\n{o.diff}"


def test_extras_are_reported_as_allowed_by_values(outcomes: dict[str, matrix.Outcome]) -> None:
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
    chart = _mutated(tmp_path, "_egress.tpl", '"key" "cluster.dns.podSelector" "from" $ns "to" ""',
                     '"key" "cluster.dns.podSelector" "from" "" "to" ""')
    out = matrix.run_beyond(_egress_combos("all"), chart=chart)
    assert out and all(o.diff for o in out)
    text = str(out[0].diff)
    assert "expected but blocked (missing):" in text
    assert "ep-operator -> dns: 53" in text and "53/udp" in text, text


def test_dropping_a_to_from_flink_egress_fails(tmp_path: Path) -> None:
    """The Flink pods' RPC/blob/REST rule without its `to` lets them dial anyone on those ports."""
    chart = _mutated(tmp_path, "flink-egress.yaml", '\\n- to:\\n%s\\n  ports:', '\\n- ports:%.0s')
    out = matrix.run_beyond(_egress_combos("flink"), chart=chart)
    assert out and all(o.diff for o in out)
    d = out[0].diff
    assert not d.missing
    assert {Flow("jobmanager", "other-namespace", 6123), Flow("taskmanager-1", "outside", 6124)} <= d.extra, str(d)
    assert "allowed but not expected (extra):" in str(d) and "jobmanager -> outside: 6123,6124,8081" in str(d)
