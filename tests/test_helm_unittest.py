"""The chart's helm-unittest suites (charts/ibm-ep-network-policies/tests/) pass, and
the committed snapshots are current and still the page's objects.

helm-unittest writes into the chart it tests: it creates `tests/__snapshot__/` and
writes a suite's snapshot file when the file is missing or holds obsolete entries,
and passes while doing so. So every run here works on a private copy of the chart,
never on the shared tree, and the snapshot test compares the copy's snapshot files
after the run with the committed ones. A missing or stale snapshot fails; the fix is
`make unittest-update`, then reviewing the diff against the page.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from tools import facts, paths
from tools.scenarios import DENY, METRICS, METRICS_PORT

SNAPSHOT_DIR = Path("tests") / "__snapshot__"
SNAPSHOT_SUITE = "snapshot_test.yaml"
# The templates' own guards: meaningful only with the schema off (see the suite's header).
NO_SCHEMA_SUITES = "tests/no-schema/*_test.yaml"


def _copy_chart(tmp_path: Path) -> Path:
    """A copy of the chart, with its tests and snapshots, under the chart's own name."""
    dest = tmp_path / paths.CHART.name
    shutil.copytree(paths.CHART, dest, ignore=shutil.ignore_patterns("*.tmp"))
    return dest


def _unittest(chart: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(paths.HELM_UNITTEST), "--strict", "--color=false", *args, str(chart)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def _output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def _counts(proc: subprocess.CompletedProcess[str], line: str) -> dict[str, int]:
    """{'passed': 3, 'failed': 1, 'total': 4, ...} from the summary's `Tests:` (or other) line."""
    m = re.search(rf"^{line}:\s+(.*)$", proc.stdout, flags=re.M)
    assert m, f"no {line!r} line in helm-unittest's summary:\n{_output(proc)}"
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", m.group(1))}


def _defined(chart: Path, suites: str) -> tuple[int, int]:
    """(suites, tests) the suite files matching `suites` define: what a full run must report."""
    files = sorted(chart.glob(suites))
    return len(files), sum(len(yaml.safe_load(f.read_text())["tests"]) for f in files)


def _assert_passed(proc: subprocess.CompletedProcess[str], what: str, chart: Path, suites: str) -> None:
    assert proc.returncode == 0, f"helm-unittest failed ({what}):\n{_output(proc)}"
    # Every suite and test the files define ran and passed: a run that found no suite (a moved tests/
    # dir, a wrong glob) or skipped some also exits 0.
    n_suites, n_tests = _defined(chart, suites)
    assert n_tests > 0, f"no test in {suites}"
    assert _counts(proc, "Test Suites") == {"passed": n_suites, "total": n_suites}, _output(proc)
    assert _counts(proc, "Tests") == {"passed": n_tests, "total": n_tests}, _output(proc)


def _snapshot_suites(chart: Path) -> list[str]:
    """Suite files that use matchSnapshot; each must have a committed snapshot file."""
    return sorted(p.name for p in (chart / "tests").glob("*_test.yaml") if "matchSnapshot" in p.read_text())


def test_helm_unittest_suites_pass(tmp_path: Path):
    chart = _copy_chart(tmp_path)
    proc = _unittest(chart)
    _assert_passed(proc, f"{paths.CHART.relative_to(paths.ROOT)}, tests/*_test.yaml", chart, "tests/*_test.yaml")


def test_template_guards_hold_without_the_schema(tmp_path: Path):
    """The templates' guards (no empty selector, no port outside 1-65535, ...) are what
    stands when a user renders with --skip-schema-validation; these suites own their messages."""
    chart = _copy_chart(tmp_path)
    proc = _unittest(chart, "--skip-schema-validation", "-f", NO_SCHEMA_SUITES)
    _assert_passed(proc, f"--skip-schema-validation, {NO_SCHEMA_SUITES}", chart, NO_SCHEMA_SUITES)


def test_snapshots_are_committed_and_current(tmp_path: Path):
    committed = paths.CHART / SNAPSHOT_DIR
    suites = _snapshot_suites(paths.CHART)
    assert suites, "no suite uses matchSnapshot"
    missing = [s for s in suites if not (committed / f"{s}.snap").is_file()]
    assert not missing, f"no committed snapshot for {missing}: run `make unittest-update` and review the diff"

    chart = _copy_chart(tmp_path)
    proc = _unittest(chart, *[arg for s in suites for arg in ("-f", f"tests/{s}")])
    assert proc.returncode == 0, f"a snapshot no longer matches the render:\n{_output(proc)}"
    for suite in suites:
        snap = SNAPSHOT_DIR / f"{suite}.snap"
        assert (chart / snap).read_bytes() == (paths.CHART / snap).read_bytes(), (
            f"helm-unittest rewrote {snap} (snapshot entries added or gone): "
            f"run `make unittest-update` and review the diff\n{_output(proc)}"
        )


def test_a_stale_snapshot_fails_the_run(tmp_path: Path):
    """The premise of the test above: without --update-snapshot, a snapshot that no
    longer matches the render fails helm-unittest and is left as it is."""
    chart = _copy_chart(tmp_path)
    snap = chart / SNAPSHOT_DIR / f"{SNAPSHOT_SUITE}.snap"
    if not snap.is_file():
        pytest.fail(f"{snap.relative_to(chart)} is not committed")
    text = snap.read_text()
    assert "port: 8081" in text
    snap.write_text(text.replace("port: 8081", "port: 18081"))

    proc = _unittest(chart, "-f", f"tests/{SNAPSHOT_SUITE}")
    assert proc.returncode != 0, f"helm-unittest passed on a tampered snapshot:\n{_output(proc)}"
    assert "port: 18081" in snap.read_text(), "helm-unittest replaced a mismatching snapshot without --update-snapshot"

    proc = _unittest(chart, "-f", f"tests/{SNAPSHOT_SUITE}", "--update-snapshot")
    assert proc.returncode == 0, _output(proc)
    assert snap.read_text() == (paths.CHART / SNAPSHOT_DIR / f"{SNAPSHOT_SUITE}.snap").read_text()


def _snapshot_objects(test: str) -> dict[str, dict]:
    entries = yaml.safe_load((paths.CHART / SNAPSHOT_DIR / f"{SNAPSHOT_SUITE}.snap").read_text())
    assert test in entries, f"no snapshot entry {test!r}"
    objs = [yaml.safe_load(doc) for doc in entries[test].values()]
    return {o["metadata"]["name"]: o for o in objs}


@pytest.mark.parametrize(
    ("test", "switches", "metrics_port"),
    [
        ("should match the snapshot of the defaults", facts.defaults_on(), None),
        (
            f"should match the snapshot with deny-all and metrics on port {METRICS_PORT}",
            [*facts.defaults_on(), DENY, METRICS],
            METRICS_PORT,
        ),
    ],
)
def test_snapshot_holds_the_pages_objects(test: str, switches: list[str], metrics_port: int | None):
    """A blind `--update-snapshot` cannot bless a drift from the page: the snapshot holds
    exactly the objects its switches create, and the page's objects verbatim (spec)."""
    got = _snapshot_objects(test)
    names = {name for s in switches for name in facts.switches()[s]}
    assert set(got) == names
    for page in facts.documented_objects(metrics_port=metrics_port):
        name = page["metadata"]["name"]
        if name not in names:
            continue
        obj = got[name]
        assert (obj["apiVersion"], obj["kind"]) == (page["apiVersion"], page["kind"]), name
        assert obj["spec"] == page["spec"], name
        assert obj["metadata"]["namespace"] == "event-processing", name


def test_packaged_chart_ships_no_tests(tmp_path: Path):
    """.helmignore keeps the suites and snapshots out of `helm package`."""
    proc = subprocess.run(
        [str(paths.HELM), "package", str(paths.CHART), "--destination", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, _output(proc)
    (archive,) = tmp_path.glob("*.tgz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert f"{paths.CHART.name}/templates/ep-operator.yaml" in names
    shipped = [n for n in names if n.split("/")[1:2] == ["tests"]]
    assert not shipped, f"helm package ships {shipped}"
