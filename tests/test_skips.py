"""No silent skips (tests/skips.py): without the documentation pages the run's first lines name the
skipped checks and why; with CI=true the same run fails naming the missing pages; CI sets CI=true
itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools import facts
from tools.paths import ROOT


def run_without_pages(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest on the transcription tests, with an empty directory for the pages."""
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    environ.update(EPNP_SPEC_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_facts.py", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_without_the_pages_the_header_says_what_skips_and_the_run_passes(tmp_path: Path) -> None:
    proc = run_without_pages(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    head = proc.stdout.split("collected", 1)[0]
    assert "skips: these are SKIPPED (with CI=true they fail the run)" in head
    for page in facts.pages():
        assert f"the EP {page.releases} page ({tmp_path / page.spec.name}" in head
    assert " skipped" in proc.stdout.splitlines()[-1]


def test_with_ci_true_a_clone_without_the_pages_fails_naming_them(tmp_path: Path) -> None:
    proc = run_without_pages(tmp_path, CI="true")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "skips: CI=true: each of these FAILS the run" in proc.stdout.split("collected", 1)[0]
    assert "skipped" not in proc.stdout.splitlines()[-1]
    assert "CI=true: a skipped test fails the run. Skipped: the documentation page" in proc.stdout
    for page in facts.pages():
        assert str(tmp_path / page.spec.name) in proc.stdout


def test_ci_sets_ci_true_itself() -> None:
    """.ci/run does not rely on the CI machine's environment for the rule."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < next(i for i, ln in enumerate(lines) if "make test" in ln)
