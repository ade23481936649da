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
{{- range $k, $v := .labels }}
{{- if not (kindIs "string" $v) }}{{ fail (printf "%s.%s: a label value must be a string, got %s %v" $.key $k (kindOf $v) $v) }}{{ end }}
{{- end }}
{{- include "epnp.checkLabelSyntax" (dict "labels" .labels "key" .key "p" (include "epnp.patterns" . | fromYaml)) }}
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
{{- if not (include "epnp.isPort" .port) }}
{{- fail (printf "%s: must be a TCP port number between 1 and 65535, got %v" .key .port) }}
{{- end }}
{{- end }}

{{/*
"true" for a whole number between 1 and 65535 (helm reads values files' numbers as float64,
--set's as int64), else "".
Usage: {{ if include "epnp.isPort" P }}...{{ end }}
*/}}
{{- define "epnp.isPort" -}}
{{- $p := . }}
{{- if and (or (kindIs "int" $p) (kindIs "int64" $p) (kindIs "float64" $p)) (ge (float64 $p) 1.0) (le (float64 $p) 65535.0) (eq (float64 (int64 $p)) (float64 $p)) }}true{{ end }}
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
{{- $p := include "epnp.patterns" . | fromYaml }}
{{- include "epnp.checkKeys" (dict "map" $r "allowed" (list $.peers "ports") "key" $at) }}
{{- if not (kindIs "slice" (get $r $.peers)) }}{{ fail (printf "%s.%s: must be a list of peers" $at $.peers) }}{{ end }}
{{- if not (kindIs "slice" $r.ports) }}{{ fail (printf "%s.ports: must be a list of ports" $at) }}{{ end }}
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
{{- include "epnp.checkKeys" (dict "map" $peer "allowed" (list "ipBlock" "namespaceSelector" "podSelector") "key" $pat) }}
{{- range $sel := list "podSelector" "namespaceSelector" }}{{ if hasKey $peer $sel }}{{ include "epnp.checkSelector" (dict "selector" (get $peer $sel) "key" (printf "%s.%s" $pat $sel) "p" $p) }}{{ end }}{{ end }}
{{- with $peer.ipBlock }}
{{- if not (kindIs "map" .) }}{{ fail (printf "%s.ipBlock: must be a map with cidr (and except)" $pat) }}{{ end }}
{{- include "epnp.checkKeys" (dict "map" . "allowed" (list "cidr" "except") "key" (printf "%s.ipBlock" $pat)) }}
{{- if not .cidr }}{{ fail (printf "%s.ipBlock.cidr: is required" $pat) }}{{ end }}
{{- include "epnp.checkIPBlock" (dict "cidr" .cidr "except" .except "key" (printf "%s.ipBlock.cidr" $pat) "exceptKey" (printf "%s.ipBlock.except" $pat) "p" $p) }}
{{- end }}
{{- end }}
{{- range $j, $port := $r.ports }}
{{- $pat := printf "%s.ports[%d]" $at $j }}
{{- if not (and (kindIs "map" $port) (hasKey $port "port")) }}{{ fail (printf "%s: needs a port (a port entry without one admits every port)" $pat) }}{{ end }}
{{- include "epnp.checkRulePort" (dict "port" $port "key" $pat "p" $p) }}
{{- if not (kindIs "string" $port.port) }}{{ include "epnp.checkPort" (dict "port" $port.port "key" (printf "%s.port" $pat)) }}
{{- else if not $.ack }}{{ fail (printf "%s.port: named port %q: use its number, or set acknowledge.namedPortsInExtraRules=true (kube-router v2.1.0 opens every port to the rule's peers when no selected pod declares the name)" $pat $port.port) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .rules }}
{{- toYaml . }}
{{- end }}
{{- end }}

