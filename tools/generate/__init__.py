"""Every generated file of the repository, from its one source (the cert-manager pattern).

    python -m tools.generate --write   # `make generate`: rewrite every stale artefact
    python -m tools.generate --check   # `make verify-generated`: exit 1 naming each stale one, writing nothing

| Artefact | Source |
|---|---|
| charts/…/values.yaml's comments | values.schema.json's descriptions (values_yaml.py) |
| README.md's marked sections | the schema, the facts, Chart.yaml, docs/readme/*.md (readme.py) |
| charts/…/README.md (the chart's, shipped in the package) | docs/readme/chart-README.md + the same sections |
| charts/…/LICENSE (shipped in the package) | LICENSE |
| charts/…/templates/_shapes.tpl (the kind of every value, for the template guards) | values.schema.json (shapes.py) |
| docs/connectivity.dot, the README's picture | the documented flows (facts + values; connectivity/picture.py) |
| docs/connectivity.svg | the DOT, by Graphviz; carries the DOT's hash, which the check compares |

The picture is written only after network-config-analyzer computes the same flows from the render
(`picture.check_readme_picture`, which needs helm and nca); the check itself needs neither, nor
Graphviz: Graphviz's SVG differs from version to version, so the SVG is current when its stamp is
the hash of today's DOT.

Everything is read relative to a root directory, so a test can run the check on a modified copy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from tools.connectivity import picture
from tools.generate import readme, shapes, values_yaml
from tools.groups import group_table
from tools.paths import ROOT

CHART_DIR = Path("charts") / "ibm-ep-network-policies"


@dataclass(frozen=True)
class Tree:
    """The sources and artefacts under `root` (the clone, or a copy of it)."""

    root: Path = ROOT

    @property
    def chart(self) -> Path:
        return self.root / CHART_DIR

    @property
    def prose(self) -> Path:
        return self.root / "docs" / "readme"

    @cached_property
    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = json.loads((self.chart / "values.schema.json").read_text())
        return schema

    @cached_property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = yaml.safe_load((self.chart / "Chart.yaml").read_text())
        return meta

    def artefacts(self) -> dict[Path, Callable[[], str]]:
        """Each generated file and how to make its content from today's sources."""
        known = readme.sections(self.schema, self.meta, self.prose, group_table(self.chart))
        return {
            self.chart / "values.yaml": lambda: values_yaml.commented(
                (self.chart / "values.yaml").read_text(), self.schema
            ),
            self.root / "README.md": lambda: readme.fill(
                (self.root / "README.md").read_text(), known, self.root / "README.md"
            ),
            self.chart / "README.md": lambda: readme.chart_readme(
                self.prose / "chart-README.md", known, readme.placeholders(self.meta)
            ),
            self.chart / "LICENSE": lambda: (self.root / "LICENSE").read_text(),
            self.chart / "templates" / "_shapes.tpl": lambda: shapes.shapes_tpl(
                self.schema, yaml.safe_load((self.chart / "values.yaml").read_text())
            ),
            self.picture.with_suffix(".dot"): picture.readme_dot,
        }

    @property
    def picture(self) -> Path:
        """The README's connectivity picture (SVG), drawn from the artefact beside it (.dot)."""
        return self.root / "docs" / "connectivity.svg"

    def picture_stale(self, dot_text: str) -> bool:
        return not self.picture.exists() or picture.svg_stamp(self.picture.read_bytes()) != picture.dot_hash(dot_text)


def stale(tree: Tree | None = None) -> list[Path]:
    """The artefacts whose content differs from what their sources make (missing ones included)."""
    tree = tree or Tree()
    wanted = {path: make() for path, make in tree.artefacts().items()}
    out = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if tree.picture_stale(wanted[tree.picture.with_suffix(".dot")]):
        out.append(tree.picture)
    return out


def write(tree: Tree | None = None) -> list[Path]:
    """Regenerate every stale artefact; returns the ones rewritten. Each is computed before any is
    written, so a section that reads another artefact sees the sources, not a half-written tree. The
    picture is drawn only when nca agrees with the flows it shows (else PictureError naming them)."""
    tree = tree or Tree()
    wanted = {path: make() for path, make in tree.artefacts().items()}
    changed = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    dot = tree.picture.with_suffix(".dot")
    redraw = tree.picture_stale(wanted[dot])
    if redraw or dot in changed:
        picture.check_readme_picture()  # raises before anything is written
    svg = picture.to_svg(wanted[dot]) if redraw else None
    for path in changed:
        path.write_text(wanted[path])
    if svg is not None:
        tree.picture.write_bytes(svg)
        changed.append(tree.picture)
    return changed
