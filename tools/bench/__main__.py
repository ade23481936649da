"""`make bench`: medians of repeated runs, each case against a baseline timed in the same run.

The machine is shared and noisy, so runs of the case and of the baseline are
interleaved and the figure that matters is the ratio of medians, not seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tools.paths import CHART, HELM

BASELINE_CHART = Path(__file__).parent / "one-policy"


def deployments_values(n: int, work: Path) -> Path:
    """A values file with n Flink deployments (written once, read by every run)."""
    path = work / f"{n}-deployments.json"
    path.write_text(
        json.dumps({"flink": {"deployments": [{"name": f"job-{i}", "namespace": "flink"} for i in range(n)]}})
    )
    return path


def helm_template(chart: Path, *args: str) -> Callable[[], None]:
    cmd = [str(HELM), "template", "bench", str(chart), *args]

    def run() -> None:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    return run


@dataclass
class Case:
    name: str
    run: Callable[[], None]
    target: float | None = None  # the ratio the project holds it to, when it has one


def static_chart(n: int, work: Path) -> Path:
    """A chart whose one template is the chart's own output for n deployments: what helm
    costs to process those objects when templates compute nothing (the floor)."""
    out = subprocess.run(
        [str(HELM), "template", "bench", str(CHART), "--values", str(deployments_values(n, work))],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    chart = work / f"static-{n}"
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: static\nversion: 0.1.0\n")
    # Escape template delimiters: the output is data here, not a template.
    (chart / "templates" / "all.yaml").write_text(out.replace("{{", "{{`{{`}}"))
    return chart


def cases(work: Path) -> list[Case]:
    out = [Case("helm template, defaults", helm_template(CHART), target=1.5)]
    for n in (1, 10, 100, 1000):
        out.append(
            Case(
                f"helm template, {n} Flink deployments",
                helm_template(CHART, "--values", str(deployments_values(n, work))),
                target=3.0 if n == 100 else None,
            )
        )
    out.append(Case("floor: static chart, same objects as 100", helm_template(static_chart(100, work))))
    return out


def medians(runs: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """The median of each run, all of them interleaved round by round (after one warm-up each)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():
        fn()
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def decompose(work: Path, repeats: int, target: float = 1.1) -> None:
    """100 deployments against the static floor, and what the gap is made of.

    The whole render is judged against the floor (the same objects from a static chart). The
    chart also pays a fixed cost the floor does not: its templates and values.schema.json are
    loaded, the schema compiled and the values validated, whatever the number of deployments.
    So the gap is split: that fixed cost (defaults against the one-policy chart, as a share of the
    floor), and the cost of the deployments themselves (100 deployments less the defaults, against
    the floor less the one-policy chart: what helm pays for those objects when nothing computes them).
    """
    values = str(deployments_values(100, work))
    t = medians(
        {
            "one": helm_template(BASELINE_CHART),
            "defaults": helm_template(CHART),
            "hundred": helm_template(CHART, "--values", values),
            "floor": helm_template(static_chart(100, work)),
        },
        repeats,
    )
    whole = t["hundred"] / t["floor"]
    print(
        f"{'100 Flink deployments / the static floor':45} {t['hundred'] * 1000:8.1f}ms {t['floor'] * 1000:8.1f}ms"
        f" {whole:6.2f}  <= {target} {'ok' if whole <= target else 'MISSED'}"
    )
    fixed = (t["defaults"] - t["one"]) / t["floor"]
    label = "  of which the chart's fixed cost / floor"
    print(f"{label:45} {'':9} {'':9} {fixed:6.2f}  (defaults less one-policy)")
    marginal = (t["hundred"] - t["defaults"]) / (t["floor"] - t["one"])
    label = "  and the deployments' own / the floor's own"
    print(f"{label:45} {'':9} {'':9} {marginal:6.2f}  (each less its empty chart)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--make-test", action="store_true", help="also time one warm `make test`")
    args = parser.parse_args()
    baseline = helm_template(BASELINE_CHART)
    print(f"{'case':45} {'median':>9} {'baseline':>9} {'ratio':>6}  target")
    with tempfile.TemporaryDirectory(prefix="epnp-bench-") as work:
        for case in cases(Path(work)):
            t = medians({"baseline": baseline, "case": case.run}, args.repeats)
            ours, base = t["case"], t["baseline"]
            ratio = ours / base
            verdict = "" if case.target is None else f"<= {case.target} {'ok' if ratio <= case.target else 'MISSED'}"
            print(f"{case.name:45} {ours * 1000:8.1f}ms {base * 1000:8.1f}ms {ratio:6.2f}  {verdict}")
        decompose(Path(work), args.repeats)
    if args.make_test:
        # Warm `make test` (the tools built, the caches filled): the suite's wall time, once.
        t0 = time.perf_counter()
        proc = subprocess.run(["make", "-s", "test"], cwd=CHART.parent.parent, capture_output=True, text=True)
        took = time.perf_counter() - t0
        last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"{'make test, warm (wall, once)':45} {took:8.1f}s  target <= 120 s {'ok' if took <= 120 else 'MISSED'}")
        print(f"  {last}")


if __name__ == "__main__":
    main()
