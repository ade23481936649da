"""The dataplane's cases: values to render, rendered and given to nca before the lab runs them.

coverage_cases()     issue 8 item 5: defaults, deny-all + metrics (the README picture's values),
                     each documented group off, split namespaces, OpenShift, each example, the max config
prepare(cases)       render every case, build its fixture, start nca on all of them in the background
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.connectivity.batch import render_many, validate_values
from tools.connectivity.cluster import Cluster, cluster_for
from tools.connectivity.documented import page_fixed_ports
from tools.connectivity.engine import Result, Scenario, analyze
from tools.connectivity.picture import PICTURE_VALUES
from tools.paths import CHART, HELM, MAX_VALUES
from tools.values import Values, effective_values, updated

Obj = dict[str, Any]

# The case whose values are the README picture's (tests/connectivity/test_picture.py checks it runs).
DENY_ALL_METRICS = "defaults+deny-all+metrics"


@dataclass
class Case:
    id: str
    values: Values  # the user's overrides of the chart's values.yaml
    chart: Path = CHART


def coverage_cases(chart: Path = CHART) -> list[Case]:
    """Issue 8 item 5: defaults; + deny-all and metrics (the README picture's values, so the
    picture's flows are probed too); each documented group off (deny-all on, acknowledged); the
    operators and EP in other namespaces; OpenShift; each worked example; max."""
    from tools.connectivity.matrix import GROUP_SWITCHES, INGRESS_CONTROLLER, LAYOUTS

    deny: Values = {"denyAllIngress": {"enabled": True}}
    metrics: Values = copy.deepcopy(PICTURE_VALUES)
    cases = [Case("defaults", {}, chart), Case(DENY_ALL_METRICS, metrics, chart)]
    for sw in GROUP_SWITCHES:
        v = updated(updated(deny, sw, False), "acknowledge.denyAllWithoutProductPolicies", True)
        cases.append(Case(f"deny-all, {sw.removesuffix('.enabled')} off", v, chart))
    split = copy.deepcopy(LAYOUTS["split"])
    default_dep = effective_values()["flink"]["deployments"][0]
    split["flink"]["deployments"] = [{**default_dep, **d} for d in split["flink"]["deployments"]]
    split["eventProcessing"]["instance"] = {"namespace": "ep"}
    cases.append(
        Case(
            "operators and EP in other namespaces",
            {**split, **metrics, "flink": {**split["flink"], **metrics["flink"]}},
            chart,
        )
    )
    cases.append(Case("platform openshift", {**deny, "platform": "openshift"}, chart))
    # The UI from an ingress controller's pods only (a neighbour in its namespace is refused).
    controller = {"uiFrom": "ingressController", "ingressController": INGRESS_CONTROLLER}
    cases.append(Case("UI from an ingress controller", {**deny, "eventProcessing": {"instance": controller}}, chart))
    for f in sorted((chart / "examples").glob("*.yaml")):
        cases.append(Case(f"example {f.stem}", yaml.safe_load(f.read_text()) or {}, chart))
    mx = yaml.safe_load(MAX_VALUES.read_text())
    cases.append(Case("max config (page-fixed ports kept)", page_fixed_ports(mx), chart))
    return cases


@dataclass
class Prepared:
    case: Case
    objs: list[Obj]
    cluster: Cluster


def prepare(cases: Sequence[Case]) -> tuple[list[Prepared], Future[list[Result]], ThreadPoolExecutor]:
    """Render every case (one helm process per chart), build the fixtures, and start nca on all of
    them in the background (it needs no network: it runs while the lab starts)."""
    by_chart: dict[Path, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        by_chart[c.chart].append(i)
    rendered: list[list[Obj]] = [[] for _ in cases]
    for chart, idx in by_chart.items():
        vals = [cases[i].values for i in idx]
        validate_values(vals, chart)
        for i, objs in zip(idx, render_many(vals, chart, HELM), strict=True):
            rendered[i] = [o for o in objs if o.get("kind") == "NetworkPolicy"]
    prepared = [Prepared(c, objs, _cluster(c)) for c, objs in zip(cases, rendered, strict=True)]
    pool = ThreadPoolExecutor(1)
    fut = pool.submit(analyze, [Scenario(p.objs, p.cluster, p.case.id) for p in prepared])
    return prepared, fut, pool


def _cluster(case: Case) -> Cluster:
    return cluster_for(effective_values(case.values))
