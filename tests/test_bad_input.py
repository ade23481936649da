"""Bad input fails with a message naming the key, and renders nothing: the schema's rejections,
which name keys as JSON pointers (`at '/flink/ports/rest': minimum: got 0, want 1`).

This module is the one owner of the schema's messages: no helm-unittest suite asserts them. The
templates' own guards (dotted keys, holding under --skip-schema-validation) are helm-unittest's
(the chart's tests/no-schema/ suite, run by tests/test_helm_unittest.py).

Each case below is `[name, values, what helm's stderr must show (a regex)]`; the values' keys are
dotted as `--set` spells them. helm reports every schema error of a values file at once, so cases
that touch different groups share one render (a batch): each must still find its own message.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest
import yaml

from tools.render import RenderError, helm_template
from tools.values import put

CASES_YAML = """
- [switch not a boolean, {deployOperatorNetworkPolicy: 'yes'}, "at '/deployOperatorNetworkPolicy'"]
- [nested switch not a boolean, {flink.taskmanager.enabled: 1}, "at '/flink/taskmanager/enabled'"]
- [port zero, {flink.ports.rest: 0}, "at '/flink/ports/rest'"]
- [port above 65535, {flink.ports.rpc: 65536}, "at '/flink/ports/rpc'"]
- [port negative, {eventProcessing.operator.webhookPort: -1}, "at '/eventProcessing/operator/webhookPort'"]
- [port as a string, {flink.ports.blob: '6124'}, "at '/flink/ports/blob'"]
- [port not whole, {eventProcessing.instance.ports.ui: 8443.5}, "at '/eventProcessing/instance/ports/ui'"]
- [metrics port out of range, {flink.metrics.enabled: true, flink.metrics.port: 70000}, "at '/flink/metrics/port'"]
- [metrics on without a port, {flink.metrics.enabled: true}, "at '/flink/metrics(/port)?': (got null,
    want integer|missing property 'port')"]
- [unknown top-level key, {deployNetworkPolicy: false}, "deployNetworkPolicy"]
- [unknown nested key, {flink.operator.enable: false}, "at '/flink/operator'"]
- [unknown key in a deployment, {flink.deployments: [{name: ibm-eventautomation-flink, labels: {}}]},
    "at '/flink/deployments/0'"]
- [deployment without a name, {flink.deployments: [{namespace: flink}]}, "at '/flink/deployments/0'"]
- [no deployments, {flink.deployments: []}, "at '/flink/deployments': minItems: got 0, want 1"]
- [empty deployment selector, {flink.deployments: [{name: ibm-eventautomation-flink, podSelector: {}}]},
    "at '/flink/deployments/0/podSelector': minProperties: got 0, want 1"]
- [bad label key, {flink.operator.podSelector.bad key: x}, "at '/flink/operator/podSelector'"]
- [bad label value, {eventProcessing.operator.podSelector.app: -x-}, "at '/eventProcessing/operator/podSelector/app'"]
- [label value too long,
    {flink.componentLabels.jobmanager.component: jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj},
    "at '/flink/componentLabels/jobmanager/component'"]
- [label value not a string, {flink.componentLabels.taskmanager.component: 1},
    "at '/flink/componentLabels/taskmanager/component'"]
- [namespace not DNS-1123, {flink.operator.namespace: Flink_Ops}, "at '/flink/operator/namespace'"]
- [policy name not DNS-1123, {denyAllIngress.policyName: Deny All}, "at '/denyAllIngress/policyName'"]
- [deployment name with a dot, {flink.deployments: [{name: a.b}]}, "at '/flink/deployments/0/name'"]
- [deny-all namespace twice, {denyAllIngress.namespaces: [a, a]}, "at '/denyAllIngress/namespaces'"]
- [common label hiding app.kubernetes.io/instance, {commonLabels: {app.kubernetes.io/instance: x}},
    "at '/commonLabels/app.kubernetes.io~1instance': 'not' failed"]
- [common label hiding app.kubernetes.io/name, {commonLabels: {app.kubernetes.io/name: x}},
    "at '/commonLabels/app.kubernetes.io~1name': 'not' failed"]
- [common label hiding app.kubernetes.io/managed-by, {commonLabels: {app.kubernetes.io/managed-by: x}},
    "at '/commonLabels/app.kubernetes.io~1managed-by': 'not' failed"]
- [common label hiding app.kubernetes.io/component, {commonLabels: {app.kubernetes.io/component: x}},
    "at '/commonLabels/app.kubernetes.io~1component': 'not' failed"]
- [common label hiding app.kubernetes.io/part-of, {commonLabels: {app.kubernetes.io/part-of: x}},
    "at '/commonLabels/app.kubernetes.io~1part-of': 'not' failed"]
- [common label hiding helm.sh/chart, {commonLabels: {helm.sh/chart: x}},
    "at '/commonLabels/helm.sh~1chart': 'not' failed"]
- [unknown platform (platform), {platform: gke}, "at '/platform'"]
- [unknown EP webhook source, {eventProcessing.operator.webhookFrom: api}, "at '/eventProcessing/operator/webhookFrom'"]
- [unknown Flink webhook source, {flink.operator.webhookFrom: api}, "at '/flink/operator/webhookFrom'"]
- [unknown UI source, {eventProcessing.instance.uiFrom: lb}, "at '/eventProcessing/instance/uiFrom'"]
- [unknown metrics source, {flink.metrics.from: prometheus}, "at '/flink/metrics/from'"]
- [namespace too long, {flink.operator.namespace: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn},
    "at '/flink/operator/namespace'"]
- [instance name too long,
    {eventProcessing.instance.name: iiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiiii},
    "at '/eventProcessing/instance/name'"]
