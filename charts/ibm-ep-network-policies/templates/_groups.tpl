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
The namespaces deny-all isolates (decision deny-all-namespaces), computed once per render as
$._epnp.denyAll: a list of {namespace, keys} in order, `keys` being the values that put it there.
They are every namespace an enabled ingress policy lives in, plus denyAllIngress.namespaces, minus
denyAllIngress.exceptNamespaces. A namespace the chart does not own fails the render, naming it and
its keys, unless acknowledge.denyAllNamespaces lists it (decision deny-all-stays-home): an operator's
namespace that is neither the EP instance's nor a Flink deployment's (OLM puts operators in a shared
one), the cluster's own (kube-system, kube-public, kube-node-lease, default, openshift, openshift-*),
the cluster DNS namespace, and a listed namespace where the chart renders no allow policy.
Usage: {{ include "epnp.withDenyAll" $ }}{{ range $._epnp.denyAll }}{{ .namespace }}{{ end }}
*/}}
{{- define "epnp.withDenyAll" -}}
{{- include "epnp.withGroups" . }}
{{- if not (hasKey ._epnp "denyAll") }}
{{- $v := .Values }}
{{- $keys := dict }}
{{- $order := list }}
{{- $home := dict }}
{{- $deployments := false }}
{{- range $g := $._epnp.groupList }}
{{- if and $g.on (eq $g.type "ingress") (eq $g.scope "one") }}
{{- $k := printf "%s.namespace" $g.values }}
{{- if not (hasKey $keys $g.namespace) }}{{ $order = append $order $g.namespace }}{{ $_ := set $keys $g.namespace list }}{{ end }}
{{- $_ := set $keys $g.namespace (append (index $keys $g.namespace) $k) }}
{{- $_ := set $home $g.namespace true }}
{{- end }}
{{- if and $g.on (eq $g.type "ingress") (eq $g.scope "deployment") }}{{ $deployments = true }}{{ end }}
{{- end }}
{{- include "epnp.withFlinkDeployments" $ }}
{{- if $deployments }}
{{- /* Once per deployment, naming only the first deployment of each namespace (no list grows with them). */}}
{{- $flinkSeen := dict }}
{{- range $d := $._epnp.flinkDeployments }}
{{- if not (hasKey $flinkSeen $d.namespace) }}
{{- $_ := set $flinkSeen $d.namespace true }}
{{- if not (hasKey $keys $d.namespace) }}{{ $order = append $order $d.namespace }}{{ $_ := set $keys $d.namespace list }}{{ end }}
{{- $_ := set $keys $d.namespace (append (index $keys $d.namespace) (printf "flink.deployments[%d].namespace" (int $d.index))) }}
{{- $_ := set $home $d.namespace true }}
{{- end }}
{{- end }}
{{- end }}
{{- /* What the chart owns: where the product's own pods run. */}}
{{- $instanceNs := default $.Release.Namespace $v.eventProcessing.instance.namespace }}
{{- $owned := dict $instanceNs true }}
{{- range $d := $._epnp.flinkDeployments }}{{ $_ := set $owned $d.namespace true }}{{ end }}
{{- if empty $order }}
{{- /* Every ingress group off (acknowledged in validate.yaml): where the product's pods run. */}}
{{- $order = list $instanceNs }}{{ $_ := set $keys $instanceNs (list "eventProcessing.instance.namespace") }}{{ $_ := set $home $instanceNs true }}
{{- range $d := $._epnp.flinkDeployments }}
{{- if not (hasKey $keys $d.namespace) }}{{ $order = append $order $d.namespace }}{{ $_ := set $keys $d.namespace (list (printf "flink.deployments[%d].namespace" (int $d.index))) }}{{ $_ := set $home $d.namespace true }}{{ end }}
{{- end }}
{{- end }}
{{- range $i, $ns := $v.denyAllIngress.namespaces }}
{{- if not (hasKey $keys $ns) }}{{ $order = append $order $ns }}{{ $_ := set $keys $ns list }}{{ end }}
{{- $_ := set $keys $ns (append (index $keys $ns) (printf "denyAllIngress.namespaces[%d]" $i)) }}
{{- end }}
{{- $system := list "kube-system" "kube-public" "kube-node-lease" "default" "openshift" }}
{{- $out := list }}
{{- $refused := list }}
{{- range $ns := $order }}
{{- if not (has $ns $v.denyAllIngress.exceptNamespaces) }}
{{- $why := list }}
{{- if or (has $ns $system) (hasPrefix "openshift-" $ns) }}{{ $why = append $why "a namespace of the cluster's own, whose pods lose their ingress" }}
{{- else if eq $ns $v.cluster.dns.namespace }}{{ $why = append $why "the cluster DNS namespace (cluster.dns.namespace), so DNS loses its ingress" }}
{{- end }}
{{- if not (hasKey $home $ns) }}{{ $why = append $why "none of this chart's allow policies lives there, so every pod there loses its ingress" }}
{{- else if not (hasKey $owned $ns) }}{{ $why = append $why "an operator's namespace that is neither the EP instance's nor a Flink deployment's, so other software installed there (OLM puts operators in one shared namespace) loses its ingress" }}
{{- end }}
{{- if and $why (not (has $ns $v.acknowledge.denyAllNamespaces)) }}
{{- $refused = append $refused (printf "namespace %q (%s): %s" $ns (join ", " (index $keys $ns)) (join "; " $why)) }}
{{- end }}
{{- $out = append $out (dict "namespace" $ns "keys" (index $keys $ns) "acknowledged" (not (empty $why))) }}
{{- end }}
{{- end }}
{{- if and (index $._epnp.groups "deny-all-ingress").on $refused }}
{{- fail (printf "denyAllIngress.enabled: deny-all would isolate %s. To isolate it anyway, list it in acknowledge.denyAllNamespaces; to leave it alone, list it in denyAllIngress.exceptNamespaces" (join "; and " $refused)) }}
{{- end }}
{{- $_ := set ._epnp "denyAll" $out }}
{{- end }}
{{- end }}

