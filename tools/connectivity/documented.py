"""The documented rows: what the spec page says must (and may only) reach each pod, from the facts
file (tools/facts/network-policies.yaml), never written per test:
- the page's YAML objects give the Flink rows, with the chart switch that creates each object
  (the chart follows the YAML where it is narrower or wider than the tables: decisions
  rest-8081-origin, flink-operator-443, taskmanager-8081, rpc-blob-targets);
- the page's tables give the rows of the groups the page has no YAML for (EP operator, EP instance);
- `check_tables_covered` proves every table row is served by one of those rows.
The values only choose which rows are on, where the groups live, and the Flink ports the page lets a
user customise; everything else stays the page's number, so a values file that moves it is reported.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from tools import facts
from tools.connectivity.cluster import Workload
from tools.connectivity.layout import ANYWHERE, FLINK_KINDS, Layout, beyond_page, layout
from tools.generate.schema import port_value_keys
from tools.paths import CHART
from tools.render import NAMESPACE as RELEASE_NAMESPACE
from tools.values import Values, chart_defaults, get, put


def port_keys() -> dict[int | str, str]:
    """Documented port -> the values key that moves it (facts: `valuesKey` on the page's rows and on
    `beyondPage.objectRows`): the page lets a user move only Flink's ports and the metrics port."""
    data = facts.load()
    rows_ = [*data["ingress"], *data["beyondPage"]["objectRows"]]
    return {r["port"]: r["valuesKey"] for r in rows_ if r.get("valuesKey")}


def movable_port_keys() -> set[str]:
    """Values keys of the ports the facts let a user move: `port_keys`, the ports beyond the page
    (`beyondPage.ingress`) and the metrics range's end (`endKey`)."""
    beyond = facts.load()["beyondPage"]
    return {
        *port_keys().values(),
        *(r["valuesKey"] for r in beyond["ingress"] if r.get("valuesKey")),
        *(r["endKey"] for r in beyond["objectRows"] if r.get("endKey")),
    }


