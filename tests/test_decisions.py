"""Each decision of the facts file, checked where the chart makes it (more in the tests it names)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import rendered
from tools import facts
from tools.policy import admitted_ports, normal, selects
from tools.render import by_name

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
