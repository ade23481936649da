{{/*
Helpers shared by every policy template. The schema already rejects bad values;
these guards repeat the checks that keep a policy from widening, so a render with
--skip-schema-validation still cannot open more than its group documents.
*/}}

{{- define "epnp.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels; call with (dict "root" $ "component" "<group>"). */}}
{{- define "epnp.labels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: ibm-event-processing
helm.sh/chart: {{ include "epnp.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Object metadata; call with (dict "root" $ "name" N "namespace" NS "component" C). */}}
{{- define "epnp.metadata" -}}
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  labels:
    {{- include "epnp.labels" . | nindent 4 }}
{{- end }}

{{/* The namespace a group lives in: its own value, else the release namespace. */}}
{{- define "epnp.namespace" -}}
{{ .ns | default .root.Release.Namespace }}
{{- end }}

{{/*
A label map for a selector; fails on an empty one, because an empty podSelector
selects every pod (as a target or as a peer). Call with (dict "labels" M "key" "path.in.values").
*/}}
{{- define "epnp.matchLabels" -}}
{{- if or (not (kindIs "map" .labels)) (empty .labels) }}
{{- fail (printf "%s: must be a non-empty map of pod labels (an empty selector selects every pod)" .key) }}
{{- end -}}
matchLabels:
  {{- toYaml .labels | nindent 2 }}
{{- end }}

{{/*
A TCP port entry; fails outside 1-65535 so a bad value can't become "all ports".
Call with (dict "port" P "key" "path.in.values").
*/}}
{{- define "epnp.port" -}}
{{- $p := .port }}
{{- if not (and (or (kindIs "int" $p) (kindIs "int64" $p) (kindIs "float64" $p)) (ge (int64 $p) 1) (le (int64 $p) 65535) (eq (float64 (int64 $p)) (float64 $p))) }}
{{- fail (printf "%s: must be a TCP port number between 1 and 65535, got %v" .key $p) }}
{{- end -}}
- protocol: TCP
  port: {{ int64 $p }}
{{- end }}

{{/*
A peer of pods with the given labels. When the peer's namespace differs from the
policy's, the namespaceSelector goes in the SAME element as the podSelector (AND);
a separate element (OR) would admit every pod of that namespace.
Call with (dict "labels" M "key" K "from" NS "to" NS).
*/}}
{{- define "epnp.podPeer" -}}
{{- if ne .from .to -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .from }}
  podSelector:
    {{- include "epnp.matchLabels" . | nindent 4 }}
{{- else -}}
- podSelector:
    {{- include "epnp.matchLabels" . | nindent 4 }}
{{- end }}
{{- end }}

{{/* Labels of the EP instance's pods, narrowed to one instance when its name is set. */}}
{{- define "epnp.epInstanceLabels" -}}
{{- $i := .Values.eventProcessing.instance }}
{{- $labels := deepCopy (default (dict) $i.podSelector) }}
{{- with $i.name }}{{ $_ := set $labels "app.kubernetes.io/instance" . }}{{ end }}
{{- toYaml $labels }}
{{- end }}

{{/*
The FlinkDeployments, each completed with its namespace and pod labels, as a
YAML list. An entry without podSelector gets the labels IBM's Flink operator
puts on the pods of a FlinkDeployment of that name (the page's labels for
`ibm-eventautomation-flink`).
*/}}
{{- define "epnp.flinkDeployments" -}}
{{- $out := list }}
{{- range $i, $d := .Values.flink.deployments }}
{{- if not $d.name }}{{ fail (printf "flink.deployments[%d].name: is required" $i) }}{{ end }}
{{- $ns := include "epnp.namespace" (dict "ns" $d.namespace "root" $) }}
{{- range $prev := $out }}{{ if and (eq $prev.name $d.name) (eq $prev.namespace $ns) }}{{ fail (printf "flink.deployments[%d].name: %q is listed twice in namespace %s; policy names would collide" $i $d.name $ns) }}{{ end }}{{ end }}
{{- $labels := $d.podSelector | default (dict "app.kubernetes.io/instance" $d.name "app.kubernetes.io/managed-by" "ibm-eventautomation-flink-operator" "app.kubernetes.io/name" "ibm-eventautomation-flink") }}
{{- $out = append $out (dict "name" $d.name "index" $i "namespace" $ns "podSelector" $labels) }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/* Pod labels of one component (jobmanager|taskmanager) of a deployment. */}}
{{- define "epnp.flinkComponentLabels" -}}
{{- $c := index .root.Values.flink.componentLabels .component }}
{{- if empty $c }}{{ fail (printf "flink.componentLabels.%s: must be a non-empty map of pod labels" .component) }}{{ end }}
{{- toYaml (merge (deepCopy $c) .deployment.podSelector) }}
{{- end }}

{{/*
Namespaces that get the deny-all policy: the listed ones, else every namespace an
enabled policy lives in (the page: apply it "in the relevant namespace(s)").
*/}}
{{- define "epnp.denyAllNamespaces" -}}
{{- $v := .Values }}
{{- $nss := $v.denyAllIngress.namespaces }}
{{- if empty $nss }}
{{- if $v.deployOperatorNetworkPolicy }}{{ $nss = append $nss (include "epnp.namespace" (dict "ns" $v.eventProcessing.operator.namespace "root" $)) }}{{ end }}
{{- if $v.deployNetworkPolicies }}{{ $nss = append $nss (include "epnp.namespace" (dict "ns" $v.eventProcessing.instance.namespace "root" $)) }}{{ end }}
{{- if $v.flink.operator.enabled }}{{ $nss = append $nss (include "epnp.namespace" (dict "ns" $v.flink.operator.namespace "root" $)) }}{{ end }}
{{- if or $v.flink.jobmanager.enabled $v.flink.jobmanagerRpcBlob.enabled $v.flink.jobmanagerStreamAuthoring.enabled $v.flink.taskmanager.enabled $v.flink.metrics.enabled }}
{{- range $d := include "epnp.flinkDeployments" $ | fromYamlArray }}{{ $nss = append $nss $d.namespace }}{{ end }}
{{- end }}
{{- if empty $nss }}{{ $nss = list .Release.Namespace }}{{ end }}
{{- end }}
{{- toYaml (uniq $nss) }}
{{- end }}
