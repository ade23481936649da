"""`make verify`: what the chart's policies let through, for your values, against the documentation.

    python -m tools.connectivity.verify [--values my-env.yaml] [--live netpol.yaml] [--svg out.svg]

Renders the chart with your values, places the fixture pods where your values say they live, lets
network-config-analyzer compute every allowed connection, and prints the connectivity table and its
differences from the page's documented flows. Exit 1 when something undocumented is allowed or
something documented is blocked. With --live (the output of `kubectl get netpol -n NS -o yaml`, or
several namespaces' concatenated), also reports how the cluster's policies differ from the render,
and exits 1 when they do.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tools import snapshot
from tools.connectivity.cluster import Cluster, cluster_for
from tools.connectivity.engine import Result, Scenario, analyze, semantic_diff
from tools.connectivity.flows import ANY_PORT, Flow, FlowDiff, group_ports, normalize
from tools.connectivity.intervals import cidrs_str
from tools.connectivity.model import PROTOCOLS, actual_flows, compare, expected_flows, isolated
from tools.connectivity.picture import PictureError, deny_all_in, draw, to_dot, to_svg
from tools.paths import ROOT
from tools.policy import normal
from tools.render import RenderError, render
from tools.values import effective_values

Obj = dict[str, Any]
DEFAULT_SVG = ROOT / "dist" / "connectivity.svg"


def network_policies(docs: Sequence[Any]) -> list[Obj]:
    """NetworkPolicies from rendered or `kubectl get -o yaml` documents (tools/snapshot.py: Lists
    unwrapped, items without kind given their list's)."""
    return snapshot.network_policies(snapshot.objects(docs))


def connectivity_table(
    actual: set[Flow], expected: set[Flow], cluster: Cluster, iso: set[str], by_values: dict[Flow, str] | None = None
) -> str:
    """source -> destination: allowed ports, and how they compare with the documented ones. Ports open
    to every source are one `anyone` line; so is a pod no policy selects (NetworkPolicy leaves it open).
    Destinations include the outside world's named blocks (what egress policies let pods dial)."""
    actual, expected = normalize(actual), normalize(expected)
    by_values = by_values or {}
    rows: list[tuple[str, str, str, str]] = []
    for w in cluster.all_workloads():
        others = {x.name for x in cluster.all_workloads() if not (w.is_outside and x.is_outside)} - {w.name}
        act = {f for f in actual if f.dst == w.name}
        exp = {f for f in expected if f.dst == w.name}
        if not act and not exp:
            continue
        everyone = {
            p
            for p in {f.port for f in act | exp}
            if {f.src for f in act if f.port == p} == others == {f.src for f in exp if f.port == p}
        }
        if everyone:
            ports = group_ports(Flow("anyone", w.name, p) for p in everyone)[("anyone", w.name)]
            note = "documented" if w.name in iso or w.is_outside else "not selected by any policy"
            bv = sorted({by_values[f] for f in act if f.port in everyone and f in by_values})
            if bv and all(f in by_values for f in act if f.port in everyone):
                note = "by values: " + "; ".join(bv)
            rows.append(("anyone", w.name, "all ports" if ports == ANY_PORT else ports, note))
        act_p = group_ports(f for f in act if f.port not in everyone)
        exp_p = group_ports(f for f in exp if f.port not in everyone)
        for pair in sorted(act_p.keys() | exp_p.keys()):
            a, e = act_p.get(pair, ""), exp_p.get(pair, "")
            if a != e:
                rows.append((*pair, a or "blocked", _status(a, e)))
                continue
            bv_flows = {f for f in act if (f.src, f.dst) == pair and f in by_values}
            note = "documented"
            if bv_flows:
                whys = "; ".join(sorted({by_values[f] for f in bv_flows}))
                bv_ports = group_ports(bv_flows)[pair]
                note = f"by values: {whys}" if bv_ports == a else f"documented; {bv_ports} by values: {whys}"
            rows.append((*pair, a, note))
    rows = _merge_sources(rows, cluster)
    w1 = max(len(f"{s} -> {d}") for s, d, _, _ in rows)
    w2 = max(len(a) for _, _, a, _ in rows)
    head = f"{'source -> destination':<{w1}}  {'allowed (TCP)':<{w2}}  status"
    return "\n".join([head, "-" * len(head)] + [f"{s + ' -> ' + d:<{w1}}  {a:<{w2}}  {st}" for s, d, a, st in rows])


def _merge_sources(rows: list[tuple[str, str, str, str]], cluster: Cluster) -> list[tuple[str, str, str, str]]:
    """Rows of one destination with the same ports and status, as one row: `a, b, c` or, when most
    sources share it, `anyone but x, y`."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for s, d, a, st in rows:
        groups.setdefault((d, a, st), []).append(s)
    out = []
    for (d, a, st), srcs in groups.items():
        if len(srcs) < 4 or "anyone" in srcs:
            out += [(s, d, a, st) for s in srcs]
            continue
        dst_out = cluster.workload(d).is_outside
        others = [w.name for w in cluster.all_workloads() if w.name != d and not (dst_out and w.is_outside)]
        rest = [o for o in others if o not in srcs]
        out.append((f"anyone but {', '.join(rest)}" if len(rest) < len(srcs) else ", ".join(srcs), d, a, st))
    return out


def by_values_lines(by_values: dict[Flow, str]) -> list[str]:
    """`src -> dst: ports  (extra, from <key>)`, one line per pair and rule."""
    grouped: dict[str, list[Flow]] = {}
    for f, why in by_values.items():
        grouped.setdefault(why, []).append(f)
    return [
        f"{src} -> {dst}: {ports}  ({why})"
        for why in sorted(grouped)
        for (src, dst), ports in group_ports(grouped[why]).items()
    ]


def _status(a: str, e: str) -> str:
    sa, se = set(a.split(",")) - {""}, set(e.split(",")) - {""}
    parts = []
    if sa - se:
        parts.append("UNDOCUMENTED " + ",".join(sorted(sa - se)))
    if se - sa:
        parts.append("BLOCKED documented " + ",".join(sorted(se - sa)))
    return "; ".join(parts)


def live_diff(live: list[Obj], rendered: list[Obj], cluster: Cluster) -> tuple[bool, str]:
    """How the cluster's policies differ from the render: by object (name, and meaning of the spec),
    then by connectivity (nca's semantic diff on the fixture: what installing the chart would add or
    remove)."""

    def key(o: Obj) -> tuple[str, str]:
        return o["metadata"].get("namespace", ""), o["metadata"]["name"]

    lv, rd = {key(o): o for o in live}, {key(o): o for o in rendered}
    lines = []
    for k in sorted(rd.keys() - lv.keys()):
        lines.append(f"  missing from the cluster: {k[0]}/{k[1]}")
    for k in sorted(lv.keys() - rd.keys()):
        lines.append(f"  in the cluster, not in the chart: {k[0]}/{k[1]}")
    for k in sorted(lv.keys() & rd.keys()):
        a, b = normal(lv[k]), normal(rd[k])
        if a != b:
            lines.append(
                f"  differs: {k[0]}/{k[1]}"
                + "".join(
                    f"\n      {f}: cluster {getattr(a, f)!r}\n      {' ' * len(f)}  chart   {getattr(b, f)!r}"
                    for f in ("pod_selector", "policy_types", "ingress", "egress")
                    if getattr(a, f) != getattr(b, f)
                )
            )
    sem = semantic_diff(live, rendered, cluster)
    text = (
        "Policies (cluster vs chart):\n"
        + ("\n".join(lines) if lines else "  same objects")
        + "\n\nConnectivity (going from the cluster's policies to the chart's):\n"
        + sem.text.strip()
    )
    return bool(lines) or sem.differs, text


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--values", type=Path, help="your values file (as for helm --values)")
    ap.add_argument("--live", type=Path, help="`kubectl get netpol -n NS -o yaml` output to compare")
    ap.add_argument(
        "--svg", type=Path, default=DEFAULT_SVG, help=f"the picture, by workload group (default {DEFAULT_SVG})"
    )
    args = ap.parse_args(argv)

    user = (yaml.safe_load(args.values.read_text()) or {}) if args.values else {}
    values = effective_values(user)
    try:
        rendered = network_policies(render(user))
    except RenderError as e:
        print(f"helm could not render the chart with these values:\n{e.stderr.strip()}", file=sys.stderr)
        return 2
    cluster = cluster_for(values)
    scenarios = [Scenario(rendered, cluster, "chart")]
    res: Result = analyze(scenarios)[0]
    iso = isolated(values, cluster)
    actual, expected = actual_flows(res, cluster), expected_flows(values, cluster)
    diff: FlowDiff = compare(values, res, cluster)

    where = ", ".join(f"{w.name}@{w.namespace}" for w in cluster.workloads)
    blocks = "; ".join(
        f"`{a.name}` ({'every other address' if a.name == 'outside' else cidrs_str(a.intervals)})" for a in cluster.ips
    )
    print(f"Fixture pods: {where}.\nOutside the cluster: {blocks}.\n")
    print(connectivity_table(actual, expected, cluster, iso, diff.by_values))
    print("\nAllowed by your values' own rules (extraIngress/extraEgress; not documented, not a failure):")
    print("  none" if not diff.by_values else "\n".join(f"  {ln}" for ln in by_values_lines(diff.by_values)))
    print("\nDifferences from the documented flows:")
    print("  none" if not diff else "\n".join("  " + ln for ln in str(diff).splitlines()))
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    try:  # what nca computed, drawn as the README's picture is (one node per workload group)
        pic = draw(cluster, {p: res.flows(p) for p in PROTOCOLS}, deny_all_in(rendered))
        args.svg.write_bytes(
            to_svg(to_dot(pic, f"computed by network-config-analyzer for {args.values or 'the defaults'}"))
        )
        print(f"\nGraph: {args.svg}")
    except PictureError as e:
        print(f"\nGraph: not drawn ({str(e).splitlines()[0]})")
    failed = bool(diff)
    if args.live:
        live = network_policies(list(yaml.safe_load_all(args.live.read_text())))
        differs, text = live_diff(live, rendered, cluster)
        print("\nLive cluster vs chart:\n" + text)
        failed |= differs
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
