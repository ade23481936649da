"""values.schema.json covers values.yaml: every key, with a description and the same default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from tools.paths import CHART, REPO_CHART, ROOT
from tools.values_schema import resolve

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
VALUES = yaml.safe_load((CHART / "values.yaml").read_text())


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    return resolve(SCHEMA, node)


def _leaves(values: Any, schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(path, value, schema) for every leaf of values.yaml. A group has properties and no
    default; anything else (a switch, a port, a label map, a list) is a leaf."""
    schema = _resolve(schema)
    if isinstance(values, dict) and "properties" in schema and "default" not in schema:
        for key, value in values.items():
            assert key in schema["properties"], f"{path}.{key} is in values.yaml but not in the schema"
            yield from _leaves(value, schema["properties"][key], f"{path}.{key}".lstrip("."))
    else:
        yield path, values, schema


LEAVES = list(_leaves(VALUES, SCHEMA))


def test_top_level_values_schema_is_a_link_to_the_charts():
    link = ROOT / "values-schema.json"
    # The clone's layout, whichever chart copy the other tests read (EPNP_CHART).
    assert link.is_symlink() and link.resolve() == (REPO_CHART / "values.schema.json").resolve()


def test_values_yaml_is_valid_against_the_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(VALUES)


@pytest.mark.parametrize("path, value, schema", LEAVES, ids=[leaf[0] for leaf in LEAVES])
def test_every_leaf_has_a_description_and_its_default(path, value, schema):
    assert schema.get("description"), f"{path} has no description"
    assert "default" in schema, f"{path} has no default"
    assert schema["default"] == value, f"{path}: schema default {schema['default']!r} != values.yaml {value!r}"


def _objects(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}/{i}")


# Helm gives every subchart `global`: any object, or the chart could not be a dependency (test_umbrella.py).
OPEN_BY_DESIGN = {"/properties/global"}


def test_schema_is_strict_every_object_closes_its_keys():
    for path, node in _objects(SCHEMA):
        if path in OPEN_BY_DESIGN:
            assert node == {**node, "type": "object"} and "additionalProperties" not in node, path
            continue
        if "properties" in node or "patternProperties" in node:
            assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
        else:
            assert isinstance(node.get("additionalProperties"), dict), f"{path} accepts anything"


def test_every_schema_property_is_in_values_yaml_or_a_list_item():
    """No key the schema offers is undocumented in values.yaml (list items excepted: their defaults are the list's)."""
    covered = {path for path, _, _ in LEAVES}

    def walk(node: dict[str, Any], path: str) -> Iterator[str]:
        node = _resolve(node)
        for key, sub in node.get("properties", {}).items():
            sub_path = f"{path}.{key}".lstrip(".")
            if "properties" in _resolve(sub) and "default" not in _resolve(sub):
                yield from walk(sub, sub_path)
            else:
                yield sub_path

    assert set(walk(SCHEMA, "")) == covered


def _settings(values: Any, schema: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every key values.yaml sets to something other than null in a settings
    object (one the schema lists `properties` for; label maps and list items excluded)."""
    schema = _resolve(schema)
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        if key in schema.get("properties", {}) and value is not None:
            yield (*path, key)
            yield from _settings(value, schema["properties"][key], (*path, key))


# helm itself supplies `global` to every chart, so the chart never needs it set.
SETTINGS = [p for p in _settings(VALUES, SCHEMA) if p != ("global",)]
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.mark.parametrize("path", SETTINGS, ids=[".".join(p) for p in SETTINGS])
def test_every_key_with_a_default_is_required(path: tuple[str, ...]):
    """Setting a key to null deletes it from helm's merged values; a key the templates
    read without a fallback must then fail the schema, not render with a nil."""
    values = json.loads(json.dumps(VALUES))
    parent = values
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    errors = list(VALIDATOR.iter_errors(values))
    assert any(e.validator == "required" and repr(path[-1]) in e.message for e in errors), (
        f"{'.'.join(path)}: removing it passes the schema"
    )
