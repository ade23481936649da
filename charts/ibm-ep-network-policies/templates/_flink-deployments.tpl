{{/*
The Flink deployment model. Templates loop over plain data computed here once per
render, because every `include` inside a per-deployment loop costs more than the
rest of the loop (see `make bench`, 1 to 1000 deployments): no `include` runs per
deployment here except on a failing path or for a namespace pair not seen before.
*/}}

{{/*
The FlinkDeployments, each completed with its namespace, pod labels (all pods,
jobmanager, taskmanager, as maps and as YAML text), ports and `peers`, stored as
.cache.flinkDeployments (a map keyed by zero-padded position, so it ranges in list
order; appending to a list in a loop copies it each time). An entry without
podSelector gets the labels IBM's Flink operator puts on the pods of a
FlinkDeployment of that name (epnp.defaultsTable's flink.deployments[].podSelector, `<name>`
replaced: values.yaml's default entry has none); an entry's ports override flink.ports.
`peers` holds the peer elements (YAML text) of the groups that are on:
  operator    the Flink operator, in this deployment's jobmanager policy
  epInstance  the EP instance, in its stream-authoring policy
  jobmanagerForOperator, jobmanagerForEpInstance
              this deployment's jobmanager, in the operator's / EP instance's egress policy
  pods        this deployment's pods, in its own egress policy
Usage: {{ include "epnp.computeFlinkDeployments" (dict "root" $ "cache" $._epnp) }} (through epnp.withFlinkDeployments)
*/}}
{{- define "epnp.computeFlinkDeployments" -}}
{{- $v := .root.Values }}
{{- $f := $v.flink }}
{{- $_ := include "epnp.withGroups" .root }}
{{- $on := dict }}{{ range $g := .root._epnp.groupList }}{{ $_ := set $on $g.id $g.on }}{{ end }}
{{- $componentYaml := dict }}
{{- range $c := list "jobmanager" "taskmanager" }}
{{- include "epnp.checkLabels" (dict "labels" (index $f.componentLabels $c) "key" (printf "flink.componentLabels.%s" $c)) }}
{{- $_ := set $componentYaml $c (toYaml (index $f.componentLabels $c)) }}
{{- end }}
{{- range $k, $p := $f.ports }}{{ include "epnp.checkPort" (dict "port" $p "key" (printf "flink.ports.%s" $k)) }}{{ end }}
{{- /* The peers' other ends, once: the Flink operator and the EP instance. */}}
{{- $opNs := $f.operator.namespace | default .root.Release.Namespace }}
{{- $epNs := $v.eventProcessing.instance.namespace | default .root.Release.Namespace }}
{{- $opLabels := "" }}
{{- if index $on "flink-jobmanager" }}
{{- include "epnp.checkLabels" (dict "labels" $f.operator.podSelector "key" "flink.operator.podSelector") }}
{{- $opLabels = toYaml $f.operator.podSelector | indent 6 }}
{{- end }}
{{- $epLabels := "" }}
{{- if index $on "flink-jobmanager-stream-authoring" }}
{{- $ep := include "epnp.epInstanceLabels" .root | fromYaml }}
{{- include "epnp.checkLabels" (dict "labels" $ep "key" "eventProcessing.instance.podSelector") }}
{{- $epLabels = toYaml $ep | indent 6 }}
{{- end }}
{{- $jmForOp := index $on "flink-operator-egress" }}
{{- $jmForEp := and (index $on "ep-instance-egress") $v.eventProcessing.instance.egress.flink.enabled }}
{{- $pods := index $on "flink-egress" }}
{{- /* epnp.peerHead runs once per namespace pair: the incoming peers (operator, EP instance) are
       kept whole per deployment namespace, the outgoing heads per pair. */}}
{{- $opPeer := dict }}
{{- $epPeer := dict }}
{{- $heads := dict }}
{{- $out := dict }}
{{- $seen := dict }}
{{- $nsChecked := dict }}
{{- $defaultLabels := .root._epnp.flinkDeploymentLabels }}
{{- include "epnp.withPatterns" .root }}
{{- $pat := .root._epnp.patterns }}
{{- range $i, $d := $f.deployments }}
{{- if not (kindIs "map" $d) }}{{ fail (printf "flink.deployments[%d]: must be a map with name (and namespace, podSelector, ports)" $i) }}{{ end }}
{{- if not (and (kindIs "string" $d.name) $d.name) }}{{ fail (printf "flink.deployments[%d].name: is required (a string)" $i) }}{{ end }}
{{- if not (or (kindIs "invalid" $d.namespace) (kindIs "string" $d.namespace)) }}{{ fail (printf "flink.deployments[%d].namespace: must be a string" $i) }}{{ end }}
{{- /* API server rules (decision api-server-rules), without an include unless failing: the name
       prefixes policy names and, in the default selector, is a label value: a DNS label. */}}
{{- if not (and (le (len $d.name) 63) (regexMatch $pat.dnsLabel $d.name)) }}{{ fail (printf "flink.deployments[%d].name: %q is not a FlinkDeployment name (a DNS label: at most 63 lowercase alphanumerics or '-', alphanumeric at both ends): the API server refuses the policies named after it" $i $d.name) }}{{ end }}
{{- /* A namespace is matched once per render (sprig compiles the pattern on every call). */}}
{{- if and $d.namespace (not (hasKey $nsChecked $d.namespace)) }}
{{- if not (and (le (len $d.namespace) 63) (regexMatch $pat.dnsLabel $d.namespace)) }}{{ include "epnp.checkNamespace" (dict "namespace" $d.namespace "key" (printf "flink.deployments[%d].namespace" $i) "p" $pat) }}{{ end }}
{{- $_ := set $nsChecked $d.namespace true }}
{{- end }}
{{- $ns := $d.namespace | default $.root.Release.Namespace }}
{{- $id := printf "%s/%s" $ns $d.name }}
{{- if hasKey $seen $id }}{{ fail (printf "flink.deployments[%d].name: %q is listed twice in namespace %s; policy names would collide" $i $d.name $ns) }}{{ end }}
{{- $_ := set $seen $id true }}
{{- $labels := $d.podSelector }}
{{- if kindIs "invalid" $labels }}
{{- $labels = dict }}{{ range $k, $l := $defaultLabels }}{{ $_ := set $labels $k (ternary $d.name $l (eq $l "<name>")) }}{{ end }}
{{- else }}
{{- /* Only a map the user gave needs the check (no include per deployment on the defaults' path). */}}
{{- include "epnp.checkLabels" (dict "labels" $labels "key" (printf "flink.deployments[%d].podSelector" $i)) }}
{{- end }}
{{- $ports := $f.ports }}
{{- if not (or (kindIs "invalid" $d.ports) (kindIs "map" $d.ports)) }}{{ fail (printf "flink.deployments[%d].ports: must be a map of port names to numbers" $i) }}{{ end }}
{{- with $d.ports }}
{{- range $k, $p := . }}{{ include "epnp.checkPort" (dict "port" $p "key" (printf "flink.deployments[%d].ports.%s" $i $k)) }}{{ end }}
{{- $ports = merge (deepCopy .) $f.ports }}
{{- end }}
{{- /* Each selector also as YAML text, serialised once here rather than in every template; a
       component's text is the deployment's plus the component's own, unless their keys overlap. */}}
{{- $yaml := dict "podSelector" (toYaml $labels) }}
{{- $sel := dict "podSelector" $labels }}
{{- range $c := list "jobmanager" "taskmanager" }}
{{- $own := index $f.componentLabels $c }}
{{- $_ := set $sel $c (merge (deepCopy $own) $labels) }}
{{- $overlap := false }}
{{- range $k, $_ := $own }}{{ if hasKey $labels $k }}{{ $overlap = true }}{{ end }}{{ end }}
{{- if not $overlap }}
{{- $_ := set $yaml $c (printf "%s\n%s" $yaml.podSelector (index $componentYaml $c)) }}
{{- else }}
{{- $_ := set $yaml $c (toYaml (index $sel $c)) }}
{{- end }}
{{- end }}
{{- $peers := dict }}
{{- if $opLabels }}
{{- if not (hasKey $opPeer $ns) }}{{ $_ := set $opPeer $ns (printf "%s\n%s" (include "epnp.peerHead" (dict "from" $opNs "to" $ns)) $opLabels) }}{{ end }}
{{- $_ := set $peers "operator" (index $opPeer $ns) }}
{{- end }}
{{- if $epLabels }}
{{- if not (hasKey $epPeer $ns) }}{{ $_ := set $epPeer $ns (printf "%s\n%s" (include "epnp.peerHead" (dict "from" $epNs "to" $ns)) $epLabels) }}{{ end }}
{{- $_ := set $peers "epInstance" (index $epPeer $ns) }}
{{- end }}
{{- if or $jmForOp $jmForEp $pods }}
{{- range $to := list $opNs $epNs $ns }}{{ $k := printf "%s>%s" $ns $to }}{{ if not (hasKey $heads $k) }}{{ $_ := set $heads $k (include "epnp.peerHead" (dict "from" $ns "to" $to)) }}{{ end }}{{ end }}
{{- $jm := indent 6 $yaml.jobmanager }}
{{- if $jmForOp }}{{ $_ := set $peers "jobmanagerForOperator" (printf "%s\n%s" (index $heads (printf "%s>%s" $ns $opNs)) $jm) }}{{ end }}
{{- if $jmForEp }}{{ $_ := set $peers "jobmanagerForEpInstance" (printf "%s\n%s" (index $heads (printf "%s>%s" $ns $epNs)) $jm) }}{{ end }}
{{- if $pods }}{{ $_ := set $peers "pods" (printf "%s\n%s" (index $heads (printf "%s>%s" $ns $ns)) (indent 6 $yaml.podSelector)) }}{{ end }}
{{- end }}
{{- $_ := set $out (printf "%06d" $i) (dict "name" $d.name "index" $i "namespace" $ns "ports" $ports
      "podSelector" $labels "jobmanager" $sel.jobmanager "taskmanager" $sel.taskmanager "yaml" $yaml "peers" $peers) }}
{{- end }}
{{- $_ := set .cache "flinkDeployments" $out }}
{{- end }}

{{/*
Makes $._epnp.flinkDeployments available, computing it once per render: every
template of a chart shares the top-level context, so the first template to ask
stores the model there and the others loop over it with no YAML round trip.
Usage: {{ include "epnp.withFlinkDeployments" $ }}{{ range $d := $._epnp.flinkDeployments }}...{{ end }}
*/}}
{{- define "epnp.withFlinkDeployments" -}}
{{- if not (hasKey . "_epnp") }}{{ $_ := set . "_epnp" dict }}{{ end }}
{{- if not (hasKey ._epnp "flinkDeployments") }}
{{- $_ := include "epnp.computeFlinkDeployments" (dict "root" . "cache" ._epnp) }}
{{- end }}
{{- end }}
