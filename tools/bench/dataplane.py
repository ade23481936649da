"""`make bench-dataplane` (and `make bench`): the dataplane's figures, reported, never asserted.

- probes per second: the agent's own time over a batch, and over every case of the coverage run;
- enforcement latency: a policy change written to the API server until kube-router enforces it
  (the canary flip), median and max over repeated flips and over the coverage cases;
- time: lab start, the coverage run (set-up vs probing), and the dataplane test suite end to end.
Needs root (the lab's network namespaces); prints why and exits 0 when it cannot run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from tools.e2e.cases import coverage_cases, prepare
from tools.e2e.dataplane import Dataplane
from tools.e2e.kube import choose_pod_range
from tools.e2e.lab import unavailable
from tools.paths import ROOT


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flips", type=int, default=20, help="canary flips for the latency figure")
    ap.add_argument("--no-suite", action="store_true", help="skip timing the pytest suite")
    args = ap.parse_args()
    why = unavailable()
    if why:
        print(f"bench-dataplane: skipped: {why}")
        return 0
    t0 = time.perf_counter()
    prepared, fut, pool = prepare(coverage_cases())
    t_prep = time.perf_counter() - t0
    with Dataplane.start(choose_pod_range(o for p in prepared for o in p.objs)) as dp:
        t_lab = time.perf_counter() - t0 - t_prep
        results = fut.result()
        pool.shutdown()
        flips = [dp.sync() * 1000 for _ in range(args.flips)]
        t1 = time.perf_counter()
        reports = [dp.run_case(p.case, p.objs, p.cluster, r) for p, r in zip(prepared, results, strict=True)]
        t_cases = time.perf_counter() - t1
        agent = dp.lab.agent
        probes, probe_s = agent.probes, agent.probe_seconds
    n = sum(len(r.answers) for r in reports)
    case_ms = [r.sync_ms for r in reports]
    print(
        f"dataplane: {n} probes over {len(reports)} cases in {t_cases:.1f} s "
        f"({probe_s:.1f} s probing, the rest placing pods, applying and syncing)"
    )
    print(f"probes per second: {probes / probe_s:,.0f} (agent time over {probes} probes, canary included)")
    print(
        f"enforcement latency, canary flips: median {statistics.median(flips):.0f} ms, max {max(flips):.0f} ms "
        f"({len(flips)} flips)"
    )
    print(
        f"enforcement latency, coverage cases: median {statistics.median(case_ms):.0f} ms, "
        f"max {max(case_ms):.0f} ms ({len(case_ms)} cases)"
    )
    print(f"set-up: render + fixtures {t_prep:.1f} s, lab start (control plane, kube-router, first sync) {t_lab:.1f} s")
    if not args.no_suite:
        t2 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "tests/e2e/test_dataplane.py", "tests/e2e/test_dataplane_host.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"dataplane test suite: {time.perf_counter() - t2:.1f} s wall ({last})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
