"""The repository's habits: what a reader meets says what and why (no bare "issue N" references), the
pre-commit hooks run exactly what `make lint` and `make verify-generated` run, and `make test-fast`
leaves out exactly the slow layers; one owner per assertion (no suite asserts the schema's messages,
spells the chart's version or sets the whole page by hand)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from fnmatch import fnmatch
from typing import Any

import yaml

from tools.mutate.runner import SLOW
from tools.paths import REPO_CHART, ROOT
from tools.scenarios import FULL_PAGE

ISSUE_REFERENCE = re.compile(r"\bissues? ?#?\d+\b|\(issue[:,)]", re.I)
# Files the check leaves out, and why.
NOT_CHECKED = {
    "LICENSE": "the Apache License's own text",
    "charts/ibm-ep-network-policies/LICENSE": "a copy of LICENSE",
    "README.md": "being restructured into docs/ by its own change, which drops them",
    "tests/test_conventions.py": "the pattern's own examples",
}


def tracked() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted(f for f in out.split("\0") if f and f not in NOT_CHECKED and (ROOT / f).is_file())


def test_no_file_refers_to_an_issue_by_number() -> None:
    """Code, Makefile fragments, facts and docs say what and why: an issue number means nothing to a reader."""
    found = []
    for name in tracked():
        try:
            text = (ROOT / name).read_text()
        except UnicodeDecodeError:
            continue  # binary
        found += [
            f"{name}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if ISSUE_REFERENCE.search(line)
        ]
    assert not found, "\n".join(found)


def test_the_issue_pattern_finds_what_it_should() -> None:
    for text in ("(issue 4)", "issue 10, item 6", "Issue 8's bar", "issue #12", "(issue: egress)"):
        assert ISSUE_REFERENCE.search(text), text
    assert not ISSUE_REFERENCE.search("issue tracking systems; the kubernetes issuer")


def lint_prerequisites() -> list[str]:
    """The targets `make lint` runs (its prerequisites in tools/make/lint.mk)."""
    [line] = [ln for ln in (ROOT / "tools/make/lint.mk").read_text().splitlines() if ln.startswith("lint:")]
    return line.split(":", 1)[1].split("##")[0].split()


def test_pre_commit_runs_make_lints_linters_and_verify_generated_locally() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [r["repo"] for r in config["repos"]] == ["local"], "no hook is fetched from the network"
    hooks = [h for r in config["repos"] for h in r["hooks"]]
    assert all(h["language"] == "system" and h["pass_filenames"] is False for h in hooks)
    assert [h["entry"] for h in hooks] == [f"make {t}" for t in [*lint_prerequisites(), "verify-generated"]]
    assert all(h["id"] == h["entry"].removeprefix("make ") for h in hooks)


def collected(target: str) -> list[str]:
    """The test modules a make target's pytest runs collect, once per run that collects them (from
    `make -n`, which still descends into the recursive makes: each run's paths, --ignore and
    --ignore-glob)."""
    # Not the calling make's flags or variables: under `make test-fast`, its CONNECTIVITY_ARGS (in the
    # environment and in MAKEFLAGS) would reach this make too.
    calling = ("MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL", "CONNECTIVITY_ARGS")
    env = {k: v for k, v in os.environ.items() if k not in calling}
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", target], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    out: list[str] = []
    for line in dry.splitlines():
        words = shlex.split(line)
        if "pytest" not in words:
            continue
        args = words[words.index("pytest") + 1 :]
        ignored = [a.removeprefix("--ignore=") for a in args if a.startswith("--ignore=")]
        globs = [a.removeprefix("--ignore-glob=") for a in args if a.startswith("--ignore-glob=")]
        for top in (ROOT / a for a in args if not a.startswith("-")):
            for p in [top] if top.is_file() else sorted(top.rglob("test_*.py")):
                rel = p.relative_to(ROOT).as_posix()
                if not any(rel == i or rel.startswith(i + "/") for i in ignored) and not any(
                    fnmatch(rel, g) for g in globs
                ):
                    out.append(rel)
    return out


EVERY_MODULE = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py"))


def test_make_test_runs_every_test_module_exactly_once() -> None:
    """`make test` is several pytest runs (make lint's, two side by side, the e2e): together they
    collect every module, and none twice."""
    assert sorted(collected("test")) == EVERY_MODULE


def test_make_test_fast_leaves_out_the_slow_layers_only() -> None:
    """What test-fast leaves out is the mutation runner's SLOW (the control plane, the dataplane, the switch
    matrices); everything else runs once (test_lint.py in `make lint`, just before)."""
    fast = collected("test-fast")
    assert len(fast) == len(set(fast)), fast
    assert set(EVERY_MODULE) - set(fast) == {m for m in EVERY_MODULE if any(fnmatch(m, g) for g in SLOW)}


# --- one owner per assertion -----------------------------------------------------------------------

SUITES = sorted((REPO_CHART / "tests").rglob("*_test.yaml"))


def _suite_tests() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, t) for p in SUITES for t in yaml.safe_load(p.read_text())["tests"]]


def _dotted(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` and `{"a.b": 1}` both as `{"a.b": 1}` (maps whose keys hold dots stay values)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value and not any("." in k or "/" in k for k in value):
            out.update(_dotted(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def test_no_suite_asserts_a_schema_message() -> None:
    """The schema's messages (JSON pointers, `at '/flink/ports/rest': ...`) are tests/test_bad_input.py's."""
    found = [f"{name}: {t['it']}" for name, t in _suite_tests() for a in t["asserts"] if "at '" in str(a)]
    assert not found, "assert these in tests/test_bad_input.py:\n" + "\n".join(found)


def test_no_test_spells_the_chart_version() -> None:
    """A version bump edits Chart.yaml, CHANGELOG.md and the snapshot only: the standard labels are
    tests/test_defaults.py's, derived from Chart.yaml."""
    version = yaml.safe_load((REPO_CHART / "Chart.yaml").read_text())["version"]
    files = [*SUITES, *sorted((ROOT / "tests").rglob("*.py"))]
    spelled = re.compile(rf"(?<![\d.]){re.escape(version)}(?!\d)")
    found = [str(f.relative_to(ROOT)) for f in files if spelled.search(f.read_text())]
    assert not found, f"chart version {version} spelled in: {found}"


def test_no_suite_sets_the_whole_page_by_hand() -> None:
    """The whole page is one file, the chart's tests/full-page.yaml (tools.scenarios.FULL_PAGE): a suite
    that wants it reads it (`values: [full-page.yaml]`)."""
    page = _dotted(FULL_PAGE).items()
    found = [f"{name}: {t['it']}" for name, t in _suite_tests() if page <= _dotted(t.get("set") or {}).items()]
    assert not found, found
