"""The exhaustive matrix: every combination of the page's switches, both directions — nothing the page
documents is blocked, nothing it does not document reaches a selected pod (tools/connectivity/matrix.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tools import facts, scenarios
from tools.connectivity import batch, matrix
from tools.connectivity.cluster import OUTSIDE
from tools.connectivity.documented import check_tables_covered, rows
from tools.connectivity.flows import Flow
from tools.paths import CHART
from tools.render import render

COMBOS = matrix.combinations()


@pytest.fixture(scope="module")
def outcomes() -> dict[str, matrix.Outcome[matrix.Combo]]:
    return {o.combo.id: o for o in matrix.run(COMBOS)}


def test_matrix_covers_every_combination() -> None:
    """Every switch of the facts on and off (group switches, deny-all, metrics), with the operators in
    the release namespace or each group in its own (LAYOUTS), default or custom Flink ports (PORTS)."""
    assert set(scenarios.SWITCHES) == set(facts.switches())
    size = 2 ** len(facts.switches()) * len(scenarios.LAYOUTS) * len(matrix.PORTS)
    assert len({c.id for c in COMBOS}) == len(COMBOS) == size


@pytest.mark.parametrize("combo", COMBOS, ids=[c.id for c in COMBOS])
def test_combination(outcomes: dict[str, matrix.Outcome[matrix.Combo]], combo: matrix.Combo) -> None:
    o = outcomes[combo.id]
    assert not o.diff, f"{combo.id}:\n{o.diff}"


def test_every_table_row_is_served() -> None:
    assert check_tables_covered() == []
    assert {s for r in rows() for s in r.switches} >= set(scenarios.SWITCHES) - {scenarios.DENY}


# six combinations spread over the matrix, first and last included
@pytest.mark.parametrize("index", sorted({round(i * (len(COMBOS) - 1) / 5) for i in range(6)}))
def test_batched_render_is_the_plain_render(index: int) -> None:
    """The umbrella chart renders each combination exactly as `helm template` does on its own."""
    combo = COMBOS[index]
    assert batch.render_many([combo.values()])[0] == render(combo.values())


def drop_first_from(template: str) -> str:
    """Delete the first `- from:` block of a template, keeping its rule's `ports:` (as `- ports:`):
    the rule then admits its ports from anywhere. Works on the template's text, whatever helpers the
    peers are written with, as long as the rule reads `- from:` ... `ports:` at the next key's indent."""
    lines = template.splitlines()
    start = next(i for i, ln in enumerate(lines) if re.fullmatch(r"\s*- from:\s*", ln))
    key_indent = len(lines[start]) - len(lines[start].lstrip()) + 2
    end = next(
        j
        for j in range(start + 1, len(lines))
        if lines[j].strip().startswith("ports:") and len(lines[j]) - len(lines[j].lstrip()) == key_indent
    )
    return "\n".join([*lines[:start], " " * (key_indent - 2) + "- ports:", *lines[end + 1 :]]) + "\n"


def _widened_chart(tmp_path: Path) -> Path:
    """The chart with the -taskmanager policy's `from` dropped: its REST port opens to anyone."""
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    tpl = chart / "templates" / "flink-taskmanager.yaml"
    tpl.write_text(drop_first_from(tpl.read_text()))
    return chart


def test_widened_template_fails_with_readable_diff(tmp_path: Path) -> None:
    chart = _widened_chart(tmp_path)
    combos = [
        c
        for c in COMBOS
        if c.on >= {scenarios.DENY, "flink.taskmanager.enabled"} and c.on >= set(scenarios.GROUP_SWITCHES)
    ]
    out = matrix.run(combos, chart=chart)
    assert out and all(o.diff for o in out)
    o = next(o for o in out if o.combo.layout == "same" and o.combo.ports == "default")
    assert not o.diff.missing
    assert {Flow(OUTSIDE.name, "taskmanager-1", 8081), Flow("unrelated", "taskmanager-2", 8081)} <= o.diff.extra
    text = str(o.diff)
    assert "allowed but not expected (extra):" in text and "outside -> taskmanager-1: 8081" in text
    assert "18081" in str(next(o for o in out if o.combo.ports == "custom").diff)
