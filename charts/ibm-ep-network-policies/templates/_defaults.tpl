{{/*
The defaults of the values that default to null in values.yaml: label maps, the cluster DNS.
They live here, not in values.yaml, because helm merges a user's map into a default map key by
key: a user's `podSelector: {app: my-ep}` would keep the default's labels beside it and select
none of the user's pods. With null in values.yaml, a map the user sets is the selector, exactly.
`kubernetes` holds every default; `openshift` what differs on platform=openshift. In
`flink.deployments[].podSelector`, `<name>` stands for the deployment's name. Static YAML:
the harness reads it too (tools/groups.py), to print each default in the values reference.
Usage: {{ include "epnp.defaultsTable" . | fromYaml }} (read it through epnp.resolveDefaults)
*/}}
{{- define "epnp.defaultsTable" -}}
kubernetes:
  eventProcessing.operator.podSelector: {app.kubernetes.io/name: ibm-event-processing, app.kubernetes.io/instance: ibm-ep-operator}
  eventProcessing.instance.podSelector: {app.kubernetes.io/component: ibm-ep, app.kubernetes.io/managed-by: ibm-ep-operator}
  flink.operator.podSelector: {app.kubernetes.io/instance: ibm-eventautomation-flink-operator, app.kubernetes.io/name: flink-kubernetes-operator, name: ibm-eventautomation-flink-operator}
  flink.componentLabels.jobmanager: {component: jobmanager}
  flink.componentLabels.taskmanager: {component: taskmanager}
  flink.deployments[].podSelector: {app.kubernetes.io/instance: <name>, app.kubernetes.io/managed-by: ibm-eventautomation-flink-operator, app.kubernetes.io/name: ibm-eventautomation-flink}
  cluster.dns.namespace: kube-system
  cluster.dns.podSelector: {k8s-app: kube-dns}
  cluster.dns.ports: [53]
openshift:
  cluster.dns.namespace: openshift-dns
  cluster.dns.podSelector: {dns.operator.openshift.io/daemonset-dns: default}
  cluster.dns.ports: [53, 5353]
{{- end }}

{{/*
Fills every null value of epnp.defaultsTable with its default (the platform's), in .Values
itself, once per render: every template shares the top-level values, so all of them read the
resolved value and none repeats the defaults. A value the user set is left exactly as given.
Runs from epnp.withGroups, after the shape check.
Usage: {{ include "epnp.resolveDefaults" $ }}
*/}}
{{- define "epnp.resolveDefaults" -}}
{{- $table := include "epnp.defaultsTable" . | fromYaml }}
{{- $defaults := $table.kubernetes }}
{{- if eq .Values.platform "openshift" }}
{{- /* Key by key, not `merge`: merge would mix two label maps, the bug this file exists to avoid. */}}
{{- range $k, $v := $table.openshift }}{{ $_ := set $defaults $k $v }}{{ end }}
{{- end }}
{{- range $key, $default := $defaults }}
{{- if not (contains "[]" $key) }}
{{- $path := splitList "." $key }}
{{- $parent := $.Values }}
{{- range initial $path }}{{ $parent = index $parent . }}{{ end }}
{{- if kindIs "invalid" (index $parent (last $path)) }}{{ $_ := set $parent (last $path) $default }}{{ end }}
{{- end }}
{{- end }}
{{- $_ := set ._epnp "flinkDeploymentLabels" (index $defaults "flink.deployments[].podSelector") }}
{{- end }}
