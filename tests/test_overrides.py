"""Values users override per environment: ports propagate, namespaces split, selectors narrow."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import rendered
from tools import facts
from tools.paths import CHART
from tools.render import NAMESPACE, by_name, parse
from tools.values import chart_defaults, put

JM = "ibm-eventautomation-flink-jobmanager"


def _ports(obj: dict) -> list[int]:
    return sorted(p["port"] for rule in obj["spec"]["ingress"] for p in rule["ports"])


def test_flink_ports_propagate_to_every_policy_that_uses_them():
    objs = by_name(rendered({"flink": {"ports": {"rest": 18081, "rpc": 16123, "blob": 16124}}}))
    assert _ports(objs[JM]) == [18081]
    assert _ports(objs[f"{JM}-stream-authoring"]) == [18081]
    assert _ports(objs["ibm-eventautomation-flink-taskmanager"]) == [18081]
    assert _ports(objs[f"{JM}-rpc-blob"]) == [16123, 16124]
    assert not any(p in (8081, 6123, 6124) for o in objs.values() for p in _ports(o))


def test_metrics_port_is_the_users():
    objs = by_name(rendered({"flink": {"metrics": {"enabled": True, "port": 9999}}}))
    assert _ports(objs[f"{JM}-monitoring"]) == [9999]


def test_ep_ports_are_values():
    """Every port of values.yaml's eventProcessing.instance.ports reaches the instance's policy."""
    keys = list(chart_defaults()["eventProcessing"]["instance"]["ports"])
    ports = dict(zip(keys, [1, *range(2, len(keys)), 65535], strict=True))
    objs = by_name(rendered({"eventProcessing": {"operator": {"webhookPort": 9000}, "instance": {"ports": ports}}}))
    assert _ports(objs["ibm-ep-operator"]) == [9000]
    assert _ports(objs["ibm-ep"]) == sorted(ports.values())


def test_each_deployment_can_override_every_flink_port_and_only_those():
    """The schema lists flink.ports' keys twice (flink.deployments[].ports repeats them without
    defaults): the two must name the same ports, each one port."""
    flink = json.loads((CHART / "values.schema.json").read_text())["properties"]["flink"]["properties"]
    shared = flink["ports"]["properties"]
    own = flink["deployments"]["items"]["properties"]["ports"]["properties"]
    assert list(own) == list(shared)
    assert own == {k: {"$ref": "#/$defs/port", "description": f"Overrides flink.ports.{k}."} for k in shared}


def test_flink_operator_can_drop_the_service_port():
    objs = by_name(rendered({"flink": {"operator": {"webhookServicePort": {"enabled": False}}}}))
    assert _ports(objs["ibm-eventautomation-flink-operator"]) == [9443]


def test_operator_in_another_namespace_is_admitted_by_namespace_AND_labels():
    """Decision operator-namespace-peer: one peer element, never a separate namespace-wide peer."""
    objs = by_name(rendered({"flink": {"operator": {"namespace": "flink-operator"}}}))
    assert objs["ibm-eventautomation-flink-operator"]["metadata"]["namespace"] == "flink-operator"
    peers = objs[JM]["spec"]["ingress"][0]["from"]
    operator = [p for p in peers if "namespaceSelector" in p]
    assert operator == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "flink-operator"}},
            "podSelector": {"matchLabels": facts.labels("flink-operator")},
        }
    ]
    # The deployment's own pods stay same-namespace peers; nothing admits a whole namespace.
    assert all("podSelector" in p for p in peers)


def test_ep_instance_in_another_namespace_reaches_jobmanager_by_namespace_AND_labels():
    objs = by_name(
        rendered(
            {
                "eventProcessing": {"instance": {"namespace": "ep"}},
                "flink": {"deployments": [{"name": "ibm-eventautomation-flink", "namespace": "flink"}]},
            }
        )
    )
    assert objs["ibm-ep"]["metadata"]["namespace"] == "ep"
    assert objs[f"{JM}-stream-authoring"]["metadata"]["namespace"] == "flink"
    assert objs[f"{JM}-stream-authoring"]["spec"]["ingress"][0]["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ep"}},
            "podSelector": {"matchLabels": facts.labels("ep-instance")},
        }
    ]


def test_same_namespace_given_explicitly_adds_no_namespace_selector():
    objs = by_name(rendered({"flink": {"operator": {"namespace": NAMESPACE}}}))
    assert all("namespaceSelector" not in p for p in objs[JM]["spec"]["ingress"][0]["from"])


def test_instance_name_narrows_the_ep_selectors_and_names_the_policy():
    objs = by_name(rendered({"eventProcessing": {"instance": {"name": "prod"}}}))
    narrowed = {**facts.labels("ep-instance"), "app.kubernetes.io/instance": "prod"}
    assert objs["prod-ibm-ep"]["spec"]["podSelector"]["matchLabels"] == narrowed
    assert objs["prod-ibm-ep"]["spec"]["ingress"][1]["from"][0]["podSelector"]["matchLabels"] == narrowed
    assert objs[f"{JM}-stream-authoring"]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"] == narrowed


# Decision selectors-replace: every label map a user may set, with where the render shows it. A map the
# user sets is the selector, exactly (helm merges maps, so the defaults live in the chart's
# _defaults.tpl, null in values.yaml).
MY_LABELS = {"app": "mine"}
SELECTOR_OVERRIDES = [
    ("eventProcessing.operator.podSelector", "ibm-ep-operator", None),
    ("eventProcessing.instance.podSelector", "ibm-ep", None),
    ("flink.operator.podSelector", "ibm-eventautomation-flink-operator", None),
    ("flink.deployments", f"{JM}-rpc-blob", [{"name": JM.removesuffix("-jobmanager"), "podSelector": MY_LABELS}]),
]


@pytest.mark.parametrize("key, policy, value", SELECTOR_OVERRIDES, ids=[k for k, _, _ in SELECTOR_OVERRIDES])
def test_a_selector_override_replaces_the_default_whole(key, policy, value):
    objs = by_name(rendered(put({}, key, value or MY_LABELS)))
    assert objs[policy]["spec"]["podSelector"]["matchLabels"] == MY_LABELS


@pytest.mark.parametrize("component", ["jobmanager", "taskmanager"])
def test_component_labels_replace_the_default_and_add_to_the_deployments(component):
    objs = by_name(rendered({"flink": {"componentLabels": {component: {"flink-role": "x"}}}}))
    policy = JM if component == "jobmanager" else f"{JM.removesuffix('-jobmanager')}-taskmanager"
    assert objs[policy]["spec"]["podSelector"]["matchLabels"] == {**facts.labels("flink"), "flink-role": "x"}


def test_dns_selector_override_replaces_the_default_whole():
    objs = by_name(rendered({"flink": {"egress": {"enabled": True}}, "cluster": {"dns": {"podSelector": MY_LABELS}}}))
    dns = objs[f"{JM.removesuffix('-jobmanager')}-egress"]["spec"]["egress"][0]["to"][0]
    assert dns["podSelector"]["matchLabels"] == MY_LABELS


def test_a_deployment_selector_sharing_a_key_with_the_component_labels_names_it_once():
    """The component's own label wins, and the key appears once (a repeated key is a
    manifest the API server refuses; render() refuses it too)."""
    objs = by_name(
        rendered({"flink": {"deployments": [{"name": "x", "podSelector": {"component": "mine", "app": "y"}}]}})
    )
    assert objs["x-jobmanager"]["spec"]["podSelector"]["matchLabels"] == {"app": "y", "component": "jobmanager"}
    assert objs["x-taskmanager"]["spec"]["podSelector"]["matchLabels"] == {"app": "y", "component": "taskmanager"}


def test_render_refuses_a_repeated_key():
    with pytest.raises(yaml.YAMLError, match="repeated key"):
        parse("spec:\n  podSelector:\n    matchLabels:\n      a: x\n      a: y\n")


def test_deny_all_goes_to_every_namespace_in_use_plus_the_listed_ones():
    """Decision deny-all-namespaces: derived namespaces, plus the listed ones (acknowledged: no allow
    policy lives there), never the listed ones alone."""
    split = {
        "denyAllIngress": {"enabled": True},
        "acknowledge": {"denyAllNamespaces": ["fo"]},
        "flink": {
            "operator": {"namespace": "fo"},
            "deployments": [{"name": "ibm-eventautomation-flink", "namespace": "fl"}],
        },
    }
    deny = [o for o in rendered(split) if o["metadata"]["name"] == "default-deny-ingress"]
    assert sorted(o["metadata"]["namespace"] for o in deny) == sorted([NAMESPACE, "fo", "fl"])
    listed = {
        "denyAllIngress": {"enabled": True, "namespaces": ["a", "b"]},
        "acknowledge": {"denyAllNamespaces": ["a", "b"]},
    }
    deny = [o for o in rendered(listed) if o["metadata"]["name"] == "default-deny-ingress"]
    assert sorted(o["metadata"]["namespace"] for o in deny) == sorted([NAMESPACE, "a", "b"])
    assert all(o["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]} for o in deny)


def test_several_deployments_each_get_their_policies():
    objs = rendered(
        {"flink": {"deployments": [{"name": "ibm-eventautomation-flink"}, {"name": "orders", "namespace": "jobs"}]}}
    )
    orders = {o["metadata"]["name"]: o for o in objs if o["metadata"]["name"].startswith("orders-")}
    assert sorted(orders) == [
        "orders-jobmanager",
        "orders-jobmanager-rpc-blob",
        "orders-jobmanager-stream-authoring",
        "orders-taskmanager",
    ]
    assert {o["metadata"]["namespace"] for o in orders.values()} == {"jobs"}
    # An entry without podSelector gets the labels of a FlinkDeployment of that name.
    assert orders["orders-jobmanager-rpc-blob"]["spec"]["podSelector"]["matchLabels"] == {
        **facts.labels("flink"),
        "app.kubernetes.io/instance": "orders",
    }


def test_deny_all_covers_a_namespace_whose_only_flink_policy_is_beyond_the_page():
    """Decision deny-all-namespaces: every namespace an enabled ingress policy lives in, whichever it is."""
    values = {
        "denyAllIngress": {"enabled": True},
        "acknowledge": {"denyAllWithoutProductPolicies": True},
        "flink": {
            "jobmanager": {"enabled": False},
            "jobmanagerRpcBlob": {"enabled": False},
            "jobmanagerStreamAuthoring": {"enabled": False},
            "taskmanager": {"enabled": False},
            "taskmanagerRpcData": {"enabled": True},
            "deployments": [{"name": "ibm-eventautomation-flink", "namespace": "flink"}],
        },
    }
    deny = [o for o in rendered(values) if o["metadata"]["name"] == "default-deny-ingress"]
    assert "flink" in {o["metadata"]["namespace"] for o in deny}


def test_names_that_look_like_yaml_booleans_or_numbers_stay_strings():
    """Found by the property test: a policy named `n` rendered as `name: n`, which YAML reads as false."""
    values = {
        "eventProcessing": {"operator": {"policyName": "n"}, "instance": {"namespace": "on"}},
        "flink": {"operator": {"namespace": "null"}, "deployments": [{"name": "yes", "namespace": "123"}]},
        "denyAllIngress": {"enabled": True},
        "acknowledge": {"denyAllNamespaces": ["null", NAMESPACE]},
    }
    objs = rendered(values)
    assert all(isinstance(o["metadata"]["name"], str) and isinstance(o["metadata"]["namespace"], str) for o in objs)
    jm = next(o for o in objs if o["metadata"]["name"] == "yes-jobmanager")
    assert jm["metadata"]["namespace"] == "123"
    assert jm["spec"]["ingress"][0]["from"][2]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "null"
    }
