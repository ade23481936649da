"""The runner applies one mutant at a time to a private copy (never the source chart),
kills what a test notices, and reports a planted survivor with its line and change."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from tools import paths
from tools.mutate import runner
from tools.mutate.__main__ import generate, load_equivalent, report
from tools.mutate.operators import Mutant

TEMPLATE = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: toy
spec:
  podSelector:
    matchLabels:
      app: toy
  ingress:
    - ports:
        - protocol: TCP
          port: {{ .Values.port }}
  policyTypes:
    - Ingress
"""

# The toy's only test: the port is 8443, rendered from the chart EPNP_CHART names, which
# must be the copy the runner passes (never the source). It does not look at the protocol.
CHECK = """\
import os, subprocess, sys
chart = sys.argv[1]
assert os.environ["EPNP_CHART"] == chart and chart != sys.argv[2], "not the private copy"
out = subprocess.run([sys.argv[3], "template", "t", chart], capture_output=True, text=True, check=True).stdout
sys.exit(0 if "port: 8443" in out else 1)
"""


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    chart = tmp_path / "src" / "toy"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: toy\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("port: 8443\n")
    (chart / "templates" / "policy.yaml").write_text(TEMPLATE)
    return chart


def _digest(tree: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(tree.rglob("*")):
        h.update(str(p.relative_to(tree)).encode() + (p.read_bytes() if p.is_file() else b""))
    return h.hexdigest()


def test_kills_what_the_test_sees_reports_the_planted_survivor_and_never_touches_the_source(toy: Path):
    before = _digest(toy)
    stage = runner.Stage("check", lambda c: [sys.executable, "-c", CHECK, str(c), str(toy), str(paths.HELM)])
    mutants = generate(toy)
    assert {m.operator for m in mutants} >= {"shift-port", "flip-protocol", "flip-policy-type", "change-default"}
    results = {r.mutant.operator: r for r in runner.run_all(mutants, toy, [stage], jobs=2)}

    assert _digest(toy) == before
    assert results["shift-port"].status == "killed" and results["shift-port"].killer == "check"
    assert results["change-default"].status == "killed"
    planted = results["flip-protocol"]
    assert planted.status == "survived"
    text = report(list(results.values()), toy, {}, 1.0)
    assert (
        "SURVIVED templates/policy.yaml:11 flip-protocol templates/policy.yaml: - protocol: TCP => - protocol: UDP"
        in text
    )
    assert "    -        - protocol: TCP" in text and "    +        - protocol: UDP" in text


def test_a_mutant_that_does_not_parse_is_stillborn_and_not_scored(toy: Path):
    broken = Mutant("test", "templates/policy.yaml", 1, "", "", {"templates/policy.yaml": "{{ if .Values.port }}\n"})
    never = runner.Stage("never", lambda c: [sys.executable, "-c", "raise SystemExit('must not run')"])
    result = runner.run_one(broken, toy, runner.Scheduler([never]))
    assert result.status == "stillborn"
    assert "mutation score: 0/0" in report([result], toy, {}, 1.0)


def test_equivalents_are_left_out_of_the_score(toy: Path):
    m = Mutant("test", "values.yaml", 1, "port: 8443", "port: 8444", {"values.yaml": "port: 8444\n"})
    results = [runner.Result(m, "equivalent"), runner.Result(m, "killed", "t"), runner.Result(m, "survived")]
    assert "mutation score: 1/2 killed (50.0%); 1 survived, 1 equivalent" in report(results, toy, {}, 1.0)
    stale = report(results, toy, {"shift-port templates/gone.yaml: port: 1 => port: 2": "why"}, 1.0)
    assert "equivalent.yaml lists 1 mutant(s) no operator produces any more" in stale


def test_a_mutant_cannot_write_outside_its_copy(tmp_path: Path):
    escape = Mutant("test", "../x", 1, "", "", {"../outside.yaml": "x"})
    with pytest.raises(ValueError):
        runner.apply(escape, tmp_path / "copy")
    assert not (tmp_path / "outside.yaml").exists()


def test_own_suite_first_then_the_quickest_expected_kill_for_that_operator_or_file():
    fast, own, killer = (
        runner.Stage(n, lambda c: [], seconds=s)
        for n, s in (
            ("helm-unittest tests/a_test.yaml", 0.5),
            ("helm-unittest tests/policy_test.yaml", 5.0),
            ("helm-unittest tests/z_test.yaml", 1.0),
        )
    )
    scheduler = runner.Scheduler([fast, own, killer, runner.Stage("tests/test_x.py", lambda c: [], seconds=5.0)])
    m = Mutant("flip", "templates/policy.yaml", 1, "", "", {})
    assert [s.name for s in scheduler.plan(m)][:2] == [own.name, fast.name]
    for _ in range(5):  # 1 s that always kills beats 0.5 s that never does, given enough evidence
        scheduler.record(m, [fast.name, killer.name], [killer.name])
    assert [s.name for s in scheduler.plan(m)][:2] == [own.name, killer.name]
    # another operator on the same file: the file's history answers
    other = Mutant("drop", "templates/policy.yaml", 1, "", "", {})
    assert [s.name for s in scheduler.plan(other)][:2] == [own.name, killer.name]
    # the same operator on another file: the operator's history answers
    elsewhere = Mutant("flip", "templates/other.yaml", 1, "", "", {})
    assert scheduler.plan(elsewhere)[0].name == killer.name
    # neither has history: fastest first
    fresh = Mutant("drop", "templates/other.yaml", 1, "", "", {})
    assert scheduler.plan(fresh)[0].name == fast.name


def test_slow_layers_only_when_thorough():
    fast, thorough = runner.pytest_modules(), runner.pytest_modules(thorough=True)
    assert not any(m.startswith(("tests/e2e/", "tests/mutate/")) for m in fast)
    assert "tests/connectivity/test_matrix.py" in set(thorough) - set(fast)
    assert any(m.startswith("tests/e2e/") for m in thorough) and not any(
        m.startswith("tests/mutate/") for m in thorough
    )


def test_every_equivalent_mutant_says_why():
    assert all(why.strip() for why in load_equivalent().values())
