{{/*
What the API server would refuse, refused here first (decision api-server-rules): kube-apiserver's
ValidateNetworkPolicy (pkg/apis/networking/validation/validation.go: ValidateIPBlock,
ValidateNetworkPolicyPort, ValidateNetworkPolicyPeer; ValidateObjectMeta) and apimachinery's
label, name and selector rules, applied to the values that reach a NetworkPolicy, each failing
naming the value's key. Without them helm installs part of a release and the server refuses the
rest. The syntax comes from values.schema.json (epnp.patterns, generated into _shapes.tpl).
*/}}

{{/*
Makes the schema's patterns available as $._epnp.patterns; the guards below take them as "p".
Usage: {{ include "epnp.withPatterns" $ }}
*/}}
{{- define "epnp.withPatterns" -}}
{{- if not (hasKey . "_epnp") }}{{ $_ := set . "_epnp" dict }}{{ end }}
{{- if not (hasKey ._epnp "patterns") }}{{ $_ := set ._epnp "patterns" (include "epnp.patterns" . | fromYaml) }}{{ end }}
{{- end }}

{{/*
A CIDR as "<address bits> <prefix length> <bits>" (the address as a string of 0s and 1s), or a
failure naming the key: it must parse (IPv4 dotted decimal without leading zeros, IPv6 in
hexadecimal groups), have no bits set beyond its prefix length and not be an IPv4-mapped IPv6
address (strict parsing, the StrictIPCIDRValidation gate, on by default since Kubernetes 1.36;
refused by ambiguity before).
Usage: {{ $c := include "epnp.cidrBits" (dict "cidr" C "key" K "p" PATTERNS) | splitList " " }}
*/}}
{{- define "epnp.cidrBits" -}}
{{- $c := .cidr }}
{{- if not (kindIs "string" $c) }}{{ fail (printf "%s: must be a CIDR string (e.g. 10.0.0.0/8), got %s %v" .key (kindOf $c) $c) }}{{ end }}
{{- $bits := "" }}{{ $size := 32 }}
{{- $addr := (splitList "/" $c) | first }}
{{- if regexMatch .p.cidr4 $c }}
{{- range splitList "." $addr }}{{ $bits = print $bits (printf "%08b" (atoi .)) }}{{ end }}
{{- else if regexMatch .p.cidr6 $c }}
{{- $size = 128 }}
{{- $halves := splitList "::" $addr }}
{{- $groups := list }}
{{- range $i, $h := $halves }}
{{- $part := ternary (list) (splitList ":" $h) (eq $h "") }}
{{- if eq $i 1 }}{{ range until (sub 8 (add (len $groups) (len $part)) | int) }}{{ $groups = append $groups "0" }}{{ end }}{{ end }}
{{- $groups = concat $groups $part }}
{{- end }}
{{- $nibbles := dict "0" "0000" "1" "0001" "2" "0010" "3" "0011" "4" "0100" "5" "0101" "6" "0110" "7" "0111" "8" "1000" "9" "1001" "a" "1010" "b" "1011" "c" "1100" "d" "1101" "e" "1110" "f" "1111" }}
{{- range $groups }}{{ range trunc -4 (print "000" (lower .)) | splitList "" }}{{ $bits = print $bits (index $nibbles .) }}{{ end }}{{ end }}
{{- else }}
{{- fail (printf "%s: %q must be a valid CIDR (e.g. 10.9.8.0/24 or 2001:db8::/64; IPv4 without leading zeros, IPv6 in hexadecimal groups): the API server refuses it" .key $c) }}
{{- end }}
{{- $prefix := (splitList "/" $c) | last | atoi }}
{{- if not (regexMatch "^0*$" (substr $prefix $size $bits)) }}
{{- $net := list }}
{{- $masked := print (substr 0 $prefix $bits) (repeat (sub $size $prefix | int) "0") }}
{{- $step := ternary 8 16 (eq $size 32) }}
{{- range until (div $size $step | int) }}{{ $n := int64 (print "0b" (substr (mul . $step | int) (mul (add . 1) $step | int) $masked)) }}{{ $net = append $net (ternary (toString $n) (printf "%x" $n) (eq $size 32)) }}{{ end }}
{{- fail (printf "%s: %q must not have bits set beyond the prefix length (the API server refuses it): the network is %s/%d" .key $c (join (ternary "." ":" (eq $size 32)) $net) $prefix) }}
{{- end }}
{{- if and (eq $size 128) (regexMatch "^0{80}1{16}" $bits) }}
{{- fail (printf "%s: %q must not be an IPv4-mapped IPv6 address (the API server refuses it): write the IPv4 CIDR" .key $c) }}
{{- end }}
{{- printf "%d %d %s" $size $prefix $bits }}
{{- end }}

