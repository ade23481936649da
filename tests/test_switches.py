"""Each switch removes exactly its own objects and leaves every other object as it was."""

from __future__ import annotations

from functools import reduce
from typing import Any

import pytest

from tests.conftest import rendered
from tools import facts
from tools.render import by_name
from tools.scenarios import METRICS_PORT
from tools.values import merge, put


def _merge(*trees: dict[str, Any]) -> dict[str, Any]:
    return reduce(merge, trees, {})


# Deny-all with a product policy off is refused unless acknowledged (tests/test_beyond_page.py).
ALL_ON = _merge(
    *(put({}, s, True) for s in facts.switches()),
    put({}, "flink.metrics.port", METRICS_PORT),
    put({}, "acknowledge.denyAllWithoutProductPolicies", True),
)


def test_defaults_turn_on_exactly_the_documented_switches():
    names = set(by_name(rendered()))
    expected = {n for s in facts.defaults_on() for n in facts.switches()[s]}
    assert names == expected


def test_all_switches_on_render_every_switchs_objects():
    assert set(by_name(rendered(ALL_ON))) == {n for names in facts.switches().values() for n in names}


@pytest.mark.parametrize("switch", list(facts.switches()))
def test_switch_removes_exactly_its_objects(switch: str):
    everything = by_name(rendered(ALL_ON))
    without = by_name(rendered(_merge(ALL_ON, put({}, switch, False))))
    assert set(everything) - set(without) == set(facts.switches()[switch])
    for name, obj in without.items():
        assert obj == everything[name], f"turning off {switch} changed {name}"


def test_all_switches_off_render_nothing():
    assert rendered(_merge(*(put({}, s, False) for s in facts.switches()))) == []
