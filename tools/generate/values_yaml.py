"""values.yaml's comments, generated from the schema's descriptions.

Every key helm-docs documents gets `# -- <description>` (wrapped; helm-docs joins the `#` lines that
follow), every group a plain `# <description>`; the values themselves, blank lines and the file's
opening comment block are kept as written. So `helm show values` readers see exactly the schema's
prose, and the schema stays the one place to edit it.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import yaml

from tools.generate.schema import is_group, node_at
from tools.groups import null_default_text

WIDTH = 100
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_./-]+):(?: |$)")


def comment(description: str, indent: str, leaf: bool) -> list[str]:
    first, rest = ("# -- ", "# ") if leaf else ("# ", "# ")
    lines = textwrap.wrap(
        description, width=WIDTH - len(indent) - len(first), break_long_words=False, break_on_hyphens=False
    )
    return [f"{indent}{first if i == 0 else rest}{line}" for i, line in enumerate(lines)]


def commented(text: str, schema: dict[str, Any]) -> str:
    """`text` (values.yaml) with every comment but the opening block replaced by the schema's."""
    lines = text.splitlines()
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    out = lines[:head]
    stack: list[tuple[int, str]] = []
    owner: int | None = None  # indent of the documented key whose block value is being copied as written
    for line in lines[head:]:
        if line.lstrip().startswith("#"):
            continue  # a comment from the previous generation (or by hand): regenerated below
        indent = len(line) - len(line.lstrip())
        if (
            owner is not None
            and line.strip()
            and (indent < owner or (indent == owner and not line.lstrip().startswith("-")))
        ):
            owner = None
        m = KEY.match(line)
        if owner is not None or not m:
            out.append(line)
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m["key"]))
        dotted = ".".join(key for _, key in stack)
        node = node_at(schema, dotted)
        if not node.get("description"):
            raise ValueError(f"{dotted} has no description in values.schema.json")
        leaf = not is_group(node)
        means = null_default_text(dotted)
        out += comment(node["description"] + (f" Null means {means}." if means else ""), m["indent"], leaf)
        out.append(line)
        if leaf:
            owner = indent  # what is indented deeper (or a list at its level) is its value, kept as written
    new = "\n".join(out) + "\n"
    if yaml.safe_load(new) != yaml.safe_load(text):  # comments only: never a value
        raise AssertionError("regenerating values.yaml's comments changed its values")
    return new
