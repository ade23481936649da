"""Rendered objects validated by the real API server (server-side dry run).

The schemas check shapes; the server also checks what they can't (CIDRs, port
ranges, label syntax, unknown fields under strict validation). Nothing is stored.
The switch matrix renders thousands of combinations but few distinct objects, so
each distinct object is sent once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import paths
from tools.connectivity.batch import render_many
from tools.connectivity.matrix import beyond_combinations, combinations
from tools.e2e.controlplane import ControlPlane
from tools.render import render

VALUES_FILES = [*sorted((paths.CHART / "examples").glob("*.yaml")), paths.ROOT / "tests/values/max.yaml"]


@pytest.mark.parametrize("values_file", [None, *VALUES_FILES],
                         ids=lambda f: f.name if f else "defaults")
def test_values_file_passes_server_side_dry_run(controlplane: ControlPlane, values_file: Path | None) -> None:
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    objects = render(values)
    assert objects
    assert controlplane.dry_run(objects) == []


@pytest.mark.parametrize("matrix", [combinations, beyond_combinations], ids=["page", "beyond-the-page"])
def test_every_matrix_render_passes_server_side_dry_run(controlplane: ControlPlane, matrix: Any) -> None:
    combos = matrix()
    rendered = render_many([c.values() for c in combos])
    first_seen: dict[str, tuple[str, dict[str, Any]]] = {}  # canonical JSON -> (combination id, object)
    for combo, objs in zip(combos, rendered, strict=True):
        for obj in objs:
            first_seen.setdefault(json.dumps(obj, sort_keys=True), (combo.id, obj))
    assert first_seen, "the matrix rendered nothing"
    # One object at a time, so each rejection names the first combination that rendered it.
    errors = [f"{cid}: {e}" for cid, obj in first_seen.values() for e in controlplane.dry_run([obj])]
    assert errors == [], f"{len(errors)} of {len(first_seen)} distinct objects rejected:\n" + "\n".join(errors)