- [instance name not DNS-1123, {eventProcessing.instance.name: My_EP}, "at '/eventProcessing/instance/name'"]
- [instance policy name not DNS-1123, {eventProcessing.instance.policyName: EP},
    "at '/eventProcessing/instance/policyName'"]
- [deployment name too long,
    {flink.deployments: [{name: dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd}]},
    "at '/flink/deployments/0/name'"]
- [DNS namespace not DNS-1123, {cluster.dns.namespace: Kube_System}, "at '/cluster/dns/namespace'"]
- [DNS namespace too long, {cluster.dns.namespace: nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn},
    "at '/cluster/dns/namespace'"]
- [no DNS ports, {cluster.dns.ports: []}, "at '/cluster/dns/ports'"]
- [no API server ports (schema), {cluster.kubernetesApi.ports: []}, "at '/cluster/kubernetesApi/ports'"]
- [API server port twice, {cluster.kubernetesApi.ports: [443, 443]}, "at '/cluster/kubernetesApi/ports'"]
- [bad IPv4 CIDR, {eventProcessing.operator.webhookCIDRs: [10.0.0.0/33]},
    "at '/eventProcessing/operator/webhookCIDRs/0'"]
- [bad IPv6 CIDR, {eventProcessing.operator.webhookCIDRs: ['fd00::/129']},
    "at '/eventProcessing/operator/webhookCIDRs/0'"]
- [CIDR twice, {flink.operator.webhookCIDRs: [10.0.0.0/8, 10.0.0.0/8]}, "at '/flink/operator/webhookCIDRs'"]
- [metrics from namespaces without one, {flink.metrics.from: namespaces}, "at '/flink/metrics/namespaces'"]
- [metrics namespace twice, {flink.metrics.namespaces: [a, a]}, "at '/flink/metrics/namespaces'"]
- [metrics namespace not DNS-1123, {flink.metrics.namespaces: [Mon]}, "at '/flink/metrics/namespaces/0'"]
- [metrics namespace too long,
    {flink.metrics.namespaces: [nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]},
    "at '/flink/metrics/namespaces/0'"]
- [deny-all namespace not DNS-1123, {denyAllIngress.namespaces: [A]}, "at '/denyAllIngress/namespaces/0'"]
- [deny-all namespace too long,
    {denyAllIngress.namespaces: [nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]},
    "at '/denyAllIngress/namespaces/0'"]
- [extra rule without peers, {flink.operator.extraIngress: [{from: [], ports: [{port: 1}]}]},
    "at '/flink/operator/extraIngress/0/from'"]
- [extra rule without ports (flink.operator), {flink.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}],
    ports: []}]}, "at '/flink/operator/extraIngress/0/ports'"]
- [extra egress rule without destinations, {flink.egress.extraEgress: [{to: [], ports: [{port: 1}]}]},
    "at '/flink/egress/extraEgress/0/to'"]
- [extra egress rule without ports, {flink.egress.extraEgress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: []}]},
    "at '/flink/egress/extraEgress/0/ports'"]
- [extra rule with an empty peer (schema), {flink.operator.extraIngress: [{from: [{}], ports: [{port: 1}]}]},
    "at '/flink/operator/extraIngress/0/from/0'"]
- [extra rule with an empty namespace selector (schema),
    {flink.jobmanager.extraIngress: [{from: [{namespaceSelector: {}}], ports: [{port: 1}]}]},
    "at '/flink/jobmanager/extraIngress/0/from/0/namespaceSelector'"]
- [extra rule mixing an ipBlock and a selector (schema),
    {flink.jobmanager.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {matchLabels: {a: b}}}],
    ports: [{port: 1}]}]}, "at '/flink/jobmanager/extraIngress/0/from/0"]
- [extra rule with no match expressions,
    {flink.jobmanager.extraIngress: [{from: [{namespaceSelector: {matchExpressions: []}}], ports: [{port: 1}]}]},
    "at '/flink/jobmanager/extraIngress/0/from/0/namespaceSelector/matchExpressions'"]
- [extra rule with a match expression without a key,
    {flink.jobmanager.extraIngress: [{from: [{podSelector: {matchExpressions: [{key: '', operator: Exists}]}}],
    ports: [{port: 1}]}]}, "at '/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/key'"]
- [extra rule with an unknown match operator,
    {flink.jobmanager.extraIngress: [{from: [{podSelector: {matchExpressions: [{key: a, operator: Like}]}}],
    ports: [{port: 1}]}]}, "at '/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/operator'"]
- [extra rule with an unknown protocol, {flink.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}],
    ports: [{port: 1, protocol: ICMP}]}]}, "at '/flink/operator/extraIngress/0/ports/0/protocol'"]
- [extra rule with a named port too long, {flink.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}],
    ports: [{port: a-sixteen-chars0}]}]}, "at '/flink/operator/extraIngress/0/ports/0/port'"]
- [extra rule with a named port not a name, {flink.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}],
    ports: [{port: Web_UI}]}]}, "at '/flink/operator/extraIngress/0/ports/0/port'"]
- [empty Kafka destination, {flink.egress.kafka.ports: [9092], flink.egress.kafka.to: [{}]},
    "at '/flink/egress/kafka/to/0'"]
- [Kafka destination mixing a CIDR and a namespace (schema), {flink.egress.kafka.ports: [9092],
    flink.egress.kafka.to: [{cidr: 10.0.0.0/8, namespace: kafka}]}, "at '/flink/egress/kafka/to/0"]
- [Kafka destination with except and no CIDR, {flink.egress.kafka.ports: [9092],
    flink.egress.kafka.to: [{namespace: kafka, except: [10.0.0.0/24]}]}, "at '/flink/egress/kafka/to/0"]
