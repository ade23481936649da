"""Apply each mutant to a private copy of the chart and run the tests against it.

A copy lives in its own temporary directory and is removed afterwards; the tests find
it through EPNP_CHART (tools/paths.py). The clone's chart is only ever read.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from tools import paths
from tools.mutate.operators import Mutant

# A template that no longer parses is a mutant no test needs to catch (it is not a chart).
STILLBORN = re.compile(
    r"(?<!YAML )parse error|function \"[^\"]+\" not defined|unexpected .* in |bad character|"
    r"wrong number of args|unclosed action|undefined variable"
)
# Never run against a mutant: the e2e layer and the whole-matrix connectivity check are
# slow (--thorough adds them); the mutation tests themselves would recurse; the README's
# staleness check fails for every schema change (a developer regenerates it, `make generate`);
# test_helm_unittest.py runs the same suites the runner already ran first; test_package.py and
# test_signing.py package fresh git clones of the repository, which never contain the mutant;
# test_layers.py, test_conventions.py and test_skips.py read the harness's code, the repository's
# files and the pages, never the chart. SLOW is also what `make test-fast` leaves out.
SLOW = ("tests/e2e/*", "tests/connectivity/test_matrix*.py")
# --quick, a developer's inner loop, also leaves out the connectivity layer (most of the time).
QUICK_SKIPS = ("tests/connectivity/*",)
NEVER = (
    "tests/mutate/*",
    "tests/test_generated*.py",
    "tests/test_helm_unittest.py",
    "tests/test_package.py",
    "tests/test_signing.py",
    "tests/test_layers.py",
    "tests/test_conventions.py",
    "tests/test_skips.py",
)
STAGE_TIMEOUT = 1200


@dataclass
class Stage:
    """One test command; `argv` gets the chart copy. `schema` False: a schema-only change
    cannot affect it (the no-schema suite skips validation), so schema mutants skip it."""

    name: str
    argv: Callable[[Path], list[str]]
    schema: bool = True
    seconds: float = 0.0


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed | survived | stillborn | equivalent | timeout
    killer: str = ""
    seconds: float = 0.0
    detail: str = field(default="", repr=False)


def copy_chart(source: Path, into: Path) -> Path:
    dest = into / source.name
    # symlinks kept: ci/ links to examples/, and test_ct checks they are links
    shutil.copytree(source, dest, symlinks=True, ignore=shutil.ignore_patterns("*.tmp"))
    return dest


def apply(mutant: Mutant, chart: Path) -> None:
    for rel, text in mutant.files.items():
        target = (chart / rel).resolve()
        if chart.resolve() not in target.parents:
            raise ValueError(f"{rel} is outside the chart copy")
        target.write_text(text)


def unittest_stages(chart: Path) -> list[Stage]:
    """The chart's helm-unittest suites, as `make unittest` runs them, one stage per suite
    file so the one a mutant breaks answers in a second."""
    ut = str(paths.HELM_UNITTEST)
    stages = []
    for suite in sorted((chart / "tests").glob("*_test.yaml")):
        rel = suite.relative_to(chart).as_posix()
        stages.append(Stage(f"helm-unittest {rel}", _command(ut, "--strict", "--color=false", "-f", rel)))
    for suite in sorted((chart / "tests" / "no-schema").glob("*_test.yaml")):
        rel = suite.relative_to(chart).as_posix()
        stages.append(
            Stage(
                f"helm-unittest {rel}",
                _command(ut, "--strict", "--color=false", "--skip-schema-validation", "-f", rel),
                schema=False,
            )
        )
    return stages


def pytest_modules(thorough: bool = False, quick: bool = False) -> list[str]:
    """The pytest modules a mutant runs (relative to ROOT), before ordering."""
    skip = NEVER + (() if thorough else SLOW) + (QUICK_SKIPS if quick else ())
    rels = (p.relative_to(paths.ROOT).as_posix() for p in sorted((paths.ROOT / "tests").rglob("test_*.py")))
    return [rel for rel in rels if not any(fnmatch(rel, g) for g in skip)]


def _pytest(modules: Sequence[str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-rfE",
        "--no-header",
        "-p",
        "no:cacheprovider",
        *extra,
        *modules,
    ]


def _command(*argv: str) -> Callable[[Path], list[str]]:
    """A stage's command: `argv`, then the chart copy."""
    return lambda chart: [*argv, str(chart)]


