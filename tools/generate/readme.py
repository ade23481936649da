"""The READMEs' generated sections, each from one source.

A section sits between `<!-- name:start -->` and `<!-- name:end -->` in README.md and in the chart
README's template (docs/readme/chart-README.md); both are filled from the same functions:

- from values.schema.json: `values-reference`, `switches` and `beyond-the-page` (defaults and
  descriptions), with the object names from the facts file; `beyond-the-page` lists the chart's
  group-table switches that are not the page's (tools/groups.py), then `BEYOND_THE_PAGE_SETTINGS`;
- from the facts file: `documented-rows`, `decisions`;
- from Chart.yaml: `links`;
- from tools/connectivity/picture.py: `connectivity-status` (what has checked the picture's flows);
- prose written once in docs/readme/<name>.md (`install-oci`, `verify-release`, `scanners`, `ep-releases`), where
  `{{key}}` stands for a Chart.yaml fact (see `placeholders`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from tools import facts
from tools.connectivity import picture
from tools.generate.schema import node_at, rows
from tools.groups import group_table, null_default_text

MARKER = re.compile(r"<!-- ([a-z0-9-]+):start -->")
PLACEHOLDER = re.compile(r"\{\{ *([A-Za-z]+) *\}\}")
SNIPPETS = ("install-oci", "verify-release", "scanners", "ep-releases")

# Settings beyond the page that are no group's switch but change what every group renders.
BEYOND_THE_PAGE_SETTINGS = ("platform",)


def _cell(text: str) -> str:
    return text.replace("|", "&#124;").replace("\n", " ")


def values_table(schema: dict[str, Any]) -> str:
    """Every key; a value that defaults to null shows what null means (the chart's _defaults.tpl)."""
    lines = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for key, typ, default, description in rows(schema):
        means = null_default_text(key)
        default = f"`{default}`" if default else "(none)"
        if means:
            default = f"{default if default != '(none)' else '`null`'}: {means}"
        lines.append(f"| `{key}` | {typ} | {_cell(default)} | {_cell(description)} |")
    return "\n".join(lines)


def rows_table() -> str:
    objects = facts.switches()
    lines = ["| Table | Port | Origin | Reason | Served by (values switch: policy) |", "|---|---|---|---|---|"]
    for r in facts.ingress_rows():
        origin = (
            f"{r.origin}; served from {', '.join(r.servedFrom)} (decision `{r.decision}`)" if r.servedFrom else r.origin
        )
        lines.append(f"| {r.table} | {r.port} | {origin} | {r.reason} | `{r.switch}`: {', '.join(objects[r.switch])} |")
    return "\n".join(lines)


def decisions_list() -> str:
    return "\n".join(
        f"- **{d['id']}**. The page: {d['page'].strip()} The chart: {d['chart'].strip()}"
        for d in facts.decisions().values()
    )


def _default(node: dict[str, Any]) -> str:
    return yaml.safe_dump(node["default"], default_flow_style=True).strip().removesuffix("...").strip()


def switches_table(schema: dict[str, Any]) -> str:
    """The page's switches: default and description from the schema, objects (default names) from the facts."""
    lines = ["| Switch | Default | Objects (default names) | What it does |", "|---|---|---|---|"]
    for key, objects in facts.switches().items():
        node = node_at(schema, key)
        names = ", ".join(f"`{o}`" for o in objects)
        lines.append(f"| `{key}` | `{_default(node)}` | {names} | {_cell(node['description'])} |")
    return "\n".join(lines)


def beyond_the_page(groups: list[dict[str, Any]]) -> list[str]:
    """The group table's switches the page has none of (in table order), then the other settings."""
    page = facts.switches()
    switches = dict.fromkeys(s for g in groups for s in g["switch"] if s not in page)
    return [*switches, *BEYOND_THE_PAGE_SETTINGS]


def beyond_table(schema: dict[str, Any], groups: list[dict[str, Any]]) -> str:
    lines = ["| Switch | Default | What it does |", "|---|---|---|"]
    for key in beyond_the_page(groups):
        node = node_at(schema, key)
        lines.append(f"| `{key}` | `{_default(node)}` | {_cell(node['description'])} |")
    return "\n".join(lines)


def links(meta: dict[str, Any]) -> str:
    listed = yaml.safe_load(meta["annotations"]["artifacthub.io/links"])
    return "\n".join(f"- [{link['name']}]({link['url']})" for link in listed)


def placeholders(meta: dict[str, Any]) -> dict[str, str]:
    """What `{{key}}` stands for in the prose sources: Chart.yaml's facts, written there once."""
    docs = next(
        link["url"]
        for link in yaml.safe_load(meta["annotations"]["artifacthub.io/links"])
        if "documentation" in link["name"].lower()
    )
    return {
        "name": meta["name"],
        "version": meta["version"],
        "description": meta["description"].strip(),
        "home": meta["home"],
        "docsUrl": docs,
        "epDocsRelease": meta["annotations"]["ibm.com/ep-docs-release"],
        "kubeVersion": meta["kubeVersion"],
        "license": meta["annotations"]["artifacthub.io/license"],
    }


def substitute(text: str, values: dict[str, str], source: Path) -> str:
    def one(m: re.Match[str]) -> str:
        if m[1] not in values:
            raise KeyError(f"{source}: unknown placeholder {{{{{m[1]}}}}} (known: {', '.join(sorted(values))})")
        return values[m[1]]

    return PLACEHOLDER.sub(one, text)


def sections(
    schema: dict[str, Any], meta: dict[str, Any], prose: Path, groups: list[dict[str, Any]] | None = None
) -> dict[str, Callable[[], str]]:
    """Every generated section by name; `prose` is the directory of the written-once sections,
    `groups` the chart's group table (default: the clone's)."""
    table = group_table() if groups is None else groups
    values = placeholders(meta)
    out: dict[str, Callable[[], str]] = {
        "values-reference": lambda: values_table(schema),
        "documented-rows": rows_table,
        "decisions": decisions_list,
        "switches": lambda: switches_table(schema),
        "beyond-the-page": lambda: beyond_table(schema, table),
        "links": lambda: links(meta),
        "connectivity-status": picture.status,
    }
    for name in SNIPPETS:
        out[name] = partial(snippet, prose / f"{name}.md", values)
    return out


def snippet(path: Path, values: dict[str, str]) -> str:
    return substitute(path.read_text(), values, path).strip("\n")


def fill(text: str, known: dict[str, Callable[[], str]], source: Path) -> str:
    """`text` with every marked section regenerated; an unknown section name is an error."""
    for name in MARKER.findall(text):
        if name not in known:
            raise KeyError(f"{source}: no generator for section {name!r} (known: {', '.join(sorted(known))})")
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        head, rest = text.split(start, 1)
        if end not in rest:
            raise ValueError(f"{source}: {start} has no {end}")
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{known[name]()}\n{end}{tail}"
    return text


def chart_readme(template: Path, known: dict[str, Callable[[], str]], values: dict[str, str]) -> str:
    """The chart's README: its template with the placeholders and the sections filled."""
    return fill(substitute(template.read_text(), values, template), known, template)
