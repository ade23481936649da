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
