"""What users see of a run: the truth table per case, a line per case, the summary line per engine,
the disagreements one line per pair (the text a failing test prints), and the engines compared."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from tools.e2e.answers import Answer, CaseReport, Row


def truth_table(rep: CaseReport) -> str:
    """Per destination, sources as rows and destination:port as columns: `+` allowed, `.` denied
    (all three agree), `!` where the engine, nca and the page disagree, `~` an implementation-
    defined difference or a named engine defect (listed below the table)."""
    by_dst: dict[str, list[Answer]] = defaultdict(list)
    for a in rep.answers:
        by_dst[a.probe.dst].append(a)
    order = [w.name for w in rep.cluster.all_workloads()]
    lines = [
        f"== {rep.case.id} on {rep.engine}: sources down the side, destination ports across (read downwards; /u: UDP)",
        f"   + allowed, . denied (documented, nca and {rep.engine} agree); ! they disagree; "
        "~ implementation-defined or a named defect",
    ]
    for dst in [d for d in order if d in by_dst]:
        ans = by_dst[dst]
        cols = sorted({(a.probe.proto, a.probe.port) for a in ans}, key=lambda c: (c[0] != "tcp", c[1]))
        srcs = [s for s in order if any(a.probe.src == s for a in ans)]
        cell = {(a.probe.src, a.probe.proto, a.probe.port): a for a in ans}
        heads = [f"{port}" + ("/u" if proto == "udp" else "") for proto, port in cols]
        w = max(len(s) for s in srcs)
        lines.append(f"\n{dst}:")
        # column headers written downwards, so a column stays one character wide
        depth = max(len(h) for h in heads)
        for i in range(depth):
            lines.append(" " * (w + 2) + " ".join(h.rjust(depth)[i] for h in heads))
        for s in srcs:
            marks = []
            for proto, port in cols:
                c = cell.get((s, proto, port))
                marks.append(
                    " " if c is None else "!" if c.disagree else "~" if c.note else "+" if c.dataplane else "."
                )
            lines.append(f"{s.rjust(w)}  {' '.join(marks)}")
    flagged = [a for a in rep.answers if a.disagree]
    if flagged:
        lines.append("\ndisagreements:")
        lines += [f"  {a.probe}: {a.disagree}" for a in sorted(flagged, key=lambda a: a.probe)]
    noted = [a for a in rep.answers if a.note]
    if noted:
        lines.append("\nimplementation-defined (not counted):")
        lines += [
            f"  {a.probe}: {a.engine} {'allowed' if a.dataplane else 'denied'}; {a.note}"
            for a in sorted(noted, key=lambda a: a.probe)
        ]
    return "\n".join(lines)


def case_line(rep: CaseReport) -> str:
    n = len(rep.answers)
    allowed = sum(a.dataplane for a in rep.answers)
    return (
        f"{rep.engine}: {rep.case.id}: {n} probes, {allowed} allowed; "
        f"{len(rep.undocumented_allowed)} undocumented allowed, "
        f"{len(rep.documented_blocked)} documented blocked, {len(rep.disagreements)} disagreements "
        f"(applied {rep.applied} objects, enforced in {rep.sync_ms:.0f} ms, case {rep.seconds:.1f} s)"
    )


SUMMARY_LINE = (
    r"dataplane: (\d+) probes over (\d+) cases on (\S+) (\S+): (\d+) undocumented allowed, (\d+) documented blocked"
)
ENGINES_LINE = r"engines: (\d+) engine disagreements over (\d+) probes"


def summary(reports: Sequence[CaseReport], engine: str) -> str:
    """One engine's run: `engine` as `kube-router v2.1.0` (tools.e2e.engines.Engine.title)."""
    n = sum(len(r.answers) for r in reports)
    u = sum(len(r.undocumented_allowed) for r in reports)
    b = sum(len(r.documented_blocked) for r in reports)
    return (
        f"dataplane: {n} probes over {len(reports)} cases on {engine}: {u} undocumented allowed, {b} documented blocked"
    )


def engines_summary(rows: Sequence[Row]) -> str:
    return f"engines: {sum(1 for r in rows if r.disagree)} engine disagreements over {len(rows)} probes"


def engines_text(rows: Sequence[Row]) -> str:
    """The engines compared: each disagreement, `case: src -> dst: ports: who says what` (all four
    answers), then the differences a note excuses, counted per case and note."""
    lines = []
    grouped: dict[tuple[str, str, str, str], list[str]] = defaultdict(list)
    for r in sorted((r for r in rows if r.disagree), key=lambda r: (r.probe.proto, r.probe.port)):
        grouped[(r.case, r.probe.src, r.probe.dst, r.disagree)].append(_port(r))
    lines += [f"{c}: {s} -> {d}: {','.join(ports)}: {why}" for (c, s, d, why), ports in grouped.items()]
    excused: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r.excused:
            excused[(r.case, r.excused)] += 1
    lines += [f"{c}: {n} probes the engines answer differently, each excused: {why}" for (c, why), n in excused.items()]
    return "\n".join(lines)


def _port(r: Row | Answer) -> str:
    return f"{r.probe.port}{'/udp' if r.probe.proto == 'udp' else ''}"


def disagreement_text(reports: Sequence[CaseReport]) -> str:
    """`case: src -> dst: ports: who disagrees`, one line per pair and kind of disagreement."""
    lines = []
    for r in reports:
        grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for a in sorted(r.disagreements, key=lambda a: (a.probe.proto, a.probe.port)):
            grouped[(a.probe.src, a.probe.dst, a.disagree)].append(_port(a))
        lines += [
            f"{r.case.id}: {s} -> {d}: {','.join(ports)}: {why}" for (s, d, why), ports in sorted(grouped.items())
        ]
    return "\n".join(lines)
