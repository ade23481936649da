"""Property (decision api-server-rules): values the schema admits and the templates accept render objects a
real kube-apiserver accepts (server-side dry run, fieldValidation=Strict). The values drawn are the ones
the server's rules bite on: CIDRs and excepts in both IP families and printed forms, extra rules with
selectors, match expressions, port ranges, protocols and named ports, label and annotation maps, policy
names near their length limit. tests/test_api_server_rules.py holds the refusals, case by case.
"""

from __future__ import annotations

import ipaddress
import json
import os
from typing import Any

import jsonschema
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tools.e2e.controlplane import ControlPlane
from tools.paths import CHART
from tools.render import render
from tools.values import effective_values, put

EXAMPLES = int(os.environ.get("EPNP_API_HYPOTHESIS_EXAMPLES", "20"))
VALIDATOR = jsonschema.Draft202012Validator(json.loads((CHART / "values.schema.json").read_text()))

dns_label = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?\Z")
label_name = st.from_regex(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]{0,12}[A-Za-z0-9])?\Z")
label_key = st.builds(lambda p, n: f"{p}/{n}" if p else n, st.none() | st.just("example.com") | dns_label, label_name)
label_value = st.just("") | label_name
labels = st.dictionaries(label_key, label_value, min_size=1, max_size=3)
port = st.integers(1, 65535)
port_name = st.from_regex(r"\A[a-z]([a-z0-9]{0,6})(-[a-z0-9]{1,6})?\Z").filter(lambda n: len(n) <= 15)


@st.composite
def network(draw: st.DrawFn, v6: bool | None = None) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    six = draw(st.booleans()) if v6 is None else v6
    size = 128 if six else 32
    prefix = draw(st.integers(0, size))
    addr = draw(st.integers(0, 2**size - 1)) >> (size - prefix) << (size - prefix)
    if not six:
        return ipaddress.IPv4Network((addr, prefix))
    net = ipaddress.IPv6Network((addr, prefix))
    # the server refuses IPv4-mapped IPv6 (the templates do too): draw another
    assume(net.network_address.ipv4_mapped is None)
    return net


def text(draw: st.DrawFn, net: Any) -> str:
    """The network in one of its valid printed forms (IPv6 compressed, exploded or uppercase)."""
    if net.version == 4:
        return str(net)
    forms: list[str] = [net.compressed, net.exploded, net.compressed.upper()]
    return draw(st.sampled_from(forms))


@st.composite
def ip_block(draw: st.DrawFn) -> dict[str, Any]:
    net = draw(network())
    block: dict[str, Any] = {"cidr": text(draw, net)}
    if net.prefixlen < net.max_prefixlen and draw(st.booleans()):
        subs = sorted({str(s) for s in [draw(network(v6=net.version == 6)) for _ in range(2)]})
        inside = [s for s in subs if ipaddress.ip_network(s).subnet_of(net) and ipaddress.ip_network(s) != net]  # type: ignore[arg-type]
        longer = draw(st.integers(net.prefixlen + 1, net.max_prefixlen))
        inside.append(str(next(net.subnets(new_prefix=longer))))
        block["except"] = sorted(set(inside))
    return block


@st.composite
def selector(draw: st.DrawFn) -> dict[str, Any]:
    sel: dict[str, Any] = {}
    if draw(st.booleans()):
        sel["matchLabels"] = draw(labels)
    if not sel or draw(st.booleans()):
        exprs = []
        for _ in range(draw(st.integers(1, 2))):
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            e: dict[str, Any] = {"key": draw(label_key), "operator": op}
            if op in ("In", "NotIn"):
                e["values"] = draw(st.lists(label_value, min_size=1, max_size=2))
            exprs.append(e)
        sel["matchExpressions"] = exprs
    return sel


@st.composite
def peer(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["ipBlock", "podSelector", "namespaceSelector", "both"]))
    if kind == "ipBlock":
        return {"ipBlock": draw(ip_block())}
    if kind == "both":
        return {"podSelector": draw(selector()), "namespaceSelector": draw(selector())}
    return {kind: draw(selector())}


@st.composite
def rule_port(draw: st.DrawFn) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if draw(st.booleans()):
        p["protocol"] = draw(st.sampled_from(["TCP", "UDP", "SCTP"]))
    if draw(st.integers(0, 4)) == 0:
        p["port"] = draw(port_name)
    else:
        p["port"] = draw(port)
        if draw(st.booleans()):
            p["endPort"] = draw(st.integers(p["port"], 65535))
    return p


def rules(peers: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    rule = st.fixed_dictionaries(
        {peers: st.lists(peer(), min_size=1, max_size=2), "ports": st.lists(rule_port(), min_size=1, max_size=2)}
    )
    return st.lists(rule, max_size=2)


@st.composite
def values(draw: st.DrawFn) -> dict[str, Any]:
    v: dict[str, Any] = {"acknowledge": {"namedPortsInExtraRules": True}}
    for group in ("eventProcessing.operator", "eventProcessing.instance", "flink.operator"):
        put(v, f"{group}.extraIngress", draw(rules("from")))
        put(v, f"{group}.egress.enabled", True)
        put(v, f"{group}.egress.extraEgress", draw(rules("to")))
    put(v, "flink.jobmanager.extraIngress", draw(rules("from")))
    put(v, "flink.egress.enabled", True)
    put(v, "flink.egress.extraEgress", draw(rules("to")))
    put(v, "cluster.kubernetesApi.cidrs", sorted({text(draw, n) for n in draw(st.lists(network(), max_size=2))}))
    put(v, "flink.operator.webhookFrom", "cidrs")
    put(
        v,
        "flink.operator.webhookCIDRs",
        sorted({text(draw, n) for n in draw(st.lists(network(), min_size=1, max_size=2))}),
    )
    kafka = draw(
        st.lists(
            st.builds(dict, ip_block()) | st.fixed_dictionaries({"namespace": dns_label, "podSelector": labels}),
            min_size=1,
            max_size=2,
        )
    )
    put(v, "flink.egress.kafka.ports", [9092])
    put(v, "flink.egress.kafka.to", kafka)
    put(v, "commonLabels", draw(st.dictionaries(label_key, label_value, max_size=2)))
    put(
        v,
        "commonAnnotations",
        draw(
            st.dictionaries(
                label_key, st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8), max_size=2
            )
        ),
    )
    put(v, "eventProcessing.operator.policyName", draw(st.sampled_from(["o", "a" * 246, "a." * 122 + "ab"])))
    put(v, "eventProcessing.instance.name", draw(st.just("") | dns_label))
    put(
        v,
        "flink.deployments",
        [{"name": draw(st.sampled_from(["f", "f" * 63]) | dns_label), "podSelector": draw(labels)}],
    )
    if draw(st.booleans()):
        put(v, "flink.metrics", {"enabled": True, "port": 9250, "endPort": draw(st.integers(9250, 65535))})
    return v


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(v=values())
def test_what_the_schema_and_templates_accept_the_api_server_accepts(
    controlplane: ControlPlane, v: dict[str, Any]
) -> None:
    assume(VALIDATOR.is_valid(effective_values(v)))
    # Every value drawn is one the server accepts, so the templates must render it (a refusal fails here).
    objects = render(v)
    assert objects
    assert controlplane.dry_run(objects) == []
