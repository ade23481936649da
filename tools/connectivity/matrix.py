"""The exhaustive switch matrix: for every combination, render the chart, let nca compute what the
policies allow on the fixture cluster, and compare with the documented flows (tools/connectivity/model.py).

Cost is kept to a handful of processes whatever the size of the matrix:
- rendering: ONE `helm template` per chunk of combinations (tools/connectivity/batch.py);
- analysis: one nca driver process per core for the whole batch (tools/connectivity/engine.py).

    python -m tools.connectivity.matrix            run the matrix, print failures, exit 1 on any
    python -m tools.connectivity.matrix --bench    the same, with timings
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from tools import facts
from tools.connectivity.batch import Obj, render_many, validate_values
from tools.connectivity.cluster import cluster_for
from tools.connectivity.engine import Result, Scenario, analyze
from tools.connectivity.flows import FlowDiff
from tools.connectivity.model import compare
from tools.paths import CHART
from tools.values import Values, effective_values, merge, put

DENY = "denyAllIngress.enabled"
METRICS = "flink.metrics.enabled"
GROUP_SWITCHES = tuple(s for s in facts.switches() if s not in (DENY, METRICS))
SWITCHES = (*GROUP_SWITCHES, DENY, METRICS)
# The ingress groups beyond the page (facts beyondPage.ingress, e.g. taskmanagerRpcData): the beyond
# matrix crosses them all off and all on.
BEYOND_INGRESS_SWITCHES = tuple(dict.fromkeys(r["switch"] for r in facts.load()["beyondPage"]["ingress"]))

# "operator in the same or another namespace": everything in the release namespace, or each of the
# four groups in a namespace of its own (both operators away from what they serve, EP away from Flink).
# The operators' own namespaces are acknowledged for deny-all (decision deny-all-stays-home), so
# deny-all covers every namespace the policies live in, as on a cluster where the operators have theirs.
OPERATOR_NAMESPACES = {"acknowledge": {"denyAllNamespaces": ["ibm-ep-operator", "flink-operator"]}}
LAYOUTS: dict[str, Values] = {
    "same": {},
    "split": {
        **OPERATOR_NAMESPACES,
        "eventProcessing": {"operator": {"namespace": "ibm-ep-operator"}},
        "flink": {
            "operator": {"namespace": "flink-operator"},
            "deployments": [{"name": "ibm-eventautomation-flink", "namespace": "flink"}],
        },
    },
}
# The ports the page lets a user choose: Flink's own and the metrics reporter's.
PORTS: dict[str, Values] = {
    "default": {"flink": {"metrics": {"port": 9250}}},
    "custom": {"flink": {"ports": {"rest": 18081, "rpc": 16123, "blob": 16124}, "metrics": {"port": 19250}}},
}


@dataclass(frozen=True)
class Combo:
    on: frozenset[str]  # the SWITCHES that are on
    layout: str = "same"
    ports: str = "default"

    @property
    def id(self) -> str:
        off = [s.removesuffix(".enabled") for s in SWITCHES if s not in self.on]
        return f"{self.layout}/{self.ports}/" + ("off:" + ",".join(off) if off else "all-on")

    def values(self) -> Values:
        """The user's values file for this combination (overrides of the chart's defaults)."""
        # the chart refuses deny-all with product policies off unless acknowledged: the matrix
        # acknowledges, since what those combinations let through is exactly what it checks
        v: Values = {"acknowledge": {"denyAllWithoutProductPolicies": True}}
        for s in SWITCHES:
            put(v, s, s in self.on)
        v = merge(merge(v, PORTS[self.ports]), LAYOUTS[self.layout])
        if "deployments" in v.get("flink", {}):  # lists replace: restate the default entry's labels
            default = effective_values()["flink"]["deployments"][0]
            v["flink"]["deployments"] = [{**default, **d} for d in v["flink"]["deployments"]]
        return v


def combinations() -> list[Combo]:
    return [
        Combo(frozenset(s for s, bit in zip(SWITCHES, bits, strict=True) if bit), layout, ports)
        for layout in LAYOUTS
        for ports in PORTS
        for bits in itertools.product((True, False), repeat=len(SWITCHES))
    ]


# ---------------------------------------------------------------- the matrix

C = TypeVar("C", "Combo", "BeyondCombo")


@dataclass
class Outcome(Generic[C]):
    combo: C
    diff: FlowDiff
    result: Result
    objects: list[Obj] = field(repr=False)


@dataclass
class Timings:
    """Wall seconds per phase, and CPU seconds (ours + child processes'), which a busy machine
    inflates far less than wall time."""

    render: float = 0.0
    analyze: float = 0.0
    compare: float = 0.0
    cpu: float = 0.0
    cpu_render: float = 0.0
    cpu_analyze: float = 0.0

    @property
    def total(self) -> float:
        return self.render + self.analyze + self.compare


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(
    combos: Sequence[Combo] | None = None, chart: Path = CHART, timings: Timings | None = None
) -> list[Outcome[Combo]]:
    combos = combinations() if combos is None else combos
    t = timings or Timings()
    c0, t0 = _cpu(), time.perf_counter()
    values = [c.values() for c in combos]
    # the schema is about shapes, and combinations differ only in booleans: one all-on and one
    # all-off per layout and port set covers every shape the matrix sends (2 ms each otherwise)
    validate_values(
        [Combo(frozenset(s), lay, ports).values() for lay in LAYOUTS for ports in PORTS for s in (SWITCHES, ())], chart
    )
    rendered = render_many(values, chart)
    c1, t1 = _cpu(), time.perf_counter()
    clusters = [cluster_for(effective_values(v)) for v in values]
    results = analyze([Scenario(objs, cl, c.id) for c, objs, cl in zip(combos, rendered, clusters, strict=True)])
    c2, t2 = _cpu(), time.perf_counter()
    out = [
        Outcome(c, compare(effective_values(v), r, cl), r, objs)
        for c, v, r, cl, objs in zip(combos, values, results, clusters, rendered, strict=True)
    ]
    t.render, t.analyze, t.compare = t1 - t0, t2 - t1, time.perf_counter() - t2
    t.cpu, t.cpu_render, t.cpu_analyze = _cpu() - c0, c1 - c0, c2 - c1
    return out


# ---------------------------------------------------------------- beyond the page

# the groups with an egress policy (facts beyondPage.egress), by their values prefix
EGRESS_GROUPS = tuple(
    eg["switch"].removesuffix(".egress.enabled") for eg in facts.load()["beyondPage"]["egress"].values()
)
PLATFORMS = ("kubernetes", "openshift")
EGRESS = {"none": (), "all": EGRESS_GROUPS, **{g: (g,) for g in EGRESS_GROUPS}}
WEBHOOK = ("auto", "anywhere", "hostNetwork", "cidrs")
UI = ("auto", "anywhere", "router", "ingressController")
INGRESS_CONTROLLER: Values = {"namespace": "ingress-nginx", "podSelector": {"app.kubernetes.io/name": "ingress-nginx"}}
METRICS_VARIANTS: dict[str, Values] = {
    "off": {"enabled": False},
    "single": {"enabled": True, "port": 9250},
    "range-tm": {"enabled": True, "port": 9250, "endPort": 9260, "taskmanagers": True},
    "namespaces": {
        "enabled": True,
        "port": 9250,
        "from": "namespaces",
        "namespaces": ["monitoring"],
        "podSelector": {"app.kubernetes.io/name": "prometheus"},
    },
    "monitoring": {"enabled": True, "port": 9250, "endPort": 9251, "from": "monitoring"},
}
KAFKA = (
    {"ports": [9092], "to": [{"namespace": "kafka", "podSelector": {"strimzi.io/kind": "Kafka"}}]},
    {"ports": [9092, 9093], "to": [{"cidr": "172.16.0.0/12", "except": ["172.16.1.0/24"]}]},
    {"ports": [9092], "to": "anywhere"},
)
# two deployments with their own ports, each operator in another namespace
BEYOND_LAYOUTS: dict[str, Values] = {
    "same": {},
    "split": {
        **OPERATOR_NAMESPACES,
        "eventProcessing": {"operator": {"namespace": "ibm-ep-operator"}, "instance": {"namespace": "ep"}},
        "flink": {
            "operator": {"namespace": "flink-operator"},
            "deployments": [
                {"name": "ibm-eventautomation-flink", "namespace": "flink"},
                {
                    "name": "orders",
                    "namespace": "flink-jobs",
                    "ports": {"rest": 28081, "rpc": 26123, "taskmanagerData": 26121},
                },
            ],
        },
    },
}
EXTRAS: Values = {
    "eventProcessing": {
        "operator": {"extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 9443}]}]},
        "instance": {
            "egress": {
                "extraEgress": [
                    {"to": [{"namespaceSelector": {"matchLabels": {"team": "ldap"}}}], "ports": [{"port": 636}]}
                ]
            }
        },
    },
    "flink": {
        "taskmanager": {
            "extraIngress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "debugger"}}}],
                    "ports": [{"port": 5005, "endPort": 5006}],
                }
            ]
        }
    },
}


@dataclass(frozen=True)
class BeyondCombo:
    """One combination of the beyond-the-page options (issue 4)."""

    platform: str
    egress: str
    layout: str
    beyond_ingress: bool  # every BEYOND_INGRESS_SWITCHES on
    webhook: str
    ui: str
    metrics: str
    kafka: int
    extras: bool
    deny: bool
    service_port: bool = True  # the Flink operator's 443 (the 1.0 page), or 9443 alone (the EP 1.1-1.5 page)

    @property
    def id(self) -> str:
        return (
            f"{self.platform}/{self.layout}/egress={self.egress}/webhook={self.webhook}/ui={self.ui}/"
            f"metrics={self.metrics}/beyondIngress={int(self.beyond_ingress)}/kafka={self.kafka}/"
            f"extras={int(self.extras)}/deny={int(self.deny)}/svc443={int(self.service_port)}"
        )

    def values(self) -> Values:
        v: Values = {
            "platform": self.platform,
            "denyAllIngress": {"enabled": self.deny},
            "flink": {"metrics": dict(METRICS_VARIANTS[self.metrics])},
        }
        for sw in BEYOND_INGRESS_SWITCHES:
            put(v, sw, self.beyond_ingress)
        for g in ("eventProcessing.operator", "flink.operator"):
            put(v, f"{g}.webhookFrom", self.webhook)
            if self.webhook == "cidrs":
                put(v, f"{g}.webhookCIDRs", ["192.168.10.0/24"])
        put(v, "flink.operator.webhookServicePort.enabled", self.service_port)
        put(v, "eventProcessing.instance.uiFrom", self.ui)
        if self.ui == "ingressController":
            put(v, "eventProcessing.instance.ingressController", INGRESS_CONTROLLER)
        for g in EGRESS[self.egress]:
            put(v, f"{g}.egress.enabled", True)
            if g in ("eventProcessing.instance", "flink"):
                put(v, f"{g}.egress.kafka", KAFKA[self.kafka])
        if self.egress != "none" and self.kafka == 1:
            put(v, "cluster.kubernetesApi.cidrs", ["10.96.0.1/32"])
        if self.extras:
            v = merge(v, EXTRAS)
        v = merge(v, BEYOND_LAYOUTS[self.layout])
        if "deployments" in v.get("flink", {}):
            default = effective_values()["flink"]["deployments"][0]
            v["flink"]["deployments"] = [
                d if d["name"] != default["name"] else {**default, **d} for d in v["flink"]["deployments"]
            ]
        return v


def beyond_combinations() -> list[BeyondCombo]:
    """platform x egress (none, all, each group alone) x layout x the beyond-page ingress groups
    (all off, all on), all crossed, each with every webhook source; the UI source, metrics variant,
    Kafka destination, extra rules and deny-all cycle through their values so each meets every
    platform and egress setting, and the Flink operator's Service port alternates so each webhook
    source meets both pages' shapes."""
    out = []
    bases = itertools.product(PLATFORMS, EGRESS, BEYOND_LAYOUTS, (False, True))
    for i, (platform, egress, lay, beyond) in enumerate(bases):
        for j, webhook in enumerate(WEBHOOK):
            k = i * len(WEBHOOK) + j
            out.append(
                BeyondCombo(
                    platform,
                    egress,
                    lay,
                    beyond,
                    webhook,
                    UI[k % len(UI)],
                    list(METRICS_VARIANTS)[k % len(METRICS_VARIANTS)],
                    k % len(KAFKA),
                    k % 3 == 0,
                    k % 4 != 3,
                    (i + j) % 2 == 0,
                )
            )
    return out


def run_beyond(combos: Sequence[BeyondCombo] | None = None, chart: Path = CHART) -> list[Outcome[BeyondCombo]]:
    """The beyond-the-page matrix, batched like the page's: one umbrella render, one nca batch."""
    combos = beyond_combinations() if combos is None else combos
    values = [c.values() for c in combos]
    validate_values(values, chart)
    rendered = render_many(values, chart)
    clusters = [cluster_for(effective_values(v)) for v in values]
    results = analyze([Scenario(objs, cl, c.id) for c, objs, cl in zip(combos, rendered, clusters, strict=True)])
    return [
        Outcome(c, compare(effective_values(v), r, cl), r, objs)
        for c, v, r, cl, objs in zip(combos, values, results, clusters, rendered, strict=True)
    ]


def report(outcomes: Sequence[Outcome[Combo]] | Sequence[Outcome[BeyondCombo]], limit: int = 10) -> str:
    bad = [o for o in outcomes if o.diff]
    lines = [f"{len(outcomes)} combinations, {len(bad)} with undocumented or blocked flows"]
    for o in bad[:limit]:
        lines += [f"\n== {o.combo.id}", str(o.diff)]
    if len(bad) > limit:
        lines.append(f"\n... and {len(bad) - limit} more")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", action="store_true", help="print timings")
    ap.add_argument("--chart", type=Path, default=CHART)
    args = ap.parse_args(argv)
    t = Timings()
    outcomes = run(chart=args.chart, timings=t)
    print(report(outcomes))
    t0 = time.perf_counter()
    beyond = run_beyond(chart=args.chart)
    print("\nbeyond the page: " + report(beyond))
    if args.bench:
        print(f"beyond the page: {len(beyond)} combinations in {time.perf_counter() - t0:.1f} s wall")
    if args.bench:
        n = len(outcomes) + len(beyond)
        print(
            f"\nmatrix: {n} combinations in {t.total:.1f} s wall on {os.cpu_count()} cores "
            f"(render {t.render:.1f} s, nca {t.analyze:.1f} s, compare {t.compare:.1f} s; "
            f"{1000 * t.total / n:.1f} ms per combination); "
            f"CPU {t.cpu:.1f} s (render {t.cpu_render:.1f} s, nca {t.cpu_analyze:.1f} s)"
        )
    return 1 if any(o.diff for o in outcomes) or any(o.diff for o in beyond) else 0


if __name__ == "__main__":
    sys.exit(main())
