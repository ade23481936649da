"""Generated files are current (`make verify-generated`), and the check notices each one going stale.

The staleness tests run the check on a copy of the clone, never on the clone itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tools import facts, generate
from tools.connectivity import picture
from tools.generate import Tree, readme, readme_picture, shapes
from tools.groups import group_switches, null_default_text, null_defaults
from tools.paths import CHART, ROOT
from tools.values_schema import node_at

ARTEFACTS = sorted(str(p.relative_to(ROOT)) for p in Tree().artefacts())
# A hand edit of each artefact's generated part (README.md's hand-written parts are free to change).
EDITS = {
    "README.md": ("| `deployNetworkPolicies` |", "| `deployNetworkPolicy` |"),
    "docs/connectivity.md": ("Each arrow is a documented flow", "Each arrow is a flow"),
    "docs/releasing.md": ("sha256 sum does not match", "sha256 does not match"),
    "charts/ibm-ep-network-policies/README.md": ("--version", "--versions"),
    "charts/ibm-ep-network-policies/values.yaml": ("# -- Cluster DNS", "# -- DNS"),
    "charts/ibm-ep-network-policies/LICENSE": ("Apache License", "Apache Licence"),
    "charts/ibm-ep-network-policies/Chart.yaml": ("- kind: fixed", "- kind: security"),
    "charts/ibm-ep-network-policies/templates/_shapes.tpl": (
        '["flink.ports.rest", ["port"]]',
        '["flink.ports.rest", ["string"]]',
    ),
    "docs/connectivity.dot": ('label="TCP 8081"', 'label="TCP 8081, 8082"'),
    "docs/spec-pages.md": ("| [1.0](", "| [1.0.0]("),
}


def test_every_generated_file_is_current() -> None:
    assert generate.stale() == [], "run `make generate`"


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A copy of the files the generator reads and writes (and the package, for the CLI)."""
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for rel in filter(None, tracked):
        src = ROOT / rel
        wanted = rel.startswith(("charts/", "docs/", "tools/")) or rel in ("README.md", "LICENSE", "CHANGELOG.md")
        if wanted and src.is_file() and not src.is_symlink():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tmp_path / rel)
    assert generate.stale(Tree(tmp_path)) == []
    return tmp_path


def test_every_artefact_has_an_edit_to_try() -> None:
    assert sorted(EDITS) == ARTEFACTS


@pytest.mark.parametrize("artefact", ARTEFACTS)
def test_a_hand_edit_of_a_generated_file_is_named_stale(clone: Path, artefact: str) -> None:
    path = clone / artefact
    old, new = EDITS[artefact]
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    assert generate.stale(Tree(clone)) == [path]
    assert generate.write(Tree(clone)) == [path]
    assert generate.stale(Tree(clone)) == []


def test_a_deleted_generated_file_is_named_stale(clone: Path) -> None:
    (clone / "charts/ibm-ep-network-policies/LICENSE").unlink()
    assert generate.stale(Tree(clone)) == [clone / "charts/ibm-ep-network-policies/LICENSE"]


def test_a_picture_not_drawn_from_todays_dot_is_named_stale(clone: Path) -> None:
    """The SVG is current when it carries the hash of today's DOT (Graphviz's SVG varies by version)."""
    svg = clone / "docs/connectivity.svg"
    stamp = picture.svg_stamp(svg.read_bytes())
    assert stamp == picture.dot_hash((clone / "docs/connectivity.dot").read_text())
    svg.write_bytes(svg.read_bytes().replace(stamp.encode(), b"0" * 64))
    assert generate.stale(Tree(clone)) == [svg]
    assert generate.write(Tree(clone)) == [svg]
    assert generate.stale(Tree(clone)) == []
    svg.unlink()
    assert generate.stale(Tree(clone)) == [svg]


