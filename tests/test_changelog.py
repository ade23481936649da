"""CHANGELOG.md is the chart's one history (Keep a Changelog), and Chart.yaml's ArtifactHub
`changes` annotation is its latest release, generated: a version bump edits Chart.yaml and the
changelog, and `make generate` does the rest."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tools import generate
from tools.generate import Tree, changelog
from tools.paths import CHART, ROOT

TEXT = (ROOT / "CHANGELOG.md").read_text()
META = yaml.safe_load((CHART / "Chart.yaml").read_text())


def test_the_changelog_keeps_a_changelog() -> None:
    releases = changelog.parse(TEXT)
    assert TEXT.startswith("# Changelog\n")
    assert releases[0].version is None, "[Unreleased] comes first, for the next release's entries"
    assert [r.version for r in releases[1:]][-1] == "0.1.0"
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r.date or "") for r in releases[1:])


def test_the_latest_release_is_chart_yamls_version_and_its_changes_are_the_annotation() -> None:
    release = changelog.latest(changelog.parse(TEXT))
    assert release.version == str(META["version"])
    shipped = yaml.safe_load(META["annotations"]["artifacthub.io/changes"])
    assert shipped == [{"kind": k.lower(), "description": d} for k, d in release.changes]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """A copy of the files the Chart.yaml and README artefacts are made from."""
    for rel in ("CHANGELOG.md", "README.md", "LICENSE"):
        shutil.copy2(ROOT / rel, tmp_path / rel)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(CHART, tmp_path / "charts" / CHART.name, symlinks=True)
    return Tree(tmp_path)


def test_a_version_bump_without_its_release_in_the_changelog_fails_naming_both(tree: Tree) -> None:
    chart_yaml = tree.chart / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace(f"version: {META['version']}", "version: 9.0.0", 1))
    with pytest.raises(changelog.ChangelogError, match=r"9\.0\.0.*CHANGELOG\.md.*\[Unreleased\]"):
        generate.stale(tree)


def test_a_release_moved_out_of_unreleased_reaches_the_annotation(tree: Tree) -> None:
    """The release steps of docs/releasing.md: Unreleased becomes 9.0.0, Chart.yaml says 9.0.0, and
    `make generate` writes the annotation (and the READMEs' version) from them."""
    unreleased = changelog.parse(TEXT)[0]
    log = tree.root / "CHANGELOG.md"
    log.write_text(log.read_text().replace("## [Unreleased]", "## [Unreleased]\n\n## [9.0.0] - 2027-01-01", 1))
    chart_yaml = tree.chart / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace(f"version: {META['version']}", "version: 9.0.0", 1))
    assert chart_yaml in generate.stale(tree)
    generate.write(tree)
    assert generate.stale(tree) == []
    meta = yaml.safe_load(chart_yaml.read_text())
    assert yaml.safe_load(meta["annotations"]["artifacthub.io/changes"]) == [
        {"kind": k.lower(), "description": d} for k, d in unreleased.changes
    ]
    # everything else is as it was
    before = yaml.safe_load((CHART / "Chart.yaml").read_text())
    for m in (meta, before):
        del m["annotations"]["artifacthub.io/changes"], m["version"]
    assert meta == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("## [1.0.0] - 2026-11-26\n### Added\n- a\n## [Unreleased]\n", "must be the first section"),
        ("## [1.0.0] - 2026-11-26\n### New\n- a\n", "'### New' is not one of Added"),
        ("## [1.0.0] - 2026-11-26\n- a\n", "an entry before any"),
        ("## 1.0.0\n### Added\n- a\n", "a section is"),
        ("## [1.0.0] - 2026-11-26\n### Added\n- a\n## [1.1.0] - 2026-11-29\n### Added\n- b\n", "newest first"),
        ("## [1.1.0] - 2026-11-29\n### Added\n## [1.0.0] - 2026-11-26\n### Added\n- a\n", r"\[1\.1\.0\] lists no"),
    ],
)
def test_a_malformed_changelog_fails_naming_what(text: str, message: str) -> None:
    with pytest.raises(changelog.ChangelogError, match=message):
        changelog.parse(text)


def test_an_entry_may_wrap() -> None:
    [release] = changelog.parse("## [1.0.0] - 2027-01-01\n### Fixed\n- one change\n  that wraps\n- another\n")
    assert release.changes == [("Fixed", "one change that wraps"), ("Fixed", "another")]