def _pytest_command(modules: Sequence[str]) -> Callable[[Path], list[str]]:
    """pytest finds the chart through EPNP_CHART, not its arguments."""
    return lambda chart: _pytest(modules)


def _env(chart: Path) -> dict[str, str]:
    return {**os.environ, "EPNP_CHART": str(chart), "PYTHONDONTWRITEBYTECODE": "1"}


def _run(argv: list[str], chart: Path, timeout: float = STAGE_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=paths.ROOT, env=_env(chart), capture_output=True, text=True, timeout=timeout)


def measure(source: Path, modules: Sequence[str], stages: Sequence[Stage]) -> list[Stage]:
    """Run every stage on the unmutated chart: it must pass (else every mutant would look
    killed), and its times order the stages, fastest first, helm-unittest before pytest."""
    with tempfile.TemporaryDirectory(prefix="epnp-mutate-base-") as tmp:
        chart = copy_chart(source, Path(tmp))
        timed: list[Stage] = []
        for stage in stages:
            t0 = time.monotonic()
            proc = _run(stage.argv(chart), chart)
            if proc.returncode != 0:
                raise SystemExit(
                    f"baseline: {stage.name} fails on the unmutated chart:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
                )
            timed.append(Stage(stage.name, stage.argv, stage.schema, time.monotonic() - t0))
        junit = Path(tmp) / "junit.xml"
        proc = _run(_pytest(modules, f"--junitxml={junit}"), chart)
        if proc.returncode != 0:
            raise SystemExit(f"baseline: pytest fails on the unmutated chart:\n{proc.stdout[-4000:]}")
        per_module: dict[str, float] = defaultdict(float)
        for case in ET.parse(junit).iter("testcase"):
            per_module[_module_of(case.get("classname", ""), case.get("file"))] += float(case.get("time", 0))
    ordered = sorted(modules, key=lambda m: per_module.get(m, 0.0))
    timed += [Stage(m, _pytest_command([m]), seconds=per_module.get(m, 0.0)) for m in ordered]
    return timed


def _module_of(classname: str, file: str | None) -> str:
    if file:
        return file
    parts = classname.split(".")
    # classname is the dotted module path, plus the class for methods
    for n in range(len(parts), 0, -1):
        cand = "/".join(parts[:n]) + ".py"
        if (paths.ROOT / cand).exists():
            return cand
    return classname


class Scheduler:
    """Orders a mutant's test stages: the helm-unittest suite named after the mutated
    template first, then by expected time to a kill (a stage's baseline time divided by how
    often it killed when it ran, with a prior of one kill in two runs), the runs and kills
    pooled from two histories: the mutant's operator's and its file's. The file's is what converges: the
    mutants of one template die in the same few tests (every _apirules.tpl mutant in
    test_api_server_rules.py, 11 s, after 80 s of modules that never kill them). Order only
    changes how soon a mutant dies, never whether it does: every stage runs until one fails.
    Pytest modules run in one process (one start-up), ordered the same way."""

    def __init__(self, stages: Sequence[Stage]):
        self.unit = [s for s in stages if not s.name.endswith(".py")]
        self.modules = [s for s in stages if s.name.endswith(".py")]
        self.runs: Counter[tuple[str, str]] = Counter()
        self.kills: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def _cost(self, mutant: Mutant, name: str, seconds: float) -> float:
        keys = (mutant.operator, mutant.file)
        runs, kills = (sum(c[k, name] for k in keys) for c in (self.runs, self.kills))
        return max(seconds, 0.05) * (runs + 2) / (kills + 1)

    def plan(self, mutant: Mutant) -> list[Stage]:
        own = f"/{Path(mutant.file).stem}_test.yaml"
        with self.lock:
            modules = [s.name for s in sorted(self.modules, key=lambda s: self._cost(mutant, s.name, s.seconds))]
            seconds = sum(s.seconds for s in self.modules)
            staged = self.unit + ([Stage("pytest", _pytest_command(modules), seconds=seconds)] if modules else [])
            return sorted(staged, key=lambda s: (not s.name.endswith(own), self._cost(mutant, s.name, s.seconds)))

    def record(self, mutant: Mutant, ran: Sequence[str], killers: Sequence[str]) -> None:
        """`ran`: the stages (and pytest modules) that ran; `killers`: the ones that failed."""
        with self.lock:
            for key in (mutant.operator, mutant.file):
                for name in ran:
                    self.runs[key, name] += 1
                for name in killers:
                    self.kills[key, name] += 1


