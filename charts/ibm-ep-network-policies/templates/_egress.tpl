{{/*
Egress: the rules every restricted group gets, the Kafka rule, and the egress policy
all egress groups share.
*/}}

{{/*
An egress policy for one group: the named allow rules, the group's own rules (`rules`,
YAML text) and the user's extraEgress.
Usage: {{ include "epnp.egressPolicy" (dict "root" $ "name" NAME "namespace" NS "component" "<group id>"
         "labels" MAP "labelsKey" "path.to.podSelector" "egress" <group>.egress "key" "<group>.egress"
         "who" "<source in comments>" "rules" TEXT) }}
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
    {{- with include "epnp.extraRules" (dict "rules" .egress.extraEgress "peers" "to" "key" (printf "%s.extraEgress" .key) "ack" .root.Values.acknowledge.namedPortsInExtraRules) }}
    # {{ $.key }}.extraEgress
    {{- . | nindent 4 }}
    {{- end }}
  policyTypes:
    - Egress
{{- end }}

{{/*
The named allow rules, each on unless turned off: cluster DNS and the API server.
Usage: {{ include "epnp.egressAllowRules" (dict "root" $ "allow" <group>.egress.allowRules "key" "<group>.egress" "who" W) }}
*/}}
{{- define "epnp.egressAllowRules" -}}
{{- $v := .root.Values }}
{{- if .allow.dns }}
{{- /* cluster.dns's nulls are already the platform's defaults (epnp.resolveDefaults). */}}
{{- $dns := $v.cluster.dns }}
{{- $ns := $dns.namespace }}
{{- $pods := $dns.podSelector }}
{{- $ports := $dns.ports }}
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

{{/*
Egress rules to Kafka, when ports are given: one rule per `kafka.to` entry (each with the same
ports; rules are OR'd, so this is the list's meaning), or one rule to any address when `kafka.to` is
`anywhere`. Ports without `to`, and `to` without ports, fail (decision kafka-needs-destinations).
One peer per rule, because kube-router v2.1.0 puts a rule's ipBlocks in one set, where one
entry's `except` removes addresses from the others (decision kafka-rule-per-destination).
Usage: {{ include "epnp.kafkaRule" (dict "kafka" <group>.egress.kafka "key" "<group>.egress.kafka" "who" W) }}
*/}}
{{- define "epnp.kafkaRule" -}}
{{- $to := .kafka.to }}
{{- if and (empty .kafka.ports) (not (empty $to)) }}
{{- fail (printf "%s.to: has no effect without %s.ports (no Kafka rule is rendered without ports): set the ports, or remove it" .key .key) }}
{{- end }}
{{- with .kafka.ports }}
{{- if empty $to }}
{{- fail (printf "%s.ports: needs %s.to, where Kafka is ({cidr: ...} or {namespace: ..., podSelector: {...}} entries), or %s.to: anywhere to allow these ports to every address (the page names Kafka as the destination, not anywhere)" $.key $.key $.key) }}
{{- end }}
{{- $ports := "" }}
{{- range . }}
{{- $ports = print $ports (include "epnp.port" (dict "port" . "key" (printf "%s.ports" $.key)) | nindent 4) }}
{{- end }}
{{- if eq (toString $to) "anywhere" }}
# {{ $.who }} --> Kafka (any address: {{ $.key }}.to is anywhere)
- ports:{{ $ports }}
{{- else }}
{{- range $i, $t := $to }}
{{- $peer := include "epnp.destination" (dict "to" $t "key" (printf "%s.to[%d]" $.key $i)) | trim }}
# {{ $.who }} --> Kafka{{ if $t.cidr }} at {{ $t.cidr }}{{ else }} pods{{ with $t.namespace }} in {{ . }}{{ end }}{{ end }}
- ports:{{ $ports }}
  to:
    {{- $peer | nindent 4 }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
One Kafka destination ({cidr, except} or {namespace, podSelector}) as an egress peer.
Usage: {{ include "epnp.destination" (dict "to" ENTRY "key" "<group>.egress.kafka.to[i]") }}
*/}}
{{- define "epnp.destination" -}}
{{- $t := .to }}
{{- $p := include "epnp.patterns" . | fromYaml }}
{{- if not (kindIs "map" $t) }}{{ fail (printf "%s: must be {cidr, except} or {namespace, podSelector}" .key) }}{{ end }}
{{- include "epnp.checkKeys" (dict "map" $t "allowed" (list "cidr" "except" "namespace" "podSelector") "key" .key) }}
{{- if $t.cidr }}{{ include "epnp.checkIPBlock" (dict "cidr" $t.cidr "except" $t.except "key" (printf "%s.cidr" .key) "exceptKey" (printf "%s.except" .key) "p" $p) }}{{ end }}
{{- with $t.namespace }}{{ include "epnp.checkNamespace" (dict "namespace" . "key" (printf "%s.namespace" $.key) "p" $p) }}{{ end }}
{{- if and $t.cidr (or $t.namespace $t.podSelector) }}{{ fail (printf "%s: cidr cannot be combined with namespace or podSelector" .key) }}{{ end }}
{{- if and $t.except (not $t.cidr) }}{{ fail (printf "%s: except needs a cidr" .key) }}{{ end }}
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
    {{- include "epnp.matchLabels" (dict "labels" . "key" (printf "%s.podSelector" $.key)) | nindent 4 }}
  {{- end }}
{{- else }}
{{- fail (printf "%s: needs cidr, or namespace and/or podSelector" .key) }}
{{- end }}
{{- end }}
