"""Chart values as helm sees them: dotted-key access, helm's merge, and the chart's defaults.

get(values, "flink.metrics.port")          None when any part of the path is missing
put(values, "flink.metrics.port", 9250)    sets it in place, creating maps on the way; returns values
updated(values, "flink.metrics.port", 9250)  the same on a copy; values stays as it was
merge(base, override)                      helm's values merge (a new tree)
effective_values(overrides)                values.yaml with the overrides merged in
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import yaml

from tools.paths import CHART

Values = dict[str, Any]


def get(values: Values, dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def put(values: Values, dotted: str, value: Any) -> Values:
    """Set `dotted` in `values` (in place); `put({}, "a.b", 1)` is `{"a": {"b": 1}}`."""
    *parents, leaf = dotted.split(".")
    node = values
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value
    return values


def updated(values: Values, dotted: str, value: Any) -> Values:
    """A deep copy of `values` with `dotted` set (`put` on a copy)."""
    return put(copy.deepcopy(values), dotted, value)


def merge(base: Values, override: Values) -> Values:
    """helm's values merge: maps merge key by key, anything else replaces, null deletes."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


@cache
def chart_defaults() -> Values:
    """The chart's values.yaml (cached: read it, don't change it)."""
    loaded: Values = yaml.safe_load((CHART / "values.yaml").read_text())
    return loaded


def effective_values(overrides: Values | None = None) -> Values:
    """The chart's values.yaml with `overrides` merged in, as helm sees them (merge copies)."""
    return merge(chart_defaults(), overrides or {})
