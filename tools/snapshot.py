"""Kubernetes objects from a file: `kubectl get ... -o yaml` output, a rendered manifest, or several
of either concatenated. Lists are unwrapped and every object comes back with its `kind` and
`apiVersion`, so a reader filters by kind and nothing else.

    objects(read_text(path)) / read(path)    every object
    of_kind(objs, "NetworkPolicy")            one kind of them

`kubectl get -o yaml` prints `kind: List` whose items carry their own kind. The API's typed lists
(`NetworkPolicyList`, from `kubectl get --raw` or a client library) leave kind and apiVersion out
of the items: they are the list's, singular (FooList -> Foo). In a plain `List`, an item without
kind is given the one its shape leaves no doubt about (KINDS_BY_SHAPE), or none; one of those kinds
without apiVersion gets its usual one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

# (kind, apiVersion, the spec key only that kind has) for items of a plain List that lack kind
KINDS_BY_SHAPE = (
    ("NetworkPolicy", "networking.k8s.io/v1", "podSelector"),
    ("Pod", "v1", "containers"),
)


class SnapshotError(ValueError):
    pass


def _by_shape(item: Obj) -> tuple[str, str] | None:
    spec = item.get("spec")
    if isinstance(spec, dict):
        for kind, api, key in KINDS_BY_SHAPE:
            if key in spec:
                return kind, api
    return None


def objects(docs: Iterable[Any]) -> list[Obj]:
    """Every object of the documents, Lists unwrapped (nested ones too), each with kind and apiVersion
    where they can be known."""
    out: list[Obj] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        kind = str(doc.get("kind") or "")
        if kind.endswith("List") and isinstance(doc.get("items"), list):
            member = kind.removesuffix("List")
            for item in doc["items"]:
                if not isinstance(item, dict):
                    continue
                if not item.get("kind"):
                    guess = (member, str(doc.get("apiVersion") or "")) if member else _by_shape(item)
                    if guess:
                        item = {**item, "kind": guess[0], "apiVersion": item.get("apiVersion") or guess[1]}
                out += objects([item])
        else:
            api = next((a for k, a, _ in KINDS_BY_SHAPE if k == kind), None)
            out.append({**doc, "apiVersion": api} if api and not doc.get("apiVersion") else doc)
    return out


def load(text: str, where: str = "input") -> list[Obj]:
    try:
        return objects(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise SnapshotError(f"{where}: not YAML: {e}") from e


def read(path: Path) -> list[Obj]:
    return load(path.read_text(), str(path))


def of_kind(objs: Iterable[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o.get("kind") == kind]


def network_policies(objs: Iterable[Obj]) -> list[Obj]:
    return of_kind(objs, "NetworkPolicy")


def is_snapshot(docs: Iterable[Any]) -> bool:
    """Do these documents hold Kubernetes objects (rather than, say, a values file)?"""
    return any(isinstance(d, dict) and "kind" in d and ("apiVersion" in d or "items" in d) for d in docs)
