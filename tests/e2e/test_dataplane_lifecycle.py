"""`make dataplane-lifecycle`'s short form on each engine: helm installs, upgrades, rolls back and
uninstalls while every promised flow is probed round after round (tools/e2e/lifecycle.py). Upgrades
and rollbacks leave no window; a window made on purpose is seen, with its flows and its length. Without
a dataplane, each promised step's API calls, one at a time, open and deny nothing (network-config-analyzer)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from tools.e2e.answers import Probe
from tools.e2e.dataplane import unavailable
from tools.e2e.engines import CALICO, KUBE_ROUTER, engines
from tools.e2e.lifecycle import (
    DENY,
    NOTHING,
    Sample,
    State,
    Step,
    call_windows,
    old_chart,
    run_engine,
    steps,
    windows,
)
from tools.paths import ROOT

REQUIRE = os.environ.get("EPNP_REQUIRE_E2E") == "1"
WHY = unavailable(engines("both"))
lab = pytest.mark.skipif(
    WHY is not None and not REQUIRE, reason=f"dataplane lab unavailable: {WHY} (EPNP_REQUIRE_E2E=1 fails instead)"
)


def test_a_window_is_a_run_of_rounds_that_answered_otherwise() -> None:
    """Rounds at 0-100, 100-200, ... ms; the documented flow a is denied in rounds 2 and 3, the
    undocumented flow b allowed in round 5 only: two windows, each bounded by the rounds around it."""
    a, b = Probe("x", "y", 80, "tcp"), Probe("x", "z", 53, "udp")
    answers = [[True, False], [True, False], [False, False], [False, False], [True, False], [True, True]]
    samples = [Sample(i * 0.1, i * 0.1 + 0.09, ans) for i, ans in enumerate(answers)]
    wa, wb = windows([(a, True), (b, False)], samples)
    assert (wa.probe, wa.expected, wa.rounds) == (a, True, 2)
    assert (round(wa.low_ms), round(wa.high_ms)) == (190, 210)  # 0.2 -> 0.39; 0.19 -> 0.40
    assert (wb.probe, wb.expected, wb.rounds) == (b, False, 1)
    assert (round(wb.low_ms), round(wb.high_ms)) == (90, 100)  # the last round: bounded by its own end


@lab
def test_a_window_made_on_purpose_is_seen_with_its_flows_and_length() -> None:
    """One step upgrades the EP operator's policy away under deny-all, waits 0.6 s, and upgrades it
    back: the same state before and after, so its flows are promised, and the run reports a window
    for each flow into the operator's webhook port, and for no other flow."""
    off = {**DENY, "deployOperatorNetworkPolicy": False, "acknowledge": {"denyAllWithoutProductPolicies": True}}
    on = State("defaults + deny-all", DENY)
    chain = [
        Step("install, deny-all", "install", on),
        Step("upgrade: operator policy off for 0.6 s", "upgrade", on, via=State("operator policy off", off), pause=0.6),
        Step("uninstall", "uninstall", NOTHING),
    ]
    run = run_engine(KUBE_ROUTER, chain)
    made = run.reports[1]
    assert not made.unsteady, made.unsteady
    assert made.windows, "the made window went unseen:\n" + "\n".join(made.lines())
    assert {(w.probe.dst, w.probe.port, w.expected) for w in made.windows} == {("ep-operator", 8443, True)}
    assert max(w.high_ms for w in made.windows) >= 600


@lab
@pytest.mark.parametrize("engine", [KUBE_ROUTER, CALICO], ids=lambda e: e.name)
def test_upgrades_and_rollbacks_leave_no_window(engine) -> None:
    """The short chain (installs, deny-all with a group, a group off and on, rollback, extra rules
    reordered, kafka.to edited, EP egress off, three Flink deployments in new namespaces, the previous
    chart version upgraded and rolled back, uninstall): every flow documented before and after each
    upgrade and rollback stays allowed, every other stays denied, on every round."""
    with tempfile.TemporaryDirectory(prefix="epnp-old-chart-") as tmp:
        chain = steps(old_chart("0.1.0", Path(tmp)), short=True)
        run = run_engine(engine, chain)
    text = "\n".join(line for r in run.reports for line in r.lines())
    assert sum(r.step.promised for r in run.reports) >= 10
    assert not [u for r in run.reports for u in r.unsteady], text
    promised = [w for r in run.reports if r.step.promised for w in r.counted]
    assert not promised, text
    summary = run.summary()[0]
    assert summary.endswith(": 0 documented flows denied, 0 undocumented flows allowed"), summary
    shown = re.sub(
        r": \d+ probes during \d+ transitions:", ": <probes> probes during <transitions> transitions:", summary
    )
    doc = ROOT / "docs" / "upgrading.md"
    assert shown in doc.read_text(), f"{doc.relative_to(ROOT)} shows another line than this run's:\n{shown}"


def test_every_promised_step_is_gapless_call_by_call() -> None:
    """No dataplane: each upgrade and rollback of the whole chain (`make dataplane-lifecycle`'s, every
    group off and on) as helm's API calls, one at a time (lifecycle.helm_calls), every intermediate
    policy set judged by nca. None opens a flow that neither end allows or denies one that both
    allow, whatever a dataplane's timing."""
    chain = steps(None, short=False)
    found = {}
    for before, step in zip([NOTHING, *(s.after for s in chain)], chain, strict=False):
        if step.promised and before.installed:
            opened, denied = call_windows(before, step.after)
            if opened or denied:
                found[step.name] = (sorted(map(str, opened)), sorted(map(str, denied)))
    assert not found, found


def test_egress_off_with_the_destinations_side_opens_flows_between_helms_deletions() -> None:
    """docs/upgrading.md: EP instance egress off in the same upgrade that turns metrics off and moves
    the Flink operator. helm deletes the EP instance's egress policy first (its template sorts
    first), so until the next deletion the EP instance reaches the jobmanager's metrics port (9250)
    and the operator's webhook port (9443) in its old namespace, from both EP instances: what the
    lifecycle run once saw on Calico (three of these four, in its one round), found here on every run."""
    chain = steps(None, short=True)
    kafka_on = next(s.after for s in chain if s.name == "rollback: kafka.to as before")
    three = next(s.after for s in chain if s.name == "upgrade: three Flink deployments")
    opened, denied = call_windows(kafka_on, three)
    assert not denied
    assert {(f.src, f.dst, f.port, proto) for f, proto in opened} == {
        (src, dst, port, "TCP")
        for src in ("ep-instance-1", "ep-instance-2")
        for dst, port in (("jobmanager", 9250), ("flink-operator@event-processing", 9443))
    }
