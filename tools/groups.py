"""The chart's static tables, read for the harness: the policy-group table (`epnp.groupTable` in
templates/_groups.tpl) and the null defaults (`epnp.defaultsTable` in templates/_defaults.tpl).

group_table(chart)   the rows, in table order ({id, switch, scope, suffix, ...})
group_switches(chart)  every row's switches, in table order, each once
null_defaults(chart)   values key -> {platform: default} of each value that is null in values.yaml

The chart lists each group once; the README's beyond-the-page table and the max-config checks range
over it, so a new group needs no second list. The facts file never reads it: it stays the oracle.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from tools.paths import CHART
from tools.yamlio import load

TEMPLATE = Path("templates") / "_groups.tpl"
DEFAULTS = Path("templates") / "_defaults.tpl"


def static_define(path: Path, name: str) -> Any:
    """The body of a define that is static YAML (no template actions): read as YAML, no helm needed."""
    # The generators and tests ask for the same tables thousands of times a run: parsed once per
    # file text (a changed file is parsed again), each caller given its own copy.
    return copy.deepcopy(_parsed_define(path.read_text(), name, str(path)))


@lru_cache(maxsize=64)
def _parsed_define(text: str, name: str, where: str) -> Any:
    m = re.search(r'\{\{- define "' + re.escape(name) + r'" -\}\}\n(.*?)\n\{\{- end \}\}', text, re.S)
    if m is None:
        raise ValueError(f"{where}: no {name} define")
    return load(m[1])


def group_table(chart: Path = CHART) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = static_define(chart / TEMPLATE, "epnp.groupTable")
    return rows


def null_defaults(chart: Path = CHART) -> dict[str, dict[str, Any]]:
    """Each value that defaults to null, with what null means per platform (`kubernetes`, and
    `openshift` where it differs), in the table's order."""
    table: dict[str, dict[str, Any]] = static_define(chart / DEFAULTS, "epnp.defaultsTable")
    return {
        key: {"kubernetes": default, **({"openshift": table["openshift"][key]} if key in table["openshift"] else {})}
        for key, default in table["kubernetes"].items()
    }


def group_switches(chart: Path = CHART) -> list[str]:
    return list(dict.fromkeys(s for g in group_table(chart) for s in g["switch"]))


def _flow(value: Any) -> str:
    return (
        str(yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1000))
        .strip()
        .removesuffix("...")
        .strip()
    )


def null_default_text(key: str, chart: Path = CHART) -> str:
    """What null stands for at `key`, for the generated documents: "`{k: v}`", plus the OpenShift
    default where it differs; "" for a key with no null default."""
    d = null_defaults(chart).get(key)
    if d is None:
        return ""
    text = f"`{_flow(d['kubernetes'])}`"
    return text + (f" (OpenShift: `{_flow(d['openshift'])}`)" if "openshift" in d else "")