{{/*
Fails naming the key of the first value whose kind is not the one values.schema.json gives it
(epnp.shapes, generated from the schema): a string where a switch belongs, a null port or sub-map, an
unknown platform, a label that is not a string. Runs once per render, first (from epnp.withGroups),
so no template reads a value of the wrong kind: without the schema a render still fails naming the
key, never on a raw template error. A container of the right kind with a bad element fails naming
the element (a port keeps epnp.checkPort's message).
Usage: {{ include "epnp.checkShapes" $ }}
*/}}
{{- define "epnp.checkShapes" -}}
{{- $say := dict "map" "a map" "bool" "true or false" "string" "a string" "port" "a TCP port number between 1 and 65535"
      "labels" "a map of label names to strings" "list" "a list" "ports" "a list of TCP port numbers"
      "strings" "a list of strings" "annotations" "a map of annotation names to strings"
      "dnsLabel" "a DNS label" "dnsLabels" "a list of DNS labels" "cidrs" "a list of CIDRs" "anywhere" "the word anywhere" "null" "null" "enum" "" }}
{{- include "epnp.withPatterns" . }}
{{- $p := ._epnp.patterns }}
{{- range $row := include "epnp.shapes" . | fromYamlArray }}
{{- $key := index $row 0 }}
{{- $kinds := index $row 1 }}
{{- $enum := list }}{{ if eq (len $row) 3 }}{{ $enum = index $row 2 }}{{ end }}
{{- $x := $.Values }}
{{- $found := true }}
{{- range splitList "." $key }}{{ if and $found (kindIs "map" $x) (hasKey $x .) }}{{ $x = index $x . }}{{ else }}{{ $found = false }}{{ end }}{{ end }}
{{- $absent := or (not $found) (kindIs "invalid" $x) }}
{{- $ok := and $absent (has "null" $kinds) }}
{{- if not $absent }}
{{- range $k := $kinds }}
{{- if and (eq $k "bool") (kindIs "bool" $x) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "string") (kindIs "string" $x) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "enum") (kindIs "string" $x) }}{{ if has $x $enum }}{{ $ok = true }}{{ end }}{{ end }}
{{- if and (eq $k "port") (include "epnp.isPort" $x) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "map") (kindIs "map" $x) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "list") (kindIs "slice" $x) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "anywhere") (kindIs "string" $x) }}{{ if eq $x "anywhere" }}{{ $ok = true }}{{ end }}{{ end }}
{{- if and (eq $k "labels") (kindIs "map" $x) }}
{{- range $n, $l := $x }}
{{- if kindIs "invalid" $l }}{{ fail (printf "%s.%s: a label value must be a string, got null (a map you set replaces the default whole: there is no default label to remove)" $key $n) }}{{ end }}
{{- if not (kindIs "string" $l) }}{{ fail (printf "%s.%s: a label value must be a string, got %s %v" $key $n (kindOf $l) $l) }}{{ end }}
{{- end }}
{{- include "epnp.checkLabelSyntax" (dict "labels" $x "key" $key "p" $p) }}
{{- $ok = true }}
{{- end }}
{{- if and (eq $k "annotations") (kindIs "map" $x) }}
{{- range $n, $l := $x }}{{ if not (kindIs "string" $l) }}{{ fail (printf "%s.%s: an annotation value must be a string, got %s %v" $key $n (kindOf $l) $l) }}{{ end }}{{ end }}
{{- include "epnp.checkLabelSyntax" (dict "labels" $x "key" $key "p" $p "annotations" true) }}
{{- $ok = true }}
{{- end }}
{{- if and (eq $k "dnsLabel") (kindIs "string" $x) }}{{ include "epnp.checkNamespace" (dict "namespace" $x "key" $key "p" $p) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "dnsLabels") (kindIs "slice" $x) }}
{{- range $i, $e := $x }}{{ include "epnp.checkNamespace" (dict "namespace" $e "key" (printf "%s[%d]" $key $i) "p" $p) }}{{ end }}
{{- $ok = true }}
{{- end }}
{{- if and (eq $k "cidrs") (kindIs "slice" $x) }}{{ include "epnp.checkCIDRs" (dict "cidrs" $x "key" $key "p" $p) }}{{ $ok = true }}{{ end }}
{{- if and (eq $k "ports") (kindIs "slice" $x) }}
{{- range $e := $x }}{{ include "epnp.checkPort" (dict "port" $e "key" $key) }}{{ end }}
{{- $ok = true }}
{{- end }}
{{- if and (eq $k "strings") (kindIs "slice" $x) }}
{{- range $i, $e := $x }}{{ if not (kindIs "string" $e) }}{{ fail (printf "%s[%d]: must be a string, got %s %v" $key $i (kindOf $e) $e) }}{{ end }}{{ end }}
{{- $ok = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $ok }}
{{- if and (not $absent) (has "port" $kinds) }}{{ include "epnp.checkPort" (dict "port" $x "key" $key) }}{{ end }}
{{- $want := list }}
{{- range $k := $kinds }}{{ $want = append $want (ternary (printf "one of %s" (join ", " $enum)) (index $say $k) (eq $k "enum")) }}{{ end }}
{{- $got := ternary "nothing (null, or the key is missing)" (printf "%s %s" (kindOf $x) (toJson $x)) $absent }}
{{- fail (printf "%s: must be %s, got %s" $key (join " or " $want) $got) }}
{{- end }}
{{- end }}
{{- end }}
