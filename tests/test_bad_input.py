"""Bad input fails with a message naming the key, and renders nothing.

The schema names keys as JSON pointers ('/flink/ports/rest'); the templates' own
guards (which still hold under --skip-schema-validation) name them as dotted paths.
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
]

# Guards in the templates: these must fail even with --skip-schema-validation.
GUARD_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("selector removed", {"flink": {"operator": {"podSelector": None}}}, "flink.operator.podSelector"),
    (
        "component labels removed",
        {"flink": {"componentLabels": {"jobmanager": None}}},
        "flink.componentLabels.jobmanager",
    ),
    (
        "EP operator selector removed",
        {"eventProcessing": {"operator": {"podSelector": None}}},
        "eventProcessing.operator.podSelector",
    ),
    ("port zero", {"flink": {"ports": {"rest": 0}}}, "flink.ports.rest"),
    (
        "port too big",
        {"eventProcessing": {"instance": {"ports": {"kafkaAdmin": 70000}}}},
        "eventProcessing.instance.ports.kafkaAdmin",
    ),
    ("port as a string", {"flink": {"ports": {"rpc": "6123"}}}, "flink.ports.rpc"),
    ("port not whole", {"flink": {"operator": {"webhookPort": 9443.5}}}, "flink.operator.webhookPort"),
    ("metrics on without a port", {"flink": {"metrics": {"enabled": True}}}, "flink.metrics.port"),
    ("deployment without a name", {"flink": {"deployments": [{"namespace": "x"}]}}, "flink.deployments[0].name"),
    ("deployment listed twice", {"flink": {"deployments": [DEPLOYMENT, DEPLOYMENT]}}, "flink.deployments[1].name"),
    ("unknown webhook source", {"flink": {"operator": {"webhookFrom": "api"}}}, "flink.operator.webhookFrom"),
    (
        "extra rule with an empty peer",
        {"flink": {"operator": {"extraIngress": [{"from": [{}], "ports": [{"port": 1}]}]}}},
        "flink.operator.extraIngress[0].from[0]",
    ),
    (
        "extra rule with an empty selector",
        {"flink": {"jobmanager": {"extraIngress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 1}]}]}}},
        "flink.jobmanager.extraIngress[0].from[0].namespaceSelector",
    ),
    (
        "extra rule with a port entry without a port",
        {
            "eventProcessing": {
                "instance": {
                    "extraIngress": [
                        {"from": [{"podSelector": {"matchLabels": {"a": "b"}}}], "ports": [{"protocol": "TCP"}]}
                    ]
                }
            }
        },
        "eventProcessing.instance.extraIngress[0].ports[0]",
    ),
    (
        "kafka destination mixing cidr and namespace",
        {
            "flink": {
                "egress": {
                    "enabled": True,
                    "kafka": {"ports": [9092], "to": [{"cidr": "10.0.0.0/8", "namespace": "kafka"}]},
                }
            }
        },
        "flink.egress.kafka.to[0]",
    ),
    (
        "no API server ports",
        {"flink": {"egress": {"enabled": True}}, "cluster": {"kubernetesApi": {"ports": []}}},
        "cluster.kubernetesApi.ports",
    ),
    (
        "two groups under one policy name",
        {"eventProcessing": {"operator": {"policyName": "p"}}, "flink": {"operator": {"policyName": "p"}}},
        "flink.operator.policyName",
    ),
    (
        "an operator named like a deployment's policy",
        {"flink": {"operator": {"policyName": "ibm-eventautomation-flink-jobmanager"}}},
        "flink.deployments[0].name",
    ),
]


def _fails(values: dict[str, Any], *args: str) -> RenderError:
    with pytest.raises(RenderError) as err:
        helm_template(values, args=args)
    assert err.value.stdout == "", "a failed render must print no manifest"
    return err.value


@pytest.mark.parametrize("values, key", [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES])
def test_schema_rejects_with_the_key(values, key):
    err = _fails(values)
    assert key in err.stderr, err.stderr


@pytest.mark.parametrize("values, key", [c[1:] for c in GUARD_CASES], ids=[c[0] for c in GUARD_CASES])
def test_template_guard_rejects_with_the_key_even_without_the_schema(values, key):
    err = _fails(values, "--skip-schema-validation")
    assert key in err.stderr, err.stderr


def test_duplicate_deployment_is_fine_in_another_namespace():
    helm_template({"flink": {"deployments": [DEPLOYMENT, {**DEPLOYMENT, "namespace": "other"}]}})
