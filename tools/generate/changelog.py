"""CHANGELOG.md (Keep a Changelog) read as data, and Chart.yaml's `artifacthub.io/changes` written from
its latest release, so the chart's history is kept in one place.

    ## [Unreleased]            changes not released yet (never in the annotation)
    ## [0.2.0] - 2026-11-29    a release: its version, its date
    ### Added                  a kind: Added, Changed, Deprecated, Removed, Fixed, Security
    - One change, which may    one entry; continuation lines are indented
      wrap.

ArtifactHub's kinds are the section names in lower case (its Helm annotations documentation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

KINDS = ("Added", "Changed", "Deprecated", "Removed", "Fixed", "Security")
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$")
UNRELEASED = "## [Unreleased]"
ANNOTATION = re.compile(r"^( *)artifacthub\.io/changes: \|\n(?:\1  .+\n)*", re.M)


class ChangelogError(ValueError):
    pass


@dataclass
class Release:
    version: str | None  # None: [Unreleased]
    date: str | None
    changes: list[tuple[str, str]] = field(default_factory=list)  # (kind, description)


def parse(text: str, source: str = "CHANGELOG.md") -> list[Release]:
    """The releases, newest first ([Unreleased] first when present); errors name the line."""
    releases: list[Release] = []
    kind: str | None = None
    for n, line in enumerate(text.splitlines(), 1):
        where = f"{source}:{n}"
        if line.startswith("## "):
            if line == UNRELEASED:
                if releases:
                    raise ChangelogError(f"{where}: [Unreleased] must be the first section")
                releases.append(Release(None, None))
            elif m := RELEASE.match(line):
                releases.append(Release(m[1], m[2]))
            else:
                raise ChangelogError(f"{where}: a section is `## [Unreleased]` or `## [x.y.z] - YYYY-MM-DD`: {line!r}")
            kind = None
        elif line.startswith("### "):
            kind = line[4:].strip()
            if kind not in KINDS or not releases:
                raise ChangelogError(f"{where}: {line!r} is not one of {', '.join(KINDS)} under a release")
        elif line.startswith("- ") and releases:
            if kind is None:
                raise ChangelogError(f"{where}: an entry before any `### <kind>` heading")
            releases[-1].changes.append((kind, line[2:].strip()))
        elif line.startswith("  ") and line.strip() and releases and releases[-1].changes:
            k, description = releases[-1].changes[-1]
            releases[-1].changes[-1] = (k, f"{description} {line.strip()}")
    versions = [r.version for r in releases if r.version]
    if len(set(versions)) != len(versions):
        raise ChangelogError(f"{source}: a version is listed twice: {versions}")
    if versions != sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True):
        raise ChangelogError(f"{source}: releases must be newest first: {versions}")
    for r in releases:
        if r.version and not r.changes:
            raise ChangelogError(f"{source}: [{r.version}] lists no change")
    return releases


def latest(releases: list[Release]) -> Release:
    released = [r for r in releases if r.version]
    if not released:
        raise ChangelogError("CHANGELOG.md has no release yet (`## [x.y.z] - YYYY-MM-DD`)")
    return released[0]


def annotation(release: Release) -> str:
    """ArtifactHub's `changes` list for one release, as the YAML the annotation holds."""
    entries = [{"kind": kind.lower(), "description": text} for kind, text in release.changes]
    return yaml.safe_dump(entries, sort_keys=False, width=10**6, allow_unicode=True)


def chart_yaml(chart_text: str, changelog_text: str) -> str:
    """Chart.yaml with its `artifacthub.io/changes` block written from the changelog's latest release,
    which must be Chart.yaml's version (a bump edits both)."""
    release = latest(parse(changelog_text))
    version = yaml.safe_load(chart_text)["version"]
    if str(version) != release.version:
        raise ChangelogError(
            f"Chart.yaml's version is {version} but CHANGELOG.md's latest release is {release.version}: "
            f"move the [Unreleased] entries under `## [{version}] - <date>` (docs/releasing.md)"
        )
    m = ANNOTATION.search(chart_text)
    if not m:
        raise ChangelogError("Chart.yaml has no `artifacthub.io/changes: |` annotation to write")
    indent = m[1] + "  "
    body = "".join(f"{indent}{line}\n" for line in annotation(release).splitlines())
    return f"{chart_text[: m.start()]}{m[1]}artifacthub.io/changes: |\n{body}{chart_text[m.end() :]}"
