"""Kubernetes objects out of what kubectl and the API server print, as one flat list:

    objects(yaml.safe_load_all(text))
    holds_objects(docs)       do the documents hold Kubernetes objects (rather than a values file)?
    network_policies(objs)    the NetworkPolicies among them

- `kubectl get ... -o yaml|json`: a `List` whose items carry `kind` and `apiVersion`;
- the API server's own lists (`kubectl get --raw`, any client's GET): a `PodList`, `NetworkPolicyList`,
  ... whose items carry neither (the list's kind names them: `PodList` holds `Pod`s);
- single objects, and any number of YAML documents of either.

An item of a plain `List` without `kind` is named by its shape (Namespace, Pod or NetworkPolicy), or
refused: a NetworkPolicy that silently drops out of a comparison reads as "missing from the cluster".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]


class ObjectsError(ValueError):
    """An input document that is not a Kubernetes object or list; the message says where."""


def objects(docs: Iterable[Any]) -> list[Obj]:
    """Every object of `docs` (YAML documents), Lists unwrapped, each with its `kind` and `apiVersion`."""
    out: list[Obj] = []
    for i, doc in enumerate(docs, 1):
        if doc is None:
            continue  # an empty document (`---` at the end, a comment-only file)
        if not isinstance(doc, dict):
            raise ObjectsError(f"document {i}: not a Kubernetes object (a {type(doc).__name__})")
        out += _unwrap(doc, f"document {i}")
    return out


def _unwrap(doc: Obj, where: str) -> list[Obj]:
    kind = doc.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ObjectsError(f"{where}: no `kind` (a `kubectl get -o yaml` document, or an API server list)")
    if not kind.endswith("List"):
        return [doc]
    items = doc.get("items")
    if items is None:
        return []  # an empty list: the API server omits nothing, but kubectl's printer may
    if not isinstance(items, list):
        raise ObjectsError(f"{where}: `items` of the {kind} is not a list")
    item_kind = kind.removesuffix("List")  # "" for a plain List
    out = []
    for j, item in enumerate(items):
        at = f"{where}, items[{j}]"
        if not isinstance(item, dict):
            raise ObjectsError(f"{at}: not a Kubernetes object")
        if item.get("kind"):
            out += _unwrap(item, at)
            continue
        named = item_kind or _kind_by_shape(item, at)
        version = doc.get("apiVersion") if item_kind else _API_VERSIONS[named]
        out.append({"apiVersion": version, "kind": named, **item})
    return out


_API_VERSIONS = {"Namespace": "v1", "Pod": "v1", "NetworkPolicy": "networking.k8s.io/v1"}


def _kind_by_shape(item: Obj, where: str) -> str:
    """The kind of a kindless item of a plain List: the three kinds a snapshot holds, by their spec."""
    spec = item.get("spec")
    metadata = item.get("metadata")
    if isinstance(spec, dict) and "podSelector" in spec:
        return "NetworkPolicy"
    if isinstance(spec, dict) and "containers" in spec:
        return "Pod"
    if isinstance(metadata, dict) and not metadata.get("namespace") and (not spec or "finalizers" in spec):
        return "Namespace"
    raise ObjectsError(
        f"{where}: an item without `kind` that is not a Namespace, Pod or NetworkPolicy by its shape; "
        "give it a `kind` (kubectl get -o yaml does)"
    )


def holds_objects(docs: Iterable[Any]) -> bool:
    """Do these YAML documents hold Kubernetes objects (rather than, say, a values file)? A values key
    called `kind` alone does not make one."""
    return any(isinstance(d, dict) and "kind" in d and ("apiVersion" in d or "items" in d) for d in docs)


def network_policies(objs: Iterable[Obj]) -> list[Obj]:
    return [o for o in objs if o.get("kind") == "NetworkPolicy"]
