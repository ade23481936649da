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
app.kubernetes.io/instance: {{ .root.Release.Name | quote }}
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
  name: {{ .name | quote }}
  namespace: {{ .namespace | quote }}
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
A port entry; fails outside 1-65535 so a bad value can't become "all ports".
Call with (dict "port" P "key" "path.in.values"), optionally "protocol" (TCP) and
"endPort" (with its own "endKey").
*/}}
{{- define "epnp.port" -}}
{{- include "epnp.checkPort" . -}}
- protocol: {{ .protocol | default "TCP" }}
  port: {{ int64 .port }}
{{- if not (kindIs "invalid" .endPort) }}
{{- include "epnp.checkPort" (dict "port" .endPort "key" .endKey) }}
{{- if lt (int64 .endPort) (int64 .port) }}{{ fail (printf "%s: must not be below the port it ends (%v)" .endKey .port) }}{{ end }}
  endPort: {{ int64 .endPort }}
{{- end }}
{{- end }}

{{- define "epnp.checkPort" -}}
{{- $p := .port }}
{{- if not (and (or (kindIs "int" $p) (kindIs "int64" $p) (kindIs "float64" $p)) (ge (int64 $p) 1) (le (int64 $p) 65535) (eq (float64 (int64 $p)) (float64 $p))) }}
{{- fail (printf "%s: must be a TCP port number between 1 and 65535, got %v" .key $p) }}
{{- end }}
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
      kubernetes.io/metadata.name: {{ .from | quote }}
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
The FlinkDeployments, each completed with its namespace, pod labels (all pods,
jobmanager, taskmanager) and ports, as a YAML list: templates call this once and
loop over plain data, because every `include` inside a loop costs more than the
rest of the loop (see `make bench`). An entry without podSelector gets the labels
IBM's Flink operator puts on the pods of a FlinkDeployment of that name (the page's
labels for `ibm-eventautomation-flink`); an entry's ports override flink.ports.
*/}}
{{- define "epnp.computeFlinkDeployments" -}}
{{- $f := .root.Values.flink }}
{{- $componentYaml := dict }}
{{- range $c := list "jobmanager" "taskmanager" }}
{{- $_ := include "epnp.matchLabels" (dict "labels" (index $f.componentLabels $c) "key" (printf "flink.componentLabels.%s" $c)) }}
{{- $_ := set $componentYaml $c (toYaml (index $f.componentLabels $c)) }}
{{- end }}
{{- range $k, $v := $f.ports }}{{ include "epnp.checkPort" (dict "port" $v "key" (printf "flink.ports.%s" $k)) }}{{ end }}
{{- /* A map keyed by zero-padded position, ranged in key order: appending to a list copies it each time (quadratic). */}}
{{- $out := dict }}
{{- $seen := dict }}
{{- range $i, $d := $f.deployments }}
{{- if not $d.name }}{{ fail (printf "flink.deployments[%d].name: is required" $i) }}{{ end }}
{{- $ns := $d.namespace | default $.root.Release.Namespace }}
{{- $id := printf "%s/%s" $ns $d.name }}
{{- if hasKey $seen $id }}{{ fail (printf "flink.deployments[%d].name: %q is listed twice in namespace %s; policy names would collide" $i $d.name $ns) }}{{ end }}
{{- $_ := set $seen $id true }}
{{- $labels := $d.podSelector | default (dict "app.kubernetes.io/instance" $d.name "app.kubernetes.io/managed-by" "ibm-eventautomation-flink-operator" "app.kubernetes.io/name" "ibm-eventautomation-flink") }}
{{- $ports := $f.ports }}
{{- with $d.ports }}
{{- range $k, $v := . }}{{ include "epnp.checkPort" (dict "port" $v "key" (printf "flink.deployments[%d].ports.%s" $i $k)) }}{{ end }}
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
{{- $_ := set $out (printf "%06d" $i) (dict "name" $d.name "index" $i "namespace" $ns "ports" $ports
      "podSelector" $labels "jobmanager" $sel.jobmanager "taskmanager" $sel.taskmanager "yaml" $yaml) }}
{{- end }}
{{- $_ := set $.cache "flinkDeployments" $out }}
{{- end }}