- [Kafka namespace not DNS-1123, {flink.egress.kafka.ports: [9092], flink.egress.kafka.to: [{namespace: Kafka}]},
    "at '/flink/egress/kafka/to/0/namespace'"]
- [Kafka namespace too long, {flink.egress.kafka.ports: [9092],
    flink.egress.kafka.to: [{namespace: kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk}]},
    "at '/flink/egress/kafka/to/0/namespace'"]
- [Kafka port twice, {flink.egress.kafka.ports: [9092, 9092], flink.egress.kafka.to: []},
    "at '/flink/egress/kafka/ports'"]
- [match expression without a key,
    {flink.jobmanager.extraIngress: [{from: [{podSelector: {matchExpressions: [{operator: Exists}]}}],
    ports: [{port: 1}]}]},
    "at '/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0': missing property 'key'"]
- [match expression without an operator,
    {flink.jobmanager.extraIngress: [{from: [{podSelector: {matchExpressions: [{key: a}]}}], ports: [{port: 1}]}]},
    "at '/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0': missing property 'operator'"]
- [match expression key not a label key,
    {flink.jobmanager.extraIngress: [{from: [{podSelector: {matchExpressions: [{key: bad key, operator: Exists}]}}],
    ports: [{port: 1}]}]}, "at '/flink/jobmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/key'"]
- [ipBlock without a CIDR, {flink.operator.extraIngress: [{from: [{ipBlock: {except: [10.0.0.0/24]}}],
    ports: [{port: 1}]}]}, "at '/flink/operator/extraIngress/0/from/0/ipBlock'"]
- [port entry without a port (schema), {flink.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}],
    ports: [{protocol: TCP}]}]}, "at '/flink/operator/extraIngress/0/ports/0'"]
- [extra rule with no from key, {flink.operator.extraIngress: [{ports: [{port: 1}]}]},
    "at '/flink/operator/extraIngress/0'"]
- [extra rule with no ports key, {flink.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]},
    "at '/flink/operator/extraIngress/0'"]
- [extra egress rule with no to key, {flink.egress.extraEgress: [{ports: [{port: 1}]}]},
    "at '/flink/egress/extraEgress/0'"]
- [extra egress rule with no ports key, {flink.egress.extraEgress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]},
    "at '/flink/egress/extraEgress/0'"]
- [extra rule without from, {flink.taskmanager.extraIngress: [{ports: [{port: 1}]}]},
    "at '/flink/taskmanager/extraIngress/0'"]
- [extra rule without ports (eventProcessing.operator),
    {eventProcessing.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]},
    "at '/eventProcessing/operator/extraIngress/0'"]
- [extra rule mixing ipBlock and selector, {flink.egress.enabled: true,
    flink.egress.extraEgress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {matchLabels: {a: b}}}],
    ports: [{port: 1}]}]}, "at '/flink/egress/extraEgress/0/to/0"]
- [bad CIDR, {flink.operator.webhookFrom: cidrs, flink.operator.webhookCIDRs: [10.0.0.300/8]},
    "at '/flink/operator/webhookCIDRs/0'"]
- [kafka destination mixing cidr and namespace, {flink.egress.enabled: true, flink.egress.kafka.ports: [9092],
    flink.egress.kafka.to: [{cidr: 10.0.0.0/8, namespace: kafka}]},
    "at '/flink/egress/kafka/to/0/namespace': false schema"]
- [metrics from namespaces without any, {flink.metrics.enabled: true, flink.metrics.port: 9250,
    flink.metrics.from: namespaces}, "at '/flink/metrics/namespaces': minItems: got 0, want 1"]
- [a namespace listed twice, {denyAllIngress.enabled: true, denyAllIngress.namespaces: [team-a, team-a]},
    "at '/denyAllIngress/namespaces': items at 0 and 1 are equal"]
- [an empty namespace name in the list, {denyAllIngress.enabled: true, denyAllIngress.namespaces: ['']},
    "at '/denyAllIngress/namespaces/0': minLength: got 0, want 1"]
- [a policy name that is not a DNS-1123 subdomain (denyAllIngress), {denyAllIngress.enabled: true,
    denyAllIngress.policyName: Default_Deny},
    "at '/denyAllIngress/policyName': 'Default_Deny' does not match pattern"]
- [namespaces is nulled out, {denyAllIngress.enabled: true, denyAllIngress.namespaces: null},
    "at '/denyAllIngress': missing property 'namespaces'"]
- [a Kafka destination mixing a CIDR and a namespace, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092],
    eventProcessing.instance.egress.kafka.to: [{cidr: 10.20.0.0/16, namespace: kafka}]},
    "at '/eventProcessing/instance/egress/kafka/to/0/namespace': false schema"]
- [a Kafka destination mixing a CIDR and a podSelector, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092],
    eventProcessing.instance.egress.kafka.to: [{cidr: 10.20.0.0/16, podSelector: {app: kafka}}]},
    "at '/eventProcessing/instance/egress/kafka/to/0/podSelector': false schema"]
- [except without a CIDR, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092], eventProcessing.instance.egress.kafka.to: [{namespace: kafka,
    except: [10.20.5.0/24]}]}, "at '/eventProcessing/instance/egress/kafka/to/0/except': false schema"]
- [an empty Kafka destination, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092], eventProcessing.instance.egress.kafka.to: [{}]},
    "at '/eventProcessing/instance/egress/kafka/to/0': minProperties: got 0, want 1"]
