"""Where the values put each group, which labels its pods carry, and what the values' sources, DNS,
Kafka and extra rules name: the chart's deployment model, read from the values (never from a render)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tools import facts
from tools.render import NAMESPACE as RELEASE_NAMESPACE
from tools.values import Values, get

ANYWHERE = "anywhere"
FLINK_KINDS = {"flink", "flink-jobmanager", "flink-taskmanager"}
INSTANCE_LABEL = "app.kubernetes.io/instance"


@dataclass(frozen=True)
class Deployment:
    name: str
    namespace: str
    labels: Mapping[str, str]
    ports: Mapping[str, int]  # flink.ports, overridden by the entry's own `ports`


@dataclass(frozen=True)
class Layout:
    """Where each group lives and which pod labels its selectors use, as the values say: a null
    selector is the chart's default, the page's labels (the facts' workloads)."""

    namespaces: Mapping[str, str]  # ep-operator, ep-instance, flink-operator -> namespace
    labels: Mapping[str, Mapping[str, str]]  # ep-operator, ep-instance, flink-operator -> labels
    instance: str
    deployments: tuple[Deployment, ...]
    component_labels: Mapping[str, Mapping[str, str]]  # jobmanager, taskmanager -> extra labels


def flink_deployment_labels(name: str) -> dict[str, str]:
    """The labels IBM's Flink operator puts on every pod of deployment `name` (the facts' `flink`
    workload, whose instance label is the deployment's name): the chart's selector for a deployment
    entry without a podSelector."""
    return {**facts.labels("flink"), INSTANCE_LABEL: name}


def layout(values: Values, release_namespace: str = RELEASE_NAMESPACE) -> Layout:
    def ns(n: str | None) -> str:
        return n or release_namespace

    ep, fl = values["eventProcessing"], values["flink"]
    deps = tuple(
        Deployment(
            d["name"],
            ns(d.get("namespace")),
            dict(d.get("podSelector") or flink_deployment_labels(d["name"])),
            {**fl["ports"], **(d.get("ports") or {})},
        )
        for d in fl["deployments"]
    )
    return Layout(
        {
            "ep-operator": ns(ep["operator"]["namespace"]),
            "ep-instance": ns(ep["instance"]["namespace"]),
            "flink-operator": ns(fl["operator"]["namespace"]),
        },
        {
            "ep-operator": dict(ep["operator"].get("podSelector") or facts.labels("ep-operator")),
            "ep-instance": dict(ep["instance"].get("podSelector") or facts.labels("ep-instance")),
            "flink-operator": dict(fl["operator"].get("podSelector") or facts.labels("flink-operator")),
        },
        ep["instance"]["name"],
        deps,
        {
            c: dict((fl.get("componentLabels") or {}).get(c) or component_labels(c))
            for c in ("jobmanager", "taskmanager")
        },
    )


def component_labels(component: str) -> dict[str, str]:
    """The labels only a Flink `component` (jobmanager, taskmanager) pod carries beyond the deployment's:
    the facts' workload minus the facts' `flink` labels (the chart's default componentLabels)."""
    every = facts.labels("flink")
    return {k: v for k, v in facts.labels(f"flink-{component}").items() if every.get(k) != v}


def beyond_page() -> dict[str, Any]:
    """The facts file's `beyondPage` section."""
    section: dict[str, Any] = facts.load()["beyondPage"]
    return section


def resolved_source(values: Values, key: str) -> str:
    """What a source value stands for: `auto` is the source a narrowing value asks for when one is set
    (CIDRs, metrics namespaces, an ingress controller: decision no-narrowing-dropped), else anywhere, or
    the OpenShift variant on OpenShift."""
    v = get(values, key) or "auto"
    if v != "auto":
        return str(v)
    spec = beyond_page()["sources"][key]
    if spec.get("cidrsKey") and get(values, spec["cidrsKey"]):
        return "cidrs"
    if spec.get("namespacesKey") and get(values, spec["namespacesKey"]):
        return "namespaces"
    controller = get(values, spec["controllerKey"]) if spec.get("controllerKey") else None
    if controller and (controller.get("namespace") or controller.get("podSelector") is not None):
        return "ingressController"
    return str(spec["openshift"]) if get(values, "platform") == "openshift" else ANYWHERE


def kafka_destinations(kafka: Mapping[str, Any] | None) -> list[Mapping[str, Any]] | None:
    """A group's `kafka.to` entries; None when Kafka is reachable at any address (`to: anywhere`)."""
    to = (kafka or {}).get("to") or []
    return None if to == ANYWHERE else list(to)


def dns_service(values: Values) -> tuple[str, dict[str, str], list[int]]:
    """cluster.dns, or the platform's (facts beyondPage.kubernetes/openshift.dns)."""
    d = beyond_page()["openshift" if get(values, "platform") == "openshift" else "kubernetes"]["dns"]
    return (
        get(values, "cluster.dns.namespace") or d["namespace"],
        dict(get(values, "cluster.dns.podSelector") or d["podSelector"]),
        list(get(values, "cluster.dns.ports") or d["ports"]),
    )


def witness_labels(selector: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels that a selector matches (matchLabels, and In/Exists expressions)."""
    out = {str(k): str(v) for k, v in ((selector or {}).get("matchLabels") or {}).items()}
    for e in (selector or {}).get("matchExpressions") or []:
        if e["operator"] == "In":
            out[e["key"]] = str(e["values"][0])
        elif e["operator"] == "Exists":
            out[e["key"]] = "x"
    return out


def kafka_peer(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A `kafka.to` entry as the NetworkPolicy peer it stands for (values semantics)."""
    if entry.get("cidr"):
        return {"ipBlock": {"cidr": entry["cidr"], "except": list(entry.get("except") or [])}}
    peer: dict[str, Any] = {}
    if entry.get("namespace"):
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": entry["namespace"]}}
    if entry.get("podSelector"):
        peer["podSelector"] = {"matchLabels": dict(entry["podSelector"])}
    return peer


def extra_rule_sets(values: Values, lay: Layout) -> list[tuple[str, str, list[str], str]]:
    """(values key of the rules, "from"|"to", namespaces of the policies they go in, target kind) of
    every enabled extraIngress/extraEgress list."""
    dep_ns = list(dict.fromkeys(d.namespace for d in lay.deployments))
    out = [
        (
            "eventProcessing.operator.extraIngress",
            "from",
            [lay.namespaces["ep-operator"]],
            "ep-operator",
            "deployOperatorNetworkPolicy",
        ),
        (
            "eventProcessing.instance.extraIngress",
            "from",
            [lay.namespaces["ep-instance"]],
            "ep-instance",
            "deployNetworkPolicies",
        ),
        (
            "flink.operator.extraIngress",
            "from",
            [lay.namespaces["flink-operator"]],
            "flink-operator",
            "flink.operator.enabled",
        ),
        ("flink.jobmanager.extraIngress", "from", dep_ns, "flink-jobmanager", "flink.jobmanager.enabled"),
        ("flink.taskmanager.extraIngress", "from", dep_ns, "flink-taskmanager", "flink.taskmanager.enabled"),
    ]
    for group, eg in beyond_page()["egress"].items():
        nss = dep_ns if group == "flink" else [lay.namespaces[group]]
        out.append((eg["switch"].removesuffix(".enabled") + ".extraEgress", "to", nss, group, eg["switch"]))
    return [(key, peers, nss, kind) for key, peers, nss, kind, switch in out if get(values, switch)]
