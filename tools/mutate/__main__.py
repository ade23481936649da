"""`make mutate`: mutate the chart one change at a time, run the fast tests on each
mutant, and report the score and every survivor with its line and change.

    python -m tools.mutate [--thorough] [-j 2] [--only REGEX] [--operator NAME] [--rerun-survivors]
    python -m tools.mutate --list          # the mutants, without running anything
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from tools import paths
from tools.mutate import runner
from tools.mutate.operators import Mutant, chart_templates, template_mutants
from tools.mutate.structured import schema_mutants, values_mutants

EQUIVALENT = Path(__file__).with_name("equivalent.yaml")
REPORT = paths.ROOT / "dist" / "mutate" / "report.json"
SCHEMA, VALUES = "values.schema.json", "values.yaml"


def generate(chart: Path) -> list[Mutant]:
    """Every mutant of the chart, numbered when the same key occurs twice."""
    out: list[Mutant] = []
    for p in chart_templates(chart):
        out += template_mutants(p.relative_to(chart).as_posix(), p.read_text())
    schema_text = (chart / SCHEMA).read_text() if (chart / SCHEMA).exists() else None
    if schema_text is not None:
        out += schema_mutants(SCHEMA, schema_text)
    if (chart / VALUES).exists():
        out += values_mutants(VALUES, (chart / VALUES).read_text(), SCHEMA if schema_text else None, schema_text)
    seen: Counter[str] = Counter()
    numbered = []
    same: set[tuple[tuple[str, str], ...]] = set()
    for m in out:
        # Two operators can make the same change (dropping a `from:` block's only peer).
        content = tuple(sorted(m.files.items()))
        if content in same:
            continue
        same.add(content)
        seen[m.key] += 1
        numbered.append(
            m
            if seen[m.key] == 1
            else Mutant(m.operator, m.file, m.line, m.before, m.after, m.files, m.ident, occurrence=seen[m.key])
        )
    return numbered


def load_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """{mutant key: why it changes no behaviour}; every entry must say why."""
    entries = yaml.safe_load(path.read_text()) or [] if path.exists() else []
    out = {}
    for e in entries:
        if not (isinstance(e, dict) and e.get("key") and str(e.get("why", "")).strip()):
            raise SystemExit(f"{path}: each entry needs `key` and `why`: {e!r}")
        out[e["key"]] = e["why"]
    return out


def report(results: list[runner.Result], chart: Path, equivalent: dict[str, str], seconds: float) -> str:
    by = Counter(r.status for r in results)
    scored = [r for r in results if r.status not in ("equivalent", "stillborn")]
    killed = sum(r.status in ("killed", "timeout") for r in scored)
    lines = []
    for r in sorted((r for r in results if r.status == "survived"), key=lambda r: (r.mutant.file, r.mutant.line)):
        m = r.mutant
        lines.append(f"SURVIVED {m.file}:{m.line} {m.key}")
        lines += [f"    {d}" for d in m.diff(chart) if d[:1] in "+-" and d[:3] not in ("---", "+++")]
    # Stale only against the whole set: a filtered run (--only, --rerun-survivors) sees a part.
    keys = {m.key for m in generate(chart)}
    stale = sorted(k for k in equivalent if k not in keys)
    if stale:
        lines.append(f"equivalent.yaml lists {len(stale)} mutant(s) no operator produces any more:")
        lines += [f"    {k}" for k in stale]
    ops = Counter(r.mutant.operator for r in scored)
    ops_killed = Counter(r.mutant.operator for r in scored if r.status != "survived")
    lines.append(
        "per operator (killed/total): " + ", ".join(f"{o} {ops_killed[o]}/{n}" for o, n in sorted(ops.items()))
    )
    killers = Counter(r.killer.split("::")[0].split(":")[0] for r in scored if r.status == "killed")
    lines.append("killed by: " + ", ".join(f"{k} {n}" for k, n in killers.most_common()))
    pct = 100.0 * killed / len(scored) if scored else 100.0
    lines.append(
        f"mutation score: {killed}/{len(scored)} killed ({pct:.1f}%); {by['survived']} survived, "
        f"{by['equivalent']} equivalent and {by['stillborn']} stillborn excluded; {seconds:.0f}s"
    )
    return "\n".join(lines)


def _save(results: list[runner.Result], stages: list[runner.Stage], seconds: float) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "seconds": round(seconds, 1),
        "stages": [{"name": s.name, "seconds": round(s.seconds, 2)} for s in stages],
        "mutants": [
            {
                "key": r.mutant.key,
                "operator": r.mutant.operator,
                "file": r.mutant.file,
                "line": r.mutant.line,
                "status": r.status,
                "killer": r.killer,
                "seconds": round(r.seconds, 1),
            }
            for r in results
        ],
    }
    REPORT.write_text(json.dumps(data, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tools.mutate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--chart", type=Path, default=paths.REPO_CHART, help="the chart to mutate (only read)")
    ap.add_argument("--thorough", action="store_true", help="also the e2e tests and the connectivity matrix")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="leave out the connectivity tests (an inner loop; a survivor here may still die in a full run)",
    )
    ap.add_argument(
        "--reuse-baseline",
        action="store_true",
        help=f"take the stage order from the last {REPORT.name} instead of timing an unmutated run",
    )
    ap.add_argument("-j", "--jobs", type=int, default=2, help="parallel mutants (at most 2)")
    ap.add_argument("--only", help="only mutants whose key matches this regex")
    ap.add_argument("--operator", action="append", help="only this operator (repeatable)")
    ap.add_argument(
        "--rerun-survivors", action="store_true", help=f"only the survivors of the last report ({REPORT.name})"
    )
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--fail-on-survivors", action="store_true", help="exit 1 when a mutant survives")
    args = ap.parse_args(argv)

    equivalent = load_equivalent()
    mutants = generate(args.chart)
    if args.only:
        mutants = [m for m in mutants if re.search(args.only, m.key)]
    if args.operator:
        mutants = [m for m in mutants if m.operator in args.operator]
    if args.rerun_survivors:
        last = {e["key"] for e in json.loads(REPORT.read_text())["mutants"] if e["status"] == "survived"}
        mutants = [m for m in mutants if m.key in last]
    if args.list:
        for m in mutants:
            print(f"{m.file}:{m.line} {'(equivalent) ' if m.key in equivalent else ''}{m.key}")
        print(
            f"{len(mutants)} mutants: " + ", ".join(f"{o} {n}" for o, n in Counter(m.operator for m in mutants).items())
        )
        return 0

    t0 = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: the chart copies are removed
    modules = runner.pytest_modules(args.thorough, args.quick)
    if args.reuse_baseline and REPORT.exists():
        stages = runner.reuse(json.loads(REPORT.read_text())["stages"], modules, runner.unittest_stages(args.chart))
    else:
        stages = runner.measure(args.chart, modules, runner.unittest_stages(args.chart))
    print("stages (baseline seconds): " + ", ".join(f"{s.name} {s.seconds:.1f}" for s in stages), file=sys.stderr)
    todo = [m for m in mutants if m.key not in equivalent]
    results = [runner.Result(m, "equivalent") for m in mutants if m.key in equivalent]

    def progress(i: int, n: int, r: runner.Result) -> None:
        print(
            f"[{i}/{n}] {r.status:9} {r.seconds:5.1f}s {r.mutant.file}:{r.mutant.line} "
            f"[{r.mutant.operator}] {r.killer}",
            file=sys.stderr,
            flush=True,
        )

    results += runner.run_all(todo, args.chart, stages, args.jobs, progress)
    seconds = time.monotonic() - t0
    _save(results, stages, seconds)
    print(report(results, args.chart, equivalent, seconds))
    return 1 if args.fail_on_survivors and any(r.status == "survived" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