{{/*
An ipBlock's cidr and except list: each a CIDR (epnp.cidrBits), each except entry strictly inside the
cidr (the same family, a longer prefix, the cidr's leading bits): ValidateIPBlock's "must be a strict
subset of `cidr`".
Usage: {{ include "epnp.checkIPBlock" (dict "cidr" C "except" LIST "key" "path.to.cidr" "exceptKey" "path.to.except" "p" PATTERNS) }}
*/}}
{{- define "epnp.checkIPBlock" -}}
{{- $c := include "epnp.cidrBits" (dict "cidr" .cidr "key" .key "p" .p) | splitList " " }}
{{- if not (or (kindIs "invalid" .except) (kindIs "slice" .except)) }}{{ fail (printf "%s: must be a list of CIDRs inside %s" .exceptKey .key) }}{{ end }}
{{- range $i, $e := .except }}
{{- $k := printf "%s[%d]" $.exceptKey $i }}
{{- $x := include "epnp.cidrBits" (dict "cidr" $e "key" $k "p" $.p) | splitList " " }}
{{- $cp := index $c 1 | atoi }}
{{- if or (ne (index $x 0) (index $c 0)) (le (index $x 1 | atoi) $cp) (ne (substr 0 $cp (index $x 2)) (substr 0 $cp (index $c 2))) }}
{{- fail (printf "%s: %q must be a strict subset of %s %q (inside it, with a longer prefix, of the same IP family): the API server refuses it" $k $e $.key $.cidr) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Every CIDR of a list (webhookCIDRs, cluster.kubernetesApi.cidrs), each an ipBlock's cidr.
Usage: {{ include "epnp.checkCIDRs" (dict "cidrs" LIST "key" "path.in.values" "p" PATTERNS) }}
*/}}
{{- define "epnp.checkCIDRs" -}}
{{- range $i, $c := .cidrs }}{{ $_ := include "epnp.cidrBits" (dict "cidr" $c "key" (printf "%s[%d]" $.key $i) "p" $.p) }}{{ end }}
{{- end }}

{{/*
A map's keys as label keys (qualified names: an optional DNS-subdomain prefix of at most 253
characters and "/", then a name of at most 63), and, unless "annotations" is true, its values as
label values (at most 63 characters, alphanumeric at both ends): ValidateLabels, ValidateAnnotations.
Usage: {{ include "epnp.checkLabelSyntax" (dict "labels" MAP "key" "path.in.values" "p" PATTERNS ["annotations" true]) }}
*/}}
{{- define "epnp.checkLabelSyntax" -}}
{{- range $k, $v := .labels }}
{{- $prefix := ternary (splitList "/" $k | first) "" (contains "/" $k) }}
{{- if or (not (regexMatch $.p.labelKey $k)) (gt (len $prefix) 253) }}
{{- fail (printf "%s: key %q is not a valid label key (an optional DNS subdomain prefix of at most 253 characters and '/', then a name of at most 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends): the API server refuses it" $.key $k) }}
{{- end }}
{{- if and (not $.annotations) (kindIs "string" $v) (not (regexMatch $.p.labelValue $v)) }}
{{- fail (printf "%s.%s: %q is not a valid label value (at most 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends): the API server refuses it" $.key $k $v) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A user's label selector (a peer's podSelector or namespaceSelector in an extra rule), as the API server
checks it (ValidateLabelSelector): only matchLabels and matchExpressions; label syntax; each expression
{key, operator, values} with a label key, In/NotIn with at least one value, Exists/DoesNotExist with none.
Usage: {{ include "epnp.checkSelector" (dict "selector" MAP "key" "path.in.values" "p" PATTERNS) }}
*/}}
{{- define "epnp.checkSelector" -}}
{{- include "epnp.checkKeys" (dict "map" .selector "allowed" (list "matchLabels" "matchExpressions") "key" .key) }}
{{- with .selector.matchLabels }}
{{- if not (kindIs "map" .) }}{{ fail (printf "%s.matchLabels: must be a map of labels" $.key) }}{{ end }}
{{- range $k, $v := . }}{{ if not (kindIs "string" $v) }}{{ fail (printf "%s.matchLabels.%s: a label value must be a string, got %s %v" $.key $k (kindOf $v) $v) }}{{ end }}{{ end }}
{{- include "epnp.checkLabelSyntax" (dict "labels" . "key" (printf "%s.matchLabels" $.key) "p" $.p) }}
{{- end }}
{{- if not (or (kindIs "invalid" .selector.matchExpressions) (kindIs "slice" .selector.matchExpressions)) }}{{ fail (printf "%s.matchExpressions: must be a list" .key) }}{{ end }}
{{- range $i, $e := .selector.matchExpressions }}
{{- $at := printf "%s.matchExpressions[%d]" $.key $i }}
{{- if not (kindIs "map" $e) }}{{ fail (printf "%s: must be a map with key, operator and values" $at) }}{{ end }}
{{- include "epnp.checkKeys" (dict "map" $e "allowed" (list "key" "operator" "values") "key" $at) }}
{{- if not (kindIs "string" $e.key) }}{{ fail (printf "%s.key: is required (a label key)" $at) }}{{ end }}
{{- include "epnp.checkLabelSyntax" (dict "labels" (dict $e.key "") "key" (printf "%s.key" $at) "p" $.p "annotations" true) }}
{{- $values := $e.values | default list }}
{{- if not (kindIs "slice" $values) }}{{ fail (printf "%s.values: must be a list of label values" $at) }}{{ end }}
{{- if has $e.operator (list "In" "NotIn") }}
{{- if empty $values }}{{ fail (printf "%s.values: must be specified when operator is %s (at least one value): the API server refuses it" $at $e.operator) }}{{ end }}
{{- else if has $e.operator (list "Exists" "DoesNotExist") }}
{{- if not (empty $values) }}{{ fail (printf "%s.values: may not be specified when operator is %s: the API server refuses it" $at $e.operator) }}{{ end }}
{{- else }}
{{- fail (printf "%s.operator: must be In, NotIn, Exists or DoesNotExist, got %v" $at $e.operator) }}
{{- end }}
{{- range $j, $v := $values }}
{{- if not (and (kindIs "string" $v) (regexMatch $.p.labelValue $v)) }}{{ fail (printf "%s.values[%d]: %v is not a valid label value (at most 63 alphanumerics, '-', '_' or '.', alphanumeric at both ends): the API server refuses it" $at $j $v) }}{{ end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails on a key outside `allowed`: with --skip-schema-validation a misspelt key (`excpt`) would reach
the server, which drops an unknown field (helm does not ask for strict field validation), leaving the
rule wider than written.
Usage: {{ include "epnp.checkKeys" (dict "map" MAP "allowed" LIST "key" "path.in.values") }}
*/}}
{{- define "epnp.checkKeys" -}}
{{- range $k, $_ := .map }}
{{- if not (has $k $.allowed) }}{{ fail (printf "%s: unknown field %q (allowed: %s)" $.key $k (join ", " $.allowed)) }}{{ end }}
{{- end }}
{{- end }}

