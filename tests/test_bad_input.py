"""Bad input fails with a message naming the key, and renders nothing: the schema's
rejections, which name keys as JSON pointers ('/flink/ports/rest').

The templates' own guards (dotted keys, holding under --skip-schema-validation) and
validate.yaml's checks are helm-unittest's: the chart's tests/ suites assert each
message (tests/no-schema/ with the schema off), and tests/test_helm_unittest.py runs them.
"""

from __future__ import annotations

from typing import Any

import pytest

from tools.render import RenderError, helm_template

DEPLOYMENT = {"name": "ibm-eventautomation-flink"}

# (values, the key the message must name)
SCHEMA_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("switch not a boolean", {"deployOperatorNetworkPolicy": "yes"}, "/deployOperatorNetworkPolicy"),
    ("nested switch not a boolean", {"flink": {"taskmanager": {"enabled": 1}}}, "/flink/taskmanager/enabled"),
    ("port zero", {"flink": {"ports": {"rest": 0}}}, "/flink/ports/rest"),
    ("port above 65535", {"flink": {"ports": {"rpc": 65536}}}, "/flink/ports/rpc"),
    ("port negative", {"eventProcessing": {"operator": {"webhookPort": -1}}}, "/eventProcessing/operator/webhookPort"),
    ("port as a string", {"flink": {"ports": {"blob": "6124"}}}, "/flink/ports/blob"),
    (
        "port not whole",
        {"eventProcessing": {"instance": {"ports": {"ui": 8443.5}}}},
        "/eventProcessing/instance/ports/ui",
    ),
    ("metrics port out of range", {"flink": {"metrics": {"enabled": True, "port": 70000}}}, "/flink/metrics/port"),
    ("metrics on without a port", {"flink": {"metrics": {"enabled": True}}}, "/flink/metrics"),
    ("unknown top-level key", {"deployNetworkPolicy": False}, "deployNetworkPolicy"),
    ("unknown nested key", {"flink": {"operator": {"enable": False}}}, "/flink/operator"),
    ("unknown key in a deployment", {"flink": {"deployments": [{**DEPLOYMENT, "labels": {}}]}}, "/flink/deployments/0"),
    ("deployment without a name", {"flink": {"deployments": [{"namespace": "flink"}]}}, "/flink/deployments/0"),
    ("no deployments", {"flink": {"deployments": []}}, "/flink/deployments"),
    (
        "empty deployment selector",
        {"flink": {"deployments": [{**DEPLOYMENT, "podSelector": {}}]}},
        "/flink/deployments/0/podSelector",
    ),
    ("bad label key", {"flink": {"operator": {"podSelector": {"bad key": "x"}}}}, "/flink/operator/podSelector"),
    (
        "bad label value",
        {"eventProcessing": {"operator": {"podSelector": {"app": "-x-"}}}},
        "/eventProcessing/operator/podSelector/app",
    ),
    (
        "label value too long",
        {"flink": {"componentLabels": {"jobmanager": {"component": "j" * 64}}}},
        "/flink/componentLabels/jobmanager/component",
    ),
    (
        "label value not a string",
        {"flink": {"componentLabels": {"taskmanager": {"component": 1}}}},
        "/flink/componentLabels/taskmanager/component",
    ),
    ("namespace not DNS-1123", {"flink": {"operator": {"namespace": "Flink_Ops"}}}, "/flink/operator/namespace"),
    ("policy name not DNS-1123", {"denyAllIngress": {"policyName": "Deny All"}}, "/denyAllIngress/policyName"),
    ("deployment name with a dot", {"flink": {"deployments": [{"name": "a.b"}]}}, "/flink/deployments/0/name"),
    ("deny-all namespace twice", {"denyAllIngress": {"namespaces": ["a", "a"]}}, "/denyAllIngress/namespaces"),
    ("common label hiding a chart label", {"commonLabels": {"app.kubernetes.io/instance": "x"}}, "/commonLabels"),
    *[
        (f"common label hiding {label}", {"commonLabels": {label: "x"}}, "/commonLabels")
        for label in (
            "app.kubernetes.io/name",
            "app.kubernetes.io/managed-by",
            "app.kubernetes.io/component",
            "app.kubernetes.io/part-of",
            "helm.sh/chart",
        )
    ],
    ("unknown platform", {"platform": "gke"}, "/platform"),
    (
        "unknown EP webhook source",
        {"eventProcessing": {"operator": {"webhookFrom": "api"}}},
        "/eventProcessing/operator/webhookFrom",
    ),
    ("unknown Flink webhook source", {"flink": {"operator": {"webhookFrom": "api"}}}, "/flink/operator/webhookFrom"),
    ("unknown UI source", {"eventProcessing": {"instance": {"uiFrom": "lb"}}}, "/eventProcessing/instance/uiFrom"),
    ("unknown metrics source", {"flink": {"metrics": {"from": "prometheus"}}}, "/flink/metrics/from"),
    ("namespace too long", {"flink": {"operator": {"namespace": "n" * 64}}}, "/flink/operator/namespace"),
    ("policy name too long", {"denyAllIngress": {"policyName": "p" * 254}}, "/denyAllIngress/policyName"),
    ("instance name too long", {"eventProcessing": {"instance": {"name": "i" * 58}}}, "/eventProcessing/instance/name"),
    (
        "instance name not DNS-1123",
        {"eventProcessing": {"instance": {"name": "My_EP"}}},
        "/eventProcessing/instance/name",
    ),
    (
        "instance policy name not DNS-1123",
        {"eventProcessing": {"instance": {"policyName": "EP"}}},
        "/eventProcessing/instance/policyName",
    ),
    ("deployment name too long", {"flink": {"deployments": [{"name": "d" * 64}]}}, "/flink/deployments/0/name"),
    ("DNS namespace not DNS-1123", {"cluster": {"dns": {"namespace": "Kube_System"}}}, "/cluster/dns/namespace"),
    ("DNS namespace too long", {"cluster": {"dns": {"namespace": "n" * 64}}}, "/cluster/dns/namespace"),
    ("no DNS ports", {"cluster": {"dns": {"ports": []}}}, "/cluster/dns/ports"),
    ("no API server ports (schema)", {"cluster": {"kubernetesApi": {"ports": []}}}, "/cluster/kubernetesApi/ports"),
    ("API server port twice", {"cluster": {"kubernetesApi": {"ports": [443, 443]}}}, "/cluster/kubernetesApi/ports"),
    (
        "bad IPv4 CIDR",
        {"eventProcessing": {"operator": {"webhookCIDRs": ["10.0.0.0/33"]}}},
        "/eventProcessing/operator/webhookCIDRs/0",
    ),
    (
        "bad IPv6 CIDR",
        {"eventProcessing": {"operator": {"webhookCIDRs": ["fd00::/129"]}}},
        "/eventProcessing/operator/webhookCIDRs/0",
    ),
    (
        "CIDR twice",
        {"flink": {"operator": {"webhookCIDRs": ["10.0.0.0/8", "10.0.0.0/8"]}}},
        "/flink/operator/webhookCIDRs",
    ),
    (
        "metrics from namespaces without one",
        {"flink": {"metrics": {"from": "namespaces"}}},
        "/flink/metrics/namespaces",
    ),
    ("metrics namespace twice", {"flink": {"metrics": {"namespaces": ["a", "a"]}}}, "/flink/metrics/namespaces"),
    ("metrics namespace not DNS-1123", {"flink": {"metrics": {"namespaces": ["Mon"]}}}, "/flink/metrics/namespaces/0"),
    ("metrics namespace too long", {"flink": {"metrics": {"namespaces": ["n" * 64]}}}, "/flink/metrics/namespaces/0"),
    ("deny-all namespace not DNS-1123", {"denyAllIngress": {"namespaces": ["A"]}}, "/denyAllIngress/namespaces/0"),
    ("deny-all namespace too long", {"denyAllIngress": {"namespaces": ["n" * 64]}}, "/denyAllIngress/namespaces/0"),
    (
        "extra rule without peers",
        {"flink": {"operator": {"extraIngress": [{"from": [], "ports": [{"port": 1}]}]}}},
        "/flink/operator/extraIngress/0/from",
    ),
    (
        "extra rule without ports",
        {"flink": {"operator": {"extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": []}]}}},
        "/flink/operator/extraIngress/0/ports",
    ),
    (
        "extra egress rule without destinations",
        {"flink": {"egress": {"extraEgress": [{"to": [], "ports": [{"port": 1}]}]}}},
        "/flink/egress/extraEgress/0/to",
    ),
    (
        "extra egress rule without ports",
        {"flink": {"egress": {"extraEgress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": []}]}}},
        "/flink/egress/extraEgress/0/ports",
    ),
    (
        "extra rule with an empty peer (schema)",
        {"flink": {"operator": {"extraIngress": [{"from": [{}], "ports": [{"port": 1}]}]}}},
        "/flink/operator/extraIngress/0/from/0",
    ),
    (
        "extra rule with an empty namespace selector (schema)",
        {"flink": {"jobmanager": {"extraIngress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 1}]}]}}},
        "/flink/jobmanager/extraIngress/0/from/0/namespaceSelector",
    ),
    (
        "extra rule mixing an ipBlock and a selector (schema)",
        {
            "flink": {
                "jobmanager": {
                    "extraIngress": [
                        {
                            "from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {"matchLabels": {"a": "b"}}}],
                            "ports": [{"port": 1}],
                        }
                    ]
                }
            }
        },
        "/flink/jobmanager/extraIngress/0/from/0",
    ),
    (
        "extra rule with no match expressions",
        {
            "flink": {
                "jobmanager": {
                    "extraIngress": [
                        {"from": [{"namespaceSelector": {"matchExpressions": []}}], "ports": [{"port": 1}]}
                    ]
                }
            }
        },
        "/flink/jobmanager/extraIngress/0/from/0/namespaceSelector/matchExpressions",
    ),
    (
        "extra rule with a match expression without a key",
        {
            "flink": {
                "jobmanager": {
                    "extraIngress": [
                        {
                            "from": [{"podSelector": {"matchExpressions": [{"key": "", "operator": "Exists"}]}}],
                            "ports": [{"port": 1}],
                        }
                    ]
                }
            }
        },
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/key",
    ),
    (
        "extra rule with an unknown match operator",
        {
            "flink": {
                "jobmanager": {
                    "extraIngress": [
                        {
                            "from": [{"podSelector": {"matchExpressions": [{"key": "a", "operator": "Like"}]}}],
                            "ports": [{"port": 1}],
                        }
                    ]
                }
            }
        },
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/operator",
    ),
    (
        "extra rule with an unknown protocol",
        {
            "flink": {
                "operator": {
                    "extraIngress": [
                        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 1, "protocol": "ICMP"}]}
                    ]
                }
            }
        },
        "/flink/operator/extraIngress/0/ports/0/protocol",
    ),
    (
        "extra rule with a named port too long",
        {
            "flink": {
                "operator": {
                    "extraIngress": [
                        {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": "a-sixteen-chars0"}]}
                    ]
                }
            }
        },
        "/flink/operator/extraIngress/0/ports/0/port",
    ),
    (
        "extra rule with a named port not a name",
        {
            "flink": {
                "operator": {
                    "extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": "Web_UI"}]}]
                }
            }
        },
        "/flink/operator/extraIngress/0/ports/0/port",
    ),
    (
        "empty Kafka destination",
        {"flink": {"egress": {"kafka": {"ports": [9092], "to": [{}]}}}},
        "/flink/egress/kafka/to/0",
    ),
    (
        "Kafka destination mixing a CIDR and a namespace (schema)",
        {"flink": {"egress": {"kafka": {"ports": [9092], "to": [{"cidr": "10.0.0.0/8", "namespace": "kafka"}]}}}},
        "/flink/egress/kafka/to/0",
    ),
    (
        "Kafka destination with except and no CIDR",
        {"flink": {"egress": {"kafka": {"ports": [9092], "to": [{"namespace": "kafka", "except": ["10.0.0.0/24"]}]}}}},
        "/flink/egress/kafka/to/0",
    ),
    (
        "Kafka namespace not DNS-1123",
        {"flink": {"egress": {"kafka": {"ports": [9092], "to": [{"namespace": "Kafka"}]}}}},
        "/flink/egress/kafka/to/0/namespace",
    ),
    (
        "Kafka namespace too long",
        {"flink": {"egress": {"kafka": {"ports": [9092], "to": [{"namespace": "k" * 64}]}}}},
        "/flink/egress/kafka/to/0/namespace",
    ),
    (
        "Kafka port twice",
        {"flink": {"egress": {"kafka": {"ports": [9092, 9092], "to": []}}}},
        "/flink/egress/kafka/ports",
    ),
    (
        "match expression without a key",
        {
            "flink": {
                "jobmanager": {
                    "extraIngress": [
                        {
                            "from": [{"podSelector": {"matchExpressions": [{"operator": "Exists"}]}}],
                            "ports": [{"port": 1}],
                        }
                    ]
                }
            }
        },
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0",
    ),
    (
        "match expression without an operator",
        {
            "flink": {
                "jobmanager": {
                    "extraIngress": [
                        {"from": [{"podSelector": {"matchExpressions": [{"key": "a"}]}}], "ports": [{"port": 1}]}
                    ]
                }
            }
        },
        "/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0",
    ),
    (
        "ipBlock without a CIDR",
        {
            "flink": {
                "operator": {
                    "extraIngress": [{"from": [{"ipBlock": {"except": ["10.0.0.0/24"]}}], "ports": [{"port": 1}]}]
                }
            }
        },
        "/flink/operator/extraIngress/0/from/0/ipBlock",
    ),
    (
        "port entry without a port (schema)",
        {
            "flink": {
                "operator": {
                    "extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "TCP"}]}]
                }
            }
        },
        "/flink/operator/extraIngress/0/ports/0",
    ),
    (
        "extra rule with no from key",
        {"flink": {"operator": {"extraIngress": [{"ports": [{"port": 1}]}]}}},
        "/flink/operator/extraIngress/0",
    ),
    (
        "extra rule with no ports key",
        {"flink": {"operator": {"extraIngress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}}},
        "/flink/operator/extraIngress/0",
    ),
    (
        "extra egress rule with no to key",
        {"flink": {"egress": {"extraEgress": [{"ports": [{"port": 1}]}]}}},
        "/flink/egress/extraEgress/0",
    ),
    (
        "extra egress rule with no ports key",
        {"flink": {"egress": {"extraEgress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}}},
        "/flink/egress/extraEgress/0",
    ),
]


def _fails(values: dict[str, Any]) -> RenderError:
    with pytest.raises(RenderError) as err:
        helm_template(values)
    assert err.value.stdout == "", "a failed render must print no manifest"
    return err.value


@pytest.mark.parametrize("values, key", [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES])
def test_schema_rejects_with_the_key(values, key):
    err = _fails(values)
    assert key in err.stderr, err.stderr