def test_the_picture_is_not_drawn_when_nca_disagrees(clone: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make generate` fails naming the flows, and writes nothing, when nca contradicts the picture."""
    svg = clone / "docs/connectivity.svg"
    svg.unlink()
    monkeypatch.setattr(readme_picture, "nca_disagreement", lambda: "allowed but not expected (extra):\n  x -> y: 1")
    with pytest.raises(picture.PictureError, match="x -> y: 1"):
        generate.write(Tree(clone))
    assert not svg.exists()


def test_a_source_change_makes_its_artefacts_stale(clone: Path) -> None:
    """A description edited in the schema reaches values.yaml and the chart's README (its values
    reference; the root README links there)."""
    schema = clone / "charts/ibm-ep-network-policies/values.schema.json"
    schema.write_text(
        schema.read_text().replace(
            "Name of the deny-all policy (the page's).", "Name of the deny-all policy (the page's), edited.", 1
        )
    )
    assert sorted(generate.stale(Tree(clone))) == sorted(
        clone / p for p in ("charts/ibm-ep-network-policies/README.md", "charts/ibm-ep-network-policies/values.yaml")
    )


def test_the_check_command_fails_naming_the_file_and_writes_nothing(clone: Path) -> None:
    """What `make verify-generated` runs."""
    values = clone / "charts/ibm-ep-network-policies/values.yaml"
    edited = values.read_text().replace("# -- Cluster DNS", "# -- The cluster DNS", 1)
    values.write_text(edited)
    proc = subprocess.run(
        [sys.executable, "-m", "tools.generate", "--check", "--root", str(clone)],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr == "stale: charts/ibm-ep-network-policies/values.yaml (run `make generate`)\n"
    assert values.read_text() == edited


def _descriptions(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            yield node["description"]
        for value in node.values():
            yield from _descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from _descriptions(value)


def test_values_yaml_carries_no_prose_but_the_schemas() -> None:
    """Each comment block of values.yaml after its opening one is, unwrapped, one schema description
    (a value that defaults to null: followed by what null means, from the chart's _defaults.tpl)."""
    plain = set(_descriptions(Tree().schema))
    means = {null_default_text(key) for key in null_defaults()}
    descriptions = plain | {f"{d} Null means {m}." for d in plain for m in means}
    text = (CHART / "values.yaml").read_text()
    blocks: list[list[str]] = [[]]
    for line in text[text.index("\n\n") :].splitlines():
        if line.strip().startswith("#"):
            blocks[-1].append(line.strip().removeprefix("# --").removeprefix("#").strip())
        elif blocks[-1]:
            blocks.append([])
    blocks = [b for b in blocks if b]
    assert len(blocks) > 80
    for block in blocks:
        assert " ".join(block) in descriptions, block


def test_values_yaml_comments_are_helm_docs_style() -> None:
    """`# -- ` above every documented key (helm-docs reads these), the values unchanged."""
    text = (CHART / "values.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(("deployOperatorNetworkPolicy:", "webhookPort:", "egressWithoutDns:")):
            j = i - 1
            while lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
                j -= 1
            assert lines[j].strip().startswith("# -- "), line
    assert yaml.safe_load(text)["flink"]["ports"]["rest"] == 8081


def test_every_decision_is_in_the_charts_readme() -> None:
    text = (CHART / "README.md").read_text()
    for decision in facts.decisions():
        assert f"**{decision}**" in text


def test_an_unknown_section_or_placeholder_fails_naming_it(tmp_path: Path) -> None:
    known = readme.sections(Tree().schema, Tree().meta, Tree().prose)
    with pytest.raises(KeyError, match="no-such-section"):
        readme.fill("<!-- no-such-section:start -->\n<!-- no-such-section:end -->", known, tmp_path / "x.md")
    with pytest.raises(KeyError, match="noSuchKey"):
        readme.substitute("{{noSuchKey}}", readme.placeholders(Tree().meta), tmp_path / "x.md")


def test_values_keys_named_in_the_prose_sources_exist() -> None:
    """A key renamed in the schema fails here before a README sends users to it."""
    schema = Tree().schema
    for source in sorted(Tree().prose.glob("*.md")):
        for key in re.findall(r"`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)(?:=[^`]*)?`", source.read_text()):
            if key.split(".")[0] in schema["properties"]:
                node_at(schema, key)  # KeyError naming the key when it is gone


def _table_keys(text: str, section: str) -> list[str]:
    body = text.split(f"<!-- {section}:start -->", 1)[1].split(f"<!-- {section}:end -->", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", body, flags=re.M)


def test_every_group_switch_is_in_one_of_the_chart_readmes_switch_tables() -> None:
    """The page's switches and the ones beyond it: together every switch of the chart's group table,
    each once, so a new group reaches the README without a hand-kept list."""
    text = (CHART / "README.md").read_text()
    listed = _table_keys(text, "switches") + _table_keys(text, "beyond-the-page")
    assert len(listed) == len(set(listed)), listed
    assert set(group_switches()) <= set(listed)
    assert set(listed) - set(group_switches()) == set(readme.BEYOND_THE_PAGE_SETTINGS)


def test_a_schema_without_the_dns_label_pattern_is_refused_naming_it() -> None:
    """The shapes table tells a namespace (a DNS label) by $defs.namespace's pattern; without it the
    generator says so rather than failing on a missing key."""
    schema = json.loads((ROOT / "values-schema.json").read_text())
    del schema["$defs"]["namespace"]["pattern"]
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    with pytest.raises(ValueError, match=r"\$defs\.namespace\.pattern is missing"):
        shapes.shapes_tpl(schema, values)
