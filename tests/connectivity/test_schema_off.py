"""With `--skip-schema-validation`, every key of values.yaml set to null or set to a string either fails
naming that key, or renders exactly the defaults' connectivity: never a wider policy, never a raw template
error (decision templates-check-kinds).

The keys are the shape table's (templates/_shapes.tpl, generated from the schema: every key of
values.yaml, groups included). "A string" is tried on every key that is not a string by kind (for a
string key, a DNS label's included, a string is its value, not an attack). The flows compare on the
defaults' fixture, computed by network-config-analyzer, TCP and UDP.

A key deleted from values.yaml is the null case: helm deletes a key that a user's values set to null
before any template runs (helm v4.3.1 pkg/chart/common/util/coalesce.go, coalesceValues:
`if value == nil && !merge { delete(v, key) }`), so the templates see the same values either way.
test_deleting_a_key_is_setting_it_to_null checks that on helm itself.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.connectivity.cluster import cluster_for
from tools.connectivity.engine import Result, Scenario, analyze
from tools.connectivity.model import PROTOCOLS
from tools.groups import static_define
from tools.paths import CHART
from tools.render import RenderError, render, render_or_error
from tools.values import effective_values, put

SKIP = ("--skip-schema-validation",)
STRINGS = {"string", "dnsLabel"}  # the kinds whose value is a string (a DNS label: a namespace, a name)
ROWS: list[list[Any]] = static_define(CHART / "templates" / "_shapes.tpl", "epnp.shapes")
CASES: list[tuple[str, str]] = [
    *((row[0], "null") for row in ROWS),
    *((row[0], "string") for row in ROWS if not STRINGS & set(row[1])),
]


def _deleted(chart: Path, key: str, into: Path) -> Path:
    """A copy of the chart whose values.yaml lacks `key`."""
    copy = into / chart.name
    shutil.copytree(chart, copy, ignore=shutil.ignore_patterns("tests", "ci", "examples", "*.md"))
    values = yaml.safe_load((copy / "values.yaml").read_text())
    *parents, leaf = key.split(".")
    node = values
    for p in parents:
        node = node[p]
    del node[leaf]
    (copy / "values.yaml").write_text(yaml.safe_dump(values))
    return copy


def _render(key: str, how: str, tmp: Path) -> list[dict[str, Any]] | RenderError:
    if how == "deleted":
        return render_or_error({}, chart=_deleted(CHART, key, tmp / key), args=SKIP)
    return render_or_error(put({}, key, None if how == "null" else "x"), args=SKIP)


@dataclass
class Outcomes:
    errors: dict[tuple[str, str], RenderError]  # the cases the templates refused
    flows: dict[tuple[str, str], dict[str, Any]]  # the cases they rendered: their flows, per protocol
    defaults: dict[str, Any]  # the defaults' flows, on the same fixture


def _flows(r: Result) -> dict[str, Any]:
    return {p: r.flows(p) for p in PROTOCOLS}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    tmp = tmp_path_factory.mktemp("schema-off")
    with ThreadPoolExecutor(4) as pool:
        renders = dict(zip(CASES, pool.map(lambda c: _render(c[0], c[1], tmp), CASES), strict=True))
    errors = {c: r for c, r in renders.items() if isinstance(r, RenderError)}
    rendered = {c: r for c, r in renders.items() if not isinstance(r, RenderError)}
    fixture = cluster_for(effective_values())
    scenarios = [Scenario(render({}), fixture, "defaults")]
    scenarios += [Scenario(objs, fixture, f"{key}={how}") for (key, how), objs in rendered.items()]
    results = analyze(scenarios)
    flows = {c: _flows(r) for c, r in zip(rendered, results[1:], strict=True)}
    return Outcomes(errors, flows, _flows(results[0]))


@pytest.mark.parametrize("key, how", CASES, ids=[f"{k}={h}" for k, h in CASES])
def test_a_bad_value_fails_naming_its_key_or_keeps_the_defaults_flows(outcomes, key, how):
    if (key, how) in outcomes.errors:
        message = outcomes.errors[(key, how)].stderr
        assert "error calling" not in message and "nil pointer" not in message, message
        assert any(f"{key}{end}" in message for end in (":", ".", "[")), message
    else:
        assert outcomes.flows[(key, how)] == outcomes.defaults


def test_the_comparison_saw_both_kinds_of_outcome(outcomes):
    """Nulls of keys whose default is null render (and compare); a string for a switch is refused."""
    assert ("flink.metrics.port", "null") in outcomes.flows
    assert ("eventProcessing.operator.podSelector", "null") in outcomes.flows
    assert ("deployOperatorNetworkPolicy", "string") in outcomes.errors


@pytest.mark.parametrize(
    "key",
    # a top-level switch, a map whose absence renders, a list, a group's switch: both outcomes, every depth
    [
        "deployOperatorNetworkPolicy",
        "eventProcessing.operator.podSelector",
        "flink.deployments",
        "flink.egress.enabled",
    ],
)
def test_deleting_a_key_is_setting_it_to_null(key: str, tmp_path: Path) -> None:
    """Why CASES has no "deleted" rows: helm renders a key deleted from values.yaml exactly as the key set
    to null (the same objects, or the same error)."""
    deleted = _render(key, "deleted", tmp_path)
    null = _render(key, "null", tmp_path)
    if isinstance(deleted, RenderError) or isinstance(null, RenderError):
        assert isinstance(deleted, RenderError) and isinstance(null, RenderError), (deleted, null)
        assert deleted.stderr == null.stderr
    else:
        assert deleted == null
