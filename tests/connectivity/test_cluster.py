"""The fixture cluster (tools/connectivity/cluster.py): one builder, placed and labelled by the values;
the page's fixture labelled by the facts."""

from __future__ import annotations

import json

import yaml

from tools import facts
from tools.connectivity.cluster import GROUPS, cluster_for, default_cluster
from tools.connectivity.layout import extra_rule_sets, layout
from tools.paths import CHART, MAX_VALUES
from tools.values import effective_values, put
from tools.values_schema import rows


def test_page_fixture_carries_the_facts_labels() -> None:
    c = default_cluster()
    for name, workload in [
        ("ep-operator", "ep-operator"),
        ("flink-operator", "flink-operator"),
        ("jobmanager", "flink-jobmanager"),
        ("taskmanager-1", "flink-taskmanager"),
    ]:
        assert dict(c.workload(name).labels) == facts.labels(workload), name
    for pod in c.of_kind("ep-instance"):
        assert facts.labels("ep-instance").items() <= pod.labels.items()
    assert [w.name for w in c.of_kind("flink")] == ["jobmanager", "taskmanager-1", "taskmanager-2"]


def test_page_fixture_is_the_chart_defaults_fixture() -> None:
    """values.yaml's selectors are the page's: the defaults place the same pods with the same labels."""
    page, chart = default_cluster(), cluster_for(effective_values(), "ep")
    assert [(w.name, w.namespace, dict(w.labels)) for w in page.workloads] == [
        (w.name, w.namespace, dict(w.labels)) for w in chart.workloads
    ]


def test_groups_move_to_their_namespaces() -> None:
    c = default_cluster(namespaces={"ep-operator": "op", "flink-operator": "fop"}, default_namespace="ns")
    assert {w.name: w.namespace for w in c.workloads if w.group == "unrelated"} == {
        "unrelated-op": "op",
        "unrelated-ns": "ns",
        "unrelated-fop": "fop",
    }
    assert c.namespaces["op"] == {"kubernetes.io/metadata.name": "op"}
    assert c.workload("other-namespace").namespace not in {"op", "ns", "fop"}
    every = default_cluster(namespaces=dict.fromkeys(GROUPS, "x"))
    assert {w.namespace for w in every.workloads if w.group in GROUPS} == {"x"}


def test_values_label_and_name_the_pods() -> None:
    v = put(put(effective_values(), "flink.operator.podSelector", {"app": "fo"}), "eventProcessing.instance.name", "a")
    c = cluster_for(v)
    assert c.workload("flink-operator").labels == {"app": "fo"}
    assert [w.cell for w in c.of_kind("ep-instance")] == ["a", "a"]
    assert all(w.labels["app.kubernetes.io/instance"] == "a" for w in c.of_kind("ep-instance"))


def test_every_extra_rule_list_of_the_schema_is_modelled() -> None:
    """extra_rule_sets is derived (the group table and the schema, the facts' egress groups): on the max
    config, where every group is on, it names every extraIngress/extraEgress list the schema has, each
    once, so a new group's extra rules get pods and flows without a hand edit."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    lists = {k for k, *_ in rows(schema) if k.endswith((".extraIngress", ".extraEgress"))}
    v = effective_values(yaml.safe_load(MAX_VALUES.read_text()))
    keys = [key for key, *_ in extra_rule_sets(v, layout(v))]
    assert sorted(keys) == sorted(lists)