{{/*
A port entry of a user's rule, as ValidateNetworkPolicyPort checks it: protocol TCP, UDP or SCTP; a
port number 1-65535 or a name (IANA_SVC_NAME: at most 15 lowercase alphanumerics and inner single
dashes, with a letter); endPort only with a numeric port, 1-65535 and not below it. The named-port
acknowledgement stays epnp.extraRules'.
Usage: {{ include "epnp.checkRulePort" (dict "port" MAP "key" "path.to.ports[j]" "p" PATTERNS) }}
*/}}
{{- define "epnp.checkRulePort" -}}
{{- $port := .port }}
{{- include "epnp.checkKeys" (dict "map" $port "allowed" (list "protocol" "port" "endPort") "key" .key) }}
{{- if and (hasKey $port "protocol") (not (has $port.protocol (list "TCP" "UDP" "SCTP"))) }}{{ fail (printf "%s.protocol: must be TCP, UDP or SCTP, got %v: the API server refuses it" .key $port.protocol) }}{{ end }}
{{- if kindIs "string" $port.port }}
{{- if not (and (le (len $port.port) 15) (regexMatch .p.portName $port.port) (regexMatch .p.portNameLetter $port.port)) }}
{{- fail (printf "%s.port: %q is not a valid port name (at most 15 lowercase letters, digits and single inner dashes, with at least one letter): the API server refuses it" .key $port.port) }}
{{- end }}
{{- if hasKey $port "endPort" }}{{ fail (printf "%s.endPort: may not be specified when port is a name (%q): the API server refuses it" .key $port.port) }}{{ end }}
{{- else if hasKey $port "endPort" }}
{{- include "epnp.checkPort" (dict "port" $port.endPort "key" (printf "%s.endPort" .key)) }}
{{- if lt (int64 $port.endPort) (int64 $port.port) }}{{ fail (printf "%s.endPort: must be greater than or equal to port (%v), got %v: the API server refuses it" .key $port.port $port.endPort) }}{{ end }}
{{- end }}
{{- end }}

{{/*
A generated object name: a DNS subdomain of at most 253 characters (ValidateNetworkPolicyName).
Usage: {{ include "epnp.checkName" (dict "name" NAME "key" "the value it comes from" "p" PATTERNS) }}
*/}}
{{- define "epnp.checkName" -}}
{{- if not (and (le (len .name) 253) (regexMatch .p.dnsSubdomain .name)) }}
{{- fail (printf "%s: makes the policy name %q (%d characters), which must be a DNS subdomain of at most 253 characters (lowercase alphanumerics, '-' and '.'): the API server refuses it; shorten it" .key .name (len .name)) }}
{{- end }}
{{- end }}

{{/*
A namespace value: a DNS label of at most 63 characters (it becomes metadata.namespace or a
kubernetes.io/metadata.name label value); empty passes (the release namespace), as the schema allows.
Usage: {{ include "epnp.checkNamespace" (dict "namespace" NS "key" "path.in.values" "p" PATTERNS) }}
*/}}
{{- define "epnp.checkNamespace" -}}
{{- if not (and (kindIs "string" .namespace) (le (len .namespace) 63) (regexMatch .p.dnsLabel .namespace)) }}
{{- fail (printf "%s: %q must be a DNS label, as namespace names are (at most 63 lowercase alphanumerics or '-', alphanumeric at both ends): the API server refuses it" .key (toString .namespace)) }}
{{- end }}
{{- end }}
