"""The chart as a dependency of an umbrella chart (as a platform team ships it): helm gives every subchart
`global`, and the strict schema must accept it while still refusing unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import paths
from tools.render import RenderError, parse, render
from tools.scenarios import FULL_PAGE
from tools.umbrella import chart_meta, dependency_build, helm_template_umbrella, make_umbrella

NAME = chart_meta()["name"]
HELMS = {"helm4": paths.HELM, "helm3": paths.HELM3}


@pytest.fixture(scope="module", params=sorted(HELMS))
def umbrella(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    helm = HELMS[request.param]
    chart = make_umbrella(tmp_path_factory.mktemp(request.param), repository=f"file://{paths.CHART}")
    dependency_build(chart, helm)
    return chart, helm


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"global": {"imageRegistry": "example.invalid", "nested": {"any": ["thing"]}}},
        {"global": {"x": 1}, NAME: FULL_PAGE},
    ],
    ids=["no-values", "global-only", "global-and-subchart-key"],
)
def test_umbrella_renders_what_the_chart_renders(umbrella: tuple[Path, Path], values: dict) -> None:
    chart, helm = umbrella
    got = parse(helm_template_umbrella(chart, values, helm=helm))
    assert got == render(values.get(NAME, {}))


def test_unknown_key_under_the_subchart_still_fails_naming_it(umbrella: tuple[Path, Path]) -> None:
    chart, helm = umbrella
    with pytest.raises(RenderError) as err:
        helm_template_umbrella(chart, {"global": {"x": 1}, NAME: {"denyAllIngres": {"enabled": True}}}, helm=helm)
    assert "denyAllIngres" in err.value.stderr
    assert err.value.stdout == ""


def test_global_given_to_the_chart_itself_is_accepted() -> None:
    assert render({"global": {"anything": {"at": "all"}}}) == render({})