{{/*
Makes $._epnp.flinkDeployments available, computing it once per render: every
template of a chart shares the top-level context, so the first template to ask
stores the list there and the others loop over it with no YAML round trip.
*/}}
{{- define "epnp.withFlinkDeployments" -}}
{{- if not (hasKey . "_epnp") }}{{ $_ := set . "_epnp" dict }}{{ end }}
{{- if not (hasKey ._epnp "flinkDeployments") }}
{{- $_ := include "epnp.computeFlinkDeployments" (dict "root" . "cache" ._epnp) }}
{{- end }}
{{- end }}

{{/* The standard labels block of one component, indented for `metadata.labels`. */}}
{{- define "epnp.labelsBlock" -}}
{{ include "epnp.labels" . | indent 4 }}
{{- end }}

{{/*
Peers a source value stands for, as a YAML list; an empty list means anywhere (a rule
without `from`). `auto` is anywhere, or the OpenShift variant on OpenShift.
Call with (dict "root" $ "from" V "openshift" VARIANT "cidrs" L "key" K).
*/}}
{{- define "epnp.source" -}}
{{- if eq .from "auto" }}{{ ternary .openshift "anywhere" (eq .root.Values.platform "openshift") }}{{ else }}{{ .from }}{{ end }}
{{- end }}

{{- define "epnp.sourcePeers" -}}
{{- $from := include "epnp.source" . }}
{{- if eq $from "anywhere" }}[]
{{- else if eq $from "hostNetwork" }}
- namespaceSelector:
    matchLabels:
      policy-group.network.openshift.io/host-network: ""
{{- else if eq $from "router" }}
- namespaceSelector:
    matchLabels:
      policy-group.network.openshift.io/ingress: ""
{{- else if eq $from "cidrs" }}
{{- if empty .cidrs }}{{ fail (printf "%sCIDRs: must list the API server's addresses when %s is cidrs" (trimSuffix "From" .key) .key) }}{{ end }}
{{- range .cidrs }}
- ipBlock:
    cidr: {{ . | quote }}
{{- end }}
{{- else }}
{{- fail (printf "%s: unknown source %q" .key .from) }}
{{- end }}
{{- end }}

