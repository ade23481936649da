"""`make diff`: the connectivity a change opens and closes, flow by flow, with the rule responsible.

    python -m tools.connectivity.diff [--from A] [--to B] [--from-ref REF] [--fail-on-open]

A and B are each a values file (rendered with the chart) or a snapshot of a cluster's policies
(`kubectl get networkpolicies -A -o yaml`, read by tools/kubelist.py); either defaults to the
chart's defaults. --from-ref renders FROM with the chart of a git commit of this clone (extracted
with `git archive` into a temporary directory) and FROM's values, or TO's when FROM is not given.

network-config-analyzer's semantic diff compares the two sets of policies on `make verify`'s fixture
(tools/connectivity/cluster.py): the pods the values describe. When FROM and TO place pods
differently, the fixture holds the pods of both (cluster.union): the diff then says what each set of
policies does to each placement. A snapshot has no values; its side adds no pods. Each changed flow is
named by the rules it meets (tools/connectivity/why.py): an opened flow by what now lets it through
(the rule, or no policy isolating that end any more); a closed one by what let it through before.

Between a snapshot and a render, policies of the snapshot that are not the chart's (neither its name
label nor a helm release annotation) are kept on both sides: helm leaves them in place, so the diff
is what installing the render changes. Exit 1 with --fail-on-open when anything opens; 2 on bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import sys
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools import facts, kubelist
from tools.chart_history import HistoryError, chart_at, version_commit
from tools.connectivity.cluster import Cluster, cluster_for, union
from tools.connectivity.engine import PROTOCOL_NUMBERS, Scenario, SemanticDiff, analyze
from tools.connectivity.intervals import Interval, merge_intervals, subtract
from tools.connectivity.rules import Manifest, RuleNames, read_manifest
from tools.connectivity.why import ALL_PORTS, OTHER, End, Key, Policies, pieces, port_map
from tools.paths import CHART
from tools.policy import normal
from tools.render import NAMESPACE, RenderError, helm_template
from tools.values import Values, effective_values, get, put

Obj = dict[str, Any]
ANYWHERE = "anywhere"
HELM_RELEASE_ANNOTATION = "meta.helm.sh/release-name"


class DiffError(HistoryError):
    """Bad input: a file that is neither values nor a snapshot, a git ref that does not resolve,
    values the chart refuses. The message says which."""


# ---------------------------------------------------------------- the two sides


@dataclass
class Side:
    """One set of policies to compare: a render of values (with the chart of the clone or of a git
    ref), or a snapshot. `values` (effective) place the fixture's pods; a snapshot has none."""

    label: str
    policies: list[Obj]
    names: RuleNames
    values: Values | None = None
    manifest: Manifest | None = None
    kept: list[str] = field(default_factory=list)  # a snapshot's foreign policies carried over
    chart: Path = CHART


def _load_docs(path: Path) -> list[Any]:
    try:
        return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        raise DiffError(f"{path}: {e}") from e


def render_side(user: Values, label: str, chart: Path = CHART) -> Side:
    try:
        text = helm_template(user, chart=chart)
    except RenderError as e:
        raise DiffError(f"{label}: helm could not render the chart:\n{e.stderr.strip()}") from e
    m = read_manifest(text)
    return Side(label, m.policies, m.rules, effective_values(user), m, chart=chart)


def load_side(path: Path | None, label: str = "", chart: Path = CHART, values_only: bool = False) -> Side:
    """A values file (rendered), a snapshot (read), or, with no path, the defaults. `label` says which
    chart renders it, when not the clone's."""
    if path is None:
        return render_side({}, f"{label}the chart's defaults", chart)
    docs = _load_docs(path)
    if kubelist.holds_objects(docs):
        if values_only:
            raise DiffError(f"{path}: a snapshot of objects; FROM_REF renders values, give a values file")
        pols = kubelist.network_policies(kubelist.objects(docs))
        return Side(f"snapshot {path} ({len(pols)} NetworkPolicies)", pols, RuleNames())
    if len(docs) > 1 or (docs and not isinstance(docs[0], dict)):
        raise DiffError(f"{path}: neither a values file (one mapping) nor Kubernetes objects")
    return render_side(docs[0] if docs else {}, f"{label}values {path}", chart)


def _key(o: Obj) -> tuple[str, str]:
    return o["metadata"].get("namespace", ""), o["metadata"]["name"]


def _is_charts(o: Obj, chart_name: str) -> bool:
    meta = o.get("metadata") or {}
    return (meta.get("labels") or {}).get("app.kubernetes.io/name") == chart_name or HELM_RELEASE_ANNOTATION in (
        meta.get("annotations") or {}
    )


