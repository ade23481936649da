"""Reading values.schema.json (the chart's values schema) the way the harness and the generated
documents present it: a group is an object with properties and no default of its own; anything else
(a switch, a port, a label map, a list) is a documented key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node` with its local $refs folded in (the node's own keywords win)."""
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


# List items of Kubernetes' own types: their rows would restate the NetworkPolicy API reference,
# so the reference names the type (in the list's description) instead of expanding it.
KUBERNETES_TYPES = {"#/$defs/ingressRule", "#/$defs/egressRule"}


def is_group(node: dict[str, Any]) -> bool:
    return "properties" in node and "default" not in node


def type_name(schema: dict[str, Any], node: dict[str, Any]) -> str:
    if "type" in node:
        return node["type"] if isinstance(node["type"], str) else " or ".join(node["type"])
    if "enum" in node or "const" in node:
        return " or ".join(
            sorted({type(v).__name__.replace("str", "string") for v in node.get("enum", [node.get("const")])})
        )
    alternatives = [resolve(schema, a) for a in node.get("oneOf") or node.get("anyOf") or []]
    return " or ".join(sorted({name for a in alternatives if (name := type_name(schema, a))}))


def rows(schema: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(dotted key, type, JSON default or "", description) for every documented key, list items' keys
    as `list[].key`."""

    def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, str, str, str]]:
        node = resolve(schema, node)
        if is_group(node):
            for key, sub in node["properties"].items():
                yield from walk(sub, f"{path}.{key}".lstrip("."))
            return
        default = json.dumps(node["default"], separators=(", ", ": ")) if "default" in node else ""
        yield path, type_name(schema, node), default, node.get("description", "")
        items = node.get("items", {})
        if items.get("$ref") in KUBERNETES_TYPES:
            return
        if node.get("type") == "array" and "properties" in (items := resolve(schema, items)):
            for key, sub in items["properties"].items():
                yield from walk(sub, f"{path}[].{key}")

    yield from walk(schema, "")


def node_at(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    """The resolved schema node of a dotted values key (KeyError naming the key when absent)."""
    node = schema
    for key in dotted.split("."):
        props = resolve(schema, node).get("properties", {})
        if key not in props:
            raise KeyError(f"{dotted} is not a key of values.schema.json")
        node = props[key]
    return resolve(schema, node)


PORT = "#/$defs/port"


def port_value_keys(schema: dict[str, Any]) -> Iterator[str]:
    """Dotted keys whose value is one port (`$defs/port`, or it or null), outside lists."""

    def walk(node: dict[str, Any], path: str) -> Iterator[str]:
        if node.get("$ref") == PORT or any(a.get("$ref") == PORT for a in node.get("oneOf", [])):
            yield path
        for key, sub in resolve(schema, node).get("properties", {}).items():
            yield from walk(sub, f"{path}.{key}".lstrip("."))

    yield from walk(schema, "")
