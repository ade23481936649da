"""The chart as an earlier commit of the clone has it: `make diff FROM_REF=`/`FROM_VERSION=` and the
lifecycle run's upgrade from the previous version read it with git (no checkout, no network).

    chart_at(ref, into)      the chart at commit `ref`, extracted into `into`; (its path, the commit)
    version_commit(version)  the last commit of the main line whose chart has `version`
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import yaml

from tools.paths import CHART, ROOT


class HistoryError(Exception):
    """A ref or version the clone does not have; the message names the value given."""


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise HistoryError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def _chart_files(repo: Path, commit: str) -> list[str]:
    """charts/<name>/Chart.yaml of every chart in the commit."""
    listed = _git(repo, "ls-tree", "-r", "--name-only", commit, "charts/").split()
    return sorted(p for p in listed if p.count("/") == 2 and p.endswith("/Chart.yaml"))


def chart_at(ref: str, into: Path, repo: Path = ROOT) -> tuple[Path, str]:
    """The chart as commit `ref` of the clone has it, extracted into `into` (git archive, no checkout),
    and the commit."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True)
    if proc.returncode != 0:
        raise HistoryError(f"FROM_REF={ref}: not a commit of the clone at {repo}")
    commit = proc.stdout.decode().strip()
    charts = [str(Path(p).parent) for p in _chart_files(repo, commit)]
    if not charts:
        raise HistoryError(f"FROM_REF={ref}: commit {commit[:12]} has no chart under charts/")
    chosen = next((c for c in charts if Path(c).name == CHART.name), charts[0])
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit, chosen], capture_output=True)
    if archive.returncode != 0:
        raise HistoryError(f"FROM_REF={ref}: git archive: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / chosen, commit


def version_commit(version: str, repo: Path = ROOT) -> str:
    """The last commit of the clone's main line (first parents from HEAD) whose chart has `version`:
    the parent of the commit that moved Chart.yaml's version past it, or HEAD if none did."""
    commits = _git(repo, "rev-list", "--first-parent", "HEAD", "--", "charts/*/Chart.yaml").split()
    for i, c in enumerate(commits):
        for path in _chart_files(repo, c):
            if str(yaml.safe_load(_git(repo, "show", f"{c}:{path}")).get("version")) == version:
                return commits[i - 1] + "^" if i else "HEAD"
    raise HistoryError(f"FROM_VERSION={version}: no commit of this clone has the chart at version {version}")
