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
The source a `...From` value stands for: the value, except `auto`, which is the source the caller's
narrowing value asks for when it is set (`cidrs`, `namespaces`, `controller`: decision
no-narrowing-dropped), else `anywhere`, or the caller's OpenShift variant on OpenShift.
Usage: {{ include "epnp.source" (dict "root" $ "from" VALUE "openshift" "hostNetwork"|"router"|"monitoring"
         ["cidrs" LIST] ["namespaces" LIST] ["controller" MAP]) }}
*/}}
{{- define "epnp.source" -}}
{{- if ne .from "auto" }}{{ .from }}
{{- else if not (empty .cidrs) }}cidrs
{{- else if not (empty .namespaces) }}namespaces
{{- else if include "epnp.controllerSet" .controller }}ingressController
{{- else }}{{ ternary .openshift "anywhere" (eq .root.Values.platform "openshift") }}
{{- end }}
{{- end }}

{{/*
"true" when an ingress controller is given (a namespace or pod labels), else "".
Usage: {{ if include "epnp.controllerSet" MAP }}...{{ end }}
*/}}
{{- define "epnp.controllerSet" -}}
{{- if and (kindIs "map" .) (or .namespace (not (kindIs "invalid" .podSelector))) }}true{{ end }}
{{- end }}

{{/*
The peers a source value stands for, as a YAML list; an empty list means anywhere (a
rule without `from`). A value accepts anywhere, auto, its OpenShift variant, and
`cidrs`, `namespaces` or `ingressController` when the caller passes that value (with its key);
`podSelector` narrows each peer to those pods (AND). A narrowing value the source does not use
fails naming both keys: dropped, it would leave the rule open to more than the user asked.
Usage: {{ include "epnp.sourcePeers" (dict "root" $ "from" VALUE "openshift" VARIANT "key" "path.to.xxxFrom"
         ["cidrs" LIST "cidrsKey" K] ["namespaces" LIST "namespacesKey" K] ["podSelector" MAP "podSelectorKey" K]
         ["controller" MAP "controllerKey" K]) | fromYamlArray }}
*/}}
{{- define "epnp.sourcePeers" -}}
{{- $from := include "epnp.source" . }}
{{- $unused := "%s: narrows only %s; %s is %s here, so it would be dropped: set %s, or remove %s" }}
{{- if and (not (empty .cidrs)) (ne $from "cidrs") }}{{ fail (printf $unused .cidrsKey (printf "%s: cidrs (or auto)" .key) .key $from (printf "%s: cidrs" .key) .cidrsKey) }}{{ end }}
{{- if and (not (empty .namespaces)) (ne $from "namespaces") }}{{ fail (printf $unused .namespacesKey (printf "%s: namespaces (or auto)" .key) .key $from (printf "%s: namespaces" .key) .namespacesKey) }}{{ end }}
{{- if and (not (kindIs "invalid" .podSelector)) (not (has $from (list "namespaces" "monitoring"))) }}{{ fail (printf $unused .podSelectorKey (printf "%s: namespaces or monitoring" .key) .key $from (printf "%s: namespaces (with the scrapers' namespaces)" .key) .podSelectorKey) }}{{ end }}
{{- if and (include "epnp.controllerSet" .controller) (ne $from "ingressController") }}{{ fail (printf $unused .controllerKey (printf "%s: ingressController (or auto)" .key) .key $from (printf "%s: ingressController" .key) .controllerKey) }}{{ end }}
{{- $peers := list }}
{{- $openshift := dict "hostNetwork" (dict "policy-group.network.openshift.io/host-network" "")
      "router" (dict "policy-group.network.openshift.io/ingress" "") "monitoring" (dict "network.openshift.io/policy-group" "monitoring") }}
{{- if eq $from "anywhere" }}
{{- else if and (eq $from .openshift) (hasKey $openshift $from) }}
{{- $peers = list (dict "namespaceSelector" (dict "matchLabels" (index $openshift $from))) }}
{{- else if and (eq $from "cidrs") (hasKey . "cidrs") }}
{{- if empty .cidrs }}{{ fail (printf "%s: must list the API server's addresses when %s is cidrs" .cidrsKey .key) }}{{ end }}
{{- range .cidrs }}{{ $peers = append $peers (dict "ipBlock" (dict "cidr" .)) }}{{ end }}
{{- else if and (eq $from "namespaces") (hasKey . "namespaces") }}
{{- if empty .namespaces }}{{ fail (printf "%s: must list the scrapers' namespaces when %s is namespaces" .namespacesKey .key) }}{{ end }}
{{- range .namespaces }}{{ $peers = append $peers (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" .))) }}{{ end }}
{{- else if and (eq $from "ingressController") (hasKey . "controller") }}
{{- $c := .controller }}
{{- if not $c.namespace }}{{ fail (printf "%s.namespace: must name the ingress controller's namespace when %s is ingressController" .controllerKey .key) }}{{ end }}
{{- include "epnp.checkLabels" (dict "labels" $c.podSelector "key" (printf "%s.podSelector" .controllerKey)) }}
{{- $peers = list (dict "namespaceSelector" (dict "matchLabels" (dict "kubernetes.io/metadata.name" $c.namespace)) "podSelector" (dict "matchLabels" $c.podSelector)) }}
{{- else }}
{{- fail (printf "%s: %s is not a source here" .key $from) }}
{{- end }}
{{- if and $peers (not (kindIs "invalid" .podSelector)) }}
{{- include "epnp.checkLabels" (dict "labels" .podSelector "key" .podSelectorKey) }}
{{- range $p := $peers }}{{ $_ := set $p "podSelector" (dict "matchLabels" $.podSelector) }}{{ end }}
{{- end }}
{{- toYaml $peers }}
{{- end }}