- [a bad Kafka CIDR (eventProcessing.instance.egress), {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092],
    eventProcessing.instance.egress.kafka.to: [{cidr: 10.20.0.0}]},
    "at '/eventProcessing/instance/egress/kafka/to/0/cidr': '10.20.0.0' does not match pattern"]
- [an empty Kafka podSelector, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092], eventProcessing.instance.egress.kafka.to: [{namespace: kafka,
    podSelector: {}}]}, "at '/eventProcessing/instance/egress/kafka/to/0/podSelector': minProperties: got 0, want 1"]
- [a Kafka port outside 1-65535, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [0]},
    "at '/eventProcessing/instance/egress/kafka/ports/0': minimum: got 0, want 1"]
- [a Kafka port listed twice, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.kafka.ports: [9092, 9092]},
    "at '/eventProcessing/instance/egress/kafka/ports': items at 0 and 1 are equal"]
- [an extraEgress rule without to (eventProcessing.instance.egress), {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.extraEgress: [{ports: [{port: 8080}]}]},
    "at '/eventProcessing/instance/egress/extraEgress/0': missing property 'to'"]
- [an extraEgress rule without ports (eventProcessing.instance.egress),
    {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.extraEgress: [{to: [{podSelector: {matchLabels: {app: registry}}}]}]},
    "at '/eventProcessing/instance/egress/extraEgress/0': missing property 'ports'"]
- [an extraEgress ipBlock mixed with a podSelector in one peer, {eventProcessing.instance.egress.enabled: true,
    eventProcessing.instance.egress.extraEgress: [{to: [{ipBlock: {cidr: 10.0.0.0/8},
    podSelector: {matchLabels: {app: registry}}}], ports: [{port: 8080}]}]},
    "at '/eventProcessing/instance/egress/extraEgress/0/to/0/podSelector': false schema"]
- [every selector label is removed (eventProcessing.instance), {eventProcessing.instance.podSelector: {}},
    "at '/eventProcessing/instance/podSelector': minProperties: got 0, want 1"]
- [an instance name longer than 57 characters,
    {eventProcessing.instance.name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa},
    "at '/eventProcessing/instance/name': maxLength: got 58, want 57"]
- [a namespace that is not a DNS-1123 label, {eventProcessing.instance.namespace: EP_Prod},
    "at '/eventProcessing/instance/namespace': 'EP_Prod' does not match pattern"]
- [port 0, {eventProcessing.instance.ports.kafkaAdmin: 0},
    "at '/eventProcessing/instance/ports/kafkaAdmin': minimum: got 0, want 1"]
- [a UI source the UI does not offer, {eventProcessing.instance.uiFrom: cidrs},
    "at '/eventProcessing/instance/uiFrom': value must be one of 'auto', 'anywhere', 'router'"]
- [an extraIngress rule without from (eventProcessing.instance),
    {eventProcessing.instance.extraIngress: [{ports: [{port: 8443}]}]},
    "at '/eventProcessing/instance/extraIngress/0': missing property 'from'"]
- [an extraIngress rule without ports (eventProcessing.instance),
    {eventProcessing.instance.extraIngress: [{from: [{ipBlock: {cidr: 10.50.0.0/16}}]}]},
    "at '/eventProcessing/instance/extraIngress/0': missing property 'ports'"]
- [an extraIngress peer mixing an ipBlock and a namespaceSelector,
    {eventProcessing.instance.extraIngress: [{from: [{ipBlock: {cidr: 10.50.0.0/16},
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}], ports: [{port: 8443}]}]},
    "at '/eventProcessing/instance/extraIngress/0/from/0/namespaceSelector': false schema"]
- [a bad IPv6 CIDR in an extraIngress ipBlock,
    {eventProcessing.instance.extraIngress: [{from: [{ipBlock: {cidr: 'fd00::/129'}}], ports: [{port: 8443}]}]},
    "at '/eventProcessing/instance/extraIngress/0/from/0/ipBlock/cidr': 'fd00::/129' does not match pattern"]
- [an extraEgress rule without to (it would allow every destination), {eventProcessing.operator.egress.enabled: true,
    eventProcessing.operator.egress.extraEgress: [{ports: [{port: 443}]}]},
    "at '/eventProcessing/operator/egress/extraEgress/0': missing property 'to'"]
- [an extraEgress rule without ports (it would allow every port), {eventProcessing.operator.egress.enabled: true,
    eventProcessing.operator.egress.extraEgress: [{to: [{ipBlock: {cidr: 10.0.0.0/8}}]}]},
    "at '/eventProcessing/operator/egress/extraEgress/0': missing property 'ports'"]
- [an extraEgress rule with an empty to list, {eventProcessing.operator.egress.enabled: true,
    eventProcessing.operator.egress.extraEgress: [{to: [], ports: [{port: 443}]}]},
    "at '/eventProcessing/operator/egress/extraEgress/0/to': minItems: got 0, want 1"]
- [an extraEgress peer that is empty (it would match everything), {eventProcessing.operator.egress.enabled: true,
    eventProcessing.operator.egress.extraEgress: [{to: [{}], ports: [{port: 443}]}]},
    "at '/eventProcessing/operator/egress/extraEgress/0/to/0': minProperties: got 0, want 1"]
- [a bad CIDR in an extraEgress ipBlock, {eventProcessing.operator.egress.enabled: true,
    eventProcessing.operator.egress.extraEgress: [{to: [{ipBlock: {cidr: 10.0.0.0/33}}], ports: [{port: 443}]}]},
    "at '/eventProcessing/operator/egress/extraEgress/0/to/0/ipBlock/cidr': '10.0.0.0/33' does not match pattern"]
