"""Mutation operators for the schema (relax a bound) and values.yaml (change a default).

Both walk whatever the files hold. A schema mutant is a structural edit written back in
the file's own JSON layout, so its diff is the changed lines only. A values mutant edits
one line of values.yaml (comments kept) and moves the schema's `default` along with it:
the two are one fact, and a mutant that only broke their agreement would be caught by
the drift check rather than by a test of behaviour.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tools.mutate.operators import Mutant

# Keywords whose removal makes the schema accept more.
RELAX = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "pattern",
    "uniqueItems",
    "const",
    "not",
    "then",
    "else",
)
# Values inside these keywords are data, not schema.
_DATA = {"default", "examples", "const", "enum"}

Pointer = tuple[str | int, ...]


def _ptr(path: Pointer) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _nodes(node: Any, path: Pointer = ()) -> Iterator[tuple[Pointer, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            if k not in _DATA:
                yield from _nodes(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _nodes(v, (*path, i))


def _at(doc: Any, path: Pointer) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def json_layout(text: str) -> dict[str, Any]:
    """json.dumps arguments that reproduce `text` (so a one-key edit is a one-line diff)."""
    doc = json.loads(text)
    for indent in (2, 4, 1, 3, None):
        for ascii_ in (False, True):
            out = json.dumps(doc, indent=indent, ensure_ascii=ascii_)
            if out in (text, text.rstrip("\n")):
                return {"indent": indent, "ensure_ascii": ascii_, "newline": text.endswith("\n")}
    return {"indent": 2, "ensure_ascii": False, "newline": text.endswith("\n")}


def dump_json(doc: Any, layout: dict[str, Any]) -> str:
    return json.dumps(doc, indent=layout["indent"], ensure_ascii=layout["ensure_ascii"]) + (
        "\n" if layout["newline"] else ""
    )


def changed_line(old: str, new: str) -> tuple[int, str, str]:
    """(1-based line in `old`, old line(s), new line(s)) of the first difference."""
    a, b = old.splitlines(), new.splitlines()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            before = a[i1].strip() if i1 < i2 else ""
            if i2 - i1 > 1:
                before += f" (+{i2 - i1 - 1} lines)"
            return i1 + 1, before, " ".join(line.strip() for line in b[j1:j2])
    return 1, "", ""


def schema_mutants(rel: str, text: str) -> Iterator[Mutant]:
    """Relax each bound of the schema in turn: drop a keyword, a required name, a closed
    `additionalProperties`, an enum."""
    schema = json.loads(text)
    layout = json_layout(text)

    def mutant(op: str, path: Pointer, change: Any, what: str) -> Mutant:
        doc = copy.deepcopy(schema)
        change(_at(doc, path))
        new = dump_json(doc, layout)
        line, before, after = changed_line(text, new)
        return Mutant(op, rel, line, before, after, {rel: new}, ident=f"{op} {rel} {_ptr(path)}: {what}")

    for path, node in list(_nodes(schema)):
        for kw in RELAX:
            if kw in node and not (kw == "uniqueItems" and node[kw] is False):
                yield mutant("relax-schema", path, lambda n, kw=kw: n.pop(kw), f"drop {kw}")
        if node.get("additionalProperties") is False:
            yield mutant(
                "relax-schema", path, lambda n: n.pop("additionalProperties"), "drop additionalProperties: false"
            )
        if isinstance(node.get("required"), list) and all(isinstance(r, str) for r in node["required"]):
            for name in node["required"]:

                def unrequire(n: dict[str, Any], name: str = name) -> None:
                    n["required"].remove(name)
                    if not n["required"]:
                        del n["required"]

                yield mutant("relax-schema", path, unrequire, f"not required {name}")
        if isinstance(node.get("enum"), list):
            # Any value at all: a test that one wrong value is refused kills it.
            yield mutant("widen-enum", path, lambda n: n.pop("enum"), "drop enum")


# --- values.yaml ------------------------------------------------------------------------

_KV = re.compile(r"^([ \t]*(?:- )?)([^\s#:'\"][^#:]*?|\"[^\"]*\"|'[^']*'):[ \t]+([^#\s].*?)([ \t]+#.*)?$")
_ITEM = re.compile(r"^([ \t]*)- ([^#\s].*?)([ \t]+#.*)?$")


def _differences(a: Any, b: Any, path: Pointer = ()) -> list[Pointer]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in a.keys() | b.keys() for d in _differences(a.get(k, _MISSING), b.get(k, _MISSING), (*path, k))
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=False)) for d in _differences(x, y, (*path, i))]
    return [] if a == b and type(a) is type(b) else [path]


_MISSING = object()


def _schema_node(schema: dict[str, Any], path: Pointer) -> dict[str, Any] | None:
    """The schema describing the value at `path`, following properties, items and local $refs."""
    node: Any = schema
    for p in path:
        node = _resolve(schema, node)
        node = node.get("items") if isinstance(p, int) else node.get("properties", {}).get(p)
        if not isinstance(node, dict):
            return None
    return _resolve(schema, node)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = schema
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _new_scalars(value: Any, node: dict[str, Any] | None) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1]
    if isinstance(value, str):
        others = [e for e in (node or {}).get("enum", []) if e != value and isinstance(e, str)]
        return others[:1] or [value + "x"]
    if isinstance(value, list):
        return [value[:i] + value[i + 1 :] for i in range(len(value))]
    return []


def _flow(value: Any) -> str:
    return (
        json.dumps(value)
        if not isinstance(value, str)
        else (value if value and yaml.safe_load(value) == value and ":" not in value else json.dumps(value))
    )


def values_mutants(
    rel: str, text: str, schema_rel: str | None = None, schema_text: str | None = None
) -> Iterator[Mutant]:
    """Change one default at a time: flip a boolean, add 1 to a number, pick another enum
    value or extend a string, drop a list entry or a free-form map entry."""
    values = yaml.safe_load(text)
    schema = json.loads(schema_text) if schema_text else None
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        candidates: list[tuple[str, str]] = []  # (new line, description)
        if kv := _KV.match(line):
            lead, key, raw, comment = kv.group(1), kv.group(2), kv.group(3), kv.group(4) or ""
            try:
                value = yaml.safe_load(raw)
            except yaml.YAMLError:
                continue
            node = _schema_node(schema, _probe(values, lines, i, f"{lead}{key}: __probe__")) if schema else None
            candidates += [(f"{lead}{key}: {_flow(v)}{comment}", "") for v in _new_scalars(value, node)]
            if not lead.strip():
                candidates.append(("", "drop entry"))
        elif _ITEM.match(line):
            candidates.append(("", "drop entry"))
        for new_line, kind in candidates:
            new_lines = lines[:i] + ([new_line] if new_line else []) + lines[i + 1 :]
            yield from _values_mutant(
                rel, text, "\n".join(new_lines), values, schema, schema_rel, schema_text, i + 1, drop=bool(kind)
            )


def _probe(values: Any, lines: list[str], i: int, probe_line: str) -> Pointer:
    """The path of the value on line i: the one place a probe edit changes."""
    try:
        diffs = _differences(values, yaml.safe_load("\n".join([*lines[:i], probe_line, *lines[i + 1 :]])))
    except yaml.YAMLError:
        return ()
    return diffs[0] if len(diffs) == 1 else ()


def _values_mutant(
    rel: str,
    text: str,
    new_text: str,
    values: Any,
    schema: dict[str, Any] | None,
    schema_rel: str | None,
    schema_text: str | None,
    line: int,
    drop: bool,
) -> Iterator[Mutant]:
    try:
        new_values = yaml.safe_load(new_text)
    except yaml.YAMLError:
        return
    diffs = _differences(values, new_values)
    if len(diffs) != 1:
        return
    path = diffs[0]
    old_v, new_v = _get(values, path), _get(new_values, path)
    node = _schema_node(schema, path) if schema else None
    if drop != (new_v is _MISSING):
        return  # dropping the line changed its parent's shape instead
    if new_v is _MISSING:
        # Only free-form maps (labels) lose an entry; a settings key is not "a default".
        parent = _schema_node(schema, path[:-1]) if schema else None
        if isinstance(path[-1], str) and (parent is None or path[-1] in parent.get("properties", {})):
            return
    elif isinstance(old_v, str) and node and node.get("enum") and new_v not in node["enum"]:
        # The line's generic edit is not valid: offer another enum value instead.
        return
    files = {rel: new_text}
    if schema is not None and schema_rel and schema_text:
        doc = copy.deepcopy(schema)
        if _move_defaults(doc, values, new_values, path):
            files[schema_rel] = dump_json(doc, json_layout(schema_text))
    dotted = ".".join(str(p) for p in path)
    shown = "(dropped)" if new_v is _MISSING else json.dumps(new_v)
    _, before, after = changed_line(text, new_text)
    yield Mutant(
        "change-default",
        rel,
        line,
        before,
        after,
        files,
        ident=f"change-default {rel} {dotted}: {json.dumps(old_v)} => {shown}",
    )


def _get(doc: Any, path: Pointer) -> Any:
    for p in path:
        if isinstance(doc, dict):
            doc = doc.get(p, _MISSING)
        elif isinstance(doc, list) and isinstance(p, int) and p < len(doc):
            doc = doc[p]
        else:
            return _MISSING
    return doc


def _move_defaults(schema: dict[str, Any], old: Any, new: Any, path: Pointer) -> bool:
    """Set each schema `default` on the way to `path` that described the old value to the new one."""
    moved = False
    node: Any = schema
    for depth in range(len(path) + 1):
        if depth:
            p = path[depth - 1]
            if isinstance(p, int) or not isinstance(node, dict):
                break
            node = node.get("properties", {}).get(p)
        if not isinstance(node, dict):
            break
        prefix = path[:depth]
        if "default" in node and node["default"] == _get(old, prefix):
            node["default"] = _get(new, prefix)
            moved = True
    return moved
