{{/* Names and labels of the relaymesh-relay chart. */}}

{{- define "relay.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "relay.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "relay.selectorLabels" -}}
app.kubernetes.io/name: {{ include "relay.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Every relay pod of the region, whatever its release: the anti-affinity spreads them all. */}}
{{- define "relay.regionLabels" -}}
app.kubernetes.io/name: {{ include "relay.name" . }}
relaymesh.io/region: {{ .Values.region | quote }}
{{- end -}}

{{- define "relay.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "relay.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: relay
app.kubernetes.io/part-of: relaymesh
app.kubernetes.io/managed-by: {{ .Release.Service }}
relaymesh.io/region: {{ .Values.region | quote }}
{{- end -}}

{{/* Marks the ClusterIP Service of the admin port, the one the ServiceMonitor selects. */}}
{{- define "relay.metricsServiceLabel" -}}
relaymesh.io/service: metrics
{{- end -}}

{{- define "relay.metricsServiceName" -}}
{{- printf "%s-metrics" (include "relay.fullname" . | trunc 55 | trimSuffix "-") -}}
{{- end -}}

{{- define "relay.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "relay.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "relay.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Seconds Kubernetes waits after the preStop hook started before it kills the pod. */}}
{{- define "relay.terminationGracePeriodSeconds" -}}
{{- $floor := add .Values.preStopSleepSeconds .Values.drainTimeoutSeconds -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds -}}
{{- add $floor 15 -}}
{{- else if le (int .Values.terminationGracePeriodSeconds) (int $floor) -}}
{{- fail (printf "relaymesh-relay: terminationGracePeriodSeconds (%v) must exceed preStopSleepSeconds + drainTimeoutSeconds (%v), or the pod is killed before its drain ends" .Values.terminationGracePeriodSeconds $floor) -}}
{{- else -}}
{{- .Values.terminationGracePeriodSeconds -}}
{{- end -}}
{{- end -}}

{{/* Required values, checked in one place with messages that name the value. */}}
{{- define "relay.required" -}}
{{- $_ := required "relaymesh-relay: value 'region' is required (the region created with 'relaymesh relays create REGION')" .Values.region -}}
{{- $_ := required "relaymesh-relay: value 'controlUrl' is required (URL of the control plane, http or https)" .Values.controlUrl -}}
{{- $_ := required "relaymesh-relay: value 'publicUrl' is required (https URL agents and clients use to reach this region)" .Values.publicUrl -}}
{{- $_ := required "relaymesh-relay: value 'token.existingSecret' is required (Secret holding the region's relay token)" .Values.token.existingSecret -}}
{{- $_ := required "relaymesh-relay: value 'tls.secretName' is required (Secret of type kubernetes.io/tls with the relay's certificate)" .Values.tls.secretName -}}
{{- if eq (int .Values.admin.port) (int .Values.containerPort) }}
{{- fail (printf "relaymesh-relay: admin.port (%v) must differ from containerPort (%v): the admin listener is a second, plain-HTTP listener" .Values.admin.port .Values.containerPort) }}
{{- end }}
{{- range .Values.extraEnv }}
{{- if eq .name "RELAYMESH_RELAY_ADMIN_LISTEN" }}
{{- fail "relaymesh-relay: RELAYMESH_RELAY_ADMIN_LISTEN cannot be set in extraEnv: use admin.port (the probes and the ServiceMonitor follow it)" }}
{{- end }}
{{- if eq .name "RELAYMESH_RELAY_TOKEN" }}
{{- fail "relaymesh-relay: RELAYMESH_RELAY_TOKEN cannot be set in extraEnv: use token.existingSecret (a Secret), never a literal" }}
{{- end }}
{{- end }}
{{- end -}}