- [a bad CIDR in cluster.kubernetesApi.cidrs, {eventProcessing.operator.egress.enabled: true,
    cluster.kubernetesApi.cidrs: [10.0.0.1]},
    "at '/cluster/kubernetesApi/cidrs/0': '10.0.0.1' does not match pattern"]
- [an empty cluster.kubernetesApi.ports (a rule without ports allows every port),
    {eventProcessing.operator.egress.enabled: true, cluster.kubernetesApi.ports: []},
    "at '/cluster/kubernetesApi/ports': minItems: got 0, want 1"]
- [an empty cluster.dns.podSelector (an empty selector matches every pod),
    {eventProcessing.operator.egress.enabled: true, cluster.dns.podSelector: {}},
    "at '/cluster/dns/podSelector': minProperties: got 0, want 1"]
- [cluster.kubernetesApi.ports is nulled out, {eventProcessing.operator.egress.enabled: true,
    cluster.kubernetesApi.ports: null}, "at '/cluster/kubernetesApi': missing property 'ports'"]
- [a non-boolean allow rule switch, {eventProcessing.operator.egress.enabled: true,
    eventProcessing.operator.egress.allowRules.dns: 'no'},
    "at '/eventProcessing/operator/egress/allowRules/dns': got string, want boolean"]
- [an unknown key under eventProcessing.operator.egress, {eventProcessing.operator.egress.kafka.ports: [9092]},
    "at '/eventProcessing/operator/egress': additional properties 'kafka' not allowed"]
- [every selector label is removed (an empty selector selects every pod), {eventProcessing.operator.podSelector: {}},
    "at '/eventProcessing/operator/podSelector': minProperties: got 0, want 1"]
- [a webhook port outside 1-65535, {eventProcessing.operator.webhookPort: 65536},
    "at '/eventProcessing/operator/webhookPort': maximum: got 65,536, want 65,535"]
- [a webhook port given as a string, {eventProcessing.operator.webhookPort: '8443'},
    "at '/eventProcessing/operator/webhookPort': got string, want integer"]
- [a policy name that is not a DNS-1123 subdomain (eventProcessing.operator),
    {eventProcessing.operator.policyName: EP_Operator},
    "at '/eventProcessing/operator/policyName': 'EP_Operator' does not match pattern"]
- [an unknown key under eventProcessing.operator, {eventProcessing.operator.webhookPorts: 8443},
    "at '/eventProcessing/operator': additional properties 'webhookPorts' not allowed"]
- [an unknown webhookFrom (eventProcessing.operator), {eventProcessing.operator.webhookFrom: apiserver},
    "at '/eventProcessing/operator/webhookFrom': value must be one of 'auto', 'anywhere', 'hostNetwork', 'cidrs'"]
- [a webhook CIDR without a prefix length, {eventProcessing.operator.webhookFrom: cidrs,
    eventProcessing.operator.webhookCIDRs: [10.0.0.10]},
    "at '/eventProcessing/operator/webhookCIDRs/0': '10.0.0.10' does not match pattern"]
- [a webhook CIDR that is not an address, {eventProcessing.operator.webhookFrom: cidrs,
    eventProcessing.operator.webhookCIDRs: [kubernetes.default/32]},
    "at '/eventProcessing/operator/webhookCIDRs/0': 'kubernetes.default/32' does not match pattern"]
- [a webhook CIDR listed twice, {eventProcessing.operator.webhookFrom: cidrs,
    eventProcessing.operator.webhookCIDRs: [10.0.0.10/32, 10.0.0.10/32]},
    "at '/eventProcessing/operator/webhookCIDRs': items at 0 and 1 are equal"]
- [an extraIngress rule without from (it would admit every source),
    {eventProcessing.operator.extraIngress: [{ports: [{port: 8080}]}]},
    "at '/eventProcessing/operator/extraIngress/0': missing property 'from'"]
- [an extraIngress rule without ports (it would admit every port),
    {eventProcessing.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.1.0.0/16}}]}]},
    "at '/eventProcessing/operator/extraIngress/0': missing property 'ports'"]
- [an extraIngress rule with an empty from list, {eventProcessing.operator.extraIngress: [{from: [],
    ports: [{port: 8080}]}]}, "at '/eventProcessing/operator/extraIngress/0/from': minItems: got 0, want 1"]
- [an extraIngress peer with an empty podSelector,
    {eventProcessing.operator.extraIngress: [{from: [{podSelector: {}}], ports: [{port: 8080}]}]},
    "at '/eventProcessing/operator/extraIngress/0/from/0/podSelector': minProperties: got 0, want 1"]
- [a bad CIDR in an extraIngress ipBlock,
    {eventProcessing.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.1.0.0/40}}], ports: [{port: 8080}]}]},
    "at '/eventProcessing/operator/extraIngress/0/from/0/ipBlock/cidr': '10.1.0.0/40' does not match pattern"]
- [an egress-style key in an extraIngress rule,
    {eventProcessing.operator.extraIngress: [{from: [{ipBlock: {cidr: 10.1.0.0/16}}], ports: [{port: 8080}],
    to: [{ipBlock: {cidr: 10.2.0.0/16}}]}]},
    "at '/eventProcessing/operator/extraIngress/0': additional properties 'to' not allowed"]
- [a bad Kafka CIDR (flink.egress), {flink.egress.enabled: true, flink.egress.kafka.ports: [9092],
    flink.egress.kafka.to: [{cidr: 300.0.0.0/8}]},
    "at '/flink/egress/kafka/to/0/cidr': '300.0.0.0/8' does not match pattern"]
- [an unknown key in a Kafka destination, {flink.egress.enabled: true, flink.egress.kafka.ports: [9092],
    flink.egress.kafka.to: [{namespaceSelector: {kubernetes.io/metadata.name: kafka}}]},
    "at '/flink/egress/kafka/to/0': additional properties 'namespaceSelector' not allowed"]
