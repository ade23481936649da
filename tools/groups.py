"""The chart's policy-group table (`epnp.groupTable` in templates/_groups.tpl), read for the harness.

group_table(chart)   the rows, in table order ({id, switch, scope, suffix, ...})
group_switches(chart)  every row's switches, in table order, each once

The chart lists each group once; the README's beyond-the-page table and the max-config checks range
over it, so a new group needs no second list. The facts file never reads it: it stays the oracle.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tools.paths import CHART

TEMPLATE = Path("templates") / "_groups.tpl"
# The define's body is static YAML (flow mappings, one anchor): read it as YAML, no helm needed.
DEFINE = re.compile(r'\{\{- define "epnp\.groupTable" -\}\}\n(.*?)\n\{\{- end \}\}', re.S)


def group_table(chart: Path = CHART) -> list[dict[str, Any]]:
    path = chart / TEMPLATE
    m = DEFINE.search(path.read_text())
    if m is None:
        raise ValueError(f"{path}: no epnp.groupTable define")
    rows: list[dict[str, Any]] = yaml.safe_load(m[1])
    return rows


def group_switches(chart: Path = CHART) -> list[str]:
    return list(dict.fromkeys(s for g in group_table(chart) for s in g["switch"]))
