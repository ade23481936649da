"""The documentation pages' facts, typed for the harness: one facts file per version of IBM's page
(tools/facts/*.yaml, each named by the `page:` block at its head), read into a registry by version.

page("1.0")        the EP 1.0 page, which the chart's defaults reproduce (`defaults_page()`)
page("1.5")        the page for EP 1.1 to 1.5: what differs from its `base` page, and its objects
pages()            every page, oldest first
Page.objects(variant, metrics_port)   a page's objects (for one of its variants, when it has any)

The chart-wide facts (workloads, the ingress table rows, switches, the defaults, what is beyond the
page) are the defaults' page's: `load()`, `labels()`, `ingress_rows()`, `switches()`, `defaults_on()`,
`documented_objects()`. `decisions()` holds every page's. A new version of the page is one facts file
here (with `page:` and `base:`), its examples, and `make generate`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tools.paths import FACTS_DIR, SPEC_DIR

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


@dataclass(frozen=True)
class Page:
    """One version of the documentation page, as its facts file transcribes it."""

    facts_file: Path

    def __str__(self) -> str:
        return self.version

    @property
    def data(self) -> dict[str, Any]:
        return _read(self.facts_file)

    @property
    def meta(self) -> dict[str, Any]:
        """The `page:` block: version, releases, file, url, repository, path, commit (and `base`, `defaults`)."""
        meta: dict[str, Any] = self.data["page"]
        return meta

    @property
    def version(self) -> str:
        return str(self.meta["version"])

    @property
    def releases(self) -> str:
        """The EP releases the page is for, as the examples' headers say it ("1.1 to 1.5")."""
        return str(self.meta["releases"])

    @property
    def spec(self) -> Path:
        """Where the page's text is (it may be missing: docs/spec-pages.md)."""
        return SPEC_DIR / str(self.meta["file"])

    @property
    def source(self) -> str:
        """The page's source file at the revision transcribed, in IBM's documentation repository."""
        return f"{self.meta['repository']}/blob/{self.meta['commit']}/{self.meta['path']}"

    @property
    def base(self) -> Page | None:
        """The page whose objects this one's `base` entries name (None for the first page)."""
        return page(str(self.meta["base"])) if "base" in self.meta else None

    def variants(self) -> dict[str, dict[str, Any]]:
        """The page's variants (which objects apply where), each with the example that reproduces it."""
        return dict(self.data.get("variants") or {})

    def decisions(self) -> list[dict[str, str]]:
        return list(self.data.get("decisions") or [])

    def table_changes(self) -> list[dict[str, Any]]:
        """Table cells that differ from the base page's."""
        return list(self.data.get("tableChanges") or [])

    def entries(self) -> list[tuple[Obj, tuple[str, ...]]]:
        """(object, variants) of each object the page prints, in page order, `base` references resolved;
        an object without `variants` applies to every variant."""
        every = tuple(self.variants())
        base = {o["metadata"]["name"]: o for o in self.base.page_objects()} if self.base else {}
        out = []
        for e in self.data["objects"]:
            if "apiVersion" in e:  # an object as the page prints it, in every variant
                out.append((e, every))
            else:
                out.append((base[e["base"]] if "base" in e else e["object"], tuple(e.get("variants") or every)))
        return out

    def page_objects(self) -> list[Obj]:
        """Every NetworkPolicy the page prints, in page order (the transcription test's view)."""
        return [copy.deepcopy(obj) for obj, _ in self.entries()]

    def objects(self, variant: str | None = None, metrics_port: int | None = None) -> list[Obj]:
        """The page's objects (for `variant`, on a page that has variants); the monitoring policy only
        when a metrics port is given, with that port for the page's placeholder."""
        if self.variants() and variant not in self.variants():
            raise KeyError(f"the {self} page has no variant {variant!r}: {sorted(self.variants())}")
        if variant is not None and not self.variants():
            raise KeyError(f"the {self} page has no variants (asked for {variant!r})")
        return _with_metrics_port(
            [obj for obj, variants in self.entries() if variant is None or variant in variants], metrics_port
        )


@cache
def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


@cache
def _registry() -> dict[str, Page]:
    found = [Page(p) for p in sorted(FACTS_DIR.glob("*.yaml")) if "page" in _read(p)]
    by_version = {p.version: p for p in found}
    if len(by_version) != len(found):
        raise ValueError(f"two facts files name the same page version: {[p.facts_file.name for p in found]}")
    return dict(sorted(by_version.items(), key=lambda kv: tuple(int(x) for x in kv[0].split("."))))


def page(version: str) -> Page:
    """The page for one EP version ("1.0", "1.5")."""
    if version not in _registry():
        raise KeyError(f"no facts file for page {version!r} in {FACTS_DIR}: {sorted(_registry())}")
    return _registry()[version]


def pages() -> list[Page]:
    """Every page, oldest first."""
    return list(_registry().values())


def defaults_page() -> Page:
    """The page the chart's defaults reproduce (`defaults: true` in its `page:` block)."""
    [found] = [p for p in pages() if p.meta.get("defaults")]
    return found


# ---------------------------------------------------------------- the defaults' page: chart-wide facts


def load() -> dict[str, Any]:
    """The defaults' page's facts file (workloads, tables, switches, beyondPage, ...)."""
    return defaults_page().data


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
    """Every page's decisions, oldest page first."""
    return {d["id"]: d for p in pages() for d in p.decisions()}


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
    """The defaults' page's YAML objects; the monitoring policy only when a metrics port is given."""
    return defaults_page().objects(metrics_port=metrics_port)
