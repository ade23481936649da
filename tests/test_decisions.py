"""Each decision of the facts file, checked where the chart makes it (more in the tests it names)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import VALUES_FILES, rendered
from tools import facts
from tools.connectivity.layout import resolved_source
from tools.paths import CHART
from tools.policy import admitted_ports, normal, selects
from tools.render import RenderError, by_name, render
from tools.scenarios import FULL_PAGE, METRICS_ON
from tools.values import effective_values, merge, put, updated

JM = "ibm-eventautomation-flink-jobmanager"


def test_every_decision_is_checked_by_some_test():
    sources = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("*.py"))
    unchecked = [d for d in facts.decisions() if d not in sources]
    assert not unchecked, f"decisions no test names: {unchecked}"


def test_rest_8081_origin_follows_the_yaml_not_the_tables_anywhere():
    """rest-8081-origin: served from the YAML's peers, never from anywhere."""
    [row] = [r for r in facts.ingress_rows() if r.decision == "rest-8081-origin"]
    jm = facts.labels("flink-jobmanager")
    admitting = [o for o in rendered() if selects(o, jm) and any(p[1] == row.port for p in admitted_ports(o, None))]
    assert admitting == [], "8081 must not be open to clients outside the cluster"
    for origin in row.servedFrom:
        assert any(
            p[1] == row.port for o in rendered() if selects(o, jm) for p in admitted_ports(o, facts.labels(origin))
        )


def test_ep_pod_labels_and_policy_names():
    """ep-pod-labels, ep-policy-names: the chart's choices where the page names nothing."""
    objs = by_name(rendered())
    assert objs["ibm-ep-operator"]["spec"]["podSelector"]["matchLabels"] == facts.labels("ep-operator")
    assert objs["ibm-ep"]["spec"]["podSelector"]["matchLabels"] == facts.labels("ep-instance")
    assert set(facts.switches()["deployOperatorNetworkPolicy"] + facts.switches()["deployNetworkPolicies"]) == {
        "ibm-ep-operator",
        "ibm-ep",
    }


def test_taskmanager_8081_and_rpc_blob_targets_reproduce_the_pages_objects():
    """taskmanager-8081, rpc-blob-targets: the page's objects as printed."""
    page = {o["metadata"]["name"]: o for o in facts.documented_objects()}
    objs = by_name(rendered())
    for name in ("ibm-eventautomation-flink-taskmanager", f"{JM}-rpc-blob"):
        assert normal(objs[name]) == normal(page[name])
    assert objs[f"{JM}-rpc-blob"]["spec"]["podSelector"]["matchLabels"] == facts.labels("flink")


def test_customisable_ports_are_the_rows_with_a_values_key():
    """customisable-ports: only Flink's ports (and the user-supplied metrics port) carry a valuesKey."""
    keyed = {r["port"] for r in facts.load()["ingress"] if "valuesKey" in r}
    assert keyed == {8081, 6123, 6124}


KAFKA_PORTS = [9092, 9093]
KAFKA_TO: list[dict[str, Any]] = [
    {"cidr": "172.16.0.0/12", "except": ["172.16.1.0/24"]},  # the hole is inside the next entry's CIDR
    {"cidr": "172.16.0.0/16"},
    {"namespace": "kafka", "podSelector": {"app": "kafka"}},
]


def _peer(entry: dict[str, Any]) -> dict[str, Any]:
    """A `kafka.to` entry as the NetworkPolicy peer the values describe."""
    if "cidr" in entry:
        return {"ipBlock": {k: v for k, v in entry.items() if k in ("cidr", "except")}}
    peer: dict[str, Any] = {}
    if "namespace" in entry:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": entry["namespace"]}}
    if "podSelector" in entry:
        peer["podSelector"] = {"matchLabels": entry["podSelector"]}
    return peer


def test_kafka_rule_per_destination_gives_each_kafka_entry_a_rule_of_its_own():
    """kafka-rule-per-destination: one egress rule per `kafka.to` entry, each with every Kafka port,
    so no ipBlock with `except` shares a rule (kube-router v2.1.0 merges a rule's ipBlocks into one set),
    for both groups with Kafka rules, with entries of every kind."""
    mixed = {"ports": KAFKA_PORTS, "to": KAFKA_TO}
    values = {
        "eventProcessing": {"instance": {"egress": {"enabled": True, "kafka": mixed}}},
        "flink": {"egress": {"enabled": True, "kafka": mixed}},
    }
    objs = by_name(rendered(values))
    ports = [{"protocol": "TCP", "port": p} for p in KAFKA_PORTS]
    for name in ("ibm-ep-egress", "ibm-eventautomation-flink-egress"):
        kafka_rules = [r for r in objs[name]["spec"]["egress"] if r["ports"] == ports]
        assert kafka_rules == [{"ports": ports, "to": [_peer(t)]} for t in KAFKA_TO], name


