"""What some checks need beyond the tools `make tools` installs, and why they skip without it.

Nothing is skipped silently: the run's first lines (the report header, tests/conftest.py) name each
missing need and the checks it skips, and with CI=true a skipped test fails the run instead (as
EPNP_REQUIRE_E2E=1 does for the e2e tests), so CI never passes on a skip.

- The documentation pages (IBM's text, not kept in the clone): shared/spec/ beside the clone, or
  EPNP_SPEC_DIR (docs/spec-pages.md). Without them the transcription tests and the page-as-printed
  checks skip.
- The control plane's binaries (`make e2e-tools`): without them tests/e2e skips (tests/e2e/conftest.py).
- The dataplane lab (root, network namespaces, kube-router): without it the dataplane tests skip.
"""

from __future__ import annotations

import os

import pytest

from tools import facts
from tools.e2e.controlplane import missing_binaries
from tools.e2e.lab import unavailable
from tools.paths import BIN

# CI=true (set by .ci/run, and by most CI services): every skip fails the run.
CI = os.environ.get("CI") == "true"
PAGES_DOC = "docs/spec-pages.md"


def pages_reason(*pages: facts.Page) -> str | None:
    """Why a check of `pages` cannot run (the missing pages' paths), or None."""
    missing = [str(p.spec) for p in pages if not p.spec.exists()]
    if not missing:
        return None
    what = "the documentation page is" if len(missing) == 1 else "the documentation pages are"
    return f"{what} missing: {', '.join(missing)} (where the pages come from: {PAGES_DOC})"


def needs_pages(*pages: facts.Page) -> pytest.MarkDecorator:
    """Skip (fail, with CI=true) unless every one of `pages` is at hand."""
    reason = pages_reason(*pages)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def missing() -> list[tuple[str, str]]:
    """(what is missing, the checks it skips) for the report header; empty when nothing skips."""
    out = [
        (f"the EP {p.releases} page ({p.spec}; {PAGES_DOC})", "its transcription tests, the page-as-printed checks")
        for p in facts.pages()
        if not p.spec.exists()
    ]
    if e2e := [p.name for p in missing_binaries()]:
        out.append((f"{', '.join(e2e)} in {BIN} (`make e2e-tools`)", "tests/e2e (the real API server)"))
    if why := unavailable():
        out.append((f"the dataplane lab: {why}", "the dataplane tests (tests/e2e/test_dataplane*.py)"))
    return out


def header() -> list[str]:
    """The report header's lines: what skips and why, or that nothing does."""
    gone = missing()
    if not gone:
        return ["skips: none (the pages, the control plane and the dataplane lab are all here)"]
    verdict = "CI=true: each of these FAILS the run" if CI else "these are SKIPPED (with CI=true they fail the run)"
    return [f"skips: {verdict}:"] + [f"  {what}: {checks}" for what, checks in gone]