def _first_failure(proc: subprocess.CompletedProcess[str]) -> str:
    """pytest's first failing node id, or helm-unittest's failing test."""
    m = re.search(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.M)
    if m:
        return m.group(1)
    m = re.search(r"^\s*FAIL\s+.*?\t\S*?(tests/\S+)\n\s*- (.+)$", proc.stdout, re.M)
    return f"{m.group(1)}: {m.group(2).strip()}" if m else f"exit {proc.returncode}"


def stillborn(chart: Path, helm: Path = paths.HELM) -> str:
    """helm's message when the mutated chart does not even parse, else ''."""
    proc = subprocess.run([str(helm), "template", "mutant", str(chart)], capture_output=True, text=True)
    return proc.stderr.strip() if proc.returncode and STILLBORN.search(proc.stderr) else ""


def run_one(
    mutant: Mutant, source: Path, scheduler: Scheduler, helm: Path = paths.HELM, tmp_root: Path | None = None
) -> Result:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="epnp-mutant-", dir=tmp_root) as tmp:
        chart = copy_chart(source, Path(tmp))
        apply(mutant, chart)
        if why := stillborn(chart, helm):
            return Result(mutant, "stillborn", "helm", time.monotonic() - t0, why)
        schema_only = all(rel.endswith(".json") for rel in mutant.files)
        ran: list[str] = []  # stages and pytest modules that ran, for the scheduler's odds
        for stage in scheduler.plan(mutant):
            if schema_only and not stage.schema:
                continue
            argv = stage.argv(chart)
            try:
                proc = _run(argv, chart)
            except subprocess.TimeoutExpired:
                return Result(mutant, "timeout", stage.name, time.monotonic() - t0)
            modules = argv[len(_pytest([])) :] if stage.name == "pytest" else []
            if proc.returncode == 0:
                ran += [stage.name, *modules]
                continue
            failure = _first_failure(proc)
            if stage.name == "pytest":
                module = failure.split("::")[0]
                ran += ["pytest", *(modules[: modules.index(module) + 1] if module in modules else modules)]
                scheduler.record(mutant, ran, ["pytest", module])
                killer = failure
            else:
                scheduler.record(mutant, [*ran, stage.name], [stage.name])
                killer = stage.name if failure.startswith("exit ") else f"helm-unittest {failure}"
            return Result(mutant, "killed", killer, time.monotonic() - t0, proc.stdout[-2000:])
        scheduler.record(mutant, ran, [])
    return Result(mutant, "survived", "", time.monotonic() - t0)


def run_all(
    mutants: Iterable[Mutant],
    source: Path,
    stages: Sequence[Stage],
    jobs: int = 2,
    progress: Callable[[int, int, Result], None] | None = None,
    helm: Path = paths.HELM,
) -> list[Result]:
    """Every mutant, at most two at a time (the machine has two cores)."""
    todo = list(mutants)
    scheduler = Scheduler(stages)
    results: list[Result] = []
    # One parent for every copy, removed even when the run is interrupted.
    with (
        tempfile.TemporaryDirectory(prefix="epnp-mutate-") as root,
        ThreadPoolExecutor(max_workers=max(1, min(jobs, 2))) as pool,
    ):
        futures = [pool.submit(run_one, m, source, scheduler, helm, Path(root)) for m in todo]
        try:
            for i, future in enumerate(as_completed(futures), 1):
                results.append(future.result())
                if progress:
                    progress(i, len(todo), results[-1])
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    order = {id(m): i for i, m in enumerate(todo)}
    return sorted(results, key=lambda r: order[id(r.mutant)])


def reuse(timings: Sequence[dict[str, object]], modules: Sequence[str], unit: Sequence[Stage]) -> list[Stage]:
    """The stages with a previous run's baseline times (no new baseline run)."""
    seconds = {str(t["name"]): float(str(t["seconds"])) for t in timings}
    return [Stage(s.name, s.argv, s.schema, seconds.get(s.name, 0.0)) for s in unit] + [
        Stage(m, _pytest_command([m]), seconds=seconds.get(m, 0.0)) for m in modules
    ]
