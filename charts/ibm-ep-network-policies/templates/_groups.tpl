{{/*
The policy groups, each listed once. The templates take their switch, name and
component from here; validate.yaml, NOTES.txt and the deny-all namespaces range
over it. Fields:
  id        the group's template (templates/<id>.yaml) and its component label
  switch    value paths that must all be true for the group to render
  scope     one: a single policy; deployment: one per Flink deployment, named
            <deployment name><suffix>; namespace: one per deny-all namespace
  values    (one, namespace) the values block holding policyName and namespace
  of        (one) take name and namespace from that group, plus suffix
  defaultName  the name when policyName is empty: it, or <name>-<it> when `name` is set
  type      ingress or egress: deny-all covers the namespaces of ingress groups
  product   deny-all with this group off cuts the product off (validate.yaml fails)
  notes     how NOTES.txt lists it
  warn      NOTES.txt's warning when it is off under an acknowledged deny-all
  dials     (deployment) keys of the deployment's ports its own pods dial when the group
            is on: flink-egress.yaml lets them out
Usage: {{ include "epnp.groupTable" . | fromYamlArray }} (static text; read it through epnp.withGroups)
*/}}
{{- define "epnp.groupTable" -}}
- {id: ep-operator, switch: [deployOperatorNetworkPolicy], scope: one, values: eventProcessing.operator, type: ingress, product: true, notes: "EP operator webhook", warn: "deployOperatorNetworkPolicy is off: the EP operator webhook becomes unreachable unless another policy allows it."}
- {id: ep-operator-egress, switch: [eventProcessing.operator.egress.enabled], scope: one, of: ep-operator, suffix: "-egress", type: egress, notes: "EP operator egress"}
- {id: ep-instance, switch: [deployNetworkPolicies], scope: one, values: eventProcessing.instance, defaultName: ibm-ep, type: ingress, product: true, notes: "EP instance: UI, Kafka administration, UI frontend/backend", warn: "deployNetworkPolicies is off: EP instance pods get no ingress unless the EP operator creates its own policies."}
- {id: ep-instance-egress, switch: [eventProcessing.instance.egress.enabled], scope: one, of: ep-instance, suffix: "-egress", type: egress, notes: "EP instance egress"}
- {id: flink-operator, switch: [flink.operator.enabled], scope: one, values: flink.operator, type: ingress, product: true, notes: "Flink operator webhook", warn: "the Flink operator policy is off: its validating webhook becomes unreachable."}
- {id: flink-operator-egress, switch: [flink.operator.egress.enabled], scope: one, of: flink-operator, suffix: "-egress", type: egress, notes: "Flink operator egress"}
- {id: flink-jobmanager, switch: [flink.jobmanager.enabled], scope: deployment, suffix: "-jobmanager", type: ingress, product: true, notes: jobmanager, warn: &operand "some Flink operand policies are off: the Flink cluster or job submission from EP will break."}
- {id: flink-jobmanager-rpc-blob, switch: [flink.jobmanagerRpcBlob.enabled], scope: deployment, suffix: "-jobmanager-rpc-blob", type: ingress, product: true, notes: jobmanagerRpcBlob, warn: *operand}
- {id: flink-jobmanager-stream-authoring, switch: [flink.jobmanagerStreamAuthoring.enabled], scope: deployment, suffix: "-jobmanager-stream-authoring", type: ingress, product: true, notes: jobmanagerStreamAuthoring, warn: *operand}
- {id: flink-taskmanager, switch: [flink.taskmanager.enabled], scope: deployment, suffix: "-taskmanager", type: ingress, product: true, notes: taskmanager, warn: *operand}
- {id: flink-taskmanager-rpc-data, switch: [flink.taskmanagerRpcData.enabled], scope: deployment, suffix: "-taskmanager-rpc-data", type: ingress, notes: taskmanagerRpcData, dials: [taskmanagerRpc, taskmanagerData]}
- {id: flink-jobmanager-monitoring, switch: [flink.metrics.enabled], scope: deployment, suffix: "-jobmanager-monitoring", type: ingress, notes: metrics}
- {id: flink-egress, switch: [flink.egress.enabled], scope: deployment, suffix: "-egress", type: egress, notes: egress}
- {id: flink-taskmanager-monitoring, switch: [flink.metrics.enabled, flink.metrics.taskmanagers], scope: deployment, suffix: "-taskmanager-monitoring", type: ingress, notes: "taskmanager metrics"}
- {id: deny-all-ingress, switch: [denyAllIngress.enabled], scope: namespace, values: denyAllIngress, type: ingress}
{{- end }}

