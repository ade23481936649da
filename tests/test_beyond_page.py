"""Beyond the page (all opt-in): egress, webhook and UI sources, OpenShift, several Flink
deployments, the ports the page forgets, metrics ranges and sources, extra rules, guards.

Expected values come from the facts file's `egress` table and `beyondPage` section.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import rendered
from tools import facts
from tools.policy import ANY_PEER, normal
from tools.render import NAMESPACE, by_name
from tools.scenarios import METRICS_ON, METRICS_PORT
from tools.values import put

BEYOND = facts.load()["beyondPage"]
K8S_DNS, OS_DNS = BEYOND["kubernetes"]["dns"], BEYOND["openshift"]["dns"]
API_PORTS = BEYOND["kubernetes"]["apiServerPorts"]["ports"]
JM = "ibm-eventautomation-flink-jobmanager"
ALL_EGRESS = {
    "eventProcessing": {"operator": {"egress": {"enabled": True}}, "instance": {"egress": {"enabled": True}}},
    "flink": {"operator": {"egress": {"enabled": True}}, "egress": {"enabled": True}},
}
EGRESS_POLICIES = {
    "ibm-ep-operator-egress": "ep-operator",
    "ibm-ep-egress": "ep-instance",
    "ibm-eventautomation-flink-operator-egress": "flink-operator",
    "ibm-eventautomation-flink-egress": "flink",
}


def _pairs(obj: dict) -> set:
    return set(normal(obj).egress)


def _tcp(port: int) -> tuple:
    return ("TCP", port, None)


def _pods(labels: dict[str, str], namespace: str | None = None) -> tuple:
    ns = (frozenset({("kubernetes.io/metadata.name", namespace)}), ()) if namespace else None
    return ("pods", (frozenset(labels.items()), ()), ns)


def _dns_pairs(dns: dict) -> set:
    peer = _pods(dns["podSelector"], dns["namespace"])
    return {(peer, (proto, port, None)) for port in dns["ports"] for proto in ("TCP", "UDP")}


def _api_pairs() -> set:
    return {(ANY_PEER, _tcp(p)) for p in API_PORTS}


# --- egress -------------------------------------------------------------------------


def test_egress_is_off_by_default_and_turning_it_on_leaves_every_ingress_policy_as_it_was():
    plain = by_name(rendered())
    with_egress = by_name(rendered(ALL_EGRESS))
    assert set(with_egress) - set(plain) == set(EGRESS_POLICIES)
    assert all(with_egress[name] == obj for name, obj in plain.items())


@pytest.mark.parametrize("name, workload", EGRESS_POLICIES.items())
def test_each_egress_policy_selects_its_group_and_allows_dns_and_the_api_server(name, workload):
    obj = by_name(rendered(ALL_EGRESS))[name]
    assert obj["spec"]["policyTypes"] == ["Egress"]
    assert obj["spec"]["podSelector"]["matchLabels"] == facts.labels(workload)
    assert _dns_pairs(K8S_DNS) | _api_pairs() <= _pairs(obj)


def _ingress_ports_between(origin: str, *targets: str) -> set[int]:
    """Ports the ingress tables admit from `origin` (directly or via a decision's servedFrom) into `targets`:
    an egress lock on `origin` must let those out too, or the admitted flows break."""
    return {r.port for r in facts.ingress_rows() if r.target in targets and origin in (r.origin, *r.servedFrom)}


def test_flink_egress_serves_the_pages_flink_egress_table_and_what_ingress_admits_from_flink_pods():
    obj = by_name(rendered(ALL_EGRESS))["ibm-eventautomation-flink-egress"]
    rows = [r for r in facts.load()["egress"] if r["source"] == "flink"]
    assert rows and all((_pods(facts.labels(r["destination"])), _tcp(r["port"])) in _pairs(obj) for r in rows)
    ports = {r["port"] for r in rows} | _ingress_ports_between("flink-jobmanager", "flink", "flink-jobmanager")
    assert ports == {6123, 6124, 8081}
    assert _pairs(obj) == _dns_pairs(K8S_DNS) | _api_pairs() | {(_pods(facts.labels("flink")), _tcp(p)) for p in ports}


def test_ep_egress_serves_the_pages_ep_egress_table_with_the_users_ports():
    """The page's EP egress rows: Flink (user supplied: the REST port) and Kafka (user supplied)."""
    values = {
        **ALL_EGRESS,
        "eventProcessing": {
            "instance": {
                "egress": {
                    "enabled": True,
                    "kafka": {
                        "ports": [9092],
                        "to": [{"namespace": "kafka", "podSelector": {"app": "kafka"}}, {"cidr": "10.9.0.0/16"}],
                    },
                }
            }
        },
        "flink": {"ports": {"rest": 18081}},
    }
    obj = by_name(rendered(values))["ibm-ep-egress"]
    kafka_peers = {_pods({"app": "kafka"}, "kafka"), ("ipBlock", "10.9.0.0/16", ())}
    own = _ingress_ports_between("ep-instance", "ep-instance")
    assert own, "the facts admit nothing between the instance's pods"
    assert _pairs(obj) == (
        _dns_pairs(K8S_DNS)
        | _api_pairs()
        | {(_pods(facts.labels("flink-jobmanager")), _tcp(18081))}
        | {(peer, _tcp(9092)) for peer in kafka_peers}
        | {(_pods(facts.labels("ep-instance")), _tcp(p)) for p in own}
    )


def test_flink_operator_egress_reaches_every_deployments_rest_port():
    values = {
        **ALL_EGRESS,
        "flink": {
            "operator": {"namespace": "fo", "egress": {"enabled": True}},
            "deployments": [
                {"name": "ibm-eventautomation-flink"},
                {"name": "jobs", "namespace": "jobs", "ports": {"rest": 9081}},
            ],
        },
    }
    obj = by_name(rendered(values))["ibm-eventautomation-flink-operator-egress"]
    jobs_jm = {**facts.labels("flink-jobmanager"), "app.kubernetes.io/instance": "jobs"}
    assert {
        (_pods(facts.labels("flink-jobmanager"), NAMESPACE), _tcp(8081)),
        (_pods(jobs_jm, "jobs"), _tcp(9081)),
    } <= _pairs(obj)


def test_allow_rules_switch_off_individually():
    values = {"flink": {"egress": {"enabled": True, "allowRules": {"kubernetesApi": False}}}}
    obj = by_name(rendered(values))["ibm-eventautomation-flink-egress"]
    assert not _api_pairs() & _pairs(obj) and _dns_pairs(K8S_DNS) <= _pairs(obj)


def test_api_server_rule_narrows_to_cidrs():
    values = {"flink": {"egress": {"enabled": True}}, "cluster": {"kubernetesApi": {"cidrs": ["10.96.0.1/32"]}}}
    obj = by_name(rendered(values))["ibm-eventautomation-flink-egress"]
    assert {(("ipBlock", "10.96.0.1/32", ()), _tcp(p)) for p in API_PORTS} <= _pairs(obj)
    assert not _api_pairs() & _pairs(obj)


# --- webhook and UI sources, OpenShift ----------------------------------------------


def _ingress_peers(obj: dict, port: int) -> set:
    return {peer for peer, p in normal(obj).ingress if p[1] == port}


def _ns_peer(labels: dict[str, str]) -> tuple:
    return ("pods", None, (frozenset(labels.items()), ()))


OS = BEYOND["openshift"]


@pytest.mark.parametrize(
    "group, name, port",
    [("eventProcessing", "ibm-ep-operator", 8443), ("flink", "ibm-eventautomation-flink-operator", 9443)],
)
def test_webhook_sources(group, name, port):
    def peers(**op: Any) -> set:
        return _ingress_peers(by_name(rendered({group: {"operator": op}}))[name], port)

    assert peers() == {ANY_PEER}
    assert peers(webhookFrom="hostNetwork") == {_ns_peer(OS["hostNetworkNamespaces"]["labels"])}
    assert peers(webhookFrom="cidrs", webhookCIDRs=["10.0.0.1/32", "10.0.0.2/32"]) == {
        ("ipBlock", "10.0.0.1/32", ()),
        ("ipBlock", "10.0.0.2/32", ()),
    }


def test_openshift_flips_every_auto_source_and_explicit_values_still_win():
    objs = by_name(
        rendered(
            {
                "platform": "openshift",
                "flink": {**METRICS_ON["flink"], "egress": {"enabled": True}},
            }
        )
    )
    host = _ns_peer(OS["hostNetworkNamespaces"]["labels"])
    assert _ingress_peers(objs["ibm-ep-operator"], 8443) == {host}
    assert _ingress_peers(objs["ibm-eventautomation-flink-operator"], 9443) == {host}
    assert _ingress_peers(objs["ibm-ep"], 8443) == {_ns_peer(OS["ingressNamespaces"]["labels"])}
    assert _ingress_peers(objs[f"{JM}-monitoring"], METRICS_PORT) == {_ns_peer(OS["monitoringNamespaces"]["labels"])}
    assert _dns_pairs(OS_DNS) <= _pairs(objs["ibm-eventautomation-flink-egress"])
    explicit = by_name(rendered({"platform": "openshift", "eventProcessing": {"instance": {"uiFrom": "anywhere"}}}))
    assert _ingress_peers(explicit["ibm-ep"], 8443) == {ANY_PEER}


def test_openshift_changes_only_sources_not_the_page_objects_otherwise():
    page, os_ = by_name(rendered()), by_name(rendered({"platform": "openshift"}))
    for name in page:
        a, b = normal(page[name]), normal(os_[name])
        assert a.pod_selector == b.pod_selector and {p for _, p in a.ingress} == {p for _, p in b.ingress}


# --- several deployments, forgotten ports, metrics ------------------------------------


def test_each_deployment_has_its_own_ports():
    objs = by_name(
        rendered({"flink": {"deployments": [{"name": "a"}, {"name": "b", "ports": {"rest": 9081, "rpc": 7123}}]}})
    )
    assert _ingress_peers(objs["a-jobmanager"], 8081) and _ingress_peers(objs["b-jobmanager"], 9081)
    assert {p[1] for _, p in normal(objs["b-jobmanager-rpc-blob"]).ingress} == {7123, 6124}
    assert {p[1] for _, p in normal(objs["a-jobmanager-rpc-blob"]).ingress} == {6123, 6124}


# The facts' beyond-the-page ingress rows by the switch that opens them (e.g. taskmanagerRpcData).
BEYOND_INGRESS: dict[str, list[dict[str, Any]]] = {}
for _row in BEYOND["ingress"]:
    BEYOND_INGRESS.setdefault(_row["switch"], []).append(_row)


@pytest.mark.parametrize("switch", BEYOND_INGRESS)
def test_each_beyond_the_page_ingress_group_is_opt_in_and_opens_the_facts_ports(switch: str):
    """Off by default; on, one more policy (one deployment by default) admitting the facts' rows:
    the schema's default ports are the facts' numbers, selector and peers the facts' workloads."""
    plain = by_name(rendered())
    new = {n: o for n, o in by_name(rendered(put({}, switch, True))).items() if n not in plain}
    assert len(new) == 1, sorted(new)
    (obj,) = new.values()
    rows = BEYOND_INGRESS[switch]
    assert {r["target"] for r in rows} == {rows[0]["target"]}
    assert obj["spec"]["podSelector"]["matchLabels"] == facts.labels(rows[0]["target"])
    assert normal(obj).ingress == {
        (_pods(facts.labels(r["origin"])), _tcp(BEYOND["flink"][r["port"]]["port"])) for r in rows
    }


def test_metrics_range_on_taskmanagers_from_the_prometheus_pods():
    objs = by_name(
        rendered(
            {
                "flink": {
                    "metrics": {
                        "enabled": True,
                        "port": 9250,
                        "endPort": 9260,
                        "taskmanagers": True,
                        "from": "namespaces",
                        "namespaces": ["monitoring"],
                        "podSelector": {"app": "prometheus"},
                    }
                }
            }
        )
    )
    for component in ("jobmanager", "taskmanager"):
        obj = objs[f"ibm-eventautomation-flink-{component}-monitoring"]
        assert obj["spec"]["podSelector"]["matchLabels"] == facts.labels(f"flink-{component}")
        assert normal(obj).ingress == {(_pods({"app": "prometheus"}, "monitoring"), ("TCP", 9250, 9260))}


# --- extra rules (the schema's rejections: tests/test_bad_input.py) -----------------------


def test_extra_rules_are_added_as_given():
    rule = {"from": [{"podSelector": {"matchLabels": {"app": "proxy"}}}], "ports": [{"protocol": "TCP", "port": 9000}]}
    objs = by_name(rendered({"flink": {"jobmanager": {"extraIngress": [rule]}}}))
    assert objs[JM]["spec"]["ingress"][-1] == rule
