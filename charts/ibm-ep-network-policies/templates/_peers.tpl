{{/*
Peers: who a rule admits (ingress) or reaches (egress).
*/}}

{{/*
The start of a peer element selecting pods, up to its podSelector's `matchLabels:`;
the labels follow on the next lines, indented by 6. When the peer's namespace
differs from the policy's, the namespaceSelector goes in the SAME element as the
podSelector (AND); a separate element (OR) would admit every pod of that namespace.
This is the one place that rule is written: epnp.podPeer and the Flink deployment
model (which makes each pair's head once) build every pod peer from it.
Usage: {{ include "epnp.peerHead" (dict "from" PEER_NAMESPACE "to" POLICY_NAMESPACE) }}
*/}}
{{- define "epnp.peerHead" -}}
{{- if ne .from .to -}}
- namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: {{ .from | quote }}
  podSelector:
    matchLabels:
{{- else -}}
- podSelector:
    matchLabels:
{{- end }}
{{- end }}

{{/*
A peer of the pods with the given labels (fails on an empty map), in namespace `from`,
for a policy in namespace `to`.
Usage: {{ include "epnp.podPeer" (dict "labels" MAP "key" "path.in.values" "from" NS "to" NS) }}
*/}}
{{- define "epnp.podPeer" -}}
{{- include "epnp.checkLabels" . -}}
{{ include "epnp.peerHead" . }}
{{ toYaml .labels | indent 6 }}
{{- end }}

{{/*
Labels of the EP instance's pods (the user's map, or the default), narrowed to one instance when
its name is set, as YAML. A selector that already names another instance fails: one of the two
values would otherwise be dropped.
Usage: {{ include "epnp.epInstanceLabels" $ | fromYaml }}
*/}}
{{- define "epnp.epInstanceLabels" -}}
{{- $i := .Values.eventProcessing.instance }}
{{- /* The user's map must stand on its own: the name narrows it, it does not make `{}` a selector. */}}
{{- include "epnp.checkLabels" (dict "labels" $i.podSelector "key" "eventProcessing.instance.podSelector") }}
{{- $labels := deepCopy $i.podSelector }}
{{- with $i.name }}
{{- $had := get $labels "app.kubernetes.io/instance" }}
{{- if and $had (ne $had .) }}{{ fail (printf "eventProcessing.instance.podSelector: has app.kubernetes.io/instance: %s, but eventProcessing.instance.name is %s; drop one" $had .) }}{{ end }}
{{- $_ := set $labels "app.kubernetes.io/instance" . }}
{{- end }}
{{- toYaml $labels }}
{{- end }}

{{/*
The rule between the EP instance's own pods, written once for both of its policies: the
page's EP pod rows from "Any pod in Event Processing instance" (every port of
eventProcessing.instance.ports but the UI's). `peers` is "from" (the ingress policy) or
"to" (the egress policy: the senders need the same ports); `namespace` the policy's.
Usage: {{ include "epnp.epInstanceOwnRule" (dict "root" $ "peers" "from"|"to" "namespace" NS) }}
*/}}
{{- define "epnp.epInstanceOwnRule" -}}
{{- $i := .root.Values.eventProcessing.instance }}
{{- $labels := include "epnp.epInstanceLabels" .root | fromYaml -}}
# EP instance --> EP instance: Kafka administration, UI frontend, UI backend
- {{ .peers }}:
    {{- include "epnp.podPeer" (dict "labels" $labels "key" "eventProcessing.instance.podSelector" "from" .namespace "to" .namespace) | nindent 4 }}
  ports:
  {{- range $k := list "kafkaAdmin" "uiFrontend" "uiBackend" }}
    {{- include "epnp.port" (dict "port" (index $i.ports $k) "key" (printf "eventProcessing.instance.ports.%s" $k)) | nindent 4 }}
  {{- end }}
{{- end }}

{{/*
The source a `...From` value stands for: the value, except `auto`, which is
`anywhere`, or the caller's OpenShift variant on OpenShift.
Usage: {{ include "epnp.source" (dict "root" $ "from" VALUE "openshift" "hostNetwork"|"router"|"monitoring") }}
*/}}
{{- define "epnp.source" -}}
{{- if eq .from "auto" }}{{ ternary .openshift "anywhere" (eq .root.Values.platform "openshift") }}{{ else }}{{ .from }}{{ end }}
{{- end }}

{{/*
The peers a source value stands for, as a YAML list; an empty list means anywhere (a
rule without `from`). A value accepts anywhere, auto, its OpenShift variant, and
`cidrs` or `namespaces` when the caller passes that list; `podSelector` narrows each
peer to those pods (AND).
Usage: {{ include "epnp.sourcePeers" (dict "root" $ "from" VALUE "openshift" VARIANT "key" "path.to.xxxFrom"
         ["cidrs" LIST] ["namespaces" LIST] ["podSelector" MAP]) | fromYamlArray }}
*/}}
{{- define "epnp.sourcePeers" -}}
{{- $from := include "epnp.source" . }}
{{- $peers := list }}
{{- $openshift := dict "hostNetwork" (dict "policy-group.network.openshift.io/host-network" "")
      "router" (dict "policy-group.network.openshift.io/ingress" "") "monitoring" (dict "network.openshift.io/policy-group" "monitoring") }}
{{- if eq $from "anywhere" }}
{{- else if and (eq $from .openshift) (hasKey $openshift $from) }}
{{- $peers = list (dict "namespaceSelector" (dict "matchLabels" (index $openshift $from))) }}
{{- else if and (eq $from "cidrs") (hasKey . "cidrs") }}
{{- if empty .cidrs }}{{ fail (printf "%sCIDRs: must list the API server's addresses when %s is cidrs" (trimSuffix "From" .key) .key) }}{{ end }}
{{- range .cidrs }}{{ $peers = append $peers (dict "ipBlock" (dict "cidr" .)) }}{{ end }}
{{- else if and (eq $from "namespaces") (hasKey . "namespaces") }}
{{- if empty .namespaces }}{{ fail (printf "%snamespaces: must list the scrapers' namespaces when %s is namespaces" (trimSuffix "from" .key) .key) }}{{ end }}
{{- range .namespaces }}{{ $peers = append $peers (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" .))) }}{{ end }}
{{- else }}
{{- fail (printf "%s: unknown source %q" .key .from) }}
{{- end }}
{{- if and $peers .podSelector }}
{{- range $p := $peers }}{{ $_ := set $p "podSelector" (dict "matchLabels" $.podSelector) }}{{ end }}
{{- end }}
{{- toYaml $peers }}
{{- end }}
