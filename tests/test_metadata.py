"""What a user sees before installing: Chart.yaml's metadata, the ArtifactHub annotations, the
licence, the package's contents and its README (`helm show readme`), on helm v4 and v3."""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import paths
from tools.generate import Tree
from tools.paths import CHART, REPO_CHART, ROOT

META: dict[str, Any] = yaml.safe_load((CHART / "Chart.yaml").read_text())
ANNOTATIONS: dict[str, str] = META["annotations"]
HELMS = {"helm4": paths.HELM, "helm3": paths.HELM3}
URL = re.compile(r"^https://[A-Za-z0-9.-]+(/[^\s]*)?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
# ArtifactHub's vocabularies (its Helm annotations documentation).
CHANGE_KINDS = {"added", "changed", "deprecated", "removed", "fixed", "security"}
CATEGORIES = {
    "ai-machine-learning",
    "database",
    "integration-delivery",
    "monitoring-logging",
    "networking",
    "security",
    "storage",
    "streaming-messaging",
}
DOCS_PAGE = "https://ibm.github.io/event-automation/ep/security/network-policies/"


def _addresses(meta: dict[str, Any]) -> list[str]:
    """Every address Chart.yaml sends a user to."""
    links = yaml.safe_load(meta.get("annotations", {}).get("artifacthub.io/links") or "[]")
    return [
        meta["home"],
        *meta.get("sources", []),
        *(m["url"] for m in meta.get("maintainers", []) if "url" in m),
        *([meta["icon"]] if "icon" in meta else []),
        *(link["url"] for link in links),
    ]


def test_chart_yaml_names_no_address_but_the_documentation_page() -> None:
    """No invented addresses: home is IBM's page; the repository is a release-time input (`make package
    REPO_URL=...`, tests/test_package.py), so the tree has no `sources` and no repository link."""
    assert META["home"] == DOCS_PAGE
    assert "sources" not in META, "the repository's address comes from REPO_URL at release time"
    assert set(_addresses(META)) == {DOCS_PAGE}, _addresses(META)


def test_maintainers_have_names() -> None:
    """chart-testing refuses a chart without maintainers, and a maintainer without a name (its schema);
    the contact of one without a url or email is the repository, added with REPO_URL."""
    assert META["maintainers"]
    for m in META["maintainers"]:
        assert m.get("name"), m
        assert not m.get("url") or URL.match(m["url"]), m
        assert not m.get("email") or EMAIL.match(m["email"]), m


def test_version_is_semver() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", META["version"])


def test_artifacthub_changes_are_kind_and_description_entries() -> None:
    changes = yaml.safe_load(ANNOTATIONS["artifacthub.io/changes"])
    assert isinstance(changes, list) and changes
    for change in changes:
        assert set(change) <= {"kind", "description", "links"}, change
        assert change["kind"] in CHANGE_KINDS, change
        assert isinstance(change["description"], str) and change["description"].strip(), change
        for link in change.get("links", []):
            assert set(link) == {"name", "url"} and URL.match(link["url"]), link


def test_artifacthub_links_name_the_documentation_page() -> None:
    links = yaml.safe_load(ANNOTATIONS["artifacthub.io/links"])
    assert all(set(link) == {"name", "url"} and URL.match(link["url"]) for link in links), links
    assert [link["url"] for link in links] == [DOCS_PAGE]


def test_category_and_documentation_release() -> None:
    assert ANNOTATIONS["artifacthub.io/category"] in CATEGORIES
    # The release whose page the defaults reproduce (TEAM: the seed page is EP 1.0's), as a string.
    assert ANNOTATIONS["ibm.com/ep-docs-release"] == "1.0"
    assert "Network policies" in ANNOTATIONS["source-doc"]


def test_license_file_matches_the_annotation() -> None:
    assert ANNOTATIONS["artifacthub.io/license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert (CHART / "LICENSE").read_text() == text  # the package's copy (make generate keeps it)


def test_artifacthub_repo_metadata() -> None:
    meta = yaml.safe_load((ROOT / "artifacthub-repo.yml").read_text())
    assert set(meta) <= {"repositoryID", "owners", "ignore"}, meta
    assert meta["owners"] and all(o.get("name") for o in meta["owners"])
    assert all(EMAIL.match(o["email"]) for o in meta["owners"] if "email" in o)
    if "repositoryID" in meta:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", meta["repositoryID"])


def test_examples_install_commands_name_files_that_exist() -> None:
    """Each example's comment shows a helm command a user can paste from the repository's root."""
    for example in sorted((CHART / "examples").glob("*.yaml")):
        for path in re.findall(r"-f (\S+)", example.read_text()):
            assert (ROOT / path).is_file(), f"{example.name}: -f {path} does not exist from the repository root"


def package(chart: Path, destination: Path, helm: Path = paths.HELM) -> Path:
    out = subprocess.run(
        [str(helm), "package", str(chart), "--destination", str(destination)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return Path(out.strip().rsplit(": ", 1)[1])


def test_package_ships_readme_license_and_template_tests_but_not_the_unittest_suites(tmp_path: Path) -> None:
    """`/tests/` in .helmignore is anchored: a hook under templates/tests/ ships, helm-unittest's suites do not."""
    chart = tmp_path / "chart" / META["name"]
    shutil.copytree(CHART, chart, symlinks=True)
    (chart / "templates" / "tests").mkdir()
    (chart / "templates" / "tests" / "test-connection.yaml").write_text("# a helm test hook would go here\n")
    with tarfile.open(package(chart, tmp_path)) as tgz:
        names = {n.removeprefix(f"{META['name']}/") for n in tgz.getnames()}
    assert {
        "README.md",
        "LICENSE",
        "Chart.yaml",
        "values.yaml",
        "values.schema.json",
        "templates/tests/test-connection.yaml",
    } <= names
    assert not any(n.startswith("tests/") for n in names), sorted(names)
    assert any(n.startswith("examples/") for n in names)


@pytest.mark.parametrize("helm", sorted(HELMS))
def test_helm_show_readme_of_the_package_prints_the_generated_readme(tmp_path: Path, helm: str) -> None:
    # The repository's chart, also under EPNP_CHART: the README is generated from the repository's sources.
    archive = package(REPO_CHART, tmp_path, HELMS[helm])
    shown = subprocess.run(
        [str(HELMS[helm]), "show", "readme", str(archive)], capture_output=True, text=True, check=True
    ).stdout
    generated = Tree().artefacts()[REPO_CHART / "README.md"]()
    assert shown == generated + "\n"  # the file, byte for byte, and the newline helm prints after it
    assert (REPO_CHART / "README.md").read_text() == generated


@pytest.mark.parametrize("helm", sorted(HELMS))
def test_helm_show_chart_of_the_package_carries_the_metadata(tmp_path: Path, helm: str) -> None:
    archive = package(CHART, tmp_path, HELMS[helm])
    shown = yaml.safe_load(
        subprocess.run(
            [str(HELMS[helm]), "show", "chart", str(archive)], capture_output=True, text=True, check=True
        ).stdout
    )
    for key in ("home", "maintainers", "annotations", "version", "kubeVersion"):
        assert shown[key] == META[key], key
    assert "sources" not in shown  # without REPO_URL, no repository is named