{{/*
Makes the group table available as $._epnp.groups (by id) and $._epnp.groupList (in
table order), each group completed with `on` and, for scope one and namespace, its
`name`, `nameKey` (the value that names it) and, for scope one, `namespace`. Computed
once per render: every template shares the top-level context. Every template starts here, so
this is also where the values are checked (epnp.checkShapes) and their null defaults filled
(epnp.resolveDefaults), once, before anything reads them.
Usage: {{ include "epnp.withGroups" $ }}{{ $g := index $._epnp.groups "flink-jobmanager" }}
*/}}
{{- define "epnp.withGroups" -}}
{{- if not (hasKey . "_epnp") }}{{ $_ := set . "_epnp" dict }}{{ end }}
{{- if not (hasKey ._epnp "groups") }}
{{- /* First, before any template reads a value: every value's kind, then the null defaults. */}}
{{- include "epnp.checkShapes" . }}
{{- include "epnp.resolveDefaults" . }}
{{- $byId := dict }}
{{- $list := include "epnp.groupTable" . | fromYamlArray }}
{{- range $g := $list }}
{{- $on := true }}
{{- range $p := $g.switch }}
{{- $x := $.Values }}
{{- range splitList "." $p }}{{ if kindIs "map" $x }}{{ $x = index $x . }}{{ else }}{{ $x = false }}{{ end }}{{ end }}
{{- if not $x }}{{ $on = false }}{{ end }}
{{- end }}
{{- $_ := set $g "on" $on }}
{{- $suffix := $g.suffix | default "" }}
{{- if $g.of }}
{{- $o := index $byId $g.of }}
{{- $_ := set $g "name" (print $o.name $suffix) }}
{{- $_ := set $g "nameKey" $o.nameKey }}
{{- $_ := set $g "namespace" $o.namespace }}
{{- else if $g.values }}
{{- $b := $.Values }}
{{- range splitList "." $g.values }}{{ $b = index $b . }}{{ end }}
{{- $name := $b.policyName | default "" }}
{{- if and (not $name) $g.defaultName }}{{ $name = ternary $g.defaultName (printf "%s-%s" $b.name $g.defaultName) (empty $b.name) }}{{ end }}
{{- $_ := set $g "name" (print $name $suffix) }}
{{- $_ := set $g "nameKey" (printf "%s.policyName" $g.values) }}
{{- $_ := set $g "namespace" ($b.namespace | default $.Release.Namespace) }}
{{- end }}
{{- $_ := set $byId $g.id $g }}
{{- end }}
{{- $_ := set ._epnp "groups" $byId }}
{{- $_ := set ._epnp "groupList" $list }}
{{- end }}
{{- end }}

{{/*
Namespaces that get the deny-all policy: the listed ones, else every namespace an
enabled ingress group lives in (the page: apply it "in the relevant namespace(s)").
Usage: {{ include "epnp.denyAllNamespaces" $ | fromYamlArray }}
*/}}
{{- define "epnp.denyAllNamespaces" -}}
{{- $nss := .Values.denyAllIngress.namespaces | default (list) }}
{{- if empty $nss }}
{{- include "epnp.withGroups" $ }}
{{- $deployments := false }}
{{- range $g := $._epnp.groupList }}
{{- if and $g.on (eq $g.type "ingress") }}
{{- if eq $g.scope "one" }}{{ $nss = append $nss $g.namespace }}{{ end }}
{{- if eq $g.scope "deployment" }}{{ $deployments = true }}{{ end }}
{{- end }}
{{- end }}
{{- if $deployments }}
{{- include "epnp.withFlinkDeployments" $ }}
{{- $seen := dict }}{{ range $nss }}{{ $_ := set $seen . true }}{{ end }}
{{- range $d := $._epnp.flinkDeployments }}{{ if not (hasKey $seen $d.namespace) }}{{ $_ := set $seen $d.namespace true }}{{ $nss = append $nss $d.namespace }}{{ end }}{{ end }}
{{- end }}
{{- if empty $nss }}{{ $nss = list .Release.Namespace }}{{ end }}
{{- end }}
{{- toYaml (uniq $nss) }}
{{- end }}