def test_kafka_rule_per_destination_no_rendered_shape_kube_router_gets_wrong():
    """kafka-rule-per-destination, over the max config and every worked example: no object with both
    policy types, no ipBlock with `except` beside another peer, no named port in the chart's own rules
    (the values' extraIngress/extraEgress are the user's)."""
    problems = []
    for label, path in VALUES_FILES.items():
        values = yaml.safe_load(path.read_text()) or {}
        extra = [json.dumps(r, sort_keys=True) for r in _extra_rules(values)]
        for o in render(values):
            spec, name = o["spec"], f"{label}: {o['metadata']['name']}"
            if {"Ingress", "Egress"} <= set(spec.get("policyTypes") or []):
                problems.append(f"{name}: both policy types")
            for d, side in (("ingress", "from"), ("egress", "to")):
                for i, rule in enumerate(spec.get(d) or []):
                    peers = rule.get(side) or []
                    if len(peers) > 1 and any((p.get("ipBlock") or {}).get("except") for p in peers):
                        problems.append(f"{name}: {d}[{i}] an ipBlock with except beside another peer")
                    named = any(isinstance(p.get("port"), str) for p in rule.get("ports") or [])
                    if named and json.dumps(rule, sort_keys=True) not in extra:
                        problems.append(f"{name}: {d}[{i}] a named port in the chart's own rule")
    assert not problems, "\n".join(problems)


def _extra_rules(values: object) -> list[object]:
    """Every rule listed under an extraIngress or extraEgress key of the values."""
    if isinstance(values, dict):
        return [
            r
            for k, v in values.items()
            for r in (v if k in ("extraIngress", "extraEgress") and isinstance(v, list) else _extra_rules(v))
        ]
    if isinstance(values, list):
        return [r for v in values for r in _extra_rules(v)]
    return []


def test_named_ports_in_extra_rules_fail_unless_acknowledged():
    """named-ports-in-extra-rules: a named port in an extra rule (ingress or egress) fails naming the
    entry; acknowledged, the rule is kept as written."""
    named = [{"from": [{"podSelector": {"matchLabels": {"app": "sso"}}}], "ports": [{"port": "https"}]}]
    out = [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 5432}, {"port": "pg"}]}]
    for values, key in (
        (
            {"eventProcessing": {"instance": {"extraIngress": named}}},
            "eventProcessing.instance.extraIngress[0].ports[0]",
        ),
        ({"flink": {"egress": {"enabled": True, "extraEgress": out}}}, "flink.egress.extraEgress[0].ports[1]"),
    ):
        with pytest.raises(RenderError) as err:
            render(values)
        assert f"{key}.port: named port" in err.value.stderr
        assert "acknowledge.namedPortsInExtraRules=true" in err.value.stderr
    acked = {"acknowledge": {"namedPortsInExtraRules": True}, "eventProcessing": {"instance": {"extraIngress": named}}}
    assert by_name(rendered(acked))["ibm-ep"]["spec"]["ingress"][-1] == named[0]


# deny-all-stays-home: namespaces the chart does not own, each with the values that put deny-all there.
NOT_OWNED = [
    ("operators' shared namespace", {"eventProcessing": {"operator": {"namespace": "operators"}}}, "operators"),
    ("OLM's namespace", {"flink": {"operator": {"namespace": "openshift-operators"}}}, "openshift-operators"),
    ("listed kube-system", {"denyAllIngress": {"namespaces": ["kube-system"]}}, "kube-system"),
    ("listed, no policy there", {"denyAllIngress": {"namespaces": ["team-a"]}}, "team-a"),
    (
        "the cluster DNS namespace",
        {
            "cluster": {"dns": {"namespace": "dns"}},
            "flink": {"deployments": [{"name": "ibm-eventautomation-flink", "namespace": "dns"}]},
        },
        "dns",
    ),
]


def _deny_all_namespaces(objs: list[dict[str, Any]]) -> set[str]:
    return {o["metadata"]["namespace"] for o in objs if o["metadata"]["name"] == "default-deny-ingress"}