- [an extraEgress rule without to (flink.egress), {flink.egress.enabled: true,
    flink.egress.extraEgress: [{ports: [{port: 5432}]}]}, "at '/flink/egress/extraEgress/0': missing property 'to'"]
- [an extraEgress rule without ports (flink.egress), {flink.egress.enabled: true,
    flink.egress.extraEgress: [{to: [{ipBlock: {cidr: 192.168.0.0/16}}]}]},
    "at '/flink/egress/extraEgress/0': missing property 'ports'"]
- [a deployment port outside 1-65535, {flink.egress.enabled: true, flink.deployments: [{name: analytics,
    ports: {blob: 70000}}]}, "at '/flink/deployments/0/ports/blob': maximum: got 70,000, want 65,535"]
- [metrics are enabled with a null port, {flink.metrics.enabled: true, flink.metrics.port: null},
    "at '/flink/metrics/port': got null, want integer"]
- [a metrics port outside 1-65535, {flink.metrics.enabled: true, flink.metrics.port: 65536},
    "at '/flink/metrics/port': maximum: got 65,536, want 65,535"]
- [a metrics port given as a string, {flink.metrics.enabled: true, flink.metrics.port: '9250'},
    "at '/flink/metrics/port': got string, want integer"]
- [an endPort outside 1-65535, {flink.metrics.enabled: true, flink.metrics.port: 9250, flink.metrics.endPort: 65536},
    "at '/flink/metrics/endPort': maximum: got 65,536, want 65,535"]
- [an unknown metrics source, {flink.metrics.enabled: true, flink.metrics.port: 9250, flink.metrics.from: prometheus},
    "at '/flink/metrics/from': value must be one of 'auto', 'anywhere', 'monitoring', 'namespaces'"]
- [a scraper namespace that is not a DNS-1123 label, {flink.metrics.enabled: true, flink.metrics.port: 9250,
    flink.metrics.from: namespaces, flink.metrics.namespaces: [Prometheus]},
    "at '/flink/metrics/namespaces/0': 'Prometheus' does not match pattern"]
- [an empty metrics podSelector (an empty selector matches every pod), {flink.metrics.enabled: true,
    flink.metrics.port: 9250, flink.metrics.from: namespaces, flink.metrics.namespaces: [prometheus],
    flink.metrics.podSelector: {}}, "at '/flink/metrics/podSelector': minProperties: got 0, want 1"]
- [a non-boolean taskmanagers switch, {flink.metrics.enabled: true, flink.metrics.port: 9250,
    flink.metrics.taskmanagers: 'yes'}, "at '/flink/metrics/taskmanagers': got string, want boolean"]
- [a blob port outside 1-65535, {flink.ports.blob: -1}, "at '/flink/ports/blob': minimum: got -1, want 1"]
- [a deployment name that is not a DNS-1123 label, {flink.deployments: [{name: Fraud_Detection}]},
    "at '/flink/deployments/0/name': 'Fraud_Detection' does not match pattern"]
- [a deployment's RPC port outside 1-65535, {flink.deployments: [{name: ibm-eventautomation-flink,
    ports: {rpc: 99999}}]}, "at '/flink/deployments/0/ports/rpc': maximum: got 99,999, want 65,535"]
- [a deployment's REST port above 65535, {flink.deployments: [{name: ibm-eventautomation-flink,
    ports: {rest: 65536}}]}, "at '/flink/deployments/0/ports/rest': maximum: got 65,536, want 65,535"]
- [a deployment without a name, {flink.deployments: [{namespace: flink-jobs}]},
    "at '/flink/deployments/0': missing property 'name'"]
- [an unknown key in a deployment, {flink.deployments: [{name: ibm-eventautomation-flink, podLabels: {app: flink}}]},
    "at '/flink/deployments/0': additional properties 'podLabels' not allowed"]
- [the jobmanager component labels are all removed, {flink.componentLabels.jobmanager: {}},
    "at '/flink/componentLabels/jobmanager': minProperties: got 0, want 1"]
- [a REST port outside 1-65535, {flink.ports.rest: 70000}, "at '/flink/ports/rest': maximum: got 70,000, want 65,535"]
- [flink.deployments is nulled out, {flink.deployments: null}, "at '/flink': missing property 'deployments'"]
- [a deployment's REST port 0, {flink.deployments: [{name: ibm-eventautomation-flink,
    ports: {rest: 0}}]}, "at '/flink/deployments/0/ports/rest': minimum: got 0, want 1"]
- [an unknown port name in a deployment (flink), {flink.deployments: [{name: ibm-eventautomation-flink,
    ports: {metrics: 9250}}]}, "at '/flink/deployments/0/ports': additional properties 'metrics' not allowed"]
- [an extraIngress rule without from (flink.jobmanager), {flink.jobmanager.extraIngress: [{ports: [{port: 8081}]}]},
    "at '/flink/jobmanager/extraIngress/0': missing property 'from'"]
- [an extraIngress rule without ports (flink.jobmanager),
    {flink.jobmanager.extraIngress: [{from: [{namespaceSelector: {matchLabels:
        {kubernetes.io/metadata.name: flink-ui}}}]}]},
    "at '/flink/jobmanager/extraIngress/0': missing property 'ports'"]
- [an extraIngress port above 65535,
    {flink.jobmanager.extraIngress: [{from: [{namespaceSelector: {matchLabels:
        {kubernetes.io/metadata.name: flink-ui}}}],
    ports: [{port: 80810}]}]}, "at '/flink/jobmanager/extraIngress/0/ports/0/port': maximum: got 80,810, want 65,535"]
