"""The page's facts (tools/facts/network-policies.yaml), typed for the tests."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from tools.paths import FACTS

Obj = dict[str, Any]


@dataclass(frozen=True)
class IngressRow:
    """One row of the page's ingress tables."""

    table: str
    target: str  # a workload of `workloads`
    origin: str  # a workload, or "anywhere"
    port: int
    reason: str
    switch: str  # the values key whose policy serves the row
    servedFrom: tuple[str, ...] = ()  # where a decision narrows the origin: the peers that serve it
    decision: str = ""  # the id of that decision


@cache
def load() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FACTS.read_text())
    return data


def labels(workload: str) -> dict[str, str]:
    return dict(load()["workloads"][workload]["labels"])


def ingress_rows() -> list[IngressRow]:
    fields = IngressRow.__dataclass_fields__
    rows: list[dict[str, Any]] = [{k: tuple(v) if isinstance(v, list) else v for k, v in r.items() if k in fields}
                                  for r in load()["ingress"]]
    return [IngressRow(**r) for r in rows]


def switches() -> dict[str, list[str]]:
    """Values key of each switch -> names of the objects it creates (with defaults)."""
    return {k: list(v) for k, v in load()["switches"].items()}


def defaults_on() -> list[str]:
    return list(load()["defaultsOn"])


def decisions() -> dict[str, dict[str, str]]:
    return {d["id"]: d for d in load()["decisions"]}


def documented_objects(metrics_port: int | None = None) -> list[Obj]:
    """The page's YAML objects; the monitoring policy only when a metrics port is given."""
    facts = load()
    out = []
    for obj in copy.deepcopy(facts["objects"]):
        if obj["metadata"]["name"].endswith("-monitoring"):
            if metrics_port is None:
                continue
            for rule in obj["spec"]["ingress"]:
                for port in rule["ports"]:
                    if port["port"] == facts["metricsPortPlaceholder"]:
                        port["port"] = metrics_port
        out.append(obj)
    return out
