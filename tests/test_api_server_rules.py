"""What kube-apiserver would refuse, the chart refuses first (decision api-server-rules), with and without
the schema: each case fails `helm template` naming the values key, so helm never installs half a release.

The rules are the API server's (v1.37, pkg/apis/networking/validation/validation.go ValidateIPBlock,
ValidateNetworkPolicyPort, ValidateNetworkPolicyPeer; apimachinery's IsValidCIDRForLegacyField with
StrictIPCIDRValidation, ValidateLabels, ValidateLabelSelector, IsValidPortName, NameIsDNSSubdomain); the
expected messages are written here. `schema` is the JSON pointer the schema's refusal names, or None
where JSON Schema cannot say it (host bits, an except outside its cidr, endPort below port): then the
templates refuse under the schema too. tests/e2e/test_api_server_property.py sends what the chart accepts
to a real API server.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tools import facts
from tools.groups import group_table, static_define
from tools.paths import CHART
from tools.render import RenderError, render_or_error
from tools.values import put

SKIP = ("--skip-schema-validation",)
REFUSED = "the API server refuses it"
ROWS: list[list[Any]] = static_define(CHART / "templates" / "_shapes.tpl", "epnp.shapes")
# Every user rule list, from the shape table: each is checked as the server checks a rule.
EXTRA = [r[0] for r in ROWS if r[0].rsplit(".", 1)[-1] in ("extraIngress", "extraEgress")]


def _rule(key: str, peer: dict[str, Any] | None = None, port: dict[str, Any] | None = None) -> dict[str, Any]:
    peers = "from" if key.endswith("extraIngress") else "to"
    rule = {peers: [peer or {"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [port or {"port": 8080}]}
    v = put({}, key, [rule])
    # egress rule lists render only with their group's egress on
    if key.endswith(".egress.extraEgress"):
        put(v, key.removesuffix(".extraEgress") + ".enabled", True)
    return v


def _kafka(group: str, entry: dict[str, Any]) -> dict[str, Any]:
    return put(put(put({}, f"{group}.egress.enabled", True), f"{group}.egress.kafka.ports", [9092]),
               f"{group}.egress.kafka.to", [entry])  # fmt: skip


def _cidrs(key: str, cidrs: list[Any]) -> dict[str, Any]:
    v = put({}, key, cidrs)
    if key.endswith("webhookCIDRs"):
        put(v, key.replace("webhookCIDRs", "webhookFrom"), "cidrs")
    return v


# (id, values, the schema's JSON pointer or None, the templates' message)
CASES: list[tuple[str, dict[str, Any], str | None, str]] = [
    # 1. ipBlock CIDRs: strict parsing, host bits, IPv6 forms, IPv4-mapped, except strictly inside.
    *[
        (
            f"host bits: {key}",
            _cidrs(key, ["10.0.0.1/8"]),
            None,
            f'{key}[0]: "10.0.0.1/8" must not have bits set beyond the prefix length ({REFUSED}): '
            "the network is 10.0.0.0/8",
        )
        for key in (
            "eventProcessing.operator.webhookCIDRs",
            "flink.operator.webhookCIDRs",
            "cluster.kubernetesApi.cidrs",
        )
    ],
    (
        "IPv6 with three colons",
        _cidrs("flink.operator.webhookCIDRs", [":::/0"]),
        "/flink/operator/webhookCIDRs/0",
        'flink.operator.webhookCIDRs[0]: ":::/0" must be a valid CIDR (e.g. 10.9.8.0/24 or 2001:db8::/64; '
        f"IPv4 without leading zeros, IPv6 in hexadecimal groups): {REFUSED}",
    ),
    (
        "IPv6 with two ellipses",
        _cidrs("cluster.kubernetesApi.cidrs", ["fd00::1::/64"]),
        "/cluster/kubernetesApi/cidrs/0",
        'cluster.kubernetesApi.cidrs[0]: "fd00::1::/64" must be a valid CIDR',
    ),
    (
        "IPv4 with a leading zero",
        _cidrs("eventProcessing.operator.webhookCIDRs", ["010.0.0.0/8"]),
        "/eventProcessing/operator/webhookCIDRs/0",
        'eventProcessing.operator.webhookCIDRs[0]: "010.0.0.0/8" must be a valid CIDR',
    ),
    (
        "IPv6 host bits",
        _cidrs("cluster.kubernetesApi.cidrs", ["fd00::1/8"]),
        None,
        'cluster.kubernetesApi.cidrs[0]: "fd00::1/8" must not have bits set beyond the prefix length '
        f"({REFUSED}): the network is fd00:0:0:0:0:0:0:0/8",
    ),
    (
        "IPv4-mapped IPv6",
        _cidrs("cluster.kubernetesApi.cidrs", ["::ffff:a00:0/104"]),
        None,
        f'cluster.kubernetesApi.cidrs[0]: "::ffff:a00:0/104" must not be an IPv4-mapped IPv6 address ({REFUSED})',
    ),
    *[
        (
            f"Kafka CIDR host bits: {group}",
            _kafka(group, {"cidr": "10.1.2.3/16"}),
            None,
            f'{group}.egress.kafka.to[0].cidr: "10.1.2.3/16" must not have bits set beyond the prefix length '
            f"({REFUSED}): the network is 10.1.0.0/16",
        )
        for group in ("eventProcessing.instance", "flink")
    ],
    *[
        (
            f"Kafka except {why}",
            _kafka("flink", {"cidr": cidr, "except": [exc]}),
            None,
            f'flink.egress.kafka.to[0].except[0]: "{exc}" must be a strict subset of flink.egress.kafka.to[0].cidr '
            f'"{cidr}" (inside it, with a longer prefix, of the same IP family): {REFUSED}',
        )
        for why, cidr, exc in (
            ("outside", "10.0.0.0/8", "11.0.0.0/16"),
            ("equal", "10.0.0.0/8", "10.0.0.0/8"),
            ("wider", "10.0.0.0/16", "10.0.0.0/8"),
            ("of the other family", "::/0", "10.0.0.0/8"),
            ("outside, IPv6", "fd00::/16", "fd01::/32"),
        )
    ],
    (
        "Kafka except with host bits",
        _kafka("eventProcessing.instance", {"cidr": "10.0.0.0/8", "except": ["10.0.0.1/24"]}),
        None,
        'eventProcessing.instance.egress.kafka.to[0].except[0]: "10.0.0.1/24" must not have bits set beyond',
    ),
    *[
        (
            f"extra rule CIDR host bits: {key}",
            _rule(key, {"ipBlock": {"cidr": "192.168.1.1/24"}}),
            None,
            f'{key}[0].{"from" if key.endswith("extraIngress") else "to"}[0].ipBlock.cidr: "192.168.1.1/24" must not '
            f"have bits set beyond the prefix length ({REFUSED}): the network is 192.168.1.0/24",
        )
        for key in EXTRA
    ],
    (
        "extra rule except outside",
        _rule("flink.jobmanager.extraIngress", {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["192.168.0.0/16"]}}),
        None,
        'flink.jobmanager.extraIngress[0].from[0].ipBlock.except[0]: "192.168.0.0/16" must be a strict subset of '
        'flink.jobmanager.extraIngress[0].from[0].ipBlock.cidr "10.0.0.0/8"',
    ),
    (
        "extra rule ipBlock with a misspelt except (dropped by the server, a wider rule)",
        _rule("flink.operator.extraIngress", {"ipBlock": {"cidr": "10.0.0.0/8", "excpt": ["10.1.0.0/16"]}}),
        "/flink/operator/extraIngress/0/from/0/ipBlock",
        'flink.operator.extraIngress[0].from[0].ipBlock: unknown field "excpt" (allowed: cidr, except)',
    ),
    # 2. ports
    (
        "endPort below port",
        _rule("flink.egress.extraEgress", port={"port": 9000, "endPort": 8999}),
        None,
        "flink.egress.extraEgress[0].ports[0].endPort: must be greater than or equal to port "
        f"(9000), got 8999: {REFUSED}",
    ),
    (
        "endPort with a named port",
        {
            **_rule("flink.operator.extraIngress", port={"port": "https", "endPort": 9000}),
            "acknowledge": {"namedPortsInExtraRules": True},
        },
        "/flink/operator/extraIngress/0/ports/0/port",
        "flink.operator.extraIngress[0].ports[0].endPort: may not be specified when port is a "
        f'name ("https"): {REFUSED}',
    ),
    (
        "endPort out of range",
        _rule("eventProcessing.instance.extraIngress", port={"port": 9000, "endPort": 65536}),
        "/eventProcessing/instance/extraIngress/0/ports/0/endPort",
        "eventProcessing.instance.extraIngress[0].ports[0].endPort: must be a TCP port number "
        "between 1 and 65535, got 65536",
    ),
    *[
        (
            f"named port {name!r}",
            {
                **_rule("flink.taskmanager.extraIngress", port={"port": name}),
                "acknowledge": {"namedPortsInExtraRules": True},
            },
            "/flink/taskmanager/extraIngress/0/ports/0/port",
            f'flink.taskmanager.extraIngress[0].ports[0].port: "{name}" is not a valid port name (at most 15 lowercase '
            f"letters, digits and single inner dashes, with at least one letter): {REFUSED}",
        )
        for name in ("web--ui", "8080", "-web", "a-sixteen-chars0")
    ],
    (
        "unknown protocol",
        _rule("eventProcessing.operator.extraIngress", port={"port": 1, "protocol": "ICMP"}),
        "/eventProcessing/operator/extraIngress/0/ports/0/protocol",
        f"eventProcessing.operator.extraIngress[0].ports[0].protocol: must be TCP, UDP or SCTP, got ICMP: {REFUSED}",
    ),
    (
        "metrics endPort below port",
        {"flink": {"metrics": {"enabled": True, "port": 9250, "endPort": 9249}}},
        None,
        "flink.metrics.endPort: must not be below the port it ends (9250)",
    ),
    # 3. label selectors
    (
        "In without values",
        _rule(
            "flink.jobmanager.extraIngress", {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}
        ),
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0",
        "flink.jobmanager.extraIngress[0].from[0].podSelector.matchExpressions[0].values: must be specified when "
        f"operator is In (at least one value): {REFUSED}",
    ),
    (
        "NotIn with no values",
        _rule(
            "flink.jobmanager.extraIngress",
            {"namespaceSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": []}]}},
        ),
        "/flink/jobmanager/extraIngress/0/from/0/namespaceSelector/matchExpressions/0/values",
        "flink.jobmanager.extraIngress[0].from[0].namespaceSelector.matchExpressions[0].values: must be specified when "
        "operator is NotIn",
    ),
    (
        "Exists with values",
        _rule(
            "eventProcessing.instance.egress.extraEgress",
            {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]}},
        ),
        "/eventProcessing/instance/egress/extraEgress/0/to/0/podSelector/matchExpressions/0/values",
        "eventProcessing.instance.egress.extraEgress[0].to[0].podSelector.matchExpressions[0].values: may not be "
        f"specified when operator is Exists: {REFUSED}",
    ),
    (
        "match expression key not a label key",
        _rule(
            "flink.taskmanager.extraIngress",
            {"podSelector": {"matchExpressions": [{"key": "a b", "operator": "Exists"}]}},
        ),
        "/flink/taskmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/key",
        "flink.taskmanager.extraIngress[0].from[0].podSelector.matchExpressions[0].key: key "
        '"a b" is not a valid label key',
    ),
    (
        "match expression value not a label value",
        _rule(
            "flink.taskmanager.extraIngress",
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["-x"]}]}},
        ),
        "/flink/taskmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/values/0",
        "flink.taskmanager.extraIngress[0].from[0].podSelector.matchExpressions[0].values[0]: "
        "-x is not a valid label value",
    ),
    (
        "extra rule matchLabels value too long",
        _rule("flink.operator.egress.extraEgress", {"podSelector": {"matchLabels": {"app": "a" * 64}}}),
        "/flink/operator/egress/extraEgress/0/to/0/podSelector/matchLabels/app",
        f'flink.operator.egress.extraEgress[0].to[0].podSelector.matchLabels.app: "{"a" * 64}" '
        "is not a valid label value",
    ),
    # Wrong kinds inside a user's rule: refused naming the key, never reaching a template function
    # as a raw "error calling" (the schema refuses them by type).
    (
        "a CIDR that is not a string",
        _cidrs("cluster.kubernetesApi.cidrs", [10]),
        "/cluster/kubernetesApi/cidrs/0",
        "cluster.kubernetesApi.cidrs[0]: must be a CIDR string (e.g. 10.0.0.0/8), got ",
    ),
    (
        "an except that is not a list",
        _kafka("flink", {"cidr": "10.0.0.0/8", "except": "10.1.0.0/16"}),
        "/flink/egress/kafka/to/0/except",
        "flink.egress.kafka.to[0].except: must be a list of CIDRs inside flink.egress.kafka.to[0].cidr",
    ),
    (
        "matchLabels that is not a map",
        _rule("flink.jobmanager.extraIngress", {"podSelector": {"matchLabels": "app"}}),
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchLabels",
        "flink.jobmanager.extraIngress[0].from[0].podSelector.matchLabels: must be a map of labels",
    ),
    (
        "a matchLabels value that is not a string",
        _rule("flink.jobmanager.extraIngress", {"podSelector": {"matchLabels": {"app": 5}}}),
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchLabels/app",
        "flink.jobmanager.extraIngress[0].from[0].podSelector.matchLabels.app: a label value must be a string, got ",
    ),
    (
        "matchExpressions that is not a list",
        _rule(
            "flink.jobmanager.extraIngress", {"podSelector": {"matchExpressions": {"key": "a", "operator": "Exists"}}}
        ),
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions",
        "flink.jobmanager.extraIngress[0].from[0].podSelector.matchExpressions: must be a list",
    ),
    (
        "an expression that is not a map",
        _rule("flink.jobmanager.extraIngress", {"namespaceSelector": {"matchExpressions": ["a"]}}),
        "/flink/jobmanager/extraIngress/0/from/0/namespaceSelector/matchExpressions/0",
        "flink.jobmanager.extraIngress[0].from[0].namespaceSelector.matchExpressions[0]: must be a map with key, "
        "operator and values",
    ),
    (
        "an expression without a key",
        _rule("flink.taskmanager.extraIngress", {"podSelector": {"matchExpressions": [{"operator": "Exists"}]}}),
        "/flink/taskmanager/extraIngress/0/from/0/podSelector/matchExpressions/0",
        "flink.taskmanager.extraIngress[0].from[0].podSelector.matchExpressions[0].key: is required (a label key)",
    ),
    (
        "an operator label selectors lack (Gt is a node selector's)",
        _rule(
            "flink.taskmanager.extraIngress",
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}},
        ),
        "/flink/taskmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/operator",
        "flink.taskmanager.extraIngress[0].from[0].podSelector.matchExpressions[0].operator: must be In, NotIn, "
        "Exists or DoesNotExist, got Gt",
    ),
    (
        "expression values that are not a list",
        _rule(
            "flink.taskmanager.extraIngress",
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]}},
        ),
        "/flink/taskmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/values",
        "flink.taskmanager.extraIngress[0].from[0].podSelector.matchExpressions[0].values: must be a list of label "
        "values",
    ),
    (
        "extra rule label key with an empty prefix",
        _rule("eventProcessing.operator.egress.extraEgress", {"namespaceSelector": {"matchLabels": {"/app": "x"}}}),
        "/eventProcessing/operator/egress/extraEgress/0/to/0/namespaceSelector/matchLabels",
        'eventProcessing.operator.egress.extraEgress[0].to[0].namespaceSelector.matchLabels: key "/app" is not a valid '
        "label key",
    ),
    (
        "label key prefix too long",
        {"flink": {"operator": {"podSelector": {("a" * 254) + "/x": "y"}}}},
        "/flink/operator/podSelector",
        f'flink.operator.podSelector: key "{"a" * 254}/x" is not a valid label key',
    ),
    (
        "deployment selector value",
        {"flink": {"deployments": [{"name": "f", "podSelector": {"app": "x_"}}]}},
        "/flink/deployments/0/podSelector/app",
        'flink.deployments[0].podSelector.app: "x_" is not a valid label value',
    ),
    (
        "Kafka selector key",
        _kafka("flink", {"namespace": "kafka", "podSelector": {"bad key": "x"}}),
        "/flink/egress/kafka/to/0/podSelector",
        'flink.egress.kafka.to[0].podSelector: key "bad key" is not a valid label key',
    ),
    (
        "metrics selector value",
        {"flink": {"metrics": {"enabled": True, "port": 9250, "from": "monitoring", "podSelector": {"app": "a b"}}}},
        "/flink/metrics/podSelector/app",
        'flink.metrics.podSelector.app: "a b" is not a valid label value',
    ),
    (
        "common label value",
        {"commonLabels": {"team": "-x"}},
        "/commonLabels/team",
        f"commonLabels.team: \"-x\" is not a valid label value (at most 63 alphanumerics, '-', '_' or '.', "
        f"alphanumeric at both ends): {REFUSED}",
    ),
    (
        "common annotation key",
        {"commonAnnotations": {"a/b/c": "x"}},
        "/commonAnnotations",
        'commonAnnotations: key "a/b/c" is not a valid label key',
    ),
    # 4. generated names and labels
    (
        "operator policy name too long once -egress is added",
        {"eventProcessing": {"operator": {"policyName": "p" * 250, "egress": {"enabled": True}}}},
        "/eventProcessing/operator/policyName",
        f'eventProcessing.operator.policyName: makes the policy name "{"p" * 250}-egress" (257 characters), which '
        "must be a DNS subdomain of at most 253 characters (lowercase alphanumerics, '-' and "
        f"'.'): {REFUSED}; shorten it",
    ),
    (
        "Flink deployment name",
        {"flink": {"deployments": [{"name": "My_Flink"}]}},
        "/flink/deployments/0/name",
        'flink.deployments[0].name: "My_Flink" is not a FlinkDeployment name (a DNS label: at most 63 lowercase '
        "alphanumerics or '-', alphanumeric at both ends): the API server refuses the policies named after it",
    ),
    (
        "Flink deployment name too long for a label",
        {"flink": {"deployments": [{"name": "f" * 64}]}},
        "/flink/deployments/0/name",
        f'flink.deployments[0].name: "{"f" * 64}" is not a FlinkDeployment name',
    ),
    (
        "EP instance name (a label value)",
        {"eventProcessing": {"instance": {"name": "EP_1"}}},
        "/eventProcessing/instance/name",
        'eventProcessing.instance.name: "EP_1" must be a DNS label, as namespace names are',
    ),
    # 5. namespaces (metadata.namespace, kubernetes.io/metadata.name label values)
    *[
        (
            f"namespace: {key}",
            put({}, key, "Team_A"),
            "/" + key.replace(".", "/"),
            f'{key}: "Team_A" must be a DNS label, as namespace names are (at most 63 lowercase '
            "alphanumerics or '-', "
            f"alphanumeric at both ends): {REFUSED}",
        )
        for key in [r[0] for r in ROWS if "dnsLabel" in r[1] and r[0].endswith("namespace")]
    ],
    (
        "deny-all namespace list",
        {"denyAllIngress": {"exceptNamespaces": ["ok", "Not_OK"]}},
        "/denyAllIngress/exceptNamespaces/1",
        'denyAllIngress.exceptNamespaces[1]: "Not_OK" must be a DNS label',
    ),
    (
        "deployment namespace",
        {"flink": {"deployments": [{"name": "f", "namespace": "-flink"}]}},
        "/flink/deployments/0/namespace",
        'flink.deployments[0].namespace: "-flink" must be a DNS label',
    ),
    (
        "deployment namespace of 64 characters",
        {"flink": {"deployments": [{"name": "f", "namespace": "n" * 64}]}},
        "/flink/deployments/0/namespace",
        f'flink.deployments[0].namespace: "{"n" * 64}" must be a DNS label',
    ),
    (
        "Kafka namespace",
        _kafka("eventProcessing.instance", {"namespace": "Kafka"}),
        "/eventProcessing/instance/egress/kafka/to/0/namespace",
        'eventProcessing.instance.egress.kafka.to[0].namespace: "Kafka" must be a DNS label',
    ),
]


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
@pytest.mark.parametrize("with_schema", [True, False], ids=["schema", "no-schema"])
def test_what_the_api_server_refuses_fails_the_render_naming_the_key(
    outcomes: dict[tuple[str, int, bool], Any], i: int, with_schema: bool
) -> None:
    _, _, schema, message = CASES[i]
    e = outcomes["refused", i, with_schema]
    assert isinstance(e, RenderError), "rendered"
    if with_schema and schema:
        assert "values don't meet the specifications of the schema" in e.stderr
        assert f"'{schema}'" in e.stderr, e.stderr
    else:
        assert message in e.stderr, e.stderr


# What the server accepts, the chart accepts: the rules above are no stricter at their edges.
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    (
        "IPv6 forms",
        _cidrs("cluster.kubernetesApi.cidrs", ["::/0", "fd00::/8", "2001:db8:0:0:1::/80", "1::/128", "::1/128"]),
    ),
    ("except strictly inside", _kafka("flink", {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.255.255.255/32"]})),
    ("IPv6 except", _kafka("flink", {"cidr": "fd00::/8", "except": ["fd00:1::/32"]})),
    ("a whole /0", _cidrs("flink.operator.webhookCIDRs", ["0.0.0.0/0"])),
    ("endPort equal to port", _rule("flink.egress.extraEgress", port={"port": 9000, "endPort": 9000})),
    (
        "a valid named port",
        {
            **_rule("flink.jobmanager.extraIngress", port={"port": "web-1"}),
            "acknowledge": {"namedPortsInExtraRules": True},
        },
    ),
    ("a 63-character label value", {"commonLabels": {"example.com/team": "a" * 63}}),
    (
        "Exists and In",
        _rule(
            "flink.jobmanager.extraIngress",
            {
                "podSelector": {
                    "matchExpressions": [
                        {"key": "a", "operator": "Exists"},
                        {"key": "b", "operator": "In", "values": ["x"]},
                    ]
                }
            },
        ),
    ),
    (
        "DoesNotExist",
        _rule(
            "flink.jobmanager.extraIngress",
            {"namespaceSelector": {"matchExpressions": [{"key": "example.com/a", "operator": "DoesNotExist"}]}},
        ),
    ),
    *[
        (f"protocol {proto}", _rule("eventProcessing.operator.extraIngress", port={"protocol": proto, "port": 8080}))
        for proto in ("TCP", "UDP", "SCTP")
    ],
    (
        "a 15-character port name",
        {
            **_rule("flink.jobmanager.extraIngress", port={"port": "abcdefghij-1234"}),
            "acknowledge": {"namedPortsInExtraRules": True},
        },
    ),
    # a DNS subdomain of exactly 253 characters: three 63-character labels, a 61-character one, dots
    ("a 253-character label key prefix", {"commonLabels": {".".join(["a" * 63] * 3 + ["a" * 61]) + "/k": "v"}}),
    ("a 63-character namespace", {"flink": {"operator": {"namespace": "n" * 63}}}),
    (
        "a 63-character Flink deployment name and namespace",
        {"flink": {"deployments": [{"name": "d" * 63, "namespace": "n" * 63}]}},
    ),
    (
        "a 246-character policy name with -egress",
        {"flink": {"operator": {"policyName": "p" * 246, "egress": {"enabled": True}}}},
    ),
]


@pytest.mark.parametrize("i", range(len(ACCEPTED)), ids=[c[0] for c in ACCEPTED])
@pytest.mark.parametrize("with_schema", [True, False], ids=["schema", "no-schema"])
def test_what_the_api_server_accepts_renders(
    outcomes: dict[tuple[str, int, bool], Any], i: int, with_schema: bool
) -> None:
    objs = outcomes["accepted", i, with_schema]
    assert not isinstance(objs, RenderError), objs.stderr
    assert objs


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, int, bool], Any]:
    """Every case's render, with and without the schema, made side by side (each is one helm process)."""
    both = (True, False)
    cases = {("refused", i, with_schema): c[1] for i, c in enumerate(CASES) for with_schema in both}
    cases |= {("accepted", i, with_schema): c[1] for i, c in enumerate(ACCEPTED) for with_schema in both}
    with ThreadPoolExecutor(4) as pool:
        renders = pool.map(lambda k: render_or_error(cases[k], args=() if k[2] else SKIP), cases)
        return dict(zip(cases, renders, strict=True))