@cache
def page_fixed_port_keys() -> tuple[str, ...]:
    """Every port value of the schema the page fixes: those no facts row lets a user move."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    movable = movable_port_keys()
    return tuple(k for k in port_value_keys(schema) if k not in movable)


def page_fixed_ports(values: Values) -> Values:
    """`values` with every port the page fixes put back to the chart's default (the page's number).
    Decision customisable-ports: the documented model follows only the ports the page lets a user
    move, so a moved EP or operator port is reported as undocumented, by design
    (tests/connectivity/test_verify.py checks the max config fails on exactly those)."""
    out = copy.deepcopy(values)
    for key in page_fixed_port_keys():
        if get(out, key) is not None:
            put(out, key, get(chart_defaults(), key))
    return out


def kept_by() -> dict[tuple[str, int | str], str]:
    """Rows the chart may drop without leaving the page, with the values key that keeps them (facts:
    `keptBy`; decision flink-operator-443)."""
    return {(r["target"], r["port"]): r["keptBy"] for r in facts.load()["beyondPage"]["objectRows"] if r.get("keptBy")}


def source_keys() -> dict[tuple[str, int | str], str]:
    """(target, port) of an "Anywhere" row -> the values key that narrows its origin (facts: `sourceKey`)."""
    data = facts.load()
    return {
        (r["target"], r["port"]): r["sourceKey"]
        for r in [*data["ingress"], *data["beyondPage"]["objectRows"]]
        if r.get("sourceKey")
    }


@dataclass(frozen=True)
class Row:
    """One documented ingress: pods of `target` admit `origin` on `port` when all `switches` are on."""

    target: str  # a facts workload key
    origin: str  # a facts workload key or ANYWHERE
    port: int | str  # a number, or the facts' metrics placeholder
    switches: tuple[str, ...]
    source: str  # where the row comes from, for messages

    def __str__(self) -> str:
        return f"{self.origin} -> {self.target}:{self.port} [{' & '.join(self.switches)}] ({self.source})"


# ---------------------------------------------------------------- rows from the facts file


def _workload_key(labels: Mapping[str, str], where: str) -> str:
    """The facts workload whose labels a page selector spells out exactly."""
    for key, wl in facts.load()["workloads"].items():
        if dict(wl["labels"]) == dict(labels):
            return str(key)
    raise ValueError(f"{where}: selector {dict(labels)} is not a workload of the facts file")


@cache
def rows() -> tuple[Row, ...]:
    data = facts.load()
    switch_of = {obj: sw for sw, objs in facts.switches().items() for obj in objs}
    out: list[Row] = []
    covered_targets: set[str] = set()
    for obj in data["objects"]:
        name, spec = obj["metadata"]["name"], obj["spec"]
        if not spec["podSelector"] and not spec.get("ingress"):
            continue  # the deny-all: it isolates, it admits nothing (see deny_all_namespaces)
        target = _workload_key(spec["podSelector"]["matchLabels"], name)
        covered_targets.add(target)
        for rule in spec["ingress"]:
            origins = [_workload_key(p["podSelector"]["matchLabels"], name) for p in rule.get("from", [])]
            for origin in origins or [ANYWHERE]:
                for port in rule["ports"]:
                    optional = kept_by().get((target, port["port"]))
                    out.append(
                        Row(
                            target,
                            origin,
                            port["port"],
                            (switch_of[name],) + ((optional,) if optional else ()),
                            f"object {name}",
                        )
                    )
    for r in facts.ingress_rows():
        if r.target not in covered_targets:  # the page has tables only for the EP groups
            out.append(Row(r.target, r.origin, r.port, (r.switch,), f"table {r.table}"))
    return tuple(out)


def check_tables_covered() -> list[str]:
    """Table rows no documented row serves: same target and port, and the table's origin or the
    peers a decision narrows it to (`servedFrom`)."""
    problems = []
    ours = rows()
    for r in facts.ingress_rows():
        origins = set(r.servedFrom) or {r.origin}
        served = {x.origin for x in ours if x.port == r.port and _covers(x.target, r.target)}
        if not origins <= served:
            problems.append(f"{r.table} {r.origin}->{r.target}:{r.port}: served only from {sorted(served)}")
    return problems


def _covers(row_target: str, table_target: str) -> bool:
    return row_target == table_target or (table_target == "flink" and row_target in FLINK_KINDS)


# ---------------------------------------------------------------- expected flows


def enabled_rows(values: Values) -> list[Row]:
    out = []
    for r in rows():
        if not all(get(values, s) for s in r.switches):
            continue
        if r.port == facts.load()["metricsPortPlaceholder"] and get(values, "flink.metrics.port") is None:
            continue  # the chart refuses metrics without a port; nothing to expect
        out.append(r)
    return out


def row_ports(r: Row, values: Values, dst: Workload, lay: Layout) -> tuple[int, int]:
    """The ports a row opens on `dst`: the page's number, but a port the page lets the user move as
    the values set it (facts `valuesKey`): Flink's for dst's deployment (flink.ports, or the deployment
    entry's own), and the metrics port, with its range's end (`endKey`, beyond the page)."""
    if r.port == facts.load()["metricsPortPlaceholder"]:
        lo = int(get(values, "flink.metrics.port"))
        end = get(values, "flink.metrics.endPort")
        return lo, int(end) if end is not None else lo
    p = row_port(r, values, dst, lay)
    return p, p


def row_port(r: Row, values: Values, dst: Workload, lay: Layout) -> int:
    if r.port == facts.load()["metricsPortPlaceholder"]:
        return int(get(values, "flink.metrics.port"))
    key = port_keys().get(r.port)
    if r.target in FLINK_KINDS and key and key.startswith("flink.ports."):
        dep = next(d for d in lay.deployments if d.name == dst.cell)
        return int(dep.ports[key.removeprefix("flink.ports.")])
    return int(r.port)


def deny_all_namespaces(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> set[str]:
    """Decision deny-all-namespaces: every namespace an enabled (ingress) policy lives in (none: the EP
    instance's and the Flink deployments'), plus the listed ones, minus the excepted ones."""
    if not get(values, "denyAllIngress.enabled"):
        return set()
    lay = layout(values, release_namespace)
    nss = {lay.namespaces[_group_of(r.target)] for r in enabled_rows(values) if _group_of(r.target) in lay.namespaces}
    if any(r.target in FLINK_KINDS for r in enabled_rows(values)) or any(
        get(values, r["switch"]) for r in beyond_page()["ingress"]
    ):
        nss |= {d.namespace for d in lay.deployments}
    nss = nss or {lay.namespaces["ep-instance"], *(d.namespace for d in lay.deployments)}
    return (nss | set(get(values, "denyAllIngress.namespaces") or [])) - set(
        get(values, "denyAllIngress.exceptNamespaces") or []
    )


def _group_of(kind: str) -> str:
    return "flink-deployment" if kind in FLINK_KINDS else kind