@pytest.mark.parametrize("case, values, namespace", NOT_OWNED, ids=[c[0] for c in NOT_OWNED])
def test_deny_all_stays_home(case, values, namespace):
    """deny-all-stays-home: deny-all into a namespace the chart does not own fails naming it; acknowledged
    by name it is rendered there; excepted, it is not, and deny-all stays where the product runs."""
    on = {**values, "denyAllIngress": {**values.get("denyAllIngress", {}), "enabled": True}}
    with pytest.raises(RenderError) as err:
        render(on)
    assert f'namespace "{namespace}"' in err.value.stderr
    acked = {**on, "acknowledge": {"denyAllNamespaces": [namespace]}}
    assert namespace in _deny_all_namespaces(render(acked))
    if "namespaces" not in on["denyAllIngress"]:  # a listed namespace is excepted by not listing it
        excepted = {**on, "denyAllIngress": {**on["denyAllIngress"], "exceptNamespaces": [namespace]}}
        nss = _deny_all_namespaces(render(excepted))
        assert namespace not in nss and nss


# no-narrowing-dropped: (the source key, a narrowing value for it, the source `auto` then resolves to,
# the peer it admits, a source that cannot use the value).
NS = "kubernetes.io/metadata.name"
NARROWING = [
    (
        "eventProcessing.operator.webhookFrom",
        "eventProcessing.operator.webhookCIDRs",
        ["10.0.0.1/32"],
        "cidrs",
        {"ipBlock": {"cidr": "10.0.0.1/32"}},
        "anywhere",
    ),
    (
        "flink.operator.webhookFrom",
        "flink.operator.webhookCIDRs",
        ["10.0.0.1/32"],
        "cidrs",
        {"ipBlock": {"cidr": "10.0.0.1/32"}},
        "hostNetwork",
    ),
    (
        "flink.metrics.from",
        "flink.metrics.namespaces",
        ["monitoring"],
        "namespaces",
        {"namespaceSelector": {"matchLabels": {NS: "monitoring"}}},
        "monitoring",
    ),
    (
        "eventProcessing.instance.uiFrom",
        "eventProcessing.instance.ingressController",
        {"namespace": "ingress-nginx", "podSelector": {"app.kubernetes.io/name": "ingress-nginx"}},
        "ingressController",
        {
            "namespaceSelector": {"matchLabels": {NS: "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
        },
        "router",
    ),
]


@pytest.mark.parametrize("source, key, value, resolved, peer, other", NARROWING, ids=[n[1] for n in NARROWING])
def test_no_narrowing_dropped(source, key, value, resolved, peer, other):
    """no-narrowing-dropped: with `auto`, a narrowing value is the source (the harness's model resolves
    the same); with a source that cannot use it, the render fails naming both keys."""
    values = merge(METRICS_ON, put({}, key, value))
    assert resolved_source(effective_values(values), source) == resolved
    peers = [r["from"] for o in render(values) for r in o["spec"].get("ingress", []) if r.get("from")]
    assert [peer] in peers
    with pytest.raises(RenderError) as err:
        render(put(values, source, other))
    assert f"{key}: narrows only {source}" in err.value.stderr


@pytest.mark.parametrize("group", ["eventProcessing.instance", "flink"])
def test_kafka_needs_destinations(group):
    """kafka-needs-destinations: Kafka ports without `to` fail naming the keys; `to: anywhere`, asked for by
    name, renders one rule on those ports to every address; `to` without ports fails."""
    base = put({}, f"{group}.egress.enabled", True)
    with pytest.raises(RenderError) as err:
        render(updated(updated(base, f"{group}.egress.kafka.ports", [9092]), f"{group}.egress.kafka.to", []))
    assert f"{group}.egress.kafka.ports: needs {group}.egress.kafka.to" in err.value.stderr
    anywhere = updated(updated(base, f"{group}.egress.kafka.ports", [9092]), f"{group}.egress.kafka.to", "anywhere")
    rules = [
        r
        for o in render(anywhere)
        for r in o["spec"].get("egress", [])
        if r.get("ports") == [{"protocol": "TCP", "port": 9092}]
    ]
    assert rules and all("to" not in r for r in rules)
    with pytest.raises(RenderError) as err:
        render(updated(base, f"{group}.egress.kafka.to", [{"cidr": "10.0.0.0/8"}]))
    assert f"{group}.egress.kafka.to: has no effect" in err.value.stderr


@pytest.mark.parametrize("values", ["full page", "three-flink-deployments"])
def test_deny_all_applied_last_comes_after_every_allow_policy_in_helms_order(values: str):
    """deny-all-applied-last: helm's manifest (the order an upgrade applies objects in) ends with the
    deny-all objects, after every allow policy, whichever namespaces they isolate."""
    v = FULL_PAGE if values == "full page" else yaml.safe_load((CHART / "examples" / f"{values}.yaml").read_text())
    names = [o["metadata"]["name"] for o in render(v) if o["kind"] == "NetworkPolicy"]
    deny = effective_values(v)["denyAllIngress"]["policyName"]
    first = names.index(deny)
    assert set(names[first:]) == {deny} and names.count(deny) >= 1, names
