"""The audit's input: what kubectl prints, what the API server lists (items without `kind`), several
documents of either; and every input the audit would have to guess at, refused by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.audit.snapshot import SnapshotError, load
from tools.kubelist import ObjectsError, objects

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ep", "labels": {"team": "data"}}}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "jm", "namespace": "ep", "labels": {"component": "jobmanager"}},
    "spec": {"containers": [{"name": "flink", "image": "x"}]},
    "status": {"phase": "Running"},
}
NETPOL = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "ep"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def kindless(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def write(tmp_path: Path, *docs: Any, name: str = "snap.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_a_kubectl_list(tmp_path: Path) -> None:
    snap = load(write(tmp_path, {"apiVersion": "v1", "kind": "List", "items": [NS, POD, NETPOL]}))
    # the API server's label on every namespace is there even when the input lacks it
    assert snap.namespaces == {"ep": {"kubernetes.io/metadata.name": "ep", "team": "data"}}
    assert [(p.namespace, p.name, dict(p.labels)) for p in snap.pods] == [("ep", "jm", {"component": "jobmanager"})]
    assert [p["metadata"]["name"] for p in snap.policies] == ["deny"]


def test_the_api_servers_own_lists_whose_items_carry_no_kind(tmp_path: Path) -> None:
    """GET /api/v1/pods answers a PodList whose items have no kind: read as Pods, not dropped."""
    docs = [
        {"apiVersion": "v1", "kind": "NamespaceList", "items": [kindless(NS)]},
        {"apiVersion": "v1", "kind": "PodList", "items": [kindless(POD)]},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": [kindless(NETPOL)]},
    ]
    snap = load(write(tmp_path, *docs))
    assert list(snap.namespaces) == ["ep"] and [p.name for p in snap.pods] == ["jm"]
    assert snap.policies[0]["kind"] == "NetworkPolicy" and snap.policies[0]["apiVersion"] == "networking.k8s.io/v1"


def test_a_plain_list_of_kindless_items_is_read_by_shape(tmp_path: Path) -> None:
    ns = kindless(NS) | {"spec": {"finalizers": ["kubernetes"]}}
    snap = load(write(tmp_path, {"kind": "List", "items": [ns, kindless(POD), kindless(NETPOL)]}))
    assert list(snap.namespaces) == ["ep"] and len(snap.pods) == 1 and len(snap.policies) == 1


def test_json_single_objects_and_other_kinds(tmp_path: Path) -> None:
    """`-o json` is read too; objects the audit does not need (a Service) are ignored."""
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "ep"}, "spec": {}}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [NS, service, POD]}))
    snap = load(path)
    assert [p.name for p in snap.pods] == ["jm"] and snap.policies == ()


def test_pods_networkpolicy_does_not_apply_to_are_left_out_with_the_reason(tmp_path: Path) -> None:
    done = json.loads(json.dumps(POD))
    done["metadata"]["name"], done["status"]["phase"] = "job-1", "Succeeded"
    host = json.loads(json.dumps(POD))
    host["metadata"]["name"], host["spec"]["hostNetwork"] = "node-agent", True
    snap = load(write(tmp_path, {"kind": "List", "items": [NS, POD, done, host]}))
    assert [p.name for p in snap.pods] == ["jm"]
    assert snap.left_out == (
        "ep/job-1 (Succeeded: it runs no more)",
        "ep/node-agent (host network: NetworkPolicy does not apply to it)",
    )


@pytest.mark.parametrize(
    "docs, message",
    [
        (
            [{"kind": "List", "items": [NS | {"metadata": {"name": "other"}}, POD]}],
            "Pod ep/jm: its namespace ep is not in the snapshot",
        ),
        (
            [{"kind": "List", "items": [NS, NETPOL | {"metadata": {"name": "x", "namespace": "other"}}]}],
            "NetworkPolicy other/x: its namespace other",
        ),
        ([{"kind": "List", "items": [NETPOL]}], "no Namespace in the input"),
        (
            [{"kind": "List", "items": [NS, {"metadata": {"name": "?", "namespace": "ep"}, "data": {}}]}],
            "items[1]: an item without `kind`",
        ),
        (
            [
                {
                    "kind": "List",
                    "items": [NS, POD | {"metadata": {"name": "jm", "namespace": "ep", "labels": {"on": True}}}],
                }
            ],
            "Pod ep/jm: label on is True, not a string",
        ),
        (
            [NS, POD, POD | {"metadata": {"name": "jm", "namespace": "ep", "labels": {}}}],
            "Pod ep/jm appears twice, and differently",
        ),
        (
            [NS, NETPOL | {"metadata": {"name": "deny"}}],
            "NetworkPolicy deny: no metadata.namespace (take the snapshot with -A)",
        ),
        ([["not", "an", "object"]], "document 1: not a Kubernetes object"),
        ([{"metadata": {"name": "x"}}], "document 1: no `kind`"),
    ],
)
def test_bad_input_is_refused_naming_the_object(tmp_path: Path, docs: list[Any], message: str) -> None:
    with pytest.raises(SnapshotError) as e:
        load(write(tmp_path, *docs))
    assert message in str(e.value) and str(tmp_path / "snap.yaml") in str(e.value)


def test_not_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed")
    with pytest.raises(SnapshotError, match="not YAML or JSON"):
        load(bad)
    with pytest.raises(SnapshotError, match="No such file"):
        load(tmp_path / "absent.yaml")


def test_the_same_object_twice_is_read_once(tmp_path: Path) -> None:
    """Overlapping lists (a namespace's pods and every pod) are fine when they agree."""
    snap = load(
        write(
            tmp_path,
            {"kind": "List", "items": [NS, POD]},
            {"kind": "PodList", "apiVersion": "v1", "items": [kindless(POD)]},
        )
    )
    assert len(snap.pods) == 1


def test_objects_keeps_what_kubectl_sets_and_names_the_rest() -> None:
    """tools.kubelist is also `make verify --live`'s reader: a List's own item kinds win."""
    out = objects(
        [None, {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": [kindless(NETPOL), NETPOL]}]
    )
    assert [o["kind"] for o in out] == ["NetworkPolicy", "NetworkPolicy"]
    assert out[0] == NETPOL  # the same object as kubectl would print it
    with pytest.raises(ObjectsError, match="`items` of the PodList is not a list"):
        objects([{"kind": "PodList", "items": {"a": 1}}])