def test_policy_names_leave_room_for_the_suffixes_of_their_groups() -> None:
    """Decision api-server-rules: a policyName's schema maxLength is 253 less the longest suffix a group
    named after it adds (the group table's `of` rows), so the schema refuses what the templates would."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    groups = group_table()
    for g in (g for g in groups if g.get("values")):
        suffixes = [len(o.get("suffix", "")) for o in groups if o.get("of") == g["id"]]
        node: dict[str, Any] = {"properties": schema["properties"]}
        for part in g["values"].split("."):
            node = node["properties"][part]
        name = node["properties"]["policyName"]
        limit = 253 - max(suffixes, default=0)
        assert name.get("maxLength", 253 if "$ref" in name or "anyOf" in name else None) == limit, g["id"]


def test_flink_deployment_policy_names_stay_names_whatever_the_deployment_name() -> None:
    """A Flink deployment's name is a DNS label (at most 63 characters, checked first), so with the
    longest suffix a deployment-scoped group adds, its policy names stay under the API server's 253:
    this is why templates/validate.yaml needs no length check for them. A group whose suffix broke
    that would fail here, before any user met a name the server refuses."""
    suffixes = [len(g.get("suffix", "")) for g in group_table() if g["scope"] == "deployment"]
    assert suffixes and 63 + max(suffixes) <= 253


def test_the_decision_cites_the_upstream_source() -> None:
    d = facts.decisions()["api-server-rules"]
    for cited in ("validation.go", "ValidateIPBlock", "ValidateNetworkPolicyPort", "StrictIPCIDRValidation"):
        assert cited in d["chart"] + d["page"], cited
