"""Session fixture: one real etcd + kube-apiserver for all e2e tests.

Without the binaries (built by `make e2e-tools`) the tests in this directory
are skipped with the reason shown; EPNP_REQUIRE_E2E=1 (set by `make e2e` and
CI) turns that into a failure, so a broken build can't pass as a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.e2e.controlplane import ControlPlane, missing_binaries
from tools.paths import BIN

HERE = Path(__file__).parent
REQUIRE = os.environ.get("EPNP_REQUIRE_E2E") == "1"


def _missing() -> list[Path]:
    return missing_binaries() + [p for p in (BIN / "helm", BIN / "helm3") if not os.access(p, os.X_OK)]


def pytest_report_header(config: pytest.Config) -> str:
    missing = _missing()
    if not missing:
        return f"e2e: real control plane from {BIN}"
    verdict = "FAIL (EPNP_REQUIRE_E2E=1)" if REQUIRE else "SKIP"
    return f"e2e: {verdict}: missing {', '.join(p.name for p in missing)}; run `make e2e-tools tools`"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing()
    if not missing or REQUIRE:
        return  # with REQUIRE, the fixture raises and every test errors out
    skip = pytest.mark.skip(
        reason=f"e2e binaries missing ({', '.join(map(str, missing))}): "
        "run `make e2e-tools tools`, or EPNP_REQUIRE_E2E=1 to fail"
    )
    for item in items:
        # This hook sees the whole session's items, not only this directory's.
        if item.path.is_relative_to(HERE):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # The header above is only printed when pytest starts in this directory;
    # from `pytest tests` (make test) this closing line is what says it.
    missing = _missing()
    if missing and not REQUIRE:
        terminalreporter.write_line(
            f"e2e: SKIPPED, missing {', '.join(p.name for p in missing)} in {BIN}: "
            "run `make e2e-tools` (or `make e2e`)",
            yellow=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def controlplane() -> Iterator[ControlPlane]:
    missing = _missing()
    if missing:
        pytest.fail(f"EPNP_REQUIRE_E2E=1 but missing: {', '.join(map(str, missing))}", pytrace=False)
    with ControlPlane.start() as cp:
        yield cp
