{{/* Names and labels. */}}
{{- define "stagecoach.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stagecoach.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "stagecoach.selectorLabels" -}}
app.kubernetes.io/name: {{ include "stagecoach.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "stagecoach.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "stagecoach.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "stagecoach.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stagecoach.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "stagecoach.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* "true" when the database is Postgres (several replicas possible), "" for SQLite. */}}
{{- define "stagecoach.postgres" -}}
{{- if .Values.database.existingSecret }}true{{ end }}
{{- end }}

{{/* The directory of a file:// state backend ("/data/state" when backendURL is empty), or "". */}}
{{- define "stagecoach.stateDir" -}}
{{- $url := .Values.pulumi.backendURL }}
{{- if not $url }}/data/state
{{- else if hasPrefix "file://" $url }}{{ trimPrefix "file://" $url | trimSuffix "/" }}
{{- end }}
{{- end }}

{{/* The state directory lives on the data volume (subPath state), not on a volume of its own. */}}
{{- define "stagecoach.stateOnData" -}}
{{- if and (eq (include "stagecoach.stateDir" .) "/data/state") (not .Values.pulumi.stateVolume) }}true{{ end }}
{{- end }}

{{/* STAGECOACH_PUBLIC_URL: publicURL, else from the Ingress host. */}}
{{- define "stagecoach.publicURL" -}}
{{- if .Values.publicURL }}
{{- .Values.publicURL | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "%s://%s" (ternary "https" "http" (not (empty .Values.ingress.tls))) .Values.ingress.host }}
{{- end }}
{{- end }}

{{/* A value as the string of an environment variable: a list joined with commas, a number as a
whole number (YAML numbers arrive as floats, and 123456789 would print as 1.23456789e+08). */}}
{{- define "stagecoach.settingValue" -}}
{{- if kindIs "slice" . }}{{ join "," . }}
{{- else if kindIs "float64" . }}{{ int64 . }}
{{- else }}{{ toString . }}
{{- end }}
{{- end }}

{{/* The Unix socket on which the Pulumi runner listens and the bot sends it every Pulumi process. */}}
{{- define "stagecoach.runnerSocket" -}}/run/stagecoach/runner.sock{{- end }}

{{/* The refusals: each names the values to change. Included once, by the Deployment. */}}
{{- define "stagecoach.validate" -}}
{{- $postgres := include "stagecoach.postgres" . }}
{{- $stateDir := include "stagecoach.stateDir" . }}
{{- if empty .Values.github.appId }}
{{- fail "github.appId is required: the GitHub App's numeric id, from the App's settings page" }}
{{- end }}
{{- if and (gt (int .Values.replicas) 1) (not $postgres) }}
{{- fail (printf "replicas is %d, but the database is SQLite (database.existingSecret is empty), which allows one writer: set database.existingSecret to a Secret holding a postgres:// URL, or replicas to 1" (int .Values.replicas)) }}
{{- end }}
{{- if and (or $postgres (gt (int .Values.replicas) 1)) $stateDir (not .Values.pulumi.fileBackendShared) }}
{{- fail (printf "with Postgres (database.existingSecret) every replica must see the same Pulumi state, but the backend is %s, a directory of one pod's scratch volume that is lost when the pod goes: set pulumi.backendURL to a shared backend (s3://…, gs://…, azblob://…, https://api.pulumi.com), or put the file:// directory on a ReadWriteMany volume (pulumi.stateVolume) and set pulumi.fileBackendShared=true" (ternary "empty (file:///data/state)" .Values.pulumi.backendURL (empty .Values.pulumi.backendURL))) }}
{{- end }}
{{- if and .Values.pulumi.fileBackendShared $stateDir (not .Values.pulumi.stateVolume) }}
{{- fail "pulumi.fileBackendShared says the file:// state directory is shared by every replica, but pulumi.stateVolume names no volume to share it: give a ReadWriteMany volume there (e.g. {persistentVolumeClaim: {claimName: pulumi-state}})" }}
{{- end }}
{{- if and $stateDir (ne $stateDir "/data/state") (not .Values.pulumi.stateVolume) }}
{{- fail (printf "pulumi.backendURL %s names a directory on no volume of the pod (the root filesystem is read-only): use file:///data/state, or give the volume in pulumi.stateVolume" .Values.pulumi.backendURL) }}
{{- end }}
{{- if and $stateDir (not (hasPrefix "/" $stateDir)) }}
{{- fail (printf "pulumi.backendURL %s must name an absolute directory (file:///dir)" .Values.pulumi.backendURL) }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.shutdownTimeoutSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be above shutdownTimeoutSeconds (%d), or Kubernetes kills the pod before running Pulumi operations are cancelled cleanly" (int .Values.terminationGracePeriodSeconds) (int .Values.shutdownTimeoutSeconds)) }}
{{- end }}
{{- if eq (int (default 0 .Values.adminPort)) 8080 }}
{{- fail "adminPort 8080 is the main port (STAGECOACH_ADDR): choose another, e.g. 9090" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled needs ingress.host, the name GitHub sends webhooks to" }}
{{- end }}
{{- $managed := include "stagecoach.managedSettings" . | splitList " " }}
{{- $settable := include "stagecoach.settableSettings" . | splitList " " }}
{{- range $name, $_ := .Values.settings }}
{{- if eq $name "STAGECOACH_PULUMI_USER" }}
{{- fail "settings.STAGECOACH_PULUMI_USER runs Pulumi as another user, which needs the bot to run as root; in this chart Pulumi runs in a container of its own instead: remove it" }}
{{- else if has $name $managed }}
{{- fail (printf "settings.%s is set by the chart from its values (see values.yaml): remove it from settings" $name) }}
{{- else if not (has $name $settable) }}
{{- fail (printf "settings.%s is not a setting of stagecoach (the README's settings table lists them)" $name) }}
{{- end }}
{{- end }}
{{- end }}
