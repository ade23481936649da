"""`make diff`'s engine against the project's own model, over the switch matrix: for a quarter of the
combinations of matrix.py, the change that flips one switch (each switch in turn, on and off, in every
layout and port set), nca's semantic diff opens and closes exactly what the model (facts + values,
never a render) says going from one combination to the other does, protocol by protocol."""

from __future__ import annotations

import pytest

from tools import scenarios
from tools.connectivity import matrix
from tools.connectivity.batch import render_many
from tools.connectivity.cluster import Cluster, cluster_for
from tools.connectivity.engine import Scenario, analyze
from tools.connectivity.flows import ANY_PORT, Port
from tools.connectivity.intervals import Interval, intersect, merge_intervals
from tools.connectivity.model import Model
from tools.connectivity.why import ALL_PORTS, OTHER, PROTOCOLS, PortMap, difference, port_map
from tools.values import effective_values

COMBOS = matrix.combinations()


def flipped(c: matrix.Combo, switch: str) -> matrix.Combo:
    return matrix.Combo(c.on ^ {switch}, c.layout, c.ports)


# a quarter of the combinations as FROM (one of every four neighbours, turning which), each with one
# switch flipped, the switches in turn: every switch both ways in every layout and port set, ~28 times
N = len(scenarios.SWITCHES)
FROMS = [COMBOS[4 * j + (j // N) % 4] for j in range(len(COMBOS) // 4)]
PAIRS = [(a, flipped(a, scenarios.SWITCHES[j % N])) for j, a in enumerate(FROMS)]


def _interval(p: Port) -> tuple[Interval, ...]:
    if p == ANY_PORT:
        return ALL_PORTS
    if isinstance(p, int):
        return intersect(((p, p),), ALL_PORTS)
    lo, hi = str(p).split("-")
    return intersect(((int(lo), int(hi)),), ALL_PORTS)


def model_map(combo: matrix.Combo, cluster: Cluster) -> PortMap:
    """The model's connections for a combination, as the diff's port map: every TCP, UDP and SCTP flow
    (documented, or the values' own rules), and OTHER wherever neither end is isolated (the model's
    ingress/egress: a pod an enabled policy isolates admits, or dials, nothing but its grants)."""
    model = Model(effective_values(combo.values()), cluster)
    out: dict[tuple[str, str, str], list[Interval]] = {}
    for proto in PROTOCOLS:
        if proto == OTHER:
            continue
        doc, extra = model.flows(proto)
        for f in [*doc, *extra]:
            out.setdefault((f.src, f.dst, proto), []).extend(_interval(f.port))
    every = cluster.all_workloads()
    for s in every:
        for d in every:
            open_ends = d.name not in model.ingress and s.name not in model.egress
            if open_ends and s.name != d.name and not (s.is_outside and d.is_outside):
                out[(s.name, d.name, OTHER)] = list(ALL_PORTS)
    return {k: merge_intervals(v) for k, v in out.items() if v}


@pytest.fixture(scope="module")
def diffs() -> list[tuple[matrix.Combo, matrix.Combo, Cluster, PortMap, PortMap]]:
    """(FROM, TO, fixture, opened, closed) per pair, as nca's semantic diff computes them."""
    index = {c.id: i for i, c in enumerate(COMBOS)}
    rendered = render_many([c.values() for c in COMBOS])
    scenarios, out = [], []
    for a, b in PAIRS:
        cluster = cluster_for(effective_values(a.values()))
        assert cluster == cluster_for(effective_values(b.values())), f"{a.id} -> {b.id}: fixtures differ"
        scenarios.append(
            Scenario(
                rendered[index[b.id]], cluster, f"{a.id} -> {b.id}", base_policies=rendered[index[a.id]], report=False
            )
        )
    for (a, b), sc, res in zip(PAIRS, scenarios, analyze(scenarios), strict=True):
        assert res.diff is not None
        out.append(
            (a, b, sc.cluster, port_map(res.diff.added, sc.cluster.ips), port_map(res.diff.removed, sc.cluster.ips))
        )
    return out


def test_pairs_cover_the_matrix() -> None:
    """Every switch is flipped on and off in every layout and port set."""
    seen = {
        (s, s in b.on, a.layout, a.ports) for a, b in PAIRS for s in scenarios.SWITCHES if (s in a.on) != (s in b.on)
    }
    assert len(seen) == len(scenarios.SWITCHES) * 2 * len(scenarios.LAYOUTS) * len(matrix.PORTS)
    assert len({a.id for a, _ in PAIRS}) == len(COMBOS) // 4


def _show(pm: PortMap) -> str:
    return "\n".join(f"    {s} -> {d} {p} {ivs}" for (s, d, p), ivs in sorted(pm.items())) or "    nothing"


def test_semantic_diff_is_the_models_difference(diffs) -> None:
    bad = []
    for a, b, cluster, opened, closed in diffs:
        before, after = model_map(a, cluster), model_map(b, cluster)
        want_opened, want_closed = difference(after, before), difference(before, after)
        if opened != want_opened or closed != want_closed:
            bad.append(
                f"{a.id} -> {b.id}\n  nca opened:\n{_show(opened)}\n  model opened:\n{_show(want_opened)}"
                f"\n  nca closed:\n{_show(closed)}\n  model closed:\n{_show(want_closed)}"
            )
    assert not bad, f"{len(bad)} of {len(diffs)} pairs disagree; the first:\n" + "\n".join(bad[:3])


def test_every_switch_changes_something(diffs) -> None:
    """No flip is a no-op, so no pair passes by comparing two empty diffs. A group switch whose
    pods the deny-all isolates anyway still changes what its own rules admit."""
    empty = [f"{a.id} -> {b.id}" for a, b, _, opened, closed in diffs if not opened and not closed]
    assert not empty, f"{len(empty)} flips change nothing, e.g. {empty[:3]}"