{{/*
The names of the namespaces deny-all isolates, as a YAML list (see epnp.withDenyAll).
Usage: {{ include "epnp.denyAllNamespaces" $ | fromYamlArray }}
*/}}
{{- define "epnp.denyAllNamespaces" -}}
{{- include "epnp.withDenyAll" . }}
{{- $nss := list }}
{{- range ._epnp.denyAll }}{{ $nss = append $nss .namespace }}{{ end }}
{{- toYaml $nss }}
{{- end }}

{{/*
The switches of the product groups that are off although their pods live in a namespace deny-all
isolates, as a YAML list of switch lists: deny-all cuts those pods off. A product group whose pods
live elsewhere (a second release for a second EP instance, with the operators' policies in the first)
is no loss here.
Usage: {{ include "epnp.productPoliciesOffUnderDenyAll" $ | fromYamlArray }}
*/}}
{{- define "epnp.productPoliciesOffUnderDenyAll" -}}
{{- include "epnp.withDenyAll" . }}
{{- $isolated := dict }}{{ range ._epnp.denyAll }}{{ $_ := set $isolated .namespace true }}{{ end }}
{{- $flink := false }}
{{- range $d := ._epnp.flinkDeployments }}{{ if hasKey $isolated $d.namespace }}{{ $flink = true }}{{ end }}{{ end }}
{{- $off := list }}
{{- range $g := ._epnp.groupList }}
{{- if and $g.product (not $g.on) }}
{{- if or (and (eq $g.scope "one") (hasKey $isolated $g.namespace)) (and (eq $g.scope "deployment") $flink) }}{{ $off = append $off $g.switch }}{{ end }}
{{- end }}
{{- end }}
{{- toYaml $off }}
{{- end }}
