{{- define "aop.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "aop.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "aop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "aop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "aop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end -}}

{{/* The port the gateway listens on: the value, or the image's default for the mode. */}}
{{- define "aop.port" -}}
{{- if .Values.gateway.port -}}{{ .Values.gateway.port | int }}{{- else if eq .Values.mode "engine" -}}80{{- else -}}8080{{- end -}}
{{- end -}}

{{- define "aop.secretName" -}}
{{- .Values.auth.existingSecret | default (include "aop.fullname" .) -}}
{{- end -}}

{{- define "aop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ .Values.serviceAccount.name | default (include "aop.fullname" .) }}{{- else -}}{{ .Values.serviceAccount.name | default "default" }}{{- end -}}
{{- end -}}

{{/* The drain must fit in the grace period: preStop, then --shutdown-grace, then the engine's stop. */}}
{{- define "aop.terminationGrace" -}}
{{- $drain := add .Values.preStopSleepSeconds .Values.gateway.shutdownGraceSeconds -}}
{{- if ne (toString .Values.terminationGracePeriodSeconds) "" -}}
{{- if le (int .Values.terminationGracePeriodSeconds) (int $drain) -}}
{{- fail (printf "terminationGracePeriodSeconds (%v) must be above preStopSleepSeconds + gateway.shutdownGraceSeconds (%v), or streams are cut on every rollout" .Values.terminationGracePeriodSeconds $drain) -}}
{{- end -}}
{{- .Values.terminationGracePeriodSeconds | int -}}
{{- else -}}
{{- add $drain 15 -}}
{{- end -}}
{{- end -}}

{{- define "aop.hasKeys" -}}
{{- if or .Values.auth.apiKey .Values.auth.upstreamApiKey .Values.auth.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* The gateway's --config file: the deployments file (mode gateway) with the consumers, Entra ID and
fail_closed of .Values.access; empty when there is none. */}}
{{- define "aop.configFile" -}}
{{- $config := dict -}}
{{- if and (eq .Values.mode "gateway") .Values.gateway.deploymentsFile -}}
{{- $config = deepCopy .Values.gateway.deploymentsFile -}}
{{- end -}}
{{- with .Values.access.consumers }}{{ $_ := set $config "consumers" . }}{{ end -}}
{{- with .Values.access.entra }}{{ $_ := set $config "entra" . }}{{ end -}}
{{- if .Values.access.failClosed }}{{ $_ := set $config "fail_closed" true }}{{ end -}}
{{- if $config }}{{ toYaml $config }}{{ end -}}
{{- end -}}
