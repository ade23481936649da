"""The README's generated sections: the values reference (from values.schema.json),
and the documented rows and decisions (from the facts file).

    python -m tools.docs --write   # regenerate README.md between its markers
    python -m tools.docs --check   # exit 1 when README.md is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from tools import facts
from tools.paths import CHART, ROOT

README = ROOT / "README.md"


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node` with its local $refs folded in (the node's own keywords win)."""
    while "$ref" in node:
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict[str, Any]) -> str:
    if "type" in node:
        return node["type"] if isinstance(node["type"], str) else " or ".join(node["type"])
    alternatives = node.get("oneOf") or node.get("anyOf") or []
    return " or ".join(sorted({a.get("type", "string") for a in alternatives if "type" in a} |
                              {"integer" for a in alternatives if a.get("$ref", "").endswith("/port")}))


def rows(schema: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, str, str, str]]:
        node = resolve(schema, node)
        if "properties" in node and "default" not in node:
            for key, sub in node["properties"].items():
                yield from walk(sub, f"{path}.{key}".lstrip("."))
            return
        default = json.dumps(node["default"], separators=(", ", ": ")) if "default" in node else ""
        yield path, _type(node), default, node.get("description", "")
        if node.get("type") == "array" and "properties" in (items := resolve(schema, node.get("items", {}))):
            for key, sub in items["properties"].items():
                yield from walk(sub, f"{path}[].{key}")

    yield from walk(schema, "")


def values_table() -> str:
    schema = json.loads((CHART / "values.schema.json").read_text())
    lines = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for key, typ, default, description in rows(schema):
        default = f"`{default}`" if default else "(none)"
        lines.append(f"| `{key}` | {typ} | {default} | {description.replace('|', '&#124;')} |")
    return "\n".join(lines)


def rows_table() -> str:
    objects = facts.switches()
    lines = ["| Table | Port | Origin | Reason | Served by (values switch: policy) |", "|---|---|---|---|---|"]
    for r in facts.ingress_rows():
        origin = f"{r.origin}; served from {', '.join(r.servedFrom)} (decision `{r.decision}`)" if r.servedFrom else r.origin
        lines.append(f"| {r.table} | {r.port} | {origin} | {r.reason} | `{r.switch}`: {', '.join(objects[r.switch])} |")
    return "\n".join(lines)


def decisions_list() -> str:
    return "\n".join(f"- **{d['id']}**. The page: {d['page'].strip()} The chart: {d['chart'].strip()}"
                     for d in facts.decisions().values())


SECTIONS = {"values-reference": values_table, "documented-rows": rows_table, "decisions": decisions_list}


def rendered_readme() -> str:
    text = README.read_text()
    for name, generate in SECTIONS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{generate()}\n{end}{tail}"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args()
    want = rendered_readme()
    if args.write:
        README.write_text(want)
        return 0
    if README.read_text() != want:
        print("README.md's values reference is stale: run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