def settle(a: Side, b: Side, chart_name: str = CHART.name) -> None:
    """A snapshot against a render: borrow rule names from the render, and keep the snapshot's foreign
    policies on the render's side too (helm leaves them in place)."""
    for snap, rendered in ((a, b), (b, a)):
        if snap.manifest is None and rendered.manifest is not None and rendered.values is not None:
            snap.names = rendered.manifest.names_for(snap.policies)
            # a policy the render turns off is named from the same values with every group on
            every = copy.deepcopy(rendered.values)
            for switch in facts.switches():
                if switch != "flink.metrics.enabled" or get(every, "flink.metrics.port") is not None:
                    put(every, switch, True)
            with contextlib.suppress(RenderError):
                snap.names = snap.names.or_else(
                    read_manifest(helm_template(every, chart=rendered.chart)).names_for(snap.policies)
                )
            have = {_key(o) for o in rendered.policies}
            foreign = [o for o in snap.policies if not _is_charts(o, chart_name) and _key(o) not in have]
            rendered.policies = rendered.policies + foreign
            rendered.kept = [f"{ns}/{n}" for ns, n in map(_key, foreign)]
            merged = dict(rendered.names.names)
            merged.update({k: v for k, v in snap.names.names.items() if k in {_key(o) for o in foreign}})
            rendered.names = RuleNames(merged)


def fixture(a: Side, b: Side) -> tuple[Cluster, bool]:
    """make verify's fixture for the values of either side, or both (their union, and True) when they
    place pods differently; the defaults' when neither side has values."""
    clusters = [cluster_for(s.values) for s in (a, b) if s.values is not None] or [cluster_for(effective_values())]
    if len(clusters) == 2 and clusters[0] != clusters[1]:
        return union(clusters[0], clusters[1]), True
    return clusters[0], False


# ---------------------------------------------------------------- the changes, line by line


@dataclass(frozen=True)
class Change:
    kind: str  # opened | closed
    src: str
    dst: str
    what: str  # protocols and ports: "TCP 8443", "TCP 53, UDP 53", "all traffic", "all traffic but TCP 8443"
    why: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.kind}  {self.src} -> {self.dst}: {self.what}  {'; '.join(self.why)}"


def what_str(ports: Mapping[str, tuple[Interval, ...]]) -> str:
    """Protocols and ports as a reader says them: every protocol on every port is "all traffic", and
    nearly so "all traffic but ..." (the ports and protocols left out)."""
    named = [p for p in PROTOCOL_NUMBERS if p in ports]
    full = [p for p in PROTOCOL_NUMBERS if ports.get(p) == ALL_PORTS]
    if OTHER in ports and len(full) >= 2:
        but = [
            f"{p} {ports_str(subtract(ALL_PORTS, ports[p]))}" if p in ports else p
            for p in PROTOCOL_NUMBERS
            if p not in full
        ]
        return "all traffic" + (f" but {', '.join(but)}" if but else "")
    parts = [f"{p} {ports_str(ports[p])}" for p in named]
    return ", ".join([*parts, *(["other protocols (ICMP, ...)"] if OTHER in ports else [])])


def ports_str(ivs: Sequence[Interval]) -> str:
    if tuple(ivs) == ALL_PORTS:
        return "all ports"
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ivs)


def _opened_because(now: End, before: End) -> str:
    if now.admitted_by:
        return "; ".join(f"allowed by {r}" for r in now.admitted_by)
    end = "destination" if now.direction == "ingress" else "source's egress"
    return f"{end} no longer isolated (was: {', '.join(before.isolated_by)})"


def _closed_because(before: End, now: End) -> str:
    if before.admitted_by:
        return "; ".join(f"was allowed by {r}" for r in before.admitted_by)
    end = "destination" if now.direction == "ingress" else "source's egress"
    return f"{end} isolated now by {', '.join(now.isolated_by)}"


def changes(diff: SemanticDiff, a: Side, b: Side, cluster: Cluster) -> list[Change]:
    """Every opened and closed flow with why, merged into lines (protocols, then sources and
    destinations that share everything else)."""
    if diff.rules is None:
        raise ValueError("the semantic diff was run without attribution")
    base = Policies(diff.rules["base"], a.names, cluster.ips)
    new = Policies(diff.rules["new"], b.names, cluster.ips)
    raw: list[tuple[str, Key, Interval, tuple[str, ...]]] = []
    for kind, conns, before, after in (("opened", diff.added, base, new), ("closed", diff.removed, base, new)):
        for key, seg in pieces(port_map(conns, cluster.ips), before, after):
            b_in, b_eg = before.ends(key, seg)
            n_in, n_eg = after.ends(key, seg)
            if kind == "opened":
                why = [_opened_because(n, o) for o, n in ((b_in, n_in), (b_eg, n_eg)) if not o.allows]
            else:
                why = [_closed_because(o, n) for o, n in ((b_in, n_in), (b_eg, n_eg)) if not n.allows]
            raw.append((kind, key, seg, tuple(why)))
    return merge_lines(raw, cluster)