{{/*
User-supplied rules (extraIngress/extraEgress). The schema checks them as
NetworkPolicy rules; the guard repeats the part that matters most: a rule must name
its peers and its ports, since a rule missing either admits everything.
Call with (dict "rules" L "peers" "from"|"to" "key" K).
*/}}
{{- define "epnp.extraRules" -}}
{{- range $i, $r := .rules }}
{{- $at := printf "%s[%d]" $.key $i }}
{{- if not (and (kindIs "map" $r) (get $r $.peers) $r.ports) }}
{{- fail (printf "%s: a rule needs both %q and \"ports\" (without either it admits everything)" $at $.peers) }}
{{- end }}
{{- range $j, $peer := get $r $.peers }}
{{- $pat := printf "%s.%s[%d]" $at $.peers $j }}
{{- if not (kindIs "map" $peer) }}{{ fail (printf "%s: must be a peer (ipBlock, namespaceSelector, podSelector)" $pat) }}{{ end }}
{{- if empty $peer }}{{ fail (printf "%s: an empty peer admits every pod of every namespace" $pat) }}{{ end }}
{{- range $sel := list "podSelector" "namespaceSelector" }}
{{- if hasKey $peer $sel }}
{{- $s := get $peer $sel }}
{{- if not (and (kindIs "map" $s) (or (not (empty $s.matchLabels)) (not (empty $s.matchExpressions)))) }}{{ fail (printf "%s.%s: an empty selector selects everything" $pat $sel) }}{{ end }}
{{- end }}
{{- end }}
{{- if and (hasKey $peer "ipBlock") (or (hasKey $peer "podSelector") (hasKey $peer "namespaceSelector")) }}{{ fail (printf "%s: ipBlock cannot be combined with selectors" $pat) }}{{ end }}
{{- end }}
{{- range $j, $port := $r.ports }}
{{- $pat := printf "%s.ports[%d]" $at $j }}
{{- if not (and (kindIs "map" $port) (hasKey $port "port")) }}{{ fail (printf "%s: needs a port (a port entry without one admits every port)" $pat) }}{{ end }}
{{- if not (kindIs "string" $port.port) }}{{ include "epnp.checkPort" (dict "port" $port.port "key" (printf "%s.port" $pat)) }}{{ end }}
{{- end }}
{{- end }}
{{- with .rules }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
Egress rules every restricted group gets unless turned off: cluster DNS and the API server.
Call with (dict "root" $ "allow" allowRules "from" NS "key" K).
*/}}
{{- define "epnp.egressAllowRules" -}}
{{- $v := .root.Values }}
{{- $os := eq $v.platform "openshift" }}
{{- if .allow.dns }}
{{- $dns := $v.cluster.dns }}
{{- $ns := $dns.namespace | default (ternary "openshift-dns" "kube-system" $os) }}
{{- $pods := $dns.podSelector | default (ternary (dict "dns.operator.openshift.io/daemonset-dns" "default") (dict "k8s-app" "kube-dns") $os) }}
{{- $ports := $dns.ports | default (ternary (list 53 5353) (list 53) $os) }}
# {{ .who }} --> cluster DNS
- to:
    {{- include "epnp.podPeer" (dict "labels" $pods "key" "cluster.dns.podSelector" "from" $ns "to" "") | nindent 4 }}
  ports:
    {{- range $p := $ports }}
    {{- include "epnp.port" (dict "port" $p "key" "cluster.dns.ports") | nindent 4 }}
    {{- include "epnp.port" (dict "port" $p "key" "cluster.dns.ports" "protocol" "UDP") | nindent 4 }}
    {{- end }}
{{- else if not $v.acknowledge.egressWithoutDns }}
{{- fail (printf "%s.allowRules.dns: is off, so these pods cannot resolve names; set acknowledge.egressWithoutDns=true if that is intended" .key) }}
{{- end }}
{{- if .allow.kubernetesApi }}
{{- $api := $v.cluster.kubernetesApi }}
{{- if empty $api.ports }}{{ fail "cluster.kubernetesApi.ports: must list at least one port (a rule without ports or peers allows all egress)" }}{{ end }}
# {{ .who }} --> Kubernetes API server
- ports:
    {{- range $api.ports }}
    {{- include "epnp.port" (dict "port" . "key" "cluster.kubernetesApi.ports") | nindent 4 }}
    {{- end }}
  {{- with $api.cidrs }}
  to:
    {{- range . }}
    - ipBlock:
        cidr: {{ . | quote }}
    {{- end }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Kafka destinations ({cidr} or {namespace, podSelector}) as egress peers. */}}
{{- define "epnp.destinations" -}}
{{- range $i, $t := .to }}
{{- if and $t.cidr (or $t.namespace $t.podSelector) }}{{ fail (printf "%s[%d]: cidr cannot be combined with namespace or podSelector" $.key $i) }}{{ end }}
{{- if and $t.except (not $t.cidr) }}{{ fail (printf "%s[%d]: except needs a cidr" $.key $i) }}{{ end }}
{{- if $t.cidr }}
- ipBlock:
    cidr: {{ $t.cidr | quote }}
    {{- with $t.except }}
    except: {{ toYaml . | nindent 6 }}
    {{- end }}
{{- else if or $t.namespace $t.podSelector }}
- {{- with $t.namespace }}
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ . | quote }}
  {{- end }}
  {{- with $t.podSelector }}
  podSelector:
    {{- include "epnp.matchLabels" (dict "labels" . "key" (printf "%s[%d].podSelector" $.key $i)) | nindent 4 }}
  {{- end }}
{{- else }}
{{- fail (printf "%s[%d]: needs cidr, or namespace and/or podSelector" $.key $i) }}
{{- end }}
{{- end }}
{{- end }}


