"""The pages' facts, typed for the tests: the EP 1.0 page (tools/facts/network-policies.yaml, the
defaults' page) and the EP 1.1-1.5 page (network-policies-ep-1.5.yaml: what differs, and its objects)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from tools.paths import FACTS, FACTS_EP15

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
    rows: list[dict[str, Any]] = [
        {k: tuple(v) if isinstance(v, list) else v for k, v in r.items() if k in fields} for r in load()["ingress"]
    ]
    return [IngressRow(**r) for r in rows]


def switches() -> dict[str, list[str]]:
    """Values key of each switch -> names of the objects it creates (with defaults)."""
    return {k: list(v) for k, v in load()["switches"].items()}


def defaults_on() -> list[str]:
    return list(load()["defaultsOn"])


def decisions() -> dict[str, dict[str, str]]:
    """Both pages' decisions, the 1.0 page's first."""
    return {d["id"]: d for d in [*load()["decisions"], *load_ep15()["decisions"]]}


def _with_metrics_port(objects: list[Obj], metrics_port: int | None) -> list[Obj]:
    """The monitoring policy only when a metrics port is given, with that port for the placeholder."""
    placeholder = load()["metricsPortPlaceholder"]
    out = []
    for obj in copy.deepcopy(objects):
        if obj["metadata"]["name"].endswith("-monitoring"):
            if metrics_port is None:
                continue
            for rule in obj["spec"]["ingress"]:
                for port in rule["ports"]:
                    if port["port"] == placeholder:
                        port["port"] = metrics_port
        out.append(obj)
    return out


def documented_objects(metrics_port: int | None = None) -> list[Obj]:
    """The 1.0 page's YAML objects; the monitoring policy only when a metrics port is given."""
    return _with_metrics_port(load()["objects"], metrics_port)


# ---------------------------------------------------------------- the EP 1.1-1.5 page


@cache
def load_ep15() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FACTS_EP15.read_text())
    assert data["base"] == FACTS.name, f"{FACTS_EP15.name} refers to {data['base']}"
    return data


def _ep15_entries() -> list[tuple[Obj, tuple[str, ...]]]:
    """(object, variants) of each object the 1.5 page prints, `base` references resolved."""
    base = {o["metadata"]["name"]: o for o in load()["objects"]}
    every = tuple(ep15_variants())
    return [
        (base[e["base"]] if "base" in e else e["object"], tuple(e.get("variants") or every))
        for e in load_ep15()["objects"]
    ]


def ep15_variants() -> dict[str, dict[str, str]]:
    return dict(load_ep15()["variants"])


def ep15_page_objects() -> list[Obj]:
    """Every NetworkPolicy the 1.5 page prints, in page order (the transcription test's view)."""
    return [copy.deepcopy(obj) for obj, _ in _ep15_entries()]


def ep15_objects(variant: str, metrics_port: int | None = None) -> list[Obj]:
    """The 1.5 page's objects for one of its variants; the monitoring policy only with a metrics port."""
    if variant not in ep15_variants():
        raise KeyError(f"the 1.5 page has no variant {variant!r}: {sorted(ep15_variants())}")
    return _with_metrics_port([obj for obj, variants in _ep15_entries() if variant in variants], metrics_port)