- [an extraEgress rule without to (flink.operator.egress), {flink.operator.egress.enabled: true,
    flink.operator.egress.extraEgress: [{ports: [{port: 8443}]}]},
    "at '/flink/operator/egress/extraEgress/0': missing property 'to'"]
- [an extraEgress rule without ports (flink.operator.egress), {flink.operator.egress.enabled: true,
    flink.operator.egress.extraEgress: [{to: [{ipBlock: {cidr: 172.30.0.0/16}}]}]},
    "at '/flink/operator/egress/extraEgress/0': missing property 'ports'"]
- [an extraEgress rule with an empty ports list, {flink.operator.egress.enabled: true,
    flink.operator.egress.extraEgress: [{to: [{ipBlock: {cidr: 172.30.0.0/16}}], ports: []}]},
    "at '/flink/operator/egress/extraEgress/0/ports': minItems: got 0, want 1"]
- [a bad CIDR in an extraEgress ipBlock except, {flink.operator.egress.enabled: true,
    flink.operator.egress.extraEgress: [{to: [{ipBlock: {cidr: 172.30.0.0/16, except: [172.30.1.0/99]}}],
    ports: [{port: 8443}]}]},
    "at '/flink/operator/egress/extraEgress/0/to/0/ipBlock/except/0': '172.30.1.0/99' does not match pattern"]
- [a webhook Service port outside 1-65535, {flink.operator.webhookServicePort.port: 0},
    "at '/flink/operator/webhookServicePort/port': minimum: got 0, want 1"]
- [a non-integer webhook port, {flink.operator.webhookPort: 9443.5}, "at '/flink/operator/webhookPort': got number,
    want integer"]
- [every selector label is removed (flink.operator), {flink.operator.podSelector: {}},
    "at '/flink/operator/podSelector': minProperties: got 0, want 1"]
- [a non-boolean switch (flink.operator), {flink.operator.enabled: 'yes'}, "at '/flink/operator/enabled': got string,
    want boolean"]
- [policyName is nulled out, {flink.operator.policyName: null}, "at '/flink/operator': missing property 'policyName'"]
- [an unknown webhookFrom (flink.operator), {flink.operator.webhookFrom: router},
    "at '/flink/operator/webhookFrom': value must be one of 'auto', 'anywhere', 'hostNetwork', 'cidrs'"]
- [a bad webhook CIDR, {flink.operator.webhookFrom: cidrs, flink.operator.webhookCIDRs: [10.0.0.256/32]},
    "at '/flink/operator/webhookCIDRs/0': '10.0.0.256/32' does not match pattern"]
- [webhookCIDRs given as a string, {flink.operator.webhookFrom: cidrs, flink.operator.webhookCIDRs: 10.0.0.10/32},
    "at '/flink/operator/webhookCIDRs': got string, want array"]
- [an extraIngress rule without from (flink.operator), {flink.operator.extraIngress: [{ports: [{port: 8080}]}]},
    "at '/flink/operator/extraIngress/0': missing property 'from'"]
- [an extraIngress rule without ports (flink.operator),
    {flink.operator.extraIngress: [{from: [{namespaceSelector: {matchLabels:
        {kubernetes.io/metadata.name: monitoring}}}]}]},
    "at '/flink/operator/extraIngress/0': missing property 'ports'"]
- [an extraIngress port with an unknown protocol,
    {flink.operator.extraIngress: [{from: [{namespaceSelector: {matchLabels:
        {kubernetes.io/metadata.name: monitoring}}}],
    ports: [{protocol: ICMP, port: 8080}]}]},
    "at '/flink/operator/extraIngress/0/ports/0/protocol': value must be one of 'TCP', 'UDP', 'SCTP'"]
- [a taskmanager data port outside 1-65535, {flink.taskmanagerRpcData.enabled: true, flink.ports.taskmanagerData: 0},
    "at '/flink/ports/taskmanagerData': minimum: got 0, want 1"]
- [a taskmanager RPC port given as a string, {flink.taskmanagerRpcData.enabled: true,
    flink.ports.taskmanagerRpc: '6122'}, "at '/flink/ports/taskmanagerRpc': got string, want integer"]
- [a deployment's taskmanager port outside 1-65535, {flink.taskmanagerRpcData.enabled: true,
    flink.deployments: [{name: analytics, ports: {taskmanagerRpc: 65536}}]},
    "at '/flink/deployments/0/ports/taskmanagerRpc': maximum: got 65,536, want 65,535"]
- [an unknown port name in a deployment (flink.taskmanagerRpcData), {flink.taskmanagerRpcData.enabled: true,
    flink.deployments: [{name: analytics, ports: {taskmanagerRPC: 6122}}]},
    "at '/flink/deployments/0/ports': additional properties 'taskmanagerRPC' not allowed"]
- [a non-boolean switch (flink.taskmanagerRpcData), {flink.taskmanagerRpcData.enabled: 'true'},
    "at '/flink/taskmanagerRpcData/enabled': got string, want boolean"]
- [the taskmanager component labels are all removed, {flink.componentLabels.taskmanager: {}},
    "at '/flink/componentLabels/taskmanager': minProperties: got 0, want 1"]
- [an extraIngress rule without from (flink.taskmanager), {flink.taskmanager.extraIngress: [{ports: [{port: 9249}]}]},
    "at '/flink/taskmanager/extraIngress/0': missing property 'from'"]
- [an extraIngress rule without ports (flink.taskmanager),
    {flink.taskmanager.extraIngress: [{from: [{namespaceSelector: {matchLabels:
        {kubernetes.io/metadata.name: prometheus}}}]}]},
    "at '/flink/taskmanager/extraIngress/0': missing property 'ports'"]
- [a deployment's REST port given as a string, {flink.deployments: [{name: analytics, ports: {rest: '8081'}}]},
    "at '/flink/deployments/0/ports/rest': got string, want integer"]
- [an unknown platform, {platform: OpenShift}, "at '/platform': value must be one of 'kubernetes', 'openshift'"]
- [a UI source that the UI does not offer, {eventProcessing.instance.uiFrom: hostNetwork},
    "at '/eventProcessing/instance/uiFrom': value must be one of"]
- [a non-boolean acknowledgement, {acknowledge.denyAllWithoutProductPolicies: 'yes'},
    "at '/acknowledge/denyAllWithoutProductPolicies': got string, want boolean"]
- [an unknown acknowledgement, {acknowledge.everything: true},
    "at '/acknowledge': additional properties 'everything' not allowed"]
- [a deny-all exception listed twice, {denyAllIngress.exceptNamespaces: [team-a, team-a]},
    "at '/denyAllIngress/exceptNamespaces': items at 0 and 1 are equal"]
- [a deny-all exception too long,
    {denyAllIngress.exceptNamespaces: [nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]},
    "at '/denyAllIngress/exceptNamespaces/0': maxLength: got 64, want 63"]
- [an acknowledged namespace listed twice, {acknowledge.denyAllNamespaces: [team-a, team-a]},
    "at '/acknowledge/denyAllNamespaces': items at 0 and 1 are equal"]
- [an acknowledged namespace too long,
    {acknowledge.denyAllNamespaces: [nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn]},
    "at '/acknowledge/denyAllNamespaces/0': maxLength: got 64, want 63"]
- [an acknowledged namespace not DNS-1123, {acknowledge.denyAllNamespaces: [Team_A]},
    "at '/acknowledge/denyAllNamespaces/0': 'Team_A' does not match pattern"]
- [the UI's ingress controller without a namespace, {eventProcessing.instance.uiFrom: ingressController,
    eventProcessing.instance.ingressController: {namespace: '', podSelector: {app.kubernetes.io/name: traefik}}},
    "at '/eventProcessing/instance/ingressController/namespace': minLength: got 0, want 1"]
