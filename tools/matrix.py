"""The exhaustive switch matrix: for every combination, render the chart, let nca compute what the
policies allow on the fixture cluster, and compare with the documented flows (tools/expected.py).

Cost is kept to a handful of processes whatever the size of the matrix:
- rendering: ONE `helm template` per chunk of combinations, through a throw-away umbrella chart that
  lists our chart once per combination under an alias (c0000, c0001, ...) with that combination's
  values; each object's `# Source:` line says which alias (combination) it belongs to;
- analysis: one nca driver process per core for the whole batch (tools/connectivity.py).

    python -m tools.matrix            run the matrix, print failures, exit 1 on any
    python -m tools.matrix --bench    the same, with timings
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools import facts
from tools.connectivity import FlowDiff, Result, Scenario, analyze
from tools.expected import cluster_for, compare, effective_values, merge
from tools.paths import CHART, HELM
from tools.render import NAMESPACE, RELEASE, RenderError

Values = dict[str, Any]
Obj = dict[str, Any]

DENY = "denyAllIngress.enabled"
METRICS = "flink.metrics.enabled"
GROUP_SWITCHES = tuple(s for s in facts.switches() if s not in (DENY, METRICS))
SWITCHES = (*GROUP_SWITCHES, DENY, METRICS)

# "operator in the same or another namespace": everything in the release namespace, or each of the
# four groups in a namespace of its own (both operators away from what they serve, EP away from Flink).
LAYOUTS: dict[str, Values] = {
    "same": {},
    "split": {"eventProcessing": {"operator": {"namespace": "ibm-ep-operator"}},
              "flink": {"operator": {"namespace": "flink-operator"},
                        "deployments": [{"name": "ibm-eventautomation-flink", "namespace": "flink"}]}},
}
# The ports the page lets a user choose: Flink's own and the metrics reporter's.
PORTS: dict[str, Values] = {
    "default": {"flink": {"metrics": {"port": 9250}}},
    "custom": {"flink": {"ports": {"rest": 18081, "rpc": 16123, "blob": 16124}, "metrics": {"port": 19250}}},
}


def _set(values: Values, dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        values = values.setdefault(p, {})
    values[leaf] = value


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
            _set(v, s, s in self.on)
        v = merge(merge(v, PORTS[self.ports]), LAYOUTS[self.layout])
        if "deployments" in v.get("flink", {}):  # lists replace: restate the default entry's labels
            default = effective_values()["flink"]["deployments"][0]
            v["flink"]["deployments"] = [{**default, **d} for d in v["flink"]["deployments"]]
        return v


def combinations() -> list[Combo]:
    return [Combo(frozenset(s for s, bit in zip(SWITCHES, bits) if bit), layout, ports)
            for layout in LAYOUTS for ports in PORTS
            for bits in itertools.product((True, False), repeat=len(SWITCHES))]


# ---------------------------------------------------------------- batched rendering

_SOURCE = re.compile(r"^# Source: [^/]+/charts/(c\d+)/", re.M)
# thousands of documents: libyaml's parser, ~10x faster than PyYAML's own (same safe semantics)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Renders already made in this process, by (chart content, helm, values): the connectivity matrix
# and the server-side dry run of the same combinations share one render.
_RENDERED: dict[tuple[str, str, str], list[list[Obj]]] = {}


def _chart_digest(chart: Path) -> str:
    """What rendering reads, hashed: a copy or an edit of the chart never hits another's cache entry."""
    h = hashlib.sha256()
    files = (p for p in chart.rglob("*") if p.is_file() and not {"tests", "examples", "ci"} & set(p.relative_to(chart).parts))
    for f in sorted(files):
        h.update(str(f.relative_to(chart)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def render_many(values_list: Sequence[Values], chart: Path = CHART, helm: Path = HELM,
                chunk: int = 512, jobs: int = 2) -> list[list[Obj]]:
    """The chart's objects for each values file, as `helm template` renders them, in few processes.
    Schema validation is skipped in the umbrella for speed (thousands of aliased subcharts); callers
    validate the values themselves (validate_values).
    The result is memoised for the process and shared between callers: read it, don't change it."""
    key = (_chart_digest(chart), str(helm), json.dumps(list(values_list), sort_keys=True))
    if key not in _RENDERED:
        chunks = [list(values_list[i:i + chunk]) for i in range(0, len(values_list), chunk)]
        with ThreadPoolExecutor(max(1, min(jobs, len(chunks)))) as pool:
            parts = list(pool.map(lambda c: _render_chunk(c, chart, helm), chunks))
        _RENDERED[key] = [objs for part in parts for objs in part]
    return _RENDERED[key]


def _render_chunk(values_list: list[Values], chart: Path, helm: Path) -> list[list[Obj]]:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    aliases = [f"c{i:04d}" for i in range(len(values_list))]
    with tempfile.TemporaryDirectory(prefix="epnp-matrix-") as tmp:
        umbrella = Path(tmp)
        (umbrella / "charts").mkdir()
        # what rendering reads: helm copies the subchart once per alias, so leave out the rest
        shutil.copytree(chart, umbrella / "charts" / meta["name"],
                        ignore=shutil.ignore_patterns("tests", "examples", "ci", "*.md", "values.schema.json"))
        (umbrella / "Chart.yaml").write_text(yaml.safe_dump({
            "apiVersion": "v2", "name": "matrix", "version": "0.0.0",
            "dependencies": [{"name": meta["name"], "version": meta["version"], "alias": a} for a in aliases]}))
        (umbrella / "values.yaml").write_text(json.dumps(dict(zip(aliases, values_list))))
        proc = subprocess.run([str(helm), "template", RELEASE, str(umbrella), "--namespace", NAMESPACE,
                               "--skip-schema-validation"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RenderError(proc.stderr, proc.returncode, proc.stdout)
    out: dict[str, list[Obj]] = {a: [] for a in aliases}
    for doc in re.split(r"^---\s*$", proc.stdout, flags=re.M):
        m = _SOURCE.search(doc)
        obj = yaml.load(doc, Loader=_LOADER)
        if obj:
            if not m:
                raise ValueError(f"object without a subchart Source line:\n{doc[:300]}")
            out[m.group(1)].append(_unalias(obj, m.group(1), meta))
    return [out[a] for a in aliases]


def _unalias(obj: Obj, alias: str, meta: dict[str, Any]) -> Obj:
    """Under an alias, `.Chart.Name` is the alias: put the chart's name back in the two standard labels
    built from it, so each object is byte-for-byte what a plain `helm template` renders."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for k, v in labels.items():
        if v == alias or v == f"{alias}-{meta['version']}":
            labels[k] = v.replace(alias, meta["name"], 1)
    return obj


def validate_values(values_list: Iterable[Values], chart: Path = CHART) -> None:
    import jsonschema

    schema = json.loads((chart / "values.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema) if "2020-12" in schema.get("$schema", "") \
        else jsonschema.validators.validator_for(schema)(schema)
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    for v in values_list:
        validator.validate(merge(defaults, v))


# ---------------------------------------------------------------- the matrix

@dataclass
class Outcome:
    combo: Combo
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


def run(combos: Sequence[Combo] | None = None, chart: Path = CHART,
        timings: Timings | None = None) -> list[Outcome]:
    combos = combinations() if combos is None else combos
    t = timings or Timings()
    c0, t0 = _cpu(), time.perf_counter()
    values = [c.values() for c in combos]
    # the schema is about shapes, and combinations differ only in booleans: one all-on and one
    # all-off per layout and port set covers every shape the matrix sends (2 ms each otherwise)
    validate_values([Combo(frozenset(s), lay, ports).values() for lay in LAYOUTS for ports in PORTS
                     for s in (SWITCHES, ())], chart)
    rendered = render_many(values, chart)
    c1, t1 = _cpu(), time.perf_counter()
    clusters = [cluster_for(effective_values(v)) for v in values]
    results = analyze([Scenario(objs, cl, c.id) for c, objs, cl in zip(combos, rendered, clusters)])
    c2, t2 = _cpu(), time.perf_counter()
    out = [Outcome(c, compare(effective_values(v), r, cl), r, objs)
           for c, v, r, cl, objs in zip(combos, values, results, clusters, rendered)]
    t.render, t.analyze, t.compare = t1 - t0, t2 - t1, time.perf_counter() - t2
    t.cpu, t.cpu_render, t.cpu_analyze = _cpu() - c0, c1 - c0, c2 - c1
    return out


# ---------------------------------------------------------------- beyond the page

EGRESS_GROUPS = ("eventProcessing.operator", "eventProcessing.instance", "flink.operator", "flink")
EGRESS = {"none": (), "all": EGRESS_GROUPS, **{g: (g,) for g in EGRESS_GROUPS}}
WEBHOOK = ("auto", "anywhere", "hostNetwork", "cidrs")
UI = ("auto", "anywhere", "router")
METRICS: dict[str, Values] = {
    "off": {"enabled": False},
    "single": {"enabled": True, "port": 9250},
    "range-tm": {"enabled": True, "port": 9250, "endPort": 9260, "taskmanagers": True},
    "namespaces": {"enabled": True, "port": 9250, "from": "namespaces", "namespaces": ["monitoring"],
                   "podSelector": {"app.kubernetes.io/name": "prometheus"}},
    "monitoring": {"enabled": True, "port": 9250, "endPort": 9251, "from": "monitoring"},
}
KAFKA = ({"ports": [9092], "to": [{"namespace": "kafka", "podSelector": {"strimzi.io/kind": "Kafka"}}]},
         {"ports": [9092, 9093], "to": [{"cidr": "172.16.0.0/12", "except": ["172.16.1.0/24"]}]},
         {"ports": [9092], "to": []})
# two deployments with their own ports, each operator in another namespace
BEYOND_LAYOUTS: dict[str, Values] = {
    "same": {},
    "split": {"eventProcessing": {"operator": {"namespace": "ibm-ep-operator"}, "instance": {"namespace": "ep"}},
              "flink": {"operator": {"namespace": "flink-operator"},
                        "deployments": [{"name": "ibm-eventautomation-flink", "namespace": "flink"},
                                        {"name": "orders", "namespace": "flink-jobs",
                                         "ports": {"rest": 28081, "rpc": 26123, "taskmanagerData": 26121}}]}},
}
EXTRAS: Values = {
    "eventProcessing": {"operator": {"extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                                                       "ports": [{"port": 9443}]}]},
                        "instance": {"egress": {"extraEgress": [{"to": [{"namespaceSelector": {"matchLabels": {"team": "ldap"}}}],
                                                                 "ports": [{"port": 636}]}]}}},
    "flink": {"taskmanager": {"extraIngress": [{"from": [{"podSelector": {"matchLabels": {"app": "debugger"}}}],
                                                "ports": [{"port": 5005, "endPort": 5006}]}]}},
}


@dataclass(frozen=True)
class BeyondCombo:
    """One combination of the beyond-the-page options (issue 4)."""
    platform: str
    egress: str
    layout: str
    rpc_data: bool
    webhook: str
    ui: str
    metrics: str
    kafka: int
    extras: bool
    deny: bool
    service_port: bool = True  # the Flink operator's 443 (the 1.0 page), or 9443 alone (the EP 1.1-1.5 page)

    @property
    def id(self) -> str:
        return (f"{self.platform}/{self.layout}/egress={self.egress}/webhook={self.webhook}/ui={self.ui}/"
                f"metrics={self.metrics}/rpcData={int(self.rpc_data)}/kafka={self.kafka}/"
                f"extras={int(self.extras)}/deny={int(self.deny)}/svc443={int(self.service_port)}")

    def values(self) -> Values:
        v: Values = {"platform": self.platform, "denyAllIngress": {"enabled": self.deny},
                     "flink": {"taskmanagerRpcData": {"enabled": self.rpc_data}, "metrics": dict(METRICS[self.metrics])}}
        for g in ("eventProcessing.operator", "flink.operator"):
            _set(v, f"{g}.webhookFrom", self.webhook)
            if self.webhook == "cidrs":
                _set(v, f"{g}.webhookCIDRs", ["192.168.10.0/24"])
        _set(v, "flink.operator.webhookServicePort.enabled", self.service_port)
        _set(v, "eventProcessing.instance.uiFrom", self.ui)
        for g in EGRESS[self.egress]:
            _set(v, f"{g}.egress.enabled", True)
            if g in ("eventProcessing.instance", "flink"):
                _set(v, f"{g}.egress.kafka", KAFKA[self.kafka])
        if self.egress != "none" and self.kafka == 1:
            _set(v, "cluster.kubernetesApi.cidrs", ["10.96.0.1/32"])
        if self.extras:
            v = merge(v, EXTRAS)
        v = merge(v, BEYOND_LAYOUTS[self.layout])
        if "deployments" in v.get("flink", {}):
            default = effective_values()["flink"]["deployments"][0]
            v["flink"]["deployments"] = [d if d["name"] != default["name"] else {**default, **d}
                                         for d in v["flink"]["deployments"]]
        return v


def beyond_combinations() -> list[BeyondCombo]:
    """platform x egress (none, all, each group alone) x layout x taskmanagerRpcData, all crossed (48),
    each with every webhook source (4): 192; the UI source, metrics variant, Kafka destination, extra
    rules and deny-all cycle through their values so each meets every platform and egress setting, and
    the Flink operator's Service port alternates so each webhook source meets both pages' shapes."""
    out = []
    bases = itertools.product(("kubernetes", "openshift"), EGRESS, BEYOND_LAYOUTS, (False, True))
    for i, (platform, egress, lay, rpc) in enumerate(bases):
        for j, webhook in enumerate(WEBHOOK):
            k = i * len(WEBHOOK) + j
            out.append(BeyondCombo(platform, egress, lay, rpc, webhook, UI[k % len(UI)],
                                   list(METRICS)[k % len(METRICS)], k % len(KAFKA), k % 3 == 0, k % 4 != 3,
                                   (i + j) % 2 == 0))
    return out


def run_beyond(combos: Sequence[BeyondCombo] | None = None, chart: Path = CHART) -> list[Outcome]:
    """The beyond-the-page matrix, batched like the page's: one umbrella render, one nca batch."""
    combos = beyond_combinations() if combos is None else combos
    values = [c.values() for c in combos]
    validate_values(values, chart)
    rendered = render_many(values, chart)
    clusters = [cluster_for(effective_values(v)) for v in values]
    results = analyze([Scenario(objs, cl, c.id) for c, objs, cl in zip(combos, rendered, clusters)])
    return [Outcome(c, compare(effective_values(v), r, cl), r, objs)  # type: ignore[arg-type]
            for c, v, r, cl, objs in zip(combos, values, results, clusters, rendered)]


def report(outcomes: Sequence[Outcome], limit: int = 10) -> str:
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
    outcomes = [*outcomes, *beyond]
    if args.bench:
        n = len(outcomes)
        print(f"\nmatrix: {n} combinations in {t.total:.1f} s wall on {os.cpu_count()} cores "
              f"(render {t.render:.1f} s, nca {t.analyze:.1f} s, compare {t.compare:.1f} s; "
              f"{1000 * t.total / n:.1f} ms per combination); "
              f"CPU {t.cpu:.1f} s (render {t.cpu_render:.1f} s, nca {t.cpu_analyze:.1f} s)")
    return 1 if any(o.diff for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
