{{/*
Names and labels shared by every policy template.
*/}}

{{/*
The helm.sh/chart label's value: <chart name>-<version>.
Usage: {{ include "epnp.chart" $ }}
*/}}
{{- define "epnp.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The standard labels, plus commonLabels.
Usage: {{ include "epnp.labels" (dict "root" $ "component" "<group id>") }}
*/}}
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

{{/*
The standard labels block of one component, indented for `metadata.labels`: per-deployment
templates make it once, outside their loop.
Usage: {{ include "epnp.labelsBlock" (dict "root" $ "component" "<group id>") }}
*/}}
{{- define "epnp.labelsBlock" -}}
{{ include "epnp.labels" . | indent 4 }}
{{- end }}

{{/*
The `annotations:` block of metadata (indented by 2, with its leading newline) from
commonAnnotations, or nothing when there are none: per-deployment templates make it once, outside
their loop, and print it after their labels.
Usage: {{ include "epnp.annotationsBlock" $ }}
*/}}
{{- define "epnp.annotationsBlock" -}}
{{- with .Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end }}

{{/*
Object metadata.
Usage: {{ include "epnp.metadata" (dict "root" $ "name" NAME "namespace" NS "component" "<group id>") }}
*/}}
{{- define "epnp.metadata" -}}
metadata:
  name: {{ .name | quote }}
  namespace: {{ .namespace | quote }}
  labels:
    {{- include "epnp.labels" . | nindent 4 }}
  {{- include "epnp.annotationsBlock" .root }}
{{- end }}