{{/*
Namespaces that get the deny-all policy: the listed ones, else every namespace an
enabled policy lives in (the page: apply it "in the relevant namespace(s)").
*/}}
{{- define "epnp.denyAllNamespaces" -}}
{{- $v := .Values }}
{{- $nss := $v.denyAllIngress.namespaces | default (list) }}
{{- if empty $nss }}
{{- if $v.deployOperatorNetworkPolicy }}{{ $nss = append $nss (include "epnp.namespace" (dict "ns" $v.eventProcessing.operator.namespace "root" $)) }}{{ end }}
{{- if $v.deployNetworkPolicies }}{{ $nss = append $nss (include "epnp.namespace" (dict "ns" $v.eventProcessing.instance.namespace "root" $)) }}{{ end }}
{{- if $v.flink.operator.enabled }}{{ $nss = append $nss (include "epnp.namespace" (dict "ns" $v.flink.operator.namespace "root" $)) }}{{ end }}
{{- if or $v.flink.jobmanager.enabled $v.flink.jobmanagerRpcBlob.enabled $v.flink.jobmanagerStreamAuthoring.enabled $v.flink.taskmanager.enabled $v.flink.taskmanagerRpcData.enabled $v.flink.metrics.enabled }}
{{- include "epnp.withFlinkDeployments" $ }}
{{- $seen := dict }}{{ range $nss }}{{ $_ := set $seen . true }}{{ end }}
{{- range $d := $._epnp.flinkDeployments }}{{ if not (hasKey $seen $d.namespace) }}{{ $_ := set $seen $d.namespace true }}{{ $nss = append $nss $d.namespace }}{{ end }}{{ end }}
{{- end }}
{{- if empty $nss }}{{ $nss = list .Release.Namespace }}{{ end }}
{{- end }}
{{- toYaml (uniq $nss) }}
{{- end }}

{{/* The EP instance policy's name: the value, else ibm-ep or <name>-ibm-ep. */}}
{{- define "epnp.epInstancePolicyName" -}}
{{- $i := .Values.eventProcessing.instance }}
{{- $i.policyName | default (ternary "ibm-ep" (printf "%s-ibm-ep" $i.name) (empty $i.name)) }}
{{- end }}

{{/*
An egress policy for one group: the named allow rules, the group's own rules
(`rules`, YAML text) and the user's extraEgress. Call with (dict "root" $ "name" N
"namespace" NS "component" C "labels" M "labelsKey" K "egress" <group>.egress
"key" "<group>.egress" "who" "<group>" "rules" TEXT).
*/}}
{{- define "epnp.egressPolicy" -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
{{ include "epnp.metadata" . }}
spec:
  podSelector:
    {{- include "epnp.matchLabels" (dict "labels" .labels "key" .labelsKey) | nindent 4 }}
  egress:
    {{- with include "epnp.egressAllowRules" (dict "root" .root "allow" .egress.allowRules "key" .key "who" .who) | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with .rules | default "" | trim }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with include "epnp.extraRules" (dict "rules" .egress.extraEgress "peers" "to" "key" (printf "%s.extraEgress" .key)) }}
    # {{ $.key }}.extraEgress
    {{- . | nindent 4 }}
    {{- end }}
  policyTypes:
    - Egress
{{- end }}

{{/* An egress rule to Kafka, when ports are given. Call with (dict "kafka" K "key" K "who" W). */}}
{{- define "epnp.kafkaRule" -}}
{{- with .kafka.ports }}
# {{ $.who }} --> Kafka
- ports:
    {{- range . }}
    {{- include "epnp.port" (dict "port" . "key" (printf "%s.ports" $.key)) | nindent 4 }}
    {{- end }}
  {{- with include "epnp.destinations" (dict "to" $.kafka.to "key" (printf "%s.to" $.key)) }}
  to:
    {{- . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}
