"""Values several checks share, each defined once (low in the layering: facts and values only).

FULL_PAGE, METRICS_PORT    the page's two optional objects on: deny-all, and Flink metrics (the chart's
                           tests/full-page.yaml); DENY_ALL_ON and METRICS_ON, its two halves
DENY, METRICS              their switches
GROUP_SWITCHES             the switches of the page's policy groups (every page switch but those two)
SWITCHES                   GROUP_SWITCHES, then DENY and METRICS: the switch matrix's axes, in order
LAYOUTS                    everything in the release namespace ("same"), or each group in its own ("split")
OPERATOR_NAMESPACES        the split layout's operator namespaces, acknowledged for deny-all
INGRESS_CONTROLLER         an ingress controller's namespace and pod labels (ingress-nginx's)
"""

from __future__ import annotations

import yaml

from tools import facts
from tools.paths import REPO_CHART
from tools.values import Values

# The whole page (the defaults plus deny-all and the Flink metrics policy on the examples' port):
# one file, which the helm-unittest snapshot suite reads too. Shared: copy it before changing it
# (tools.values.merge and updated do).
FULL_PAGE_FILE = REPO_CHART / "tests" / "full-page.yaml"
FULL_PAGE: Values = yaml.safe_load(FULL_PAGE_FILE.read_text())
METRICS_PORT: int = FULL_PAGE["flink"]["metrics"]["port"]
# Its two halves: deny-all on, and the metrics policy on.
DENY_ALL_ON: Values = {"denyAllIngress": FULL_PAGE["denyAllIngress"]}
METRICS_ON: Values = {"flink": FULL_PAGE["flink"]}

DENY = "denyAllIngress.enabled"
METRICS = "flink.metrics.enabled"
GROUP_SWITCHES = tuple(s for s in facts.switches() if s not in (DENY, METRICS))
SWITCHES = (*GROUP_SWITCHES, DENY, METRICS)

# "operator in the same or another namespace": everything in the release namespace, or each of the
# four groups in a namespace of its own (both operators away from what they serve, EP away from Flink).
# The operators' own namespaces are acknowledged for deny-all (decision deny-all-stays-home), so
# deny-all covers every namespace the policies live in, as on a cluster where the operators have theirs.
OPERATOR_NAMESPACES: Values = {"acknowledge": {"denyAllNamespaces": ["ibm-ep-operator", "flink-operator"]}}
LAYOUTS: dict[str, Values] = {
    "same": {},
    "split": {
        **OPERATOR_NAMESPACES,
        "eventProcessing": {"operator": {"namespace": "ibm-ep-operator"}},
        "flink": {
            "operator": {"namespace": "flink-operator"},
            "deployments": [{"name": "ibm-eventautomation-flink", "namespace": "flink"}],
        },
    },
}

# An ingress controller (ingress-nginx's namespace and pod labels), for `uiFrom: ingressController`.
INGRESS_CONTROLLER: Values = {"namespace": "ingress-nginx", "podSelector": {"app.kubernetes.io/name": "ingress-nginx"}}
