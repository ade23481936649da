"""tools/values.py: dotted access and helm's merge, which the harness's expected values rest on."""

from __future__ import annotations

from tools.values import chart_defaults, effective_values, get, merge, put, updated


def test_get_and_put_dotted_keys() -> None:
    v = put({}, "flink.metrics.port", 9250)
    assert v == {"flink": {"metrics": {"port": 9250}}}
    assert get(v, "flink.metrics.port") == 9250
    assert get(v, "flink.metrics.missing") is None and get(v, "flink.metrics.port.deeper") is None
    put(v, "flink.metrics.enabled", True)
    assert v["flink"]["metrics"] == {"port": 9250, "enabled": True}


def test_merge_is_helms() -> None:
    """Maps merge key by key, lists and scalars replace, null deletes; the inputs stay as they were."""
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1}
    out = merge(base, {"a": {"y": [3], "z": 2}, "b": None})
    assert out == {"a": {"x": 1, "y": [3], "z": 2}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1}


def test_effective_values_copy_the_defaults() -> None:
    v = effective_values({"flink": {"metrics": {"port": 1}}})
    assert get(v, "flink.metrics.port") == 1
    v["flink"]["ports"]["x"] = 1
    assert "x" not in chart_defaults()["flink"]["ports"]


def test_updated_sets_a_copy_and_leaves_the_values_as_they_were():
    values = {"flink": {"metrics": {"enabled": False}}}
    out = updated(values, "flink.metrics.port", 9250)
    assert out == {"flink": {"metrics": {"enabled": False, "port": 9250}}}
    assert values == {"flink": {"metrics": {"enabled": False}}}
