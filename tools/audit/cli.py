"""`make audit`: the chart's installed policies judged on the cluster's real pods.

    python -m tools.audit --snapshot cluster.yaml [--values my-values.yaml] [--release NAME]
    python -m tools.audit --kubeconfig ~/.kube/config [--context NAME] [--values ...]

The snapshot is what `kubectl get namespaces,pods,networkpolicies -A -o yaml` prints (or the API
server's own lists, or several documents of either); --kubeconfig reads the same three with
read-only GETs. Prints the pods' roles, notes, and one sentence per finding, then `audit: N findings`.
Exit 0 with no finding, 1 with some, 2 when the input cannot be audited.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import yaml

from tools.audit.findings import KINDS, AuditError, Report, audit
from tools.audit.kubeconfig import ApiError, KubeconfigError, kubeconfig_paths, load
from tools.audit.live import fetch
from tools.audit.snapshot import Snapshot, SnapshotError, from_objects
from tools.audit.snapshot import load as load_snapshot
from tools.connectivity.engine import EngineError
from tools.kubelist import ObjectsError, objects
from tools.render import RenderError

WIDTH = 110
TITLES = {
    "selects-nothing": "selects no pod",
    "cut-off": "cut off by deny-all",
    "blocked": "documented flow blocked",
    "beyond": "beyond the documented flows",
}


def read_live(kubeconfig: str, context: str | None) -> Snapshot:
    conn = load(kubeconfig_paths(kubeconfig), context)
    return from_objects(objects(fetch(conn)))


def roles_lines(report: Report) -> list[str]:
    """Who plays which documented role, as the audit mapped it (so a surprise shows before the findings)."""
    p, topo = report.placement, report.topology
    lines = []

    def pods(pred: object) -> list[str]:
        return sorted(topo.show(w) for w, r in p.roles.items() if callable(pred) and pred(r))

    for kind, title in (
        ("ep-operator", "EP operator"),
        ("ep-instance", "EP instance"),
        ("flink-operator", "Flink operator"),
    ):
        found = pods(lambda r, k=kind: k in r.kinds)
        lines.append(f"  {title}: {', '.join(found) or 'no pod'}")
    for d in p.layout.deployments:
        extra = " (not in the values; found by its labels)" if d.name in p.found else ""
        jm = pods(lambda r, n=d.name: r.cell == n and "flink-jobmanager" in r.kinds)
        tm = pods(lambda r, n=d.name: r.cell == n and "flink-taskmanager" in r.kinds)
        rest = pods(lambda r, n=d.name: r.cell == n and r.kinds == {"flink"})
        parts = [f"jobmanager {', '.join(jm) or 'no pod'}", f"taskmanagers {', '.join(tm) or 'no pod'}"]
        parts += [f"other pods {', '.join(rest)}"] if rest else []
        lines.append(f"  Flink deployment {d.name}{extra}: " + "; ".join(parts))
    return lines


def _n(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _fill(text: str, first: str, rest: str) -> str:
    # labels and names hold hyphens: never break a line inside one
    return textwrap.fill(text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)


def print_report(report: Report, source: str, values: Path | None) -> None:
    snap = report.snapshot
    print(
        f"Audit of release {report.release} (namespace {report.namespace}) on {source}: "
        f"{_n(len(snap.pods), 'pod')} in {_n(len(snap.namespaces), 'namespace')}, "
        f"{_n(len(snap.policies), 'NetworkPolicy', 'NetworkPolicies')} ({len(report.release_policies)} of the "
        f"release's); values: {values or 'the chart defaults'}."
    )
    print("\nRoles (the values' selectors on the real pods):")
    print("\n".join(roles_lines(report)))
    if report.notes:
        print("\nNotes:")
        for n in report.notes:
            print(_fill(n, "  - ", "    "))
    print("\nFindings:" if report.findings else "\nFindings: none.")
    for i, f in enumerate(sorted(report.findings, key=lambda f: KINDS.index(f.kind)), 1):
        head = f"  {i}. [{TITLES[f.kind]}] "
        print(_fill(f.text, head, " " * 6))
    print(f"\naudit: {len(report.findings)} findings")  # always this shape: scripts grep it


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--snapshot", type=Path, help="kubectl get namespaces,pods,networkpolicies -A -o yaml")
    src.add_argument("--kubeconfig", help="kubeconfig file(s), as KUBECONFIG (read-only GETs)")
    ap.add_argument("--context", help="kubeconfig context (default: its current-context)")
    ap.add_argument("--values", type=Path, help="the release's values file (as for helm --values)")
    ap.add_argument("--release", help="audit only this helm release's policies")
    ap.add_argument("--namespace", help="the release's namespace (default: from helm's annotations)")
    args = ap.parse_args(argv)
    try:
        user: dict[str, object] = {}
        if args.values:
            try:
                user = yaml.safe_load(args.values.read_text()) or {}
            except (OSError, yaml.YAMLError) as e:
                raise AuditError(f"{args.values}: {e}") from None
            if not isinstance(user, dict):
                raise AuditError(f"{args.values}: not a map of values")
        if args.snapshot:
            snap, source = load_snapshot(args.snapshot), str(args.snapshot)
        else:
            snap = read_live(args.kubeconfig, args.context)
            source = f"the cluster of {args.kubeconfig}" + (f" (context {args.context})" if args.context else "")
        report = audit(snap, user, args.release, args.namespace)
    except RenderError as e:
        print(f"audit: helm could not render the chart with these values:\n{e.stderr.strip()}", file=sys.stderr)
        return 2
    except (AuditError, SnapshotError, ObjectsError, KubeconfigError, ApiError, EngineError) as e:
        print(f"audit: {e}", file=sys.stderr)
        return 2
    print_report(report, source, args.values)
    return 1 if report.findings else 0


if __name__ == "__main__":
    sys.exit(main())
