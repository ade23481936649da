"""`make bench-dataplane` (and `make bench`): the dataplanes' figures side by side, one engine after
the other in one run (kube-router the baseline, felix's figures also as ratios to it); reported,
never asserted.

- probes per second: the coverage run's probes over the agent's time probing them (a denial on
  felix is a drop, so it costs the probe timeout: they wait side by side);
- enforcement latency: a policy change written to the API server until the engine enforces it
  (the canary flip), median and max over repeated flips and over the coverage cases;
- time: lab start (control plane, the engine, its first sync), the coverage run (set-up vs
  probing), and the dataplane test suite end to end (both engines);
- the lifecycle's short chain (`make dataplane-lifecycle`'s, as `make test` runs it): its time, helm's
  per step, the enforcement after helm returns, and the windows it saw (promised upgrades and
  rollbacks apart from installs and uninstalls, with the longest).
Needs root (the lab's network namespaces); prints why and exits 0 when it cannot run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tools.connectivity.engine import Result
from tools.e2e.cases import Prepared, coverage_cases, prepare
from tools.e2e.dataplane import Dataplane, unavailable
from tools.e2e.engines import CHOICES, Engine, engines
from tools.e2e.kube import choose_pod_range
from tools.e2e.lifecycle import EngineRun, Step, old_chart, run_engine, steps
from tools.paths import ROOT


@dataclass
class Figures:
    engine: Engine
    probes: int = 0  # the coverage run's
    cases: int = 0
    run_s: float = 0.0
    probe_s: float = 0.0  # the coverage run's probing
    flips: tuple[float, ...] = ()  # ms
    case_ms: tuple[float, ...] = ()
    start_s: float = 0.0
    first_sync_ms: float = 0.0
    lifecycle: EngineRun | None = None

    @property
    def per_second(self) -> float:
        return self.probes / self.probe_s


def measure(
    engine: Engine, prepared: Sequence[Prepared], results: Sequence[Result], flips: int, chain: Sequence[Step] = ()
) -> Figures:
    f = Figures(engine)
    t0 = time.perf_counter()
    with Dataplane.start(choose_pod_range(o for p in prepared for o in p.objs), engine) as dp:
        f.start_s = time.perf_counter() - t0
        f.first_sync_ms = dp.first_sync * 1000
        f.flips = tuple(dp.sync() * 1000 for _ in range(flips))
        t1 = time.perf_counter()
        reports = [dp.run_case(p.case, p.objs, p.cluster, r) for p, r in zip(prepared, results, strict=True)]
        f.run_s = time.perf_counter() - t1
        if chain:
            f.lifecycle = run_engine(engine, chain, dp=dp)
    f.probes, f.cases = sum(len(r.answers) for r in reports), len(reports)
    f.probe_s = sum(r.phases["probe"] for r in reports)
    f.case_ms = tuple(r.sync_ms for r in reports)
    return f


def table(figs: list[Figures]) -> str:
    def lat(ms: tuple[float, ...]) -> str:
        return f"median {statistics.median(ms):.0f} ms, max {max(ms):.0f} ms"

    rows: list[tuple[str, list[str], list[float]]] = [  # figure, per engine, value for the ratio
        (
            f"coverage run: {figs[0].probes} probes over {figs[0].cases} cases",
            [f"{f.run_s:.1f} s ({f.probe_s:.1f} s probing)" for f in figs],
            [f.run_s for f in figs],
        ),
        ("probes per second (coverage probing)", [f"{f.per_second:,.0f}" for f in figs], [f.per_second for f in figs]),
        (
            f"enforcement latency, canary flips ({len(figs[0].flips)})",
            [lat(f.flips) for f in figs],
            [statistics.median(f.flips) for f in figs],
        ),
        (
            "enforcement latency, coverage cases",
            [lat(f.case_ms) for f in figs],
            [statistics.median(f.case_ms) for f in figs],
        ),
        (
            "lab start (control plane, engine, first sync)",
            [f"{f.start_s:.1f} s (first sync {f.first_sync_ms:.0f} ms)" for f in figs],
            [f.start_s for f in figs],
        ),
    ]
    if all(f.lifecycle for f in figs):
        runs = [f.lifecycle for f in figs if f.lifecycle]

        def windows(r: EngineRun, promised: bool, newly: bool = False) -> str:
            ws = [
                w
                for rep in r.reports
                if rep.step.promised == promised
                for w in rep.windows
                if not promised or w.newly == newly
            ]
            longest = f", longest {max(w.high_ms for w in ws):.0f} ms" if ws else ""
            return f"{sum(w.expected for w in ws)} denied, {sum(not w.expected for w in ws)} allowed{longest}"

        rows += [
            (
                f"lifecycle short chain: {len(runs[0].reports)} steps",
                [f"{r.seconds:.1f} s" for r in runs],
                [r.seconds for r in runs],
            ),
            (
                "helm per step (median)",
                [f"{statistics.median(x.helm_s for x in r.reports):.2f} s" for r in runs],
                [statistics.median(x.helm_s for x in r.reports) for r in runs],
            ),
            (
                "enforced after helm returns",
                [lat(tuple(x.enforced_ms for x in r.reports)) for r in runs],
                [statistics.median(x.enforced_ms for x in r.reports) for r in runs],
            ),
            ("windows, upgrades and rollbacks", [windows(r, True) for r in runs], [0.0 for _ in runs]),
            ("windows, installs and uninstalls", [windows(r, False) for r in runs], [0.0 for _ in runs]),
            (
                "windows, pods newly under the chart in an upgrade",
                [windows(r, True, newly=True) for r in runs],
                [0.0 for _ in runs],
            ),
        ]
    heads = ["figure", *(f.engine.title for f in figs)] + (
        [f"{figs[-1].engine.name} / {figs[0].engine.name}"] * (len(figs) > 1)
    )
    body = [
        [name, *cells] + ([f"{vals[-1] / vals[0]:.2f}x" if vals[0] else ""] if len(figs) > 1 else [])
        for name, cells, vals in rows
    ]
    widths = [max(len(r[i]) for r in [heads, *body]) for i in range(len(heads))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [heads, *body])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=CHOICES, default="both", help="the engines to measure (default: both)")
    ap.add_argument("--flips", type=int, default=20, help="canary flips for the latency figure")
    ap.add_argument("--no-suite", action="store_true", help="skip timing the pytest suite")
    ap.add_argument("--no-lifecycle", action="store_true", help="skip the lifecycle's short chain")
    args = ap.parse_args()
    engine_list = engines(args.engine)
    why = unavailable(engine_list)
    if why:
        print(f"bench-dataplane: skipped: {why}")
        return 0
    prepared, fut, pool = prepare(coverage_cases())
    try:
        results = fut.result()
    finally:
        pool.shutdown()
    with tempfile.TemporaryDirectory(prefix="epnp-old-chart-") as tmp:
        chain = [] if args.no_lifecycle else steps(old_chart("0.1.0", Path(tmp)), short=True)
        figs = [measure(e, prepared, results, args.flips, chain) for e in engine_list]
    print(table(figs))
    if not args.no_suite:
        t2 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "tests/e2e/test_dataplane.py", "tests/e2e/test_dataplane_host.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"dataplane test suite, both engines: {time.perf_counter() - t2:.1f} s wall ({last})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
