"""Rendered objects validated by the real API server (server-side dry run).

The schemas check shapes; the server also checks what they can't (CIDRs, port
ranges, label syntax, unknown fields under strict validation). Nothing is stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools import paths
from tools.controlplane import ControlPlane
from tools.render import render

VALUES_FILES = sorted((paths.CHART / "examples").glob("*.yaml")) + [paths.ROOT / "tests/values/max.yaml"]


@pytest.mark.parametrize("values_file", [None, *VALUES_FILES],
                         ids=lambda f: f.name if f else "defaults")
def test_values_file_passes_server_side_dry_run(controlplane: ControlPlane, values_file: Path | None) -> None:
    values = yaml.safe_load(values_file.read_text()) if values_file else {}
    objects = render(values)
    assert objects
    assert controlplane.dry_run(objects) == []
