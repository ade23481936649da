{{/*
Guards. The schema already rejects bad values; these repeat the checks that keep a
policy from widening, so a render with --skip-schema-validation still cannot open
more than its group documents. Each fails naming the value's key.
*/}}

{{/*
Fails on a label map that is empty or not a map: an empty podSelector selects every
pod (as a target or as a peer).
Usage: {{ include "epnp.checkLabels" (dict "labels" MAP "key" "path.in.values") }}
*/}}
{{- define "epnp.checkLabels" -}}
{{- if or (not (kindIs "map" .labels)) (empty .labels) }}
{{- fail (printf "%s: must be a non-empty map of pod labels (an empty selector selects every pod)" .key) }}
{{- end }}
{{- end }}

{{/*
A selector's `matchLabels:` block, after epnp.checkLabels.
Usage: {{ include "epnp.matchLabels" (dict "labels" MAP "key" "path.in.values") }}
*/}}
{{- define "epnp.matchLabels" -}}
{{- include "epnp.checkLabels" . -}}
matchLabels:
  {{- toYaml .labels | nindent 2 }}
{{- end }}

{{/*
Fails on a port outside 1-65535 (or not a whole number), so a bad value can't become "all ports".
Usage: {{ include "epnp.checkPort" (dict "port" P "key" "path.in.values") }}
*/}}
{{- define "epnp.checkPort" -}}
{{- $p := .port }}
{{- if not (and (or (kindIs "int" $p) (kindIs "int64" $p) (kindIs "float64" $p)) (ge (int64 $p) 1) (le (int64 $p) 65535) (eq (float64 (int64 $p)) (float64 $p))) }}
{{- fail (printf "%s: must be a TCP port number between 1 and 65535, got %v" .key $p) }}
{{- end }}
{{- end }}

{{/*
A port entry of a rule, after epnp.checkPort; "endPort" makes it a range.
Usage: {{ include "epnp.port" (dict "port" P "key" K ["protocol" "UDP"] ["endPort" E "endKey" K2]) }}
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

{{/*
User-supplied rules (extraIngress/extraEgress), as given. The schema checks them as
NetworkPolicy rules; the guard repeats the part that matters most: a rule must name
its peers and its ports, since a rule missing either admits everything; and numeric ports
unless `ack` (acknowledge.namedPortsInExtraRules): a CNI resolves a named port on the pods'
declared container ports, and kube-router v2.1.0 opens every port when no pod declares it
(decision named-ports-in-extra-rules).
Usage: {{ include "epnp.extraRules" (dict "rules" LIST "peers" "from"|"to" "key" "path.in.values" "ack" BOOL) }}
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
{{- if not (kindIs "string" $port.port) }}{{ include "epnp.checkPort" (dict "port" $port.port "key" (printf "%s.port" $pat)) }}
{{- else if not $.ack }}{{ fail (printf "%s.port: named port %q: use its number, or set acknowledge.namedPortsInExtraRules=true (kube-router v2.1.0 opens every port to the rule's peers when no selected pod declares the name)" $pat $port.port) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .rules }}
{{- toYaml . }}
{{- end }}
{{- end }}