- [an acknowledgement is nulled out, {acknowledge.egressWithoutDns: null},
    "at '/acknowledge': missing property 'egressWithoutDns'"]
"""
CASES: list[tuple[str, dict[str, Any], str]] = [(n, v, e) for n, v, e in yaml.safe_load(CASES_YAML)]
CASES.append(("policy name too long", {"denyAllIngress.policyName": "p" * 254}, "/denyAllIngress/policyName"))
# A qualified name's DNS prefix is at most 253 characters, which the name's pattern alone does not bound.
# An annotation key is checked by propertyNames, whose errors helm's schema library (santhosh-tekuri/
# jsonschema v6.0.3, validator.go:296 `verr.InstanceLocation = vd.vloc`, a live slice where every other
# error takes a copy, instanceLocation()) reports at whichever key was validated last: the pointer is
# unreliable, so the case asserts the message quoting the key.
LONG_PREFIX = "p" * 254 + "/name"
CASES.append(
    (
        "annotation key with a prefix too long",
        {"commonAnnotations": {LONG_PREFIX: "x"}},
        f"invalid propertyName '{LONG_PREFIX}'",
    )
)
CASES.append(
    (
        "match expression key with a prefix too long",
        {
            "flink.taskmanager.extraIngress": [
                {
                    "from": [{"podSelector": {"matchExpressions": [{"key": LONG_PREFIX, "operator": "Exists"}]}}],
                    "ports": [{"port": 1}],
                }
            ]
        },
        "at '/flink/taskmanager/extraIngress/0/from/0/podSelector/matchExpressions/0/key'",
    )
)


def _groups(dotted: dict[str, Any]) -> set[tuple[str, ...]]:
    """The value groups a case touches (`flink.metrics`)."""
    return {tuple(key.split(".")[:2]) for key in dotted}


def _overlap(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> bool:
    return any(x[: len(y)] == y[: len(x)] for x in a for y in b)


def _batches() -> list[list[int]]:
    """Cases in one batch touch no group in common (nor one inside another). A propertyNames case renders
    alone: its stale pointer (above) can be any key's, and would answer another case's `at '/...` for it."""
    batches: list[tuple[set[tuple[str, ...]], list[int]]] = []
    for i, (_, dotted, expected) in enumerate(CASES):
        groups = _groups(dotted)
        alone = expected.startswith("invalid propertyName")
        free = None if alone else next((b for b in batches if not _overlap(b[0], groups)), None)
        if free is None:
            batches.append((set(), []))
            free = batches[-1]
        free[0].update({()} if alone else groups)  # () overlaps every group: the batch takes no other case
        free[1].append(i)
    return [cases for _, cases in batches]


BATCH_OF = {i: n for n, cases in enumerate(_batches()) for i in cases}


@cache
def _stderr(batch: int) -> str:
    values: dict[str, Any] = {}
    for i, n in BATCH_OF.items():
        for key, value in CASES[i][1].items() if n == batch else ():
            put(values, key, value)  # null stays null: helm then deletes the key, as --set does
    with pytest.raises(RenderError) as err:
        helm_template(values)
    assert err.value.stdout == "", "a failed render must print no manifest"
    return err.value.stderr


def test_names_are_unique():
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("i", range(len(CASES)), ids=[c[0] for c in CASES])
def test_schema_rejects_with_the_key(i):
    _, _, expected = CASES[i]
    stderr = _stderr(BATCH_OF[i])
    assert re.search(expected, stderr), stderr