def merge_lines(raw: list[tuple[str, Key, Interval, tuple[str, ...]]], cluster: Cluster) -> list[Change]:
    """One line per (kind, source, destination, reasons) with its protocols and ports; then the sources
    of one destination with the same line are one line (`anywhere`, `anywhere but ...`, or a list),
    and so are the destinations of one source."""
    ports: dict[tuple[str, str, str, tuple[str, ...]], dict[str, list[Interval]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for kind, (src, dst, proto), seg, why in raw:
        ports[(kind, src, dst, why)][proto].append(seg)
    flat = [
        Change(kind, src, dst, what_str({p: merge_intervals(v) for p, v in by_proto.items()}), why)
        for (kind, src, dst, why), by_proto in ports.items()
    ]
    order = {w.name: i for i, w in enumerate(cluster.all_workloads())}
    names = [w.name for w in cluster.all_workloads()]
    outside = {w.name for w in cluster.all_workloads() if w.is_outside}

    def others(w: str) -> list[str]:
        w_out = w in outside or "[" in w
        return [n for n in names if n != w and not (w_out and n in outside)]

    def label(group: list[str], of: str) -> str:
        every = others(of)
        if set(group) >= set(every):
            return ANYWHERE
        rest = [n for n in every if n not in group]
        if len(group) >= 4 and len(rest) < len(group):
            return f"{ANYWHERE} but {', '.join(rest)}"
        return ", ".join(sorted(group, key=lambda n: order.get(n, len(order))))

    by_dst: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for c in flat:
        by_dst[(c.kind, c.dst, c.what, c.why)].append(c.src)
    step = [Change(k, label(srcs, dst), dst, what, why) for (k, dst, what, why), srcs in by_dst.items()]
    by_src: dict[tuple[str, str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for c in step:
        by_src[(c.kind, c.src, c.what, c.why)].append(c.dst)
    out = []
    for (k, src, what, why), dsts in by_src.items():
        if len(dsts) == 1 or src not in order:  # one destination, or sources already merged
            out += [Change(k, src, d, what, why) for d in dsts]
        else:
            out.append(Change(k, src, label(dsts, src), what, why))
    kinds = {"opened": 0, "closed": 1}
    return sorted(
        out,
        key=lambda c: (kinds[c.kind], order.get(c.dst, len(order)), c.dst, order.get(c.src, len(order)), c.src, c.what),
    )


# ---------------------------------------------------------------- the report


@dataclass
class Report:
    lines: list[Change]
    header: list[str]

    @property
    def opened(self) -> int:
        return sum(c.kind == "opened" for c in self.lines)

    @property
    def closed(self) -> int:
        return sum(c.kind == "closed" for c in self.lines)

    def __str__(self) -> str:
        body = [str(c) for c in self.lines] or ["no connectivity changes"]
        return "\n".join(
            [*self.header, "", *body, "", f"connectivity diff: {self.opened} opened, {self.closed} closed"]
        )


def object_changes(a: Side, b: Side) -> list[str]:
    pa, pb = {_key(o): o for o in a.policies}, {_key(o): o for o in b.policies}
    out = [f"  removed: {ns}/{n}" for ns, n in sorted(pa.keys() - pb.keys())]
    out += [f"  added: {ns}/{n}" for ns, n in sorted(pb.keys() - pa.keys())]
    out += [
        f"  changed: {ns}/{n}" for ns, n in sorted(pa.keys() & pb.keys()) if normal(pa[(ns, n)]) != normal(pb[(ns, n)])
    ]
    return out


def run(a: Side, b: Side) -> Report:
    settle(a, b)
    cluster, both = fixture(a, b)
    res = analyze(
        [Scenario(b.policies, cluster, "diff", NAMESPACE, base_policies=a.policies, attribute=True, report=False)]
    )[0]
    assert res.diff is not None
    objs = object_changes(a, b)
    header = [
        f"FROM {a.label}",
        f"TO   {b.label}",
        *(f"kept on both sides (not the chart's; helm leaves them): {', '.join(s.kept)}" for s in (a, b) if s.kept),
        "Policies:" if objs else "Policies: the same objects",
        *objs,
        f"Fixture (make verify's{'; FROM and TO place pods differently: both placements' if both else ''}): "
        + ", ".join(w.name if "@" in w.name else f"{w.name}@{w.namespace}" for w in cluster.workloads),
    ]
    return Report(changes(res.diff, a, b, cluster), header)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", type=Path, help="values file or snapshot before (default: defaults)")
    ap.add_argument("--to", dest="dst", type=Path, help="values file or snapshot after (default: defaults)")
    ap.add_argument("--from-ref", help="render FROM with the chart of this git commit (FROM's values, else TO's)")
    ap.add_argument("--from-version", help="--from-ref the last commit whose chart has this version (e.g. 0.1.0)")
    ap.add_argument("--fail-on-open", action="store_true", help="exit 1 when any flow opens (a CI gate)")
    args = ap.parse_args(argv)
    try:
        b = load_side(args.dst)
        if args.from_version:
            args.from_ref = version_commit(args.from_version)
        with tempfile.TemporaryDirectory(prefix="epnp-diff-") as tmp:
            if args.from_ref:
                chart, commit = chart_at(args.from_ref, Path(tmp))
                src = args.src or args.dst
                a = load_side(src, f"the chart at {args.from_ref} ({commit[:12]}), ", chart, values_only=True)
            else:
                a = load_side(args.src)
            report = run(a, b)
    except (HistoryError, kubelist.ObjectsError) as e:
        print(f"make diff: {e}", file=sys.stderr)
        return 2
    print(report)
    return 1 if args.fail_on_open and report.opened else 0


if __name__ == "__main__":
    sys.exit(main())
