{{/* Names and labels of the relaymesh chart (control plane). */}}

{{- define "control.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "control.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "control.selectorLabels" -}}
app.kubernetes.io/name: {{ include "control.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "control.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "control.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: control-plane
app.kubernetes.io/part-of: relaymesh
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "control.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "control.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "control.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret and key holding the database URL. */}}
{{- define "control.databaseSecretName" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecret -}}
{{- else -}}
{{- printf "%s-database" (include "control.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "control.databaseSecretKey" -}}
{{- if .Values.database.existingSecret -}}
{{- .Values.database.existingSecretKey -}}
{{- else -}}
{{- "postgres-url" -}}
{{- end -}}
{{- end -}}

{{- define "control.required" -}}
{{- $_ := required "relaymesh: value 'accessUrl' is required (URL under which users, relays and agents reach the control plane)" .Values.accessUrl -}}
{{- $_ := required "relaymesh: value 'database.existingSecret' (a Secret with the PostgreSQL URL) or 'database.url' is required" (coalesce .Values.database.existingSecret .Values.database.url) -}}
{{- range .Values.extraEnv }}
{{- if eq .name "RELAYMESH_SERVER_POSTGRES_URL" }}
{{- fail "relaymesh: RELAYMESH_SERVER_POSTGRES_URL cannot be set in extraEnv: use database.existingSecret (a Secret), never a literal" }}
{{- end }}
{{- end }}
{{- end -}}
