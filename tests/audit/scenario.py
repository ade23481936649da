"""The pods of an Event Processing install, labelled as IBM's operators label them (the facts'
workloads), and the page's Flink rows spelled out per pod: what the audit tests expect, never what
the audit prints."""

from __future__ import annotations

from typing import Any

from tools import facts

FLINK = "ibm-eventautomation-flink"  # the values' default deployment name (flink.deployments[0].name)
INSTANCE = "app.kubernetes.io/instance"
EP_INSTANCE = "my-ep"

# The page's Flink objects, per destination: (destination, port, sources). "flink" is every pod of the
# destination's own deployment. -jobmanager and -jobmanager-stream-authoring admit 8081 on the
# jobmanager; -jobmanager-rpc-blob 6123 and 6124 on every pod of the deployment; -taskmanager 8081.
PAGE_FLINK_ROWS = [
    ("jobmanager", 8081, ("jobmanager", "taskmanager", "flink-operator", "ep-instance")),
    ("jobmanager", 6123, ("flink",)),
    ("jobmanager", 6124, ("flink",)),
    ("taskmanager", 8081, ("flink",)),
    ("taskmanager", 6123, ("flink",)),
    ("taskmanager", 6124, ("flink",)),
]


def product_pods(flink_instance: str = FLINK) -> dict[str, dict[str, str]]:
    """name -> labels: the EP operator, two pods of EP instance my-ep, the Flink operator, and a Flink
    deployment's jobmanager and two taskmanagers, its pods labelled app.kubernetes.io/instance=
    `flink_instance` (the FlinkDeployment's name)."""
    flink = {**facts.labels("flink"), INSTANCE: flink_instance}
    return {
        "ep-operator-0": facts.labels("ep-operator"),
        "my-ep-ibm-ep-0": {**facts.labels("ep-instance"), INSTANCE: EP_INSTANCE},
        "my-ep-ibm-ep-1": {**facts.labels("ep-instance"), INSTANCE: EP_INSTANCE},
        "flink-operator-0": facts.labels("flink-operator"),
        f"{flink_instance}-jobmanager-0": {**flink, "component": "jobmanager"},
        f"{flink_instance}-taskmanager-1-1": {**flink, "component": "taskmanager"},
        f"{flink_instance}-taskmanager-1-2": {**flink, "component": "taskmanager"},
    }


def role_of(name: str) -> str:
    for role in ("jobmanager", "taskmanager", "flink-operator", "ep-operator"):
        if role in name:
            return role
    return "ep-instance"


def page_flink_flows(ns: str, flink_instance: str) -> set[tuple[str, str, int]]:
    """(source pod, destination pod, TCP port) of every page Flink row, between product_pods()."""
    pods = list(product_pods(flink_instance))
    flink = [p for p in pods if role_of(p) in ("jobmanager", "taskmanager")]
    out = set()
    for dst_role, port, sources in PAGE_FLINK_ROWS:
        for dst in (p for p in flink if role_of(p) == dst_role):
            for src in pods:
                if src != dst and (role_of(src) in sources or ("flink" in sources and src in flink)):
                    out.add((f"{ns}/{src}", f"{ns}/{dst}", port))
    return out


def namespace(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
    }


def pod(ns: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
        "spec": {"containers": [{"name": "main", "image": "epnp.invalid/none"}]},
        "status": {"phase": "Running"},
    }
