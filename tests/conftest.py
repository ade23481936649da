"""Shared fixtures (renders are cached per values, so the suite renders each case once), and the
skip policy (tests/skips.py): the report header names what skips and why; with CI=true a skip fails."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import skips
from tools import paths
from tools.render import Obj, render

# Values files every render check runs on: the max config and the README's worked examples.
VALUES_FILES = {"max": paths.MAX_VALUES, **{f"example-{p.stem}": p for p in paths.examples()}}

_cache: dict[str, list[Obj]] = {}


def rendered(values: dict[str, Any] | None = None) -> list[Obj]:
    """render(values), memoised: many tests look at the same few renders."""
    key = json.dumps(values or {}, sort_keys=True)
    if key not in _cache:
        _cache[key] = render(values)
    return _cache[key]


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [p for p in (paths.HELM, paths.HELM3, paths.KUBECONFORM, paths.HELM_UNITTEST) if not p.exists()]
    if missing:
        raise pytest.UsageError(f"tools missing ({', '.join(map(str, missing))}): run `make tools` first")


def pytest_report_header(config: pytest.Config) -> list[str]:
    return skips.header()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With CI=true a skipped test is a failed one (xfail aside), its reason kept."""
    report = yield
    if skips.CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"CI=true: a skipped test fails the run. {reason}"
    return report
