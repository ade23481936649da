"""`make package`: two fresh clones of one commit package byte-identical archives (helm v4,
SOURCE_DATE_EPOCH from the commit), holding exactly what helm packages from the chart; ci/ and the
helm-unittest suites stay out of the package, the worked examples ship. The repository's address is a
release-time input (REPO_URL), in the packaged Chart.yaml only, and publishing requires it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import paths

MAKE_VARS = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SOURCE_DATE_EPOCH")


def clean_env() -> dict[str, str]:
    """The caller's environment without make's (when run from `make test`) or a release's epoch."""
    return {k: v for k, v in os.environ.items() if k not in MAKE_VARS and not k.startswith("HELM_")}


def git(*args: str, cwd: Path = paths.ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def make_package(repo: Path, dist: Path, *make_vars: str) -> Path:
    proc = subprocess.run(
        ["make", "-C", str(repo), "package", f"DIST={dist}", *make_vars],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (archive,) = dist.glob("*.tgz")
    return archive


def helm_package(chart: Path, dist: Path) -> Path:
    """Plain `helm package`: file times as the checkout left them."""
    subprocess.run(
        [str(paths.HELM), "package", str(chart), "--destination", str(dist)],
        env=clean_env(),
        capture_output=True,
        check=True,
    )
    (archive,) = dist.glob("*.tgz")
    return archive


def members(archive: Path) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(archive) as tar:
        return {m.name: (m, tar.extractfile(m).read()) for m in tar.getmembers()}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def clones(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two clones of HEAD; the second with every file an hour older, as a clone made at another
    time would be (two clones in the same second would agree by luck)."""
    head = git("rev-parse", "HEAD")
    out = []
    for name in ("a", "b"):
        dest = tmp_path_factory.mktemp("clone") / name
        git("clone", "--quiet", "--no-checkout", str(paths.ROOT), str(dest))
        git("checkout", "--quiet", "--detach", head, cwd=dest)
        out.append(dest)
    then = time.time() - 3600
    for f in out[1].rglob("*"):
        os.utime(f, (then, then), follow_symlinks=False)
    return out[0], out[1]


def test_two_clones_package_byte_identical_archives(clones: tuple[Path, Path], tmp_path: Path) -> None:
    a, b = (make_package(c, tmp_path / c.name) for c in clones)
    assert a.name == b.name
    assert a.read_bytes() == b.read_bytes(), (
        hashlib.sha256(a.read_bytes()).hexdigest(),
        hashlib.sha256(b.read_bytes()).hexdigest(),
    )
    # Every file carries the commit's time, not the checkout's.
    commit_time = int(git("log", "-1", "--format=%ct", cwd=clones[0]))
    assert {m.mtime for m, _ in members(a).values()} == {commit_time}
    # The clones do differ where it matters: plain helm package tells them apart.
    plain_a, plain_b = (helm_package(c / "charts" / paths.CHART.name, tmp_path / f"plain-{c.name}") for c in clones)
    assert plain_a.read_bytes() != plain_b.read_bytes()


def test_package_holds_exactly_what_helm_packages_from_the_chart(clones: tuple[Path, Path], tmp_path: Path) -> None:
    ours = members(make_package(clones[0], tmp_path / "ours"))
    plain = members(helm_package(clones[0] / "charts" / paths.CHART.name, tmp_path / "plain"))
    assert sorted(ours) == sorted(plain)
    for name, (info, data) in ours.items():
        assert data == plain[name][1], name
        assert (info.mode, info.uid, info.gid, info.uname, info.gname) == (0o644, 0, 0, "", ""), name


def test_package_ships_the_examples_but_not_ci_or_the_unittest_suites(
    clones: tuple[Path, Path], tmp_path: Path
) -> None:
    names = members(make_package(clones[0], tmp_path / "dist"))
    top = {n.split("/")[1] for n in names}
    assert "examples" in top and "templates" in top
    # ci/ is chart-testing's (links to examples/ and the max config); tests/ is helm-unittest's
    assert not {"ci", "tests"} & top, sorted(top)


# A repository address for the tests: the reserved .invalid domain, never a real one.
REPO_URL = "https://git.example.invalid/ibm-ep-network-policies"


def chart_yaml(archive: Path) -> dict[str, Any]:
    data = members(archive)[f"{paths.CHART.name}/Chart.yaml"][1]
    meta: dict[str, Any] = yaml.safe_load(data)
    return meta


def test_repo_url_names_the_repository_in_the_packaged_chart_yaml_only(
    clones: tuple[Path, Path], tmp_path: Path
) -> None:
    """`make package REPO_URL=...`: the packaged Chart.yaml names it (sources, the ArtifactHub link, the
    maintainers' contact), every other file is what plain helm packages, the tree is untouched, and two
    clones still package byte-identical archives."""
    a, b = (make_package(c, tmp_path / c.name, f"REPO_URL={REPO_URL}") for c in clones)
    assert a.read_bytes() == b.read_bytes()
    tree = yaml.safe_load((clones[0] / "charts" / paths.CHART.name / "Chart.yaml").read_text())
    meta = chart_yaml(a)
    assert REPO_URL not in (clones[0] / "charts" / paths.CHART.name / "Chart.yaml").read_text()
    assert meta["sources"] == [*tree.get("sources", []), REPO_URL]
    links = yaml.safe_load(meta["annotations"]["artifacthub.io/links"])
    assert links == [
        *yaml.safe_load(tree["annotations"]["artifacthub.io/links"]),
        {
            "name": "Source repository",
            "url": REPO_URL,
        },
    ]
    assert [m["name"] for m in meta["maintainers"]] == [m["name"] for m in tree["maintainers"]]
    assert all(m.get("url") == REPO_URL for m in meta["maintainers"] if not m.get("email"))
    rest = {k: v for k, v in meta.items() if k not in ("sources", "maintainers", "annotations")}
    assert rest == {k: v for k, v in chart_yaml(make_package(clones[0], tmp_path / "plain")).items() if k in rest}
    assert set(rest) | {"sources", "maintainers", "annotations"} == set(tree) | {"sources"}
    ours, plain = members(a), members(make_package(clones[0], tmp_path / "without"))
    assert sorted(ours) == sorted(plain)
    assert [n for n in ours if ours[n][1] != plain[n][1]] == [f"{paths.CHART.name}/Chart.yaml"]


@pytest.mark.parametrize("repo_url", ["", "http://git.example.invalid/x", "git.example.invalid/x"])
def test_publish_without_a_repository_address_fails_naming_repo_url(tmp_path: Path, repo_url: str) -> None:
    """The repository is a release-time input: `make publish` without a valid REPO_URL stops before it
    packages or pushes anything (the registry below does not exist)."""
    proc = subprocess.run(
        [
            "make",
            "-C",
            str(paths.ROOT),
            "publish",
            "REGISTRY=oci://127.0.0.1:9/charts",
            f"REPO_URL={repo_url}",
            f"DIST={tmp_path}",
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "REPO_URL" in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []
