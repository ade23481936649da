"""What the audit reads: the cluster's namespaces, pods and NetworkPolicies, from a snapshot file
(`kubectl get namespaces,pods,networkpolicies -A -o yaml`, or the API server's own lists) or from the
live API server (tools/audit/live.py). Everything else in the input is ignored; anything the audit
would have to guess is refused, naming the object."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.kubelist import ObjectsError, objects

Obj = dict[str, Any]
NAME_LABEL = "kubernetes.io/metadata.name"  # the API server sets it on every namespace
FINISHED = ("Succeeded", "Failed")


class SnapshotError(ValueError):
    """Input the audit cannot read; the message names the object and the field."""


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(hash=False, compare=False)
    ports: tuple[tuple[str, int, str], ...] = field(default=(), hash=False, compare=False)  # named ones

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Snapshot:
    namespaces: Mapping[str, Mapping[str, str]]  # name -> labels
    pods: tuple[Pod, ...]
    policies: tuple[Obj, ...]  # NetworkPolicies, each with kind, apiVersion, metadata.namespace
    left_out: tuple[str, ...] = ()  # pods NetworkPolicy does not apply to, and why

    def policy(self, key: str) -> Obj:
        return next(p for p in self.policies if policy_key(p) == key)


def policy_key(policy: Mapping[str, Any]) -> str:
    """`namespace/name`, as nca and kubectl name a policy."""
    return f"{policy['metadata']['namespace']}/{policy['metadata']['name']}"


def load(path: Path) -> Snapshot:
    try:
        text = path.read_text()
    except OSError as e:
        raise SnapshotError(f"{path}: {e.strerror or e}") from None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise SnapshotError(f"{path}: not YAML or JSON: {e}") from None
    try:
        return from_objects(objects(docs))
    except (ObjectsError, SnapshotError) as e:
        raise SnapshotError(f"{path}: {e}") from None


def _labels(obj: Obj, what: str) -> dict[str, str]:
    labels = obj["metadata"].get("labels") or {}
    if not isinstance(labels, dict):
        raise SnapshotError(f"{what}: metadata.labels is not a map")
    for k, v in labels.items():
        if not isinstance(v, str):
            raise SnapshotError(f"{what}: label {k} is {v!r}, not a string (quote it, as kubectl prints it)")
    return dict(labels)


def _identity(obj: Obj, kind: str, namespaced: bool) -> tuple[str, str]:
    md = obj.get("metadata")
    name = md.get("name") if isinstance(md, dict) else None
    if not isinstance(name, str) or not name:
        raise SnapshotError(f"a {kind} without metadata.name")
    ns = md.get("namespace") if isinstance(md, dict) else None
    if namespaced and (not isinstance(ns, str) or not ns):
        raise SnapshotError(f"{kind} {name}: no metadata.namespace (take the snapshot with -A)")
    return (ns or "", name)


def _named_ports(spec: Obj) -> tuple[tuple[str, int, str], ...]:
    """The containers' named ports, which a policy's `port: <name>` resolves to on this pod."""
    return tuple(
        (str(p["name"]), int(p["containerPort"]), str(p.get("protocol") or "TCP"))
        for c in spec.get("containers") or []
        for p in c.get("ports") or []
        if isinstance(p, dict) and p.get("name") and p.get("containerPort")
    )


def from_objects(objs: Iterable[Obj]) -> Snapshot:
    """The snapshot of these objects (tools.kubelist.objects of the input documents)."""
    seen: dict[tuple[str, str, str], Obj] = {}
    for o in objs:
        kind = o["kind"]
        if kind not in ("Namespace", "Pod", "NetworkPolicy"):
            continue
        key = (kind, *_identity(o, kind, kind != "Namespace"))
        if key in seen and seen[key] != o:
            raise SnapshotError(f"{kind} {'/'.join(key[1:]).lstrip('/')} appears twice, and differently")
        seen[key] = o
    namespaces: dict[str, dict[str, str]] = {}
    for (kind, _, name), o in seen.items():
        if kind == "Namespace":
            namespaces[name] = {NAME_LABEL: name, **_labels(o, f"Namespace {name}")}
    if not namespaces:
        raise SnapshotError(
            "no Namespace in the input: take all three kinds at once "
            "(kubectl get namespaces,pods,networkpolicies -A -o yaml)"
        )
    pods, left_out = [], []
    for (kind, ns, name), o in seen.items():
        if kind != "Pod":
            continue
        what = f"Pod {ns}/{name}"
        if ns not in namespaces:
            raise SnapshotError(
                f"{what}: its namespace {ns} is not in the snapshot; take all three kinds at once "
                "(kubectl get namespaces,pods,networkpolicies -A -o yaml)"
            )
        spec, status = o.get("spec") or {}, o.get("status") or {}
        if spec.get("hostNetwork"):
            left_out.append(f"{ns}/{name} (host network: NetworkPolicy does not apply to it)")
        elif status.get("phase") in FINISHED:
            left_out.append(f"{ns}/{name} ({status['phase']}: it runs no more)")
        else:
            pods.append(Pod(ns, name, _labels(o, what), _named_ports(spec)))
    policies = []
    for (kind, ns, name), o in seen.items():
        if kind != "NetworkPolicy":
            continue
        if not isinstance(o.get("spec"), dict):
            raise SnapshotError(f"NetworkPolicy {ns}/{name}: no spec")
        if ns not in namespaces:
            raise SnapshotError(
                f"NetworkPolicy {ns}/{name}: its namespace {ns} is not in the snapshot; take all three kinds "
                "at once (kubectl get namespaces,pods,networkpolicies -A -o yaml)"
            )
        policies.append(o)
    return Snapshot(namespaces, tuple(pods), tuple(policies), tuple(left_out))
